"""Training on a Ray cluster: the primitives' map/reduce passes as Ray tasks.

    Trainer(...).train_ray(["corpus/*.jsonl.gz"], field="text")        # files the workers read
    Trainer(...).train_ray(ray.data.read_parquet("s3://bucket/corpus"))  # a Dataset's "text" column

Flow (docs/architecture.md): the driver plans shards (it only lists files, or
takes a Dataset's blocks as object references); pass 1 counts each shard's
n-grams into ``num_partitions`` partitions (one object each); one reduce task
per partition merges and finishes it; pass 2 segments each shard with the
finished model, whose tables every task of a machine reads from the object
store in place; one reduce per piece partition merges the pieces, which stay
in the object store; pruning's candidates are counted and capped per
partition in tasks (docs/spec/training.md §9), and its re-tokenizing runs as
tasks, one per piece partition. The corpus never passes through the driver,
no process holds a whole unpruned table, and the driver holds the capped
candidates and arrays of their size. A task whose worker
dies is retried by Ray; every step is deterministic, so retries, shard
boundaries and the number of workers never change the model.

Ray is an optional dependency (``pip install bytepiece[ray]``), imported
only when this module is used.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._core import MAX_PARTITIONS
from ..model import Model, PackedPieces
from ..progress import progress_bar
from ..ray_support import crash_once, import_ray, ray_session, worker_tokenizer
from ..ray_support import init_local_ray  # importable from here too, as before it moved
from ..validation import check_int
from .budget import (
    MemoryBoundError, NgramHistogram, apply_budget, check_memory_options, format_bytes,
)
from .options import HasTrainingOptions, TrainingOptions, as_training_options
from .candidates import CandidateCount, Candidates, Cut, merge_candidates
from .primitives import (
    CountingPlan, PiecePartition, ShardSummary, count_ngrams, count_partition, count_pieces, finish_ngrams,
    kept_candidates, merge_ngrams, merge_pieces, merge_substrings, ngram_model, partition_substrings, peak_memory,
    resident_memory, total_positions,
)
from .pruning import canonical_segmenter, count_tokens_packed, describe_pruning
from .registry import get_algorithm
from .sources import ReadOptions, expand_paths, plan_shards, shard_documents
from .stats import Phase, RayStats, TrainingResult

__all__ = ["train_on_ray", "init_local_ray", "starts_local_ray", "TASK_RETRIES"]

#: How often Ray reruns a task whose worker process died.
TASK_RETRIES = 3
#: Default bytes of file per shard.
SHARD_BYTES = 16 << 20
#: The least partitions of the default (twice the CPUs, at least this many).
MIN_DEFAULT_PARTITIONS = 16
#: Bytes of the first shard whose byte frequencies balance the partitions.
SAMPLE_BYTES = 1 << 20


def _ray() -> Any:
    return import_ray("training on Ray")


# -- the tasks (module-level functions, wrapped by ray.remote on first use) ---


def _sample_byte_counts(shard: Any, options: ReadOptions) -> np.ndarray:
    counts = np.zeros(256, dtype=np.uint64)
    seen = 0
    for text in shard_documents(shard, options):
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        counts += np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256).astype(np.uint64)
        seen += len(data)
        if seen >= SAMPLE_BYTES:
            break
    return counts


def _count_ngrams_task(plan: CountingPlan, shard: Any, options: ReadOptions, index: int,
                       limit: Optional[int]) -> Tuple[Any, ...]:
    crash_once(f"count-ngrams-{index}")
    summary, parts = count_ngrams(plan, shard_documents(shard, options), limit)
    return (summary, *parts)


def _merge_ngrams_task(plan: CountingPlan, index: int, min_count: int, limit: Optional[int],
                       *parts: Any) -> Tuple[NgramHistogram, Any]:
    crash_once(f"merge-ngrams-{index}")
    return merge_ngrams(plan, index, parts, min_count, limit)


def _finish_task(plan: CountingPlan, index: int, positions: int, min_count: int, limit: Optional[int],
                 *parts: Any) -> Tuple[int, Any]:
    crash_once(f"finish-{index}")
    finished = finish_ngrams(plan, index, parts, positions, min_count, limit)
    return sum(t.nbytes for t in finished.tables), finished


def _count_pieces_task(plan: CountingPlan, shard: Any, options: ReadOptions, ensure_unicode: bool, index: int,
                       limit: Optional[int], *finished: Any) -> Tuple[Any, ...]:
    crash_once(f"count-pieces-{index}")
    summary, parts = count_pieces(plan, ngram_model(plan, finished), shard_documents(shard, options), ensure_unicode,
                                  limit)
    return (summary, *parts)


def _training_tokens_task(models: List[Tuple[str, List[Any]]], shard: Any, options: ReadOptions) -> List[int]:
    """How many tokens each model ((fingerprint, [its object reference]), built
    once per worker) makes of the shard's documents: the summary's bytes per token."""
    crash_once("training-tokens")
    documents = list(shard_documents(shard, options))
    tokenizers = [worker_tokenizer(fingerprint, model, keep=len(models)) for fingerprint, model in models]
    return [len(tok.encode_batch_numpy(documents, num_threads=1)[0]) for tok in tokenizers]


def _merge_pieces_task(max_piece_length: int, min_count: int, limit: Optional[int],
                       *parts: PiecePartition) -> Tuple[Any, Any, Tuple[int, int, int]]:
    kept, dropped = merge_pieces(parts, max_piece_length, min_count, limit)
    return kept, dropped, (len(kept), len(dropped), peak_memory())


# The tasks of pruning return (result, the peak memory of their worker process).


def _kept_candidates_task(kept: PiecePartition, limit: Optional[int]) -> Tuple[Candidates, int]:
    crash_once(f"kept-candidates-{kept.index}")
    return kept_candidates(kept, limit), peak_memory()


def _substrings_task(kept: PiecePartition, max_length: int, num_partitions: int) -> Tuple[Any, ...]:
    crash_once(f"substrings-{kept.index}")
    parts = partition_substrings(kept, max_length, num_partitions)
    return (*parts, peak_memory())  # one object per substring partition, and the peak


def _merge_substrings_task(index: int, min_count: int, limit: Optional[int],
                           *parts: PiecePartition) -> Tuple[Candidates, int]:
    crash_once(f"merge-substrings-{index}")
    return merge_substrings(parts, min_count, limit), peak_memory()


def _count_partitions_task(pieces: PackedPieces, counts: np.ndarray, group: List[Tuple[Optional[Any], Any]],
                           cut: Optional[Cut]) -> Tuple[np.ndarray, int]:
    """Pruning's token totals of a group of piece partitions (see
    count_partition): the vocabulary's segmenter is built once for the
    group, and its partitions (object references, kept ones None where not
    asked for) are fetched one at a time, so the task holds one of them."""
    import ray

    segmenter = canonical_segmenter(pieces, counts)
    totals = np.zeros(len(pieces), dtype=np.uint64)
    for kept_ref, dropped_ref in group:
        kept = None if kept_ref is None else ray.get(kept_ref)
        dropped = ray.get(dropped_ref)
        crash_once(f"count-partition-{dropped.index}")
        totals += count_partition(segmenter, len(pieces), kept, dropped, cut)
        del kept, dropped
    return totals, peak_memory()


def _groups(sizes: Sequence[int], num_groups: int) -> List[List[int]]:
    """The indices of ``sizes`` in ``num_groups`` groups of about equal sums
    (largest first, each to the lightest group), none empty."""
    groups: List[List[int]] = [[] for _ in range(max(1, min(num_groups, len(sizes))))]
    loads = [0] * len(groups)
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        lightest = min(range(len(groups)), key=lambda g: (loads[g], len(groups[g])))
        groups[lightest].append(i)
        loads[lightest] += sizes[i]
    return [g for g in groups if g]


def _count_tokens_task(vocabulary: PackedPieces, counts: np.ndarray, pieces: PackedPieces, weights: np.ndarray,
                       start: int, stop: int) -> Tuple[np.ndarray, int]:
    """Pruning's token totals of pieces[start:stop] with their weights under
    the canonical vocabulary of packed pieces and counts."""
    segmenter = canonical_segmenter(vocabulary, counts)
    return (count_tokens_packed(segmenter, len(vocabulary), pieces.slice(start, stop), weights[start:stop]),
            peak_memory())


class _Tasks:
    """The remote forms of the tasks, made once per driver process."""

    def __init__(self, ray: Any, memory: Optional[int]) -> None:
        # With a bound, each task reserves it: Ray runs no more tasks on a node than its memory holds.
        remote = ray.remote(max_retries=TASK_RETRIES, **({"memory": memory} if memory else {}))
        self.sample = remote(_sample_byte_counts)
        self.count_ngrams = remote(_count_ngrams_task)
        self.merge_ngrams = remote(_merge_ngrams_task)
        self.finish = remote(_finish_task)
        self.count_pieces = remote(_count_pieces_task)
        self.merge_pieces = remote(_merge_pieces_task)
        self.count_tokens = remote(_count_tokens_task)
        self.kept_candidates = remote(_kept_candidates_task)
        self.substrings = remote(_substrings_task)
        self.merge_substrings = remote(_merge_substrings_task)
        self.count_partitions = remote(_count_partitions_task)
        self.training_tokens = remote(_training_tokens_task)


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


def train_on_ray(training: Union[TrainingOptions, HasTrainingOptions], source: Union[str, Sequence[str], Any], *,
                 options: ReadOptions = ReadOptions(), address: Optional[str] = None,
                 num_partitions: Optional[int] = None, shard_bytes: int = SHARD_BYTES,
                 max_memory: Optional[int] = None, progress: Optional[bool] = None,
                 evaluate: bool = False) -> TrainingResult:
    """Train with ``training``'s options (:class:`TrainingOptions`, or a
    Trainer's) on ``source`` on Ray; returns the models and the run's
    :class:`RayStats`. ``evaluate``: then read the corpus once more, in tasks,
    to count the tokens each model makes of it (``stats.training_tokens``),
    as the local summary does.

    ``source``: file paths, globs or directories that every node can read, or
    a ``ray.data.Dataset`` with a text column (``options.field``, default
    ``text``); ``options``: how the files are read. ``address``: the cluster
    to join (None: the one this process is connected to, else a new
    one-machine Ray on the loopback address). ``num_partitions``: of the
    n-gram and piece tables (default twice the CPUs, at least 16).
    ``max_memory``: the most bytes one process may hold, each worker and this
    driver: every task reserves it (so Ray runs no more of them on a node
    than its memory holds), shards are cut to fit it, the n-gram model gets
    a budget (``training.max_ngram_model_bytes``, else half of it:
    :mod:`bytepiece.training.budget`), and the driver checks itself between
    steps. What cannot hold is refused before any pass, and what needs no
    cluster before Ray starts: a bound under 512 MB, a model budget over half
    of it or under the least model, more than this machine has (for a new
    local Ray) or than any node offers Ray.
    """
    training_options = as_training_options(training)
    _check_before_start(training_options, address, num_partitions, max_memory)
    ray = _ray()
    with ray_session(ray, address, object_store_memory=max_memory // 3 if max_memory else None,
                     quiet=progress is False):
        return _train(ray, training_options, source, options, num_partitions, shard_bytes, max_memory, progress,
                      evaluate)


def _check_before_start(training: TrainingOptions, address: Optional[str], num_partitions: Optional[int],
                        max_memory: Optional[int]) -> None:
    """What can be wrong with the settings without a cluster: checked before
    Ray starts, which takes seconds (and whose own errors, e.g. of an object
    store too small, say nothing of the option that caused them)."""
    if num_partitions is not None:
        num_partitions = check_int("num_partitions", num_partitions, 1)
        if num_partitions > MAX_PARTITIONS:
            raise ValueError(f"num_partitions must be at most {MAX_PARTITIONS}, got {num_partitions}")
    check_memory_options(training.max_ngram_model_bytes, max_memory, training.order,
                         this_machine=starts_local_ray(address))


def starts_local_ray(address: Optional[str]) -> bool:
    """Whether :func:`train_on_ray` with ``address`` would start a Ray on this
    machine (none given, and this process is not connected to one)."""
    ray = sys.modules.get("ray")  # not imported: not connected either
    return address is None and (ray is None or not ray.is_initialized())


def _check_driver(max_memory: Optional[int], after: str) -> None:
    """With ``max_memory``: stop, saying why, when this driver holds more."""
    if max_memory is None:
        return
    used = resident_memory()
    if used > max_memory:
        raise MemoryBoundError(f"the driver holds {format_bytes(used)} after {after}, more than max_memory "
                               f"({format_bytes(max_memory)}): raise max_memory, or run the driver where more "
                               "memory is available")


class _FoundOnRay:
    """The found pieces on a cluster (:class:`FoundPieces`): the kept and the
    dropped ones in the object store, one partition each, never fetched. The
    candidates are chosen per partition in tasks and only each partition's
    first ``limit`` reach the driver, which merges them one at a time; every
    re-tokenizing runs as tasks (one per piece partition, or over slices of
    the vocabulary's own pieces) that read the vocabulary from the object
    store. So the driver holds the capped candidates and arrays of their
    size, and each task a vocabulary and one partition."""

    def __init__(self, ray: Any, tasks: "_Tasks", kept: List[Any], dropped: List[Any], sizes: Sequence[int],
                 cpus: int, bar: Any, target: Optional[int] = None) -> None:
        self.ray = ray
        self.tasks = tasks
        self.parts = list(zip(kept, dropped))
        # Re-tokenizing runs as one task per CPU, each over a group of partitions
        # of about equal numbers of pieces: a task builds the vocabulary's trie
        # once (for millions of candidates, a second or more) for its group.
        self.groups = _groups(sizes, cpus)
        self.cpus = cpus
        self.bar, self.target = bar, target
        self.candidates: Optional[CandidateCount] = None
        #: The largest peak memory of a worker process that ran a task of pruning.
        self.peak_memory = 0

    def _fetched(self, refs: List[Any]) -> Iterator[Any]:
        """The results of the tasks ``refs`` as they are done, each fetched
        once (and freed by the caller before the next, if it wants)."""
        pending = list(refs)
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            result, peak = self.ray.get(done[0])
            self.peak_memory = max(self.peak_memory, peak)
            yield result

    def _chosen(self, refs: List[Any], limit: Optional[int]) -> Candidates:
        chosen = merge_candidates(self._fetched(refs), limit)
        self.candidates = CandidateCount.of(chosen)
        return chosen

    def kept(self, limit: Optional[int] = None) -> Candidates:
        """The kept pieces within the cap, each partition's first ``limit`` merged here."""
        return self._chosen([self.tasks.kept_candidates.remote(kept, limit) for kept, _ in self.parts], limit)

    def substrings(self, max_length: int, min_count: int, limit: Optional[int] = None) -> Candidates:
        """The substrings of the kept pieces, counted per kept partition in
        tasks, partitioned by their hash and summed per substring partition
        (each cut to ``limit`` there), merged here."""
        n = len(self.parts)
        counted = [self.tasks.substrings.options(num_returns=n + 1).remote(kept, max_length, n)
                   for kept, _ in self.parts]
        merged = [self.tasks.merge_substrings.remote(r, min_count, limit, *[c[r] for c in counted])
                  for r in range(n)]
        for peak in self.ray.get([c[n] for c in counted]):
            self.peak_memory = max(self.peak_memory, peak)
        del counted  # each merge holds what it needs
        return self._chosen(merged, limit)

    def _put(self, vocabulary: Model) -> Tuple[Any, Any]:
        return self.ray.put(vocabulary.packed()), self.ray.put(vocabulary.counts_array())

    def _summed(self, vocabulary: Model, parts: List[Any]) -> np.ndarray:
        totals = np.zeros(vocabulary.num_pieces, dtype=np.uint64)
        for part in self._fetched(parts):  # one array of the vocabulary's size at a time
            totals += part
        return totals

    def _count_texts(self, texts_ref: Any, weights_ref: Any, num_texts: int, refs: Tuple[Any, Any]) -> List[Any]:
        # Each task gets the vocabulary and the pieces packed (a few buffers in the
        # object store, shared), and tokenizes its own range of the pieces.
        bounds = np.linspace(0, num_texts, self.cpus + 1).astype(np.int64).tolist()
        return [self.tasks.count_tokens.remote(*refs, texts_ref, weights_ref, a, b)
                for a, b in zip(bounds[:-1], bounds[1:]) if b > a]

    def count_tokens(self, vocabulary: Model, texts: PackedPieces, weights: np.ndarray) -> np.ndarray:
        """Re-tokenize ``texts`` in tasks (one pass of the progress line)."""
        describe_pruning(self.bar, vocabulary, self.target)
        refs = self._put(vocabulary)
        texts_ref = refs[0] if texts is vocabulary.packed() else self.ray.put(texts)
        weights_ref = self.ray.put(np.asarray(weights, dtype=np.uint64))
        totals = self._summed(vocabulary, self._count_texts(texts_ref, weights_ref, len(texts), refs))
        self.bar.update(1)
        return totals

    def _count_partitions(self, vocabulary: Model, with_kept: bool, cut: Optional[Cut]) -> np.ndarray:
        # The pieces never leave the object store: one task per group of piece
        # partitions, which fetches them one at a time (the references are
        # passed inside a list, so Ray does not fetch them all before the task).
        refs = self._put(vocabulary)
        return self._summed(vocabulary, [
            self.tasks.count_partitions.remote(
                *refs, [(self.parts[i][0] if with_kept else None, self.parts[i][1]) for i in group], cut)
            for group in self.groups])

    def count_dropped(self, vocabulary: Model, cut: Optional[Cut] = None) -> np.ndarray:
        """The dropped pieces' totals, and the kept ones' past ``cut``, one task per partition."""
        return self._count_partitions(vocabulary, cut is not None, cut)

    def count_found(self, vocabulary: Model) -> np.ndarray:
        """Every found piece's totals, one task per partition (one pass of the progress line)."""
        describe_pruning(self.bar, vocabulary, self.target)
        totals = self._count_partitions(vocabulary, True, None)
        self.bar.update(1)
        return totals


def _train(ray: Any, training: TrainingOptions, source: Any, options: ReadOptions, num_partitions: Optional[int],
           shard_bytes: int, max_memory: Optional[int], progress: Optional[bool],
           evaluate: bool = False) -> TrainingResult:
    tasks = _Tasks(ray, max_memory)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    if max_memory is not None:
        shard_bytes = min(shard_bytes, max_memory // 64)  # a shard's tables take up to ~50x its size
        offered = max((n["Resources"].get("memory", 0) for n in ray.nodes() if n.get("Alive")), default=0)
        if offered < max_memory:  # every task reserves max_memory: none could ever be scheduled
            raise ValueError(f"max_memory ({max_memory / 1e9:.2f} GB) is more than any node offers Ray "
                             f"({offered / 1e9:.2f} GB)")
    partitions = num_partitions or min(MAX_PARTITIONS, max(MIN_DEFAULT_PARTITIONS, 2 * cpus))
    budget = check_memory_options(training.max_ngram_model_bytes, max_memory, training.order)
    stats = RayStats(num_partitions=partitions, cpus=cpus, min_count=training.min_count)
    _check_driver(max_memory, "starting")
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
    if budget is None:  # one reduce per partition: merge and finish
        partials: List[Any] = [[c[p + 1] for c in counted] for p in range(partitions)]
    else:
        # Two: merge (with the histogram of the partition's counts), then finish
        # with the min_count that makes the whole model fit.
        merged_ngrams = [tasks.merge_ngrams.options(num_returns=2).remote(
            plan, p, training.min_count, max_memory, *[c[p + 1] for c in counted]) for p in range(partitions)]
        histogram = NgramHistogram.total(ray.get([m[0] for m in merged_ngrams]))
        training = apply_budget(training, histogram, budget, stats)
        partials = [[m[1]] for m in merged_ngrams]
        del merged_ngrams
    reduced = [tasks.finish.options(num_returns=2).remote(plan, p, positions, training.min_count, max_memory,
                                                          *partials[p])
               for p in range(partitions)]
    del partials
    stats.model_bytes = sum(ray.get([r[0] for r in reduced]))
    finished = [r[1] for r in reduced]  # stay in the object store: the driver never holds the n-gram model
    del counted, reduced  # the partial counts can go
    _check_driver(max_memory, "counting the n-grams")
    phase("merge n-grams")

    # Pass 2: pieces per shard with the shared n-gram model; one reduce per piece partition.
    counted_pieces = [tasks.count_pieces.options(num_returns=plan.num_piece_partitions + 1).remote(
        plan, shard, options, training.ensure_unicode, k, max_memory, *finished) for k, shard in enumerate(shards)]
    _wait_all(ray, [c[0] for c in counted_pieces], "Count pieces", total, sizes, progress)
    piece_summaries: List[ShardSummary] = ray.get([c[0] for c in counted_pieces])
    merged = [tasks.merge_pieces.options(num_returns=3).remote(training.max_piece_length, training.min_count,
                                                               max_memory, *[c[q + 1] for c in counted_pieces])
              for q in range(plan.num_piece_partitions)]
    sizes_of_parts: List[Tuple[int, int, int]] = ray.get([m[2] for m in merged])  # the pieces stay in the object store
    del counted_pieces, finished
    stats.distinct_pieces = sum(k + d for k, d, _ in sizes_of_parts)
    _check_driver(max_memory, "counting the pieces")
    phase("count pieces")

    # Pruning: the options' algorithm; the candidates chosen and every re-tokenizing done in tasks.
    bar = progress_bar("Prune pieces", unit=" passes", enabled=progress)
    found = _FoundOnRay(ray, tasks, [m[0] for m in merged], [m[1] for m in merged],
                        [k + d for k, d, _ in sizes_of_parts], cpus, bar, max(training.max_vocab_size))
    del merged
    models = get_algorithm(training.algorithm).load()(found, training)
    stats.record_candidates(found.candidates)
    bar.close()
    phase("prune pieces")
    stats.seconds = time.perf_counter() - start
    stats.peak_worker_memory = max([s.peak_memory for s in summaries + piece_summaries] +
                                   [peak for _, _, peak in sizes_of_parts] + [found.peak_memory])
    stats.peak_driver_memory = peak_memory()
    if evaluate:  # a third read, as the local summary's: each model's tokens of the corpus
        begin = time.perf_counter()
        model_refs = [(model.fingerprint(), [ray.put(model)]) for model in models]
        counted = [tasks.training_tokens.remote(model_refs, shard, options) for shard in shards]
        _wait_all(ray, counted, "Evaluate", total, sizes, progress)
        stats.training_tokens = [int(n) for n in np.sum(np.array(ray.get(counted), dtype=np.int64), axis=0)]
        stats.evaluation_seconds = time.perf_counter() - begin
    return TrainingResult(models, stats)
