"""The model: a validated vocabulary and its packed form (docs/spec/model.md).

:class:`Model` owns everything derived from the vocabulary: the canonical
order of pieces, the packed arrays the C core takes (bytes, offsets, scores,
ids), the id -> bytes table, and the C segmenter built from them (once). Its
constructor is the one gate every model passes, and its vocabulary edits
(:meth:`Model.extend`, :meth:`Model.with_special_tokens`) return new models.

Ids 0, 1, 2 are ``<pad>``, ``<bos>``, ``<eos>``; pieces use 3..N+2 and
user-defined special tokens the ids after them. Every one of the 256 single
bytes must be a piece, so every byte string can be tokenized.

The model knows nothing about files: reading and writing BytePiece's model
file is :mod:`bytepiece.formats.native`, other tokenizers' files the rest of
:mod:`bytepiece.formats`. The file readers enforce :data:`MAX_MODEL_BYTES`.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._core import MAX_ABS_SCORE, MAX_PIECE_LEN, NUM_SPECIAL

if TYPE_CHECKING:  # the names that moved (see __getattr__ at the end)
    from .formats.native import dump_model as dump_model, load_model as load_model
    from .formats.native import parse_model as parse_model, save_model as save_model

__all__ = [
    "Model", "PackedPieces", "pack_pieces", "byte_lengths", "canonical_order", "piece_scores", "SPECIAL_TOKENS",
    "model_from_counts", "describe_piece", "MAX_MODEL_BYTES", "MAX_PROVENANCE_BYTES",
]

#: The names of the special ids (_core.PAD_ID, BOS_ID, EOS_ID: 0, 1, 2), in id order.
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>")
#: The most bytes a model file may hold once decompressed (1 GiB), and the
#: most an imported vocabulary file may have. Real models are far smaller
#: (the 40k-piece model is about 2.8 MB of JSON, a million pieces about
#: 100 MB); the limit stops a small hostile archive from inflating to
#: gigabytes before it is refused. The readers (:mod:`bytepiece.formats`)
#: read it here at each load, so a program may raise or lower it; it stays
#: in this module, where docs and error messages have always named it.
MAX_MODEL_BYTES = 1 << 30
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class PackedPieces:
    """Byte strings in one buffer: piece k is ``data[offsets[k]:offsets[k + 1]]``
    (the form every C function that takes many pieces or texts reads)."""

    data: bytes
    offsets: np.ndarray  # int64, len(pieces) + 1 entries

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def pieces(self) -> List[bytes]:
        """The byte strings, as a list."""
        return _core.split_packed(self.data, self.offsets)

    def slice(self, start: int, stop: int) -> "PackedPieces":
        """Pieces ``start .. stop - 1``, packed (the data is copied once)."""
        offsets = self.offsets[start:stop + 1]
        return PackedPieces(self.data[offsets[0]:offsets[-1]], offsets - offsets[0])

    def lengths(self) -> np.ndarray:
        """The byte length of each piece (int64)."""
        return np.diff(self.offsets)

    def balanced_bounds(self, parts: int) -> List[int]:
        """Row bounds ``[0, ..., len(self)]`` that cut the pieces into ``parts``
        contiguous runs of about the same number of bytes (some may be empty)."""
        cuts = np.searchsorted(self.offsets, np.linspace(0, self.offsets[-1], parts + 1)[1:-1])
        return [0, *cuts.tolist(), len(self)]

    def take(self, rows: Union[Sequence[int], np.ndarray]) -> "PackedPieces":
        """The pieces at ``rows`` (in that order), packed: one copy of their
        bytes, no Python object per piece."""
        return PackedPieces(*_core.take_packed(self.data, np.ascontiguousarray(self.offsets, dtype=np.int64),
                                               np.ascontiguousarray(rows, dtype=np.int64)))

    @staticmethod
    def concatenate(parts: Sequence["PackedPieces"]) -> "PackedPieces":
        """The pieces of every part, in order, packed together."""
        offsets = np.zeros(sum(len(p) for p in parts) + 1, dtype=np.int64)
        row, base = 0, 0
        for part in parts:
            offsets[row + 1:row + len(part) + 1] = part.offsets[1:] + base
            row, base = row + len(part), base + int(part.offsets[-1])
        return PackedPieces(b"".join(p.data for p in parts), offsets)


def byte_lengths(pieces: Sequence[bytes]) -> np.ndarray:
    """``len`` of each of ``pieces``, as an int64 array."""
    return np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))


def pack_pieces(pieces: Sequence[bytes]) -> PackedPieces:
    """Concatenate ``pieces`` into a :class:`PackedPieces`."""
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum(byte_lengths(pieces), out=offsets[1:])
    return PackedPieces(b"".join(pieces), offsets)


def canonical_order(pieces: Sequence[bytes]) -> List[int]:
    """The positions of ``pieces`` sorted by (length, bytes): the order in which
    0.6.3's trainer numbers pieces (ids NUM_SPECIAL, NUM_SPECIAL + 1, ...)."""
    # By bytes (a C-level key), then stably by length: no Python call per comparison.
    by_bytes = sorted(range(len(pieces)), key=pieces.__getitem__)
    return [by_bytes[k] for k in np.argsort(byte_lengths(pieces)[by_bytes], kind="stable").tolist()]


