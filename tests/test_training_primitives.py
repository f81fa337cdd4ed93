"""The engine-neutral training steps give Trainer.train's models, however the corpus is sharded
and partitioned, in one process and in the documented concurrent.futures example."""
import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bytepiece
from bytepiece.training import (CountingPlan, count_ngrams, count_pieces, finish_ngrams,
                                ngram_model as language_model, merge_pieces, prune, total_positions)
from bytepiece import _training
from bytepiece.text import split_chunks
from conftest import ROOT, SAMPLE, sample_texts



@pytest.fixture(scope="module")
def texts():
    return sample_texts()


def train_with_primitives(trainer, texts, num_shards, num_partitions, num_piece_partitions):
    shards = [texts[k::num_shards] for k in range(num_shards)]
    plan = CountingPlan.balanced(trainer.order, num_partitions, isolate_digits=trainer.isolate_digits,
                                 num_piece_partitions=num_piece_partitions)
    counted = [count_ngrams(plan, shard) for shard in shards]
    positions = total_positions([summary for summary, _ in counted])
    finished = [finish_ngrams(plan, p, [parts[p] for _, parts in counted], positions, trainer.min_count)
                for p in range(num_partitions)]
    model = language_model(plan, finished[::-1])  # any order of partitions
    pieces = [count_pieces(plan, model, shard, trainer.ensure_unicode)[1] for shard in shards]
    merged = [merge_pieces([parts[q] for parts in pieces], trainer.max_piece_length, trainer.min_count)
              for q in range(num_piece_partitions)]
    return prune([k for k, _ in merged], [d for _, d in merged], trainer.max_vocab_size)


@pytest.mark.parametrize("num_shards,num_partitions,num_piece_partitions", [(1, 1, 1), (3, 5, 2), (7, 256, 9)])
@pytest.mark.parametrize("options", [dict(order=6, max_vocab_size=[3000, 900]),
                                     dict(order=8, min_count=3, isolate_digits=True, max_vocab_size=2000),
                                     dict(order=3, ensure_unicode=False, max_piece_length=5, max_vocab_size=700)])
def test_sharded_training_equals_local_training(texts, options, num_shards, num_partitions, num_piece_partitions):
    trainer = bytepiece.Trainer(**options)
    trainer.train(texts, num_threads=2, progress=False)
    assert train_with_primitives(bytepiece.Trainer(**options), texts, num_shards, num_partitions,
                                 num_piece_partitions) == trainer.models()


def test_shard_summaries_count_documents_positions_and_bytes(texts):
    plan = CountingPlan.balanced(4, 3)
    summary, parts = count_ngrams(plan, texts[:10])
    data = "".join(texts[:10]).encode()
    assert summary.documents == 10 and summary.positions == len(data)
    assert summary.byte_counts.tolist() == np.bincount(np.frombuffer(data, np.uint8), minlength=256).tolist()
    assert sorted(p.index for p in parts) == [0, 1, 2]
    unigrams = sum(int(c.sum()) for p in parts for c in p.counts[:1])
    assert unigrams == len(data)  # every position starts one 1-gram, in exactly one partition


def test_a_language_model_needs_every_partition_once(texts):
    plan = CountingPlan.balanced(3, 2)
    summary, parts = count_ngrams(plan, texts[:20])
    finished = [finish_ngrams(plan, p, [parts[p]], total_positions([summary]), 2) for p in range(2)]
    with pytest.raises(ValueError, match="all 2 finished partitions"):
        language_model(plan, finished[:1])
    with pytest.raises(ValueError, match="given to the reducer of partition 1"):
        finish_ngrams(plan, 1, [parts[0]], total_positions([summary]), 2)


def test_the_documented_process_pool_example_trains_the_local_model(monkeypatch, texts):
    monkeypatch.syspath_prepend(str(ROOT / "docs"))  # the worker processes import it by name too
    example = importlib.import_module("train_with_processes")
    trainer = bytepiece.Trainer(max_vocab_size=2500)
    models = example.train(str(SAMPLE), bytepiece.Trainer(max_vocab_size=2500), num_shards=3, num_partitions=3)
    trainer.train(texts, progress=False)
    assert models == trainer.models()


# -- training chunks cut in C (bp_training_chunk_end) ------------------------

_CHUNK_TEXT = st.lists(st.sampled_from(list("ab\n\r 中é") + ["\U0001F600", "e\u0301", "\n" * 40]),
                       max_size=120).map("".join)


def _cut_in_c(texts, max_units):
    from bytepiece.model import pack_pieces
    from bytepiece.text import to_utf8

    packed = pack_pieces([to_utf8(t) for t in texts])
    flags = np.array([isinstance(t, str) for t in texts], dtype=np.uint8)
    offsets = _training.training_chunk_offsets(packed.data, packed.offsets, flags, max_units, 100)
    return [packed.data[a:b] for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_CHUNK_TEXT, _CHUNK_TEXT.map(lambda t: t.encode("utf-8"))), max_size=5),
       st.integers(1, 12))
