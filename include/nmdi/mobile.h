/*
 * nmdi/mobile.h — mobile-phone presence as a migration source (DESIGN.md §4,
 * issue "new data sources"): daily presence records of subscribers, already
 * pseudonymised at ingest, turned into aggregates only.
 *
 * Derivations (docs/methods-mobile.md):
 * - inbound roamers (foreign SIMs seen here): presence spells become
 *   synthetic arrivals and departures (a silence of more than `gap_days`
 *   ends a spell), classified by the same residence engine as border
 *   crossings (nmdi_residence_classify, initial status non-resident): days
 *   present per subscriber and month; short visit (< 90 days in the spell),
 *   temporary stay (90 days to < 12 months), long-term presence (the
 *   threshold/window rule says "migration"); a spell already under way
 *   when the data begin (first day within gap_days of the first day of
 *   data) is left-censored: it counts as presence, never as a start;
 * - domestic subscribers seen abroad (outbound roaming; area = visited
 *   country): absence spells classified by the same engine with initial
 *   status resident; a long-term migration is an emigration signal, by
 *   visited country;
 * - internal mobility: home area per month = the area with the most days
 *   of presence in the month (ties: the lowest area code), moves between the
 *   home areas of consecutive months, origin–destination matrices.
 * Biases handled: machine SIMs (seen on 90 % of the days of 60+ days in one area
 * and never elsewhere: excluded and counted), operator market share (counts
 * divided by it: "scaled" values), several SIMs per person and switching to
 * a local SIM (documented, not correctable without other sources; the
 * comparison with border-based estimates shows their size).
 *
 * Privacy: only aggregates leave this module; every cell with fewer
 * subscribers than `min_subscribers` (default 15) is redacted before it is
 * returned (value missing, CONF_STATUS "C"), and the published tables go
 * through the cell key method like every other table.
 *
 * Ownership: inputs are borrowed; the cubes returned are owned by the caller
 * (nmdi_cube_free). Reentrant.
 */
#ifndef NMDI_MOBILE_H
#define NMDI_MOBILE_H

#include "nmdi/cube.h"
#include "nmdi/derive.h"

#include <pthread.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmdi_mobile_params {
    nmdi_residence_rule rule;   /* threshold/window as for border crossings  */
    int gap_days;               /* silence that ends a spell (default 7)      */
    int min_subscribers;        /* redaction threshold (default 15)           */
    double market_share;        /* operator's share of the population (0..1]  */
    const char *home_country;   /* the country's own code (alpha-3)           */
    /* nmdi_mobile_run_file only: */
    const char *tmpdir;         /* partition files (NULL: $TMPDIR or /tmp)    */
    size_t partition_records;   /* records per partition (0: 2^21)            */
} nmdi_mobile_params;

void nmdi_mobile_params_default(nmdi_mobile_params *p);

/* Presence records (any order). Codes are strings: area = subdivision code,
 * or the visited country's alpha-3 when roaming abroad; home = home network
 * country alpha-3 (from the MCC table at ingest). roaming: 0 domestic SIM
 * at home, 1 inbound (foreign SIM here), 2 outbound (domestic SIM abroad). */
typedef struct nmdi_mobile_input {
    size_t n;
    const uint64_t *subscriber;  /* pseudonymised subscriber keys           */
    const nmdi_date *day;
    const char *const *area;
    const char *const *home;
    const uint8_t *roaming;
} nmdi_mobile_input;

typedef struct nmdi_mobile_result {
    nmdi_cube *inbound;   /* TIME_PERIOD (YYYY-MM), HOME_COUNTRY (+ _T), PRESENCE_TYPE    */
    nmdi_cube *outbound;  /* TIME_PERIOD (YYYY-MM), VISITED_COUNTRY (+ _T), ABSENCE_TYPE  */
    nmdi_cube *internal;  /* TIME_PERIOD (YYYY-MM), ORIGIN_AREA, DESTINATION_AREA          */
    nmdi_cube *longterm;  /* TIME_PERIOD (YYYY), FLOW (IMM/EMI), COUNTERPART_AREA (+ _T):
                             long-term presence starts and emigration signals per year;
                             OBS_STATUS P when a subscriber's classification is provisional */
    uint64_t subscribers, machines, records, redacted;
} nmdi_mobile_result;

