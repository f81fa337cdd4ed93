"""The n-gram model within a budget (training/budget.py, docs/spec/training.md §2): the
histogram of the counts is a brute-force count of the n-grams per count, the partitions'
histograms add, the budget raises min_count exactly as the histogram says (the model then
being the one that min_count given explicitly makes, whatever the threads), a budget that
does not bind changes nothing, and max_memory is checked before any pass, locally too."""
import subprocess
import sys
import time
import warnings
from collections import Counter

import numpy as np
import pytest

import bytepiece
from bytepiece import _training
from bytepiece.cli import main
from bytepiece.training import thread_engine
from bytepiece.training.budget import (
    HISTOGRAM_CAP, MIN_MEMORY, MemoryBoundError, NgramHistogram, budgeted_min_count, least_model_bytes,
    model_bytes_bound,
)
from bytepiece.training.primitives import (
    CountingPlan, chunk_batches, count_ngrams, finish_ngram_model, finish_ngrams, merge_ngrams, total_positions,
)
from conftest import ROOT, SAMPLE, sample_texts

ORDER = 6


@pytest.fixture(scope="module")
def texts():
    return sample_texts()


@pytest.fixture(scope="module")
def brute_force(texts):
    """Every n-gram of 2..ORDER bytes of the training chunks, with its count, by brute force."""
    counts: Counter = Counter()
    for packed, _ in chunk_batches(texts, False):
        for chunk in packed.pieces():
            for j in range(2, ORDER + 1):
                counts.update(chunk[i:i + j] for i in range(len(chunk) - j + 1))
    return counts


def counted(texts, num_partitions, order=ORDER):
    """An n-gram model of the texts' counts (not finished), over ``num_partitions`` partitions."""
    plan = CountingPlan.balanced(order, num_partitions)
    ngram_model = plan.new_ngram_model()
    for packed, _ in chunk_batches(texts, False):
        for p in range(num_partitions):
            ngram_model.count(p, packed.data, packed.offsets)
    return ngram_model


def histogram_of(counts, min_count, cap=HISTOGRAM_CAP):
    """(values, num_ngrams) of counts >= min_count, those >= cap under cap."""
    per_value = Counter(min(c, cap) for c in counts if c >= min_count)
    values = sorted(per_value)
    return values, [per_value[v] for v in values]


def kept_by_brute_force(brute_force, min_count):
    return sum(1 for c in brute_force.values() if c >= min_count)


@pytest.mark.parametrize("num_partitions", [1, 3])
@pytest.mark.parametrize("min_count", [1, 3])
def test_the_histogram_is_a_brute_force_count_of_ngrams_per_count(texts, brute_force, num_partitions, min_count):
    ngram_model = counted(texts, num_partitions)
    total = NgramHistogram.total(NgramHistogram.of_partition(ngram_model, p, min_count) for p in range(num_partitions))
    values, num_ngrams = histogram_of(brute_force.values(), min_count)
    assert total.values.tolist() == values
    assert total.num_ngrams.tolist() == num_ngrams
    # Per partition and length too, with a small cap: the n-grams of its first bytes.
    part_of_byte = ngram_model.partition_map()
    for p in range(num_partitions):
        for j in (2, ORDER):
            mine = [c for k, c in brute_force.items() if len(k) == j and part_of_byte[k[0]] == p]
            got = ngram_model.count_histogram(p, j, min_count, 50)
            assert [a.tolist() for a in got] == [list(x) for x in histogram_of(mine, min_count, cap=50)]


def test_histograms_of_partitions_add_up_to_the_corpus(texts):
    whole = NgramHistogram.of_partition(counted(texts, 1), 0, 2)
    four = counted(texts, 4)
    parts = [NgramHistogram.of_partition(four, p, 2) for p in range(4)]
    total = NgramHistogram.total(parts)
    assert total.values.tolist() == whole.values.tolist() and total.num_ngrams.tolist() == whole.num_ngrams.tolist()
    pairwise = (parts[0] + parts[1]) + (parts[2] + parts[3])
    assert pairwise.num_ngrams.tolist() == whole.num_ngrams.tolist()
    for m in (2, 3, 10, 1000, HISTOGRAM_CAP):
        assert total.kept(m) == sum(part.kept(m) for part in parts)
    with pytest.raises(ValueError, match="same min_count"):
        NgramHistogram.total([parts[0], NgramHistogram.of_partition(four, 1, 3)])
    with pytest.raises(ValueError):
        total.kept(1)  # below the histogram's min_count: not known


