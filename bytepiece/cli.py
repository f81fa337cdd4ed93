"""Command line: ``bytepiece train``, ``encode``, ``decode``, ``sample``, ``info``, ``vocab``, ``show``, ``export``, ``import`` and ``extend``.

Inputs are files, globs or directories holding one document per line, or
JSON lines with ``--field`` (``meta.text`` reaches into nested objects), or
one document per file with ``--whole-file``; ``-`` (or no file) reads stdin;
``.gz`` files are read transparently. Stdin, pipes, FIFOs and ``<(...)`` are
read once, as they come (``train`` copies them to a temporary file for its
second pass). Every output file appears whole or not at all, and is checked
before any work starts.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import re
import secrets
import sys
import time
import warnings
from dataclasses import fields
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from . import __version__
from .corpus import ERROR_POLICIES, Corpus, describe_fields, expand_paths, first_line, in_batches
from .formats.native import load_model, save_model
from .model import SPECIAL_TOKENS, Model, byte_lengths
from .outputs import atomic_file, check_writable, writers
from .outputs.pipeline import encode_field_blocks, field_pipeline_applies
from .progress import progress_bar
from .outputs.token_files import (MANIFEST_SUFFIX, METADATA_SUFFIX, TOKEN_FORMATS, TokenFileWriter, read_token_file,
                          read_token_file_metadata, read_token_manifest, read_token_shards,
                          token_file_metadata_path, token_file_paths, token_manifest_path, token_shard_path)
from .tokenizer import SAMPLERS, Tokenizer
from .training.budget import MemoryBoundError, check_memory_options, format_bytes
from .training.options import CLI_DEFAULTS, TrainingOptions, option_help
from .training.registry import ALGORITHMS
from .training.stats import RayStats, ThreadStats
from .validation import MAX_THREADS, check_num_threads, usable_threads

if TYPE_CHECKING:  # the trainer is imported by the train command only
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
    parser.add_argument("--threads", type=int,
                        help=f"threads (default: all cores; at most {MAX_THREADS}, and no more run than the cores; "
                             "with --ray: threads of each task, default 1)")
    parser.add_argument("--batch-size", type=int, default=1000,
                        help="documents per step (memory stays constant); JSON lines with --field to token files or "
                             "id lines are read in blocks of about 1 MiB instead")
    parser.add_argument("--no-normalize", dest="normalize", action="store_false",
                        help="do not NFC-normalize (decode then gives back the exact input)")
    parser.add_argument("--allowed-special", type=_allowed_special, default=(), metavar="NAMES",
                        help="special tokens recognized in the text: 'all' or names separated by commas "
                             "(default: none, so text can never forge one)")


def _add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                        help="encode on Ray: the cluster at ADDRESS (e.g. auto, or host:6379), or without it a new one "
                             "on this machine; the workers read FILES and write the token files in shards (OUT.00000.bin "
                             "...), listed in corpus order by OUT.bin.manifest.json; FILES and the output folder must "
                             "be shared by every node")
    parser.add_argument("--shard-size", type=parse_size, metavar="SIZE",
                        help="with --ray: bytes of input file per shard, e.g. 64M (default: about four shards per CPU, "
                             "1M to 64M)")


def _allowed_special(text: str) -> Any:
    return "all" if text == "all" else frozenset(name for name in text.split(",") if name)


def _corpus(args: argparse.Namespace, spool: bool = True) -> Corpus:
    """The command's input documents. ``spool``: copy stdin and pipes to a
    temporary file as they are read, for a command that reads them more than
    once (training); a command that reads them once passes False. Warns when
    the first file holds JSON lines but no ``--field`` says which field is
    the document (each whole line, JSON and all, would be one)."""
    corpus = Corpus(args.files, field=args.field, whole_file=args.whole_file, errors=args.errors, spool=spool)
    if args.field is None and not args.whole_file:
        path = next((p for p in corpus.paths if p != "-" and os.path.isfile(p)), None)
        record = _json_object(first_line(path)) if path is not None else None
        if record is not None:
            _warn(f"{path} holds JSON lines (its first is an object with the fields {describe_fields(record)}), "
                  "but no --field names the document's field: each whole line, JSON included, is taken as a "
                  f"document; add --field {next(iter(record), 'text')} (or the field holding the text)")
    return corpus


def _json_object(line: bytes) -> Optional[Dict[str, Any]]:
    """The JSON object on ``line``, or None when it holds none."""
    if not line.lstrip().startswith(b"{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _warn(message: str) -> None:
    """One ``bytepiece: warning:`` line on stderr (even with -q: a warning is never noise)."""
    print(f"bytepiece: warning: {message}", file=sys.stderr)


def _warn_if_empty(docs: int, args: argparse.Namespace) -> None:
    if docs == 0:
        where = ", ".join(args.files) if args.files else "standard input"
        _warn(f"no documents were read from {where}: the output holds none")


@contextlib.contextmanager
def _text_output(path: Optional[str]) -> Iterator[IO[bytes]]:
    """The output file (appearing whole when the block ends without an error),
    or standard output."""
    if path:
        with atomic_file(path) as f:
            yield f
    else:
        yield sys.stdout.buffer


def _output_format(args: argparse.Namespace) -> str:
    """--output-format, or what the name given to -o says (.bin, .npy), else
    the command's default."""
    if args.output_format is not None:
        chosen = args.output_format
    elif args.output and os.path.splitext(args.output)[1][1:].lower() in TOKEN_FORMATS \
            and os.path.splitext(args.output)[1][1:] not in TOKEN_FORMATS:
        extension = os.path.splitext(args.output)[1]
        raise ValueError(f"-o {args.output}: token files end in {extension.lower()}, in lower case (the readers of "
                         f"Megatron-LM and numpy look for those names): use -o "
                         f"{args.output[:-len(extension)]}{extension.lower()}")
    else:
        chosen = next((f for f in TOKEN_FORMATS if args.output and args.output.endswith("." + f)),
                      args.default_output_format)
    if chosen in TOKEN_FORMATS and not args.output:
        raise ValueError(f"--output-format {chosen} writes files: name them with -o (e.g. -o train.{chosen})")
    return chosen


def _check_common(args: argparse.Namespace) -> None:
    """Everything about the options that can be wrong, before any work starts."""
    if args.threads is not None:
        check_num_threads(args.threads, "--threads")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.shard_size is not None and args.ray is None:
        raise ValueError("--shard-size sets the shards of --ray: add --ray")
    if args.ray is not None and not args.output:
        raise ValueError("--ray writes token files in shards: name them with -o (e.g. -o train.bin)")
    if args.output:
        fmt = _output_format(args)
        if args.ray is not None:
            if fmt not in TOKEN_FORMATS:
                raise ValueError(f"--ray writes token files in shards (bin or npy), not {fmt}: name them with "
                                 "-o NAME.bin or -o NAME.npy")
            first = token_shard_path(args.output, fmt, 0, 1)
            paths = [token_manifest_path(args.output, fmt), *token_file_paths(first, fmt)]
        else:
            paths = list(token_file_paths(args.output, fmt)) if fmt in TOKEN_FORMATS else [args.output]
        for path in paths:
            check_writable(path)


def _run_seed(args: argparse.Namespace) -> int:
    """One seed for the whole run: document d then draws from stream d of it,
    whatever the batching (a fresh random seed unless --seed gives one)."""
    return args.seed if args.seed is not None else secrets.randbits(64)


