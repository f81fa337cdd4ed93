"""Piece pruning: the pieces the BNLM segmentation found -> vocabularies of the
requested sizes (docs/spec/training.md, steps 4 and 5).

Every vocabulary here is a :class:`Model` in canonical order (ids
NUM_SPECIAL.. by (length, bytes), as 0.6.3 numbers them). Filtering its rows
in increasing order keeps that order, so no step needs to sort again. The
heavy part, re-tokenizing pieces with a candidate vocabulary, is one C call
(``Segmenter.count_tokens``).
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from ._core import NUM_SPECIAL
from .model import Model, pack_pieces

__all__ = ["prune_pieces", "split_counts", "drop_wasted"]


def _in_canonical_order(pieces: Sequence[bytes], counts: np.ndarray) -> Model:
    """The model of pieces that are already in canonical order."""
    return Model(tuple(pieces), tuple(range(NUM_SPECIAL, NUM_SPECIAL + len(pieces))), tuple(counts.tolist()))


def _counts(vocabulary: Model) -> np.ndarray:
    return np.array(vocabulary.counts, dtype=np.uint64)


def split_counts(vocabulary: Model, texts: Sequence[bytes], weights: np.ndarray) -> np.ndarray:
    """How much each piece of ``vocabulary`` (canonical order) receives when
    every text is tokenized with it and adds its weight to each of its
    tokens: a uint64 array parallel to ``vocabulary.pieces``."""
    packed = pack_pieces(texts)
    totals = vocabulary.segmenter().count_tokens(packed.data, packed.offsets, weights.astype(np.uint64),
                                                 vocabulary.vocab_size)
    return totals[NUM_SPECIAL:]


def drop_wasted(vocabulary: Model) -> Model:
    """Re-tokenize every piece with the vocabulary itself and rebuild the counts
    from the results, until no piece disappears: a piece that its own
    vocabulary never outputs is wasted."""
    while True:
        totals = split_counts(vocabulary, vocabulary.pieces, _counts(vocabulary))
        rows = np.flatnonzero(totals)
        if len(rows) == len(vocabulary.pieces):
            return _in_canonical_order(vocabulary.pieces, totals)
        vocabulary = _in_canonical_order([vocabulary.pieces[i] for i in rows], totals[rows])


def _keep(vocabulary: Model, rows: np.ndarray, dropped: np.ndarray) -> Model:
    """The vocabulary of ``rows`` (ascending), with the counts of the ``dropped`` rows redistributed."""
    counts = _counts(vocabulary)
    kept = _in_canonical_order([vocabulary.pieces[i] for i in rows], counts[rows])
    extra = split_counts(kept, [vocabulary.pieces[i] for i in dropped], counts[dropped])
    return drop_wasted(_in_canonical_order(kept.pieces, counts[rows] + extra))


def prune_pieces(pieces: Sequence[bytes], counts: np.ndarray, sizes: Sequence[int], max_piece_length: int,
                 min_count: int) -> List[Model]:
    """One vocabulary per size in ``sizes`` (largest first) from the found
    ``pieces`` and their ``counts`` (any order).

    The 256 single bytes are added (count 1 when unseen); a piece is kept
    if it is one byte, or at most ``max_piece_length`` bytes long and seen at
    least ``min_count`` times; the counts of the others go to the pieces
    they split into. Each smaller size keeps the best-ranked pieces of the
    previous vocabulary, by (longer than a byte, -count, -length, bytes).
    """
    present = {p for p in pieces if len(p) == 1}
    missing = [bytes([b]) for b in range(256) if bytes([b]) not in present]
    everything = Model.canonical(list(pieces) + missing,
                                 np.concatenate([np.asarray(counts, dtype=np.uint64), np.ones(len(missing), np.uint64)]))
    lengths = np.array([len(p) for p in everything.pieces])
    kept = (lengths == 1) | ((lengths <= max_piece_length) & (_counts(everything) >= min_count))
    vocabulary = _keep(everything, np.flatnonzero(kept), np.flatnonzero(~kept))
    results = []
    for size in sizes:  # largest first, each from the previous
        if vocabulary.vocab_size > size:
            counts_now = vocabulary.counts
            ranked = sorted(
                range(len(vocabulary.pieces)),
                key=lambda i: (len(vocabulary.pieces[i]) > 1, -counts_now[i], -len(vocabulary.pieces[i]),
                               vocabulary.pieces[i]),
            )
            top = size - NUM_SPECIAL
            vocabulary = _keep(vocabulary, np.sort(np.array(ranked[:top])), np.array(ranked[top:]))
        results.append(vocabulary)
    return results
