"""Binary token files for LM training: Megatron-LM's indexed dataset and numpy.

Two layouts, both written as a stream (memory stays constant whatever the
corpus size) and both readable with numpy alone:

``bin``: Megatron-LM's ``MMapIndexedDataset`` (also read by GPT-NeoX, NeMo and
Megatron-DeepSpeed): ``PREFIX.bin`` holds every document's ids back to back
(little-endian; nanoGPT's flat ``np.memmap(path, dtype=np.uint16)`` reads it
too) and ``PREFIX.idx`` the document boundaries::

    b"MMIDIDX\\x00\\x00"  version <Q = 1  dtype code <B (8: uint16, 4: int32)
    sequences <Q  documents+1 <Q
    int32[sequences] lengths  int64[sequences] byte offsets in .bin
    int64[documents+1] document index (here 0, 1, ..., sequences: one sequence per document)

``npy``: ``PREFIX.npy``, one 1-D array of all ids, and ``PREFIX.offsets.npy``
(int64, documents+1 entries): document ``d`` is ``ids[offsets[d]:offsets[d + 1]]``.

Beside the two files, ``PREFIX.bin.bytepiece.json`` (``PREFIX.npy.bytepiece.json``)
records which model made them (its :meth:`bytepiece.Model.fingerprint`) and
how many documents and ids they hold; Megatron-LM and nanoGPT never open it.

Ids are uint16 when the vocabulary has at most 65536 ids, else 32-bit
(uint32 in ``.npy``; int32 in the Megatron index, which has no uint32 code:
the bytes are the same for every id below 2^31). Files appear whole or not at
all (:mod:`bytepiece.outputs`). The reader checks every field of every file
against the others before it returns anything, and says which file and which
entry is wrong (docs/spec/token_files.md §5).

A corpus encoded in shards (``bytepiece encode --ray``) is one token file per
shard, ``PREFIX.00000.bin`` ..., and a manifest, ``PREFIX.bin.manifest.json``,
that lists them in corpus order with their counts and the model's fingerprint
(docs/spec/token_files.md §7): :func:`write_token_manifest` writes it,
:func:`read_token_manifest` reads it, :func:`read_token_shards` reads the
shards one at a time, and :func:`read_token_file` reads a manifest as the one
token file the shards make together.
"""
from __future__ import annotations

import json
import os
import re
import stat
import struct
import warnings
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .atomic import PathLike, atomic_file, atomic_files, check_writable

__all__ = ["TOKEN_FORMATS", "token_dtype", "token_file_paths", "token_file_metadata_path", "TokenFileWriter",
           "TokenFileMetadata", "read_token_file", "read_token_file_metadata", "MANIFEST_SUFFIX",
           "token_manifest_path", "token_shard_path", "TokenShard", "TokenManifest", "write_token_manifest",
           "read_token_manifest", "read_token_shards"]

#: The binary layouts ``bytepiece encode --output-format`` can write.
TOKEN_FORMATS = ("bin", "npy")

#: What the metadata file's name adds to the data file's name.
METADATA_SUFFIX = ".bytepiece.json"

#: The version of the metadata file's fields (its ``bytepiece_token_file`` value).
METADATA_VERSION = 1

MEGATRON_MAGIC = b"MMIDIDX\x00\x00"
_MEGATRON_HEAD = struct.Struct("<QBQQ")  # version, dtype code, sequences, document index entries
_MEGATRON_HEADER_BYTES = len(MEGATRON_MAGIC) + _MEGATRON_HEAD.size
_MEGATRON_CODES = {np.dtype(np.uint16): 8, np.dtype(np.uint32): 4}  # 4 is int32: same bytes below 2^31
_MEGATRON_DTYPES: Dict[int, np.dtype] = {8: np.dtype("<u2"), 4: np.dtype("<i4")}
# A fixed-size .npy header, rewritten with the final shape at the end.
_NPY_HEADER_BYTES = 128
# numpy's own limit on the header it parses (np.load's max_header_size).
_NPY_MAX_HEADER = 10000
# The metadata file is a few hundred bytes; anything far larger is not one.
_METADATA_MAX_BYTES = 1 << 16
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def token_dtype(vocab_size: int) -> np.dtype:
    """The id type of a token file: uint16 when every id fits, else uint32."""
    return np.dtype("<u2") if vocab_size <= 1 << 16 else np.dtype("<u4")


def token_file_paths(path: PathLike, token_format: str) -> Tuple[str, str]:
    """(data file, index file) written for ``path``: ``P.bin`` and ``P.idx``,
    or ``P.npy`` and ``P.offsets.npy``, where ``P`` is ``path`` without its
    ``.bin`` / ``.npy`` extension."""
    path = os.fspath(path)
    if token_format not in TOKEN_FORMATS:
        raise ValueError(f"token_format must be one of {TOKEN_FORMATS}, got {token_format!r}")
    prefix = path[:-4] if path.endswith("." + token_format) else path
    if token_format == "bin":
        return prefix + ".bin", prefix + ".idx"
    return prefix + ".npy", prefix + ".offsets.npy"