def _stream(args: argparse.Namespace, corpus: Corpus, name: str,
            handle: Callable[[list, int], Any]) -> Tuple[int, float]:
    """Call ``handle(batch, first_document)`` for every batch of the corpus's
    records, with a progress bar (in bytes of input when its size is known);
    returns (documents, seconds)."""
    total = corpus.total_bytes()
    bar = progress_bar(name, total=total, unit="B" if total else " docs", enabled=False if args.quiet else None)
    docs = 0
    start = time.perf_counter()
    for batch in in_batches(corpus.records(), args.batch_size):
        handle(batch, docs)
        docs += len(batch)
        bar.update(corpus.bytes_read() - bar.n if total else len(batch))
    bar.close()
    return docs, time.perf_counter() - start


def _pipelined(args: argparse.Namespace, corpus: Corpus) -> bool:
    """Whether the corpus's documents go through the JSON-lines pipeline
    (outputs/pipeline.py): a field of JSON lines, no special tokens."""
    return not args.allowed_special and field_pipeline_applies(corpus)


def _stream_pipelined(args: argparse.Namespace, corpus: Corpus, name: str,
                      encode: Callable[[list, int, int], Tuple[np.ndarray, np.ndarray]],
                      write: Callable[[np.ndarray, np.ndarray], Any]) -> Tuple[int, float]:
    """:func:`_stream` through the pipeline: ``encode(texts, first_document,
    num_threads)`` runs on its threads (one each), ``write(ids, offsets)``
    here, in order; returns (documents, seconds)."""
    total = corpus.total_bytes()
    bar = progress_bar(name, total=total, unit="B" if total else " docs", enabled=False if args.quiet else None)
    threads = usable_threads(check_num_threads(args.threads))
    start = time.perf_counter()
    docs = encode_field_blocks(corpus, lambda texts, first: encode(texts, first, 1), write, threads, args.normalize,
                               lambda documents, done: bar.update(done - bar.n if total else documents))
    bar.close()
    return docs, time.perf_counter() - start


