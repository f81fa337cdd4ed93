"""Tokenizer: load a model, then encode/decode/tokenize/sample text.

A drop-in for BytePiece 0.6.3's ``Tokenizer`` (same constructor, methods and
token ids). Every encoding method is a thin front over the one encoding
engine, :class:`bytepiece.encoding.Encoder`; decoding (ids -> text) is a
table lookup here.
"""
from __future__ import annotations

import builtins
import codecs
import hashlib
import itertools
import os
import random
import threading
import weakref
from functools import cached_property
from typing import Any, Dict, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np

from ._core import BOS_ID, EOS_ID
from .encoding import SAMPLERS, Encoder, Segmentation
from .offsets import byte_spans, char_spans
from .model import SPECIAL_TOKENS, Model, PathLike, load_model, model_from_counts, parse_model, save_model
from .special import AllowedSpecial, SpecialTokens
from .streaming import StreamDecoder
from .text import TextLike, to_utf8
from . import validation
from .validation import check_int, check_seed, is_index

__all__ = ["Tokenizer", "UnknownTokenError", "SAMPLERS"]


#: The most (k x text length) that :meth:`Tokenizer.nbest` takes: its search
#: keeps k paths per byte position, 24 bytes each (about 1.6 GB at the limit).
MAX_NBEST_ENTRIES = 1 << 26


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

    Worker processes:

    - **Unseeded** (``seed=None``, the default, or after ``set_seed(None)``):
      every process samples independently. A child made by ``fork`` reseeds
      the generator from the operating system's entropy, and so does a copy
      made by pickling (``spawn``, ``forkserver``, a ``Pool`` task,
      ``copy.deepcopy``); nothing to do.
    - **Seeded** (``seed=<int>`` or after ``set_seed(<int>)``): reproducible,
      so a forked or unpickled copy continues the *same* sequence as the
      original, and workers given the same tokenizer draw the same samples.
      Give each worker its own stream with :meth:`derive`:
      ``tok.derive(worker_id, epoch)``, reproducible per (seed, worker, epoch).
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
        self._special = SpecialTokens(model)
        self._rng = random.Random()
        self._rng_lock = threading.Lock()
        self._seed: Optional[int] = None  # None: seeded from OS entropy, reseeded in forked children and copies
        self.set_seed(seed)
        _LIVE_TOKENIZERS.add(self)

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

    @property
    def seed(self) -> Optional[int]:
        """The seed the generator started from (given to the constructor,
        :meth:`set_seed` or made by :meth:`derive`), or None when it was
        seeded from the operating system's entropy. It does not change as
        sampling advances the generator."""
        return self._seed

    def set_seed(self, seed: Optional[int]) -> None:
        """Reseed the generator that sampling calls without ``seed=`` draw from.

        An integer (0 .. 2**64 - 1) makes the sequence of samples
        reproducible, also in forked or unpickled copies (which continue it:
        use :meth:`derive` for distinct per-worker streams). ``None`` seeds
        from the operating system's entropy, and then every forked child
        and every unpickled copy reseeds itself likewise.
        """
        if seed is not None:
            seed = check_seed(seed)
        with self._rng_lock:
            self._rng.seed(seed)
            self._seed = seed

    def derive(self, worker: int, epoch: int = 0) -> "Tokenizer":
        """A tokenizer for worker ``worker`` in epoch ``epoch``: the same model
        (shared, nothing is copied or rebuilt) with a generator of its own.

        Seeded tokenizer: the new one is seeded with a 64-bit hash of
        (``self.seed``, ``worker``, ``epoch``), so its samples are
        reproducible, distinct for each (seed, worker, epoch) and distinct
        from this tokenizer's. They do not depend on how far this tokenizer
        has sampled. Unseeded tokenizer: the new one is unseeded too (OS
        entropy), so the same code serves both cases. ``worker`` and
        ``epoch`` are integers >= 0; ``self`` is left unchanged.

        PyTorch ``DataLoader`` (workers are made anew each epoch unless
        ``persistent_workers=True``; each gets a copy of the dataset)::

            tok = Tokenizer("model.zip", seed=1234)

            class Texts(torch.utils.data.Dataset):
                epoch = 0
                def __init__(self, texts, tok):
                    self.texts, self.tok = texts, tok
                def __len__(self):
                    return len(self.texts)
                def __getitem__(self, i):
                    return self.tok.encode(self.texts[i], alpha=0.1)

            def worker_init_fn(worker_id):
                ds = torch.utils.data.get_worker_info().dataset  # this worker's copy
                ds.tok = ds.tok.derive(worker_id, ds.epoch)

            ds = Texts(texts, tok)
            loader = DataLoader(ds, batch_size=32, collate_fn=list, num_workers=4, worker_init_fn=worker_init_fn)
            for epoch in range(3):
                ds.epoch = epoch
                for batch in loader: ...

        (``num_workers=0`` runs no ``worker_init_fn``: it samples from ``tok``.)
        The samples then depend on which worker gets which example. To make
        them depend on the example alone, whatever the number of workers and
        the batching, give each call an explicit seed and the example's index
        as its stream: ``tok.encode_batch([text], alpha=0.1, seed=s,
        first_stream=i)[0]``.

        Hugging Face ``datasets.map`` (each process gets a pickled copy;
        passing the epoch's seed in ``fn_kwargs`` also keeps ``datasets``'
        cache from handing back the previous epoch's samples)::

            def tokenize(batch, indices, seed):
                # row i draws from stream i of the seed: the same result for any num_proc or batch_size
                return {"ids": tok.encode_batch(batch["text"], alpha=0.1, seed=seed,
                                                first_stream=indices[0], num_threads=1)}

            for epoch in range(3):
                seed = tok.derive(0, epoch).seed  # or any integer per epoch
                ids = ds.map(tokenize, batched=True, with_indices=True, num_proc=8,
                             fn_kwargs={"seed": seed})
        """
        worker = check_int("worker", worker, 0)
        epoch = check_int("epoch", epoch, 0)
        with self._rng_lock:
            base = self._seed
        seed = None if base is None else _derived_seed(base, worker, epoch)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)  # the model, the encoder and the id tables are immutable: shared
        new._rng = random.Random()
        new._rng_lock = threading.Lock()
        new._seed = None
        new.set_seed(seed)
        _LIVE_TOKENIZERS.add(new)
        return new

    def _after_fork_in_child(self) -> None:
        # The lock may have been held by a thread of the parent that does not
        # exist here; an unseeded generator must not replay the parent's draws.
        self._rng_lock = threading.Lock()
        if self._seed is None:
            self._rng.seed(None)

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
        if (text.__class__ is str and (alpha.__class__ is int or alpha.__class__ is float) and alpha < 0
                and seed is None and sampler in SAMPLERS and not iter and not allowed_special
                and len(text) << 2 <= validation.MAX_DOCUMENT_BYTES):
            # The default call. On short documents a tenth of its time went to the
            # layers above the segmenter: Segmentation.resolve's alpha < 0 case and
            # the document bound (a str's UTF-8 has at most 4 bytes a character), inline.
            ids = self._encoder.encode_best_str_unchecked(text, add_bos, add_eos)
            if ids is not None:
                return ids
            text = to_utf8(text, normalize)  # NFC may change it: the general path, without checking twice
        segmentation = self._segmentation(alpha, sampler, seed)
        patterns = self._special.patterns(allowed_special) if allowed_special else None
        if patterns is None:
            ids = self._encoder.encode_text(text, segmentation, add_bos=add_bos, add_eos=add_eos, normalize=normalize)
        else:
            ids = self._encode_with_specials([text], segmentation, patterns, 0, add_bos, add_eos, 1, normalize)[0]
        return builtins.iter(ids) if iter else ids

    def _encode_with_specials(self, texts: Sequence[TextLike], segmentation: Segmentation, patterns: Any,
                              first_stream: int, add_bos: bool, add_eos: bool, num_threads: Optional[int],
                              normalize: bool) -> List[List[int]]:
        """Texts cut at the allowed special tokens: the runs between are
        encoded in one batch (run ``k`` of the call drawing from stream
        ``first_stream + k``), the tokens' ids put between them."""
        split = [self._special.split(text, patterns) for text in texts]
        runs = [part for parts in split for part in parts if not isinstance(part, int)]
        encoded = builtins.iter(self._encoder.encode_lists(runs, segmentation, first_stream=first_stream,
                                                           num_threads=num_threads, normalize=normalize))
        result = []
        for parts in split:
            ids = [BOS_ID] if add_bos else []
            for part in parts:
                if isinstance(part, int):
                    ids.append(part)
                else:
                    ids += next(encoded)
            if add_eos:
                ids.append(EOS_ID)
            result.append(ids)
        return result

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
                     num_threads: Optional[int] = None, normalize: bool = True, first_stream: int = 0,
                     allowed_special: AllowedSpecial = ()) -> List[List[int]]:
        """Token ids of every text, on ``num_threads`` threads (default: all cores).

        The same as ``[encode(t, ...) for t in texts]`` for the best
        segmentation. When sampling, text ``i`` draws from stream
        ``first_stream + i`` of the call's seed (``encode(t, seed=s)`` is
        stream 0), so with a ``seed`` the result is the same whatever
        ``num_threads`` is, and a corpus encoded in batches with a running
        ``first_stream`` samples exactly as one big batch would.
        ``allowed_special`` as in :meth:`encode` (then the runs of text
        between special tokens draw from consecutive streams instead).
        """
        segmentation = self._segmentation(alpha, sampler, seed)
        patterns = self._special.patterns(allowed_special) if allowed_special else None
        if patterns is not None:
            return self._encode_with_specials(texts, segmentation, patterns, first_stream, add_bos, add_eos,
                                              num_threads, normalize)
        return self._encoder.encode_lists(texts, segmentation, first_stream=first_stream,
                                          add_bos=add_bos, add_eos=add_eos, num_threads=num_threads,
                                          normalize=normalize)

    def encode_batch_numpy(self, texts: Sequence[TextLike], *, alpha: float = -1, sampler: str = "perfect",
                           seed: Optional[int] = None, add_bos: bool = False, add_eos: bool = False,
                           num_threads: Optional[int] = None, normalize: bool = True, first_stream: int = 0,
                           allowed_special: AllowedSpecial = ()) -> Tuple[np.ndarray, np.ndarray]:
        """:meth:`encode_batch` as flat arrays ``(ids, offsets)``: the ids of text
        ``i`` are ``ids[offsets[i]:offsets[i + 1]]`` (int32, int64). No Python
        object per token: the fastest way to encode a large batch."""
        if allowed_special:
            lists = self.encode_batch(texts, alpha=alpha, sampler=sampler, seed=seed, add_bos=add_bos,
                                      add_eos=add_eos, num_threads=num_threads, normalize=normalize,
                                      first_stream=first_stream, allowed_special=allowed_special)
            offsets = np.zeros(len(lists) + 1, dtype=np.int64)
            np.cumsum([len(ids) for ids in lists], out=offsets[1:])
            return np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int32, count=int(offsets[-1])), offsets
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
        data = to_utf8(text, normalize)
        if len(data) < 64:
            k = min(k, 1 << max(len(data) - 1, 0))  # no text has more segmentations than that
        if k * (len(data) + 1) > MAX_NBEST_ENTRIES:
            raise ValueError(f"nbest with k={k} on {len(data)} bytes would hold {k * (len(data) + 1)} paths, more "
                             f"than {MAX_NBEST_ENTRIES} (about 24 bytes each): ask for fewer or split the text")
        best = self._model.segmenter().nbest(data, k)
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

    @property
    def special_tokens(self) -> Dict[str, int]:
        """Every special token's name and id: ``<pad>`` 0, ``<bos>`` 1,
        ``<eos>`` 2 and the model's user-defined ones."""
        return dict(self._special.ids)

    def with_special_tokens(self, names: Sequence[str]) -> "Tokenizer":
        """A tokenizer with user-defined special tokens ``names`` added, with
        the next ids (every existing id stays). They are never produced from
        text unless allowed (``allowed_special``); ``decode`` writes their text;
        ``save`` stores them in a way 0.6.3 still loads (as ordinary pieces).
        See :meth:`bytepiece.model.Model.with_special_tokens`."""
        return Tokenizer(self._model.with_special_tokens(names), seed=self._seed)

    def extend(self, pieces: Union[Sequence[Union[str, bytes]], Mapping[str, Optional[int]],
                                   Mapping[bytes, Optional[int]]]) -> "Tokenizer":
        """A tokenizer with domain ``pieces`` added after every existing id, in
        their order (all existing ids stay). ``pieces``: str (as UTF-8) or
        bytes, or a mapping to counts (None: choose one). Without a count, a
        piece gets twice the count at which its score equals that of its best
        segmentation today, so it is used wherever it occurs whole. Every
        other piece keeps its score exactly, so a text in which no new piece
        occurs keeps its ids. See :meth:`bytepiece.model.Model.extend` and
        docs/spec/model.md §9."""
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
        return Tokenizer(self._model.extend(new_pieces, [count for _, count in items]), seed=self._seed)

    def stream_decoder(self, errors: str = "ignore") -> StreamDecoder:
        """An incremental :meth:`decode` for serving: feed ids one at a time
        with ``push(id)``, which returns the text they complete as soon as it
        is whole UTF-8, then ``finish()``. The text returned in all equals
        ``decode(ids, errors)``."""
        codecs.lookup_error(errors)  # an unknown policy fails now, not mid-stream
        return StreamDecoder(self._model.bytes_by_id(), self._checked_id, errors)

    def _checked_id(self, token_id: Any) -> int:
        if not is_index(token_id):
            raise TypeError(f"token ids must be integers, got {token_id!r:.40}")
        if not 0 <= token_id < self.vocab_size:
            raise self._unknown_id(token_id)
        return int(token_id)

    def encode_with_offsets(self, text: TextLike, *, alpha: float = -1, sampler: str = "perfect",
                            seed: Optional[int] = None, normalize: bool = True) -> Tuple[List[int], np.ndarray]:
        """``(ids, spans)``: :meth:`encode` of ``text`` and, per token, its
        (start, end) offsets into ``text`` as an ``(n, 2)`` int64 array:
        character offsets for a ``str`` (``text[start:end]`` is the token's
        text), byte offsets for ``bytes``. A token holding part of a character
        spans that character; where NFC changed the text, a token spans the
        original characters it came from (see :mod:`bytepiece.offsets`)."""
        ids = self.encode(text, alpha=alpha, sampler=sampler, seed=seed, normalize=normalize)
        spans = byte_spans(self._model.lengths_by_id()[ids])
        if isinstance(text, str):
            spans = char_spans(text, spans, normalize)
        return ids, spans

    def encode_batch_with_offsets(self, texts: Sequence[TextLike], *, alpha: float = -1, sampler: str = "perfect",
                                  seed: Optional[int] = None, num_threads: Optional[int] = None,
                                  normalize: bool = True) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ids, offsets, spans)``: :meth:`encode_batch_numpy` and the
        ``(total tokens, 2)`` spans of :meth:`encode_with_offsets`, text ``i``'s
        rows being ``offsets[i]:offsets[i + 1]``."""
        if not isinstance(texts, list):
            texts = list(texts)  # read twice below: an iterator would be exhausted by the first pass
        ids, offsets = self.encode_batch_numpy(texts, alpha=alpha, sampler=sampler, seed=seed,
                                               num_threads=num_threads, normalize=normalize)
        lengths = self._model.lengths_by_id()[ids]
        spans = np.zeros((len(ids), 2), dtype=np.int64)
        for i, text in enumerate(texts):
            a, b = int(offsets[i]), int(offsets[i + 1])
            text_spans = byte_spans(lengths[a:b])
            spans[a:b] = char_spans(text, text_spans, normalize) if isinstance(text, str) else text_spans
        return ids, offsets, spans

    def _unknown_id(self, token_id: Any) -> UnknownTokenError:
        return UnknownTokenError(f"unknown token id {token_id!r}: ids run from 0 to {self.vocab_size - 1}")

    # -- vocabulary -----------------------------------------------------

    # The lookup tables are made on first use: for a model of a million
    # pieces they cost more than loading it, and encoding needs neither.
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
        """The id of a piece: ``bytes``, or a ``str`` taken as its UTF-8 bytes
        (as it is: not NFC-normalized), except the special token names
        ``"<pad>"``, ``"<bos>"``, ``"<eos>"``, which give 0, 1, 2."""
        try:
            return self._piece_to_id[piece]
        except (KeyError, TypeError):
            pass
        if isinstance(piece, str):
            try:
                return self._piece_to_id[piece.encode("utf-8")]
            except (KeyError, UnicodeEncodeError):
                pass
        raise UnknownTokenError(f"{piece!r:.60} is not a piece of this vocabulary")

    def id_to_piece(self, token_id: int) -> Union[bytes, str]:
        """The piece (``bytes``) of an id; the special ids give their names (``str``)."""
        if not is_index(token_id) or not 0 <= token_id < self.vocab_size:
            raise self._unknown_id(token_id)
        return self._id_to_piece[token_id]

    def pieces_to_ids(self, pieces: Sequence[Union[bytes, str]]) -> List[int]:
        """:meth:`piece_to_id` of each piece (``bytes``, or ``str`` as its UTF-8 bytes)."""
        return [self.piece_to_id(p) for p in pieces]

    def ids_to_pieces(self, ids: Sequence[int]) -> List[Union[bytes, str]]:
        """:meth:`id_to_piece` of each id."""
        return [self.id_to_piece(i) for i in ids]

    def save(self, path: PathLike) -> None:
        """Write the model as BytePiece 0.6.3-compatible JSON."""
        save_model(self._model, path)

    # -- other formats (bytepiece/formats/) ------------------------------------

    def to_huggingface(self, path: PathLike) -> Any:
        """Write a Hugging Face tokenizer that gives this tokenizer's ids:
        ``tokenizer.json`` (``path`` ending in ``.json``) or a directory that
        ``transformers.AutoTokenizer.from_pretrained`` loads; returns a
        :class:`~bytepiece.formats.huggingface.HuggingFaceExport`. Needs the
        ``tokenizers`` package. See :mod:`bytepiece.formats.huggingface`."""
        from .formats.huggingface import to_huggingface

        return to_huggingface(self._model, path)

    def to_sentencepiece(self, path: PathLike, layout: str = "bytepiece") -> Any:
        """Write a SentencePiece ``.model`` (Unigram, byte fallback) and return
        a :class:`~bytepiece.formats.sentencepiece.SentencePieceExport` naming
        the pieces SentencePiece cannot express. Needs ``sentencepiece``.
        See :mod:`bytepiece.formats.sentencepiece` for what agrees and what not."""
        from .formats.sentencepiece import to_sentencepiece

        return to_sentencepiece(self._model, path, layout)

    def convert_to_sentencepiece(self, path: PathLike) -> None:
        """BytePiece 0.6.3's method: :meth:`to_sentencepiece` with 0.6.3's
        layout, the same file as 0.6.3 writes; a piece that is not whole UTF-8
        characters (0.6.3 crashed with UnicodeDecodeError) becomes an unused piece."""
        self.to_sentencepiece(path, layout="0.6.3")

    def __repr__(self) -> str:
        return f"<bytepiece.Tokenizer vocab_size={self.vocab_size}>"

    def __reduce__(self) -> Tuple[Any, ...]:
        # Pickled as its model (the C trie is rebuilt on arrival) and, when
        # seeded, its seed and generator state, so the copy continues the
        # sequence. An unseeded copy seeds itself from OS entropy: pickling
        # is how spawn/forkserver workers get it, and they must not replay
        # the parent's samples.
        with self._rng_lock:
            if self._seed is None:
                return _restore_tokenizer, (self._model,)
            return _restore_tokenizer, (self._model, self._rng.getstate(), self._seed)


def _restore_tokenizer(model: Model, rng_state: Any = None, seed: Optional[int] = None) -> Tokenizer:
    tok = Tokenizer(model)
    if seed is not None:
        tok._seed = seed
        tok._rng.setstate(rng_state)
    return tok


def _derived_seed(seed: int, worker: int, epoch: int) -> int:
    """The 64-bit seed of :meth:`Tokenizer.derive`: a hash of (seed, worker, epoch)."""
    key = f"bytepiece.Tokenizer.derive:{seed}:{worker}:{epoch}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")


# Every live tokenizer, to reseed the unseeded ones (and renew every lock) in
# a child made by fork: otherwise parent and children draw the same seeds.
_LIVE_TOKENIZERS: "weakref.WeakSet[Tokenizer]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for tok in list(_LIVE_TOKENIZERS):
        tok._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
