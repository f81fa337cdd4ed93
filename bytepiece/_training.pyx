# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Binding of the trainer's core (csrc/bp_ngram, bp_bnlm, bp_pieces; training chunks of bp_chunk.h).

Each pass over a batch of chunks is one C call with the GIL released; the
Python layer (bytepiece/trainer.py) schedules them on threads.
"""
from libc.stdint cimport uint8_t, int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE

from bytepiece._csrc cimport *

import numpy as np


def training_chunk_offsets(bytes data not None, const int64_t[::1] doc_offsets not None,
                           const uint8_t[::1] count_characters not None, size_t max_units, size_t max_newlines):
    """The offsets (int64, from 0 to len(data)) of the training chunks of the
    documents data[doc_offsets[k]:doc_offsets[k+1]], each cut by
    bp_training_chunk_end, in characters where count_characters[k] (UTF-8
    of a str) else in bytes. Chunks never cross documents; an empty
    document has none."""
    cdef Py_ssize_t k, pass_, num_docs = doc_offsets.shape[0] - 1
    if num_docs < 0 or count_characters.shape[0] != num_docs:
        raise ValueError("doc_offsets needs one entry more than count_characters")
    check_within(data, doc_offsets)
    for k in range(num_docs):
        if doc_offsets[k + 1] < doc_offsets[k]:
            raise ValueError("doc_offsets must not decrease")
    if max_units < 1 or max_newlines < 1:
        raise ValueError("max_units and max_newlines must be at least 1")
    cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
    cdef size_t begin, at, end, count = 0
    cdef int64_t[::1] view
    out = None
    for pass_ in range(2):  # count, then fill
        if pass_ == 1:
            out = np.empty(count + 1, dtype=np.int64)
            view = out
            view[0] = 0
        count = 0
        with nogil:
            for k in range(num_docs):
                begin = <size_t>doc_offsets[k]
                end = <size_t>doc_offsets[k + 1]
                at = begin
                while at < end:  # bp_training_chunk_end works within the document: offsets from its start
                    at = begin + bp_training_chunk_end(raw + begin, end - begin, at - begin, max_units, max_newlines,
                                                       count_characters[k])
                    count += 1
                    if pass_ == 1:
                        view[count] = <int64_t>at
    return out


def balanced_partitions(const uint64_t[::1] byte_counts not None, int num_partitions):
    """A map of the 256 first bytes to partitions with about equal work (uint8[256])."""
    if byte_counts.shape[0] != 256:
        raise ValueError("byte_counts must have 256 entries")
    out = np.empty(256, dtype=np.uint8)
    cdef uint8_t[::1] view = out
    check(bp_balance_partitions(&byte_counts[0], num_partitions, &view[0]), "cannot balance the partitions")
    return out


cdef class NgramModel:
    """Byte n-gram counts, then conditional log-probabilities (bp_ngram.h).

    ``count`` on distinct partitions may run in parallel threads. With
    ``tables`` (and ``part_of_byte``), a finished model that reads exported
    tables in place (:meth:`export_table`; one array per (length, partition),
    length-major), keeping them alive.
    """

    cdef bp_ngrams *ngrams
    cdef readonly int order
    cdef readonly int num_partitions
    cdef object tables  # the arrays a view reads

    def __cinit__(self, int order, int num_partitions=1, tables=None, part_of_byte=None):
        if not 1 <= order <= BP_MAX_ORDER:
            raise ValueError(f"order must be in 1..{BP_MAX_ORDER}, got {order}")
        if not 1 <= num_partitions <= BP_MAX_PARTITIONS:
            raise ValueError(f"num_partitions must be in 1..{BP_MAX_PARTITIONS}, got {num_partitions}")
        self.order = order
        self.num_partitions = num_partitions
        if tables is None:
            check(bp_ngrams_new(order, num_partitions, &self.ngrams), "cannot allocate the n-gram tables")
            return
        self._view(list(tables), part_of_byte)

    cdef _view(self, list tables, part_of_byte):
        cdef Py_ssize_t k, n = self.order * self.num_partitions
        if len(tables) != n:
            raise ValueError(f"a model of order {self.order} with {self.num_partitions} partitions has {n} tables")
        cdef const uint8_t[::1] map_view = np.ascontiguousarray(part_of_byte, dtype=np.uint8)
        if map_view.shape[0] != 256:
            raise ValueError("part_of_byte must have 256 entries")
        self.tables = [np.ascontiguousarray(t).view(np.uint8) for t in tables]
        cdef const void **pointers = <const void **>malloc(n * sizeof(void *))
        cdef size_t *capacities = <size_t *>malloc(n * sizeof(size_t))
        cdef const uint8_t[::1] table
        cdef int rc
        try:
            if pointers == NULL or capacities == NULL:
                raise MemoryError()
            for k in range(n):
                table = self.tables[k]
                if table.shape[0] == 0 or table.shape[0] % 16:
                    raise ValueError("a table must hold whole 16-byte slots")
                pointers[k] = &table[0]
                capacities[k] = table.shape[0] // 16
            with nogil:
                rc = bp_ngrams_view(self.order, self.num_partitions, &map_view[0], pointers, capacities,
                                    &self.ngrams)
            check(rc, "not a valid exported n-gram model")
        finally:
            free(pointers)
            free(capacities)

    def assign(self, const uint8_t[::1] part_of_byte not None):
        """Use this map of first bytes to partitions (before counting)."""
        if part_of_byte.shape[0] != 256:
            raise ValueError("part_of_byte must have 256 entries")
        check(bp_ngrams_assign(self.ngrams, &part_of_byte[0]), "cannot assign the partitions now")

    def partition_map(self):
        """The partition of each first byte (uint8[256])."""
        out = np.empty(256, dtype=np.uint8)
        cdef uint8_t[::1] view = out
        bp_ngrams_partition_map(self.ngrams, &view[0])
        return out

    @property
    def positions(self):
        """The count of the empty n-gram (byte positions) so far."""
        return bp_ngrams_positions(self.ngrams)

    def add_positions(self, uint64_t positions):
        """Add byte positions counted elsewhere (merging shards)."""
        check(bp_ngrams_add_positions(self.ngrams, positions), "cannot add positions")

    def export_counts(self, int partition, int length):
        """(keys uint64, counts uint64) of one partition and length, before finishing."""
        cdef size_t n = bp_ngrams_partition_size(self.ngrams, partition, length)
        keys = np.empty(n, dtype=np.uint64)
        counts = np.empty(n, dtype=np.uint64)
        cdef uint64_t[::1] k = keys
        cdef uint64_t[::1] c = counts
        cdef int rc
        with nogil:
            rc = bp_ngrams_export_counts(self.ngrams, partition, length, &k[0] if n else NULL, &c[0] if n else NULL)
        check(rc, "cannot export the counts")
        return keys, counts

    def add_counts(self, int partition, int length, const uint64_t[::1] keys not None,
                   const uint64_t[::1] counts not None):
        """Add exported counts (the merge of shards)."""
        if keys.shape[0] != counts.shape[0]:
            raise ValueError("keys and counts must have the same length")
        cdef size_t n = keys.shape[0]
        cdef int rc
        with nogil:
            rc = bp_ngrams_add_counts(self.ngrams, partition, length, &keys[0] if n else NULL,
                                      &counts[0] if n else NULL, n)
        check(rc, "cannot merge n-gram counts")

    def add_missing_bytes(self, int partition):
        """Give count 1 to the unseen bytes of a partition; how many there were."""
        cdef size_t added = 0
        check(bp_ngrams_add_missing_bytes(self.ngrams, partition, &added), "cannot add the missing bytes")
        return added

    def finish_partition(self, int partition, uint64_t min_count, logs not None):
        """Prune and turn counts into log-probabilities in one partition.
        ``logs`` is ``(small, large_counts, large_logs)``: log(c) is small[c]
        below len(small), else the entry of c in the sorted large_counts (see
        :meth:`large_counts`; training.primitives.numpy_logs fills it)."""
        cdef int rc
        cdef bp_log_table table
        cdef const double[::1] small
        cdef const uint64_t[::1] large_counts
        cdef const double[::1] large_logs
        small, large_counts, large_logs = logs
        if large_counts.shape[0] != large_logs.shape[0]:
            raise ValueError("large_counts and large_logs must have the same length")
        table.small = &small[0] if small.shape[0] else NULL
        table.num_small = small.shape[0]
        table.large_counts = &large_counts[0] if large_counts.shape[0] else NULL
        table.large_logs = &large_logs[0] if large_logs.shape[0] else NULL
        table.num_large = large_counts.shape[0]
        with nogil:
            rc = bp_ngrams_finish_partition_logs(self.ngrams, partition, min_count, &table)
        check(rc, "n-gram pruning failed (a count missing from the log table?)")

    def large_counts(self, int partition, uint64_t min_count, uint64_t threshold):
        """The sorted distinct counts >= threshold whose logarithms finishing
        ``partition`` takes (after add_missing_bytes), as uint64."""
        cdef size_t n = 0
        check(bp_ngrams_large_counts(self.ngrams, partition, min_count, threshold, NULL, 0, &n),
              "cannot list the counts")
        out = np.empty(n, dtype=np.uint64)
        cdef uint64_t[::1] view = out
        cdef size_t again = 0
        if n:
            check(bp_ngrams_large_counts(self.ngrams, partition, min_count, threshold, &view[0], n, &again),
                  "cannot list the counts")
        return out

    def count_histogram(self, int partition, int length, uint64_t min_count, uint64_t cap):
        """(values, num_ngrams), both uint64: the distinct counts (ascending,
        min_count..cap) of the n-grams of ``length`` (2..order) in
        ``partition`` counted at least ``min_count`` times, those counted
        ``cap`` times or more under ``cap``, and how many n-grams have each;
        before finishing. The partitions' histograms add
        (bp_ngrams_count_histogram)."""
        cdef size_t n = 0, again = 0
        cdef int rc
        with nogil:
            rc = bp_ngrams_count_histogram(self.ngrams, partition, length, min_count, cap, NULL, NULL, 0, &n)
        check(rc, "cannot make the histogram of the counts")
        values = np.empty(n, dtype=np.uint64)
        num_ngrams = np.empty(n, dtype=np.uint64)
        cdef uint64_t[::1] v = values
        cdef uint64_t[::1] c = num_ngrams
        if n:
            with nogil:
                rc = bp_ngrams_count_histogram(self.ngrams, partition, length, min_count, cap, &v[0], &c[0], n,
                                               &again)
            check(rc, "cannot make the histogram of the counts")
        return values, num_ngrams

    def export_table(self, int partition, int length):
        """The finished table of one partition and length, as raw 16-byte slots (uint8 array)."""
        cdef size_t capacity = bp_ngrams_table_capacity(self.ngrams, partition, length)
        if capacity == 0:
            raise ValueError("the partition is not finished")
        out = np.empty(capacity * 16, dtype=np.uint8)
        cdef uint8_t[::1] view = out
        cdef int rc
        with nogil:
            rc = bp_ngrams_export_table(self.ngrams, partition, length, &view[0])
        check(rc, "cannot export the table")
        return out

    def __dealloc__(self):
        bp_ngrams_free(self.ngrams)

    def count(self, int partition, bytes data not None, const int64_t[::1] offsets not None):
        """Count the n-grams of partition ``partition`` in the chunks of ``data``."""
        check_within(data, offsets)
        cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
        cdef size_t num_chunks = offsets.shape[0] - 1
        cdef int rc
        with nogil:
            rc = bp_ngrams_count(self.ngrams, partition, raw, &offsets[0], num_chunks)
        check(rc, "n-gram counting failed")

    def buffer(self, size_t max_positions):
        """Count by sorting (before the first count): each partition buffers
        its positions, at most ``max_positions`` before adding them to its
        tables, until :meth:`settle` (bp_ngrams_buffer)."""
        if max_positions < 1:
            raise ValueError(f"max_positions must be at least 1, got {max_positions}")
        check(bp_ngrams_buffer(self.ngrams, max_positions), "buffer() must come once, before the first count()")

    def settle(self, int partition, uint64_t min_count):
        """Count what ``partition`` buffered; when that was all of its text,
        keep only the n-grams longer than a byte counted at least
        ``min_count`` times (bp_ngrams_settle). Releases the GIL."""
        if not 0 <= partition < self.num_partitions:
            raise ValueError(f"partition must be in 0..{self.num_partitions - 1}, got {partition}")
        cdef int rc
        with nogil:
            rc = bp_ngrams_settle(self.ngrams, partition, min_count)
        check(rc, "cannot settle the partition (not buffered, settled already, or min_count 0)")

    def distinct(self, int length):
        """Distinct n-grams of this length counted: stored, and those settling did not keep."""
        return bp_ngrams_distinct(self.ngrams, length)

    @property
    def buffer_peak(self):
        """The largest bytes the buffers held, summed over the partitions."""
        return bp_ngrams_buffer_peak(self.ngrams)

    def balance(self, const uint64_t[::1] byte_counts not None):
        """Spread first bytes over partitions by frequency (before counting; speed only)."""
        if byte_counts.shape[0] != 256:
            raise ValueError("byte_counts must have 256 entries")
        if bp_ngrams_balance(self.ngrams, &byte_counts[0]) != BP_OK:
            raise ValueError("balance() must come before the first count()")

    def count_of(self, bytes ngram not None):
        """Raw count of an n-gram (length 0..order) before finishing."""
        return bp_ngrams_get_count(self.ngrams, <const uint8_t *>PyBytes_AS_STRING(ngram), len(ngram))

    def logprob(self, bytes ngram not None):
        """log c(k) - log c(k[:-1]) once finished; -inf if pruned or unseen."""
        return bp_ngrams_logprob(self.ngrams, <const uint8_t *>PyBytes_AS_STRING(ngram), len(ngram))

    def size(self, int length):
        """Distinct n-grams of this length."""
        return bp_ngrams_size(self.ngrams, length)

    @property
    def memory(self):
        """Bytes held by the hash tables and the buffers."""
        return bp_ngrams_memory(self.ngrams)

    @property
    def growth_reserve(self):
        """While counting: the bytes the tables past half full would add while
        each doubles (bp_ngrams_growth_reserve); memory + this bounds the next
        count's peak."""
        return bp_ngrams_growth_reserve(self.ngrams)


