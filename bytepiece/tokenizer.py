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
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

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

    ``pieces`` is a model path (JSON, ``.gz`` or ``.zip``), the decoded JSON
    object ``{base64(piece): [id, text, count]}``, or a validated :class:`Model`. ``seed`` seeds the
    tokenizer's own random generator, from which every sampling call without
    an explicit ``seed=`` draws its stream (so a seeded tokenizer replays the
    same sequence of samples). The tokenizer is immutable apart from that
    generator and may be shared by threads.
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

    def _call_seed(self, seed: Optional[int]) -> int:
        """The 64-bit seed of one sampling call: ``seed``, or a draw from the tokenizer's generator."""
        if seed is None:
            with self._rng_lock:
                return self._rng.getrandbits(64)
        return _check_seed(seed)

    def _mode(self, alpha: float, sampler: str, seed: Optional[int]) -> Tuple[int, float, int]:
        """(C mode, alpha, call seed) for the arguments of an encoding call."""
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
        return _SAMPLER_MODES[sampler], alpha, self._call_seed(seed)

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
        mode, alpha, seed = self._mode(alpha, sampler, seed)
        ids = self._vocab.encode(to_utf8(text, normalize), mode, alpha, _core.stream_key(seed, 0))
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
        normalize: bool = True,
    ) -> Union[List[bytes], Iterator[bytes]]:
        """The pieces (``bytes``) of ``text``; arguments as for :meth:`encode`.

        ``b"".join(tokenize(text)) == NFC(text).encode()`` always holds.
        """
        mode, alpha, seed = self._mode(alpha, sampler, seed)
        table = self._id_to_bytes
        data = to_utf8(text, normalize)
        pieces = [table[i] for i in self._vocab.encode(data, mode, alpha, _core.stream_key(seed, 0))]
        return builtins.iter(pieces) if iter else pieces

    # -- batches, samples, n-best ---------------------------------------

    def encode_batch(
        self,
        texts: Sequence[TextLike],
        *,
        alpha: float = -1,
        sampler: str = "perfect",
        seed: Optional[int] = None,
        add_bos: bool = False,
        add_eos: bool = False,
        num_threads: Optional[int] = None,
        normalize: bool = True,
    ) -> List[List[int]]:
        """Token ids of every text, on ``num_threads`` threads (default: all cores).

        The same as ``[encode(t, ...) for t in texts]`` for the best
        segmentation. When sampling, text ``i`` draws from stream ``i`` of the
        call's seed (``encode(t, seed=s)`` is stream 0), so with a ``seed``
        the result is the same whatever ``num_threads`` is.
        """
        return self._batch(texts, alpha, sampler, seed, add_bos, add_eos, num_threads, True, normalize=normalize)[0]

    def encode_batch_numpy(
        self,
        texts: Sequence[TextLike],
        *,
        alpha: float = -1,
        sampler: str = "perfect",
        seed: Optional[int] = None,
        add_bos: bool = False,
        add_eos: bool = False,
        num_threads: Optional[int] = None,
        normalize: bool = True,
    ) -> Tuple[np.ndarray, np.ndarray]:
        """:meth:`encode_batch` as flat arrays ``(ids, offsets)``: the ids of text
        ``i`` are ``ids[offsets[i]:offsets[i + 1]]`` (int32, int64). No Python
        object per token: the fastest way to encode a large batch."""
        return self._batch(texts, alpha, sampler, seed, add_bos, add_eos, num_threads, False, normalize=normalize)[0]

    def _batch(self, texts, alpha, sampler, seed, add_bos, add_eos, num_threads, as_lists, first_stream=0,
               normalize=True):
        """(result, call seed): text i samples from stream first_stream + i of the call seed.

        The CLI passes the seed it got back and a running first_stream, so
        that streaming a corpus batch by batch samples like one big batch.
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError("encode_batch takes a sequence of texts; for one text use encode")
        texts = list(texts)
        mode, alpha, seed = self._mode(alpha, sampler, seed)
        threads = _check_threads(num_threads)

        def run(lo: int, hi: int):
            datas = [to_utf8(t, normalize) for t in texts[lo:hi]]
            keys = None if mode == _core.MODE_BEST else _core.stream_keys(seed, first_stream + lo, hi - lo)
            ids, offs = self._vocab.encode_batch(datas, mode, alpha, keys, add_bos, add_eos)
            return self._vocab.split_lists(ids, offs, track=False) if as_lists else (ids, offs)

        ranges = _task_ranges(texts, threads)
        if threads == 1 or len(ranges) == 1:
            parts = [run(lo, hi) for lo, hi in ranges]
        else:
            # Each task runs C without the GIL, then builds its lists with it:
            # one thread's list building overlaps the other threads' C work.
            with ThreadPoolExecutor(max_workers=threads) as pool:
                parts = list(pool.map(lambda r: run(*r), ranges))
        if as_lists:
            # The tasks left their lists out of the cyclic GC (see split_lists):
            # no collection during the batch rescans them; now they rejoin it.
            result = [ids for part in parts for ids in part]
            _core.track_lists(result)
            return result, seed
        shifts = np.cumsum([0] + [len(ids) for ids, _ in parts[:-1]])
        offsets = np.concatenate([np.zeros(1, dtype=np.int64)] + [offs[1:] + shift for (_, offs), shift in zip(parts, shifts)])
        return (np.concatenate([ids for ids, _ in parts]), offsets), seed

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
        mode, alpha, seed = self._mode(alpha, sampler, seed)
        data = to_utf8(text, normalize)
        return [self._vocab.encode(data, mode, alpha, int(key)) for key in _core.stream_keys(seed, 0, n)]

    def nbest(self, text: TextLike, k: int, *, with_scores: bool = False, normalize: bool = True) -> List[Any]:
        """The ``k`` highest-scoring segmentations of ``text`` (ids), best first; exact.

        Fewer when the text has fewer segmentations. The first is ``encode(text)``.
        With ``with_scores``, ``(ids, score)`` pairs, score = the sum of the
        pieces' log-probabilities.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        best = self._vocab.nbest(to_utf8(text, normalize), k)
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

    def __reduce__(self):
        # Pickled as its model and generator state (for multiprocessing with
        # spawn); the C trie is rebuilt on arrival.
        with self._rng_lock:
            state = self._rng.getstate()
        return _restore_tokenizer, (self._model, state)


