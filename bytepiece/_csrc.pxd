# cython: language_level=3
"""Declarations of the C core (csrc/*.h) for the binding modules, and the
one place that turns a C error code into a Python exception."""
from libc.stdint cimport uint8_t, int32_t, int64_t, uint32_t, uint64_t
from cpython.bytes cimport PyBytes_GET_SIZE

cdef extern from "bp_common.h":
    const char *bp_strerror(int code)
    int BP_OK, BP_ERR_NOMEM, BP_ERR_INVALID, BP_ERR_DUPLICATE, BP_ERR_TOO_LARGE
    int BP_PAD_ID, BP_BOS_ID, BP_EOS_ID, BP_NUM_SPECIAL
    unsigned int BP_MAX_PIECE_LEN
    double BP_MAX_ALPHA
    double BP_MAX_ABS_SCORE
    int BP_MAX_ORDER, BP_MAX_PARTITIONS

cdef extern from "bp_rng.h":
    uint64_t bp_stream_key(uint64_t seed, uint64_t stream) nogil

cdef extern from "bp_trie.h":
    ctypedef struct bp_piece_info:
        double score
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

cdef extern from "bp_segmenter.h":
    ctypedef enum bp_mode:
        BP_MODE_BEST
        BP_MODE_SAMPLE_PERFECT
        BP_MODE_SAMPLE_VITERBI
    int bp_sampling_weights(const bp_trie *trie, double alpha, double *out) nogil
    int bp_encode_batch(const bp_trie *trie, const uint8_t **texts, const size_t *lengths, size_t num_texts,
                        bp_mode mode, double alpha, const double *weights, const uint64_t *keys, int add_bos,
                        int add_eos, int32_t *out_ids, int64_t *out_offsets) nogil

cdef extern from "bp_retokenize.h":
    int bp_count_tokens(const bp_trie *trie, const uint8_t *data, const int64_t *offsets,
                        size_t num_texts, const uint64_t *weights, uint64_t *totals,
                        size_t num_totals) nogil
    int bp_alternative_lengths(const bp_trie *trie, const uint8_t *data, const int64_t *offsets,
                               size_t num_texts, int32_t *out) nogil
    ctypedef struct bp_lattice:
        pass
    int bp_lattice_build(const bp_trie *trie, const uint8_t *data, const int64_t *offsets, size_t num_texts,
                         bp_lattice **out) nogil
    int bp_lattice_count(const bp_lattice *lattice, const double *scores, const int32_t *ids, size_t num_base,
                         const uint64_t *weights, uint64_t *totals, size_t num_totals) nogil
    size_t bp_lattice_memory(const bp_lattice *lattice) nogil
    size_t bp_lattice_num_edges(const bp_lattice *lattice) nogil
    void bp_lattice_free(bp_lattice *lattice) nogil
    int bp_lookup_ids(const bp_trie *trie, const uint8_t *data, const int64_t *offsets, size_t num_texts,
                      int32_t *out) nogil

cdef extern from "bp_utf8.h":
    size_t BP_UTF8_NOT_INERT
    size_t bp_utf8_encode_inert(const void *data, int kind, size_t n, uint8_t *out) nogil

cdef extern from "bp_nbest.h":
    int bp_nbest(const bp_trie *trie, const uint8_t *text, size_t length, size_t k,
                 int32_t *out_ids, int64_t *out_offsets, double *out_scores, size_t *num_found) nogil

cdef extern from "bp_chunk.h":
    size_t bp_training_chunk_end(const uint8_t *text, size_t len, size_t start, size_t max_units,
                                 size_t max_newlines, int count_characters) nogil

cdef extern from "bp_model_json.h":
    ctypedef struct bp_model_entries:
        uint8_t *bytes
        int64_t *offsets
        int64_t *ids
        int64_t *counts
        size_t num_pieces
        int64_t options_entry
        size_t options_start
        size_t options_end
    int bp_model_json_scan(const uint8_t *json, size_t len, bp_model_entries *out) nogil
    void bp_model_entries_free(bp_model_entries *entries) nogil

