"""`bytepiece encode` to each output format, end to end: text ids vs binary token files.

    python benchmarks/bench_outputs.py CORPUS.jsonl MODEL [--threads 2] [--repeat 3]

Runs the command line (a fresh process each time: start, model load, reading
the JSON lines and writing the output all count) with -o FILE.ids (text ids,
the baseline), FILE.bin (Megatron .bin/.idx), FILE.npy (.npy + .offsets.npy)
and jsonl, best of --repeat, and prints MB/s of UTF-8 input and the ratio to
text ids. MB = bytes of the corpus file.
"""
import os
import subprocess
import sys
import tempfile
import time

from common import corpus_model_parser

FORMATS = [("ids", "out.ids", []), ("bin", "out.bin", []), ("npy", "out.npy", []),
           ("jsonl", "out.jsonl", ["--output-format", "jsonl"])]


def main():
    parser = corpus_model_parser(__doc__)
    args = parser.parse_args()
    size = os.path.getsize(args.corpus)
    print(f"corpus: {size / 1e6:.2f} MB; {args.threads} threads; best of {args.repeat}; rounds interleaved")
    best = {name: 0.0 for name, _, _ in FORMATS}
    written = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for name, filename, extra in FORMATS:
                folder = os.path.join(tmp, name)
                os.makedirs(folder, exist_ok=True)
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "bytepiece", "encode", "-q", "-m", args.model, "--field", "text",
                                "--threads", str(args.threads), *extra, args.corpus,
                                "-o", os.path.join(folder, filename)], check=True)
                best[name] = max(best[name], size / (time.perf_counter() - start) / 1e6)
                written[name] = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    for name, _, _ in FORMATS:
        print(f"encode -o {name:6s} {best[name]:7.1f} MB/s of input  {best[name] / best['ids']:5.2f}x text ids  "
              f"({written[name] / 1e6:.1f} MB written)")


if __name__ == "__main__":
    sys.exit(main())
