/* mobile.c — daily presence records of one mobile operator in the synthetic
 * country, consistent with the true travel histories, with the known biases:
 * only the operator's customers and inbound roamers on its network (market
 * share), visitors and immigrants switching to a local SIM (immigrants who
 * do not switch within a month keep roaming for up to two years), second
 * SIMs, machine SIMs, data roaming switched off abroad, silent days. */
#include "synth_int.h"

#define MAXKEYS 48

typedef struct keyset {
    uint64_t k[MAXKEYS];
    int n;
} keyset;

static void subkey(char out[17], uint64_t k)
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = hx[k & 15];
        k >>= 4;
    }
    out[16] = '\0';
}

static void row(const sy_world *w, sy_chunk *o, keyset *ks, uint64_t key, nmdi_date d, int area,
                int home, int roam, int visited, uint64_t person)
{
    char s[17];
    subkey(s, key);
    int seen = 0;
    for (int i = 0; i < ks->n; i++)
        if (ks->k[i] == key)
            seen = 1;
    if (!seen) {
        if (ks->n < MAXKEYS)
            ks->k[ks->n++] = key;
        sbuf *l = &o->f[F_LINKS];
        sb_puts(l, "mobile,");
        sb_puts(l, s);
        sb_sep(l);
        if (person != UINT64_MAX)
            sb_printf(l, "P%09llu", (unsigned long long)person);
        sb_eol(l);
    }
    sbuf *b = &o->f[F_MOBILE];
    sb_puts(b, s); sb_sep(b);
    sb_date(b, d, DF_ISO); sb_sep(b);
    if (area >= 0)
        sb_printf(b, "OA%03d", area);
    sb_sep(b);
    sb_puts(b, sy_mcc(home)); sb_sep(b);
    sb_int(b, roam); sb_sep(b);
    if (roam == 2)
        sb_puts(b, sy_mcc(visited));
    sb_eol(b);
    (void)w;
}

/* Operator area on a day: three per subdivision, numbered 1..30. */
static int op_area(srng *r, int home)
{
    int a = home;
    if (a < 0 || srng_bern(r, 0.2)) {
        double wt[SY_NAREAS];
        for (int i = 0; i < SY_NAREAS; i++)
            wt[i] = sy_areas[i].share;
        a = srng_pick(r, wt, SY_NAREAS);
    }
    return a * 3 + srng_int(r, 3) + 1;
}

/* The segment of the foreigner's immigration the stay si belongs to (the
 * last long-term arrival at or before si with no long-term departure since),
 * or -1. */
static int immigration_of(const sy_person *p, int si, int home_c)
{
    for (int j = si; j >= 0; j--) {
        if (!p->ltm[j])
            continue;
        if (p->seg[j].loc != C_XKN)
            return -1; /* emigrated since */
        return p->cob != C_XKN && home_c != C_XKN && !sy_citizen_on(p, p->seg[j].start) ? j : -1;
    }
    return -1;
}