cdef extern from "bp_format.h":
    int BP_FORMAT_ID_CHARS
    size_t bp_format_ids(const int32_t *ids, size_t n, char separator, char *out) nogil
    size_t bp_format_spans(const int32_t *ids, const int64_t *offsets, size_t num_spans, char separator,
                           char terminator, char *out) nogil

cdef extern from "bp_ngram.h":
    ctypedef struct bp_ngrams:
        pass
    int bp_ngrams_new(int order, int num_partitions, bp_ngrams **out)
    void bp_ngrams_free(bp_ngrams *ngrams)
    int bp_ngrams_count(bp_ngrams *ngrams, int partition, const uint8_t *data,
                        const int64_t *offsets, size_t num_chunks) nogil
    int bp_ngrams_balance(bp_ngrams *ngrams, const uint64_t *byte_counts)
    int bp_balance_partitions(const uint64_t *byte_counts, int num_partitions, uint8_t *part_of_byte)
    int bp_ngrams_assign(bp_ngrams *ngrams, const uint8_t *part_of_byte)
    void bp_ngrams_partition_map(const bp_ngrams *ngrams, uint8_t *part_of_byte)
    int bp_ngrams_add_missing_bytes(bp_ngrams *ngrams, int partition, size_t *num_added) nogil
    ctypedef struct bp_log_table:
        const double *small
        size_t num_small
        const uint64_t *large_counts
        const double *large_logs
        size_t num_large
    int bp_ngrams_large_counts(const bp_ngrams *ngrams, int partition, uint64_t min_count, uint64_t threshold,
                               uint64_t *out, size_t capacity, size_t *num_counts) nogil
    int bp_ngrams_finish_partition_logs(bp_ngrams *ngrams, int partition, uint64_t min_count,
                                        const bp_log_table *logs) nogil
    uint64_t BP_NGRAM_HISTOGRAM_MAX_CAP
    int bp_ngrams_count_histogram(const bp_ngrams *ngrams, int partition, int length, uint64_t min_count,
                                  uint64_t cap, uint64_t *values, uint64_t *num_ngrams, size_t capacity,
                                  size_t *num_values) nogil
    uint64_t bp_ngrams_finished_bytes_bound(int order, int num_partitions, uint64_t kept) nogil
    uint64_t bp_ngrams_positions(const bp_ngrams *ngrams)
    uint64_t bp_ngrams_get_count(const bp_ngrams *ngrams, const uint8_t *text, int length)
    size_t bp_ngrams_size(const bp_ngrams *ngrams, int length)
    size_t bp_ngrams_memory(const bp_ngrams *ngrams)
    size_t bp_ngrams_growth_reserve(const bp_ngrams *ngrams)
    int bp_ngrams_buffer(bp_ngrams *ngrams, size_t max_positions)
    int bp_ngrams_settle(bp_ngrams *ngrams, int partition, uint64_t min_count) nogil
    size_t bp_ngrams_distinct(const bp_ngrams *ngrams, int length)
    size_t bp_ngrams_buffer_peak(const bp_ngrams *ngrams)

cdef extern from "bp_ngram_shards.h":
    int bp_ngrams_add_positions(bp_ngrams *ngrams, uint64_t positions)
    size_t bp_ngrams_partition_size(const bp_ngrams *ngrams, int partition, int length)
    int bp_ngrams_export_counts(const bp_ngrams *ngrams, int partition, int length, uint64_t *keys,
                                uint64_t *counts) nogil
    int bp_ngrams_add_counts(bp_ngrams *ngrams, int partition, int length, const uint64_t *keys,
                             const uint64_t *counts, size_t n) nogil
    size_t bp_ngrams_table_capacity(const bp_ngrams *ngrams, int partition, int length)
    int bp_ngrams_export_table(const bp_ngrams *ngrams, int partition, int length, void *out) nogil

