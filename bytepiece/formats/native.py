"""The native model file: BytePiece 0.6.3's JSON, read and written (docs/spec/model.md §4-§6, §8).

A model file is ``{base64(piece): [id, text, count]}``, where ``text`` is the
piece decoded as UTF-8 with errors ignored (for humans only); pieces have
ids 3..N+2, and ``<pad>``, ``<bos>``, ``<eos>`` (ids 0, 1, 2) are not stored.
Two extensions (§8) use an entry of four items, ``[id, text, {options}, count]``,
which 0.6.3 still loads (it reads the id first and the count last):
``{"special": true}`` makes the entry a user-defined special token (its key
the base64 of its UTF-8 text), never matched in text unless allowed;
``{"score": s}`` on every piece gives the model explicit scores (imported
vocabularies) instead of ``log(count/total)``; ``{"provenance": {...}}`` on
the first piece records how the model was made (§10).

A file may be plain, gzip or a zip holding one file, recognized by its bytes
whatever its name (§5); what it holds, decompressed, may not exceed
:data:`bytepiece.model.MAX_MODEL_BYTES` and is refused as soon as that is known.

Two readers of one format: a file of the plain form every trained model has
is read in one pass in C (``_core.scan_model_json``); any other file, and any
plain file that the model's checks refuse, goes through :mod:`json` and
:func:`parse_model`, which name the problem. Both end in :class:`~bytepiece.model.Model`'s
constructor, the one gate, so how a file is read never changes what is valid.
:func:`save_model` writes what 0.6.3 wrote, byte for byte.
"""
from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import os
import stat
import zipfile
import zlib
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

try:
    from lzma import LZMAError as _LZMAError
except ImportError:  # Python built without lzma: zipfile then refuses lzma members itself
    class _LZMAError(Exception):  # type: ignore[no-redef]
        pass

from .. import _core
# The size limit is read from its module at each load, so that setting
# bytepiece.model.MAX_MODEL_BYTES (documented as the knob) takes effect.
from .. import model as _model
from .._core import MAX_ABS_SCORE, MAX_PIECE_LEN, NUM_SPECIAL
from ..model import Model, PackedPieces, describe_piece
from ..outputs import PathLike, atomic_file

__all__ = ["load_model", "save_model", "parse_model", "dump_model"]

#: Models are read (and decompressed) this many bytes at a time.
_READ_CHUNK = 1 << 20
#: Zip compression methods a model member may use. Not bzip2: zipfile
#: inflates a bzip2 chunk in one unbounded call (a few KB can become GB).
_ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_LZMA: "lzma"}


def load_model(path: PathLike) -> Model:
    """Read and validate a model file (JSON, ``.gz`` or a ``.zip`` with one file).

    Raises OSError when the file cannot be read and ValueError when it is not
    a valid BytePiece model (the message names the file and the problem),
    including a file that holds, or inflates to, more than MAX_MODEL_BYTES:
    it is refused as soon as that is known, without inflating the rest.
    """
    path = os.fspath(path)
    binary_hint = ""
    try:
        raw = _read_model_bytes(path)
        model = _load_plain_model(raw)
        if model is not None:
            return model
        if raw[:1] == b"\n":  # a protobuf's first field: what a SentencePiece .model begins with
            binary_hint = ("; a SentencePiece .model is converted with `bytepiece import --format sentencepiece "
                           "FILE -o NAME.model`")
        text = raw.decode("utf-8")
        del raw
        data = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
        del text
        return parse_model(data)
    except (zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error, _LZMAError) as exc:
        raise ValueError(f"{path}: corrupt compressed model file ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a BytePiece model (not UTF-8 text: {exc}){binary_hint}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a BytePiece model (invalid JSON: {exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a BytePiece model (JSON nested too deeply)") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


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
    data, offsets, ids, counts, options = scanned
    provenance = None
    if options is not None:  # the one four-item entry: only a provenance is read here
        entry, start, end = options
        try:
            parsed = json.loads(bytes(raw[start:end]).decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)
        except (ValueError, RecursionError):
            return None
        if set(parsed) != {"provenance"} or not isinstance(parsed["provenance"], dict) or entry != 0:
            return None
        provenance = parsed["provenance"]
    try:  # the gate checks it all; the general reader then names the problem
        return Model(PackedPieces(data, offsets), ids, counts, provenance=provenance)
    except (ValueError, TypeError):
        return None


