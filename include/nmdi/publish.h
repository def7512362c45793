/*
 * nmdi/publish.h — releases and SDMX: `nmdi publish` freezes the protected
 * tables of an infrastructure into an immutable, versioned release; a loaded
 * release knows its SDMX structures (dataflow, data structure definition,
 * concept scheme and codelists per table) and writes them and their data as
 * SDMX-ML 2.1 (structure, generic data, structure-specific data and the
 * DSD-specific XML schema), SDMX-JSON 1.0 data, SDMX-CSV 1.0 and plain CSV.
 *
 * Release layout (docs/api.md): DIR/releases/<version>/release.json,
 * tables/<ID>.csv (nmdi/cube.h layout), tables/<ID>.json (table metadata),
 * sdmx/structure.xml and sdmx/<ID>.xsd; DIR/releases/LATEST names the
 * current version. A release directory becomes visible by rename, complete.
 *
 * Ownership: nmdi_release_open() returns a release that owns everything it
 * points to (one arena, the cubes); nmdi_release_free() releases it. Strings
 * given in options are copied. Writers stream to a caller's FILE and never
 * close it.
 *
 * Threading: a loaded release is read-only; any number of threads may run
 * the writers and the query functions on it at once (nothing in it is
 * mutated after nmdi_release_open returns). A query (nmdi_sdmx_query) and its
 * arena belong to one thread.
 */
#ifndef NMDI_PUBLISH_H
#define NMDI_PUBLISH_H

#include <time.h>

#include "nmdi/core.h"
#include "nmdi/cube.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- publishing a release ------------------------------------------------ */
typedef struct nmdi_publish_opts {
    const char *agency;       /* SDMX agency id (default "NMDI")                  */
    const char *sdmx_version; /* version of every SDMX artefact (default "1.0")   */
    const char *maintainer;   /* free text, e.g. "National Statistics Office"     */
    const char *country_code; /* release.json "country" (optional)                */
    const char *country_en, *country_zh;
    const char *now;          /* ISO 8601 UTC time to stamp (tests), NULL = now    */
} nmdi_publish_opts;

/* Freeze DIR/work/protected/<ID>.csv + <ID>.json into DIR/releases/<version>/
 * (version YYYYMMDD-N) and point DIR/releases/LATEST at it. Refuses (EDATA,
 * naming the file) any table whose metadata lacks "protected": true. With no
 * protected table at all it makes no release and leaves version_out "".
 * opts may be NULL (defaults). On success writes the version into
 * version_out. */
int nmdi_publish_release(const nmdi_ctx *ctx, const char *dir, const nmdi_publish_opts *opts,
                         char version_out[32], nmdi_error *err);

/* ---- a loaded release ----------------------------------------------------- */
typedef struct nmdi_text {
    const char *en, *zh; /* never NULL (zh falls back to en) */
} nmdi_text;

typedef struct nmdi_sdmx_codelist {
    const char *id; /* CL_SEX, CL_AREA, CL_AGE, CL_OBS_STATUS ...      */
    nmdi_text name;
    size_t ncodes;
    const char **codes;
    nmdi_text *names;
    const char **parents; /* parent code or NULL                    */
} nmdi_sdmx_codelist;

typedef struct nmdi_sdmx_concept {
    const char *id;
    nmdi_text name;
} nmdi_sdmx_concept;

/* Attributes of every nmdi DSD, attached to the observation. */
enum {
    NMDI_ATTR_OBS_STATUS, NMDI_ATTR_CONF_STATUS, NMDI_ATTR_UNIT_MEASURE, NMDI_ATTR_SE,
    NMDI_ATTR_CV, NMDI_ATTR_CI_LOW, NMDI_ATTR_CI_HIGH, NMDI_ATTR_N, NMDI_NATTRS
};
extern const char *const nmdi_sdmx_attr_ids[NMDI_NATTRS];

typedef struct nmdi_rel_table {
    const char *id;     /* table id = dataflow id                          */
    const char *dsd_id; /* "DSD_" + id                                     */
    nmdi_text name, description;
    const char *unit, *measure, *source, *method, *reference_period;
    const char *disclosure_control, *topic;
    nmdi_cube *cube;
    size_t ndims;       /* SDMX dimensions, TIME_PERIOD last               */
    const char **dims;
    int *cube_col;      /* cube dimension per SDMX dimension, -1: constant
                           TIME_PERIOD taken from reference_period         */
    int *codelist;      /* index into release codelists, -1 for time        */
    const char *metadata_json; /* the table's entry of release.json        */
} nmdi_rel_table;

typedef struct nmdi_release {
    const char *dir;          /* the release directory                     */
    const char *version;      /* YYYYMMDD-N                                */
    const char *created;      /* ISO 8601 UTC                              */
    time_t created_t;
    const char *agency, *sdmx_version, *maintainer;
    size_t ntables;
    nmdi_rel_table *tables;
    size_t ncodelists;
    nmdi_sdmx_codelist *codelists;
    size_t nconcepts;
    nmdi_sdmx_concept *concepts; /* one concept scheme: CS_NMDI            */
    const char *json;            /* release.json text                      */
    size_t json_len;
    nmdi_arena *arena;
} nmdi_release;

