"""The trainer: every step against the Python transcription, determinism, round trips, errors."""
from collections import Counter
import numpy as np

import pytest

import bytepiece
from bytepiece import Trainer, _training, normalize
from bytepiece.training.primitives import finish_ngram_model as finish_language_model
from conftest import sample_texts as shared_sample_texts
import transcription



def sample_texts(count, seed=0):
    return shared_sample_texts(count, seed) + ["2026年11月23日 12345 ٣٤", "ab" * 50, "x\n\n\ny\r\n"]


def chunks_of(texts, isolate_digits=False):
    return [c for t in texts for c in normalize(t, 10000, isolate_digits)]


def counted_model(chunks, order, workers=1):
    lm = _training.NgramModel(order, workers)
    data = b"".join(chunks)
    offsets = [0]
    for c in chunks:
        offsets.append(offsets[-1] + len(c))
    import numpy as np

    offsets = np.array(offsets, dtype=np.int64)
    for p in range(workers):
        lm.count(p, data, offsets)
    return lm


@pytest.mark.parametrize("workers", [1, 3])
def test_ngram_counts_match_the_transcription(workers):
    chunks = chunks_of(sample_texts(40))
    expected = transcription.count_ngrams(chunks, 4)
    lm = counted_model(chunks, 4, workers)
    assert lm.count_of(b"") == expected[0][b""] == sum(map(len, chunks))
    for j in range(1, 5):
        assert lm.size(j) == len(expected[j])
        for ngram, count in expected[j].items():
            assert lm.count_of(ngram) == count
    assert lm.count_of(b"\xff\xfe\xfd") == 0


@pytest.mark.parametrize("limit", [1 << 30, 100])
def test_buffered_ngram_counts_match_the_transcription(limit):
    """Counting by sorting (NgramModel.buffer), the whole corpus at once or in
    blocks of 100 positions: the same counts; whole, settling drops the
    n-grams longer than a byte below its min_count, which finishing drops."""
    chunks = chunks_of(sample_texts(40))
    counts = transcription.count_ngrams(chunks, 5)
    lm = _training.NgramModel(5, 3)
    lm.buffer(limit)
    data, offsets = b"".join(chunks), np.cumsum([0] + [len(c) for c in chunks]).astype(np.int64)
    for p in range(3):
        lm.count(p, data, offsets[:20])
        lm.count(p, data, offsets[19:])
    for p in range(3):
        lm.settle(p, 3)
    whole = limit > len(data)
    assert lm.count_of(b"") == counts[0][b""]
    for j in range(1, 6):
        assert lm.distinct(j) == len(counts[j])
        for ngram, count in counts[j].items():
            assert lm.count_of(ngram) == (0 if whole and j > 1 and count < 3 else count)
    finish_language_model(lm, 3)
    for ngram, lp in transcription.ngram_logprobs(counts, 3).items():
        assert lm.logprob(ngram) == lp, ngram


@pytest.mark.parametrize("min_count", [1, 2, 5])
def test_ngram_logprobs_match_the_transcription(min_count):
    chunks = chunks_of(sample_texts(40))
    expected = transcription.ngram_logprobs(transcription.count_ngrams(chunks, 4), min_count)
    lm = counted_model(chunks, 4, workers=2)
    finish_language_model(lm, min_count)
    for ngram, lp in expected.items():
        assert lm.logprob(ngram) == lp, ngram
    pruned = [k for k, v in transcription.count_ngrams(chunks, 4)[3].items() if v < min_count]
    for ngram in pruned[:200]:
        assert lm.logprob(ngram) == float("-inf")
    assert lm.logprob(bytes([0x01])) == expected[bytes([0x01])]  # a byte never seen: count 1


@pytest.mark.parametrize("ensure_unicode", [True, False])
@pytest.mark.parametrize("order", [1, 2, 4, 6])
def test_segmentations_match_the_transcription(order, ensure_unicode):
    chunks = chunks_of(sample_texts(30, seed=order))
    logprob = transcription.ngram_logprobs(transcription.count_ngrams(chunks, order), 2)
    lm = counted_model(chunks, order)
    finish_language_model(lm, 2)
    for chunk in chunks:
        assert _training.bnlm_segment(lm, ensure_unicode, chunk) == transcription.segment(chunk, logprob, order, ensure_unicode)


def test_regression_no_piece_starts_inside_a_character_with_ensure_unicode():
    chunks = chunks_of(sample_texts(60)) * 2  # every n-gram seen at least min_count times
    lm = counted_model(chunks, 6)
    finish_language_model(lm, 2)
    for chunk in chunks:
        for piece in _training.bnlm_segment(lm, True, chunk):
            assert not 0x80 <= piece[0] < 0xC0