def parse_model(data: Mapping[str, Sequence[Any]]) -> Model:
    """Validate a decoded model (the JSON object of a model file).

    Raises ValueError naming the first problem: not an object, a key that is
    not base64, an empty or duplicate piece, an entry that is not
    ``[id, text, count]`` or ``[id, text, {options}, count]``, an id outside
    3..N+2 or used twice, a count that is not a positive integer (any size is
    accepted), a piece longer than MAX_PIECE_LEN bytes, a missing single
    byte, a special token that is not UTF-8 text, explicit scores on some
    pieces but not all, or a provenance that is not an object, is given
    twice or on another entry than the first piece's.
    """
    if not isinstance(data, Mapping):
        raise ValueError(
            "not a BytePiece model: expected a JSON object {base64 piece: [id, text, count]}, "
            f"got {type(data).__name__}"
        )
    if not data:
        raise ValueError("not a BytePiece model: it has no pieces")
    if "model" in data and ("version" in data or "added_tokens" in data or "pre_tokenizer" in data):
        raise ValueError("this is a Hugging Face tokenizer.json, not a bytepiece model: convert its vocabulary with "
                         "`bytepiece import --format hf FILE -o NAME.model` (bytepiece.formats.imports)")
    n = len(data)
    pieces: List[bytes] = []
    ids: List[int] = []
    counts: List[int] = []
    key_of_piece: Dict[bytes, str] = {}
    piece_of_id: Dict[int, bytes] = {}
    specials: List[Tuple[str, int]] = []
    scores: List[float] = []
    provenance: Optional[Dict[str, Any]] = None
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
                f"piece {describe_piece(piece)} has {len(piece)} bytes; pieces may have at most {MAX_PIECE_LEN} "
                "(longer ones would make decoding slow: its work grows with the longest piece)"
            )
        if piece in key_of_piece:
            raise ValueError(f"keys {key_of_piece[piece]!r} and {key!r} both decode to the piece "
                             f"{describe_piece(piece)}")
        key_of_piece[piece] = key
        if not isinstance(entry, (list, tuple)) or len(entry) not in (3, 4):
            raise ValueError(f"entry of piece {describe_piece(piece)} must be [id, text, count] or "
                             f"[id, text, {{options}}, count], got {entry!r:.80}")
        token_id, count = entry[0], entry[-1]
        options = entry[2] if len(entry) == 4 else {}
        if not isinstance(options, Mapping) or not set(options) <= {"special", "score", "provenance"}:
            raise ValueError(f"options of piece {describe_piece(piece)} must be an object with 'special', 'score' "
                             f"or 'provenance', got {options!r:.80}")
        if not _is_int(token_id):
            raise ValueError(f"id of piece {describe_piece(piece)} must be an integer, got {token_id!r:.40}")
        if not NUM_SPECIAL <= token_id < n + NUM_SPECIAL:
            raise ValueError(
                f"id {token_id} of piece {describe_piece(piece)} is out of range: "
                f"a model with {n} pieces uses ids {NUM_SPECIAL}..{n + NUM_SPECIAL - 1}"
            )
        if token_id in piece_of_id:
            raise ValueError(f"id {token_id} is used by both {describe_piece(piece_of_id[token_id])} and "
                             f"{describe_piece(piece)}")
        piece_of_id[token_id] = piece
        if not _is_int(count) or count <= 0:
            raise ValueError(f"count of piece {describe_piece(piece)} must be a positive integer, got {count!r:.40}")
        if "provenance" in options:
            if provenance is not None or pieces or options.get("special", False) is True:
                raise ValueError(f"piece {describe_piece(piece)} has a provenance: only the first entry, a piece, "
                                 "may have one")
            if not isinstance(options["provenance"], Mapping):
                raise ValueError(f"the provenance on piece {describe_piece(piece)} must be an object, got "
                                 f"{options['provenance']!r:.80}")
            provenance = dict(options["provenance"])
        if options.get("special", False) is True:
            try:
                specials.append((piece.decode("utf-8"), token_id))
            except UnicodeDecodeError:
                raise ValueError(f"special token {describe_piece(piece)} is not UTF-8 text") from None
            continue
        if "score" in options:
            score = options["score"]
            if isinstance(score, bool) or not isinstance(score, (int, float)):
                raise ValueError(f"score of piece {describe_piece(piece)} must be a finite number, got {score!r:.40}")
            try:
                scores.append(float(score))  # the gate checks the range
            except OverflowError:
                raise ValueError(f"score of piece {describe_piece(piece)} must be a finite number within "
                                 f"+-{MAX_ABS_SCORE:g}, got an integer of {len(str(abs(score)))} digits") from None
        pieces.append(piece)
        ids.append(token_id)
        counts.append(count)
    if scores and len(scores) != len(pieces):
        raise ValueError(f"{len(scores)} of {len(pieces)} pieces have an explicit score: give every piece one, or none")
    return Model(tuple(pieces), tuple(ids), tuple(counts), tuple(sorted(specials, key=lambda item: item[1])),
                 tuple(scores) if scores else None, provenance)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def dump_model(model: Model) -> Dict[str, List[Any]]:
    """The JSON object of ``model``, entries in id order (as 0.6.3 writes them;
    special tokens, explicit scores and the provenance (on the piece of the
    lowest id) as four-item entries, docs/spec/model.md §8, §10)."""
    entries: List[Tuple[int, str, List[Any]]] = []
    first = int(model.ids_array().min())  # every model has the 256 single bytes
    provenance = model.provenance
    for i, (piece, token_id, count) in enumerate(zip(model.pieces, model.ids, model.counts)):
        text = piece.decode("utf-8", errors="ignore")
        options: Dict[str, Any] = {}
        if model.explicit_scores is not None:
            options["score"] = model.explicit_scores[i]
        if token_id == first and provenance is not None:
            options["provenance"] = provenance
        value: List[Any] = [token_id, text, options, count] if options else [token_id, text, count]
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


