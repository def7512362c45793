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
 *   threshold/window rule says "migration");
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

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmdi_mobile_params {
    nmdi_residence_rule rule;   /* threshold/window as for border crossings  */
    int gap_days;               /* silence that ends a spell (default 7)      */
    int min_subscribers;        /* redaction threshold (default 15)           */
    double market_share;        /* operator's share of the population (0..1]  */
    const char *home_country;   /* the country's own code (alpha-3)           */
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
                             long-term presence starts and emigration signals per year   */
    uint64_t subscribers, machines, records, redacted;
} nmdi_mobile_result;

enum { NMDI_MOBILE_DOMESTIC = 0, NMDI_MOBILE_INBOUND = 1, NMDI_MOBILE_OUTBOUND = 2 };

int nmdi_mobile_run(const nmdi_ctx *ctx, const nmdi_mobile_params *p,
                    const nmdi_mobile_input *in, nmdi_mobile_result *out, nmdi_error *err);
void nmdi_mobile_result_free(nmdi_mobile_result *r);

#ifdef __cplusplus
}
#endif
#endif
