"""0.6.3's pruning: the pieces the BNLM segmentation found -> vocabularies of the
requested sizes (docs/spec/training.md, steps 4 and 5), and the helpers that
the "em" pruning (:mod:`bytepiece.training.pruning_em`) and the engines share.

Every vocabulary here is a :class:`Model` in canonical order (ids
NUM_SPECIAL.. by (length, bytes), as 0.6.3 numbers them). Filtering its rows
in increasing order keeps that order, so no step needs to sort again.

The heavy part, re-tokenizing pieces with a candidate vocabulary and adding
their weights to the tokens they split into, is a :data:`TokenCounter`:
:func:`count_tokens` does it in one thread; a training engine passes its own
that spreads the pieces over threads or machines (the totals are sums, so
the result is the same).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .. import _core
from .._core import NUM_SPECIAL
from ..model import Model, PackedPieces, piece_scores
from .candidates import (
    CandidateCount, Candidates, Cut, canonical_rows, count_substrings, merge_candidates, substring_candidates,
    substring_partition, top_candidates, within_cut,
)
from .registry import FoundPieces, TokenCounter

if TYPE_CHECKING:
    from .options import TrainingOptions

__all__ = [
    "LATTICE_MAX_IDS", "Run", "run_in_turn", "TextLattices", "with_progress", "describe_pruning", "TokenCounter", "canonical_segmenter", "count_tokens_packed", "count_tokens", "keep_mask",
    "FoundInProcess", "initial_vocabulary", "with_extra_counts", "drop_wasted", "vocabularies", "prune_kept",
    "prune_found", "prune_pieces",
]


def canonical_segmenter(pieces: PackedPieces, counts: np.ndarray) -> "_core.Segmenter":
    """The C segmenter of a vocabulary in canonical order, straight from its
    packed pieces and counts: no Python object per piece (what a pruning
    worker holding millions of pieces needs)."""
    ids = np.arange(NUM_SPECIAL, NUM_SPECIAL + len(pieces), dtype=np.int32)
    return _core.Segmenter(pieces.data, pieces.offsets, piece_scores(np.asarray(counts, dtype=np.int64)), ids)


def count_tokens_packed(segmenter: "_core.Segmenter", num_pieces: int, texts: PackedPieces,
                        weights: np.ndarray) -> np.ndarray:
    """:func:`count_tokens` with the vocabulary's segmenter (of ``num_pieces``
    pieces in canonical order)."""
    totals = segmenter.count_tokens(texts.data, texts.offsets, np.asarray(weights, dtype=np.uint64),
                                    num_pieces + NUM_SPECIAL)
    return totals[NUM_SPECIAL:]


def count_tokens(vocabulary: Model, texts: PackedPieces, weights: np.ndarray) -> np.ndarray:
    """The :data:`TokenCounter` of one thread (one C call)."""
    return count_tokens_packed(vocabulary.segmenter(), vocabulary.num_pieces, texts, weights)


#: Most ids (pieces and special tokens) of a lattice's base vocabulary: the
#: lattice stores base ids in 16 bits.
LATTICE_MAX_IDS = 1 << 16


#: ``run(function, jobs)``: ``[function(*job) for job in jobs]``, the calls
#: perhaps at once (on a pool of threads).
Run = Callable[[Callable[..., Any], Sequence[Tuple[Any, ...]]], List[Any]]


def run_in_turn(function: Callable[..., Any], jobs: Sequence[Tuple[Any, ...]]) -> List[Any]:
    """The :data:`Run` of one thread: each call in turn."""
    return [function(*job) for job in jobs]


class TextLattices:
    """The lattices (``_core.Lattice``) of one set of ``texts`` cut into
    parts at ``bounds`` (one part per thread), all with the vocabulary
    ``base`` as their base: they count the texts' tokens with any vocabulary
    whose pieces are all in ``base`` without walking a trie, the same totals
    as :func:`count_tokens_packed`. The "em" pruning re-tokenizes the same
    found pieces in every round with ever smaller vocabularies (each a
    subset of the ones before, bar refill's, which gives back pieces of
    them), so a lattice built in one round serves all the later ones."""

    def __init__(self, base: Model, texts: PackedPieces, bounds: Sequence[int],
                 lattices: Sequence["_core.Lattice"]) -> None:
        self.base = base
        self.texts = texts
        self.bounds = list(bounds)
        self.lattices = list(lattices)

    @classmethod
    def build(cls, base: Model, texts: PackedPieces, parts: int,
              run: Run) -> Optional["TextLattices"]:
        """The lattices of ``texts`` in ``parts`` parts of about equal bytes,
        built by ``run(function, argument tuples)`` (e.g. on a pool of
        threads); None where ``base`` cannot be one (more than
        :data:`LATTICE_MAX_IDS` ids, a piece over 255 bytes)."""
        if base.num_pieces + NUM_SPECIAL > LATTICE_MAX_IDS or base.packed().lengths().max(initial=0) > 255:
            return None
        bounds = texts.balanced_bounds(parts)
        segmenter = base.segmenter()
        jobs = [(texts.data, np.ascontiguousarray(texts.offsets[a:b + 1])) for a, b in zip(bounds[:-1], bounds[1:])]
        return cls(base, texts, bounds, run(segmenter.lattice, jobs))

    def vocabulary_map(self, vocabulary: Model) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """(scores, ids) by base id for ``vocabulary`` (canonical order):
        the id and score of each base piece in it, -1 for those it lacks;
        None when a piece of it is not in the base."""
        packed = vocabulary.packed()
        base_ids = self.base.segmenter().lookup_ids(packed.data, packed.offsets)
        if len(base_ids) and base_ids.min() < 0:
            return None
        num_base = self.lattices[0].num_base if self.lattices else 0
        ids = np.full(num_base, -1, dtype=np.int32)
        scores = np.zeros(num_base, dtype=np.float64)
        ids[base_ids] = np.arange(NUM_SPECIAL, NUM_SPECIAL + len(base_ids), dtype=np.int32)
        scores[base_ids] = vocabulary.scores()  # the very scores its segmenter has
        return scores, ids

    def count_tokens(self, vocabulary: Model, weights: np.ndarray,
                     run: Run) -> Optional[np.ndarray]:
        """:func:`count_tokens` of the texts with ``vocabulary`` and
        ``weights`` (one per text), each part by ``run``; None when
        ``vocabulary`` is not a subset of the base."""
        mapped = self.vocabulary_map(vocabulary)
        if mapped is None:
            return None
        scores, ids = mapped
        weights = np.asarray(weights, dtype=np.uint64)
        num_totals = vocabulary.num_pieces + NUM_SPECIAL
        jobs = [(scores, ids, np.ascontiguousarray(weights[a:b]), num_totals)
                for a, b in zip(self.bounds[:-1], self.bounds[1:])]
        totals = np.zeros(vocabulary.num_pieces, dtype=np.uint64)
        for part in run(_count_lattice, [(lattice, *job) for lattice, job in zip(self.lattices, jobs)]):
            totals += part[NUM_SPECIAL:]
        return totals


def _count_lattice(lattice: "_core.Lattice", scores: np.ndarray, ids: np.ndarray, weights: np.ndarray,
                   num_totals: int) -> np.ndarray:
    return lattice.count_tokens(scores, ids, weights, num_totals)


def with_progress(counter: TokenCounter, bar: Any, target: Optional[int] = None) -> TokenCounter:
    """``counter`` that moves a progress ``bar`` on by one after each call (a
    call re-tokenizes a set of pieces, the unit of pruning's work, whose
    number of rounds is not known in advance) and says in its description how
    many pieces the vocabulary being counted has, and the ``target`` (the
    largest size asked), so that the way still to go shows."""
    def counting(vocabulary: Model, texts: PackedPieces, weights: np.ndarray) -> np.ndarray:
        describe_pruning(bar, vocabulary, target)
        totals = counter(vocabulary, texts, weights)
        bar.update(1)
        return totals
    return counting


def describe_pruning(bar: Any, vocabulary: Model, target: Optional[int]) -> None:
    """Says on pruning's progress ``bar`` the size of the vocabulary being
    counted now, and the ``target`` size."""
    towards = f" (target {target:,})" if target is not None else ""
    bar.set_description(f"Prune pieces, vocabulary of {vocabulary.num_pieces + 3:,} ids{towards}", refresh=False)


def keep_mask(pieces: PackedPieces, counts: np.ndarray, max_piece_length: int, min_count: int) -> np.ndarray:
    """Which found pieces stay: every single byte, and the pieces of at most
    ``max_piece_length`` bytes seen at least ``min_count`` times."""
    lengths = pieces.lengths()
    return (lengths == 1) | ((lengths <= max_piece_length) & (np.asarray(counts) >= min_count))


def _substring_part(pieces: PackedPieces, counts: np.ndarray, max_length: int, num_parts: int, part: int,
                    min_count: int, limit: Optional[int]) -> Candidates:
    return substring_candidates([substring_partition(pieces, counts, max_length, num_parts, part)], min_count, limit)


class FoundInProcess:
    """:class:`FoundPieces` all held by this process: the found ``pieces``
    (packed, any order) with their ``counts``, split into kept and dropped by
    :func:`keep_mask`, re-tokenized by ``counter``; the substrings are
    counted in ``num_parts`` parts by ``run`` (e.g. one per thread; the same
    candidates). ``candidates`` is the last choice of candidates an
    algorithm asked for (for the statistics)."""

    def __init__(self, pieces: PackedPieces, counts: np.ndarray, max_piece_length: int, min_count: int,
                 counter: TokenCounter = count_tokens, run: Optional[Run] = None, num_parts: int = 1) -> None:
        self.pieces = pieces
        self.counts = np.asarray(counts, dtype=np.uint64)
        self.counter = counter
        self.run = run if run is not None else run_in_turn
        self.num_parts = num_parts
        self._kept = keep_mask(pieces, self.counts, max_piece_length, min_count)
        self.candidates: Optional[CandidateCount] = None

    def kept(self, limit: Optional[int] = None) -> Candidates:
        """The kept pieces within the cap ``limit`` and their counts."""
        rows = np.flatnonzero(self._kept)
        chosen = top_candidates(self.pieces.take(rows), self.counts[rows], limit)
        self.candidates = CandidateCount.of(chosen)
        return chosen

    def substrings(self, max_length: int, min_count: int, limit: Optional[int] = None) -> Candidates:
        """The substrings of the kept pieces counted at least ``min_count``
        times, within the cap ``limit``, and the single bytes."""
        rows = np.flatnonzero(self._kept)
        kept, counts = self.pieces.take(rows), self.counts[rows]
        if self.num_parts == 1:
            chosen = substring_candidates(count_substrings(kept, counts, max_length), min_count, limit)
        else:  # each part by ``run``, then the cap over all (the choice of one part, candidates.py)
            parts = self.run(_substring_part, [(kept, counts, max_length, self.num_parts, q, min_count, limit)
                                               for q in range(self.num_parts)])
            chosen = merge_candidates(parts, limit)
        self.candidates = CandidateCount.of(chosen)
        return chosen

    def count_tokens(self, vocabulary: Model, texts: PackedPieces, weights: np.ndarray) -> np.ndarray:
        """``counter``."""
        return self.counter(vocabulary, texts, weights)

    def count_dropped(self, vocabulary: Model, cut: Optional[Cut] = None) -> np.ndarray:
        """The totals of the dropped pieces and of the kept ones past ``cut``
        (their copy is made here, for the call: 0.6.3 counts them once)."""
        dropped = ~self._kept
        if cut is not None:
            kept = np.flatnonzero(self._kept)
            dropped[kept] = ~within_cut(self.pieces.take(kept), self.counts[kept], cut)
        rows = np.flatnonzero(dropped)
        return self.counter(vocabulary, self.pieces.take(rows), self.counts[rows])

    def count_found(self, vocabulary: Model) -> np.ndarray:
        """Every found piece's totals, in one call."""
        return self.counter(vocabulary, self.pieces, self.counts)


