"""Training engines and the engine-neutral steps they drive.

- :mod:`bytepiece.training.primitives`: count a shard, merge and finish a
  partition, segment a shard, merge pieces, prune (picklable inputs and
  outputs; exact, so any engine gets the same model).
- :mod:`bytepiece.training.ray_engine`: those steps on a Ray cluster
  (``pip install bytepiece[ray]``; imported only when used).
- The local engine is :meth:`bytepiece.Trainer.train` (threads in one process).
"""
from .primitives import (
    CountingPlan, FinishedPartition, NgramPartition, PiecePartition, ShardSummary, chunk_batches, count_ngrams,
    count_pieces, finish_ngrams, language_model, merge_pieces, prune, total_positions,
)

__all__ = [
    "CountingPlan", "ShardSummary", "NgramPartition", "FinishedPartition", "PiecePartition", "chunk_batches",
    "count_ngrams", "total_positions", "finish_ngrams", "language_model", "count_pieces", "merge_pieces", "prune",
]
