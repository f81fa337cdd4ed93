# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Binding of the tokenizing core (csrc/bp_trie, bp_segmenter, bp_nbest, bp_format, bp_model_json).

Nothing here loops over text: each call hands whole buffers to C, with the
GIL released for large inputs, and wraps the results. The limits and special
ids of the C core are exported from here (their one definition is
csrc/bp_common.h). Validation of models and options is the Python layer's.
"""
from libc.stdint cimport uint8_t, int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport PyObject, Py_INCREF

from bytepiece._csrc cimport *

# Raw-pointer forms: filling a list must cost one reference increment per
# item, without Cython's temporary objects around each one.
cdef extern from "Python.h":
    PyObject *_tuple_item "PyTuple_GET_ITEM" (object tup, Py_ssize_t i)
    void _list_set_item "PyList_SET_ITEM" (object lst, Py_ssize_t i, PyObject *item)
    void _incref "Py_INCREF" (PyObject *item)
    void PyObject_GC_Track(object op)
    void PyObject_GC_UnTrack(object op)
    int PyObject_GC_IsTracked(object op)
    # The storage of a str (PEP 393): `kind` bytes per code point.
    bint PyUnicode_IS_ASCII(object text)
    int PyUnicode_KIND(object text)
    void *PyUnicode_DATA(object text)
    Py_ssize_t PyUnicode_GET_LENGTH(object text)

import numpy as np

#: Special token ids, and the first id of a piece.
PAD_ID = BP_PAD_ID
BOS_ID = BP_BOS_ID
EOS_ID = BP_EOS_ID
NUM_SPECIAL = BP_NUM_SPECIAL
#: The longest piece a model may have, in bytes (see csrc/bp_common.h for why).
MAX_PIECE_LEN = BP_MAX_PIECE_LEN
#: The largest alpha the samplers take (larger alphas are the best segmentation anyway).
MAX_ALPHA = BP_MAX_ALPHA
#: The largest |score| of a piece: no sum of scores along a text can then overflow (csrc/bp_common.h).
MAX_ABS_SCORE = BP_MAX_ABS_SCORE
#: The longest n-gram of the trainer's language model.
MAX_ORDER = BP_MAX_ORDER
#: The most partitions the trainer's n-gram tables split into.
MAX_PARTITIONS = BP_MAX_PARTITIONS
#: Segmentation modes (bp_mode).
MODE_BEST = BP_MODE_BEST
MODE_SAMPLE_PERFECT = BP_MODE_SAMPLE_PERFECT
MODE_SAMPLE_VITERBI = BP_MODE_SAMPLE_VITERBI

# Below this many bytes, releasing the GIL costs more than it can give back.
DEF NOGIL_MIN_BYTES = 4096


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


def scan_model_json(const uint8_t[::1] text not None):
    """(data, offsets, ids, counts, options) of a model file of the plain form
    {base64: [id, text, count], ...} (bp_model_json_scan: data is the pieces
    concatenated in file order, the rest int64 arrays; options is None, or
    (entry, start, end) when entry ``entry`` is the one four-item entry, its
    options object at text[start:end], unparsed), or None when the file is of
    another form and the general reader must decide."""
    cdef bp_model_entries entries
    cdef size_t n = text.shape[0]
    cdef int rc
    with nogil:
        rc = bp_model_json_scan(&text[0] if n else <const uint8_t *>"", n, &entries)
    if rc == BP_ERR_INVALID:
        return None
    check(rc, "cannot read the model")
    try:
        n = entries.num_pieces
        data = entries.bytes[:entries.offsets[n]] if entries.offsets[n] else b""
        offsets = np.empty(n + 1, dtype=np.int64)
        ids = np.empty(n, dtype=np.int64)
        counts = np.empty(n, dtype=np.int64)
        _copy_int64(entries.offsets, offsets)
        _copy_int64(entries.ids, ids)
        _copy_int64(entries.counts, counts)
        options = None
        if entries.options_entry >= 0:
            options = (entries.options_entry, entries.options_start, entries.options_end)
        return data, offsets, ids, counts, options
    finally:
        bp_model_entries_free(&entries)


def split_packed(bytes data not None, const int64_t[::1] offsets not None):
    """[data[offsets[k]:offsets[k + 1]] for each k], without a slice object per item."""
    cdef Py_ssize_t k, n = offsets.shape[0] - 1, size = PyBytes_GET_SIZE(data)
    for k in range(n):
        if offsets[k] < 0 or offsets[k + 1] < offsets[k] or offsets[k + 1] > size:
            raise ValueError("offsets must lie within data and not decrease")
    cdef const char *raw = PyBytes_AS_STRING(data)
    out = PyList_New(n if n > 0 else 0)
    for k in range(n):
        item = PyBytes_FromStringAndSize(raw + offsets[k], offsets[k + 1] - offsets[k])
        Py_INCREF(item)
        PyList_SET_ITEM(out, k, item)
    return out


def take_packed(bytes data not None, const int64_t[::1] offsets not None, const int64_t[::1] rows not None):
    """(bytes, int64 offsets) of the pieces data[offsets[r]:offsets[r + 1]]
    for each r in rows, in that order, packed: one copy of their bytes."""
    cdef Py_ssize_t k, r, n = offsets.shape[0] - 1, m = rows.shape[0], size = PyBytes_GET_SIZE(data)
    if n < 0 or (n > 0 and offsets[0] < 0) or (n >= 0 and offsets[n] > size):
        raise ValueError("offsets must lie within data")
    for k in range(n):
        if offsets[k + 1] < offsets[k]:
            raise ValueError("offsets must not decrease")
    taken = np.zeros(m + 1, dtype=np.int64)
    cdef int64_t[::1] out_offsets = taken
    for k in range(m):
        r = rows[k]
        if r < 0 or r >= n:
            raise ValueError(f"row {r} is not a piece (there are {n})")
        out_offsets[k + 1] = out_offsets[k] + offsets[r + 1] - offsets[r]
    out = PyBytes_FromStringAndSize(NULL, out_offsets[m])
    cdef char *target = PyBytes_AS_STRING(out)
    cdef const char *source = PyBytes_AS_STRING(data)
    with nogil:
        for k in range(m):
            memcpy(target + out_offsets[k], source + offsets[rows[k]], out_offsets[k + 1] - out_offsets[k])
    return out, taken


cdef void _copy_int64(const int64_t *source, int64_t[::1] target) noexcept:
    cdef Py_ssize_t i
    for i in range(target.shape[0]):
        target[i] = source[i]


cdef Py_ssize_t _check_spans(const int32_t[::1] ids, const int64_t[::1] offsets) except -1:
    """The number of spans ids[offsets[k]:offsets[k+1]]; ValueError unless they lie within ids."""
    cdef Py_ssize_t k, n = offsets.shape[0] - 1
    if n < 0 or (n > 0 and (offsets[0] < 0 or offsets[n] > ids.shape[0])):
        raise ValueError("offsets must lie within ids")
    for k in range(n):
        if offsets[k + 1] < offsets[k]:
            raise ValueError("offsets must not decrease")
    return n


def format_id_lines(const int32_t[::1] ids not None, const int64_t[::1] offsets not None):
    """b"1 2 3\\n4 5\\n...": the ids of each span on one line, in decimal (bp_format_spans)."""
    cdef Py_ssize_t n = _check_spans(ids, offsets)
    cdef Py_ssize_t used = offsets[n] - offsets[0] if n > 0 else 0
    cdef char *buf = <char *>malloc(used * (BP_FORMAT_ID_CHARS + 1) + n + 1)
    if buf == NULL:
        raise MemoryError()
    try:
        return buf[:bp_format_spans(&ids[0] if ids.shape[0] else NULL, &offsets[0], n, 32, 10, buf)]
    finally:
        free(buf)


def format_id_lists(const int32_t[::1] ids not None, const int64_t[::1] offsets not None):
    """[b"1,2,3", b"4,5", ...]: the ids of each span, comma-separated (JSON list bodies)."""
    cdef Py_ssize_t k, n = _check_spans(ids, offsets), longest = 0
    for k in range(n):
        longest = max(longest, offsets[k + 1] - offsets[k])
    cdef char *buf = <char *>malloc(longest * (BP_FORMAT_ID_CHARS + 1) + 1)
    cdef list out = []
    if buf == NULL:
        raise MemoryError()
    try:
        for k in range(n):
            out.append(buf[:bp_format_ids(&ids[0] + offsets[k] if offsets[k + 1] > offsets[k] else NULL,
                                          offsets[k + 1] - offsets[k], 44, buf)])
        return out
    finally:
        free(buf)


def track_lists(list lists not None):
    """Hand lists made by ``encode_lists(..., track=False)`` back to the cyclic GC.

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


