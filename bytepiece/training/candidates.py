"""The cap on the candidates pruning works on: chosen exactly, the same in one process and in partitions.

Pruning (docs/spec/training.md §4-5, §8) starts from a set of candidate
pieces: 0.6.3's algorithm from the kept found pieces, "em" from their
substrings. Their number grows with the corpus, and every pruning round
holds them, so ``TrainingOptions.max_candidates`` caps them
(docs/spec/training.md §9). The cap keeps the candidates that rank first by
the total order

    count descending, then length descending, then bytes ascending

among the candidates longer than a byte; the single bytes are always kept and
do not count against the cap. The order is total (no two candidates share
their bytes), so the first ``limit`` are one exact set, and since every
candidate's count is whole in one partition (candidates are partitioned by a
hash of their bytes), the first ``limit`` of each partition, merged and cut
to ``limit`` again, are the first ``limit`` of all: an engine finds the set
without holding every candidate in one process (:func:`merge_candidates`).

A selection that binds is described by its :class:`Cut`, the last candidate
kept: a candidate is kept when it ranks at or before it
(:func:`within_cut`), which any task can decide for its own partition.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

import numpy as np

from .. import _training
from .._core import MAX_PIECE_LEN
from ..model import PackedPieces

__all__ = ["Cut", "Candidates", "CandidateCount", "canonical_rows", "top_candidates", "within_cut", "merge_candidates", "count_substrings",
           "substring_partition", "substring_candidates"]

# Count and length in one uint64 that orders like (count, length): a
# candidate is at most MAX_PIECE_LEN bytes (a kept piece, or a substring of
# one). A count is at most the corpus's byte positions, far below
# 2**64 / _LENGTHS (that would take 2**53 bytes of text).
_LENGTHS = MAX_PIECE_LEN + 1
_MAX_COUNT = (2**64 - 1) // _LENGTHS - 1


@dataclass(frozen=True)
class Cut:
    """The last candidate a binding cap kept: its ``count``, its ``length``
    and its bytes (``piece``). A candidate longer than a byte is kept when it
    ranks at or before this one."""

    count: int
    length: int
    piece: bytes


@dataclass(frozen=True)
class Candidates:
    """Candidates with their counts, after the cap: ``pieces`` (packed, any
    order) and ``counts`` (uint64) hold the single bytes among them and the
    longer candidates that rank within the cap. ``found`` is how many longer
    candidates there were before the cap, ``cut`` where the cap cut them
    (None when it did not bind)."""

    pieces: PackedPieces
    counts: np.ndarray
    found: int
    cut: Optional[Cut] = None

    @property
    def kept(self) -> int:
        """How many of the candidates are longer than a byte."""
        return int(np.count_nonzero(self.pieces.lengths() > 1))

    @property
    def capped(self) -> bool:
        """Whether the cap bound (some candidates were left out)."""
        return self.cut is not None

    def __len__(self) -> int:
        return len(self.counts)


@dataclass(frozen=True)
class CandidateCount:
    """What a choice of candidates was, for the statistics: ``found``
    candidates longer than a byte, ``kept`` of them within the cap,
    ``capped`` whether it bound."""

    found: int
    kept: int
    capped: bool

    @classmethod
    def of(cls, candidates: Candidates) -> "CandidateCount":
        """The counts of ``candidates``."""
        return cls(candidates.found, candidates.kept, candidates.capped)


def _rank_keys(counts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """One uint64 per candidate, larger for a candidate that ranks earlier by (count, length)."""
    counts = np.asarray(counts, dtype=np.uint64)
    if len(counts) and (int(counts.max()) > _MAX_COUNT or int(lengths.max()) > MAX_PIECE_LEN):
        raise ValueError("a candidate's count or length is beyond what the candidate cap can rank")
    return counts * np.uint64(_LENGTHS) + lengths.astype(np.uint64)


def _bytes_order(pieces: PackedPieces, rows: np.ndarray, length: int) -> np.ndarray:
    """``rows`` (pieces of ``length`` bytes each) sorted by their bytes, ascending."""
    if len(rows) < 2:
        return rows
    starts = pieces.offsets[rows]
    data = np.frombuffer(pieces.data, dtype=np.uint8)
    # Each run of 8 bytes as one big-endian integer (zeros past the end, the
    # same for every piece): the words compare as the bytes do.
    words = []
    for first in range(0, length, 8):
        word = np.zeros(len(rows), dtype=np.uint64)
        for j in range(first, first + 8):
            word <<= np.uint64(8)
            if j < length:
                word |= data[starts + j]
        words.append(word)
    if len(words) == 1:
        return rows[np.argsort(words[0], kind="stable")]
    return rows[np.lexsort(words[::-1])]  # the first word is the primary key


def canonical_rows(pieces: PackedPieces) -> np.ndarray:
    """The rows of ``pieces`` (distinct) in canonical order, by (length,
    bytes) as :func:`bytepiece.model.canonical_order` orders them, without a
    Python object per piece (what millions of candidates need)."""
    lengths = pieces.lengths()
    by_length = np.argsort(lengths, kind="stable")
    bounds = np.flatnonzero(np.diff(lengths[by_length])) + 1
    return np.concatenate([_bytes_order(pieces, rows, int(lengths[rows[0]]))
                           for rows in np.split(by_length, bounds) if len(rows)] or [np.zeros(0, np.int64)])


def top_candidates(pieces: PackedPieces, counts: np.ndarray, limit: Optional[int],
                   found: Optional[int] = None) -> Candidates:
    """The single bytes of ``pieces`` and the ``limit`` of its longer pieces
    that rank first (every one when ``limit`` is None or not reached), with
    their counts, in their order in ``pieces``. ``found``: how many longer
    candidates there were in all (default: those in ``pieces``), which
    decides whether the cap bound when ``pieces`` are a merge of parts."""
    if limit is not None and limit < 1:
        raise ValueError(f"a cap on the candidates must be at least 1, got {limit}")
    counts = np.asarray(counts, dtype=np.uint64)
    lengths = pieces.lengths()
    longer = np.flatnonzero(lengths > 1)
    total = len(longer) if found is None else found
    if limit is None or len(longer) <= limit:
        cut = _last_of(pieces, counts, longer) if limit is not None and total > limit else None
        return Candidates(pieces, counts, total, cut)
    keys = _rank_keys(counts[longer], lengths[longer])
    boundary = np.partition(keys, len(keys) - limit)[len(keys) - limit]  # the limit-th largest key
    ahead = longer[keys > boundary]
    tied = longer[keys == boundary]  # one count and one length: the bytes decide among them
    length = int(boundary % np.uint64(_LENGTHS))
    tied = _bytes_order(pieces, tied, length)[:limit - len(ahead)]
    rows = np.sort(np.concatenate([np.flatnonzero(lengths == 1), ahead, tied]))
    last = int(tied[-1])
    cut = Cut(int(counts[last]), length, pieces.data[pieces.offsets[last]:pieces.offsets[last + 1]])
    return Candidates(pieces.take(rows), counts[rows], total, cut)


def _last_of(pieces: PackedPieces, counts: np.ndarray, rows: np.ndarray) -> Optional[Cut]:
    """The cut after the last-ranked of ``rows`` (None for no rows)."""
    if not len(rows):
        return None
    lengths = pieces.lengths()[rows]
    keys = _rank_keys(counts[rows], lengths)
    worst = rows[keys == keys.min()]
    length = int(lengths[keys == keys.min()][0])
    last = int(_bytes_order(pieces, worst, length)[-1])
    return Cut(int(counts[last]), length, pieces.data[pieces.offsets[last]:pieces.offsets[last + 1]])


def within_cut(pieces: PackedPieces, counts: np.ndarray, cut: Optional[Cut]) -> np.ndarray:
    """Which of ``pieces`` a cap that ended at ``cut`` keeps: the single bytes
    and the longer pieces ranked at or before it (every piece when ``cut`` is None)."""
    lengths = pieces.lengths()
    if cut is None:
        return np.ones(len(lengths), dtype=bool)
    keys = _rank_keys(counts, lengths)
    boundary = _rank_keys(np.array([cut.count], dtype=np.uint64), np.array([cut.length]))[0]
    keep = (lengths == 1) | (keys > boundary)
    tied = np.flatnonzero((keys == boundary) & (lengths > 1))
    # Same count and length as the cut: at or before it when the bytes are not greater.
    keep[tied] = [piece <= cut.piece for piece in pieces.take(tied).pieces()]
    return keep


def merge_candidates(parts: Iterable[Candidates], limit: Optional[int]) -> Candidates:
    """The candidates of every part (disjoint sets, each already cut to
    ``limit``) cut to ``limit`` once more: the first ``limit`` of all, and the
    single bytes. Parts are taken one at a time and cut whenever they hold
    more than ``limit`` together, so at most about twice ``limit`` candidates
    are held at once."""
    pending: List[Candidates] = []
    held = found = 0  # candidates longer than a byte in pending; before the cap, in all parts
    for part in parts:
        found += part.found
        pending.append(part)
        held += part.kept
        if limit is not None and held > limit:
            pending = [_joined(pending, limit)]
            held = pending[0].kept
    if not pending:
        return Candidates(PackedPieces(b"", np.zeros(1, dtype=np.int64)), np.zeros(0, dtype=np.uint64), 0)
    merged = _joined(pending, limit)
    # The cut of the whole: the last one kept, when the parts together held more than the cap.
    return top_candidates(merged.pieces, merged.counts, limit, found)


def _joined(parts: List[Candidates], limit: Optional[int]) -> Candidates:
    """``parts`` in one, cut to ``limit``."""
    if len(parts) == 1:
        return top_candidates(parts[0].pieces, parts[0].counts, limit)  # no copy when it is within the cap
    pieces = PackedPieces.concatenate([part.pieces for part in parts])
    counts = np.concatenate([part.counts for part in parts])
    parts.clear()  # the joined copy replaces them
    return top_candidates(pieces, counts, limit)


def count_substrings(pieces: PackedPieces, counts: np.ndarray, max_length: int,
                     num_partitions: int = 1) -> List[Tuple[PackedPieces, np.ndarray]]:
    """Every substring of ``pieces`` of 1..``max_length`` bytes that starts and
    ends on a UTF-8 character boundary, and every piece longer than that,
    counted per occurrence weighted by ``counts``
    (``PieceCounter.add_substrings``), split into ``num_partitions`` parts by
    the hash that partitions pieces: (packed substrings, counts) per part."""
    counter = _training.PieceCounter()
    counter.add_substrings(pieces.data, pieces.offsets, np.asarray(counts, dtype=np.uint64), 1, max_length)
    data, offsets, totals = counter.export()
    substrings = PackedPieces(data, offsets)
    if num_partitions == 1:
        return [(substrings, totals)]
    which = counter.partitions(num_partitions)
    del counter
    parts = []
    for q in range(num_partitions):
        rows = np.flatnonzero(which == q)
        parts.append((substrings.take(rows), totals[rows]))
    return parts


def substring_partition(pieces: PackedPieces, counts: np.ndarray, max_length: int, num_partitions: int,
                        partition: int) -> Tuple[PackedPieces, np.ndarray]:
    """Part ``partition`` of :func:`count_substrings`'s ``num_partitions``
    parts, counted alone (the substrings of the others are hashed and
    skipped): threads count the parts of one set of pieces at once."""
    counter = _training.PieceCounter()
    counter.add_substrings(pieces.data, pieces.offsets, np.asarray(counts, dtype=np.uint64), 1, max_length,
                           num_partitions, partition)
    data, offsets, totals = counter.export()
    return PackedPieces(data, offsets), totals


def substring_candidates(parts: Iterable[Tuple[PackedPieces, np.ndarray]], min_count: int,
                         limit: Optional[int]) -> Candidates:
    """The "em" candidates of one substring partition (docs/spec/training.md §8.1):
    the counts of its ``parts`` (one per source of substrings, from
    :func:`count_substrings`) summed; the substrings counted at least
    ``min_count`` times, cut to the first ``limit``, and every single byte."""
    parts = list(parts)
    if len(parts) == 1:  # counted once already: nothing to add up
        substrings, totals = parts[0]
    else:
        counter = _training.PieceCounter()
        for part, part_totals in parts:
            counter.add_packed(part.data, part.offsets, np.asarray(part_totals, dtype=np.uint64))
        del parts
        data, offsets, totals = counter.export()
        del counter
        substrings = PackedPieces(data, offsets)
    rows = np.flatnonzero((totals >= min_count) | (substrings.lengths() == 1))
    return top_candidates(substrings.take(rows), totals[rows], limit)
