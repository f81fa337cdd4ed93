"""The "em" training algorithm: its C steps against Python twins, its pruning
rules, and whole trainings (sizes, round trips, determinism, 0.6.3 untouched)."""
import json
import math
import random
import warnings
from collections import Counter

import numpy as np
import pytest

import bytepiece
from bytepiece import Trainer, _training
from bytepiece.cli import main
from bytepiece.model import Model, pack_pieces
from bytepiece.training.pruning_em import gains, prune_by_gain, reestimate
from conftest import sample_texts




def bytes_per_token(model, texts):
    tok = bytepiece.Tokenizer(model)
    return sum(len(t.encode()) for t in texts) / sum(len(tok.encode(t)) for t in texts)


# -- the C steps against Python twins ------------------------------------


def python_substrings(pieces, weights, max_length):
    """Twin of PieceCounter.add_substrings(..., 1, max_length)."""
    def starts_character(piece, i):
        return i == len(piece) or not 0x80 <= piece[i] < 0xC0

    counts = Counter()
    for piece, weight in zip(pieces, weights):
        for i in range(len(piece)):
            for length in range(1, max_length + 1):
                if i + length <= len(piece) and starts_character(piece, i) and starts_character(piece, i + length):
                    counts[piece[i:i + length]] += weight
        if len(piece) > max_length:
            counts[piece] += weight
    return counts


@pytest.mark.parametrize("seed", range(3))
def test_substring_counts_match_the_python_twin(seed):
    rng = random.Random(seed)
    alphabet = ["a", "b", " ", "é", "中", "😀"]
    pieces = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))).encode() for _ in range(200)]
    weights = [rng.randint(1, 50) for _ in pieces]
    counter = _training.PieceCounter()
    packed = pack_pieces(pieces)
    counter.add_substrings(packed.data, packed.offsets, np.array(weights, dtype=np.uint64), 1, 6)
    data, offsets, counts = counter.export()
    got = {data[a:b]: int(n) for a, b, n in zip(offsets[:-1].tolist(), offsets[1:].tolist(), counts.tolist())}
    assert got == dict(python_substrings(pieces, weights, 6))


def segmentations(text, vocabulary):
    """Every segmentation of text into pieces of vocabulary (a dict piece -> score)."""
    if not text:
        yield []
        return
    for end in range(1, len(text) + 1):
        if text[:end] in vocabulary:
            for rest in segmentations(text[end:], vocabulary):
                yield [text[:end]] + rest


def test_alternative_lengths_are_the_brute_force_best_without_the_piece():
    rng = random.Random(5)
    extra = {"".join(rng.choice("abc") for _ in range(rng.randint(2, 5))).encode() for _ in range(40)}
    pieces = [bytes([b]) for b in range(256)] + sorted(extra)
    counts = [rng.randint(1, 1000) for _ in pieces]  # random scores: no exact ties
    model = Model.canonical(pieces, counts)
    scores = dict(zip(model.pieces, model.scores().tolist()))
    packed = model.packed()
    alternative = model.segmenter().alternative_lengths(packed.data, packed.offsets)
    for piece, tokens in zip(model.pieces, alternative.tolist()):
        others = [s for s in segmentations(piece, scores) if len(s) > 1]
        if not others:
            assert tokens == 0 and len(piece) == 1
            continue
        best = max(others, key=lambda s: math.fsum(scores[p] for p in s))
        assert tokens == len(best), piece


# -- the pruning rules ---------------------------------------------------


def byte_vocabulary(extra):
    """The 256 bytes (count 1) and extra pieces with their counts."""
    pieces = [bytes([b]) for b in range(256)] + list(extra)
    return Model.canonical(pieces, [1] * 256 + list(extra.values()))


def python_counter(found):
    """A FoundCounter over the found pieces ``found`` (piece -> count), token by token in Python."""
    def counter(vocabulary):
        totals = Counter()
        tok = bytepiece.Tokenizer(vocabulary)
        for piece, count in found.items():
            for token in tok.tokenize(piece):
                totals[token] += count
        return np.array([totals[p] for p in vocabulary.pieces], dtype=np.uint64)
    return counter


