"""Where each token comes from: byte and character offsets into the caller's text.

Tokens are pieces of the segmented bytes (the NFC-normalized UTF-8 of a str).
Their byte offsets there are the running sum of the pieces' lengths. For a
``str``, those are mapped to character offsets into the *original* string:

- a token that starts or ends inside a character (a piece holding part of a
  UTF-8 character) covers that whole character;
- where NFC changed the text, the text is cut into runs that normalize on
  their own (each starts at a character NFC never joins to the one before),
  and a token boundary inside a changed run moves to the run's edges.

So ``text[start:end]`` is exactly the token's text wherever the token is
whole characters of text that NFC leaves as it is (always, for NFC input),
and otherwise the smallest span of the original text that holds it.

The runs, found in time and memory linear in the length of the text: the text
is cut before every character that NFC never joins to anything before it
(``text.nfc_changes``); each stretch between two such cuts that NFC changes
is cut further before each character of combining class 0 that NFC leaves
apart from the run before it (as ``NFC(run + c) == NFC(run) + NFC(c)``),
tried while that run is at most 16 characters long. A longer run of marks
stays whole, and so does a stretch whose runs would not normalize on their
own (a mark after U+0F73 may reorder past it).
"""
from __future__ import annotations

import unicodedata
from typing import Callable, List, Sequence, Tuple, Union

import numpy as np

from .text import TextLike, nfc, nfc_changes

__all__ = ["byte_spans", "char_spans", "token_spans", "batch_spans"]

#: A changed stretch is cut further only where the run before the cut is at
#: most this many characters long: each try normalizes that run.
_GREEDY_SPAN = 16


def byte_spans(piece_lengths: np.ndarray) -> np.ndarray:
    """``(n, 2)`` int64 array of (start, end) byte offsets of tokens whose
    pieces have ``piece_lengths`` bytes, back to back from 0."""
    lengths = np.asarray(piece_lengths, dtype=np.int64).reshape(-1)
    spans = np.empty((len(lengths), 2), dtype=np.int64)
    np.cumsum(lengths, out=spans[:, 1])
    np.subtract(spans[:, 1], lengths, out=spans[:, 0])
    return spans


