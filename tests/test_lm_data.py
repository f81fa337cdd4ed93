"""Preparing LM training data: train, encode to binary token files (with
<bos>/<eos>), read them back with numpy alone, decode back to the corpus,
and sample augmented copies (docs/spec/token_files.md).
"""
from __future__ import annotations

import json
import struct
import unicodedata

import numpy as np
import pytest

import bytepiece
from bytepiece.cli import main
from bytepiece.outputs.token_files import TokenFileWriter, read_token_file, read_token_file_metadata, token_dtype
from conftest import MODEL_40K, ROOT

SAMPLE = ROOT / "data" / "sample.jsonl"


def _documents(path=SAMPLE, limit=None):
    with open(path, encoding="utf-8") as f:
        docs = [json.loads(line)["text"] for line in f]
    return docs[:limit] if limit else docs


def read_megatron_with_numpy(prefix):
    """The documents of a Megatron .bin/.idx pair, read the way Megatron-LM's
    MMapIndexedDataset does, with struct and numpy only."""
    index = (prefix.parent / (prefix.name + ".idx")).read_bytes()
    assert index[:9] == b"MMIDIDX\x00\x00"
    version, code, sequences, doc_count = struct.unpack_from("<QBQQ", index, 9)
    assert version == 1
    dtype = {8: np.uint16, 4: np.int32}[code]
    at = 9 + struct.calcsize("<QBQQ")
    lengths = np.frombuffer(index, np.int32, sequences, at)
    pointers = np.frombuffer(index, np.int64, sequences, at + 4 * sequences)
    documents = np.frombuffer(index, np.int64, doc_count, at + 12 * sequences)
    assert at + 12 * sequences + 8 * doc_count == len(index)
    bin_path = prefix.parent / (prefix.name + ".bin")
    data = np.memmap(bin_path, dtype=dtype, mode="r") if bin_path.stat().st_size else np.zeros(0, dtype)
    sequences_ids = [np.asarray(data[p // dtype().itemsize:p // dtype().itemsize + n]) for p, n in zip(pointers, lengths)]
    return [np.concatenate(sequences_ids[a:b]) for a, b in zip(documents[:-1], documents[1:])], dtype


def read_npy_with_numpy(prefix):
    ids = np.load(prefix.parent / (prefix.name + ".npy"))
    offsets = np.load(prefix.parent / (prefix.name + ".offsets.npy"))
    return [ids[a:b] for a, b in zip(offsets[:-1], offsets[1:])], ids.dtype


READERS = {"bin": read_megatron_with_numpy, "npy": read_npy_with_numpy}


@pytest.fixture(scope="module")
def sample_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "sample.model"
    assert main(["train", "-q", "--field", "text", str(SAMPLE), "--vocab-size", "2000", "-o", str(path)]) == 0
    return path


@pytest.mark.parametrize("token_format", ["bin", "npy"])
def test_train_encode_read_back_decode_equals_the_corpus(tmp_path, sample_model, token_format):
    prefix = tmp_path / "train"
    assert main(["encode", "-q", "-m", str(sample_model), "--field", "text", str(SAMPLE),
                 "--add-bos", "--add-eos", "-o", f"{prefix}.{token_format}"]) == 0
    documents, dtype = READERS[token_format](prefix)
    tok = bytepiece.Tokenizer(sample_model)
    texts = _documents()
    assert dtype == np.uint16  # a 2000-piece vocabulary fits
    assert len(documents) == len(texts)
    for ids, text in zip(documents, texts):
        assert ids[0] == 1 and ids[-1] == 2  # <bos>, <eos>
        assert ids[1:-1].tolist() == tok.encode(text)
        assert tok.decode(ids.tolist()) == unicodedata.normalize("NFC", text)
    # Beside the files Megatron-LM and numpy read: which model made them.
    meta = read_token_file_metadata(f"{prefix}.{token_format}")
    assert (meta.model_fingerprint, meta.documents) == (tok.model.fingerprint(), len(texts))

    # The command line reads its own token files back too: JSON lines keep the
    # poems' newlines inside their documents.
    decoded = tmp_path / "decoded.jsonl"
    assert main(["decode", "-q", "-m", str(sample_model), f"{prefix}.{token_format}", "--output-format", "jsonl",
                 "-o", str(decoded)]) == 0
    assert [json.loads(line)["text"] for line in decoded.read_text(encoding="utf-8").splitlines()] == texts


def test_binary_and_text_ids_agree(tmp_path):
    texts = _documents(limit=200)
    ids_file, bin_file = tmp_path / "out.ids", tmp_path / "out.bin"
    for out in (ids_file, bin_file):
        assert main(["encode", "-q", "-m", str(MODEL_40K), "--field", "text", str(SAMPLE), "--batch-size", "37",
                     "-o", str(out)]) == 0
    text_ids = [[int(x) for x in line.split()] for line in ids_file.read_text().splitlines()]
    ids, offsets = read_token_file(bin_file)
    assert [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])] == text_ids
    assert len(text_ids) == len(_documents()) and text_ids[:200] == bytepiece.Tokenizer(MODEL_40K).encode_batch(texts)


def test_sample_writes_n_augmented_copies_per_document(tmp_path, sample_model):
    n, texts = 3, _documents(limit=40)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    runs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.npy"
        assert main(["sample", "-q", "-m", str(sample_model), "--field", "text", str(src), "--n", str(n),
                     "--seed", "11", "--add-eos", "--batch-size", "7", "-o", str(out)]) == 0
        runs.append(read_npy_with_numpy(tmp_path / name)[0])
    assert [d.tolist() for d in runs[0]] == [d.tolist() for d in runs[1]]  # seeded: reproducible
    documents = runs[0]
    assert len(documents) == n * len(texts)
    tok = bytepiece.Tokenizer(sample_model)
    for d, text in enumerate(texts):
        copies = [documents[d * n + j].tolist() for j in range(n)]
        assert all(c[-1] == 2 and tok.decode(c) == unicodedata.normalize("NFC", text) for c in copies)
        if len(text) > 40:  # long texts: independent samples differ
            assert len({tuple(c) for c in copies}) > 1
    assert [c[:-1] for c in map(np.ndarray.tolist, documents[:n])] == \
        tok.encode_batch([texts[0]] * n, alpha=0.1, seed=11)


def test_large_vocabularies_use_32_bit_ids(tmp_path):
    pieces = {bytes([a, b]): 1 for a in range(256) for b in range(256)}
    pieces.update({b"xyz": 5, b"xyzw": 5})
    tok = bytepiece.Tokenizer.from_pieces(pieces, add_missing_bytes=True)
    assert tok.vocab_size > 65536
    assert token_dtype(tok.vocab_size) == np.uint32
    texts = ["xyzw xyz", "", "ÿÿ high ids"]
    ids, offsets = tok.encode_batch_numpy(texts)
    assert ids.max() > 65535
    for token_format in ("bin", "npy"):
        with TokenFileWriter(tmp_path / f"big.{token_format}", token_format, tok.vocab_size) as out:
            out.write(ids, offsets)
        documents, dtype = READERS[token_format](tmp_path / "big")
        assert dtype in (np.int32, np.uint32) and np.dtype(dtype).itemsize == 4
        assert [d.tolist() for d in documents] == tok.encode_batch(texts)


def test_token_file_writer_refuses_bad_ids_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="outside"):
        with TokenFileWriter(tmp_path / "t.bin", "bin", 100) as out:
            out.write(np.array([5, 100]), np.array([0, 2]))
    with pytest.raises(ValueError, match="offsets"):
        with TokenFileWriter(tmp_path / "t.npy", "npy", 100) as out:
            out.write(np.array([5, 6]), np.array([0, 1]))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="with-block"):
        TokenFileWriter(tmp_path / "t.bin", "bin", 100).write(np.array([1]), np.array([0, 1]))


def test_read_token_file_refuses_damaged_files(tmp_path):
    with TokenFileWriter(tmp_path / "t.bin", "bin", 1000) as out:
        out.write(np.array([1, 2, 3]), np.array([0, 1, 3]))
    assert [x.tolist() for x in read_token_file(tmp_path / "t.bin")] == [[1, 2, 3], [0, 1, 3]]
    data = (tmp_path / "t.bin").read_bytes()
    (tmp_path / "t.bin").write_bytes(data[:-2])
    with pytest.raises(ValueError, match="t.bin: 4 bytes, but its index .*t.idx describes 3 ids"):
        read_token_file(tmp_path / "t.bin")
    (tmp_path / "t.idx").write_bytes(b"not an index")
    with pytest.raises(ValueError, match="t.idx: not a Megatron"):
        read_token_file(tmp_path / "t.bin")


def test_empty_corpus_gives_valid_empty_token_files(tmp_path):
    src = tmp_path / "empty.txt"
    src.write_text("")
    for token_format in ("bin", "npy"):
        assert main(["encode", "-q", "-m", str(MODEL_40K), str(src), "-o", str(tmp_path / f"e.{token_format}")]) == 0
        documents, _ = READERS[token_format](tmp_path / "e")
        assert documents == []
