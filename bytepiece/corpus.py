"""Reading corpora from files: plain text, JSON lines, gzip, stdin, pipes.

A :class:`Corpus` is re-iterable (training reads it twice): each iteration
opens its regular files again. Files may be named by paths, globs or
directories. Lines are split on ``\\n`` only, so a ``\\r`` stays in its
document. Errors name the file and line.

Inputs that cannot be read twice (stdin, pipes, FIFOs, process substitution
such as ``/dev/fd/63``, devices) are read exactly once. By default
(``spool=True``) the first iteration copies what it reads of them to an
anonymous temporary file, which later iterations read instead: bounded by
disk, not memory, and never given a name on disk, so it disappears when the
corpus is closed or collected, or the process ends, however it ends. With
``spool=False`` (a reader that reads once, such as ``bytepiece encode``) they
are read directly and a second iteration is refused.

One document (a line, or a whole file with ``whole_file``) may hold at most
``validation.MAX_DOCUMENT_BYTES`` bytes: reading never holds more than that
plus one byte of a document, and refuses a longer one with a ValueError
naming the file and line.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import glob
import gzip
import io
import json
import os
import stat
import sys
import tempfile
import weakref
from typing import (IO, Any, Callable, Dict, Generator, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple,
                    TypeVar, Union)

import numpy as np

from . import _core, validation

__all__ = ["Corpus", "LineBlock", "block_documents", "expand_paths", "field_pipeline_applies", "field_value",
           "in_batches"]

ERROR_POLICIES = ("strict", "replace", "ignore")
T = TypeVar("T")
_KIND_NAMES: Dict[type, str] = {str: "string", list: "list of ids"}

#: The first read of a whole file of unknown size; later reads double, up to _LARGEST_READ.
_FIRST_READ = 1 << 16
_LARGEST_READ = 1 << 26
#: A line is read this much at a time: one read for nearly every line, and a
#: line too long to take is refused before it is joined into one object.
_LINE_STEP = 1 << 20


def _check_readable(path: str) -> None:
    """OSError naming ``path`` when it does not exist or this process may not
    read it. Nothing is opened: opening a FIFO would wait for its writer and
    then take its data from the real read."""
    os.stat(path)  # FileNotFoundError, NotADirectoryError... with the path
    if not os.access(path, os.R_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)


def expand_paths(patterns: Sequence[str]) -> List[str]:
    """Files named by ``patterns``: paths, globs (``**`` recursive) and
    directories (every file below, sorted, but not hidden files or folders,
    whose names start with ``.``, nor ``__pycache__`` folders: a glob such
    as ``src/**/*.py`` chooses files by name); ``-`` (stdin) stays as it is.
    OSError, naming the pattern or file, when one names nothing or a file
    does not exist or cannot be read. No file is opened here."""
    paths: List[str] = []
    for pattern in patterns:
        if pattern == "-":
            found = [pattern]
        elif os.path.isdir(pattern):
            found = sorted(_files_below(pattern))
        elif glob.has_magic(pattern) and not os.path.exists(pattern):
            found = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
        else:
            found = [pattern]
        if not found:
            raise FileNotFoundError(f"no file matches {pattern!r}")
        for path in found:
            if path != "-":
                _check_readable(path)  # fail before any work starts, naming the file
        paths += found
    return paths


def _files_below(folder: str) -> Iterator[str]:
    """Every file below ``folder`` but hidden ones and those in hidden or
    ``__pycache__`` folders (compiled and tool files, never a corpus)."""
    for root, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".") and name != "__pycache__"]
        for name in names:
            if not name.startswith("."):
                yield os.path.join(root, name)


def describe_fields(record: Dict[str, Any], most: int = 12) -> str:
    """The top-level field names of a JSON record, for messages (at most ``most``)."""
    names = [repr(name) for name in list(record)[:most]]
    more = len(record) - len(names)
    return (", ".join(names) or "none") + (f" and {more} more" if more > 0 else "")


def first_line(path: str, limit: int = 1 << 16) -> bytes:
    """The first non-blank line of the file ``path`` (``.gz`` decompressed),
    at most ``limit`` bytes of it; b"" when there is none. OSError when it
    cannot be read."""
    with open(path, "rb") as raw:
        source: Union[IO[bytes], gzip.GzipFile] = gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw
        read = 0
        while read < limit:
            line = source.readline(limit - read)
            if not line:
                return b""
            read += len(line)
            if line.strip():
                return line
    return b""


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


def _read_whole(f: Union[IO[bytes], gzip.GzipFile], where: str, limit: int, size_hint: Optional[int]) -> bytes:
    """The rest of ``f``, refused once it passes ``limit`` bytes (no more
    than ``limit + 1`` are read). ``size_hint``: the expected size, when known
    (a regular file is then read in one piece, without a copy)."""
    want = limit + 1
    step = min(want, _FIRST_READ if size_hint is None else size_hint + 1)
    parts: List[bytes] = []
    size = 0
    while size < want:
        part = f.read(min(step, want - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
        step = min(max(step, size), _LARGEST_READ)
    if size > limit:
        raise validation.document_too_long(f"{where}: this file (read whole, as one document)")
    return b"".join(parts)  # the part itself when there is one


def _long_line(readline: Any, part: bytes, limit: int, where: str) -> bytes:
    """The whole raw line (with its ``\\n``, if any) that starts with ``part``,
    a read that ended inside it; a ValueError naming ``where`` once it passes
    ``limit`` bytes (no more than ``limit + 1`` are read, and never joined)."""
    parts, size = [part], len(part)
    while part[-1] != 10:
        if size > limit:
            raise validation.document_too_long(f"{where}: this line")
        part = readline(min(_LINE_STEP, limit + 1 - size))
        if not part:  # the last line, without \n
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


class LineBlock(NamedTuple):
    """Whole lines of one input file, read in one piece (:meth:`Corpus.line_blocks`)."""

    #: The file's name in places (``<stdin>`` for ``-``).
    path: str
    #: The number of the block's first line in its file (1 for the first).
    first_line: int
    #: The lines, each with its ``\\n`` (the file's last line may lack it).
    data: bytes
    #: How many lines ``data`` holds, and how many of them are not blank (JSON lines' documents).
    lines: int
    nonblank: int
    #: :meth:`Corpus.bytes_read` once the block was read (for progress bars).
    bytes_read: int


def _blocks_of(f: Union[IO[bytes], gzip.GzipFile], path: str, size: int, first: int,
               bytes_read: Any) -> Iterator[LineBlock]:
    """The lines of an open binary file from its position on, about ``size``
    bytes at a time, cut after a ``\\n`` (a line longer than that makes its
    block longer). A line longer than ``validation.MAX_DOCUMENT_BYTES``
    raises the ValueError of :meth:`Corpus.lines_of` once that many bytes
    and one more are held without its end."""
    limit = validation.MAX_DOCUMENT_BYTES
    parts: List[bytes] = []  # the start of a line that no read has ended yet
    held = 0
    line = first
    while True:
        chunk = f.read(size)
        if not chunk:
            break
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            parts.append(chunk)
            held += len(chunk)
            if held > limit:
                raise validation.document_too_long(f"{path}:{line}: this line")
            continue
        data = b"".join(parts + [chunk[:cut]]) if parts else chunk[:cut]
        parts = [chunk[cut:]] if cut < len(chunk) else []
        held = len(chunk) - cut
        lines, nonblank = _core.jsonl_count_lines(data)
        yield LineBlock(path, line, data, lines, nonblank, bytes_read())
        line += lines
    if parts:  # the last line, without \n
        data = b"".join(parts)
        lines, nonblank = _core.jsonl_count_lines(data)
        yield LineBlock(path, line, data, lines, nonblank, bytes_read())


def _rebuild(paths: List[str], field: Optional[str], whole_file: bool, errors: str, spool: bool) -> "Corpus":
    return Corpus(paths, field=field, whole_file=whole_file, errors=errors, spool=spool)


class _CopyReader(io.RawIOBase):
    """Reads bytes ``[0, end)`` of an open file descriptor at its own
    position (pread), so that several readers and the writer of a temporary
    copy never move each other's offsets."""

    def __init__(self, fd: int, end: int) -> None:
        super().__init__()
        self._fd, self._at, self._end = fd, 0, end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        count = min(len(buffer), self._end - self._at)
        if count <= 0:
            return 0
        data = os.pread(self._fd, count, self._at)
        buffer[:len(data)] = data
        self._at += len(data)
        return len(data)


