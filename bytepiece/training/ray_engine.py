"""Training on a Ray cluster: the primitives' map/reduce passes as Ray tasks.

    Trainer(...).train_ray(["corpus/*.jsonl.gz"], field="text")        # files the workers read
    Trainer(...).train_ray(ray.data.read_parquet("s3://bucket/corpus"))  # a Dataset's "text" column

Flow (docs/architecture.md): the driver plans shards (it only lists files, or
takes a Dataset's blocks as object references); pass 1 counts each shard's
n-grams into ``num_partitions`` partitions (one object each); one reduce task
per partition merges and finishes it; pass 2 segments each shard with the
finished model, whose tables every task of a machine reads from the object
store in place; one reduce per piece partition merges the pieces; pruning
spreads its re-tokenizing over tasks. The corpus never passes through the
driver, and no process holds a whole unpruned table. A task whose worker
dies is retried by Ray; every step is deterministic, so retries, shard
boundaries and the number of workers never change the model.

Ray is an optional dependency (``pip install bytepiece[ray]``), imported
only when this module is used.
"""
from __future__ import annotations

import os
import tempfile
import time
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._core import MAX_PARTITIONS
from ..model import Model, PackedPieces
from ..progress import progress_bar
from .options import HasTrainingOptions, TrainingOptions, as_training_options
from .primitives import (
    CountingPlan, PiecePartition, ShardSummary, count_ngrams, count_pieces, finish_ngrams, merge_pieces, ngram_model,
    peak_memory, total_positions,
)
from .pruning import canonical_segmenter, count_tokens_packed
from .registry import get_algorithm
from .sources import FileShard, ReadOptions, expand_paths, plan_shards, read_shard
from .stats import Phase, RayStats, TrainingResult

__all__ = ["train_on_ray", "init_local_ray", "TASK_RETRIES"]

#: How often Ray reruns a task whose worker process died.
TASK_RETRIES = 3
#: Default bytes of file per shard.
SHARD_BYTES = 16 << 20
#: The smallest memory bound per worker process that makes sense.
MIN_MEMORY = 512 << 20
#: Bytes of the first shard whose byte frequencies balance the partitions.
SAMPLE_BYTES = 1 << 20
#: The fault-injection hook of the tests: in this directory, a file NAME.crash makes the
#: task NAME (e.g. count-pieces-1) kill its own worker on its first attempt, so that the
#: tests can check that Ray's retry leaves the model unchanged.
CRASH_ONCE_ENV = "BYTEPIECE_TEST_CRASH_ONCE_DIR"


