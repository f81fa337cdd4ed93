"""Command line: ``bytepiece encode`` (more subcommands join as they are built).

Input is one document per line of plain text, or JSON lines with ``--field``;
``-`` (or no file) reads stdin; ``.gz`` files are read transparently.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from typing import Iterator, List, Optional, Sequence, TextIO

from .tokenizer import SAMPLERS, Tokenizer


def _open_text(path: str) -> TextIO:
    if path == "-":
        return sys.stdin
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_documents(paths: Sequence[str], field: Optional[str]) -> Iterator[str]:
    """Documents of the input files: lines (without their newline) or a JSON field."""
    for path in paths or ["-"]:
        f = _open_text(path)
        try:
            for lineno, line in enumerate(f, 1):
                line = line[:-1] if line.endswith("\n") else line
                if field is None:
                    yield line
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: not a JSON line ({exc.msg})") from None
                if not isinstance(record, dict) or field not in record:
                    raise ValueError(f"{path}:{lineno}: no field {field!r} in this JSON line")
                if not isinstance(record[field], str):
                    raise ValueError(f"{path}:{lineno}: field {field!r} is not a string")
                yield record[field]
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: invalid UTF-8 ({exc.reason} at byte {exc.start} of a read block)") from None
        finally:
            if f is not sys.stdin:
                f.close()


def _format_pieces(pieces: List[bytes]) -> str:
    return json.dumps([p.decode("utf-8", errors="backslashreplace") for p in pieces], ensure_ascii=False)


def cmd_encode(args: argparse.Namespace) -> int:
    tok = Tokenizer(args.model)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    docs = num_bytes = num_tokens = 0
    start = time.perf_counter()
    try:
        for text in read_documents(args.files, args.field):
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
        print(
            f"encoded {docs} documents, {num_bytes} bytes -> {num_tokens} tokens "
            f"({ratio:.3f} bytes/token) in {elapsed:.2f} s",
            file=sys.stderr,
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bytepiece", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    enc = sub.add_parser("encode", help="tokenize documents: one output line of ids (or pieces) per input document")
    enc.add_argument("files", nargs="*", help="input files (plain text, one document per line); '-' is stdin")
    enc.add_argument("-m", "--model", required=True, help="model file (.model JSON, .gz or .zip)")
    enc.add_argument("-o", "--output", help="output file (default: stdout)")
    enc.add_argument("--field", help="read JSON lines and take this field as the document")
    enc.add_argument("--output-format", choices=("ids", "pieces"), default="ids")
    enc.add_argument("--alpha", type=float, default=-1.0, help="< 0: best segmentation; >= 0: sample (see README)")
    enc.add_argument("--sampler", choices=SAMPLERS, default="perfect")
    enc.add_argument("--seed", type=int, help="seed of the first document (the n-th uses seed + n)")
    enc.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    enc.set_defaults(func=cmd_encode)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``bytepiece`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):
            return 0
        print(f"bytepiece: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
