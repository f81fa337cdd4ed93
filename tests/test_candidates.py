"""The cap on the candidates pruning starts from (docs/spec/training.md §9): the first by
(count, length, bytes) exactly, the same per partition as in one process, recorded, checked,
and a cap that does not bind changes no model."""
import random
from collections import Counter

import numpy as np
import pytest

import bytepiece
import transcription
from bytepiece import Trainer
from bytepiece.cli import main
from bytepiece.model import canonical_order, pack_pieces
from bytepiece.training import (CountingPlan, FoundInParts, count_ngrams, count_pieces, finish_ngrams,
                                get_algorithm, merge_pieces, ngram_model, prune, total_positions)
from bytepiece.training.candidates import canonical_rows, merge_candidates, top_candidates, within_cut
from bytepiece.training.options import TrainingOptions
from bytepiece.training.pruning import FoundInProcess
from bytepiece.training.pruning_em import MAX_SUBSTRING
from conftest import sample_texts as all_sample_texts
from test_trainer import chunks_of, sample_texts
from test_trainer_em import python_substrings


#: Options whose candidates the sample exceeds: 5733 kept pieces longer than a byte, 27168 substrings.
CAPPED = [
    dict(max_vocab_size=[3000, 1000], max_candidates=3500),
    dict(algorithm="em", max_vocab_size=[2500, 900], min_count=2, max_piece_length=12, max_candidates=5000),
]


@pytest.fixture(scope="module")
def texts():
    return all_sample_texts()


def trained(texts, **options):
    trainer = Trainer(**options)
    trainer.train(texts, num_threads=2, progress=False)
    return trainer


def ranked_first(counts, limit):
    """The twin of the cap: the single bytes and the first ``limit`` longer pieces by (-count, -length, bytes)."""
    longer = sorted((p for p in counts if len(p) > 1), key=lambda p: (-counts[p], -len(p), p))
    return {p for p in counts if len(p) == 1} | set(longer[:limit])


# -- the choice itself ---------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_the_cap_keeps_the_first_by_count_length_and_bytes_whole_or_per_partition(seed):
    rng = random.Random(seed)
    for _ in range(300):  # few counts, few lengths, few bytes: many ties for the bytes to break
        counts = {bytes(rng.choice(b"ab\x00\xff") for _ in range(rng.randint(1, 4))): rng.randint(1, 4)
                  for _ in range(rng.randint(0, 80))}
        pieces = list(counts)
        packed, weights = pack_pieces(pieces), np.array([counts[p] for p in pieces], dtype=np.uint64)
        limit = rng.choice([None, rng.randint(1, 60)])
        expected = ranked_first(counts, limit)
        chosen = top_candidates(packed, weights, limit)
        assert set(chosen.pieces.pieces()) == expected
        longer = sum(len(p) > 1 for p in pieces)
        assert (chosen.found, chosen.kept) == (longer, min(longer, limit or longer))
        assert chosen.capped == (limit is not None and longer > limit)
        assert {p for p, keep in zip(pieces, within_cut(packed, weights, chosen.cut)) if keep} == expected
        # Partitioned by any rule that puts each piece in one part: the first of each part, merged.
        num_parts = rng.randint(1, 5)
        parts = [np.array([k for k, p in enumerate(pieces) if hash(p) % num_parts == q], dtype=np.int64)
                 for q in range(num_parts)]
        merged = merge_candidates((top_candidates(packed.take(rows), weights[rows], limit) for rows in parts), limit)
        assert set(merged.pieces.pieces()) == expected and len(merged) == len(expected)
        assert (merged.found, merged.cut) == (chosen.found, chosen.cut)


def test_candidates_are_numbered_canonically_without_python_sorting():
    rng = random.Random(7)
    for _ in range(200):  # lengths across the 8-byte words the sort compares, bytes with zeros and 0xff
        pieces = list({bytes(rng.choice(b"\x00a\xff") if rng.random() < 0.7 else rng.randrange(256)
                             for _ in range(rng.randint(1, 19))) for _ in range(rng.randint(0, 150))})
        assert canonical_rows(pack_pieces(pieces)).tolist() == canonical_order(pieces)


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        top_candidates(pack_pieces([b"ab"]), np.ones(1, np.uint64), 0)


