"""Piece pruning: the pieces the BNLM segmentation found -> vocabularies of the
requested sizes (docs/spec/training.md, steps 4 and 5).

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

from typing import Any, Callable, List, Sequence

import numpy as np

from . import _core
from ._core import NUM_SPECIAL
from .model import Model, PackedPieces, byte_lengths, pack_pieces, piece_scores

__all__ = [
    "with_progress", "in_canonical_order",
    "TokenCounter", "canonical_segmenter", "count_tokens_packed", "count_tokens", "keep_mask", "initial_vocabulary",
    "with_extra_counts", "drop_wasted", "vocabularies", "prune_pieces",
]

#: ``counter(vocabulary, pieces, weights)``: a uint64 array parallel to
#: ``vocabulary.pieces``, the sum of ``weights[k]`` over the tokens of
#: ``pieces[k]`` tokenized with the vocabulary.
TokenCounter = Callable[[Model, Sequence[bytes], np.ndarray], np.ndarray]


def in_canonical_order(pieces: Sequence[bytes], counts: np.ndarray) -> Model:
    """The model of pieces that are already in canonical order (e.g. rows of
    a canonical vocabulary in increasing order), without sorting them again."""
    return Model(tuple(pieces), tuple(range(NUM_SPECIAL, NUM_SPECIAL + len(pieces))), tuple(counts.tolist()))


def _counts(vocabulary: Model) -> np.ndarray:
    return np.array(vocabulary.counts, dtype=np.uint64)


def canonical_segmenter(pieces: PackedPieces, counts: np.ndarray) -> "_core.Segmenter":
    """The C segmenter of a vocabulary in canonical order, straight from its
    packed pieces and counts: no Python object per piece (what a pruning
    worker holding millions of pieces needs)."""
    ids = np.arange(NUM_SPECIAL, NUM_SPECIAL + len(pieces), dtype=np.int32)
    return _core.Segmenter(pieces.data, pieces.offsets, piece_scores(np.asarray(counts, dtype=np.int64)), ids)


def count_tokens_packed(segmenter: "_core.Segmenter", num_pieces: int, texts: PackedPieces,
                        weights: np.ndarray) -> np.ndarray:
    """:func:`count_tokens` with the vocabulary's segmenter (of ``num_pieces``
    pieces in canonical order) and the texts packed."""
    totals = segmenter.count_tokens(texts.data, texts.offsets, np.asarray(weights, dtype=np.uint64),
                                    num_pieces + NUM_SPECIAL)
    return totals[NUM_SPECIAL:]


def count_tokens(vocabulary: Model, pieces: Sequence[bytes], weights: np.ndarray) -> np.ndarray:
    """The :data:`TokenCounter` of one thread (one C call)."""
    return count_tokens_packed(vocabulary.segmenter(), len(vocabulary.pieces), pack_pieces(pieces), weights)


def with_progress(counter: TokenCounter, bar: Any) -> TokenCounter:
    """``counter`` that moves a progress ``bar`` on by one after each call: a
    call re-tokenizes a set of pieces, the unit of pruning's work, whose
    number of rounds is not known in advance."""
    def counting(vocabulary: Model, pieces: Sequence[bytes], weights: np.ndarray) -> np.ndarray:
        totals = counter(vocabulary, pieces, weights)
        bar.update(1)
        return totals
    return counting


def keep_mask(pieces: Sequence[bytes], counts: np.ndarray, max_piece_length: int, min_count: int) -> np.ndarray:
    """Which found pieces stay: every single byte, and the pieces of at most
    ``max_piece_length`` bytes seen at least ``min_count`` times."""
    lengths = byte_lengths(pieces)
    return (lengths == 1) | ((lengths <= max_piece_length) & (np.asarray(counts) >= min_count))


def initial_vocabulary(pieces: Sequence[bytes], counts: np.ndarray) -> Model:
    """The vocabulary of the kept ``pieces`` (canonical order), with each
    single byte that is not among them added with count 1."""
    present = {p for p in pieces if len(p) == 1}
    missing = [bytes([b]) for b in range(256) if bytes([b]) not in present]
    return Model.canonical(list(pieces) + missing,
                           np.concatenate([np.asarray(counts, dtype=np.uint64), np.ones(len(missing), np.uint64)]))


def with_extra_counts(vocabulary: Model, extra: np.ndarray) -> Model:
    """``vocabulary`` (canonical order) with ``extra`` added to its counts: the
    counts of dropped pieces redistributed to the pieces they split into."""
    return in_canonical_order(vocabulary.pieces, _counts(vocabulary) + extra)


def drop_wasted(vocabulary: Model, counter: TokenCounter = count_tokens) -> Model:
    """Re-tokenize every piece with the vocabulary itself and rebuild the counts
    from the results, until no piece disappears: a piece that its own
    vocabulary never outputs is wasted."""
    while True:
        totals = counter(vocabulary, vocabulary.pieces, _counts(vocabulary))
        rows = np.flatnonzero(totals)
        if len(rows) == len(vocabulary.pieces):
            return in_canonical_order(vocabulary.pieces, totals)
        vocabulary = in_canonical_order([vocabulary.pieces[i] for i in rows], totals[rows])


def vocabularies(vocabulary: Model, sizes: Sequence[int], counter: TokenCounter = count_tokens) -> List[Model]:
    """One vocabulary per size in ``sizes`` (largest first) from ``vocabulary``
    (the kept pieces with their redistributed counts): each smaller one keeps
    the best-ranked pieces of the previous, by (longer than a byte, -count,
    -length, bytes), and the counts of the others go to the pieces they split into."""
    vocabulary = drop_wasted(vocabulary, counter)
    results = []
    for size in sizes:
        if vocabulary.vocab_size > size:
            counts = _counts(vocabulary)
            pieces = vocabulary.pieces
            lengths = np.diff(vocabulary.packed().offsets)
            # Ranked by (longer than a byte, -count, -length, bytes); in
            # canonical order the index orders pieces of one length by bytes.
            ranked = np.lexsort((np.arange(len(pieces)), -lengths, np.iinfo(np.uint64).max - counts, lengths > 1))
            top = np.sort(ranked[:size - NUM_SPECIAL]).tolist()
            rest = ranked[size - NUM_SPECIAL:].tolist()
            kept = in_canonical_order([pieces[i] for i in top], counts[top])
            extra = counter(kept, [pieces[i] for i in rest], counts[rest])
            vocabulary = drop_wasted(with_extra_counts(kept, extra), counter)
        results.append(vocabulary)
    return results


def prune_pieces(pieces: Sequence[bytes], counts: np.ndarray, sizes: Sequence[int], max_piece_length: int,
                 min_count: int, counter: TokenCounter = count_tokens) -> List[Model]:
    """One vocabulary per size in ``sizes`` (largest first) from the found
    ``pieces`` and their ``counts`` (any order): :func:`keep_mask`, then
    :func:`initial_vocabulary` with the counts of the dropped pieces added to
    the pieces they split into, then :func:`vocabularies`."""
    counts = np.asarray(counts, dtype=np.uint64)
    kept = keep_mask(pieces, counts, max_piece_length, min_count)
    rows, dropped = np.flatnonzero(kept).tolist(), np.flatnonzero(~kept).tolist()
    vocabulary = initial_vocabulary([pieces[i] for i in rows], counts[rows])
    extra = counter(vocabulary, [pieces[i] for i in dropped], counts[dropped])
    return vocabularies(with_extra_counts(vocabulary, extra), sizes, counter)
