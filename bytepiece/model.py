"""The model: a validated vocabulary, its packed form, and its file format (docs/spec/model.md).

:class:`Model` owns everything derived from the vocabulary: the canonical
order of pieces, the packed arrays the C core takes (bytes, offsets, scores,
ids), the id -> bytes table, and the C segmenter built from them (once).

The file format is BytePiece 0.6.3's JSON: ``{base64(piece): [id, text, count]}``
where ``text`` is the piece decoded as UTF-8 with errors ignored (for humans
only). Ids 0, 1, 2 are ``<pad>``, ``<bos>``, ``<eos>``; pieces use 3..N+2.
Every one of the 256 single bytes must be a piece, so every byte string can
be tokenized. Files may be plain, gzip (``.gz``) or a zip holding one model;
what a file holds (after decompression) may not exceed :data:`MAX_MODEL_BYTES`.

Two extensions (docs/spec/model.md §8) use an entry of four items,
``[id, text, {options}, count]``, which 0.6.3 still loads (it reads the id
first and the count last): ``{"special": true}`` makes the entry a
user-defined special token (its key the base64 of its UTF-8 text), never
matched in text unless allowed; ``{"score": s}`` on every piece gives the
model explicit scores (imported vocabularies) instead of ``log(count/total)``.
"""
from __future__ import annotations

import base64
import binascii
import gzip
import json
import math
import os
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

try:
    from lzma import LZMAError as _LZMAError
except ImportError:  # Python built without lzma: zipfile then refuses lzma members itself
    class _LZMAError(Exception):  # type: ignore[no-redef]
        pass

from . import _core
from ._core import MAX_PIECE_LEN, NUM_SPECIAL
from .outputs import atomic_file

__all__ = [
    "Model", "PackedPieces", "pack_pieces", "byte_lengths", "canonical_order", "piece_scores", "SPECIAL_TOKENS",
    "load_model", "parse_model", "model_from_counts", "dump_model", "save_model",
]

#: The names of the special ids (_core.PAD_ID, BOS_ID, EOS_ID: 0, 1, 2), in id order.
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>")
#: The most bytes a model file may hold once decompressed (1 GiB). Real
#: models are far smaller (the 40k-piece model is about 2.8 MB of JSON, a
#: million pieces about 100 MB); the limit stops a small hostile archive from
#: inflating to gigabytes before it is refused. Read at each load.
MAX_MODEL_BYTES = 1 << 30
#: Models are read (and decompressed) this many bytes at a time.
_READ_CHUNK = 1 << 20
_INT64_MAX = 2**63 - 1
#: Zip compression methods a model member may use. Not bzip2: zipfile
#: inflates a bzip2 chunk in one unbounded call (a few KB can become GB).
_ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_LZMA: "lzma"}

PathLike = Union[str, "os.PathLike[str]"]


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