/* Open DIR/releases/<version> (version NULL: the one named by LATEST). */
int nmdi_release_open(nmdi_release **out, const char *dir, const char *version, nmdi_error *err);
void nmdi_release_free(nmdi_release *r);
/* Table by id, or NULL. */
const nmdi_rel_table *nmdi_release_table(const nmdi_release *r, const char *id);
int nmdi_release_codelist_index(const nmdi_release *r, const char *id); /* -1 absent */
/* The code of SDMX dimension d of a cell (reference period for constant time). */
const char *nmdi_rel_code(const nmdi_rel_table *t, const nmdi_cell *cell, size_t d);
/* Name of a code of dimension d (falls back to the code). */
nmdi_text nmdi_rel_code_name(const nmdi_release *r, const nmdi_rel_table *t, size_t d,
                             const char *code);

/* ---- queries ----------------------------------------------------------------
 * An SDMX key "A+B..C": one part per dimension, '+' alternatives, an empty
 * part is a wildcard; "all" (or "") means every part is a wildcard
 * (ndims = 0). Codes must be SDMX ids ([A-Za-z0-9_@$-]+). */
typedef struct nmdi_sdmx_keypart {
    size_t n; /* 0 = wildcard */
    const char **codes;
} nmdi_sdmx_keypart;

typedef struct nmdi_sdmx_key {
    size_t ndims; /* 0 = all */
    nmdi_sdmx_keypart *parts;
} nmdi_sdmx_key;

int nmdi_sdmx_key_parse(const char *s, nmdi_arena *a, nmdi_sdmx_key *out, nmdi_error *err);

enum { NMDI_DETAIL_FULL, NMDI_DETAIL_DATAONLY, NMDI_DETAIL_SERIESKEYSONLY, NMDI_DETAIL_NODATA };

typedef struct nmdi_sdmx_query {
    nmdi_sdmx_key key;
    const char *start_period, *end_period; /* NULL when absent              */
    const char *dim_at_obs;                /* NULL: TIME_PERIOD             */
    int detail;                            /* NMDI_DETAIL_*                 */
    long first_n, last_n;                  /* observations per series, 0 off */
} nmdi_sdmx_query;

void nmdi_sdmx_query_init(nmdi_sdmx_query *q);
/* Parse an SDMX time period (YYYY, YYYY-MM, YYYY-MM-DD, YYYY-Qn, YYYY-Sn,
 * YYYY-Wnn, YYYY-A1, YYYY-Mnn, YYYY-Dnnn) to its first and last day;
 * -1 when invalid. */
int nmdi_sdmx_period(const char *s, nmdi_date *first, nmdi_date *last);

/* Check a query against a table: key length, codes of the observation
 * dimension. EDATA with a message for a 400 answer. */
int nmdi_sdmx_query_check(const nmdi_rel_table *t, const nmdi_sdmx_query *q, nmdi_error *err);
/* The observations a query selects (cell indices into t->cube, caller
 * frees *idx), sorted by series key then by the observation dimension (time
 * in calendar order); *obs_dim = its index, -1 for AllDimensions. */
int nmdi_sdmx_select(const nmdi_rel_table *t, const nmdi_sdmx_query *q, size_t **idx, size_t *n,
                     int *obs_dim, nmdi_error *err);
/* The published attribute values of a cell as strings (NULL when absent;
 * bufs hold formatted numbers). Numbers of withheld cells, the unweighted
 * count of full-count tables (it would reveal a perturbed count) and the
 * cell key are never given. */
void nmdi_sdmx_cell_attrs(const nmdi_rel_table *t, const nmdi_cell *c,
                          const char *vals[NMDI_NATTRS], char bufs[NMDI_NATTRS][32]);
/* Count the observations a query selects. */
size_t nmdi_sdmx_query_count(const nmdi_rel_table *t, const nmdi_sdmx_query *q);

/* ---- writers ------------------------------------------------------------- */
/* Which structures a structure message holds: arrays of flags over
 * r->tables (dataflows, dsds), r->codelists, and the concept scheme. */
typedef struct nmdi_sdmx_selection {
    unsigned char *dataflows, *dsds, *codelists;
    int concepts;
    int stubs; /* 1: names only (detail=allstubs) */
} nmdi_sdmx_selection;

enum {
    NMDI_FMT_GENERIC, NMDI_FMT_STRUCTSPEC, NMDI_FMT_JSON, NMDI_FMT_SDMXCSV, NMDI_FMT_CSV,
    NMDI_FMT_STRUCTURE, NMDI_FMT_XSD
};

/* SDMX-ML 2.1 structure message; sel NULL = everything. prepared: header
 * time (NULL = release time) for byte-identical output. */
int nmdi_sdmx_write_structure(FILE *f, const nmdi_release *r, const nmdi_sdmx_selection *sel,
                              nmdi_error *err);
/* The DSD-specific schema for structure-specific data of table t, observation
 * dimension dim_at_obs (NULL = TIME_PERIOD). sdmx_schemas: the folder or URL
 * prefix of the official schemas, used in schemaLocation. */
int nmdi_sdmx_write_xsd(FILE *f, const nmdi_release *r, const nmdi_rel_table *t,
                        const char *dim_at_obs, const char *sdmx_schemas, nmdi_error *err);
/* Data of one table in a format (NMDI_FMT_GENERIC ... NMDI_FMT_CSV). q may be
 * NULL (everything). */
int nmdi_sdmx_write_data(FILE *f, int format, const nmdi_release *r, const nmdi_rel_table *t,
                         const nmdi_sdmx_query *q, nmdi_error *err);
/* The namespace of the DSD-specific schema (structure-specific data). */
char *nmdi_sdmx_ss_namespace(const nmdi_release *r, const nmdi_rel_table *t,
                             const char *dim_at_obs, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
