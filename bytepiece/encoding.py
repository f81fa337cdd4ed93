"""The encoding engine: the one path from texts to token ids.

Every way of encoding text goes through :class:`Encoder`:
``Tokenizer.encode``, ``tokenize``, ``encode_batch``, ``encode_batch_numpy``,
``sample``, and the command line through them. A call is resolved once into a
:class:`Segmentation` (mode, alpha, seed); then the texts become the bytes
that are segmented (NFC + UTF-8, docs/spec/text.md), consecutive runs of
them go to the C segmenter (``bp_encode_batch``) on a pool of threads with
the GIL released, and the result comes back as lists or as flat arrays.

Size: a text longer than ``validation.MAX_DOCUMENT_BYTES`` bytes of UTF-8 is
refused with a ValueError before it is normalized or encoded. The check
costs one comparison per text: the length of a ``str`` bounds its UTF-8
size (1 to 4 bytes a character), so only texts within a factor of 4 of the
limit are measured.

Random streams: text ``i`` of a call draws from stream ``first_stream + i``
of the call's seed (docs/spec/rng.md), so the result does not depend on the
number of threads, and a corpus encoded batch by batch with a running
``first_stream`` samples exactly like one big batch.
"""
from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from . import _core, validation
from .text import TextLike, to_utf8
from .validation import check_document, check_int, check_num_threads, check_seed, usable_threads

__all__ = ["SAMPLERS", "MAX_ALPHA", "Segmentation", "Encoder"]

#: The sampling algorithms for ``alpha >= 0``: exact forward-filtering
#: backward-sampling, and BytePiece's cheaper, biased Viterbi sampling.
SAMPLERS = ("perfect", "viterbi")
_SAMPLER_MODES = {"perfect": _core.MODE_SAMPLE_PERFECT, "viterbi": _core.MODE_SAMPLE_VITERBI}
#: Beyond this, alpha * score could overflow; the samplers are then Viterbi anyway.
MAX_ALPHA = _core.MAX_ALPHA
#: A thread task encodes about this many characters (small enough for the
#: threads to interleave their C work with their list building).
TASK_CHARS = 1 << 16


class Segmentation(NamedTuple):
    """How one call segments (docs/spec/segmentation.md): the C mode, alpha,
    and the call's 64-bit seed (0 and unused for the best segmentation)."""

    mode: int
    alpha: float
    seed: int

    @classmethod
    def resolve(cls, alpha: float, sampler: str, seed: Optional[int],
                draw_seed: Callable[[], int]) -> "Segmentation":
        """Check a call's ``alpha``, ``sampler`` and ``seed``; a sampling call
        without a seed takes ``draw_seed()``. ``alpha < 0`` is the best
        segmentation, ``0 <= alpha <= MAX_ALPHA`` samples with ``sampler``.

        ``alpha > MAX_ALPHA`` (any finite size, and ``+inf``) is the best
        segmentation too: the limit of both samplers as alpha grows, which
        they all but reach long before MAX_ALPHA (beyond it ``alpha * score``
        would overflow in the C core). The one difference is on exact ties of
        the best score, where the samplers draw among the tied
        segmentations and the best segmentation takes its fixed tie-break.
        Such a call is deterministic: it draws no seed. NaN is an error."""
        if sampler not in _SAMPLER_MODES:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
        kind = alpha.__class__
        if kind is not float and kind is not int:  # the common types first: this runs on every call
            if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
                raise TypeError(f"alpha must be a number, not {type(alpha).__name__}")
            alpha = float(alpha)
        # Compared before float(): a Python int too large for a float is still an alpha.
        if alpha < 0 or alpha > MAX_ALPHA:
            if seed is not None:
                check_seed(seed)
            return _BEST
        alpha = float(alpha)
        if math.isnan(alpha):
            raise ValueError("alpha must be a number, got nan")
        # tuple.__new__ directly: the named tuple's own __new__ is a Python frame (a third of this call).
        return tuple.__new__(cls, (_SAMPLER_MODES[sampler], alpha, draw_seed() if seed is None else check_seed(seed)))

    @property
    def samples(self) -> bool:
        """Whether this segmentation is random."""
        return self.mode != _core.MODE_BEST

    def stream_keys(self, first: int, count: int) -> Optional[np.ndarray]:
        """The C stream keys of streams ``first .. first + count - 1`` (None when not sampling)."""
        return _core.stream_keys(self.seed, first, count) if self.samples else None


