"""Building a bytepiece model from another tokenizer's scored vocabulary.

An imported Unigram vocabulary keeps its own scores (``Model.explicit_scores``,
docs/spec/model.md §8) and ids: each token id of the source is the same id
here. What bytepiece's model needs and the source may lack is filled in:

- ids 0, 1, 2 are bytepiece's ``<pad>`` ``<bos>`` ``<eos>``: the source must
  have special (control or unknown) tokens there, as SentencePiece's
  ``<unk>`` ``<s>`` ``</s>`` are by default;
- the source's other special tokens (control, unknown, unused, and byte
  tokens whose byte is already a normal piece) become user-defined special
  tokens at their ids, never produced from text;
- every single byte must be a piece: byte tokens (``<0xXX>``) are those
  pieces; bytes still missing are added after the last id. Either way a
  byte piece scores ``min_score - 10`` (SentencePiece's penalty for an
  unknown character), so bytes are used only where no piece covers a character.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from .._core import NUM_SPECIAL
from ..model import Model, dump_model, parse_model

__all__ = ["ScoredVocabulary", "UNKNOWN_PENALTY"]

#: SentencePiece's score penalty for an unknown character (kUnkPenalty).
UNKNOWN_PENALTY = 10.0


@dataclass
class ScoredVocabulary:
    """A source vocabulary, token by token: ``add_piece`` / ``add_byte`` /
    ``add_special`` at each id, then :meth:`model`."""

    pieces: Dict[int, Tuple[bytes, float]] = field(default_factory=dict)
    bytes_at: Dict[int, int] = field(default_factory=dict)
    specials: Dict[int, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)

    def add_piece(self, token_id: int, piece: bytes, score: float) -> None:
        """A token that text can produce."""
        self.pieces[token_id] = (piece, float(score))

    def add_byte(self, token_id: int, byte: int) -> None:
        """A byte-fallback token (SentencePiece's ``<0xXX>``)."""
        self.bytes_at[token_id] = byte

    def add_special(self, token_id: int, name: str) -> None:
        """A token that text never produces (control, unknown, unused)."""
        self.specials[token_id] = name

    def model(self) -> Model:
        """The validated model; ValueError saying what the source lacks."""
        for token_id in range(NUM_SPECIAL):
            if token_id in self.pieces or token_id in self.bytes_at:
                raise ValueError(f"id {token_id} is a piece in the source, but bytepiece reserves ids 0-2 for "
                                 "<pad> <bos> <eos>: the source needs special tokens there")
        scores = [score for _, score in self.pieces.values()]
        floor = (min(scores) if scores else 0.0) - UNKNOWN_PENALTY
        by_piece: Dict[bytes, int] = {piece: token_id for token_id, (piece, _) in self.pieces.items()}
        if len(by_piece) != len(self.pieces):
            raise ValueError("two tokens of the source stand for the same bytes")
        entries: Dict[int, Tuple[bytes, float]] = dict(self.pieces)
        specials: Dict[int, str] = {i: name for i, name in self.specials.items() if i >= NUM_SPECIAL}
        for token_id, byte in self.bytes_at.items():
            piece = bytes([byte])
            if piece in by_piece:  # the byte is a normal piece already: this id stays a special token
                specials[token_id] = f"<0x{byte:02X}>"
            else:
                by_piece[piece] = token_id
                entries[token_id] = (piece, floor)
        next_id = max([*entries, *specials, *self.specials, NUM_SPECIAL - 1]) + 1
        for byte in range(256):
            if bytes([byte]) not in by_piece:
                entries[next_id] = (bytes([byte]), floor)
                next_id += 1
        used = set(entries) | set(specials)
        holes = [i for i in range(NUM_SPECIAL, next_id) if i not in used]
        if holes:
            raise ValueError(f"the source has no token at id {holes[0]}")
        order = sorted(entries)
        model = Model(
            tuple(entries[i][0] for i in order), tuple(order),
            # Counts for readers without explicit scores (0.6.3): about the same scores.
            tuple(max(1, round(math.exp(min(entries[i][1], 0.0)) * 1e12)) for i in order),
            tuple(sorted(((name, i) for i, name in specials.items()), key=lambda item: item[1])),
            tuple(entries[i][1] for i in order))
        return parse_model(dump_model(model))  # every check a model file gets