def test_gain_is_count_times_the_tokens_saved():
    vocabulary = byte_vocabulary({b"ab": 50, b"abcd": 7, b"cd": 40})
    by_piece = dict(zip(vocabulary.pieces, gains(vocabulary).tolist()))
    assert by_piece[b"abcd"] == 7 * (2 - 1)  # ab + cd
    assert by_piece[b"ab"] == 50 * (2 - 1)
    assert all(math.isinf(by_piece[bytes([b])]) for b in range(256))  # bytes always stay


def test_reestimate_counts_the_tokens_of_the_found_pieces_and_drops_the_unused():
    vocabulary = byte_vocabulary({b"ab": 10, b"abc": 10, b"zz": 10})
    estimated = reestimate(vocabulary, python_counter({b"abcabc": 3, b"ab": 5}))
    result = dict(zip(estimated.pieces, estimated.counts))
    assert result[b"abc"] == 6 and result[b"ab"] == 5
    assert b"zz" not in result  # no found piece uses it
    assert all(result[bytes([b])] >= 1 for b in range(256))  # unused bytes stay, with count 1


def test_pruning_removes_the_lowest_gain_first_and_hits_each_size():
    # "abcd" saves 1 token x 7; "xyz" saves 2 tokens x 5; "ab" saves 1 x 50.
    vocabulary = byte_vocabulary({b"ab": 50, b"abcd": 7, b"cd": 40, b"xyz": 5})
    counter = python_counter({b"abcd": 7, b"ab": 43, b"cd": 33, b"xyz": 5})
    smaller, smallest = prune_by_gain(vocabulary, [vocabulary.vocab_size - 1, vocabulary.vocab_size - 2], counter)
    assert set(vocabulary.pieces) - set(smaller.pieces) == {b"abcd"}
    assert set(smaller.pieces) - set(smallest.pieces) == {b"xyz"}


# -- whole trainings -----------------------------------------------------


def test_em_defaults_and_the_063_defaults_stay_apart():
    assert (Trainer().order, Trainer().min_count, Trainer().algorithm) == (6, 2, "0.6.3")
    em = Trainer(algorithm="em")
    assert (em.order, em.min_count) == (8, 4)
    assert (Trainer(algorithm="em", order=5, min_count=2).order, Trainer(algorithm="em", min_count=2).min_count) == (5, 2)
    with pytest.raises(ValueError, match="algorithm must be one of '0.6.3', 'em', got 'fast'"):
        Trainer(algorithm="fast")


#: A corpus of 100 KB: min_count 2, as the README advises below 1 MB (the
#: default 4 suits corpora of megabytes and drops too much here).
EM_OPTIONS = dict(algorithm="em", min_count=2, max_vocab_size=[3000, 1000])


@pytest.fixture(scope="module")
def em_models():
    texts = sample_texts(600, seed=3)
    trainer = Trainer(**EM_OPTIONS)
    trainer.train(texts, progress=False)
    return texts, trainer.models()


def test_em_models_have_the_sizes_the_bytes_and_round_trip(em_models):
    texts, models = em_models
    for model, size in zip(models, [3000, 1000]):
        assert model.vocab_size == size  # exactly the size asked (refill gives back removed pieces)
        assert {bytes([b]) for b in range(256)} <= set(model.pieces)
        assert list(model.pieces) == sorted(model.pieces, key=lambda p: (len(p), p))  # canonical ids
        assert all(c >= 1 for c in model.counts)
        tok = bytepiece.Tokenizer(model)
        for text in texts[:100] + ["never seen: Ωμέγα 😀 \x00"]:
            assert tok.decode(tok.encode(text)) == text


def test_em_compresses_better_than_063_at_the_same_size(em_models):
    texts, models = em_models
    seen = set(texts)
    held_out = [t for t in sample_texts(1526) if t not in seen]
    trainer = Trainer(max_vocab_size=[3000, 1000])
    trainer.train(texts, progress=False)
    for em, old in zip(models, trainer.models()):
        assert bytes_per_token(em, texts) > 1.02 * bytes_per_token(old, texts)
        assert bytes_per_token(em, held_out) > bytes_per_token(old, held_out)


def test_em_result_does_not_depend_on_threads_or_batch_size(em_models):
    texts, models = em_models
    for threads, batch in [(1, 1000), (3, 7)]:
        trainer = Trainer(**EM_OPTIONS)
        trainer.train(texts, num_threads=threads, batch_size=batch, progress=False)
        assert trainer.models() == models


