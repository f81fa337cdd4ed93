"""Batches of token ids as rectangular arrays: padding, truncation, attention masks.

What a model's input needs and what Hugging Face users reach for first
(``tokenizer(texts, padding=True, truncation=True, max_length=...)``):
:func:`pad_batch` turns the ids of a batch (lists, or the flat ``(ids,
offsets)`` of ``encode_batch_numpy``) into an ``(n, length)`` array, padded
with ``<pad>`` (id 0) and cut to ``max_length``, and the attention mask that
marks the real tokens. ``Tokenizer.encode_padded`` encodes and pads in one
call. The work is done with numpy, without a Python object per token.
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ._core import BOS_ID, EOS_ID, PAD_ID
from .validation import check_int

__all__ = ["PaddedBatch", "pad_batch", "SIDES"]

#: Where padding goes, and which end truncation cuts.
SIDES = ("right", "left")

IdBatch = Union[Sequence[Sequence[int]], Tuple[np.ndarray, np.ndarray]]


class PaddedBatch(NamedTuple):
    """``ids``: ``(n, length)`` int32, text ``i``'s tokens in row ``i``, the
    rest ``<pad>``; ``attention_mask``: ``(n, length)`` int8, 1 where ``ids``
    holds a token, 0 where it holds padding; ``lengths``: ``(n,)`` int64, the
    tokens of each row (``attention_mask.sum(1)``); ``truncated``: ``(n,)``
    bool, whether ``max_length`` cut the text's tokens."""

    ids: np.ndarray
    attention_mask: np.ndarray
    lengths: np.ndarray
    truncated: np.ndarray


def pad_batch(batch: IdBatch, *, max_length: Optional[int] = None, pad_to_multiple_of: Optional[int] = None,
              padding_side: str = "right", truncation_side: str = "right", add_bos: bool = False,
              add_eos: bool = False, pad_id: int = PAD_ID) -> PaddedBatch:
    """The ids of ``batch`` (a sequence of id sequences, or the ``(ids,
    offsets)`` arrays of ``encode_batch_numpy``) as one padded array.

    ``max_length``: a text with more tokens is cut (None: no cut) at its
    ``truncation_side`` end; ``add_bos`` / ``add_eos`` put ``<bos>`` (1) first
    and ``<eos>`` (2) last *after* the cut, so they survive it (they count
    towards ``max_length``). Every row is padded with ``pad_id`` on
    ``padding_side`` to the longest row, rounded up to a multiple of
    ``pad_to_multiple_of`` (None: no rounding; e.g. 8 for tensor cores), or
    beyond ``max_length`` never. A batch of no texts gives ``(0, 0)`` arrays.
    ValueError for a side that is not "right" or "left", a ``max_length``
    that leaves no room for a token beside ``<bos>``/``<eos>``, or offsets
    that do not fit the ids.
    """
    for name, side in (("padding_side", padding_side), ("truncation_side", truncation_side)):
        if side not in SIDES:
            raise ValueError(f"{name} must be 'right' or 'left', got {side!r}")
    specials = int(bool(add_bos)) + int(bool(add_eos))
    if max_length is not None:
        max_length = check_int("max_length", max_length, specials + 1)
    if pad_to_multiple_of is not None:
        pad_to_multiple_of = check_int("pad_to_multiple_of", pad_to_multiple_of, 1)
    flat, offsets = _flat(batch)
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    room = lengths if max_length is None else np.minimum(lengths, max_length - specials)
    truncated = room < lengths
    rows = room + specials
    width = int(rows.max()) if n else 0
    if pad_to_multiple_of is not None and width % pad_to_multiple_of:
        width += pad_to_multiple_of - width % pad_to_multiple_of
        if max_length is not None:
            width = max(int(rows.max()) if n else 0, min(width, max_length))
    ids = np.full((n, width), pad_id, dtype=np.int32)
    # The first column each row's tokens go to, and the first source index taken.
    first_column = np.zeros(n, dtype=np.int64) if padding_side == "right" else width - rows
    source_start = offsets[:-1] if truncation_side == "right" else offsets[1:] - room
    row_of_token = np.repeat(np.arange(n), room)
    within = np.arange(int(room.sum())) - np.repeat(np.cumsum(room) - room, room)
    columns = first_column[row_of_token] + int(bool(add_bos)) + within
    ids[row_of_token, columns] = flat[source_start[row_of_token] + within]
    if add_bos:
        ids[np.arange(n), first_column] = BOS_ID
    if add_eos:
        ids[np.arange(n), first_column + rows - 1] = EOS_ID
    columns_of_row = np.arange(width)[None, :]
    mask = ((columns_of_row >= first_column[:, None]) & (columns_of_row < (first_column + rows)[:, None])).astype(np.int8)
    return PaddedBatch(ids, mask, rows.astype(np.int64), truncated)


def _flat(batch: IdBatch) -> Tuple[np.ndarray, np.ndarray]:
    """``(ids, offsets)`` of a batch given as id sequences or as those arrays."""
    if isinstance(batch, tuple) and len(batch) == 2 and isinstance(batch[0], np.ndarray) \
            and isinstance(batch[1], np.ndarray):
        flat, offsets = np.asarray(batch[0]), np.asarray(batch[1], dtype=np.int64)
        if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(flat) \
                or np.any(np.diff(offsets) < 0):
            raise ValueError("offsets must start at 0, never decrease and end at the number of ids")
        return flat, offsets
    if isinstance(batch, (str, bytes)):
        raise TypeError("pad_batch takes the ids of several texts (a list of id lists), not a text")
    rows = [np.asarray(row, dtype=np.int64).reshape(-1) for row in batch]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(row) for row in rows], out=offsets[1:])
    flat = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    return flat, offsets
