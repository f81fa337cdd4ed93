/* bp_trie.c: construction of the double-array trie (see bp_trie.h). */
#include "bp_trie.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *bytes;
    uint32_t length;
    uint32_t index; /* position in the caller's arrays */
} key_ref;

static int compare_keys(const void *pa, const void *pb)
{
    const key_ref *a = pa, *b = pb;
    uint32_t common = a->length < b->length ? a->length : b->length;
    int c = memcmp(a->bytes, b->bytes, common);
    if (c != 0)
        return c;
    return (a->length > b->length) - (a->length < b->length);
}

/* A range of sorted keys sharing the first `depth` bytes, owned by `node`. */
typedef struct {
    int32_t node;
    uint32_t lo, hi, depth;
} pending_node;

typedef struct {
    bp_unit *units;
    bp_piece_info *info;
    /* next_free[p]: a position >= p that may be free; a union-find "next
     * unused slot" structure (next_free[p] == p iff p is free), which keeps
     * the base search close to linear. */
    uint32_t *next_free;
    size_t capacity;
} builder;

static int builder_reserve(builder *b, size_t need)
{
    if (need <= b->capacity)
        return BP_OK;
    /* Grow by a quarter, not by doubling: the builder holds 28 bytes per unit
     * (units, info, next_free), and for vocabularies of millions of pieces
     * (the trainer's pruning) a doubled array was most of a worker's memory. */
    size_t cap = b->capacity + b->capacity / 4;
    if (cap < need)
        cap = need;
    if (cap < 1024)
        cap = 1024;
    if (cap > (size_t)BP_MAX_BASE + 257)
        return BP_ERR_TOO_LARGE;
    int rc = bp_resize_array((void **)&b->units, cap, sizeof *b->units);
    if (rc == BP_OK)
        rc = bp_resize_array((void **)&b->info, cap, sizeof *b->info);
    if (rc == BP_OK)
        rc = bp_resize_array((void **)&b->next_free, cap + 1, sizeof *b->next_free);
    if (rc != BP_OK)
        return rc;
    bp_unit *units = b->units;
    bp_piece_info *info = b->info;
    uint32_t *next_free = b->next_free;
    for (size_t p = b->capacity; p < cap; p++) {
        units[p].base = 0;
        units[p].check = -1;
        info[p].score = -INFINITY; /* no piece ends here (see bp_piece_info) */
        info[p].id = -1;
        info[p].length = 0;
        next_free[p] = (uint32_t)p;
    }
    next_free[cap] = (uint32_t)cap; /* sentinel: beyond the end is free */
    b->capacity = cap;
    return BP_OK;
}

static uint32_t find_free(uint32_t *next_free, uint32_t p)
{
    uint32_t root = p;
    while (next_free[root] != root)
        root = next_free[root];
    while (next_free[p] != root) { /* path compression */
        uint32_t up = next_free[p];
        next_free[p] = root;
        p = up;
    }
    return root;
}

/* Finds a base where every label of the node lands on a free unit. */
static int find_base(builder *b, const uint8_t *labels, int num_labels, uint32_t *base_out)
{
    uint32_t first = labels[0];
    uint32_t p = first > 1 ? first : 1; /* unit 0 is the root */
    for (;;) {
        int rc = builder_reserve(b, (size_t)p + 257);
        if (rc != BP_OK)
            return rc;
        p = find_free(b->next_free, p);
        rc = builder_reserve(b, (size_t)p + 257);
        if (rc != BP_OK)
            return rc;
        uint32_t base = p - first;
        int fits = 1;
        for (int k = 1; k < num_labels && fits; k++)
            fits = b->next_free[base + labels[k]] == base + labels[k];
        if (fits) {
            *base_out = base;
            return BP_OK;
        }
        p++;
    }
}

/* Checks the pieces and fills keys[0 .. n) with references to them.
 * Errors: BP_ERR_INVALID (an empty piece, negative offset or id, a score
 * that is NaN, infinite or beyond BP_MAX_ABS_SCORE), BP_ERR_TOO_LARGE (a
 * piece longer than BP_MAX_PIECE_LEN). */