def char_spans(text: str, spans: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Byte ``spans`` into the segmented UTF-8 of ``text`` (NFC-normalized
    when ``normalize``) mapped to (start, end) character offsets into ``text``.

    Offsets must lie within the segmented bytes (ValueError otherwise). Time
    and memory are linear in the lengths of the text and of ``spans``."""
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    if text.isascii():  # bytes are characters
        _check_spans(spans, len(text))
        result = spans.copy()
        np.maximum(result[:, 1], result[:, 0], out=result[:, 1])
        return result
    runs = _changed_runs(text) if normalize else []
    data = text.encode("utf-8")
    if runs:
        return _spans_through_runs(text, data, runs, spans)
    _check_spans(spans, len(data))
    result = np.empty_like(spans)
    result[:, 0] = _char_holding(data, spans[:, 0])
    result[:, 1] = _chars_before(data, spans[:, 1])
    _empty_at_start(result, spans)
    return result


def token_spans(text: TextLike, piece_lengths: np.ndarray, normalize: bool = True) -> np.ndarray:
    """The ``(n, 2)`` spans of the tokens of ``text`` whose pieces have
    ``piece_lengths`` bytes: :func:`char_spans` for a ``str``, the byte
    spans for ``bytes``."""
    spans = byte_spans(piece_lengths)
    return char_spans(text, spans, normalize) if isinstance(text, str) else spans


def spans_with_specials(parts: Sequence[Tuple[int, int, Union[TextLike, int]]], ids: Sequence[int],
                        piece_lengths: np.ndarray, normalize: bool = True, add_bos: bool = False,
                        add_eos: bool = False) -> np.ndarray:
    """The ``(n, 2)`` spans of ``ids``, the tokens of a text that was cut at
    allowed special tokens into ``parts`` (``SpecialTokens.split_at``: each
    run of text or token id with its (start, end) in the text), each run
    segmented on its own: a special token spans its text, a run's tokens
    :func:`token_spans` of the run, shifted to where it starts; ``<bos>``
    (``add_bos``) and ``<eos>`` (``add_eos``) get empty spans at the start and
    the end. ValueError when ``ids`` are not the tokens of ``parts``."""
    n = len(ids)
    spans = np.zeros((n, 2), dtype=np.int64)
    last = n - 1 if add_eos else n  # the tokens of the parts are ids[first:last]
    k = 1 if add_bos else 0
    for index, (start, end, part) in enumerate(parts):
        if isinstance(part, int):
            if k >= last or ids[k] != part:
                raise ValueError("the ids are not the tokens of these parts")
            spans[k] = (start, end)
            k += 1
            continue
        # A run's tokens reach the next part, a special token (runs never give one, and
        # two runs are never neighbours), or the end.
        following = parts[index + 1][2] if index + 1 < len(parts) else None
        stop = k
        while stop < last and (following is None or ids[stop] != following):
            stop += 1
        spans[k:stop] = token_spans(part, piece_lengths[k:stop], normalize) + start
        k = stop
    if k != last:
        raise ValueError("the ids are not the tokens of these parts")
    spans[last:] = parts[-1][1] if parts else 0
    return spans


def batch_spans(texts: Sequence[TextLike], piece_lengths: np.ndarray, offsets: np.ndarray,
                normalize: bool = True) -> np.ndarray:
    """:func:`token_spans` of each text of a batch, as one ``(total tokens, 2)``
    array: text ``i``'s tokens are ``piece_lengths[offsets[i]:offsets[i + 1]]``
    and its spans the same rows."""
    spans = np.zeros((len(piece_lengths), 2), dtype=np.int64)
    for i, text in enumerate(texts):
        a, b = int(offsets[i]), int(offsets[i + 1])
        spans[a:b] = token_spans(text, piece_lengths[a:b], normalize)
    return spans


def _empty_at_start(result: np.ndarray, spans: np.ndarray) -> None:
    """An empty (or reversed) span maps to its start."""
    np.copyto(result[:, 1], result[:, 0], where=spans[:, 1] <= spans[:, 0])


def _check_spans(spans: np.ndarray, size: int) -> None:
    if len(spans) and (spans.min() < 0 or spans.max() > size):
        raise ValueError(f"spans must lie within the {size} bytes that were segmented")


#: Characters are counted this many bytes at a time (bounds the memory).
_COUNT_BLOCK = 1 << 20


def _chars_before(data: bytes, positions: np.ndarray) -> np.ndarray:
    """The number of characters of UTF-8 ``data`` that start before each byte
    position (0 to ``len(data)``): the position less the continuation bytes
    (0x80-0xBF) before it, counted a block at a time."""
    if not len(positions):
        return np.zeros(0, dtype=np.int64)
    order = None
    if (positions[1:] < positions[:-1]).any():
        order = np.argsort(positions, kind="stable")
        positions = positions[order]
    counts = np.zeros(len(positions), dtype=np.int64)  # continuation bytes before each position
    done = int(np.searchsorted(positions, 0, side="right"))  # positions 0 have none
    total = 0
    for base in range(0, len(data), _COUNT_BLOCK):
        if done == len(positions):
            break
        block = np.frombuffer(data, dtype=np.int8, count=min(_COUNT_BLOCK, len(data) - base), offset=base)
        running = np.cumsum(block < -64, dtype=np.int32)  # running[j]: those in block[:j + 1]
        upto = int(np.searchsorted(positions, base + len(block), side="right"))
        counts[done:upto] = running[positions[done:upto] - (base + 1)]
        counts[done:upto] += total
        total += int(running[-1])
        done = upto
    np.subtract(positions, counts, out=counts)
    if order is not None:
        unsorted = np.empty_like(counts)
        unsorted[order] = counts
        counts = unsorted
    return counts


def _char_holding(data: bytes, positions: np.ndarray) -> np.ndarray:
    """The character that holds each byte position of UTF-8 ``data``; at its
    end, the number of characters."""
    size = len(data)
    after = positions + 1
    np.minimum(after, size, out=after)
    holding = _chars_before(data, after)
    del after
    holding -= positions < size
    return holding


def _changed_runs(text: str) -> List[Tuple[int, int, str]]:
    """(start, end, NFC of text[start:end]) of the runs that NFC changes, in
    order: ``nfc(text)`` is ``text`` with each replaced by its NFC."""
    runs: List[Tuple[int, int, str]] = []
    for start, end, normalized in nfc_changes(text):
        runs += _split_changed(text, start, end, normalized)
    return runs


def _split_changed(text: str, start: int, end: int, normalized: str) -> List[Tuple[int, int, str]]:
    """The changed runs of the stretch ``text[start:end]`` that NFC changes:
    cut before each character of class 0 that NFC, with what comes before it
    in the run, leaves apart (tried while the run is at most _GREEDY_SPAN long)."""
    runs: List[Tuple[int, int, str]] = []
    run = start
    i = start + 1
    while i < end and i - run <= _GREEDY_SPAN:
        char = text[i]
        if not unicodedata.combining(char):
            head = unicodedata.normalize("NFC", text[run:i])
            if unicodedata.normalize("NFC", text[run:i + 1]) == head + unicodedata.normalize("NFC", char):
                runs.append((run, i, head))
                run = i
        i += 1
    if not runs:
        return [(start, end, normalized)]
    runs.append((run, end, nfc(text[run:end])))
    # A cut before a character that decomposes into marks (U+0F73) may still
    # let later marks reorder past it: keep the stretch whole then.
    if "".join(part for _, _, part in runs) != normalized:
        return [(start, end, normalized)]
    return [(a, b, part) for a, b, part in runs if part != text[a:b]]


def _spans_through_runs(text: str, data: bytes, runs: List[Tuple[int, int, str]], spans: np.ndarray) -> np.ndarray:
    """char_spans where NFC changed the runs ``runs`` of ``text`` (UTF-8 ``data``)."""
    # Each changed run: its characters [first, last) of text, where its bytes
    # start in text's UTF-8, and where they start and end in the normalized UTF-8.
    first_chars, last_chars, original_starts, normalized_starts, normalized_ends = [], [], [], [], []
    char = byte = 0
    shifts = [0]  # shifts[k]: normalized less original byte offsets between runs k - 1 and k
    for start, end, normalized in runs:
        byte += len(text[char:start].encode("utf-8"))
        first_chars.append(start)
        last_chars.append(end)
        original_starts.append(byte)
        normalized_starts.append(byte + shifts[-1])
        normalized_ends.append(byte + shifts[-1] + len(normalized.encode("utf-8")))
        byte += len(text[start:end].encode("utf-8"))
        shifts.append(normalized_ends[-1] - byte)
        char = end
    first, last, original, normalized_start, normalized_end, shift = (
        np.array(values, dtype=np.int64)
        for values in (first_chars, last_chars, original_starts, normalized_starts, normalized_ends, shifts))
    _check_spans(spans, len(data) + int(shift[-1]))

    def map_positions(positions: np.ndarray, inner: np.ndarray, outer: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``outer`` of the original byte of each normalized byte position
        that lies in no changed run; ``inner[run]`` of those in a run."""
        before = np.searchsorted(normalized_end, positions, side="right")  # the runs wholly before
        original_bytes = shift[before]
        np.subtract(positions, original_bytes, out=original_bytes)
        inside = np.searchsorted(normalized_start, positions, side="right") != before  # a run starts, not ends, before
        run = before[inside]
        del before
        # In a run: its first original byte, which keeps the bytes in order for outer.
        original_bytes[inside] = original[run]
        mapped = outer(original_bytes)
        mapped[inside] = inner[run]
        return mapped

    result = np.empty_like(spans)
    result[:, 0] = map_positions(spans[:, 0], first, lambda b: _char_holding(data, b))
    ends = spans[:, 1] - 1
    np.maximum(ends, 0, out=ends)
    result[:, 1] = map_positions(ends, last, lambda b: _chars_before(data, b + 1))
    _empty_at_start(result, spans)
    return result
