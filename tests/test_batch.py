"""Batches, samples and n-best: batch == loop, thread independence, exactness."""
import gc
import gzip
import json
import math
from collections import Counter

import numpy as np
import pytest

from bytepiece import _core
from reference import stream_key
from conftest import FIXTURES, exact_distribution, segmentations

MODES = [dict(), dict(alpha=0.0), dict(alpha=0.3), dict(alpha=0.3, sampler="viterbi")]


@pytest.fixture(scope="module")
def texts():
    with gzip.open(FIXTURES / "plus.40k.golden.jsonl.gz", "rt", encoding="utf-8") as f:
        docs = [json.loads(line)["text"] for line in f][:400]
    return docs + ["", "\n", b"raw \xff bytes", "e\u0301 not NFC"]


def test_batch_equals_a_loop_of_encode(tok40k, texts):
    for kwargs in [dict(), dict(add_bos=True), dict(add_eos=True), dict(add_bos=True, add_eos=True)]:
        expected = [tok40k.encode(t, **kwargs) for t in texts]
        assert tok40k.encode_batch(texts, num_threads=2, **kwargs) == expected


@pytest.mark.parametrize("kwargs", MODES)
def test_sampled_batch_text_i_uses_stream_i_of_the_seed(tok40k, ref40k, texts, kwargs):
    batch = tok40k.encode_batch(texts, seed=77, num_threads=3, **kwargs)
    assert batch[0] == tok40k.encode(texts[0], seed=77, **kwargs)  # stream 0 is encode's
    # each text against the reference decoder with the derived stream key
    mode = 0 if not kwargs else (1 if kwargs.get("sampler", "perfect") == "perfect" else 2)
    alpha = kwargs.get("alpha", -1.0)
    from bytepiece.text import to_utf8

    for i in range(0, len(texts), 37):
        assert batch[i] == ref40k.encode(to_utf8(texts[i]), mode, alpha, stream_key(77, i))


@pytest.mark.parametrize("kwargs", MODES)
def test_seeded_batch_does_not_depend_on_num_threads(tok40k, texts, kwargs):
    runs = [tok40k.encode_batch(texts, seed=5, num_threads=n, **kwargs) for n in (1, 2, 3, 8)]
    assert runs[0] == runs[1] == runs[2] == runs[3]
    for n in (1, 3):
        ids, offsets = tok40k.encode_batch_numpy(texts, seed=5, num_threads=n, **kwargs)
        assert ids.dtype == np.int32 and offsets.dtype == np.int64 and len(offsets) == len(texts) + 1
        assert [ids[offsets[i]:offsets[i + 1]].tolist() for i in range(len(texts))] == runs[0]


def test_unseeded_batches_follow_the_tokenizer_seed():
    import bytepiece
    from conftest import MODEL_40K

    a, b = bytepiece.Tokenizer(MODEL_40K, seed=3), bytepiece.Tokenizer(MODEL_40K, seed=3)
    docs = ["sample me"] * 20
    assert a.encode_batch(docs, alpha=0.5) == b.encode_batch(docs, alpha=0.5, num_threads=1)
    assert len({tuple(x) for x in a.encode_batch(docs, alpha=0.5)}) > 1


def test_batch_edge_cases(tok40k):
    assert tok40k.encode_batch([]) == []
    ids, offsets = tok40k.encode_batch_numpy([])
    assert ids.size == 0 and offsets.tolist() == [0]
    assert tok40k.encode_batch(["", ""], add_bos=True) == [[1], [1]]
    with pytest.raises(TypeError, match="sequence of texts"):
        tok40k.encode_batch("one text")
    with pytest.raises(ValueError, match="num_threads must be at least 1"):
        tok40k.encode_batch(["x"], num_threads=0)
    with pytest.raises(TypeError, match="text must be str or bytes"):
        tok40k.encode_batch(["x", 3], num_threads=2)


def test_regression_batch_lists_are_tracked_by_the_gc_when_returned(tok40k, texts):
    result = tok40k.encode_batch(texts, num_threads=2)
    assert all(gc.is_tracked(ids) for ids in result)
    cycle = result[0]
    cycle.append(cycle)  # a cycle through a returned list must still be collectable
    del cycle, result
    gc.collect()


