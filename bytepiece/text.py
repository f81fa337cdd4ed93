"""Text -> normalized UTF-8 -> chunks (docs/spec/text.md).

BytePiece 0.6.3 compatibility fixes every detail here: NFC, then UTF-8, then
chunks that end after each maximal run of ``\\n`` (``\\r`` is an ordinary
byte). "Normalize" means NFC and nothing else. The tokenizer's chunks are
cut in C (csrc/bp_chunk.h); this module cuts the trainer's, whose caps count
characters, and offers the rule to users.

NFC is :func:`nfc`: exactly ``unicodedata.normalize("NFC", text)``, in time
linear in the length of the text. CPython's own normalize puts each run of
combining marks in canonical order with an insertion sort, quadratic in the
run's length when the marks' combining classes alternate (``"a" +
"\\u0301\\u0316" * n``; also ``"\\u0f73" * n``, whose characters decompose
into two marks each). :func:`nfc` leaves CPython the text where no such run
is long, and puts the long runs in order itself (docs/spec/text.md §1).
"""
from __future__ import annotations

import re
import sys
import threading
import unicodedata
from typing import List, NamedTuple, Optional, Tuple, Union

import numpy as np

__all__ = ["split_chunks", "normalize", "to_utf8", "nfc", "nfc_changes",
           "TRAINING_CHUNK_CHARS", "TRAINING_CHUNK_NEWLINES"]

TextLike = Union[str, bytes]

#: The trainer caps a chunk at this many characters (as 0.6.3 does)...
TRAINING_CHUNK_CHARS = 10000
#: ...and its run of newlines at this many.
TRAINING_CHUNK_NEWLINES = 100

# Chunk patterns as in BytePiece 0.6.3 (str patterns: \d is any Unicode
# decimal digit and the training caps count characters, not bytes).
_CHUNK = r".*\n+|.+"
_CHUNK_DIGITS = r"\d|[^\n\d]*\n+|[^\n\d]+"
_CHUNK_CAPPED = r".{,%d}\n{1,%d}|.{1,%d}"
_CHUNK_DIGITS_CAPPED = r"\d|[^\n\d]{,%d}\n{1,%d}|[^\n\d]{1,%d}"


def _chunk_pattern(maxlen: int, isolate_digits: bool) -> str:
    if maxlen < 0:
        raise ValueError(f"maxlen must be >= 0, got {maxlen}")
    if maxlen == 0:
        return _CHUNK_DIGITS if isolate_digits else _CHUNK
    return (_CHUNK_DIGITS_CAPPED if isolate_digits else _CHUNK_CAPPED) % (maxlen, TRAINING_CHUNK_NEWLINES, maxlen)


def to_utf8(text: TextLike, normalize: bool = True) -> bytes:
    """The bytes that are segmented: UTF-8 of ``str`` (NFC-normalized first
    unless ``normalize`` is false), ``bytes`` (or bytearray/memoryview) unchanged.

    Raises TypeError for anything else and UnicodeEncodeError (a ValueError)
    for a ``str`` holding a lone surrogate (``"a\\ud800b"``), which has no
    UTF-8 form: encode such text yourself with an error handler you choose.
    """
    if isinstance(text, str):
        if normalize:
            text = nfc(text)
        return text.encode("utf-8")
    if type(text) is bytes:
        return text
    if isinstance(text, (bytes, bytearray, memoryview)):  # a bytes subclass too: the C binding takes exact bytes
        return bytes(text)
    raise TypeError(f"text must be str or bytes, not {type(text).__name__}")


def split_chunks(text: TextLike, maxlen: int = 0, isolate_digits: bool = False) -> List[bytes]:
    """Split ``text`` into the UTF-8 chunks that pieces never cross, as BytePiece 0.6.3.

    ``str`` is NFC-normalized, cut into chunks and each chunk UTF-8 encoded;
    ``bytes`` are cut as they are (``\\d`` then means ASCII digits). A chunk
    is a run of characters other than ``\\n`` followed by the run of ``\\n``
    after it. ``maxlen > 0`` (training) caps the non-newline part at ``maxlen``
    characters and the newline run at 100; ``isolate_digits`` makes every
    digit a chunk of its own.
    """
    pattern = _chunk_pattern(maxlen, isolate_digits)
    if isinstance(text, str):
        text = nfc(text)
        return [chunk.encode("utf-8") for chunk in re.findall(pattern, text)]
    return re.findall(pattern.encode("ascii"), to_utf8(text))