enum { NMDI_MOBILE_DOMESTIC = 0, NMDI_MOBILE_INBOUND = 1, NMDI_MOBILE_OUTBOUND = 2 };

/* The whole derivation over records in memory. */
int nmdi_mobile_run(const nmdi_ctx *ctx, const nmdi_mobile_params *p,
                    const nmdi_mobile_input *in, nmdi_mobile_result *out, nmdi_error *err);
void nmdi_mobile_result_free(nmdi_mobile_result *r);
/* 0, or NMDI_EDATA for a market share outside (0,1] or a bad rule. */
int nmdi_mobile_check(const nmdi_mobile_params *p, nmdi_error *err);

/* The derivation in steps, for records split by subscriber (every record of
 * a subscriber in the same part): one accumulator per part, filled with
 * nmdi_mobile_acc_add (dmin/dmax = the first/last day of the WHOLE data), merged, and
 * finished into the cubes. Counts and cell keys are integers, so the result
 * does not depend on the partitioning or the order of merging. An
 * accumulator is used by one thread at a time. */
typedef struct nmdi_mobile_acc nmdi_mobile_acc;
nmdi_mobile_acc *nmdi_mobile_acc_new(void); /* NULL on OOM */
void nmdi_mobile_acc_free(nmdi_mobile_acc *acc);
int nmdi_mobile_acc_add(nmdi_mobile_acc *acc, const nmdi_mobile_params *p,
                        const nmdi_mobile_input *in, nmdi_date dmin, nmdi_date dmax,
                        nmdi_error *err);
int nmdi_mobile_acc_merge(nmdi_mobile_acc *dst, const nmdi_mobile_acc *src, nmdi_error *err);
int nmdi_mobile_acc_finish(nmdi_mobile_acc *acc, const nmdi_mobile_params *p,
                           nmdi_mobile_result *out, nmdi_error *err);

/* Column buffers of one part's records, filled by a partition worker (the
 * strings are the worker's). alloc: 0, or NMDI_EINTERNAL with all freed. */
typedef struct nmdi_mobile_cols {
    uint64_t *sub;
    nmdi_date *day;
    const char **area, **home;
    uint8_t *roam;
} nmdi_mobile_cols;
int nmdi_mobile_cols_alloc(nmdi_mobile_cols *c, size_t n);
void nmdi_mobile_cols_free(nmdi_mobile_cols *c);
/* The end of every partition worker: the first n records of c are derived
 * into a fresh accumulator, c is freed (before the merge, to keep the peak
 * low), and the accumulator is merged into total while holding lock. */
int nmdi_mobile_add_part(nmdi_mobile_acc *total, pthread_mutex_t *lock, const nmdi_mobile_params *p,
                         nmdi_mobile_cols *c, size_t n, nmdi_date dmin, nmdi_date dmax,
                         nmdi_error *err);

/* ---- presence files -------------------------------------------------------
 * Two CSV layouts are read (column names in any case): the plain one of
 * `nmdi mobile` (subscriber, date, area, home_country, roaming) and the
 * operator delivery (SUBSCRIBER, DAY, AREA, MCC_HOME, ROAM, VISITED_MCC),
 * whose mobile country codes are mapped to alpha-3 by the MCC table and
 * whose operator areas are mapped to subdivisions by the area table.
 * Subscriber keys are hashed as they are read. A bad record (no subscriber,
 * bad date, bad roaming flag) is counted and left out; the first
 * NMDI_MOBILE_MAX_MESSAGES are described ("FILE:LINE: field 'x': ..."). */
typedef struct nmdi_mobile_maps nmdi_mobile_maps;
/* mcc_csv: mcc,iso3[,...] (data/mcc.csv); areas_csv: operator area,
 * subdivision. Either may be NULL. */
int nmdi_mobile_maps_load(nmdi_mobile_maps **out, const char *mcc_csv, const char *areas_csv,
                          nmdi_error *err);
void nmdi_mobile_maps_free(nmdi_mobile_maps *m);

#define NMDI_MOBILE_MAX_MESSAGES 10
typedef struct nmdi_mobile_file_stats {
    uint64_t read, rejected;
    char message[NMDI_MOBILE_MAX_MESSAGES][256];
} nmdi_mobile_file_stats;

