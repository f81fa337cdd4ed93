"""Reading corpora from files: plain text, JSON lines, gzip, stdin.

A :class:`Corpus` is re-iterable (training reads it twice): each iteration
opens the files again. Files may be named by paths, globs or directories.
Lines are split on ``\\n`` only, so a ``\\r`` stays in its document. Errors
name the file and line.
"""
from __future__ import annotations

import glob
import gzip
import json
import os
import sys
from typing import IO, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

__all__ = ["Corpus", "expand_paths", "field_value"]

ERROR_POLICIES = ("strict", "replace", "ignore")
_KIND_NAMES: Dict[type, str] = {str: "string", list: "list of ids"}


def expand_paths(patterns: Sequence[str]) -> List[str]:
    """Files named by ``patterns``: paths, globs (``**`` recursive) and
    directories (every file below, sorted); ``-`` (stdin) stays as it is.
    OSError, naming the pattern or file, when one names nothing or a file
    cannot be opened."""
    paths: List[str] = []
    for pattern in patterns:
        if pattern == "-":
            found = [pattern]
        elif os.path.isdir(pattern):
            found = sorted(os.path.join(root, name) for root, _, names in os.walk(pattern) for name in names)
        elif glob.has_magic(pattern) and not os.path.exists(pattern):
            found = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
        else:
            found = [pattern]
        if not found:
            raise FileNotFoundError(f"no file matches {pattern!r}")
        for path in found:
            if path != "-":
                with open(path, "rb"):  # fail before any work starts, naming the file
                    pass
        paths += found
    return paths


def field_value(record: Dict[str, Any], field: str) -> Any:
    """``record[field]``, or for a dotted ``field`` such as ``meta.text`` that
    is not a key itself, ``record["meta"]["text"]``; KeyError when absent."""
    if field in record:
        return record[field]
    value: Any = record
    for key in field.split("."):
        if not isinstance(value, dict) or key not in value:
            raise KeyError(field)
        value = value[key]
    return value


