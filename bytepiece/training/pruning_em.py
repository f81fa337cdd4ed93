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

The heavy parts are C: substring counting (``PieceCounter.add_substrings``),
re-tokenizing (a :data:`TokenCounter`, which a training engine spreads over
threads or machines), and the alternative segmentations
(``Segmenter.alternative_lengths``). Every step is deterministic, so the
result does not depend on the engine or the number of threads.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence

import numpy as np

from ..model import Model, PackedPieces
from .candidates import count_substrings, substring_candidates
from .pruning import FoundInProcess, initial_vocabulary
from .registry import FoundCounter, FoundPieces, TokenCounter

if TYPE_CHECKING:
    from .options import TrainingOptions

__all__ = ["FoundCounter", "MAX_SUBSTRING", "INITIAL_ROUNDS", "FRACTION", "MIN_REMOVED", "candidate_vocabulary",
           "reestimate", "gains", "prune_by_gain", "vocabularies_em", "prune_found", "prune_em"]

#: Longest substring of a found piece that becomes a candidate (bytes).
MAX_SUBSTRING = 8

#: Rounds of hard EM before pruning starts.
INITIAL_ROUNDS = 1

#: Share of the pieces a pruning round removes.
FRACTION = 0.3

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


def reestimate(vocabulary: Model, counter: FoundCounter) -> Model:
    """Step 2, one round of hard EM: the counts become the totals of the found
    pieces tokenized with ``vocabulary``; pieces that no token uses go, except
    the single bytes (kept with count at least 1, so every text stays encodable)."""
    totals = counter(vocabulary)
    packed = vocabulary.packed()
    rows = np.flatnonzero((totals > 0) | (packed.lengths() == 1))
    return Model.from_canonical(packed.take(rows), np.maximum(totals[rows], 1))


def gains(vocabulary: Model) -> np.ndarray:
    """Step 3's ranking: for each piece, count x (tokens of its best
    segmentation without it - 1); +inf for single bytes, which always stay."""
    packed = vocabulary.packed()
    alternative = vocabulary.segmenter().alternative_lengths(packed.data, packed.offsets).astype(np.float64)
    counts = vocabulary.counts_array().astype(np.float64)
    result = counts * (alternative - 1)
    result[alternative == 0] = np.inf
    return result


def prune_by_gain(vocabulary: Model, sizes: Sequence[int], counter: FoundCounter,
                  fraction: float = FRACTION) -> List[Model]:
    """Step 3: one vocabulary per size in ``sizes`` (largest first) from the
    re-estimated candidates, each pruned from the previous one."""
    results = []
    for size in sizes:
        while vocabulary.vocab_size > size:
            excess = vocabulary.vocab_size - size
            removed = min(excess, max(MIN_REMOVED, int(fraction * len(vocabulary.pieces))))
            order = np.argsort(gains(vocabulary), kind="stable")
            kept = np.sort(order[removed:])
            smaller = Model.from_canonical(vocabulary.packed().take(kept), vocabulary.counts_array()[kept])
            vocabulary = reestimate(smaller, counter)
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
    return prune_by_gain(vocabulary, sizes, found.count_found, FRACTION)


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
