/*
 * permits.c — first residence permits by the gap rule of Regulation (EC)
 * 862/2007 (STANDARDS.md §5: a permit valid at least 3 months is a first
 * permit when the gap to the previous one is at least 6 months), and
 * immigration/emigration events from a population register, counted only
 * when the stay lasts the usual-residence duration (option a or b).
 */
#include "nmdi/derive.h"

nmdi_date nmdi_derive_add_months(nmdi_date d, int months)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, dd;
    nmdi_date_to_ymd(d, &y, &m, &dd);
    long t = (long)y * 12 + (m - 1) + months;
    y = (int)(t >= 0 ? t / 12 : (t - 11) / 12);
    m = (int)(t - (long)y * 12) + 1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int max = mdays[m - 1] + (m == 2 && leap);
    return nmdi_date_from_ymd(y, m, dd > max ? max : dd);
}

void nmdi_permit_opts_default(nmdi_permit_opts *o)
{
    o->gap_months = 6;
    o->min_months = 3;
    o->same_reason_gap = 0;
}

size_t nmdi_derive_permits(const nmdi_permit_opts *o, size_t n, const nmdi_date *valid_from,
                           const nmdi_date *valid_to, const uint8_t *reason, uint8_t *kind)
{
    size_t first = 0;
    for (size_t i = 0; i < n; i++) {
        /* valid at least min_months: from 2020-01-01 to 2020-03-31 is 3 months */
        if (valid_to[i] != NMDI_DATE_NONE &&
            valid_to[i] < nmdi_derive_add_months(valid_from[i], o->min_months) - 1) {
            kind[i] = NMDI_PERMIT_SHORT;
            continue;
        }
        /* the latest end among earlier residence permits (open-ended = forever) */
        int have = 0, open = 0;
        nmdi_date end = 0;
        uint8_t end_reason = 0;
        for (size_t j = 0; j < i; j++) {
            if (kind[j] == NMDI_PERMIT_SHORT || (o->same_reason_gap && reason[j] != reason[i]))
                continue;
            if (valid_to[j] == NMDI_DATE_NONE) {
                open = have = 1;
                end_reason = reason[j];
            } else if (!open && (!have || valid_to[j] >= end)) {
                end = valid_to[j];
                end_reason = reason[j];
                have = 1;
            }
        }
        /* a gap of gap_months: the days from end + 1 to valid_from - 1 */
        if (!have || (!open && valid_from[i] >= nmdi_derive_add_months(end + 1, o->gap_months))) {
            kind[i] = NMDI_PERMIT_FIRST;
            first++;
        } else {
            kind[i] = end_reason == reason[i] ? NMDI_PERMIT_RENEWAL : NMDI_PERMIT_CHANGE;
        }
    }
    return first;
}

int nmdi_usual_residence_days(char option)
{
    return option == 'a' || option == 'A' ? 183 : option == 'b' || option == 'B' ? 365 : -1;
}

void nmdi_derive_register(int min_stay, nmdi_date cutoff, size_t n, const nmdi_date *date,
                          const uint8_t *event, uint8_t *counted, uint8_t *provisional)
{
    for (size_t i = 0; i < n; i++) {
        counted[i] = provisional[i] = 0;
        if (event[i] != NMDI_REG_IN && event[i] != NMDI_REG_OUT)
            continue;
        uint8_t opposite = event[i] == NMDI_REG_IN ? NMDI_REG_OUT : NMDI_REG_IN;
        size_t j = i + 1;
        while (j < n && event[j] != opposite)
            j++;
        int64_t limit = (int64_t)date[i] + min_stay;
        if (j < n) {
            counted[i] = (uint8_t)(min_stay <= 0 || date[j] >= limit);
        } else {
            counted[i] = 1;
            provisional[i] =
                (uint8_t)(min_stay > 0 && (cutoff == NMDI_DATE_NONE || cutoff < limit));
        }
    }
}
