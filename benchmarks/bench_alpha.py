"""What alpha does on real text: average tokens per document for each sampler.

    python benchmarks/bench_alpha.py CORPUS.jsonl MODEL

One sampled segmentation per document (seed 1) for each alpha, with the
exact (perfect) and the approximate (viterbi) sampler, and the best
segmentation (alpha < 0) for reference. Prints a Markdown table.
"""
import argparse

import bytepiece
from common import read_texts, utf8_bytes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("model")
    args = parser.parse_args()
    texts = read_texts(args.corpus)
    size = utf8_bytes(texts)
    tok = bytepiece.Tokenizer(args.model)

    def tokens(**kwargs):
        ids, _ = tok.encode_batch_numpy(texts, seed=1, **kwargs)
        return len(ids)

    print(f"{len(texts)} documents, {size / len(texts):.0f} bytes each on average\n")
    print("| alpha | tokens/doc, perfect | bytes/token, perfect | tokens/doc, viterbi | bytes/token, viterbi |")
    print("|---|---|---|---|---|")
    for alpha in (0.0, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0):
        p, v = tokens(alpha=alpha), tokens(alpha=alpha, sampler="viterbi")
        print(f"| {alpha:g} | {p / len(texts):.1f} | {size / p:.2f} | {v / len(texts):.1f} | {size / v:.2f} |")
    best = tokens()
    print(f"| best (alpha < 0) | {best / len(texts):.1f} | {size / best:.2f} | | |")


if __name__ == "__main__":
    main()
