"""Experiment (issue 10): other ways to choose the pieces, measured against the 0.6.3 pruning.

    python benchmarks/experiment_pruning.py TRAIN.jsonl --eval NAME=PATH.jsonl [...] [--size 8000]
        [--order 8] [--min-count 4] [--method gain|over] [--substring 8] [--fraction 0.2]

Not library code: a record of what was tried, so that the numbers in the
closing notes can be reproduced. Trains on TRAIN with the thread trainer,
keeps its found pieces (before pruning), then prunes them to --size:

- ``gain``: rank each piece by count x (tokens of its best segmentation
  without it - 1), from ``nbest``; remove --fraction of the excess per round,
  redistribute the removed counts, drop wasted pieces.
- ``over``: candidates are also every substring of 2..--substring bytes of
  the found pieces (starting on a character), counted over the piece
  multiset; hard EM over that multiset, then ``gain`` rounds with EM after each.

Prints bytes/token on TRAIN and each --eval corpus for the 0.6.3 pruning and
for the method, and the seconds each took.
"""
import argparse
import collections
import sys
import time

import numpy as np

import bytepiece
from bytepiece.model import Model, pack_pieces
from bytepiece.training import thread_engine
from bytepiece.training.pruning import count_tokens, drop_wasted, initial_vocabulary, keep_mask, with_extra_counts
from common import read_texts, utf8_bytes


def bytes_per_token(model, texts):
    ids, _ = bytepiece.Tokenizer(model).encode_batch_numpy(texts)
    return utf8_bytes(texts) / len(ids)


def gains(vocab):
    tok = bytepiece.Tokenizer(vocab)
    result = np.full(len(vocab.pieces), np.inf)
    for i, piece in enumerate(vocab.pieces):
        if len(piece) > 1:
            alternative = next((a for a in tok.nbest(piece, 3) if len(a) > 1), None)
            result[i] = vocab.counts[i] * ((len(alternative) if alternative else len(piece)) - 1)
    return result


def shrink(vocab, size, fraction, after):
    while vocab.vocab_size > size:
        order = np.argsort(gains(vocab), kind="stable")
        n = min(vocab.vocab_size - size, max(500, int(fraction * (len(vocab.pieces) - 256))))
        removed = set(order[:n].tolist())
        kept = [i for i in range(len(vocab.pieces)) if i not in removed]
        vocab = after(vocab, kept, sorted(removed))
    return vocab


def gain_pruning(pieces, counts, size, min_count, fraction):
    packed = pack_pieces(pieces)
    kept = keep_mask(packed, counts, 36, min_count)
    rows, dropped = np.flatnonzero(kept), np.flatnonzero(~kept)
    vocab = initial_vocabulary(packed.take(rows), counts[rows])
    vocab = drop_wasted(with_extra_counts(vocab, count_tokens(vocab, packed.take(dropped), counts[dropped])))

    def redistribute(vocab, kept, removed):
        counts_of = np.array(vocab.counts, dtype=np.uint64)
        smaller = Model.canonical([vocab.pieces[i] for i in kept], counts_of[kept])
        extra = count_tokens(smaller, vocab.packed().take(removed), counts_of[removed])
        return drop_wasted(with_extra_counts(smaller, extra))

    return shrink(vocab, size, fraction, redistribute)


def over_generation(pieces, counts, size, min_count, fraction, longest):
    rows = [i for i, p in enumerate(pieces) if len(p) <= 36]
    pieces, counts = [pieces[i] for i in rows], counts[rows]
    found = collections.Counter()
    for piece, count in zip(pieces, counts.tolist()):
        for i in range(len(piece)):
            if 0x80 <= piece[i] < 0xC0:
                continue
            for length in range(2, min(longest, len(piece) - i) + 1):
                found[piece[i:i + length]] += count
        if len(piece) > longest:
            found[piece] += count
    candidates = {p: c for p, c in found.items() if c >= min_count}
    for b in range(256):
        candidates.setdefault(bytes([b]), 1)

    packed = pack_pieces(pieces)

    def em(vocab):
        totals = count_tokens(vocab, packed, counts)
        used = [i for i, t in enumerate(totals) if t > 0 or len(vocab.pieces[i]) == 1]
        return Model.canonical([vocab.pieces[i] for i in used], np.maximum(totals[used], 1).astype(np.uint64))

    vocab = em(em(Model.canonical(list(candidates), np.array(list(candidates.values()), dtype=np.uint64))))

    def reestimate(vocab, kept, _removed):
        counts_of = np.array(vocab.counts, dtype=np.uint64)
        return em(Model.canonical([vocab.pieces[i] for i in kept], counts_of[kept]))

    return shrink(vocab, size, fraction, reestimate)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train")
    parser.add_argument("--eval", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--size", type=int, default=8000)
    parser.add_argument("--order", type=int, default=8)
    parser.add_argument("--min-count", type=int, default=4)
    parser.add_argument("--method", choices=("gain", "over"), default="gain")
    parser.add_argument("--substring", type=int, default=8, help="over: longest substring candidate")
    parser.add_argument("--fraction", type=float, default=0.2, help="share of the excess removed per round")
    args = parser.parse_args()
    corpora = {"train": read_texts(args.train)}
    corpora.update((spec.partition("=")[0], read_texts(spec.partition("=")[2])) for spec in args.eval)

    captured = {}
    original = thread_engine.FoundInProcess  # what the thread engine hands the found pieces to pruning in

    def capture(pieces, counts, *rest, **options):
        captured["pieces"], captured["counts"] = pieces.pieces(), np.asarray(counts, dtype=np.uint64)
        return original(pieces, counts, *rest, **options)

    thread_engine.FoundInProcess = capture
    start = time.perf_counter()
    trainer = bytepiece.Trainer(order=args.order, min_count=args.min_count, max_vocab_size=args.size)
    trainer.train(corpora["train"], num_threads=2)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    if args.method == "gain":
        model = gain_pruning(captured["pieces"], captured["counts"], args.size, args.min_count, args.fraction)
    else:
        model = over_generation(captured["pieces"], captured["counts"], args.size, args.min_count, args.fraction,
                                args.substring)
    method_seconds = time.perf_counter() - start
    print("bytes/token: " + ", ".join(corpora))
    print(f"0.6.3 pruning  {' '.join(f'{bytes_per_token(trainer.models()[0], t):.3f}' for t in corpora.values())}"
          f"  (training {seconds:.1f} s)")
    print(f"{args.method:14s} {' '.join(f'{bytes_per_token(model, t):.3f}' for t in corpora.values())}"
          f"  (pruning {method_seconds:.1f} s, vocabulary {model.vocab_size})")


if __name__ == "__main__":
    sys.exit(main())
