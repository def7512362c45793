/*
 * nmdi/ingest.h — taking agencies' deliveries into the store: the standard
 * record types (DESIGN.md §4), checking a configuration against them,
 * loading a delivery (read → map columns → map codes → convert → validate →
 * pseudonymise → store, with quarantine and a load report), the reader API
 * that later stages use to read the latest version of a source, and the
 * pseudonymisation primitives.
 *
 * Ownership: a load report is freed with nmdi_load_report_free(). An opened
 * source (nmdi_ingest_open_latest) is an nmdi_dataset, freed with
 * nmdi_dataset_close(). The pseudonymisation key is passed explicitly to
 * every function that uses it; callers keep it in locked memory and wipe it.
 *
 * Threading: loads of different sources may run in different processes
 * (the catalog serialises their commits); one load runs on one thread, plus,
 * when ctx->nthreads > 1, a thread that checksums the delivered files.
 * Everything else here is reentrant.
 */
#ifndef NMDI_INGEST_H
#define NMDI_INGEST_H

#include "nmdi/config.h"
#include "nmdi/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- standard record types ---------------------------------------------------- */
typedef enum nmdi_ftype {
    NMDI_F_KEY = 1, /* an identifier of a person/household: stored as a keyed hash (int64) */
    NMDI_F_DATE,    /* calendar date                                                 */
    NMDI_F_INT,     /* integer (int32)                                               */
    NMDI_F_DOUBLE,  /* number                                                        */
    NMDI_F_CODE,    /* code of a codelist (dictionary-encoded)                       */
    NMDI_F_COUNTRY, /* ISO 3166-1 alpha-3 country code (dictionary-encoded)          */
    NMDI_F_BOOL,    /* 0/1                                                           */
    NMDI_F_STRING   /* free text that is not an identifier                           */
} nmdi_ftype;

typedef struct nmdi_std_field {
    const char *name;
    nmdi_ftype type;
    const char *codelist; /* codelist id for CODE fields (informative), or NULL */
    const char *desc;
} nmdi_std_field;

typedef struct nmdi_record_type {
    const char *id;        /* person, member_abroad, border_crossing, permit,
                              register_event, student, mobile_presence           */
    const char *key_field; /* the field whose hash partitions the store          */
    const char *desc;
    size_t n;
    const nmdi_std_field *fields;
} nmdi_record_type;

const nmdi_record_type *nmdi_record_types(size_t *n);
const nmdi_record_type *nmdi_record_type_find(const char *id);
const nmdi_std_field *nmdi_record_type_field(const nmdi_record_type *rt, const char *name);
nmdi_ftype nmdi_ftype_parse(const char *s); /* "date", "int", ...; 0 if unknown */
const char *nmdi_ftype_name(nmdi_ftype t);
nmdi_coltype nmdi_ftype_coltype(nmdi_ftype t);

/* Check every source of cfg against its record type: known record type,
 * standard fields (or explicit types), code maps and rules that name mapped
 * fields, rule expressions that parse, date formats that parse. */
int nmdi_ingest_check_config(const nmdi_config *cfg, nmdi_error *err);

/* ---- the infrastructure ------------------------------------------------------- */
/* Create the infrastructure dir from the configuration file config_path:
 * dir/nmdi.yaml (a byte copy), dir/catalog.db, dir/store/, dir/secrets/key.
 * The configuration is checked first; an existing infrastructure is never
 * overwritten; on failure nothing is left behind (dir is built under a
 * temporary name and renamed when it did not exist). */
int nmdi_ingest_init(const char *dir, const char *config_path, nmdi_error *err);

/* ---- loading ------------------------------------------------------------------ */
typedef struct nmdi_load_file_report {
    char *file;
    char checksum[65];  /* BLAKE2b-256 of the delivered file                    */
    uint64_t read, loaded, quarantined;
    char *unmapped;     /* columns of the file not in the mapping (comma list)  */
} nmdi_load_file_report;

typedef struct nmdi_load_report {
    char *source, *record_type, *path;
    int64_t version;
    uint64_t read, loaded, quarantined, bytes;
    double seconds;
    size_t nfiles;
    nmdi_load_file_report *files;
} nmdi_load_report;

typedef struct nmdi_load_opts {
    int strict;                /* refuse the whole delivery if any record fails  */
    uint64_t fail_after_bytes; /* store test hook (see nmdi_store_opts)          */
    size_t max_quarantine;     /* refuse when more records fail (0 = no limit)   */
} nmdi_load_opts;