def test_cli_trains_em_by_default_and_063_on_request(tmp_path):
    texts = sample_texts(300, seed=4)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    for algorithm in (None, "0.6.3"):
        out = tmp_path / f"{algorithm}.model"
        extra = [] if algorithm is None else ["--algorithm", algorithm]
        assert main(["train", "-q", "--field", "text", str(corpus), "--vocab-size", "1500", "-o", str(out), *extra]) == 0
        trainer = Trainer(max_vocab_size=1500, **({} if algorithm else {"algorithm": "em"}))
        trainer.train(texts, progress=False)
        assert bytepiece.Tokenizer(str(out)).model == trainer.models()[0]


def test_duplication_warns_and_min_count_times_the_factor_undoes_it():
    """Every document twice: the warning says to raise min_count by the
    duplication factor, and doing so gives the de-duplicated corpus's
    compression (all counts double, so the same cuts are made)."""
    texts = sample_texts(600, seed=3)
    trainer = Trainer(**EM_OPTIONS)
    trainer.train(texts, progress=False)
    deduplicated = bytes_per_token(trainer.models()[0], texts)
    with pytest.warns(UserWarning, match="repeat an earlier one.*raise min_count by the duplication factor"):
        trainer.train(texts + texts, progress=False)
    assert bytes_per_token(trainer.models()[0], texts) < 0.95 * deduplicated  # the harm is real
    doubled = Trainer(**dict(EM_OPTIONS, min_count=2 * EM_OPTIONS["min_count"]))
    with pytest.warns(UserWarning):
        doubled.train(texts + texts, progress=False)
    assert abs(bytes_per_token(doubled.models()[0], texts) / deduplicated - 1) < 0.02


@pytest.mark.parametrize("seed, sizes, min_count", [(5, [2048, 1024, 512], 2), (6, [4000, 300], 3), (7, [1500], 2)])
def test_em_gives_exactly_the_sizes_asked(seed, sizes, min_count):
    texts = sample_texts(800, seed=seed)
    trainer = Trainer(algorithm="em", max_vocab_size=sizes, min_count=min_count)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "fewer ids than asked" here
        trainer.train(texts, progress=False)
    assert [model.vocab_size for model in trainer.models()] == sizes
    for model in trainer.models():
        assert len(set(model.pieces)) == len(model.pieces)


