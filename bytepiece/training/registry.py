"""The one dispatch of training: algorithms and engines by name.

An **algorithm** chooses the vocabulary from the pieces the BNLM
segmentation found (docs/spec/training.md §4-5, §8); an **engine** runs the
steps of training somewhere (this process's threads, a Ray cluster) and
hands the found pieces to the algorithm as :class:`FoundPieces`. Each is
registered once, by name, with ``module:function`` of its code:

    register_algorithm(Algorithm("em", "...", order=8, min_count=4,
                                 prune="bytepiece.training.pruning_em:prune_found"))
    register_engine(Engine("ray", "...", train="bytepiece.training.ray_engine:train_on_ray"))

The code is imported when a run uses it, not here: the command line's parser
and ``Trainer()`` read the names and defaults of this registry without
loading any algorithm, engine or Ray.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Protocol, cast

import numpy as np

from ..model import Model, PackedPieces

if TYPE_CHECKING:
    from .candidates import Candidates, Cut
    from .options import TrainingOptions
    from .stats import TrainingResult

__all__ = [
    "TokenCounter", "FoundCounter", "FoundPieces", "PruneFunction", "EngineFunction", "Algorithm", "Engine",
    "ALGORITHMS", "ENGINES", "register_algorithm", "register_engine", "get_algorithm", "get_engine",
]

#: ``counter(vocabulary, texts, weights)``: a uint64 array parallel to
#: ``vocabulary.pieces``, the sum of ``weights[k]`` over the tokens of text
#: ``k`` of ``texts`` (packed) tokenized with the vocabulary.
TokenCounter = Callable[[Model, PackedPieces, np.ndarray], np.ndarray]

#: ``counter(vocabulary)``: a uint64 array parallel to ``vocabulary.pieces``,
#: each found piece's count summed over the tokens it splits into under the
#: vocabulary (the found pieces wherever an engine keeps them).
FoundCounter = Callable[[Model], np.ndarray]


class FoundPieces(Protocol):
    """The pieces the BNLM segmentation found, with their counts, as an
    algorithm sees them: the **kept** ones (single bytes, and pieces of at
    most ``max_piece_length`` bytes seen at least ``min_count`` times) and
    the **dropped** ones, wherever the engine keeps them (an engine may
    keep both partitioned, never joined in one process). An algorithm gets
    the candidates it starts from, capped (:mod:`bytepiece.training.candidates`),
    from :meth:`kept` or :meth:`substrings`; every re-tokenizing runs on the
    engine's workers. Every total is an exact sum and the cap's choice is
    exact, so the models do not depend on the engine."""

    def kept(self, limit: Optional[int] = None) -> "Candidates":
        """The kept pieces as candidates: the single bytes and the ``limit``
        longer ones that rank first (all when None), with their counts."""
        ...

    def substrings(self, max_length: int, min_count: int, limit: Optional[int] = None) -> "Candidates":
        """The substrings of the kept pieces as candidates (docs/spec/training.md
        §8.1): counted over the kept pieces, those counted at least
        ``min_count`` times, the ``limit`` that rank first (all when None),
        and the single bytes."""
        ...

    def count_tokens(self, vocabulary: Model, texts: PackedPieces, weights: np.ndarray) -> np.ndarray:
        """A :data:`TokenCounter` over the engine's workers."""
        ...

    def count_dropped(self, vocabulary: Model, cut: Optional["Cut"] = None) -> np.ndarray:
        """A :data:`FoundCounter` of the dropped pieces, and of the kept ones
        past ``cut`` (where a cap of :meth:`kept` bound)."""
        ...

    def count_found(self, vocabulary: Model) -> np.ndarray:
        """A :data:`FoundCounter` of every found piece, kept and dropped."""
        ...


#: ``prune(found, options)``: the vocabularies of ``options.max_vocab_size``
#: (largest first), as :class:`Model` in canonical order.
PruneFunction = Callable[[FoundPieces, "TrainingOptions"], List[Model]]

#: ``train(options, source, **settings)``: one run of an engine, with the
#: settings that engine takes (threads, a cluster's address, ...); never
#: changes the models.
EngineFunction = Callable[..., "TrainingResult"]


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Algorithm:
    """A way to choose the vocabulary from the found pieces: its ``name``
    (``Trainer(algorithm=...)``, ``--algorithm``), a one-line ``summary`` for
    ``bytepiece train --help``, the ``order``, ``min_count`` and
    ``max_candidates`` (0: no cap) it gives those options when they are left
    out, and ``prune``, the ``module:function`` of its :data:`PruneFunction`."""

    name: str
    summary: str
    order: int
    min_count: int
    prune: str
    max_candidates: int = 0

    def load(self) -> PruneFunction:
        """The prune function (its module imported on first use)."""
        return cast(PruneFunction, _load(self.prune))


@dataclass(frozen=True)
class Engine:
    """A place to run training: its ``name`` (``Trainer.train_on(name, ...)``),
    a one-line ``summary``, and ``train``, the ``module:function`` of its
    :data:`EngineFunction`."""

    name: str
    summary: str
    train: str

    def load(self) -> EngineFunction:
        """The engine's train function (its module imported on first use)."""
        return cast(EngineFunction, _load(self.train))


#: The algorithms by name, in the order they were registered.
ALGORITHMS: Dict[str, Algorithm] = {}
#: The engines by name, in the order they were registered.
ENGINES: Dict[str, Engine] = {}


def register_algorithm(algorithm: Algorithm) -> Algorithm:
    """Add ``algorithm`` under its name (a name is registered once)."""
    if algorithm.name in ALGORITHMS:
        raise ValueError(f"an algorithm named {algorithm.name!r} is registered already")
    ALGORITHMS[algorithm.name] = algorithm
    return algorithm


def register_engine(engine: Engine) -> Engine:
    """Add ``engine`` under its name (a name is registered once)."""
    if engine.name in ENGINES:
        raise ValueError(f"an engine named {engine.name!r} is registered already")
    ENGINES[engine.name] = engine
    return engine


def get_algorithm(name: str) -> Algorithm:
    """The algorithm called ``name``; ValueError naming the others if none is."""
    if name not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(map(repr, ALGORITHMS))}, got {name!r}")
    return ALGORITHMS[name]


def get_engine(name: str) -> Engine:
    """The engine called ``name``; ValueError naming the others if none is."""
    if name not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}, got {name!r}")
    return ENGINES[name]


# The defaults of "em" (longer n-grams, a higher min_count) suit it: measured
# in benchmarks/bench_quality.py. The caps on the candidates leave the models
# of corpora up to about 1 GB as they were (docs/spec/training.md §9): on 1 GB
# of the Linux kernel's source, 2.16 million kept pieces longer than a byte
# with "0.6.3" and 12.7 million substring candidates with "em".
register_algorithm(Algorithm("0.6.3", "BytePiece 0.6.3's algorithm and defaults, the same models as 0.6.3",
                             order=6, min_count=2, prune="bytepiece.training.pruning:prune_found",
                             max_candidates=3_000_000))
register_algorithm(Algorithm("em", "pieces chosen by hard EM and pruning by gain, the better compression",
                             order=8, min_count=4, prune="bytepiece.training.pruning_em:prune_found",
                             max_candidates=16_000_000))
register_engine(Engine("threads", "threads of this process",
                       train="bytepiece.training.thread_engine:train_on_threads"))
register_engine(Engine("ray", "a Ray cluster (pip install 'bytepiece[ray]')",
                       train="bytepiece.training.ray_engine:train_on_ray"))
