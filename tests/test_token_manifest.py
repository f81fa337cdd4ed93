"""Token files in shards and their manifest, without a cluster: written with
TokenFileWriter and write_token_manifest, read back whole or shard by shard, and
damaged or hostile manifests refused with an error naming the manifest and the
entry (docs/spec/token_files.md §7). Encoding on Ray is imported only when used."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bytepiece.cli import main
from bytepiece.outputs.token_files import (TokenFileWriter, read_token_file, read_token_manifest, read_token_shards,
                                           token_manifest_path, token_shard_path, write_token_manifest)
from conftest import MODEL_40K, ROOT

FINGERPRINT = "0123456789abcdef" * 4
OTHER = "fedcba9876543210" * 4
SHARDS = [[[5, 6, 7], [], [300]], [[9, 10]], [[], [11, 12, 13, 14]]]


def _arrays(docs):
    ids = np.array([i for d in docs for i in d], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in docs])]).astype(np.int64)
    return ids, offsets


def write_sharded(folder, fmt="bin", shards=SHARDS, fingerprint=FINGERPRINT, vocab_size=1000):
    """``folder/t.FORMAT`` in shards: each shard a token file, then the manifest."""
    listed = []
    for k, docs in enumerate(shards):
        path = token_shard_path(folder / f"t.{fmt}", fmt, k, len(shards))
        with TokenFileWriter(path, fmt, vocab_size, fingerprint) as out:
            out.write(*_arrays(docs))
        listed.append((path, len(docs), sum(map(len, docs))))
    return write_token_manifest(token_manifest_path(folder / f"t.{fmt}", fmt), fmt, vocab_size, fingerprint, listed)


@pytest.mark.parametrize("fmt", ["bin", "npy"])
def test_a_manifest_reads_as_the_token_file_its_shards_make(tmp_path, fmt):
    manifest = write_sharded(tmp_path, fmt)
    assert manifest.path == str(tmp_path / f"t.{fmt}.manifest.json")
    assert [os.path.basename(s.path) for s in manifest.shards] == [f"t.0000{k}.{fmt}" for k in range(3)]
    assert (manifest.documents, manifest.tokens) == (6, 10)
    assert [(s.first_document, s.first_token) for s in manifest.shards] == [(0, 0), (3, 4), (4, 6)]
    ids, offsets = read_token_file(manifest.path)
    whole = [d for docs in SHARDS for d in docs]
    assert [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])] == whole
    assert ids.dtype == np.uint16
    # One shard at a time, as stored.
    seen = [(shard.first_document, ids.tolist(), offsets.tolist()) for shard, ids, offsets in
            read_token_shards(manifest.path)]
    assert seen == [(0, [5, 6, 7, 300], [0, 3, 3, 4]), (3, [9, 10], [0, 2]), (4, [11, 12, 13, 14], [0, 0, 4])]
    # Megatron-LM's --data-path: weight (the shard's ids) and prefix of each shard.
    assert manifest.megatron_data_path() == ["4", str(tmp_path / "t.00000"), "2", str(tmp_path / "t.00001"),
                                             "4", str(tmp_path / "t.00002")]


def test_a_manifest_of_no_shards_is_an_empty_token_file(tmp_path):
    manifest = write_sharded(tmp_path, "npy", shards=[])
    ids, offsets = read_token_file(manifest.path)
    assert (ids.tolist(), offsets.tolist(), ids.dtype) == ([], [0], np.uint16)


def test_shard_names_widen_past_five_digits():
    assert token_shard_path("/d/train.bin", "bin", 7, 12) == "/d/train.00007.bin"
    assert token_shard_path("/d/train", "npy", 123456, 200000) == "/d/train.123456.npy"


def _edit(path, change):
    record = json.loads(open(path, encoding="utf-8").read())
    change(record)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(record, f)


def _set_shard(i, key, value):
    return lambda record: record["shards"][i].__setitem__(key, value)


@pytest.mark.parametrize("change, message", [
    (lambda r: r.__setitem__("bytepiece_token_manifest", 2), "reads version 1"),
    (lambda r: r.__setitem__("format", "txt"), "'format' is 'txt'"),
    (lambda r: r.__setitem__("dtype", "O"), "'dtype' is 'O'"),
    (lambda r: r.__setitem__("vocab_size", 0), "'vocab_size' is 0"),
    (lambda r: r.__setitem__("model_fingerprint", "abc"), "'model_fingerprint'"),
    (lambda r: r.__setitem__("shards", {}), "'shards' is dict"),
    (lambda r: r.__setitem__("documents", 7), "records 7 documents and 10 ids, but its shards add up"),
    (_set_shard(1, "path", "../../etc/t.bin"), "shard 1 (counting from 0): 'path' is '../../etc/t.bin'"),
    (_set_shard(1, "path", "/abs/t.bin"), "not the name of a .bin file"),
    (_set_shard(1, "path", ".hidden.bin"), "not the name of a .bin file"),
    (_set_shard(1, "path", "t.00001.npy"), "not the name of a .bin file"),
    (_set_shard(1, "path", "t.00000.bin"), "listed twice"),
    (_set_shard(2, "tokens", -1), "shard 2 (counting from 0): 'tokens' is -1"),
    (_set_shard(0, "documents", True), "'documents' is True"),
])
def test_damaged_manifests_are_refused_naming_the_entry(tmp_path, change, message):
    manifest = write_sharded(tmp_path)
    _edit(manifest.path, change)
    with pytest.raises(ValueError, match="t.bin.manifest.json: .*" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.").replace("*", r"\*")):
        read_token_file(manifest.path)


@pytest.mark.parametrize("raw, message", [
    (b"", "not valid JSON"), (b"[]", "a JSON list"), (b"\xff", "not UTF-8"), (b"[" * 100000, "not valid JSON"),
])
def test_a_manifest_that_is_not_one_is_refused(tmp_path, raw, message):
    path = tmp_path / "t.bin.manifest.json"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=message):
        read_token_manifest(path)


def test_shards_that_disagree_with_the_manifest_are_refused(tmp_path):
    manifest = write_sharded(tmp_path)
    _edit(manifest.path, lambda r: (_set_shard(0, "tokens", 3)(r), _set_shard(1, "tokens", 3)(r)))
    with pytest.raises(ValueError, match="shard .*t.00000.bin holds 3 documents and 4 ids, but the manifest records "
                                         "3 and 3"):
        read_token_file(manifest.path)
    # A shard written with another model than the manifest's.
    manifest = write_sharded(tmp_path)
    with TokenFileWriter(manifest.shards[1].path, "bin", 1000, OTHER) as out:
        out.write(*_arrays(SHARDS[1]))
    with pytest.raises(ValueError, match="t.00001.bin records another model"):
        list(read_token_shards(manifest.path))
    # A missing shard.
    manifest = write_sharded(tmp_path)
    os.unlink(manifest.shards[2].path)
    with pytest.raises(OSError, match="t.00002.bin"):
        read_token_file(manifest.path)


def test_write_token_manifest_keeps_shards_in_its_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(ValueError, match="not in the manifest's folder"):
        write_token_manifest(tmp_path / "t.bin.manifest.json", "bin", 1000, FINGERPRINT,
                             [(tmp_path / "sub" / "t.00000.bin", 1, 1)])
    assert list(tmp_path.glob("*.json")) == []


def test_decode_refuses_a_manifest_of_another_model(tmp_path, capsys):
    manifest = write_sharded(tmp_path)
    assert main(["decode", "-m", str(MODEL_40K), manifest.path]) == 1
    err = capsys.readouterr().err
    assert "t.bin.manifest.json was written with another model" in err and "--ignore-fingerprint" in err
    assert main(["decode", "-q", "--ignore-fingerprint", "-m", str(MODEL_40K), manifest.path]) == 0


def test_import_bytepiece_does_not_load_encoding_on_ray():
    code = ("import sys, bytepiece, bytepiece.cli, bytepiece.outputs.token_files; "
            "print(sorted(m for m in sys.modules if m == 'ray' or m.endswith('ray_encode')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == b"[]"
