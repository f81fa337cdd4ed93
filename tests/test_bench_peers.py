"""benchmarks/bench_tokenize.py and bench_outputs.py beside their peers, on a tiny configuration
(seconds), so that they cannot rot: every figure is a real measurement of real ids. The peers that
are not installed are left out by the benchmarks (and so here); bytepiece's rows always run.

Nothing here is timed: the checks are on what each timed pass produced (its ids, dumped by the
benchmark), against bytepiece's own encode and each peer's own decoder."""
import json
import subprocess
import sys
import unicodedata

import numpy as np
import pytest

import bytepiece
from conftest import ROOT, sample_texts

sys.path.insert(0, str(ROOT / "benchmarks"))
try:
    import peers
finally:
    sys.path.pop(0)

VOCAB = 4000
DOCUMENTS = 120  # timed; the peers train on the whole sample


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench_peers")
    sample = ROOT / "data" / "sample.jsonl"
    model = folder / "bp.model"
    subprocess.run([sys.executable, "-m", "bytepiece", "train", "-q", "--field", "text", "--vocab-size", str(VOCAB),
                    "-o", str(model), str(sample)], check=True, cwd=ROOT)
    corpus = folder / "timed.jsonl"
    texts = sample_texts()[-DOCUMENTS:]
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    return folder, sample, model, corpus, texts


def run(script, setup, name, *extra):
    folder, sample, model, corpus, _ = setup
    out, dump = folder / f"{name}.json", folder / f"{name}-ids"
    command = [sys.executable, str(ROOT / "benchmarks" / script), str(corpus), str(model), "--repeat", "1",
               "--train", str(sample), "--work", str(folder / "work"), "--threads", "1,2", "--json", str(out),
               "--dump", str(dump), *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


@pytest.fixture(scope="module")
def tokenize(setup):
    return run("bench_tokenize.py", setup, "tokenize", "--reference-mb", "0.01")


@pytest.fixture(scope="module")
def outputs(setup):
    return run("bench_outputs.py", setup, "outputs")


def ids_of(row):
    """One int list per document: the ids the row's first timed pass produced."""
    data = np.load(row["dump"] + ".npz")
    ids, offsets = data["ids"], data["offsets"]
    return [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]


def check_figures(result, texts):
    size = sum(len(t.encode("utf-8")) for t in texts)
    assert result["bytes"] == size and result["documents"] == len(texts)
    for row in result["rows"]:
        assert row["mb_per_s"] > 0 and row["tokens"] > 0 and all(s > 0 for s in row["seconds"]), row["label"]
        assert row["bytes_per_token"] == pytest.approx(size / row["tokens"])
        assert len(texts) < row["tokens"] < size  # ids for every document, fewer than its bytes
        if row["library"] != "bytepiece":
            assert row["bytepiece_is"] > 0 and row["bytepiece_tokens"] > 0
        if row["library"] in peers.CACHING:
            assert row["warm_mb_per_s"] > 0
        if row["library"] == "bytepiece-cli":
            continue
        ids = ids_of(row)
        assert len(ids) == len(texts) and sum(map(len, ids)) == row["tokens"]  # the figure counts these ids


def check_ids(result, texts, model):
    tok = bytepiece.Tokenizer(str(model))
    expected = [tok.encode(t) for t in texts]
    rows = result["rows"]
    by_model = {}
    for row in rows:
        ids = ids_of(row) if row["library"] != "bytepiece-cli" else None
        if row["library"] == "bytepiece":
            if row["mode"] == "sample":  # a sample of the same text: decodes to it (NFC), differs from the best
                assert [tok.decode(i) for i in ids] == [unicodedata.normalize("NFC", t) for t in texts]
                assert ids != expected
            else:
                assert ids == expected, row["label"]
        elif row["library"] != "bytepiece-cli":
            # Every peer is lossless here: its own decoder gives back each document exactly.
            assert all(peers.decodes(row["library"], row["model"], i, t) for i, t in zip(ids, texts)), row["label"]
            if row["mode"] != "sample":
                by_model.setdefault(row["model"], []).append((row["label"], ids))
    for model_path, found in by_model.items():  # the accelerators reproduce the library of the model
        first_label, first = found[0]
        for label, ids in found[1:]:
            assert ids == first, (label, first_label)


def test_tokenize_figures_are_real(tokenize, setup):
    result, stdout = tokenize
    _, _, model, _, texts = setup
    assert "deterministic" in stdout and "bytepiece is" in stdout
    check_figures(result, texts)
    check_ids(result, texts, model)
    modes = {(row["library"], row["mode"], row["threads"]) for row in result["rows"]}
    assert {("bytepiece", "encode", 1), ("bytepiece", "sample", 1), ("bytepiece", "batch", 1),
            ("bytepiece", "batch", 2)} <= modes
    timed = {(row["library"], row["model"]) for row in result["rows"] if row["library"] != "bytepiece"}
    libraries = {lib for lib, _ in timed}
    assert libraries <= {lib for lib, _ in peers.CONTENDERS if peers.installed(lib)}
    for library in ("tokenizers", "sentencepiece"):  # the libraries of the peers' models: timed where installed
        assert (library in libraries) == peers.installed(library)
    if peers.installed("sentencepiece"):
        assert ("sentencepiece", "sample", 1) in modes  # the unigram's exact sampler beside bytepiece's


def test_outputs_figures_are_real(outputs, setup):
    result, stdout = outputs
    _, _, model, _, texts = setup
    assert "encode -o bin" in stdout
    check_figures(result, texts)
    check_ids(result, texts, model)
    batch = {row["threads"]: row for row in result["rows"] if row["library"] == "bytepiece"}
    cli = [row for row in result["rows"] if row["library"] == "bytepiece-cli"]
    assert sorted(row["threads"] for row in cli) == [1, 2] == sorted(batch)
    for row in cli:  # the CLI's token file holds encode_batch_numpy's ids, document after document
        meta = json.loads(open(row["dump"] + ".bin.bytepiece.json", encoding="utf-8").read())
        tokens = np.fromfile(row["dump"] + ".bin", dtype=np.dtype(meta["dtype"]))
        assert row["tokens"] == meta["tokens"] == len(tokens) == batch[row["threads"]]["tokens"]
        assert tokens.tolist() == [i for ids in ids_of(batch[row["threads"]]) for i in ids]


def test_thread_counts_are_parsed_and_checked():
    assert peers.parse_threads("1,2,4") == [1, 2, 4]
    for bad in ("", "0", "1,x", "-2"):
        with pytest.raises(ValueError, match="--threads"):
            peers.parse_threads(bad)
