/*
 * pipeline_impl.h — internals of `nmdi derive DIR` shared between
 * src/derive/pipeline.c (the stage: sources, outputs, registers, permits),
 * src/derive/pipeline_border.c (border crossings: groups of travellers,
 * classification, border outputs) and src/derive/travellers.c (the document
 * join, the register by identity); not installed.
 * Ownership: nmdi_travellers_link() returns a map the caller frees with
 * nmdi_travellers_free(); once built it is read-only and may be read by
 * any number of threads.
 */
#ifndef NMDI_DERIVE_PIPELINE_IMPL_H
#define NMDI_DERIVE_PIPELINE_IMPL_H

#include "nmdi/derive_pipeline.h"
#include "nmdi/store.h"

#include <pthread.h>
#ifdef DERIVE_TRACE
#include <stdio.h>
#include <time.h>
static inline void dtrace(const char *what, long a)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    fprintf(stderr, "TRACE %.3f %s %ld\n", t.tv_sec + t.tv_nsec * 1e-9, what, a);
}
#else
#define dtrace(w, a) ((void)0)
#endif

typedef struct nmdi_travellers nmdi_travellers;

/* malloc for large work arrays (freed with free()): from 1 MiB on, aligned to
 * 2 MiB and advised for transparent huge pages, which spares most page
 * faults (≈ 20 us each for 4 KiB on the reference VM) and TLB misses of
 * arrays visited at random. */
void *nmdi_derive_big_alloc(size_t bytes);
/* Make room for need elements of elem bytes in *p (capacity *cap, doubled
 * from least), the contents kept, the new array from nmdi_derive_big_alloc
 * (realloc would grow a large array in small pages). 0, or -1 when out of
 * memory (*p and *cap unchanged). */
int nmdi_derive_big_grow(void **p, size_t *cap, size_t need, size_t elem, size_t least);

/* Join the document keys (traveller_key) of a border dataset that share an
 * exact identity (surname_hash, given_name_hash, dob_hash, sex) on some
 * crossing. *out is NULL (and 0 returned) when the dataset has no identity
 * fields. The partitions are scanned on ctx->nthreads threads; the join
 * itself runs over documents, not rows; a document's index needs no map
 * when every key is in partition key % partitions (as the store writes). */
int nmdi_travellers_link(const nmdi_ctx *ctx, const nmdi_dataset *ds, nmdi_travellers **out,
                         nmdi_error *err);
/* The rows of a partition as runs of consecutive rows with one document
 * key: run k covers rows [runs[k].row, runs[k+1].row) (the last to the end
 * of the partition); doc is the document's index, or NMDI_TRUN_NONE for rows
 * without a key. Rows are in runs from row 0 on. */
#define NMDI_TRUN_NONE UINT32_MAX
typedef struct nmdi_trun {
    uint32_t row, doc;
} nmdi_trun;
const nmdi_trun *nmdi_travellers_runs(const nmdi_travellers *t, size_t part, size_t *n);
/* By document index: the person key (the smallest document key of the
 * document's component) and the person's home partition (the partition in
 * which the person's root document was first seen). */
void nmdi_travellers_docs(const nmdi_travellers *t, const int64_t **person, const uint16_t **home);
void nmdi_travellers_counts(const nmdi_travellers *t, uint64_t *docs, uint64_t *persons);
void nmdi_travellers_free(nmdi_travellers *t);


/* ---- the population register by identity (travellers.c) ----
 * The keyed hashes of surname, given names and date of birth plus the sex
 * letter identify a person across sources pseudonymised with one key. An
 * index over a register extract (person records, registered_since) and
 * register events (REG_IN / DEREG_OUT with the previous / next country of
 * residence) answers, for a traveller's identity: was the person in the
 * extract, and which country did a registration near a date name. Built
 * once, then read-only (any number of threads). Country strings point into
 * the datasets' dictionaries: valid while those datasets are open. */
typedef struct nmdi_regindex nmdi_regindex;

/* NMDI_I64_NONE when a part of the identity is missing. */
int64_t nmdi_identity_id(int64_t surname, int64_t given, int64_t dob, const char *sex);
/* base or events may be absent (NULL / 0). */
int nmdi_regindex_build(const nmdi_dataset *base, const nmdi_dataset *const *events, size_t nevents,
                        nmdi_regindex **out, nmdi_error *err);
void nmdi_regindex_free(nmdi_regindex *x);
/* The latest registered_since of the extract: the extract is at least that recent. */
nmdi_date nmdi_regindex_extract_date(const nmdi_regindex *x);
/* Start loading what the two lookups below read for id (x may be NULL). */
void nmdi_regindex_prefetch(const nmdi_regindex *x, int64_t id);
/* 1 in the extract, 0 not, -1 unknown identity or no index. */
int nmdi_regindex_registered(const nmdi_regindex *x, int64_t id);
/* The country of the identity's registration from abroad (inward 1) or
 * deregistration to abroad (inward 0) nearest to date, within maxdays; NULL. */
