/*
 * nmdi/survey.h — design-based estimation from complex survey samples, as R's
 * `survey` package (Lumley) computes it: Horvitz–Thompson totals, means,
 * ratios and proportions, for the whole sample or for domains, with standard
 * errors by Taylor linearisation (stratified multistage designs, with
 * finite-population corrections per stage and the lonely-PSU rules of
 * options(survey.lonely.psu)) or by replicate weights (JK1, JKn, BRR, Fay,
 * bootstrap), optionally after calibrating the weights (raking or linear
 * calibration, as calibrate()). Methods and the R equivalence are in
 * docs/methods-survey.md.
 *
 * Ownership: an nmdi_svy_design is built over an nmdi_table and keeps
 * pointers into it: the table must outlive the design. nmdi_svy_design_free
 * releases the design; nmdi_svy_result_free releases a result (it owns all
 * its strings). Specs and requests are borrowed for the duration of a call.
 *
 * Threading: a design is read-only once built; several threads may estimate
 * from one design at the same time. Nothing here keeps global state.
 */
#ifndef NMDI_SURVEY_H
#define NMDI_SURVEY_H

#include "nmdi/core.h"
#include "nmdi/csv.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NMDI_SVY_MAXSTAGES 4

typedef enum nmdi_svy_lonely {
    NMDI_SVY_LONELY_FAIL = 0, /* error naming the stratum (R's default)        */
    NMDI_SVY_LONELY_CERTAINTY, /* the stratum contributes nothing             */
    NMDI_SVY_LONELY_REMOVE,    /* the stratum contributes nothing             */
    NMDI_SVY_LONELY_ADJUST,    /* PSU total centred at zero (the grand mean
                                  for a mean's linearised variable)           */
    NMDI_SVY_LONELY_AVERAGE    /* variance scaled by strata / usable strata   */
} nmdi_svy_lonely;

typedef enum nmdi_svy_reptype {
    NMDI_SVY_REP_NONE = 0, /* Taylor linearisation */
    NMDI_SVY_REP_JK1,
    NMDI_SVY_REP_JKN,
    NMDI_SVY_REP_BRR,
    NMDI_SVY_REP_FAY,
    NMDI_SVY_REP_BOOTSTRAP
} nmdi_svy_reptype;

typedef enum nmdi_svy_calmethod {
    NMDI_SVY_CAL_NONE = 0,
    NMDI_SVY_CAL_RAKING, /* calibrate(calfun = "raking")  */
    NMDI_SVY_CAL_LINEAR  /* calibrate(calfun = "linear")  */
} nmdi_svy_calmethod;

/* The design, as arguments of svydesign()/svrepdesign()/calibrate(). Column
 * names refer to the table; NULL or "" means absent. */
typedef struct nmdi_svy_spec {
    const char *ids[NMDI_SVY_MAXSTAGES]; /* cluster column per stage          */
    size_t nids;                         /* 0: every record is its own PSU    */
    const char *strata;
    const char *weights;
    const char *fpc[NMDI_SVY_MAXSTAGES]; /* population size or fraction      */
    size_t nfpc;
    int nest;
    nmdi_svy_lonely lonely;
    /* replicate weights (type != NONE) */
    nmdi_svy_reptype type;
    const char *repweights; /* POSIX extended regex over column names */
    double rho;             /* Fay's rho                             */
    int mse;                /* centre on the full-sample estimate    */
    const double *rscales;  /* factors, one per replicate (optional)  */
    size_t nrscales;
    double scale;           /* overall factor; 0 or NAN: the type's  */
    /* calibration */
    nmdi_svy_calmethod calibrate;
    const char *margins; /* CSV variable,category,total */
} nmdi_svy_spec;

typedef enum nmdi_svy_stat {
    NMDI_SVY_TOTAL = 0,
    NMDI_SVY_MEAN,
    NMDI_SVY_RATIO,
    NMDI_SVY_PROP
} nmdi_svy_stat;

