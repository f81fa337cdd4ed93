"""Engine-neutral training steps: count a shard, merge and finish, segment a shard, prune.

Training (docs/spec/training.md) is two map/reduce passes over the corpus
and a pruning step. These functions are those passes' pieces; any engine
that can run functions on shards and move their (picklable) results can
drive them: :mod:`bytepiece.training.ray_engine` does it on Ray, and the
README shows it with ``concurrent.futures`` processes. Every result is
exact, so the model does not depend on how the corpus was cut into shards
or on the number of workers.

    plan = CountingPlan.balanced(order, num_partitions, byte_counts_of_a_sample)
    # pass 1, per shard:     summary, partitions = count_ngrams(plan, texts)
    # reduce, per partition: finished[p] = finish_ngrams(plan, p, [partitions of p from every shard],
    #                                                   total_positions(summaries), min_count)
    # (with a budget on the n-gram model, in two steps: histograms[p], merged[p] = merge_ngrams(plan, p, [...],
    #  min_count); chosen = budgeted_min_count(NgramHistogram.total(histograms), order, budget);
    #  finished[p] = finish_ngrams(plan, p, [merged[p]], positions, chosen); training.budget)
    # pass 2, per shard:     pieces = count_pieces(plan, ngram_model(plan, finished), texts, ...)
    # reduce, per partition: kept[q], dropped[q] = merge_pieces([pieces of q from every shard], ...)
    # prune:                 models = prune(kept, dropped, sizes, counter)

Memory: a shard's tables grow with the shard, a reducer's with its
partition's share of the distinct n-grams (or pieces): no process holds the
whole unpruned table. The finished n-gram model, which every segmenting
worker needs, is a list of flat arrays that :func:`ngram_model` reads in
place, so one copy in shared memory (Ray's object store) serves a machine.
"""
from __future__ import annotations

import os
import zlib
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .. import _core, _training
from .._core import MAX_ORDER, MAX_PARTITIONS
from ..corpus import Corpus, block_documents
from ..model import Model, PackedPieces, pack_pieces
from ..text import TRAINING_CHUNK_CHARS, TRAINING_CHUNK_NEWLINES, TextLike, split_chunks, to_utf8
from .budget import MemoryBoundError, NgramHistogram
from .candidates import (
    CandidateCount, Candidates, Cut, count_substrings, merge_candidates, substring_candidates, top_candidates,
    within_cut,
)
from .pruning import count_tokens, count_tokens_packed, keep_mask, prune_kept
from .registry import TokenCounter

__all__ = [
    "CountingPlan", "ShardSummary", "NgramPartition", "FinishedPartition", "PiecePartition",
    "DuplicateEstimate", "DUPLICATE_WARNING", "chunk_batches", "chunk_field_blocks", "peak_memory", "resident_memory", "check_memory",
    "count_ngrams",
    "total_positions", "numpy_logs", "finish_partition", "finish_ngram_model", "merge_ngrams", "finish_ngrams",
    "ngram_model",
    "DISTINCT_CHUNK_BYTES", "distinct_chunk_bytes", "DistinctChunks", "count_pieces", "merge_pieces", "kept_candidates", "partition_substrings", "merge_substrings",
    "count_partition", "FoundInParts", "prune",
]

#: Documents packed into one C call.
BATCH_DOCUMENTS = 1000