const char *nmdi_regindex_country(const nmdi_regindex *x, int64_t id, int inward, nmdi_date date,
                                  int maxdays);

/* ---- shared by pipeline.c (the stage, registers, permits) and
 * pipeline_border.c (border crossings) ---- */

/* Output layouts: the field order of cr_fields / ev_fields in pipeline.c. */
enum { OUT_CR, OUT_EV, OUT_REG, OUT_PERMIT, NOUT };
enum { CR_KEY, CR_DATE, CR_DIR, CR_DOC, CR_SEX, CR_DOB, CR_RB, CR_RA, CR_LTM, CR_FB, CR_FA, CR_FM,
       CR_PROV, CR_ERR, CR_SRC, CR_PERSON, CR_N };
enum { EV_KEY, EV_EVENT, EV_DATE, EV_CIT, EV_RET, EV_COUNTRY, EV_SEX, EV_DOB, EV_PROV, EV_CIRC,
       EV_CIRCT, EV_DUR, EV_SRC, EV_PREV, EV_NEXT, EV_N };

/* An optional CODE column: its dictionary, or none. */
typedef struct codecol {
    const char *name;
    const char *const *dict;
    size_t n;
} codecol;

struct rxjob;
struct bcols;
struct owriter;

/* The state of one run of the stage over one input source, shared by the
 * workers of the thread pool (mu guards err, spare, sum, done). */
typedef struct run {
    const nmdi_ctx *ctx;
    const nmdi_derive_params *P;
    nmdi_derive_summary *sum;
    nmdi_dataset *ds;
    const char *source;
    nmdi_store_writer *w[NOUT];
    size_t out_parts;
    pthread_mutex_t mu;
    nmdi_error err;
    nmdi_date cutoff;
    codecol doc, sex, country, citship, event, reason, dir;
    uint8_t *dirmap;  /* dir dict index -> NMDI_ARRIVAL/DEPARTURE/UNKNOWN  */
    int8_t *home;     /* doc/citship dict index -> 1 the reporting country */
    uint8_t *kindmap; /* event dict -> NMDI_REG_*; reason dict -> 1..4     */
    int has_time, link_documents;
    nmdi_travellers *tr;
    const int64_t *pkey;   /* document index -> person key   */
    const uint16_t *phome; /* document index -> home group   */
    const nmdi_regindex *rx; /* register by identity, or NULL              */
    struct rxjob *rxj;       /* ... until built (rx_ready)                 */
    const char *cfg_path;
    int use_initial;         /* initial status from the register extract   */
    nmdi_date d0;            /* the extract's date                         */
    struct bcols *bc;
    struct owriter *ow; /* the threads appending the border outputs' chunks */
    struct scratch *spare; /* scratch buffers not in use (under mu) */
    /* column writing of the border outputs: one lock per output partition,
     * one for the output dictionaries; input dictionary index -> output
     * dictionary index, filled on first use (CODE_UNSEEN until then) */
    pthread_mutex_t *opmu, dmu;
    int32_t *cr_dir, *cr_doc, *cr_sex, *ev_cty, *ev_sex;
    int32_t cr_src, ev_src, ev_type[8];
    int code_failed; /* out of memory in an output dictionary */
    nmdi_progress prog;
    uint64_t done;
} run;

/* Column of a partition, or NULL when the dataset has no such field. */
static inline const int32_t *col_i32(run *R, size_t part, const char *name)
{
    const int32_t *p = NULL;
    nmdi_error e;
    if (nmdi_dataset_find(R->ds, name) < 0 || nmdi_dataset_i32(R->ds, part, name, &p, &e))
        return NULL;
    return p;
}

static inline int year_index(nmdi_date d)
{
    if (d == NMDI_DATE_NONE)
        return 0;
    int y = nmdi_date_year(d) - NMDI_DERIVE_YEAR0;
    return y > 0 && y < NMDI_DERIVE_NYEARS ? y : 0;
}

/* Sort item: person key, date, time, row. */
typedef struct item {
    int64_t key;
    int32_t date; /* NMDI_DATE_NONE mapped to INT32_MAX: last */
    int32_t time; /* seconds, -1 unknown */
    uint32_t part;
    uint32_t row;
} item;

/* A key and an index: sorted by key (signed order), stable. */
typedef struct keyidx {
    int64_t key;
    uint32_t idx;
} keyidx;
/* Sort by key with a radix sort of 8-bit digits (stable: equal keys keep
 * their order), passes where every key has the same digit skipped; tmp
 * holds n. */
void nmdi_derive_keyidx_sort(keyidx *pk, keyidx *tmp, size_t n);
/* Sort one person's n items (in (part, row) order, one key) into item_cmp
 * order: by insertion on (date, time), stable; long histories by qsort. */
void nmdi_derive_person_sort(item *it, size_t n);

static inline int same_person(const item *a, const item *b)
{
    return a->key == b->key && a->key != NMDI_I64_NONE;
}

static inline int32_t i32_or_none(int v)
{
    return v < 0 ? NMDI_I32_NONE : v;
}