@dataclass(frozen=True)
class Model:
    """A validated vocabulary: ``pieces[i]`` has token id ``ids[i]`` and ``counts[i]``.

    ``special_tokens``: user-defined special tokens as (text, id), beside
    ``<pad>``, ``<bos>``, ``<eos>`` (ids 0-2). ``explicit_scores``: a score per
    piece that replaces ``log(count / total)`` (None for every trained model).

    Immutable. What the C core needs is derived from it once, on first use:
    :meth:`packed`, :meth:`scores`, :meth:`bytes_by_id`, :meth:`lengths_by_id` and
    :meth:`segmenter`.
    """

    pieces: Tuple[bytes, ...]
    ids: Tuple[int, ...]
    counts: Tuple[int, ...]
    special_tokens: Tuple[Tuple[str, int], ...] = ()
    explicit_scores: Optional[Tuple[float, ...]] = None

    @classmethod
    def canonical(cls, pieces: Sequence[bytes], counts: Union[Sequence[int], np.ndarray]) -> "Model":
        """The model of ``pieces`` with ``counts``, numbered in canonical order
        (ids NUM_SPECIAL.. by (length, bytes), as 0.6.3's trainer does).

        Only the C segmenter's checks apply (distinct, non-empty pieces of at
        most MAX_PIECE_LEN bytes, all 256 single bytes): for vocabularies the
        trainer builds. Use :func:`model_from_counts` for untrusted input.
        """
        order = canonical_order(pieces)
        ordered = (counts[order].tolist() if isinstance(counts, np.ndarray)
                   else [int(counts[i]) for i in order])
        return cls(tuple(pieces[i] for i in order), tuple(range(NUM_SPECIAL, NUM_SPECIAL + len(order))), tuple(ordered))

    @classmethod
    def from_canonical(cls, pieces: PackedPieces, counts: np.ndarray) -> "Model":
        """The model of packed ``pieces`` that are already in canonical order
        (e.g. rows of a canonical model taken in increasing order) with
        ``counts`` (uint64): ids NUM_SPECIAL.., nothing sorted, and the packed
        form and the counts array kept as given instead of rebuilt from the
        tuples (what pruning, which makes one model per round, needs)."""
        counts = np.array(counts, dtype=np.uint64)
        counts.flags.writeable = False
        model = cls(tuple(pieces.pieces()), tuple(range(NUM_SPECIAL, NUM_SPECIAL + len(pieces))),
                    tuple(counts.tolist()))
        return _with_caches(model, _packed=pieces, _counts_array=counts)

    @property
    def vocab_size(self) -> int:
        """Number of ids: the pieces and the special tokens."""
        return len(self.pieces) + NUM_SPECIAL + len(self.special_tokens)

    def scores(self) -> np.ndarray:
        """score(p) = log(count(p)) - log(sum of counts), float64 (see
        piece_scores), or the explicit scores when the model has them."""
        if self.explicit_scores is not None:
            return np.array(self.explicit_scores, dtype=np.float64)
        counts = self._counts_array
        return piece_scores(self.counts if counts is None else counts)

    def counts_array(self) -> np.ndarray:
        """The counts as a read-only uint64 array (made once). ValueError for
        a model with a count of 2**64 or more (no trained model has one)."""
        counts = self._counts_array
        if counts is None:
            raise ValueError("the model has a count of 2**64 or more, which no uint64 array holds")
        return counts

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
        """The C trie and segmenter of this vocabulary (built on first use, then shared)."""
        return self._segmenter

    @cached_property
    def _packed(self) -> PackedPieces:
        return pack_pieces(self.pieces)

    @cached_property
    def _counts_array(self) -> Optional[np.ndarray]:
        if max(self.counts, default=0) >= 1 << 64:
            return None
        counts = np.array(self.counts, dtype=np.uint64)
        counts.flags.writeable = False
        return counts

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
        return byte_lengths(self._bytes_by_id)

    @cached_property
    def _segmenter(self) -> "_core.Segmenter":
        packed = self.packed()
        return _core.Segmenter(packed.data, packed.offsets, self.scores(), np.array(self.ids, dtype=np.int32))

    def __getstate__(self) -> Dict[str, Any]:
        # Packed: a few buffers pickle far faster and smaller than millions of
        # small objects (models travel between processes in distributed
        # training). The derived caches (a C object among them) are rebuilt.
        packed = self.packed()
        # Counts are any positive integers: uint64 when they all fit (always, for real models).
        counts = self._counts_array
        return {"data": packed.data, "offsets": packed.offsets, "ids": np.array(self.ids, dtype=np.int64),
                "counts": np.array(self.counts, dtype=object) if counts is None else counts,
                "special_tokens": self.special_tokens, "explicit_scores": self.explicit_scores}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        packed = PackedPieces(state["data"], state["offsets"])
        object.__setattr__(self, "pieces", tuple(packed.pieces()))
        object.__setattr__(self, "ids", tuple(state["ids"].tolist()))
        object.__setattr__(self, "counts", tuple(state["counts"].tolist()))
        object.__setattr__(self, "special_tokens", state.get("special_tokens", ()))
        object.__setattr__(self, "explicit_scores", state.get("explicit_scores"))


def _with_caches(model: Model, **caches: Any) -> Model:
    """``model`` with some of its derived caches (the ``cached_property``
    names, e.g. ``_packed``) filled from arrays at hand, equal to what the
    properties would compute from the tuples."""
    model.__dict__.update(caches)  # where cached_property keeps its value
    return model


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


def _describe(piece: bytes) -> str:
    return repr(piece) if len(piece) <= 40 else repr(piece[:40])[:-1] + "...'"


