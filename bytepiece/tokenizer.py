"""Tokenizer: load a model, then encode/decode/tokenize/sample text.

A drop-in for BytePiece 0.6.3's ``Tokenizer`` (same constructor, methods and
token ids). Each call normalizes the text in Python (NFC + UTF-8) and hands
the whole buffer to the C core in one call; no per-chunk Python work.
"""
from __future__ import annotations

import builtins
import math
import operator
import os
import random
import threading
from typing import Any, Iterator, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import _core
from .model import NUM_SPECIAL, SPECIAL_TOKENS, Model, PathLike, load_model, model_from_counts, parse_model
from .text import TextLike, to_utf8

__all__ = ["Tokenizer", "UnknownTokenError", "SAMPLERS"]

#: The sampling algorithms for ``alpha >= 0``: exact forward-filtering
#: backward-sampling, and BytePiece's cheaper, biased Viterbi sampling.
SAMPLERS = ("perfect", "viterbi")
_SAMPLER_MODES = {"perfect": _core.MODE_SAMPLE_PERFECT, "viterbi": _core.MODE_SAMPLE_VITERBI}
#: Beyond this, alpha * score could overflow; the samplers are then Viterbi anyway.
MAX_ALPHA = 1e100
_UINT64 = 2**64


class UnknownTokenError(KeyError, ValueError):
    """A piece or id that is not in the vocabulary.

    A KeyError for code written against BytePiece 0.6.3 (which raised one) and
    a ValueError for everyone else.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class Tokenizer:
    """Byte-level Unigram tokenizer over a BytePiece model.

    ``pieces`` is a model path (JSON, ``.gz`` or ``.zip``) or the decoded JSON
    object ``{base64(piece): [id, text, count]}``. ``seed`` seeds the
    tokenizer's own random generator, from which every sampling call without
    an explicit ``seed=`` draws its stream (so a seeded tokenizer replays the
    same sequence of samples). The tokenizer is immutable apart from that
    generator and may be shared by threads.
    """

    vocab_size: int

    def __init__(self, pieces: Union[PathLike, Mapping[str, Sequence[Any]]], seed: Optional[int] = None) -> None:
        if isinstance(pieces, Mapping):
            model = parse_model(pieces)
        elif isinstance(pieces, (str, os.PathLike)):
            model = load_model(pieces)
        elif isinstance(pieces, Model):
            model = pieces
        else:
            raise TypeError(
                "Tokenizer() takes a model path or a decoded model dict, "
                f"not {type(pieces).__name__}"
            )
        self._init_model(model)
        self._rng = random.Random()
        self._rng_lock = threading.Lock()
        self.set_seed(seed)

    @classmethod
    def from_pieces(
        cls, pieces: Mapping[bytes, int], seed: Optional[int] = None, add_missing_bytes: bool = False
    ) -> "Tokenizer":
        """A tokenizer over ``{piece_bytes: count}``; ids follow (length, bytes) order.

        All 256 single bytes must be pieces; ``add_missing_bytes=True`` adds
        the absent ones with count 1 (as the trainer does).
        """
        return cls(model_from_counts(pieces, add_missing_bytes=add_missing_bytes), seed=seed)

    def _init_model(self, model: Model) -> None:
        self._model = model
        self.vocab_size = len(model.pieces) + NUM_SPECIAL
        # id -> piece: a list, so decode is one C-level index per id.
        id_to_piece: List[Any] = list(SPECIAL_TOKENS) + [b""] * len(model.pieces)
        for piece, token_id in zip(model.pieces, model.ids):
            id_to_piece[token_id] = piece
        self._id_to_piece = id_to_piece
        self._id_to_bytes: List[bytes] = [b""] * NUM_SPECIAL + id_to_piece[NUM_SPECIAL:]
        self._piece_to_id = {piece: i for i, piece in enumerate(id_to_piece)}
        offsets = np.zeros(len(model.pieces) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in model.pieces], out=offsets[1:])
        self._vocab = _core.Vocab(
            b"".join(model.pieces), offsets, model.scores(), np.array(model.ids, dtype=np.int32)
        )

    @property
    def model(self) -> Model:
        """The validated vocabulary (pieces, ids, counts)."""
        return self._model

    # -- randomness -----------------------------------------------------

    def set_seed(self, seed: Optional[int]) -> None:
        """Reseed the generator that sampling calls without ``seed=`` draw from.

        ``None`` seeds from the operating system's entropy.
        """
        if seed is not None:
            seed = _check_seed(seed)
        with self._rng_lock:
            self._rng.seed(seed)

    def _stream_key(self, seed: Optional[int]) -> int:
        if seed is None:
            with self._rng_lock:
                seed = self._rng.getrandbits(64)
        else:
            seed = _check_seed(seed)
        return _core.stream_key(seed, 0)

    def _mode(self, alpha: float, sampler: str, seed: Optional[int]):
        if sampler not in _SAMPLER_MODES:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
            raise TypeError(f"alpha must be a number, not {type(alpha).__name__}")
        alpha = float(alpha)
        if math.isnan(alpha):
            raise ValueError("alpha must be a number, got nan")
        if alpha < 0:
            if seed is not None:
                _check_seed(seed)
            return _core.MODE_BEST, -1.0, 0
        if alpha > MAX_ALPHA:
            raise ValueError(f"alpha must be at most {MAX_ALPHA:g} (larger is plain Viterbi: use alpha=-1), got {alpha}")
        return _SAMPLER_MODES[sampler], alpha, self._stream_key(seed)

    # -- encoding -------------------------------------------------------

    def encode(
        self,
        text: TextLike,
        add_bos: bool = False,
        add_eos: bool = False,
        alpha: float = -1,
        iter: bool = False,
        *,
        sampler: str = "perfect",
        seed: Optional[int] = None,
    ) -> Union[List[int], Iterator[int]]:
        """Token ids of ``text``.

        ``str`` is NFC-normalized; ``bytes`` are segmented as they are.
        ``alpha < 0`` (default) gives the highest-scoring segmentation;
        ``alpha >= 0`` samples one with probability proportional to
        ``exp(alpha * score)`` (``sampler="perfect"``, exact) or with
        BytePiece's approximate ``sampler="viterbi"``. ``seed`` makes one
        sampling call reproducible. ``iter=True`` returns an iterator.
        """
        mode, alpha, key = self._mode(alpha, sampler, seed)
        ids = self._vocab.encode(to_utf8(text), mode, alpha, key)
        if add_bos:
            ids.insert(0, 1)
        if add_eos:
            ids.append(2)
        return builtins.iter(ids) if iter else ids

    def tokenize(
        self,
        text: TextLike,
        alpha: float = -1,
        iter: bool = False,
        *,
        sampler: str = "perfect",
        seed: Optional[int] = None,
    ) -> Union[List[bytes], Iterator[bytes]]:
        """The pieces (``bytes``) of ``text``; arguments as for :meth:`encode`.

        ``b"".join(tokenize(text)) == NFC(text).encode()`` always holds.
        """
        mode, alpha, key = self._mode(alpha, sampler, seed)
        table = self._id_to_bytes
        pieces = [table[i] for i in self._vocab.encode(to_utf8(text), mode, alpha, key)]
        return builtins.iter(pieces) if iter else pieces

    # -- decoding -------------------------------------------------------

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The exact bytes that ``ids`` stand for; special ids (0, 1, 2) add nothing.

        Raises ValueError (an :class:`UnknownTokenError`) for an id outside
        ``0 .. vocab_size - 1`` and TypeError for a non-integer id.
        """
        if isinstance(ids, np.ndarray):
            ids = ids.tolist()
        elif not isinstance(ids, list):
            ids = list(ids)
        table = self._id_to_bytes
        try:
            parts = [table[i] for i in ids]
        except IndexError:
            bad = next(i for i in ids if not 0 <= i < self.vocab_size)
            raise self._unknown_id(bad) from None
        except TypeError:
            bad = next(i for i in ids if not _is_index(i))
            raise TypeError(f"token ids must be integers, got {bad!r:.40}") from None
        if ids and min(ids) < 0:  # negative indexes would silently wrap around
            raise self._unknown_id(min(ids))
        return b"".join(parts)

    def decode(self, ids: Sequence[int], errors: str = "ignore") -> str:
        """The text of ``ids``. Special ids are skipped.

        Pieces may end inside a UTF-8 character; ``errors`` says what to do
        with bytes that do not form valid UTF-8 (``"ignore"``, as BytePiece
        0.6.3 did; or ``"replace"``, ``"strict"``, ...).
        ``decode(encode(text)) == NFC(text)`` for every str.
        """
        return self.decode_bytes(ids).decode("utf-8", errors)

    def _unknown_id(self, token_id: Any) -> UnknownTokenError:
        return UnknownTokenError(f"unknown token id {token_id!r}: ids run from 0 to {self.vocab_size - 1}")

    # -- vocabulary -----------------------------------------------------

    def piece_to_id(self, piece: Union[bytes, str]) -> int:
        """The id of a piece (``bytes``), or of ``"<pad>"``, ``"<bos>"``, ``"<eos>"``."""
        try:
            return self._piece_to_id[piece]
        except (KeyError, TypeError):
            raise UnknownTokenError(f"{piece!r:.60} is not a piece of this vocabulary") from None

    def id_to_piece(self, token_id: int) -> Union[bytes, str]:
        """The piece (``bytes``) of an id; the special ids give their names (``str``)."""
        if not _is_index(token_id) or not 0 <= token_id < self.vocab_size:
            raise self._unknown_id(token_id)
        return self._id_to_piece[token_id]

    def pieces_to_ids(self, pieces: Sequence[Union[bytes, str]]) -> List[int]:
        """:meth:`piece_to_id` of each piece."""
        return [self.piece_to_id(p) for p in pieces]

    def ids_to_pieces(self, ids: Sequence[int]) -> List[Union[bytes, str]]:
        """:meth:`id_to_piece` of each id."""
        return [self.id_to_piece(i) for i in ids]

    def save(self, path: PathLike) -> None:
        """Write the model as BytePiece 0.6.3-compatible JSON."""
        from .model import save_model

        save_model(self._model, path)

    def __repr__(self) -> str:
        return f"<bytepiece.Tokenizer vocab_size={self.vocab_size}>"


def _is_index(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def _check_seed(seed: Any) -> int:
    if not _is_index(seed):
        raise TypeError(f"seed must be an integer or None, not {type(seed).__name__}")
    seed = operator.index(seed)
    if not 0 <= seed < _UINT64:
        raise ValueError(f"seed must be in 0 .. 2**64 - 1, got {seed}")
    return seed
