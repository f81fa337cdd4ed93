"""One huge line: time grows linearly with its length, memory stays a small multiple.

    python benchmarks/bench_linear.py MODEL [--corpus CORPUS.jsonl] [--mb 10] [--max-mb 100]

Builds a single line (no newline, so one chunk) of --mb MB from CORPUS's
text (or repeated sample text), doubles it up to --max-mb, and for each size
times encode (list out) and encode_batch_numpy, in a fresh process each, and
reports the process's peak RSS above its state before encoding. Doubling the
input should about double the time (the decoder is linear).
"""
import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import bytepiece
tok = bytepiece.Tokenizer(sys.argv[1])
line = open(sys.argv[2], "rb").read().decode("utf-8")
data = line.encode()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
start = time.perf_counter(); ids = tok.encode_batch_numpy([data])[0]; numpy_s = time.perf_counter() - start
peak_numpy = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
del ids
start = time.perf_counter(); ids = tok.encode(line); list_s = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"bytes": len(data), "numpy_s": numpy_s, "list_s": list_s, "tokens": len(ids),
                  "numpy_extra": peak_numpy - base, "list_extra": peak - base}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--corpus")
    parser.add_argument("--mb", type=float, default=10)
    parser.add_argument("--max-mb", type=float, default=100)
    parser.add_argument("--tmp", default="/tmp/bytepiece_bench_line.txt")
    args = parser.parse_args()
    if args.corpus:
        with open(args.corpus, encoding="utf-8") as f:
            seed_text = " ".join(json.loads(line)["text"].replace("\n", " ") for line in f)
    else:
        seed_text = "一行很长的文字 mixed with English words, numbers 12345 and punctuation. " * 1000
    size, previous = args.mb, None
    print(f"{'MB':>6s} {'encode s':>9s} {'numpy s':>8s} {'x prev':>7s} {'tokens':>10s} "
          f"{'RSS+ list':>10s} {'RSS+ numpy':>11s}  (RSS+ as a multiple of the input)")
    while size <= args.max_mb:
        target = int(size * 1e6)
        text = (seed_text * (target // len(seed_text.encode()) + 1)).encode()[:target].decode("utf-8", "ignore")
        with open(args.tmp, "w", encoding="utf-8") as f:
            f.write(text)
        out = subprocess.run([sys.executable, "-c", CHILD, args.model, args.tmp], check=True, capture_output=True,
                             text=True).stdout
        r = json.loads(out)
        ratio = f"{r['list_s'] / previous:6.2f}x" if previous else "      -"
        print(f"{r['bytes'] / 1e6:6.1f} {r['list_s']:9.2f} {r['numpy_s']:8.2f} {ratio} {r['tokens']:10d} "
              f"{r['list_extra'] / r['bytes']:9.1f}x {r['numpy_extra'] / r['bytes']:10.1f}x")
        previous = r["list_s"]
        size *= 2


if __name__ == "__main__":
    main()