#: The largest cap of NgramModel.count_histogram.
HISTOGRAM_MAX_CAP = BP_NGRAM_HISTOGRAM_MAX_CAP


def finished_bytes_bound(int order, int num_partitions, uint64_t kept):
    """An upper bound of the bytes of the finished tables of an n-gram model
    of ``order`` over ``num_partitions`` partitions that keeps ``kept``
    n-grams longer than a byte (bp_ngrams_finished_bytes_bound)."""
    cdef uint64_t bound = bp_ngrams_finished_bytes_bound(order, num_partitions, kept)
    if bound == 0:
        raise ValueError(f"no n-gram model has order {order} and {num_partitions} partitions")
    return bound


cdef const uint8_t *_packed_bytes(bytes data, const int64_t[::1] offsets, size_t n, str per) except NULL:
    """The bytes of n packed texts data[offsets[k]:offsets[k+1]], after checking
    that offsets has one entry more than ``per`` (n of them) and lies within data."""
    if offsets.shape[0] != <Py_ssize_t>n + 1:
        raise ValueError(f"offsets must have one entry more than {per}")
    check_within(data, offsets)
    return <const uint8_t *>PyBytes_AS_STRING(data)


cdef class PieceCounter:
    """Counts of byte strings (bp_pieces.h); one per thread, merged at the end."""

    cdef bp_piece_counts *counts

    def __cinit__(self):
        check(bp_piece_counts_new(&self.counts), "cannot allocate a piece counter")

    def __dealloc__(self):
        bp_piece_counts_free(self.counts)

    def __len__(self):
        return bp_piece_counts_size(self.counts)

    @property
    def memory(self):
        """Bytes held."""
        return bp_piece_counts_memory(self.counts)

    def add(self, bytes piece not None, uint64_t count=1):
        """Add ``count`` to ``piece``."""
        check(bp_piece_counts_add(self.counts, <const uint8_t *>PyBytes_AS_STRING(piece), len(piece), count),
              "cannot count the piece")

    def add_packed(self, bytes data not None, const int64_t[::1] offsets not None,
                   const uint64_t[::1] counts not None):
        """Add counts[k] to piece data[offsets[k]:offsets[k+1]] for each k."""
        cdef size_t n = counts.shape[0]
        cdef const uint8_t *raw = _packed_bytes(data, offsets, n, "counts")
        cdef int rc
        with nogil:
            rc = bp_piece_counts_add_packed(self.counts, raw, &offsets[0], &counts[0] if n else NULL, n)
        check(rc, "cannot merge piece counts")

    def add_each(self, bytes data not None, const int64_t[::1] offsets not None):
        """Add 1 to each non-empty text data[offsets[k]:offsets[k+1]] (GIL released)."""
        check_within(data, offsets)
        cdef size_t n = offsets.shape[0] - 1
        cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
        cdef int rc
        with nogil:
            rc = bp_piece_counts_add_each(self.counts, raw, &offsets[0], n)
        check(rc, "cannot count the chunks")

    def add_substrings(self, bytes data not None, const int64_t[::1] offsets not None,
                       const uint64_t[::1] weights not None, size_t min_length, size_t max_length,
                       uint32_t num_partitions=1, uint32_t partition=0):
        """Add weights[k] to every substring of min_length..max_length bytes on
        character boundaries of text data[offsets[k]:offsets[k+1]] (and to the
        text when longer): the "em" trainer's candidates (bp_pieces.h). Only
        those of ``partition`` of ``num_partitions`` (the rule of
        :meth:`partitions`) are counted."""
        cdef size_t n = weights.shape[0]
        cdef const uint8_t *raw = _packed_bytes(data, offsets, n, "weights")
        cdef int rc
        if partition >= num_partitions:
            raise ValueError(f"partition {partition} of {num_partitions} does not exist")
        with nogil:
            rc = bp_piece_counts_add_substrings(self.counts, raw, &offsets[0], &weights[0] if n else NULL, n,
                                                min_length, max_length, num_partitions, partition)
        check(rc, "cannot count the substrings")

    def partitions(self, uint32_t num_partitions):
        """The partition of each piece, in export order (uint32): a hash of its bytes."""
        cdef size_t n = bp_piece_counts_size(self.counts)
        out = np.empty(n, dtype=np.uint32)
        cdef uint32_t[::1] view = out
        check(bp_piece_counts_partitions(self.counts, num_partitions, &view[0] if n else NULL),
              "cannot partition the pieces")
        return out

    def merge(self, PieceCounter other not None):
        """Add every count of ``other`` to this counter."""
        cdef int rc
        with nogil:
            rc = bp_piece_counts_merge(self.counts, other.counts)
        check(rc, "cannot merge piece counts")

    def export(self):
        """(data, offsets, counts): piece k is data[offsets[k]:offsets[k+1]], in insertion order."""
        cdef size_t n = bp_piece_counts_size(self.counts)
        cdef size_t total = bp_piece_counts_total_bytes(self.counts)
        buffer = np.empty(total, dtype=np.uint8)
        offsets = np.empty(n + 1, dtype=np.int64)
        counts = np.empty(n, dtype=np.uint64)
        cdef uint8_t[::1] b = buffer
        cdef int64_t[::1] o = offsets
        cdef uint64_t[::1] c = counts
        bp_piece_counts_export(self.counts, &b[0] if total else NULL, &o[0], &c[0] if n else NULL)
        return buffer.tobytes(), offsets, counts


