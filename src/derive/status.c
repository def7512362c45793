/*
 * status.c — migratory status of a person from census and survey variables
 * (STANDARDS.md §2-3): native/foreign-born × citizen/non-citizen (stateless
 * included), citizenship group, second generation, recent arrival within 1
 * and 5 years, duration of stay, residence abroad 1 and 5 years before and
 * returning citizens. Country codes are matched through the codes module.
 */
#include "nmdi/codes.h"
#include "nmdi/derive.h"

#include <string.h>
#include <strings.h>

static int known(const char *c)
{
    return c && *c && strcmp(c, "_U") != 0 && strcmp(c, "_Z") != 0;
}

static int is_stateless(const char *c)
{
    return strcasecmp(c, "STLS") == 0 || strcasecmp(c, "XXA") == 0;
}

/* Same country? ISO alpha-2, alpha-3 and numeric codes of one country match. */
static int same_country(const char *a, const char *b)
{
    const nmdi_country *x = nmdi_country_find(a), *y = nmdi_country_find(b);
    if (x && y)
        return x == y;
    return strcasecmp(a, b) == 0;
}

/* 1 when c is known and another country than home, 0 when home, -1 unknown */
static int8_t abroad(const char *c, const char *home)
{
    if (!known(c) || !known(home))
        return -1;
    return (int8_t)!same_country(c, home);
}

void nmdi_derive_migratory_status(const nmdi_person_origin *in, nmdi_migratory_status *out)
{
    const char *home = in->country;
    out->foreign_born = abroad(in->birth, home);

    /* citizenship: a citizen when any citizenship is the country's (dual
     * citizens are citizens); a non-citizen when some citizenship is known
     * and none is the country's */
    int cit = -1, stateless = 0;
    const char *cs[2] = {in->citizenship, in->citizenship2};
    for (int k = 0; k < 2; k++) {
        if (!known(cs[k]) || !known(home))
            continue;
        if (is_stateless(cs[k])) {
            stateless = 1;
            if (cit < 0)
                cit = 0;
        } else if (same_country(cs[k], home)) {
            cit = 1;
        } else {
            if (cit < 0)
                cit = 0;
            stateless = -1; /* has a foreign citizenship: not stateless */
        }
    }
    out->non_citizen = (int8_t)(cit < 0 ? -1 : !cit);
    out->citgroup = cit < 0 ? "_U" : cit ? "NAT" : stateless == 1 ? "STLS" : "FOR";
    if (out->foreign_born < 0 || cit < 0)
        out->status = "_U";
    else if (!out->foreign_born)
        out->status = cit ? "NB_CIT" : "NB_NCIT";
    else
        out->status = cit ? "FB_CIT" : "FB_NCIT";

    /* second generation: native-born with at least one foreign-born parent */
    if (out->foreign_born != 0) {
        out->second_generation = (int8_t)(out->foreign_born == 1 ? 0 : -1);
    } else {
        int8_t m = abroad(in->mother_birth, home), f = abroad(in->father_birth, home);
        out->second_generation = (int8_t)(m == 1 || f == 1 ? 1 : m == 0 && f == 0 ? 0 : -1);
    }

    /* arrival: month granularity; an unknown month is taken as July (mid-year) */
    out->recent_1y = out->recent_5y = -1;
    out->duration = -1;
    if (in->arrival_year > 0 && in->ref != NMDI_DATE_NONE) {
        int ry, rm, rd;
        nmdi_date_to_ymd(in->ref, &ry, &rm, &rd);
        int am = in->arrival_month >= 1 && in->arrival_month <= 12 ? in->arrival_month : 7;
        long months = ((long)ry * 12 + rm) - ((long)in->arrival_year * 12 + am);
        if (months >= 0) {
            out->recent_1y = (int8_t)(months < 12);
            out->recent_5y = (int8_t)(months < 60);
            out->duration = (int16_t)(months / 12 > 32767 ? 32767 : months / 12);
        }
    } else if (in->arrival_year <= 0 && out->foreign_born == 0) {
        /* a native-born person without a year of arrival never lived abroad */
        out->recent_1y = out->recent_5y = 0;
    }

    out->abroad_1y = abroad(in->residence_1y, home);
    out->abroad_5y = abroad(in->residence_5y, home);
    if (cit == 0 || out->abroad_1y == 0)
        out->returning_1y = 0;
    else if (cit == 1 && out->abroad_1y == 1)
        out->returning_1y = 1;
    else
        out->returning_1y = -1;
}
