"""Looking up the vocabulary: pieces to ids and back, and the error for what is not in it.

Ids ``0 .. vocab_size - 1``: the three reserved special tokens ``<pad>``
``<bos>`` ``<eos>`` (0, 1, 2), the model's pieces (``bytes``) and its
user-defined special tokens. A lookup of one id (``id_to_piece``) gives a
piece as ``bytes`` and a special token as its name (``str``), as BytePiece
0.6.3 did; a list of them (``ids_to_pieces``) is of one type, ``bytes``: a
special token as its name's UTF-8 bytes (as tiktoken gives them). A lookup by
piece takes ``bytes``, or a ``str`` as its UTF-8 bytes, or a special token's
name as a ``str`` or as UTF-8 ``bytes`` (a piece of the same bytes wins).
"""
from __future__ import annotations

from functools import cached_property
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .model import SPECIAL_TOKENS, Model
from .validation import is_index

__all__ = ["UnknownTokenError", "unknown_id", "check_id", "Vocabulary", "pieces_to_add"]


class UnknownTokenError(KeyError, ValueError):
    """A piece or id that is not in the vocabulary.

    A KeyError for code written against BytePiece 0.6.3 (which raised one) and
    a ValueError for everyone else.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


def unknown_id(token_id: Any, vocab_size: int) -> UnknownTokenError:
    """The error for ``token_id`` outside ``0 .. vocab_size - 1``."""
    return UnknownTokenError(f"unknown token id {token_id!r}: ids run from 0 to {vocab_size - 1}")


def check_id(token_id: Any, vocab_size: int) -> int:
    """``token_id`` as an int: TypeError for a non-integer, :class:`UnknownTokenError`
    outside ``0 .. vocab_size - 1``."""
    if not is_index(token_id):
        raise TypeError(f"token ids must be integers, got {token_id!r:.40}")
    if not 0 <= token_id < vocab_size:
        raise unknown_id(token_id, vocab_size)
    return int(token_id)


class Vocabulary:
    """The id <-> piece lookups of ``model``; immutable, safe to share between threads."""

    def __init__(self, model: Model) -> None:
        self._model = model
        self.vocab_size = model.vocab_size

    # The tables are made on first use: for a model of a million pieces they
    # cost more than loading it, and encoding needs neither.
    @cached_property
    def _id_to_piece(self) -> List[Union[bytes, str]]:
        """id -> piece, the special ids by name: a list, so a lookup is one C-level index."""
        table: List[Union[bytes, str]] = list(SPECIAL_TOKENS) + list(self._model.bytes_by_id()[len(SPECIAL_TOKENS):])
        for name, token_id in self._model.special_tokens:
            table[token_id] = name
        return table

    @cached_property
    def _piece_to_id(self) -> Dict[Union[bytes, str], int]:
        return {piece: i for i, piece in enumerate(self._id_to_piece)}

    def piece_to_id(self, piece: Union[bytes, str]) -> int:
        """The id of ``piece`` (see the module's docstring); :class:`UnknownTokenError` if none."""
        try:
            return self._piece_to_id[piece]
        except (KeyError, TypeError):
            pass
        if isinstance(piece, str):
            try:
                return self._piece_to_id[piece.encode("utf-8")]
            except (KeyError, UnicodeEncodeError):
                pass
        elif isinstance(piece, (bytes, bytearray)):  # a special token's name as bytes
            try:
                return self._piece_to_id[bytes(piece).decode("utf-8")]
            except (KeyError, UnicodeDecodeError):
                pass
        raise UnknownTokenError(f"{piece!r:.60} is not a piece of this vocabulary")

    def id_to_piece(self, token_id: int) -> Union[bytes, str]:
        """The piece (``bytes``) of an id; the special ids give their names (``str``)."""
        if not is_index(token_id) or not 0 <= token_id < self.vocab_size:
            raise unknown_id(token_id, self.vocab_size)
        return self._id_to_piece[token_id]

    def pieces_to_ids(self, pieces: Sequence[Union[bytes, str]]) -> List[int]:
        """:meth:`piece_to_id` of each piece."""
        return [self.piece_to_id(p) for p in pieces]

    def ids_to_pieces(self, ids: Sequence[int]) -> List[bytes]:
        """The piece of each id, all ``bytes``: a special token as its name's
        UTF-8 bytes (``b"<bos>"``), so the list is of one type and
        ``pieces_to_ids`` gives the ids back."""
        table = self._pieces_as_bytes
        for token_id in ids:
            if not is_index(token_id) or not 0 <= token_id < self.vocab_size:
                raise unknown_id(token_id, self.vocab_size)
        return [table[i] for i in ids]

    @cached_property
    def _pieces_as_bytes(self) -> List[bytes]:
        return [p.encode("utf-8") if isinstance(p, str) else p for p in self._id_to_piece]


def pieces_to_add(pieces: Union[Sequence[Union[str, bytes]], Mapping[str, Optional[int]],
                                Mapping[bytes, Optional[int]]]) -> Tuple[List[bytes], List[Optional[int]]]:
    """The arguments of :meth:`bytepiece.model.Model.extend` from those of
    ``Tokenizer.extend``: pieces as ``bytes`` (a ``str`` as its UTF-8) and
    their counts (None where not given)."""
    if isinstance(pieces, (str, bytes)):
        raise TypeError("pieces must be a list of pieces or a mapping to counts, not one string")
    items = list(pieces.items()) if isinstance(pieces, Mapping) else [(p, None) for p in pieces]
    new_pieces: List[bytes] = []
    for piece, _ in items:
        if isinstance(piece, str):
            try:
                new_pieces.append(piece.encode("utf-8"))
            except UnicodeEncodeError:
                raise ValueError(f"piece {piece!r:.40} is not valid text (it holds a lone surrogate)") from None
        elif isinstance(piece, bytes):
            new_pieces.append(bytes(piece))
        else:
            raise TypeError(f"a piece must be str or bytes, got {type(piece).__name__}")
    return new_pieces, [count for _, count in items]