static int collect_keys(const uint8_t *bytes, const int64_t *offsets, size_t n, const double *scores,
                        const int32_t *ids, key_ref *keys, size_t *total_bytes, uint32_t *max_len)
{
    *total_bytes = 0;
    *max_len = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t len = offsets[i + 1] - offsets[i];
        /* Written so that NaN fails too: no sum of scores may overflow
         * (see BP_MAX_ABS_SCORE). */
        if (!(fabs(scores[i]) <= BP_MAX_ABS_SCORE))
            return BP_ERR_INVALID;
        if (len <= 0 || offsets[i] < 0 || ids[i] < 0)
            return BP_ERR_INVALID;
        if (len > (int64_t)BP_MAX_PIECE_LEN)
            return BP_ERR_TOO_LARGE;
        keys[i] = (key_ref){bytes + offsets[i], (uint32_t)len, (uint32_t)i};
        *total_bytes += (size_t)len;
        if ((uint32_t)len > *max_len)
            *max_len = (uint32_t)len;
    }
    return BP_OK;
}

/* The bucket of a key by its first two bytes, one-byte keys first: the
 * order of compare_keys on those bytes. */
static size_t bucket_of(const key_ref *k)
{
    return k->length == 1 ? k->bytes[0] * 257u : k->bytes[0] * 257u + 1u + k->bytes[1];
}

/* Sorts the keys by bytes and checks that they are distinct and hold the 256
 * single bytes. A counting sort by the first two bytes, then qsort within
 * each bucket: a million keys sort in a third of qsort's time.
 * Errors: BP_ERR_DUPLICATE, BP_ERR_INVALID, BP_ERR_NOMEM. */
