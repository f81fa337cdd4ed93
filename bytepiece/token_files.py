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

Ids are uint16 when the vocabulary has at most 65536 ids, else 32-bit
(uint32 in ``.npy``; int32 in the Megatron index, which has no uint32 code:
the bytes are the same for every id below 2^31). Files appear whole or not at
all (:mod:`bytepiece.outputs`).
"""
from __future__ import annotations

import os
import struct
from contextlib import ExitStack
from typing import IO, Any, Dict, List, Optional, Tuple, Union

import numpy as np

from .outputs import atomic_files, check_writable

__all__ = ["TOKEN_FORMATS", "token_dtype", "token_file_paths", "TokenFileWriter", "read_token_file"]

#: The binary layouts ``bytepiece encode --output-format`` can write.
TOKEN_FORMATS = ("bin", "npy")

PathLike = Union[str, "os.PathLike[str]"]

MEGATRON_MAGIC = b"MMIDIDX\x00\x00"
_MEGATRON_CODES = {np.dtype(np.uint16): 8, np.dtype(np.uint32): 4}  # 4 is int32: same bytes below 2^31
_MEGATRON_DTYPES: Dict[int, np.dtype] = {8: np.dtype("<u2"), 4: np.dtype("<i4")}
# A fixed-size .npy header, rewritten with the final shape at the end.
_NPY_HEADER_BYTES = 128


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


def _npy_header(dtype: np.dtype, length: int) -> bytes:
    text = f"{{'descr': {dtype.str!r}, 'fortran_order': False, 'shape': ({length},), }}".encode("latin1")
    pad = _NPY_HEADER_BYTES - len(np.lib.format.MAGIC_PREFIX) - 2 - 2 - len(text) - 1
    return np.lib.format.magic(1, 0) + struct.pack("<H", len(text) + pad + 1) + text + b" " * pad + b"\n"


class TokenFileWriter:
    """Writes documents' ids to a token file in ``token_format`` (``bin`` or
    ``npy``) for a vocabulary of ``vocab_size`` ids; use it in a with-block,
    which makes the files appear when it ends without an error::

        with TokenFileWriter("train.bin", "bin", tok.vocab_size) as out:
            for batch in batches:
                out.write(*tok.encode_batch_numpy(batch, add_eos=True))
    """

    def __init__(self, path: PathLike, token_format: str, vocab_size: int) -> None:
        self.paths = token_file_paths(path, token_format)
        for p in self.paths:
            check_writable(p)  # before any work
        self.token_format = token_format
        self.dtype = token_dtype(vocab_size)
        self.vocab_size = vocab_size
        self.documents = 0
        self.tokens = 0
        self._lengths: List[np.ndarray] = []
        self._stack: Optional[ExitStack] = None
        self._data: Optional[IO[bytes]] = None
        self._index: Optional[IO[bytes]] = None

    def __enter__(self) -> "TokenFileWriter":
        with ExitStack() as stack:
            self._data, self._index = stack.enter_context(atomic_files(self.paths))
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
        if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(ids):
            raise ValueError("offsets must start at 0 and end at len(ids)")
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
            self._data = self._index = None

    def _finish(self) -> None:
        assert self._data is not None and self._index is not None
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)
        if self.token_format == "npy":
            self._data.seek(0)
            self._data.write(_npy_header(self.dtype, self.tokens))
            offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
            np.save(self._index, offsets)
            return
        if len(lengths) and lengths.max() > np.iinfo(np.int32).max:
            raise ValueError("a document of 2^31 tokens or more does not fit Megatron's index")
        pointers = (np.cumsum(lengths) - lengths).astype(np.int64) * self.dtype.itemsize
        self._index.write(MEGATRON_MAGIC + struct.pack("<QBQQ", 1, _MEGATRON_CODES[self.dtype],
                                                       self.documents, self.documents + 1))
        self._index.write(lengths.astype("<i4").tobytes())
        self._index.write(pointers.astype("<i8").tobytes())
        self._index.write(np.arange(self.documents + 1, dtype="<i8").tobytes())


def read_token_file(path: PathLike, token_format: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
    """(ids, offsets) of a token file written by :class:`TokenFileWriter` (or
    a Megatron ``.bin``/``.idx`` pair whose documents are single sequences):
    ids memory-mapped, document ``d`` is ``ids[offsets[d]:offsets[d + 1]]``.
    ``token_format`` (None: from the extension, ``.npy`` or else ``bin``)."""
    path = os.fspath(path)
    token_format = token_format or ("npy" if path.endswith(".npy") else "bin")
    data_path, index_path = token_file_paths(path, token_format)
    if token_format == "npy":
        ids = np.load(data_path, mmap_mode="r")
        offsets = np.load(index_path)
        if ids.ndim != 1 or offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(ids):
            raise ValueError(f"{data_path}: the ids and {index_path} do not match")
        return ids, offsets
    with open(index_path, "rb") as f:
        index = f.read()
    head = struct.calcsize("<QBQQ")
    if index[:len(MEGATRON_MAGIC)] != MEGATRON_MAGIC or len(index) < len(MEGATRON_MAGIC) + head:
        raise ValueError(f"{index_path}: not a Megatron-LM index (.idx) file")
    version, code, sequences, documents = struct.unpack_from("<QBQQ", index, len(MEGATRON_MAGIC))
    if version != 1 or code not in _MEGATRON_DTYPES:
        raise ValueError(f"{index_path}: unsupported index version {version} or dtype code {code}")
    at = len(MEGATRON_MAGIC) + head
    if len(index) != at + 12 * sequences + 8 * documents:
        raise ValueError(f"{index_path}: truncated or corrupt index")
    lengths = np.frombuffer(index, dtype="<i4", count=sequences, offset=at).astype(np.int64)
    document_index = np.frombuffer(index, dtype="<i8", count=documents, offset=at + 12 * sequences)
    if not np.array_equal(document_index, np.arange(sequences + 1)):
        raise ValueError(f"{index_path}: documents of several sequences are not supported")
    dtype = _MEGATRON_DTYPES[code]
    size = os.path.getsize(data_path)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    if size != offsets[-1] * dtype.itemsize:
        raise ValueError(f"{data_path}: {size} bytes, but the index describes {offsets[-1]} ids")
    ids = np.memmap(data_path, dtype=dtype, mode="r") if size else np.zeros(0, dtype=dtype)
    return ids, offsets
