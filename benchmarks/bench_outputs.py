"""`bytepiece encode` to each output format, end to end: text ids vs binary token files; and beside the peers.

    python benchmarks/bench_outputs.py CORPUS.jsonl MODEL [--threads 1,2] [--repeat 3]
        [--train TRAIN.jsonl [--work DIR] [--peers LIB,...] [--vocab-size N] [--no-pin]
         [--json OUT.json] [--dump DIR]]

Runs the command line (a fresh process each time: start, model load, reading
the JSON lines and writing the output all count) with -o FILE.ids (text ids,
the baseline), FILE.bin (Megatron .bin/.idx), FILE.npy (.npy + .offsets.npy)
and jsonl, best of --repeat, and prints MB/s of UTF-8 input and the ratio to
text ids. MB = bytes of the corpus file. The formats run on the largest
of --threads.

--train TRAIN (the corpus MODEL was trained on) adds the peers' table
(benchmarks/peers.py; MB = UTF-8 bytes of the documents' text), at each of
--threads: the CLI end to end (`bytepiece encode -m MODEL --field text
--threads T CORPUS -o x.bin`: start, load, reading, writing and all, in a
process limited to T cores), bytepiece's encode_batch_numpy, and each peer's
batch encoder on T threads (tokenizers' encode_batch_fast, sentencepiece's
encode of a list, fastokens' encode_batch_flat, gigatoken's encode_batch),
each pass timed in a fresh process and after a bytepiece pass
(encode_batch_numpy) on the same threads, ratios the median of the rounds.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import peers
from common import corpus_model_parser, read_texts, utf8_bytes

FORMATS = [("ids", "out.ids", []), ("bin", "out.bin", []), ("npy", "out.npy", []),
           ("jsonl", "out.jsonl", ["--output-format", "jsonl"])]


def cli_rows(args, tmp):
    """extra() for peers.rows_for: the CLI's row (to a .bin) beside encode_batch_numpy."""
    def extra(mode, threads):
        folder = os.path.join(tmp, f"cli-{threads}")
        output = os.path.join(folder, "x.bin")
        row = peers.Row("bytepiece CLI -o x.bin", "bytepiece-cli", "", mode, threads)

        def run():
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
            seconds, cpu = peers.timed_command(
                [sys.executable, "-m", "bytepiece", "encode", "-q", "-m", args.model, "--field", "text",
                 "--threads", str(threads), args.corpus, "-o", output], threads, pin=not args.no_pin)
            with open(output + ".bytepiece.json", encoding="utf-8") as f:
                tokens = json.load(f)["tokens"]
            if row.dump and not row.passes:  # the first pass's token file, for checks: DUMP.bin, DUMP.idx, ...
                for name in os.listdir(folder):
                    shutil.copy(os.path.join(folder, name), row.dump + name[1:])
            return peers.Pass(seconds, cpu, tokens)

        row.runner = run
        return [row]
    return extra


def main():
    parser = corpus_model_parser(__doc__, thread_list=True)
    peers.add_arguments(parser, threads=False)
    args = parser.parse_args()
    try:
        args.threads = peers.parse_threads(args.threads)
    except ValueError as e:
        parser.error(str(e))
    size = os.path.getsize(args.corpus)
    threads = max(args.threads)
    print(f"corpus: {size / 1e6:.2f} MB; {threads} threads; best of {args.repeat}; rounds interleaved")
    best = {name: 0.0 for name, _, _ in FORMATS}
    written = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for name, filename, extra in FORMATS:
                folder = os.path.join(tmp, name)
                os.makedirs(folder, exist_ok=True)
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "bytepiece", "encode", "-q", "-m", args.model, "--field", "text",
                                "--threads", str(threads), *extra, args.corpus,
                                "-o", os.path.join(folder, filename)], check=True)
                best[name] = max(best[name], size / (time.perf_counter() - start) / 1e6)
                written[name] = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    for name, _, _ in FORMATS:
        print(f"encode -o {name:6s} {best[name]:7.1f} MB/s of input  {best[name] / best['ids']:5.2f}x text ids  "
              f"({written[name] / 1e6:.1f} MB written)")
    if args.train:
        import bytepiece

        texts = read_texts(args.corpus)
        vocab_size = args.vocab_size or bytepiece.Tokenizer(args.model).vocab_size
        with tempfile.TemporaryDirectory() as tmp:
            peers.run_table(args, texts, utf8_bytes(texts), vocab_size, ["batch"], extra=cli_rows(args, tmp))
            # The CLI's fixed cost (interpreter, imports, model load), which its figures include.
            one = os.path.join(tmp, "one.jsonl")
            with open(one, "w", encoding="utf-8") as f:
                f.write(json.dumps({"text": texts[0]}, ensure_ascii=False) + "\n")
            for threads in args.threads:
                command = [sys.executable, "-m", "bytepiece", "encode", "-q", "-m", args.model, "--field", "text",
                           "--threads", str(threads), one, "-o", os.path.join(tmp, "one.bin")]
                best = min(peers.timed_command(command, threads, pin=not args.no_pin)[0] for _ in range(args.repeat))
                print(f"CLI on one document, {threads} threads: {best:.3f} s (start-up and model load, "
                      "included in each CLI figure)")


if __name__ == "__main__":
    sys.exit(main())