class Model:
    """A validated vocabulary: ``pieces[i]`` has token id ``ids[i]`` and ``counts[i]``.

    ``special_tokens``: user-defined special tokens as (text, id), beside
    ``<pad>``, ``<bos>``, ``<eos>`` (ids 0-2). ``explicit_scores``: a score per
    piece that replaces ``log(count / total)`` (None for every trained model).
    ``provenance``: how the model was made (a JSON object: the trainer
    records its options, algorithm, corpus and version; docs/spec/model.md
    §10), or None; it never changes ids. Models compare equal (and hash
    alike) by their vocabulary alone: the provenance is not part of it.

    The constructor is the one gate every model passes, whatever made it (a
    model file, an importer, a dictionary, :meth:`extend`, the trainer): it
    checks every invariant of docs/spec/model.md §6 and §8 and raises a
    ValueError (TypeError for arguments of the wrong type) naming the first
    problem. ``pieces`` may be a sequence of ``bytes`` or a
    :class:`PackedPieces`; ``ids`` and ``counts`` sequences of integers or
    integer arrays. The C segmenter is built here too (its builder checks
    the pieces once more), so a model that exists can encode.

    Immutable. What the C core needs is derived once: :meth:`packed`,
    :meth:`scores`, :meth:`bytes_by_id`, :meth:`lengths_by_id`,
    :meth:`segmenter`.
    """

    _packed: PackedPieces
    _ids_array: np.ndarray
    _counts_array: Optional[np.ndarray]
    _counts_big: Optional[Tuple[int, ...]]
    _scores: np.ndarray
    _segmenter: Optional["_core.Segmenter"]
    special_tokens: Tuple[Tuple[str, int], ...]
    explicit_scores: Optional[Tuple[float, ...]]
    _provenance: Optional[str]

    def __init__(self, pieces: Union[Sequence[bytes], PackedPieces], ids: Union[Sequence[int], np.ndarray],
                 counts: Union[Sequence[int], np.ndarray], special_tokens: Sequence[Tuple[str, int]] = (),
                 explicit_scores: Optional[Union[Sequence[float], np.ndarray]] = None,
                 provenance: Optional[Mapping[str, Any]] = None) -> None:
        self._setup(pieces, ids, counts, special_tokens, explicit_scores, provenance, True)

    def _setup(self, pieces: Union[Sequence[bytes], PackedPieces], ids: Union[Sequence[int], np.ndarray],
               counts: Union[Sequence[int], np.ndarray], special_tokens: Sequence[Tuple[str, int]],
               explicit_scores: Optional[Union[Sequence[float], np.ndarray]],
               provenance: Optional[Mapping[str, Any]], build_trie: bool) -> None:
        """The constructor's checks; without ``build_trie`` (for pieces known
        to hold no duplicate, and no special tokens) the C trie waits for
        :meth:`segmenter`."""
        provenance_json = _checked_provenance(provenance)
        packed = _checked_pieces(pieces)
        n = len(packed)
        ids_array = _checked_integers("ids", ids, n)
        counts_array, counts_big = _checked_counts(counts, n, packed)
        specials = _checked_special_tokens(special_tokens)
        if explicit_scores is None:
            scores = piece_scores(counts_array if counts_array is not None else counts_big or ())
            explicit = None
        else:
            scores = _checked_scores(explicit_scores, n, packed)
            explicit = tuple(scores.tolist())
        _check_scores_range(scores, packed)
        _check_ids(ids_array, specials, packed)
        _check_single_bytes(packed)
        scores.flags.writeable = False
        ids_array.flags.writeable = False
        segmenter = _build_segmenter(packed, scores, ids_array) if build_trie or specials else None
        for name, _ in specials:
            if segmenter is not None and segmenter.lookup(name.encode("utf-8")) >= 0:
                raise ValueError(f"special token {name!r} is already a piece of this model; "
                                 "a special token needs text of its own")
        set_ = object.__setattr__
        set_(self, "_packed", packed)
        set_(self, "_ids_array", ids_array)
        set_(self, "_counts_array", counts_array)
        set_(self, "_counts_big", counts_big)
        set_(self, "_scores", scores)
        set_(self, "_segmenter", segmenter)
        set_(self, "special_tokens", specials)
        set_(self, "explicit_scores", explicit)
        set_(self, "_provenance", provenance_json)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a Model is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Model is immutable: cannot delete {name!r}")

    @classmethod
    def canonical(cls, pieces: Sequence[bytes], counts: Union[Sequence[int], np.ndarray]) -> "Model":
        """The model of ``pieces`` with ``counts``, numbered in canonical order
        (ids NUM_SPECIAL.. by (length, bytes), as 0.6.3's trainer does)."""
        order = canonical_order(pieces)
        ordered = (counts[order] if isinstance(counts, np.ndarray) else [counts[i] for i in order])
        return cls([pieces[i] for i in order], np.arange(NUM_SPECIAL, NUM_SPECIAL + len(order)), ordered)

    @classmethod
    def from_canonical(cls, pieces: PackedPieces, counts: np.ndarray) -> "Model":
        """The model of packed ``pieces`` that are already in canonical order
        (e.g. rows of a canonical model taken in increasing order) with
        ``counts`` (uint64): ids NUM_SPECIAL.., nothing sorted, no Python
        object per piece (what pruning, which makes one model per round, needs)."""
        return cls(pieces, np.arange(NUM_SPECIAL, NUM_SPECIAL + len(pieces)), counts)

    def subset(self, rows: np.ndarray, counts: np.ndarray) -> "Model":
        """The model of this model's pieces at ``rows`` (strictly increasing
        positions) with ``counts`` (uint64), numbered NUM_SPECIAL.. in that
        order (:meth:`from_canonical` of them, for a model in canonical
        order), without special tokens or provenance. Every check of the
        constructor runs but the C builder's duplicate check, which these
        pieces pass by construction, and the trie is built on the first call
        of :meth:`segmenter`: the "em" pruning makes models per round that it
        only counts with through lattices, which never need it."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and (rows[0] < 0 or rows[-1] >= len(self._packed) or np.any(rows[1:] <= rows[:-1])):
            raise ValueError("rows must be strictly increasing positions of the model's pieces")
        model = Model.__new__(Model)
        model._setup(self._packed.take(rows), np.arange(NUM_SPECIAL, NUM_SPECIAL + len(rows)), counts, (), None,
                     None, False)
        return model

    # -- what the model is made of ----------------------------------------

    @cached_property
    def pieces(self) -> Tuple[bytes, ...]:
        """The pieces (bytes), in the model's order."""
        return tuple(self._packed.pieces())

    @cached_property
    def ids(self) -> Tuple[int, ...]:
        """The token id of each piece."""
        return tuple(self._ids_array.tolist())

    @cached_property
    def counts(self) -> Tuple[int, ...]:
        """The count of each piece (positive integers of any size)."""
        if self._counts_big is not None:
            return self._counts_big
        assert self._counts_array is not None  # one of the two is always set
        return tuple(self._counts_array.tolist())

    @property
    def num_pieces(self) -> int:
        """How many pieces the model has (not counting special tokens)."""
        return len(self._packed)

    @property
    def vocab_size(self) -> int:
        """Number of ids: the pieces and the special tokens."""
        return len(self._packed) + NUM_SPECIAL + len(self.special_tokens)

    def scores(self) -> np.ndarray:
        """score(p) = log(count(p)) - log(sum of counts), float64 (see
        piece_scores), or the explicit scores when the model has them. A
        read-only array, made once."""
        return self._scores

    def ids_array(self) -> np.ndarray:
        """The ids as a read-only int64 array, parallel to ``pieces``."""
        return self._ids_array

    def counts_array(self) -> np.ndarray:
        """The counts as a read-only uint64 array (made once). ValueError for
        a model with a count of 2**64 or more (no trained model has one)."""
        if self._counts_array is None:
            raise ValueError("the model has a count of 2**64 or more, which no uint64 array holds")
        return self._counts_array

    def packed(self) -> PackedPieces:
        """The pieces in one buffer (in the order of ``pieces``)."""
        return self._packed

    def bytes_by_id(self) -> Tuple[bytes, ...]:
        """``bytes_by_id()[i]`` is the piece of id ``i``; ``b""`` for the special ids."""
        return self._bytes_by_id

    def lengths_by_id(self) -> np.ndarray:
        """``lengths_by_id()[i]`` is the byte length of id ``i``'s piece (int64;
        0 for ``<pad>`` ``<bos>`` ``<eos>``): token offsets without a Python
        object per token."""
        return self._lengths_by_id

    def segmenter(self) -> "_core.Segmenter":
        """The C trie and segmenter of this vocabulary (built with the model,
        or on the first call for a :meth:`subset`; shared)."""
        segmenter = self._segmenter
        if segmenter is None:
            # Two threads may both build it; either result is the same trie.
            segmenter = _build_segmenter(self._packed, self._scores, self._ids_array)
            object.__setattr__(self, "_segmenter", segmenter)
        return segmenter

    @property
    def provenance(self) -> Optional[Dict[str, Any]]:
        """How the model was made (a fresh dict each time), or None: what
        the trainer recorded (docs/spec/model.md §10), or what was given."""
        return None if self._provenance is None else json.loads(self._provenance)

    def with_provenance(self, provenance: Optional[Mapping[str, Any]]) -> "Model":
        """This model with ``provenance`` (a JSON object of at most
        MAX_PROVENANCE_BYTES, or None) in place of its own: the same ids,
        sharing everything else (nothing is rebuilt)."""
        copy = object.__new__(Model)
        copy.__dict__.update(self.__dict__)
        object.__setattr__(copy, "_provenance", _checked_provenance(provenance))
        return copy

    def fingerprint(self) -> str:
        """A SHA-256 (64 hex digits) of everything that decides ids and
        text: each id's bytes, whether it is a special token, and each
        piece's float64 score. Two models with the same fingerprint encode
        and decode every text alike; counts that give the same scores do
        not change it. Token files record it (docs/spec/token_files.md)."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        digest = hashlib.sha256(b"bytepiece model fingerprint 1\0")
        kinds = np.zeros(self.vocab_size, dtype=np.uint8)  # 0 reserved, 1 piece, 2 user-defined special
        scores = np.zeros(self.vocab_size, dtype="<f8")
        kinds[self._ids_array] = 1
        scores[self._ids_array] = self._scores
        for _, token_id in self.special_tokens:
            kinds[token_id] = 2
        digest.update(np.int64(self.vocab_size).tobytes())
        digest.update(kinds.tobytes())
        digest.update(self.lengths_by_id().astype("<i8").tobytes())
        digest.update(scores.tobytes())
        digest.update(b"".join(self.bytes_by_id()))
        return digest.hexdigest()

    @cached_property
    def _bytes_by_id(self) -> Tuple[bytes, ...]:
        table = [b""] * self.vocab_size
        for piece, token_id in zip(self.pieces, self.ids):
            table[token_id] = piece
        for text, token_id in self.special_tokens:
            table[token_id] = text.encode("utf-8")
        return tuple(table)

    @cached_property
    def _lengths_by_id(self) -> np.ndarray:
        lengths = np.zeros(self.vocab_size, dtype=np.int64)
        lengths[self._ids_array] = self._packed.lengths()
        for text, token_id in self.special_tokens:
            lengths[token_id] = len(text.encode("utf-8"))
        lengths.flags.writeable = False
        return lengths

    # -- vocabulary edits: new models, every id of this one kept ------------

    def with_special_tokens(self, names: Sequence[str]) -> "Model":
        """This model with user-defined special tokens ``names`` added, with
        the next ids (docs/spec/model.md §8)."""
        if isinstance(names, str):
            raise TypeError("names must be a list of special token names, not one string")
        names = list(names)
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"a special token must be a str, got {type(name).__name__}")
        taken = set(SPECIAL_TOKENS) | {name for name, _ in self.special_tokens}
        for name in names:
            if name in taken:
                raise ValueError(f"{name!r} is already a special token of this model")
            taken.add(name)
        first = self.vocab_size
        added = tuple((name, first + k) for k, name in enumerate(names))
        return self._edited(special_tokens=self.special_tokens + added)

    def extend(self, pieces: Sequence[bytes], counts: Sequence[Optional[int]]) -> "Model":
        """This model with ``pieces`` added after every existing id, in their
        order; ``counts[k]`` is piece k's count, or None to choose one
        (docs/spec/model.md §9). Every existing piece keeps its score bit
        for bit, so the ids of any text in which no new piece occurs are
        unchanged: the result has explicit scores (§8)."""
        if len(pieces) != len(counts):
            raise ValueError("extend needs one count (or None) per piece")
        existing = set(self.pieces) | {name.encode("utf-8") for name, _ in self.special_tokens}
        log_total = _log(sum(self.counts))
        scores = self._scores
        new_counts: List[int] = []
        for piece, count in zip(pieces, counts):
            if not isinstance(piece, bytes):
                raise TypeError(f"a piece must be bytes, got {type(piece).__name__}")
            if not piece or len(piece) > MAX_PIECE_LEN:
                raise ValueError(f"a piece must have 1 to {MAX_PIECE_LEN} bytes, got {describe_piece(piece)} "
                                 f"({len(piece)} bytes)")
            if piece in existing:
                raise ValueError(f"{describe_piece(piece)} is already in the vocabulary")
            existing.add(piece)
            if count is None:
                # Twice the count at which the piece would tie its best segmentation today.
                ids = self.segmenter().encode_lists([piece], _core.MODE_BEST, -1.0, None)[0]
                best = float(sum(scores[self._row_of_id(ids)]))
                # (Capped where the float would overflow: only explicit scores far above 0 get there.)
                count = max(1, math.ceil(2 * math.exp(min(best + log_total, 700.0))))
            elif not _is_integer(count) or count < 1:
                raise ValueError(f"the count of {describe_piece(piece)} must be a positive integer, got {count!r:.40}")
            new_counts.append(int(count))
        added = np.array([_log(count) - log_total for count in new_counts], dtype=np.float64)
        first = self.vocab_size
        new_ids = np.arange(first, first + len(pieces), dtype=np.int64)
        return Model(PackedPieces.concatenate([self._packed, pack_pieces(list(pieces))]),
                     np.concatenate([self._ids_array, new_ids]), list(self.counts) + new_counts,
                     self.special_tokens, np.concatenate([self._scores, added]), self.provenance)

    def _row_of_id(self, ids: Sequence[int]) -> np.ndarray:
        rows = np.empty(self.vocab_size, dtype=np.int64)
        rows[self._ids_array] = np.arange(len(self._packed))
        return rows[np.asarray(ids, dtype=np.int64)]

    def _edited(self, special_tokens: Tuple[Tuple[str, int], ...]) -> "Model":
        counts = self._counts_big if self._counts_big is not None else self.counts_array()
        return Model(self._packed, self._ids_array, counts, special_tokens, self.explicit_scores, self.provenance)

    # -- value semantics --------------------------------------------------

    def _key(self) -> Tuple[Any, ...]:
        return (self._packed.data, self._packed.offsets.tobytes(), self._ids_array.tobytes(), self.counts,
                self.special_tokens, self.explicit_scores)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"<bytepiece.Model {len(self._packed)} pieces, {len(self.special_tokens)} user-defined special "
                f"tokens, vocab_size={self.vocab_size}{', explicit scores' if self.explicit_scores else ''}>")

    def __reduce__(self) -> Tuple[Any, ...]:
        # Packed: a few buffers pickle far faster and smaller than millions of
        # small objects (models travel between processes in distributed
        # training). The copy passes the gate again when it is unpickled.
        counts = self._counts_array if self._counts_big is None else np.array(self._counts_big, dtype=object)
        return (_unpickle_model, (self._packed.data, self._packed.offsets, self._ids_array, counts,
                                  self.special_tokens, self.explicit_scores, self.provenance))


def _unpickle_model(data: bytes, offsets: np.ndarray, ids: np.ndarray, counts: np.ndarray,
                    special_tokens: Tuple[Tuple[str, int], ...], explicit_scores: Optional[Tuple[float, ...]],
                    provenance: Optional[Dict[str, Any]] = None) -> Model:
    if counts.dtype == object:
        counts = counts.tolist()
    return Model(PackedPieces(data, offsets), ids, counts, special_tokens, explicit_scores, provenance)


#: The most bytes a model's provenance may take as JSON (docs/spec/model.md
#: §10): a record of options and counts, never data.
MAX_PROVENANCE_BYTES = 1 << 16


def _checked_provenance(provenance: Optional[Mapping[str, Any]]) -> Optional[str]:
    """``provenance`` as compact JSON text (keys in the given order), or None."""
    if provenance is None:
        return None
    if not isinstance(provenance, Mapping):
        raise TypeError(f"provenance must be a dict (a JSON object) or None, got {type(provenance).__name__}")
    plain = "plain JSON (str keys; str, finite numbers, bools, None, lists and dicts)"
    try:
        text = json.dumps(dict(provenance), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"provenance must be {plain}: {exc}") from None
    if json.loads(text) != provenance:  # int keys become str, tuples lists: it would not read back as given
        raise ValueError(f"provenance must be {plain}, so that it reads back as given")
    if len(text.encode("utf-8")) > MAX_PROVENANCE_BYTES:
        raise ValueError(f"provenance takes {len(text.encode('utf-8'))} bytes as JSON; at most "
                         f"{MAX_PROVENANCE_BYTES} are allowed")
    return text




def _log(value: int) -> float:
    """numpy's log of the float64 nearest a positive int, as §2's scores
    take it; the exact logarithm for ints beyond float64's range."""
    try:
        return float(np.log(float(value)))
    except OverflowError:
        return math.log(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _checked_pieces(pieces: Union[Sequence[bytes], PackedPieces]) -> PackedPieces:
    if isinstance(pieces, PackedPieces):
        offsets = np.asarray(pieces.offsets)
        if (not isinstance(pieces.data, bytes) or offsets.ndim != 1 or offsets.dtype != np.int64 or len(offsets) < 1
                or offsets[0] != 0 or offsets[-1] != len(pieces.data) or (np.diff(offsets) < 0).any()):
            raise ValueError("packed pieces must be bytes with int64 offsets from 0 to their length, non-decreasing")
        packed = pieces
    else:
        if isinstance(pieces, (str, bytes)) or not isinstance(pieces, (Sequence, np.ndarray)):
            raise TypeError(f"pieces must be a sequence of bytes, not {type(pieces).__name__}")
        for piece in pieces:
            if type(piece) is not bytes:
                raise TypeError(f"pieces must be bytes, got {type(piece).__name__} {piece!r:.40}")
        packed = pack_pieces(pieces)
    lengths = packed.lengths()
    if len(lengths):
        bad = np.flatnonzero((lengths < 1) | (lengths > MAX_PIECE_LEN))
        if len(bad):
            k = int(bad[0])
            piece = packed.data[packed.offsets[k]:packed.offsets[k + 1]]
            if not piece:
                raise ValueError(f"piece {k} is empty")
            raise ValueError(
                f"piece {describe_piece(piece)} has {len(piece)} bytes; pieces may have at most {MAX_PIECE_LEN} "
                "(longer ones would make decoding slow: its work grows with the longest piece)")
    return packed


def _checked_integers(name: str, values: Union[Sequence[int], np.ndarray], n: int) -> np.ndarray:
    """``values`` as a fresh int64 array of ``n`` entries, or a ValueError/TypeError naming ``name``."""
    if isinstance(values, np.ndarray):
        if values.ndim != 1 or values.dtype.kind not in "iu":
            raise TypeError(f"{name} must be integers, got an array of {values.dtype}")
        if values.dtype.kind == "u" and len(values) and values.max() > _INT64_MAX:
            raise ValueError(f"{name} must be below 2**63")
        array = values.astype(np.int64)
    else:
        for value in values:
            if not _is_integer(value):
                raise TypeError(f"{name} must be integers, got {type(value).__name__} {value!r:.40}")
        try:
            array = np.array(values, dtype=np.int64)
        except OverflowError:
            raise ValueError(f"{name} must be below 2**63") from None
        array = array.reshape(-1)
    if len(array) != n:
        raise ValueError(f"{n} pieces need {n} {name}, got {len(array)}")
    return array


def _checked_counts(counts: Union[Sequence[int], np.ndarray], n: int,
                    packed: PackedPieces) -> Tuple[Optional[np.ndarray], Optional[Tuple[int, ...]]]:
    """(uint64 array, None), or (None, the Python ints) when a count is 2**64 or more."""
    if isinstance(counts, np.ndarray):
        if counts.ndim != 1 or counts.dtype.kind not in "iu":
            raise TypeError(f"counts must be integers, got an array of {counts.dtype}")
        if len(counts) != n:
            raise ValueError(f"{n} pieces need {n} counts, got {len(counts)}")
        if n and counts.min() < 1:
            k = int(np.argmin(counts))
            raise ValueError(f"count of piece {describe_piece(_piece(packed, k))} must be a positive integer, "
                             f"got {int(counts[k])}")
        array = counts.astype(np.uint64)
        array.flags.writeable = False
        return array, None
    values = list(counts)
    if len(values) != n:
        raise ValueError(f"{n} pieces need {n} counts, got {len(values)}")
    big = False
    for k, value in enumerate(values):
        if not _is_integer(value) or value < 1:
            raise ValueError(f"count of piece {describe_piece(_piece(packed, k))} must be a positive integer, "
                             f"got {value!r:.40}")
        big = big or value >= 1 << 64
    if big:
        return None, tuple(int(v) for v in values)
    array = np.array(values, dtype=np.uint64).reshape(-1)
    array.flags.writeable = False
    return array, None


def _checked_scores(scores: Union[Sequence[float], np.ndarray], n: int, packed: PackedPieces) -> np.ndarray:
    if isinstance(scores, np.ndarray):
        if scores.ndim != 1 or scores.dtype.kind not in "fiu":
            raise TypeError(f"explicit scores must be numbers, got an array of {scores.dtype}")
        array = scores.astype(np.float64)
    else:
        values = []
        for k, score in enumerate(scores):
            if isinstance(score, (bool, np.bool_)) or not isinstance(score, (int, float, np.integer, np.floating)):
                raise TypeError(f"score of piece {describe_piece(_piece(packed, k))} must be a number, "
                                f"got {score!r:.40}")
            try:
                values.append(float(score))
            except OverflowError:
                raise ValueError(f"score of piece {describe_piece(_piece(packed, k))} must be a finite number within "
                                 f"+-{MAX_ABS_SCORE:g}, got an integer of {len(str(abs(int(score))))} digits") from None
        array = np.array(values, dtype=np.float64)
    if len(array) != n:
        raise ValueError(f"{n} pieces need {n} explicit scores, got {len(array)}")
    return array


def _check_scores_range(scores: np.ndarray, packed: PackedPieces) -> None:
    bad = np.flatnonzero(~(np.abs(scores) <= MAX_ABS_SCORE))  # NaN fails the test too
    if len(bad):
        k = int(bad[0])
        raise ValueError(f"score of piece {describe_piece(_piece(packed, k))} must be a finite number within "
                         f"+-{MAX_ABS_SCORE:g}, got {float(scores[k])!r}")


def _checked_special_tokens(special_tokens: Sequence[Tuple[str, int]]) -> Tuple[Tuple[str, int], ...]:
    result = []
    seen = set(SPECIAL_TOKENS)
    for item in special_tokens:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(f"special tokens must be (name, id) pairs, got {item!r:.60}")
        name, token_id = item
        if not isinstance(name, str) or not name:
            raise ValueError(f"a special token must be a non-empty str, got {name!r:.40}")
        try:
            size = len(name.encode("utf-8"))
        except UnicodeEncodeError:
            raise ValueError(f"special token {name!r:.60} is not valid text (it holds a lone surrogate)") from None
        if size > MAX_PIECE_LEN:
            raise ValueError(f"special token {name[:40]!r}... has {size} bytes of UTF-8; special tokens, like "
                             f"pieces, may have at most {MAX_PIECE_LEN}")
        if name in seen:
            what = "a reserved name (ids 0-2)" if name in SPECIAL_TOKENS else "a special token already"
            raise ValueError(f"special token {name!r} appears twice: it is {what}")
        seen.add(name)
        if not _is_integer(token_id):
            raise TypeError(f"id of special token {name!r} must be an integer, got {token_id!r:.40}")
        result.append((name, int(token_id)))
    return tuple(sorted(result, key=lambda item: item[1]))


def _check_ids(ids: np.ndarray, specials: Tuple[Tuple[str, int], ...], packed: PackedPieces) -> None:
    """Piece and special-token ids together are exactly NUM_SPECIAL .. vocab_size - 1."""
    n = len(ids)
    vocab_size = n + NUM_SPECIAL + len(specials)
    every = np.concatenate([ids, np.array([i for _, i in specials], dtype=np.int64)])
    out = np.flatnonzero((every < NUM_SPECIAL) | (every >= vocab_size))
    if len(out):
        k = int(out[0])
        what = (f"piece {describe_piece(_piece(packed, k))}" if k < n else f"special token {specials[k - n][0]!r}")
        raise ValueError(f"id {int(every[k])} of {what} is out of range: a model with {n} pieces and "
                         f"{len(specials)} user-defined special tokens uses ids {NUM_SPECIAL}..{vocab_size - 1}")
    uses = np.bincount(every - NUM_SPECIAL, minlength=vocab_size - NUM_SPECIAL)
    if len(uses) and uses.max() > 1:
        token_id = int(np.argmax(uses)) + NUM_SPECIAL
        first, second = (int(k) for k in np.flatnonzero(every == token_id)[:2])
        names = [f"piece {describe_piece(_piece(packed, k))}" if k < n else f"special token {specials[k - n][0]!r}"
                 for k in (first, second)]
        raise ValueError(f"id {token_id} is used by both {names[0]} and {names[1]}")


def _build_segmenter(packed: PackedPieces, scores: np.ndarray, ids: np.ndarray) -> "_core.Segmenter":
    try:
        return _core.Segmenter(packed.data, packed.offsets, scores, ids.astype(np.int32))
    except ValueError:  # the C builder refuses duplicates (the other checks ran before)
        raise ValueError(_duplicate_message(packed)) from None


def _check_single_bytes(packed: PackedPieces) -> None:
    lengths = packed.lengths()
    present = np.zeros(256, dtype=bool)
    present[np.frombuffer(packed.data, dtype=np.uint8)[packed.offsets[:-1][lengths == 1]]] = True
    missing = [bytes([b]) for b in np.flatnonzero(~present).tolist()]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:8]) + (", ..." if len(missing) > 8 else "")
        raise ValueError(
            f"the model lacks {len(missing)} of the 256 single-byte pieces ({shown}); "
            "every byte must be a piece so that any text can be tokenized"
        )


