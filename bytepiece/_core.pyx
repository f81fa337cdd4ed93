# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Thin binding over the C core in csrc/ (trie + decoder).

Nothing here loops over text in Python: each call hands a whole UTF-8 buffer
to C, with the GIL released for large inputs, and turns the int32 result into
a list. Validation of models and arguments happens in the Python layer.
"""
from libc.stdint cimport uint8_t, int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport PyObject, Py_INCREF

# Raw-pointer forms: filling a list must cost one reference increment per
# item, without Cython's temporary objects around each one.
cdef extern from "Python.h":
    PyObject *_tuple_item "PyTuple_GET_ITEM" (object tup, Py_ssize_t i)
    void _list_set_item "PyList_SET_ITEM" (object lst, Py_ssize_t i, PyObject *item)
    void _incref "Py_INCREF" (PyObject *item)
    void PyObject_GC_Track(object op)
    void PyObject_GC_UnTrack(object op)
    int PyObject_GC_IsTracked(object op)

import numpy as np

cdef extern from "bp_common.h":
    const char *bp_strerror(int code)
    int BP_OK, BP_ERR_NOMEM, BP_ERR_INVALID, BP_ERR_DUPLICATE, BP_ERR_TOO_LARGE

cdef extern from "bp_rng.h":
    uint64_t bp_stream_key(uint64_t seed, uint64_t stream) nogil

cdef extern from "bp_trie.h":
    unsigned int BP_MAX_PIECE_LEN
    ctypedef struct bp_piece_info:
        int32_t id
        int32_t length
    ctypedef struct bp_trie:
        bp_piece_info *info
        size_t num_units
        size_t num_pieces
        unsigned int max_piece_len
    int bp_trie_build(const uint8_t *data, const int64_t *offsets, size_t n,
                      const double *scores, const int32_t *ids, bp_trie **out) nogil
    void bp_trie_free(bp_trie *trie) nogil
    int32_t bp_trie_child(const bp_trie *trie, int32_t node, uint8_t c) nogil

cdef extern from "bp_decoder.h":
    ctypedef enum bp_mode:
        BP_MODE_BEST
        BP_MODE_SAMPLE_PERFECT
        BP_MODE_SAMPLE_VITERBI
    int bp_encode(const bp_trie *trie, const uint8_t *text, size_t length, bp_mode mode,
                  double alpha, uint64_t stream_key, int32_t *out_ids, size_t *num_ids) nogil
    int bp_encode_batch(const bp_trie *trie, const uint8_t **texts, const size_t *lengths, size_t num_texts,
                        bp_mode mode, double alpha, const uint64_t *keys, int add_bos, int add_eos,
                        int32_t *out_ids, int64_t *out_offsets) nogil
    int bp_nbest(const bp_trie *trie, const uint8_t *text, size_t length, size_t k,
                 int32_t *out_ids, int64_t *out_offsets, double *out_scores, size_t *num_found) nogil
    int bp_count_tokens(const bp_trie *trie, const uint8_t *data, const int64_t *offsets,
                        size_t num_texts, const uint64_t *weights, uint64_t *totals,
                        size_t num_totals) nogil

cdef extern from "bp_ngram.h":
    ctypedef struct bp_ngrams:
        pass
    int BP_NGRAM_MAX_ORDER
    bp_ngrams *bp_ngrams_new(int order, int num_partitions)
    void bp_ngrams_free(bp_ngrams *ngrams)
    int bp_ngrams_count(bp_ngrams *ngrams, int partition, const uint8_t *data,
                        const int64_t *offsets, size_t num_chunks) nogil
    int bp_ngrams_finish(bp_ngrams *ngrams, uint64_t min_count) nogil
    int bp_ngrams_balance(bp_ngrams *ngrams, const uint64_t *byte_counts)
    double bp_ngrams_logprob(const bp_ngrams *ngrams, const uint8_t *text, int length)
    uint64_t bp_ngrams_get_count(const bp_ngrams *ngrams, const uint8_t *text, int length)
    size_t bp_ngrams_size(const bp_ngrams *ngrams, int length)
    size_t bp_ngrams_memory(const bp_ngrams *ngrams)

cdef extern from "bp_pieces.h":
    ctypedef struct bp_piece_counts:
        pass
    bp_piece_counts *bp_piece_counts_new()
    void bp_piece_counts_free(bp_piece_counts *counts)
    int bp_piece_counts_add(bp_piece_counts *counts, const uint8_t *piece, size_t length, uint64_t count) nogil
    int bp_piece_counts_merge(bp_piece_counts *into, const bp_piece_counts *src) nogil
    size_t bp_piece_counts_size(const bp_piece_counts *counts)
    size_t bp_piece_counts_total_bytes(const bp_piece_counts *counts)
    size_t bp_piece_counts_memory(const bp_piece_counts *counts)
    void bp_piece_counts_export(const bp_piece_counts *counts, uint8_t *data, int64_t *offsets,
                                uint64_t *out_counts)

cdef extern from "bp_bnlm.h":
    ctypedef struct bp_bnlm_workspace:
        pass
    void bp_bnlm_workspace_free(bp_bnlm_workspace *ws)
    int bp_bnlm_segment(const bp_ngrams *lm, int ensure_unicode, const uint8_t *text,
                        size_t n, bp_bnlm_workspace *ws, size_t *starts, size_t *num_starts) nogil
    int bp_bnlm_count_pieces(const bp_ngrams *lm, int ensure_unicode, const uint8_t *data,
                             const int64_t *offsets, size_t num_chunks, bp_piece_counts *counts) nogil

#: The longest piece a model may have, in bytes (see bp_trie.h for why).
MAX_PIECE_LEN = BP_MAX_PIECE_LEN
MODE_BEST = BP_MODE_BEST
MODE_SAMPLE_PERFECT = BP_MODE_SAMPLE_PERFECT
MODE_SAMPLE_VITERBI = BP_MODE_SAMPLE_VITERBI

# Below this many bytes, releasing the GIL costs more than it can give back.
DEF NOGIL_MIN_BYTES = 4096


cdef _raise_for(int rc, str what):
    if rc == BP_ERR_NOMEM:
        raise MemoryError(what)
    raise ValueError(f"{what}: {bp_strerror(rc).decode()}")


def stream_key(uint64_t seed, uint64_t stream):
    """The random-stream key of (seed, stream), as the C samplers derive it."""
    return bp_stream_key(seed, stream)


def stream_keys(uint64_t seed, uint64_t first, Py_ssize_t count):
    """The keys of streams first, first + 1, ... of ``seed`` (uint64 array)."""
    keys = np.empty(count, dtype=np.uint64)
    cdef uint64_t[::1] out = keys
    cdef Py_ssize_t i
    for i in range(count):
        out[i] = bp_stream_key(seed, first + <uint64_t>i)
    return keys


cdef Py_ssize_t _write_ids(const int32_t[::1] ids, Py_ssize_t lo, Py_ssize_t hi, char sep, char *buf) noexcept:
    """Writes ids[lo:hi] in decimal, separated by sep, to buf; returns the length."""
    cdef Py_ssize_t i, at = 0
    cdef char digits[12]
    cdef int d
    cdef long long value
    for i in range(lo, hi):
        if i > lo:
            buf[at] = sep
            at += 1
        value = ids[i]
        if value < 0:
            buf[at] = 45  # minus
            at += 1
            value = -value
        d = 0
        while True:
            digits[d] = <char>(48 + value % 10)
            d += 1
            value //= 10
            if value == 0:
                break
        while d > 0:
            d -= 1
            buf[at] = digits[d]
            at += 1
    return at


cdef Py_ssize_t _check_spans(const int32_t[::1] ids, const int64_t[::1] offsets) except -1:
    cdef Py_ssize_t k, n = offsets.shape[0] - 1
    if n < 0 or (n > 0 and (offsets[0] < 0 or offsets[n] > ids.shape[0])):
        raise ValueError("offsets must lie within ids")
    for k in range(n):
        if offsets[k + 1] < offsets[k]:
            raise ValueError("offsets must not decrease")
    return n


def format_id_lines(const int32_t[::1] ids not None, const int64_t[::1] offsets not None):
    """b"1 2 3\\n4 5\\n...": the ids of each text on one line, in decimal."""
    cdef Py_ssize_t k, n = _check_spans(ids, offsets)
    # at most 11 characters per id ("-2147483648") plus a separator, and a newline per text
    cdef Py_ssize_t at = 0, capacity = 12 * (offsets[n] - offsets[0] if n > 0 else 0) + n + 1
    cdef char *buf = <char *>malloc(capacity)
    if buf == NULL:
        raise MemoryError()
    try:
        for k in range(n):
            at += _write_ids(ids, offsets[k], offsets[k + 1], 32, buf + at)
            buf[at] = 10  # newline
            at += 1
        return buf[:at]
    finally:
        free(buf)


def format_id_lists(const int32_t[::1] ids not None, const int64_t[::1] offsets not None):
    """[b"1,2,3", b"4,5", ...]: the ids of each text, comma-separated (JSON list bodies)."""
    cdef Py_ssize_t k, n = _check_spans(ids, offsets), longest = 0
    for k in range(n):
        longest = max(longest, offsets[k + 1] - offsets[k])
    cdef char *buf = <char *>malloc(12 * longest + 1)
    cdef list out = []
    if buf == NULL:
        raise MemoryError()
    try:
        for k in range(n):
            out.append(buf[:_write_ids(ids, offsets[k], offsets[k + 1], 44, buf)])
        return out
    finally:
        free(buf)


def track_lists(list lists not None):
    """Hand the lists made by split_lists(track=False) back to the cyclic GC.

    Idempotent: tracking an object twice would abort the interpreter."""
    cdef object part
    for part in lists:
        if type(part) is list and not PyObject_GC_IsTracked(part):
            PyObject_GC_Track(part)


cdef list _id_list(tuple id_objects, const int32_t *ids, Py_ssize_t n):
    """A list of the int objects of ids[0 .. n), shared from id_objects (no int
    is allocated per token: that is most of the cost of returning a list)."""
    cdef list out = PyList_New(n)
    cdef Py_ssize_t i
    cdef PyObject *item
    for i in range(n):
        item = _tuple_item(id_objects, ids[i])
        _incref(item)  # the list steals this reference
        _list_set_item(out, i, item)
    return out


cdef class Vocab:
    """An immutable vocabulary trie built in C; safe to share between threads."""

    cdef bp_trie *trie
    cdef tuple id_objects  # the int objects 0 .. largest id, shared by every returned list

    def __cinit__(self, bytes data not None, const int64_t[::1] offsets not None,
                  const double[::1] scores not None, const int32_t[::1] ids not None):
        cdef size_t n = scores.shape[0]
        if n:
            self.id_objects = tuple(range(max(np.asarray(ids).max(), 2) + 1))
        if offsets.shape[0] != <Py_ssize_t>n + 1 or ids.shape[0] != <Py_ssize_t>n or n == 0:
            raise ValueError("offsets must have one entry more than scores and ids")
        if offsets[n] != PyBytes_GET_SIZE(data):
            raise ValueError("offsets must end at the length of data")
        cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
        cdef int rc
        with nogil:
            rc = bp_trie_build(raw, &offsets[0], n, &scores[0], &ids[0], &self.trie)
        if rc != BP_OK:
            _raise_for(rc, "cannot build the vocabulary trie")

    def __dealloc__(self):
        bp_trie_free(self.trie)

    @property
    def num_units(self):
        """Units of the double array (each 16 bytes)."""
        return self.trie.num_units

    def lookup(self, bytes piece not None):
        """The token id of `piece`, or -1 if it is not in the vocabulary."""
        cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(piece)
        cdef Py_ssize_t i, n = PyBytes_GET_SIZE(piece)
        cdef int32_t node = 0
        if n == 0:
            return -1
        for i in range(n):
            node = bp_trie_child(self.trie, node, p[i])
            if node < 0:
                return -1
        return self.trie.info[node].id

    def count_tokens(self, bytes data not None, const int64_t[::1] offsets not None,
                     const uint64_t[::1] weights not None, Py_ssize_t num_totals):
        """Totals by id of weights[k] over the tokens of each text k (trainer pruning)."""
        cdef size_t n = weights.shape[0]
        if offsets.shape[0] != <Py_ssize_t>n + 1:
            raise ValueError("offsets must have one entry more than weights")
        _check_offsets(data, offsets)
        totals = np.zeros(num_totals, dtype=np.uint64)
        cdef uint64_t[::1] out = totals
        cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
        cdef int rc
        with nogil:
            rc = bp_count_tokens(self.trie, raw, &offsets[0], n, &weights[0] if n else NULL,
                                 &out[0], <size_t>num_totals)
        if rc != BP_OK:
            _raise_for(rc, "token counting failed")
        return totals

    def encode_batch(self, list texts not None, int mode, double alpha, keys, bint add_bos, bint add_eos):
        """Ids of every text (a list of bytes; text k with stream key keys[k]; keys
        may be None for the best segmentation) as flat (ids int32, offsets int64)
        arrays, computed with the GIL released. The bytes are read in place."""
        cdef Py_ssize_t k, n = len(texts)
        cdef const uint64_t[::1] key_view
        cdef const uint64_t *key_ptr = NULL
        if keys is not None:
            key_view = keys
            if key_view.shape[0] != n:
                raise ValueError("keys must have one entry per text")
            if n:
                key_ptr = &key_view[0]
        cdef const uint8_t **pointers = <const uint8_t **>malloc((n if n else 1) * sizeof(uint8_t *))
        cdef size_t *lengths = <size_t *>malloc((n if n else 1) * sizeof(size_t))
        cdef Py_ssize_t total = 0
        cdef bytes text
        try:
            if pointers == NULL or lengths == NULL:
                raise MemoryError()
            for k in range(n):
                text = texts[k]  # a TypeError unless bytes; the list keeps it alive
                pointers[k] = <const uint8_t *>PyBytes_AS_STRING(text)
                lengths[k] = PyBytes_GET_SIZE(text)
                total += lengths[k]
            ids = np.empty(max(total + 2 * n, 1), dtype=np.int32)
            out_offsets = np.empty(n + 1, dtype=np.int64)
            id_view: int32_t[::1] = ids
            offset_view: int64_t[::1] = out_offsets
            rc = _encode_batch(self.trie, pointers, lengths, n, mode, alpha, key_ptr, add_bos, add_eos,
                               &id_view[0], &offset_view[0])
            if rc != BP_OK:
                _raise_for(rc, "batch encoding failed")
            return ids[:out_offsets[n]], out_offsets
        finally:
            free(pointers)
            free(lengths)

    def split_lists(self, const int32_t[::1] ids not None, const int64_t[::1] offsets not None,
                    bint track=True):
        """[list(ids[offsets[k]:offsets[k+1]]) for each k] (ids from this vocabulary).

        With track=False the inner lists are left out of the cyclic GC; the
        caller must pass the result to track_lists() before handing it out.
        """
        cdef Py_ssize_t k, n = offsets.shape[0] - 1
        cdef list out = PyList_New(n)
        cdef object part
        if n > 0 and (offsets[0] < 0 or offsets[n] > ids.shape[0]):
            raise ValueError("offsets must lie within ids")
        used = np.asarray(ids[offsets[0]:offsets[n]]) if n > 0 else np.zeros(0, dtype=np.int32)
        if used.size and not 0 <= used.min() <= used.max() < len(self.id_objects):
            raise ValueError("ids outside the vocabulary")
        for k in range(n):
            if offsets[k + 1] < offsets[k]:
                raise ValueError("offsets must not decrease")
        # The new lists hold only ints until they are returned: keep them out
        # of the cyclic GC meanwhile, or every collection that their own
        # allocations trigger rescans all of them (under the GIL: it was 12%
        # of a batch and most of what kept threads from scaling). They are
        # tracked again before anyone else can see them.
        for k in range(n):
            part = _id_list(self.id_objects, &ids[0] + offsets[k] if offsets[k + 1] > offsets[k] else NULL,
                            offsets[k + 1] - offsets[k])
            PyObject_GC_UnTrack(part)
            Py_INCREF(part)
            PyList_SET_ITEM(out, k, part)
        if track:
            track_lists(out)
        return out

    def nbest(self, bytes text not None, Py_ssize_t k):
        """The k best segmentations: [(ids, score), ...], best first (exact)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        cdef size_t n = len(text), found = 0
        ids = np.empty(max(<Py_ssize_t>n * k, 1), dtype=np.int32)
        offsets = np.empty(k + 1, dtype=np.int64)
        scores = np.empty(k, dtype=np.float64)
        cdef int32_t[::1] id_view = ids
        cdef int64_t[::1] offset_view = offsets
        cdef double[::1] score_view = scores
        cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(text)
        cdef int rc
        with nogil:
            rc = bp_nbest(self.trie, raw, n, <size_t>k, &id_view[0], &offset_view[0], &score_view[0], &found)
        if rc != BP_OK:
            _raise_for(rc, "n-best search failed")
        lists = self.split_lists(ids, offsets[:found + 1])
        return list(zip(lists, scores[:found].tolist()))

    def encode(self, bytes text not None, int mode, double alpha, uint64_t key):
        """Token ids of UTF-8 `text` (already normalized) as a list of int."""
        cdef size_t count = 0
        cdef int32_t *ids = _encode(self.trie, text, mode, alpha, key, &count)
        try:
            return _id_list(self.id_objects, ids, <Py_ssize_t>count)
        finally:
            free(ids)


