/*
 * pipeline_impl.h — internals of `nmdi derive DIR` shared between
 * src/derive/pipeline.c and src/derive/travellers.c (not installed).
 * Ownership: nmdi_travellers_link() returns a map the caller frees with
 * nmdi_travellers_free(); once built it is read-only and may be read by
 * any number of threads.
 */
#ifndef NMDI_DERIVE_PIPELINE_IMPL_H
#define NMDI_DERIVE_PIPELINE_IMPL_H

#include "nmdi/store.h"

typedef struct nmdi_travellers nmdi_travellers;

/* Read one byte at p so that its cache line is on its way: a load, not a
 * prefetch instruction. On the reference machine (a VM with shadow page
 * tables) prefetches into a large map visited at random were measured to
 * have no effect, while a load issued a few persons ahead halves the time
 * of the lookups it serves. */
static inline void nmdi_derive_touch(const void *p)
{
    (void)*(const volatile char *)p;
}

/* malloc for large work arrays (freed with free()): from 4 MiB on, aligned to
 * 2 MiB and advised for transparent huge pages, which spares most page
 * faults and TLB misses of arrays visited at random. */
void *nmdi_derive_big_alloc(size_t bytes);

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

#endif
