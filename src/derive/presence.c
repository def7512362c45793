/*
 * presence.c — crossings synthesised from mobile-phone presence: a change of
 * side between daily observations (in the country / roaming abroad) becomes
 * an arrival or a departure, so that the residence rule of residence.c runs
 * unchanged on network data (DESIGN.md §4, mobile presence).
 */
#include "nmdi/derive.h"

size_t nmdi_presence_crossings(size_t n, const nmdi_date *day, const uint8_t *in_country,
                               nmdi_date *date, uint8_t *dir, int *first_side)
{
    size_t k = 0;
    int side = -1;
    for (size_t i = 0; i < n; i++) {
        /* several observations on one day: the day's last one decides */
        if (i + 1 < n && day[i + 1] == day[i])
            continue;
        int s = in_country[i] ? 1 : 0;
        if (side < 0) {
            side = s;
            continue;
        }
        if (s != side) {
            date[k] = day[i];
            dir[k++] = s ? NMDI_ARRIVAL : NMDI_DEPARTURE;
            side = s;
        }
    }
    /* side of the first observed day */
    *first_side = -1;
    for (size_t i = 0; i < n; i++)
        if (i + 1 == n || day[i + 1] != day[i]) {
            *first_side = in_country[i] ? 1 : 0;
            break;
        }
    return k;
}
