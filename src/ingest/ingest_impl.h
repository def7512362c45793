/*
 * ingest_impl.h — internals shared by the files of src/ingest: typed values
 * of one record, compiled validation rules (VTL-like datapoint rules), the
 * readers' row callback. Not a public header.
 */
#ifndef NMDI_INGEST_IMPL_H
#define NMDI_INGEST_IMPL_H

#include "nmdi/ingest.h"

#include <sodium.h>

/* Keyed hashing with the per-domain work done once (same values as
 * nmdi_pseudo_hash): scheme 2 keeps each domain's SipHash subkey, scheme 1
 * the BLAKE2b state after the key block. Holds key material: wipe it. */
#define NMDI_PSEUDO_CACHE 12
typedef struct nmdi_pseudo_cache {
    unsigned char key[NMDI_KEY_BYTES];
    unsigned char qsub[crypto_shorthash_KEYBYTES]; /* bigram subkey (nmdi_pseudo_qgram) */
    int scheme;
    size_t n;
    const char *domain[NMDI_PSEUDO_CACHE];
    unsigned char sub[NMDI_PSEUDO_CACHE][crypto_shorthash_KEYBYTES]; /* scheme 2 */
    crypto_generichash_state st[NMDI_PSEUDO_CACHE];                  /* scheme 1 */
} nmdi_pseudo_cache;
void nmdi_pseudo_cache_init(nmdi_pseudo_cache *c, const unsigned char key[NMDI_KEY_BYTES], int scheme);
int64_t nmdi_pseudo_cache_hash(nmdi_pseudo_cache *c, const char *domain, const char *s, size_t len);
/* nmdi_pseudo_qgram with the subkey already derived (same output). */
void nmdi_pseudo_cache_qgram(const nmdi_pseudo_cache *c, const char *norm,
                             unsigned char out[NMDI_QGRAM_BYTES]);
void nmdi_pseudo_cache_wipe(nmdi_pseudo_cache *c);

/* A bounded memo of per-value results (memo.c): direct-mapped, 2^log2
 * entries, each holding a value of at most vcap bytes (NMDI_MEMO_VALUE, or
 * 32-40 when the payload is at most 24 bytes) and a
 * payload of the caller's. Single-threaded; unmapped by nmdi_memo_free. */
#define NMDI_MEMO_VALUE 48
typedef struct nmdi_memo {
    unsigned char *mem;
    size_t mask, payload, stride, vcap;
    unsigned char *last; /* entry of the latest lookup  */
    size_t last_len;
    const char *pre_s;   /* the value of the latest prefetch and its hash */
    size_t pre_len;
    uint64_t pre_h;
    uint64_t hits, misses;
} nmdi_memo;
int nmdi_memo_init(nmdi_memo *m, unsigned log2_entries, size_t payload);
/* The payload of value s on a hit; NULL on a miss, when *fill (if not NULL:
 * a value longer than vcap is never kept) is the payload the
 * caller must fill now with the value's results. */
void *nmdi_memo_find(nmdi_memo *m, const char *s, size_t len, void **fill);
/* Start fetching the entry of value s (a hint; lookups of several memos
 * per record then overlap their memory accesses). The next nmdi_memo_find
 * of the same pointer and length reuses the hash: the bytes must not
 * change in between. */
void nmdi_memo_prefetch(nmdi_memo *m, const char *s, size_t len);
void nmdi_memo_free(nmdi_memo *m);

/* A value of one field of the current record. */
typedef enum { V_NULL = 0, V_NUM, V_STR } vkind;
typedef struct ival {
    vkind kind;
    double num;
    const char *s;
    size_t len;
} ival;

/* How a rule expression sees a field: numbers (int, double, bool, date as
 * days) or text (codes, countries, strings, raw keys). */
typedef struct rule_field {
    const char *name;
    nmdi_ftype type;
} rule_field;

typedef struct expr expr;
typedef struct crule {
    const nmdi_cfg_rule *cfg;
    const char *id, *errorcode;
    int field;          /* first field (index into the plan's fields)  */
    int *fields;        /* required: all fields                          */
    size_t nfields;
    nmdi_strmap *codes; /* codelist                                      */
    expr *when, *then;
} crule;

/* Compile a rule against fields (nf of them). Errors name cfg file + rule line. */
int nmdi_rule_compile(nmdi_arena *a, const char *file, const nmdi_cfg_rule *r, const rule_field *fields,
                      size_t nf, crule *out, nmdi_error *err);
/* Check one record: 1 pass, 0 fail (*bad_field = field index or -1). */
int nmdi_rule_check(const crule *r, const ival *vals, int *bad_field);
void nmdi_rule_free(crule *r);

/* Validate a date format string; 0 ok. */
int nmdi_date_format_valid(const char *fmt);

/* Readers: a row of string fields (NUL-terminated), line number for reports. */
typedef int (*row_fn)(void *arg, size_t nf, const char *const *f, const size_t *len, long line,
                      nmdi_error *err);
/* Read a Stata/SPSS/SAS file through ReadStat: calls header(arg, names...)
 * once, then row() per observation. */
int nmdi_readstat_read(const char *path, const char *format,
                       int (*header)(void *arg, size_t nf, const char *const *names, nmdi_error *err),
                       row_fn row, void *arg, uint64_t *bytes, nmdi_error *err);

/* The block pipeline of a CSV load (blocks.c). A block: bytes of whole
 * records (data[0..len)), its rank in the file, and the caller's output. */
#define NMDI_BLOCK_BYTES ((size_t)1 << 20)
typedef struct nmdi_block {
    char *data;
    size_t len, cap;
    uint64_t seq;
    long line0;         /* line of data[0]                                     */
    void *out;          /* the caller's, kept with the block's slot and reused */
} nmdi_block;
typedef struct nmdi_block_ops {
    void *arg;
    /* parse, convert, validate a block into b->out (worker idx; keeps its own
     * errors in b->out); runs concurrently on distinct blocks */
    void (*work)(void *arg, int idx, nmdi_block *b);
    /* hand the block's rows to the store, in file order, on the caller's thread */
    int (*write)(void *arg, nmdi_block *b, nmdi_error *err);
    void (*free_out)(void *arg, void *out);
    /* every byte read from fd, in file order (under the pipeline's lock); may be NULL */
    void (*on_read)(void *arg, const char *p, size_t n);
} nmdi_block_ops;
/* Read fd from its current offset to the end in record-aligned blocks of
 * about block bytes (0: NMDI_BLOCK_BYTES), with nworkers worker threads (0:
 * all on the caller's thread). */
int nmdi_blocks_run(int fd, const char *name, char delim, long first_line, int nworkers, size_t block,
                    const nmdi_block_ops *ops, nmdi_error *err);
/* The lines of d[0..n) as the reader counts them, when d[0] starts a record
 * and the text ends at a cut of nmdi_blocks_cut or at the end of the file
 * (gives each block its first line before it is parsed). */
long nmdi_blocks_lines(const char *d, size_t n, char delim);
/* Where a block of d[0..n) (d[0] starts a record) may end: after the last
 * record end certain to be one; 0 when there is none yet. */
size_t nmdi_blocks_cut(const char *d, size_t n, char delim);

#endif
