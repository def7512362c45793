/*
 * nmdi/derive.h — who migrated: residence rules over border crossings (the
 * Statistics New Zealand 12/16-month rule and its variants), migration events
 * derived from classified crossings (long-term immigration and emigration,
 * temporary mobility, returning citizens, circular migrants), migratory status
 * from census and survey variables, first residence permits and register events.
 *
 * Every function here works on plain in-memory arrays, so that the standalone
 * commands (CSV files) and the pipeline (the store, partition by partition)
 * call the same code. The methods, parameters and choices are documented in
 * docs/methods-derive.md; the rules themselves are STANDARDS.md §1, §2, §4, §5.
 *
 * Ownership: the caller owns every input and output array; no function keeps
 * a pointer after it returns. Functions that allocate (the drivers) free
 * everything before returning.
 *
 * Threading: every function is reentrant; nmdi_residence_run() itself runs
 * persons in parallel on ctx->nthreads threads (nmdi_pool_run), each thread
 * writing only the output rows of its own persons.
 */
#ifndef NMDI_DERIVE_H
#define NMDI_DERIVE_H

#include "nmdi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ====================================================================== *
 * Residence rule over border crossings (STANDARDS.md §4)                 *
 * ====================================================================== */

/* Directions of a crossing. Anything else is an unknown direction. */
enum { NMDI_DEPARTURE = 0, NMDI_ARRIVAL = 1, NMDI_DIR_UNKNOWN = 2 };

/* Per-crossing error codes (the `error` column of `nmdi residence`). */
enum {
    NMDI_RES_OK = 0,
    NMDI_RES_ESAMEDIR = 2, /* same direction as the previous valid crossing */
    NMDI_RES_EDIR = 3,     /* unknown direction                              */
    NMDI_RES_EDATE = 4     /* invalid or missing date                        */
};

/* The rule: a person is a long-term migrant when (s)he spends `threshold`
 * days (Tm) of the `window` days (Tw) after a crossing on the other side of
 * the border. Tn = Tw - Tm, Ts = 2 Tn. `cutoff` is the data cut-off date:
 * it decides a lone crossing (rule 6) and which results are provisional;
 * NMDI_DATE_NONE means "no data after anything": every result provisional
 * and lone migrating crossings never confirmed. */
typedef struct nmdi_residence_rule {
    int threshold;    /* Tm, days (default 365) */
    int window;       /* Tw, days (default 487) */
    nmdi_date cutoff; /* data cut-off           */
} nmdi_residence_rule;

/* The classification of one crossing. Residence is 1 resident, 0 not
 * resident, -1 unknown (only for a person without any valid crossing and
 * without initial status). Dates are NMDI_DATE_NONE when unknown (a crossing
 * with an invalid date). */
typedef struct nmdi_residence_result {
    nmdi_date fb;        /* date residence-before became final (Fb)   */
    nmdi_date fa;        /* date residence-after became final (Fa)    */
    nmdi_date fm;        /* date the migration flag became final (Fm) */
    int8_t rb;           /* resident before the crossing (Rb)         */
    int8_t ra;           /* resident after the crossing (Ra)          */
    uint8_t ltm;         /* 1: a long-term migration                  */
    uint8_t provisional; /* 1: Fa or Fm is after the cut-off          */
    uint8_t error;       /* NMDI_RES_* code, 0 when valid             */
} nmdi_residence_result;

/* Fill the 12/16-month defaults: threshold 365, window 487, no cut-off. */
void nmdi_residence_rule_default(nmdi_residence_rule *r);
/* 0 when 1 <= threshold <= window <= 36600, else NMDI_EDATA with a message. */
int nmdi_residence_rule_check(const nmdi_residence_rule *r, nmdi_error *err);

/* Parse a direction: arrival/A/1 -> NMDI_ARRIVAL, departure/D/0 ->
 * NMDI_DEPARTURE (letters in any case, surrounding spaces ignored), anything
 * else NMDI_DIR_UNKNOWN. */
int nmdi_residence_parse_direction(const char *s, size_t len);

/* Classify the n crossings of ONE person. Crossings must be in time order:
 * valid dates non-decreasing, ties in input order; crossings with an invalid
 * date (NMDI_DATE_NONE) may stand anywhere and are transparent (the driver
 * puts them last). dir[i] is NMDI_ARRIVAL or NMDI_DEPARTURE (else error 3).
 * flag may be NULL; a non-zero flag[i] marks crossing i as an error with
 * that code before any rule runs. initial is the known residence status
 * (0/1) at initial_date, or -1 when none (initial_date NMDI_DATE_NONE with a
 * status means "known since always"). Writes out[0..n-1]; no allocation. */
void nmdi_residence_classify(const nmdi_residence_rule *r, size_t n, const nmdi_date *date,
                             const uint8_t *dir, const uint8_t *flag, int initial,
                             nmdi_date initial_date, nmdi_residence_result *out);

/* Crossings of many persons in any order (e.g. a whole file). */
typedef struct nmdi_residence_input {
    size_t n;                  /* crossings                                   */
    const uint32_t *person;    /* n person indexes in [0, npersons)           */
    const nmdi_date *date;     /* n dates (NMDI_DATE_NONE when invalid)       */
    const uint8_t *dir;        /* n directions                                */
    const uint8_t *flag;       /* n pre-set error codes, or NULL              */
    size_t npersons;
    const int8_t *initial;     /* npersons statuses (-1 none), or NULL        */
    const nmdi_date *initial_date; /* npersons dates, or NULL                 */
} nmdi_residence_input;

/* Sort crossings by (person, date, input order), classify every person,
 * running persons partition by partition on ctx's thread pool, and write
 * out[i] for input crossing i (so the output is in input order). */
int nmdi_residence_run(const nmdi_ctx *ctx, const nmdi_residence_rule *r,
                       const nmdi_residence_input *in, nmdi_residence_result *out,
                       nmdi_error *err);

#ifdef __cplusplus
}
#endif
#endif