static int sort_keys(key_ref *keys, size_t n)
{
    enum { BUCKETS = 256 * 257 };
    size_t *start = calloc(BUCKETS + 1, sizeof *start);
    key_ref *sorted = malloc(n * sizeof *sorted);
    if (!start || !sorted) {
        free(start);
        free(sorted);
        return BP_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        start[bucket_of(&keys[i]) + 1]++;
    for (size_t b = 0; b < BUCKETS; b++)
        start[b + 1] += start[b];
    for (size_t i = 0; i < n; i++)
        sorted[start[bucket_of(&keys[i])]++] = keys[i]; /* start[b] ends as the start of b + 1 */
    memcpy(keys, sorted, n * sizeof *keys);
    free(sorted);
    for (size_t b = 0, lo = 0; b < BUCKETS; b++) {
        if (start[b] - lo > 1)
            qsort(keys + lo, start[b] - lo, sizeof *keys, compare_keys);
        lo = start[b];
    }
    free(start);
    size_t single_bytes = keys[0].length == 1;
    for (size_t i = 1; i < n; i++) {
        if (compare_keys(&keys[i - 1], &keys[i]) == 0)
            return BP_ERR_DUPLICATE;
        single_bytes += keys[i].length == 1;
    }
    return single_bytes == 256 ? BP_OK : BP_ERR_INVALID; /* distinct pieces of length 1: all bytes */
}

/* Places every node of the sorted keys in the double array, depth first;
 * *max_base receives the largest base used. */
static int place_nodes(builder *b, const key_ref *keys, size_t n, size_t total_bytes, uint32_t max_len,
                       const double *scores, const int32_t *ids, size_t *max_base)
{
    /* Depth first: a node's children are pushed when it is popped, so the
     * stack holds at most the pending siblings (< 256) of each node on the
     * current path (<= max_len deep), and never more than the nodes
     * (<= total_bytes + 1). Bounded by ~4 MB whatever the vocabulary. */
    size_t capacity = (size_t)max_len * 255 + 1 < total_bytes + 1 ? (size_t)max_len * 255 + 1 : total_bytes + 1;
    pending_node *stack = malloc(capacity * sizeof *stack);
    if (!stack)
        return BP_ERR_NOMEM;
    int rc = builder_reserve(b, total_bytes / 2 + 512);
    size_t top = 0;
    *max_base = 0;
    if (rc == BP_OK) {
        b->units[0].check = -2; /* the root: no node is its parent */
        b->next_free[0] = 1;
        stack[top++] = (pending_node){0, 0, (uint32_t)n, 0};
    }
    while (top > 0 && rc == BP_OK) {
        pending_node cur = stack[--top];
        uint32_t lo = cur.lo;
        if (keys[lo].length == cur.depth) { /* a piece ends here (sorted: first) */
            const key_ref *k = &keys[lo];
            b->info[cur.node].score = scores[k->index];
            b->info[cur.node].id = ids[k->index];
            b->info[cur.node].length = (int32_t)k->length;
            lo++;
        }
        if (lo == cur.hi)
            continue; /* a leaf: base 0 is safe, no unit has it as parent */

        uint8_t labels[256];
        uint32_t starts[257];
        int num_labels = 0;
        for (uint32_t i = lo; i < cur.hi; i++) {
            uint8_t c = keys[i].bytes[cur.depth];
            if (num_labels == 0 || labels[num_labels - 1] != c) {
                labels[num_labels] = c;
                starts[num_labels++] = i;
            }
        }
        starts[num_labels] = cur.hi;

        uint32_t base;
        if ((rc = find_base(b, labels, num_labels, &base)) != BP_OK)
            break;
        if (base > *max_base)
            *max_base = base;
        /* find_base may have moved the arrays: index them afresh. */
        b->units[cur.node].base = base;
        for (int k = 0; k < num_labels; k++) {
            uint32_t t = base + labels[k];
            b->units[t].check = cur.node;
            b->next_free[t] = t + 1;
            stack[top++] = (pending_node){(int32_t)t, starts[k], starts[k + 1], cur.depth + 1};
        }
    }
    free(stack);
    return rc;
}

/* Moves the builder's arrays into a new trie of num_units units (every unit
 * that base + byte can reach, nothing more). */
static int shrink_into_trie(builder *b, size_t num_units, size_t num_pieces, uint32_t max_len, bp_trie **out)
{
    bp_trie *trie = malloc(sizeof *trie);
    if (!trie)
        return BP_ERR_NOMEM;
    int rc = bp_resize_array((void **)&b->units, num_units, sizeof *b->units);
    if (rc == BP_OK)
        rc = bp_resize_array((void **)&b->info, num_units, sizeof *b->info);
    if (rc != BP_OK) {
        free(trie);
        return rc;
    }
    *trie = (bp_trie){b->units, b->info, num_units, num_pieces, max_len};
    b->units = NULL;
    b->info = NULL;
    *out = trie;
    return BP_OK;
}

int bp_trie_build(const uint8_t *bytes, const int64_t *offsets, size_t n,
                  const double *scores, const int32_t *ids, bp_trie **out)
{
    if (!out)
        return BP_ERR_INVALID;
    *out = NULL;
    if (!bytes || !offsets || !scores || !ids || n == 0)
        return BP_ERR_INVALID;
    key_ref *keys = malloc(n * sizeof *keys);
    if (!keys)
        return BP_ERR_NOMEM;
    builder b = {0};
    size_t total_bytes, max_base = 0;
    uint32_t max_len;
    int rc = collect_keys(bytes, offsets, n, scores, ids, keys, &total_bytes, &max_len);
    if (rc == BP_OK)
        rc = sort_keys(keys, n);
    if (rc == BP_OK)
        rc = place_nodes(&b, keys, n, total_bytes, max_len, scores, ids, &max_base);
    if (rc == BP_OK)
        rc = shrink_into_trie(&b, max_base + 256, n, max_len, out);
    free(keys);
    free(b.units);
    free(b.info);
    free(b.next_free);
    return rc;
}

void bp_trie_free(bp_trie *trie)
{
    if (!trie)
        return;
    free(trie->units);
    free(trie->info);
    free(trie);
}