def initial_vocabulary(pieces: PackedPieces, counts: np.ndarray) -> Model:
    """The vocabulary of the kept ``pieces`` (canonical order), with each
    single byte that is not among them added with count 1."""
    present = np.frombuffer(pieces.data, dtype=np.uint8)[pieces.offsets[:-1][pieces.lengths() == 1]]
    missing = np.setdiff1d(np.arange(256), present).astype(np.uint8)
    pieces = PackedPieces.concatenate([pieces, PackedPieces(missing.tobytes(), np.arange(len(missing) + 1))])
    counts = np.concatenate([np.asarray(counts, dtype=np.uint64), np.ones(len(missing), np.uint64)])
    # Sorted in numpy, not as Python bytes: the candidates of "em" are millions.
    rows = canonical_rows(pieces)
    return Model.from_canonical(pieces.take(rows), counts[rows])


def with_extra_counts(vocabulary: Model, extra: np.ndarray) -> Model:
    """``vocabulary`` (canonical order) with ``extra`` added to its counts: the
    counts of dropped pieces redistributed to the pieces they split into."""
    return Model.from_canonical(vocabulary.packed(), vocabulary.counts_array() + extra)


def drop_wasted(vocabulary: Model, counter: TokenCounter = count_tokens) -> Model:
    """Re-tokenize every piece with the vocabulary itself and rebuild the counts
    from the results, until no piece disappears: a piece that its own
    vocabulary never outputs is wasted."""
    while True:
        totals = counter(vocabulary, vocabulary.packed(), vocabulary.counts_array())
        rows = np.flatnonzero(totals)
        if len(rows) == vocabulary.num_pieces:
            return Model.from_canonical(vocabulary.packed(), totals)
        vocabulary = Model.from_canonical(vocabulary.packed().take(rows), totals[rows])


