"""The "em" training's pruning: the found pieces -> over-generated candidates
-> hard EM -> pruning by gain -> vocabularies of the requested sizes
(docs/spec/training.md §8).

0.6.3's pruning (:mod:`bytepiece.training.pruning`) keeps the most frequent of the
pieces the BNLM segmentation found. Frequency is not what a piece saves: one
that the rest of the vocabulary spells in two tokens saves less than one that
would take five, and the found pieces miss the shorter pieces inside them
that other text needs. Here:

1. **Candidates.** The found pieces that 0.6.3's pruning starts from (at
   most ``max_piece_length`` bytes, seen at least ``min_count`` times) and
   every substring of them of up to :data:`MAX_SUBSTRING` bytes on character
   boundaries, counted over those pieces (weighted by their counts); those
   counted at least ``min_count`` times, within the cap ``max_candidates``
   (:mod:`bytepiece.training.candidates`), plus the 256 single bytes. An
   engine may count them in partitions (the cap's choice is the same).
2. **Hard EM.** Re-tokenize every found piece with the candidates (scores
   from counts); the new counts are the tokens' totals; unused candidates go.
3. **Pruning by gain.** The gain of a piece is what the corpus would lose
   without it: its count x (tokens of its best segmentation without it - 1).
   Each round removes the lowest-gain :data:`FRACTION` of the pieces (at
   least :data:`MIN_REMOVED`, never past the target size), then EM again.
4. **Exact size.** Re-estimation drops the pieces no token uses any more,
   so the last round can leave fewer ids than asked; the pieces that round
   removed are given back, highest gain first, and EM runs again, until the
   size is reached (:func:`refill`).

The heavy parts are C: substring counting (``PieceCounter.add_substrings``),
re-tokenizing (a :data:`TokenCounter`, which a training engine spreads over
threads or machines), and the alternative segmentations
(``Segmenter.alternative_lengths``). Every step is deterministic, so the
result does not depend on the engine or the number of threads.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, List, Optional, Sequence

import numpy as np

from ..model import Model, PackedPieces
from .candidates import canonical_rows, count_substrings, substring_candidates
from .pruning import FoundInProcess, initial_vocabulary
from .registry import FoundCounter, FoundPieces, TokenCounter

if TYPE_CHECKING:
    from .options import TrainingOptions

__all__ = ["FoundCounter", "MAX_SUBSTRING", "INITIAL_ROUNDS", "FRACTION", "MIN_REMOVED", "candidate_vocabulary",
           "REFILL_ROUNDS", "reestimate", "gains", "refill", "prune_by_gain", "vocabularies_em", "prune_found", "prune_em"]

#: Longest substring of a found piece that becomes a candidate (bytes).
MAX_SUBSTRING = 8

#: Rounds of hard EM before pruning starts.
INITIAL_ROUNDS = 1

#: Share of the pieces a pruning round removes.
FRACTION = 0.3

#: Most rounds of giving back removed pieces to reach the size asked (each
#: round re-tokenizes the found pieces once; one or two usually suffice).
REFILL_ROUNDS = 8

#: Fewest pieces a pruning round removes: the last rounds, near the target
#: size, would otherwise remove a handful of pieces each.
MIN_REMOVED = 500


def candidate_vocabulary(pieces: PackedPieces, counts: np.ndarray, max_substring: int, min_count: int,
                         max_candidates: Optional[int] = None) -> Model:
    """Step 1: the candidates from the found ``pieces`` (packed, each already
    at most ``max_piece_length`` bytes) and their ``counts``, within the cap
    ``max_candidates`` (None: all), in canonical order."""
    chosen = substring_candidates(count_substrings(pieces, counts, max_substring), min_count, max_candidates)
    return initial_vocabulary(chosen.pieces, chosen.counts)  # adds the single bytes that are missing


def reestimate(vocabulary: Model, counter: FoundCounter, keep_unused: bool = False) -> Model:
    """Step 2, one round of hard EM: the counts become the totals of the found
    pieces tokenized with ``vocabulary``; pieces that no token uses go, except
    the single bytes (kept with count at least 1, so every text stays
    encodable), and except every piece when ``keep_unused`` (count 1)."""
    totals = counter(vocabulary)
    packed = vocabulary.packed()
    if keep_unused:
        return vocabulary.subset(np.arange(len(packed)), np.maximum(totals, 1))
    rows = np.flatnonzero((totals > 0) | (packed.lengths() == 1))
    return vocabulary.subset(rows, np.maximum(totals[rows], 1))


def gains(vocabulary: Model) -> np.ndarray:
    """Step 3's ranking: for each piece, count x (tokens of its best
    segmentation without it - 1); +inf for single bytes, which always stay."""
    packed = vocabulary.packed()
    alternative = vocabulary.segmenter().alternative_lengths(packed.data, packed.offsets).astype(np.float64)
    counts = vocabulary.counts_array().astype(np.float64)
    result = counts * (alternative - 1)
    result[alternative == 0] = np.inf
    return result


def _with_pieces(vocabulary: Model, pieces: PackedPieces, counts: np.ndarray) -> Model:
    """``vocabulary`` with ``pieces`` (none of them in it) added with ``counts``, in canonical order."""
    packed = PackedPieces.concatenate([vocabulary.packed(), pieces])
    all_counts = np.concatenate([vocabulary.counts_array(), np.asarray(counts, dtype=np.uint64)])
    rows = canonical_rows(packed)
    return Model.from_canonical(packed.take(rows), all_counts[rows])


def refill(vocabulary: Model, size: int, removed: PackedPieces, removed_counts: np.ndarray,
           counter: FoundCounter, max_rounds: int = REFILL_ROUNDS) -> Model:
    """Step 4: bring a vocabulary that re-estimation left below ``size`` ids
    (it drops the pieces no token uses any more) back to ``size``: add the
    pieces that pruning removed last, ``removed`` (highest gain first, with
    their counts then), as many as are missing, and re-estimate; again,
    with the next ones, while ids are missing, for at most ``max_rounds``
    rounds; the last of them keeps every piece (one that no token uses gets
    count 1), so the size is reached unless the removed pieces run out. Each
    piece is offered once, so it ends. Returns the vocabulary."""
    offered = 0
    for round_ in range(max_rounds):
        missing = size - vocabulary.vocab_size
        if missing <= 0 or offered >= len(removed):
            break
        rows = np.arange(offered, min(offered + missing, len(removed)))
        offered += len(rows)
        vocabulary = reestimate(_with_pieces(vocabulary, removed.take(rows), removed_counts[rows]), counter,
                                keep_unused=round_ == max_rounds - 1)
    return vocabulary


def prune_by_gain(vocabulary: Model, sizes: Sequence[int], counter: FoundCounter,
                  fraction: float = FRACTION) -> List[Model]:
    """Step 3 (and 4): one vocabulary per size in ``sizes`` (largest first)
    from the re-estimated candidates, each pruned from the previous one and
    refilled to its size where re-estimation left it short (:func:`refill`)."""
    results = []
    for size in sizes:
        removed = PackedPieces(b"", np.zeros(1, dtype=np.int64))
        removed_counts = np.zeros(0, dtype=np.uint64)
        while vocabulary.vocab_size > size:
            excess = vocabulary.vocab_size - size
            count = min(excess, max(MIN_REMOVED, int(fraction * vocabulary.num_pieces)))
            order = np.argsort(gains(vocabulary), kind="stable")
            kept = np.sort(order[count:])
            # The removed pieces, highest gain first: the first to give back.
            gone = order[:count][::-1]
            removed, removed_counts = vocabulary.packed().take(gone), vocabulary.counts_array()[gone]
            # Counted with through the lattices only: its trie is never built.
            smaller = vocabulary.subset(kept, vocabulary.counts_array()[kept])
            vocabulary = reestimate(smaller, counter)
        # Only the pieces this size's last round removed are given back: none
        # of them is in the vocabulary, and they are the ones pruning valued most.
        vocabulary = refill(vocabulary, size, removed, removed_counts, counter)
        results.append(vocabulary)
    return results


def _candidate_vocabulary(found: FoundPieces, min_count: int, max_candidates: Optional[int]) -> Model:
    """Step 1 from the ``found`` pieces, wherever the engine keeps them (the
    chosen candidates are let go on return: the vocabulary holds them)."""
    chosen = found.substrings(MAX_SUBSTRING, min_count, max_candidates)
    return initial_vocabulary(chosen.pieces, chosen.counts)  # adds the single bytes that are missing


def vocabularies_em(found: FoundPieces, sizes: Sequence[int], min_count: int,
                    max_candidates: Optional[int] = None) -> List[Model]:
    """One vocabulary per size in ``sizes`` (largest first) from the
    ``found`` pieces: the candidates within ``max_candidates`` (None: all),
    then hard EM and pruning by gain, re-tokenizing all the found pieces
    wherever the engine keeps them."""
    vocabulary = _candidate_vocabulary(found, min_count, max_candidates)
    for _ in range(INITIAL_ROUNDS):
        vocabulary = reestimate(vocabulary, found.count_found)  # the candidates' vocabulary goes here
    found_ids = vocabulary.vocab_size
    results = prune_by_gain(vocabulary, sizes, found.count_found, FRACTION)
    short = [(size, model.vocab_size) for size, model in zip(sizes, results) if model.vocab_size < size]
    if short:
        given = ", ".join(f"{n} ids for {size}" for size, n in short)
        warnings.warn(f"the corpus gave fewer ids than asked ({given}): its candidate pieces in use make "
                      f"{found_ids} ids in all. Lower min_count (now {min_count}) or train on more text for more",
                      UserWarning, stacklevel=2)
    return results


def prune_found(found: FoundPieces, options: "TrainingOptions") -> List[Model]:
    """The "em" algorithm of the registry: one vocabulary per size of
    ``options.max_vocab_size`` (largest first) from the ``found`` pieces,
    wherever an engine keeps them: the candidates from the kept ones, within
    ``options.max_candidates``, every re-estimation over all of them."""
    return vocabularies_em(found, options.max_vocab_size, options.min_count, options.max_candidates or None)


def prune_em(pieces: PackedPieces, counts: np.ndarray, sizes: Sequence[int], max_piece_length: int,
             min_count: int, counter: TokenCounter, max_candidates: Optional[int] = None) -> List[Model]:
    """The "em" pruning in one process (the counterpart of
    :func:`bytepiece.training.pruning.prune_pieces`): the found ``pieces``
    (packed, any order) with their ``counts`` -> one vocabulary per size in
    ``sizes`` (largest first), the candidates within ``max_candidates``
    (None: all). ``counter`` re-tokenizes (see
    :func:`bytepiece.training.pruning.count_tokens`)."""
    return vocabularies_em(FoundInProcess(pieces, counts, max_piece_length, min_count, counter), sizes, min_count,
                           max_candidates)