def _reject_duplicate_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    result: Dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in the model file")
        result[key] = value
    return result


def _too_large(limit: int) -> ValueError:
    return ValueError(
        f"refused: the model holds more than {limit} bytes (bytepiece.model.MAX_MODEL_BYTES); "
        "real models are far smaller, so this is a corrupt or hostile file"
    )


def _read_limited(stream: Any, limit: int, buffer: Optional[bytearray] = None) -> bytearray:
    """``buffer`` (empty if not given) followed by the rest of ``stream`` (a
    binary file object), read a chunk at a time; more than ``limit`` bytes
    is a ValueError as soon as the limit is passed (so at most limit + 1
    bytes are ever read)."""
    buffer = bytearray() if buffer is None else buffer
    if len(buffer) > limit:
        raise _too_large(limit)
    while True:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - len(buffer)))
        if not chunk:
            return buffer
        buffer += chunk
        if len(buffer) > limit:
            raise _too_large(limit)


def _read_model_bytes(path: str) -> Union[bytes, bytearray]:
    """The contents of a model file, decompressed (docs/spec/model.md §5),
    never more than MAX_MODEL_BYTES."""
    limit = MAX_MODEL_BYTES
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise ValueError(f"a zipped model must hold exactly one file, found {len(members)}")
            member = members[0]
            if member.file_size > limit:  # what the archive declares (checked again while reading: it may lie)
                raise ValueError(
                    f"refused: the zipped model {member.filename!r} declares {member.file_size} bytes, "
                    f"more than {limit} (bytepiece.model.MAX_MODEL_BYTES)"
                )
            if member.compress_type not in _ZIP_METHODS:
                raise ValueError(
                    f"the zipped model {member.filename!r} uses compression method {member.compress_type}; "
                    f"supported: {', '.join(_ZIP_METHODS.values())}"
                )
            if member.flag_bits & 0x1:
                raise ValueError(f"the zipped model {member.filename!r} is encrypted")
            with archive.open(member) as f:
                return _read_limited(f, limit)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise ValueError(f"refused: the file has {size} bytes, more than {limit} (bytepiece.model.MAX_MODEL_BYTES)")
        if f.peek(2)[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=f, mode="rb") as g:  # decompressed a chunk at a time
                return _read_limited(g, limit)
        # One read of the size fstat gave (no copies), then whatever the file
        # grew by meanwhile, still under the limit.
        data = f.read(size)
        more = f.read(1)
        return _read_limited(f, limit, bytearray(data + more)) if more else data


def load_model(path: PathLike) -> Model:
    """Read and validate a model file (JSON, ``.gz`` or a ``.zip`` with one file).

    Raises OSError when the file cannot be read and ValueError when it is not
    a valid BytePiece model (the message names the file and the problem),
    including a file that holds, or inflates to, more than MAX_MODEL_BYTES:
    it is refused as soon as that is known, without inflating the rest.
    """
    path = os.fspath(path)
    try:
        raw = _read_model_bytes(path)
        model = _load_plain_model(raw)
        if model is not None:
            return model
        text = raw.decode("utf-8")
        del raw
        data = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
        del text
        return parse_model(data)
    except (zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error, _LZMAError) as exc:
        raise ValueError(f"{path}: corrupt compressed model file ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a BytePiece model (not UTF-8 text: {exc})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a BytePiece model (invalid JSON: {exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a BytePiece model (JSON nested too deeply)") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


#: Pieces from which a model file's trie is built beside the making of its tuples.
_PARALLEL_LOAD_PIECES = 200_000


