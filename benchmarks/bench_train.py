"""Training benchmark: wall, CPU and peak memory per phase (whole process tree).

    python benchmarks/bench_train.py CORPUS.jsonl [--threads 2] [--algorithm em] [--vocab-size 10000]
        [--compare-063 PYTHON] [--compare-spm PYTHON]

Trains order 6, min_count 2, vocabulary 32000 (the issue's settings; with
--algorithm em, that algorithm's own order and min_count, as `bytepiece
train` does) on
CORPUS (JSON lines {"text": ...}), then reports the compression of the model
on that corpus (UTF-8 bytes per token). Memory is the resident set of this
process and its children, sampled every 10 ms. --compare-063 and
--compare-spm name interpreters with BytePiece 0.6.3 / sentencepiece
installed (a throwaway venv) and train them on the same corpus in the same
run, so the ratios are like for like.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

import bytepiece
from bytepiece import Trainer
from common import read_texts, utf8_bytes


def tree_rss(pid):
    """Resident bytes of pid and all its descendants (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


class MemorySampler(threading.Thread):
    """Samples tree_rss(pid) every 10 ms; samples are (perf_counter, bytes)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.samples, self.running = pid, [], True

    def run(self):
        while self.running:
            self.samples.append((time.perf_counter(), tree_rss(self.pid)))
            time.sleep(0.01)

    def peak(self, start=float("-inf"), end=float("inf")):
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)

    def stop(self):
        self.running = False
        self.join()


TRAIN_063 = r"""
import json, sys, time, resource
from bytepiece import Trainer
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
trainer = Trainer(order=6, max_vocab_size=32000, min_count=2)
trainer.train(texts, workers=int(sys.argv[3]))
trainer.save(sys.argv[2])
"""

TRAIN_SPM = r"""
import json, sys, sentencepiece as spm
path = sys.argv[2] + ".txt"
with open(path, "w", encoding="utf-8") as f:
    for line in open(sys.argv[1], encoding="utf-8"):
        f.write(json.loads(line)["text"].replace("\n", " ") + "\n")
spm.SentencePieceTrainer.train(input=path, model_prefix=sys.argv[2], vocab_size=int(sys.argv[5]),
    model_type=sys.argv[4], byte_fallback=True, character_coverage=0.9995, num_threads=int(sys.argv[3]),
    minloglevel=2, max_sentence_length=1 << 20, train_extremely_large_corpus=False,
    normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=False)  # lossless
"""


def run_baseline(name, python, script, corpus, workers, *extra):
    """(wall s, CPU s of the child tree, peak tree RSS bytes) of one baseline run, or None."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "model")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        child = subprocess.Popen([python, "-c", script, os.path.abspath(corpus), out, str(workers), *extra],
                                 cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        sampler = MemorySampler(child.pid)
        sampler.start()
        _, err = child.communicate()
        wall = time.perf_counter() - start
        sampler.stop()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if child.returncode != 0:
            print(f"{name}: failed: {err.decode()[-500:]}")
            return None
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return wall, cpu, sampler.peak()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=32000)
    parser.add_argument("--algorithm", default="0.6.3", help="0.6.3 (order 6, min_count 2) or em (its defaults)")
    parser.add_argument("--compare-063", metavar="PYTHON")
    parser.add_argument("--compare-spm", metavar="PYTHON")
    args = parser.parse_args()

    texts = read_texts(args.corpus)
    total = utf8_bytes(texts)
    print(f"corpus: {len(texts)} documents, {total / 1e6:.2f} MB; algorithm {args.algorithm}, "
          f"vocab {args.vocab_size}, {args.threads} threads")

    sampler = MemorySampler(os.getpid())
    sampler.start()
    baseline_rss = tree_rss(os.getpid())
    if args.algorithm == "0.6.3":
        trainer = Trainer(order=6, max_vocab_size=args.vocab_size, min_count=2)
    else:
        trainer = Trainer(max_vocab_size=args.vocab_size, algorithm=args.algorithm)
    start, cpu = time.perf_counter(), time.process_time()
    trainer.train(texts, num_threads=args.threads, progress=False)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    sampler.stop()
    print(f"{'phase':16s} {'wall s':>8s} {'CPU s':>8s} {'peak RSS MB':>12s}")
    for name, phase in trainer.stats["phases"].items():
        peak = sampler.peak(phase["start"], phase["end"])
        print(f"{name:16s} {phase['wall']:8.2f} {phase['cpu']:8.2f} {peak / 1e6:12.0f}")
    peak = sampler.peak()
    print(f"{'total':16s} {wall:8.2f} {cpu:8.2f} {peak / 1e6:12.0f}  "
          f"(process before training: {baseline_rss / 1e6:.0f} MB, corpus list included)")
    with tempfile.TemporaryDirectory() as tmp:
        (path,) = trainer.save(os.path.join(tmp, "m.model"))
        tok = bytepiece.Tokenizer(path)
    tokens = sum(len(tok.encode(t)) for t in texts)
    print(f"model: vocab {tok.vocab_size}, {total / tokens:.4f} bytes/token on the corpus")

    if args.compare_063:
        result = run_baseline("0.6.3", args.compare_063, TRAIN_063, args.corpus, args.threads)
        if result:
            w, c, rss = result
            print(f"BytePiece 0.6.3: {w:.1f} s wall, {c:.1f} s CPU, peak {rss / 1e6:.0f} MB (tree, sampled) "
                  f"-> bytepiece is {w / wall:.1f}x faster (wall), {rss / peak:.1f}x less memory")
    if args.compare_spm:
        for kind in ("bpe", "unigram"):
            result = run_baseline(f"spm {kind}", args.compare_spm, TRAIN_SPM, args.corpus, args.threads, kind,
                                  str(args.vocab_size))
            if result:
                w, c, rss = result
                print(f"SentencePiece {kind}: {w:.1f} s wall, {c:.1f} s CPU, peak {rss / 1e6:.0f} MB "
                      f"-> its time / ours = {w / wall:.2f}")


if __name__ == "__main__":
    sys.exit(main())
