"""Model.subset: the model of some rows of a model, as from_canonical makes
it (the oracle), with its trie built on first use."""
import numpy as np
import pytest

from bytepiece import Model
from conftest import sample_texts


def canonical_model():
    pieces = sorted({t.encode("utf-8")[i:i + n] for t in sample_texts(20, seed=5) for n in (2, 3)
                     for i in range(0, 40, n)} - {b""} | {bytes([b]) for b in range(256)},
                    key=lambda p: (len(p), p))
    counts = np.arange(1, len(pieces) + 1, dtype=np.uint64) * 7 % 1000 + 1
    return Model.canonical(pieces, counts)


def test_a_subset_is_the_model_from_canonical_makes_and_encodes_alike():
    model = canonical_model()
    rng = np.random.default_rng(3)
    singles = np.flatnonzero(model.packed().lengths() == 1)
    rows = np.union1d(singles, np.sort(rng.choice(model.num_pieces, model.num_pieces // 2, replace=False)))
    counts = rng.integers(1, 50, len(rows)).astype(np.uint64)
    subset = model.subset(rows, counts)
    oracle = Model.from_canonical(model.packed().take(rows), counts)
    assert subset == oracle
    assert subset.scores().tolist() == oracle.scores().tolist()
    assert subset._segmenter is None  # not built until asked for
    text = " ".join(sample_texts(5, seed=8)).encode("utf-8")
    assert subset.segmenter().encode_lists([text], 0, -1.0, None) == oracle.segmenter().encode_lists(
        [text], 0, -1.0, None)
    assert subset.segmenter() is subset.segmenter()


@pytest.mark.parametrize("rows", [[5, 5], [7, 3], [-1], [10 ** 9]])
def test_a_subset_refuses_rows_that_are_not_increasing_positions(rows):
    model = canonical_model()
    with pytest.raises(ValueError, match="strictly increasing"):
        model.subset(np.array(rows), np.ones(len(rows), dtype=np.uint64))


def test_a_subset_checks_what_the_constructor_checks():
    model = canonical_model()
    rows = np.flatnonzero(model.packed().lengths() > 1)  # no single bytes
    counts = np.ones(len(rows), dtype=np.uint64)
    with pytest.raises(ValueError) as oracle:
        Model.from_canonical(model.packed().take(rows), counts)
    with pytest.raises(ValueError) as raised:
        model.subset(rows, counts)
    assert str(raised.value) == str(oracle.value)
    every = np.arange(model.num_pieces)
    with pytest.raises(ValueError) as oracle:
        Model.from_canonical(model.packed(), np.zeros(model.num_pieces, dtype=np.uint64))
    with pytest.raises(ValueError) as raised:
        model.subset(every, np.zeros(model.num_pieces, dtype=np.uint64))
    assert str(raised.value) == str(oracle.value)
