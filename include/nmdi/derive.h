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


/* ====================================================================== *
 * Migration events from classified crossings (STANDARDS.md §1)           *
 * ====================================================================== */

/* Event types; nmdi_event_code() gives the CL_FLOW code. */
enum {
    NMDI_EV_IMMIGRATION = 1, /* long-term immigration (LTM arrival)          "IMM" */
    NMDI_EV_EMIGRATION = 2,  /* long-term emigration (LTM departure)         "EMI" */
    NMDI_EV_TEMP_IN = 3,     /* temporary mobility in: non-resident staying
                                temp_min..temp_max days                      "TMP_IN" */
    NMDI_EV_TEMP_OUT = 4     /* temporary mobility out: resident abroad
                                temp_min..temp_max days                      "TMP_OUT" */
};

typedef struct nmdi_events_opts {
    int temp_min; /* shortest temporary stay, days (default 90 = 3 months)       */
    int temp_max; /* temporary stays are shorter than this (default 365)          */
} nmdi_events_opts;

typedef struct nmdi_migration_event {
    nmdi_date date;            /* the crossing's date (the event's date)          */
    int32_t duration;          /* days to the person's next valid crossing, or -1
                                  when the stay is still open                     */
    uint32_t crossing;         /* index of the crossing in the person's arrays    */
    uint8_t type;              /* NMDI_EV_*                                       */
    uint8_t returning_citizen; /* immigration of a citizen of the country         */
    uint8_t provisional;       /* the crossing's classification is provisional    */
} nmdi_migration_event;

void nmdi_events_opts_default(nmdi_events_opts *o);

/* Residence of ONE person at the end of day ref, from crossings classified
 * by nmdi_residence_classify() (same arrays, same order): Ra of the last
 * crossing dated on or before ref, or Rb of the first dated crossing when
 * ref is before them all. Returns 1 resident, 0 not, -1 unknown (no dated
 * crossing). *final_date (may be NULL) receives the date that status became
 * final (Fa, or Fb of the first crossing): the status is provisional when it
 * is after the data cut-off. Stocks at a reference date count these. */
int nmdi_residence_at(size_t n, const nmdi_date *date, const nmdi_residence_result *res,
                      nmdi_date ref, nmdi_date *final_date);
/* "IMM", "EMI", "TMP_IN", "TMP_OUT" (CL_FLOW), "RET" for a returning citizen's
 * immigration when returning is set, "_U" otherwise. */
const char *nmdi_event_code(int type, int returning);

/* Migration events of ONE person from crossings classified by
 * nmdi_residence_classify() (same arrays, same order). citizen: 1 when the
 * person is a citizen of the reporting country, 0 not, -1 unknown. At most
 * one event per crossing: ev must hold n. Returns the number written. */
size_t nmdi_derive_events(const nmdi_events_opts *o, size_t n, const nmdi_date *date,
                          const uint8_t *dir, const nmdi_residence_result *res, int citizen,
                          nmdi_migration_event *ev);

/* Circular migrants (UNECE 2016): at least min_crossings crossings, within a
 * 10-year window, each followed by a stay (abroad or in the country) of at
 * least long_stay days (circular) or short_stay days (temporary circular).
 * Fixed window (default): the window_days ending at ref; sliding: any window
 * of window_days ending on or before ref. Only crossings on or before ref
 * count, and a stay is measured up to ref at most. */
typedef struct nmdi_circular_opts {
    nmdi_date ref;     /* reference date                                   */
    int window_days;   /* default 3652 (10 years)                          */
    int long_stay;     /* default 365 (12 months)                          */
    int short_stay;    /* default 90                                       */
    int min_crossings; /* default 3                                        */
    int sliding;       /* 0 fixed window ending at ref (default), 1 sliding */
} nmdi_circular_opts;

void nmdi_circular_opts_default(nmdi_circular_opts *o, nmdi_date ref);
/* For ONE person's crossings in time order; res may be NULL (all valid),
 * else crossings with res[i].error are ignored. A crossing counts when the
 * stay after it (up to ref) AND the stay before it (since the previous valid
 * crossing; the first crossing's is unknown and taken as long enough) are
 * both at least long_stay (circular) or short_stay (temporary circular): a
 * resident's return from a short trip followed by a long stay at home is
 * not a move. Sets *circular and *temp_circular to 0/1 (a circular migrant
 * is also temporary circular). */
void nmdi_derive_circular(const nmdi_circular_opts *o, size_t n, const nmdi_date *date,
                          const nmdi_residence_result *res, int *circular, int *temp_circular);

/* ====================================================================== *
 * Migratory status from census and survey variables (STANDARDS.md §2-3)  *
 * ====================================================================== */

/* Country codes are ISO 3166-1 alpha-2, alpha-3 or numeric (compared through
 * the codes module, so "NZ", "NZL" and "554" are one country; other codes are
 * compared as text, case-insensitively). NULL, "", "_U" are unknown;
 * "STLS", "XXA" (ICAO) or "_STLS" as a citizenship mean stateless. */
