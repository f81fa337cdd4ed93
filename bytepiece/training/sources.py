"""Corpus files as shards that workers read themselves.

A :class:`FileShard` is a file, or the lines of an uncompressed text or JSON
lines file that start inside a byte range; any process that can open the
path reads it with :func:`read_shard`, so the corpus never passes through
the driver. Documents are exactly those :class:`bytepiece.Corpus` reads from
the same files with the same :class:`ReadOptions` (one per line, a JSON
field, or each whole file; ``.gz`` decompressed; ``.parquet`` by column).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..corpus import Corpus, expand_paths

__all__ = ["ReadOptions", "FileShard", "expand_paths", "plan_shards", "read_shard", "shard_lines", "shard_documents"]


@dataclass(frozen=True)
class ReadOptions:
    """How documents are read from files: the JSON ``field`` (or parquet
    column; None: plain text, and parquet's ``text`` column), ``whole_file``
    documents, and the policy for invalid UTF-8 (``errors``)."""

    field: Optional[str] = None
    whole_file: bool = False
    errors: str = "strict"


@dataclass(frozen=True)
class FileShard:
    """The documents of ``path`` whose lines start at a byte in
    [``start``, ``end``) (``end`` None: to the end of the file)."""

    path: str
    start: int = 0
    end: Optional[int] = None

    def __str__(self) -> str:
        return self.path if self.start == 0 and self.end is None else f"{self.path} (bytes {self.start}-{self.end})"


def _splittable(path: str, options: ReadOptions) -> bool:
    return not options.whole_file and not path.endswith((".gz", ".parquet"))


def plan_shards(paths: Sequence[str], shard_bytes: int, options: ReadOptions) -> List[FileShard]:
    """Shards of at most about ``shard_bytes`` bytes of file: uncompressed
    line files are cut into byte ranges, other files are one shard each."""
    if shard_bytes < 1:
        raise ValueError(f"shard_bytes must be positive, got {shard_bytes}")
    shards: List[FileShard] = []
    for path in paths:
        size = os.path.getsize(path)
        if not _splittable(path, options) or size <= shard_bytes:
            shards.append(FileShard(path))
            continue
        starts = list(range(0, size, shard_bytes))
        shards += [FileShard(path, a, min(a + shard_bytes, size) if a + shard_bytes < size else None) for a in starts]
    return shards


def _parquet_documents(shard: FileShard, options: ReadOptions) -> Iterator[str]:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # optional (bytepiece[ray])

    column = options.field or "text"
    table = pq.read_table(shard.path, columns=[column])
    for value in table.column(column).to_pylist():
        if not isinstance(value, str):
            raise ValueError(f"{shard.path}: column {column!r} holds {type(value).__name__}, not a string")
        yield value


def shard_documents(shard: Any, options: ReadOptions) -> Iterable[str]:
    """The texts of a shard as a Ray task sees it: a :class:`FileShard`
    (:func:`read_shard`), or a Dataset block (a pyarrow Table) whose column
    ``options.field`` (default ``text``) holds them, every value checked to
    be a string before any is returned."""
    if isinstance(shard, FileShard):
        return read_shard(shard, options)
    column = options.field or "text"
    if column not in shard.column_names:
        raise ValueError(f"the dataset has no column {column!r} (it has {shard.column_names})")
    texts = shard.column(column).to_pylist()
    for value in texts:
        if not isinstance(value, str):
            raise ValueError(f"column {column!r} holds {type(value).__name__}, not a string")
    return texts


def read_shard(shard: FileShard, options: ReadOptions) -> Iterator[str]:
    """The documents of ``shard``, as :class:`bytepiece.Corpus` would read them."""
    if shard.path.endswith(".parquet"):
        yield from _parquet_documents(shard, options)
        return
    corpus = Corpus([shard.path], field=options.field, whole_file=options.whole_file, errors=options.errors)
    for text, _ in corpus.records_of(shard_lines(shard, corpus)):
        yield text


def shard_lines(shard: FileShard, corpus: Corpus) -> Iterator[Tuple[str, bytes]]:
    """(place, raw bytes) of the lines of ``shard`` (of a line file, read with
    ``corpus``'s options) that :func:`read_shard` reads as documents: those
    that start in its byte range; a whole file is one shard."""
    if shard.start == 0 and shard.end is None:
        yield from corpus.raw_lines()
        return
    with open(shard.path, "rb") as f:
        if shard.start > 0:
            f.seek(shard.start - 1)
            if f.read(1) != b"\n":
                f.readline()  # the line that starts before the shard belongs to the previous one
        yield from corpus.lines_of(f, shard.path, end=shard.end, where=f"bytes {shard.start}-{shard.end}")