/* One record to a sink; strings valid during the call only. Non-zero stops. */
typedef int (*nmdi_mobile_sink_fn)(void *arg, uint64_t subscriber, nmdi_date day,
                                   const char *area, const char *home, uint8_t roaming,
                                   nmdi_error *err);
int nmdi_mobile_read_csv(const char *path, const nmdi_mobile_maps *maps, nmdi_mobile_sink_fn fn,
                         void *arg, nmdi_mobile_file_stats *st, nmdi_error *err);
/* nmdi_mobile_run over the records of a presence file (maps may be NULL),
 * memory-bounded: a first pass hashes each subscriber to one of
 * ceil(records / p->partition_records) partitions and appends its records,
 * typed (21 bytes each), to a temporary file per partition in a private
 * directory under p->tmpdir; the partitions are then derived one by one on
 * ctx's thread pool (each read back, processed and deleted) and merged.
 * Memory: about 40 bytes per record of one partition per thread, plus the
 * cells. The results are identical to nmdi_mobile_run on the same records. */
int nmdi_mobile_run_file(const nmdi_ctx *ctx, const nmdi_mobile_params *p, const char *path,
                         const nmdi_mobile_maps *maps, nmdi_mobile_result *out,
                         nmdi_mobile_file_stats *st, nmdi_error *err);

/* ---- comparison with the truth of a synthetic country ---------------------
 * DIR is the output of `nmdi synth` (truth/, sources/, synth.json) or an
 * infrastructure whose incoming/ holds it (the demo). The presence file
 * DIR/sources/mobile_presence.csv is derived (MCC table + the operator's
 * area table), and set against the truth (truth/events.csv, spells.csv,
 * persons.csv) and, for an infrastructure after `nmdi estimate`, against the
 * border-based flows (work/estimates/MIG_FLOW.csv). Indicators (one row per
 * period and country, "_T" = all):
 *   IMM_FOREIGN  year: long-term presence starts of foreign SIMs / long-term
 *                immigrations of foreigners / border IMM of foreigners
 *   EMI_CITIZEN  year: emigration signals of domestic SIMs / long-term
 *                emigrations of citizens / border EMI of citizens
 *   EMI_ALL      year: the same signals / emigrations of everyone / border EMI
 *   RESIDENTS    month: domestic SIMs with a home area in the month and the
 *                previous one / residents aged 10+ present mid-month
 *   MOVES        month: domestic SIMs whose home area changed / internal
 *                moves of the truth (the synthetic country has none: 0)
 * mobile = distinct subscribers (mobile_n) / market share; rows whose
 * mobile_n is under min_subscribers are redacted (mobile_n -1, mobile NaN). */
typedef struct nmdi_mobile_cmp_row {
    char indicator[16], period[8], country[8];
    int64_t mobile_n;   /* subscribers; -1 when redacted                     */
    int64_t mobile_prov;/* of which classified provisionally (data end)     */
    double mobile;      /* mobile_n / market share; NaN when redacted        */
    double truth;       /* NaN when the truth has no such figure             */
    double border;      /* NaN when no border-based estimate is available    */
} nmdi_mobile_cmp_row;

typedef struct nmdi_mobile_comparison {
    size_t n;
    nmdi_mobile_cmp_row *rows;
    double market_share;
    int min_subscribers;
    int has_border;
    char data_from[11], data_to[11];
    uint64_t records, subscribers, machines, rejected, persons;
} nmdi_mobile_comparison;

/* p: derivation parameters; p->market_share <= 0 takes synth.json's
 * mobile_share. mcc_csv: the MCC table. */
int nmdi_mobile_compare(const nmdi_ctx *ctx, const nmdi_mobile_params *p, const char *dir,
                        const char *mcc_csv, nmdi_mobile_comparison **out, nmdi_error *err);
/* Text table (json 0) or a JSON object (json 1). */
int nmdi_mobile_compare_write(const nmdi_mobile_comparison *c, FILE *f, int json);
void nmdi_mobile_compare_free(nmdi_mobile_comparison *c);

#ifdef __cplusplus
}
#endif
#endif
