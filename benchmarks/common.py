"""What the benchmark scripts share: their common arguments, reading a JSON
lines corpus, and the best rate of repeated runs.

The scripts run as ``python benchmarks/NAME.py``, so this folder is on their
import path: ``from common import read_texts, utf8_bytes, best_rate``.
"""
import argparse
import json
import time


def corpus_model_parser(doc):
    """An argument parser described by the first line of ``doc`` (a script's
    docstring) with CORPUS, MODEL, --threads (2) and --repeat (3)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    return parser


def read_texts(path):
    """The ``text`` field of every JSON line of ``path``."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def utf8_bytes(texts):
    """The UTF-8 size of ``texts`` in bytes (what the MB/s figures divide)."""
    return sum(len(t.encode("utf-8")) for t in texts)


def best_rate(fn, size, repeat):
    """The best of ``repeat`` runs of ``fn()``, in MB/s of ``size`` bytes."""
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = max(best, size / (time.perf_counter() - start) / 1e6)
    return best