cdef bint _inert_utf8(str text, const uint8_t **pointer, size_t *length, uint8_t **buffer) except -1:
    """Points ``*pointer`` and ``*length`` at the UTF-8 of ``text`` when NFC leaves
    it unchanged (bp_utf8.h): its own storage when ASCII, else a new ``*buffer``
    (the caller frees it). False, with nothing to free, where NFC might change it."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    if PyUnicode_IS_ASCII(text):  # its storage is its UTF-8
        pointer[0] = <const uint8_t *>PyUnicode_DATA(text)
        length[0] = n
        return True
    buffer[0] = <uint8_t *>malloc(3 * n)
    if buffer[0] == NULL:
        raise MemoryError()
    length[0] = bp_utf8_encode_inert(PyUnicode_DATA(text), PyUnicode_KIND(text), n, buffer[0])
    if length[0] == BP_UTF8_NOT_INERT:
        free(buffer[0])
        buffer[0] = NULL
        return False
    pointer[0] = buffer[0]
    return True


cdef class _TextBatch:
    """Pointers to and lengths of the UTF-8 of a list of texts: bytes read in
    place (the list keeps them alive); str whose NFC is itself (bp_utf8.h) in
    place when ASCII, else made here in C; any other item replaced by
    ``fallback(item)`` (bytes), or a TypeError without a fallback."""

    cdef const uint8_t **pointers
    cdef size_t *lengths
    cdef uint8_t **buffers  # the UTF-8 made here, per text (NULL where none)
    cdef Py_ssize_t num_texts, total
    cdef list texts, made  # made: what fallback gave (kept alive while pointed to)

    def __cinit__(self, list texts not None, fallback=None):
        cdef Py_ssize_t k, n = len(texts)
        self.texts = texts
        self.made = []
        self.num_texts = n
        self.total = 0
        self.pointers = <const uint8_t **>malloc((n if n else 1) * sizeof(uint8_t *))
        self.lengths = <size_t *>malloc((n if n else 1) * sizeof(size_t))
        self.buffers = <uint8_t **>calloc(n if n else 1, sizeof(uint8_t *))
        if self.pointers == NULL or self.lengths == NULL or self.buffers == NULL:
            raise MemoryError()
        for k in range(n):
            item = texts[k]
            if not (isinstance(item, bytes) or (type(item) is str and _inert_utf8(
                    item, &self.pointers[k], &self.lengths[k], &self.buffers[k]))):
                if fallback is None:
                    raise TypeError(f"texts must be bytes, not {type(item).__name__}")
                item = fallback(item)
                if not isinstance(item, bytes):
                    raise TypeError(f"fallback must give bytes, not {type(item).__name__}")
                self.made.append(item)
            if isinstance(item, bytes):
                self.pointers[k] = <const uint8_t *>PyBytes_AS_STRING(item)
                self.lengths[k] = PyBytes_GET_SIZE(item)
            self.total += self.lengths[k]

    def __dealloc__(self):
        cdef Py_ssize_t k
        if self.buffers != NULL:
            for k in range(self.num_texts):
                free(self.buffers[k])
        free(self.buffers)
        free(self.pointers)
        free(self.lengths)


# What Segmenter._int32_per_text runs: bp_lookup_ids, bp_alternative_lengths.
ctypedef int (*_per_text)(const bp_trie *trie, const uint8_t *data, const int64_t *offsets, size_t num_texts,
                          int32_t *out) noexcept nogil

cdef object _NOT_MADE = object()  # _sampling_weights: no entry for this alpha yet


cdef class Lattice:
    """The pieces of a base vocabulary found in a fixed set of texts
    (``Segmenter.lattice``): counts the texts' tokens with any vocabulary
    that is a subset of the base, without walking a trie (the "em"
    trainer's rounds of re-tokenizing). Immutable; safe to share between
    threads."""

    cdef bp_lattice *lattice
    cdef readonly Py_ssize_t num_texts
    cdef readonly Py_ssize_t num_base

    def __dealloc__(self):
        bp_lattice_free(self.lattice)

    @property
    def memory(self):
        """The bytes the lattice holds."""
        return bp_lattice_memory(self.lattice)

    @property
    def num_pieces(self):
        """The pieces it recorded (all texts)."""
        return bp_lattice_num_edges(self.lattice)

    def count_tokens(self, const double[::1] scores not None, const int32_t[::1] ids not None,
                     const uint64_t[::1] weights not None, Py_ssize_t num_totals):
        """Totals by id of ``weights[k]`` over the tokens of text ``k`` with
        the vocabulary in which base piece ``b`` has id ``ids[b]`` (< 0: not
        in it) and score ``scores[b]``, as ``Segmenter.count_tokens`` of
        that vocabulary gives them."""
        if weights.shape[0] != self.num_texts:
            raise ValueError(f"weights must have one entry per text ({self.num_texts})")
        if scores.shape[0] != ids.shape[0] or ids.shape[0] < self.num_base:
            raise ValueError(f"scores and ids must have one entry per base id ({self.num_base})")
        if num_totals < 0:
            raise ValueError("num_totals must not be negative")
        totals = np.zeros(num_totals, dtype=np.uint64)
        cdef uint64_t[::1] out = totals
        cdef uint64_t dummy = 0
        cdef int rc
        with nogil:
            rc = bp_lattice_count(self.lattice, &scores[0] if scores.shape[0] else NULL,
                                  &ids[0] if ids.shape[0] else NULL, <size_t>ids.shape[0],
                                  &weights[0] if self.num_texts else NULL,
                                  &out[0] if num_totals else &dummy, <size_t>num_totals)
        check(rc, "token counting failed (a vocabulary that is not a subset of the lattice's base?)")
        return totals


cdef class Segmenter:
    """The vocabulary trie built in C, and the one entry to the C segmenter
    (bp_encode_batch). Immutable; safe to share between threads.

    Piece k is ``data[offsets[k]:offsets[k+1]]`` with ``scores[k]`` and token
    id ``ids[k]``; the C trie builder checks the pieces (distinct, non-empty,
    at most MAX_PIECE_LEN bytes, all 256 single bytes present, every score
    finite with ``abs(score) <= MAX_ABS_SCORE``).
    """

    cdef bp_trie *trie
    cdef tuple _id_objects  # the int objects 0 .. largest id, shared by every returned list (made on first use)
    cdef int32_t max_id
    cdef dict _weights  # alpha -> bp_sampling_weights (bytes of float64: no buffer to acquire per call), or None
    cdef dict _sampled_bytes  # alpha -> bytes sampled while its weights were not made yet

    def __cinit__(self, bytes data not None, const int64_t[::1] offsets not None,
                  const double[::1] scores not None, const int32_t[::1] ids not None):
        cdef size_t n = scores.shape[0]
        if offsets.shape[0] != <Py_ssize_t>n + 1 or ids.shape[0] != <Py_ssize_t>n or n == 0:
            raise ValueError("offsets must have one entry more than scores and ids")
        if offsets[n] != PyBytes_GET_SIZE(data):
            raise ValueError("offsets must end at the length of data")
        self.max_id = max(np.asarray(ids).max(), BP_NUM_SPECIAL - 1)
        cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
        cdef int rc
        with nogil:
            rc = bp_trie_build(raw, &offsets[0], n, &scores[0], &ids[0], &self.trie)
        check(rc, "cannot build the vocabulary trie")

    def __dealloc__(self):
        bp_trie_free(self.trie)

    cdef tuple _ids(self):
        """The int objects 0 .. the largest id (made on first use: pruning workers
        that only count tokens of millions of pieces never need them)."""
        if self._id_objects is None:
            self._id_objects = tuple(range(self.max_id + 1))
        return self._id_objects

    @property
    def num_units(self):
        """Units of the double array (each 8 bytes; bp_trie.h)."""
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

    cdef object _sampling_weights(self, int mode, double alpha, size_t num_bytes):
        """The perfect sampler's weights for alpha (bp_sampling_weights), or None
        (the log-space sampler then runs: the same samples, up to rounding).
        Making them costs an exp per trie unit, so they are made once the
        texts sampled with this alpha add up to a quarter of the units, and
        kept for a few alphas. Called with the GIL held: no lock needed."""
        if mode != BP_MODE_SAMPLE_PERFECT:
            return None
        if self._weights is None:
            self._weights = {}
            self._sampled_bytes = {}
        weights = self._weights.get(alpha, _NOT_MADE)
        if weights is not _NOT_MADE:
            return weights
        seen = self._sampled_bytes.get(alpha, 0) + num_bytes
        if seen < self.trie.num_units // 4:
            if len(self._sampled_bytes) >= 64:
                self._sampled_bytes.clear()
            self._sampled_bytes[alpha] = seen
            return None
        self._sampled_bytes.pop(alpha, None)
        # A new bytes object is ours to fill until it is shared. Its storage
        # follows a 32-byte header, so it is 8-byte aligned; checked all the same.
        weights = PyBytes_FromStringAndSize(NULL, self.trie.num_units * sizeof(double))
        if <size_t>PyBytes_AS_STRING(weights) % sizeof(double) != 0:
            return None
        rc = bp_sampling_weights(self.trie, alpha, <double *>PyBytes_AS_STRING(weights))
        if rc != BP_OK and rc != BP_ERR_TOO_LARGE:
            check(rc, "invalid alpha")
        if len(self._weights) >= 4:
            self._weights.clear()
        self._weights[alpha] = weights if rc == BP_OK else None
        return self._weights[alpha]

    cdef int _encode(self, _TextBatch batch, int mode, double alpha, keys, bint add_bos, bint add_eos,
                     int32_t *ids, int64_t *offsets) except -1:
        """bp_encode_batch over the batch into ids (room for total + 2 per text) and offsets."""
        cdef const uint64_t[::1] key_view
        cdef const uint64_t *key_ptr = NULL
        if keys is not None:
            key_view = keys
            if key_view.shape[0] != batch.num_texts:
                raise ValueError("keys must have one entry per text")
            if batch.num_texts:
                key_ptr = &key_view[0]
        return self._segment(batch.pointers, batch.lengths, batch.num_texts, batch.total, mode, alpha, key_ptr,
                             add_bos, add_eos, ids, offsets)

    cdef int _segment(self, const uint8_t **pointers, const size_t *lengths, size_t num_texts, size_t total,
                      int mode, double alpha, const uint64_t *keys, bint add_bos, bint add_eos, int32_t *ids,
                      int64_t *offsets) except -1:
        """The one call of bp_encode_batch: with this alpha's sampling weights
        (if made), and without the GIL when the texts (total bytes) are large."""
        cdef int rc
        weights = self._sampling_weights(mode, alpha, total)
        cdef const double *weight_ptr = NULL
        if weights is not None:
            weight_ptr = <const double *>PyBytes_AS_STRING(weights)
        if total >= NOGIL_MIN_BYTES:
            with nogil:
                rc = bp_encode_batch(self.trie, pointers, lengths, num_texts, <bp_mode>mode, alpha, weight_ptr, keys,
                                     add_bos, add_eos, ids, offsets)
        else:
            rc = bp_encode_batch(self.trie, pointers, lengths, num_texts, <bp_mode>mode, alpha, weight_ptr, keys,
                                 add_bos, add_eos, ids, offsets)
        return check(rc, "encoding failed")

    def encode_arrays(self, list texts not None, int mode, double alpha, keys, bint add_bos=False,
                      bint add_eos=False, fallback=None):
        """Ids of every text (text k with random stream key ``keys[k]``, or
        ``keys=None`` for MODE_BEST) as flat ``(ids int32, offsets int64)``
        arrays: text k's ids are ``ids[offsets[k]:offsets[k+1]]``. A text is
        bytes (segmented as they are), or str whose NFC is itself (its UTF-8
        made in C, see bp_utf8.h); any other is replaced by ``fallback(text)``
        (its bytes; without a fallback, a TypeError)."""
        cdef _TextBatch batch = _TextBatch(texts, fallback)
        ids = np.empty(max(batch.total + 2 * batch.num_texts, 1), dtype=np.int32)
        offsets = np.empty(batch.num_texts + 1, dtype=np.int64)
        cdef int32_t[::1] id_view = ids
        cdef int64_t[::1] offset_view = offsets
        self._encode(batch, mode, alpha, keys, add_bos, add_eos, &id_view[0], &offset_view[0])
        return ids[:offsets[batch.num_texts]], offsets

    def encode_lists(self, list texts not None, int mode, double alpha, keys, bint add_bos=False,
                     bint add_eos=False, bint track=True, fallback=None):
        """:meth:`encode_arrays` as one list of ids per text.

        With ``track=False`` the lists are left out of the cyclic GC; the
        caller must pass them to :func:`track_lists` before handing them out.
        """
        cdef _TextBatch batch = _TextBatch(texts, fallback)
        cdef Py_ssize_t k, n = batch.num_texts
        cdef int32_t *ids = <int32_t *>malloc((batch.total + 2 * n + 1) * sizeof(int32_t))
        cdef int64_t *offsets = <int64_t *>malloc((n + 1) * sizeof(int64_t))
        cdef list out = PyList_New(n)
        cdef object part
        cdef tuple id_objects = self._ids()
        try:
            if ids == NULL or offsets == NULL:
                raise MemoryError()
            self._encode(batch, mode, alpha, keys, add_bos, add_eos, ids, offsets)
            # The new lists hold only ints until they are returned: keep them out
            # of the cyclic GC meanwhile, or every collection that their own
            # allocations trigger rescans all of them (under the GIL: it was 12%
            # of a batch and most of what kept threads from scaling).
            for k in range(n):
                part = _id_list(id_objects, ids + offsets[k], offsets[k + 1] - offsets[k])
                PyObject_GC_UnTrack(part)
                Py_INCREF(part)
                PyList_SET_ITEM(out, k, part)
        finally:
            free(ids)
            free(offsets)
        if track:
            track_lists(out)
        return out

    def encode_text(self, bytes text not None, int mode, double alpha, uint64_t key, bint add_bos=False,
                    bint add_eos=False):
        """:meth:`encode_lists` of one text with stream key ``key``, without the
        batch's bookkeeping: the per-call cost of short texts is what this saves."""
        return self._encode_one(<const uint8_t *>PyBytes_AS_STRING(text), <size_t>PyBytes_GET_SIZE(text), mode,
                                alpha, key, add_bos, add_eos)

    def encode_str(self, str text not None, int mode, double alpha, uint64_t key, bint add_bos=False,
                   bint add_eos=False):
        """:meth:`encode_text` of a str's UTF-8 made in C (bp_utf8.h), or None
        when NFC might change ``text`` or it has no UTF-8 (a surrogate): the
        caller then normalizes and encodes it the general way. For text that
        is NFC already this is ``encode_text(normalize(text).encode())``
        without the two passes and the bytes object in between."""
        return self._encode_str(text, mode, alpha, key, add_bos, add_eos)

    def encode_best_str(self, str text not None, bint add_bos=False, bint add_eos=False):
        """``encode_str(text, MODE_BEST, -1.0, 0, add_bos, add_eos)``: the default
        ``Tokenizer.encode`` call, with nothing else to pass or resolve (on
        short documents the per-call cost is a tenth of the time)."""
        return self._encode_str(text, BP_MODE_BEST, -1.0, 0, add_bos, add_eos)

    cdef object _encode_str(self, str text, int mode, double alpha, uint64_t key, bint add_bos, bint add_eos):
        """:meth:`encode_str`'s body."""
        cdef const uint8_t *pointer
        cdef size_t length
        cdef uint8_t *buffer = NULL
        if not _inert_utf8(text, &pointer, &length, &buffer):
            return None
        try:
            return self._encode_one(pointer, length, mode, alpha, key, add_bos, add_eos)
        finally:
            free(buffer)

    cdef list _encode_one(self, const uint8_t *pointer, size_t length, int mode, double alpha, uint64_t key,
                          bint add_bos, bint add_eos):
        """The ids of text pointer[0 .. length) (borrowed; its owner must stay alive)."""
        cdef int64_t offsets[2]
        cdef int32_t *ids = <int32_t *>malloc((length + 3) * sizeof(int32_t))
        if ids == NULL:
            raise MemoryError()
        try:
            self._segment(&pointer, &length, 1, length, mode, alpha, &key, add_bos, add_eos, ids, offsets)
            return _id_list(self._ids(), ids, offsets[1])
        finally:
            free(ids)

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
        check(rc, "n-best search failed")
        cdef size_t r
        cdef list result = []
        for r in range(found):
            result.append((_id_list(self._ids(), &id_view[0] + offset_view[r], offset_view[r + 1] - offset_view[r]),
                           score_view[r]))
        return result

    def count_tokens(self, bytes data not None, const int64_t[::1] offsets not None,
                     const uint64_t[::1] weights not None, Py_ssize_t num_totals):
        """Totals by id of weights[k] over the tokens of each text
        ``data[offsets[k]:offsets[k+1]]`` (the trainer's pruning)."""
        cdef size_t n = weights.shape[0]
        if offsets.shape[0] != <Py_ssize_t>n + 1:
            raise ValueError("offsets must have one entry more than weights")
        check_within(data, offsets)
        totals = np.zeros(num_totals, dtype=np.uint64)
        cdef uint64_t[::1] out = totals
        cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
        cdef int rc
        with nogil:
            rc = bp_count_tokens(self.trie, raw, &offsets[0], n, &weights[0] if n else NULL,
                                 &out[0], <size_t>num_totals)
        check(rc, "token counting failed")
        return totals

    def lookup_ids(self, bytes data not None, const int64_t[::1] offsets not None):
        """int32 array: the id of each text ``data[offsets[k]:offsets[k+1]]``
        that is a piece of this vocabulary, -1 for the others."""
        return self._int32_per_text(data, offsets, bp_lookup_ids, "piece lookup failed")

    cdef object _int32_per_text(self, bytes data, const int64_t[::1] offsets, _per_text function, str failure):
        """An int32 array of one entry per text ``data[offsets[k]:offsets[k+1]]``
        that ``function`` fills from the trie, without the GIL."""
        if offsets.shape[0] < 1:
            raise ValueError("offsets must have at least one entry")
        check_within(data, offsets)
        cdef size_t n = offsets.shape[0] - 1
        result = np.zeros(n, dtype=np.int32)
        cdef int32_t[::1] out = result
        cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
        cdef int rc
        with nogil:
            rc = function(self.trie, raw, &offsets[0], n, &out[0] if n else NULL)
        check(rc, failure)
        return result

    def lattice(self, bytes data not None, const int64_t[::1] offsets not None):
        """The :class:`Lattice` of the texts ``data[offsets[k]:offsets[k+1]]``
        with this vocabulary as its base (ids up to 65535, pieces up to 255
        bytes: else ValueError)."""
        if offsets.shape[0] < 1:
            raise ValueError("offsets must have at least one entry")
        check_within(data, offsets)
        cdef Lattice result = Lattice.__new__(Lattice)
        cdef size_t n = offsets.shape[0] - 1
        cdef const uint8_t *raw = <const uint8_t *>PyBytes_AS_STRING(data)
        cdef int rc
        with nogil:
            rc = bp_lattice_build(self.trie, raw, &offsets[0], n, &result.lattice)
        if rc == BP_ERR_TOO_LARGE:
            raise ValueError("a lattice needs ids up to 65535 and pieces up to 255 bytes")
        check(rc, "lattice building failed")
        result.num_texts = n
        result.num_base = self.max_id + 1
        return result

    def alternative_lengths(self, bytes data not None, const int64_t[::1] offsets not None):
        """int32 array: for each text ``data[offsets[k]:offsets[k+1]]`` (a
        piece), the tokens of its best segmentation other than the piece
        itself, 0 if there is none (the "em" trainer's pruning by gain)."""
        return self._int32_per_text(data, offsets, bp_alternative_lengths, "alternative segmentation failed")


# -- JSON lines: one string field per line (csrc/bp_jsonl.h) --------------------

#: What jsonl_extract says of a line (bp_jsonl.h).
JSONL_VALUE = BP_JSONL_VALUE
JSONL_NEEDS_NFC = BP_JSONL_NEEDS_NFC
JSONL_UNSURE = BP_JSONL_UNSURE
JSONL_TOO_LONG = BP_JSONL_TOO_LONG


def jsonl_count_lines(const uint8_t[::1] block not None):
    """(lines, documents) of a block of lines: its lines, and those that are
    not blank (bp_jsonl_count_lines), without the GIL."""
    cdef size_t n = block.shape[0], lines = 0, documents = 0
    cdef int rc
    with nogil:
        rc = bp_jsonl_count_lines(&block[0] if n else NULL, n, &lines, &documents)
    check(rc, "cannot count lines")
    return lines, documents


def jsonl_extract(const uint8_t[::1] block not None, bytes key not None, bint check_nfc, size_t max_line):
    """The string value of the top-level ``key`` (UTF-8) on every non-blank
    line of ``block`` (bp_jsonl_extract), without the GIL: ``(values,
    offsets, status, line_index, line_start)``, one entry per non-blank line
    (int64 offsets with one more: entry e's UTF-8 is
    ``values[offsets[e]:offsets[e + 1]]``; uint8 status, one of JSONL_*;
    int64 line number within the block and byte offset of the line)."""
    cdef size_t n = block.shape[0], lines = 0, documents = 0, entries = 0
    cdef int rc
    with nogil:
        rc = bp_jsonl_count_lines(&block[0] if n else NULL, n, &lines, &documents)
    check(rc, "cannot count lines")
    values = PyBytes_FromStringAndSize(NULL, n)
    offsets = np.zeros(lines + 1, dtype=np.int64)
    status = np.empty(max(lines, 1), dtype=np.uint8)
    line_index = np.empty(max(lines, 1), dtype=np.int64)
    line_start = np.empty(max(lines, 1), dtype=np.int64)
    cdef int64_t[::1] offset_view = offsets
    cdef uint8_t[::1] status_view = status
    cdef int64_t[::1] index_view = line_index
    cdef int64_t[::1] start_view = line_start
    cdef uint8_t *out = <uint8_t *>PyBytes_AS_STRING(values)
    cdef const uint8_t *name = <const uint8_t *>PyBytes_AS_STRING(key)
    cdef size_t name_len = PyBytes_GET_SIZE(key)
    with nogil:
        rc = bp_jsonl_extract(&block[0] if n else NULL, n, name, name_len, check_nfc, max_line, out,
                              &offset_view[1], &status_view[0], &index_view[0], &start_view[0], &entries)
    check(rc, "cannot read the JSON lines")
    return values, offsets[:entries + 1], status[:entries], line_index[:entries], line_start[:entries]