@dataclass(frozen=True)
class CountingPlan:
    """What every task of one training run agrees on: the n-gram ``order``,
    how training chunks are cut (``isolate_digits``), and the partitions:
    ``part_of_byte[b]`` is the partition of the n-grams whose first byte is
    ``b`` (an n-gram and its prefixes always share one), ``num_pieces_partitions``
    the number of partitions of the pieces (by a hash of their bytes)."""

    order: int
    num_partitions: int
    part_of_byte: bytes
    isolate_digits: bool = False
    num_piece_partitions: int = 1

    @classmethod
    def balanced(cls, order: int, num_partitions: int, byte_counts: Optional[np.ndarray] = None,
                 isolate_digits: bool = False, num_piece_partitions: Optional[int] = None) -> "CountingPlan":
        """A plan whose n-gram partitions get about equal work given how often
        each byte occurs (``byte_counts``, 256 entries, e.g. of a sample;
        None: all bytes alike). Pieces get as many partitions as n-grams unless
        ``num_piece_partitions`` says otherwise."""
        if not 1 <= order <= MAX_ORDER:
            raise ValueError(f"order must be in 1..{MAX_ORDER}, got {order}")
        if not 1 <= num_partitions <= MAX_PARTITIONS:
            raise ValueError(f"the number of partitions must be in 1..{MAX_PARTITIONS}, got {num_partitions}")
        counts = np.ones(256, dtype=np.uint64) if byte_counts is None else np.asarray(byte_counts, dtype=np.uint64)
        part_of_byte = _training.balanced_partitions(counts, num_partitions).tobytes()
        return cls(order, num_partitions, part_of_byte, isolate_digits,
                   num_partitions if num_piece_partitions is None else num_piece_partitions)

    def new_ngram_model(self) -> "_training.NgramModel":
        """An empty n-gram model (counts, not yet finished) with this plan's order and partitions."""
        ngram_model = _training.NgramModel(self.order, self.num_partitions)
        ngram_model.assign(np.frombuffer(self.part_of_byte, dtype=np.uint8))
        return ngram_model


@dataclass(frozen=True)
class ShardSummary:
    """What counting a shard tells the driver: documents, byte positions, how
    often each byte occurred (to find the bytes the whole corpus lacks), and
    the peak memory of the process that counted it (bytes)."""

    documents: int
    positions: int
    byte_counts: np.ndarray
    peak_memory: int = 0


@dataclass(frozen=True)
class NgramPartition:
    """The n-gram counts of one partition, of one shard or merged:
    ``keys[j - 1]`` and ``counts[j - 1]`` for n-grams of length ``j``
    (keys pack the bytes little-endian in a uint64)."""

    index: int
    keys: Tuple[np.ndarray, ...]
    counts: Tuple[np.ndarray, ...]

    @property
    def nbytes(self) -> int:
        """Size of the arrays."""
        return sum(a.nbytes for a in self.keys + self.counts)


@dataclass(frozen=True)
class FinishedPartition:
    """One partition of the finished n-gram model: ``tables[j - 1]`` is the
    raw hash table (16-byte slots) of its n-grams of length ``j``."""

    index: int
    tables: Tuple[np.ndarray, ...]


@dataclass(frozen=True)
class PiecePartition:
    """Pieces with counts, one partition (by a hash of the bytes): piece k is
    ``data[offsets[k]:offsets[k + 1]]`` seen ``counts[k]`` times."""

    index: int
    data: bytes
    offsets: np.ndarray
    counts: np.ndarray

    def pieces(self) -> List[bytes]:
        """The pieces as a list."""
        return self.packed().pieces()

    def packed(self) -> PackedPieces:
        """The pieces, packed (no copy)."""
        return PackedPieces(self.data, self.offsets)

    def take(self, rows: np.ndarray, index: Optional[int] = None) -> "PiecePartition":
        """The pieces at ``rows`` with their counts, as partition ``index``
        (by default this one's index)."""
        packed = self.packed().take(rows)
        return PiecePartition(self.index if index is None else index, packed.data, packed.offsets, self.counts[rows])

    def __len__(self) -> int:
        return len(self.counts)

    @staticmethod
    def joined(parts: Sequence["PiecePartition"]) -> Tuple[PackedPieces, np.ndarray]:
        """The pieces of every part, in order, packed together, and their counts (uint64)."""
        counts = np.concatenate([part.counts for part in parts]) if parts else np.zeros(0, dtype=np.uint64)
        return PackedPieces.concatenate([part.packed() for part in parts]), counts


