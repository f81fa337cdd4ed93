"""Encoding on Ray against encoding on one machine, on the same cores, alternating.

    python benchmarks/bench_ray_encode.py MODEL CORPUS.jsonl [CORPUS.jsonl ...] --cpus 2 --rounds 3

For each corpus and each round: ``bytepiece encode --threads CPUS`` (the command
line, in this process) and ``encode_on_ray`` on a one-machine Ray of CPUS CPUs
started once (its start-up is printed apart), then the same two with sampling
(``--alpha 0.1 --seed 1``). Each run's wall time includes loading the model and
writing the files; every Ray run's shards, joined, are checked to be the local
file byte for byte. Prints MB/s of input per run, the median per mode, the
median of each round's Ray/local ratio (the two runs of a round are back to
back: on a shared machine the ratio is steadier than either rate), the Ray
runs' throughput per worker (MB per second of the worker's task time), and the
load average before and after.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

from bytepiece.cli import main as cli
from bytepiece.outputs.ray_encode import encode_on_ray
from bytepiece.outputs.token_files import read_token_manifest
from bytepiece.training.ray_engine import init_local_ray


def _local(args, corpus, out, sampling):
    extra = ["--alpha", "0.1", "--seed", "1"] if sampling else []
    start = time.perf_counter()
    assert cli(["encode", "-q", "-m", args.model, "--field", args.field, "--threads", str(args.cpus), *extra, corpus,
                "-o", out]) == 0
    return time.perf_counter() - start


def _on_ray(args, corpus, out, sampling):
    extra = dict(alpha=0.1, seed=1) if sampling else {}
    start = time.perf_counter()
    result = encode_on_ray(args.model, [corpus], out, field=args.field, progress=False, **extra)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("corpora", nargs="+")
    parser.add_argument("--field", default="text")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    init_local_ray(num_cpus=args.cpus)
    print(f"Ray start-up: {time.perf_counter() - start:.1f} s ({args.cpus} CPUs)", file=sys.stderr)
    folder = tempfile.mkdtemp(prefix="bench-ray-encode-")
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print("| corpus | mode | MB/s per run | median MB/s | Ray/local, median of rounds | Ray: per worker MB/s "
          "(median of runs) | shards |")
    print("|---|---|---|---|---|---|---|")
    for corpus in args.corpora:
        size = os.path.getsize(corpus)
        for sampling in (False, True):
            local_rates, ray_rates, worker_rates, shards = [], [], [], 0
            for _ in range(args.rounds):
                local_out, ray_out = os.path.join(folder, "local.bin"), os.path.join(folder, "ray.bin")
                local_rates.append(size / 1e6 / _local(args, corpus, local_out, sampling))
                seconds, result = _on_ray(args, corpus, ray_out, sampling)
                ray_rates.append(size / 1e6 / seconds)
                worker_rates.append(statistics.median(w.mb_per_s for w in result.workers))
                shards = result.shards
                joined = b"".join(open(s.path, "rb").read() for s in read_token_manifest(result.manifest.path).shards)
                assert joined == open(local_out, "rb").read(), "the shards differ from the local file"
            what = "sample (alpha 0.1)" if sampling else "encode"
            name = os.path.basename(corpus)
            ratio = statistics.median(r / q for r, q in zip(ray_rates, local_rates))
            print(f"| {name} | local {what}, {args.cpus} threads | {', '.join(f'{r:.1f}' for r in local_rates)} | "
                  f"{statistics.median(local_rates):.1f} | | | |")
            print(f"| {name} | Ray {what}, {args.cpus} CPUs | {', '.join(f'{r:.1f}' for r in ray_rates)} | "
                  f"{statistics.median(ray_rates):.1f} | {ratio:.2f} | {statistics.median(worker_rates):.1f} | "
                  f"{shards} |")
            sys.stdout.flush()
    print(f"load average after: {os.getloadavg()[0]:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main()
