/*
 * load_impl.h — internals shared by load.c (planning, files, the
 * transaction) and load_rows.c (records: conversion on the workers, commit
 * in file order): the load's plan and state, a worker's state and a block's
 * output. Not a public header.
 */
#ifndef NMDI_LOAD_IMPL_H
#define NMDI_LOAD_IMPL_H

#include "ingest_impl.h"

#include "nmdi/catalog.h"
#include "nmdi/codes.h"

#include <stdint.h>
#include <string.h>

#define MAX_ISSUES 16   /* quarantine rows recorded per record */
#define VALUE_MAX 200   /* bytes of a value kept in the quarantine */

typedef struct pfield {
    const char *name, *column, *format, *fmt_rule;
    nmdi_ftype type;
    int src;            /* column index in the file                     */
    int st;             /* store field index                            */
    nmdi_strmap *cmap;  /* agency code → index into cto                  */
    const nmdi_codelist *cl; /* built-in codelist the codes must be in    */
    int areas;          /* codes must be areas of the configuration      */
    const char **cto;
} pfield;

typedef struct pident {
    const nmdi_cfg_ident *cfg;
    int src;
    int st_hash, st_phon, st_qgram;
} pident;

typedef struct loadst {
    const nmdi_ctx *ctx;
    const nmdi_config *cfg;
    const nmdi_cfg_source *src;
    const nmdi_record_type *rt;
    const nmdi_load_opts *opts;
    unsigned char key[NMDI_KEY_BYTES];
    int scheme;                     /* pseudonymisation scheme of the infrastructure */
    unsigned char *bad;  /* per field: conversion failed in this record */
    nmdi_arena *arena;
    nmdi_catalog *cat;
    nmdi_store_writer *w;
    int64_t version_id;
    size_t nf;
    pfield *f;
    ival *vals;
    char **vbuf;        /* per field: converted text (code maps, case) */
    rule_field *rfields;
    size_t nid;
    pident *id;
    size_t nrules;
    crule *rules;
    int keyf;           /* index of the record type's key field, or -1 */
    int st_rk, st_file, st_line, nst;
    nmdi_store_field *sfields;
    nmdi_load_file_report *cur;
    const char *curname;
    size_t ncols;       /* columns of the current file's header         */
    nmdi_load_report *rep;
    nmdi_progress prog;
    char *norm;
    struct lwork *work; /* per worker thread (one at least)                 */
    int nwork;
    struct bout *rsout; /* rows of a ReadStat file not yet committed         */
    long base;          /* line of the next block's first byte              */
    char delim;         /* of the current CSV file                          */
    crypto_generichash_state fh; /* BLAKE2b of the current CSV file's bytes  */
    uint32_t *order;    /* commit: a block's stored rows by partition        */
    size_t ocap, pcap;
    size_t *pstart;     /* commit: per partition, its first row in order      */
} loadst;

/* What the memos keep per distinct value (memo.c). */
typedef struct keyres {
    int64_t hash;
    double rk;          /* record key (the record type's key field only)     */
} keyres;
typedef struct identres {
    int64_t hash, phon;
    uint32_t n;         /* length of the normalised value (0: missing)       */
    unsigned char q[NMDI_QGRAM_BYTES]; /* bigram Bloom filter; last: absent
                                          from memos of identifiers without bigrams */
} identres;

/* The latest code-map lookups of codes of at most 8 bytes (packed): the
 * index into cto, or -1 when the map lacks the code. */
typedef struct cmcache {
    uint64_t key;
    int32_t idx;
    uint8_t len1;       /* length + 1; 0 = empty */
} cmcache;
#define CM_SLOTS 64

/* The latest codelist checks of CODE and COUNTRY values of at most 8 bytes
 * (after code mapping): whether the value passes and, for a country, the
 * alpha-3 code it becomes (NULL: kept as written). */
typedef struct vcache {
    uint64_t key;
    const char *a3;
    uint8_t len1;       /* length + 1; 0 = empty */
    uint8_t ok;
} vcache;

/* A worker's own state: keyed-hash states, memos and scratch values. */
typedef struct lwork {
    nmdi_pseudo_cache pc;
    nmdi_memo *fmemo;   /* per field (KEY fields): value → keyed hash        */
    nmdi_memo *imemo;   /* per identifier: raw value → its encodings          */
    nmdi_strmap **ccache; /* country fields: text → nmdi_country* (or -1)    */
    struct cmcache *cm; /* per field, 64 entries: code-map lookups of short codes */
    struct vcache *vc;  /* per field, 64 entries: codelist checks of short codes  */
    ival *vals;
    unsigned char *bad; /* per field: conversion failed in this record        */
    char *norm;
    const char **f;
    size_t *lens, fcap;
} lwork;

/* A record of a block: stored (row >= 0) or quarantined (nq issues from q0). */
typedef struct brec {
    long line;
    int32_t row;
    uint32_t q0;
    uint16_t nq;
    uint8_t columns;    /* quarantined for its number of fields             */
} brec;

typedef struct qent {
    const char *rule, *field;
    size_t val, msg;    /* offsets of NUL-terminated texts in sb              */
} qent;


typedef struct bout {
    brec *rec;
    size_t nrec, caprec;
    qent *q;
    size_t nq, capq;
    uint64_t *slots;    /* nst words per stored row                          */
    uint32_t *part;
    size_t nrows, caprows;
    char *sb;           /* strings: uint32 length + bytes                     */
    size_t slen, scap;
    long nlines;        /* lines of the block                                 */
    uint64_t bytes;
    int rc;
    nmdi_error err;
} bout;

/* load_rows.c */
int nmdi_load_work_init(const loadst *L, lwork *W, uint64_t total_bytes, unsigned shift);
void nmdi_load_work_free(const loadst *L, lwork *W);
void nmdi_load_out_free(void *arg, void *out);
void nmdi_load_out_reset(bout *o);
/* Hand a block's records to the store and the quarantine (base: the line of
 * the block's first byte), then report the block's own error, if any. */
int nmdi_load_commit(loadst *L, bout *o, long base, nmdi_error *err);
/* The block pipeline's callbacks (nmdi_block_ops; arg is the loadst). */
void nmdi_load_block_work(void *arg, int idx, nmdi_block *b);
void nmdi_load_block_read(void *arg, const char *p, size_t n);
int nmdi_load_block_write(void *arg, nmdi_block *b, nmdi_error *err);
/* ReadStat rows (row_fn): converted by worker 0, committed every 8192 rows. */
int nmdi_load_rs_row(void *arg, size_t nf, const char *const *fields, const size_t *lens, long line,
                     nmdi_error *err);

#endif
