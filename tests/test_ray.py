"""Training on Ray: a 3-node cluster on this machine (loopback only) gives the very
model files that Trainer.train gives, from files and from a ray.data.Dataset, with
workers killed mid-run, and fails clearly on unreadable input."""
import collections
import gzip
import ipaddress
import json
import os
import random
import socket
import string
import subprocess
import sys

import pytest

# Every node binds the loopback address only: Ray reads this once, when it is imported.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ray = pytest.importorskip("ray")

import bytepiece  # noqa: E402
from bytepiece.cli import main  # noqa: E402
from bytepiece.training.budget import least_model_bytes, model_bytes_bound  # noqa: E402
from bytepiece.training.primitives import chunk_batches  # noqa: E402
from bytepiece.training.ray_engine import train_on_ray  # noqa: E402
from bytepiece.training.sources import ReadOptions  # noqa: E402
from conftest import sample_texts  # noqa: E402

OPTION_SETS = [
    dict(order=6, max_vocab_size=[3000, 1000]),
    dict(order=8, max_vocab_size=2000, min_count=3, isolate_digits=True),
    dict(order=4, max_vocab_size=1500, max_piece_length=8, ensure_unicode=False),
    dict(algorithm="em", max_vocab_size=[2500, 900], min_count=2, max_piece_length=12),
]