class _OnceInput:
    """An input that can be read only once (stdin, a pipe, a FIFO, a device)
    and what has been read of it: the open source, and with spooling the
    temporary copy of the documents read so far."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = "<stdin>" if path == "-" else path
        self.source: Optional[Any] = None  # the open input while it has more to give
        self.raw: Optional[IO[bytes]] = None  # the file under a gzip source
        self.copy: Optional[IO[bytes]] = None  # anonymous temporary file
        self.copied = 0  # bytes in the copy
        self.documents = 0  # lines (or whole files) read from the source so far
        self.started = False
        self.finished = False  # the source was read to its end
        self.reading = False  # an iteration is reading the source now
        self.failed: Optional[str] = None  # why the source cannot be read on
        self.closed = False

    def open(self) -> Any:
        if self.source is None:
            if self.path == "-":
                if sys.stdin is None:
                    raise ValueError("there is no standard input to read")
                self.source = sys.stdin.buffer
            else:
                self.raw = open(self.path, "rb")
                self.source = gzip.GzipFile(fileobj=self.raw, mode="rb") if self.path.endswith(".gz") else self.raw
        return self.source

    def close_source(self) -> None:
        if self.source is not None and self.path != "-":  # stdin stays open for the program
            self.source.close()
            if self.raw is not None:
                self.raw.close()
        self.source = self.raw = None

    def close(self) -> None:
        self.closed = True
        self.close_source()
        if self.copy is not None:
            self.copy.close()  # it has no name: the space is freed now
            self.copy = None

    @contextlib.contextmanager
    def reading_source(self, resumable: bool) -> Iterator[Any]:
        """The open source, for one pass to read in the ``with`` block: read to
        its end, it is marked finished and closed; an error inside marks it
        failed (why) and closes it; a pass that stops early (GeneratorExit)
        leaves it open for the next pass to go on when ``resumable``, else
        as for an error."""
        self.reading = True
        try:
            yield self.open()
            self.finished = True
            self.close_source()
        except GeneratorExit:
            if not resumable:
                self._fail(GeneratorExit())
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        finally:
            self.reading = False

    def _fail(self, exc: BaseException) -> None:
        self.failed = str(exc) or type(exc).__name__
        self.close_source()


def _stdin_stat() -> Optional[os.stat_result]:
    """What ``sys.stdin`` is (None when it has no file descriptor)."""
    try:
        return os.fstat(sys.stdin.fileno())
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return None


def _close_inputs(inputs: List[_OnceInput]) -> None:
    for state in inputs:
        state.close()


class Corpus:
    """The documents of ``paths``: files, globs or directories (``-`` is
    stdin, ``.gz`` is decompressed).

    One document per line (without its ``\\n``), or the field ``field`` of
    each JSON line (blank lines skipped; ``meta.text`` reaches into nested
    objects), or each whole file with ``whole_file``. ``errors`` says what to
    do with invalid UTF-8: ``"strict"`` raises a ValueError naming the place,
    ``"replace"`` puts U+FFFD there, ``"ignore"`` drops the bytes. A document
    longer than ``validation.MAX_DOCUMENT_BYTES`` bytes is refused with a
    ValueError naming its place.

    Inputs that are not regular files (stdin, pipes, FIFOs, ``/dev/fd/N``,
    devices) are read once. With ``spool`` (the default) the first iteration
    copies them to an anonymous temporary file (in ``TMPDIR``) that later
    iterations read, so the corpus stays re-iterable; :meth:`close` (or the
    end of a ``with`` block, or the corpus being collected) frees it. Without
    ``spool`` they are read directly and a second iteration raises a
    ValueError.
    """

    def __init__(self, paths: Sequence[str], field: Optional[str] = None, whole_file: bool = False,
                 errors: str = "strict", *, spool: bool = True) -> None:
        if errors not in ERROR_POLICIES:
            raise ValueError(f"errors must be one of {ERROR_POLICIES}, got {errors!r}")
        if field is not None and whole_file:
            raise ValueError("a JSON field and whole files exclude each other")
        if isinstance(paths, (str, bytes)):
            raise TypeError("paths must be a list of paths (e.g. [path]), not one string")
        self.paths = expand_paths(list(paths) or ["-"])  # fails before any work starts
        if self.paths.count("-") > 1:
            raise ValueError("standard input can be read only once: name '-' once")
        self.field, self.whole_file, self.errors, self.spool = field, whole_file, errors, bool(spool)
        self._once: Dict[int, _OnceInput] = {}
        seen: Dict[Tuple[int, int], str] = {}
        for index, path in enumerate(self.paths):
            try:
                info = _stdin_stat() if path == "-" else os.stat(path)
            except OSError:
                info = None  # stdin closed: reading it says so
            if path != "-" and info is not None and stat.S_ISREG(info.st_mode):
                continue
            state = _OnceInput(path)
            if info is not None:
                key = (info.st_dev, info.st_ino)
                if key in seen:
                    raise ValueError(f"{seen[key]} and {state.name} are the same input, which is not a regular file "
                                     "and can be read only once: name it once")
                seen[key] = state.name
            self._once[index] = state
        self._finished_bytes = 0
        self._reading: Optional[IO[bytes]] = None
        self._finalizer = weakref.finalize(self, _close_inputs, list(self._once.values()))

    def close(self) -> None:
        """Close the inputs that are open and free the temporary copies; the
        corpus cannot read those inputs again."""
        self._finalizer()

    def __reduce__(self) -> Tuple[Any, ...]:
        # A corpus of regular files is its paths and options; one that reads
        # stdin or a pipe is tied to this process.
        if self._once:
            name = next(iter(self._once.values())).name
            raise TypeError(f"a corpus that reads {name} (not a regular file) cannot be pickled: it is read in this "
                            "process only; save it to a file first")
        return (_rebuild, (self.paths, self.field, self.whole_file, self.errors, self.spool))

    def __enter__(self) -> "Corpus":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def total_bytes(self) -> Optional[int]:
        """Size of the input files on disk; None when one of them is not a
        regular file (stdin, a pipe, a device), whose size is not known."""
        if self._once:
            return None
        return sum(os.path.getsize(p) for p in self.paths)

    def bytes_read(self) -> int:
        """Bytes of the input files (as on disk: compressed for ``.gz``) that
        the latest iteration has read so far, for progress bars (regular
        files only: see :meth:`total_bytes`)."""
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
                raise ValueError(f"{where}: no field {field!r} in this JSON line; its fields: "
                                 f"{describe_fields(record)}") from None
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
            except RecursionError:  # arrays or objects nested thousands deep
                raise ValueError(f"{where}: this JSON line is nested too deeply to read") from None
            if not isinstance(record, dict):
                raise ValueError(f"{where}: a JSON line must hold an object, not {type(record).__name__}")
            yield where, record

    def line_value(self, where: str, raw: bytes, field: str) -> str:
        """The document of the non-blank JSON line ``raw`` at ``where``: its
        str field ``field``, read exactly as :meth:`records` reads it, with
        the same errors."""
        for _, value, _ in self.field_values(field, str, [(where, raw)]):
            return value
        raise ValueError(f"{where}: a blank line holds no document")

    def line_blocks(self, size: int) -> Generator[LineBlock, None, None]:
        """The corpus's lines in blocks of whole lines, about ``size`` bytes
        each, file after file: :meth:`raw_lines` for readers that cut lines
        themselves (``bytepiece encode`` hands blocks to threads). The same
        places and the same refusal of a line too long; not with
        ``whole_file``. Inputs that are not regular files are read as they
        come, once: a corpus that spools them (``spool=True``) is refused."""
        if self.whole_file:
            raise ValueError("line_blocks reads lines, not whole files")
        if self._once and self.spool:
            raise ValueError("line_blocks reads stdin and pipes once: make the corpus with spool=False")
        yield from self._each_input(lambda once: self._once_blocks(once, size),
                                    lambda stream, path, _: _blocks_of(stream, path, size, 1, self.bytes_read))

    def _once_blocks(self, once: _OnceInput, size: int) -> Iterator[LineBlock]:
        """:meth:`line_blocks` of an input that can be read only once (never spooled)."""
        if once.closed:
            raise ValueError(f"{once.name} is not a regular file, and the corpus was closed: it cannot be read again")
        if once.started:
            raise ValueError(f"{once.name} is not a regular file (stdin, a pipe, a FIFO or a device), so it can be "
                             "read only once, and it was read already: save it to a file first")
        once.started = True
        with once.reading_source(resumable=False) as source:  # never spooled: no pass can go on from here
            yield from _blocks_of(source, once.name, size, 1, self.bytes_read)

    def raw_lines(self) -> Iterator[Tuple[str, bytes]]:
        """(place, raw bytes) of every line (without its \\n), or of every whole file."""
        yield from self._each_input(self._once_lines,
                                    lambda stream, path, size: self.lines_of(stream, path, size_hint=size))

    def _each_input(self, read_once: Callable[[_OnceInput], Iterator[T]],
                    read: Callable[[Union[IO[bytes], gzip.GzipFile], str, Optional[int]], Iterator[T]]) -> Iterator[T]:
        """What ``read(stream, path, size_hint)`` yields of each file in turn
        (``.gz`` decompressed; size_hint the file's size, None when
        compressed), or ``read_once(input)`` of an input that can be read only
        once; keeps ``bytes_read`` and the file being read up to date."""
        self._finished_bytes = 0
        for index, path in enumerate(self.paths):
            once = self._once.get(index)
            if once is not None:
                yield from read_once(once)
                continue
            with open(path, "rb") as raw:
                self._reading = raw
                try:
                    size = os.fstat(raw.fileno()).st_size
                    if path.endswith(".gz"):
                        with gzip.GzipFile(fileobj=raw, mode="rb") as g:
                            yield from read(g, path, None)
                    else:
                        yield from read(raw, path, size)
                    self._finished_bytes += size
                finally:  # also when the reader stops early
                    self._reading = None

    def _once_lines(self, once: _OnceInput) -> Iterator[Tuple[str, bytes]]:
        """The documents of an input that can be read only once: from its
        temporary copy as far as an earlier iteration read it, then on from
        the input itself (copying them, with ``spool``)."""
        if once.closed:
            raise ValueError(f"{once.name} is not a regular file, and the corpus was closed: it cannot be read again")
        if once.failed is not None:
            raise ValueError(f"{once.name}: an earlier pass stopped at an error inside this input ({once.failed}), "
                             "and it is not a regular file, so it cannot be read again")
        if not self.spool and once.started:
            raise ValueError(f"{once.name} is not a regular file (stdin, a pipe, a FIFO or a device), so it can be "
                             "read only once, and it was read already: save it to a file, or read the corpus "
                             "with spool=True, which copies it to a temporary file")
        if once.reading:
            raise ValueError(f"{once.name} is not a regular file, and another pass over the corpus is reading it "
                             "now: read the corpus one pass at a time")
        once.started = True
        if once.copy is not None:
            once.copy.flush()
            end = once.copied
            with io.BufferedReader(_CopyReader(once.copy.fileno(), end)) as copy:
                yield from self.lines_of(copy, once.name, size_hint=end)
        if once.finished:
            return
        # A reader that stops does so at a document boundary: the next pass goes on from there.
        with once.reading_source(resumable=True) as source:
            if self.spool and once.copy is None:
                once.copy = tempfile.TemporaryFile(prefix="bytepiece-")
            for where, raw in self.lines_of(source, once.name, first=once.documents + 1):
                if self.spool:
                    self._write_copy(once, raw)
                once.documents += 1
                yield where, raw

    def _write_copy(self, once: _OnceInput, raw: bytes) -> None:
        assert once.copy is not None
        try:
            once.copy.write(raw)
            if not self.whole_file:
                once.copy.write(b"\n")  # each line whole, so that the copy reads back line for line
        except OSError as exc:
            raise OSError(exc.errno, f"cannot copy {once.name} to a temporary file in {tempfile.gettempdir()} "
                                     f"({exc.strerror}): set TMPDIR to a folder with room for the corpus, or "
                                     "save the input to a file first") from None
        once.copied += len(raw) + (0 if self.whole_file else 1)

    def lines_of(self, f: Union[IO[bytes], gzip.GzipFile], path: str, end: Optional[int] = None,
                 where: Optional[str] = None, *, first: int = 1,
                 size_hint: Optional[int] = None) -> Iterator[Tuple[str, bytes]]:
        """(place, raw bytes) of the lines of an open binary file from its
        position on, or of the whole file with ``whole_file``. With ``end``,
        only the lines that start before byte ``end``. ``where`` replaces the
        line number in the places (a shard does not know it); ``first`` is the
        first line's number. A line (or whole file) longer than
        ``validation.MAX_DOCUMENT_BYTES`` raises a ValueError once that many
        bytes and one more are read. ``size_hint``: the file's size, when known."""
        limit = validation.MAX_DOCUMENT_BYTES
        if self.whole_file:
            if size_hint is not None and size_hint > limit:
                raise validation.document_too_long(f"{path}: this file of {size_hint} bytes (read whole, as one "
                                                   "document)")
            yield path, _read_whole(f, path, limit, size_hint)
            return
        # Bounded reads: a line is read at most `step` bytes at a time, and
        # one that ends without b"\n" is the last line or goes on (_long_line).
        readline = f.readline
        step = min(limit + 1, _LINE_STEP)
        lines = enumerate(iter(functools.partial(readline, step), b""), first)
        if end is None and where is None:  # a whole file: the loop that reads most corpora, kept lean
            for lineno, raw in lines:
                if raw[-1] == 10:
                    yield f"{path}:{lineno}", raw[:-1]
                elif len(raw) < step:  # the last line, without \n
                    yield f"{path}:{lineno}", raw
                else:
                    raw = _long_line(readline, raw, limit, f"{path}:{lineno}")
                    yield f"{path}:{lineno}", raw[:-1] if raw[-1] == 10 else raw
            return
        at = f.tell() if end is not None else 0
        for lineno, raw in lines:
            if end is not None and at >= end:
                return
            place = f"{path}:{lineno}" if where is None else f"{path}:{where}"
            if raw[-1] != 10 and len(raw) == step:
                raw = _long_line(readline, raw, limit, place)
            at += len(raw)
            yield place, raw[:-1] if raw[-1] == 10 else raw

    def _decode(self, raw: bytes, where: str) -> str:
        try:
            return raw.decode("utf-8", self.errors)
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{where}: invalid UTF-8 at byte {exc.start} ({exc.reason}); "
                "pass errors='replace' (--errors replace) to replace such bytes"
            ) from None


