/*
 * nmdi/synth.h — the synthetic country generator ("Kernland", XKN): one
 * simulated true population followed over a number of years, and the files
 * its agencies would deliver about it (border crossings, census, labour force
 * survey, permits, students, population register, mobile presence), plus the
 * truth needed to evaluate every later stage. docs/synthetic-country.md is the
 * exact description of the model and of every output file.
 *
 * Ownership: nmdi_synth_run() owns everything it allocates and frees it
 * before returning; the caller owns opts and summary. Output is written into
 * opts->out (created when absent); every file is written to a temporary name
 * and renamed when complete.
 *
 * Threading: nmdi_synth_run() runs chunks of persons on ctx->nthreads threads
 * through nmdi_pool_run(); the output is byte-identical for the same options
 * whatever the number of threads. The functions are reentrant.
 */
#ifndef NMDI_SYNTH_H
#define NMDI_SYNTH_H

#include "nmdi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmdi_synth_opts {
    uint64_t persons;      /* persons in the universe (residents, movers, visitors) */
    int years;             /* length of the observation window (default 6)         */
    uint64_t seed;         /* same seed, same bytes                                 */
    int start_year;        /* window starts on 1 January of this year (2019)        */
    const char *like;      /* ISO alpha-3 destination whose origin mix is copied    */
    double census_sample;  /* fraction of households enumerated (1 = full count)    */
    double mobile_share;   /* fraction of persons who are the operator's subscribers */
    int mobile_days;       /* days of mobile presence at the end of the window      */
    const char *out;       /* output directory                                      */
} nmdi_synth_opts;

/* Defaults: 10,000 persons, 6 years, seed 1, start 2019, like "AUT", full
 * census, mobile share 0.02 over the last 730 days. */
void nmdi_synth_opts_init(nmdi_synth_opts *o);

#define NMDI_SYNTH_MAXFILES 24
typedef struct nmdi_synth_summary {
    size_t nfiles;
    char files[NMDI_SYNTH_MAXFILES][64]; /* path relative to the output directory */
    uint64_t rows[NMDI_SYNTH_MAXFILES];  /* data rows (header excluded)           */
    uint64_t bytes[NMDI_SYNTH_MAXFILES];
    double seconds;
} nmdi_synth_summary;

/* Generate the country into opts->out. Returns 0 or an nmdi_status with err. */
int nmdi_synth_run(const nmdi_ctx *ctx, const nmdi_synth_opts *opts, nmdi_synth_summary *sum,
                   nmdi_error *err);

/* Is the ISO alpha-3 code a destination of the bundled UN DESA origin data? */
int nmdi_synth_has_destination(const char *iso3);

/* ---- the truth's migration rule, exposed for tests -------------------------
 * Presence as segments: segment i starts on start[i] (ascending) and lasts
 * until start[i+1]-1; the last one is open. in[i] = 1 when in the country.
 * For every border crossing (i >= 1 where in[i] != in[i-1]) the rule of the
 * truth decides whether it is a long-term migration: a migrating-direction
 * crossing (departure while resident, arrival while not) is a migration when
 * at least threshold of the window days from the crossing on are spent on the
 * far side; days from end on (death; NMDI_DATE_NONE = never) do not count.
 * initially_resident gives the status before the first segment.
 * ltm[i] (i = segment index) receives 1 for a migration, 0 otherwise, and
 * resident_after[i] the status from segment i on. */
void nmdi_synth_classify(size_t nseg, const nmdi_date *start, const unsigned char *in,
                         nmdi_date end, int initially_resident, int window, int threshold,
                         unsigned char *ltm, unsigned char *resident_after);

#ifdef __cplusplus
}
#endif
#endif