#: Ray binds every port of a node it starts on the loopback address only when this is 0
#: in the environment before Ray is imported (Ray reads it once, at import).
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _ray() -> Any:
    os.environ.setdefault(LOOPBACK_ENV, "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise ImportError("training on Ray needs Ray: pip install 'bytepiece[ray]'") from None
    return ray


def init_local_ray(num_cpus: Optional[int] = None, object_store_memory: Optional[int] = None,
                   spill_dir: Optional[str] = None) -> None:
    """Start a one-machine Ray bound to the loopback address (no dashboard), with
    objects spilled to ``spill_dir`` (default: a temporary directory) when the
    object store is full."""
    ray = _ray()
    if os.environ.get(LOOPBACK_ENV) != "0":
        raise RuntimeError(f"a local Ray must bind the loopback address only: set {LOOPBACK_ENV}=0 "
                           "in the environment before Ray is imported")
    spill = spill_dir or tempfile.mkdtemp(prefix="bytepiece-spill-")
    ray.init(
        address="local",  # a new Ray, never one that happens to run on this machine
        num_cpus=num_cpus,
        object_store_memory=object_store_memory,
        include_dashboard=False,
        configure_logging=False,
        log_to_driver=False,
        object_spilling_directory=spill,
    )


# -- the tasks (module-level functions, wrapped by ray.remote on first use) ---


def _crash_once(name: str) -> None:
    """The test hook (CRASH_ONCE_ENV): kill this worker the first time task ``name`` runs."""
    folder = os.environ.get(CRASH_ONCE_ENV)
    if not folder or not os.path.exists(os.path.join(folder, name + ".crash")):
        return
    try:
        fd = os.open(os.path.join(folder, name + ".crashed"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return  # the retry
    os.close(fd)
    os._exit(1)


def _documents(shard: Any, options: ReadOptions) -> Any:
    """The texts of a shard: a file shard, or a Dataset block (a pyarrow Table)."""
    if isinstance(shard, FileShard):
        return read_shard(shard, options)
    column = options.field or "text"
    if column not in shard.column_names:
        raise ValueError(f"the dataset has no column {column!r} (it has {shard.column_names})")
    return (text for text in shard.column(column).to_pylist() if _is_text(text, column))


def _is_text(value: Any, column: str) -> bool:
    if not isinstance(value, str):
        raise ValueError(f"column {column!r} holds {type(value).__name__}, not a string")
    return True


def _sample_byte_counts(shard: Any, options: ReadOptions) -> np.ndarray:
    counts = np.zeros(256, dtype=np.uint64)
    seen = 0
    for text in _documents(shard, options):
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        counts += np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256).astype(np.uint64)
        seen += len(data)
        if seen >= SAMPLE_BYTES:
            break
    return counts


def _count_ngrams_task(plan: CountingPlan, shard: Any, options: ReadOptions, index: int,
                       limit: Optional[int]) -> Tuple[Any, ...]:
    _crash_once(f"count-ngrams-{index}")
    summary, parts = count_ngrams(plan, _documents(shard, options), limit)
    return (summary, *parts)


def _finish_task(plan: CountingPlan, index: int, positions: int, min_count: int, limit: Optional[int],
                 *parts: Any) -> Tuple[int, Any]:
    _crash_once(f"finish-{index}")
    finished = finish_ngrams(plan, index, parts, positions, min_count, limit)
    return sum(t.nbytes for t in finished.tables), finished


def _count_pieces_task(plan: CountingPlan, shard: Any, options: ReadOptions, ensure_unicode: bool, index: int,
                       limit: Optional[int], *finished: Any) -> Tuple[Any, ...]:
    _crash_once(f"count-pieces-{index}")
    summary, parts = count_pieces(plan, ngram_model(plan, finished), _documents(shard, options), ensure_unicode,
                                  limit)
    return (summary, *parts)


def _merge_pieces_task(max_piece_length: int, min_count: int, limit: Optional[int],
                       *parts: PiecePartition) -> Tuple[Any, Any, int]:
    kept, dropped = merge_pieces(parts, max_piece_length, min_count, limit)
    return kept, dropped, len(dropped)


def _count_tokens_task(vocabulary: PackedPieces, counts: np.ndarray, pieces: Any, weights: Optional[np.ndarray],
                       start: int, stop: int) -> np.ndarray:
    """Pruning's token totals of pieces[start:stop] (a PiecePartition, or PackedPieces with
    weights) under the canonical vocabulary of packed pieces and counts."""
    if isinstance(pieces, PiecePartition):
        pieces, weights = pieces.packed(), pieces.counts
    assert weights is not None
    segmenter = canonical_segmenter(vocabulary, counts)
    return count_tokens_packed(segmenter, len(vocabulary), pieces.slice(start, stop), weights[start:stop])


class _Tasks:
    """The remote forms of the tasks, made once per driver process."""

    def __init__(self, ray: Any, memory: Optional[int]) -> None:
        # With a bound, each task reserves it: Ray runs no more tasks on a node than its memory holds.
        remote = ray.remote(max_retries=TASK_RETRIES, **({"memory": memory} if memory else {}))
        self.sample = remote(_sample_byte_counts)
        self.count_ngrams = remote(_count_ngrams_task)
        self.finish = remote(_finish_task)
        self.count_pieces = remote(_count_pieces_task)
        self.merge_pieces = remote(_merge_pieces_task)
        self.count_tokens = remote(_count_tokens_task)


def _wait_all(ray: Any, refs: List[Any], name: str, total_bytes: Optional[int], sizes: List[int],
              progress: Optional[bool]) -> None:
    """Wait for ``refs`` (one per shard of ``sizes`` bytes) with a progress line: shards, bytes, ETA."""
    bar = progress_bar(f"{name}, 0/{len(refs)} shards", total=total_bytes, unit="B", enabled=progress)
    pending = {ref: size for ref, size in zip(refs, sizes)}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        for ref in done:
            bar.set_description(f"{name}, {len(refs) - len(pending) + 1}/{len(refs)} shards", refresh=False)
            bar.update(pending.pop(ref))
    bar.close()


def _shards(ray: Any, source: Any, options: ReadOptions, shard_bytes: int) -> Tuple[List[Any], List[int]]:
    """(shards, their sizes in bytes): file shards, or a Dataset's blocks as object references."""
    if isinstance(source, (str, os.PathLike)) or (isinstance(source, (list, tuple)) and
                                                   all(isinstance(p, (str, os.PathLike)) for p in source)):
        patterns = [os.fspath(source)] if isinstance(source, (str, os.PathLike)) else [os.fspath(p) for p in source]
        shards = plan_shards(expand_paths(patterns), shard_bytes, options)
        sizes = [(s.end if s.end is not None else os.path.getsize(s.path)) - s.start for s in shards]
        return shards, sizes
    if hasattr(source, "to_arrow_refs"):
        refs = source.to_arrow_refs()
        sizes = [int(x) for x in ray.get([ray.remote(lambda t: t.nbytes).remote(r) for r in refs])]
        return refs, sizes
    raise TypeError(f"train_ray takes file paths or globs, or a ray.data.Dataset, not {type(source).__name__}")


def _raise_cause(ray: Any, error: Exception) -> None:
    """Re-raise a failed task's own exception (OSError, ValueError, ...) rather than Ray's wrapper."""
    if isinstance(error, ray.exceptions.RayTaskError):
        cause = error.as_instanceof_cause()
        raise cause from None
    raise error


def train_on_ray(training: Union[TrainingOptions, HasTrainingOptions], source: Union[str, Sequence[str], Any], *,
                 options: ReadOptions = ReadOptions(), address: Optional[str] = None,
                 num_partitions: Optional[int] = None, shard_bytes: int = SHARD_BYTES,
                 max_memory: Optional[int] = None, progress: Optional[bool] = None) -> TrainingResult:
    """Train with ``training``'s options (:class:`TrainingOptions`, or a
    Trainer's) on ``source`` on Ray; returns the models and the run's
    :class:`RayStats`.

    ``source``: file paths, globs or directories that every node can read, or
    a ``ray.data.Dataset`` with a text column (``options.field``, default
    ``text``); ``options``: how the files are read. ``address``: the cluster
    to join (None: the one this process is connected to, else a new
    one-machine Ray on the loopback address). ``num_partitions``: of the
    n-gram and piece tables (default twice the CPUs, at least 16).
    ``max_memory``: the most bytes one worker process may hold; shards are cut
    to fit it and the run stops early, saying why, when the finished model
    alone would not fit.
    """
    training_options = as_training_options(training)
    ray = _ray()
    started = False
    if not ray.is_initialized():
        if address is None:
            init_local_ray(object_store_memory=max_memory // 3 if max_memory else None)
        else:
            ray.init(address=address, configure_logging=False, log_to_driver=False)
        started = True
    try:
        return _train(ray, training_options, source, options, num_partitions, shard_bytes, max_memory, progress)
    except Exception as error:  # noqa: BLE001 - re-raised as its cause
        _raise_cause(ray, error)
        raise
    finally:
        if started:
            ray.shutdown()


class _FoundOnRay:
    """The found pieces on a cluster (:class:`FoundPieces`): the kept ones in
    the driver, the dropped ones in the object store, one partition each,
    never fetched; every re-tokenizing runs as tasks over slices of the
    pieces, which read the vocabulary and the pieces from the object store."""

    def __init__(self, ray: Any, tasks: "_Tasks", kept: Sequence[PiecePartition], dropped: List[Any],
                 dropped_sizes: List[int], cpus: int, bar: Any) -> None:
        self.ray = ray
        self.tasks = tasks
        self.pieces, self.counts = PiecePartition.joined(kept)
        self.dropped = dropped
        self.dropped_sizes = dropped_sizes
        self.cpus = cpus
        self.bar = bar
        self._kept_refs: Optional[Tuple[Any, Any]] = None

    def kept(self) -> Tuple[PackedPieces, np.ndarray]:
        """The kept pieces of every partition, joined, and their counts."""
        return self.pieces, self.counts

    def _put(self, vocabulary: Model) -> Tuple[Any, Any]:
        return self.ray.put(vocabulary.packed()), self.ray.put(vocabulary.counts_array())

    def _count_dropped(self, refs: Tuple[Any, Any]) -> List[Any]:
        # The dropped pieces never leave the object store: one task per partition.
        return [self.tasks.count_tokens.remote(*refs, d, None, 0, size)
                for d, size in zip(self.dropped, self.dropped_sizes)]

    def _count_texts(self, texts_ref: Any, weights_ref: Any, num_texts: int, refs: Tuple[Any, Any]) -> List[Any]:
        # Each task gets the vocabulary and the pieces packed (a few buffers in the
        # object store, shared), and tokenizes its own range of the pieces.
        bounds = np.linspace(0, num_texts, self.cpus + 1).astype(np.int64).tolist()
        return [self.tasks.count_tokens.remote(*refs, texts_ref, weights_ref, a, b)
                for a, b in zip(bounds[:-1], bounds[1:]) if b > a]

    def _summed(self, vocabulary: Model, parts: List[Any]) -> np.ndarray:
        return sum(self.ray.get(parts), np.zeros(len(vocabulary.pieces), dtype=np.uint64))

    def count_tokens(self, vocabulary: Model, texts: PackedPieces, weights: np.ndarray) -> np.ndarray:
        """Re-tokenize ``texts`` in tasks (one pass of the progress line)."""
        refs = self._put(vocabulary)
        texts_ref = refs[0] if texts is vocabulary.packed() else self.ray.put(texts)
        weights_ref = self.ray.put(np.asarray(weights, dtype=np.uint64))
        totals = self._summed(vocabulary, self._count_texts(texts_ref, weights_ref, len(texts), refs))
        self.bar.update(1)
        return totals

    def count_dropped(self, vocabulary: Model) -> np.ndarray:
        """The dropped pieces' totals, one task per partition."""
        return self._summed(vocabulary, self._count_dropped(self._put(vocabulary)))

    def count_found(self, vocabulary: Model) -> np.ndarray:
        """Every found piece's totals, kept and dropped in the same round of tasks (one pass of the progress line)."""
        if self._kept_refs is None:  # put once, read by every round
            self._kept_refs = self.ray.put(self.pieces), self.ray.put(self.counts)
        refs = self._put(vocabulary)
        kept_ref, kept_counts_ref = self._kept_refs
        totals = self._summed(vocabulary, self._count_texts(kept_ref, kept_counts_ref, len(self.pieces), refs)
                              + self._count_dropped(refs))
        self.bar.update(1)
        return totals


def _train(ray: Any, training: TrainingOptions, source: Any, options: ReadOptions, num_partitions: Optional[int],
           shard_bytes: int, max_memory: Optional[int], progress: Optional[bool]) -> TrainingResult:
    tasks = _Tasks(ray, max_memory)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    if max_memory is not None:
        if max_memory < MIN_MEMORY:
            raise ValueError(f"max_memory must be at least {MIN_MEMORY >> 20} MB (a worker process alone takes "
                             f"about 200 MB), got {max_memory} bytes")
        shard_bytes = min(shard_bytes, max_memory // 64)  # a shard's tables take up to ~50x its size
        offered = max((n["Resources"].get("memory", 0) for n in ray.nodes() if n.get("Alive")), default=0)
        if offered < max_memory:  # every task reserves max_memory: none could ever be scheduled
            raise ValueError(f"max_memory ({max_memory / 1e9:.2f} GB) is more than any node offers Ray "
                             f"({offered / 1e9:.2f} GB)")
    partitions = num_partitions or min(MAX_PARTITIONS, max(16, 2 * cpus))
    stats = RayStats(num_partitions=partitions, cpus=cpus)
    start = clock = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stats.phases[name] = Phase(wall=now - clock)
        clock = now

    shards, sizes = _shards(ray, source, options, shard_bytes)
    if not shards:
        raise ValueError("the corpus has no text to train on")
    total = sum(sizes)
    stats.shards, stats.input_bytes = len(shards), total
    plan = CountingPlan.balanced(training.order, partitions, ray.get(tasks.sample.remote(shards[0], options)),
                                 training.isolate_digits)
    phase("plan")

    # Pass 1: n-gram counts per shard, partitioned; one reduce per partition.
    counted = [tasks.count_ngrams.options(num_returns=partitions + 1).remote(plan, shard, options, k, max_memory)
               for k, shard in enumerate(shards)]
    _wait_all(ray, [c[0] for c in counted], "Count n-grams", total, sizes, progress)
    summaries: List[ShardSummary] = ray.get([c[0] for c in counted])
    stats.documents = sum(s.documents for s in summaries)
    stats.bytes = sum(s.positions for s in summaries)
    if stats.bytes == 0:
        raise ValueError("the corpus has no text to train on")
    positions = total_positions(summaries)
    phase("count n-grams")
    reduced = [tasks.finish.options(num_returns=2).remote(plan, p, positions, training.min_count, max_memory,
                                                          *[c[p + 1] for c in counted])
               for p in range(partitions)]
    model_bytes = sum(ray.get([r[0] for r in reduced]))
    finished = [r[1] for r in reduced]  # stay in the object store: the driver never holds the n-gram model
    del counted, reduced  # the partial counts can go
    stats.model_bytes = model_bytes
    if max_memory is not None and model_bytes > max_memory // 2:
        raise MemoryError(f"the pruned n-gram model takes {model_bytes / 1e9:.2f} GB, more than half of "
                          f"max_memory ({max_memory / 1e9:.2f} GB) that every segmenting worker needs: "
                          "raise min_count or max_memory")
    phase("merge n-grams")

    # Pass 2: pieces per shard with the shared n-gram model; one reduce per piece partition.
    counted_pieces = [tasks.count_pieces.options(num_returns=plan.num_piece_partitions + 1).remote(
        plan, shard, options, training.ensure_unicode, k, max_memory, *finished) for k, shard in enumerate(shards)]
    _wait_all(ray, [c[0] for c in counted_pieces], "Count pieces", total, sizes, progress)
    piece_summaries: List[ShardSummary] = ray.get([c[0] for c in counted_pieces])
    merged = [tasks.merge_pieces.options(num_returns=3).remote(training.max_piece_length, training.min_count,
                                                               max_memory, *[c[q + 1] for c in counted_pieces])
              for q in range(plan.num_piece_partitions)]
    kept: List[PiecePartition] = ray.get([m[0] for m in merged])
    dropped = [m[1] for m in merged]
    dropped_sizes = [m[2] for m in merged]
    del counted_pieces, finished
    stats.distinct_pieces = sum(len(k) for k in kept)
    phase("count pieces")

    # Pruning: the options' algorithm, its re-tokenizing as tasks over slices of the pieces.
    dropped_sizes = ray.get(dropped_sizes)
    bar = progress_bar("Prune pieces", unit=" passes", enabled=progress)
    found = _FoundOnRay(ray, tasks, kept, dropped, dropped_sizes, cpus, bar)
    models = get_algorithm(training.algorithm).load()(found, training)
    bar.close()
    phase("prune pieces")
    stats.seconds = time.perf_counter() - start
    stats.peak_worker_memory = max(s.peak_memory for s in summaries + piece_summaries)
    stats.peak_driver_memory = peak_memory()
    return TrainingResult(models, stats)
