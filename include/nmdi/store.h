/*
 * nmdi/store.h — the dataset store: immutable dataset versions made of typed
 * column files, split into partitions by a hash of the person key, read by
 * memory mapping.
 *
 * Layout: STORE/<dataset>/<version>/manifest.json and
 * STORE/<dataset>/<version>/p<NNN>/<field>.<ext> with ext i32 (int32, dates,
 * dictionary codes), i64, f64, and for strings .off (uint64 offsets, rows+1)
 * plus .str (bytes), and for fixed-width byte strings .bin (rows * width
 * bytes, manifest type "bytes<width>", e.g. "bytes64" for the 512-bit Bloom
 * filters of names); dictionaries of code columns in <field>.dict (codes,
 * each NUL-terminated, index = stored int32). Missing values: INT32_MIN for
 * int32 and dates (NMDI_DATE_NONE), -1 for codes, INT64_MIN for int64, NaN for
 * doubles, an empty string for strings, all bytes zero for byte strings. All
 * files are little-endian native.
 *
 * A writer builds a version in STORE/<dataset>/.tmp-<version>-<pid>/; finish
 * fsyncs every file, writes the manifest (rows and a 64-bit checksum per
 * file, "sum64"; versions written before it carry BLAKE2b-256 sums, still
 * verified), fsyncs, and renames the directory into place. Only after that does
 * the caller commit the catalog row: a version is visible when both exist.
 *
 * Ownership/threading: a writer is used by one thread. A dataset opened for
 * reading maps all its files at open and is then immutable: any number of
 * threads may read any partitions concurrently. Pointers returned by the
 * accessors stay valid until nmdi_dataset_close().
 */
#ifndef NMDI_STORE_H
#define NMDI_STORE_H

#include "nmdi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nmdi_coltype {
    NMDI_COL_I32 = 1, /* int32; missing INT32_MIN                             */
    NMDI_COL_I64,     /* int64; missing INT64_MIN (keyed hashes, keys)         */
    NMDI_COL_F64,     /* double; missing NaN                                   */
    NMDI_COL_STR,     /* string; missing ""                                    */
    NMDI_COL_DATE,    /* nmdi_date (int32); missing NMDI_DATE_NONE              */
    NMDI_COL_CODE,    /* dictionary-encoded code (int32 index); missing -1     */
    NMDI_COL_BYTES    /* fixed-width bytes (width set per field with
                         nmdi_store_writer_set_width); missing: all zero       */
} nmdi_coltype;

#define NMDI_STORE_BYTES_MAX 1024 /* widest BYTES column (its text: 2051 bytes at most) */

#define NMDI_I64_NONE INT64_MIN
#define NMDI_I32_NONE INT32_MIN

typedef struct nmdi_store_field {
    const char *name;
    nmdi_coltype type;
} nmdi_store_field;

const char *nmdi_coltype_name(nmdi_coltype t); /* "int32", "int64", ..., "bytes" */

/* Text form of a BYTES value v of width bytes of field `field` into out
 * (size >= 2 * width + 4): lowercase hex, prefixed with "b1:" for fields
 * named *_qgram (the text encoding of the names' Bloom filters that
 * nmdi_link_bloom_decode reads, as exports print them); "" when all bytes
 * are zero (missing). Returns out. */
const char *nmdi_store_bytes_text(const char *field, const unsigned char *v, size_t width, char *out,
                                  size_t size);

/* ---- writing ---------------------------------------------------------------- */
typedef struct nmdi_store_writer nmdi_store_writer;

typedef struct nmdi_store_opts {
    int nparts;                /* partitions (>= 1)                              */
    uint64_t fail_after_bytes; /* test hook: fail with ENOSPC after this many
                                  bytes written (0 = never)                      */
} nmdi_store_opts;

/* Start a new version of dataset under store_dir. A leftover directory of the
 * same version that no catalog row names must be removed first with
 * nmdi_store_remove_version(). */
int nmdi_store_writer_open(nmdi_store_writer **out, const char *store_dir, const char *dataset,
                           const char *version, size_t nfields, const nmdi_store_field *fields,
                           const nmdi_store_opts *opts, nmdi_error *err);
/* Width in bytes (1..NMDI_STORE_BYTES_MAX) of BYTES field f: to be called for
 * every BYTES field right after open, before any row (a BYTES field without
 * a width fails the writer). Errors when f is not a BYTES field. */
int nmdi_store_writer_set_width(nmdi_store_writer *w, size_t f, size_t width, nmdi_error *err);
/* Write-behind (off by default): a thread of the writer starts the
 * write-out of the column files to the disk (sync_file_range, not waiting)
 * after every 32 MiB appended, so that the sync of nmdi_store_writer_finish()
 * waits for little; for writers of large versions that take a while to
 * produce. Durability still comes from finish. Best effort: nothing happens
 * when the thread cannot start. */
void nmdi_store_writer_write_behind(nmdi_store_writer *w);
/* Large appends (nmdi_store_append_columns of whole pages from page-aligned
 * arrays) go to the disk with O_DIRECT, past the page cache: for writers of
 * versions much larger than what the page cache would keep, which would
 * otherwise pay for every page twice (allocated and copied into, then
 * written back and reclaimed). What is not aligned (a column's tail) and file
 * systems without O_DIRECT use the page cache as usual; the contents are the
 * same, and durability still comes from nmdi_store_writer_finish(). */
void nmdi_store_writer_direct(nmdi_store_writer *w);
/* Append one row to partition part: call row_begin, then put exactly one
 * value for every field (in any order), then row_end. */