def test_the_bound_holds_for_every_partitioning(texts, brute_force):
    for num_partitions in (1, 2, 7):
        for min_count in (1, 2, 5, 50):
            ngram_model = counted(texts, num_partitions)
            finish_ngram_model(ngram_model, min_count)
            kept = kept_by_brute_force(brute_force, min_count)
            assert ngram_model.memory <= _training.finished_bytes_bound(ORDER, num_partitions, kept)
            assert ngram_model.memory <= model_bytes_bound(ORDER, kept)  # the partition-free bound the rule uses
    assert least_model_bytes(8) == 32 << 20  # 16 KiB per table, 8 lengths, 256 partitions


def brute_force_min_count(brute_force, min_count, budget):
    """The rule, from the brute-force counts: the least m >= min_count whose bound fits."""
    m = min_count
    while model_bytes_bound(ORDER, kept_by_brute_force(brute_force, m)) > budget:
        m += 1
    return m


def train(texts, num_threads=2, max_memory=None, **options):
    trainer = bytepiece.Trainer(order=ORDER, max_vocab_size=[3000, 1000], **options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        trainer.train(texts, num_threads=num_threads, progress=False, max_memory=max_memory)
    return trainer, [str(w.message) for w in caught]


@pytest.mark.parametrize("algorithm", ["0.6.3", "em"])
def test_a_budget_raises_min_count_exactly_as_the_histogram_says(texts, brute_force, algorithm):
    configured = 2
    unbounded = model_bytes_bound(ORDER, kept_by_brute_force(brute_force, configured))
    budget = least_model_bytes(ORDER) + (unbounded - least_model_bytes(ORDER)) // 3  # binds
    expected = brute_force_min_count(brute_force, configured, budget)
    assert expected > configured
    assert model_bytes_bound(ORDER, kept_by_brute_force(brute_force, expected - 1)) > budget  # the least that fits

    budgeted, said = train(texts, algorithm=algorithm, min_count=configured, max_ngram_model_bytes=budget)
    assert budgeted.stats.min_count == expected
    assert budgeted.stats.ngram_model_budget == budget
    assert budgeted.stats.model_bytes <= budget
    assert budgeted.min_count == configured  # the options stay as asked; the stats say what was used
    assert any(f"min_count raised from {configured} to {expected}" in line for line in said), said
    # The model is the one that min_count given explicitly makes, on any number of threads.
    explicit, _ = train(texts, algorithm=algorithm, min_count=expected)
    assert budgeted.models() == explicit.models()
    assert explicit.stats.model_bytes == budgeted.stats.model_bytes
    one_thread, _ = train(texts, num_threads=1, algorithm=algorithm, min_count=configured,
                          max_ngram_model_bytes=budget)
    assert one_thread.stats.min_count == expected and one_thread.models() == explicit.models()


def test_a_budget_that_does_not_bind_changes_nothing(texts, brute_force):
    free, _ = train(texts, algorithm="em", min_count=2)
    exactly = model_bytes_bound(ORDER, kept_by_brute_force(brute_force, 2))  # the least budget that does not bind
    bounded, said = train(texts, algorithm="em", min_count=2, max_ngram_model_bytes=exactly)
    assert bounded.models() == free.models()
    assert (bounded.stats.min_count, bounded.stats.ngram_model_budget) == (2, exactly)
    assert (free.stats.min_count, free.stats.ngram_model_budget) == (2, None)
    assert not said
    tighter, _ = train(texts, algorithm="em", min_count=2, max_ngram_model_bytes=exactly - 1)
    assert tighter.stats.min_count == 3


class _Unread:
    """A corpus that must never be read."""

    def __iter__(self):
        raise AssertionError("the corpus was read before the options were checked")


def test_memory_options_are_checked_before_the_corpus_is_read():
    trainer = bytepiece.Trainer(order=ORDER, max_ngram_model_bytes=least_model_bytes(ORDER) - 1)
    with pytest.raises(ValueError, match="max_ngram_model_bytes must be at least 24.0 MiB with order 6"):
        trainer.train(_Unread())
    with pytest.raises(ValueError, match="max_memory must be at least 512.0 MiB"):
        bytepiece.Trainer().train(_Unread(), max_memory=MIN_MEMORY - 1)
    with pytest.raises(ValueError, match="more than half of max_memory"):
        bytepiece.Trainer(max_ngram_model_bytes=600 << 20).train(_Unread(), max_memory=1 << 30)
    with pytest.raises(ValueError, match="max_ngram_model_bytes must be at least 1"):
        bytepiece.Trainer(max_ngram_model_bytes=0)


def test_max_memory_gives_the_model_half_and_holds(texts):
    free, _ = train(texts, min_count=2)
    bounded, said = train(texts, min_count=2, max_memory=1 << 30)
    assert bounded.stats.ngram_model_budget == 1 << 29
    assert bounded.models() == free.models() and not said


def test_local_max_memory_stops_counting_and_points_to_ray(texts, monkeypatch):
    read = []

    class Corpus:
        def __iter__(self):
            for text in texts:
                read.append(text)
                yield text

    monkeypatch.setattr(thread_engine, "resident_memory", lambda: 2 << 30)  # as if this process held 2 GiB
    started = time.perf_counter()
    with pytest.raises(MemoryBoundError, match=r"counting the n-grams needs more than the memory bound "
                                               r"\(1.00 GiB\) in one process.*Train on Ray"):
        bytepiece.Trainer().train(Corpus(), batch_size=100, max_memory=1 << 30)
    assert len(read) <= 100  # before the first batch was counted
    assert time.perf_counter() - started < 30


def test_the_rule_refuses_what_no_min_count_up_to_the_cap_fits():
    many = NgramHistogram(4, np.array([HISTOGRAM_CAP], dtype=np.uint64), np.array([10 ** 6], dtype=np.uint64))
    with pytest.raises(MemoryBoundError, match="cannot fit .* at any min_count up to 65536"):
        budgeted_min_count(many, 8, least_model_bytes(8) + 1000)
    assert budgeted_min_count(many, 8, model_bytes_bound(8, 10 ** 6)) == 4
    few = NgramHistogram(4, np.array([5, 9, HISTOGRAM_CAP], dtype=np.uint64), np.array([100, 10, 1], dtype=np.uint64))
    assert budgeted_min_count(few, 8, model_bytes_bound(8, 11)) == 6  # past the bin of 5: 10 + 1 left
    assert budgeted_min_count(few, 8, model_bytes_bound(8, 1)) == 10
    with pytest.raises(MemoryBoundError):  # dropping the last one needs a min_count past the cap
        budgeted_min_count(few, 8, model_bytes_bound(8, 0))


def test_merging_then_finishing_equals_finishing_the_shards(texts):
    """The two reduce steps of a distributed run with a budget give the finished
    tables of the one step, and the histogram of one process's counts."""
    plan = CountingPlan.balanced(ORDER, 3)
    shards = [texts[:500], texts[500:1100], texts[1100:]]
    counted_shards = [count_ngrams(plan, shard) for shard in shards]
    positions = total_positions([summary for summary, _ in counted_shards])
    merged = [merge_ngrams(plan, p, [parts[p] for _, parts in counted_shards], 2) for p in range(3)]
    local = counted(texts, 3)
    local_histogram = NgramHistogram.total(NgramHistogram.of_partition(local, p, 2) for p in range(3))
    histogram = NgramHistogram.total(h for h, _ in merged)
    assert histogram.num_ngrams.tolist() == local_histogram.num_ngrams.tolist()
    for m in (2, 5):
        for p in range(3):
            two_steps = finish_ngrams(plan, p, [merged[p][1]], positions, m)
            one_step = finish_ngrams(plan, p, [parts[p] for _, parts in counted_shards], positions, m)
            for a, b in zip(two_steps.tables, one_step.tables):
                assert len(a) == len(b) and slots(a) == slots(b)  # the same n-grams and log-probabilities


def slots(table):
    """The (key, log-probability) of the used slots of a finished table, sorted
    (where each lands depends on the order the keys were added in)."""
    entries = np.frombuffer(table, dtype=[("key", "<u8"), ("logprob", "<f8")])
    used = entries[~np.isnan(entries["logprob"])]
    return sorted(zip(used["key"].tolist(), used["logprob"].tolist()))


def test_cli_reports_a_raised_min_count(tmp_path, capsys, brute_force):
    budget = least_model_bytes(ORDER) + (model_bytes_bound(ORDER, kept_by_brute_force(brute_force, 2))
                                         - least_model_bytes(ORDER)) // 3
    expected = brute_force_min_count(brute_force, 2, budget)
    out = tmp_path / "m.model"
    assert main(["train", str(SAMPLE), "--field", "text", "--order", str(ORDER), "--min-count", "2",
                 "--vocab-size", "2000", "--max-ngram-bytes", str(budget), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"bytepiece: warning: min_count raised from 2 to {expected} so that" in err
    assert f"min_count raised from 2 to {expected}" in err.splitlines()[-1]  # and the summary says it
    explicit = tmp_path / "e.model"
    assert main(["train", str(SAMPLE), "--field", "text", "--order", str(ORDER), "--min-count", str(expected),
                 "--vocab-size", "2000", "-o", str(explicit), "-q"]) == 0
    raised, chosen = bytepiece.load_model(out), bytepiece.load_model(explicit)
    assert raised == chosen  # the same vocabulary, ids and counts
    # Each records the min_count it trained with, and the option it was given.
    assert raised.provenance["min_count"] == chosen.provenance["min_count"] == expected
    assert (raised.provenance["options"]["min_count"], chosen.provenance["options"]["min_count"]) == (2, expected)
    # Locally --max-memory is valid, and a bound that holds changes nothing.
    bounded = tmp_path / "b.model"
    assert main(["train", str(SAMPLE), "--field", "text", "--order", str(ORDER), "--min-count", str(expected),
                 "--vocab-size", "2000", "--max-memory", "2G", "-o", str(bounded)]) == 0
    assert "within 1.00 GiB (min_count" in capsys.readouterr().err
    assert bytepiece.load_model(bounded) == chosen


BAD_MEMORY_OPTIONS = [
    (["--max-memory", "200M"], "--max-memory must be at least 512.0 MiB (a worker process alone takes about "
                               "200 MiB), got 200.0 MiB"),
    (["--max-memory", "300M"], "got 300.0 MiB"),
    (["--max-memory", "1G", "--max-ngram-bytes", "600M"], "--max-ngram-bytes 600.0 MiB is more than half of "
                                                          "--max-memory (1.00 GiB)"),
    (["--max-ngram-bytes", "1M"], "--max-ngram-bytes must be at least 32.0 MiB with order 8"),
]


@pytest.mark.parametrize("extra,message,ray", [(*case, []) for case in BAD_MEMORY_OPTIONS] + [
    (*case, ["--ray"]) for case in BAD_MEMORY_OPTIONS + [
        (["--max-memory", "100T"], "is more than this machine has")]])  # a local Ray could never run a task
def test_bad_memory_options_are_one_line_before_ray_starts(tmp_path, extra, message, ray):
    code = ("import sys, time; from bytepiece.cli import main; start = time.perf_counter(); "
            f"rc = main({['train', str(SAMPLE), '--field', 'text', '-o', str(tmp_path / 'm'), *ray, *extra]!r}); "
            "print(rc, 'ray' in sys.modules, time.perf_counter() - start)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    rc, imported, seconds = result.stdout.split()
    assert rc == "1" and imported == "False", result.stderr  # Ray was not even imported
    assert float(seconds) < 5
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bytepiece: error: ") and message in lines[0], lines
    assert not (tmp_path / "m").exists()
