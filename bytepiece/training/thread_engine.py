"""The thread engine: training in this process, on a pool of threads.

Its two passes over the corpus run in C (bytepiece._training over
csrc/bp_ngram.c and bp_bnlm.c) on ``num_threads`` threads with the GIL
released, batch by batch, so memory follows the number of distinct n-grams
and pieces, not the corpus size; pruning's re-tokenizing is spread over the
same threads. The result does not depend on ``num_threads``: counting is
exact and partitioned by key, segmentation is per chunk, and every later
step is deterministic (docs/spec/training.md §6).
"""
from __future__ import annotations

import contextlib
import queue
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _training
from .._core import MAX_PARTITIONS
from ..corpus import Corpus, field_pipeline_applies
from ..model import Model, PackedPieces
from ..progress import progress_bar
from ..text import TextLike
from ..validation import check_int, check_num_threads, usable_threads
from .options import API_DEFAULTS, HasTrainingOptions, TrainingOptions, as_training_options
from .budget import MemoryBoundError, NgramHistogram, apply_budget, check_memory_options, format_bytes
from .primitives import (
    DUPLICATE_WARNING, DistinctChunks, DuplicateEstimate, chunk_batches, chunk_field_blocks, distinct_chunk_bytes,
    finish_ngram_model, resident_memory,
)
from .pruning import FoundInProcess, Run, TextLattices, count_tokens_packed, with_progress
from .registry import TokenCounter, get_algorithm
from .stats import Phase, ThreadStats, TrainingResult

__all__ = ["train_on_threads", "run_workers", "threaded_counter", "QUEUED_BATCHES", "SORTED_POSITIONS"]

#: Batches a worker of a pass may have waiting: enough that no worker idles
#: while the others finish a batch or this thread prepares the next one.
QUEUED_BATCHES = 4

#: Byte positions that pass 1 buffers (all partitions together, 8 bytes
#: each, twice that while sorting) to count the n-grams by sorting them
#: (bp_ngrams_buffer): a corpus up to this size is counted whole, and its
#: n-gram tables only ever hold the n-grams that min_count keeps; a larger
#: one is counted block by block into tables of every n-gram.
SORTED_POSITIONS = 1 << 25


def run_workers(pool: ThreadPoolExecutor, num_workers: int, jobs: Iterable[Sequence[Any]],
                work: Callable[..., None]) -> None:
    """For each item of ``jobs`` (one argument tuple per worker), call
    ``work(w, *job[w])`` on worker ``w``'s thread, each worker taking its jobs
    in order. Workers run ahead of each other by up to
    :data:`QUEUED_BATCHES` jobs, so no worker waits at the end of a batch for
    the slowest one, and this thread prepares jobs meanwhile. Re-raises the
    first error of a worker (after stopping them all)."""
    queues: List["queue.Queue[Optional[Sequence[Any]]]"] = [queue.Queue(QUEUED_BATCHES) for _ in range(num_workers)]

    def serve(w: int) -> None:
        while (job := queues[w].get()) is not None:
            work(w, *job)

    workers = [pool.submit(serve, w) for w in range(num_workers)]

    def hand(w: int, job: Optional[Sequence[Any]]) -> None:
        while True:  # a worker that failed takes nothing more: its error is raised below
            try:
                queues[w].put(job, timeout=0.05)
                return
            except queue.Full:
                if workers[w].done():
                    return

    try:
        for job in jobs:
            if any(f.done() for f in workers):
                break  # a worker failed: stop feeding
            for w in range(num_workers):
                hand(w, job[w])
    except BaseException:
        # The jobs failed (e.g. a memory bound was reached): the workers drop
        # what is queued rather than go on counting after the run is lost.
        for w in range(num_workers):
            with contextlib.suppress(queue.Empty):
                while True:
                    queues[w].get_nowait()
        raise
    finally:
        for w in range(num_workers):
            hand(w, None)
        wait(workers)
    for future in workers:
        future.result()


def run_on(pool: ThreadPoolExecutor) -> Run:
    """The :data:`~bytepiece.training.pruning.Run` of ``pool``: every call submitted at once."""
    def run(function: Callable[..., Any], jobs: Sequence[Tuple[Any, ...]]) -> List[Any]:
        return [future.result() for future in [pool.submit(function, *job) for job in jobs]]
    return run