# -- the option ------------------------------------------------------------------


def test_max_candidates_defaults_to_the_algorithms_and_is_checked():
    assert TrainingOptions().max_candidates == get_algorithm("0.6.3").max_candidates == 3_000_000
    assert TrainingOptions(algorithm="em").max_candidates == get_algorithm("em").max_candidates == 16_000_000
    assert TrainingOptions(max_candidates=0).max_candidates == 0  # no cap
    assert Trainer(max_vocab_size=5000, max_candidates=np.int64(5000)).options.max_candidates == 5000
    assert Trainer.from_options(TrainingOptions(max_candidates=9741)).options.max_candidates == 9741
    with pytest.raises(TypeError, match="max_candidates must be an integer"):
        Trainer(max_candidates=True)
    with pytest.raises(ValueError, match="max_candidates must be at least 0"):
        Trainer(max_candidates=-1)
    with pytest.raises(ValueError, match=r"largest vocabulary size minus 259 \(7741\), got 7000"):
        Trainer(max_vocab_size=[5000, 8000], max_candidates=7000)


def test_the_command_line_takes_max_candidates(tmp_path, texts, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(t.replace("\n", " ") for t in texts) + "\n", encoding="utf-8")
    paths = {}
    for cap in ("0", "600"):
        paths[cap] = tmp_path / f"cap{cap}.model"
        assert main(["train", str(corpus), "--vocab-size", "800", "--max-candidates", cap, "-o", str(paths[cap]),
                     "-q", "--threads", "2"]) == 0
    assert paths["0"].read_bytes() != paths["600"].read_bytes()
    assert main(["train", str(corpus), "--max-candidates", "-5", "-o", str(tmp_path / "x.model")]) != 0
    assert "--max-candidates must be at least 0" in capsys.readouterr().err


# -- whole trainings ---------------------------------------------------------------


@pytest.mark.parametrize("options", [dict(max_vocab_size=[3000, 1000]),
                                     dict(algorithm="em", max_vocab_size=[2500, 900], min_count=2,
                                          max_piece_length=12)], ids=["0.6.3", "em"])
def test_a_cap_that_does_not_bind_leaves_the_model_unchanged(texts, options):
    uncapped = trained(texts, **options, max_candidates=0)
    found = uncapped.stats.candidates
    assert found > 3000 and not uncapped.stats.candidates_capped
    assert uncapped.stats.candidates_kept == found
    for cap in (None, found):  # the algorithm's default, and a cap that exactly holds every candidate
        capped = trained(texts, **options, max_candidates=cap)
        assert capped.models() == uncapped.models()
        assert (capped.stats.candidates, capped.stats.candidates_kept, capped.stats.candidates_capped) == \
            (found, found, False)
    once_more = trained(texts, **options, max_candidates=found - 1)
    assert once_more.stats.candidates_capped and once_more.stats.candidates_kept == found - 1


@pytest.mark.parametrize("options", CAPPED, ids=["0.6.3", "em"])
def test_a_binding_cap_changes_only_the_candidates(texts, options):
    capped = trained(texts, **options)
    stats = capped.stats
    assert stats.candidates_capped and stats.candidates_kept == options["max_candidates"] < stats.candidates
    assert stats.as_dict()["candidates_kept"] == stats["candidates_kept"] == options["max_candidates"]
    uncapped = trained(texts, **{**options, "max_candidates": 0})
    assert capped.models() != uncapped.models()
    for model, size in zip(capped.models(), options["max_vocab_size"]):
        assert set(range(256)) <= {p[0] for p in model.pieces if len(p) == 1}  # every single byte
        # The sizes' rule as without a cap: 0.6.3 fills each size (the sample holds enough pieces), and
        # em's last round of EM may leave it a few pieces short (§8.3).
        assert model.vocab_size == size if options.get("algorithm") != "em" else size - 10 <= model.vocab_size <= size
    tok = bytepiece.Tokenizer(capped.models()[0])
    assert all(tok.decode(tok.encode(t)) == t for t in texts[:50])