cdef extern from "bp_ngram_view.h":
    int bp_ngrams_view(int order, int num_partitions, const uint8_t *part_of_byte, const void *const *tables,
                       const size_t *capacities, bp_ngrams **out) nogil
    double bp_ngrams_logprob(const bp_ngrams *ngrams, const uint8_t *text, int length)

cdef extern from "bp_pieces.h":
    ctypedef struct bp_piece_counts:
        pass
    int bp_piece_counts_new(bp_piece_counts **out)
    void bp_piece_counts_free(bp_piece_counts *counts)
    int bp_piece_counts_add(bp_piece_counts *counts, const uint8_t *piece, size_t length, uint64_t count) nogil
    int bp_piece_counts_merge(bp_piece_counts *into, const bp_piece_counts *src) nogil
    int bp_piece_counts_add_packed(bp_piece_counts *counts, const uint8_t *data, const int64_t *offsets,
                                   const uint64_t *piece_counts, size_t n) nogil
    int bp_piece_counts_add_each(bp_piece_counts *counts, const uint8_t *data, const int64_t *offsets,
                                 size_t n) nogil
    int bp_piece_counts_add_substrings(bp_piece_counts *counts, const uint8_t *data, const int64_t *offsets,
                                       const uint64_t *weights, size_t n, size_t min_length,
                                       size_t max_length, uint32_t num_partitions, uint32_t partition) nogil
    int bp_piece_counts_partitions(const bp_piece_counts *counts, uint32_t num_partitions, uint32_t *out)
    size_t bp_piece_counts_size(const bp_piece_counts *counts)
    size_t bp_piece_counts_total_bytes(const bp_piece_counts *counts)
    size_t bp_piece_counts_memory(const bp_piece_counts *counts)
    void bp_piece_counts_export(const bp_piece_counts *counts, uint8_t *data, int64_t *offsets,
                                uint64_t *out_counts)

cdef extern from "bp_bnlm.h":
    ctypedef struct bp_bnlm_workspace:
        pass
    void bp_bnlm_workspace_free(bp_bnlm_workspace *ws)
    int bp_bnlm_segment(const bp_ngrams *ngram_model, int ensure_unicode, const uint8_t *text,
                        size_t n, bp_bnlm_workspace *ws, size_t *starts, size_t *num_starts) nogil
    int bp_bnlm_count_pieces(const bp_ngrams *ngram_model, int ensure_unicode, const uint8_t *data,
                             const int64_t *offsets, const uint64_t *weights, size_t num_chunks,
                             bp_piece_counts *counts) nogil


cdef extern from "bp_jsonl.h":
    int BP_JSONL_VALUE
    int BP_JSONL_NEEDS_NFC
    int BP_JSONL_UNSURE
    int BP_JSONL_TOO_LONG
    int bp_jsonl_count_lines(const uint8_t *block, size_t len, size_t *lines, size_t *documents) nogil
    int bp_jsonl_extract(const uint8_t *block, size_t len, const uint8_t *key, size_t key_len, int check_nfc,
                         size_t max_line, uint8_t *values, int64_t *ends, uint8_t *status, int64_t *line_index,
                         int64_t *line_start, size_t *num_entries) nogil


cdef inline int check(int rc, str what) except -1:
    """Raise for a BP_ERR_* code: MemoryError for BP_ERR_NOMEM, else ValueError naming `what`."""
    if rc == BP_OK:
        return 0
    if rc == BP_ERR_NOMEM:
        raise MemoryError(what)
    raise ValueError(f"{what}: {bp_strerror(rc).decode()}")


cdef inline int check_within(bytes data, const int64_t[::1] offsets) except -1:
    """Texts data[offsets[k]:offsets[k+1]]: the offsets start at or after 0 and
    end within data (C checks that they never decrease)."""
    if offsets.shape[0] < 1 or offsets[0] < 0 or offsets[offsets.shape[0] - 1] > PyBytes_GET_SIZE(data):
        raise ValueError("offsets must lie within data")
    return 0
