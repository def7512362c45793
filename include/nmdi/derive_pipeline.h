/*
 * nmdi/derive_pipeline.h — `nmdi derive DIR`: the derivation stage over the
 * store of an infrastructure. Reads the configuration's `residence` section
 * and the latest version of every border_crossing, register_event and permit
 * source, runs the per-person functions of nmdi/derive.h partition by
 * partition on the thread pool, and writes new dataset versions:
 *
 *   crossing_residence  one row per crossing with its residence classification
 *   migration_events    long-term and temporary migration events (border data)
 *   register_flows      registered immigration and emigration (registers)
 *   first_permits       first residence permits by reason (permits)
 *
 * each through the store writer (atomic, versioned) with a catalog row whose
 * lineage names the input dataset versions, the rule parameters and the code
 * version. All four versions become visible together (one catalog
 * transaction). Column layouts: docs/methods-derive.md, "In the
 * infrastructure".
 *
 * Memory: each of the ctx->nthreads workers holds, for one group of
 * travellers (one input partition's), 36 bytes per stretch of rows of one
 * document, the records of one stretch of persons at a time (40 bytes a
 * crossing, 2 Mi crossings: 80 MiB) and two sets of output chunks (62 MiB),
 * all reused from group to group; results are written to the output
 * partition under a lock, by output threads. What grows with the data
 * itself is the document join's result (about
 * 10 bytes per travel document plus 8 per run of rows of one document) and
 * the register index (about 40 bytes per register person and 48 per register
 * event): about 1 GiB at 10 million persons (docs/methods-derive.md).
 *
 * Ownership: the summary is owned by the caller (plain struct, no pointers
 * to free). Threading: nmdi_derive_dir() uses ctx->nthreads threads itself;
 * it must not run twice at once on one infrastructure (the catalog's write
 * transaction serialises two runs).
 */
#ifndef NMDI_DERIVE_PIPELINE_H
#define NMDI_DERIVE_PIPELINE_H

#include "nmdi/config.h"
#include "nmdi/derive.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters of the stage, read from the `residence` section of nmdi.yaml:
 *   threshold: DAYS | threshold_months: M   (default 365 days)
 *   window: DAYS    | window_months: M      (default 487 days)
 *   rule: "12/16"   (months, an alternative to the two above)
 *   usual_residence: a | b                  (default b)
 *   temporary_min_days: D (default 90)      first day counted as temporary
 *   link_documents: true | false (default true): join the travel documents of
 *     one person (same keyed name, given names, date of birth and sex) before
 *     the rule runs, so that a passport renewal or a second passport does
 *     not split a traveller
 *   initial_register: SOURCE (default none): a person source that is a
 *     population register extract (with registered_since); a traveller whose
 *     identity (keyed surname, given names, date of birth, sex) is in it is
 *     resident at the extract date, one whose identity is not is not
 *     resident (STANDARDS.md §4 rule 1); without it the status is inferred
 *     from the first crossing
 *   initial_date: YYYY-MM-DD: the extract's date (default: its latest
 *     registered_since)
 * Register events (REG_IN / DEREG_OUT with a country) of the same identity
 * within 183 days of a border migration event give that event its previous
 * (arrivals) or next (departures) country of residence.
 * Months are converted to days as floor(M * 365.25 / 12): 12 → 365, 16 → 487,
 * 9 → 273. */
typedef struct nmdi_derive_params {
    nmdi_residence_rule rule; /* cutoff: NMDI_DATE_NONE = per source, the last date */
    char usual_residence;     /* 'a' or 'b'                                         */
    nmdi_events_opts events;
    const char *country;      /* the reporting country's code (config country.code)  */
    int link_documents;       /* join travel documents of one person (default 1)     */
    const char *initial_register; /* source id of a register extract, or NULL        */
    nmdi_date initial_date;   /* its date (NMDI_DATE_NONE: latest registered_since)  */
} nmdi_derive_params;

/* Defaults, then the config's residence section (cfg may be NULL). Errors
 * name the file, line and key. */
int nmdi_derive_params_load(const nmdi_config *cfg, nmdi_derive_params *p, nmdi_error *err);

#define NMDI_DERIVE_YEAR0 1900
#define NMDI_DERIVE_NYEARS 301 /* years 1900..2200; others are counted in year 0 */

typedef struct nmdi_derive_summary {
    nmdi_date cutoff;                   /* the data cut-off of the border data      */
    uint64_t crossings_in, crossings_out, travellers;
    uint64_t documents;                 /* distinct travel documents (0: not linked) */
    uint64_t errors[5];                 /* crossings by NMDI_RES_* code            */
    uint64_t provisional_crossings;
    /* migration events by type (NMDI_EV_*, index 1..4) and year */
    uint64_t events[5][NMDI_DERIVE_NYEARS];
    uint64_t events_prov[5][NMDI_DERIVE_NYEARS];
    uint64_t returning, circular, circular_temporary;
    uint64_t register_in, register_rows;
    uint64_t reg[3][NMDI_DERIVE_NYEARS];       /* NMDI_REG_IN / NMDI_REG_OUT by year */
    uint64_t reg_prov[3][NMDI_DERIVE_NYEARS];
    uint64_t permits_in, first_permits;
    uint64_t permits_by_reason[5];             /* FAM, EDU, REM, OTH, other/unknown */
    int border_sources, register_sources, permit_sources;
    int64_t version[4];  /* versions written: crossing_residence, migration_events,
                            register_flows, first_permits (0 = not written)      */
    double seconds;
    /* initial status from the register extract: travellers found in it, not
     * found, and without a complete identity (status inferred) */
    uint64_t initial_registered, initial_unregistered, initial_inferred;
    nmdi_date initial_date;             /* the extract's date (NONE: not used)        */
    uint64_t events_with_residence;     /* border IMM/EMI with previous/next residence */
} nmdi_derive_summary;

/* Run the stage on the infrastructure dir. as_of: the data cut-off, or
 * NMDI_DATE_NONE for the last crossing date of each border source (the last
 * event date of each register source). The summary is filled on success. */
int nmdi_derive_dir(const nmdi_ctx *ctx, const char *dir, nmdi_date as_of,
                    nmdi_derive_summary *sum, nmdi_error *err);

#ifdef __cplusplus
}
#endif
#endif