def test_sample_is_a_batch_of_one_text(tok40k):
    text = "subword regularization 子词正则化"
    samples = tok40k.sample(text, 6, alpha=0.2, seed=9)
    assert samples == tok40k.encode_batch([text] * 6, alpha=0.2, seed=9)
    assert samples[0] == tok40k.encode(text, alpha=0.2, seed=9)
    assert len({tuple(s) for s in samples}) > 1
    assert all(tok40k.decode(s) == text for s in samples)
    with pytest.raises(ValueError, match="alpha >= 0"):
        tok40k.sample(text, 2, alpha=-1)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        tok40k.sample(text, 0)


@pytest.mark.parametrize("sampler", ["perfect"])
def test_sample_frequencies_match_the_exact_distribution(tiny, sampler):
    data, alpha, n = b"aabab", 0.5, 100_000
    expected = exact_distribution(tiny, data, alpha)
    freqs = Counter(tuple(s) for s in tiny.sample(data, n, alpha=alpha, sampler=sampler, seed=11))
    chi2 = 0.0
    for seg, p in expected.items():
        f = freqs.get(seg, 0) / n
        assert abs(f - p) <= 5 * math.sqrt(p * (1 - p) / n) + 1e-9, seg
        chi2 += n * (f - p) ** 2 / p
    dof = len(expected) - 1
    assert chi2 <= dof + 6 * math.sqrt(2 * dof) + 10


@pytest.mark.parametrize("data", [b"aabab", b"babaab", b"ab\nab", b"abab\n\nbab", b"x"])
@pytest.mark.parametrize("k", [1, 3, 10, 1000])
def test_nbest_matches_brute_force_enumeration(tiny, data, k):
    # Every segmentation of the chunks, combined: score = sum over chunks.
    from bytepiece import normalize

    combined = {(): 0.0}
    for chunk in normalize(data):
        segs = segmentations(tiny, chunk)
        combined = {a + b: sa + sb for a, sa in combined.items() for b, sb in segs.items()}
    best = tiny.nbest(data, k, with_scores=True)
    assert len(best) == min(k, len(combined))
    assert len({tuple(ids) for ids, _ in best}) == len(best), "segmentations repeat"
    for ids, score in best:
        assert tiny.decode_bytes(ids) == data
        assert math.isclose(score, combined[tuple(ids)], rel_tol=0, abs_tol=1e-9)
    expected_scores = sorted(combined.values(), reverse=True)[: len(best)]
    assert [s for _, s in best] == pytest.approx(expected_scores, abs=1e-9)
    assert best[0][0] == tiny.encode(data)


def test_nbest_on_the_real_model(tok40k):
    text = "你好吗 hello"
    best = tok40k.nbest(text, 5)
    assert best[0] == tok40k.encode(text)
    assert len(best) == 5 and all(tok40k.decode(ids) == text for ids in best)
    assert tok40k.nbest("", 3) == [[]]
    with pytest.raises(ValueError, match="k must be a positive integer"):
        tok40k.nbest(text, 0)


def test_track_lists_is_idempotent_on_tracked_lists():
    lists = [[1], [2]]
    _core.track_lists(lists)  # tracking an object twice would abort the interpreter
    assert all(gc.is_tracked(part) for part in lists)


def test_first_stream_continues_a_batch_exactly(tok40k, texts):
    """Encoding a corpus batch by batch with a running first_stream samples like one big batch."""
    whole = tok40k.encode_batch(texts[:60], alpha=0.2, seed=11, num_threads=2)
    parts = [tok40k.encode_batch(texts[lo:min(lo + 25, 60)], alpha=0.2, seed=11, first_stream=lo)
             for lo in range(0, 60, 25)]
    assert [ids for part in parts for ids in part] == whole
    ids, offsets = tok40k.encode_batch_numpy(texts[25:50], alpha=0.2, seed=11, first_stream=25)
    assert [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])] == whole[25:50]
    with pytest.raises(ValueError, match="first_stream must be at least 0"):
        tok40k.encode_batch(texts[:2], alpha=0.2, seed=11, first_stream=-1)