def _duplicate_message(packed: PackedPieces) -> str:
    seen = set()
    for piece in packed.pieces():
        if piece in seen:
            return f"the piece {describe_piece(piece)} appears twice"
        seen.add(piece)
    return "the vocabulary trie could not be built"  # not reached: the other checks ran first


def _piece(packed: PackedPieces, k: int) -> bytes:
    return packed.data[packed.offsets[k]:packed.offsets[k + 1]]


def piece_scores(counts: Union[Sequence[int], np.ndarray]) -> np.ndarray:
    """log(count) - log(sum of counts) for positive integer counts, float64.

    Computed with numpy as BytePiece 0.6.3 did, so that ties in the Viterbi
    search break the same way and token ids match bit for bit. 0.6.3 took
    ``np.log(v) - np.log(total)`` of each Python int count ``v`` and of
    their exact sum: numpy makes a Python int an int64 (below 2**63) or a
    uint64 (below 2**64), and ``np.log`` (which has no integer loop) casts
    either to float64 first. So every score 0.6.3 computed is ``np.log`` of
    the correctly rounded float64 of the count minus that of the total,
    which is what this computes, for any size of count: as int64 when all
    counts fit (numpy's cast, exactly 0.6.3's path), else from the float64
    of each count. (0.6.3 itself failed from 2**64 on, where numpy makes an
    object array that has no ``log``.) Counts beyond float64's range
    (more than 308 digits) take ``math.log`` of the integers.
    """
    if isinstance(counts, np.ndarray) and counts.dtype.kind in "iu":
        logs = np.log(counts)
        if len(counts) and counts.min() >= 0 and int(counts.max()) <= _INT64_MAX // len(counts):
            # No partial sum can overflow int64: numpy's sum is the exact
            # total, without a Python int per count.
            return logs - np.log(float(int(counts.sum(dtype=np.int64))))
        values = counts.tolist()
    else:
        values = [int(c) for c in counts]
        logs = None
    total = sum(values)
    try:
        log_total = np.log(float(total))
        if logs is None:
            if max(values, default=0) <= _INT64_MAX:
                logs = np.log(np.array(values, dtype=np.int64))
            else:
                logs = np.log(np.array([float(v) for v in values], dtype=np.float64))
    except OverflowError:  # the total has no float64: logarithms of the integers themselves
        return np.array([math.log(v) for v in values], dtype=np.float64) - math.log(total)
    return logs - log_total