typedef struct nmdi_person_origin {
    const char *country;        /* the reporting country                      */
    const char *birth;          /* country of birth                           */
    const char *citizenship;    /* citizenship                                */
    const char *citizenship2;   /* second citizenship, or NULL                */
    const char *mother_birth;   /* country of birth of the mother             */
    const char *father_birth;   /* country of birth of the father             */
    const char *residence_1y;   /* country of residence 1 year before ref     */
    const char *residence_5y;   /* country of residence 5 years before ref    */
    int arrival_year;           /* year of (most recent) arrival, 0 unknown   */
    int arrival_month;          /* its month 1-12, 0 unknown                  */
    nmdi_date ref;              /* reference date (census day)                */
} nmdi_person_origin;

/* Flags are 1 yes, 0 no, -1 unknown. */
typedef struct nmdi_migratory_status {
    const char *status;       /* CL_MIGRATORY_STATUS: NB_CIT, NB_NCIT, FB_CIT, FB_NCIT, _U */
    const char *citgroup;     /* CL_CITIZENSHIP_GROUP: NAT, FOR, STLS, _U              */
    int8_t foreign_born;
    int8_t non_citizen;       /* not a citizen, stateless included                    */
    int8_t second_generation; /* native-born with at least one foreign-born parent;
                                 0 for the foreign-born                               */
    int8_t recent_1y;         /* arrived within 1 year before ref                     */
    int8_t recent_5y;         /* arrived within 5 years before ref                    */
    int8_t abroad_1y;         /* lived abroad 1 year before ref                       */
    int8_t abroad_5y;         /* lived abroad 5 years before ref                      */
    int8_t returning_1y;      /* citizen who lived abroad 1 year before ref           */
    int16_t duration;         /* completed years since arrival, -1 unknown or never
                                 arrived                                              */
} nmdi_migratory_status;

void nmdi_derive_migratory_status(const nmdi_person_origin *in, nmdi_migratory_status *out);

/* ====================================================================== *
 * Residence permits (STANDARDS.md §5) and register events                *
 * ====================================================================== */

enum {
    NMDI_PERMIT_FIRST = 1,   /* no previous permit, or a gap of >= 6 months        */
    NMDI_PERMIT_RENEWAL = 2, /* gap < 6 months, same reason                        */
    NMDI_PERMIT_CHANGE = 3,  /* gap < 6 months, another reason (change of status)  */
    NMDI_PERMIT_SHORT = 4    /* valid less than 3 months: not a residence permit   */
};

typedef struct nmdi_permit_opts {
    int gap_months;      /* default 6                                            */
    int min_months;      /* default 3: shorter permits are NMDI_PERMIT_SHORT     */
    int same_reason_gap; /* 1: only a previous permit of the same reason counts
                            for the gap (default 0: any previous permit)         */
} nmdi_permit_opts;

void nmdi_permit_opts_default(nmdi_permit_opts *o);
/* Classify ONE person's n permits, sorted by valid_from (ties in input
 * order). valid_to is the last valid day, NMDI_DATE_NONE when open-ended;
 * reason is any small integer code (e.g. family, education, work, other).
 * Writes kind[i] = NMDI_PERMIT_*. Returns the number of first permits. */
size_t nmdi_derive_permits(const nmdi_permit_opts *o, size_t n, const nmdi_date *valid_from,
                           const nmdi_date *valid_to, const uint8_t *reason, uint8_t *kind);

/* Date plus whole months, the day clamped to the end of a shorter month. */
nmdi_date nmdi_derive_add_months(nmdi_date d, int months);

enum { NMDI_REG_IN = 1, NMDI_REG_OUT = 2, NMDI_REG_OTHER = 0 };

/* Days of stay that make a usual resident: option 'a' (most of the last 12
 * months: 6 months and 1 day = 183 days) or 'b' (12 months = 365 days);
 * -1 for another option. */
int nmdi_usual_residence_days(char option);

/* Register events of ONE person, sorted by date: NMDI_REG_IN registration
 * from abroad, NMDI_REG_OUT deregistration to abroad, anything else
 * ignored. A registration is counted as an immigration when the person is
 * not deregistered to abroad within min_stay days; a deregistration as an
 * emigration when the person does not register again from abroad within
 * min_stay days (min_stay 0 counts every event). When the data end (cutoff)
 * before the stay is complete, the event is counted and provisional.
 * counted[i], provisional[i] are 0/1 (0 for other events). */
void nmdi_derive_register(int min_stay, nmdi_date cutoff, size_t n, const nmdi_date *date,
                          const uint8_t *event, uint8_t *counted, uint8_t *provisional);


/* ====================================================================== *
 * Crossings synthesised from mobile-phone presence                       *
 * ====================================================================== */

/* Turn ONE subscriber's daily presence observations into crossings for
 * nmdi_residence_classify(): day[i] (in time order; repeated days allowed,
 * the day's last observation decides) with in_country[i] 1 when observed in
 * the country, 0 when observed abroad (roaming). The side carries forward
 * over days without observations; each change of side is a crossing dated
 * at the first day observed on the new side (an arrival when it is the
 * country). The first day is no crossing: its side is returned in
 * *first_side (1 in the country, 0 abroad, -1 when n = 0); whether that
 * makes the subscriber resident at the start is the caller's choice (the
 * initial status of the classifier). Writes at most n - 1 crossings into
 * date/dir; returns their number. */
size_t nmdi_presence_crossings(size_t n, const nmdi_date *day, const uint8_t *in_country,
                               nmdi_date *date, uint8_t *dir, int *first_side);

#ifdef __cplusplus
}
#endif
#endif
