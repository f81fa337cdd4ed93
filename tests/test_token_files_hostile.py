"""Token files are checked whole before use and tied to the model that made them.

Damaged and hostile token files (crafted byte by byte with struct and numpy)
are refused by ``read_token_file`` with a ValueError (OSError for files that
cannot be read) naming the file and what is wrong; through ``bytepiece
decode`` in a child process with time and memory caps they give one
``bytepiece: error:`` line. The metadata file beside every token file
records the model's fingerprint: decode refuses another model's files
unless told to ignore it. A fuzz test mutates valid files at random: every
outcome is a consistent read or a refusal naming the file
(docs/spec/token_files.md §5-6). ``BYTEPIECE_FUZZ_EXAMPLES`` runs it longer.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import struct
import tempfile
from typing import Callable, Dict, List, Optional

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bytepiece
from bytepiece.outputs.token_files import (MEGATRON_MAGIC, TOKEN_FORMATS, TokenFileWriter, read_token_file,
                                   read_token_file_metadata, token_file_metadata_path, token_file_paths)
from conftest import MODEL_40K, TINY_COUNTS
from hostile import expect_cli_error, expect_ok, run_cli

FINGERPRINT = "0123456789abcdef" * 4
DOCS = [[5, 6, 7], [], [300], [9, 10, 11, 12]]


def _arrays(docs: List[List[int]] = DOCS):
    ids = np.array([i for d in docs for i in d], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in docs])]).astype(np.int64)
    return ids, offsets


def write_valid(folder: pathlib.Path, token_format: str, fingerprint: Optional[str] = FINGERPRINT,
                vocab_size: int = 1000, docs: List[List[int]] = DOCS) -> pathlib.Path:
    """A token file ``folder/t.FORMAT`` of ``docs`` written by TokenFileWriter."""
    path = folder / f"t.{token_format}"
    with TokenFileWriter(path, token_format, vocab_size, fingerprint) as out:
        out.write(*_arrays(docs))
    return path


def megatron_index(lengths, *, code: int = 8, version: int = 1, pointers=None, document_index=None,
                   sequences: Optional[int] = None, entries: Optional[int] = None,
                   magic: bytes = MEGATRON_MAGIC) -> bytes:
    """A Megatron-LM .idx, byte by byte; every field can be overridden."""
    lengths = np.asarray(lengths, dtype="<i4")
    size = 2 if code == 8 else 4
    if pointers is None:
        pointers = (np.cumsum(lengths, dtype=np.int64) - lengths) * size
    if document_index is None:
        document_index = np.arange(len(lengths) + 1)
    head = struct.pack("<QBQQ", version, code, len(lengths) if sequences is None else sequences,
                       len(document_index) if entries is None else entries)
    return (magic + head + lengths.tobytes() + np.asarray(pointers, dtype="<i8").tobytes()
            + np.asarray(document_index, dtype="<i8").tobytes())


def write_bin(folder: pathlib.Path, lengths, *, ids_bytes: Optional[bytes] = None, **index) -> pathlib.Path:
    """``folder/t.bin`` and ``t.idx`` for ``lengths`` (no metadata file), the
    .bin holding as many uint16 ids as the valid lengths describe."""
    total = sum(max(int(n), 0) for n in lengths)
    if ids_bytes is None:
        ids_bytes = (np.arange(total) % 250).astype("<u2").tobytes()
    (folder / "t.bin").write_bytes(ids_bytes)
    (folder / "t.idx").write_bytes(megatron_index(lengths, **index))
    return folder / "t.bin"


def write_npy(folder: pathlib.Path, ids, offsets, *, raw_ids: Optional[bytes] = None,
              raw_offsets: Optional[bytes] = None) -> pathlib.Path:
    """``folder/t.npy`` and ``t.offsets.npy`` (no metadata file), saved by numpy or given raw."""
    if raw_ids is not None:
        (folder / "t.npy").write_bytes(raw_ids)
    else:
        np.save(folder / "t.npy", ids, allow_pickle=True)
    if raw_offsets is not None:
        (folder / "t.offsets.npy").write_bytes(raw_offsets)
    else:
        np.save(folder / "t.offsets.npy", offsets, allow_pickle=True)
    return folder / "t.npy"


def refused(path: pathlib.Path, names: pathlib.Path, match: str, kind=ValueError) -> str:
    """read_token_file(path) raised ``kind`` naming the file ``names`` with a
    message matching ``match``; returns the message."""
    with pytest.raises(kind) as info:
        read_token_file(path)
    message = str(info.value)
    assert str(names) in message, message
    assert re.search(match, message), f"{message!r} does not match {match!r}"
    assert "\n" not in message
    return message


def _npy_bytes(header: Dict[str, object], body: bytes = b"", version=(1, 0)) -> bytes:
    text = repr(header).encode("latin1") + b"\n"
    if version == (1, 0):
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + body
    return b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(text)) + text + body


# -- what is written -------------------------------------------------------


@pytest.mark.parametrize("token_format", TOKEN_FORMATS)
def test_the_three_files_appear_together_with_the_metadata(tmp_path, token_format):
    path = write_valid(tmp_path, token_format)
    data, index = token_file_paths(path, token_format)
    meta_path = token_file_metadata_path(path, token_format)
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in (data, index, meta_path))
    assert meta_path == data + ".bytepiece.json"
    record = json.loads(pathlib.Path(meta_path).read_text())
    dtype = "<u2"
    assert record == {"bytepiece_token_file": 1, "format": token_format, "dtype": dtype, "vocab_size": 1000,
                      "documents": 4, "tokens": 8, "model_fingerprint": FINGERPRINT,
                      "bytepiece_version": bytepiece.__version__}
    meta = read_token_file_metadata(path)
    assert (meta.format, meta.dtype, meta.documents, meta.tokens, meta.model_fingerprint, meta.path) == \
        (token_format, dtype, 4, 8, FINGERPRINT, meta_path)
    ids, offsets = read_token_file(path)
    assert [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])] == DOCS


def test_bin_and_npy_of_one_name_keep_their_own_metadata(tmp_path):
    write_valid(tmp_path, "bin", vocab_size=100000)
    write_valid(tmp_path, "npy", vocab_size=100000)
    assert read_token_file_metadata(tmp_path / "t.bin").dtype == "<i4"  # Megatron's int32
    assert read_token_file_metadata(tmp_path / "t.npy").dtype == "<u4"
    for token_format in TOKEN_FORMATS:
        read_token_file(tmp_path / f"t.{token_format}")


def test_writer_checks_its_fingerprint_and_vocabulary(tmp_path):
    for bad in ("abc", FINGERPRINT.upper(), FINGERPRINT + "0", 12):
        with pytest.raises(ValueError, match="model_fingerprint"):
            TokenFileWriter(tmp_path / "t.bin", "bin", 1000, bad)
    for bad in (0, -5, True, 2.5):
        with pytest.raises(ValueError, match="vocab_size"):
            TokenFileWriter(tmp_path / "t.bin", "bin", bad)
    with pytest.raises(ValueError, match="never decrease"):
        with TokenFileWriter(tmp_path / "t.npy", "npy", 100) as out:
            out.write(np.array([5, 6]), np.array([0, 2, 1, 2]))
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "t.bin.bytepiece.json").mkdir()  # the metadata file's place is taken: refused before any work
    with pytest.raises(IsADirectoryError, match="t.bin.bytepiece.json"):
        TokenFileWriter(tmp_path / "t.bin", "bin", 1000)


def test_no_fingerprint_is_recorded_as_null(tmp_path):
    path = write_valid(tmp_path, "bin", fingerprint=None)
    assert read_token_file_metadata(path).model_fingerprint is None
    assert json.loads((tmp_path / "t.bin.bytepiece.json").read_text())["model_fingerprint"] is None


def test_files_without_metadata_still_read(tmp_path):
    path = write_valid(tmp_path, "npy")
    os.unlink(tmp_path / "t.npy.bytepiece.json")
    assert read_token_file_metadata(path) is None
    assert read_token_file(path)[1].tolist() == [0, 3, 3, 4, 8]


def test_what_megatron_reads_is_what_bytepiece_reads(tmp_path):
    # The pointers decide Megatron-LM's documents and the lengths ours: a file
    # where they disagree would train on other tokens than it decodes to.
    write_bin(tmp_path, [2, 2], pointers=[2, 0])
    refused(tmp_path / "t.bin", tmp_path / "t.idx", r"sequence 0 \(counting from 0\) starts at byte 2 .* "
                                                     r"Megatron-LM reads the pointers")


# -- Megatron .bin/.idx --------------------------------------------------------

BIN_CASES: Dict[str, tuple] = {
    # name: (build(folder) -> path given to the reader, the file named, what the message says)
    "empty index": (lambda d: (write_bin(d, [1]), (d / "t.idx").write_bytes(b""))[0], "t.idx", "is empty"),
    "text index": (lambda d: (write_bin(d, [1]), (d / "t.idx").write_text("ids 1 2 3\n" * 5))[0], "t.idx",
                   "not a Megatron-LM index"),
    "npy as index": (lambda d: (write_bin(d, [1]), np.save(d / "x.npy", np.arange(9)),
                                os.replace(d / "x.npy", d / "t.idx"))[0], "t.idx", "not a Megatron-LM index"),
    "magic only": (lambda d: (write_bin(d, [1]), (d / "t.idx").write_bytes(MEGATRON_MAGIC[:5]))[0], "t.idx",
                   "truncated Megatron-LM index: 5 bytes"),
    "header cut": (lambda d: (write_bin(d, [1]), (d / "t.idx").write_bytes(megatron_index([1])[:20]))[0],
                   "t.idx", "truncated Megatron-LM index"),
    "version 2": (lambda d: write_bin(d, [1], version=2), "t.idx", "index version 2; bytepiece reads version 1"),
    "float dtype code": (lambda d: write_bin(d, [1], code=6), "t.idx", "dtype code 6 is not"),
    "huge sequences": (lambda d: write_bin(d, [1], sequences=1 << 62), "t.idx",
                       "header declares 4611686018427387904 sequences"),
    "huge entries": (lambda d: write_bin(d, [1], entries=(1 << 64) - 1), "t.idx", "document index entries"),
    "index cut": (lambda d: (write_bin(d, [1, 2]), (d / "t.idx").write_bytes(megatron_index([1, 2])[:-3]))[0],
                  "t.idx", "truncated or corrupt"),
    "index too long": (lambda d: (write_bin(d, [1, 2]),
                                  (d / "t.idx").write_bytes(megatron_index([1, 2]) + b"\0" * 8))[0],
                       "t.idx", "truncated or corrupt"),
    "negative length": (lambda d: write_bin(d, [3, -2, 4]), "t.idx",
                        r"sequence 1 \(counting from 0\) has a negative length, -2"),
    "pointer off": (lambda d: write_bin(d, [3, 2, 4], pointers=[0, 6, 11]), "t.idx",
                    r"sequence 2 \(counting from 0\) starts at byte 11 .* at byte 10"),
    "decreasing pointers": (lambda d: write_bin(d, [1, 1, 1], pointers=[0, 4, 2]), "t.idx", "sequence 1"),
    "pointer out of range": (lambda d: write_bin(d, [1, 1], pointers=[0, 1 << 40]), "t.idx", "sequence 1"),
    "document index from 1": (lambda d: write_bin(d, [1, 1], document_index=[1, 1, 2]), "t.idx",
                              "document index starts at 1, not 0"),
    "document index decreasing": (lambda d: write_bin(d, [1, 1], document_index=[0, 2, 1, 2]), "t.idx",
                                  r"decreases at entry 2 \(counting from 0\): 2, then 1"),
    "document index short end": (lambda d: write_bin(d, [1, 1], document_index=[0, 1]), "t.idx",
                                 "ends at 1, not at the number of sequences, 2"),
    "document index past end": (lambda d: write_bin(d, [1, 1], document_index=[0, 1, 7]), "t.idx",
                                "ends at 7"),
    "empty document index": (lambda d: write_bin(d, [1], document_index=[]), "t.idx",
                             "document index is empty"),
    "several sequences per document": (lambda d: write_bin(d, [1, 1, 1], document_index=[0, 2, 3]), "t.idx",
                                       "documents made of several sequences .* not supported"),
    "documents of no sequence": (lambda d: write_bin(d, [1, 1], document_index=[0, 1, 1, 2]), "t.idx",
                                 "several sequences \\(or of none\\)"),
    "bin too short": (lambda d: write_bin(d, [2, 3], ids_bytes=b"\0" * 8), "t.bin",
                      "8 bytes, but its index .* describes 5 ids of 2 bytes"),
    "bin too long": (lambda d: write_bin(d, [2, 3], ids_bytes=b"\0" * 12), "t.bin", "describes 5 ids"),
    "odd bin": (lambda d: write_bin(d, [0], ids_bytes=b"\0"), "t.bin", "1 bytes"),
}


@pytest.mark.parametrize("case", sorted(BIN_CASES))
def test_damaged_megatron_files_are_refused(tmp_path, case):
    build, named, match = BIN_CASES[case]
    refused(build(tmp_path), tmp_path / named, match)


def test_missing_and_unreadable_megatron_files(tmp_path):
    write_bin(tmp_path, [1, 2])
    os.unlink(tmp_path / "t.idx")
    refused(tmp_path / "t.bin", tmp_path / "t.idx", "Megatron-LM index .* of .*t.bin does not exist",
            FileNotFoundError)
    (tmp_path / "t.idx").mkdir()
    refused(tmp_path / "t.bin", tmp_path / "t.idx", "is a directory", IsADirectoryError)
    os.rmdir(tmp_path / "t.idx")
    write_bin(tmp_path, [1, 2])
    os.unlink(tmp_path / "t.bin")
    refused(tmp_path / "t.bin", tmp_path / "t.bin", "the token file does not exist", FileNotFoundError)
    (tmp_path / "t.bin").mkdir()
    refused(tmp_path / "t.bin", tmp_path / "t.bin", "is a directory", IsADirectoryError)
    os.rmdir(tmp_path / "t.bin")
    os.mkfifo(tmp_path / "t.bin")  # opening it would wait for a writer forever
    refused(tmp_path / "t.bin", tmp_path / "t.bin", "not a regular file")
    if os.geteuid() != 0:  # root reads anything
        os.unlink(tmp_path / "t.bin")
        write_bin(tmp_path, [1, 2])
        (tmp_path / "t.idx").chmod(0)
        refused(tmp_path / "t.bin", tmp_path / "t.idx", "Permission denied", PermissionError)


# -- .npy + .offsets.npy ---------------------------------------------------------

U2 = np.arange(6, dtype="<u2")
OFFSETS = np.array([0, 2, 6], dtype=np.int64)


def _header_of(ids_dtype: str, shape) -> Dict[str, object]:
    return {"descr": ids_dtype, "fortran_order": False, "shape": shape}


NPY_CASES: Dict[str, tuple] = {
    "empty ids": (lambda d: write_npy(d, None, OFFSETS, raw_ids=b""), "t.npy", "is empty"),
    "text as ids": (lambda d: write_npy(d, None, OFFSETS, raw_ids=b"1 2 3\n4 5 6\n"), "t.npy", "not a .npy file"),
    "npz as ids": (lambda d: (np.savez(d / "x.npz", a=U2), os.replace(d / "x.npz", d / "x.npy"),
                              write_npy(d, None, OFFSETS, raw_ids=(d / "x.npy").read_bytes()))[2],
                   "t.npy", "not a .npy file"),
    "magic only": (lambda d: write_npy(d, None, OFFSETS, raw_ids=b"\x93NUMP"), "t.npy", "truncated .npy"),
    "version 3": (lambda d: write_npy(d, None, OFFSETS, raw_ids=_npy_bytes(_header_of("<u2", (6,)),
                                                                           U2.tobytes(), (3, 0))),
                  "t.npy", "format version 3.0"),
    "huge header length": (lambda d: write_npy(d, None, OFFSETS,
                                               raw_ids=b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0)),
                           "t.npy", "header declares 4294967280 bytes"),
    "garbage header": (lambda d: write_npy(d, None, OFFSETS, raw_ids=b"\x93NUMPY\x01\x00\x08\x00{[}(]:)\n"),
                       "t.npy", "header is damaged"),
    "header missing keys": (lambda d: write_npy(d, None, OFFSETS, raw_ids=_npy_bytes({"descr": "<u2"})),
                            "t.npy", "header is damaged"),
    "unknown descr": (lambda d: write_npy(d, None, OFFSETS, raw_ids=_npy_bytes(_header_of("<q9", (1,)))),
                      "t.npy", "header is damaged"),
    "2-D ids": (lambda d: write_npy(d, U2.reshape(2, 3), OFFSETS), "t.npy", r"shape \(2, 3\), not one-dim"),
    "0-D ids": (lambda d: write_npy(d, np.uint16(3), np.array([0, 1])), "t.npy", "not one-dimensional"),
    "negative shape": (lambda d: write_npy(d, None, OFFSETS, raw_ids=_npy_bytes(_header_of("<u2", (-1,)))),
                       "t.npy", "not one-dimensional"),
    "huge shape": (lambda d: write_npy(d, None, OFFSETS, raw_ids=_npy_bytes(_header_of("<u2", (1 << 62,)))),
                   "t.npy", "truncated or corrupt"),
    "float ids": (lambda d: write_npy(d, U2.astype(np.float32), OFFSETS), "t.npy", "ids of dtype float32"),
    "bool ids": (lambda d: write_npy(d, U2.astype(bool), OFFSETS), "t.npy", "ids of dtype bool"),
    "structured ids": (lambda d: write_npy(d, np.zeros(6, dtype=[("a", "<u2")]), OFFSETS), "t.npy", "ids of dtype"),
    "pickled ids": (lambda d: write_npy(d, np.array([1, None, "x"], dtype=object), np.array([0, 3])), "t.npy",
                    "holds Python objects"),
    "ids cut": (lambda d: write_npy(d, None, OFFSETS, raw_ids=_npy_bytes(_header_of("<u2", (6,)), b"\0" * 11)),
                "t.npy", "truncated or corrupt"),
    "ids too long": (lambda d: write_npy(d, None, OFFSETS, raw_ids=_npy_bytes(_header_of("<u2", (6,)), b"\0" * 13)),
                     "t.npy", "truncated or corrupt"),
    "empty offsets": (lambda d: write_npy(d, U2, None, raw_offsets=b""), "t.offsets.npy", "is empty"),
    "float offsets": (lambda d: write_npy(d, U2, OFFSETS.astype(float)), "t.offsets.npy", "not int64"),
    "int32 offsets": (lambda d: write_npy(d, U2, OFFSETS.astype(np.int32)), "t.offsets.npy", "not int64"),
    "pickled offsets": (lambda d: write_npy(d, U2, np.array([0, None, 6], dtype=object)), "t.offsets.npy",
                        "holds Python objects"),
    "2-D offsets": (lambda d: write_npy(d, U2, np.array([[0, 6]])), "t.offsets.npy", "not one-dimensional"),
    "no offsets": (lambda d: write_npy(d, U2, np.zeros(0, dtype=np.int64)), "t.offsets.npy", "holds no offsets"),
    "offsets from 1": (lambda d: write_npy(d, U2, np.array([1, 6])), "t.offsets.npy", "start at 1, not 0"),
    "decreasing offsets": (lambda d: write_npy(d, U2, np.array([0, 4, 2, 6])), "t.offsets.npy",
                           r"offset 2 \(counting from 0\) is 2, below offset 1, 4"),
    "negative offset": (lambda d: write_npy(d, U2, np.array([0, -3, 6])), "t.offsets.npy", "offset 1"),
    "offsets past the ids": (lambda d: write_npy(d, U2, np.array([0, 2, 9])), "t.offsets.npy",
                             "end at 9, but .*t.npy holds 6 ids"),
    "offsets short of the ids": (lambda d: write_npy(d, U2, np.array([0, 2])), "t.offsets.npy", "end at 2"),
    "offsets cut": (lambda d: write_npy(d, U2, None, raw_offsets=_npy_bytes(_header_of("<i8", (3,)), b"\0" * 20)),
                    "t.offsets.npy", "truncated or corrupt"),
}


@pytest.mark.parametrize("case", sorted(NPY_CASES))
def test_damaged_npy_files_are_refused(tmp_path, case):
    build, named, match = NPY_CASES[case]
    refused(build(tmp_path), tmp_path / named, match)


def test_foreign_npy_files_that_hold_ids_are_read(tmp_path):
    # Other tools' id arrays: any integer type, either byte order, version 2.0 headers.
    for ids in (U2.astype(">u2"), U2.astype("<i8"), U2.astype("u1")):
        write_npy(tmp_path, ids, OFFSETS.astype(">i8"))
        got, offsets = read_token_file(tmp_path / "t.npy")
        assert got.tolist() == U2.tolist() and offsets.tolist() == OFFSETS.tolist()
    write_npy(tmp_path, None, OFFSETS, raw_ids=_npy_bytes(_header_of("<u2", (6,)), U2.tobytes(), (2, 0)))
    assert read_token_file(tmp_path / "t.npy")[0].tolist() == U2.tolist()


def test_missing_npy_files(tmp_path):
    write_npy(tmp_path, U2, OFFSETS)
    os.unlink(tmp_path / "t.offsets.npy")
    refused(tmp_path / "t.npy", tmp_path / "t.offsets.npy", "offsets file .* does not exist", FileNotFoundError)
    (tmp_path / "t.offsets.npy").mkdir()
    refused(tmp_path / "t.npy", tmp_path / "t.offsets.npy", "is a directory", IsADirectoryError)


# -- the metadata file -------------------------------------------------------------


def _edit_metadata(folder: pathlib.Path, token_format: str, change: Callable[[dict], object]) -> pathlib.Path:
    path = write_valid(folder, token_format)
    meta = folder / f"t.{token_format}.bytepiece.json"
    record = json.loads(meta.read_text())
    replaced = change(record)
    meta.write_text(json.dumps(record if replaced is None else replaced))
    return path


def _raw_metadata(folder: pathlib.Path, token_format: str, raw: bytes) -> pathlib.Path:
    path = write_valid(folder, token_format)
    (folder / f"t.{token_format}.bytepiece.json").write_bytes(raw)
    return path


META_CASES: Dict[str, tuple] = {
    "not JSON": (lambda d, f: _raw_metadata(d, f, b"{'format': 'bin'"), "not valid JSON"),
    "empty": (lambda d, f: _raw_metadata(d, f, b""), "not valid JSON"),
    "not UTF-8": (lambda d, f: _raw_metadata(d, f, b'{"format": "\xff"}'), "not UTF-8 at byte 12"),
    "deeply nested": (lambda d, f: _raw_metadata(d, f, b"[" * 60000), "not valid JSON"),
    "huge": (lambda d, f: _raw_metadata(d, f, b" " * 70000 + b"{}"), "too large"),
    "a list": (lambda d, f: _edit_metadata(d, f, lambda r: [r]), "holds a JSON list"),
    "no version": (lambda d, f: _edit_metadata(d, f, lambda r: r.pop("bytepiece_token_file") and None),
                   "'bytepiece_token_file' is None"),
    "newer version": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(bytepiece_token_file=2)),
                      "reads version 1"),
    "other format": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(format="bin" if f == "npy" else "npy")),
                     "describes a token file of format"),
    "other dtype": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(dtype="<u4")), "records ids of dtype <u4"),
    "dtype not a str": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(dtype=["<u2"])), "'dtype' is"),
    "bad fingerprint": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(model_fingerprint="abc")),
                        "'model_fingerprint' is 'abc'"),
    "fingerprint a number": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(model_fingerprint=5)),
                             "model_fingerprint"),
    "more documents": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(documents=5)),
                       "records 5 documents and 8 ids, but .* holds 4 documents and 8 ids"),
    "fewer tokens": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(tokens=7)), "records 4 documents and 7"),
    "negative documents": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(documents=-1)),
                           "'documents' is -1, not an integer of at least 0"),
    "float tokens": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(tokens=8.0)), "'tokens' is 8.0"),
    "boolean vocabulary": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(vocab_size=True)), "'vocab_size'"),
    "zero vocabulary": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(vocab_size=0)), "at least 1"),
    "vocabulary too large for uint16": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(vocab_size=70000)),
                                        "a vocabulary of 70000 ids, more than ids of dtype <u2 can hold"),
    "version not a str": (lambda d, f: _edit_metadata(d, f, lambda r: r.update(bytepiece_version=1)),
                          "'bytepiece_version'"),
    "huge number": (lambda d, f: _raw_metadata(d, f, b'{"documents": ' + b"9" * 5000 + b"}"), "not valid JSON"),
}


@pytest.mark.parametrize("token_format", TOKEN_FORMATS)
@pytest.mark.parametrize("case", sorted(META_CASES))
def test_damaged_metadata_is_refused(tmp_path, case, token_format):
    build, match = META_CASES[case]
    refused(build(tmp_path, token_format), tmp_path / f"t.{token_format}.bytepiece.json", match)


def test_metadata_that_is_a_directory(tmp_path):
    path = write_valid(tmp_path, "bin")
    os.unlink(tmp_path / "t.bin.bytepiece.json")
    (tmp_path / "t.bin.bytepiece.json").mkdir()
    refused(path, tmp_path / "t.bin.bytepiece.json", "is a directory", IsADirectoryError)


def test_unknown_metadata_fields_are_ignored(tmp_path):
    path = _edit_metadata(tmp_path, "npy", lambda r: r.update(note="from a later bytepiece", seed=[1, 2]))
    assert read_token_file_metadata(path).documents == 4
    assert read_token_file(path)[0].tolist() == [5, 6, 7, 300, 9, 10, 11, 12]


# -- through the command line, capped ----------------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two models with different fingerprints: the 0.6.3 40k model and a tiny one."""
    tiny = tmp_path_factory.mktemp("models") / "tiny.model"
    bytepiece.Tokenizer.from_pieces(TINY_COUNTS, add_missing_bytes=True).save(tiny)
    return {"40k": str(MODEL_40K), "tiny": str(tiny)}