def _read_model_bytes(path: str) -> Union[bytes, bytearray]:
    """The contents of a model file, decompressed (docs/spec/model.md §5),
    never more than MAX_MODEL_BYTES. The file is opened once: a path that
    is not a regular file (a pipe, a device such as /dev/zero) is read
    into memory up to the limit first, then recognized from its bytes."""
    limit = _model.MAX_MODEL_BYTES
    with open(path, "rb") as f:
        status = os.fstat(f.fileno())
        if stat.S_ISREG(status.st_mode):
            if status.st_size > limit:
                raise ValueError(f"refused: the file has {status.st_size} bytes, more than {limit} "
                                 "(bytepiece.model.MAX_MODEL_BYTES)")
            if zipfile.is_zipfile(f):
                f.seek(0)
                return _read_zip_member(f, limit)
            f.seek(0)
            if f.peek(2)[:2] == b"\x1f\x8b":
                with gzip.GzipFile(fileobj=f, mode="rb") as g:  # decompressed a chunk at a time
                    return _read_limited(g, limit)
            # One read of the size fstat gave (no copies), then whatever the file
            # grew by meanwhile, still under the limit.
            data = f.read(status.st_size)
            more = f.read(1)
            return _read_limited(f, limit, bytearray(data + more)) if more else data
        if stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError(f"{path} is a directory, not a model file")
        raw = bytes(_read_limited(f, limit))
    if zipfile.is_zipfile(io.BytesIO(raw)):
        return _read_zip_member(io.BytesIO(raw), limit)
    if raw[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(raw), mode="rb") as g:
            return _read_limited(g, limit)
    return raw


def _read_zip_member(f: Any, limit: int) -> bytearray:
    """The one file of the zip archive ``f`` (a seekable binary file), at most ``limit`` bytes."""
    with zipfile.ZipFile(f) as archive:
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
        with archive.open(member) as g:
            return _read_limited(g, limit)


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


def _too_large(limit: int) -> ValueError:
    return ValueError(
        f"refused: the model holds more than {limit} bytes (bytepiece.model.MAX_MODEL_BYTES); "
        "real models are far smaller, so this is a corrupt or hostile file"
    )


def _reject_duplicate_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    result: Dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in the model file")
        result[key] = value
    return result
