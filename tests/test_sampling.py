"""Statistical tests of every sampler against exact enumeration.

For short strings over a small vocabulary we list every segmentation, compute
the probability the sampler should give it, draw 100k samples with fixed seeds
(so the test is deterministic) and compare frequencies. The tolerances are a
few standard errors: a sampler off by even a few percent on one segmentation
fails.
"""
import math
from collections import Counter

import pytest

from conftest import exact_distribution, segmentations

N_SAMPLES = 100_000


def sample_frequencies(tok, data, alpha, sampler, n=N_SAMPLES, seed0=0):
    counts = Counter(tuple(tok.encode(data, alpha=alpha, sampler=sampler, seed=seed0 + i)) for i in range(n))
    return {s: c / n for s, c in counts.items()}


def assert_matches(freqs, expected, n=N_SAMPLES):
    assert set(freqs) <= set(expected), "sampled a segmentation that does not exist"
    chi2 = 0.0
    for seg, p in expected.items():
        f = freqs.get(seg, 0.0)
        sigma = math.sqrt(p * (1 - p) / n)
        assert abs(f - p) <= 5 * sigma + 1e-9, f"segmentation {seg}: frequency {f:.5f}, expected {p:.5f}"
        chi2 += n * (f - p) ** 2 / p
    dof = len(expected) - 1
    # chi-square with dof degrees of freedom: mean dof, sd sqrt(2 dof); 6 sd is far out.
    assert chi2 <= dof + 6 * math.sqrt(2 * dof) + 10, f"chi2 {chi2:.1f} with {dof} degrees of freedom"


@pytest.mark.parametrize("data", [b"abab", b"aabab", b"babaab"])
@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_perfect_sampling_is_exact(tiny, data, alpha):
    expected = exact_distribution(tiny, data, alpha)
    assert len(expected) >= 5
    assert_matches(sample_frequencies(tiny, data, alpha, "perfect"), expected)


def test_perfect_sampling_at_alpha_zero_is_uniform(tiny):
    data = b"aabab"
    expected = exact_distribution(tiny, data, 0.0)
    uniform = 1 / len(expected)
    assert all(abs(p - uniform) < 1e-12 for p in expected.values())
    assert_matches(sample_frequencies(tiny, data, 0.0, "perfect"), expected)


def test_perfect_sampling_on_real_model_matches_enumeration(tok40k):
    data = "你好吗".encode()
    expected = exact_distribution(tok40k, data, 0.5)
    assert len(expected) >= 4
    assert_matches(sample_frequencies(tok40k, data, 0.5, "perfect", n=50_000), expected, n=50_000)


def test_large_alpha_concentrates_on_the_viterbi_segmentation(tiny):
    data = b"aabab"
    best = tuple(tiny.encode(data))
    totals = segmentations(tiny, data)
    assert totals[best] == max(totals.values())
    freqs = sample_frequencies(tiny, data, 200.0, "perfect", n=2000)
    assert freqs == {best: 1.0}


def viterbi_sampler_distribution(tok, data, alpha):
    """The exact output distribution of Viterbi sampling, by enumerating its coin flips."""
    scores = dict(zip(tok.model.pieces, tok.model.scores()))
    n = len(data)
    # A state: (probability, path score per position, chosen (start, piece) per position).
    states = [(1.0, [0.0] + [-math.inf] * n, [None] * (n + 1))]
    for e in range(1, n + 1):
        for s in range(e):  # candidates in the decoder's order: longest first
            piece = data[s:e]
            if piece not in scores:
                continue
            grown = []
            for prob, value, back in states:
                x, y = value[s] + scores[piece], value[e]
                p_take = 1.0 if y == -math.inf else 1.0 / (1.0 + math.exp(-alpha * (x - y)))
                for p, take in ((p_take, True), (1 - p_take, False)):
                    if p == 0:
                        continue
                    v, b = value, back
                    if take:
                        v, b = value[:], back[:]
                        v[e], b[e] = x, (s, piece)
                    grown.append((prob * p, v, b))
            states = grown
    dist = Counter()
    for prob, _, back in states:
        ids, e = [], n
        while e > 0:
            s, piece = back[e]
            ids.append(tok.piece_to_id(piece))
            e = s
        dist[tuple(ids[::-1])] += prob
    return dict(dist)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_viterbi_sampling_matches_its_own_biased_distribution(tiny, alpha):
    data = b"aabab"
    own = viterbi_sampler_distribution(tiny, data, alpha)
    assert abs(sum(own.values()) - 1) < 1e-9
    assert_matches(sample_frequencies(tiny, data, alpha, "viterbi"), own)


def test_viterbi_sampling_is_biased_away_from_the_exact_distribution(tiny):
    """The known bias, measured: at alpha=0 it is far from uniform."""
    data = b"aabab"
    exact = exact_distribution(tiny, data, 0.0)
    own = viterbi_sampler_distribution(tiny, data, 0.0)
    total_variation = 0.5 * sum(abs(own.get(s, 0) - p) for s, p in exact.items())
    assert total_variation > 0.1
    freqs = sample_frequencies(tiny, data, 0.0, "viterbi")
    measured = 0.5 * sum(abs(freqs.get(s, 0) - p) for s, p in exact.items())
    assert measured > 0.1


def test_perfect_sampling_draws_the_same_before_and_after_its_linear_weights_exist():
    """The weights of the linear-space sampler are made once enough text was
    sampled with an alpha; before, the log-space form runs. Same draws either way."""
    import bytepiece
    from conftest import MODEL_40K

    tok = bytepiece.Tokenizer(MODEL_40K)  # fresh: no weights made yet
    units = tok.model.segmenter().num_units
    short = "BytePiece 是一个 Byte-based 的 Unigram 分词器。\nSubword regularization samples.\n" * 4
    assert len(short.encode()) < units // 4
    seeds = range(20)
    before = [tok.encode(short, alpha=0.3, seed=s) for s in seeds]  # log space (too little text yet)
    tok.encode(short * (units // len(short.encode()) + 1), alpha=0.3, seed=0)  # enough: the weights are made
    after = [tok.encode(short, alpha=0.3, seed=s) for s in seeds]
    assert after == before
    assert len({tuple(ids) for ids in before}) > 1  # they are samples, not one segmentation