def _load_plain_model(raw: Union[bytes, bytearray]) -> Optional[Model]:
    """The model of a file in the plain form every trained model has
    ({base64: [id, text, count]}, ids a permutation of 3..N+2, counts below
    10**18), read in one pass in C; None for any other file, which the
    general reader (json, then :func:`parse_model`) then accepts or refuses
    with a message. The two readers give equal models for every file this
    one accepts (tests/test_model_load.py)."""
    scanned = _core.scan_model_json(raw)
    if scanned is None:
        return None
    data, offsets, ids, counts = scanned
    n = len(ids)
    packed = PackedPieces(data, offsets)
    lengths = packed.lengths()
    if (lengths.min() < 1 or lengths.max() > MAX_PIECE_LEN or counts.min() < 1
            or ids.min() < NUM_SPECIAL or ids.max() >= n + NUM_SPECIAL
            or np.bincount(ids - NUM_SPECIAL, minlength=n).max() != 1):
        return None
    build = partial(_core.Segmenter, data, offsets, piece_scores(counts), ids.astype(np.int32))
    # A large trie is built on a helper thread (the C build releases the
    # GIL) while this one makes the tuples: a million pieces loaded in
    # 0.68-0.70 s instead of 0.91-1.06 s on two cores (bench_load).
    pool = ThreadPoolExecutor(1) if n >= _PARALLEL_LOAD_PIECES else None
    try:
        pending = pool.submit(build) if pool else None
        model = Model(tuple(packed.pieces()), tuple(ids.tolist()), tuple(counts.tolist()))
        segmenter = pending.result() if pending else build()
    except ValueError:  # the C trie refuses duplicate pieces and a missing single byte
        return None
    finally:
        if pool:
            pool.shutdown()
    return _with_caches(model, _packed=packed, _segmenter=segmenter)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_model(data: Mapping[str, Sequence[Any]]) -> Model:
    """Validate a decoded model (the JSON object of a model file).

    Raises ValueError naming the first problem: not an object, a key that is
    not base64, an empty or duplicate piece, an entry that is not
    ``[id, text, count]`` or ``[id, text, {options}, count]``, an id outside
    3..N+2 or used twice, a count that is not a positive integer (any size is
    accepted), a piece longer than MAX_PIECE_LEN bytes, a missing single
    byte, a special token that is not UTF-8 text, or explicit scores on some
    pieces but not all.
    """
    if not isinstance(data, Mapping):
        raise ValueError(
            "not a BytePiece model: expected a JSON object {base64 piece: [id, text, count]}, "
            f"got {type(data).__name__}"
        )
    if not data:
        raise ValueError("not a BytePiece model: it has no pieces")
    n = len(data)
    pieces: List[bytes] = []
    ids: List[int] = []
    counts: List[int] = []
    key_of_piece: Dict[bytes, str] = {}
    piece_of_id: Dict[int, bytes] = {}
    specials: List[Tuple[str, int]] = []
    scores: List[float] = []
    for key, entry in data.items():
        if not isinstance(key, str):
            raise ValueError(f"piece key {key!r:.40} is not a base64 string")
        try:
            piece = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"piece key {key!r:.40} is not valid base64") from None
        if not piece:
            raise ValueError(f"piece key {key!r} decodes to an empty piece")
        if len(piece) > MAX_PIECE_LEN:
            raise ValueError(
                f"piece {_describe(piece)} has {len(piece)} bytes; pieces may have at most {MAX_PIECE_LEN} "
                "(longer ones would make decoding slow: its work grows with the longest piece)"
            )
        if piece in key_of_piece:
            raise ValueError(f"keys {key_of_piece[piece]!r} and {key!r} both decode to the piece {_describe(piece)}")
        key_of_piece[piece] = key
        if not isinstance(entry, (list, tuple)) or len(entry) not in (3, 4):
            raise ValueError(f"entry of piece {_describe(piece)} must be [id, text, count] or "
                             f"[id, text, {{options}}, count], got {entry!r:.80}")
        token_id, count = entry[0], entry[-1]
        options = entry[2] if len(entry) == 4 else {}
        if not isinstance(options, Mapping) or not set(options) <= {"special", "score"}:
            raise ValueError(f"options of piece {_describe(piece)} must be an object with 'special' or 'score', "
                             f"got {options!r:.80}")
        if not _is_int(token_id):
            raise ValueError(f"id of piece {_describe(piece)} must be an integer, got {token_id!r:.40}")
        if not NUM_SPECIAL <= token_id < n + NUM_SPECIAL:
            raise ValueError(
                f"id {token_id} of piece {_describe(piece)} is out of range: "
                f"a model with {n} pieces uses ids {NUM_SPECIAL}..{n + NUM_SPECIAL - 1}"
            )
        if token_id in piece_of_id:
            raise ValueError(f"id {token_id} is used by both {_describe(piece_of_id[token_id])} and {_describe(piece)}")
        piece_of_id[token_id] = piece
        if not _is_int(count) or count <= 0:
            raise ValueError(f"count of piece {_describe(piece)} must be a positive integer, got {count!r:.40}")
        if options.get("special", False) is True:
            try:
                specials.append((piece.decode("utf-8"), token_id))
            except UnicodeDecodeError:
                raise ValueError(f"special token {_describe(piece)} is not UTF-8 text") from None
            continue
        if "score" in options:
            score = options["score"]
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise ValueError(f"score of piece {_describe(piece)} must be a finite number, got {score!r:.40}")
            scores.append(float(score))
        pieces.append(piece)
        ids.append(token_id)
        counts.append(count)
    if scores and len(scores) != len(pieces):
        raise ValueError(f"{len(scores)} of {len(pieces)} pieces have an explicit score: give every piece one, or none")
    present = set(pieces)
    missing = [bytes([b]) for b in range(256) if bytes([b]) not in present]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:8]) + (", ..." if len(missing) > 8 else "")
        raise ValueError(
            f"the model lacks {len(missing)} of the 256 single-byte pieces ({shown}); "
            "every byte must be a piece so that any text can be tokenized"
        )
    return Model(tuple(pieces), tuple(ids), tuple(counts), tuple(sorted(specials, key=lambda item: item[1])),
                 tuple(scores) if scores else None)


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
        table[piece] = count
    if add_missing_bytes:
        for b in range(256):
            table.setdefault(bytes([b]), 1)
    pieces = list(table)
    return parse_model(
        {
            base64.b64encode(pieces[k]).decode("ascii"): [i + NUM_SPECIAL, "", table[pieces[k]]]
            for i, k in enumerate(canonical_order(pieces))
        }
    )


