/*
 * events.c — migration events from crossings classified by the residence
 * rule (long-term immigration and emigration dated at the crossing, returning
 * citizens, temporary mobility of 3-12 months), residence at a reference date
 * (for stocks) and circular migrants by the UNECE (2016) definition, for one
 * person at a time (STANDARDS.md §1).
 */
#include "nmdi/derive.h"

void nmdi_events_opts_default(nmdi_events_opts *o)
{
    o->temp_min = 90;
    o->temp_max = 365;
}

const char *nmdi_event_code(int type, int returning)
{
    switch (type) {
    case NMDI_EV_IMMIGRATION: return returning ? "RET" : "IMM";
    case NMDI_EV_EMIGRATION: return "EMI";
    case NMDI_EV_TEMP_IN: return "TMP_IN";
    case NMDI_EV_TEMP_OUT: return "TMP_OUT";
    default: return "_U";
    }
}

int nmdi_residence_at(size_t n, const nmdi_date *date, const nmdi_residence_result *res,
                      nmdi_date ref, nmdi_date *final_date)
{
    const nmdi_residence_result *last = NULL, *first = NULL;
    for (size_t i = 0; i < n; i++) {
        if (date[i] == NMDI_DATE_NONE)
            continue;
        if (!first)
            first = &res[i];
        if (date[i] > ref)
            break; /* in time order: the rest is later */
        last = &res[i];
    }
    const nmdi_residence_result *r = last ? last : first;
    if (final_date)
        *final_date = !r ? NMDI_DATE_NONE : last ? r->fa : r->fb;
    return !r ? -1 : last ? r->ra : r->rb;
}

static inline int valid(const nmdi_residence_result *res, size_t i)
{
    return !res || !res[i].error;
}

size_t nmdi_derive_events(const nmdi_events_opts *o, size_t n, const nmdi_date *date,
                          const uint8_t *dir, const nmdi_residence_result *res, int citizen,
                          nmdi_migration_event *ev)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const nmdi_residence_result *r = &res[i];
        if (r->error || r->rb < 0)
            continue;
        size_t nx = i + 1;
        while (nx < n && res[nx].error)
            nx++;
        int32_t dur = nx < n ? (int32_t)(date[nx] - date[i]) : -1;
        int arrival = dir[i] == NMDI_ARRIVAL;
        /* the migrating direction: a non-resident arriving, a resident leaving */
        int migrating = arrival ? r->rb == 0 : r->rb == 1;
        uint8_t type;
        if (r->ltm)
            type = arrival ? NMDI_EV_IMMIGRATION : NMDI_EV_EMIGRATION;
        else if (migrating && dur >= o->temp_min && dur < o->temp_max)
            type = arrival ? NMDI_EV_TEMP_IN : NMDI_EV_TEMP_OUT;
        else
            continue;
        nmdi_migration_event *e = &ev[k++];
        e->date = date[i];
        e->duration = dur;
        e->crossing = (uint32_t)i;
        e->type = type;
        e->returning_citizen = (uint8_t)(type == NMDI_EV_IMMIGRATION && citizen == 1);
        e->provisional = r->provisional;
    }
    return k;
}

void nmdi_circular_opts_default(nmdi_circular_opts *o, nmdi_date ref)
{
    o->ref = ref;
    o->window_days = 3652;
    o->long_stay = 365;
    o->short_stay = 90;
    o->min_crossings = 3;
    o->sliding = 0;
}

/* Push a qualifying date into a ring of the last m; 1 when the last m
 * qualifying crossings lie within window days (a sliding window holds them). */
static int push(nmdi_date *ring, size_t *count, size_t m, nmdi_date d, int window)
{
    ring[(*count)++ % m] = d;
    return *count >= m && (int64_t)d - ring[*count % m] < window;
}

void nmdi_derive_circular(const nmdi_circular_opts *o, size_t n, const nmdi_date *date,
                          const nmdi_residence_result *res, int *circular, int *temp_circular)
{
    size_t m = o->min_crossings > 0 ? (size_t)o->min_crossings : 1;
    if (m > 64)
        m = 64;
    nmdi_date ring_l[64], ring_s[64];
    size_t nl = 0, ns = 0, in_l = 0, in_s = 0;
    int slide_l = 0, slide_s = 0;
    nmdi_date prev = NMDI_DATE_NONE; /* the previous counted-or-not valid crossing */
    for (size_t i = 0; i < n; i++) {
        if (!valid(res, i) || date[i] == NMDI_DATE_NONE || date[i] > o->ref)
            continue;
        size_t nx = i + 1;
        while (nx < n && (!valid(res, nx) || date[nx] == NMDI_DATE_NONE))
            nx++;
        /* the stay after the crossing, seen from the reference date, and the
         * stay before it (on the side it leaves; unknown before the first
         * crossing): a crossing is a move only when the person had stayed
         * where they leave as long as they then stay where they go. Without
         * the stay before, a resident's return from a two-week trip followed
         * by a year at home would count as a crossing with a 12-month stay. */
        nmdi_date end = nx < n && date[nx] < o->ref ? date[nx] : o->ref;
        int64_t stay = (int64_t)end - date[i];
        int64_t before = prev == NMDI_DATE_NONE ? INT64_MAX : (int64_t)date[i] - prev;
        prev = date[i];
        int in_window = (int64_t)date[i] > (int64_t)o->ref - o->window_days;
        if (stay >= o->long_stay && before >= o->long_stay) {
            in_l += (size_t)in_window;
            slide_l |= push(ring_l, &nl, m, date[i], o->window_days);
        }
        if (stay >= o->short_stay && before >= o->short_stay) {
            in_s += (size_t)in_window;
            slide_s |= push(ring_s, &ns, m, date[i], o->window_days);
        }
    }
    int l = o->sliding ? slide_l : in_l >= m;
    int s = o->sliding ? slide_s : in_s >= m;
    *circular = l;
    *temp_circular = s || l;
}
