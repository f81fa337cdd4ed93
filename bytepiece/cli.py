"""Command line: ``bytepiece train``, ``encode``, ``decode`` and ``sample``.

Input files hold one document per line, or JSON lines with ``--field``, or
one document per file with ``--whole-file``; ``-`` (or no file) reads stdin;
``.gz`` files are read transparently.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from typing import BinaryIO, ContextManager, Iterable, Iterator, List, Optional, Sequence

from . import _core
from .corpus import ERROR_POLICIES, Corpus
from .progress import Progress
from .tokenizer import SAMPLERS, Tokenizer
from .trainer import Trainer


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", help="input files; '-' or none: stdin; .gz is decompressed")
    parser.add_argument("--field", help="read JSON lines and take this field as the document")
    parser.add_argument("--whole-file", action="store_true", help="each file is one document (default: each line)")
    parser.add_argument("--errors", choices=ERROR_POLICIES, default="strict",
                        help="invalid UTF-8: stop with its place (strict), or replace/ignore the bytes")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")


def _add_sampling_arguments(parser: argparse.ArgumentParser, default_alpha: float) -> None:
    parser.add_argument("--alpha", type=float, default=default_alpha,
                        help=f"< 0: best segmentation; >= 0: sample, larger = closer to the best (default {default_alpha})")
    parser.add_argument("--sampler", choices=SAMPLERS, default="perfect", help="perfect (exact) or viterbi (biased)")
    parser.add_argument("--seed", type=int, help="makes sampling reproducible: document d draws from stream d of the seed")
    parser.add_argument("--threads", type=int, help="encoding threads (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=1000, help="documents per step (memory stays constant)")
    parser.add_argument("--no-normalize", dest="normalize", action="store_false",
                        help="do not NFC-normalize (decode then gives back the exact input)")


def _corpus(args: argparse.Namespace) -> Corpus:
    return Corpus(args.files, field=args.field, whole_file=args.whole_file, errors=args.errors)


def _format_pieces(table: List[bytes], ids: List[int]) -> str:
    return json.dumps([table[i].decode("utf-8", errors="backslashreplace") for i in ids], ensure_ascii=False)


def _in_batches(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _open_output(path: Optional[str]) -> ContextManager[BinaryIO]:
    """The output file, or standard output (which the with-block must not close)."""
    return open(path, "wb") if path else contextlib.nullcontext(sys.stdout.buffer)


def _check_common(args: argparse.Namespace) -> None:
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")


def cmd_encode(args: argparse.Namespace) -> int:
    _check_common(args)
    corpus = _corpus(args)
    tok = Tokenizer(args.model)
    table = tok._id_to_bytes
    bar = Progress("Encode", unit="docs", enabled=False if args.quiet else None)
    seed, docs, tokens = args.seed, 0, 0
    start = time.perf_counter()
    with _open_output(args.output) as out:
        for batch in _in_batches(corpus.records(), args.batch_size):
            texts = [text for text, _ in batch]
            as_lists = args.output_format != "ids"
            result, seed = tok._batch(texts, args.alpha, args.sampler, seed, False, False, args.threads,
                                      as_lists=as_lists, first_stream=docs, normalize=args.normalize)
            if args.output_format == "ids":
                ids, offsets = result
                out.write(_core.format_id_lines(ids, offsets))
                tokens += len(ids)
            else:
                lines = []
                for (_, record), ids in zip(batch, result):
                    if args.output_format == "pieces":
                        lines.append(_format_pieces(table, ids))
                    else:
                        lines.append(json.dumps({**(record or {}), "ids": ids}, ensure_ascii=False))
                    tokens += len(ids)
                out.write(("\n".join(lines) + "\n").encode("utf-8"))
            docs += len(batch)
            bar.update(len(batch))
    bar.close()
    if not args.quiet:
        elapsed = time.perf_counter() - start
        size = corpus.total_bytes()
        rate = f", {size / elapsed / 1e6:.1f} MB/s of input" if size else ""
        print(f"encoded {docs} documents into {tokens} tokens in {elapsed:.2f} s{rate}", file=sys.stderr)
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    corpus = Corpus(args.files, errors="strict")
    tok = Tokenizer(args.model)
    docs = 0
    if args.field is not None:
        lines = ((where, record.get(args.field, _MISSING)) for where, record in corpus.json_records())
    else:
        lines = ((where, raw) for where, raw in corpus.raw_lines())
    with _open_output(args.output) as out:
        for where, value in lines:
            if value is _MISSING:
                raise ValueError(f"{where}: no field {args.field!r} in this JSON line")
            try:
                ids = [int(x) for x in value.split()] if isinstance(value, bytes) else value
                if not isinstance(ids, list):
                    raise TypeError(f"field {args.field!r} is {type(ids).__name__}, not a list of ids")
                out.write(tok.decode_bytes(ids) + b"\n")
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{where}: {exc}") from None
            docs += 1
    if not args.quiet:
        print(f"decoded {docs} documents", file=sys.stderr)
    return 0


_MISSING = object()


def cmd_sample(args: argparse.Namespace) -> int:
    _check_common(args)
    if args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    if not args.alpha >= 0:
        raise ValueError(f"--alpha must be >= 0 for sampling, got {args.alpha}")
    corpus = _corpus(args)
    tok = Tokenizer(args.model)
    n = args.n
    bar = Progress("Sample", unit="docs", enabled=False if args.quiet else None)
    seed, docs = args.seed, 0
    start = time.perf_counter()
    with _open_output(args.output) as out:
        for batch in _in_batches(corpus.records(), args.batch_size):
            # Document d's sample j is item d * n + j of one long batch:
            # stream d * n + j of the seed, whatever the batching.
            repeated = [text for text, _ in batch for _ in range(n)]
            (ids, offsets), seed = tok._batch(repeated, args.alpha, args.sampler, seed, False, False, args.threads,
                                              as_lists=False, first_stream=docs * n, normalize=args.normalize)
            bodies = _core.format_id_lists(ids, offsets)  # JSON written in C: json.dumps of ints is the bottleneck
            lines = []
            for d, (text, record) in enumerate(batch):
                fields = {k: v for k, v in record.items() if k != "samples"} if record is not None else {"text": text}
                base = json.dumps(fields, ensure_ascii=False)
                separator = ", " if len(base) > 2 else ""
                samples = "[[" + "], [".join(b.decode("ascii") for b in bodies[d * n:(d + 1) * n]) + "]]"
                lines.append(f'{base[:-1]}{separator}"samples": {samples}}}')
            out.write(("\n".join(lines) + "\n").encode("utf-8"))
            docs += len(batch)
            bar.update(len(batch))
    bar.close()
    if not args.quiet:
        elapsed = time.perf_counter() - start
        print(f"sampled {n} segmentations of each of {docs} documents in {elapsed:.2f} s", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    # Everything that can be wrong with the options or files fails here, before any work.
    trainer = Trainer(
        order=args.order,
        max_vocab_size=args.vocab_size or [10000],
        max_piece_length=args.max_piece_length,
        min_count=args.min_count,
        isolate_digits=args.isolate_digits,
        ensure_unicode=args.ensure_unicode,
    )
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    corpus = _corpus(args)
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.access(out_dir, os.W_OK):
        raise OSError(f"cannot write the model into {out_dir}")
    progress = False if args.quiet else None
    trainer.train(corpus, workers=args.workers, batch_size=args.batch_size, progress=progress)
    paths = trainer.save(args.output)
    if args.quiet:
        return 0
    stats = trainer.stats
    start = time.perf_counter()
    texts_bytes = stats["bytes"]
    for path in paths:
        tok = Tokenizer(path)
        tokens = sum(len(tok.encode_batch_numpy(batch)[0]) for batch in _in_batches(corpus, args.batch_size))
        print(f"{path}: vocab size {tok.vocab_size}, {texts_bytes / max(tokens, 1):.3f} bytes/token "
              f"on the training data", file=sys.stderr)
    evaluate = time.perf_counter() - start
    phases = ", ".join(f"{name} {phase['wall']:.2f} s" for name, phase in stats["phases"].items())
    print(f"{stats['documents']} documents, {texts_bytes / 1e6:.1f} MB, {stats['workers']} workers: {phases} "
          f"(total {stats['seconds']:.2f} s); evaluation {evaluate:.2f} s", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bytepiece", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model on a corpus (n-gram new-word discovery)")
    _add_input_arguments(train)
    train.add_argument("-o", "--output", required=True,
                       help="model file to write (with several --vocab-size: OUTPUT.SIZE each)")
    train.add_argument("--vocab-size", type=int, action="append",
                       help="vocabulary size, >= 259; repeat for several models from one run (default 10000)")
    train.add_argument("--order", type=int, default=6, help="longest n-gram of the language model, 1..8 (default 6)")
    train.add_argument("--min-count", type=int, default=2, help="drop n-grams and pieces seen fewer times (default 2)")
    train.add_argument("--max-piece-length", type=int, default=36, help="longest piece in bytes (default 36)")
    train.add_argument("--isolate-digits", action="store_true", help="make every digit a piece of its own")
    train.add_argument("--no-ensure-unicode", dest="ensure_unicode", action="store_false",
                       help="allow pieces to start inside a UTF-8 character")
    train.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                       else (os.cpu_count() or 1), help="threads for the counting passes (default: all cores)")
    train.add_argument("--batch-size", type=int, default=1000, help="documents per processing step")
    train.set_defaults(func=cmd_train)

    enc = sub.add_parser("encode", help="tokenize documents: one output line per input document")
    _add_input_arguments(enc)
    enc.add_argument("-m", "--model", required=True, help="model file (.model JSON, .gz or .zip)")
    enc.add_argument("-o", "--output", help="output file (default: stdout)")
    enc.add_argument("--output-format", choices=("ids", "pieces", "jsonl"), default="ids",
                     help="ids: space-separated ids; pieces: a JSON list of the pieces as text; "
                          "jsonl: the input's JSON record (if any) with an 'ids' field")
    _add_sampling_arguments(enc, default_alpha=-1.0)
    enc.set_defaults(func=cmd_encode)

    dec = sub.add_parser("decode", help="the inverse of encode: one line of ids in, one line of text out")
    dec.add_argument("files", nargs="*", help="files of id lines (as encode writes them); '-' or none: stdin")
    dec.add_argument("-m", "--model", required=True, help="model file")
    dec.add_argument("-o", "--output", help="output file (default: stdout)")
    dec.add_argument("--field", help="read JSON lines and take the ids from this field (e.g. ids)")
    dec.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    dec.set_defaults(func=cmd_decode)

    smp = sub.add_parser("sample", help="n sampled segmentations per document (subword regularization), as JSON lines")
    _add_input_arguments(smp)
    smp.add_argument("-m", "--model", required=True, help="model file")
    smp.add_argument("-o", "--output", help="output file (default: stdout)")
    smp.add_argument("--n", type=int, default=4, help="segmentations per document (default 4)")
    _add_sampling_arguments(smp, default_alpha=0.1)
    smp.set_defaults(func=cmd_sample)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``bytepiece`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        return 0
    except (ValueError, TypeError, OSError) as exc:
        print(f"bytepiece: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
