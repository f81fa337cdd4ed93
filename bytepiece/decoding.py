"""Decoding: token ids back to bytes and text.

Decoding is a table lookup (``Model.bytes_by_id()``) and a join, then UTF-8
decoding. It is never used for segmenting. The special ids ``<pad>``
``<bos>`` ``<eos>`` add nothing; a user-defined special token adds its text.
Pieces may end inside a UTF-8 character, so text is decoded from the joined
bytes, and :class:`~bytepiece.streaming.StreamDecoder` (serving, one id at a
time) holds back an unfinished character until its last byte arrives.
"""
from __future__ import annotations

import codecs
from typing import Any, Sequence

import numpy as np

from .model import Model
from .streaming import StreamDecoder
from .validation import is_index
from .vocabulary import check_id, unknown_id

__all__ = ["Decoder"]


class Decoder:
    """Decodes the ids of ``model``; immutable, safe to share between threads."""

    def __init__(self, model: Model) -> None:
        # The id -> bytes table is made on first use (the model caches it): for a
        # model of a million pieces it costs more than loading, and encoding never needs it.
        self._model = model
        self._vocab_size = model.vocab_size

    @property
    def _table(self) -> Sequence[bytes]:
        return self._model.bytes_by_id()

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The exact bytes that ``ids`` stand for: ValueError (an
        :class:`~bytepiece.vocabulary.UnknownTokenError`) for an id outside
        ``0 .. vocab_size - 1``, TypeError for a non-integer id."""
        if isinstance(ids, np.ndarray):
            ids = ids.tolist()
        elif not isinstance(ids, list):
            ids = list(ids)
        table = self._table
        try:
            parts = [table[i] for i in ids]
        except IndexError:
            bad = next(i for i in ids if not 0 <= i < self._vocab_size)
            raise unknown_id(bad, self._vocab_size) from None
        except TypeError:
            bad = next(i for i in ids if not is_index(i))
            raise TypeError(f"token ids must be integers, got {bad!r:.40}") from None
        if ids and min(ids) < 0:  # negative indexes would silently wrap around
            raise unknown_id(min(ids), self._vocab_size)
        return b"".join(parts)

    def decode(self, ids: Sequence[int], errors: str = "ignore") -> str:
        """:meth:`decode_bytes` as text, invalid UTF-8 handled by ``errors``."""
        return self.decode_bytes(ids).decode("utf-8", errors)

    def stream_decoder(self, errors: str = "ignore") -> StreamDecoder:
        """An incremental :meth:`decode` whose text in all equals ``decode(ids, errors)``."""
        codecs.lookup_error(errors)  # an unknown policy fails now, not mid-stream
        return StreamDecoder(self._table, self.check_id, errors)

    def check_id(self, token_id: Any) -> int:
        """``token_id`` as an int, checked as :meth:`decode_bytes` checks it."""
        return check_id(token_id, self._vocab_size)
