"""What a training run measured, typed: one class of statistics per engine.

:class:`TrainingStats` holds what every engine measures; :class:`ThreadStats`
and :class:`RayStats` add each engine's own. They are also read-only
mappings (``stats["documents"]``) with the keys and values of the dicts that
``Trainer.stats`` held before it was typed, phases as dicts, so that code
written against those keeps working.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, NamedTuple, Optional

from ..model import Model

if TYPE_CHECKING:
    from .candidates import CandidateCount

__all__ = ["Phase", "TrainingStats", "ThreadStats", "RayStats", "TrainingResult"]


@dataclass(frozen=True)
class Phase:
    """How long one phase of a run took: ``wall`` seconds; the thread engine
    also gives the ``cpu`` seconds of every thread of the process and the
    phase's ``start`` and ``end`` (``time.perf_counter()``)."""

    wall: float
    cpu: Optional[float] = None
    start: Optional[float] = None
    end: Optional[float] = None

    def as_dict(self) -> Dict[str, float]:
        """The measured values by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass
class TrainingStats(Mapping[str, Any]):
    """What every engine measures: ``documents`` read, ``bytes`` of training
    chunks (every byte position), ``distinct_pieces`` found, ``seconds`` in
    all, and the ``phases`` in the order they ran. An engine fills it in as
    the run goes.

    The cap on the candidates (``TrainingOptions.max_candidates``,
    docs/spec/training.md §9): ``candidates`` longer than a byte that pruning
    could start from (the kept pieces with "0.6.3", their substrings with
    "em"), ``candidates_kept`` of them within the cap, and
    ``candidates_capped``, whether the cap bound (left some out).

    The n-gram model (:mod:`bytepiece.training.budget`): ``min_count``, the
    one the run trained with: the option's, or the larger one that the
    budget ``ngram_model_budget`` (bytes; None: no budget) required; and
    ``model_bytes``, what the finished model's tables took."""

    documents: int = 0
    bytes: int = 0
    distinct_pieces: int = 0
    seconds: float = 0.0
    phases: Dict[str, Phase] = field(default_factory=dict)
    candidates: int = 0
    candidates_kept: int = 0
    candidates_capped: bool = False
    min_count: int = 0
    ngram_model_budget: Optional[int] = None
    model_bytes: int = 0

    def as_dict(self) -> Dict[str, Any]:
        """Every value by name, the phases as dicts."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["phases"] = {name: phase.as_dict() for name, phase in self.phases.items()}
        return values

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter([f.name for f in fields(self)])

    def __len__(self) -> int:
        return len(fields(self))

    def record_candidates(self, count: Optional["CandidateCount"]) -> None:
        """Note the candidates pruning started from (nothing when the algorithm chose none)."""
        if count is not None:
            self.candidates, self.candidates_kept, self.candidates_capped = count.found, count.kept, count.capped


@dataclass
class ThreadStats(TrainingStats):
    """The thread engine's run: also the ``num_threads`` that ran, the
    estimated share of ``duplicate_documents``, the ``distinct_ngrams`` kept
    before pruning, and the bytes the n-gram tables (``ngram_memory``) and
    piece counters (``piece_memory``) held."""

    num_threads: int = 1
    duplicate_documents: float = 0.0
    distinct_ngrams: int = 0
    ngram_memory: int = 0
    piece_memory: int = 0


@dataclass
class RayStats(TrainingStats):
    """The Ray engine's run: also the cluster's ``cpus``, the
    ``num_partitions`` of the tables, the ``shards`` and their
    ``input_bytes`` of files, and the peak memory of the largest worker and
    of the driver, in bytes. With ``evaluate``: ``training_tokens``, the
    tokens each model (largest first) makes of the corpus, and the
    ``evaluation_seconds`` that took."""

    cpus: int = 0
    num_partitions: int = 0
    shards: int = 0
    input_bytes: int = 0
    peak_worker_memory: int = 0
    peak_driver_memory: int = 0
    training_tokens: List[int] = field(default_factory=list)
    evaluation_seconds: float = 0.0


class TrainingResult(NamedTuple):
    """What an engine returns: the ``models``, one per vocabulary size (largest first), and the run's ``stats``."""

    models: List[Model]
    stats: TrainingStats