def test_training_chunks_cut_in_c_equal_the_regular_expression(texts, max_units):
    expected = [chunk for text in texts for chunk in split_chunks(text, max_units)]
    assert _cut_in_c(texts, max_units) == expected


def test_training_chunks_cap_newline_runs_at_100_and_lines_at_the_character_cap():
    texts = ["x" + "\n" * 250 + "y", "中" * 25 + "\n", b"\xe4\xb8\xad" * 4]
    assert _cut_in_c(texts, 10) == [c for t in texts for c in split_chunks(t, 10)]
    assert [len(c) for c in _cut_in_c(texts[:1], 10)] == [101, 100, 50, 1]
    assert _cut_in_c(texts[1:2], 10)[0] == "中".encode() * 10  # ten characters, thirty bytes
    assert _cut_in_c(texts[2:], 10) == [b"\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4", b"\xb8\xad"]  # bytes: ten bytes


def test_training_chunk_offsets_refuse_broken_arguments():
    with pytest.raises(ValueError, match="must not decrease"):
        _training.training_chunk_offsets(b"abcd", np.array([0, 3, 2], dtype=np.int64), np.ones(2, np.uint8), 5, 100)
    with pytest.raises(ValueError, match="within data"):
        _training.training_chunk_offsets(b"abcd", np.array([0, 9], dtype=np.int64), np.ones(1, np.uint8), 5, 100)
    with pytest.raises(ValueError, match="one entry more"):
        _training.training_chunk_offsets(b"abcd", np.array([0, 4], dtype=np.int64), np.ones(2, np.uint8), 5, 100)
    with pytest.raises(ValueError, match="at least 1"):
        _training.training_chunk_offsets(b"abcd", np.array([0, 4], dtype=np.int64), np.ones(1, np.uint8), 0, 100)


@pytest.mark.parametrize("max_bytes", [1, 3000, 1 << 30])
def test_distinct_chunks_count_the_pieces_of_every_chunk_in_the_same_order(texts, max_bytes):
    """Pass 2 segments each distinct chunk once and weights its pieces by its
    repeats: the counter then holds what segmenting every chunk gives, piece
    for piece and in the same order, whether it gathers the whole corpus or
    segments after every batch (max_bytes 1) or in between."""
    from bytepiece.training.primitives import DistinctChunks, chunk_batches
    plan = CountingPlan.balanced(4, 2)
    summary, parts = count_ngrams(plan, texts)
    model = language_model(plan, [finish_ngrams(plan, p, [parts[p]], summary.positions, 2) for p in range(2)])
    repeated = texts[:40] * 3 + texts[40:80]  # whole documents again, and lines repeated within them
    every, distinct = _training.PieceCounter(), _training.PieceCounter()
    chunks = DistinctChunks(model, True, distinct, max_bytes)
    for packed, _ in chunk_batches(repeated, False, batch_documents=7):
        _training.bnlm_count_pieces(model, True, packed.data, packed.offsets, every)
        chunks.add(packed.data, packed.offsets)
    chunks.flush()
    expected, got = every.export(), distinct.export()
    assert got[0] == expected[0]
    assert got[1].tolist() == expected[1].tolist() and got[2].tolist() == expected[2].tolist()
    assert int(got[2].max()) > 3  # pieces repeated across chunks: the weights were applied
    assert len(chunks.chunks) == 0 and chunks.peak_memory > 0


def test_bnlm_count_pieces_refuses_weights_of_another_length_and_zero(texts):
    plan = CountingPlan.balanced(3, 1)
    summary, parts = count_ngrams(plan, texts[:20])
    model = language_model(plan, [finish_ngrams(plan, 0, [parts[0]], summary.positions, 2)])
    offsets = np.array([0, 2, 5], dtype=np.int64)
    with pytest.raises(ValueError, match="weights has 1 entries for 2 chunks"):
        _training.bnlm_count_pieces(model, True, b"abcde", offsets, _training.PieceCounter(),
                                    np.ones(1, dtype=np.uint64))
    with pytest.raises(ValueError):
        _training.bnlm_count_pieces(model, True, b"abcde", offsets, _training.PieceCounter(),
                                    np.array([1, 0], dtype=np.uint64))


def test_distinct_chunks_are_bounded_by_a_share_of_max_memory():
    from bytepiece.training.primitives import DISTINCT_CHUNK_BYTES, distinct_chunk_bytes
    assert distinct_chunk_bytes(None, 4) == DISTINCT_CHUNK_BYTES
    assert distinct_chunk_bytes(1 << 40, 2) == DISTINCT_CHUNK_BYTES  # a large bound leaves the default
    assert distinct_chunk_bytes(64 << 20, 2) == (64 << 20) // 32  # a sixteenth, shared by the threads
    assert distinct_chunk_bytes(64 << 20) == (64 << 20) // 16