def token_file_metadata_path(path: PathLike, token_format: str) -> str:
    """The metadata file written beside the token file ``path``: its data
    file's name followed by ``.bytepiece.json`` (``P.bin.bytepiece.json`` or
    ``P.npy.bytepiece.json``, so the two layouts of one prefix can sit side
    by side)."""
    return token_file_paths(path, token_format)[0] + METADATA_SUFFIX


def _npy_header(dtype: np.dtype, length: int) -> bytes:
    text = f"{{'descr': {dtype.str!r}, 'fortran_order': False, 'shape': ({length},), }}".encode("latin1")
    pad = _NPY_HEADER_BYTES - len(np.lib.format.MAGIC_PREFIX) - 2 - 2 - len(text) - 1
    return np.lib.format.magic(1, 0) + struct.pack("<H", len(text) + pad + 1) + text + b" " * pad + b"\n"


def _stored_dtype(token_format: str, dtype: np.dtype) -> np.dtype:
    """The id type as the files declare it (int32 for 32-bit ids in a Megatron index)."""
    return _MEGATRON_DTYPES[_MEGATRON_CODES[dtype]] if token_format == "bin" else dtype


class TokenFileWriter:
    """Writes documents' ids to a token file in ``token_format`` (``bin`` or
    ``npy``) for a vocabulary of ``vocab_size`` ids; use it in a with-block,
    which makes the files appear when it ends without an error::

        with TokenFileWriter("train.bin", "bin", tok.vocab_size, tok.model.fingerprint()) as out:
            for batch in batches:
                out.write(*tok.encode_batch_numpy(batch, add_eos=True))

    ``model_fingerprint`` (the :meth:`bytepiece.Model.fingerprint` of the
    model that made the ids) is recorded in the metadata file, so that
    ``bytepiece decode`` can refuse a file made by another model; None
    records none (the file then decodes with any model of a large enough
    vocabulary).
    """

    def __init__(self, path: PathLike, token_format: str, vocab_size: int,
                 model_fingerprint: Optional[str] = None) -> None:
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
            raise ValueError(f"vocab_size must be a positive integer, got {vocab_size!r:.40}")
        if model_fingerprint is not None and (not isinstance(model_fingerprint, str)
                                              or not _FINGERPRINT.fullmatch(model_fingerprint)):
            raise ValueError("model_fingerprint must be a model's fingerprint (64 lowercase hex digits, "
                             f"Model.fingerprint()) or None, got {model_fingerprint!r:.80}")
        self.paths = token_file_paths(path, token_format)
        self.metadata_path = token_file_metadata_path(path, token_format)
        for p in (*self.paths, self.metadata_path):
            check_writable(p)  # before any work
        self.token_format = token_format
        self.dtype = token_dtype(int(vocab_size))
        self.vocab_size = int(vocab_size)
        self.model_fingerprint = model_fingerprint
        self.documents = 0
        self.tokens = 0
        self._lengths: List[np.ndarray] = []
        self._stack: Optional[ExitStack] = None
        self._data: Optional[IO[bytes]] = None
        self._index: Optional[IO[bytes]] = None
        self._metadata: Optional[IO[bytes]] = None

    def __enter__(self) -> "TokenFileWriter":
        with ExitStack() as stack:
            # The three files are renamed into place together (or none is).
            self._data, self._index, self._metadata = stack.enter_context(
                atomic_files([*self.paths, self.metadata_path]))
            if self.token_format == "npy":
                self._data.write(_npy_header(self.dtype, 0))
            self._stack = stack.pop_all()
        return self

    def write(self, ids: np.ndarray, offsets: np.ndarray) -> None:
        """Append the documents ``ids[offsets[d]:offsets[d + 1]]`` (the arrays
        of :meth:`bytepiece.Tokenizer.encode_batch_numpy`)."""
        if self._data is None:
            raise ValueError("write a TokenFileWriter inside its with-block")
        ids = np.asarray(ids)
        offsets = np.asarray(offsets, dtype=np.int64)
        if ids.ndim != 1 or offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(ids) \
                or np.any(np.diff(offsets) < 0):
            raise ValueError("offsets must start at 0, never decrease and end at len(ids)")
        if len(ids) and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"an id is outside 0..{self.vocab_size - 1}")
        self._data.write(ids.astype(self.dtype, copy=False).tobytes())
        self._lengths.append(np.diff(offsets))
        self.documents += len(offsets) - 1
        self.tokens += len(ids)

    def __exit__(self, *exc_info: Any) -> None:
        stack, self._stack = self._stack, None
        assert stack is not None
        try:
            if exc_info[0] is not None:  # the files are deleted: nothing half-written stays
                stack.__exit__(*exc_info)
                return
            with stack:
                self._finish()
        finally:
            self._data = self._index = self._metadata = None

    def metadata(self) -> Dict[str, Any]:
        """The fields of the metadata file (docs/spec/token_files.md §5)."""
        from .. import __version__

        return {
            "bytepiece_token_file": METADATA_VERSION,
            "format": self.token_format,
            "dtype": _stored_dtype(self.token_format, self.dtype).str,
            "vocab_size": self.vocab_size,
            "documents": self.documents,
            "tokens": self.tokens,
            "model_fingerprint": self.model_fingerprint,
            "bytepiece_version": __version__,
        }

    def _finish(self) -> None:
        assert self._data is not None and self._index is not None and self._metadata is not None
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)
        if self.token_format == "npy":
            self._data.seek(0)
            self._data.write(_npy_header(self.dtype, self.tokens))
            offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
            np.save(self._index, offsets)
        else:
            if len(lengths) and lengths.max() > np.iinfo(np.int32).max:
                raise ValueError("a document of 2^31 tokens or more does not fit Megatron's index")
            pointers = (np.cumsum(lengths) - lengths).astype(np.int64) * self.dtype.itemsize
            self._index.write(MEGATRON_MAGIC + _MEGATRON_HEAD.pack(1, _MEGATRON_CODES[self.dtype],
                                                                   self.documents, self.documents + 1))
            self._index.write(lengths.astype("<i4").tobytes())
            self._index.write(pointers.astype("<i8").tobytes())
            self._index.write(np.arange(self.documents + 1, dtype="<i8").tobytes())
        self._metadata.write((json.dumps(self.metadata(), indent=1) + "\n").encode("ascii"))