/* Rows of an output gathered column by column before one append. */
#define CHUNK 131072
#define CODE_UNSEEN (-3)

/* The values of one input crossing that the classification and its outputs
 * read, copied while the partition is read in order, into the crossing's
 * place in person order: the pass over persons then reads its records in
 * order, from memory on huge pages, instead of a value of each of ten mapped
 * columns. */
typedef struct prow {
    int64_t key; /* document key (traveller_key)                          */
    int64_t id;  /* identity in the register (NMDI_I64_NONE: incomplete)   */
    int32_t date; /* NMDI_DATE_NONE mapped to INT32_MAX: last             */
    int32_t time; /* seconds, -1 unknown                                   */
    int32_t dir, doc, sex, dob; /* stored values; -1 / NONE: absent        */
} prow;

/* A stretch of rows [s, e) of one input partition, of one traveller, in
 * the work list of a group (the partition: by the list's ranges). */
typedef struct span {
    int64_t person;
    uint32_t s, e;
} span;

/* Buffers of one worker, reused from partition to partition: fresh
 * allocations of this size are mostly page faults (the kernel zeroing new
 * pages). The sort arrays (registers, permits) are sized by
 * nmdi_derive_scratch_need(); a border group's spans and a stretch's records
 * by nmdi_derive_border_part(); the per-person arrays (one traveller's
 * crossings, results and events) grow with the longest history. */
typedef struct scratch {
    size_t cap; /* items of a sort (nmdi_derive_items_sort) */
    item *tmp;
    size_t gcap; /* crossings of a stretch of persons (border_part) */
    prow *rows;
    size_t scap; /* spans */
    span *sp;
    uint32_t *sdst; /* a span's place in person order */
    keyidx *spk;    /* spans by person key: sorted and its temporary (2 scap) */
    keyidx *pb;     /* persons in key order: key, first place (scap + 1) */
    uint32_t *pid, *rank, *pos;
    keyidx *pk;
    size_t hcap; /* slots of the person map */
    int64_t *hk;
    uint32_t *hv;
    size_t pcap; /* crossings of one person */
    item *pit;   /* ... sorted by (date, time) when many */
    prow *prec;
    nmdi_date *d;
    uint8_t *dir;
    nmdi_residence_result *res;
    nmdi_migration_event *ev;
    /* column chunks (CHUNK values each) of the two border outputs, two sets
     * each: one filled while the other is written by the output thread
     * (busy[o][k] set while set k of output o (0 CR, 1 EV) is queued) */
    unsigned char *crcol[2][CR_N], *evcol[2][EV_N];
    int busy[2][2];
    unsigned char *colblk; /* ... all in this block */
    const char *cty_ptr[2][64];               /* register countries seen: output index */
    int32_t cty_idx[2][64];
    struct scratch *next;
} scratch;

/* Replace a buffer by one of n elements (contents not kept: no copy). */
#define GROW(p, n) (free(p), ((p) = nmdi_derive_big_alloc((n) * sizeof *(p))) ? 0 : -1)

/* Scratch buffers (pipeline.c): a worker takes one sized for n items, and
 * puts it back for the next partition; freed
 * with the list at the end of a source. */
scratch *nmdi_derive_scratch_get(run *R, size_t n);
void nmdi_derive_scratch_put(run *R, scratch *sc);
void nmdi_derive_scratch_free(scratch *sc);
int nmdi_derive_scratch_need(scratch *sc, size_t n);
/* Sort n items (in (part, row) order) into (key, date, time, row) order;
 * sc must hold n items. 0, or -1 when out of memory. */
int nmdi_derive_items_sort(scratch *sc, item *it, size_t n);

static inline void run_fail(run *R, const nmdi_error *e)
{
    pthread_mutex_lock(&R->mu);
    if (!R->err.code)
        R->err = *e;
    pthread_mutex_unlock(&R->mu);
}

static inline int run_oom(run *R)
{
    nmdi_error e;
    nmdi_error_clear(&e);
    nmdi_error_set(&e, NMDI_EINTERNAL, "out of memory in partition work");
    run_fail(R, &e);
    return NMDI_EINTERNAL;
}

static inline void run_progress(run *R, uint64_t rows)
{
    R->done += rows;
    nmdi_progress_update(&R->prog, R->done);
}

/* ---- border crossings (pipeline_border.c) ----
 * For one border source, after the run's dictionaries (R->doc, sex, dir,
 * dirmap, home) are set: border_join joins the travel documents into
 * travellers (residence.link_documents) and notes their count;
 * border_layout (after the register index is ready) maps each partition's
 * columns, finds the rows whose traveller's home is another partition, and
 * sizes the workers' scratch; then border_part runs on the thread pool, one
 * group of travellers per input partition; border_end frees what the three
 * made (also after an error). */
int nmdi_derive_border_join(run *R, const char *source, nmdi_error *err);
int nmdi_derive_border_layout(run *R, nmdi_error *err);
int nmdi_derive_border_part(void *arg, size_t g);
void nmdi_derive_border_end(run *R);

#endif
