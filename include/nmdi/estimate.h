/*
 * nmdi/estimate.h — the estimate stage over an infrastructure (`nmdi
 * estimate DIR`): the tables and indicators declared in the configuration
 * (`tables:`; a default set when absent), computed from the latest dataset
 * versions of the store and the datasets derived by `nmdi derive`, written as
 * cubes with metadata to DIR/work/estimates/<TABLE>.csv + .json.
 *
 * Table kinds (docs/methods-estimate.md):
 *   count         records of a person source (census, register) by
 *                 dimensions, weighted when the source has weights, with
 *                 margins and cell keys (the records' record_key);
 *   survey_ratio  a ratio (rate) from a survey source with its design
 *                 (strata, PSUs, weights; Taylor linearisation), by
 *                 migratory status (native/foreign-born and citizen/
 *                 non-citizen side by side) and sex, with SE, CV and CI;
 *   flows         long-term migration events from `nmdi derive`
 *                 (migration_events) by year, flow and citizenship group,
 *                 provisional cells marked;
 *   mobile        aggregates of mobile presence (nmdi/mobile.h).
 *
 * Ownership: nothing returned needs freeing except through the functions
 * named here. Not thread-safe per call; the work inside uses ctx's pool.
 */
#ifndef NMDI_ESTIMATE_H
#define NMDI_ESTIMATE_H

#include "nmdi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmdi_estimate_summary {
    size_t ntables;      /* tables written                          */
    size_t nskipped;     /* declared tables whose input is missing  */
    size_t ncells;       /* cells written in all                    */
} nmdi_estimate_summary;

/* Run the estimate stage over the infrastructure dir. Progress and one line
 * per table go to ctx's log unless quiet. */
int nmdi_estimate_infra(const nmdi_ctx *ctx, const char *dir, nmdi_estimate_summary *sum,
                        nmdi_error *err);

#ifdef __cplusplus
}
#endif
#endif
