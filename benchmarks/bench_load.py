"""Model load time for an 80k-piece model (the size of BytePiece's plus.80k).

    python benchmarks/bench_load.py MODEL [--pieces 80000]

The shipped model has 40k pieces, so this grows it to --pieces with extra
multi-byte pieces (random byte strings of 2..12 bytes, random counts), writes
it as a JSON model file and times Tokenizer(path): read, parse, validate,
compute scores, build the trie.
"""
import argparse
import os
import random
import tempfile
import time

import bytepiece
from bytepiece.formats.native import save_model
from bytepiece.model import model_from_counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--pieces", type=int, default=80000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    base = bytepiece.Tokenizer(args.model).model
    counts = dict(zip(base.pieces, base.counts))
    rng = random.Random(0)
    while len(counts) < args.pieces:
        piece = bytes(rng.randrange(256) for _ in range(rng.randint(2, 12)))
        counts.setdefault(piece, rng.randint(1, 10**6))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.model")
        save_model(model_from_counts(counts), path)
        size = os.path.getsize(path)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            tok = bytepiece.Tokenizer(path)
            times.append(time.perf_counter() - start)
    print(f"{len(counts)} pieces, {size / 1e6:.1f} MB JSON: load {min(times):.3f} s "
          f"(best of {args.repeat}; median {sorted(times)[len(times) // 2]:.3f} s), "
          f"trie {tok.model.segmenter().num_units} units = {tok.model.segmenter().num_units * 24 / 1e6:.2f} MB "
          "(8-byte units, 16-byte piece info)")


if __name__ == "__main__":
    main()
