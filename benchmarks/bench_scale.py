"""Training at scale: local threads vs Ray (one node, three simulated nodes, a memory bound).

    python benchmarks/bench_scale.py CORPUS.jsonl [--modes local,ray1,ray3,ray-bounded]
        [--vocab-size 32000] [--algorithm 0.6.3|em] [--order N] [--min-count N] [--max-candidates N]
        [--max-memory 3G] [--max-ngram-bytes SIZE] [--threads N] [--partitions N]

CORPUS is JSON lines {"text": ...}, e.g. from shared/corpus/build_scale_corpus.py.
Each mode trains in its own process tree, watched every 0.2 s: wall time,
the largest single process's peak resident memory (RSS), the driver's (the
process that calls the trainer; local: the whole run), the largest Ray
worker's, and the peak total proportional memory of the tree (PSS: shared
pages, like Ray's object store, counted once); and the share of the wall
that pruning took. The models of all modes of one min_count must be
byte-identical (a memory bound may raise min_count: the bounded modes, or
--max-ngram-bytes); the script says whether they are, and prints each
mode's n-gram model size and min_count. Every Ray node binds 127.0.0.1 only.
--order and --min-count default to the algorithm's, --max-candidates too
(left out, the trainer is not given it).

Modes: local = Trainer.train on --threads threads; local-bounded = local
with --max-memory (which stops the run, pointing to Ray, when counting would
pass it); ray1 = a one-node Ray of --threads CPUs; ray3 = a
ray.cluster_utils.Cluster of three nodes on this machine (--threads CPUs
split between them, at least one each); ray-bounded = ray1 with
--max-memory. Times exclude starting Ray.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, os, sys, time
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
import bytepiece
from bytepiece.corpus import Corpus
from bytepiece.cli import parse_size
(mode, corpus, out, vocab, order, min_count, threads, max_memory, algorithm, max_candidates, ngram_bytes,
 partitions) = sys.argv[1:13]
partitions = int(partitions) if partitions else None
extra = {"max_candidates": int(max_candidates)} if max_candidates else {}  # older trainers lack the option
if ngram_bytes:
    extra["max_ngram_model_bytes"] = parse_size(ngram_bytes)
trainer = bytepiece.Trainer(order=int(order) if order else None, max_vocab_size=int(vocab),
                            min_count=int(min_count) if min_count else None, algorithm=algorithm, **extra)
start = time.perf_counter()
if mode == "local":
    trainer.train(Corpus([corpus], field="text"), num_threads=int(threads), progress=False)
elif mode == "local-bounded":
    trainer.train(Corpus([corpus], field="text"), num_threads=int(threads), progress=False,
                  max_memory=parse_size(max_memory))
elif mode in ("ray1", "ray-bounded"):
    from bytepiece.training.ray_engine import init_local_ray
    bound = parse_size(max_memory) if mode == "ray-bounded" else None
    init_local_ray(num_cpus=int(threads), object_store_memory=bound // 3 if bound else None)
    start = time.perf_counter()  # the Ray start is not training
    trainer.train_ray([corpus], field="text", max_memory=bound, num_partitions=partitions, progress=False)
else:
    import ray
    from ray.cluster_utils import Cluster
    per_node = max(1, int(threads) // 3) if int(threads) >= 3 else 1
    node = dict(num_cpus=per_node, object_store_memory=1 << 30)
    cluster = Cluster(initialize_head=True, head_node_args=dict(node, include_dashboard=False))
    for _ in range(2):
        cluster.add_node(**node)
    ray.init(address=cluster.address, configure_logging=False, log_to_driver=False)
    start = time.perf_counter()
    trainer.train_ray([corpus], field="text", num_partitions=partitions, progress=False)
    ray.shutdown()
    cluster.shutdown()
seconds = time.perf_counter() - start
trainer.save(out)
stats = {k: v for k, v in trainer.stats.items() if isinstance(v, (int, float, str, dict))}
print(json.dumps({"seconds": seconds, "stats": stats}))
"""


def tree(root):
    """The pids of root and its descendants."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(name))
    out, stack = [root], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def name_of(pid):
    """A short name of a process: its command line's first words (Ray names its workers ray::TASK)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read().split(b"\0")
    except OSError:
        return "?"
    name = words[0].decode(errors="replace")
    if name.endswith("python3") and len(words) > 1:
        name = "driver" if words[1] == b"-c" else os.path.basename(words[1].decode(errors="replace"))
    return os.path.basename(name)[:40]