def test_rare_character_makes_the_rest_of_its_chunk_single_bytes_as_in_063():
    """0.6.3's quirk, kept for fidelity: when a character's 2-gram is pruned, no
    state is reachable at its second byte, every score is -inf from there on,
    and numpy's argmax picks state 0 at each later byte."""
    chunks = [b"abcabc\n", b"abc\xe4\xb8\x80abc"]  # U+4E00 occurs once
    lm = counted_model(chunks, 3)
    finish_language_model(lm, 2)
    pieces = _training.bnlm_segment(lm, True, chunks[1])
    assert pieces[-5:] == [b"\xb8", b"\x80", b"a", b"b", b"c"]
    logprob = transcription.ngram_logprobs(transcription.count_ngrams(chunks, 3), 2)
    assert pieces == transcription.segment(chunks[1], logprob, 3, True)


@pytest.mark.parametrize("isolate_digits", [False, True])
def test_whole_training_matches_the_transcription(isolate_digits):
    texts = sample_texts(60, seed=3)
    sizes = [900, 400, 300]
    trainer = Trainer(order=4, max_vocab_size=sizes, max_piece_length=12, min_count=2, isolate_digits=isolate_digits)
    trainer.train(texts, workers=2, batch_size=7, progress=False)

    chunks = chunks_of(texts, isolate_digits)
    logprob = transcription.ngram_logprobs(transcription.count_ngrams(chunks, 4), 2)
    found = Counter(p for c in chunks for p in transcription.segment(c, logprob, 4, True))
    expected = transcription.prune_pieces(found, 12, 2, sizes)
    assert trainer.pieces == expected
    assert [len(p) + 3 for p in trainer.pieces] == [min(s, len(p) + 3) for s, p in zip(sizes, expected)]
    assert len(trainer.pieces[-1]) + 3 <= 300


def test_result_does_not_depend_on_workers_or_batch_size(tmp_path):
    texts = sample_texts(200, seed=9)
    saved = []
    for workers, batch in [(1, 1000), (2, 13), (4, 1)]:
        trainer = Trainer(order=6, max_vocab_size=2000)
        trainer.train(texts, workers=workers, batch_size=batch, progress=False)
        path = tmp_path / f"m{workers}.model"
        trainer.save(path)
        saved.append(path.read_bytes())
    assert saved[0] == saved[1] == saved[2]


@pytest.mark.parametrize("algorithm", ["0.6.3", "em"])
def test_counting_in_blocks_or_whole_gives_the_same_model(monkeypatch, algorithm):
    """Pass 1 counts the corpus whole when it fits SORTED_POSITIONS (its
    tables then hold only the n-grams min_count keeps), else block by block
    into tables of every n-gram: the same models."""
    from bytepiece.training import thread_engine

    texts = sample_texts(200, seed=5)
    models, distinct = [], []
    for positions in (thread_engine.SORTED_POSITIONS, 3000):
        monkeypatch.setattr(thread_engine, "SORTED_POSITIONS", positions)
        trainer = Trainer(max_vocab_size=1500, algorithm=algorithm)
        trainer.train(texts, workers=2, batch_size=17, progress=False)
        models.append(trainer.pieces)
        distinct.append(trainer.stats.distinct_ngrams)
        assert trainer.stats.bytes > 10 * 3000  # many blocks in the second run
    assert models[0] == models[1]
    assert distinct[0] == distinct[1]


def test_trained_model_loads_and_round_trips_the_corpus(tmp_path):
    texts = sample_texts(300, seed=1)
    trainer = Trainer(order=6, max_vocab_size=3000)
    trainer.train(texts, progress=False)
    (path,) = trainer.save(tmp_path / "model")
    tok = bytepiece.Tokenizer(path)
    assert tok.vocab_size <= 3000
    for text in texts:
        assert tok.decode(tok.encode(text)) == text
    # trained pieces are used: the model compresses its own corpus well
    total = sum(len(t.encode()) for t in texts)
    assert total / sum(len(tok.encode(t)) for t in texts) > 2.0


def test_several_sizes_are_saved_as_path_dot_size(tmp_path):
    trainer = Trainer(max_vocab_size=[400, 1000])
    trainer.train(sample_texts(100), progress=False)
    paths = trainer.save(tmp_path / "m")
    assert paths == [f"{tmp_path / 'm'}.1000", f"{tmp_path / 'm'}.400"]
    sizes = [bytepiece.Tokenizer(p).vocab_size for p in paths]
    assert sizes[0] > sizes[1] and sizes[1] <= 400


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        (dict(order=0), ValueError, "order must be at least 1"),
        (dict(order=9), ValueError, "order must be at most 8"),
        (dict(min_count=0), ValueError, "min_count must be at least 1"),
        (dict(max_vocab_size=258), ValueError, "max_vocab_size must be at least 259"),
        (dict(max_vocab_size=[1000, 100]), ValueError, "max_vocab_size must be at least 259"),
        (dict(max_vocab_size=[]), ValueError, "at least one size"),
        (dict(max_piece_length=0), ValueError, "max_piece_length must be at least 1"),
        (dict(max_piece_length=1025), ValueError, "max_piece_length must be at most 1024"),
        (dict(order=2.5), TypeError, "order must be an integer"),
    ],
)
def test_nonsensical_options_are_rejected_at_once(kwargs, error, message):
    with pytest.raises(error, match=message):
        Trainer(**kwargs)