_MODE_BEST = _core.MODE_BEST
_BEST = Segmentation(_MODE_BEST, -1.0, 0)


def _text_sizes(texts: List[TextLike]) -> List[int]:
    """The length of each text: characters of a str, bytes of bytes (1 for an
    object without a length, which to_utf8 rejects)."""
    try:
        return list(map(len, texts))
    except TypeError:
        return [len(t) if isinstance(t, (str, bytes, bytearray, memoryview)) else 1 for t in texts]


def _check_sizes(texts: List[TextLike], sizes: List[int]) -> None:
    """Refuse the batch when one of its texts exceeds
    ``validation.MAX_DOCUMENT_BYTES``: its length bounds its size within a
    factor of 4, so only texts near the limit are measured."""
    if sizes and max(sizes) << 2 > validation.MAX_DOCUMENT_BYTES:
        for text in texts:
            check_document(text)


def _task_ranges(sizes: Sequence[int], threads: int) -> List[Tuple[int, int]]:
    """Consecutive ranges of the texts of these sizes, about TASK_CHARS each
    (one range per thread at most when small)."""
    if threads == 1 or len(sizes) <= 1:
        return [(0, len(sizes))]
    target = max(1, min(TASK_CHARS, sum(sizes) // threads + 1))
    ranges, lo, size = [], 0, 0
    for i, t in enumerate(sizes):
        size += t
        if size >= target:
            ranges.append((lo, i + 1))
            lo, size = i + 1, 0
    if lo < len(sizes):
        ranges.append((lo, len(sizes)))
    return ranges


class Encoder:
    """Encodes texts with one model's C segmenter; immutable, safe to share between threads.

    Both methods take the same arguments: ``texts`` (str or bytes each; str
    is NFC-normalized unless ``normalize`` is false), the call's
    :class:`Segmentation`, ``first_stream`` (text ``i`` samples from stream
    ``first_stream + i``), ``add_bos``/``add_eos`` and ``num_threads``
    (None: all cores; never more threads than the cores this process may
    use). Every method but :attr:`encode_best_str_unchecked` refuses a text
    longer than ``validation.MAX_DOCUMENT_BYTES`` with a ValueError.
    """

    def __init__(self, segmenter: "_core.Segmenter") -> None:
        self._segmenter = segmenter
        best = segmenter.encode_best_str

        def encode_best_str(text: str, add_bos: bool = False, add_eos: bool = False) -> Optional[List[int]]:
            """The best segmentation of a str whose NFC is itself, or None for any
            other str (then call :meth:`encode_text`): the default
            ``Tokenizer.encode`` call's whole path, so it is the C method behind
            one length comparison."""
            if len(text) << 2 > validation.MAX_DOCUMENT_BYTES:
                check_document(text)
            return best(text, add_bos, add_eos)

        self.encode_best_str: Callable[[str, bool, bool], Optional[List[int]]] = encode_best_str
        #: :attr:`encode_best_str` without the size check: the C method itself, for
        #: a caller that has compared ``len(text) << 2 <= validation.MAX_DOCUMENT_BYTES``
        #: inline (calls :attr:`encode_best_str` otherwise). A Python call more
        #: costs the default ``Tokenizer.encode`` of a short text about a quarter of its time.
        self.encode_best_str_unchecked: Callable[[str, bool, bool], Optional[List[int]]] = best

    def encode_text(self, text: TextLike, segmentation: Segmentation, *, stream: int = 0, add_bos: bool = False,
                    add_eos: bool = False, normalize: bool = True) -> List[int]:
        """The ids of one text, drawing from stream ``stream``: ``encode_lists([text], ...,
        first_stream=stream)[0]`` at a fraction of the per-call cost."""
        if text.__class__ is str or text.__class__ is bytes:
            if len(text) << 2 > validation.MAX_DOCUMENT_BYTES:
                check_document(text)
        else:
            check_document(text)  # bytearray, memoryview; any other type is refused by to_utf8
        mode, alpha, seed = segmentation
        key = 0 if mode == _MODE_BEST else _core.stream_key(seed, stream)
        if text.__class__ is str:  # the common case: NFC and UTF-8 in one pass in C where they are trivial
            ids = self._segmenter.encode_str(text, mode, alpha, key, add_bos, add_eos)
            if ids is not None:
                return ids
        return self._segmenter.encode_text(to_utf8(text, normalize), mode, alpha, key, add_bos, add_eos)

    def encode_lists(self, texts: Sequence[TextLike], segmentation: Segmentation, *, first_stream: int = 0,
                     add_bos: bool = False, add_eos: bool = False, num_threads: Optional[int] = 1,
                     normalize: bool = True) -> List[List[int]]:
        """One list of ids per text."""
        parts = self._run(texts, segmentation, first_stream, add_bos, add_eos, num_threads, normalize, True)
        result = parts[0] if len(parts) == 1 else [ids for part in parts for ids in part]
        # The tasks left their lists out of the cyclic GC (see Segmenter.encode_lists):
        # no collection during the batch rescans them; now they rejoin it.
        _core.track_lists(result)
        return result

    def encode_arrays(self, texts: Sequence[TextLike], segmentation: Segmentation, *, first_stream: int = 0,
                      add_bos: bool = False, add_eos: bool = False, num_threads: Optional[int] = 1,
                      normalize: bool = True) -> Tuple[np.ndarray, np.ndarray]:
        """Flat ``(ids int32, offsets int64)``: text ``i`` is ``ids[offsets[i]:offsets[i + 1]]``."""
        parts = self._run(texts, segmentation, first_stream, add_bos, add_eos, num_threads, normalize, False)
        if len(parts) == 1:
            return parts[0]
        shifts = np.cumsum([0] + [len(ids) for ids, _ in parts[:-1]])
        offsets = np.concatenate([np.zeros(1, dtype=np.int64)] + [offs[1:] + shift for (_, offs), shift in zip(parts, shifts)])
        return np.concatenate([ids for ids, _ in parts]), offsets

    def _run(self, texts: Sequence[TextLike], segmentation: Segmentation, first_stream: int, add_bos: bool,
             add_eos: bool, num_threads: Optional[int], normalize: bool, as_lists: bool) -> list:
        """The result of each task range, in order."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("a batch is a sequence of texts, not one str or bytes")
        if type(texts) is not list:  # once here, so that each task's slice is a list already
            texts = list(texts)
        threads = usable_threads(check_num_threads(num_threads))
        first_stream = check_int("first_stream", first_stream, 0)
        sizes = _text_sizes(texts)
        _check_sizes(texts, sizes)
        segmenter = self._segmenter

        # The segmenter takes bytes and the str that NFC leaves unchanged as they
        # are (most text: one pass in C); to_utf8 makes the bytes of the rest.
        fallback = functools.partial(to_utf8, normalize=normalize)

        def task(bounds: Tuple[int, int]) -> Any:
            lo, hi = bounds
            batch = texts[lo:hi]
            keys = segmentation.stream_keys(first_stream + lo, hi - lo)
            if as_lists:
                return segmenter.encode_lists(batch, segmentation.mode, segmentation.alpha, keys, add_bos, add_eos,
                                              track=False, fallback=fallback)
            return segmenter.encode_arrays(batch, segmentation.mode, segmentation.alpha, keys, add_bos, add_eos,
                                           fallback=fallback)

        ranges = _task_ranges(sizes, threads)
        if len(ranges) == 1:
            return [task(ranges[0])]
        # Each task runs C without the GIL, then builds its lists with it:
        # one thread's list building overlaps the other threads' C work.
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(task, ranges))