@pytest.mark.parametrize("isolate_digits", [False, True])
def test_063_with_a_cap_matches_the_transcription(isolate_digits):
    texts = sample_texts(60, seed=3)  # 217 kept pieces longer than a byte (223 with isolated digits)
    sizes = [400, 300]
    found_pieces = Counter()
    chunks = chunks_of(texts, isolate_digits)
    logprob = transcription.ngram_logprobs(transcription.count_ngrams(chunks, 4), 2)
    for chunk in chunks:
        found_pieces.update(transcription.segment(chunk, logprob, 4, True))
    uncapped = transcription.prune_pieces(found_pieces, 12, 2, sizes)
    for cap in (150, 200, 10 ** 6):
        trainer = Trainer(order=4, max_vocab_size=sizes, max_piece_length=12, min_count=2,
                          isolate_digits=isolate_digits, max_candidates=cap)
        trainer.train(texts, workers=2, batch_size=7, progress=False)
        expected = transcription.prune_pieces(found_pieces, 12, 2, sizes, max_candidates=cap)
        assert trainer.pieces == expected
        assert (expected == uncapped) == (not trainer.stats.candidates_capped)
        assert trainer.stats.candidates_capped == (cap < 10 ** 6)


def test_em_candidates_under_a_cap_are_the_first_substrings(texts):
    options = CAPPED[1]
    captured = {}

    class Capture(FoundInProcess):
        def substrings(self, max_length, min_count, limit=None):
            captured["found"], captured["chosen"] = self, super().substrings(max_length, min_count, limit)
            return captured["chosen"]

    from bytepiece.training import thread_engine
    original, thread_engine.FoundInProcess = thread_engine.FoundInProcess, Capture
    try:
        trained(texts, **options)
    finally:
        thread_engine.FoundInProcess = original
    found, chosen = captured["found"], captured["chosen"]
    kept = found._kept
    pieces, counts = found.pieces.pieces(), found.counts.tolist()
    substrings = python_substrings([p for p, k in zip(pieces, kept) if k], [c for c, k in zip(counts, kept) if k],
                                   MAX_SUBSTRING)
    candidates = {p: c for p, c in substrings.items() if c >= options["min_count"] or len(p) == 1}
    assert set(chosen.pieces.pieces()) == ranked_first(candidates, options["max_candidates"])
    assert dict(zip(chosen.pieces.pieces(), chosen.counts.tolist())) == \
        {p: candidates[p] for p in ranked_first(candidates, options["max_candidates"])}


def pieces_in_partitions(texts, options, num_shards=3, num_partitions=4):
    """The kept and dropped piece partitions of the engine-neutral steps."""
    shards = [texts[k::num_shards] for k in range(num_shards)]
    plan = CountingPlan.balanced(options.order, num_partitions, isolate_digits=options.isolate_digits)
    counted = [count_ngrams(plan, shard) for shard in shards]
    positions = total_positions([summary for summary, _ in counted])
    finished = [finish_ngrams(plan, p, [parts[p] for _, parts in counted], positions, options.min_count)
                for p in range(num_partitions)]
    model = ngram_model(plan, finished)
    pieces = [count_pieces(plan, model, shard, options.ensure_unicode)[1] for shard in shards]
    merged = [merge_pieces([parts[q] for parts in pieces], options.max_piece_length, options.min_count)
              for q in range(plan.num_piece_partitions)]
    return [k for k, _ in merged], [d for _, d in merged]


@pytest.mark.parametrize("options", CAPPED, ids=["0.6.3", "em"])
def test_candidates_chosen_per_partition_give_the_local_model(texts, options):
    local = trained(texts, **options)
    checked = TrainingOptions(**options)
    kept, dropped = pieces_in_partitions(texts, checked)
    found = FoundInParts(kept, dropped)
    assert get_algorithm(checked.algorithm).load()(found, checked) == local.models()
    assert (found.candidates.found, found.candidates.kept, found.candidates.capped) == \
        (local.stats.candidates, local.stats.candidates_kept, True)
    if checked.algorithm == "0.6.3":  # the documented primitive
        assert prune(kept, dropped, checked.max_vocab_size, max_candidates=checked.max_candidates) == local.models()