def vocabularies(vocabulary: Model, sizes: Sequence[int], counter: TokenCounter = count_tokens) -> List[Model]:
    """One vocabulary per size in ``sizes`` (largest first) from ``vocabulary``
    (the kept pieces with their redistributed counts): each smaller one keeps
    the best-ranked pieces of the previous, by (longer than a byte, -count,
    -length, bytes), and the counts of the others go to the pieces they split into."""
    vocabulary = drop_wasted(vocabulary, counter)
    results = []
    for size in sizes:
        if vocabulary.vocab_size > size:
            counts = vocabulary.counts_array()
            packed = vocabulary.packed()
            lengths = packed.lengths()
            # Ranked by (longer than a byte, -count, -length, bytes); in
            # canonical order the index orders pieces of one length by bytes.
            ranked = np.lexsort((np.arange(len(packed)), -lengths, np.iinfo(np.uint64).max - counts, lengths > 1))
            top = np.sort(ranked[:size - NUM_SPECIAL])
            rest = ranked[size - NUM_SPECIAL:]
            kept = Model.from_canonical(packed.take(top), counts[top])
            extra = counter(kept, packed.take(rest), counts[rest])
            vocabulary = drop_wasted(with_extra_counts(kept, extra), counter)
        results.append(vocabulary)
    return results