#: BytePiece 0.6.3's name for :func:`split_chunks` (it does NFC, then cuts chunks).
normalize = split_chunks


# -- NFC in linear time ----------------------------------------------------------------------------------------------
#
# Terms (UAX #15). A character is a *boundary* when NFC never joins it to what
# precedes it: its combining class is 0, its canonical decomposition starts with
# a character of class 0, and that character is never the second of a canonical
# pair (nor a Hangul vowel or trailing jamo, which compose by rule). Then
# NFC(a + b) == NFC(a) + NFC(b) whenever b starts with a boundary: reordering
# stops at a starter, composition cannot reach back past one, and this one
# composes with nothing before it. So a text may be normalized piecewise,
# cut before boundaries.
#
# CPython's normalize is linear except for the canonical ordering of each run of
# non-starters (an insertion sort). Its quick check (``is_normalized``) is
# linear too: when it finds neither a character that NFC removes nor marks out
# of order, the only reordering left is of the few marks that a precomposed
# character decomposes into, which each following mark passes at most a few of.

#: CPython may sort runs of up to this many characters itself (at most about
#: 32**2 / 2 swaps each); a longer stretch that may change is put in
#: order here. Texts this short go to CPython directly.
_RUN_LIMIT = 32
#: Few changes: below one stretch that may change per this many characters,
#: :func:`nfc` normalizes just those stretches and copies the rest.
_SPARSE = 16
#: The text is scanned this many characters at a time (bounds the scan's memory).
_SCAN_BLOCK = 1 << 20

# Per-code-point flags, computed from unicodedata.
_NOT_BOUNDARY = 1  # NFC may join it to the character before it (see above)
_CHANGES = 2  # NFC changes it even alone: NFC(c) != c (quick check No)
_MAYBE = 4  # its decomposition starts with the second of a canonical pair (quick check Maybe, or more)
_ATTENTION = _NOT_BOUNDARY | _CHANGES  # where NFC may change the text


class _Tables(NamedTuple):
    flags: np.ndarray  # uint8 per code point, the bits above
    ccc: np.ndarray  # uint8 per code point: the canonical combining class
    flag_bytes: bytes  # flags again, for fast lookups of single characters


_tables: Optional[_Tables] = None
_tables_lock = threading.Lock()


def _get_tables() -> _Tables:
    """The flags of every code point, built on first use (once per process:
    about 0.1 s; never at import)."""
    global _tables
    if _tables is None:
        with _tables_lock:
            if _tables is None:
                _tables = _build_tables()
    return _tables


def _build_tables() -> _Tables:
    size = sys.maxunicode + 1
    # Only blocks of 256 code points holding a character that decomposes or has
    # a nonzero combining class need a look at each character. CPython's NFD
    # quick check (linear, no "maybe") finds them, a plane at a time: each code
    # point is put between U+0345 (class 240) and U+0334 (class 1), where it is
    # out of canonical order unless its class is 0, and fails the check if it
    # decomposes.
    blocks: List[int] = []
    width = 3 * 256
    for plane in range(0, size, 0x10000):
        probe = np.empty((0x10000, 3), dtype=np.uint32)
        probe[:, 0] = 0x345
        probe[:, 1] = np.arange(plane, plane + 0x10000, dtype=np.uint32)
        probe[:, 2] = 0x334
        if plane == 0:
            probe[0xD800:0xE000, 1] = 0x20  # surrogates: no decomposition, class 0
        probed = probe.tobytes().decode("utf-32-le")
        blocks += [(plane >> 8) + b for b in range(256)
                   if not unicodedata.is_normalized("NFD", probed[b * width:(b + 1) * width])]

    ccc = np.zeros(size, dtype=np.uint8)
    decomposed = {}  # code point -> its NFD, where that differs
    # The second characters of canonical pairs (of those excluded from
    # composition too: a superset only costs a few boundaries) and Hangul's
    # vowels and trailing consonants.
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    for block in blocks:
        for cp in range(block << 8, (block + 1) << 8):
            char = chr(cp)
            ccc[cp] = unicodedata.combining(char)
            nfd = unicodedata.normalize("NFD", char)
            if nfd != char:
                decomposed[cp] = nfd
                parts = unicodedata.decomposition(char).split()
                if len(parts) == 2 and not parts[0].startswith("<"):
                    seconds.add(int(parts[1], 16))

    flags = (ccc != 0).astype(np.uint8)  # _NOT_BOUNDARY is 1
    for cp in seconds:
        flags[cp] |= _NOT_BOUNDARY | _MAYBE
    for cp, nfd in decomposed.items():
        first = ord(nfd[0])
        if ccc[first]:
            flags[cp] |= _NOT_BOUNDARY
        if first in seconds:
            flags[cp] |= _NOT_BOUNDARY | _MAYBE
        if unicodedata.normalize("NFC", chr(cp)) != chr(cp):
            flags[cp] |= _CHANGES
    return _Tables(flags, ccc, flags.tobytes())