cdef int _encode_batch(const bp_trie *trie, const uint8_t **pointers, size_t *lengths, Py_ssize_t n, int mode,
                      double alpha, const uint64_t *keys, bint add_bos, bint add_eos, int32_t *ids,
                      int64_t *offsets) noexcept:
    cdef int rc
    with nogil:
        rc = bp_encode_batch(trie, pointers, lengths, n, <bp_mode>mode, alpha, keys, add_bos, add_eos, ids, offsets)
    return rc


cdef int32_t *_encode(const bp_trie *trie, bytes text, int mode, double alpha,
                      uint64_t key, size_t *count) except NULL:
    cdef size_t n = <size_t>PyBytes_GET_SIZE(text)
    cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(text)
    cdef int32_t *ids = <int32_t *>malloc((n if n else 1) * sizeof(int32_t))
    cdef int rc
    if ids == NULL:
        raise MemoryError("cannot allocate the token buffer")
    if n >= NOGIL_MIN_BYTES:
        with nogil:
            rc = bp_encode(trie, raw, n, <bp_mode>mode, alpha, key, ids, count)
    else:
        rc = bp_encode(trie, raw, n, <bp_mode>mode, alpha, key, ids, count)
    if rc != BP_OK:
        free(ids)
        _raise_for(rc, "encoding failed")
    return ids