/* Load files (one delivery) of source into the infrastructure dir. Either a
 * new dataset version with its quarantine becomes visible, or (error) nothing
 * does. */
int nmdi_ingest_load(const nmdi_ctx *ctx, const char *dir, const char *source, size_t nfiles,
                     const char *const *files, const nmdi_load_opts *opts,
                     nmdi_load_report **out, nmdi_error *err);
void nmdi_load_report_free(nmdi_load_report *r);

/* ---- reading what was loaded ------------------------------------------------------ */
/* Open the latest committed version of a dataset (a source id) of the
 * infrastructure dir. Returns NMDI_EDATA when there is none. */
int nmdi_ingest_open_latest(const char *dir, const char *dataset, nmdi_dataset **out,
                            nmdi_error *err);

/* Write a dataset version (0 = latest) of the infrastructure dir as CSV or
 * Stata (.dta via ReadStat) to out ("-" = standard output, CSV only). Keys
 * and identifier hashes are written as 16 hex digits, dates as YYYY-MM-DD
 * (Stata: %td), codes as their text. Rows come partition by partition. */
int nmdi_ingest_export(const char *dir, const char *dataset, int64_t version, const char *format,
                       const char *out, uint64_t *rows, nmdi_error *err);

/* ---- pseudonymisation ---------------------------------------------------------------- */
#define NMDI_KEY_BYTES 32
/* Read DIR/secrets/key (must be 32 bytes, owner-only permissions). */
int nmdi_pseudo_key_load(const char *dir, unsigned char key[NMDI_KEY_BYTES], nmdi_error *err);
/* Create DIR/secrets/key (dir 0700, file 0600) with fresh random bytes, and
 * DIR/secrets/scheme naming the current scheme (NMDI_PSEUDO_SIPHASH). */
int nmdi_pseudo_key_create(const char *dir, nmdi_error *err);
/* Pseudonymisation schemes. An infrastructure keeps the scheme it was
 * initialised with for all its deliveries (DIR/secrets/scheme; absent = 1,
 * infrastructures initialised before scheme 2 existed), so that pseudonyms
 * of all its sources and versions stay equal. docs/privacy.md. */
enum {
    NMDI_PSEUDO_BLAKE2B = 1, /* first 64 bits of BLAKE2b keyed with the key, domain first */
    NMDI_PSEUDO_SIPHASH = 2  /* SipHash-2-4 under a per-domain subkey (keyed BLAKE2b of the
                                domain): about 30x cheaper per short value                */
};
/* The scheme of the infrastructure at dir (1 or 2). */
int nmdi_pseudo_scheme_load(const char *dir, int *scheme, nmdi_error *err);
/* Keyed 64-bit hash of a value in a domain ("key", "name", "document",
 * "date", ...) under a scheme. Never returns NMDI_I64_NONE. */
int64_t nmdi_pseudo_hash(const unsigned char key[NMDI_KEY_BYTES], int scheme, const char *domain,
                         const char *s, size_t len);
/* Record key in [0,1) for the cell key method, from a person key hash. */
double nmdi_pseudo_record_key(const unsigned char key[NMDI_KEY_BYTES], int scheme, int64_t person_key);
/* Normalise an identifier for exact matching: kind "name" folds case,
 * removes accents of Latin letters, punctuation and repeated spaces;
 * "document" keeps only letters and digits, upper-cased; "date" expects
 * YYYY-MM-DD already; "text" trims. Writes at most cap-1 bytes + NUL;
 * returns the length. */
size_t nmdi_pseudo_normalise(const char *kind, const char *s, size_t len, char *out, size_t cap);
/* Soundex-like phonetic code of a normalised name (4 bytes + NUL). */
void nmdi_pseudo_phonetic(const char *norm, char out[5]);
/* Keyed Bloom filter of the bigrams of a normalised name (NMDI_QGRAM_BYTES). */
#define NMDI_QGRAM_BYTES 64
void nmdi_pseudo_qgram(const unsigned char key[NMDI_KEY_BYTES], const char *norm,
                       unsigned char out[NMDI_QGRAM_BYTES]);

/* Parse a value with a date format of tokens YYYY, MM, DD, M, D and literal
 * separators (e.g. "DD/MM/YYYY"); NULL format = ISO 8601 (a time part after
 * 'T' or ' ' is ignored). 0 ok, -1 invalid. */
int nmdi_ingest_parse_date(const char *format, const char *s, size_t len, nmdi_date *out);

#ifdef __cplusplus
}
#endif
#endif
