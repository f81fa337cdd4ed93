"""Decoding ids one at a time, for serving: text as soon as it is whole UTF-8.

A piece may hold part of a UTF-8 character, so the text of a prefix of ids
is not always the prefix of the text. :class:`StreamDecoder` keeps the bytes
of an unfinished character until the ids that complete it arrive; what it has
returned when :meth:`StreamDecoder.finish` is called is exactly
``Tokenizer.decode`` of all the ids, with the same ``errors`` policy.
"""
from __future__ import annotations

import codecs
from typing import Iterable, Sequence

__all__ = ["StreamDecoder"]


class StreamDecoder:
    """Incremental ``decode``: ``push(id)`` returns the new complete text
    (possibly ``""``); ``finish()`` returns the rest. Not thread-safe: one
    per stream. Made by :meth:`bytepiece.Tokenizer.stream_decoder`."""

    def __init__(self, bytes_by_id: Sequence[bytes], check_id, errors: str = "ignore") -> None:
        self._table = bytes_by_id
        self._check_id = check_id
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors)
        self.finished = False

    def push(self, token_id: int) -> str:
        """The text that ``token_id`` completes."""
        if self.finished:
            raise ValueError("this StreamDecoder has finished; make a new one")
        return self._decoder.decode(self._table[self._check_id(token_id)])

    def push_many(self, ids: Iterable[int]) -> str:
        """The text that ``ids`` complete. Every id is checked before any is
        decoded, so an error (an unknown or non-integer id) leaves the
        decoder as it was: no consumed bytes are lost."""
        if self.finished:
            raise ValueError("this StreamDecoder has finished; make a new one")
        checked = [self._check_id(token_id) for token_id in ids]
        return self._decoder.decode(b"".join([self._table[i] for i in checked]))

    def finish(self) -> str:
        """What remains: an unfinished character handled by the ``errors``
        policy (dropped with ``"ignore"``). The decoder cannot be used after."""
        if self.finished:
            return ""
        self.finished = True
        return self._decoder.decode(b"", final=True)
