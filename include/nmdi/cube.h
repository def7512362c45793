/*
 * nmdi/cube.h — the statistical cube: the result of every estimate, the input
 * of disclosure control and publication. A cube has named dimensions (SDMX
 * concept ids such as SEX, AGE, COUNTRY_OF_BIRTH, TIME_PERIOD) and cells; each
 * cell holds one code per dimension ("_T" for a total), the value and its
 * attributes (standard error, CV, confidence interval, unweighted count, the
 * cell key used by the cell key method, observation and confidentiality
 * status).
 *
 * On disk a cube is a CSV file with header
 *   <dim1>,...,<dimN>,value,se,cv,ci_low,ci_high,n,ckey,OBS_STATUS,CONF_STATUS
 * (missing numbers empty; ckey empty when no record keys were summed), and
 * its metadata (id, names, unit, method, source...) live beside it in the
 * release (see nmdi/publish.h).
 *
 * Ownership: a cube owns all its strings and cells; nmdi_cube_free releases
 * them. Cells returned by nmdi_cube_cell() stay valid until the next
 * nmdi_cube_add(). Not thread-safe.
 */
#ifndef NMDI_CUBE_H
#define NMDI_CUBE_H

#include "nmdi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SDMX OBS_STATUS codes used by nmdi */
#define NMDI_OBS_NORMAL "A"      /* normal value                          */
#define NMDI_OBS_ESTIMATED "E"   /* survey estimate                        */
#define NMDI_OBS_PROVISIONAL "P" /* provisional (e.g. 12/16 not final)     */
#define NMDI_OBS_UNRELIABLE "U"  /* low reliability (CV over the limit)    */
#define NMDI_OBS_MISSING "M"     /* missing: withheld or not computable    */
/* SDMX CONF_STATUS codes */
#define NMDI_CONF_FREE "F"       /* free for publication                   */
#define NMDI_CONF_PRIMARY "C"    /* confidential: primary suppression      */
#define NMDI_CONF_SECONDARY "D"  /* secondary suppression                  */
#define NMDI_CONF_PERTURBED "N"  /* not for publication as original value:
                                    nmdi uses "F" for published perturbed
                                    values; see docs/methods-protect.md     */

typedef struct nmdi_cell {
    const char **codes;   /* ndims codes, owned by the cube                */
    double value;         /* NAN when not available or withheld            */
    double se, cv, ci_low, ci_high; /* NAN when not applicable             */
    int64_t n;            /* unweighted count of contributing records;
                             -1 when hidden or unknown (written empty)     */
    double ckey;          /* cell key in [0,1), NAN when not computed      */
    char obs_status[4];
    char conf_status[4];
} nmdi_cell;

typedef struct nmdi_cube nmdi_cube;

nmdi_cube *nmdi_cube_new(size_t ndims, const char *const *dims);
void nmdi_cube_free(nmdi_cube *c);
size_t nmdi_cube_ndims(const nmdi_cube *c);
const char *nmdi_cube_dim(const nmdi_cube *c, size_t i);
int nmdi_cube_dim_index(const nmdi_cube *c, const char *name); /* -1 when absent */
size_t nmdi_cube_ncells(const nmdi_cube *c);
nmdi_cell *nmdi_cube_cell(nmdi_cube *c, size_t i);
/* Initialise a cell template: numbers NAN, n 0, statuses "A"/"F". */
void nmdi_cell_init(nmdi_cell *cell);
/* Append a cell (codes and values copied). Returns 0 or NMDI_EINTERNAL. */
int nmdi_cube_add(nmdi_cube *c, const char *const *codes, const nmdi_cell *cell);
/* Find the cell with exactly these codes; NULL when absent. Linear first
 * time, then hashed. */
nmdi_cell *nmdi_cube_find(nmdi_cube *c, const char *const *codes);
/* Sort cells by their codes (byte order per dimension, "_T" last). */
void nmdi_cube_sort(nmdi_cube *c);
/* Copy the strings into the cube's arena (for callers building codes). */
const char *nmdi_cube_intern(nmdi_cube *c, const char *s);

int nmdi_cube_write_csv(const nmdi_cube *c, FILE *f);
int nmdi_cube_save(const nmdi_cube *c, const char *path, nmdi_error *err); /* atomic */
int nmdi_cube_load(nmdi_cube **out, const char *path, nmdi_error *err);

#ifdef __cplusplus
}
#endif
#endif