void nmdi_store_row_begin(nmdi_store_writer *w, uint32_t part);
void nmdi_store_put_i32(nmdi_store_writer *w, size_t field, int32_t v);   /* I32, DATE; CODE: an index from nmdi_store_code_index, or -1 */
void nmdi_store_put_i64(nmdi_store_writer *w, size_t field, int64_t v);
void nmdi_store_put_f64(nmdi_store_writer *w, size_t field, double v);
void nmdi_store_put_str(nmdi_store_writer *w, size_t field, const char *s, size_t len); /* STR, CODE
                                                                   (CODE: len 0 = missing) */
/* BYTES: the field's width of bytes from v; v NULL = missing (all zero). */
void nmdi_store_put_bytes(nmdi_store_writer *w, size_t field, const void *v);
int nmdi_store_row_end(nmdi_store_writer *w, nmdi_error *err);
uint64_t nmdi_store_writer_rows(const nmdi_store_writer *w);
/* Bulk writing by columns, for writers that fill several partitions at once.
 * nmdi_store_code_index() returns the dictionary index of code s in CODE
 * field f, adding it when new (-1 when len is 0: missing; -2 when f is not a
 * CODE field or out of memory). nmdi_store_append_columns() appends nrows
 * rows to partition part: cols[f] points to nrows values of field f, int32_t
 * for I32, DATE and CODE (an index from nmdi_store_code_index, or -1),
 * int64_t for I64, double for F64, width bytes per row for BYTES (STR
 * fields are not supported). Threading:
 * calls of nmdi_store_append_columns for DISTINCT partitions may run
 * concurrently with each other and with nmdi_store_code_index (whose calls
 * the caller serialises); none may overlap row_begin/put/row_end or finish.
 * The checksum of each column is computed by the thread that appends. After
 * an error the writer must be aborted. */
int32_t nmdi_store_code_index(nmdi_store_writer *w, size_t f, const char *s, size_t len);
int nmdi_store_append_columns(nmdi_store_writer *w, uint32_t part, size_t nrows,
                              const void *const *cols, nmdi_error *err);
/* Complete the version: meta_json (a JSON object text, or NULL) is stored in
 * the manifest under "meta". On success the version directory exists under
 * its final name and *path_out (if not NULL) receives it (malloc'd). */
int nmdi_store_writer_finish(nmdi_store_writer *w, const char *meta_json, char **path_out,
                             nmdi_error *err);
/* Abandon: remove the temporary directory and free the writer. */
void nmdi_store_writer_abort(nmdi_store_writer *w);

/* Remove a version directory (and any .tmp-<version>-* leftovers). */
int nmdi_store_remove_version(const char *store_dir, const char *dataset, const char *version,
                              nmdi_error *err);
/* Remove .tmp-* leftovers of crashed writers of dataset. */
int nmdi_store_clean_tmp(const char *store_dir, const char *dataset, nmdi_error *err);

/* ---- reading ------------------------------------------------------------------ */
typedef struct nmdi_dataset nmdi_dataset;

/* Open a version directory (checks the manifest and file sizes; checksums are
 * checked by nmdi_dataset_verify). */
int nmdi_dataset_open(nmdi_dataset **out, const char *version_dir, nmdi_error *err);
void nmdi_dataset_close(nmdi_dataset *ds);
size_t nmdi_dataset_nparts(const nmdi_dataset *ds);
uint64_t nmdi_dataset_rows(const nmdi_dataset *ds);              /* all partitions */
uint64_t nmdi_dataset_part_rows(const nmdi_dataset *ds, size_t part);
size_t nmdi_dataset_nfields(const nmdi_dataset *ds);
const nmdi_store_field *nmdi_dataset_field(const nmdi_dataset *ds, size_t i);
int nmdi_dataset_find(const nmdi_dataset *ds, const char *name); /* index or -1 */
/* The manifest's "meta" object as JSON text ("{}" when none). */
const char *nmdi_dataset_meta(const nmdi_dataset *ds);
/* Typed columns of one partition, by field name. Errors when the field is
 * absent or of another type. i32 serves I32, DATE and CODE columns. */
int nmdi_dataset_i32(const nmdi_dataset *ds, size_t part, const char *name, const int32_t **out,
                     nmdi_error *err);
int nmdi_dataset_i64(const nmdi_dataset *ds, size_t part, const char *name, const int64_t **out,
                     nmdi_error *err);
int nmdi_dataset_f64(const nmdi_dataset *ds, size_t part, const char *name, const double **out,
                     nmdi_error *err);
/* String column: row i is bytes[off[i] .. off[i+1]) (not NUL-terminated). */
int nmdi_dataset_str(const nmdi_dataset *ds, size_t part, const char *name, const uint64_t **off,
                     const char **bytes, nmdi_error *err);
/* Fixed-width byte column: row i is out[i * *width .. (i + 1) * *width). */
int nmdi_dataset_bytes(const nmdi_dataset *ds, size_t part, const char *name,
                       const unsigned char **out, size_t *width, nmdi_error *err);
/* Width of field i when it is a BYTES field, else 0. */
size_t nmdi_dataset_width(const nmdi_dataset *ds, size_t i);
/* Map the pages of a column of one partition (both files of a string column)
 * in one call (MADV_POPULATE_READ; a read-ahead hint where not supported),
 * sparing a fault per few pages to a reader about to scan it. Best effort:
 * nothing happens for an unknown field. */
void nmdi_dataset_populate(const nmdi_dataset *ds, size_t part, const char *name);
/* Dictionary of a CODE column: code of index k is dict[k]; NULL if not CODE. */
const char *const *nmdi_dataset_dict(const nmdi_dataset *ds, const char *name, size_t *n);
/* Recompute every file's checksum against the manifest. */
int nmdi_dataset_verify(const nmdi_dataset *ds, nmdi_error *err);

#ifdef __cplusplus
}
#endif
#endif