cdef _check_offsets(bytes data, const int64_t[::1] offsets):
    # Texts are data[offsets[k]:offsets[k+1]]; C checks that offsets never decrease.
    if offsets.shape[0] < 1 or offsets[0] < 0 or offsets[offsets.shape[0] - 1] > PyBytes_GET_SIZE(data):
        raise ValueError("offsets must lie within data")


cdef class NgramModel:
    """Byte n-gram counts, then conditional log-probabilities (bp_ngram.h).

    ``count`` on distinct partitions may run in parallel threads.
    """

    cdef bp_ngrams *ngrams
    cdef readonly int order
    cdef readonly int num_partitions

    def __cinit__(self, int order, int num_partitions=1):
        if not 1 <= order <= BP_NGRAM_MAX_ORDER:
            raise ValueError(f"order must be in 1..{BP_NGRAM_MAX_ORDER}, got {order}")
        if not 1 <= num_partitions <= 256:
            raise ValueError(f"num_partitions must be in 1..256, got {num_partitions}")
        self.ngrams = bp_ngrams_new(order, num_partitions)
        if self.ngrams == NULL:
            raise MemoryError("cannot allocate the n-gram tables")
        self.order = order
        self.num_partitions = num_partitions

    def __dealloc__(self):
        bp_ngrams_free(self.ngrams)

    def count(self, int partition, bytes data not None, const int64_t[::1] offsets not None):
        """Count the n-grams of partition ``partition`` in the chunks of ``data``."""
        _check_offsets(data, offsets)
        cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
        cdef size_t num_chunks = offsets.shape[0] - 1
        cdef int rc
        with nogil:
            rc = bp_ngrams_count(self.ngrams, partition, raw, &offsets[0], num_chunks)
        if rc != BP_OK:
            _raise_for(rc, "n-gram counting failed")

    def balance(self, const uint64_t[::1] byte_counts not None):
        """Spread first bytes over partitions by frequency (before counting; speed only)."""
        if byte_counts.shape[0] != 256:
            raise ValueError("byte_counts must have 256 entries")
        if bp_ngrams_balance(self.ngrams, &byte_counts[0]) != BP_OK:
            raise ValueError("balance() must come before the first count()")

    def finish(self, uint64_t min_count):
        """Add missing bytes, prune below min_count, turn counts into log-probabilities."""
        cdef int rc
        with nogil:
            rc = bp_ngrams_finish(self.ngrams, min_count)
        if rc != BP_OK:
            _raise_for(rc, "n-gram pruning failed")

    def count_of(self, bytes ngram not None):
        """Raw count of an n-gram (length 0..order) before finish()."""
        return bp_ngrams_get_count(self.ngrams, <const uint8_t *>PyBytes_AS_STRING(ngram), len(ngram))

    def logprob(self, bytes ngram not None):
        """log c(k) - log c(k[:-1]) after finish(); -inf if pruned or unseen."""
        return bp_ngrams_logprob(self.ngrams, <const uint8_t *>PyBytes_AS_STRING(ngram), len(ngram))

    def size(self, int length):
        """Distinct n-grams of this length."""
        return bp_ngrams_size(self.ngrams, length)

    @property
    def memory(self):
        """Bytes held by the hash tables."""
        return bp_ngrams_memory(self.ngrams)