def dump_model(model: Model) -> Dict[str, List[Any]]:
    """The JSON object of ``model``, entries in id order (as 0.6.3 writes them;
    special tokens and explicit scores as four-item entries, docs/spec/model.md §8)."""
    entries: List[Tuple[int, str, List[Any]]] = []
    for i, (piece, token_id, count) in enumerate(zip(model.pieces, model.ids, model.counts)):
        text = piece.decode("utf-8", errors="ignore")
        value: List[Any] = [token_id, text, count]
        if model.explicit_scores is not None:
            value = [token_id, text, {"score": model.explicit_scores[i]}, count]
        entries.append((token_id, base64.b64encode(piece).decode("ascii"), value))
    for text, token_id in model.special_tokens:
        entries.append((token_id, base64.b64encode(text.encode("utf-8")).decode("ascii"),
                        [token_id, text, {"special": True}, 1]))
    return {key: value for _, key, value in sorted(entries, key=lambda entry: entry[0])}


def save_model(model: Model, path: PathLike) -> None:
    """Write ``model`` as 0.6.3-compatible JSON (UTF-8, indent 4, like 0.6.3);
    the file appears whole or not at all (:mod:`bytepiece.outputs`)."""
    with atomic_file(path, "w", encoding="utf-8") as f:
        json.dump(dump_model(model), f, indent=4, ensure_ascii=False)


def model_summary(model: Model) -> Dict[str, Any]:
    """What ``bytepiece info`` shows: sizes, the special tokens, how many
    pieces are whole UTF-8 text, and a histogram of piece lengths in bytes."""
    lengths = byte_lengths(model.pieces)
    histogram = np.bincount(lengths) if len(lengths) else np.zeros(1, dtype=np.int64)
    text_pieces = 0
    for piece in model.pieces:
        try:
            piece.decode("utf-8")
            text_pieces += 1
        except UnicodeDecodeError:
            pass
    return {
        "vocab_size": model.vocab_size,
        "pieces": len(model.pieces),
        "special_tokens": {**{name: token_id for token_id, name in enumerate(SPECIAL_TOKENS)},
                           **dict(model.special_tokens)},
        "explicit_scores": model.explicit_scores is not None,
        "utf8_pieces": text_pieces,
        "total_count": sum(model.counts),
        "longest_piece_bytes": int(lengths.max()) if len(lengths) else 0,
        "mean_piece_bytes": float(lengths.mean()) if len(lengths) else 0.0,
        "length_histogram": {int(n): int(c) for n, c in enumerate(histogram) if c},
    }