def _one_error(outcome_args, match):
    return expect_cli_error(["decode", "-q", *map(str, outcome_args)], match)


CLI_CASES = {
    # the reader's refusals reach the user as one line
    "negative length": (lambda d: write_bin(d, [3, -2, 4]), "t.idx.*negative length"),
    "pointers disagree": (lambda d: write_bin(d, [3, 2], pointers=[0, 7]), "t.idx.*pointer"),
    "huge declared counts": (lambda d: write_bin(d, [1], sequences=(1 << 61), entries=1 << 61),
                             "t.idx.*header declares"),
    "several sequences": (lambda d: write_bin(d, [1, 1, 1], document_index=[0, 2, 3]), "not supported"),
    "bin cut": (lambda d: write_bin(d, [4, 4], ids_bytes=b"\0" * 9), "t.bin: 9 bytes"),
    "missing index": (lambda d: (write_bin(d, [1]), os.unlink(d / "t.idx"))[0], "t.idx.*does not exist"),
    "index a directory": (lambda d: (write_bin(d, [1]), os.unlink(d / "t.idx"), os.mkdir(d / "t.idx"))[0],
                          "t.idx.*is a directory"),
    "index a FIFO": (lambda d: (write_bin(d, [1]), os.unlink(d / "t.idx"), os.mkfifo(d / "t.idx"))[0],
                     "t.idx.*not a regular file"),
    "pickled npy": (lambda d: write_npy(d, np.array([1, None], dtype=object), np.array([0, 2])),
                    "t.npy.*Python objects"),
    "huge npy header": (lambda d: write_npy(d, None, OFFSETS,
                                            raw_ids=b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0)),
                        "t.npy.*header declares"),
    "huge npy shape": (lambda d: write_npy(d, None, OFFSETS, raw_ids=_npy_bytes(_header_of("<u4", (1 << 61,)))),
                       "t.npy.*truncated or corrupt"),
    "decreasing offsets": (lambda d: write_npy(d, U2, np.array([0, 4, 2, 6])), "t.offsets.npy.*below offset 1"),
    "float ids": (lambda d: write_npy(d, U2.astype(np.float64), OFFSETS), "t.npy.*dtype float64"),
    "empty npy": (lambda d: write_npy(d, None, OFFSETS, raw_ids=b""), "t.npy.*is empty"),
    "metadata counts": (lambda d: _edit_metadata(d, "bin", lambda r: r.update(tokens=1)),
                        "t.bin.bytepiece.json: records 4 documents and 1 ids"),
    "metadata not JSON": (lambda d: _raw_metadata(d, "npy", b"\xff\xfe{"), "t.npy.bytepiece.json: not UTF-8"),
    # ids the model does not have
    "id past the vocabulary": (lambda d: write_npy(d, np.array([5, 6, 60000], dtype="<u2"), np.array([0, 1, 3])),
                               r"t.npy: document 2: unknown token id 60000"),
    "negative id": (lambda d: write_npy(d, np.array([5, -4], dtype="<i4"), np.array([0, 1, 2])),
                    r"t.npy: document 2: unknown token id -4"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_decode_refuses_hostile_token_files_in_one_line(tmp_path, models, case):
    build, match = CLI_CASES[case]
    path = build(tmp_path)
    line = _one_error(["-m", models["40k"], path], match)
    assert str(tmp_path) in line


@pytest.mark.parametrize("token_format", TOKEN_FORMATS)
def test_encode_decode_round_trip_with_the_fingerprint(tmp_path, models, token_format):
    texts = ["hello world", "", "第二行 with ünïcödé", "end"]
    src = tmp_path / "in.txt"
    src.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    out = tmp_path / f"train.{token_format}"
    expect_ok(run_cli(["encode", "-q", "-m", models["40k"], src, "-o", out, "--add-eos"]))
    meta = read_token_file_metadata(out)
    assert meta.model_fingerprint == bytepiece.Tokenizer(models["40k"]).model.fingerprint()
    assert (meta.documents, meta.vocab_size, meta.format) == (4, bytepiece.Tokenizer(models["40k"]).vocab_size,
                                                              token_format)
    decoded = expect_ok(run_cli(["decode", "-m", models["40k"], out]))
    assert decoded.stdout.splitlines() == texts
    assert "note" not in decoded.stderr and "decoded 4 documents" in decoded.stderr
    # Sampling records the model too.
    sampled = tmp_path / f"s.{token_format}"
    expect_ok(run_cli(["sample", "-q", "-m", models["tiny"], src, "--n", "2", "--seed", "1", "-o", sampled]))
    assert read_token_file_metadata(sampled).model_fingerprint == \
        bytepiece.Tokenizer(models["tiny"]).model.fingerprint()
    assert read_token_file_metadata(sampled).documents == 8


def test_decode_refuses_another_models_token_file(tmp_path, models):
    src = tmp_path / "in.txt"
    src.write_text("aab bab abab\n", encoding="utf-8")
    out = tmp_path / "tiny.bin"
    expect_ok(run_cli(["encode", "-q", "-m", models["tiny"], src, "-o", out]))
    for quiet in ([], ["-q"]):
        line = expect_cli_error(["decode", *quiet, "-m", models["40k"], out],
                                r"tiny\.bin was written with another model than .*bytepiece\.plus\.40k\.zip .*"
                                r"--ignore-fingerprint to decode it anyway")
        assert "tiny.bin.bytepiece.json" in line
    # Nothing is written when refused: the check comes before any output.
    refusal = run_cli(["decode", "-m", models["40k"], out, "-o", tmp_path / "out.txt"])
    assert refusal.returncode == 1 and not (tmp_path / "out.txt").exists()
    forced = expect_ok(run_cli(["decode", "-m", models["40k"], out, "--ignore-fingerprint"]))
    notes = [line for line in forced.stderr.splitlines() if line.startswith("bytepiece: note:")]
    assert len(notes) == 1 and "another model" in notes[0] and "--ignore-fingerprint" in notes[0]
    quiet = expect_ok(run_cli(["decode", "-q", "-m", models["40k"], out, "--ignore-fingerprint"]))
    assert quiet.stderr == ""
    assert expect_ok(run_cli(["decode", "-q", "-m", models["tiny"], out])).stdout == "aab bab abab\n"


def test_decode_notes_token_files_without_a_fingerprint(tmp_path, models):
    tok = bytepiece.Tokenizer(models["40k"])
    ids = tok.encode("hi!")
    write_npy(tmp_path, np.array(ids, dtype="<u2"), np.array([0, len(ids)]))  # another tool's file
    plain = expect_ok(run_cli(["decode", "-m", models["40k"], tmp_path / "t.npy"]))
    notes = [line for line in plain.stderr.splitlines() if line.startswith("bytepiece: note:")]
    assert len(notes) == 1 and "t.npy.bytepiece.json" in notes[0] and plain.stdout == "hi!\n"
    assert expect_ok(run_cli(["decode", "-q", "-m", models["40k"], tmp_path / "t.npy"])).stderr == ""
    null = write_valid(tmp_path, "bin", fingerprint=None, vocab_size=tok.vocab_size, docs=[ids])
    noted = expect_ok(run_cli(["decode", "-m", models["40k"], null]))
    assert "none recorded" in noted.stderr and noted.stdout == "hi!\n"


def test_decode_reads_a_folder_of_token_files_once_each(tmp_path, models):
    src = tmp_path.parent / f"{tmp_path.name}-in.txt"
    src.write_text("one\ntwo\n", encoding="utf-8")
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("a.bin", "b.npy"):
        expect_ok(run_cli(["encode", "-q", "-m", models["40k"], src, "-o", folder / name]))
    assert expect_ok(run_cli(["decode", "-q", "-m", models["40k"], folder])).stdout == "one\ntwo\n" * 2
    # An index or metadata file named alone stands for its token file.
    for name in ("a.idx", "a.bin.bytepiece.json", "b.offsets.npy"):
        assert expect_ok(run_cli(["decode", "-q", "-m", models["40k"], folder / name])).stdout == "one\ntwo\n"


def test_decode_help_names_the_override():
    assert "--ignore-fingerprint" in expect_ok(run_cli(["decode", "--help"])).stdout


# -- fuzz: random damage to valid files ---------------------------------------------

FUZZ_EXAMPLES = int(os.environ.get("BYTEPIECE_FUZZ_EXAMPLES", "500"))
ROLES = ("data", "index", "meta")


def _valid_blobs() -> Dict[str, Dict[str, bytes]]:
    blobs = {}
    with tempfile.TemporaryDirectory() as folder:
        for token_format in TOKEN_FORMATS:
            path = write_valid(pathlib.Path(folder), token_format)
            paths = (*token_file_paths(path, token_format), token_file_metadata_path(path, token_format))
            blobs[token_format] = {role: pathlib.Path(p).read_bytes() for role, p in zip(ROLES, paths)}
    return blobs


VALID = _valid_blobs()
# Values that reach the checks behind the first ones (counts, lengths, offsets, pointers).
INTERESTING = [0, 1, 2, 3, 4, 5, 8, 9, 255, 256, 65535, 65536, (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32,
               (1 << 63) - 1, 1 << 63, (1 << 64) - 1, -1, -2]
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.sampled_from([1 << 70, 1.5, -0.0]),
                        st.text(max_size=70), st.lists(st.integers(), max_size=3))


@st.composite
def damage(draw) -> tuple:
    """(format, {role: bytes or None for a missing file}) after a few random
    changes to the valid files of that format."""
    token_format = draw(st.sampled_from(TOKEN_FORMATS))
    files: Dict[str, Optional[bytes]] = dict(VALID[token_format])
    for _ in range(draw(st.integers(1, 4))):
        role = draw(st.sampled_from(ROLES))
        blob = files[role]
        op = draw(st.sampled_from(["byte", "word", "cut", "insert", "append", "delete", "json", "remove"]))
        if blob is None or op == "remove":
            files[role] = None if op == "remove" else VALID[token_format][role]
            continue
        blob = bytearray(blob)
        at = draw(st.integers(0, max(len(blob) - 1, 0)))
        if op == "byte" and blob:
            blob[at] = draw(st.integers(0, 255))
        elif op == "word":
            size = draw(st.sampled_from([1, 2, 4, 8]))
            value = draw(st.sampled_from(INTERESTING)) % (1 << (8 * size))
            at -= at % size if draw(st.booleans()) else 0
            blob[at:at + size] = value.to_bytes(size, "little")
        elif op == "cut":
            del blob[at:]
        elif op == "insert":
            blob[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "append":
            blob += draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del blob[at:at + draw(st.integers(1, 16))]
        elif op == "json":
            try:
                record = json.loads(bytes(blob))
                key = draw(st.sampled_from(sorted(record) + ["extra"]))
                record[key] = draw(JSON_VALUES)
                blob = bytearray(json.dumps(record).encode())
            except (ValueError, TypeError, AttributeError):
                pass  # already damaged beyond JSON: leave it
        files[role] = bytes(blob)
    return token_format, files


def check_damaged(folder: pathlib.Path, token_format: str, files: Dict[str, Optional[bytes]]) -> str:
    """Write ``files`` into ``folder`` and read them: either a consistent
    read, or a ValueError / OSError naming one of the files. Any other
    exception propagates (a finding). Returns "read" or "refused"."""
    path = folder / f"t.{token_format}"
    paths = (*token_file_paths(path, token_format), token_file_metadata_path(path, token_format))
    for role, target in zip(ROLES, paths):
        if os.path.lexists(target):
            os.unlink(target)
        if files[role] is not None:
            pathlib.Path(target).write_bytes(files[role])
    try:
        ids, offsets = read_token_file(path)
        meta = read_token_file_metadata(path)
    except (ValueError, OSError) as exc:
        message = str(exc)
        assert any(str(p) in message for p in paths), f"{type(exc).__name__} names no file: {message!r}"
        return "refused"
    assert ids.ndim == 1 and ids.dtype.kind in "ui"
    assert offsets.ndim == 1 and offsets.dtype == np.int64 and len(offsets) >= 1
    assert offsets[0] == 0 and offsets[-1] == len(ids) and np.all(np.diff(offsets) >= 0)
    total = int(np.asarray(ids, dtype=np.int64).sum())  # every id can be read
    assert total >= 0 or ids.dtype.kind == "i"
    if meta is not None:
        assert (meta.documents, meta.tokens, meta.dtype) == (len(offsets) - 1, len(ids), ids.dtype.str)
    return "read"


@settings(max_examples=FUZZ_EXAMPLES, deadline=5000, suppress_health_check=[HealthCheck.too_slow],
          database=None)
@given(damage())
def test_fuzz_damaged_token_files(case):
    token_format, files = case
    with tempfile.TemporaryDirectory() as folder:
        check_damaged(pathlib.Path(folder), token_format, files)


def test_fuzz_keeps_valid_files_readable(tmp_path):
    for token_format in TOKEN_FORMATS:
        assert check_damaged(tmp_path, token_format, dict(VALID[token_format])) == "read"
