/*
 * nmdi/tabulate.h — the tabulation engine: counts, weighted counts, weighted
 * sums and weighted means of records cross-classified by dimensions, with
 * optional margins (every dimension and combination of dimensions totalled,
 * code "_T", as SQL's GROUP BY CUBE), and optional cell keys for the cell key
 * method (the record keys of a cell's records summed modulo 1).
 *
 * Two doors to one engine:
 *   - nmdi_tabulate_csv() reads a CSV file in one streaming pass;
 *   - nmdi_tab_new/add/merge/cube lets a caller (the pipeline over the store,
 *     a partitioned run on the thread pool) feed records itself: one nmdi_tab
 *     per partition, merged, then turned into a cube.
 * Records are aggregated into the finest cells by hashing; margins are
 * computed from the finest cells, never by re-reading records.
 *
 * Cell keys are exact: a record key rk in [0,1) is held as the fixed-point
 * integer floor(rk * 2^52) and cell keys are integer sums modulo 2^52, so a
 * cell's key does not depend on the order of its records, on partitioning, or
 * on whether the cell is a margin. The same set of records therefore always
 * gets the same cell key in every table.
 *
 * Ownership: an nmdi_tab owns its memory (nmdi_tab_free); the cube returned by
 * nmdi_tab_cube()/nmdi_tabulate_csv() belongs to the caller (nmdi_cube_free).
 * Threading: an nmdi_tab is used by one thread at a time; distinct nmdi_tab
 * objects may be filled in parallel and merged afterwards.
 */
#ifndef NMDI_TABULATE_H
#define NMDI_TABULATE_H

#include "nmdi/core.h"
#include "nmdi/cube.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nmdi_tab_measure {
    NMDI_TAB_COUNT = 0, /* weighted count: sum of weights (records when unweighted) */
    NMDI_TAB_SUM,       /* weighted sum of a variable: sum of w*y                   */
    NMDI_TAB_MEAN       /* weighted mean: sum of w*y / sum of w (NaN when 0)        */
} nmdi_tab_measure;

/* What to tabulate from a CSV file. by[] are column names (at least one);
 * weight, var and rkey are column names or NULL. */
typedef struct nmdi_tab_spec {
    size_t nby;
    const char *const *by;
    const char *weight;        /* NULL: every record weighs 1                  */
    nmdi_tab_measure measure;
    const char *var;           /* the variable of SUM and MEAN                 */
    const char *rkey;          /* record-key column (values in [0,1)) or NULL  */
    int margins;               /* 1: add all totals (code "_T")               */
} nmdi_tab_spec;

/* The margin code. A by-column value equal to it is refused with margins. */
#define NMDI_TAB_TOTAL "_T"
/* Resolution of record and cell keys: keys are multiples of 2^-52. */
#define NMDI_TAB_KEY_BITS 52

/* Tabulate a CSV file (path "-" = standard input) in one pass. The result
 * cube has the by-columns as dimensions (same names, same order), value = the
 * measure, n = unweighted count of records, ckey = cell key when spec->rkey
 * is given (else NaN); other attributes NaN, statuses "A"/"F". Cells are
 * sorted by their codes (nmdi_cube_sort: byte order per dimension, "_T" last,
 * first dimension slowest). Only cells with at least one record appear.
 * Errors name the file, line and field: a missing column, a non-numeric,
 * empty or negative weight, a non-numeric or empty value, a record key
 * outside [0,1), a record with the wrong number of fields. Empty by-values
 * are a category of their own (code ""). */
int nmdi_tabulate_csv(const nmdi_ctx *ctx, const char *path, const nmdi_tab_spec *spec,
                      nmdi_cube **out, nmdi_error *err);

/* ---- the engine ------------------------------------------------------------ */
typedef struct nmdi_tab nmdi_tab;

nmdi_tab *nmdi_tab_new(size_t ndims); /* NULL on OOM */
void nmdi_tab_free(nmdi_tab *t);
/* Add one record: codes[d] (lens[d] bytes, need not be NUL-terminated; lens
 * may be NULL for NUL-terminated codes), weight w (>= 0), value y (ignored
 * for COUNT: pass 0), fixed-point record key rk (nmdi_tab_key_fixed; 0 when
 * no keys). Returns 0 or NMDI_EINTERNAL (out of memory). */
int nmdi_tab_add(nmdi_tab *t, const char *const *codes, const size_t *lens, double w, double y,
                 uint64_t rk);
/* Add every cell of src into dst (same ndims). 0 or NMDI_EINTERNAL. */
int nmdi_tab_merge(nmdi_tab *dst, const nmdi_tab *src);
size_t nmdi_tab_ncells(const nmdi_tab *t); /* finest cells so far */
/* Build the cube (sorted, see nmdi_tabulate_csv). with_ckey: fill ckey.
 * With margins, a code equal to "_T" is an NMDI_EDATA error. */
int nmdi_tab_cube(const nmdi_tab *t, const char *const *dims, nmdi_tab_measure m, int margins,
                  int with_ckey, nmdi_cube **out, nmdi_error *err);
/* A record key in [0,1) as the fixed-point integer the engine sums;
 * returns 0 and sets *out, or -1 when rk is not in [0,1). */
int nmdi_tab_key_fixed(double rk, uint64_t *out);
/* A fixed-point cell key sum as a double in [0,1) (exact). */
double nmdi_tab_key_double(uint64_t sum);

#ifdef __cplusplus
}
#endif
#endif