def field_pipeline_applies(corpus: Corpus) -> bool:
    """Whether :func:`block_documents` can read this corpus's blocks: JSON
    lines with a field whose name has UTF-8, read once (stdin and pipes
    unspooled), or regular files only (read as often as wanted)."""
    # total_bytes() is None where an input is not a regular file: line_blocks
    # reads such inputs only unspooled.
    if corpus.field is None or corpus.whole_file or (corpus.spool and corpus.total_bytes() is None):
        return False
    try:
        corpus.field.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def block_documents(corpus: Corpus, block: LineBlock, normalize: bool) -> List[Union[bytes, str]]:
    """The documents of a block of ``corpus``'s JSON lines (see
    :func:`field_pipeline_applies`), in order, exactly those of
    :meth:`Corpus.records`: the field's value found in C
    (``_core.jsonl_extract``, without the GIL) as its UTF-8 bytes, or as a
    str where ``normalize`` (NFC) might change it, and the exact path's value
    (:meth:`Corpus.line_value`, a str) for every line the scan is not sure
    of; the first error of the block, by line, with the same message."""
    assert corpus.field is not None
    key = corpus.field.encode("utf-8")
    values, offsets, status, line_index, line_start = _core.jsonl_extract(
        block.data, key, normalize, validation.MAX_DOCUMENT_BYTES)
    texts: List[Any] = _core.split_packed(values, offsets)
    for e in np.flatnonzero(status).tolist():
        kind = status[e]
        if kind == _core.JSONL_NEEDS_NFC:
            texts[e] = texts[e].decode("utf-8")  # what json.loads made of it: the str path normalizes it
            continue
        where = f"{block.path}:{block.first_line + int(line_index[e])}"
        if kind == _core.JSONL_TOO_LONG:
            raise validation.document_too_long(f"{where}: this line")
        start = int(line_start[e])
        end = block.data.find(b"\n", start)
        raw = block.data[start:] if end < 0 else block.data[start:end]
        texts[e] = corpus.line_value(where, raw, corpus.field)
    return texts


def in_batches(items: Iterable[Any], size: int) -> Iterator[List[Any]]:
    """``items`` in lists of ``size`` (the last may be shorter), read as they
    come: the batches of documents that the commands and the encoding tasks
    work on, in constant memory."""
    batch: List[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
