"""A direct, slow Python transcription of docs/spec/training.md (the trainer).

Written from the design text, step by step, with plain dicts, numpy's log and
a numpy Viterbi as BytePiece 0.6.3 wrote it; the tests compare the C trainer's
every intermediate result with it.
"""
from collections import Counter

import numpy as np

from reference import ReferenceDecoder
from bytepiece.model import model_from_counts


def count_ngrams(chunks, order):
    """Step 1: counts of every n-gram of length 0..order inside a chunk."""
    counts = [Counter() for _ in range(order + 1)]
    for chunk in chunks:
        for i in range(len(chunk)):
            for j in range(order + 1):
                if i + j <= len(chunk):
                    counts[j][chunk[i:i + j]] += 1
    return counts


def ngram_logprobs(counts, min_count):
    """Steps 1-2: add missing bytes, prune, conditional log-probabilities."""
    counts = [Counter(c) for c in counts]
    for b in range(256):
        if counts[1][bytes([b])] == 0:
            counts[1][bytes([b])] = 1
            counts[0][b""] += 1
    kept = [{k: v for k, v in c.items() if v > 0 and (len(k) <= 1 or v >= min_count)} for c in counts]
    # np.log of each count, as 0.6.3 took it (on some machines it differs from math.log by an ulp).
    return {k: float(np.log(v) - np.log(kept[len(k) - 1][k[:-1]])) for c in kept[1:] for k, v in c.items()}


def segment(chunk, logprob, order, ensure_unicode):
    """Step 3: the state Viterbi, numpy argmax tie-breaking, as 0.6.3 computed it."""
    n = len(chunk)
    nodes = np.full((n, order), -np.inf)
    for j in range(order):
        for i in range(j, n):
            nodes[i, j] = logprob.get(chunk[i - j:i + 1], -np.inf)
    if ensure_unicode:
        arr = np.frombuffer(chunk, dtype=np.uint8)
        nodes[(arr >= 128) & (arr < 192), 0] = -np.inf
    trans = np.full((order, order), -np.inf)
    for i in range(order):
        trans[i, 0] = 0
        trans[i, min(i + 1, order - 1)] = 0
    routes = np.zeros((max(n - 1, 0), order), dtype=int)
    for i in range(1, n):
        scores = nodes[i - 1][:, None] + trans + nodes[i]
        routes[i - 1] = scores.argmax(0)
        nodes[i] = scores.max(0)
    route = [nodes[-1].argmax()]
    for i in range(1, n):
        route.append(routes[-i][route[-1]])
    route = route[::-1]
    starts = [i for i, state in enumerate(route) if state == 0] + [n]
    return [chunk[s:e] for s, e in zip(starts, starts[1:])]


def split(keep, drop):
    """Tokenize each dropped piece with a tokenizer of the kept ones; sum counts."""
    model = model_from_counts(keep)
    decoder = ReferenceDecoder(model.pieces, model.scores(), model.ids)
    piece_of = dict(zip(model.ids, model.pieces))
    counter = Counter()
    for piece, count in drop:
        for token_id in decoder.encode(piece):
            counter[piece_of[token_id]] += count
    return counter


def drop_wasted(keep):
    while True:
        size = len(keep)
        keep = dict(split(keep, list(keep.items())))
        if len(keep) == size:
            return keep


def prune_pieces(pieces, max_piece_length, min_count, sizes, max_candidates=None):
    """Steps 4-5, the kept pieces longer than a byte cut to the first max_candidates (§9)."""
    pieces = dict(pieces)
    for b in range(256):
        pieces.setdefault(bytes([b]), 1)
    keep = {k: v for k, v in pieces.items() if len(k) == 1 or (len(k) <= max_piece_length and v >= min_count)}
    if max_candidates:
        ranked = sorted((k for k in keep if len(k) > 1), key=lambda k: (-keep[k], -len(k), k))
        keep = {k: v for k, v in keep.items() if len(k) == 1 or k in set(ranked[:max_candidates])}
    drop = [(k, v) for k, v in pieces.items() if k not in keep]
    for k, v in split(keep, drop).items():
        keep[k] += v
    keep = drop_wasted(keep)
    results = []
    for size in sorted(sizes, reverse=True):
        if len(keep) > size - 3:
            ranked = sorted(keep.items(), key=lambda t: (len(t[0]) > 1, -t[1], -len(t[0]), t[0]))
            keep = dict(ranked[:size - 3])
            for k, v in split(keep, ranked[size - 3:]).items():
                keep[k] += v
            keep = drop_wasted(keep)
        results.append(dict(keep))
    return results
