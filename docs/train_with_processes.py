"""Driving the engine-neutral training steps with concurrent.futures processes.

The same steps that bytepiece.training.ray_engine runs on Ray, here on the
processes of one machine: any engine that can run a function on a shard and
hand the (picklable) results to another function can do this (Dask, Spark,
a job queue). The model equals Trainer.train's on the same documents.

    python docs/train_with_processes.py corpus.jsonl out.model
"""
import json
import sys
from concurrent.futures import ProcessPoolExecutor

import bytepiece
from bytepiece.training import (CountingPlan, count_ngrams, count_pieces, finish_ngrams, merge_pieces,
                                ngram_model, prune, total_positions)


def read_shard(path, shard, num_shards):
    """Every num_shards-th line of a JSON lines file, from line `shard` (a stand-in for real shards)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for k, line in enumerate(f) if k % num_shards == shard]


def count_ngrams_of(plan, path, shard, num_shards):
    return count_ngrams(plan, read_shard(path, shard, num_shards))


def count_pieces_of(plan, finished, path, shard, num_shards, ensure_unicode):
    return count_pieces(plan, ngram_model(plan, finished), read_shard(path, shard, num_shards), ensure_unicode)[1]


def train(path, trainer, num_shards=4, num_partitions=4, workers=2):
    plan = CountingPlan.balanced(trainer.order, num_partitions, isolate_digits=trainer.isolate_digits)
    shards = range(num_shards)
    with ProcessPoolExecutor(workers) as pool:
        # Pass 1: count each shard's n-grams; merge and finish each partition.
        counted = list(pool.map(count_ngrams_of, [plan] * num_shards, [path] * num_shards, shards,
                                [num_shards] * num_shards))
        positions = total_positions([summary for summary, _ in counted])
        finished = list(pool.map(finish_ngrams, [plan] * num_partitions, range(num_partitions),
                                 [[parts[p] for _, parts in counted] for p in range(num_partitions)],
                                 [positions] * num_partitions, [trainer.min_count] * num_partitions))
        # Pass 2: segment each shard with the finished model; merge each piece partition.
        pieces = list(pool.map(count_pieces_of, [plan] * num_shards, [finished] * num_shards,
                               [path] * num_shards, shards, [num_shards] * num_shards,
                               [trainer.ensure_unicode] * num_shards))
        merged = list(pool.map(merge_pieces, [[parts[q] for parts in pieces] for q in range(plan.num_piece_partitions)],
                               [trainer.max_piece_length] * plan.num_piece_partitions,
                               [trainer.min_count] * plan.num_piece_partitions))
    # Prune (here in this process; `counter=` can spread its re-tokenizing over workers), from at most
    # the trainer's cap of candidates (docs/spec/training.md §9).
    return prune([kept for kept, _ in merged], [dropped for _, dropped in merged], trainer.max_vocab_size,
                 max_candidates=trainer.options.max_candidates or None)


if __name__ == "__main__":
    models = train(sys.argv[1], bytepiece.Trainer(max_vocab_size=8000))
    bytepiece.save_model(models[0], sys.argv[2])
