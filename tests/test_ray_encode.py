"""Encoding on Ray: on a 3-node cluster on this machine (loopback only), ``encode --ray``
and ``sample --ray`` write token files in shards and a manifest whose ids are those of
the local command byte for byte (both formats, sampling streams, <bos>/<eos>, allowed
special tokens), from files and from a ray.data.Dataset; a killed task changes nothing,
a failed run leaves nothing under a final name, and bad options are refused before Ray
starts (docs/spec/token_files.md §7)."""
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

# Every node binds the loopback address only: Ray reads this once, when it is imported.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ray = pytest.importorskip("ray")

import bytepiece  # noqa: E402
from bytepiece.cli import main  # noqa: E402
from bytepiece.formats.native import save_model  # noqa: E402
from bytepiece.outputs.ray_encode import encode_on_ray  # noqa: E402
from bytepiece.outputs.token_files import read_token_file, read_token_manifest  # noqa: E402
from conftest import MODEL_40K, ROOT, SAMPLE, sample_texts  # noqa: E402
from test_lm_data import read_megatron_with_numpy  # noqa: E402

SPECIAL = "<|endoftext|>"


@pytest.fixture(scope="module")
def texts():
    return sample_texts()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, texts):
    """The sample as three files: a.jsonl (with blank and whitespace-only lines, which
    are not documents), b.jsonl.gz, and c.jsonl (cut into byte ranges; no final newline)."""
    folder = tmp_path_factory.mktemp("corpus")
    lines = [json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts]
    a = lines[:300]
    a[10:10] = ["\n", "  \t\r\n"]
    a[100:100] = ["\n"]
    (folder / "a.jsonl").write_text("".join(a), encoding="utf-8")
    with gzip.open(folder / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("".join(lines[300:700]))
    (folder / "c.jsonl").write_text("".join(lines[700:]).rstrip("\n"), encoding="utf-8")
    return [str(folder / name) for name in ("a.jsonl", "b.jsonl.gz", "c.jsonl")]


@pytest.fixture(scope="module")
def plain_corpus(tmp_path_factory, texts):
    """One document per line, empty lines included (each a document), cut into ranges."""
    path = tmp_path_factory.mktemp("plain") / "plain.txt"
    lines = [t.replace("\n", " ") for t in texts[:600]]
    lines[5:5] = ["", "", "   "]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [str(path)]


@pytest.fixture(scope="module")
def whole_files(tmp_path_factory, texts):
    """One document per file."""
    folder = tmp_path_factory.mktemp("whole")
    for i, text in enumerate(texts[:40]):
        (folder / f"doc{i:03d}.txt").write_text(text, encoding="utf-8")
    return [str(folder)]


def _run(args):
    assert main(args) == 0, args


def _both(tmp_path, command, inputs, options, fmt, address):
    """(ids, offsets) of the local command and of the same command on Ray, and the Ray run's manifest."""
    local, on_ray = tmp_path / f"local.{fmt}", tmp_path / f"ray.{fmt}"
    _run([command, "-q", "-m", str(MODEL_40K), *options, *inputs, "-o", str(local)])
    _run([command, "-q", "--ray", address, "--shard-size", "20000", "-m", str(MODEL_40K), *options, *inputs,
          "-o", str(on_ray)])
    manifest = tmp_path / f"ray.{fmt}.manifest.json"
    return read_token_file(local), read_token_file(manifest), read_token_manifest(manifest)


def _assert_same(local, distributed, same_dtype=True):
    assert local[0].dtype == distributed[0].dtype or not same_dtype
    assert np.array_equal(local[0], distributed[0])
    assert np.array_equal(local[1], distributed[1])


@pytest.mark.parametrize("fmt", ["bin", "npy"])
def test_encode_on_ray_equals_local_encode_byte_for_byte(cluster, tmp_path, corpus, texts, fmt):
    head, _ = cluster
    local, distributed, manifest = _both(tmp_path, "encode", corpus, ["--field", "text", "--add-bos", "--add-eos"],
                                         fmt, head.address)
    _assert_same(local, distributed)
    assert manifest.documents == len(texts) and len(manifest.shards) > 5  # c.jsonl was cut into byte ranges
    assert [s.path for s in manifest.shards] == sorted(s.path for s in manifest.shards)  # corpus order
    if fmt == "bin":  # the shards' .bin files, joined in manifest order, are the local .bin
        joined = b"".join(open(s.path, "rb").read() for s in manifest.shards)
        assert joined == (tmp_path / "local.bin").read_bytes()
        # Each shard is a Megatron-LM indexed dataset of its own, under its prefix.
        first, _ = read_megatron_with_numpy(tmp_path / os.path.basename(manifest.shards[0].prefix))
        assert len(first) == manifest.shards[0].documents
    # Nothing else in the folder: no staging folder, no temporary file.
    names = {p.name for p in tmp_path.iterdir()}
    expected = {"local." + fmt, f"ray.{fmt}.manifest.json", *(os.path.basename(s.path) for s in manifest.shards)}
    assert expected <= names and not [n for n in names if n.startswith(".")]


@pytest.mark.parametrize("fmt", ["bin", "npy"])
def test_sample_on_ray_draws_the_local_streams(cluster, tmp_path, corpus, fmt):
    head, _ = cluster
    options = ["--field", "text", "--n", "3", "--seed", "17", "--add-eos", "--alpha", "0.2", "--batch-size", "7"]
    local, distributed, manifest = _both(tmp_path, "sample", corpus, options, fmt, head.address)
    _assert_same(local, distributed)
    assert manifest.documents == 3 * 1526


@pytest.mark.parametrize("inputs, options", [("plain_corpus", []), ("whole_files", ["--whole-file"])])
def test_sampling_encode_of_plain_lines_and_whole_files_is_the_local_one(cluster, tmp_path, request, inputs,
                                                                          options):
    head, _ = cluster
    files = request.getfixturevalue(inputs)
    local, distributed, _ = _both(tmp_path, "encode", files, [*options, "--alpha", "0.1", "--seed", "3"], "npy",
                                  head.address)
    _assert_same(local, distributed)


def test_allowed_special_tokens_are_cut_as_locally(cluster, tmp_path, texts, tok40k):
    head, _ = cluster
    model = tmp_path / "special.model"
    save_model(tok40k.model.with_special_tokens([SPECIAL]), model)
    src = tmp_path / "special.jsonl"
    src.write_text("".join(json.dumps({"text": t + SPECIAL + t[:20]}, ensure_ascii=False) + "\n"
                           for t in texts[:200]), encoding="utf-8")
    runs = []
    for extra in ([], ["--ray", head.address, "--shard-size", "10000"]):
        out = tmp_path / f"s{len(runs)}.bin"
        _run(["encode", "-q", *extra, "-m", str(model), "--field", "text", "--allowed-special", "all", str(src),
              "-o", str(out)])
        runs.append(read_token_file(str(out) + (".manifest.json" if extra else "")))
    _assert_same(*runs)
    special_id = bytepiece.Tokenizer(model).special_tokens[SPECIAL]
    assert np.count_nonzero(runs[1][0] == special_id) == 200


def test_killed_tasks_are_retried_and_change_nothing(cluster, tmp_path, corpus):
    head, crash_dir = cluster
    armed = ["count-1", "encode-2", "encode-6"]  # encode tasks die after their first batch, mid-shard
    for name in armed:
        (crash_dir / f"{name}.crash").touch()
    try:
        options = ["--field", "text", "--n", "2", "--seed", "5", "--batch-size", "10"]
        local, distributed, manifest = _both(tmp_path, "sample", corpus, options, "bin", head.address)
        assert all((crash_dir / f"{name}.crashed").exists() for name in armed)  # each worker did die once
    finally:
        for name in armed:
            (crash_dir / f"{name}.crash").unlink()
    _assert_same(local, distributed)
    names = sorted(p.name for p in tmp_path.iterdir())
    shard_files = {os.path.basename(s.path)[:-4] + ext for s in manifest.shards
                   for ext in (".bin", ".idx", ".bin.bytepiece.json")}
    assert set(names) == {"local.bin", "local.idx", "local.bin.bytepiece.json", "ray.bin.manifest.json",
                          *shard_files}  # no half shard, no duplicate, no staging folder


def test_a_failed_run_leaves_no_manifest_and_no_shard(cluster, tmp_path, texts, capsys):
    head, _ = cluster
    src = tmp_path / "in" / "bad.jsonl"
    src.parent.mkdir()
    good = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts[:400])
    src.write_bytes(good.encode() + b'{"text": "broken \xff utf-8"}\n' + good.encode())
    out = tmp_path / "out"
    out.mkdir()
    args = ["encode", "--ray", head.address, "--shard-size", "20000", "-m", str(MODEL_40K), "--field", "text",
            str(src), "-o", str(out / "t.bin")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("bytepiece: error:") and "bad.jsonl" in err and "invalid UTF-8" in err
    assert err.count("\n") == 1  # one line: the other tasks stop quietly
    assert list(out.iterdir()) == []
    # An earlier run's files stay as they were.
    src.write_text(good, encoding="utf-8")
    assert main([*args, "-q"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    src.write_bytes(good.encode() + b'{"text": "broken \xff"}\n')
    assert main([*args, "-q"]) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_smaller_run_to_the_same_name_removes_the_earlier_shards(cluster, tmp_path, corpus):
    head, _ = cluster
    out = tmp_path / "t.npy"
    for size in ("20000", "200000"):
        _run(["encode", "-q", "--ray", head.address, "--shard-size", size, "-m", str(MODEL_40K), "--field", "text",
              *corpus, "-o", str(out)])
    manifest = read_token_manifest(tmp_path / "t.npy.manifest.json")
    listed = {os.path.basename(s.path) for s in manifest.shards}
    assert {p.name for p in tmp_path.glob("t.*.npy") if not p.name.endswith(".offsets.npy")} == listed


def test_the_summary_reports_throughput_per_worker_and_quiet_prints_nothing(cluster, tmp_path, corpus, capsys):
    head, _ = cluster
    _run(["encode", "--ray", head.address, "--shard-size", "20000", "-m", str(MODEL_40K), "--field", "text",
          *corpus, "-o", str(tmp_path / "t.bin")])
    err = capsys.readouterr().err.splitlines()
    assert "encoded 1526 documents into" in err[-1 - sum(line.startswith("  worker") for line in err)]
    summary = next(line for line in err if line.startswith("encoded"))
    assert "3 CPUs" in summary and "MB/s of input" in summary and "MB/s per CPU" in summary
    workers = [line for line in err if line.startswith("  worker ")]
    assert workers and all("MB/s" in line and "shards" in line for line in workers)
    # -q: nothing but errors, Ray's own notes included (a separate process joining the cluster).
    result = subprocess.run([sys.executable, "-m", "bytepiece", "encode", "-q", "--ray", head.address,
                             "-m", str(MODEL_40K), "--field", "text", *corpus, "-o", str(tmp_path / "q.bin")],
                            capture_output=True, cwd=ROOT, timeout=300)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_decode_reads_a_manifest_and_checks_the_model(cluster, tmp_path, corpus, texts, sample_model):
    head, _ = cluster
    _run(["encode", "-q", "--ray", head.address, "--shard-size", "20000", "-m", str(MODEL_40K), "--field", "text",
          *corpus, "-o", str(tmp_path / "t.bin")])
    decoded = tmp_path / "decoded.jsonl"
    _run(["decode", "-q", "-m", str(MODEL_40K), str(tmp_path / "t.bin.manifest.json"), "--output-format", "jsonl",
          "-o", str(decoded)])
    import unicodedata
    got = [json.loads(line)["text"] for line in decoded.read_text(encoding="utf-8").splitlines()]
    assert got == [unicodedata.normalize("NFC", t) for t in texts]
    # A folder holding the manifest and its shards: every shard read once, through the manifest.
    folder_decoded = tmp_path / "folder.jsonl"
    os.unlink(decoded)
    _run(["decode", "-q", "-m", str(MODEL_40K), str(tmp_path), "--output-format", "jsonl", "-o", str(folder_decoded)])
    assert len(folder_decoded.read_text(encoding="utf-8").splitlines()) == len(texts)
    assert main(["decode", "-q", "-m", str(sample_model), str(tmp_path / "t.bin.manifest.json")]) == 1


@pytest.fixture(scope="module")
def sample_model(tmp_path_factory):
    """Another model than the one that wrote the ids."""
    path = tmp_path_factory.mktemp("model") / "small.model"
    save_model(bytepiece.Tokenizer.from_pieces({b"ab": 3, b"cd": 2}, add_missing_bytes=True).model, path)
    return path


def test_python_entry_encodes_a_ray_dataset_as_locally(cluster, tmp_path, texts, tok40k):
    dataset = ray.data.from_items([{"body": t} for t in texts], override_num_blocks=4)
    result = encode_on_ray(tok40k, dataset, tmp_path / "d.npy", field="body", add_eos=True, progress=False)
    # encode_batch_numpy gives int32 ids, the token files uint16 (a 40k vocabulary fits).
    _assert_same(tok40k.encode_batch_numpy(texts, add_eos=True), read_token_file(result.manifest.path), False)
    assert result.documents == len(texts) and len(result.manifest.shards) == 4 and result.workers
    # Sampling: document d's copy j from stream d*n + j of the seed, as on one machine.
    sampled = encode_on_ray(MODEL_40K, dataset, tmp_path / "s.bin", field="body", alpha=0.1, seed=9, n=2,
                            progress=False)
    repeated = [t for t in texts for _ in range(2)]
    _assert_same(tok40k.encode_batch_numpy(repeated, alpha=0.1, seed=9), read_token_file(sampled.manifest.path),
                 False)
    with pytest.raises(ValueError, match="no column 'text'"):
        encode_on_ray(tok40k, dataset, tmp_path / "x.npy", progress=False)
    assert not list(tmp_path.glob("x.*"))


def _fake_ray(tmp_path, body):
    """A folder holding a ``ray`` package whose import runs ``body``."""
    folder = tmp_path / "fake"
    (folder / "ray").mkdir(parents=True)
    (folder / "ray" / "__init__.py").write_text(body)
    return folder


def _cli(args, fake):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "bytepiece", *args], capture_output=True, cwd=ROOT, env=env,
                          timeout=120)


def test_bad_options_and_inputs_are_refused_before_ray_is_imported(tmp_path):
    fake = _fake_ray(tmp_path, "raise RuntimeError('Ray was imported')\n")
    (tmp_path / "d.bin.manifest.json").mkdir()  # where the manifest would go
    good = str(SAMPLE)
    cases = [
        (["--field", "text", good, "-o", str(tmp_path / "missing" / "t.bin")], "does not exist"),
        (["--field", "text", good, "-o", str(tmp_path / "d.bin")], "is a directory"),
        (["--field", "text", good, "-o", str(tmp_path / "t.ids")], "--ray writes token files in shards"),
        (["--field", "text", good], "name them with -o"),
        (["--field", "text", str(tmp_path / "absent.jsonl"), "-o", str(tmp_path / "t.bin")], "absent.jsonl"),
        (["--field", "text", "-", "-o", str(tmp_path / "t.bin")], "standard input cannot be shared"),
        (["--field", "text", "--threads", "0", good, "-o", str(tmp_path / "t.bin")], "--threads"),
        (["--field", "text", "--allowed-special", "nosuch", good, "-o", str(tmp_path / "t.bin")], "nosuch"),
    ]
    for args, message in cases:
        result = _cli(["encode", "--ray", "-m", str(MODEL_40K), *args], fake)
        err = result.stderr.decode()
        assert result.returncode == 1 and message in err and "Ray was imported" not in err, (args, err)
    result = _cli(["encode", "-m", str(MODEL_40K), "--shard-size", "1M", good, "-o", str(tmp_path / "t.bin")], fake)
    assert result.returncode == 1 and "--shard-size sets the shards of --ray" in result.stderr.decode()
    assert list(tmp_path.glob("t.*")) == []


def test_without_ray_the_error_says_what_to_install(tmp_path):
    fake = _fake_ray(tmp_path, "raise ImportError('No module named ray')\n")
    result = _cli(["sample", "--ray", "-m", str(MODEL_40K), "--field", "text", str(SAMPLE), "-o",
                   str(tmp_path / "t.bin")], fake)
    assert result.returncode == 1
    assert result.stderr.decode().strip() == ("bytepiece: error: encoding on Ray needs Ray: pip install "
                                              "'bytepiece[ray]'")
