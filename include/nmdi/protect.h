/*
 * nmdi/protect.h — statistical disclosure control: perturbation tables and the
 * cell key method for frequency tables, threshold suppression with secondary
 * suppression for tables with margins, quality-based withholding of survey
 * estimates, k-anonymity with local suppression for microdata, and the
 * `protect` stage over an infrastructure directory. Methods and settings are
 * described in docs/methods-protect.md.
 *
 * The API is hard to misuse: perturbation needs a ptable and cell keys, and a
 * protected cube never carries the cell keys or the original counts (ckey is
 * cleared, n is replaced by the published value or hidden), so what leaves a
 * protect function can be published as it is.
 *
 * Ownership: nmdi_ptable objects are created by nmdi_ptable_build/_read_csv
 * and released by nmdi_ptable_free; functions taking an nmdi_cube modify it in
 * place (the caller still owns it). Threading: a ptable is read-only after it
 * is built and may be shared between threads; everything else works on the
 * caller's objects and keeps no state.
 */
#ifndef NMDI_PROTECT_H
#define NMDI_PROTECT_H

#include "nmdi/core.h"
#include "nmdi/csv.h"
#include "nmdi/cube.h"
#include "nmdi/rkey.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- perturbation tables (ptables) ------------------------------------------
 * A ptable holds, for each original count i = 0..cap, the perturbed counts j
 * with probability p and the interval [lb, ub) of cell keys that select j
 * (intervals cumulative in the order of j within the row; the last ub is 1).
 * Counts above cap use the row of cap: published = i + (j - cap). */
typedef struct nmdi_ptable_row {
    int i, j;  /* original and perturbed count (row i = cap stands for i >= cap) */
    int v;     /* j - i                                                        */
    double p;  /* probability                                                  */
    double lb, ub; /* cell key interval [lb, ub)                                */
} nmdi_ptable_row;

typedef struct nmdi_ptable nmdi_ptable;

/* Build the maximum-entropy ptable for maximum noise D (1..20), variance V
 * (0 < V < D^2) and js (counts 1..js are never published, 0..20): for every
 * i the distribution of maximum entropy over the allowed perturbations
 * (j >= 0, j not in 1..js, |j - i| <= D) with mean 0 and variance V; rows
 * whose support cannot carry variance V take the feasible variance nearest
 * to V (docs/methods-protect.md). cap = D + js + 1. */
int nmdi_ptable_build(nmdi_ptable **out, int D, double V, int js, nmdi_error *err);
/* Read a ptable from CSV with columns i, j, p (and optionally v, checked to be
 * j - i; other columns such as p_int_lb/p_int_ub are ignored and recomputed).
 * Rows i = 0..cap must all be present; row 0 must be j = 0 with p = 1 (zeros
 * stay zero); each row's p must sum to 1 within 1e-6. */
int nmdi_ptable_read_csv(nmdi_ptable **out, const char *path, nmdi_error *err);
/* Write header i,j,p,v,p_int_lb,p_int_ub and one line per row. */
int nmdi_ptable_write_csv(const nmdi_ptable *pt, FILE *f);
void nmdi_ptable_free(nmdi_ptable *pt);
size_t nmdi_ptable_nrows(const nmdi_ptable *pt);
const nmdi_ptable_row *nmdi_ptable_row_at(const nmdi_ptable *pt, size_t k);
int nmdi_ptable_cap(const nmdi_ptable *pt);
/* One line describing the ptable, e.g. "cell key method (D=2, V=1.08, js=1)". */
const char *nmdi_ptable_describe(const nmdi_ptable *pt);
/* The published count for original count `count` (>= 0) and cell key ckey in
 * [0,1): count + v of the row whose interval holds ckey. Deterministic: the
 * same (count, ckey) always gives the same result; 0 stays 0. */
int64_t nmdi_ptable_apply(const nmdi_ptable *pt, int64_t count, double ckey);

/* ---- record keys: see nmdi/rkey.h (nmdi_rkey_derive), in core so that ingest
 * can store them. */

/* ---- the cell key method on a cube ------------------------------------------------
 * Every cell's value must be a non-negative whole count; a cell with a
 * non-zero count must carry its cell key. The value becomes the perturbed
 * count, n becomes the same published count, ckey/se/cv/ci are cleared,
 * CONF_STATUS "F". Totals are perturbed on their own (tables are not
 * additive). Errors name the cell. */
int nmdi_protect_cellkey(nmdi_cube *c, const nmdi_ptable *pt, nmdi_error *err);

