/*
 * nmdi/core.h — the core of libnmdi: context, errors, arena memory, dates,
 * strings, number formatting, hash maps, a thread pool over partitions and
 * progress reporting.
 *
 * Ownership: memory returned by nmdi_arena_* belongs to the arena and is
 * released only by nmdi_arena_free(). Objects created by a *_new/_open
 * function are released by the matching *_free/_close. Functions that can
 * fail return 0 on success and a non-zero nmdi_status on failure, filling the
 * caller's nmdi_error.
 *
 * Threading: an nmdi_ctx is read-only while a thread pool runs; an arena,
 * a strmap and an nmdi_error must not be shared between threads without the
 * caller's own locking. Everything else in this header is reentrant.
 */
#ifndef NMDI_CORE_H
#define NMDI_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NMDI_VERSION "0.1.0"

/* ---- status codes (also the command's exit codes) ---------------------- */
typedef enum nmdi_status {
    NMDI_OK = 0,
    NMDI_EDATA = 1,     /* bad input data, configuration or usage          */
    NMDI_EINTERNAL = 2  /* internal error: out of memory, I/O, bug          */
} nmdi_status;

/* ---- errors --------------------------------------------------------------
 * An error carries a status, a message, and where it applies: file, line
 * (1-based, 0 when unknown) and field (empty when unknown). nmdi_error_format
 * gives "file:line: field 'f': message". */
typedef struct nmdi_error {
    int code;
    long line;
    char file[512];
    char field[128];
    char msg[1024];
} nmdi_error;