def memory_of(pid):
    """(RSS, PSS) in bytes of one process (0, 0 when it is gone)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def run(mode, args, out):
    child = subprocess.Popen([sys.executable, "-c", CHILD, mode, args.corpus, out, str(args.vocab_size),
                              str(args.order or ""), str(args.min_count or ""), str(args.threads), args.max_memory,
                              args.algorithm, str(args.max_candidates if args.max_candidates is not None else ""),
                              args.max_ngram_bytes or "", str(args.partitions or "")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_process = peak_total = peak_driver = peak_worker = 0
    peak_name = ""
    while child.poll() is None:
        pids = tree(child.pid)
        sizes = [memory_of(pid) for pid in pids]
        for pid, (rss, _) in zip(pids, sizes):
            name = name_of(pid)
            if rss > peak_process:
                peak_process, peak_name = rss, name
            if pid == child.pid:
                peak_driver = max(peak_driver, rss)
            elif name.startswith("ray::"):  # a Ray worker process (not Ray's own daemons)
                peak_worker = max(peak_worker, rss)
        peak_total = max(peak_total, sum(pss for _, pss in sizes))
        time.sleep(0.2)
    stdout, stderr = child.communicate()
    if child.returncode != 0:
        print(f"{mode}: failed\n{stderr[-3000:]}", file=sys.stderr)
        return None
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(peak_process=peak_process, peak_name=peak_name, peak_total=peak_total, peak_driver=peak_driver,
                  peak_worker=peak_worker)
    with open(out, "rb") as f:
        result["sha256"] = hashlib.sha256(f.read()).hexdigest()[:16]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--modes", default="local,ray1,ray3,ray-bounded")
    parser.add_argument("--vocab-size", type=int, default=32000)
    parser.add_argument("--algorithm", default="0.6.3", help="the training algorithm (default 0.6.3)")
    parser.add_argument("--order", type=int, default=None, help="default: the algorithm's")
    parser.add_argument("--min-count", type=int, default=None, help="default: the algorithm's")
    parser.add_argument("--max-candidates", type=int, default=None, help="default: the algorithm's (0: no cap)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--partitions", type=int, default=None,
                        help="of the Ray modes' n-gram and piece tables (default: the engine's, twice the CPUs, "
                             "at least 16); more partitions, smaller reduce tasks")
    parser.add_argument("--max-memory", default="3G", help="of the bounded modes (default 3G)")
    parser.add_argument("--max-ngram-bytes", metavar="SIZE",
                        help="the n-gram model's budget, in every mode (default: none; the bounded modes take half "
                             "of --max-memory)")
    args = parser.parse_args()
    size = os.path.getsize(args.corpus)
    print(f"corpus {size / 1e6:.1f} MB, algorithm {args.algorithm}, order {args.order or 'default'}, min_count "
          f"{args.min_count or 'default'}, max_candidates {'default' if args.max_candidates is None else args.max_candidates}, "
          f"vocab {args.vocab_size}, partitions {args.partitions or 'default'}, {args.threads} cores")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            result = run(mode, args, os.path.join(tmp, f"{mode}.model"))
            if result is None:
                continue
            results[mode] = result
            stats = result["stats"]
            phases = stats.get("phases", {})
            pruning = phases.get("prune pieces", {}).get("wall", 0.0)
            phase_walls = ", ".join(f"{name} {p['wall']:.1f} s" for name, p in phases.items())
            capped = (f"  candidates {stats['candidates_kept']}/{stats['candidates']}"
                      f"{' (capped)' if stats.get('candidates_capped') else ''}" if "candidates" in stats else "")
            print(f"{mode:12s} {result['seconds']:7.1f} s  {size / result['seconds'] / 1e6 / args.threads:6.2f} "
                  f"MB/s/core  largest process {result['peak_process'] / 1e9:5.2f} GB ({result['peak_name']})  "
                  f"driver {result['peak_driver'] / 1e9:5.2f} GB  largest worker {result['peak_worker'] / 1e9:5.2f} GB  "
                  f"tree {result['peak_total'] / 1e9:5.2f} GB (PSS)  pruning {100 * pruning / result['seconds']:4.1f}% "
                  f"of the wall  model {result['sha256']}{capped}  n-gram model "
                  f"{stats.get('model_bytes', 0) / 1e9:.2f} GB at min_count {stats.get('min_count', '?')}  "
                  f"[{phase_walls}]",
                  flush=True)
    # A memory bound may raise min_count (the bounded modes): the models of one min_count must be identical.
    by_min_count = {}
    for r in results.values():
        by_min_count.setdefault(r["stats"].get("min_count"), set()).add(r["sha256"])
    same = all(len(digests) == 1 for digests in by_min_count.values())
    print(("models identical" if len(by_min_count) <= 1 else "models identical per min_count used") if same
          else f"MODELS DIFFER: {by_min_count}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
