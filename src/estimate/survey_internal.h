/*
 * survey_internal.h — the layout of an nmdi_svy_design shared by the files
 * of the survey module (survey_design.c, survey.c, calibrate.c). Not a
 * public header: callers use nmdi/survey.h.
 */
#ifndef NMDI_SURVEY_INTERNAL_H
#define NMDI_SURVEY_INTERNAL_H

#include "nmdi/survey.h"

struct nmdi_svy_design {
    nmdi_arena *arena; /* owns the design and all its arrays */
    const nmdi_table *t;
    size_t n;
    int scol; /* --strata column, -1 when none */
    int idcol[NMDI_SVY_MAXSTAGES]; /* --ids columns, -1 when none */
    nmdi_svy_lonely lonely;
    double *w;  /* final weights (calibrated when calibrated)          */
    double *w0; /* design weights before calibration                    */
    /* Taylor linearisation: stages s = 0..nst-1 */
    int nst;
    int has_fpc;
    int32_t *clu[NMDI_SVY_MAXSTAGES]; /* dense cluster id per record         */
    int32_t *str[NMDI_SVY_MAXSTAGES]; /* dense stratum id per record         */
    int32_t *nps[NMDI_SVY_MAXSTAGES]; /* per stratum: sampled clusters       */
    double *pop[NMDI_SVY_MAXSTAGES];  /* per stratum: population (INFINITY)  */
    size_t *strrec[NMDI_SVY_MAXSTAGES]; /* per stratum: one record (messages) */
    size_t nstr[NMDI_SVY_MAXSTAGES];
    size_t ncl[NMDI_SVY_MAXSTAGES];
    size_t *ord;  /* records in design order (stratum, cluster, ...)      */
    size_t *rank; /* rank[record] = position in ord                       */
    /* replicate weights */
    nmdi_svy_reptype type;
    size_t R;
    double *repw; /* n * R, record-major */
    double scale;
    double *rscales;
    int mse;
    /* calibration (stage 0, as calibrate()) */
    int calibrated;
    size_t p;
    double *X; /* n * p */
    double *g; /* calibration factors w / w0 */
    double *M; /* p * p: sum of w0 x x' */
    /* the units whose totals the variance needs (clusters of the last stage
     * the variance visits): residuals of the calibration are summed per unit */
    size_t nunit;
    size_t *unit_rep; /* nunit: one record per unit, in design order */
    size_t *unit_of;  /* n: unit of each record                      */
    double *WX;       /* nunit * p: sum of w x over the unit         */
};

/* Numeric cell: 0 with *v (NAN when "" or "NA"), or an error naming the
 * file, line and field. */
int nmdi_svy_cell_num(const nmdi_table *t, size_t row, int col, double *v, nmdi_error *err);
int nmdi_svy_is_missing(const char *s);
/* Compare two category values: numerically when both are numbers. */
int nmdi_svy_cmp_values(const char *a, const char *b);
/* Calibrate d (weights w0 -> w) to the margins file; fills X, g, M. */
int nmdi_svy_calibrate(nmdi_svy_design *d, const nmdi_svy_spec *spec, nmdi_error *err);
/* After calibration: the units and their sums of w x. */
int nmdi_svy_calib_units(nmdi_svy_design *d, nmdi_error *err);
/* Taylor variance over records idx[0..m) already in design order. */
int nmdi_svy_taylor_var_sorted(const nmdi_svy_design *d, const double *z, const size_t *idx,
                               size_t m, double *v, nmdi_error *err);

#endif