class DuplicateEstimate:
    """The share of documents that repeat an earlier one, estimated from the
    documents whose hash is a multiple of ``rate`` (exact duplicates share
    their hash, so they are sampled together): memory is one hash per
    ``rate`` documents. Duplicated text inflates n-gram counts past
    ``min_count`` and costs compression (about half, for a corpus whose every
    line appears twice), so the trainer warns above :data:`DUPLICATE_WARNING`."""

    def __init__(self, rate: int = 64) -> None:
        self.rate = rate
        self.sampled = 0
        self.repeats = 0
        self._seen: set = set()

    def add(self, text: TextLike) -> None:
        """Note one document."""
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
        h = zlib.crc32(data)  # the same in every process and run, unlike hash()
        if h % self.rate == 0:
            self.sampled += 1
            if h in self._seen:
                self.repeats += 1
            else:
                self._seen.add(h)

    @property
    def fraction(self) -> float:
        """The estimated share of documents that repeat an earlier one."""
        return self.repeats / self.sampled if self.sampled else 0.0


#: The estimated share of duplicate documents above which training warns.
DUPLICATE_WARNING = 0.1


def chunk_batches(texts: Iterable[TextLike], isolate_digits: bool, batch_documents: int = BATCH_DOCUMENTS,
                  duplicates: Optional[DuplicateEstimate] = None) -> Iterable[Tuple[PackedPieces, int]]:
    """The training chunks of ``texts`` (docs/spec/text.md §3), packed, with the
    number of documents, ``batch_documents`` documents at a time; each
    document noted in ``duplicates`` when given."""
    if isolate_digits:  # \d is any Unicode digit: the regular expressions of text.py cut these
        cut = _cut_by_regex
    else:
        cut = _cut_in_c
    batch: List[TextLike] = []
    for text in texts:
        if not isinstance(text, (str, bytes)):
            raise TypeError(f"texts must yield str (or bytes), got {type(text).__name__}")
        batch.append(text)
        if len(batch) == batch_documents:
            yield cut(batch, duplicates), len(batch)
            batch = []
    if batch:
        yield cut(batch, duplicates), len(batch)


def _cut_by_regex(texts: Sequence[TextLike], duplicates: Optional[DuplicateEstimate]) -> PackedPieces:
    chunks: List[bytes] = []
    for text in texts:
        if duplicates is not None:
            duplicates.add(text)
        chunks += split_chunks(text, TRAINING_CHUNK_CHARS, isolate_digits=True)
    return pack_pieces(chunks)


def _cut_in_c(texts: Sequence[TextLike], duplicates: Optional[DuplicateEstimate]) -> PackedPieces:
    """split_chunks(text, TRAINING_CHUNK_CHARS) of each text, packed, with
    no Python object per chunk: NFC and UTF-8 per document, the cuts in C
    (counting characters for str, bytes for bytes, as the patterns do).
    Each document's UTF-8 is noted in ``duplicates`` (no second encoding)."""
    count_characters = np.fromiter((isinstance(t, str) for t in texts), dtype=np.uint8, count=len(texts))
    return _cut_utf8([to_utf8(text) for text in texts], count_characters, duplicates)


def _cut_utf8(encoded: List[bytes], count_characters: np.ndarray,
              duplicates: Optional[DuplicateEstimate]) -> PackedPieces:
    """The training chunks of documents already in UTF-8 (NFC for text),
    cut in C, counting characters where ``count_characters`` is 1."""
    if duplicates is not None:
        for data in encoded:
            duplicates.add(data)
    packed = pack_pieces(encoded)
    offsets = _training.training_chunk_offsets(packed.data, packed.offsets, count_characters,
                                               TRAINING_CHUNK_CHARS, TRAINING_CHUNK_NEWLINES)
    return PackedPieces(packed.data, offsets)


#: Bytes of JSON lines scanned at a time by :func:`chunk_field_blocks`.
FIELD_BLOCK_BYTES = 1 << 20


