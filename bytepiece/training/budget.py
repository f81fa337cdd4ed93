"""Memory bounds of a training run: the finished n-gram model within a budget, and ``max_memory`` checked early.

The finished n-gram model is what every segmenting worker of pass 2 holds
(docs/spec/training.md §7), and it grows with the corpus: the larger the
corpus, the more distinct n-grams reach ``min_count``. A budget bounds it:
``TrainingOptions.max_ngram_model_bytes`` (``--max-ngram-bytes``), or, when
only ``max_memory`` is given, half of that (:func:`ngram_model_budget`).

The rule (docs/spec/training.md §10): after pass 1, ``min_count`` becomes
the least ``m`` (at least the option's, at most :data:`HISTOGRAM_CAP`) with

    bound(K(m)) <= budget,    bound(K) = 16 KiB * order * 256 + 64 B * K

where ``K(m)`` is the number of n-grams longer than a byte counted at least
``m`` times in the corpus, read off the corpus-wide histogram of their counts
(:class:`NgramHistogram`), and ``bound`` is the C core's upper bound of the
finished tables' bytes (``bp_ngrams_finished_bytes_bound``) for the most
partitions a model can have (256). So the finished model fits the budget
however its tables are partitioned, and the choice depends on the corpus and
the options only: each n-gram is counted in one partition, the partitions'
histograms (taken on whole counts, once the shards of a partition are merged)
add up exactly to the corpus's, and every engine (threads, Ray) and number
of threads or partitions chooses the same ``min_count``. The rest of the run
then trains with it: the n-grams, the pieces and the candidates are cut
there, so the model is the one that training with that ``min_count`` given
explicitly makes. The raised value is reported (a warning, the command's
summary) and recorded (``TrainingStats.min_count``,
``TrainingStats.ngram_model_budget``); a budget that does not bind changes
nothing. The bound is loose by design (a finished table is 1/4 to 1/2 full):
the model takes about half to three quarters of a budget that binds.

What can be wrong with the memory options without reading the corpus is
checked first (:func:`check_memory_options`), before any pass and, on Ray,
before Ray starts.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Iterable, Optional

import numpy as np

if TYPE_CHECKING:
    from .. import _training
    from .options import TrainingOptions
    from .stats import TrainingStats

__all__ = ["MIN_MEMORY", "MODEL_SHARE", "HISTOGRAM_CAP", "MemoryBoundError", "NgramHistogram", "ngram_model_budget",
           "model_bytes_bound", "least_model_bytes", "check_memory_options", "budgeted_min_count", "apply_budget",
           "physical_memory", "format_bytes"]

#: The least ``max_memory`` that makes sense: a worker process alone (Python,
#: numpy, the binding, Ray's client) takes about 200 MiB.
MIN_MEMORY = 512 << 20
#: The share of ``max_memory`` that the finished n-gram model may take when no
#: budget is given: a segmenting worker holds it beside its shard's piece
#: counts and batches (the local process beside its threads' counters).
MODEL_SHARE = 2  # half
#: The largest min_count a budget can choose: counts from it on are one bin
#: of the histogram, so that a histogram has at most this many bins whatever
#: the corpus (a few KiB to 1 MiB in the driver).
HISTOGRAM_CAP = 1 << 16


class MemoryBoundError(MemoryError):
    """A run stopped because it would pass its memory bound; the message says
    what holds the memory and what to change (the command line prints it as is)."""


def format_bytes(size: int) -> str:
    """``size`` for a message, in the binary units that sizes are given in
    (``--max-memory 2G`` is 2 GiB): GiB with two decimals, MiB with one below
    1 GiB, KiB below 1 MiB."""
    if size >= 1 << 30:
        return f"{size / (1 << 30):.2f} GiB"
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size / 1024:.1f} KiB"


def physical_memory() -> Optional[int]:
    """The bytes of memory of this machine (None where unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def model_bytes_bound(order: int, kept: int) -> int:
    """The most bytes the finished tables of an n-gram model of ``order`` that
    keeps ``kept`` n-grams longer than a byte take, however they are
    partitioned (``bp_ngrams_finished_bytes_bound`` at the most partitions)."""
    from .. import _training
    from .._core import MAX_PARTITIONS

    return _training.finished_bytes_bound(order, MAX_PARTITIONS, kept)


def least_model_bytes(order: int) -> int:
    """The least budget an n-gram model of ``order`` can keep: the bound with
    no n-gram longer than a byte, every table at its least size (32 MiB at
    order 8)."""
    return model_bytes_bound(order, 0)


def ngram_model_budget(max_ngram_model_bytes: Optional[int], max_memory: Optional[int]) -> Optional[int]:
    """The budget of the finished n-gram model in force: ``max_ngram_model_bytes``
    when given, else ``max_memory // MODEL_SHARE`` when ``max_memory`` is
    given, else None (no budget)."""
    if max_ngram_model_bytes is not None:
        return max_ngram_model_bytes
    return max_memory // MODEL_SHARE if max_memory is not None else None


def check_memory_options(max_ngram_model_bytes: Optional[int], max_memory: Optional[int], order: int, *,
                         this_machine: bool = False, cli: bool = False) -> Optional[int]:
    """Check, before any work, what can be wrong with the memory options of a
    run whose n-gram model has ``order``: ``max_memory`` of at least
    :data:`MIN_MEMORY` (and, with ``this_machine``, for a Ray started here,
    no more than this machine has), and a model budget within its share of
    ``max_memory`` and no smaller than :func:`least_model_bytes`. Raises
    ValueError naming the option (``--max-memory`` when ``cli``, else
    ``max_memory``); returns the budget in force (:func:`ngram_model_budget`)."""
    memory_name = "--max-memory" if cli else "max_memory"
    budget_name = "--max-ngram-bytes" if cli else "max_ngram_model_bytes"
    if max_memory is not None:
        if isinstance(max_memory, bool) or not isinstance(max_memory, int):
            raise TypeError(f"{memory_name} must be a number of bytes, got {max_memory!r}")
        if max_memory < MIN_MEMORY:
            raise ValueError(f"{memory_name} must be at least {format_bytes(MIN_MEMORY)} (a worker process alone "
                             f"takes about 200 MiB), got {format_bytes(max_memory)}")
        machine = physical_memory() if this_machine else None
        if machine is not None and max_memory > machine:
            raise ValueError(f"{memory_name} ({format_bytes(max_memory)}) is more than this machine has "
                             f"({format_bytes(machine)}): a Ray started here could never run a task")
    budget = ngram_model_budget(max_ngram_model_bytes, max_memory)
    if budget is None:
        return None
    if max_memory is not None and budget > max_memory // MODEL_SHARE:
        raise ValueError(f"{budget_name} {format_bytes(budget)} is more than half of {memory_name} "
                         f"({format_bytes(max_memory)}), which is what a process may give the n-gram model: "
                         f"lower {budget_name}, or leave it out to take half of {memory_name}")
    least = least_model_bytes(order)
    if budget < least:
        raise ValueError(f"{budget_name} must be at least {format_bytes(least)} with order {order} (the n-gram model's "
                         f"tables at their least, however partitioned), got {format_bytes(budget)}")
    return budget


@dataclass(frozen=True)
class NgramHistogram:
    """How many n-grams longer than a byte (``num_ngrams[i]``) have each count
    (``values[i]``, ascending, distinct), for the counts from ``min_count``
    (the option's) on, those of :data:`HISTOGRAM_CAP` or more in its bin.
    Histograms of different partitions add (``+``, :meth:`total`) to the
    corpus's; each holds at most ``HISTOGRAM_CAP`` bins."""

    min_count: int
    values: np.ndarray
    num_ngrams: np.ndarray

    @classmethod
    def of_partition(cls, ngram_model: "_training.NgramModel", partition: int, min_count: int) -> "NgramHistogram":
        """The histogram of ``partition``'s counts (whole: after every shard's
        counts of it were added), before it is finished."""
        cap = max(HISTOGRAM_CAP, min_count)
        dense = np.zeros(cap + 1, dtype=np.uint64)
        for length in range(2, ngram_model.order + 1):
            values, num_ngrams = ngram_model.count_histogram(partition, length, min_count, cap)
            dense[values.astype(np.int64)] += num_ngrams
        return cls._of_dense(min_count, dense)

    @classmethod
    def _of_dense(cls, min_count: int, dense: np.ndarray) -> "NgramHistogram":
        values = np.flatnonzero(dense)
        return cls(min_count, values.astype(np.uint64), dense[values])

    @classmethod
    def total(cls, parts: Iterable["NgramHistogram"]) -> "NgramHistogram":
        """The sum of the histograms of ``parts`` (partitions of one model)."""
        parts = list(parts)
        if not parts:
            raise ValueError("an n-gram model has at least one partition")
        min_count = parts[0].min_count
        if any(p.min_count != min_count for p in parts):
            raise ValueError("the histograms of partitions must start at the same min_count")
        dense = np.zeros(max(HISTOGRAM_CAP, min_count) + 1, dtype=np.uint64)
        for part in parts:
            np.add.at(dense, part.values.astype(np.int64), part.num_ngrams)
        return cls._of_dense(min_count, dense)

    def __add__(self, other: "NgramHistogram") -> "NgramHistogram":
        return NgramHistogram.total([self, other])

    def kept(self, min_count: int) -> int:
        """How many n-grams longer than a byte finishing with ``min_count``
        (from the histogram's min_count up to its cap) keeps."""
        cap = max(HISTOGRAM_CAP, self.min_count)
        if not self.min_count <= min_count <= cap:
            raise ValueError(f"the histogram tells the n-grams kept at a min_count of {self.min_count} to {cap}, "
                             f"not {min_count}")
        return int(self.num_ngrams[self.values >= min_count].sum())

    @property
    def nbytes(self) -> int:
        """Size of the arrays."""
        return self.values.nbytes + self.num_ngrams.nbytes


def budgeted_min_count(histogram: NgramHistogram, order: int, budget: int) -> int:
    """The least min_count, from the option's (``histogram.min_count``) up to
    :data:`HISTOGRAM_CAP`, whose finished n-gram model is bounded by
    ``budget`` bytes (:func:`model_bytes_bound` of the n-grams it keeps).
    Raises MemoryBoundError when none is: the corpus holds too many
    n-grams counted :data:`HISTOGRAM_CAP` times or more."""
    cap = max(HISTOGRAM_CAP, histogram.min_count)
    # kept at a min_count of m: the n-grams of the bins m and up; it changes only past a bin.
    suffix = np.cumsum(histogram.num_ngrams[::-1])[::-1]  # kept at values[i]
    candidates = np.concatenate([[histogram.min_count], histogram.values.astype(np.int64) + 1])
    kept = np.concatenate([suffix[:1] if len(suffix) else [0], suffix[1:], [0]]).astype(np.int64)
    for m, k in zip(candidates.tolist(), kept.tolist()):
        if m > cap:
            break
        if model_bytes_bound(order, k) <= budget:
            return int(m)
    raise MemoryBoundError(f"the n-gram model cannot fit in {format_bytes(budget)} at any min_count up to {cap}: "
                           f"{histogram.kept(cap)} n-grams are counted {cap} times or more; raise the budget "
                           "(max_ngram_model_bytes, or max_memory), or lower the order")


def apply_budget(options: "TrainingOptions", histogram: NgramHistogram, budget: int,
                 stats: "TrainingStats") -> "TrainingOptions":
    """The options the rest of the run trains with under the n-gram model
    ``budget``: ``options`` with the :func:`budgeted_min_count` of the
    corpus's ``histogram`` (``options`` itself when the budget does not
    bind). Records the budget and the min_count in ``stats``, and warns
    (UserWarning) when it raised min_count: the model is then the one that
    min_count gives, not the option's."""
    chosen = budgeted_min_count(histogram, options.order, budget)
    stats.ngram_model_budget = budget
    stats.min_count = chosen
    if chosen == options.min_count:
        return options
    warnings.warn(f"min_count raised from {options.min_count} to {chosen} so that the finished n-gram model fits in "
                  f"{format_bytes(budget)}: it keeps {histogram.kept(chosen)} n-grams longer than a byte, where "
                  f"min_count {options.min_count} would keep {histogram.kept(options.min_count)} (up to "
                  f"{format_bytes(model_bytes_bound(options.order, histogram.kept(options.min_count)))}); the "
                  f"n-grams, pieces and candidates are all cut at {chosen}", UserWarning, stacklevel=3)
    return replace(options, min_count=chosen)