def test_bad_corpora_are_clear_errors():
    with pytest.raises(ValueError, match="no text"):
        Trainer().train([], progress=False)
    with pytest.raises(ValueError, match="no text"):
        Trainer().train(["", ""], progress=False)
    with pytest.raises(TypeError, match="re-iterable"):
        Trainer().train(iter(["abc"]), progress=False)
    with pytest.raises(TypeError, match="must yield str"):
        Trainer().train([1, 2], progress=False)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        Trainer().train(["abc"], workers=0)


@pytest.mark.parametrize(
    "texts",
    [["a" * 5000], [bytes(range(256)).decode("latin-1") * 20], ["x"], ["同" * 30000], ["ab\n" * 2000]],
    ids=["one repeated byte", "all code points < 256", "one byte", "one huge line", "no trailing newline"],
)
def test_degenerate_corpora_give_valid_models(tmp_path, texts):
    trainer = Trainer(max_vocab_size=500, min_count=2)
    trainer.train(texts, progress=False)
    (path,) = trainer.save(tmp_path / "m")
    tok = bytepiece.Tokenizer(path)
    for text in texts:
        assert tok.decode(tok.encode(text)) == text


def test_min_count_above_every_count_leaves_the_bytes():
    trainer = Trainer(max_vocab_size=1000, min_count=10**9)
    trainer.train(["some text", "more text"], progress=False)
    assert sorted(trainer.pieces[0]) == [bytes([b]) for b in range(256)]


def test_regression_ngram_logprobs_take_numpys_log_as_063():
    """0.6.3 took np.log of each count; on AVX-512 machines it differs from
    C's log() by one ulp for some integers (9170, 19143, ... below 200,000),
    and one ulp decides exact ties of the segmentation. Counts made to be
    such integers (and huge ones, beyond the dense table) must get numpy's
    logarithm, in the trainer and in the distributed reducer alike."""
    big = (1 << 16) + 9170
    texts = ["a" * 9170, "bc" * 19143, "d" * big]
    trainer = bytepiece.Trainer(order=3, max_vocab_size=300, min_count=2)
    chunks = chunks_of(texts)
    expected = transcription.ngram_logprobs(transcription.count_ngrams(chunks, 3), 2)
    for workers in (1, 3):
        lm = counted_model(chunks, 3, workers=workers)
        finish_language_model(lm, 2)
        for ngram in (b"a", b"b", b"bc", b"cb", b"d", b"dd", b"aaa"):
            assert lm.logprob(ngram) == expected[ngram], ngram
    assert float(np.log(9170) - np.log(9170 + 2 * 19143 + big + 252)) == expected[b"a"]
    trainer.train(texts)
    assert trainer.models()[0].pieces  # the same path, end to end


def test_heavy_duplication_is_reported_with_what_to_do():
    texts = sample_texts(400)
    trainer = bytepiece.Trainer(max_vocab_size=1000)
    with pytest.warns(UserWarning, match="repeat an earlier one.*De-duplicate the corpus"):
        trainer.train(texts + texts)
    assert 0.3 < trainer.stats["duplicate_documents"] <= 0.5
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning without duplicates
        trainer.train(texts)
    assert trainer.stats["duplicate_documents"] == 0.0


def test_workers_take_their_jobs_in_order_and_a_failure_stops_the_pass():
    from concurrent.futures import ThreadPoolExecutor
    from bytepiece.training.thread_engine import QUEUED_BATCHES, run_workers as _run_workers

    seen = {0: [], 1: []}
    with ThreadPoolExecutor(2) as pool:
        _run_workers(pool, 2, ([(k,), (-k,)] for k in range(50)), lambda w, x: seen[w].append(x))
        assert seen == {0: list(range(50)), 1: [-k for k in range(50)]}

        fed = []

        def jobs():
            for k in range(1000):
                fed.append(k)
                yield [(k,), (k,)]

        def work(w, k):
            if w == 1 and k == 3:
                raise MemoryError("the C pass ran out of memory")

        with pytest.raises(MemoryError, match="ran out of memory"):
            _run_workers(pool, 2, jobs(), work)
        # Feeding stopped soon after the failure instead of running through the corpus.
        assert len(fed) < 3 + 2 * QUEUED_BATCHES + 5

        def failing_jobs():
            yield [(0,), (0,)]
            raise TypeError("texts must yield str")

        with pytest.raises(TypeError, match="must yield str"):
            _run_workers(pool, 2, failing_jobs(), lambda w, k: None)
