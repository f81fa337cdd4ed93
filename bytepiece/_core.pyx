# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Thin binding over the C core in csrc/ (trie + decoder).

Nothing here loops over text in Python: each call hands a whole UTF-8 buffer
to C, with the GIL released for large inputs, and turns the int32 result into
a list. Validation of models and arguments happens in the Python layer.
"""
from libc.stdint cimport uint8_t, int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE

import numpy as np
cimport numpy as cnp

cnp.import_array()

cdef extern from "bp_common.h":
    const char *bp_strerror(int code)
    int BP_OK, BP_ERR_NOMEM, BP_ERR_INVALID, BP_ERR_DUPLICATE, BP_ERR_TOO_LARGE

cdef extern from "bp_rng.h":
    uint64_t bp_stream_key(uint64_t seed, uint64_t stream) nogil

cdef extern from "bp_trie.h":
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


cdef class Vocab:
    """An immutable vocabulary trie built in C; safe to share between threads."""

    cdef bp_trie *trie

    def __cinit__(self, bytes data not None, const int64_t[::1] offsets not None,
                  const double[::1] scores not None, const int32_t[::1] ids not None):
        cdef size_t n = scores.shape[0]
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

    @property
    def max_piece_len(self):
        """Length in bytes of the longest piece."""
        return self.trie.max_piece_len

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

    def encode(self, bytes text not None, int mode, double alpha, uint64_t key):
        """Token ids of UTF-8 `text` (already normalized) as a list of int."""
        cdef size_t count = 0
        cdef Py_ssize_t i
        cdef int32_t *ids = _encode(self.trie, text, mode, alpha, key, &count)
        try:
            return [ids[i] for i in range(<Py_ssize_t>count)]
        finally:
            free(ids)

    def encode_array(self, bytes text not None, int mode, double alpha, uint64_t key):
        """Token ids of `text` as a numpy int32 array (no per-token objects)."""
        cdef size_t count = 0
        cdef int32_t *ids = _encode(self.trie, text, mode, alpha, key, &count)
        cdef cnp.ndarray out
        try:
            out = np.empty(count, dtype=np.int32)
            if count:
                memcpy(cnp.PyArray_DATA(out), ids, count * sizeof(int32_t))
            return out
        finally:
            free(ids)


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