def prune_kept(found: FoundPieces, sizes: Sequence[int], limit: Optional[int] = None) -> List[Model]:
    """:func:`initial_vocabulary` of the kept pieces within the cap ``limit``,
    with the counts of the others (the dropped ones, and the kept ones past
    the cap) added to the pieces they split into, then :func:`vocabularies`."""
    candidates = found.kept(limit)
    vocabulary = initial_vocabulary(candidates.pieces, candidates.counts)
    cut = candidates.cut
    del candidates  # the vocabulary holds them now
    vocabulary = with_extra_counts(vocabulary, found.count_dropped(vocabulary, cut))
    return vocabularies(vocabulary, sizes, found.count_tokens)


def prune_found(found: FoundPieces, options: "TrainingOptions") -> List[Model]:
    """The "0.6.3" algorithm of the registry: one vocabulary per size of
    ``options.max_vocab_size`` (largest first) from the ``found`` pieces,
    wherever an engine keeps them, starting from the kept pieces within
    ``options.max_candidates``."""
    return prune_kept(found, options.max_vocab_size, options.max_candidates or None)


def prune_pieces(pieces: PackedPieces, counts: np.ndarray, sizes: Sequence[int], max_piece_length: int,
                 min_count: int, counter: TokenCounter = count_tokens,
                 max_candidates: Optional[int] = None) -> List[Model]:
    """One vocabulary per size in ``sizes`` (largest first) from the found
    ``pieces`` (packed, any order) and their ``counts``, all in this process:
    :func:`keep_mask`, the kept pieces within ``max_candidates`` (None: all),
    then :func:`initial_vocabulary` with the counts of the others added to
    the pieces they split into, then :func:`vocabularies`."""
    return prune_kept(FoundInProcess(pieces, counts, max_piece_length, min_count, counter), sizes, max_candidates)
