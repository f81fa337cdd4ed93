"""The encoding engine: the one path from texts to token ids.

Every way of encoding text goes through :class:`Encoder`:
``Tokenizer.encode``, ``tokenize``, ``encode_batch``, ``encode_batch_numpy``,
``sample``, ``nbest``, the offsets methods, and the command line through
them. ``Tokenizer`` hands its calls on; its ``encode`` is
:class:`EncodeMixin`'s, which answers the default call (the best segmentation
of a str) in its own frame through the Encoder's C method and hands every
other call on. A call is resolved once into a
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

import builtins
import functools
import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, List, Literal, NamedTuple, Optional, Sequence, Tuple, Union, overload

import numpy as np

from . import _core, validation
from .seeds import SeedSource
from .special import AllowedSpecial, SpecialTokens
from .text import TextLike, to_utf8
from .validation import check_document, check_int, check_num_threads, check_seed, usable_threads

__all__ = ["SAMPLERS", "MAX_ALPHA", "MAX_NBEST_ENTRIES", "Segmentation", "Encoder", "EncodeMixin"]

#: The sampling algorithms for ``alpha >= 0``: exact forward-filtering
#: backward-sampling, and BytePiece's older, biased Viterbi sampling.
SAMPLERS = ("perfect", "viterbi")
_SAMPLER_MODES = {"perfect": _core.MODE_SAMPLE_PERFECT, "viterbi": _core.MODE_SAMPLE_VITERBI}
#: Beyond this, alpha * score could overflow; the samplers are then Viterbi anyway.
MAX_ALPHA = _core.MAX_ALPHA
#: The most (k x text length) that :meth:`Encoder.nbest` takes: its search
#: keeps k paths per byte position, 24 bytes each (about 1.6 GB at the limit).
MAX_NBEST_ENTRIES = 1 << 26
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

    ``special``: the model's special tokens, found in text only where a call
    allows them (without it, ``allowed_special`` is refused); ``draw_seed``:
    where a sampling call without ``seed=`` gets its seed (a tokenizer's
    :class:`~bytepiece.seeds.SeedSource`; without it, an unseeded source of
    the encoder's own).

    Two layers. :meth:`encode`, :meth:`encode_batch`,
    :meth:`encode_batch_numpy`, :meth:`sample` and :meth:`nbest` take a
    call's arguments as ``Tokenizer`` takes them, every one given
    (``Tokenizer``'s methods of those names hand their calls to them and
    hold the defaults and the documentation; ``encode`` is
    :meth:`EncodeMixin.encode`'s general path). They resolve the arguments
    into a :class:`Segmentation` and use the second layer,
    :meth:`encode_text`, :meth:`encode_lists` and :meth:`encode_arrays`,
    which take ``texts`` (str or bytes each; str is NFC-normalized unless
    ``normalize`` is false), the :class:`Segmentation`, ``first_stream``
    (text ``i`` samples from stream ``first_stream + i``),
    ``add_bos``/``add_eos`` and ``num_threads`` (None: all cores; never more
    threads than the cores this process may use). Every method refuses a
    text longer than ``validation.MAX_DOCUMENT_BYTES`` with a ValueError
    (:meth:`nbest` one beyond its own, lower bound, ``MAX_NBEST_ENTRIES``).
    """

    def __init__(self, segmenter: "_core.Segmenter", special: Optional[SpecialTokens] = None,
                 draw_seed: Optional[Callable[[], int]] = None) -> None:
        self._segmenter = segmenter
        self._special = special
        self._draw_seed = SeedSource().draw if draw_seed is None else draw_seed
        #: ``encode_best_str_unchecked(text, add_bos, add_eos)``: the ids of the
        #: best segmentation of a str whose NFC is itself, or None for any other
        #: str (then call :meth:`encode`). The C method itself, bound once: the
        #: default call of :meth:`EncodeMixin.encode`. It does not check the
        #: document size: its caller compares ``len(text) << 2`` with
        #: ``validation.MAX_DOCUMENT_BYTES`` first.
        self.encode_best_str_unchecked: Callable[[str, bool, bool], Optional[List[int]]] = segmenter.encode_best_str

    # -- the calls of Tokenizer -------------------------------------------------

    def encode(self, text: TextLike, add_bos: bool, add_eos: bool, alpha: float, iter: bool, sampler: str,
               seed: Optional[int], normalize: bool, allowed_special: AllowedSpecial) -> Union[List[int], Iterator[int]]:
        """``Tokenizer.encode`` (:meth:`EncodeMixin.encode`) of one text, every argument given."""
        segmentation = Segmentation.resolve(alpha, sampler, seed, self._draw_seed)
        patterns = self._patterns(allowed_special) if allowed_special else None
        if patterns is None:
            ids = self.encode_text(text, segmentation, add_bos=add_bos, add_eos=add_eos, normalize=normalize)
        else:
            ids = self._encode_with_specials([text], segmentation, patterns, 0, add_bos, add_eos, 1, normalize)[0]
        return builtins.iter(ids) if iter else ids

    def encode_batch(self, texts: Sequence[TextLike], *, alpha: float, sampler: str, seed: Optional[int],
                     add_bos: bool, add_eos: bool, num_threads: Optional[int], normalize: bool, first_stream: int,
                     allowed_special: AllowedSpecial) -> List[List[int]]:
        """``Tokenizer.encode_batch``: one list of ids per text."""
        segmentation = Segmentation.resolve(alpha, sampler, seed, self._draw_seed)
        patterns = self._patterns(allowed_special) if allowed_special else None
        if patterns is not None:
            return self._encode_with_specials(texts, segmentation, patterns, first_stream, add_bos, add_eos,
                                              num_threads, normalize)
        return self.encode_lists(texts, segmentation, first_stream=first_stream, add_bos=add_bos, add_eos=add_eos,
                                 num_threads=num_threads, normalize=normalize)

    def encode_batch_numpy(self, texts: Sequence[TextLike], *, alpha: float, sampler: str, seed: Optional[int],
                           add_bos: bool, add_eos: bool, num_threads: Optional[int], normalize: bool,
                           first_stream: int, allowed_special: AllowedSpecial) -> Tuple[np.ndarray, np.ndarray]:
        """``Tokenizer.encode_batch_numpy``: :meth:`encode_batch` as flat ``(ids, offsets)``."""
        if allowed_special:
            lists = self.encode_batch(texts, alpha=alpha, sampler=sampler, seed=seed, add_bos=add_bos,
                                      add_eos=add_eos, num_threads=num_threads, normalize=normalize,
                                      first_stream=first_stream, allowed_special=allowed_special)
            offsets = np.zeros(len(lists) + 1, dtype=np.int64)
            np.cumsum([len(ids) for ids in lists], out=offsets[1:])
            return np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int32, count=int(offsets[-1])), offsets
        return self.encode_arrays(texts, Segmentation.resolve(alpha, sampler, seed, self._draw_seed),
                                  first_stream=first_stream, add_bos=add_bos, add_eos=add_eos,
                                  num_threads=num_threads, normalize=normalize)

    def sample(self, text: TextLike, n: int, *, alpha: float, sampler: str, seed: Optional[int],
               normalize: bool) -> List[List[int]]:
        """``Tokenizer.sample``: ``n`` sampled segmentations, sample ``j`` from stream ``j``."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha < 0:
            raise ValueError(f"sample needs alpha >= 0 (alpha < 0 is the one best segmentation), got {alpha}")
        segmentation = Segmentation.resolve(alpha, sampler, seed, self._draw_seed)
        return self.encode_lists([to_utf8(text, normalize)] * n, segmentation, num_threads=1)

    def nbest(self, text: TextLike, k: int, *, with_scores: bool,
              normalize: bool) -> Union[List[List[int]], List[Tuple[List[int], float]]]:
        """``Tokenizer.nbest``: the ``k`` best segmentations, best first, with or without their scores."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        data = to_utf8(text, normalize)
        if len(data) < 64:
            k = min(k, 1 << max(len(data) - 1, 0))  # no text has more segmentations than that
        if k * (len(data) + 1) > MAX_NBEST_ENTRIES:
            raise ValueError(f"nbest with k={k} on {len(data)} bytes would hold {k * (len(data) + 1)} paths, more "
                             f"than {MAX_NBEST_ENTRIES} (about 24 bytes each): ask for fewer or split the text")
        best = self._segmenter.nbest(data, k)
        return best if with_scores else [ids for ids, _ in best]

    def _patterns(self, allowed_special: AllowedSpecial) -> Any:
        """The patterns of the allowed special tokens (None when none is)."""
        if self._special is None:
            raise ValueError("allowed_special needs an Encoder made with the model's special tokens")
        return self._special.patterns(allowed_special)

    def _encode_with_specials(self, texts: Sequence[TextLike], segmentation: Segmentation, patterns: Any,
                              first_stream: int, add_bos: bool, add_eos: bool, num_threads: Optional[int],
                              normalize: bool) -> List[List[int]]:
        """Texts cut at the allowed special tokens: the runs between are
        encoded in one batch (run ``k`` of the call drawing from stream
        ``first_stream + k``), the tokens' ids put between them."""
        assert self._special is not None  # patterns came from it
        split = [self._special.split(text, patterns) for text in texts]
        runs = [part for parts in split for part in parts if not isinstance(part, int)]
        encoded = builtins.iter(self.encode_lists(runs, segmentation, first_stream=first_stream,
                                                  num_threads=num_threads, normalize=normalize))
        result = []
        for parts in split:
            ids = [_core.BOS_ID] if add_bos else []
            for part in parts:
                if isinstance(part, int):
                    ids.append(part)
                else:
                    ids += next(encoded)
            if add_eos:
                ids.append(_core.EOS_ID)
            result.append(ids)
        return result

    # -- a resolved Segmentation ------------------------------------------------

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


