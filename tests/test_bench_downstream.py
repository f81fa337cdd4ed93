"""benchmarks/bench_downstream.py on a tiny configuration (seconds), so that it cannot rot: every
system trains a tokenizer and a language model, and the figures it reports are real measurements."""
import json
import math
import subprocess
import sys

import pytest

from conftest import ROOT

pytest.importorskip("torch")  # in the test extra; the message says what is missing where it is not

SYSTEMS = ["bytepiece-em", "bytepiece-em-sr0.1", "sp-bpe", "hf-bpe-superword"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("downstream") / "results.json"
    sample = ROOT / "data" / "sample.jsonl"
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_downstream.py"), str(sample),
               "--eval", f"again={sample}", "--systems", *SYSTEMS, "--vocab-size", "4000", "--seeds", "2",
               "--tokens", "16384", "--lr", "0.01", "--lm-bytes", "6000", "--eval-bytes", "4000", "--width", "32", "--layers", "1",
               "--heads", "2", "--context", "32", "--batch", "8", "--threads", "1", "--device", "cpu",
               "--json", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "bits per byte" in run.stdout and all(system in run.stdout for system in SYSTEMS)
    return json.loads(out.read_text())


def test_every_system_reports_every_corpus_for_every_seed(results):
    assert list(results["systems"]) == SYSTEMS
    for row in results["systems"].values():
        assert set(row["bits_per_byte"]) == {"heldout", "again", "noisy"}
        for values in row["bits_per_byte"].values():
            assert len(values) == 2 and all(math.isfinite(v) and v > 0 for v in values)
        assert all(1.0 < bpt < 8.0 for bpt in row["bytes_per_token"].values())


def test_the_models_learn_something(results):
    # An untrained model predicts about uniformly: log2(vocab + 1) bits per token. `again` begins with
    # the documents the LM trained on, which it has seen: it must predict them far better.
    for row in results["systems"].values():
        for name, bound in (("heldout", 1.0), ("again", 0.8)):
            uniform = math.log2(4000 + 1) / row["bytes_per_token"][name]
            assert max(row["bits_per_byte"][name]) < bound * uniform, name


def test_subword_regularization_draws_new_samples_each_epoch_and_seeds_differ(results):
    regularized = results["systems"]["bytepiece-em-sr0.1"]
    assert regularized["epochs"] >= 2  # the text was sampled afresh at least once
    plain = results["systems"]["bytepiece-em"]
    assert regularized["bits_per_byte"]["heldout"] != plain["bits_per_byte"]["heldout"]
    assert len(set(plain["bits_per_byte"]["heldout"])) == 2  # each seed its own model


def test_noise_changes_the_text_but_not_its_domain():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_downstream
    finally:
        sys.path.pop(0)
    texts = ["the quick brown fox jumps over the lazy dog " * 20, "床前明月光，疑是地上霜。" * 20]
    noisy = bench_downstream.add_noise(texts, 0.1, seed=1)
    assert noisy == bench_downstream.add_noise(texts, 0.1, seed=1)  # deterministic
    changed = sum(a != b for a, b in zip(texts[0].split(" "), noisy[0].split(" ")))
    assert 0.05 * 180 < changed < 0.4 * 180  # typos and casing in about 2 x 10% of the words
    assert noisy[1] != texts[1] and noisy[1].count("，") == 20  # CJK characters too, never punctuation
    assert bench_downstream.add_noise(texts, 0.0, seed=1) == texts