def describe_piece(piece: bytes) -> str:
    """A piece as error messages show it: its repr, cut after 40 bytes."""
    return repr(piece) if len(piece) <= 40 else repr(piece[:40])[:-1] + "...'"


def model_from_counts(counts: Mapping[bytes, int], add_missing_bytes: bool = False) -> Model:
    """A model from ``{piece: count}``; ids follow (length, bytes) order as in 0.6.3.

    With ``add_missing_bytes`` every single byte that is absent gets count 1
    (what the trainer does); otherwise a missing byte is a ValueError.
    """
    if not isinstance(counts, Mapping):
        raise TypeError(f"pieces must be a mapping {{bytes: count}}, not {type(counts).__name__}")
    table: Dict[bytes, int] = {}
    for piece, count in counts.items():
        if not isinstance(piece, bytes):
            raise TypeError(f"pieces must be bytes, got {type(piece).__name__} {piece!r:.40}")
        table[bytes(piece)] = count
    if add_missing_bytes:
        for b in range(256):
            table.setdefault(bytes([b]), 1)
    return Model.canonical(list(table), list(table.values()))


# The model file's functions lived here before they moved to
# bytepiece.formats.native; code that imports them from this module (as
# bytepiece.model.load_model was documented) keeps working. They are
# resolved on first use: importing them when this module loads would be a
# cycle, as the format module imports Model.
_MOVED_TO_NATIVE = ("load_model", "parse_model", "dump_model", "save_model")


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_NATIVE:
        from .formats import native

        return getattr(native, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
