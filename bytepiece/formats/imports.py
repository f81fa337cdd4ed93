"""Building a bytepiece model from another tokenizer's scored vocabulary.

An imported Unigram vocabulary keeps its own scores (``Model.explicit_scores``,
docs/spec/model.md §8) and ids: each token id of the source is the same id
here. An import is complete or refused: every token of the source is kept at
its id, or a ValueError names the file and the token. What bytepiece's model
needs and the source may lack is filled in:

- ids 0, 1, 2 are bytepiece's ``<pad>`` ``<bos>`` ``<eos>``: the source must
  have special (control or unknown) tokens there, as SentencePiece's
  ``<unk>`` ``<s>`` ``</s>`` are by default;
- the source's other special tokens (control, unknown, unused, added
  tokens, and byte tokens whose byte is already a normal piece) become
  user-defined special tokens at their ids, never produced from text;
- every single byte must be a piece: byte tokens (``<0xXX>``) are those
  pieces; bytes still missing are added after the last id. Either way a
  byte piece scores ``min_score - 10`` (SentencePiece's penalty for an
  unknown character; never below ``-MAX_ABS_SCORE``), so bytes are used only
  where no piece covers a character.

Special-token names are unique in bytepiece, and never ``<pad>`` ``<bos>``
``<eos>`` or the text of a piece. A source special token whose name would
break that (SentencePiece's ``<pad>`` at id 3 with ``--pad_id=3``, a name
used twice, a name that is also a piece's text) keeps its id under the name
``NAME#ID`` (``<pad>#3``), and the import's notes list every renaming.

Scores must be finite numbers within ``±MAX_ABS_SCORE`` (the limit of every
bytepiece model), and a piece at most ``MAX_PIECE_LEN`` bytes.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

from .._core import MAX_ABS_SCORE, MAX_PIECE_LEN, NUM_SPECIAL
from .. import model as _model
from ..model import SPECIAL_TOKENS, Model

__all__ = ["ScoredVocabulary", "UNKNOWN_PENALTY", "read_source"]

#: SentencePiece's score penalty for an unknown character (kUnkPenalty).
UNKNOWN_PENALTY = 10.0


def read_source(path: str) -> bytes:
    """The bytes of the file at ``path``: OSError when it cannot be read,
    ValueError when it holds more than ``bytepiece.model.MAX_MODEL_BYTES``
    (no real vocabulary comes near; checked before reading)."""
    limit = _model.MAX_MODEL_BYTES
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise ValueError(f"{path}: refused: the file has {size} bytes, more than {limit} "
                             "(bytepiece.model.MAX_MODEL_BYTES)")
        data = f.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise ValueError(f"{path}: refused: the file has more than {limit} bytes (bytepiece.model.MAX_MODEL_BYTES)")
    return data


def _shown(name: Any) -> str:
    return f"{name!r:.60}"


@dataclass
class ScoredVocabulary:
    """A source vocabulary, token by token: ``add_piece`` / ``add_byte`` /
    ``add_special`` at each id, then :meth:`model`. Each call checks its
    token and raises ValueError naming ``source`` (the file) and the token."""

    source: str = "the source"
    pieces: Dict[int, Tuple[bytes, float]] = field(default_factory=dict)
    bytes_at: Dict[int, int] = field(default_factory=dict)
    specials: Dict[int, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)

    def refuse(self, message: str) -> ValueError:
        """A ValueError saying ``message`` about the source file."""
        return ValueError(f"{self.source}: {message}")

    def _new_id(self, token_id: int, name: Any) -> None:
        if isinstance(token_id, bool) or not isinstance(token_id, int) or token_id < 0:
            raise self.refuse(f"token {_shown(name)} has the id {token_id!r:.40}; ids are integers from 0")
        if token_id in self.pieces or token_id in self.bytes_at or token_id in self.specials:
            raise self.refuse(f"two tokens have the id {token_id} (the second is {_shown(name)})")

    def add_piece(self, token_id: int, piece: bytes, score: Any, name: Any = None) -> None:
        """A token that text can produce: its bytes and its score (a finite
        number within ±MAX_ABS_SCORE); ``name`` is how the source spells it
        (for messages)."""
        name = piece if name is None else name
        self._new_id(token_id, name)
        if not 1 <= len(piece) <= MAX_PIECE_LEN:
            raise self.refuse(f"token {token_id} {_shown(name)} stands for {len(piece)} bytes; a piece has 1 to "
                              f"{MAX_PIECE_LEN}")
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise self.refuse(f"token {token_id} {_shown(name)} has the score {score!r:.40}; a score is a number")
        try:
            value = float(score)
        except OverflowError:  # an integer beyond float's range
            value = math.inf
        if not abs(value) <= MAX_ABS_SCORE:  # NaN fails too
            shown = f"an integer of {len(str(abs(score)))} digits" if isinstance(score, int) else repr(value)
            raise self.refuse(f"token {token_id} {_shown(name)} has the score {shown}; scores must be finite "
                              f"numbers within ±{MAX_ABS_SCORE:g}")
        self.pieces[token_id] = (piece, value)

    def add_byte(self, token_id: int, byte: int) -> None:
        """A byte-fallback token (SentencePiece's ``<0xXX>``)."""
        self._new_id(token_id, f"<0x{byte:02X}>")
        self.bytes_at[token_id] = byte

    def add_special(self, token_id: int, name: Any) -> None:
        """A token that text never produces (control, unknown, unused, added):
        ``name`` is a non-empty str of at most MAX_PIECE_LEN bytes of UTF-8."""
        self._new_id(token_id, name)
        if not isinstance(name, str) or not name:
            raise self.refuse(f"special token {token_id} has the name {name!r:.40}; a name is non-empty text")
        try:
            size = len(name.encode("utf-8"))
        except UnicodeEncodeError:
            raise self.refuse(f"special token {token_id} {_shown(name)} is not valid text") from None
        if size > MAX_PIECE_LEN:
            raise self.refuse(f"special token {token_id} {_shown(name)} has {size} bytes; a name has at most "
                              f"{MAX_PIECE_LEN}")
        self.specials[token_id] = name

    def model(self) -> Model:
        """The validated model; ValueError naming the source and what it lacks."""
        if not self.pieces and not self.bytes_at:
            raise self.refuse("the vocabulary has no token that text can produce (empty, or only special tokens)")
        for token_id in range(NUM_SPECIAL):
            if token_id in self.pieces or token_id in self.bytes_at:
                raise self.refuse(f"id {token_id} is a piece in the source, but bytepiece reserves ids 0-2 for "
                                  "<pad> <bos> <eos>: the source needs special tokens there")
            if token_id not in self.specials:
                raise self.refuse(f"the source has no token at id {token_id}; bytepiece reserves ids 0-2 for "
                                  "<pad> <bos> <eos> and needs special tokens there")
        scores = [score for _, score in self.pieces.values()]
        # The byte pieces' score, kept inside the range every model must respect.
        floor = max((min(scores) if scores else 0.0) - UNKNOWN_PENALTY, -MAX_ABS_SCORE)
        by_piece: Dict[bytes, int] = {}
        for token_id, (piece, _) in sorted(self.pieces.items()):
            if piece in by_piece:
                raise self.refuse(f"tokens {by_piece[piece]} and {token_id} both stand for the bytes {piece!r:.60}")
            by_piece[piece] = token_id
        entries: Dict[int, Tuple[bytes, float]] = dict(self.pieces)
        specials: Dict[int, str] = {i: name for i, name in self.specials.items() if i >= NUM_SPECIAL}
        for token_id, byte in sorted(self.bytes_at.items()):
            piece = bytes([byte])
            if piece in by_piece:  # the byte is a normal piece already: this id stays a special token
                specials[token_id] = f"<0x{byte:02X}>"
            else:
                by_piece[piece] = token_id
                entries[token_id] = (piece, floor)
        next_id = max([*entries, *self.specials]) + 1
        for byte in range(256):
            if bytes([byte]) not in by_piece:
                entries[next_id] = (bytes([byte]), floor)
                by_piece[bytes([byte])] = next_id
                next_id += 1
        # Ids must run 0..N-1 without a gap (sorting, not a scan of the range:
        # a source may name an id in the billions).
        used = sorted([*range(NUM_SPECIAL), *entries, *specials])
        for k, token_id in enumerate(used):
            if token_id != k:
                raise self.refuse(f"the source has no token at id {k} (its ids go up to {used[-1]})")
        specials = self._unique_names(specials, by_piece)
        order = sorted(entries)
        try:
            return Model(
                [entries[i][0] for i in order], order,
                # Counts for readers without explicit scores (0.6.3): about the same scores.
                [max(1, round(math.exp(min(entries[i][1], 0.0)) * 1e12)) for i in order],
                sorted(((name, i) for i, name in specials.items()), key=lambda item: item[1]),
                [entries[i][1] for i in order])
        except (ValueError, TypeError) as exc:  # the model's own checks, as a last line
            raise self.refuse(str(exc)) from None

    def _unique_names(self, specials: Dict[int, str], by_piece: Dict[bytes, int]) -> Dict[int, str]:
        """``specials`` with each name that bytepiece cannot take as it is
        (a reserved name, a name used by a lower id, a piece's text) renamed
        ``NAME#ID``; a note lists the renamings."""
        taken = set(SPECIAL_TOKENS)
        result: Dict[int, str] = {}
        renamed: List[str] = []
        for token_id, name in sorted(specials.items()):
            new = name
            while new in taken or new.encode("utf-8") in by_piece:
                new = f"{new}#{token_id}"
            if new != name:
                renamed.append(f"{name!r} (id {token_id}) is {new!r}")
            taken.add(new)
            result[token_id] = new
        if renamed:
            shown = "; ".join(renamed[:10]) + (f"; and {len(renamed) - 10} more" if len(renamed) > 10 else "")
            self.notes.append(f"{len(renamed)} special token(s) renamed, as bytepiece's names are unique and never "
                              f"<pad> <bos> <eos> or a piece's text: {shown}")
        return result
