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
import secrets
import sys
import time
from typing import BinaryIO, Callable, ContextManager, Iterable, Iterator, Optional, Sequence, Tuple

from . import writers
from .corpus import ERROR_POLICIES, Corpus
from .progress import Progress
from .tokenizer import SAMPLERS, Tokenizer
from .trainer import Trainer
from .validation import default_num_threads


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
    parser.add_argument("--threads", type=int, help="threads (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=1000, help="documents per step (memory stays constant)")
    parser.add_argument("--no-normalize", dest="normalize", action="store_false",
                        help="do not NFC-normalize (decode then gives back the exact input)")


def _corpus(args: argparse.Namespace) -> Corpus:
    return Corpus(args.files, field=args.field, whole_file=args.whole_file, errors=args.errors)


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


def _run_seed(args: argparse.Namespace) -> int:
    """One seed for the whole run: document d then draws from stream d of it,
    whatever the batching (a fresh random seed unless --seed gives one)."""
    return args.seed if args.seed is not None else secrets.randbits(64)


def _stream(args: argparse.Namespace, corpus: Corpus, name: str,
            lines_of: Callable[[list, int], bytes]) -> Tuple[int, float]:
    """Write ``lines_of(batch, first_document)`` for every batch of the corpus's
    records to the output, with a progress line; returns (documents, seconds)."""
    bar = Progress(name, unit="docs", enabled=False if args.quiet else None)
    docs = 0
    start = time.perf_counter()
    with _open_output(args.output) as out:
        for batch in _in_batches(corpus.records(), args.batch_size):
            out.write(lines_of(batch, docs))
            docs += len(batch)
            bar.update(len(batch))
    bar.close()
    return docs, time.perf_counter() - start


def _joined(lines: Iterable[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


def cmd_encode(args: argparse.Namespace) -> int:
    _check_common(args)
    corpus = _corpus(args)
    tok = Tokenizer(args.model)
    options = dict(alpha=args.alpha, sampler=args.sampler, seed=_run_seed(args), num_threads=args.threads,
                   normalize=args.normalize)
    tokens = 0

    def lines_of(batch: list, first: int) -> bytes:
        nonlocal tokens
        texts = [text for text, _ in batch]
        if args.output_format == "ids":
            ids, offsets = tok.encode_batch_numpy(texts, first_stream=first, **options)
            tokens += len(ids)
            return writers.id_lines(ids, offsets)
        lists = tok.encode_batch(texts, first_stream=first, **options)
        tokens += sum(len(ids) for ids in lists)
        if args.output_format == "pieces":
            table = tok.model.bytes_by_id()
            return _joined(writers.pieces_line(table, ids) for ids in lists)
        return _joined(json.dumps({**(record or {}), "ids": ids}, ensure_ascii=False)
                       for (_, record), ids in zip(batch, lists))

    docs, elapsed = _stream(args, corpus, "Encode", lines_of)
    if not args.quiet:
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
    n, seed = args.n, _run_seed(args)

    def lines_of(batch: list, first: int) -> bytes:
        # Document d's sample j is item d * n + j of one long batch:
        # stream d * n + j of the seed, whatever the batching.
        repeated = [text for text, _ in batch for _ in range(n)]
        ids, offsets = tok.encode_batch_numpy(repeated, alpha=args.alpha, sampler=args.sampler, seed=seed,
                                              num_threads=args.threads, normalize=args.normalize,
                                              first_stream=first * n)
        bodies = writers.id_list_bodies(ids, offsets)
        return _joined(writers.record_line(record, text, "samples", "[[" + "], [".join(bodies[d * n:(d + 1) * n]) + "]]")
                       for d, (text, record) in enumerate(batch))

    docs, elapsed = _stream(args, corpus, "Sample", lines_of)
    if not args.quiet:
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
    if args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.access(out_dir, os.W_OK):
        raise OSError(f"cannot write the model into {out_dir}")
    progress = False if args.quiet else None
    if args.ray is not None:
        return _train_on_ray(args, trainer, progress)
    corpus = _corpus(args)
    trainer.train(corpus, num_threads=args.threads, batch_size=args.batch_size, progress=progress)
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
    print(f"{stats['documents']} documents, {texts_bytes / 1e6:.1f} MB, {stats['num_threads']} threads: {phases} "
          f"(total {stats['seconds']:.2f} s); evaluation {evaluate:.2f} s", file=sys.stderr)
    return 0


def _train_on_ray(args: argparse.Namespace, trainer: Trainer, progress: Optional[bool]) -> int:
    if not args.files or "-" in args.files:
        raise ValueError("--ray reads files on the workers: name them (standard input cannot be shared)")
    from .training.sources import expand_paths

    expand_paths(args.files)  # every file can be read here: fail before any work starts
    trainer.train_ray(args.files, field=args.field, whole_file=args.whole_file, errors=args.errors,
                      address=args.ray or None, num_partitions=args.partitions, max_memory=args.max_memory,
                      progress=progress)
    paths = trainer.save(args.output)
    if not args.quiet:
        stats = trainer.stats
        phases = ", ".join(f"{name} {phase['wall']:.2f} s" for name, phase in stats["phases"].items())
        print(f"{', '.join(paths)}: {stats['documents']} documents, {stats['bytes'] / 1e6:.1f} MB in "
              f"{stats['shards']} shards on {stats['cpus']} CPUs, {stats['num_partitions']} partitions: {phases} "
              f"(total {stats['seconds']:.2f} s); largest worker {stats['peak_worker_memory'] / 1e9:.2f} GB",
              file=sys.stderr)
    return 0


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """Bytes of a size such as ``3G``, ``500M`` or ``1048576``."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in _SIZE_UNITS else ""
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 3G, 500M)") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"a size must be positive, got {text!r}")
    return int(number * _SIZE_UNITS[unit])


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
    train.add_argument("--threads", "--workers", dest="threads", type=int, default=default_num_threads(),
                       help="threads for the counting passes (default: all cores; --workers is an old name)")
    train.add_argument("--batch-size", type=int, default=1000, help="documents per processing step")
    train.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                       help="train on Ray: the cluster at ADDRESS (e.g. auto, or host:6379), or without it a new "
                            "one on this machine; the workers read FILES (paths, globs, directories) themselves")
    train.add_argument("--partitions", type=int, help="with --ray: partitions of the n-gram and piece tables "
                                                      "(default: twice the CPUs; more = less memory per task)")
    train.add_argument("--max-memory", type=parse_size, metavar="SIZE",
                       help="with --ray: the most memory one worker may use (e.g. 3G); fails early if it cannot")
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