def threaded_counter(pool: ThreadPoolExecutor, num_threads: int) -> TokenCounter:
    """A pruning TokenCounter that splits the pieces over ``num_threads``
    threads of ``pool``. Given the same texts (the same object) twice in a
    row, as the "em" pruning's rounds do, it builds their lattices with that
    vocabulary as base (:class:`TextLattices`, when it can be one) and
    counts every later vocabulary that is a subset of it through them."""
    seen: List[Optional[PackedPieces]] = [None]  # the texts of the last call
    built: List[Optional[TextLattices]] = [None]
    run = run_on(pool)

    def counter(vocabulary: Model, texts: PackedPieces, weights: np.ndarray) -> np.ndarray:
        lattices = built[0]
        if lattices is None and texts is seen[0]:
            lattices = built[0] = TextLattices.build(vocabulary, texts, num_threads, run)
        if lattices is not None and lattices.texts is texts:
            totals = lattices.count_tokens(vocabulary, weights, run)
            if totals is not None:
                return totals
        seen[0] = texts
        # The trie is built here, once: in the threads that Python work
        # would hold the GIL and run one at a time.
        segmenter = vocabulary.segmenter()
        # Split by bytes, not pieces: canonical order puts the long pieces,
        # the slow ones to segment, last.
        bounds = texts.balanced_bounds(num_threads)
        jobs = [(segmenter, vocabulary.num_pieces, texts.slice(a, b), weights[a:b])
                for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        totals = np.zeros(vocabulary.num_pieces, dtype=np.uint64)
        for part in run(count_tokens_packed, jobs):
            totals += part
        return totals

    return counter


def _warn_of_duplicates(fraction: float, min_count: int) -> None:
    if fraction > DUPLICATE_WARNING:
        warnings.warn(
            f"about {100 * fraction:.0f}% of the documents repeat an earlier one: duplicated text pushes noise past "
            f"min_count={min_count} and the vocabulary compresses worse. De-duplicate the corpus, or raise "
            "min_count by the duplication factor.",
            UserWarning, stacklevel=4)


def _changed_corpus(first_docs: int, first_bytes: int, second: str) -> ValueError:
    return ValueError(f"the corpus changed between the two passes of training: the first read {first_docs} "
                      f"documents ({first_bytes} bytes of training chunks), the second {second}. Training "
                      "reads its texts twice: give it texts that read the same each time (a list, files that "
                      "do not change while it runs; bytepiece.Corpus copies stdin and pipes to a temporary "
                      "file for that)")


class _Run:
    """One run: the options, the pool and its size, and the statistics it fills in."""

    def __init__(self, options: TrainingOptions, pool: ThreadPoolExecutor, num_threads: int, batch_size: int,
                 progress: Optional[bool], max_memory: Optional[int] = None) -> None:
        self.options = options
        self.pool = pool
        self.num_threads = num_threads
        self.batch_size = batch_size
        self.progress = progress
        self.max_memory = max_memory
        self.stats = ThreadStats(num_threads=num_threads, min_count=options.min_count)

    def check_memory(self, what: str, reserve: int = 0) -> None:
        """With ``max_memory``: raise MemoryBoundError, pointing to Ray, when
        this process holds more, or would while ``reserve`` more bytes are
        taken (the n-gram tables' next doubling)."""
        if self.max_memory is None:
            return
        used = resident_memory()
        if used + reserve > self.max_memory:
            growing = f" (and {format_bytes(reserve)} more while its tables grow)" if reserve else ""
            raise MemoryBoundError(
                f"{what} needs more than the memory bound ({format_bytes(self.max_memory)}) in one process: it holds "
                f"{format_bytes(used)}{growing} after {self.stats.documents} documents. Train on Ray "
                "(bytepiece train --ray, Trainer.train_ray), whose workers each count a shard and merge a partition "
                "of the tables, or give it more memory")

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Record the wall and CPU seconds (all threads) of one phase."""
        start, cpu = time.perf_counter(), time.process_time()
        yield
        end = time.perf_counter()
        self.stats.phases[name] = Phase(wall=end - start, cpu=time.process_time() - cpu, start=start, end=end)

    def _batches(self, texts: Iterable[TextLike], duplicates: Optional[DuplicateEstimate] = None,
                 source: Any = None) -> Iterator[Tuple[bytes, np.ndarray, int]]:
        """(chunk bytes, chunk offsets, documents) per batch of the documents
        of ``texts``; ``source``: what ``texts`` iterates (default: itself).
        A :class:`Corpus` of JSON lines is read by blocks instead, its fields
        found in C (chunk_field_blocks: the same batches, without json.loads)."""
        source = texts if source is None else source
        if isinstance(source, Corpus) and not self.options.isolate_digits and field_pipeline_applies(source):
            batches = chunk_field_blocks(source, self.batch_size, duplicates)
        else:
            batches = chunk_batches(texts, self.options.isolate_digits, self.batch_size, duplicates)
        for packed, docs in batches:
            yield packed.data, packed.offsets, docs

    def count_ngrams(self, texts: Iterable[TextLike], source: Any = None) -> "_training.NgramModel":
        """Pass 1: the n-gram model's counts, each thread counting one partition of every batch.
        ``source``: what ``texts`` iterates; when it is a :class:`Corpus` of files, the
        progress follows the bytes read of their total size."""
        ngram_model = _training.NgramModel(self.options.order, min(self.num_threads, MAX_PARTITIONS))
        sorted_positions = SORTED_POSITIONS
        if self.max_memory is not None:  # the buffers and their sorted copies within half of it
            sorted_positions = min(sorted_positions, self.max_memory // 32)
        ngram_model.buffer(max(1, sorted_positions // ngram_model.num_partitions))
        corpus = source if isinstance(source, Corpus) else None
        files_size = corpus.total_bytes() if corpus is not None else None
        bar = progress_bar("Count n-grams", total=files_size, unit="B", enabled=self.progress)
        docs = 0
        duplicates = DuplicateEstimate()

        def jobs() -> Iterator[List[Tuple[bytes, np.ndarray]]]:
            nonlocal docs
            for data, offsets, n in self._batches(texts, duplicates, corpus):
                if docs == 0:  # spread the work of the threads by the first batch's bytes
                    ngram_model.balance(np.bincount(np.frombuffer(data, dtype=np.uint8),
                                                    minlength=256).astype(np.uint64))
                # Checked before each batch, with the doubling of every table that is
                # past half full, so that the tables stop short of max_memory.
                self.stats.documents = docs
                self.check_memory("counting the n-grams", ngram_model.growth_reserve)
                yield [(data, offsets)] * ngram_model.num_partitions  # every partition reads the whole batch
                bar.update(corpus.bytes_read() - bar.n if corpus is not None and files_size else len(data))
                docs += n

        run_workers(self.pool, ngram_model.num_partitions, jobs(), ngram_model.count)
        bar.close()
        stats = self.stats
        stats.documents = docs
        stats.duplicate_documents = duplicates.fraction
        _warn_of_duplicates(duplicates.fraction, self.options.min_count)
        stats.bytes = int(ngram_model.count_of(b""))  # every byte of the chunks
        if stats.bytes == 0:
            raise ValueError("the corpus has no text to train on")
        stats.ngram_memory = ngram_model.memory
        return ngram_model

    def finish_ngrams(self, ngram_model: "_training.NgramModel", budget: Optional[int]) -> None:
        """Finish the n-gram model with the options' min_count, or, under a
        ``budget``, with the least min_count that makes it fit, from the
        histogram of its counts (training.budget); the rest of the run then
        trains with that one. Counts the partitions' buffered positions first
        (in parallel), keeping the n-grams that the options' min_count keeps."""
        min_count = self.options.min_count
        list(self.pool.map(lambda p: ngram_model.settle(p, min_count), range(ngram_model.num_partitions)))
        self.stats.distinct_ngrams = sum(ngram_model.distinct(j) for j in range(1, self.options.order + 1))
        self.stats.ngram_memory = max(self.stats.ngram_memory, ngram_model.buffer_peak + ngram_model.memory)
        if budget is not None:
            min_count = self.options.min_count
            histogram = NgramHistogram.total(self.pool.map(
                lambda p: NgramHistogram.of_partition(ngram_model, p, min_count), range(ngram_model.num_partitions)))
            self.options = apply_budget(self.options, histogram, budget, self.stats)
        finish_ngram_model(ngram_model, self.options.min_count, self.pool)
        self.stats.model_bytes = ngram_model.memory

    def count_pieces(self, texts: Iterable[TextLike],
                     ngram_model: "_training.NgramModel") -> Tuple[PackedPieces, np.ndarray]:
        """Pass 2: the pieces of the BNLM segmentation with the finished n-gram
        model, each thread segmenting its share of every batch."""
        num_threads = self.num_threads
        counters = [_training.PieceCounter() for _ in range(num_threads)]
        bar = progress_bar("Count pieces", total=self.stats.bytes, unit="B", enabled=self.progress)

        # What the first pass read: the second must read the same.
        first_docs, first_bytes = self.stats.documents, self.stats.bytes
        docs = chunk_bytes = 0

        def jobs() -> Iterator[List[Tuple[bytes, np.ndarray]]]:
            nonlocal docs, chunk_bytes
            for data, offsets, n in self._batches(texts):
                docs += n
                chunk_bytes += len(data)
                if docs > first_docs or chunk_bytes > first_bytes:  # no need to read on: it differs already
                    raise _changed_corpus(first_docs, first_bytes, f"more than {first_docs} documents"
                                          if docs > first_docs else f"more than {first_bytes} bytes")
                bounds = PackedPieces(data, offsets).balanced_bounds(num_threads)
                self.check_memory("counting the pieces")
                yield [(data, offsets[bounds[w]:bounds[w + 1] + 1]) for w in range(num_threads)]
                bar.update(len(data))

        # Each thread segments each distinct chunk it was given once.
        max_bytes = distinct_chunk_bytes(self.max_memory, num_threads)
        gathered = [DistinctChunks(ngram_model, self.options.ensure_unicode, counter, max_bytes)
                    for counter in counters]

        def count(w: int, data: bytes, offsets: np.ndarray) -> None:
            gathered[w].add(data, offsets)

        run_workers(self.pool, num_threads, jobs(), count)
        if (docs, chunk_bytes) != (first_docs, first_bytes):
            raise _changed_corpus(first_docs, first_bytes, f"{docs} documents ({chunk_bytes} bytes)")
        # The bar counted the bytes read; what was gathered last is segmented now.
        bar.set_description("Count pieces: segmenting the last distinct chunks", refresh=True)
        list(self.pool.map(DistinctChunks.flush, gathered))
        bar.set_description("Count pieces", refresh=False)
        for other in counters[1:]:
            counters[0].merge(other)
        bar.close()
        data, offsets, counts = counters[0].export()
        self.stats.distinct_pieces = len(counts)
        self.stats.piece_memory = sum(c.memory for c in counters) + sum(g.peak_memory for g in gathered)
        return PackedPieces(data, offsets), counts

    def prune(self, pieces: PackedPieces, counts: np.ndarray) -> List[Model]:
        """The options' algorithm on the found pieces, re-tokenizing on the threads."""
        options = self.options
        bar = progress_bar("Prune pieces", unit=" passes", enabled=self.progress)
        counter = with_progress(threaded_counter(self.pool, self.num_threads), bar, max(options.max_vocab_size))
        found = FoundInProcess(pieces, counts, options.max_piece_length, options.min_count, counter,
                               run_on(self.pool), self.num_threads)
        models = get_algorithm(options.algorithm).load()(found, options)
        self.stats.record_candidates(found.candidates)
        bar.close()
        return models


def train_on_threads(training: Union[TrainingOptions, HasTrainingOptions], texts: Iterable[TextLike], *,
                     num_threads: Optional[int] = API_DEFAULTS.num_threads,
                     batch_size: int = API_DEFAULTS.batch_size, progress: Optional[bool] = None,
                     max_memory: Optional[int] = None) -> TrainingResult:
    """Train with ``training``'s options on ``texts``, a re-iterable of
    documents (it is read twice), on ``num_threads`` threads of this process
    (None: every core); ``batch_size`` documents per step; ``progress``
    draws progress lines on stderr (None: if it is a terminal). Returns the
    models and the run's :class:`ThreadStats`. See :meth:`bytepiece.Trainer.train`.

    ``max_memory`` (bytes): the most this process may hold. The n-gram model
    gets a budget (the options' ``max_ngram_model_bytes``, else half of it:
    training.budget), and each pass checks the process before every batch (the
    counting tables with their next doubling), stopping with a
    MemoryBoundError that points to Ray as soon as it would pass the bound:
    counting all n-grams in one process grows with the corpus."""
    options = as_training_options(training)
    if isinstance(texts, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"texts must be a list of texts (or another re-iterable of them), not one "
                        f"{type(texts).__name__}: each of its characters would be a document; "
                        "pass a list of texts, e.g. [text]")
    # More threads than cores could not run at once: they would only add
    # partitions, counters and queues (the result does not depend on it).
    num_threads = usable_threads(check_num_threads(num_threads))
    batch_size = check_int("batch_size", batch_size, 1)
    budget = check_memory_options(options.max_ngram_model_bytes, max_memory, options.order)
    first_pass = iter(texts)  # the first pass reads this one: __iter__ is called once per pass
    if first_pass is texts:
        raise TypeError(f"texts is an iterator ({type(texts).__name__}), which can be read only once, but "
                        "training reads the corpus twice: pass a list, a bytepiece.Corpus, or another "
                        "re-iterable whose __iter__ starts over (e.g. a class whose __iter__ opens the "
                        "files again)")
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=num_threads) as pool:
        run = _Run(options, pool, num_threads, batch_size, progress, max_memory)
        with run.phase("count n-grams"):
            ngram_model = run.count_ngrams(first_pass, texts)
        with run.phase("prune n-grams"):
            run.finish_ngrams(ngram_model, budget)
        with run.phase("count pieces"):
            pieces, counts = run.count_pieces(texts, ngram_model)
        del ngram_model
        with run.phase("prune pieces"):
            models = run.prune(pieces, counts)
    run.stats.seconds = time.perf_counter() - start
    return TrainingResult(models, run.stats)
