"""Training: options -> an engine running the steps -> an algorithm choosing the vocabulary -> models.

One module per idea:

- :mod:`.options`: :class:`TrainingOptions`, what the model depends on, and
  the defaults, once (:data:`API_DEFAULTS` for ``Trainer()``,
  :data:`CLI_DEFAULTS` for ``bytepiece train``).
- :mod:`.registry`: the one dispatch: algorithms and engines by name, and
  :class:`FoundPieces`, what an engine hands an algorithm.
- :mod:`.stats`: typed statistics of a run, one class per engine.
- :mod:`.primitives`: the engine-neutral steps (count a shard, finish a
  partition, segment a shard, merge pieces, choose the candidates per
  partition, prune; docs/spec/training.md §7); :mod:`.candidates`: the cap on
  the candidates pruning starts from (§9); :mod:`.budget`: the n-gram model
  within a budget and the memory options checked early (§10);
  :mod:`.sources`: corpus files as shards.
- Engines: :mod:`.thread_engine` (threads of this process,
  ``Trainer.train``), :mod:`.ray_engine` (a Ray cluster, ``Trainer.train_ray``;
  ``pip install bytepiece[ray]``).
- Algorithms: :mod:`.pruning` ("0.6.3", and the helpers both share),
  :mod:`.pruning_em` ("em").

:class:`bytepiece.Trainer` is the front over them. The engine-neutral steps
are importable from here, loaded on first use: the command line reads the
options and the registry without loading the trainer's C binding.
"""
from typing import TYPE_CHECKING, Any

from .options import API_DEFAULTS, CLI_DEFAULTS, Defaults, TrainingOptions
from .registry import (
    ALGORITHMS, ENGINES, Algorithm, Engine, FoundPieces, get_algorithm, get_engine, register_algorithm, register_engine,
)
from .stats import Phase, RayStats, ThreadStats, TrainingResult, TrainingStats

if TYPE_CHECKING:  # what __getattr__ gives, for type checkers
    from .primitives import CountingPlan as CountingPlan, FinishedPartition as FinishedPartition
    from .primitives import NgramPartition as NgramPartition, PiecePartition as PiecePartition
    from .primitives import ShardSummary as ShardSummary, chunk_batches as chunk_batches
    from .primitives import count_ngrams as count_ngrams, count_pieces as count_pieces
    from .primitives import finish_ngrams as finish_ngrams, merge_pieces as merge_pieces
    from .primitives import merge_ngrams as merge_ngrams
    from .primitives import ngram_model as ngram_model, prune as prune, total_positions as total_positions
    from .primitives import FoundInParts as FoundInParts, count_partition as count_partition
    from .primitives import kept_candidates as kept_candidates, merge_substrings as merge_substrings
    from .primitives import partition_substrings as partition_substrings

_PRIMITIVES = (
    "CountingPlan", "ShardSummary", "NgramPartition", "FinishedPartition", "PiecePartition", "chunk_batches",
    "count_ngrams", "total_positions", "finish_ngrams", "ngram_model", "count_pieces", "merge_pieces", "prune",
    "FoundInParts", "kept_candidates", "partition_substrings", "merge_substrings", "count_partition",
    "merge_ngrams",
)

__all__ = [
    "TrainingOptions", "Defaults", "API_DEFAULTS", "CLI_DEFAULTS", "ALGORITHMS", "ENGINES", "Algorithm", "Engine",
    "FoundPieces", "register_algorithm", "register_engine", "get_algorithm", "get_engine", "TrainingStats",
    "ThreadStats", "RayStats", "Phase", "TrainingResult", *_PRIMITIVES,
]


def __getattr__(name: str) -> Any:
    """The engine-neutral steps, imported from :mod:`.primitives` on first use."""
    if name in _PRIMITIVES:
        from . import primitives

        return getattr(primitives, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