def _joined(lines: Iterable[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


def _written(args: argparse.Namespace, fmt: str) -> str:
    if not args.output:
        return ""
    if fmt not in TOKEN_FORMATS:
        return "; wrote " + args.output
    data, index = token_file_paths(args.output, fmt)
    return f"; wrote {data}, {index} and {token_file_metadata_path(args.output, fmt)}"


def _encode_on_ray(args: argparse.Namespace, fmt: str, n: Optional[int]) -> int:
    """``encode --ray`` (``n`` None) and ``sample --ray``: the workers write the
    token files in shards, the driver their manifest; a summary line with the
    throughput overall, per CPU and per worker."""
    from .outputs.ray_encode import encode_on_ray, worker_lines

    if not args.files or "-" in args.files:
        raise ValueError("--ray reads files on the workers: name them (standard input cannot be shared)")
    result = encode_on_ray(args.model, args.files, args.output, token_format=fmt, field=args.field,
                           whole_file=args.whole_file, errors=args.errors, alpha=args.alpha, sampler=args.sampler,
                           seed=_run_seed(args), n=n or 1, add_bos=args.add_bos, add_eos=args.add_eos,
                           normalize=args.normalize, allowed_special=args.allowed_special,
                           batch_size=args.batch_size, threads_per_task=args.threads or 1,
                           shard_bytes=args.shard_size, address=args.ray or None,
                           progress=False if args.quiet else None)
    if args.quiet:
        return 0
    manifest = result.manifest
    done = (f"sampled {n} segmentations of each of {manifest.documents // n} documents" if n
            else f"encoded {manifest.documents} documents")
    names = [os.path.basename(shard.path) for shard in manifest.shards]
    shards = f"{names[0]} ... {names[-1]}" if len(names) > 1 else "".join(names) or "no shard: no documents"
    print(f"{done} into {manifest.tokens} tokens on Ray, {result.cpus} CPUs: {result.input_bytes / 1e6:.1f} MB "
          f"in {result.seconds:.2f} s, {result.mb_per_s:.1f} MB/s of input, {result.mb_per_s / result.cpus:.1f} "
          f"MB/s per CPU (Ray start-up {result.startup_seconds:.1f} s more); wrote {manifest.path} and "
          f"{len(names)} shards ({shards})", file=sys.stderr)
    for line in worker_lines(result):
        print(line, file=sys.stderr)
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    _check_common(args)
    fmt = _output_format(args)
    if args.ray is not None:
        return _encode_on_ray(args, fmt, None)
    corpus = _corpus(args, spool=False)  # read once: stdin and pipes are read as they come
    tok = Tokenizer(args.model)
    options = dict(alpha=args.alpha, sampler=args.sampler, seed=_run_seed(args), num_threads=args.threads,
                   normalize=args.normalize, add_bos=args.add_bos, add_eos=args.add_eos,
                   allowed_special=args.allowed_special)
    tokens = 0

    def encoded(texts: list, first: int, threads: Optional[int]) -> Tuple[np.ndarray, np.ndarray]:
        return tok.encode_batch_numpy(texts, first_stream=first, **{**options, "num_threads": threads})

    def lines_of(batch: list, first: int) -> bytes:
        nonlocal tokens
        texts = [text for text, _ in batch]
        if fmt == "ids":
            ids, offsets = encoded(texts, first, args.threads)
            tokens += len(ids)
            return writers.id_lines(ids, offsets)
        lists = tok.encode_batch(texts, first_stream=first, **options)
        tokens += sum(len(ids) for ids in lists)
        if fmt == "pieces":
            table = tok.model.bytes_by_id()
            return _joined(writers.pieces_line(table, ids) for ids in lists)
        return _joined(json.dumps({**(record or {}), "ids": ids}, ensure_ascii=False)
                       for (_, record), ids in zip(batch, lists))

    if fmt in TOKEN_FORMATS:
        with TokenFileWriter(args.output, fmt, tok.vocab_size, tok.model.fingerprint()) as token_file:
            def to_file(batch: list, first: int) -> None:
                token_file.write(*encoded([text for text, _ in batch], first, args.threads))

            if _pipelined(args, corpus):
                docs, elapsed = _stream_pipelined(args, corpus, "Encode", encoded, token_file.write)
            else:
                docs, elapsed = _stream(args, corpus, "Encode", to_file)
        tokens = token_file.tokens
    else:
        with _text_output(args.output) as out:
            if fmt == "ids" and _pipelined(args, corpus):
                def write_lines(ids: np.ndarray, offsets: np.ndarray) -> None:
                    nonlocal tokens
                    tokens += len(ids)
                    out.write(writers.id_lines(ids, offsets))

                docs, elapsed = _stream_pipelined(args, corpus, "Encode", encoded, write_lines)
            else:
                docs, elapsed = _stream(args, corpus, "Encode",
                                        lambda batch, first: out.write(lines_of(batch, first)))
    _warn_if_empty(docs, args)
    if not args.quiet:
        size = corpus.total_bytes()
        rate = f", {size / elapsed / 1e6:.1f} MB/s of input" if size else ""
        print(f"encoded {docs} documents into {tokens} tokens in {elapsed:.2f} s{rate}{_written(args, fmt)}",
              file=sys.stderr)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    _check_common(args)
    if args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    if not args.alpha >= 0:
        raise ValueError(f"--alpha must be >= 0 for sampling, got {args.alpha}")
    fmt = _output_format(args)
    if args.ray is not None:
        return _encode_on_ray(args, fmt, args.n)
    corpus = _corpus(args, spool=False)  # read once: stdin and pipes are read as they come
    tok = Tokenizer(args.model)
    n, seed = args.n, _run_seed(args)

    def sampled_texts(texts: list, first: int, threads: Optional[int]) -> Tuple[np.ndarray, np.ndarray]:
        # Document d's sample j is item d * n + j of one long batch:
        # stream d * n + j of the seed, whatever the batching.
        repeated = [text for text in texts for _ in range(n)]
        return tok.encode_batch_numpy(repeated, alpha=args.alpha, sampler=args.sampler, seed=seed,
                                      num_threads=threads, normalize=args.normalize, first_stream=first * n,
                                      add_bos=args.add_bos, add_eos=args.add_eos,
                                      allowed_special=args.allowed_special)

    def sampled(batch: list, first: int) -> Tuple[np.ndarray, np.ndarray]:
        return sampled_texts([text for text, _ in batch], first, args.threads)

    def lines_of(batch: list, first: int) -> bytes:
        ids, offsets = sampled(batch, first)
        if fmt == "ids":  # one line per sample
            return writers.id_lines(ids, offsets)
        bodies = writers.id_list_bodies(ids, offsets)
        samples = ("[[" + "], [".join(bodies[d * n:(d + 1) * n]) + "]]" for d in range(len(batch)))
        return _joined(writers.record_line(record, text, "samples", value)
                       for (text, record), value in zip(batch, samples))

    if fmt in TOKEN_FORMATS:
        with TokenFileWriter(args.output, fmt, tok.vocab_size, tok.model.fingerprint()) as token_file:
            if _pipelined(args, corpus):
                docs, elapsed = _stream_pipelined(args, corpus, "Sample", sampled_texts, token_file.write)
            else:
                docs, elapsed = _stream(args, corpus, "Sample",
                                        lambda batch, first: token_file.write(*sampled(batch, first)))
    else:
        with _text_output(args.output) as out:
            if fmt == "ids" and _pipelined(args, corpus):  # one line per sample
                docs, elapsed = _stream_pipelined(args, corpus, "Sample", sampled_texts,
                                                  lambda ids, offsets: out.write(writers.id_lines(ids, offsets)))
            else:
                docs, elapsed = _stream(args, corpus, "Sample",
                                        lambda batch, first: out.write(lines_of(batch, first)))
    _warn_if_empty(docs, args)
    if not args.quiet:
        print(f"sampled {n} segmentations of each of {docs} documents in {elapsed:.2f} s{_written(args, fmt)}",
              file=sys.stderr)
    return 0


def _token_file_of(path: str) -> Optional[str]:
    """The token file that ``path`` belongs to when it is a token file's
    index or metadata file (``P.idx``, ``P.offsets.npy``,
    ``P.bin.bytepiece.json``, ``P.npy.bytepiece.json``), else None."""
    if path.endswith(METADATA_SUFFIX) and path[:-len(METADATA_SUFFIX)].endswith(tuple("." + f for f in TOKEN_FORMATS)):
        return path[:-len(METADATA_SUFFIX)]
    if path.endswith(".idx"):
        return path[:-4] + ".bin"
    if path.endswith(".offsets.npy"):
        return path[:-12] + ".npy"
    return None


def _decode_sources(args: argparse.Namespace) -> List[Tuple[str, Optional[str]]]:
    """(path, token format, "manifest", or None for id lines / JSON lines) of
    every input of decode, in order. A token file's index or metadata file
    stands for the token file (``decode train.idx`` or a folder holding all
    three files reads ``train.bin`` once), and a manifest for its shards."""
    files = expand_paths(args.files or ["-"])
    named = {path for path in files if _token_file_of(path) is None}
    sources: List[Tuple[str, Optional[str]]] = []
    stood_for = set()
    # The shards of a manifest among the inputs are read through it (decode of
    # a folder holding a manifest and its shards reads each shard once).
    in_manifests = {os.path.abspath(shard.path) for path in files if path.endswith(MANIFEST_SUFFIX)
                    for shard in read_token_manifest(path).shards}
    for path in files:
        if path.endswith(MANIFEST_SUFFIX):
            sources.append((path, "manifest"))
            continue
        if os.path.abspath(_token_file_of(path) or path) in in_manifests:
            continue
        owner = _token_file_of(path)
        if owner is not None:
            if owner in named or owner in stood_for:
                continue  # read with its token file
            stood_for.add(owner)
            path = owner
        sources.append((path, next((f for f in TOKEN_FORMATS if path.endswith("." + f)), None)))
    return sources


def _check_token_file_model(args: argparse.Namespace, tok: Tokenizer, path: str, fmt: str) -> None:
    """Check the token file whole (a damaged file is reported as such, before
    any output), then refuse it if it records another model's fingerprint
    than ``-m``'s (unless --ignore-fingerprint); note one that records none.
    A manifest (``fmt`` "manifest"): every shard checked whole and against it."""
    meta: Any
    if fmt == "manifest":
        for _ in read_token_shards(path):
            pass
        meta = read_token_manifest(path)
    else:
        read_token_file(path, fmt)
        meta = read_token_file_metadata(path, fmt)
    if meta is None or meta.model_fingerprint is None:
        if not args.quiet:
            missing = f"no {token_file_metadata_path(path, fmt)} beside it" if meta is None else "none recorded"
            print(f"bytepiece: note: {path} does not say which model made it ({missing}: a file of another tool "
                  f"or an older bytepiece); its ids are decoded as {args.model}'s unchecked", file=sys.stderr)
        return
    mine = tok.model.fingerprint()
    if meta.model_fingerprint == mine:
        return
    theirs = f"{path} was written with another model than {args.model} (model fingerprint " \
             f"{meta.model_fingerprint[:16]}... in {meta.path}, {mine[:16]}... for {args.model})"
    if not args.ignore_fingerprint:
        raise ValueError(f"{theirs}: its ids would decode to other text; decode it with the model that wrote it, "
                         "or pass --ignore-fingerprint to decode it anyway")
    if not args.quiet:
        print(f"bytepiece: note: {theirs}; decoding it anyway (--ignore-fingerprint)", file=sys.stderr)


def _id_documents(args: argparse.Namespace, sources: Sequence[Tuple[str, Optional[str]]]
                  ) -> Iterator[Tuple[str, Any, Optional[Dict[str, Any]]]]:
    """(place, ids, JSON record or None) of every document that decode reads
    from ``sources`` (:func:`_decode_sources`): token files (.bin with its
    .idx, .npy with its .offsets.npy), JSON lines with --field, or lines of
    space-separated ids."""
    for path, fmt in sources:
        if fmt == "manifest":  # token files in shards, one shard at a time
            for shard, ids, offsets in read_token_shards(path):
                for d in range(len(offsets) - 1):
                    yield f"{path}: document {shard.first_document + d + 1}", ids[offsets[d]:offsets[d + 1]], None
            continue
        if fmt is not None:
            ids, offsets = read_token_file(path, fmt)  # checked whole first: ValueError naming the file
            for d in range(len(offsets) - 1):
                yield f"{path}: document {d + 1}", ids[offsets[d]:offsets[d + 1]], None
            continue
        corpus = Corpus([path], errors="strict", spool=False)  # read once: no copy of a pipe
        if args.field is not None:
            yield from corpus.field_values(args.field, list)
            continue
        for where, raw in corpus.raw_lines():
            try:
                id_list = [int(x) for x in raw.split()]
            except ValueError:
                shown = raw[:40].decode("utf-8", errors="replace")
                raise ValueError(f"{where}: not a line of token ids ({shown!r}...); decode reads what encode "
                                 "writes: ids separated by spaces, JSON lines with --field, or .bin/.npy "
                                 "token files") from None
            yield where, id_list, None


def cmd_decode(args: argparse.Namespace) -> int:
    if args.output:
        check_writable(args.output)
    tok = Tokenizer(args.model)
    sources = _decode_sources(args)
    for path, fmt in sources:  # every token file's model, before any output
        if fmt is not None:
            _check_token_file_model(args, tok, path, fmt)
    docs = 0
    with _text_output(args.output) as out:
        for where, ids, record in _id_documents(args, sources):
            try:
                if args.output_format == "text":
                    out.write(tok.decode_bytes(ids) + b"\n")
                else:  # JSON lines keep documents that hold newlines apart
                    text = tok.decode(ids, errors="replace")
                    out.write(_joined([json.dumps({**(record or {}), "text": text}, ensure_ascii=False)]))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{where}: {exc}") from None
            docs += 1
    if not args.quiet:
        print(f"decoded {docs} documents", file=sys.stderr)
    return 0


def model_summary(model: Model) -> Dict[str, Any]:
    """What ``bytepiece info`` shows: sizes, the special tokens, how many
    pieces are whole UTF-8 text, and a histogram of piece lengths in bytes."""
    lengths = byte_lengths(model.pieces)
    histogram = np.bincount(lengths) if len(lengths) else np.zeros(1, dtype=np.int64)
    text_pieces = 0
    for piece in model.pieces:
        try:
            piece.decode("utf-8")
            text_pieces += 1
        except UnicodeDecodeError:
            pass
    return {
        "vocab_size": model.vocab_size,
        "pieces": len(model.pieces),
        "special_tokens": {**{name: token_id for token_id, name in enumerate(SPECIAL_TOKENS)},
                           **dict(model.special_tokens)},
        "explicit_scores": model.explicit_scores is not None,
        "utf8_pieces": text_pieces,
        "total_count": sum(model.counts),
        "longest_piece_bytes": int(lengths.max()) if len(lengths) else 0,
        "mean_piece_bytes": float(lengths.mean()) if len(lengths) else 0.0,
        "length_histogram": {int(n): int(c) for n, c in enumerate(histogram) if c},
        "provenance": model.provenance,
    }


def _provenance_lines(provenance: Optional[Dict[str, Any]]) -> List[str]:
    """``bytepiece info``'s lines on how the model was made."""
    if provenance is None:
        return ["trained with:     not recorded (a model from BytePiece 0.6.3, an import, or built from pieces)"]
    corpus = provenance.get("corpus") or {}
    lines = [f"trained with:     bytepiece {provenance.get('bytepiece', '?')}, algorithm "
             f"{provenance.get('algorithm', '?')}"]
    if corpus:
        lines.append(f"training corpus:  {corpus.get('documents', '?')} documents, {corpus.get('bytes', '?')} bytes")
    options = provenance.get("options") or {}
    if options:
        lines.append("training options: " + ", ".join(f"{name}={value}" for name, value in options.items()))
    if "min_count" in provenance and provenance["min_count"] != options.get("min_count"):
        lines.append(f"min_count used:   {provenance['min_count']} (raised to fit the n-gram model's memory budget)")
    return lines


def cmd_info(args: argparse.Namespace) -> int:
    summary = model_summary(load_model(args.model))
    if args.json:
        print(json.dumps(summary))
        return 0
    specials = ", ".join(f"{name} = {token_id}" for name, token_id in summary["special_tokens"].items())
    print(f"model:            {args.model}")
    print(f"vocabulary size:  {summary['vocab_size']} ({summary['pieces']} pieces + "
          f"{len(summary['special_tokens'])} special)")
    print(f"special tokens:   {specials}")
    print(f"UTF-8 pieces:     {summary['utf8_pieces']} (the others hold part of a character)")
    print(f"piece length:     mean {summary['mean_piece_bytes']:.2f} bytes, longest {summary['longest_piece_bytes']}")
    print(f"training counts:  {summary['total_count']} tokens in all")
    print(f"scores:           {'explicit (imported or extended vocabulary)' if summary['explicit_scores'] else 'from the counts'}")
    for line in _provenance_lines(summary["provenance"]):
        print(line)
    print("length (bytes)   pieces")
    for length, count in summary["length_histogram"].items():
        print(f"{length:>14}   {count}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .show import html_page, shown_tokens, terminal_view

    if args.samples < 0:
        raise ValueError(f"--samples must be at least 0, got {args.samples}")
    if not args.alpha >= 0:
        raise ValueError(f"--alpha must be >= 0 for the sampled segmentations, got {args.alpha}")
    if args.text:
        text = " ".join(args.text)
    else:
        source = args.file or "-"
        with (open(source, "rb") if source != "-" else contextlib.nullcontext(sys.stdin.buffer)) as f:
            data = f.read(_SHOW_LIMIT + 1)
        if len(data) > _SHOW_LIMIT:
            raise ValueError(f"{source}: show takes at most {_SHOW_LIMIT} bytes of text (it is for looking)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{source}: not UTF-8 text ({exc})") from None
    tok = Tokenizer(args.model)
    if args.html:
        check_writable(args.html)
        page = html_page(tok, text, title=f"bytepiece show: {os.path.basename(args.model)}", alpha=args.alpha,
                         samples=args.samples, seed=args.seed, allowed_special=args.allowed_special)
        with atomic_file(args.html, "w", encoding="utf-8") as f:
            f.write(page)
        if not args.quiet:
            print(f"wrote {args.html}", file=sys.stderr)
        return 0
    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    tokens = shown_tokens(tok, text, allowed_special=args.allowed_special)
    print(terminal_view(tokens, colour=colour, show_ids=args.ids))
    for k in range(args.samples):
        sampled = shown_tokens(tok, text, alpha=args.alpha, seed=args.seed + k, allowed_special=args.allowed_special)
        print(f"-- sample {k + 1} (alpha {args.alpha:g}, seed {args.seed + k}): {len(sampled)} tokens")
        print(terminal_view(sampled, colour=colour, show_ids=args.ids))
    if not args.quiet:
        size = len(text.encode("utf-8"))
        print(f"{len(tokens)} tokens, {size} bytes ({size / max(1, len(tokens)):.2f} bytes/token)", file=sys.stderr)
    return 0


#: The most text ``bytepiece show`` takes: it is for looking, not for corpora.
_SHOW_LIMIT = 1 << 20


def cmd_vocab(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    scores = model.scores()
    # Every id in order: the reserved and user-defined special tokens (count 0, no score) and the pieces.
    rows = {token_id: f"{token_id}\t{name}\t0\t" for token_id, name in enumerate(SPECIAL_TOKENS)}
    rows.update((token_id, f"{token_id}\t{writers.escape_piece(name.encode('utf-8'))}\t0\t")
                for name, token_id in model.special_tokens)
    rows.update((model.ids[i], f"{model.ids[i]}\t{writers.escape_piece(model.pieces[i])}\t{model.counts[i]}\t"
                                f"{float(scores[i])!r}") for i in range(len(model.pieces)))
    with _text_output(args.output) as out:
        out.write(_joined(["id\tpiece\tcount\tscore", *(rows[token_id] for token_id in range(model.vocab_size))]))
    return 0


def _synthetic_sample(model: Model, count: int) -> Iterator[str]:
    """``count`` texts made of the model's own whole-UTF-8 pieces (seeded),
    made as they are read, for measuring an export's agreement when no
    sample text is given."""
    rng = random.Random(0)
    pieces = []
    for piece in model.pieces:
        try:
            pieces.append(piece.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    # Every model has the printable ASCII bytes among its pieces, so the list is never empty.
    for _ in range(count):
        yield "".join(rng.choice(pieces) for _ in range(rng.randint(5, 60)))


def _rate(rate: float, digits: int) -> str:
    """A share as a percentage, or "n/a" for a share of nothing (NaN)."""
    return "n/a" if rate != rate else f"{100 * rate:.{digits}f}%"


def cmd_export(args: argparse.Namespace) -> int:
    if args.sample_size < 1:
        raise ValueError(f"--sample-size must be at least 1, got {args.sample_size}")
    if args.min_agreement is not None and not 0 <= args.min_agreement <= 1:
        raise ValueError(f"--min-agreement is a share of texts from 0 to 1, got {args.min_agreement}")
    if args.format != "hf" and args.add_special is not None:
        raise ValueError("--add-special sets what a Hugging Face export adds: use it with --format hf")
    if args.format == "hf" and (args.files or args.min_agreement is not None):
        raise ValueError("--sample and --min-agreement measure a SentencePiece export; a Hugging Face export "
                         "gives bytepiece's ids by construction")
    model = load_model(args.model)
    if args.format == "hf":
        from .formats.huggingface import to_huggingface

        written = to_huggingface(model, args.output, args.add_special or "bos")
        if not args.quiet:
            exact = ("every score exact" if not written.inexact else
                     f"{len(written.inexact)} scores one ulp off in Rust's reader (ids may differ on exact ties "
                     "involving those pieces)")
            print(f"wrote {', '.join(written.files)}: identical ids to bytepiece; {exact}", file=sys.stderr)
        return 0
    from .formats.sentencepiece import Agreement, sentencepiece_agreement, to_sentencepiece

    check_writable(args.output)
    source = "the given texts" if args.files else "texts made of the model's pieces"
    texts = (itertools.islice((text for text, _ in _corpus(args, spool=False).records()), args.sample_size)
             if args.files else _synthetic_sample(model, args.sample_size))
    measured: List[Agreement] = []

    def measure(temp: str) -> None:
        # On the temporary file: a refusal leaves whatever was at -o as it was.
        agreement = sentencepiece_agreement(model, temp, texts)
        measured.append(agreement)
        if not agreement.texts:
            raise ValueError("no texts to measure agreement on: the --sample files hold no documents; "
                             "nothing was written")
        if args.min_agreement is not None and agreement.text_rate < args.min_agreement:
            raise ValueError(f"refused: {_rate(agreement.text_rate, 1)} of {agreement.texts} texts agree "
                             f"({_rate(agreement.boundary_rate, 2)} of token boundaries), below --min-agreement "
                             f"{100 * args.min_agreement:.1f}%; nothing was written")

    report = to_sentencepiece(model, args.output, layout=args.layout, check=measure)
    agreement = measured[0]
    if not args.quiet:
        print(f"wrote {report.path}: {report.pieces} pieces, {len(report.unused)} bytepiece pieces unused (not whole "
              f"UTF-8 characters, or names that would repeat); agreement with bytepiece on {agreement.texts} of "
              f"{source}: {_rate(agreement.text_rate, 1)} of texts identical, "
              f"{_rate(agreement.boundary_rate, 2)} of token boundaries", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    check_writable(args.output)
    notes: List[str] = []
    if args.format == "dict":
        from .formats.dictionary import model_from_dictionary

        model = model_from_dictionary(args.source)
    elif args.format == "sentencepiece":
        from .formats.sentencepiece import from_sentencepiece

        imported = from_sentencepiece(args.source)
        model, notes = imported.model, imported.notes
    else:
        from .formats.huggingface import from_huggingface

        imported_hf = from_huggingface(args.source)
        model, notes = imported_hf.model, imported_hf.notes
    save_model(model, args.output)
    if not args.quiet:
        print(f"wrote {args.output}: vocabulary size {model.vocab_size}"
              + "".join(f"\nnote: {note}" for note in notes), file=sys.stderr)
    return 0


def _read_pieces_file(path: str, pieces: Dict[str, Optional[int]]) -> None:
    """Add the pieces of a ``--pieces-file`` to ``pieces``: one per line,
    optionally ``piece<TAB>count`` (count: ASCII digits, at least 1); a
    later line overrides an earlier one. ValueError naming the line."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
            # "\r\n" ends a line as "\n" does (a file saved on Windows).
            piece, tab, count = line.removesuffix("\n").removesuffix("\r").partition("\t")
            if not piece and not tab:
                continue
            # isdigit() is also true of "²" and other digits that int() refuses: ASCII only,
            # and fewer digits than Python's limit on reading an int.
            value = int(count) if count.isascii() and count.isdigit() and len(count) <= 4000 else 0
            if not piece or (tab and value < 1):
                raise ValueError(f"{path}:{lineno}: expected 'piece' or 'piece<TAB>count' with a count of at "
                                 f"least 1, got {line[:60]!r}")
            pieces[piece] = value if tab else None


def _piece_bytes(piece: str) -> bytes:
    """The UTF-8 of a piece given as text; ValueError for a lone surrogate
    (what an argument that is not UTF-8 becomes in ``sys.argv``)."""
    try:
        return piece.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"piece {piece!r:.40} is not valid text (it holds a lone surrogate)") from None


def cmd_extend(args: argparse.Namespace) -> int:
    check_writable(args.output)
    model = load_model(args.model)
    pieces: Dict[str, Optional[int]] = {piece: None for piece in args.piece or []}
    for path in args.pieces_file or []:
        _read_pieces_file(path, pieces)
    if pieces:
        model = model.extend([_piece_bytes(piece) for piece in pieces], list(pieces.values()))
    if args.special:
        model = model.with_special_tokens(args.special)
    save_model(model, args.output)
    if not args.quiet:
        print(f"wrote {args.output}: vocabulary size {model.vocab_size} ({len(pieces)} pieces and "
              f"{len(args.special or [])} special tokens added; every earlier id unchanged)", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .trainer import Trainer

    # Everything that can be wrong with the options or files fails here, before any work.
    asked = {option.name: getattr(args, option.name) for option in fields(TrainingOptions)}
    asked["max_vocab_size"] = asked["max_vocab_size"] or [CLI_DEFAULTS.max_vocab_size]  # "append" has no default
    try:
        options = TrainingOptions(**asked)
    except (ValueError, TypeError) as exc:  # the message names Python's fields: name the flags instead
        message = str(exc)
        for option in fields(TrainingOptions):
            message = re.sub(rf"\b{option.name}\b", option.metadata["flag"], message)
        raise type(exc)(message) from None
    trainer = Trainer.from_options(options)
    num_threads = check_num_threads(args.threads, "--threads")  # None: CLI_DEFAULTS' every core
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    # The memory options, before any pass (and before Ray starts, which takes seconds).
    check_memory_options(trainer.options.max_ngram_model_bytes, args.max_memory, trainer.options.order,
                         this_machine=args.ray == "", cli=True)
    for path in trainer.save_paths(args.output):
        check_writable(path)
    progress = False if args.quiet else None
    if args.ray is not None:
        return _train_on_ray(args, trainer, progress)
    with _corpus(args) as corpus:  # frees the temporary copy of stdin or pipes, if any
        return _train_locally(args, trainer, corpus, num_threads, progress)


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Training's warnings (duplicates, a raised min_count) printed as the
    command's other messages, one ``bytepiece: warning:`` line each, when
    the block ends (also when it fails)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            yield
        finally:
            for warning in caught:
                _warn(str(warning.message))


def _ngram_model_note(stats: Any, asked_min_count: int) -> str:
    """The summary's words on the n-gram model and its budget."""
    size = f"n-gram model {format_bytes(stats.model_bytes)}"
    if stats.ngram_model_budget is None:
        return size
    within = f"{size} within {format_bytes(stats.ngram_model_budget)}"
    if stats.min_count == asked_min_count:
        return f"{within} (min_count {stats.min_count})"
    return f"{within}: min_count raised from {asked_min_count} to {stats.min_count}"


def _train_locally(args: argparse.Namespace, trainer: Trainer, corpus: Corpus, num_threads: int,
                   progress: Optional[bool]) -> int:
    """Train on this machine, save, and (unless --quiet) report the compression on the training data."""
    with _warnings_as_lines():
        trainer.train(corpus, num_threads=num_threads, batch_size=args.batch_size, progress=progress,
                      max_memory=args.max_memory)
    paths = trainer.save(args.output)
    if args.quiet:
        return 0
    stats = trainer.stats
    assert isinstance(stats, ThreadStats)  # what the thread engine measures
    start = time.perf_counter()
    tokens_of_models = []
    for path in paths:
        tok = Tokenizer(path)
        bar = progress_bar(f"Evaluate {os.path.basename(path)}", total=stats.documents, unit=" docs",
                           enabled=progress)
        tokens = 0
        for batch in in_batches(corpus, args.batch_size):
            tokens += len(tok.encode_batch_numpy(batch, num_threads=num_threads)[0])
            bar.update(len(batch))
        bar.close()
        tokens_of_models.append(tokens)
    _print_training_summary(paths, trainer, tokens_of_models, time.perf_counter() - start,
                            f"{stats.num_threads} threads")
    return 0


def _print_training_summary(paths: Sequence[str], trainer: Trainer, tokens_of_models: Sequence[int],
                            evaluation: float, where: str, extra: str = "") -> None:
    """The summary of a training run, the same locally and on Ray: a line per
    model (vocabulary size, bytes per token on the training data), then one
    with the corpus, the phases, the evaluation and the n-gram model."""
    stats = trainer.stats
    for path, model, tokens in zip(paths, trainer.models(), tokens_of_models):
        print(f"{path}: vocab size {model.vocab_size}, {stats.bytes / max(tokens, 1):.3f} bytes/token "
              f"on the training data", file=sys.stderr)
    phases = ", ".join(f"{name} {phase.wall:.2f} s" for name, phase in stats.phases.items())
    print(f"{stats.documents} documents, {stats.bytes / 1e6:.1f} MB, {where}: {phases} "
          f"(total {stats.seconds:.2f} s); evaluation {evaluation:.2f} s; {extra}"
          f"{_ngram_model_note(stats, trainer.options.min_count)}", file=sys.stderr)


def _train_on_ray(args: argparse.Namespace, trainer: Trainer, progress: Optional[bool]) -> int:
    if not args.files or "-" in args.files:
        raise ValueError("--ray reads files on the workers: name them (standard input cannot be shared)")
    for path in expand_paths(args.files):  # every file can be read here: fail before any work starts
        if not os.path.isfile(path):
            raise ValueError(f"--ray reads files on the workers: {path} is not a regular file (a pipe, FIFO or "
                             "device cannot be shared); save it to a file, or train without --ray")
    with _warnings_as_lines():
        trainer.train_ray(args.files, field=args.field, whole_file=args.whole_file, errors=args.errors,
                          address=args.ray or None, num_partitions=args.partitions, max_memory=args.max_memory,
                          progress=progress, evaluate=not args.quiet)
    paths = trainer.save(args.output)
    if not args.quiet:
        stats = trainer.stats
        assert isinstance(stats, RayStats)  # what the Ray engine measures
        _print_training_summary(
            paths, trainer, stats.training_tokens, stats.evaluation_seconds,
            f"{stats.shards} shards on {stats.cpus} CPUs, {stats.num_partitions} partitions",
            f"largest worker {stats.peak_worker_memory / 1e9:.2f} GB, driver {stats.peak_driver_memory / 1e9:.2f} GB; ")
    return 0


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    """One flag per field of TrainingOptions, with the help and the command
    line's default written there (CLI_DEFAULTS; order and min_count: the
    algorithm's), so that a new option shows up here by itself."""
    for option in fields(TrainingOptions):
        flag = option.metadata["flag"]
        default = getattr(CLI_DEFAULTS, option.name, None)
        settings: Dict[str, Any] = {"dest": option.name, "help": option_help(option.name, CLI_DEFAULTS)}
        if option.name == "algorithm":
            settings.update(choices=tuple(ALGORITHMS), default=default)
        elif isinstance(default, bool):  # a switch that turns the default over
            settings.update(action="store_false" if default else "store_true")
        elif option.metadata.get("size"):  # bytes, written as 1G, 500M ...
            settings.update(type=parse_size, metavar="SIZE", default=default)
        else:
            settings.update(type=int, metavar=flag[2:].upper().replace("-", "_"))
            if option.name == "max_vocab_size":
                settings.update(action="append")  # one model per size
            else:
                settings.update(default=default)
        parser.add_argument(flag, **settings)


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


_EXAMPLES = {
    "train": """examples:
  bytepiece train corpus.txt -o my.model --vocab-size 32000
  bytepiece train --algorithm 0.6.3 corpus.txt -o same-as-0.6.3.model
  bytepiece train --field text 'data/*.jsonl.gz' -o my.model --vocab-size 16000 --vocab-size 32000
  bytepiece train --ray auto --field text s3-mounted/corpus/ -o my.model --max-memory 8G
  bytepiece train --max-memory 2G corpus.txt -o my.model       # or stops early, saying to use --ray
  zcat corpus.txt.gz | bytepiece train -o my.model             # or: bytepiece train <(zcat corpus.txt.gz) ...

Training reads the corpus twice. Inputs that can be read only once (stdin, pipes, FIFOs, <(...)) are
copied to an anonymous temporary file in $TMPDIR as they are read, and the second pass reads the copy;
it takes as much disk as the (uncompressed) input and is removed when training ends, however it ends.
One document (a line, or a file with --whole-file) may hold at most 1 GiB.""",
    "encode": """examples:
  bytepiece encode -m my.model corpus.txt                          # one line of ids per document
  bytepiece encode -m my.model --field text data/ -o train.bin --add-eos   # Megatron .bin/.idx
  bytepiece encode -m my.model --field meta.text a.jsonl -o train.npy     # numpy .npy + .offsets.npy
  bytepiece encode -m my.model --output-format jsonl --field text a.jsonl  # records with an ids field
  bytepiece encode --ray auto -m my.model --field text /shared/corpus/ -o /shared/out/train.bin --add-eos
      # on a cluster: train.00000.bin ... in shards, listed by train.bin.manifest.json""",
    "decode": """examples:
  bytepiece decode -m my.model corpus.ids -o corpus.txt
  bytepiece decode -m my.model train.bin --output-format jsonl     # documents with newlines stay apart
  bytepiece decode -m my.model --field ids encoded.jsonl
  bytepiece decode -m my.model train.bin.manifest.json -o corpus.txt   # token files in shards (encode --ray)""",
    "sample": """examples:
  bytepiece sample -m my.model --n 8 --alpha 0.1 corpus.txt -o augmented.jsonl
  bytepiece sample -m my.model --n 4 --seed 1 --add-eos --field text data/ -o augmented.bin
  bytepiece sample --ray -m my.model --n 4 --seed 1 --field text data/ -o augmented.npy   # in shards, same ids""",
    "info": """example:
  bytepiece info my.model""",
    "show": """examples:
  bytepiece show -m my.model "BytePiece 分词器 cuts text like this"
  bytepiece show -m my.model --ids --samples 3 --alpha 0.1 --file page.txt
  bytepiece show -m my.model --file page.txt --html page.html     # open page.html in a browser""",
    "export": """examples:
  bytepiece export my.model --format hf -o my-tokenizer/       # tokenizer.json + configs for transformers
  bytepiece export my.model --format sentencepiece -o my.spm --sample held-out.jsonl --field text""",
    "import": """examples:
  bytepiece import spm.model --format sentencepiece -o my.model
  bytepiece import tokenizer.json --format hf -o my.model
  bytepiece import /usr/lib/python3/dist-packages/jieba/dict.txt --format dict -o jieba.model""",
    "extend": """examples:
  bytepiece extend my.model --piece GIMP --piece 笔刷工具 -o domain.model
  bytepiece extend my.model --pieces-file terms.tsv --special '<|endoftext|>' -o domain.model""",
    "vocab": """examples:
  bytepiece vocab my.model | head
  bytepiece vocab my.model -o my.vocab.tsv""",
}


def _command(sub: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_text, description=help_text, epilog=_EXAMPLES[name],
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_output_arguments(parser: argparse.ArgumentParser, formats: Sequence[str], default: str, what: str) -> None:
    parser.add_argument("-o", "--output", help="output file (default: stdout; bin and npy need a file)")
    parser.add_argument("--output-format", choices=formats,
                        help=f"{what} (default: from the -o extension .bin / .npy, else {default})")
    parser.add_argument("--add-bos", action="store_true", help="put <bos> (id 1) before each document's ids")
    parser.add_argument("--add-eos", action="store_true", help="put <eos> (id 2) after each document's ids")
    parser.set_defaults(default_output_format=default)


_TOKEN_FILE_HELP = ("bin: Megatron-LM indexed dataset OUT.bin + OUT.idx (the .bin is also nanoGPT's flat file); "
                    "npy: OUT.npy + OUT.offsets.npy; ids uint16 when the vocabulary fits, else 32-bit")


def build_parser() -> argparse.ArgumentParser:
    """The ``bytepiece`` argument parser, with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="bytepiece",
        description="bytepiece: train a byte-level Unigram tokenizer on raw text, tokenize and sample with it, "
                    "and move models and token files between formats.",
        epilog="run 'bytepiece COMMAND --help' for a command's options and examples")
    parser.add_argument("--version", action="version", version=f"bytepiece {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = _command(sub, "train", "train a model on a corpus (n-gram new-word discovery)")
    _add_input_arguments(train)
    train.add_argument("-o", "--output", required=True,
                       help="model file to write (with several --vocab-size: OUTPUT.SIZE each)")
    _add_training_options(train)
    train.add_argument("--threads", "--workers", dest="threads", type=int, default=CLI_DEFAULTS.num_threads,
                       help=f"threads for the counting passes (default: {CLI_DEFAULTS.num_threads or 'all cores'}; "
                            f"at most {MAX_THREADS}, and no more run than the cores; --workers is an old name)")
    train.add_argument("--batch-size", type=int, default=CLI_DEFAULTS.batch_size,
                       help=f"documents per processing step (default {CLI_DEFAULTS.batch_size})")
    train.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                       help="train on Ray: the cluster at ADDRESS (e.g. auto, or host:6379), or without it a new "
                            "one on this machine; the workers read FILES (paths, globs, directories) themselves")
    train.add_argument("--partitions", type=int, help="with --ray: partitions of the n-gram and piece tables "
                                                      "(default: twice the CPUs; more = less memory per task)")
    train.add_argument("--max-memory", type=parse_size, metavar="SIZE",
                       help="the most memory one process may hold (e.g. 3G): with --ray each worker and the driver, "
                            "else this process; the n-gram model gets half unless --max-ngram-bytes says otherwise. "
                            "What cannot hold is refused before any pass; locally, counting stops as soon as it "
                            "would pass it, saying to use --ray")
    train.set_defaults(func=cmd_train)

    enc = _command(sub, "encode", "tokenize documents: one line of ids per document, or a binary token file")
    _add_input_arguments(enc)
    enc.add_argument("-m", "--model", required=True, help="model file (.model JSON, .gz or .zip)")
    _add_output_arguments(enc, ("ids", "pieces", "jsonl", *TOKEN_FORMATS), "ids",
                          "ids: space-separated ids per line; pieces: a JSON list of the pieces as text; "
                          "jsonl: the input's JSON record (if any) with an 'ids' field; " + _TOKEN_FILE_HELP)
    _add_sampling_arguments(enc, default_alpha=-1.0)
    _add_ray_arguments(enc)
    enc.set_defaults(func=cmd_encode)

    dec = _command(sub, "decode", "the inverse of encode: ids in, text out")
    dec.add_argument("files", nargs="*",
                     help="id lines (as encode writes them), JSON lines with --field, .bin / .npy token files, "
                          "or the manifest of token files in shards (NAME.bin.manifest.json); '-' or none: stdin")
    dec.add_argument("-m", "--model", required=True, help="model file")
    dec.add_argument("-o", "--output", help="output file (default: stdout)")
    dec.add_argument("--field", help="read JSON lines and take the ids from this field (e.g. ids)")
    dec.add_argument("--output-format", choices=("text", "jsonl"), default="text",
                     help="text: one line per document, the exact bytes; jsonl: {\"text\": ...} per document "
                          "(keeps documents that hold newlines apart; with --field, the input record gains 'text')")
    dec.add_argument("--ignore-fingerprint", action="store_true",
                     help="decode token files even when their metadata (NAME.bin.bytepiece.json) says another "
                          "model wrote them (their ids then stand for other text)")
    dec.add_argument("-q", "--quiet", action="store_true", help="no notes or summary on stderr")
    dec.set_defaults(func=cmd_decode)

    smp = _command(sub, "sample", "n sampled segmentations per document (subword regularization)")
    _add_input_arguments(smp)
    smp.add_argument("-m", "--model", required=True, help="model file")
    smp.add_argument("--n", type=int, default=4, help="segmentations per document (default 4)")
    _add_output_arguments(smp, ("jsonl", "ids", *TOKEN_FORMATS), "jsonl",
                          "jsonl: the input's record (or {\"text\": ...}) with a 'samples' list; ids: one line "
                          "per sample; bin/npy: each sample a document of its own (" + _TOKEN_FILE_HELP + ")")
    _add_sampling_arguments(smp, default_alpha=0.1)
    _add_ray_arguments(smp)
    smp.set_defaults(func=cmd_sample)

    info = _command(sub, "info", "describe a model: vocabulary size, special tokens, piece lengths")
    info.add_argument("model", help="model file")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=cmd_info)

    exp = _command(sub, "export", "write a model for another library: Hugging Face or SentencePiece")
    exp.add_argument("model", help="model file")
    exp.add_argument("--format", required=True, choices=("hf", "sentencepiece"),
                     help="hf: tokenizer.json (or a directory for transformers) giving bytepiece's ids; "
                          "sentencepiece: a Unigram .model, agreement measured and reported")
    exp.add_argument("-o", "--output", required=True, help="file (or directory, for hf) to write")
    exp.add_argument("--sample", action="append", dest="files", metavar="FILE",
                     help="sentencepiece: texts to measure agreement on, read as encode reads them "
                          "(repeatable; default: texts made of the model's pieces)")
    exp.add_argument("--field", help="JSON field of the sample texts")
    exp.add_argument("--whole-file", action="store_true", help=argparse.SUPPRESS)
    exp.add_argument("--errors", choices=ERROR_POLICIES, default="strict", help=argparse.SUPPRESS)
    exp.add_argument("--sample-size", type=int, default=1000,
                     help="texts to measure agreement on, at least 1 (default 1000)")
    exp.add_argument("--min-agreement", type=float, metavar="RATE",
                     help="sentencepiece: refuse (write nothing, leave any earlier file) if fewer texts than "
                          "RATE (0-1) agree")
    exp.add_argument("--layout", choices=("bytepiece", "0.6.3"), default="bytepiece",
                     help="sentencepiece: 0.6.3 writes exactly 0.6.3's convert_to_sentencepiece file")
    exp.add_argument("--add-special", choices=("bos", "eos", "both", "none"),
                     help="hf: what add_special_tokens=True (transformers' default) adds: <bos> first (bos, the "
                          "default), <eos> last, both, or none")
    exp.add_argument("-q", "--quiet", action="store_true", help="no report on stderr")
    exp.set_defaults(func=cmd_export)

    imp = _command(sub, "import", "make a bytepiece model from another tokenizer's vocabulary")
    imp.add_argument("source", help="SentencePiece .model, Hugging Face tokenizer.json, or a jieba-style dict.txt")
    imp.add_argument("--format", required=True, choices=("sentencepiece", "hf", "dict"))
    imp.add_argument("-o", "--output", required=True, help="model file to write")
    imp.add_argument("-q", "--quiet", action="store_true", help="no report on stderr")
    imp.set_defaults(func=cmd_import)

    ext = _command(sub, "extend", "add pieces or special tokens to a model, keeping every id")
    ext.add_argument("model", help="model file")
    ext.add_argument("--piece", action="append", help="a piece to add (repeatable); its count is chosen so "
                                                      "that it is used where it occurs")
    ext.add_argument("--pieces-file", action="append", help="a file of pieces, one per line, optionally "
                                                            "'piece<TAB>count'")
    ext.add_argument("--special", action="append", help="a special token to add (repeatable)")
    ext.add_argument("-o", "--output", required=True, help="model file to write")
    ext.add_argument("-q", "--quiet", action="store_true", help="no report on stderr")
    ext.set_defaults(func=cmd_extend)

    show = _command(sub, "show", "see how a model cuts a text: coloured tokens in the terminal, or an HTML page")
    show.add_argument("-m", "--model", required=True, help="model file")
    show.add_argument("text", nargs="*", help="the text (default: --file, or stdin)")
    show.add_argument("--file", help="read the text from this file (UTF-8, at most 1 MiB)")
    show.add_argument("--ids", action="store_true", help="print each token's id after it, as [id]")
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                      help="colour the tokens (auto: when stdout is a terminal; never: tokens separated by |)")
    show.add_argument("--samples", type=int, default=0,
                      help="also show this many sampled segmentations (default 0; 3 on the page)")
    show.add_argument("--alpha", type=float, default=0.1, help="alpha of the sampled segmentations (default 0.1)")
    show.add_argument("--seed", type=int, default=0, help="seed of the first sample (the next take seed + 1, ...)")
    show.add_argument("--allowed-special", type=_allowed_special, default=(), metavar="NAMES",
                      help="special tokens recognized in the text: 'all' or names separated by commas")
    show.add_argument("--html", metavar="OUT.html",
                      help="write a self-contained page instead: the text coloured by token, sampled "
                           "segmentations side by side, a table of the pieces used")
    show.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    show.set_defaults(func=cmd_show)

    vocab = _command(sub, "vocab", "list a model's vocabulary as TSV: id, piece, count, score")
    vocab.add_argument("model", help="model file")
    vocab.add_argument("-o", "--output", help="output file (default: stdout)")
    vocab.set_defaults(func=cmd_vocab)
    return parser


def _report_error(message: str) -> int:
    """Print ``message`` as the one ``bytepiece: error:`` line (line breaks
    in it, e.g. from a file name, are escaped); returns the exit status 1."""
    print("bytepiece: error: " + message.replace("\r", "\\r").replace("\n", "\\n"), file=sys.stderr)
    return 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``bytepiece`` command.

    A command that fails prints exactly one ``bytepiece: error:`` line on
    stderr, no traceback, and exits with status 1 (130 when interrupted;
    0 when the reader of stdout went away). Wrong options are argparse's
    usage message and status 2. An exception that no input should cause is
    reported the same way, as a bug; ``BYTEPIECE_TRACEBACK=1`` in the
    environment shows its traceback instead.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except MemoryBoundError as exc:  # a bound the run was given: the message says what to change
        return _report_error(str(exc))
    except MemoryError as exc:
        detail = f" ({exc})" if str(exc) else ""
        return _report_error(f"out of memory{detail}: use fewer --threads or a smaller --batch-size, split the "
                             "largest documents, or run where more memory is available")
    except (ValueError, TypeError, OSError, OverflowError) as exc:  # what inputs and options can cause
        return _report_error(str(exc) or type(exc).__name__)
    except ImportError as exc:  # an optional package (an export's library) is not installed: says which
        return _report_error(str(exc))
    except Exception as exc:  # a bug: still one line, saying so
        if os.environ.get("BYTEPIECE_TRACEBACK"):
            raise
        return _report_error(f"internal error ({type(exc).__name__}: {exc}); this is a bug in bytepiece: please "
                             "report it with the command that caused it (BYTEPIECE_TRACEBACK=1 shows where it "
                             "happened)")