/* One estimate asked for: var (and den for a ratio). */
typedef struct nmdi_svy_request {
    nmdi_svy_stat stat;
    const char *var;
    const char *den;
} nmdi_svy_request;

/* One output row. domain[] holds the nby domain values. */
typedef struct nmdi_svy_row {
    const char **domain;
    nmdi_svy_stat stat;
    const char *variable; /* "v", "num/den" or "v=category" */
    double estimate, se, cv, ci_low, ci_high; /* NAN when not estimable */
    int64_t n;
} nmdi_svy_row;

typedef struct nmdi_svy_result {
    size_t nby;
    const char **by;
    size_t nrows;
    nmdi_svy_row *rows;
    nmdi_arena *arena;
} nmdi_svy_result;

typedef struct nmdi_svy_design nmdi_svy_design;

/* Read a survey CSV file as nmdi_table_read_csv does, keeping only the
 * columns the design (spec: ids, strata, weights, fpc, replicate weights,
 * the calibration variables of the margins file) and the estimates (req,
 * by) use, in file order, each repeated value stored once. Errors are those
 * of the full reader (every record is parsed and checked whole). The table
 * belongs to the caller (nmdi_table_free). */
int nmdi_svy_read_csv(nmdi_table **out, const char *path, const nmdi_csv_opts *opts,
                      const nmdi_svy_spec *spec, const nmdi_svy_request *req, size_t nreq,
                      const char *const *by, size_t nby, nmdi_error *err);

/* Build (and calibrate, when asked) the design over table t. Errors name the
 * file, line and field (missing or negative weight, lonely PSU with
 * --lonely-psu fail is reported at estimation, clusters not nested...). */
int nmdi_svy_design_new(nmdi_svy_design **out, const nmdi_table *t, const nmdi_svy_spec *spec,
                        nmdi_error *err);
void nmdi_svy_design_free(nmdi_svy_design *d);
size_t nmdi_svy_design_nrec(const nmdi_svy_design *d);
/* Final (possibly calibrated) weight of record i. */
double nmdi_svy_design_weight(const nmdi_svy_design *d, size_t i);

/* Estimate every request for the whole sample (nby = 0) or for each domain
 * of the by columns (sorted; records with a missing by value belong to no
 * domain but stay in the design). */
int nmdi_svy_estimate(const nmdi_svy_design *d, const nmdi_svy_request *req, size_t nreq,
                      const char *const *by, size_t nby, nmdi_svy_result **out, nmdi_error *err);
void nmdi_svy_result_free(nmdi_svy_result *r);
/* The contract CSV: by columns, statistic, variable, estimate, se, cv,
 * ci_low, ci_high, n. */
int nmdi_svy_result_write_csv(const nmdi_svy_result *r, FILE *f);
int nmdi_svy_result_write_json(const nmdi_svy_result *r, FILE *f);
const char *nmdi_svy_stat_name(nmdi_svy_stat s);

/* ---- pieces exposed for tests -------------------------------------------- */
/* Taylor variance of the total of z (one value per record of the design,
 * already weighted: z_k = w_k * u_k), over the records listed in idx (in any
 * order; records not listed count as absent from the subset, as rows dropped
 * by R's subset()). Returns 0 and *v, or an error (lonely PSU with fail). */
int nmdi_svy_taylor_var(const nmdi_svy_design *d, const double *z, const size_t *idx, size_t nidx,
                        double *v, nmdi_error *err);
/* Replicate variance as R's svrVar: thetas[r] for r < R (NaN replicates are
 * dropped), scale, rscales (NULL: all 1), centred on the mean of replicates
 * with rscale > 0, or on full when mse. */
double nmdi_svy_rep_var(const double *thetas, size_t R, double scale, const double *rscales,
                        int mse, double full);
/* Solve the symmetric positive definite system A x = b (p x p, row-major);
 * returns 0, or -1 when A is singular. A and b are not modified. */
int nmdi_svy_solve(const double *A, const double *b, size_t p, double *x);

#ifdef __cplusplus
}
#endif
#endif