def _restore_tokenizer(model: Model, rng_state: Any) -> Tokenizer:
    tok = Tokenizer(model)
    tok._rng.setstate(rng_state)
    return tok


def _is_index(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def _check_threads(num_threads: Optional[int]) -> int:
    if num_threads is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if isinstance(num_threads, bool) or not isinstance(num_threads, int):
        raise TypeError(f"num_threads must be an integer or None, not {type(num_threads).__name__}")
    if num_threads < 1:
        raise ValueError(f"num_threads must be at least 1, got {num_threads}")
    return num_threads


#: A thread task encodes about this many characters (small enough for the
#: threads to interleave their C work with their list building).
_TASK_CHARS = 1 << 16


def _task_ranges(texts: Sequence[TextLike], threads: int) -> List[Tuple[int, int]]:
    """Consecutive ranges of texts, about _TASK_CHARS each (one range per thread at most when small)."""
    sizes = [len(t) if isinstance(t, (str, bytes, bytearray)) else 1 for t in texts]  # to_utf8 rejects the rest
    total = sum(sizes) if threads > 1 else 0
    target = max(1, min(_TASK_CHARS, total // threads + 1)) if threads > 1 else float("inf")
    ranges, lo, size = [], 0, 0
    for i, t in enumerate(sizes):
        size += t
        if size >= target:
            ranges.append((lo, i + 1))
            lo, size = i + 1, 0
    if lo < len(texts) or not ranges:
        ranges.append((lo, len(texts)))
    return ranges


def _check_seed(seed: Any) -> int:
    if not _is_index(seed):
        raise TypeError(f"seed must be an integer or None, not {type(seed).__name__}")
    seed = operator.index(seed)
    if not 0 <= seed < _UINT64:
        raise ValueError(f"seed must be in 0 .. 2**64 - 1, got {seed}")
    return seed
