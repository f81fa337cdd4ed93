"""Trainer: corpus -> n-gram counts -> BNLM segmentation -> pieces -> pruning -> model.

The algorithm is BytePiece 0.6.3's "new word discovery" (docs/spec/training.md).
``algorithm="0.6.3"`` (the default) keeps 0.6.3's pruning and defaults, so
its models equal 0.6.3's; ``algorithm="em"`` chooses the pieces by hard EM
and pruning by gain (bytepiece.pruning_em) and compresses better, above all
on text unlike the training corpus.
Its two passes over the corpus run in C (bytepiece._training over
csrc/bp_ngram.c and bp_bnlm.c) on a pool of ``num_threads`` threads with the
GIL released, batch by batch, so memory follows the number of distinct
n-grams and pieces, not the corpus size; pruning is bytepiece.pruning. The
result does not depend on ``num_threads``: counting is exact and
partitioned by key, segmentation is per chunk, and every later step is
deterministic.
"""
from __future__ import annotations

import contextlib
import os
import queue
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _training
from ._core import MAX_ORDER, MAX_PARTITIONS, MAX_PIECE_LEN, NUM_SPECIAL
from .model import Model, PackedPieces, PathLike, save_model
from .progress import progress_bar
from .pruning import TokenCounter, count_tokens_packed, prune_pieces, with_progress
from .pruning_em import prune_em
from .training.primitives import DUPLICATE_WARNING, DuplicateEstimate, chunk_batches, finish_language_model
from .validation import check_int, check_num_threads, usable_threads

__all__ = ["Trainer", "ALGORITHMS"]

#: The training algorithms and the defaults each gives ``order`` and
#: ``min_count``. "0.6.3": BytePiece 0.6.3's, bit for bit. "em": the same
#: pieces found, then over-generated candidates chosen by hard EM and
#: pruning by gain (docs/spec/training.md §8); longer n-grams and a higher
#: min_count suit it (measured in benchmarks/bench_quality.py).
ALGORITHMS: Dict[str, Dict[str, int]] = {
    "0.6.3": {"order": 6, "min_count": 2},
    "em": {"order": 8, "min_count": 4},
}

#: 256 single bytes + the special ids.
MIN_VOCAB_SIZE = 256 + NUM_SPECIAL


#: Batches a worker of a pass may have waiting: enough that no worker idles
#: while the others finish a batch or this thread prepares the next one.
QUEUED_BATCHES = 4