def chunk_field_blocks(corpus: Corpus, batch_documents: int = BATCH_DOCUMENTS,
                       duplicates: Optional[DuplicateEstimate] = None) -> Iterable[Tuple[PackedPieces, int]]:
    """:func:`chunk_batches` of the documents of ``corpus`` (JSON lines that
    :func:`bytepiece.corpus.field_pipeline_applies` accepts; not for
    ``isolate_digits``), with the same batches, chunks and errors, but the
    field of each line found in C (:func:`bytepiece.corpus.block_documents`)
    instead of by ``json.loads``: a value found there is the UTF-8 of the
    str that ``json.loads`` gives, NFC already, so it is cut counting
    characters, as that str would be."""
    batch: List[bytes] = []
    for block in corpus.line_blocks(FIELD_BLOCK_BYTES):
        for text in block_documents(corpus, block, True):
            batch.append(text if type(text) is bytes else to_utf8(text))
            if len(batch) == batch_documents:
                yield _cut_utf8(batch, np.ones(len(batch), dtype=np.uint8), duplicates), len(batch)
                batch = []
    if batch:
        yield _cut_utf8(batch, np.ones(len(batch), dtype=np.uint8), duplicates), len(batch)


def peak_memory() -> int:
    """The peak resident memory of this process so far, in bytes (0 where unknown)."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def resident_memory() -> int:
    """The resident memory of this process now, in bytes (0 where unknown)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def check_memory(limit: Optional[int], what: str) -> None:
    """Raise MemoryBoundError (a MemoryError), saying what to change, when
    this process holds more than ``limit`` bytes."""
    if limit is None:
        return
    used = resident_memory()
    if used > limit:
        raise MemoryBoundError(f"{what} holds {used / 1e9:.2f} GB, more than the memory bound of {limit / 1e9:.2f} GB: "
                          "raise max_memory, or use more partitions or a larger min_count")


def count_ngrams(plan: CountingPlan, texts: Iterable[TextLike],
                 memory_limit: Optional[int] = None) -> Tuple[ShardSummary, List[NgramPartition]]:
    """Pass 1 on one shard: its summary and its n-gram counts, one
    :class:`NgramPartition` per partition of the plan. With ``memory_limit``
    (bytes), a MemoryError once this process holds more."""
    ngram_model = plan.new_ngram_model()
    docs = 0
    byte_counts = np.zeros(256, dtype=np.uint64)
    for packed, n in chunk_batches(texts, plan.isolate_digits):
        for p in range(plan.num_partitions):
            ngram_model.count(p, packed.data, packed.offsets)
        byte_counts += np.bincount(np.frombuffer(packed.data, dtype=np.uint8), minlength=256).astype(np.uint64)
        docs += n
        check_memory(memory_limit, "counting the n-grams of a shard")
    parts = []
    for p in range(plan.num_partitions):
        exported = [ngram_model.export_counts(p, j) for j in range(1, plan.order + 1)]
        parts.append(NgramPartition(p, tuple(k for k, _ in exported), tuple(c for _, c in exported)))
    summary = ShardSummary(docs, int(ngram_model.positions), byte_counts, peak_memory())
    return summary, parts


def total_positions(summaries: Sequence[ShardSummary]) -> int:
    """The count of the empty n-gram over the corpus: every byte position, plus
    one for each byte value the corpus lacks (it is added with count 1)."""
    byte_counts = sum((s.byte_counts for s in summaries), np.zeros(256, dtype=np.uint64))
    return sum(s.positions for s in summaries) + int(np.count_nonzero(byte_counts == 0))


#: Counts below this take numpy's logarithm from one dense table (512 KB);
#: the few larger ones are listed by the C core (docs/spec/training.md §2).
SMALL_LOG_COUNTS = 1 << 16