cdef class PieceCounter:
    """Counts of byte strings (bp_pieces.h); one per thread, merged at the end."""

    cdef bp_piece_counts *counts

    def __cinit__(self):
        self.counts = bp_piece_counts_new()
        if self.counts == NULL:
            raise MemoryError("cannot allocate a piece counter")

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
        cdef int rc = bp_piece_counts_add(self.counts, <const uint8_t *>PyBytes_AS_STRING(piece),
                                          len(piece), count)
        if rc != BP_OK:
            _raise_for(rc, "cannot count the piece")

    def merge(self, PieceCounter other not None):
        """Add every count of ``other`` to this counter."""
        cdef int rc
        with nogil:
            rc = bp_piece_counts_merge(self.counts, other.counts)
        if rc != BP_OK:
            _raise_for(rc, "cannot merge piece counts")

    def export(self):
        """(data, offsets, counts): piece k is data[offsets[k]:offsets[k+1]]."""
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


def bnlm_count_pieces(NgramModel lm not None, bint ensure_unicode, bytes data not None,
                      const int64_t[::1] offsets not None, PieceCounter counts not None):
    """Segment every chunk with the BNLM Viterbi and count its pieces (GIL released)."""
    _check_offsets(data, offsets)
    cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
    cdef size_t num_chunks = offsets.shape[0] - 1
    cdef int rc
    with nogil:
        rc = bp_bnlm_count_pieces(lm.ngrams, ensure_unicode, raw, &offsets[0], num_chunks,
                                  counts.counts)
    if rc != BP_OK:
        _raise_for(rc, "piece counting failed")


def bnlm_segment(NgramModel lm not None, bint ensure_unicode, bytes chunk not None):
    """The pieces of one chunk under the BNLM Viterbi (for tests and inspection)."""
    cdef size_t n = len(chunk), num = 0, k
    if n == 0:
        return []
    cdef size_t *starts = <size_t *>malloc(n * sizeof(size_t))
    cdef bp_bnlm_workspace ws
    memset(&ws, 0, sizeof(ws))  # the C contract: a zero-initialized workspace
    if starts == NULL:
        raise MemoryError()
    cdef int rc = bp_bnlm_segment(lm.ngrams, ensure_unicode,
                                  <const uint8_t *>PyBytes_AS_STRING(chunk), n, &ws, starts, &num)
    bp_bnlm_workspace_free(&ws)
    try:
        if rc != BP_OK:
            _raise_for(rc, "segmentation failed")
        return [chunk[starts[k]:(starts[k + 1] if k + 1 < num else n)] for k in range(num)]
    finally:
        free(starts)
