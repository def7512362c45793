/*
 * infra_internal.h — shared internals of the estimate stage (infra*.c):
 * table declarations, typed column access over stored datasets, the stage
 * state, and the writers of cubes with metadata. Not a public header.
 */
#ifndef NMDI_ESTIMATE_INFRA_INTERNAL_H
#define NMDI_ESTIMATE_INFRA_INTERNAL_H

#include "nmdi/catalog.h"
#include "nmdi/config.h"
#include "nmdi/cube.h"
#include "nmdi/estimate.h"
#include "nmdi/mobile.h"
#include "nmdi/store.h"

#define MAXDIMS 8

/* ---- table declarations ------------------------------------------------------ */
typedef struct tdecl {
    const char *id, *kind, *source, *topic, *name_en, *name_zh, *desc_en, *desc_zh;
    const char *reference_period, *filter, *unit;
    const char *numerator, *denominator, *population; /* survey_ratio */
    const char *mobile_table;                          /* mobile       */
    size_t ndims;
    const char *dims[MAXDIMS];
    long line;
    const char *event; /* events: the event codes counted (comma list) */
    /* survey_ratio: calibration of the weights to population totals of
     * another source (method raking|linear; NULL: none), margins a comma
     * list of concepts or crossings of concepts ("SEX*AGE,REF_AREA") */
    const char *cal_method, *cal_totals, *cal_margins;
} tdecl;

extern const tdecl nmdi_est_defaults[];
extern const size_t nmdi_est_ndefaults;
#define NDEFAULTS nmdi_est_ndefaults

/* ---- column access over any stored type ---------------------------------------- */
typedef struct fcol {
    int present;
    nmdi_coltype type;
    const int32_t *i32;
    const int64_t *i64;
    const double *f64;
    const uint64_t *off;
    const char *bytes;
    const char *const *dict;
    size_t ndict;
    char buf[32];
} fcol;

/* Open column `name` of partition part (c->present = 0 when absent). */
void nmdi_est_fcol_open(fcol *c, const nmdi_dataset *ds, size_t part, const char *name);
/* The value as text ("" when missing); valid until the next call on c. */
const char *nmdi_est_fcol_str(fcol *c, size_t r);
/* Integer value, INT32_MIN when missing or not a number. */
int32_t nmdi_est_fcol_int(fcol *c, size_t r);
/* Floating value, NaN when missing. */
double nmdi_est_fcol_f64(fcol *c, size_t r);

/* ---- inputs --------------------------------------------------------------------------- */
typedef struct stage {
    const nmdi_ctx *ctx;
    const char *dir;
    nmdi_config *cfg;
    nmdi_catalog *cat;
    nmdi_arena *arena;
    nmdi_estimate_summary *sum;
    int mob_min;      /* mobile: smallest published cell (subscribers) */
    double mob_share; /* mobile: operator market share                  */
    char skip[160];   /* why the current table was not produced (empty: no dataset) */
    void *meta_extra; /* json_t object merged into the next table's metadata, then freed */
    const tdecl *decls; /* the tables of this run */
    size_t ndecls;
} stage;

/* Open the latest version of a dataset; 1 opened, 0 none, <0 error. */
int nmdi_est_open_latest(stage *s, const char *dataset, nmdi_dataset **ds, nmdi_dsversion *v,
                         nmdi_error *err);
/* Write cube + metadata of table t; protect names a protection method for
 * the metadata ("suppress") or NULL. 0 or an error code. */
int nmdi_est_write_table_p(stage *s, const tdecl *t, nmdi_cube *cube, const char *source_desc,
                           const char *method, const char *refperiod, const char *protect,
                           nmdi_error *err);
int nmdi_est_write_table(stage *s, const tdecl *t, nmdi_cube *cube, const char *source_desc,
                         const char *method, const char *refperiod, nmdi_error *err);
/* The first whole calendar year starting at least a year after the first
 * border crossing of the data (NMDI_DATE_NONE without crossings). */
nmdi_date nmdi_est_burn_in(stage *s, nmdi_error *err);
/* kind events: records of an event dataset (infra_events.c). */
int nmdi_est_table_events(stage *s, const tdecl *t, nmdi_error *err);
/* Dimension concepts known to event tables. */
int nmdi_est_event_concept(const char *c);
/* kind mobile: the derivation over a stored presence dataset, store partition
 * by partition on ctx's thread pool, units of at most p->partition_records
 * records (infra_mobile.c); record_type names how the store was partitioned.
 * 0 or an error code; out owned by the caller (nmdi_mobile_result_free). */
int nmdi_est_mobile_derive(const nmdi_ctx *ctx, const nmdi_dataset *ds, const char *record_type,
                           const nmdi_mobile_params *p, const nmdi_cfg_node *amap,
                           nmdi_mobile_result *out, nmdi_error *err);

#endif