void sy_mobile_person(const sy_world *w, const sy_household *h, const sy_person *p, sy_chunk *o)
{
    srng r = srng_at(w->o.seed, p->idx, 61, 0);
    if (!srng_bern(&r, w->o.mobile_share))
        return;
    int age_ok = sy_age_on(p, w->E - 1) >= 10;
    if (!age_ok)
        return;
    keyset ks = {{0}, 0};
    uint64_t kdom = srng_next(&r), kfor = srng_next(&r), k2 = srng_next(&r);
    int second = srng_bern(&r, 0.07);
    int home_c = p->cit1 >= 0 ? p->cit1 : p->cob >= 0 ? p->cob : C_XKN;
    if (p->nat_date != NMDI_DATE_NONE && p->cit_before >= 0)
        home_c = p->cit_before;
    int cur_seg = -1, switched = 0, roam_on = 0, imm = -1;
    nmdi_date switch_day = 0, foreign_until = 0;
    for (nmdi_date d = w->mobile_from; d < w->E; d++) {
        if (!sy_alive_on(p, d))
            continue;
        int si = 0;
        while (si + 1 < p->nseg && p->seg[si + 1].start <= d)
            si++;
        if (si != cur_seg) { /* a new stay: decide SIM behaviour for it */
            cur_seg = si;
            srng rs = srng_at(w->o.seed, p->idx, 62, (uint64_t)si);
            nmdi_date e = si + 1 < p->nseg ? p->seg[si + 1].start : w->H;
            switched = (e - p->seg[si].start) > 30 && srng_bern(&rs, 0.6);
            switch_day = p->seg[si].start + srng_range(&rs, 7, 30);
            roam_on = srng_bern(&rs, 0.7);
            /* a foreigner who immigrates arrives with a home SIM: 60 % take a local
             * one within a month, the others keep roaming (trips abroad included)
             * for up to two years after the arrival */
            imm = immigration_of(p, si, home_c);
            if (imm >= 0) {
                srng ri = srng_at(w->o.seed, p->idx, 66, (uint64_t)imm);
                nmdi_date a = p->seg[imm].start;
                foreign_until = srng_bern(&ri, 0.6) ? a + srng_range(&ri, 7, 30) : a + 730;
            }
        }
        srng rd = srng_at(w->o.seed, p->idx, 63, (uint64_t)d);
        if (srng_bern(&rd, 0.08))
            continue; /* a silent day */
        int loc = p->seg[si].loc;
        int resident = p->res_after[si];
        uint64_t klocal = kdom ^ (uint64_t)(imm >= 0 ? imm : si);
        if (loc == C_XKN) {
            int area = op_area(&rd, h->area);
            if (imm >= 0) {
                if (d < foreign_until)
                    row(w, o, &ks, kfor, d, area, home_c, 1, 0, p->idx);
                else
                    row(w, o, &ks, klocal, d, area, C_XKN, 0, 0, p->idx);
            } else if (resident || p->cob == C_XKN) {
                row(w, o, &ks, kdom, d, area, C_XKN, 0, 0, p->idx);
                if (second && srng_bern(&rd, 0.5))
                    row(w, o, &ks, k2, d, op_area(&rd, h->area), C_XKN, 0, 0, p->idx);
            } else if (switched && d >= switch_day) {
                row(w, o, &ks, klocal, d, area, C_XKN, 0, 0, p->idx);
            } else {
                row(w, o, &ks, kfor, d, area, home_c, 1, 0, p->idx);
            }
        } else if (imm >= 0) {
            /* an immigrant's trip: the local SIM roams once it exists */
            if (d >= foreign_until && roam_on && !(switched && d >= p->seg[si].start + 60))
                row(w, o, &ks, klocal, d, -1, C_XKN, 2, loc, p->idx);
        } else if (resident || p->cob == C_XKN) {
            /* abroad with a domestic SIM: seen while roaming is on, until a local SIM */
            if (roam_on && !(switched && d >= p->seg[si].start + 60))
                row(w, o, &ks, kdom, d, -1, C_XKN, 2, loc, p->idx);
        }
    }
}

void sy_mobile_machines(const sy_world *w, uint64_t chunk, uint64_t persons, sy_chunk *o)
{
    srng r = srng_at(w->o.seed, chunk, 64, 0);
    double expect = (double)persons * w->o.mobile_share * 0.04;
    int n = (int)expect + srng_bern(&r, expect - (int)expect);
    for (int m = 0; m < n; m++) {
        keyset ks = {{0}, 0};
        uint64_t key = srng_next(&r);
        int area = op_area(&r, srng_int(&r, SY_NAREAS));
        int foreign = srng_bern(&r, 0.1);
        int home = foreign ? sy_origin_draw(w, &r) : C_XKN;
        for (nmdi_date d = w->mobile_from; d < w->E; d++) {
            srng rd = srng_at(w->o.seed, key, 65, (uint64_t)d);
            if (srng_bern(&rd, 0.02))
                continue;
            row(w, o, &ks, key, d, area, home, foreign ? 1 : 0, 0, UINT64_MAX);
        }
    }
}