@pytest.fixture(scope="module")
def texts():
    return sample_texts()


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory, texts):
    """The sample split into a .jsonl, a .jsonl.gz and a large .jsonl (cut into byte ranges)."""
    folder = tmp_path_factory.mktemp("corpus")
    lines = [json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts]
    (folder / "a.jsonl").write_text("".join(lines[:300]), encoding="utf-8")
    with gzip.open(folder / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("".join(lines[300:700]))
    (folder / "c.jsonl").write_text("".join(lines[700:]), encoding="utf-8")
    return folder


def local_models(texts, options):
    trainer = bytepiece.Trainer(**options)
    trainer.train(texts, num_threads=2, progress=False)
    return trainer.models()


@pytest.mark.parametrize("options", OPTION_SETS, ids=["default", "order8-digits", "order4-bytes", "em"])
def test_ray_training_from_files_equals_local_training(cluster, corpus_files, texts, options):
    trainer = bytepiece.Trainer(**options)
    models, stats = train_on_ray(trainer, [str(corpus_files / "*.jsonl*")], options=ReadOptions(field="text"),
                                 num_partitions=5, shard_bytes=20000, progress=False)
    assert stats["shards"] > 3  # c.jsonl was cut into byte ranges
    assert stats["documents"] == len(texts)
    assert models == local_models(texts, options)


def test_ray_training_from_a_dataset_equals_local_training(cluster, texts):
    dataset = ray.data.from_items([{"text": t} for t in texts], override_num_blocks=4)
    trainer = bytepiece.Trainer(order=7, max_vocab_size=[2500, 800], min_count=2)
    trainer.train_ray(dataset, num_partitions=3, progress=False)
    assert trainer.models() == local_models(texts, dict(order=7, max_vocab_size=[2500, 800], min_count=2))


def test_killed_workers_are_retried_and_the_model_is_unchanged(cluster, corpus_files, texts):
    _, crash_dir = cluster
    armed = ["count-ngrams-1", "finish-2", "count-pieces-0"]
    for name in armed:
        (crash_dir / f"{name}.crash").touch()
    trainer = bytepiece.Trainer(max_vocab_size=3000)
    models, _ = train_on_ray(trainer, [str(corpus_files)], options=ReadOptions(field="text"), num_partitions=4,
                             shard_bytes=20000, progress=False)
    assert all((crash_dir / f"{name}.crashed").exists() for name in armed)  # each worker did die once
    assert models == local_models(texts, dict(max_vocab_size=3000))


#: Caps that bind on the sample (5733 kept pieces longer than a byte; 27168 substring candidates).
CAPPED = [
    dict(max_vocab_size=[3000, 1000], max_candidates=3500),
    dict(algorithm="em", max_vocab_size=[2500, 900], min_count=2, max_piece_length=12, max_candidates=5000),
]


def local_trainer(texts, options):
    trainer = bytepiece.Trainer(**options)
    trainer.train(texts, num_threads=2, progress=False)
    return trainer


@pytest.mark.parametrize("options", CAPPED, ids=["0.6.3", "em"])
def test_capped_training_on_ray_equals_local_capped_training(cluster, corpus_files, texts, options):
    models, stats = train_on_ray(bytepiece.Trainer(**options), [str(corpus_files / "*.jsonl*")],
                                 options=ReadOptions(field="text"), num_partitions=5, shard_bytes=20000,
                                 progress=False)
    local = local_trainer(texts, options)
    assert models == local.models()
    assert models != local_models(texts, {**options, "max_candidates": 0})  # the cap did bind
    assert (stats.candidates, stats.candidates_kept, stats.candidates_capped) == \
        (local.stats.candidates, options["max_candidates"], True)
    assert stats.distinct_pieces == local.stats.distinct_pieces


def test_killed_pruning_tasks_are_retried_and_the_capped_models_are_unchanged(cluster, corpus_files, texts):
    _, crash_dir = cluster
    armed = ["kept-candidates-1", "substrings-0", "merge-substrings-2", "count-partition-3"]
    for name in armed:
        (crash_dir / f"{name}.crash").touch()
    for options in CAPPED:
        models, _ = train_on_ray(bytepiece.Trainer(**options), [str(corpus_files)], options=ReadOptions(field="text"),
                                 num_partitions=4, shard_bytes=20000, progress=False)
        assert models == local_models(texts, options)
    assert all((crash_dir / f"{name}.crashed").exists() for name in armed)  # each worker did die once


def test_cli_train_on_a_ray_cluster_writes_the_local_model_file(cluster, corpus_files, tmp_path, capsys):
    head, _ = cluster
    files = [str(corpus_files / name) for name in ("a.jsonl", "b.jsonl.gz", "c.jsonl")]
    on_ray, local = tmp_path / "ray.model", tmp_path / "local.model"
    assert main(["train", "--ray", head.address, "--field", "text", *files, "--vocab-size", "2000",
                 "-o", str(on_ray), "-q"]) == 0
    assert capsys.readouterr().err == ""  # -q: nothing, Ray's own notes included
    assert main(["train", "--field", "text", *files, "--vocab-size", "2000", "-o", str(local), "-q"]) == 0
    assert on_ray.read_bytes() == local.read_bytes()
    # The summary is the same locally and on Ray: the vocabulary size and bytes/token of each model.
    summaries = []
    for ray_flag in ([], ["--ray", head.address]):
        assert main(["train", *ray_flag, "--field", "text", *files, "--vocab-size", "2000", "-o",
                     str(tmp_path / "s.model")]) == 0
        summaries.append(capsys.readouterr().err.splitlines())
    local_line, ray_line = (next(line for line in lines if "bytes/token on the training data" in line)
                            for lines in summaries)
    assert local_line == ray_line and "vocab size 2000" in ray_line
    assert "shards on" in summaries[1][-1] and "evaluation" in summaries[1][-1]


def test_an_unreadable_shard_fails_the_run_naming_the_file(cluster, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"text": "fine"}\n{"text": "broken \xff utf-8"}\n')
    with pytest.raises(ValueError, match="bad.jsonl.*invalid UTF-8"):
        bytepiece.Trainer().train_ray([str(bad)], field="text", progress=False)
    missing_field = tmp_path / "nofield.jsonl"
    missing_field.write_text('{"body": "x"}\n')
    with pytest.raises(ValueError, match="nofield.jsonl.*no field 'text'"):
        bytepiece.Trainer().train_ray([str(missing_field)], field="text", progress=False)
    with pytest.raises(OSError, match="no file matches"):
        bytepiece.Trainer().train_ray([str(tmp_path / "absent*.jsonl")], field="text", progress=False)


_BOUNDED_DRIVER = """
import json, sys, warnings
import ray
import bytepiece
ray.init(address=sys.argv[1], configure_logging=False, log_to_driver=False)
trainer = bytepiece.Trainer(order=8, min_count=1, max_vocab_size=1000)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    trainer.train_ray([sys.argv[2]], max_memory=512 << 20, num_partitions=2, progress=False)
stats = trainer.stats
print(json.dumps([" ".join(str(w.message) for w in caught), stats.min_count, stats.ngram_model_budget,
                  stats.model_bytes]))
"""


def test_a_memory_bound_raises_min_count_or_fails_with_a_reason(cluster, tmp_path):
    rng = random.Random(0)
    noise = tmp_path / "noise.txt"  # nearly every 4..8-gram once: a model of about 0.5 GB at min_count 1
    noise.write_text("\n".join("".join(rng.choice(string.ascii_letters) for _ in range(100)) for _ in range(20000)))
    # The driver checks its own memory against max_memory: a fresh process, not this test run's.
    child = subprocess.run([sys.executable, "-c", _BOUNDED_DRIVER, cluster[0].address, str(noise)],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    warned, min_count, budget, model_bytes = json.loads(child.stdout.splitlines()[-1])
    assert "min_count raised from 1 to 2 so that the finished n-gram model fits in 256.0 MiB" in warned
    assert (min_count, budget) == (2, 256 << 20)  # half of max_memory
    assert model_bytes <= 256 << 20
    with pytest.raises(ValueError, match="at least 512.0 MiB"):
        bytepiece.Trainer().train_ray([str(noise)], max_memory=64 << 20, progress=False)
    with pytest.raises(ValueError, match="more than any node offers Ray"):  # would wait forever
        bytepiece.Trainer().train_ray([str(noise)], max_memory=1 << 50, progress=False)


def _kept(texts, order, min_count):
    """Brute force: the n-grams of 2..order bytes of the training chunks counted min_count times or more."""
    counts = collections.Counter()
    for packed, _ in chunk_batches(texts, False):
        for chunk in packed.pieces():
            for j in range(2, order + 1):
                counts.update(chunk[i:i + j] for i in range(len(chunk) - j + 1))
    return lambda m: sum(1 for c in counts.values() if c >= m)


def test_a_memory_budget_raises_min_count_on_ray_as_the_local_histogram_does(cluster, corpus_files, texts):
    _, crash_dir = cluster
    (crash_dir / "merge-ngrams-1.crash").touch()  # the merge of the two-step reduce is retried too
    kept = _kept(texts, 6, 2)
    budget = least_model_bytes(6) + (model_bytes_bound(6, kept(2)) - least_model_bytes(6)) // 4
    expected = next(m for m in range(2, 1000) if model_bytes_bound(6, kept(m)) <= budget)
    assert expected > 2
    options = dict(order=6, min_count=2, algorithm="em", max_vocab_size=[2500, 900], max_ngram_model_bytes=budget)
    with pytest.warns(UserWarning, match=f"min_count raised from 2 to {expected}"):
        models, stats = train_on_ray(bytepiece.Trainer(**options), [str(corpus_files)],
                                     options=ReadOptions(field="text"), num_partitions=5, shard_bytes=20000,
                                     progress=False)
    assert (crash_dir / "merge-ngrams-1.crashed").exists()
    assert (stats.min_count, stats.ngram_model_budget) == (expected, budget)
    local = bytepiece.Trainer(**options)
    with pytest.warns(UserWarning, match=f"min_count raised from 2 to {expected}"):
        local.train(texts, num_threads=2, progress=False)
    assert local.stats.min_count == expected
    assert models == local.models() == local_models(texts, dict(options, min_count=expected,
                                                                max_ngram_model_bytes=None))
    # A budget that does not bind changes nothing.
    free = dict(options, max_ngram_model_bytes=model_bytes_bound(6, kept(2)))
    models, stats = train_on_ray(bytepiece.Trainer(**free), [str(corpus_files)], options=ReadOptions(field="text"),
                                 num_partitions=5, shard_bytes=20000, progress=False)
    assert stats.min_count == 2
    assert models == local_models(texts, dict(options, max_ngram_model_bytes=None))


def _listening_addresses(pids):
    """(address, port) of every listening TCP socket of the processes ``pids``."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = []
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with open(table) as f:
            for row in f.readlines()[1:]:
                fields = row.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state != "0A" or inode not in inodes:  # 0A: LISTEN
                    continue
                host, port = local.split(":")
                raw = bytes.fromhex(host)
                if family == socket.AF_INET:
                    raw = raw[::-1]
                else:  # four little-endian 32-bit words
                    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                found.append((socket.inet_ntop(family, raw), int(port, 16)))
    return found


def _descendants(root):
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(name))
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        for child in children.get(pid, []):
            out.append(child)
            stack.append(child)
    return out


def test_every_ray_node_listens_on_the_loopback_address_only(cluster):
    addresses = _listening_addresses(_descendants(os.getpid()))
    assert addresses, "no listening socket found for the cluster's processes"
    assert all(_is_loopback(host) for host, _ in addresses), addresses


def _is_loopback(host):
    address = ipaddress.ip_address(host)
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or address).is_loopback


def test_plain_text_and_parquet_files_train_as_locally(cluster, tmp_path, texts):
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = [t.replace("\n", " ") for t in texts]  # one document per line
    (tmp_path / "part1.txt").write_text("\n".join(lines[:800]) + "\n", encoding="utf-8")
    pq.write_table(pa.table({"text": lines[800:]}), tmp_path / "part2.parquet")
    trainer = bytepiece.Trainer(max_vocab_size=2000)
    models, stats = train_on_ray(trainer, [str(tmp_path / "part1.txt"), str(tmp_path / "part2.parquet")],
                                 num_partitions=3, shard_bytes=30000, progress=False)
    assert stats["documents"] == len(lines)
    assert models == local_models(lines, dict(max_vocab_size=2000))


def test_pruning_groups_of_partitions_cover_each_once_and_balance():
    from bytepiece.training.ray_engine import _groups

    rng = random.Random(1)
    for case in range(200):
        sizes = [rng.randrange(0, 1000) if case % 4 else 0 for _ in range(rng.randrange(1, 40))]
        cpus = rng.randrange(1, 50)
        groups = _groups(sizes, cpus)
        assert sorted(i for g in groups for i in g) == list(range(len(sizes)))
        assert len(groups) == min(cpus, len(sizes)) and all(groups)
        loads = [sum(sizes[i] for i in g) for g in groups]
        assert max(loads) - min(loads) <= max(sizes)  # greedy, largest first: within one partition