void nmdi_error_clear(nmdi_error *e);
/* Set an error without location; returns code (so `return nmdi_error_set(...)`). */
int nmdi_error_set(nmdi_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Set an error at file/line/field (file or field may be NULL, line 0). */
int nmdi_error_at(nmdi_error *e, int code, const char *file, long line,
                  const char *field, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Write the error as one line into buf. */
void nmdi_error_format(const nmdi_error *e, char *buf, size_t size);

/* ---- context -------------------------------------------------------------
 * All run-time settings live here; the library keeps no global mutable state. */
typedef struct nmdi_ctx {
    int quiet;       /* no progress or informational output                 */
    int json;        /* commands print machine-readable JSON                */
    int nthreads;    /* worker threads for partitioned work (>= 1)          */
    FILE *log;       /* where progress and notes go (stderr by default)     */
    int log_is_tty;  /* progress redraws one line when 1, prints lines else */
    uint64_t store_fail_after; /* test hook: store writers of the stages that take
                                  it (derive) fail as if the disk were full after
                                  this many bytes each; 0 off (nmdi_ctx_init) */
} nmdi_ctx;

void nmdi_ctx_init(nmdi_ctx *ctx);
/* Informational message to ctx->log unless quiet. */
void nmdi_note(const nmdi_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- arena memory ------------------------------------------------------- */
typedef struct nmdi_arena nmdi_arena;

nmdi_arena *nmdi_arena_new(size_t chunk_size);       /* NULL on OOM */
void *nmdi_arena_alloc(nmdi_arena *a, size_t size);  /* 16-byte aligned, NULL on OOM */
void *nmdi_arena_calloc(nmdi_arena *a, size_t n, size_t size);
char *nmdi_arena_strdup(nmdi_arena *a, const char *s);
char *nmdi_arena_strndup(nmdi_arena *a, const char *s, size_t n);
char *nmdi_arena_sprintf(nmdi_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
size_t nmdi_arena_used(const nmdi_arena *a);
void nmdi_arena_free(nmdi_arena *a);

/* ---- growable heap arrays --------------------------------------------------
 * nmdi_grow(&p, &cap, need, elem, first): make the malloc'd array *p (of *cap
 * elements of elem bytes) hold at least need elements, doubling from *cap or,
 * when empty, from first. 0, or -1 on OOM or overflow (*p and *cap unchanged).
 * The common case (room already) is a comparison inline. */
int nmdi_grow_slow(void **p, size_t *cap, size_t need, size_t elem, size_t first);
static inline int nmdi_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    return need <= *cap ? 0 : nmdi_grow_slow(p, cap, need, elem, first);
}

/* ---- short strings as words --------------------------------------------------
 * nmdi_pack8(s, len), len <= 8: the bytes of s as a little-endian word, zero
 * above len (what memcpy into a zeroed word gives), read by two overlapping
 * loads: a variable-length copy through the stack stalls the load that
 * follows it. Keys of small caches of codes. */
static inline uint64_t nmdi_pack8(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!len)
        return 0;
    if (len >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, u, 4);
        memcpy(&hi, u + len - 4, 4);
        return (uint64_t)lo | (uint64_t)hi << (8 * (len - 4));
    }
    return (uint64_t)u[0] | (uint64_t)u[len / 2] << (8 * (len / 2)) |
           (uint64_t)u[len - 1] << (8 * (len - 1));
}

/* ---- dates ----------------------------------------------------------------
 * A date is the number of days since 1970-01-01 (proleptic Gregorian). */
typedef int32_t nmdi_date;
#define NMDI_DATE_NONE INT32_MIN

nmdi_date nmdi_date_from_ymd(int y, int m, int d);
void nmdi_date_to_ymd(nmdi_date date, int *y, int *m, int *d);
int nmdi_date_valid_ymd(int y, int m, int d);
/* Strict ISO 8601 calendar date YYYY-MM-DD; s need not be NUL-terminated.
 * Returns 0 and sets *out, or -1 when s is not a valid date. */
int nmdi_date_parse(const char *s, size_t len, nmdi_date *out);
/* Writes YYYY-MM-DD and a NUL into out (11 bytes); empty string for NONE. */
void nmdi_date_format(nmdi_date date, char out[11]);
int nmdi_date_year(nmdi_date date);

/* ---- strings and numbers -------------------------------------------------- */
/* Trim ASCII whitespace in place of a (ptr,len) view. */
void nmdi_str_trim(const char **s, size_t *len);
int nmdi_str_ieq(const char *a, const char *b);
/* Full-precision shortest round-trip formatting of a double (%.17g or
 * shorter when exact); NaN prints as "NA". buf must hold 32 bytes. */
void nmdi_fmt_double(double v, char buf[32]);
/* Parse a whole string as a number; returns -1 on junk, overflow or empty. */
int nmdi_parse_double(const char *s, double *out);
int nmdi_parse_int64(const char *s, int64_t *out);
/* Is the buffer valid UTF-8?  Returns 1 yes, 0 no and *bad = byte offset. */
int nmdi_utf8_valid(const char *s, size_t len, size_t *bad);

/* ---- hashing (non-cryptographic; keyed hashing lives in ingest) ---------- */
uint64_t nmdi_hash64(const void *data, size_t len, uint64_t seed);

/* String → int64 map; keys are copied into the map's own arena. */
typedef struct nmdi_strmap nmdi_strmap;
nmdi_strmap *nmdi_strmap_new(void);
void nmdi_strmap_free(nmdi_strmap *m);
/* Returns a pointer to the value slot for key, inserting it (value 0 and
 * *inserted=1) when absent; NULL on OOM. inserted may be NULL. */
int64_t *nmdi_strmap_put(nmdi_strmap *m, const char *key, size_t len, int *inserted);
int64_t *nmdi_strmap_get(const nmdi_strmap *m, const char *key, size_t len);
size_t nmdi_strmap_count(const nmdi_strmap *m);
/* Iterate: i from 0 while it returns 1. */
int nmdi_strmap_iter(const nmdi_strmap *m, size_t *i, const char **key, int64_t *value);

/* ---- thread pool over partitions ------------------------------------------
 * Runs fn(arg, part) for part = 0..nparts-1 on ctx->nthreads threads; each
 * part runs exactly once. Returns the first non-zero return of fn (others
 * still finish), or 0. */
typedef int (*nmdi_part_fn)(void *arg, size_t part);
int nmdi_pool_run(const nmdi_ctx *ctx, size_t nparts, nmdi_part_fn fn, void *arg);

/* ---- progress ------------------------------------------------------------- */
typedef struct nmdi_progress {
    const nmdi_ctx *ctx;
    const char *label;
    uint64_t total;     /* 0 when unknown */
    uint64_t done;
    double start, last;
} nmdi_progress;

void nmdi_progress_begin(nmdi_progress *p, const nmdi_ctx *ctx, const char *label, uint64_t total);
void nmdi_progress_update(nmdi_progress *p, uint64_t done);
void nmdi_progress_end(nmdi_progress *p);
double nmdi_now(void); /* monotonic seconds */

/* ---- files ------------------------------------------------------------------
 * Find a file shipped with nmdi (rel is relative to the repository or the
 * installed share/nmdi folder, e.g. "data/countries.csv"): $NMDI_DATA_DIR,
 * then next to the binary (build/rel/nmdi → repository root; bin/ →
 * ../share/nmdi), then /usr/share/nmdi. 0 and the path in out, or -1. */
int nmdi_find_data(const char *rel, char *out, size_t size);
/* Write a whole file atomically (temporary file, fsync, rename). */
int nmdi_write_file_atomic(const char *path, const void *data, size_t len, nmdi_error *err);
/* Map a whole regular file read-only for one sequential pass (populated in one call
 * when populate is set). NULL when it cannot be opened or mapped, is not a regular file
 * or is shorter than min_size — callers then take their streaming path. The caller
 * unmaps with munmap(p, *size). */
const char *nmdi_map_file(const char *path, size_t min_size, int populate, size_t *size);

#ifdef __cplusplus
}
#endif
#endif
