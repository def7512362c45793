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

/* Join the document keys (traveller_key) of a border dataset that share an
 * exact identity (surname_hash, given_name_hash, dob_hash, sex) on some
 * crossing. *out is NULL (and 0 returned) when the dataset has no identity
 * fields. The partitions are scanned on ctx->nthreads threads; the join
 * itself runs over documents, not rows. */
int nmdi_travellers_link(const nmdi_ctx *ctx, const nmdi_dataset *ds, nmdi_travellers **out,
                         nmdi_error *err);
/* The person key of a document key: the smallest document key of its
 * component (the key itself when unknown or t is NULL). */
int64_t nmdi_travellers_person(const nmdi_travellers *t, int64_t doc_key);
/* The person key of doc_key and the home partition of the person (the
 * partition in which the person's root document was first seen). Returns -1
 * (person = doc_key, home untouched) when the key is unknown or t is NULL.
 * home may be NULL. */
int nmdi_travellers_lookup(const nmdi_travellers *t, int64_t doc_key, int64_t *person,
                           uint32_t *home);
void nmdi_travellers_counts(const nmdi_travellers *t, uint64_t *docs, uint64_t *persons);
void nmdi_travellers_free(nmdi_travellers *t);

#endif
