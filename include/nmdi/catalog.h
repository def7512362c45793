/*
 * nmdi/catalog.h — the catalog of an infrastructure (DIR/catalog.db):
 * agencies, sources, dataset versions with lineage, per-file delivery
 * reports, quarantine, releases; plus tables reserved for later stages
 * (variables, table definitions, users, tokens, audit log).
 *
 * The interface hides the database: today SQLite (src/store/catalog.c), a
 * PostgreSQL implementation can be added behind the same functions. The
 * schema carries a version (schema_version) and is migrated forward on open.
 * Every write is a transaction: single calls run in their own transaction
 * unless the caller opened one with nmdi_catalog_begin(), in which case all
 * writes until nmdi_catalog_commit() become visible together (a load inserts
 * its version row and its quarantine rows that way).
 *
 * Ownership/threading: one nmdi_catalog per thread. Strings passed to
 * callbacks are valid only during the callback.
 */
#ifndef NMDI_CATALOG_H
#define NMDI_CATALOG_H

#include "nmdi/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NMDI_CATALOG_SCHEMA 1

typedef struct nmdi_catalog nmdi_catalog;

/* Create a new catalog file (fails if it exists). */
int nmdi_catalog_create(nmdi_catalog **out, const char *path, nmdi_error *err);
/* Open an existing catalog; migrates an older schema forward unless readonly. */
int nmdi_catalog_open(nmdi_catalog **out, const char *path, int readonly, nmdi_error *err);
void nmdi_catalog_close(nmdi_catalog *c);
int nmdi_catalog_schema_version(nmdi_catalog *c);

int nmdi_catalog_begin(nmdi_catalog *c, nmdi_error *err);
int nmdi_catalog_commit(nmdi_catalog *c, nmdi_error *err);
void nmdi_catalog_rollback(nmdi_catalog *c);

/* Record the configuration's agencies and sources (insert or update). */
int nmdi_catalog_sync_config(nmdi_catalog *c, const nmdi_config *cfg, nmdi_error *err);

/* A dataset version. */
typedef struct nmdi_dsversion {
    int64_t id;
    const char *dataset;     /* = source id for loaded data                     */
    int64_t version;         /* 1, 2, ... per dataset                           */
    const char *source, *record_type;
    const char *path;        /* version directory relative to the infrastructure */
    int64_t read, rows, quarantined;
    int nparts;
    const char *loaded_at;   /* ISO 8601 UTC                                    */
    const char *lineage;     /* JSON: inputs, config hash, code version          */
} nmdi_dsversion;

/* Next version number of dataset (max + 1, starting at 1). */
int nmdi_catalog_next_version(nmdi_catalog *c, const char *dataset, int64_t *out, nmdi_error *err);
/* Insert a version row; v->id receives its id. */
int nmdi_catalog_add_version(nmdi_catalog *c, nmdi_dsversion *v, nmdi_error *err);
/* Set the counts and lineage of a version row inserted earlier (same transaction). */
int nmdi_catalog_update_version(nmdi_catalog *c, int64_t id, int64_t read, int64_t rows,
                                int64_t quarantined, const char *lineage, nmdi_error *err);
/* Is there a committed version row of dataset with this number? */
int nmdi_catalog_has_version(nmdi_catalog *c, const char *dataset, int64_t version);
typedef int (*nmdi_dsversion_fn)(void *arg, const nmdi_dsversion *v);
/* Versions of dataset (NULL: all), oldest first. A non-zero return of fn stops. */
int nmdi_catalog_versions(nmdi_catalog *c, const char *dataset, nmdi_dsversion_fn fn, void *arg,
                          nmdi_error *err);
/* The latest version of dataset: strings copied into arena. 1 found, 0 none, <0 error. */
int nmdi_catalog_latest(nmdi_catalog *c, const char *dataset, nmdi_dsversion *out, nmdi_arena *arena,
                        nmdi_error *err);

/* Per-file delivery report of a version. */
int nmdi_catalog_add_delivery(nmdi_catalog *c, int64_t version_id, const char *file,
                              const char *checksum, int64_t read, int64_t loaded,
                              int64_t quarantined, nmdi_error *err);

/* One quarantined record. */
typedef struct nmdi_quarantine_row {
    const char *dataset;
    int64_t version;
    const char *file;
    long line;
    const char *rule, *field, *value, *message;
} nmdi_quarantine_row;

int nmdi_catalog_add_quarantine(nmdi_catalog *c, int64_t version_id, const char *file, long line,
                                const char *rule, const char *field, const char *value,
                                const char *message, nmdi_error *err);
typedef int (*nmdi_quarantine_fn)(void *arg, const nmdi_quarantine_row *q);
/* Quarantine of dataset, version (0 = latest). */
int nmdi_catalog_quarantine(nmdi_catalog *c, const char *dataset, int64_t version,
                            nmdi_quarantine_fn fn, void *arg, nmdi_error *err);

/* Agencies and sources as recorded. */
typedef int (*nmdi_catalog_row_fn)(void *arg, int ncols, const char *const *values);
int nmdi_catalog_agencies(nmdi_catalog *c, nmdi_catalog_row_fn fn, void *arg, nmdi_error *err);
/* columns: id, agency, record_type, format */
int nmdi_catalog_sources(nmdi_catalog *c, nmdi_catalog_row_fn fn, void *arg, nmdi_error *err);
/* Releases: version, created, ntables. */
int nmdi_catalog_add_release(nmdi_catalog *c, const char *version, const char *created,
                             int64_t ntables, nmdi_error *err);
int nmdi_catalog_releases(nmdi_catalog *c, nmdi_catalog_row_fn fn, void *arg, nmdi_error *err);

#ifdef __cplusplus
}
#endif
#endif
