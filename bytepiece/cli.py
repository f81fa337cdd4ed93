"""Command line: ``bytepiece train`` and ``bytepiece encode``.

Input files hold one document per line, or JSON lines with ``--field``, or
one document per file with ``--whole-file``; ``-`` (or no file) reads stdin;
``.gz`` files are read transparently.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import List, Optional, Sequence

from .corpus import ERROR_POLICIES, Corpus
from .tokenizer import SAMPLERS, Tokenizer
from .trainer import Trainer


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", help="input files; '-' or none: stdin; .gz is decompressed")
    parser.add_argument("--field", help="read JSON lines and take this field as the document")
    parser.add_argument("--whole-file", action="store_true", help="each file is one document (default: each line)")
    parser.add_argument("--errors", choices=ERROR_POLICIES, default="strict",
                        help="invalid UTF-8: stop with its place (strict), or replace/ignore the bytes")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")


def _corpus(args: argparse.Namespace) -> Corpus:
    return Corpus(args.files, field=args.field, whole_file=args.whole_file, errors=args.errors)


def _format_pieces(pieces: List[bytes]) -> str:
    return json.dumps([p.decode("utf-8", errors="backslashreplace") for p in pieces], ensure_ascii=False)


def cmd_encode(args: argparse.Namespace) -> int:
    corpus = _corpus(args)
    tok = Tokenizer(args.model)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    docs = num_bytes = num_tokens = 0
    start = time.perf_counter()
    try:
        for text in corpus:
            options = dict(alpha=args.alpha, sampler=args.sampler, seed=None if args.seed is None else args.seed + docs)
            if args.output_format == "pieces":
                pieces = tok.tokenize(text, **options)
                num_tokens += len(pieces)
                out.write(_format_pieces(pieces) + "\n")
            else:
                ids = tok.encode(text, **options)
                num_tokens += len(ids)
                out.write(" ".join(map(str, ids)) + "\n")
            docs += 1
            num_bytes += len(text.encode("utf-8", errors="surrogatepass"))
    finally:
        if out is not sys.stdout:
            out.close()
    elapsed = time.perf_counter() - start
    if not args.quiet:
        ratio = num_bytes / num_tokens if num_tokens else 0.0
        print(f"encoded {docs} documents, {num_bytes} bytes -> {num_tokens} tokens "
              f"({ratio:.3f} bytes/token) in {elapsed:.2f} s", file=sys.stderr)
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
        tokens = sum(len(tok.encode(text)) for text in corpus)
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

    enc = sub.add_parser("encode", help="tokenize documents: one output line of ids (or pieces) per input document")
    _add_input_arguments(enc)
    enc.add_argument("-m", "--model", required=True, help="model file (.model JSON, .gz or .zip)")
    enc.add_argument("-o", "--output", help="output file (default: stdout)")
    enc.add_argument("--output-format", choices=("ids", "pieces"), default="ids")
    enc.add_argument("--alpha", type=float, default=-1.0, help="< 0: best segmentation; >= 0: sample (see README)")
    enc.add_argument("--sampler", choices=SAMPLERS, default="perfect")
    enc.add_argument("--seed", type=int, help="seed of the first document (the n-th uses seed + n)")
    enc.set_defaults(func=cmd_encode)
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
