"""Special tokens: ``<pad>`` ``<bos>`` ``<eos>`` and the model's user-defined ones.

A special token has an id but no piece in the segmenter, so text never
produces it by accident: ``"<|endoftext|>"`` written in user text is
segmented as ordinary text, unless the caller allows that token
(``allowed_special``, in the manner of tiktoken). Then the text is cut at each
occurrence of an allowed token (the longest at a place wins), the pieces of
text between are encoded as usual, and the token's id goes between them.
Decoding gives a user-defined token's text back (``<pad>``, ``<bos>`` and
``<eos>`` decode to nothing, as in 0.6.3).
"""
from __future__ import annotations

import re
from typing import AbstractSet, Dict, List, Optional, Pattern, Tuple, Union

from .model import SPECIAL_TOKENS, Model
from .text import TextLike

__all__ = ["AllowedSpecial", "SpecialTokens"]

#: ``"all"``, or the names of the special tokens that text may contain.
AllowedSpecial = Union[str, AbstractSet[str], Tuple[str, ...], List[str]]


class SpecialTokens:
    """The special tokens of ``model``: ``ids`` maps every name to its id."""

    def __init__(self, model: Model) -> None:
        self.ids: Dict[str, int] = {name: i for i, name in enumerate(SPECIAL_TOKENS)}
        self.ids.update(model.special_tokens)
        self._patterns: Dict[Tuple[str, ...], Tuple[Pattern[str], Pattern[bytes]]] = {}

    def patterns(self, allowed: AllowedSpecial) -> Optional[Tuple[Pattern[str], Pattern[bytes]]]:
        """The (str, bytes) patterns that find the ``allowed`` tokens, or None
        when none is allowed. ValueError for a name that is not a special token."""
        if isinstance(allowed, str):
            if allowed != "all":
                raise ValueError(f"allowed_special must be 'all' or a set of special token names, got {allowed!r}")
            names = tuple(self.ids)
        else:
            names = tuple(sorted(allowed))
            unknown = [name for name in names if name not in self.ids]
            if unknown:
                raise ValueError(f"not special tokens of this model: {', '.join(map(repr, unknown))} "
                                 f"(it has {', '.join(map(repr, self.ids))})")
        if not names:
            return None
        if names not in self._patterns:
            longest_first = sorted(names, key=len, reverse=True)
            text = "|".join(map(re.escape, longest_first))
            binary = b"|".join(re.escape(name.encode("utf-8")) for name in longest_first)
            self._patterns[names] = (re.compile(text), re.compile(binary))
        return self._patterns[names]

    def split(self, text: TextLike, patterns: Tuple[Pattern[str], Pattern[bytes]]) -> List[Union[TextLike, int]]:
        """``text`` cut at the allowed tokens: the runs of text between them
        (empty ones left out) and the tokens' ids, in order."""
        return [part for _, _, part in self.split_at(text, patterns)]

    def split_at(self, text: TextLike, patterns: Tuple[Pattern[str], Pattern[bytes]]
                 ) -> List[Tuple[int, int, Union[TextLike, int]]]:
        """:meth:`split` with each part's (start, end) in ``text`` (characters
        of a ``str``, bytes otherwise): (start, end, run) or (start, end, id)."""
        pattern = patterns[0] if isinstance(text, str) else patterns[1]
        data = text if isinstance(text, (str, bytes)) else bytes(text)
        parts: List[Tuple[int, int, Union[TextLike, int]]] = []
        at = 0
        for match in pattern.finditer(data):  # type: ignore[arg-type]
            if match.start() > at:
                parts.append((at, match.start(), data[at:match.start()]))
            name = match.group()
            parts.append((match.start(), match.end(), self.ids[name if isinstance(name, str) else name.decode("utf-8")]))
            at = match.end()
        if at < len(data):
            parts.append((at, len(data), data[at:]))
        return parts
