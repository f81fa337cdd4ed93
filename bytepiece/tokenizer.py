"""Tokenizer: load a model, then encode/decode/tokenize/sample text.

A drop-in for BytePiece 0.6.3's ``Tokenizer`` (same constructor, methods and
token ids), and a facade: each job is done in a module of its own, and
``Tokenizer`` hands its calls on.

- encoding (``encode``, ``tokenize``, batches, ``sample``, ``nbest``):
  :class:`bytepiece.encoding.Encoder`, the one path from text to ids
  (``encode`` itself is inherited from :class:`bytepiece.encoding.EncodeMixin`,
  so that the default call costs one Python frame);
- the generator that sampling calls draw their seeds from (``seed``,
  ``set_seed``, ``derive``, fork and pickle handling):
  :class:`bytepiece.seeds.SeedSource`;
- decoding (``decode``, ``decode_bytes``, ``stream_decoder``):
  :class:`bytepiece.decoding.Decoder`;
- piece <-> id lookups: :class:`bytepiece.vocabulary.Vocabulary`;
- token spans: :mod:`bytepiece.offsets`; special tokens: :mod:`bytepiece.special`;
- vocabulary edits (``extend``, ``with_special_tokens``): :class:`Model`;
  files: :mod:`bytepiece.formats`.
"""
from __future__ import annotations

import builtins
import os
from typing import Any, Dict, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np

from .decoding import Decoder
from .encoding import MAX_NBEST_ENTRIES, SAMPLERS, EncodeMixin, Encoder  # noqa: F401  (MAX_NBEST_ENTRIES was defined here)
from .formats.native import load_model, parse_model, save_model
from .model import Model, model_from_counts
from .offsets import batch_spans, spans_with_specials, token_spans
from .padding import PaddedBatch, pad_batch
from .outputs import PathLike
from .seeds import SeedSource
from .special import AllowedSpecial, SpecialTokens
from .streaming import StreamDecoder
from .text import TextLike
from .vocabulary import UnknownTokenError, Vocabulary, pieces_to_add

__all__ = ["Tokenizer", "UnknownTokenError", "SAMPLERS"]


