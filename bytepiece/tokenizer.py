"""Tokenizer: load a model, then encode/decode/tokenize/sample text.

A drop-in for BytePiece 0.6.3's ``Tokenizer`` (same constructor, methods and
token ids). Every encoding method is a thin front over the one encoding
engine, :class:`bytepiece.encoding.Encoder`; decoding (ids -> text) is a
table lookup here.
"""
from __future__ import annotations

import builtins
import os
import random
import threading
from typing import Any, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np

from .encoding import SAMPLERS, Encoder, Segmentation
from .model import SPECIAL_TOKENS, Model, PathLike, load_model, model_from_counts, parse_model, save_model
from .text import TextLike, to_utf8
from .validation import check_seed, is_index

__all__ = ["Tokenizer", "UnknownTokenError", "SAMPLERS"]


class UnknownTokenError(KeyError, ValueError):
    """A piece or id that is not in the vocabulary.

    A KeyError for code written against BytePiece 0.6.3 (which raised one) and
    a ValueError for everyone else.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class Tokenizer:
    """Byte-level Unigram tokenizer over a BytePiece model.

    ``pieces`` (0.6.3's name) is the model: a path (JSON, ``.gz`` or
    ``.zip``), the decoded JSON object ``{base64(piece): [id, text, count]}``,
    or a :class:`Model`. ``seed`` seeds the tokenizer's own random generator,
    from which every sampling call without an explicit ``seed=`` draws its
    call seed (so a seeded tokenizer replays the same sequence of samples).
    The tokenizer is immutable apart from that generator and may be shared
    by threads.
    """

    vocab_size: int

    def __init__(self, pieces: Union[PathLike, Mapping[str, Sequence[Any]], Model], seed: Optional[int] = None) -> None:
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
        self._model = model
        self.vocab_size = model.vocab_size
        self._encoder = Encoder(model.segmenter())
        # id -> piece, the special ids by name: a list, so lookups are one C-level index.
        self._id_to_piece: List[Union[bytes, str]] = list(SPECIAL_TOKENS) + list(model.bytes_by_id()[len(SPECIAL_TOKENS):])
        self._piece_to_id = {piece: i for i, piece in enumerate(self._id_to_piece)}
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
            seed = check_seed(seed)
        with self._rng_lock:
            self._rng.seed(seed)

    def _draw_seed(self) -> int:
        with self._rng_lock:
            return self._rng.getrandbits(64)

    def _segmentation(self, alpha: float, sampler: str, seed: Optional[int]) -> Segmentation:
        return Segmentation.resolve(alpha, sampler, seed, self._draw_seed)

    # -- encoding -------------------------------------------------------

    @overload
    def encode(self, text: TextLike, add_bos: bool = ..., add_eos: bool = ..., alpha: float = ...,
               iter: Literal[False] = ..., *, sampler: str = ..., seed: Optional[int] = ...,
               normalize: bool = ...) -> List[int]: ...

    @overload
    def encode(self, text: TextLike, add_bos: bool, add_eos: bool, alpha: float, iter: Literal[True], *,
               sampler: str = ..., seed: Optional[int] = ..., normalize: bool = ...) -> Iterator[int]: ...

    @overload
    def encode(self, text: TextLike, add_bos: bool = ..., add_eos: bool = ..., alpha: float = ..., *,
               iter: Literal[True], sampler: str = ..., seed: Optional[int] = ...,
               normalize: bool = ...) -> Iterator[int]: ...

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
        normalize: bool = True,
    ) -> Union[List[int], Iterator[int]]:
        """Token ids of ``text``.

        ``str`` is NFC-normalized; ``bytes`` are segmented as they are.
        ``alpha < 0`` (default) gives the highest-scoring segmentation;
        ``alpha >= 0`` samples one with probability proportional to
        ``exp(alpha * score)`` (``sampler="perfect"``, exact) or with
        BytePiece's approximate ``sampler="viterbi"``. ``seed`` makes one
        sampling call reproducible. ``iter=True`` returns an iterator.
        ``normalize=False`` skips NFC, so ``decode`` gives back the exact str.
        """
        ids = self._encoder.encode_text(text, self._segmentation(alpha, sampler, seed), add_bos=add_bos,
                                        add_eos=add_eos, normalize=normalize)
        return builtins.iter(ids) if iter else ids

    @overload
    def tokenize(self, text: TextLike, alpha: float = ..., iter: Literal[False] = ..., *, sampler: str = ...,
                 seed: Optional[int] = ..., normalize: bool = ...) -> List[bytes]: ...

    @overload
    def tokenize(self, text: TextLike, alpha: float, iter: Literal[True], *, sampler: str = ...,
                 seed: Optional[int] = ..., normalize: bool = ...) -> Iterator[bytes]: ...

    @overload
    def tokenize(self, text: TextLike, alpha: float = ..., *, iter: Literal[True], sampler: str = ...,
                 seed: Optional[int] = ..., normalize: bool = ...) -> Iterator[bytes]: ...

    def tokenize(
        self,
        text: TextLike,
        alpha: float = -1,
        iter: bool = False,
        *,
        sampler: str = "perfect",
        seed: Optional[int] = None,
        normalize: bool = True,
    ) -> Union[List[bytes], Iterator[bytes]]:
        """The pieces (``bytes``) of ``text``; arguments as for :meth:`encode`.

        ``b"".join(tokenize(text)) == NFC(text).encode()`` always holds.
        """
        table = self._model.bytes_by_id()
        pieces = [table[i] for i in self.encode(text, alpha=alpha, sampler=sampler, seed=seed, normalize=normalize)]
        return builtins.iter(pieces) if iter else pieces

    # -- batches, samples, n-best ---------------------------------------

    def encode_batch(self, texts: Sequence[TextLike], *, alpha: float = -1, sampler: str = "perfect",
                     seed: Optional[int] = None, add_bos: bool = False, add_eos: bool = False,
                     num_threads: Optional[int] = None, normalize: bool = True, first_stream: int = 0) -> List[List[int]]:
        """Token ids of every text, on ``num_threads`` threads (default: all cores).

        The same as ``[encode(t, ...) for t in texts]`` for the best
        segmentation. When sampling, text ``i`` draws from stream
        ``first_stream + i`` of the call's seed (``encode(t, seed=s)`` is
        stream 0), so with a ``seed`` the result is the same whatever
        ``num_threads`` is, and a corpus encoded in batches with a running
        ``first_stream`` samples exactly as one big batch would.
        """
        return self._encoder.encode_lists(texts, self._segmentation(alpha, sampler, seed), first_stream=first_stream,
                                          add_bos=add_bos, add_eos=add_eos, num_threads=num_threads,
                                          normalize=normalize)

    def encode_batch_numpy(self, texts: Sequence[TextLike], *, alpha: float = -1, sampler: str = "perfect",
                           seed: Optional[int] = None, add_bos: bool = False, add_eos: bool = False,
                           num_threads: Optional[int] = None, normalize: bool = True, first_stream: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """:meth:`encode_batch` as flat arrays ``(ids, offsets)``: the ids of text
        ``i`` are ``ids[offsets[i]:offsets[i + 1]]`` (int32, int64). No Python
        object per token: the fastest way to encode a large batch."""
        return self._encoder.encode_arrays(texts, self._segmentation(alpha, sampler, seed), first_stream=first_stream,
                                           add_bos=add_bos, add_eos=add_eos, num_threads=num_threads,
                                           normalize=normalize)

    def sample(
        self, text: TextLike, n: int, *, alpha: float = 0.1, sampler: str = "perfect", seed: Optional[int] = None,
        normalize: bool = True,
    ) -> List[List[int]]:
        """``n`` independent sampled segmentations (ids) of ``text``, for
        subword-regularization augmentation. Sample ``j`` draws from stream
        ``j`` of the seed: ``sample(t, n, seed=s) == encode_batch([t] * n, seed=s)``."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha < 0:
            raise ValueError(f"sample needs alpha >= 0 (alpha < 0 is the one best segmentation), got {alpha}")
        segmentation = self._segmentation(alpha, sampler, seed)
        return self._encoder.encode_lists([to_utf8(text, normalize)] * n, segmentation, num_threads=1)

    @overload
    def nbest(self, text: TextLike, k: int, *, with_scores: Literal[False] = ...,
              normalize: bool = ...) -> List[List[int]]: ...

    @overload
    def nbest(self, text: TextLike, k: int, *, with_scores: Literal[True],
              normalize: bool = ...) -> List[Tuple[List[int], float]]: ...

    def nbest(self, text: TextLike, k: int, *, with_scores: bool = False,
              normalize: bool = True) -> Union[List[List[int]], List[Tuple[List[int], float]]]:
        """The ``k`` highest-scoring segmentations of ``text`` (ids), best first; exact.

        Fewer when the text has fewer segmentations. The first is ``encode(text)``.
        With ``with_scores``, ``(ids, score)`` pairs, score = the sum of the
        pieces' log-probabilities.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        best = self._model.segmenter().nbest(to_utf8(text, normalize), k)
        return best if with_scores else [ids for ids, _ in best]

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
        table = self._model.bytes_by_id()
        try:
            parts = [table[i] for i in ids]
        except IndexError:
            bad = next(i for i in ids if not 0 <= i < self.vocab_size)
            raise self._unknown_id(bad) from None
        except TypeError:
            bad = next(i for i in ids if not is_index(i))
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
        if not is_index(token_id) or not 0 <= token_id < self.vocab_size:
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
        save_model(self._model, path)

    def __repr__(self) -> str:
        return f"<bytepiece.Tokenizer vocab_size={self.vocab_size}>"

    def __reduce__(self) -> Tuple[Any, ...]:
        # Pickled as its model and generator state (for multiprocessing with
        # spawn); the C trie is rebuilt on arrival.
        with self._rng_lock:
            state = self._rng.getstate()
        return _restore_tokenizer, (self._model, state)


def _restore_tokenizer(model: Model, rng_state: Any) -> Tokenizer:
    tok = Tokenizer(model)
    tok._rng.setstate(rng_state)
    return tok