class EncodeMixin:
    """The ``encode`` method of a class whose instances hold an :class:`Encoder`
    as ``self._encoder``: :class:`bytepiece.Tokenizer`.

    A base class, not a method of ``Tokenizer`` that calls the Encoder: the
    default call (a short str) is answered in this method's one Python frame
    and the C segmenter, and a second frame would cost about 40 ns of a
    300 ns call. An Encoder method bound to each tokenizer as an attribute
    costs about 20 ns more than an inherited one (an instance attribute that
    hides a class attribute is not looked up on the fast path).
    """

    __slots__ = ()
    _encoder: Encoder

    @overload
    def encode(self, text: TextLike, add_bos: bool = ..., add_eos: bool = ..., alpha: float = ...,
               iter: Literal[False] = ..., *, sampler: str = ..., seed: Optional[int] = ...,
               normalize: bool = ..., allowed_special: AllowedSpecial = ...) -> List[int]: ...

    @overload
    def encode(self, text: TextLike, add_bos: bool, add_eos: bool, alpha: float, iter: Literal[True], *,
               sampler: str = ..., seed: Optional[int] = ..., normalize: bool = ...,
               allowed_special: AllowedSpecial = ...) -> Iterator[int]: ...

    @overload
    def encode(self, text: TextLike, add_bos: bool = ..., add_eos: bool = ..., alpha: float = ..., *,
               iter: Literal[True], sampler: str = ..., seed: Optional[int] = ...,
               normalize: bool = ..., allowed_special: AllowedSpecial = ...) -> Iterator[int]: ...

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
        allowed_special: AllowedSpecial = (),
    ) -> Union[List[int], Iterator[int]]:
        """Token ids of ``text``.

        ``str`` is NFC-normalized; ``bytes`` are segmented as they are.
        ``alpha < 0`` (default) gives the highest-scoring segmentation;
        ``alpha >= 0`` samples one with probability proportional to
        ``exp(alpha * score)`` (``sampler="perfect"``, exact) or with
        BytePiece's approximate ``sampler="viterbi"``. ``seed`` makes one
        sampling call reproducible. ``iter=True`` returns an iterator.
        ``normalize=False`` skips NFC, so ``decode`` gives back the exact str.
        ``allowed_special`` (``"all"`` or a set of names): the special tokens
        that are recognized in ``text``; by default none is, so user text can
        never forge one (see :mod:`bytepiece.special`).
        """
        # The default call (a str, alpha < 0, nothing else), answered without
        # Segmentation.resolve: this is its alpha < 0 case (the best
        # segmentation, no seed drawn, nothing to check but the sampler's name),
        # and the document bound compares the length (a str's UTF-8 has at most
        # 4 bytes a character) instead of calling check_document. On short
        # documents those layers were a tenth of the time; a test checks that
        # both paths agree.
        if (text.__class__ is str and (alpha.__class__ is int or alpha.__class__ is float) and alpha < 0
                and seed is None and sampler in SAMPLERS and not iter and not allowed_special
                and len(text) << 2 <= validation.MAX_DOCUMENT_BYTES):
            ids = self._encoder.encode_best_str_unchecked(text, add_bos, add_eos)
            if ids is not None:
                return ids
            text = to_utf8(text, normalize)  # NFC may change it: the general path, without checking twice
        return self._encoder.encode(text, add_bos, add_eos, alpha, iter, sampler, seed, normalize, allowed_special)