class Tokenizer(EncodeMixin):
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

    Training loops (DataLoader, ``datasets.map``): docs/subword_regularization.md.
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
        self._special = SpecialTokens(model)
        self._vocabulary = Vocabulary(model)
        self._decoder = Decoder(model)
        self._sample_from(SeedSource(seed))

    def _sample_from(self, seeds: SeedSource) -> None:
        """Draw call seeds from ``seeds``: an Encoder of its own over the shared C segmenter."""
        self._seeds = seeds
        self._encoder = Encoder(self._model.segmenter(), self._special, seeds.draw)

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

    # -- randomness (bytepiece/seeds.py) --------------------------------------

    @property
    def seed(self) -> Optional[int]:
        """The seed the generator started from (given to the constructor,
        :meth:`set_seed` or made by :meth:`derive`), or None when it was
        seeded from the operating system's entropy. It does not change as
        sampling advances the generator."""
        return self._seeds.seed

    def set_seed(self, seed: Optional[int]) -> None:
        """Reseed the generator that sampling calls without ``seed=`` draw from.

        An integer (0 .. 2**64 - 1) makes the sequence of samples
        reproducible, also in forked or unpickled copies (which continue it:
        use :meth:`derive` for distinct per-worker streams). ``None`` seeds
        from the operating system's entropy, and then every forked child
        and every unpickled copy reseeds itself likewise.
        """
        self._seeds.set_seed(seed)

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

        Recipes for PyTorch ``DataLoader`` and Hugging Face ``datasets.map``,
        and how to make samples independent of workers and batching:
        docs/subword_regularization.md.
        """
        seeds = self._seeds.derive(worker, epoch)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)  # the model, the lookups, the decoder and the special tokens: shared
        new._sample_from(seeds)
        return new

    @property
    def _rng_lock(self) -> Any:
        """The lock of the generator (tests hold it across a fork: the child must get a new one)."""
        return self._seeds.lock

    # -- encoding (bytepiece/encoding.py) -------------------------------------
    # encode: inherited from EncodeMixin (one Python frame for the default call).

    @overload
    def tokenize(self, text: TextLike, alpha: float = ..., iter: Literal[False] = ..., *, sampler: str = ...,
                 seed: Optional[int] = ..., normalize: bool = ...,
                 allowed_special: AllowedSpecial = ...) -> List[bytes]: ...

    @overload
    def tokenize(self, text: TextLike, alpha: float, iter: Literal[True], *, sampler: str = ...,
                 seed: Optional[int] = ..., normalize: bool = ...,
                 allowed_special: AllowedSpecial = ...) -> Iterator[bytes]: ...

    @overload
    def tokenize(self, text: TextLike, alpha: float = ..., *, iter: Literal[True], sampler: str = ...,
                 seed: Optional[int] = ..., normalize: bool = ...,
                 allowed_special: AllowedSpecial = ...) -> Iterator[bytes]: ...

    def tokenize(
        self,
        text: TextLike,
        alpha: float = -1,
        iter: bool = False,
        *,
        sampler: str = "perfect",
        seed: Optional[int] = None,
        normalize: bool = True,
        allowed_special: AllowedSpecial = (),
    ) -> Union[List[bytes], Iterator[bytes]]:
        """The pieces (``bytes``) of ``text``; arguments as for :meth:`encode`.
        An allowed special token is one item, its text's UTF-8 bytes.

        ``b"".join(tokenize(text)) == NFC(text).encode()`` always holds
        (with special tokens allowed, each run between them is NFC'd apart).
        """
        table = self._model.bytes_by_id()
        ids = self.encode(text, alpha=alpha, sampler=sampler, seed=seed, normalize=normalize,
                          allowed_special=allowed_special)
        pieces = [table[i] for i in ids]
        return builtins.iter(pieces) if iter else pieces

    # -- batches, samples, n-best (bytepiece/encoding.py) ----------------------

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
        return self._encoder.encode_batch(texts, alpha=alpha, sampler=sampler, seed=seed, add_bos=add_bos,
                                          add_eos=add_eos, num_threads=num_threads, normalize=normalize,
                                          first_stream=first_stream, allowed_special=allowed_special)

    def encode_batch_numpy(self, texts: Sequence[TextLike], *, alpha: float = -1, sampler: str = "perfect",
                           seed: Optional[int] = None, add_bos: bool = False, add_eos: bool = False,
                           num_threads: Optional[int] = None, normalize: bool = True, first_stream: int = 0,
                           allowed_special: AllowedSpecial = ()) -> Tuple[np.ndarray, np.ndarray]:
        """:meth:`encode_batch` as flat arrays ``(ids, offsets)``: the ids of text
        ``i`` are ``ids[offsets[i]:offsets[i + 1]]`` (int32, int64). No Python
        object per token: the fastest way to encode a large batch."""
        return self._encoder.encode_batch_numpy(texts, alpha=alpha, sampler=sampler, seed=seed, add_bos=add_bos,
                                                add_eos=add_eos, num_threads=num_threads, normalize=normalize,
                                                first_stream=first_stream, allowed_special=allowed_special)

    def sample(
        self, text: TextLike, n: int, *, alpha: float = 0.1, sampler: str = "perfect", seed: Optional[int] = None,
        normalize: bool = True,
    ) -> List[List[int]]:
        """``n`` independent sampled segmentations (ids) of ``text``, for
        subword-regularization augmentation. Sample ``j`` draws from stream
        ``j`` of the seed: ``sample(t, n, seed=s) == encode_batch([t] * n, seed=s)``."""
        return self._encoder.sample(text, n, alpha=alpha, sampler=sampler, seed=seed, normalize=normalize)

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
        return self._encoder.nbest(text, k, with_scores=with_scores, normalize=normalize)

    # -- decoding (bytepiece/decoding.py) -------------------------------------

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The exact bytes that ``ids`` stand for; special ids (0, 1, 2) add nothing.

        Raises ValueError (an :class:`UnknownTokenError`) for an id outside
        ``0 .. vocab_size - 1`` and TypeError for a non-integer id.
        """
        return self._decoder.decode_bytes(ids)

    def decode(self, ids: Sequence[int], errors: str = "ignore") -> str:
        """The text of ``ids``. Special ids are skipped.

        Pieces may end inside a UTF-8 character; ``errors`` says what to do
        with bytes that do not form valid UTF-8 (``"ignore"``, as BytePiece
        0.6.3 did; or ``"replace"``, ``"strict"``, ...).
        ``decode(encode(text)) == NFC(text)`` for every str.
        """
        return self._decoder.decode(ids, errors)

    def decode_batch(self, batch: Union[Sequence[Sequence[int]], np.ndarray], errors: str = "ignore") -> List[str]:
        """:meth:`decode` of each row of ``batch`` (id lists, or a 2-D array
        such as :meth:`encode_padded`'s ``ids``, whose ``<pad>`` decode to
        nothing)."""
        return [self._decoder.decode(ids, errors) for ids in batch]

    def stream_decoder(self, errors: str = "ignore") -> StreamDecoder:
        """An incremental :meth:`decode` for serving: feed ids one at a time
        with ``push(id)``, which returns the text they complete as soon as it
        is whole UTF-8, then ``finish()``. The text returned in all equals
        ``decode(ids, errors)``."""
        return self._decoder.stream_decoder(errors)

    def encode_padded(self, texts: Sequence[TextLike], *, max_length: Optional[int] = None,
                      pad_to_multiple_of: Optional[int] = None, padding_side: str = "right",
                      truncation_side: str = "right", add_bos: bool = False, add_eos: bool = False,
                      alpha: float = -1, sampler: str = "perfect", seed: Optional[int] = None,
                      num_threads: Optional[int] = None, normalize: bool = True, first_stream: int = 0,
                      allowed_special: AllowedSpecial = ()) -> PaddedBatch:
        """:meth:`encode_batch_numpy` of ``texts`` as one ``(n, length)`` array
        with its attention mask: each text cut to ``max_length`` tokens at its
        ``truncation_side`` end, ``<bos>``/``<eos>`` added after the cut, rows
        padded with ``<pad>`` (0) on ``padding_side`` to the longest (rounded
        up to ``pad_to_multiple_of``). See :func:`bytepiece.padding.pad_batch`."""
        flat = self.encode_batch_numpy(texts, alpha=alpha, sampler=sampler, seed=seed, num_threads=num_threads,
                                       normalize=normalize, first_stream=first_stream, allowed_special=allowed_special)
        return pad_batch(flat, max_length=max_length, pad_to_multiple_of=pad_to_multiple_of,
                         padding_side=padding_side, truncation_side=truncation_side, add_bos=add_bos, add_eos=add_eos)

    # -- offsets (bytepiece/offsets.py) -----------------------------------------

    def encode_with_offsets(self, text: TextLike, *, alpha: float = -1, sampler: str = "perfect",
                            seed: Optional[int] = None, normalize: bool = True,
                            allowed_special: AllowedSpecial = ()) -> Tuple[List[int], np.ndarray]:
        """``(ids, spans)``: :meth:`encode` of ``text`` and, per token, its
        (start, end) offsets into ``text`` as an ``(n, 2)`` int64 array:
        character offsets for a ``str`` (``text[start:end]`` is the token's
        text), byte offsets for ``bytes``. A token holding part of a character
        spans that character; where NFC changed the text, a token spans the
        original characters it came from (see :mod:`bytepiece.offsets`). An
        allowed special token spans its text."""
        ids = self.encode(text, alpha=alpha, sampler=sampler, seed=seed, normalize=normalize,
                          allowed_special=allowed_special)
        return ids, self._spans(text, ids, normalize, allowed_special)

    def _spans(self, text: TextLike, ids: Sequence[int], normalize: bool, allowed_special: AllowedSpecial) -> np.ndarray:
        lengths = self._model.lengths_by_id()[np.asarray(ids, dtype=np.int64)]
        patterns = self._special.patterns(allowed_special) if allowed_special else None
        if patterns is None:
            return token_spans(text, lengths, normalize)
        return spans_with_specials(self._special.split_at(text, patterns), ids, lengths, normalize)

    def encode_batch_with_offsets(self, texts: Sequence[TextLike], *, alpha: float = -1, sampler: str = "perfect",
                                  seed: Optional[int] = None, num_threads: Optional[int] = None,
                                  normalize: bool = True, allowed_special: AllowedSpecial = ()
                                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ids, offsets, spans)``: :meth:`encode_batch_numpy` and the
        ``(total tokens, 2)`` spans of :meth:`encode_with_offsets`, text ``i``'s
        rows being ``offsets[i]:offsets[i + 1]``."""
        if not isinstance(texts, list):
            texts = list(texts)  # read twice below: an iterator would be exhausted by the first pass
        ids, offsets = self.encode_batch_numpy(texts, alpha=alpha, sampler=sampler, seed=seed,
                                               num_threads=num_threads, normalize=normalize,
                                               allowed_special=allowed_special)
        if not allowed_special or self._special.patterns(allowed_special) is None:
            return ids, offsets, batch_spans(texts, self._model.lengths_by_id()[ids], offsets, normalize)
        spans = np.zeros((len(ids), 2), dtype=np.int64)
        for i, text in enumerate(texts):
            a, b = int(offsets[i]), int(offsets[i + 1])
            spans[a:b] = self._spans(text, ids[a:b].tolist(), normalize, allowed_special)
        return ids, offsets, spans

    # -- vocabulary: lookups (bytepiece/vocabulary.py), edits (Model) ------------

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
        return Tokenizer(self._model.with_special_tokens(names), seed=self.seed)

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
        new_pieces, counts = pieces_to_add(pieces)
        return Tokenizer(self._model.extend(new_pieces, counts), seed=self.seed)

    def piece_to_id(self, piece: Union[bytes, str]) -> int:
        """The id of a piece: ``bytes``, or a ``str`` taken as its UTF-8 bytes
        (as it is: not NFC-normalized), except the special tokens' names
        (``"<pad>"``, ``"<bos>"``, ``"<eos>"`` give 0, 1, 2), which may also be
        given as UTF-8 ``bytes`` (``b"<|endoftext|>"``) unless a piece has
        those bytes."""
        return self._vocabulary.piece_to_id(piece)

    def id_to_piece(self, token_id: int) -> Union[bytes, str]:
        """The piece (``bytes``) of an id; the special ids give their names (``str``)."""
        return self._vocabulary.id_to_piece(token_id)

    def pieces_to_ids(self, pieces: Sequence[Union[bytes, str]]) -> List[int]:
        """:meth:`piece_to_id` of each piece (``bytes``, or ``str`` as its UTF-8 bytes)."""
        return self._vocabulary.pieces_to_ids(pieces)

    def ids_to_pieces(self, ids: Sequence[int]) -> List[bytes]:
        """The piece of each id, every one ``bytes``: a special token as its
        name's UTF-8 bytes (``b"<bos>"``), so that a list holds one type
        (:meth:`id_to_piece` of one special id gives its name as a ``str``, as
        BytePiece 0.6.3 did). :meth:`pieces_to_ids` gives the ids back."""
        return self._vocabulary.ids_to_pieces(ids)

    # -- files: the model's own format and others (bytepiece/formats/) ----------

    def save(self, path: PathLike) -> None:
        """Write the model as BytePiece 0.6.3-compatible JSON."""
        save_model(self._model, path)

    def to_huggingface(self, path: PathLike, add_special: str = "bos") -> Any:
        """Write a Hugging Face tokenizer that gives this tokenizer's ids:
        ``tokenizer.json`` (``path`` ending in ``.json``) or a directory that
        ``transformers.AutoTokenizer.from_pretrained`` loads; returns a
        :class:`~bytepiece.formats.huggingface.HuggingFaceExport`. Needs the
        ``tokenizers`` package. ``add_special``: what its
        ``add_special_tokens=True`` adds: ``"bos"`` (``<bos>`` first, the
        default), ``"eos"``, ``"both"`` or ``"none"``. See
        :mod:`bytepiece.formats.huggingface`."""
        from .formats.huggingface import to_huggingface

        return to_huggingface(self._model, path, add_special)

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
        state = self._seeds.getstate()
        if state is None:
            return _restore_tokenizer, (self._model,)
        seed, rng_state = state
        return _restore_tokenizer, (self._model, rng_state, seed)



def _restore_tokenizer(model: Model, rng_state: Any = None, seed: Optional[int] = None) -> Tokenizer:
    # Its name and arguments are in every pickled tokenizer: keep them.
    tok = Tokenizer(model)
    if seed is not None:
        tok._seeds.setstate(seed, rng_state)
    return tok