def bnlm_count_pieces(NgramModel ngram_model not None, bint ensure_unicode, bytes data not None,
                      const int64_t[::1] offsets not None, PieceCounter counts not None,
                      const uint64_t[::1] weights=None):
    """Segment every chunk with the BNLM Viterbi and count its pieces, each
    weights[k] times for chunk k (once when None; GIL released)."""
    check_within(data, offsets)
    cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
    cdef size_t num_chunks = offsets.shape[0] - 1
    cdef const uint64_t *w = NULL
    cdef int rc
    if weights is not None:
        if <size_t>weights.shape[0] != num_chunks:
            raise ValueError(f"weights has {weights.shape[0]} entries for {num_chunks} chunks")
        if num_chunks:
            w = &weights[0]
    with nogil:
        rc = bp_bnlm_count_pieces(ngram_model.ngrams, ensure_unicode, raw, &offsets[0], w, num_chunks, counts.counts)
    check(rc, "piece counting failed")


def bnlm_segment(NgramModel ngram_model not None, bint ensure_unicode, bytes chunk not None):
    """The pieces of one chunk under the BNLM Viterbi (for tests and inspection)."""
    cdef size_t n = len(chunk), num = 0, k
    if n == 0:
        return []
    cdef size_t *starts = <size_t *>malloc(n * sizeof(size_t))
    cdef bp_bnlm_workspace ws
    memset(&ws, 0, sizeof(ws))  # the C contract: a zero-initialized workspace
    if starts == NULL:
        raise MemoryError()
    cdef int rc = bp_bnlm_segment(ngram_model.ngrams, ensure_unicode,
                                  <const uint8_t *>PyBytes_AS_STRING(chunk), n, &ws, starts, &num)
    bp_bnlm_workspace_free(&ws)
    try:
        check(rc, "segmentation failed")
        return [chunk[starts[k]:(starts[k + 1] if k + 1 < num else n)] for k in range(num)]
    finally:
        free(starts)