def _run_workers(pool: ThreadPoolExecutor, num_workers: int, jobs: Iterable[Sequence[Any]],
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
    finally:
        for w in range(num_workers):
            hand(w, None)
        wait(workers)
    for future in workers:
        future.result()


def threaded_counter(pool: ThreadPoolExecutor, num_threads: int) -> TokenCounter:
    """A pruning TokenCounter that splits the pieces over ``num_threads`` threads of ``pool``."""

    def counter(vocabulary: Model, texts: PackedPieces, weights: np.ndarray) -> np.ndarray:
        # The trie is built here, once: in the threads that Python work
        # would hold the GIL and run one at a time.
        segmenter = vocabulary.segmenter()
        # Split by bytes, not pieces: canonical order puts the long pieces,
        # the slow ones to segment, last.
        bounds = texts.balanced_bounds(num_threads)
        futures = [pool.submit(count_tokens_packed, segmenter, len(vocabulary.pieces), texts.slice(a, b),
                               weights[a:b])
                   for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        totals = np.zeros(len(vocabulary.pieces), dtype=np.uint64)
        for future in futures:
            totals += future.result()
        return totals

    return counter


def _warn_of_duplicates(fraction: float, min_count: int) -> None:
    if fraction > DUPLICATE_WARNING:
        warnings.warn(
            f"about {100 * fraction:.0f}% of the documents repeat an earlier one: duplicated text pushes noise past "
            f"min_count={min_count} and the vocabulary compresses worse. De-duplicate the corpus, or raise "
            "min_count by the duplication factor.",
            UserWarning, stacklevel=3)


def _changed_corpus(first_docs: int, first_bytes: int, second: str) -> ValueError:
    return ValueError(f"the corpus changed between the two passes of training: the first read {first_docs} "
                      f"documents ({first_bytes} bytes of training chunks), the second {second}. Training "
                      "reads its texts twice: give it texts that read the same each time (a list, files that "
                      "do not change while it runs; bytepiece.Corpus copies stdin and pipes to a temporary "
                      "file for that)")


class Trainer:
    """BytePiece's Unigram trainer by n-gram new-word discovery.

    ``order``: longest n-gram of the language model (1..8); longer lets the
    model find longer words, and needs more memory. ``max_vocab_size``: the
    vocabulary size (>= 259), or a list of sizes: one model per size from a
    single run. ``max_piece_length``: longest piece in bytes. ``min_count``:
    n-grams and pieces seen fewer times are dropped (larger = smaller,
    cleaner models). ``isolate_digits``: every digit is a piece of its own.
    ``ensure_unicode``: no piece starts inside a UTF-8 character.
    ``algorithm``: "0.6.3" (default: 0.6.3's models, bit for bit) or "em"
    (better compression; see :data:`ALGORITHMS`). ``order`` and
    ``min_count`` default to the algorithm's values (6 and 2 for "0.6.3",
    8 and 4 for "em").
    """

    def __init__(
        self,
        order: Optional[int] = None,
        max_vocab_size: Union[int, Sequence[int]] = 10000,
        max_piece_length: int = 36,
        min_count: Optional[int] = None,
        isolate_digits: bool = False,
        ensure_unicode: bool = True,
        algorithm: str = "0.6.3",
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(map(repr, ALGORITHMS))}, got {algorithm!r}")
        self.algorithm = algorithm
        defaults = ALGORITHMS[algorithm]
        order = defaults["order"] if order is None else order
        min_count = defaults["min_count"] if min_count is None else min_count
        self.order = check_int("order", order, 1)
        if self.order > MAX_ORDER:
            raise ValueError(f"order must be at most {MAX_ORDER}, got {order}")
        sizes = list(max_vocab_size) if isinstance(max_vocab_size, (list, tuple)) else [max_vocab_size]
        if not sizes:
            raise ValueError("max_vocab_size must name at least one size")
        self.max_vocab_size = sorted((check_int("max_vocab_size", s, MIN_VOCAB_SIZE) for s in sizes), reverse=True)
        self.max_piece_length = check_int("max_piece_length", max_piece_length, 1)
        if self.max_piece_length > MAX_PIECE_LEN:
            raise ValueError(f"max_piece_length must be at most {MAX_PIECE_LEN}, got {max_piece_length}")
        self.min_count = check_int("min_count", min_count, 1)
        self.isolate_digits = bool(isolate_digits)
        self.ensure_unicode = bool(ensure_unicode)
        self.pieces: List[Dict[bytes, int]] = []
        self.stats: Dict[str, Any] = {}
        self._models: List[Model] = []

    @contextlib.contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        """Record wall and CPU seconds (all threads) of one phase in stats["phases"]."""
        start, cpu = time.perf_counter(), time.process_time()
        yield
        end = time.perf_counter()
        self.stats["phases"][name] = {"wall": end - start, "cpu": time.process_time() - cpu, "start": start, "end": end}

    # -- the two passes over the corpus ----------------------------------

    def _batches(self, texts: Iterable[str], batch_size: int,
                 duplicates: Optional[DuplicateEstimate] = None) -> Iterator[Tuple[bytes, np.ndarray, int]]:
        """(chunk bytes, chunk offsets, documents) per batch of documents."""
        for packed, docs in chunk_batches(texts, self.isolate_digits, batch_size, duplicates):
            yield packed.data, packed.offsets, docs

    def _count_ngrams(self, texts, pool, num_threads, batch_size, progress) -> "_training.NgramModel":
        lm = _training.NgramModel(self.order, min(num_threads, MAX_PARTITIONS))
        bar = progress_bar("Count n-grams", unit="B", enabled=progress)
        docs = 0
        duplicates = DuplicateEstimate()

        def jobs() -> Iterator[List[Tuple[bytes, np.ndarray]]]:
            nonlocal docs
            for data, offsets, n in self._batches(texts, batch_size, duplicates):
                if docs == 0:  # spread the work of the threads by the first batch's bytes
                    lm.balance(np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256).astype(np.uint64))
                yield [(data, offsets)] * lm.num_partitions  # every partition reads the whole batch
                bar.update(len(data))
                docs += n

        _run_workers(pool, lm.num_partitions, jobs(), lm.count)
        bar.close()
        self.stats["documents"] = docs
        self.stats["duplicate_documents"] = duplicates.fraction
        _warn_of_duplicates(duplicates.fraction, self.min_count)
        self.stats["bytes"] = int(lm.count_of(b""))  # every byte of the chunks
        if self.stats["bytes"] == 0:
            raise ValueError("the corpus has no text to train on")
        self.stats["distinct_ngrams"] = sum(lm.size(j) for j in range(1, self.order + 1))
        self.stats["ngram_memory"] = lm.memory
        return lm

    def _count_pieces(self, texts, lm, pool, num_threads, batch_size, progress) -> Tuple[PackedPieces, np.ndarray]:
        counters = [_training.PieceCounter() for _ in range(num_threads)]
        bar = progress_bar("Count pieces", total=self.stats["bytes"], unit="B", enabled=progress)

        # What the first pass read: the second must read the same.
        first_docs, first_bytes = self.stats["documents"], self.stats["bytes"]
        docs = chunk_bytes = 0

        def jobs() -> Iterator[List[Tuple[bytes, np.ndarray]]]:
            nonlocal docs, chunk_bytes
            for data, offsets, n in self._batches(texts, batch_size):
                docs += n
                chunk_bytes += len(data)
                if docs > first_docs or chunk_bytes > first_bytes:  # no need to read on: it differs already
                    raise _changed_corpus(first_docs, first_bytes, f"more than {first_docs} documents"
                                          if docs > first_docs else f"more than {first_bytes} bytes")
                bounds = PackedPieces(data, offsets).balanced_bounds(num_threads)
                yield [(data, offsets[bounds[w]:bounds[w + 1] + 1]) for w in range(num_threads)]
                bar.update(len(data))

        def count(w: int, data: bytes, offsets: np.ndarray) -> None:
            _training.bnlm_count_pieces(lm, self.ensure_unicode, data, offsets, counters[w])

        _run_workers(pool, num_threads, jobs(), count)
        if (docs, chunk_bytes) != (first_docs, first_bytes):
            raise _changed_corpus(first_docs, first_bytes, f"{docs} documents ({chunk_bytes} bytes)")
        for other in counters[1:]:
            counters[0].merge(other)
        bar.close()
        data, offsets, counts = counters[0].export()
        self.stats["distinct_pieces"] = len(counts)
        self.stats["piece_memory"] = sum(c.memory for c in counters)
        return PackedPieces(data, offsets), counts

    # -- public API --------------------------------------------------------

    def train(self, texts: Iterable[str], workers: int = 1, batch_size: int = 1000,
              progress: Optional[bool] = None, *, num_threads: Optional[int] = None) -> None:
        """Train on ``texts``, a re-iterable of str (it is read twice).

        ``str`` is NFC-normalized; ``bytes`` are taken as they are (then the
        10,000-character chunk cap counts bytes). An iterator (a generator, an
        open file) is refused with a TypeError: it could be read only once.
        The second pass must read the same documents as the first: when its
        count of documents or of bytes differs, training stops with a
        ValueError (a file that changed, a pipe read twice), never with a
        model of the first pass's statistics alone. A ``bytepiece.Corpus``
        reads stdin and pipes twice by copying them to a temporary file.
        ``num_threads`` threads (1 .. ``validation.MAX_THREADS``; no more are
        started than the cores this process may use) run the C passes in
        parallel (the result does not depend on it; ``workers`` is 0.6.3's
        name for it); ``batch_size`` documents are processed per step.
        ``progress`` draws progress lines on stderr (None: if it is a terminal).
        """
        if isinstance(texts, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"texts must be a list of texts (or another re-iterable of them), not one "
                            f"{type(texts).__name__}: each of its characters would be a document; "
                            "pass a list of texts, e.g. [text]")
        num_threads = (check_num_threads(workers, "workers") if num_threads is None
                       else check_num_threads(num_threads))
        # More threads than cores could not run at once: they would only add
        # partitions, counters and queues (the result does not depend on it).
        num_threads = usable_threads(num_threads)
        batch_size = check_int("batch_size", batch_size, 1)
        first_pass = iter(texts)  # the first pass reads this one: __iter__ is called once per pass
        if first_pass is texts:
            raise TypeError(f"texts is an iterator ({type(texts).__name__}), which can be read only once, but "
                            "training reads the corpus twice: pass a list, a bytepiece.Corpus, or another "
                            "re-iterable whose __iter__ starts over (e.g. a class whose __iter__ opens the "
                            "files again)")
        self.stats = {"num_threads": num_threads, "phases": {}}
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=num_threads) as pool:
            with self._phase("count n-grams"):
                lm = self._count_ngrams(first_pass, pool, num_threads, batch_size, progress)
            with self._phase("prune n-grams"):
                finish_language_model(lm, self.min_count, pool)
            with self._phase("count pieces"):
                pieces, counts = self._count_pieces(texts, lm, pool, num_threads, batch_size, progress)
            del lm
            with self._phase("prune pieces"):
                bar = progress_bar("Prune pieces", unit=" passes", enabled=progress)
                counter = with_progress(threaded_counter(pool, num_threads), bar)
                if self.algorithm == "0.6.3":
                    self._models = prune_pieces(pieces, counts, self.max_vocab_size, self.max_piece_length,
                                                self.min_count, counter)
                else:
                    self._models = prune_em(pieces, counts, self.max_vocab_size, self.max_piece_length,
                                            self.min_count, counter)
                bar.close()
        self.pieces = [dict(zip(m.pieces, m.counts)) for m in self._models]
        self.stats["seconds"] = time.perf_counter() - start

    def train_ray(self, source: Any, *, field: Optional[str] = None, whole_file: bool = False,
                  errors: str = "strict", address: Optional[str] = None, num_partitions: Optional[int] = None,
                  max_memory: Optional[int] = None, progress: Optional[bool] = None) -> None:
        """Train on a Ray cluster (``pip install bytepiece[ray]``): the same
        model as :meth:`train` on the same documents, for corpora beyond one
        machine's memory.

        ``source``: file paths, globs or directories that every node can read
        (text with one document per line, JSON lines with ``field``, each
        whole file with ``whole_file``; ``.gz`` and ``.parquet`` too), or a
        ``ray.data.Dataset`` whose column ``field`` (default ``text``) holds the
        documents. The workers read the corpus; it never passes through this
        process. ``address``: the cluster (None: the Ray this process is
        connected to, else a new one on this machine, loopback only).
        ``num_partitions``: how the n-gram and piece tables are split (default
        twice the CPUs). ``max_memory``: the most bytes a worker may hold; the
        run fails early, saying why, when it cannot keep to it.
        """
        from .training.ray_engine import train_on_ray
        from .training.sources import ReadOptions

        self._models, self.stats = train_on_ray(
            self, source, options=ReadOptions(field, whole_file, errors), address=address,
            num_partitions=num_partitions, max_memory=max_memory, progress=progress)
        self.pieces = [dict(zip(m.pieces, m.counts)) for m in self._models]

    def models(self) -> List[Model]:
        """The trained models, one per vocabulary size (largest first)."""
        if not self._models:
            raise ValueError("the trainer has not been trained yet")
        return list(self._models)

    def save_paths(self, path: PathLike) -> List[str]:
        """The files :meth:`save` writes for ``path``: ``path`` for one
        vocabulary size, ``path.SIZE`` for each size when several were asked for."""
        path = os.fspath(path)
        return [path] if len(self.max_vocab_size) == 1 else [f"{path}.{size}" for size in self.max_vocab_size]

    def save(self, path: PathLike) -> List[str]:
        """Write the model(s) as BytePiece 0.6.3 JSON to :meth:`save_paths`
        (each file appears whole or not at all). Returns the paths."""
        models = self.models()
        paths = self.save_paths(path)
        for model, target in zip(models, paths):
            save_model(model, target)
        return paths