def numpy_logs(ngram_model: "_training.NgramModel", partition: int,
               min_count: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy's logarithm of every count that finishing ``partition`` takes,
    as the table :meth:`NgramModel.finish_partition` reads: BytePiece 0.6.3
    took ``np.log`` of each count, which on some machines (AVX-512) differs
    from the C library's ``log()`` by one ulp for a few integers, and one ulp
    decides exact ties of the segmentation Viterbi."""
    with np.errstate(divide="ignore"):  # log(0), never read
        small = np.log(np.arange(SMALL_LOG_COUNTS, dtype=np.float64))
    large = ngram_model.large_counts(partition, min_count, SMALL_LOG_COUNTS)
    return small, large, np.log(large.astype(np.float64))


def finish_partition(ngram_model: "_training.NgramModel", partition: int, min_count: int) -> None:
    """Prune ``partition`` below ``min_count`` and turn its counts into
    log-probabilities with numpy's logarithms (:func:`numpy_logs`), after its
    missing bytes were added and with the corpus-wide positions."""
    ngram_model.finish_partition(partition, min_count, numpy_logs(ngram_model, partition, min_count))


def finish_ngram_model(ngram_model: "_training.NgramModel", min_count: int, pool: Optional[Executor] = None) -> None:
    """What C's ``bp_ngrams_finish`` does (missing bytes, pruning,
    log-probabilities), with numpy's logarithms: 0.6.3's model bit for bit on
    the machine it runs on. The binding offers no libm shortcut, so that
    every trainer finishes this way. With a thread ``pool`` the partitions
    are finished concurrently (the C calls release the GIL)."""
    for partition in range(ngram_model.num_partitions):
        ngram_model.add_missing_bytes(partition)
    if pool is None:
        for partition in range(ngram_model.num_partitions):
            finish_partition(ngram_model, partition, min_count)
        return
    futures = [pool.submit(finish_partition, ngram_model, p, min_count) for p in range(ngram_model.num_partitions)]
    for future in futures:
        future.result()


def _merged_ngrams(plan: CountingPlan, index: int, parts: Sequence[NgramPartition],
                   memory_limit: Optional[int]) -> "_training.NgramModel":
    """The sum of the counts of ``parts``, all of partition ``index``."""
    ngram_model = plan.new_ngram_model()
    for part in parts:
        if part.index != index:
            raise ValueError(f"partition {part.index} given to the reducer of partition {index}")
        for j in range(1, plan.order + 1):
            ngram_model.add_counts(index, j, part.keys[j - 1], part.counts[j - 1])
        check_memory(memory_limit, f"merging n-gram partition {index}")
    return ngram_model


def merge_ngrams(plan: CountingPlan, index: int, parts: Sequence[NgramPartition], min_count: int,
                 memory_limit: Optional[int] = None) -> Tuple[NgramHistogram, NgramPartition]:
    """Reduce of pass 1 for partition ``index`` when the n-gram model has a
    budget (:mod:`.budget`): the histogram of its counts from ``min_count``
    (the option's) on, and the sum of the shards' counts without the n-grams
    longer than a byte counted fewer than ``min_count`` times (no min_count
    the budget chooses keeps them). :func:`finish_ngrams` of that one merged
    partition then finishes it with the min_count chosen from the sum of
    every partition's histogram, as it would have finished the shards' counts."""
    ngram_model = _merged_ngrams(plan, index, parts, memory_limit)
    histogram = NgramHistogram.of_partition(ngram_model, index, min_count)
    keys: List[np.ndarray] = []
    counts: List[np.ndarray] = []
    for j in range(1, plan.order + 1):
        k, c = ngram_model.export_counts(index, j)
        if j > 1:
            kept = c >= min_count
            k, c = k[kept], c[kept]
        keys.append(k)
        counts.append(c)
    return histogram, NgramPartition(index, tuple(keys), tuple(counts))


def finish_ngrams(plan: CountingPlan, index: int, parts: Sequence[NgramPartition], positions: int,
                  min_count: int, memory_limit: Optional[int] = None) -> FinishedPartition:
    """Reduce of pass 1 for partition ``index``: the sum of the shards' counts,
    pruned below ``min_count`` and turned into log-probabilities, with
    ``positions`` the corpus-wide :func:`total_positions`."""
    ngram_model = _merged_ngrams(plan, index, parts, memory_limit)
    added = ngram_model.add_missing_bytes(index)
    ngram_model.add_positions(positions - added)
    finish_partition(ngram_model, index, min_count)
    return FinishedPartition(index, tuple(ngram_model.export_table(index, j) for j in range(1, plan.order + 1)))


def ngram_model(plan: CountingPlan, finished: Sequence[FinishedPartition]) -> "_training.NgramModel":
    """The finished n-gram model over every partition's tables, read in
    place (the arrays may live in read-only shared memory)."""
    by_index = {f.index: f for f in finished}
    if sorted(by_index) != list(range(plan.num_partitions)):
        raise ValueError(f"an n-gram model needs all {plan.num_partitions} finished partitions once each")
    tables = [by_index[p].tables[j] for j in range(plan.order) for p in range(plan.num_partitions)]
    return _training.NgramModel(plan.order, plan.num_partitions, tables=tables,
                                part_of_byte=np.frombuffer(plan.part_of_byte, dtype=np.uint8))


def _split_pieces(counter: "_training.PieceCounter", num_partitions: int) -> List[PiecePartition]:
    found = PiecePartition(0, *counter.export())
    which = counter.partitions(num_partitions)
    return [found.take(np.flatnonzero(which == q), q) for q in range(num_partitions)]


#: Most bytes (PieceCounter.memory) of distinct chunks that one pass-2 counter
#: gathers before segmenting them: each distinct chunk is segmented once per
#: gathering, its pieces counted as often as it occurred. Real corpora repeat
#: whole lines (22% of the development corpus's bytes, 43% of kernel sources').
DISTINCT_CHUNK_BYTES = 32 << 20


def distinct_chunk_bytes(max_memory: Optional[int], num_threads: int = 1) -> int:
    """The bound of each of ``num_threads`` :class:`DistinctChunks`:
    :data:`DISTINCT_CHUNK_BYTES`, or under a memory bound (bytes) at most
    their share of a sixteenth of it."""
    if max_memory is None:
        return DISTINCT_CHUNK_BYTES
    return min(DISTINCT_CHUNK_BYTES, max_memory // (16 * num_threads))


class DistinctChunks:
    """Pass 2 with repeated chunks segmented once: :meth:`add` gathers the
    chunks by value, with their number of occurrences; once they hold more
    than ``max_bytes`` (and at :meth:`flush`) each distinct one is segmented
    with ``ngram_model`` and its pieces added to ``counter`` that many times.
    The counts are those of segmenting every chunk, and the pieces enter
    ``counter`` in the same order (the BNLM Viterbi of a chunk depends on its
    bytes only). One per thread: not thread-safe."""

    def __init__(self, ngram_model: "_training.NgramModel", ensure_unicode: bool,
                 counter: "_training.PieceCounter", max_bytes: int = DISTINCT_CHUNK_BYTES) -> None:
        self.ngram_model = ngram_model
        self.ensure_unicode = ensure_unicode
        self.counter = counter
        self.max_bytes = max_bytes
        self.chunks = _training.PieceCounter()
        self.peak_memory = 0  # the most bytes the gathered chunks held

    def add(self, data: bytes, offsets: np.ndarray) -> None:
        """Gather the chunks data[offsets[k]:offsets[k+1]], segmenting what
        was gathered when it passes ``max_bytes``."""
        self.chunks.add_each(data, offsets)
        if self.chunks.memory > self.max_bytes:
            self.flush()

    def flush(self) -> None:
        """Segment the gathered chunks, count their pieces, and start over."""
        self.peak_memory = max(self.peak_memory, self.chunks.memory)
        if len(self.chunks):
            data, offsets, counts = self.chunks.export()
            self.chunks = _training.PieceCounter()
            _training.bnlm_count_pieces(self.ngram_model, self.ensure_unicode, data, offsets, self.counter, counts)


def count_pieces(plan: CountingPlan, ngram_model: "_training.NgramModel", texts: Iterable[TextLike],
                 ensure_unicode: bool = True, memory_limit: Optional[int] = None) -> Tuple[ShardSummary, List[PiecePartition]]:
    """Pass 2 on one shard: segment it with the finished ``ngram_model`` (BNLM
    Viterbi) and count the pieces, one :class:`PiecePartition` per piece
    partition of the plan."""
    counter = _training.PieceCounter()
    chunks = DistinctChunks(ngram_model, ensure_unicode, counter, distinct_chunk_bytes(memory_limit))
    docs, positions = 0, 0
    for packed, n in chunk_batches(texts, plan.isolate_digits):
        chunks.add(packed.data, packed.offsets)
        docs += n
        positions += len(packed.data)
        check_memory(memory_limit, "counting the pieces of a shard")
    chunks.flush()
    summary = ShardSummary(docs, positions, np.zeros(256, dtype=np.uint64), peak_memory())
    return summary, _split_pieces(counter, plan.num_piece_partitions)


def merge_pieces(parts: Sequence[PiecePartition], max_piece_length: int, min_count: int,
                 memory_limit: Optional[int] = None) -> Tuple[PiecePartition, PiecePartition]:
    """Reduce of pass 2 for one piece partition: the summed counts, split into
    the pieces that stay (single bytes, and pieces of at most
    ``max_piece_length`` bytes seen ``min_count`` times) and those dropped."""
    counter = _training.PieceCounter()
    index = parts[0].index if parts else 0
    for part in parts:
        counter.add_packed(part.data, part.offsets, part.counts)
        check_memory(memory_limit, f"merging piece partition {index}")
    merged = PiecePartition(index, *counter.export())
    kept = keep_mask(merged.packed(), merged.counts, max_piece_length, min_count)
    return merged.take(np.flatnonzero(kept)), merged.take(np.flatnonzero(~kept))


def kept_candidates(kept: PiecePartition, limit: Optional[int]) -> Candidates:
    """A kept partition's share of :meth:`FoundPieces.kept`: its single bytes
    and the ``limit`` longer pieces that rank first (merge the partitions'
    with :func:`~bytepiece.training.candidates.merge_candidates`)."""
    return top_candidates(kept.packed(), kept.counts, limit)


def partition_substrings(kept: PiecePartition, max_length: int, num_partitions: int) -> List[PiecePartition]:
    """The map of "em"'s candidates (docs/spec/training.md §8.1, §9) on one
    kept partition: the substrings of its pieces counted, one
    :class:`PiecePartition` per substring partition (by the hash of pieces)."""
    return [PiecePartition(r, part.data, part.offsets, counts) for r, (part, counts)
            in enumerate(count_substrings(kept.packed(), kept.counts, max_length, num_partitions))]


def merge_substrings(parts: Sequence[PiecePartition], min_count: int, limit: Optional[int]) -> Candidates:
    """The reduce of "em"'s candidates for one substring partition: the
    counts of every kept partition's ``parts`` summed, those counted at least
    ``min_count`` times cut to the first ``limit``, and the single bytes
    (merge the substring partitions' with
    :func:`~bytepiece.training.candidates.merge_candidates`)."""
    return substring_candidates([(part.packed(), part.counts) for part in parts], min_count, limit)


def count_partition(segmenter: "_core.Segmenter", num_pieces: int, kept: Optional[PiecePartition],
                    dropped: Optional[PiecePartition], cut: Optional[Cut] = None) -> np.ndarray:
    """Pruning's re-tokenizing of one piece partition: the token totals
    (uint64, one per vocabulary piece) of the pieces of ``dropped`` and of
    ``kept`` (only those past ``cut``, when given) under the vocabulary of
    ``num_pieces`` pieces in canonical order whose ``segmenter``
    (:func:`bytepiece.training.pruning.canonical_segmenter`) is given."""
    totals = np.zeros(num_pieces, dtype=np.uint64)
    if kept is not None:
        part = kept if cut is None else kept.take(np.flatnonzero(~within_cut(kept.packed(), kept.counts, cut)))
        totals += count_tokens_packed(segmenter, num_pieces, part.packed(), part.counts)
    if dropped is not None:
        totals += count_tokens_packed(segmenter, num_pieces, dropped.packed(), dropped.counts)
    return totals


class FoundInParts:
    """:class:`FoundPieces` over piece partitions held in this process, each
    kept partition with the dropped one of the same index (as
    :func:`merge_pieces` returns them): the candidates chosen partition by
    partition and merged, every re-tokenizing partition by partition, as an
    engine that keeps them on workers does. ``counter`` re-tokenizes each
    partition and what an algorithm asks of :meth:`count_tokens`."""

    def __init__(self, kept: Sequence[PiecePartition], dropped: Sequence[PiecePartition],
                 counter: TokenCounter = count_tokens) -> None:
        self.parts = list(zip(kept, dropped))
        self.counter = counter
        self.candidates: Optional[CandidateCount] = None

    def kept(self, limit: Optional[int] = None) -> Candidates:
        """The kept pieces of every partition within the cap ``limit``."""
        chosen = merge_candidates((kept_candidates(kept, limit) for kept, _ in self.parts), limit)
        self.candidates = CandidateCount.of(chosen)
        return chosen

    def substrings(self, max_length: int, min_count: int, limit: Optional[int] = None) -> Candidates:
        """The substrings of the kept pieces as candidates, counted per partition and merged."""
        counted = [partition_substrings(kept, max_length, len(self.parts)) for kept, _ in self.parts]
        chosen = merge_candidates((merge_substrings([c[r] for c in counted], min_count, limit)
                                   for r in range(len(self.parts))), limit)
        self.candidates = CandidateCount.of(chosen)
        return chosen

    def count_tokens(self, vocabulary: Model, texts: PackedPieces, weights: np.ndarray) -> np.ndarray:
        """``counter``."""
        return self.counter(vocabulary, texts, weights)

    def _summed(self, vocabulary: Model, with_kept: bool, cut: Optional[Cut]) -> np.ndarray:
        totals = np.zeros(vocabulary.num_pieces, dtype=np.uint64)
        for kept, dropped in self.parts:
            if with_kept:
                part = kept if cut is None else kept.take(np.flatnonzero(~within_cut(kept.packed(), kept.counts, cut)))
                if len(part):
                    totals += self.counter(vocabulary, part.packed(), part.counts)
            if len(dropped):
                totals += self.counter(vocabulary, dropped.packed(), dropped.counts)
        return totals

    def count_dropped(self, vocabulary: Model, cut: Optional[Cut] = None) -> np.ndarray:
        """The dropped pieces' totals, and the kept ones' past ``cut``."""
        return self._summed(vocabulary, cut is not None, cut)

    def count_found(self, vocabulary: Model) -> np.ndarray:
        """Every found piece's totals."""
        return self._summed(vocabulary, True, None)


def prune(kept: Sequence[PiecePartition], dropped: Sequence[PiecePartition], sizes: Sequence[int],
          counter: TokenCounter = count_tokens, max_candidates: Optional[int] = None) -> List[Model]:
    """The vocabularies of each size (largest first) from every partition's
    kept and dropped pieces (docs/spec/training.md §4-5), starting from the
    kept pieces within ``max_candidates`` (None: all; §9); ``counter``
    re-tokenizes pieces, and may spread that work over workers. Any algorithm runs on the same partitions as
    ``get_algorithm(name).load()(FoundInParts(kept, dropped), options)``."""
    return prune_kept(FoundInParts(kept, dropped, counter), sizes, max_candidates)
