"""Batch encoding and the sample/encode commands: throughput and thread scaling.

    python benchmarks/bench_batch.py CORPUS.jsonl MODEL [--threads 2] [--compare-spm NAME=SP.model ...]

encode_batch (lists) and encode_batch_numpy (flat arrays) with 1 and N
threads over every document of CORPUS (best of --repeat runs each, the
model loaded beforehand), a plain loop of encode as the baseline, then
`bytepiece encode` and `bytepiece sample --n 4 --alpha 0.1` end to end
(process start and model load included). MB = UTF-8 input bytes.
--compare-spm times a SentencePiece model's batch ``encode`` (its own
threads, ``num_threads``) on the same texts in the same run, beside
encode_batch (the sentencepiece package must be importable; train it
lossless on the same corpus as MODEL, see bench_tokenize.py).
"""
import os
import subprocess
import sys
import tempfile
import time

import bytepiece
from common import best_rate, corpus_model_parser, read_texts, utf8_bytes


def main():
    parser = corpus_model_parser(__doc__)
    parser.add_argument("--compare-spm", metavar="NAME=PATH", action="append", default=[],
                        help="a SentencePiece model to time beside encode_batch (repeatable)")
    args = parser.parse_args()
    texts = read_texts(args.corpus)
    size = utf8_bytes(texts)
    tok = bytepiece.Tokenizer(args.model)
    print(f"corpus: {len(texts)} documents, {size / 1e6:.2f} MB; best of {args.repeat}")

    loop = best_rate(lambda: [tok.encode(t) for t in texts], size, args.repeat)
    print(f"{'loop of encode':36s} {loop:7.1f} MB/s")
    ours = {}  # name -> (1 thread, --threads) MB/s
    for name, fn in [("encode_batch (lists)", tok.encode_batch), ("encode_batch_numpy", tok.encode_batch_numpy)]:
        one = best_rate(lambda f=fn: f(texts, num_threads=1), size, args.repeat)
        many = best_rate(lambda f=fn: f(texts, num_threads=args.threads), size, args.repeat)
        ours[name] = (one, many)
        print(f"{name + ', 1 thread':36s} {one:7.1f} MB/s")
        print(f"{name + f', {args.threads} threads':36s} {many:7.1f} MB/s  -> {many / one:.2f}x")
    for spec in args.compare_spm:
        import sentencepiece as spm  # a peer, never a dependency

        name, _, path = spec.partition("=")
        sp = spm.SentencePieceProcessor(model_file=path)
        for threads, mine in zip([1, args.threads], ours["encode_batch (lists)"]):
            theirs = best_rate(lambda n=threads: sp.encode(texts, num_threads=n), size, args.repeat)
            label = f"SentencePiece {name}, {threads} thread{'s' if threads > 1 else ''}"
            print(f"{label:36s} {theirs:7.1f} MB/s  -> encode_batch is {mine / theirs:.1f}x")
    sampled = best_rate(lambda: tok.encode_batch(texts, alpha=0.1, seed=1, num_threads=args.threads), size, args.repeat)
    print(f"{f'encode_batch alpha 0.1, {args.threads} threads':36s} {sampled:7.1f} MB/s")

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        for label, command in [
            ("bytepiece encode (CLI)", ["encode"]),
            ("bytepiece sample --n 4 (CLI)", ["sample", "--n", "4", "--alpha", "0.1", "--seed", "1"]),
        ]:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bytepiece", *command, "-q", "-m", args.model, "--field", "text",
                            "--threads", str(args.threads), args.corpus, "-o", out], check=True)
            seconds = time.perf_counter() - start
            print(f"{label:36s} {size / seconds / 1e6:7.1f} MB/s of input, {len(texts) / seconds:8.0f} docs/s "
                  f"({seconds:.2f} s, {os.path.getsize(out) / 1e6:.0f} MB written)")


if __name__ == "__main__":
    sys.exit(main())