class Corpus:
    """The documents of ``paths``: files, globs or directories (``-`` is
    stdin, ``.gz`` is decompressed).

    One document per line (without its ``\\n``), or the field ``field`` of
    each JSON line (blank lines skipped; ``meta.text`` reaches into nested
    objects), or each whole file with ``whole_file``. ``errors`` says what to
    do with invalid UTF-8: ``"strict"`` raises a ValueError naming the place,
    ``"replace"`` puts U+FFFD there, ``"ignore"`` drops the bytes. Standard input is read once
    and kept in memory, so that it can be iterated again.
    """

    def __init__(self, paths: Sequence[str], field: Optional[str] = None, whole_file: bool = False,
                 errors: str = "strict") -> None:
        if errors not in ERROR_POLICIES:
            raise ValueError(f"errors must be one of {ERROR_POLICIES}, got {errors!r}")
        if field is not None and whole_file:
            raise ValueError("a JSON field and whole files exclude each other")
        if isinstance(paths, (str, bytes)):
            raise TypeError("paths must be a list of paths (e.g. [path]), not one string")
        self.paths = expand_paths(list(paths) or ["-"])  # fails before any work starts
        if self.paths.count("-") > 1:
            raise ValueError("standard input can be read only once")
        self.field, self.whole_file, self.errors = field, whole_file, errors
        self._stdin: Optional[List[Tuple[str, bytes]]] = None
        self._finished_bytes = 0
        self._reading: Optional[IO[bytes]] = None

    def total_bytes(self) -> Optional[int]:
        """Size of the input files on disk (None when stdin is among them)."""
        if "-" in self.paths:
            return None
        return sum(os.path.getsize(p) for p in self.paths)

    def bytes_read(self) -> int:
        """Bytes of the input files (as on disk: compressed for ``.gz``) that
        the latest iteration has read so far, for progress bars."""
        return self._finished_bytes + (self._reading.tell() if self._reading is not None else 0)

    def __iter__(self) -> Iterator[str]:
        for text, _ in self.records():
            yield text

    def records(self) -> Iterator[Tuple[str, Optional[Dict[str, Any]]]]:
        """(document, its JSON record) pairs; the record is None for plain text."""
        return self.records_of(self.raw_lines())

    def records_of(self, lines: Iterable[Tuple[str, bytes]]) -> Iterator[Tuple[str, Optional[Dict[str, Any]]]]:
        """:meth:`records` of the given (place, raw line) pairs, read with this
        corpus's options (a distributed engine reads its shard's lines itself)."""
        if self.field is None:
            for where, raw in lines:
                yield self._decode(raw, where), None
            return
        for _, value, record in self.field_values(self.field, str, lines):
            yield value, record

    def field_values(self, field: str, kind: type, lines: Optional[Iterable[Tuple[str, bytes]]] = None
                     ) -> Iterator[Tuple[str, Any, Dict[str, Any]]]:
        """(place, value, record) of ``field`` (dotted for nested objects) in
        every JSON line (of ``lines``, default the corpus's); ValueError
        naming the line when the field is missing or not a ``kind``."""
        for where, record in self.json_records(lines):
            try:
                value = field_value(record, field)
            except KeyError:
                raise ValueError(f"{where}: no field {field!r} in this JSON line") from None
            if not isinstance(value, kind):
                raise ValueError(f"{where}: field {field!r} is {type(value).__name__}, not a {_KIND_NAMES[kind]}")
            yield where, value, record

    def json_records(self, lines: Optional[Iterable[Tuple[str, bytes]]] = None) -> Iterator[Tuple[str, Dict[str, Any]]]:
        """(place, object) for every non-blank line (of ``lines``, default the
        corpus's), each a JSON object."""
        for where, raw in self.raw_lines() if lines is None else lines:
            if not raw.strip():
                continue
            try:
                record = json.loads(self._decode(raw, where))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not a JSON line ({exc.msg} at column {exc.colno})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{where}: a JSON line must hold an object, not {type(record).__name__}")
            yield where, record

    def raw_lines(self) -> Iterator[Tuple[str, bytes]]:
        """(place, raw bytes) of every line (without its \\n), or of every whole file."""
        self._finished_bytes = 0
        for path in self.paths:
            if path == "-":
                if self._stdin is None:
                    self._stdin = list(self.lines_of(sys.stdin.buffer, "<stdin>"))
                yield from self._stdin
                continue
            with open(path, "rb") as raw:
                self._reading = raw
                try:
                    if path.endswith(".gz"):
                        with gzip.GzipFile(fileobj=raw, mode="rb") as g:
                            yield from self.lines_of(g, path)
                    else:
                        yield from self.lines_of(raw, path)
                    self._finished_bytes += os.fstat(raw.fileno()).st_size
                finally:  # also when the reader stops early
                    self._reading = None

    def lines_of(self, f: Union[IO[bytes], gzip.GzipFile], path: str, end: Optional[int] = None,
                 where: Optional[str] = None) -> Iterator[Tuple[str, bytes]]:
        """(place, raw bytes) of the lines of an open binary file from its
        position on, or of the whole file with ``whole_file``. With ``end``,
        only the lines that start before byte ``end``. ``where`` replaces the
        line number in the places (a shard does not know it)."""
        if self.whole_file:
            yield path, f.read()
            return
        at = f.tell() if end is not None else 0
        for lineno, raw in enumerate(f, 1):
            if end is not None:
                if at >= end:
                    return
                at += len(raw)
            yield (f"{path}:{lineno}" if where is None else f"{path}:{where}"), raw[:-1] if raw.endswith(b"\n") else raw

    def _decode(self, raw: bytes, where: str) -> str:
        try:
            return raw.decode("utf-8", self.errors)
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{where}: invalid UTF-8 at byte {exc.start} ({exc.reason}); "
                "pass errors='replace' (--errors replace) to replace such bytes"
            ) from None