/* ---- threshold and secondary suppression ------------------------------------------
 * Primary: a cell with 0 < n < threshold (contributing records) is suppressed
 * (CONF_STATUS "C"). Secondary (when secondary is 1): cells are added (CONF
 * "D") until no suppressed cell can be recomputed from the published cells and
 * the additivity of the margins ("_T" codes): in a 1-dimensional line no
 * suppressed cell is alone; in every 2-dimensional sub-table with margins
 * every suppressed cell lies on a cycle of suppressed cells (then, and only
 * then, its value is not determined by the linear equations of the margins);
 * more dimensions: every 2-D sub-table and 1-D line, iterated until stable.
 * Complementary cells are chosen by least total value (non-zero cells first).
 * Suppressed cells: value, se, cv, ci NaN, n hidden (-1: written empty),
 * OBS_STATUS "M". */
typedef struct nmdi_suppress_opts {
    int64_t threshold; /* primary: 0 < n < threshold; 0 disables primary */
    int secondary;     /* 1: secondary suppression                    */
} nmdi_suppress_opts;

typedef struct nmdi_suppress_stats {
    size_t cells, primary, secondary;
    size_t unprotectable; /* 2-D sub-tables where absent cells left no cycle:
                             the whole sub-table was suppressed instead      */
} nmdi_suppress_stats;

int nmdi_protect_suppress(nmdi_cube *c, const nmdi_suppress_opts *o, nmdi_suppress_stats *st,
                          nmdi_error *err);
/* Secondary suppression only, from cells already marked CONF_STATUS "C". */
int nmdi_protect_secondary(nmdi_cube *c, nmdi_suppress_stats *st, nmdi_error *err);

/* ---- survey estimates -------------------------------------------------------------
 * n < n_min: withheld (value and precision NaN, OBS "M", CONF "C");
 * cv > cv_withhold: withheld as unreliable (OBS "M", CONF "F");
 * cv > cv_flag: published with OBS "U". A limit <= 0 is not applied. */
typedef struct nmdi_survey_rule {
    int64_t n_min;
    double cv_flag, cv_withhold;
} nmdi_survey_rule;

typedef struct nmdi_survey_stats {
    size_t cells, withheld_n, withheld_cv, flagged;
} nmdi_survey_stats;

int nmdi_protect_survey(nmdi_cube *c, const nmdi_survey_rule *r, nmdi_survey_stats *st,
                        nmdi_error *err);

/* ---- microdata: k-anonymity with local suppression ----------------------------------
 * The quasi-identifiers of record r are its values in qi[]; an empty value
 * is suppressed and matches any value. r's class size f(r) is the number of
 * records s (r included) such that for every quasi-identifier both are equal
 * or one is empty. Records with f < k are at risk. With suppress = 1, values
 * of at-risk records are blanked (in t, in place), one per record per round,
 * choosing the quasi-identifier whose blanking gives the largest class (ties:
 * the later quasi-identifier in qi[]), until no record is at risk. */
typedef struct nmdi_kanon_report {
    size_t records, nqi;
    size_t at_risk_before, at_risk_after;
    size_t classes_before;   /* distinct QI combinations before suppression */
    size_t suppressed;       /* values blanked                              */
    size_t *suppressed_by_qi; /* nqi counts (malloc'd; free with nmdi_kanon_report_free) */
    size_t rounds;
} nmdi_kanon_report;

int nmdi_protect_kanon(nmdi_table *t, const int *qi, size_t nqi, int64_t k, int suppress,
                       nmdi_kanon_report *rep, nmdi_error *err);
void nmdi_kanon_report_free(nmdi_kanon_report *rep);

/* ---- the stage over an infrastructure ---------------------------------------------
 * Reads DIR/work/estimates/<ID>.csv + <ID>.json and writes DIR/work/protected/
 * <ID>.csv + <ID>.json (atomic) with "protected": true, "disclosure_control"
 * (a sentence) and "protect" (the settings applied). Per table, the table's
 * JSON "protect" object overrides the defaults: "method": "cellkey" |
 * "suppress" | "survey" | "none" (default: cellkey for counts with cell keys,
 * survey for survey estimates — cells with se — , suppress otherwise), "D",
 * "V", "js", "ptable" (CSV path, relative to DIR), "threshold", "n_min",
 * "cv_flag", "cv_withhold". */
typedef struct nmdi_protect_settings {
    int D;                 /* 2    */
    double V;              /* 1.08 */
    int js;                /* 1    */
    const char *ptable;    /* CSV ptable instead of (D, V, js), or NULL */
    int64_t threshold;     /* 3    */
    nmdi_survey_rule survey; /* n_min 3, cv_flag 0.165, cv_withhold 0.333 */
} nmdi_protect_settings;

void nmdi_protect_defaults(nmdi_protect_settings *s);
/* Protect every table; *ntables = how many were written (0, and nothing
 * written, when DIR/work/estimates does not exist). */
int nmdi_protect_dir(const nmdi_ctx *ctx, const char *dir, const nmdi_protect_settings *s,
                     size_t *ntables, nmdi_error *err);

#ifdef __cplusplus
}
#endif
#endif