def test_em_says_when_the_corpus_is_too_small_for_the_size(capsys, tmp_path):
    texts = sample_texts(40, seed=8)
    trainer = Trainer(algorithm="em", max_vocab_size=[20000, 300], min_count=2)
    with pytest.warns(UserWarning, match=r"fewer ids than asked \(\d+ ids for 20000\)"):
        trainer.train(texts, progress=False)
    small, tiny = trainer.models()
    assert small.vocab_size < 20000 and tiny.vocab_size == 300
    corpus = tmp_path / "small.txt"
    corpus.write_text("\n".join(texts), encoding="utf-8")
    assert main(["train", "-q", str(corpus), "-o", str(tmp_path / "m.model"), "--vocab-size", "20000",
                 "--min-count", "2"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("bytepiece: warning: the corpus gave fewer ids than asked") and "Lower min_count" in err


# -- the lattices of the rounds (pruning.TextLattices) ---------------------


def found_pieces(count, seed):
    """Found pieces of a small training (packed) with their counts."""
    from bytepiece.training.thread_engine import train_on_threads
    from bytepiece.training import thread_engine

    kept = {}
    original = thread_engine._Run.prune

    def prune(self, pieces, counts):
        kept["found"] = (pieces, counts)
        return original(self, pieces, counts)

    thread_engine._Run.prune = prune
    try:
        train_on_threads(Trainer(algorithm="em", max_vocab_size=600, min_count=2), sample_texts(count, seed=seed),
                         num_threads=1, progress=False)
    finally:
        thread_engine._Run.prune = original
    return kept["found"]


@pytest.mark.parametrize("seed", range(2))
def test_lattice_counts_equal_the_trie_counts_for_every_subset(seed):
    from bytepiece.training.pruning import TextLattices, count_tokens

    pieces, counts = found_pieces(300, seed)
    base = reestimate(Model.from_canonical(*_candidates(pieces, counts)), lambda v: count_tokens(v, pieces, counts))
    lattices = TextLattices.build(base, pieces, 3, lambda f, jobs: [f(*job) for job in jobs])
    assert lattices is not None and len(lattices.lattices) == 3
    rng = np.random.default_rng(seed)
    vocabulary = base
    for _ in range(6):
        # A subset with the single bytes and new counts (ties among them too).
        keep = np.flatnonzero((base.packed().lengths() == 1) | (rng.random(base.num_pieces) < 0.6))
        new_counts = rng.integers(1, 20, len(keep)).astype(np.uint64)
        vocabulary = Model.from_canonical(base.packed().take(keep), new_counts)
        got = lattices.count_tokens(vocabulary, counts, lambda f, jobs: [f(*job) for job in jobs])
        assert np.array_equal(got, count_tokens(vocabulary, pieces, counts))
    # A vocabulary with a piece the base lacks: the lattices cannot count it.
    outside = Model.canonical([bytes([b]) for b in range(256)] + [b"\xff\xfe\xfd"], [1] * 257)
    assert lattices.count_tokens(outside, counts, lambda f, jobs: [f(*job) for job in jobs]) is None


def _candidates(pieces, counts):
    from bytepiece.training.candidates import count_substrings, substring_candidates
    from bytepiece.training.pruning import initial_vocabulary

    chosen = substring_candidates(count_substrings(pieces, counts, 8), 2, None)
    vocabulary = initial_vocabulary(chosen.pieces, chosen.counts)
    return vocabulary.packed(), vocabulary.counts_array()


def test_threaded_counter_with_lattices_gives_the_models_of_the_trie_counter():
    from concurrent.futures import ThreadPoolExecutor

    from bytepiece.training import pruning
    from bytepiece.training.pruning import FoundInProcess, count_tokens
    from bytepiece.training.pruning_em import vocabularies_em
    from bytepiece.training.thread_engine import threaded_counter

    pieces, counts = found_pieces(400, 3)
    built = []
    original = pruning.TextLattices.build

    def build(*args):
        built.append(original(*args))
        return built[-1]

    sizes = [900, 500]
    reference = vocabularies_em(FoundInProcess(pieces, counts, 36, 2, count_tokens), sizes, 2)
    pruning.TextLattices.build = build
    try:
        with ThreadPoolExecutor(2) as pool:
            got = vocabularies_em(FoundInProcess(pieces, counts, 36, 2, threaded_counter(pool, 2)), sizes, 2)
    finally:
        pruning.TextLattices.build = original
    assert len(built) == 1 and built[0] is not None  # the rounds after the second counted through lattices
    for a, b in zip(reference, got):
        assert a.packed().data == b.packed().data and np.array_equal(a.counts_array(), b.counts_array())


@pytest.mark.parametrize("num_parts", [2, 3])
@pytest.mark.parametrize("limit", [None, 300])
def test_substrings_counted_in_parts_on_threads_are_the_candidates_of_one_count(num_parts, limit):
    """FoundInProcess counts the substrings of the kept pieces in parts, one
    per thread (each part's substrings hashed to it), then caps them as the
    Ray engine caps its partitions: the same candidates, counts and cut as
    one count of all, with or without a cap that binds."""
    from concurrent.futures import ThreadPoolExecutor

    from bytepiece.training.pruning import FoundInProcess
    from bytepiece.training.thread_engine import run_on

    pieces, counts = found_pieces(400, 3)
    one = FoundInProcess(pieces, counts, 36, 2)
    expected = one.substrings(6, 2, limit)
    with ThreadPoolExecutor(num_parts) as pool:
        parts = FoundInProcess(pieces, counts, 36, 2, run=run_on(pool), num_parts=num_parts)
        got = parts.substrings(6, 2, limit)
    order = np.argsort([bytes(p) for p in got.pieces.pieces()])
    reference = np.argsort([bytes(p) for p in expected.pieces.pieces()])
    assert [got.pieces.pieces()[k] for k in order] == [expected.pieces.pieces()[k] for k in reference]
    assert got.counts[order].tolist() == expected.counts[reference].tolist()
    assert parts.candidates == one.candidates  # found, kept and whether the cap bound alike
    assert one.candidates.capped == (limit is not None)