def _code_points(text: str) -> np.ndarray:
    """The code points of ``text`` (lone surrogates included) as uint32."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _true_runs(mask: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the maximal runs of True in a bool array."""
    edges = np.flatnonzero(np.diff(mask.view(np.int8), prepend=np.int8(0), append=np.int8(0)))
    return edges[0::2], edges[1::2]


def _stretches(text: str, tables: _Tables) -> Tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the stretches of ``text`` that NFC may change, in
    order. Outside them NFC leaves the text as it is, each starts and ends at a
    boundary (or an end of the text), so each normalizes on its own.

    A stretch is a maximal run of characters that are not boundaries or that
    NFC changes alone, with the boundary before it, kept only where the quick
    check of UAX #15 does not pass: it holds a character that NFC changes
    alone, one that may compose with what precedes it, or marks out of
    canonical order.
    """
    found_starts: List[np.ndarray] = []
    found_ends: List[np.ndarray] = []
    found_maybe: List[np.ndarray] = []
    previous_class = 0
    for base in range(0, len(text), _SCAN_BLOCK):
        cps = _code_points(text[base:base + _SCAN_BLOCK])
        flags = tables.flags[cps]
        classes = tables.ccc[cps]
        maybe = (flags & (_CHANGES | _MAYBE)) != 0
        # Marks out of canonical order: a nonzero class below the one before it.
        maybe[1:] |= (classes[1:] != 0) & (classes[:-1] > classes[1:])
        maybe[0] |= bool(classes[0] != 0 and previous_class > classes[0])
        previous_class = int(classes[-1])
        starts, ends = _true_runs((flags & _ATTENTION) != 0)
        if not len(starts):
            continue
        # Whether each run holds a "maybe" (each maybe lies in some run).
        marks = np.flatnonzero(maybe)
        at = np.searchsorted(marks, starts)
        has_maybe = at < len(marks)
        has_maybe[has_maybe] = marks[at[has_maybe]] < ends[has_maybe]
        # Runs that touch the block's edges may continue in the next block.
        keep = has_maybe | (starts == 0) | (ends == len(cps))
        found_starts.append(starts[keep] + base)
        found_ends.append(ends[keep] + base)
        found_maybe.append(has_maybe[keep])
    if not found_starts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    starts, ends, has_maybe = (np.concatenate(found_starts), np.concatenate(found_ends),
                               np.concatenate(found_maybe))
    if len(starts) > 1:  # join the runs cut at a block edge
        joined = starts[1:] == ends[:-1]
        if joined.any():
            first = np.concatenate(([True], ~joined))
            last = np.concatenate((~joined, [True]))
            has_maybe = np.logical_or.reduceat(has_maybe, np.flatnonzero(first))
            starts, ends = starts[first], ends[last]
    starts, ends = starts[has_maybe], ends[has_maybe]
    # Each stretch starts with the boundary before its run: a character outside
    # every run, so a boundary that NFC leaves as it is.
    return np.maximum(starts - 1, 0).astype(np.int64), ends.astype(np.int64)


def _nfc_ordered(text: str, tables: _Tables) -> str:
    """NFC of ``text`` in linear time, whatever its runs of marks: canonical
    decomposition, canonical ordering by a stable sort, then CPython's NFC of
    the result (linear: nothing left to reorder)."""
    # NFD is a per-character decomposition plus the ordering: CPython's NFD of
    # short pieces decomposes each character and orders no run longer than a
    # piece. Its sort is stable, so the stable sort below gives the canonical order.
    piece = _RUN_LIMIT
    decomposed = "".join([unicodedata.normalize("NFD", text[i:i + piece]) for i in range(0, len(text), piece)])
    cps = _code_points(decomposed)
    classes = tables.ccc[cps]
    # Sort key: (the starter a mark follows, its class); starters have class 0
    # and come first in their group, marks before any starter form group 0.
    key: np.ndarray = np.cumsum(classes == 0, dtype=np.int32 if len(cps) < 1 << 23 else np.int64)
    key <<= 8
    key += classes
    order = np.argsort(key, kind="stable")
    del key, classes
    ordered = cps[order].tobytes().decode("utf-32-le", "surrogatepass")
    return unicodedata.normalize("NFC", ordered)


def _nfc_stretch(text: str, tables: _Tables) -> str:
    """NFC of a stretch, by CPython when it is too short to be slow."""
    if len(text) <= _RUN_LIMIT:
        return unicodedata.normalize("NFC", text)
    return _nfc_ordered(text, tables)


def nfc(text: str) -> str:
    """``unicodedata.normalize("NFC", text)``, exactly, in time linear in
    ``len(text)`` for every text (CPython's is quadratic in the length of a
    run of combining marks whose classes alternate)."""
    if text.isascii() or len(text) <= _RUN_LIMIT:
        return unicodedata.normalize("NFC", text)
    if unicodedata.is_normalized("NFC", text):  # most text: one quick pass in C
        return text
    tables = _get_tables()
    starts, ends = _stretches(text, tables)
    sparse = len(starts) * _SPARSE <= len(text)
    # Sparse: normalize the stretches that may change and copy the text between
    # them. Dense: CPython normalizes the text between the long stretches (where
    # every run it sorts is short), and the long stretches are ordered here.
    parts: List[str] = []
    position = 0
    for start, end in zip(starts.tolist(), ends.tolist()):
        long = end - start > _RUN_LIMIT
        if not (sparse or long):
            continue
        between = text[position:start]
        parts.append(between if sparse else unicodedata.normalize("NFC", between))
        stretch = text[start:end]
        parts.append(_nfc_ordered(stretch, tables) if long else unicodedata.normalize("NFC", stretch))
        position = end
    rest = text[position:]
    parts.append(rest if sparse else unicodedata.normalize("NFC", rest))
    return "".join(parts)


def nfc_changes(text: str) -> List[Tuple[int, int, str]]:
    """``(start, end, nfc(text[start:end]))`` for each stretch of ``text``
    that NFC changes, in order, in linear time: ``nfc(text)`` is ``text`` with
    each stretch replaced by its NFC. The stretches are as short as cuts
    before boundaries make them: each starts at a boundary (or at 0), runs to
    the next boundary (or the end), and differs from its NFC."""
    if text.isascii():
        return []
    tables = _get_tables()
    flags = tables.flag_bytes
    changes: List[Tuple[int, int, str]] = []
    starts, ends = _stretches(text, tables)
    for start, end in zip(starts.tolist(), ends.tolist()):
        stretch = text[start:end]
        normalized = _nfc_stretch(stretch, tables)
        if normalized == stretch:
            continue
        # Most stretches hold one boundary, at their start; cut at the others.
        if len(stretch) <= _RUN_LIMIT:
            cuts = [i for i in range(start + 1, end) if not flags[ord(text[i])] & _NOT_BOUNDARY]
        else:
            inner = np.flatnonzero((tables.flags[_code_points(stretch)] & _NOT_BOUNDARY) == 0)
            cuts = (inner[inner > 0] + start).tolist()
        if not cuts:
            changes.append((start, end, normalized))
            continue
        for piece_start, piece_end in zip([start] + cuts, cuts + [end]):
            piece = text[piece_start:piece_end]
            piece_normalized = _nfc_stretch(piece, tables)
            if piece_normalized != piece:
                changes.append((piece_start, piece_end, piece_normalized))
    return changes