@dataclass(frozen=True)
class TokenFileMetadata:
    """What a token file's metadata file (``P.bin.bytepiece.json`` or
    ``P.npy.bytepiece.json``) records: the layout, the id type as the files
    declare it (a numpy dtype string such as ``<u2``), the vocabulary size
    and the fingerprint of the model that wrote the ids (None when the writer
    was given none), the number of documents and ids, and the version of
    bytepiece that wrote it. ``path`` is the metadata file."""

    path: str
    format: str
    dtype: str
    vocab_size: int
    documents: int
    tokens: int
    model_fingerprint: Optional[str]
    bytepiece_version: Optional[str]


def _format_of(path: str, token_format: Optional[str]) -> str:
    return token_format or ("npy" if path.endswith(".npy") else "bin")


def _file_size(path: str, what: str) -> int:
    """The size of the regular file ``path`` (``what`` it is, for messages),
    or an OSError / ValueError that says why it cannot be read. Checked
    before opening: opening a FIFO would wait forever for a writer."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot read {path}: {what} does not exist") from None
    except OSError as exc:
        raise OSError(f"cannot read {path} ({what}): {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(f"cannot read {path}: {what} is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"cannot read {path}: {what} is not a regular file")
    return info.st_size


def _open(path: str, what: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise OSError(f"cannot read {path} ({what}): {exc.strerror or exc}") from None


def _read_exactly(f: IO[bytes], path: str, size: int) -> bytes:
    try:
        data = f.read(size)
    except OSError as exc:
        raise OSError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) != size:
        raise ValueError(f"{path}: changed while it was read (expected {size} more bytes, got {len(data)})")
    return data


def _map_ids(path: str, dtype: np.dtype, offset: int, count: int) -> np.ndarray:
    """``count`` ids of ``dtype`` at byte ``offset`` of ``path``, memory-mapped
    (the sizes have been checked against the file)."""
    if count == 0:
        return np.zeros(0, dtype=dtype)
    try:
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(count,))
    except (OSError, ValueError) as exc:
        raise OSError(f"cannot map {path} into memory: {exc}") from None


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _read_megatron(data_path: str, index_path: str) -> Tuple[np.ndarray, np.ndarray, np.dtype]:
    data_size = _file_size(data_path, "the token file")
    index_size = _file_size(index_path, f"the Megatron-LM index (.idx) of {data_path}")
    with _open(index_path, "Megatron-LM index") as f:
        head = f.read(_MEGATRON_HEADER_BYTES)
        if index_size == 0:
            raise ValueError(f"{index_path}: the Megatron-LM index (.idx) is empty (0 bytes)")
        if not head.startswith(MEGATRON_MAGIC) and not MEGATRON_MAGIC.startswith(head):
            raise ValueError(f"{index_path}: not a Megatron-LM index (.idx) file: it does not start with "
                             f"{MEGATRON_MAGIC!r}")
        if len(head) < _MEGATRON_HEADER_BYTES:
            raise ValueError(f"{index_path}: truncated Megatron-LM index: {index_size} bytes, shorter than "
                             f"its {_MEGATRON_HEADER_BYTES}-byte header")
        version, code, sequences, entries = _MEGATRON_HEAD.unpack_from(head, len(MEGATRON_MAGIC))
        if version != 1:
            raise ValueError(f"{index_path}: Megatron-LM index version {version}; bytepiece reads version 1")
        if code not in _MEGATRON_DTYPES:
            raise ValueError(f"{index_path}: dtype code {code} is not a token id type bytepiece reads "
                             "(8: uint16, 4: int32)")
        # Python integers: a hostile header cannot overflow this, and nothing
        # is allocated from the declared counts until they match the file.
        expected = _MEGATRON_HEADER_BYTES + 12 * sequences + 8 * entries
        if index_size != expected:
            raise ValueError(f"{index_path}: {index_size} bytes, but its header declares {sequences} sequences "
                             f"and {entries} document index entries, which take {expected} bytes: the index is "
                             "truncated or corrupt")
        body = _read_exactly(f, index_path, expected - _MEGATRON_HEADER_BYTES)
    lengths = np.frombuffer(body, dtype="<i4", count=sequences).astype(np.int64)
    pointers = np.frombuffer(body, dtype="<i8", count=sequences, offset=4 * sequences)
    document_index = np.frombuffer(body, dtype="<i8", count=entries, offset=12 * sequences)
    if sequences and lengths.min() < 0:
        i = _first(lengths < 0)
        raise ValueError(f"{index_path}: sequence {i} (counting from 0) has a negative length, {lengths[i]}")
    dtype = _MEGATRON_DTYPES[code]
    # At most (2^31 - 1) x sequences: inside int64 for any index below 48 GB.
    ends = np.cumsum(lengths)
    starts = (ends - lengths) * dtype.itemsize
    if not np.array_equal(pointers, starts):
        i = _first(pointers != starts)
        raise ValueError(f"{index_path}: sequence {i} (counting from 0) starts at byte {pointers[i]} of the .bin "
                         f"by its pointer, but at byte {starts[i]} by the lengths before it: Megatron-LM reads "
                         "the pointers and bytepiece the lengths, so they must agree")
    if entries == 0:
        raise ValueError(f"{index_path}: the document index is empty (it holds at least 0)")
    if document_index[0] != 0:
        raise ValueError(f"{index_path}: the document index starts at {document_index[0]}, not 0")
    if entries > 1 and np.any(np.diff(document_index) < 0):
        i = _first(np.diff(document_index) < 0) + 1
        raise ValueError(f"{index_path}: the document index decreases at entry {i} (counting from 0): "
                         f"{document_index[i - 1]}, then {document_index[i]}")
    if document_index[-1] != sequences:
        raise ValueError(f"{index_path}: the document index ends at {document_index[-1]}, not at the number of "
                         f"sequences, {sequences}")
    if entries != sequences + 1 or not np.array_equal(document_index, np.arange(entries)):
        raise ValueError(f"{index_path}: documents made of several sequences (or of none) are not supported: "
                         f"bytepiece reads indexes with one sequence per document (document index 0, 1, ..., "
                         f"{sequences}), as it writes them")
    total = int(ends[-1]) if sequences else 0
    if data_size != total * dtype.itemsize:
        raise ValueError(f"{data_path}: {data_size} bytes, but its index {index_path} describes {total} ids of "
                         f"{dtype.itemsize} bytes ({total * dtype.itemsize} bytes)")
    offsets = np.zeros(sequences + 1, dtype=np.int64)
    offsets[1:] = ends
    return _map_ids(data_path, dtype, 0, total), offsets, dtype


def _npy_layout(path: str, what: str) -> Tuple[np.dtype, int, int]:
    """(dtype, length, data offset) of the one-dimensional .npy array in
    ``path``; ValueError naming the file for anything else."""
    size = _file_size(path, what)
    if size == 0:
        raise ValueError(f"{path}: {what} is empty (0 bytes), not a .npy file")
    with _open(path, what) as f:
        prefix = f.read(10)
        magic = np.lib.format.MAGIC_PREFIX
        if not prefix.startswith(magic) and not magic.startswith(prefix):
            raise ValueError(f"{path}: {what} is not a .npy file (it does not start with {magic!r})")
        if len(prefix) < 10:
            raise ValueError(f"{path}: truncated .npy file ({size} bytes)")
        major, minor = prefix[6], prefix[7]
        if (major, minor) not in ((1, 0), (2, 0)):
            raise ValueError(f"{path}: .npy format version {major}.{minor}; bytepiece reads 1.0 and 2.0")
        length_bytes = 2 if major == 1 else 4
        if major == 2:
            prefix += f.read(2)
        header_length = int.from_bytes(prefix[8:8 + length_bytes], "little")
        # Checked before numpy reads the header: it would allocate what the
        # header length declares.
        if header_length > _NPY_MAX_HEADER or 8 + length_bytes + header_length > size:
            raise ValueError(f"{path}: the .npy header declares {header_length} bytes, more than the file or "
                             f"numpy's limit of {_NPY_MAX_HEADER} bytes allow")
        f.seek(8)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numpy's note on headers written by Python 2
                read_header = (np.lib.format.read_array_header_1_0 if major == 1
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(f)  # the header length is checked above
        except Exception as exc:  # whatever numpy's parser raises on a damaged header
            detail = " ".join(str(exc).split())  # one line, however numpy words it
            raise ValueError(f"{path}: the .npy header is damaged: {detail:.200}") from None
        data_offset = f.tell()
    if len(shape) != 1 or shape[0] < 0:
        raise ValueError(f"{path}: {what} is an array of shape {shape}, not one-dimensional")
    if dtype.hasobject:
        raise ValueError(f"{path}: {what} holds Python objects (dtype {dtype}); bytepiece reads no pickled data")
    count = shape[0]
    if size != data_offset + count * dtype.itemsize:
        raise ValueError(f"{path}: {size} bytes, but its header describes {count} values of {dtype.itemsize} "
                         f"bytes after a {data_offset}-byte header ({data_offset + count * dtype.itemsize} bytes): "
                         "the file is truncated or corrupt")
    return dtype, count, data_offset


def _read_npy(data_path: str, index_path: str) -> Tuple[np.ndarray, np.ndarray, np.dtype]:
    dtype, count, at = _npy_layout(data_path, "the token file")
    if dtype.kind not in "ui" or dtype.fields is not None:
        raise ValueError(f"{data_path}: ids of dtype {dtype}; token ids are integers (bytepiece writes "
                         "uint16 or uint32)")
    offsets_dtype, entries, offsets_at = _npy_layout(index_path, "its offsets file (.offsets.npy)")
    if offsets_dtype.kind != "i" or offsets_dtype.itemsize != 8 or offsets_dtype.fields is not None:
        raise ValueError(f"{index_path}: offsets of dtype {offsets_dtype}, not int64")
    with _open(index_path, "offsets file") as f:
        f.seek(offsets_at)
        raw = _read_exactly(f, index_path, 8 * entries)
    offsets = np.frombuffer(raw, dtype=offsets_dtype).astype(np.int64)
    if entries == 0:
        raise ValueError(f"{index_path}: holds no offsets (it needs at least one: 0)")
    if offsets[0] != 0:
        raise ValueError(f"{index_path}: the offsets start at {offsets[0]}, not 0")
    if entries > 1 and np.any(np.diff(offsets) < 0):
        i = _first(np.diff(offsets) < 0) + 1
        raise ValueError(f"{index_path}: offset {i} (counting from 0) is {offsets[i]}, below offset {i - 1}, "
                         f"{offsets[i - 1]}: offsets never decrease")
    if offsets[-1] != count:
        raise ValueError(f"{index_path}: the offsets end at {offsets[-1]}, but {data_path} holds {count} ids")
    return _map_ids(data_path, dtype, at, count), offsets, dtype


def _integer_field(record: Dict[str, Any], key: str, path: str, minimum: int = 0) -> int:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{path}: '{key}' is {value!r:.60}, not an integer of at least {minimum}")
    return value


def _read_json_record(path: str, name: str, what: str, limit: int, version_key: str, version: int,
                      versions_of: str) -> Dict[str, Any]:
    """The JSON object of the file ``path`` (at most ``limit`` bytes), of the
    kind ``what`` (e.g. "token manifest") whose ``version_key`` must be
    ``version``; ValueError naming the file as ``name`` when it is not (OSError
    when it cannot be read). The metadata file and the manifest share it."""
    size = _file_size(path, f"the {what}")
    if size > limit:
        raise ValueError(f"{name}: {size} bytes, too large for a {what}")
    with _open(path, f"the {what}") as f:
        raw = f.read(limit + 1)
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: not UTF-8 at byte {exc.start}: not a {what}") from None
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{name}: not valid JSON ({exc}): not a {what}") from None
    if not isinstance(record, dict):
        raise ValueError(f"{name}: holds a JSON {type(record).__name__}, not the object of a {what}")
    found = record.get(version_key)
    if found != version or isinstance(found, bool):
        raise ValueError(f"{name}: '{version_key}' is {found!r:.40}; this bytepiece reads version {version} of "
                         f"{versions_of}")
    return record


def _maker_fields(record: Dict[str, Any], name: str) -> Tuple[Optional[str], Optional[str]]:
    """(model_fingerprint, bytepiece_version) of a metadata or manifest
    ``record``, each None when absent; ValueError naming ``name`` when malformed."""
    fingerprint = record.get("model_fingerprint")
    if fingerprint is not None and (not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint)):
        raise ValueError(f"{name}: 'model_fingerprint' is {fingerprint!r:.80}, not 64 lowercase hex digits")
    version_text = record.get("bytepiece_version")
    if version_text is not None and not isinstance(version_text, str):
        raise ValueError(f"{name}: 'bytepiece_version' is {version_text!r:.40}, not a str")
    return fingerprint, version_text


def read_token_file_metadata(path: PathLike, token_format: Optional[str] = None) -> Optional[TokenFileMetadata]:
    """The metadata recorded beside the token file ``path`` (see
    :func:`read_token_file` for ``token_format``), or None when there is no
    metadata file (files of other tools, or of an older bytepiece). Only
    the metadata file is read and checked here; :func:`read_token_file`
    checks it against the token file. ValueError (OSError when it cannot be
    read) naming the metadata file when it is damaged."""
    path = os.fspath(path)
    token_format = _format_of(path, token_format)
    meta_path = token_file_metadata_path(path, token_format)
    if not os.path.lexists(meta_path):
        return None
    record = _read_json_record(meta_path, meta_path, "token file's metadata", _METADATA_MAX_BYTES,
                               "bytepiece_token_file", METADATA_VERSION, "token file metadata")
    if record.get("format") != token_format:
        raise ValueError(f"{meta_path}: describes a token file of format {record.get('format')!r:.40}, "
                         f"but it is read as {token_format}")
    dtype = record.get("dtype")
    if not isinstance(dtype, str) or len(dtype) > 8:
        raise ValueError(f"{meta_path}: 'dtype' is {dtype!r:.40}, not a numpy dtype string")
    fingerprint, version_text = _maker_fields(record, meta_path)
    return TokenFileMetadata(
        path=meta_path, format=token_format, dtype=dtype,
        vocab_size=_integer_field(record, "vocab_size", meta_path, 1),
        documents=_integer_field(record, "documents", meta_path),
        tokens=_integer_field(record, "tokens", meta_path),
        model_fingerprint=fingerprint, bytepiece_version=version_text)


def _check_metadata(meta: TokenFileMetadata, data_path: str, dtype: np.dtype, ids: np.ndarray,
                    offsets: np.ndarray) -> None:
    if meta.dtype != dtype.str:
        raise ValueError(f"{meta.path}: records ids of dtype {meta.dtype}, but {data_path} holds {dtype.str}")
    if meta.documents != len(offsets) - 1 or meta.tokens != len(ids):
        raise ValueError(f"{meta.path}: records {meta.documents} documents and {meta.tokens} ids, but {data_path} "
                         f"holds {len(offsets) - 1} documents and {len(ids)} ids: the files are not from one "
                         "run (or one was changed)")
    most = 1 << (8 * dtype.itemsize - (dtype.kind == "i"))
    if meta.vocab_size > most:
        raise ValueError(f"{meta.path}: records a vocabulary of {meta.vocab_size} ids, more than ids of dtype "
                         f"{dtype.str} can hold")


def read_token_file(path: PathLike, token_format: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
    """(ids, offsets) of a token file written by :class:`TokenFileWriter` (or
    a Megatron ``.bin``/``.idx`` pair whose documents are single sequences,
    or a ``.npy`` with its ``.offsets.npy`` from another tool): ids
    memory-mapped, document ``d`` is ``ids[offsets[d]:offsets[d + 1]]``.
    ``token_format`` (None: from the extension, ``.npy`` or else ``bin``).

    Every field of both files is checked first (and the metadata file's
    counts, when there is one: :func:`read_token_file_metadata`): a damaged
    or foreign file raises ValueError, and a missing or unreadable one
    OSError, naming the file and the entry that is wrong. The ids' values
    are not checked against any vocabulary here (that would read every id):
    decoding checks them.

    A manifest (a path ending in ``.manifest.json``, :func:`read_token_manifest`)
    reads as the token file its shards make together: every shard is checked
    against it, then their ids are joined in memory (:func:`read_token_shards`
    reads one shard at a time instead)."""
    path = os.fspath(path)
    if token_format is None and path.endswith(MANIFEST_SUFFIX):
        return _read_manifest_whole(path)
    token_format = _format_of(path, token_format)
    data_path, index_path = token_file_paths(path, token_format)
    if token_format == "npy":
        ids, offsets, dtype = _read_npy(data_path, index_path)
    else:
        ids, offsets, dtype = _read_megatron(data_path, index_path)
    meta = read_token_file_metadata(path, token_format)
    if meta is not None:
        _check_metadata(meta, data_path, dtype, ids, offsets)
    return ids, offsets


# -- manifests: one corpus as token files in shards (docs/spec/token_files.md §7) ----------------

#: What a manifest's name adds to the name of the token file it stands for:
#: ``-o train.bin`` in shards gives ``train.bin.manifest.json``.
MANIFEST_SUFFIX = ".manifest.json"

#: The version of the manifest's fields (its ``bytepiece_token_manifest`` value).
MANIFEST_VERSION = 1

# About 80 bytes per shard: a million shards. A manifest far larger is not one.
_MANIFEST_MAX_BYTES = 1 << 27
# The dtype strings of integer ids that numpy gives a token file's ids (``ids.dtype.str``).
_ID_DTYPE = re.compile(r"[<>|][ui][1248]")


def token_manifest_path(path: PathLike, token_format: str) -> str:
    """The manifest written for the token file ``path`` when it is written in
    shards: its data file's name followed by ``.manifest.json``
    (``P.bin.manifest.json`` or ``P.npy.manifest.json``)."""
    return token_file_paths(path, token_format)[0] + MANIFEST_SUFFIX


def token_shard_path(path: PathLike, token_format: str, index: int, count: int) -> str:
    """The data file of shard ``index`` (from 0) of ``count`` of the token file
    ``path``: ``P.00000.bin`` ... (five digits, more when ``count`` needs them)."""
    if not 0 <= index < max(count, 1):
        raise ValueError(f"shard {index} of {count}")
    width = max(5, len(str(count - 1)))
    prefix = token_file_paths(path, token_format)[0][:-len(token_format) - 1]
    return f"{prefix}.{index:0{width}d}.{token_format}"


@dataclass(frozen=True)
class TokenShard:
    """One shard of a manifest: its token file (``path``, the data file, as
    :func:`read_token_file` takes it), its documents and ids, and where they
    start in the whole (``first_document``, ``first_token``)."""

    path: str
    documents: int
    tokens: int
    first_document: int
    first_token: int

    @property
    def prefix(self) -> str:
        """The data file's path without its extension: Megatron-LM's data prefix."""
        return os.path.splitext(self.path)[0]


@dataclass(frozen=True)
class TokenManifest:
    """A manifest (``P.bin.manifest.json``): the layout and id type of its
    shards, the vocabulary size and model fingerprint they were written with,
    the totals, and the shards in corpus order (paths joined to the
    manifest's folder). ``path`` is the manifest file."""

    path: str
    format: str
    dtype: str
    vocab_size: int
    documents: int
    tokens: int
    model_fingerprint: Optional[str]
    bytepiece_version: Optional[str]
    shards: Tuple[TokenShard, ...]

    def megatron_data_path(self) -> List[str]:
        """Megatron-LM's ``--data-path`` arguments for the shards: ``weight
        prefix`` pairs, each weight the shard's ids, so that a blend of the
        shards draws every token as often as the one token file would."""
        return [str(item) for shard in self.shards if shard.tokens for item in (shard.tokens, shard.prefix)]


def write_token_manifest(path: PathLike, token_format: str, vocab_size: int, model_fingerprint: Optional[str],
                         shards: Sequence[Tuple[PathLike, int, int]]) -> TokenManifest:
    """Write the manifest ``path`` (whole or not at all) listing ``shards``,
    (data file, documents, ids) in corpus order; every data file must lie in
    the manifest's folder (it is recorded by its name, so the folder can be
    moved). Returns the manifest as :func:`read_token_manifest` would."""
    path = check_writable(path)
    if token_format not in TOKEN_FORMATS:
        raise ValueError(f"token_format must be one of {TOKEN_FORMATS}, got {token_format!r}")
    if model_fingerprint is not None and (not isinstance(model_fingerprint, str)
                                          or not _FINGERPRINT.fullmatch(model_fingerprint)):
        raise ValueError("model_fingerprint must be a model's fingerprint (64 lowercase hex digits) or None, "
                         f"got {model_fingerprint!r:.80}")
    folder = os.path.dirname(os.path.abspath(path))
    listed: List[Dict[str, Any]] = []
    total_documents = total_tokens = 0
    for shard, documents, tokens in shards:
        shard = os.fspath(shard)
        if os.path.dirname(os.path.abspath(shard)) != folder:
            raise ValueError(f"shard {shard} is not in the manifest's folder {folder}")
        listed.append({"path": os.path.basename(shard), "documents": int(documents), "tokens": int(tokens)})
        total_documents += int(documents)
        total_tokens += int(tokens)
    from .. import __version__

    record = {
        "bytepiece_token_manifest": MANIFEST_VERSION,
        "format": token_format,
        "dtype": _stored_dtype(token_format, token_dtype(int(vocab_size))).str,
        "vocab_size": int(vocab_size),
        "documents": total_documents,
        "tokens": total_tokens,
        "model_fingerprint": model_fingerprint,
        "bytepiece_version": __version__,
        "shards": listed,
    }
    # One shard per line: a manifest of many shards stays readable.
    body = json.dumps({k: v for k, v in record.items() if k != "shards"}, indent=1)[:-2]
    lines = ",\n  ".join(json.dumps(s) for s in listed)
    text = body + ',\n "shards": [' + ("\n  " + lines + "\n " if listed else "") + "]\n}\n"
    manifest: List[TokenManifest] = []
    with atomic_file(path, check=lambda temp: manifest.append(_parse_manifest(temp, path))) as f:
        f.write(text.encode("ascii"))
    return manifest[0]


def read_token_manifest(path: PathLike) -> TokenManifest:
    """The manifest ``path`` (``P.bin.manifest.json``), checked: its fields,
    their types, shard names (plain file names in the manifest's folder, each
    once, with the format's extension) and that the shards' counts add up to
    the totals. Only the manifest is read; :func:`read_token_shards` checks
    each shard's files against it. ValueError (OSError when it cannot be
    read) naming the manifest and the entry that is wrong."""
    path = os.fspath(path)
    return _parse_manifest(path, path)


def _parse_manifest(path: str, name: str) -> TokenManifest:
    """:func:`read_token_manifest` of the file ``path``, named ``name`` in
    messages and in the result (a manifest being written is checked under its
    temporary name)."""
    record = _read_json_record(path, name, "token manifest", _MANIFEST_MAX_BYTES, "bytepiece_token_manifest",
                               MANIFEST_VERSION, "token manifests")
    token_format = record.get("format")
    if token_format not in TOKEN_FORMATS:
        raise ValueError(f"{name}: 'format' is {token_format!r:.40}, not one of {TOKEN_FORMATS}")
    dtype = record.get("dtype")
    if not isinstance(dtype, str) or not _ID_DTYPE.fullmatch(dtype):
        raise ValueError(f"{name}: 'dtype' is {dtype!r:.40}, not the numpy dtype string of integer ids "
                         "(such as '<u2')")
    fingerprint, version_text = _maker_fields(record, name)
    listed = record.get("shards")
    if not isinstance(listed, list):
        raise ValueError(f"{name}: 'shards' is {type(listed).__name__}, not a list")
    folder = os.path.dirname(name)
    shards: List[TokenShard] = []
    seen = set()
    documents = tokens = 0
    for i, entry in enumerate(listed):
        where = f"{name}: shard {i} (counting from 0)"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is a JSON {type(entry).__name__}, not an object")
        file_name = entry.get("path")
        # A plain name in the manifest's folder: a manifest cannot point a reader elsewhere.
        if not isinstance(file_name, str) or not file_name.endswith("." + token_format) or "/" in file_name \
                or "\\" in file_name or "\0" in file_name or file_name.startswith(".") or len(file_name) > 255:
            raise ValueError(f"{where}: 'path' is {file_name!r:.80}, not the name of a .{token_format} file in the "
                             "manifest's folder")
        if file_name in seen:
            raise ValueError(f"{where}: {file_name} is listed twice")
        seen.add(file_name)
        shard_documents = _integer_field(entry, "documents", where)
        shard_tokens = _integer_field(entry, "tokens", where)
        shards.append(TokenShard(os.path.join(folder, file_name), shard_documents, shard_tokens, documents, tokens))
        documents += shard_documents
        tokens += shard_tokens
    meta = TokenManifest(path=name, format=token_format, dtype=dtype,
                         vocab_size=_integer_field(record, "vocab_size", name, 1),
                         documents=_integer_field(record, "documents", name),
                         tokens=_integer_field(record, "tokens", name),
                         model_fingerprint=fingerprint, bytepiece_version=version_text, shards=tuple(shards))
    if (meta.documents, meta.tokens) != (documents, tokens):
        raise ValueError(f"{name}: records {meta.documents} documents and {meta.tokens} ids, but its shards add up "
                         f"to {documents} documents and {tokens} ids")
    return meta


def read_token_shards(path: PathLike) -> Iterator[Tuple[TokenShard, np.ndarray, np.ndarray]]:
    """(shard, ids, offsets) of every shard of the manifest ``path``, in
    corpus order, one at a time (ids memory-mapped, offsets from 0 within the
    shard): each shard's files are checked as :func:`read_token_file` checks
    them, and against the manifest (layout, id type, counts, and the model
    fingerprint and vocabulary size of its metadata file) before it is given."""
    manifest = read_token_manifest(path)
    for shard in manifest.shards:
        yield shard, *_read_shard(manifest, shard)


def _read_shard(manifest: TokenManifest, shard: TokenShard) -> Tuple[np.ndarray, np.ndarray]:
    ids, offsets = read_token_file(shard.path, manifest.format)
    where = f"{manifest.path}: shard {shard.path}"
    stored = ids.dtype.str
    if stored != manifest.dtype:
        raise ValueError(f"{where} holds ids of dtype {stored}, but the manifest records {manifest.dtype}")
    if (len(offsets) - 1, len(ids)) != (shard.documents, shard.tokens):
        raise ValueError(f"{where} holds {len(offsets) - 1} documents and {len(ids)} ids, but the manifest records "
                         f"{shard.documents} and {shard.tokens}: the files are not from one run (or one was changed)")
    meta = read_token_file_metadata(shard.path, manifest.format)
    if meta is not None and (meta.model_fingerprint, meta.vocab_size) != (manifest.model_fingerprint,
                                                                        manifest.vocab_size):
        raise ValueError(f"{where} records another model (fingerprint {str(meta.model_fingerprint)[:16]}..., "
                         f"vocabulary {meta.vocab_size}) than the manifest (fingerprint "
                         f"{str(manifest.model_fingerprint)[:16]}..., vocabulary {manifest.vocab_size})")
    return ids, offsets


def _read_manifest_whole(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`read_token_file` of a manifest: every shard checked, then joined."""
    manifest = read_token_manifest(path)
    parts = [_read_shard(manifest, shard) for shard in manifest.shards]  # all checked before any is joined
    ids = np.empty(manifest.tokens, dtype=np.dtype(manifest.dtype))
    offsets = np.zeros(manifest.documents + 1, dtype=np.int64)
    for shard, (shard_ids, shard_offsets) in zip(manifest.shards, parts):
        ids[shard.first_token:shard.first_token + shard.tokens] = shard_ids
        offsets[shard.first_document + 1:shard.first_document + shard.documents + 1] = \
            shard_offsets[1:] + shard.first_token
    return ids, offsets
