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
"""
from __future__ import annotations

import unicodedata
from typing import List, Tuple

import numpy as np

__all__ = ["byte_spans", "char_spans"]


def byte_spans(piece_lengths: np.ndarray) -> np.ndarray:
    """``(n, 2)`` int64 array of (start, end) byte offsets of tokens whose
    pieces have ``piece_lengths`` bytes, back to back from 0."""
    ends = np.cumsum(np.asarray(piece_lengths, dtype=np.int64))
    return np.stack([ends - piece_lengths, ends], axis=1) if len(ends) else np.zeros((0, 2), dtype=np.int64)


def _nfc_runs(text: str) -> List[Tuple[int, int, str]]:
    """(start, end, NFC of text[start:end]) of runs that normalize on their
    own, concatenating to NFC(text)."""
    runs: List[Tuple[int, int, str]] = []
    start = 0
    normalized = ""
    for i, c in enumerate(text):
        if i > start:
            # c may start a new run if it combines with nothing of the current one.
            if not unicodedata.combining(c):
                alone = unicodedata.normalize("NFC", c)
                if unicodedata.normalize("NFC", text[start:i + 1]) == normalized + alone:
                    runs.append((start, i, normalized))
                    start, normalized = i, alone
                    continue
            normalized = unicodedata.normalize("NFC", text[start:i + 1])
        else:
            normalized = unicodedata.normalize("NFC", c)
    if start < len(text):
        runs.append((start, len(text), normalized))
    if "".join(run[2] for run in runs) != unicodedata.normalize("NFC", text):  # never seen; stay correct
        return [(0, len(text), unicodedata.normalize("NFC", text))]
    return runs


def _char_index_of_bytes(data: bytes) -> np.ndarray:
    """``index[b]``: the character holding byte ``b`` of UTF-8 ``data``, and
    ``index[len(data)]`` the number of characters."""
    raw = np.frombuffer(data, dtype=np.uint8)
    starts = (raw & 0xC0) != 0x80
    index = np.empty(len(raw) + 1, dtype=np.int64)
    index[:-1] = np.cumsum(starts) - 1
    index[-1] = int(starts.sum())
    return index


def char_spans(text: str, spans: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Byte ``spans`` into the segmented UTF-8 of ``text`` (NFC-normalized
    when ``normalize``) mapped to (start, end) character offsets into ``text``."""
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    if normalize and not text.isascii() and not unicodedata.is_normalized("NFC", text):
        return _char_spans_through_nfc(text, spans)
    data = text.encode("utf-8")
    index = _char_index_of_bytes(data)
    starts = index[spans[:, 0]]
    ends = np.where(spans[:, 1] > spans[:, 0], index[np.maximum(spans[:, 1] - 1, 0)] + 1, starts)
    return np.stack([starts, ends], axis=1)


def _char_spans_through_nfc(text: str, spans: np.ndarray) -> np.ndarray:
    runs = _nfc_runs(text)
    # For every byte of the normalized UTF-8: the original run's edges, or the
    # exact original character where the run did not change.
    lo: List[int] = []
    hi: List[int] = []
    for start, end, normalized in runs:
        if normalized == text[start:end]:
            for offset, ch in enumerate(normalized):
                width = len(ch.encode("utf-8"))
                lo += [start + offset] * width
                hi += [start + offset + 1] * width
        else:
            width = len(normalized.encode("utf-8"))
            lo += [start] * width
            hi += [end] * width
    low, high = np.array(lo + [len(text)], dtype=np.int64), np.array(hi + [len(text)], dtype=np.int64)
    starts = low[spans[:, 0]]
    ends = np.where(spans[:, 1] > spans[:, 0], high[np.maximum(spans[:, 1] - 1, 0)], starts)
    return np.stack([starts, ends], axis=1)

