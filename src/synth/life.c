/* life.c — the true population of the synthetic country: households of
 * seven kinds (natives, settled immigrants, new immigrants, temporary movers,
 * circular migrants, returning citizens, visitors), their members' births,
 * deaths, naturalisations, long-term moves and short trips as day-exact
 * presence segments, and the truth's migration events under the 12/16-month
 * rule. Every household is drawn from its own random stream, so households
 * can be made in any order and on any thread. */
#include "synth_int.h"

#include <math.h>
#include <stdlib.h>

#define YEAR 365.25
#define TW 487 /* 16 months in days (STANDARDS.md §4) */
#define TM 365 /* 12 months */

const sy_area sy_areas[SY_NAREAS] = {
    {"KN01", "Kernstadt", 0.22, 0.95, 1.8},  {"KN02", "Nordmark", 0.09, 0.45, 0.7},
    {"KN03", "Ostfeld", 0.10, 0.40, 0.8},    {"KN04", "Südtal", 0.11, 0.50, 0.9},
    {"KN05", "Westhafen", 0.12, 0.75, 1.4},  {"KN06", "Mittelland", 0.10, 0.45, 0.8},
    {"KN07", "Seenplatte", 0.06, 0.30, 0.6}, {"KN08", "Bergland", 0.07, 0.25, 0.6},
    {"KN09", "Auenwald", 0.06, 0.35, 0.6},   {"KN10", "Küstenmark", 0.07, 0.55, 1.0},
};

/* Where Kernland's emigrants go (invented weights over real countries). */
static const char *const emig_dest[] = {"DEU", "CHE", "AUT", "GBR", "USA", "CAN", "AUS",
                                        "NLD", "SWE", "FRA", "ESP", "ITA"};
static const double emig_w[] = {25, 10, 8, 8, 10, 5, 5, 5, 4, 5, 5, 4};
/* Origins whose migrants mostly come for protection. */
static const char *const asyl_orig[] = {"SYR", "AFG", "IRQ", "SOM", "ERI", "UKR", "SSD", "YEM",
                                        "VEN", "COD", "SDN", "MMR"};

int srng_poisson(srng *r, double lambda)
{
    double l = exp(-lambda), p = 1.0;
    int k = 0;
    do {
        k++;
        p *= srng_u(r);
    } while (p > l && k < 1000);
    return k - 1;
}

int srng_pick(srng *r, const double *w, int n)
{
    double t = 0;
    for (int i = 0; i < n; i++)
        t += w[i];
    double u = srng_u(r) * t;
    for (int i = 0; i < n; i++) {
        if (u < w[i])
            return i;
        u -= w[i];
    }
    return n - 1;
}

int sy_country_of_a3(const char *a3)
{
    for (size_t i = 0; i < synth_ncountries; i++)
        if (strcmp(synth_countries[i].a3, a3) == 0)
            return (int)i;
    return C_NONE;
}

int sy_origin_draw(const sy_world *w, srng *r)
{
    size_t n = w->orig_hi - w->orig_lo;
    double u = srng_u(r) * w->orig_cum[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) { /* first cum > u */
        size_t mid = (lo + hi) / 2;
        if (w->orig_cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return synth_origins[w->orig_lo + lo].origin;
}

static int emig_draw(srng *r)
{
    return sy_country_of_a3(emig_dest[srng_pick(r, emig_w, 12)]);
}

static int is_asyl_origin(int c)
{
    if (c < 0)
        return 0;
    for (size_t i = 0; i < sizeof asyl_orig / sizeof asyl_orig[0]; i++)
        if (strcmp(synth_countries[c].a3, asyl_orig[i]) == 0)
            return 1;
    return 0;
}

/* ---- the rule of the truth ------------------------------------------------------ */

void nmdi_synth_classify(size_t nseg, const nmdi_date *start, const unsigned char *in,
                         nmdi_date end, int initially_resident, int window, int threshold,
                         unsigned char *ltm, unsigned char *resident_after)
{
    int res = initially_resident;
    for (size_t i = 0; i < nseg; i++) {
        ltm[i] = 0;
        if (i > 0 && in[i] != in[i - 1]) {
            int arrival = in[i];
            if (arrival != res) { /* migrating direction */
                nmdi_date d = start[i], wend = d + window;
                if (end != NMDI_DATE_NONE && end < wend)
                    wend = end;
                long far = 0;
                for (size_t k = i; k < nseg && start[k] < wend; k++) {
                    nmdi_date e = k + 1 < nseg ? start[k + 1] : wend;
                    if (e > wend)
                        e = wend;
                    if (in[k] == arrival)
                        far += e - start[k];
                }
                if (far >= threshold) {
                    ltm[i] = 1;
                    res = !res;
                }
            }
        }
        resident_after[i] = (unsigned char)res;
    }
}

/* ---- segments ----------------------------------------------------------------------- */

nmdi_date sy_seg_end(const sy_person *p, int i)
{
    if (i + 1 < p->nseg)
        return p->seg[i + 1].start - 1;
    return p->dod == NMDI_DATE_NONE ? NMDI_DATE_NONE : p->dod;
}

static int seg_at(const sy_person *p, nmdi_date d)
{
    int i = p->nseg - 1;
    while (i > 0 && p->seg[i].start > d)
        i--;
    return i;
}

int sy_loc_on(const sy_person *p, nmdi_date d)
{
    return p->seg[seg_at(p, d)].loc;
}

int sy_alive_on(const sy_person *p, nmdi_date d)
{
    return d >= p->dob && (p->dod == NMDI_DATE_NONE || d <= p->dod);
}

int sy_resident_on(const sy_person *p, nmdi_date d)
{
    if (!sy_alive_on(p, d))
        return 0;
    return p->res_after[seg_at(p, d)];
}

int sy_citizen_on(const sy_person *p, nmdi_date d)
{
    if (p->cit1 == C_XKN && (p->nat_date == NMDI_DATE_NONE || d >= p->nat_date))
        return 1;
    return p->cit2 == C_XKN;
}

int sy_age_on(const sy_person *p, nmdi_date d)
{
    int y0, m0, d0, y1, m1, d1;
    nmdi_date_to_ymd(p->dob, &y0, &m0, &d0);
    nmdi_date_to_ymd(d, &y1, &m1, &d1);
    int a = y1 - y0;
    if (m1 < m0 || (m1 == m0 && d1 < d0))
        a--;
    return a;
}

/* Insert a stay at loc over [a, b) inside the segment that holds both a-1 and b. */
static void seg_insert(sy_person *p, nmdi_date a, nmdi_date b, int loc)
{
    if (p->nseg + 2 > SY_MAXSEG || b <= a || a <= p->dob)
        return;
    if (p->dod != NMDI_DATE_NONE && b >= p->dod)
        return;
    int i = seg_at(p, a);
    if (p->seg[i].start >= a || p->seg[i].loc == loc || (p->seg[i].loc == C_XKN) == (loc == C_XKN))
        return;
    if (i + 1 < p->nseg && p->seg[i + 1].start <= b)
        return;
    memmove(&p->seg[i + 3], &p->seg[i + 1], (size_t)(p->nseg - i - 1) * sizeof p->seg[0]);
    p->seg[i + 1].start = a;
    p->seg[i + 1].loc = (int16_t)loc;
    p->seg[i + 2].start = b;
    p->seg[i + 2].loc = p->seg[i].loc;
    p->nseg += 2;
}

/* ---- households --------------------------------------------------------------------- */

typedef struct move {
    nmdi_date date;
    int loc;
    unsigned mask;
} move;

static nmdi_date dob_for_age(srng *r, nmdi_date at, double age)
{
    return at - (nmdi_date)(age * YEAR) - srng_int(r, 365);
}

static void person_init(sy_person *p, srng *r, uint64_t idx, int rel, char sex, nmdi_date dob)
{
    memset(p, 0, offsetof(sy_person, seg));
    p->idx = idx;
    p->relation = rel;
    p->sex = sex ? sex : (srng_bern(r, 0.5) ? 'F' : 'M');
    p->dob = dob;
    p->dod = NMDI_DATE_NONE;
    p->cob = p->cit1 = C_XKN;
    p->cit2 = C_NONE;
    p->cit_before = C_NONE;
    p->nat_date = NMDI_DATE_NONE;
    p->mother_cob = p->father_cob = C_XKN;
    p->reason = R_NONE;
    p->isced = -1;
    p->isco = -1;
    p->doc_renew = NMDI_DATE_NONE;
    p->nseg = 0;
}

static int pick_reason(srng *r, int origin, int type)
{
    if (type == T_TEMP)
        return srng_bern(r, 0.7) ? R_WORK : (srng_bern(r, 0.8) ? R_EDUC : R_OTH);
    if (type == T_CIRC)
        return R_WORK;
    if (is_asyl_origin(origin) && srng_bern(r, 0.7))
        return R_ASYL;
    static const double w[] = {45, 18, 10, 7, 0, 20};
    return srng_pick(r, w, 6);
}

static void education(srng *r, sy_person *p, const sy_world *w, int foreign)
{
    int age = sy_age_on(p, w->S);
    static const double nat[9] = {1, 3, 12, 40, 6, 8, 15, 13, 2};
    static const double imm[9] = {3, 10, 20, 25, 4, 5, 15, 14, 4};
    if (age >= 25)
        p->isced = srng_pick(r, foreign ? imm : nat, 9);
    else if (age >= 22)
        p->isced = srng_bern(r, 0.4) ? 6 : 3;
    else if (age >= 18)
        p->isced = 3;
    else if (age >= 12)
        p->isced = 2;
    else if (age >= 6)
        p->isced = 1;
    else
        p->isced = 0;
    if (p->isced >= 6) {
        static const double hi[10] = {0.5, 12, 45, 25, 8, 5, 0.5, 2, 1, 1};
        p->isco = srng_pick(r, hi, 10);
    } else if (p->isced >= 3) {
        static const double mid[10] = {0.5, 6, 8, 18, 14, 22, 3, 14, 9, 6};
        p->isco = srng_pick(r, mid, 10);
    } else {
        static const double lo[10] = {0.2, 2, 1, 4, 6, 22, 6, 15, 14, 30};
        p->isco = srng_pick(r, lo, 10);
    }
    p->work_prop = 0.9 - (foreign ? 0.06 : 0) - (p->reason == R_ASYL ? 0.2 : 0) +
                   (p->isced >= 6 ? 0.05 : 0) - (p->isced <= 2 ? 0.1 : 0);
}

static void names_for(srng *r, sy_person *p, const char *family)
{
    names_given(r, p->nreg, p->sex == 'F', p->given);
    if (family)
        snprintf(p->family, sizeof p->family, "%s", family);
    else
        names_family(r, p->nreg, p->family);
}

static void docs_for(srng *r, sy_person *p, const sy_world *w)
{
    static const char L[] = "ABCDEFGHJKLMNPRSTUVWXYZ";
    for (int k = 0; k < 2; k++)
        snprintf(p->docno[k], sizeof p->docno[k], "%c%c%07d", L[srng_int(r, 23)],
                 L[srng_int(r, 23)], srng_int(r, 10000000));
    if (srng_bern(r, 0.12)) {
        p->doc_renew = w->S + srng_int(r, w->E - w->S);
        snprintf(p->docno_old, sizeof p->docno_old, "%c%c%07d", L[srng_int(r, 23)],
                 L[srng_int(r, 23)], srng_int(r, 10000000));
    }
}

/* Mortality: annual probability by age (Gompertz). */
static void mortality(srng *r, sy_person *p, const sy_world *w)
{
    for (nmdi_date y = w->S; y < w->H; y += 365) {
        int age = sy_age_on(p, y > p->dob ? y : p->dob);
        double q = exp(-10.2 + 0.092 * age);
        if (q > 0.5)
            q = 0.5;
        if (y + 365 <= p->dob)
            continue;
        if (srng_bern(r, q)) {
            nmdi_date d = y + srng_int(r, 365);
            if (d > p->dob) {
                p->dod = d;
                return;
            }
        }
    }
}

/* Add person k's base segments from its birth place and the household moves. */
static void base_segments(sy_person *p, int k, int birth_loc, const move *mv, int nmv)
{
    p->nseg = 1;
    p->seg[0].start = p->dob;
    p->seg[0].loc = (int16_t)birth_loc;
    for (int i = 0; i < nmv; i++) {
        if (!(mv[i].mask & (1u << k)) || mv[i].date <= p->dob)
            continue;
        if (p->dod != NMDI_DATE_NONE && mv[i].date >= p->dod)
            break;
        int cur = p->seg[p->nseg - 1].loc;
        if ((cur == C_XKN) == (mv[i].loc == C_XKN))
            continue; /* no border crossed */
        if (mv[i].date <= p->seg[p->nseg - 1].start || p->nseg + 1 > SY_MAXSEG)
            continue;
        p->seg[p->nseg].start = mv[i].date;
        p->seg[p->nseg].loc = (int16_t)mv[i].loc;
        p->nseg++;
    }
}

static int cmp_move(const void *a, const void *b)
{
    const move *x = a, *y = b;
    return (x->date > y->date) - (x->date < y->date);
}

/* Short trips of the household over [from, to): rate per year, destination. */
typedef struct trip {
    nmdi_date a, b;
    int loc;
    unsigned mask;
} trip;

static int make_trips(srng *r, trip *t, int max, nmdi_date from, nmdi_date to, double rate,
                      int dest_fixed, const sy_world *w, int n, int visitor)
{
    int nt = 0;
    if (rate <= 0)
        return 0;
    nmdi_date d = from + (nmdi_date)(-log(1 - srng_u(r)) * YEAR / rate);
    while (d < to && nt < max) {
        int len;
        double u = srng_u(r);
        if (visitor)
            len = u < 0.85 ? srng_range(r, 2, 30) : u < 0.97 ? srng_range(r, 31, 89) : srng_range(r, 90, 220);
        else
            len = u < 0.62 ? srng_range(r, 2, 10) : u < 0.90 ? srng_range(r, 11, 30) : u < 0.97 ? srng_range(r, 31, 89) : srng_range(r, 90, 240);
        t[nt].a = d;
        t[nt].b = d + len;
        t[nt].loc = dest_fixed != C_NONE ? dest_fixed : sy_origin_draw(w, r);
        unsigned mask = 0;
        for (int k = 0; k < n; k++)
            if (srng_bern(r, len >= 90 ? 0.3 : 0.8))
                mask |= 1u << k;
        if (!mask)
            mask = 1u << srng_int(r, n);
        t[nt].mask = mask;
        nt++;
        d = t[nt - 1].b + 1 + (nmdi_date)(-log(1 - srng_u(r)) * YEAR / rate);
    }
    return nt;
}

/* Events of a person from its final segments. */
static void events_of(sy_person *p, const sy_world *w)
{
    nmdi_date st[SY_MAXSEG];
    unsigned char in[SY_MAXSEG];
    for (int i = 0; i < p->nseg; i++) {
        st[i] = p->seg[i].start;
        in[i] = p->seg[i].loc == C_XKN;
    }
    p->init_res = in[0];
    nmdi_synth_classify((size_t)p->nseg, st, in, p->dod == NMDI_DATE_NONE ? NMDI_DATE_NONE : p->dod + 1,
                        p->init_res, TW, TM, p->ltm, p->res_after);
    p->nev = 0;
    for (int i = 1; i < p->nseg; i++) {
        if (in[i] == in[i - 1])
            continue;
        int arrival = in[i];
        int res_before = p->res_after[i - 1];
        sy_event e;
        memset(&e, 0, sizeof e);
        e.date = st[i];
        e.seg = i;
        e.citizen = (int8_t)sy_citizen_on(p, st[i]);
        e.country = (int16_t)(arrival ? p->seg[i - 1].loc : p->seg[i].loc);
        if (p->ltm[i]) {
            e.kind = arrival ? EV_IMM : EV_EMI;
            nmdi_date wend = st[i] + TW;
            long far = 0;
            for (int k = i; k < p->nseg && st[k] < wend; k++) {
                nmdi_date e2 = k + 1 < p->nseg ? st[k + 1] : wend;
                if (e2 > wend)
                    e2 = wend;
                if (in[k] == arrival)
                    far += e2 - st[k];
            }
            e.days = (int32_t)far;
        } else if (arrival != res_before) {
            nmdi_date e2 = i + 1 < p->nseg ? st[i + 1] : (p->dod != NMDI_DATE_NONE ? p->dod + 1 : w->H);
            if (e2 - st[i] < 90)
                continue;
            e.kind = arrival ? EV_TMP_IN : EV_TMP_OUT;
            e.days = (int32_t)(e2 - st[i]);
        } else {
            continue;
        }
        p->ev[p->nev++] = e;
    }
    /* circular migration (UNECE 2016): at least three long-term (or, for the
     * temporary kind, 90-day) crossings within 10 years */
    for (int k = 0; k < p->nev; k++) {
        int lt = 0, any = 0;
        for (int j = 0; j <= k; j++) {
            if (p->ev[j].date <= p->ev[k].date - 3653)
                continue;
            any++;
            if (p->ev[j].kind == EV_IMM || p->ev[j].kind == EV_EMI)
                lt++;
        }
        if ((p->ev[k].kind == EV_IMM || p->ev[k].kind == EV_EMI) && lt >= 3) {
            p->ev[k].circular = 1;
            p->circular = 1;
        }
        if (any >= 3) {
            p->ev[k].circular_temp = 1;
            if (!p->circular)
                p->circular = 2;
        }
    }
}

void sy_household_make(const sy_world *w, uint64_t chunk, uint64_t j, uint64_t first_idx,
                       int maxp, sy_household *h)
{
    srng r = srng_at(w->o.seed, chunk, j, 1);
    static const double tw[T_COUNT] = {0.70, 0.12, 0.05, 0.025, 0.008, 0.012, 0.085};
    memset(h, 0, offsetof(sy_household, p));
    h->hid = chunk * 100000ULL + j;
    h->type = srng_pick(&r, tw, T_COUNT);
    int foreign = h->type != T_NATIVE && h->type != T_RETURNER;
    h->origin = foreign ? sy_origin_draw(w, &r) : C_XKN;
    if (h->type == T_VISITOR) {
        h->area = h->ea = -1;
    } else {
        double aw[SY_NAREAS];
        for (int a = 0; a < SY_NAREAS; a++)
            aw[a] = sy_areas[a].share * (foreign ? sy_areas[a].imm_factor : 1.0);
        h->area = srng_pick(&r, aw, SY_NAREAS);
        h->urban = srng_bern(&r, sy_areas[h->area].urban);
        h->ea = w->ea_base[h->area][h->urban] + srng_int(&r, w->nea[h->area][h->urban]);
    }
    int abroad = h->type == T_RETURNER ? emig_draw(&r) : h->origin; /* country outside */
    int nreg = h->origin >= 0 ? synth_countries[h->origin].nreg : NR_KERN;

    /* ---- members ---- */
    int n = 0;
    double head_age;
    nmdi_date arrive = NMDI_DATE_NONE, leave = NMDI_DATE_NONE; /* before-window arrival or departure */
    switch (h->type) {
    case T_NATIVE: head_age = 20 + 68 * pow(srng_u(&r), 1.15); break;
    case T_SETTLED: head_age = 24 + 50 * pow(srng_u(&r), 1.2); break;
    case T_RETURNER: head_age = 25 + 40 * srng_u(&r); break;
    case T_VISITOR: head_age = 18 + 60 * srng_u(&r); break;
    default: head_age = 19 + 30 * pow(srng_u(&r), 1.3); break;
    }
    sy_person *hd = &h->p[n++];
    person_init(hd, &r, 0, 1, 0, dob_for_age(&r, w->S, head_age));
    double pspouse[T_COUNT] = {0.6, 0.65, 0.45, 0.08, 0.2, 0.5, 0.3};
    if (srng_bern(&r, pspouse[h->type])) {
        sy_person *sp = &h->p[n++];
        double a = head_age + srng_range(&r, -6, 6);
        person_init(sp, &r, 0, 2, hd->sex == 'F' ? 'M' : 'F', dob_for_age(&r, w->S, a < 18 ? 18 : a));
    }
    int nkids = 0;
    if (h->type == T_NATIVE || h->type == T_SETTLED || h->type == T_RETURNER || h->type == T_NEWIMM ||
        (h->type == T_VISITOR && srng_bern(&r, 0.2))) {
        static const double kw[4] = {40, 25, 25, 10};
        nkids = head_age < 62 ? srng_pick(&r, kw, 4) : 0;
    }
    for (int k = 0; k < nkids && n < SY_MAXHH - 3; k++) {
        double maxa = head_age - 18 < 25 ? head_age - 18 : 25;
        double a = srng_u(&r) * (maxa > 0 ? maxa : 0);
        person_init(&h->p[n++], &r, 0, 3, 0, dob_for_age(&r, w->S, a));
    }
    if (h->type == T_NATIVE && head_age < 60 && srng_bern(&r, 0.03))
        person_init(&h->p[n++], &r, 0, 4, 0, dob_for_age(&r, w->S, head_age + 25 + srng_int(&r, 8)));

    /* ---- births in the window ---- */
    int mother = -1;
    for (int k = 0; k < n && k < 2; k++)
        if (h->p[k].sex == 'F')
            mother = k;
    if (mother >= 0 && h->type != T_VISITOR && h->type != T_TEMP) {
        for (nmdi_date y = w->S; y < w->E && n < SY_MAXHH; y += 365) {
            int age = sy_age_on(&h->p[mother], y);
            if (age < 18 || age > 44 || !srng_bern(&r, foreign ? 0.08 : 0.06))
                continue;
            person_init(&h->p[n++], &r, 0, 3, 0, y + srng_int(&r, 365));
        }
    }
    if (n > maxp)
        n = maxp;
    h->n = n;
    unsigned all = (1u << n) - 1;

    /* ---- long-term moves of the household ---- */
    move mv[32];
    int nmv = 0;
    nmdi_date span = w->E - w->S;
    switch (h->type) {
    case T_SETTLED: {
        double ys = 1 + 29 * pow(srng_u(&r), 1.6);
        arrive = w->S - (nmdi_date)(ys * YEAR) - srng_int(&r, 200);
        if (arrive < hd->dob + (nmdi_date)(18 * YEAR))
            arrive = hd->dob + (nmdi_date)(18 * YEAR) + srng_int(&r, 365);
        if (arrive > w->S - 30)
            arrive = w->S - 30 - srng_int(&r, 300);
        mv[nmv++] = (move){arrive, C_XKN, all};
        if (n > 1 && srng_bern(&r, 0.3)) { /* family reunion later */
            unsigned m = all & ~1u;
            mv[0].mask = 1u;
            mv[nmv++] = (move){arrive + srng_range(&r, 150, 700), C_XKN, m};
        }
        if (srng_bern(&r, 0.06))
            mv[nmv++] = (move){w->S + srng_int(&r, span), h->origin, all};
        else
            for (int k = 2; k < n; k++) { /* a grown-up child leaves on its own */
                int a = sy_age_on(&h->p[k], w->S);
                if (a >= 18 && a <= 35 && srng_bern(&r, 0.08)) {
                    mv[nmv++] = (move){w->S + srng_int(&r, span),
                                       srng_bern(&r, 0.5) ? h->origin : emig_draw(&r), 1u << k};
                    break;
                }
            }
        break;
    }
    case T_NEWIMM: {
        arrive = w->S + srng_int(&r, span);
        mv[nmv++] = (move){arrive, C_XKN, n > 1 && srng_bern(&r, 0.3) ? 1u : all};
        if (mv[0].mask == 1u)
            mv[nmv++] = (move){arrive + srng_range(&r, 100, 550), C_XKN, all & ~1u};
        if (srng_bern(&r, 0.25))
            mv[nmv++] = (move){arrive + srng_range(&r, 365, 4 * 365), h->origin, all};
        break;
    }
    case T_TEMP: {
        nmdi_date a = w->S + srng_int(&r, span);
        int seasonal = srng_bern(&r, 0.4);
        int stay = srng_range(&r, 90, 330);
        do {
            mv[nmv++] = (move){a, C_XKN, all};
            mv[nmv++] = (move){a + (seasonal ? srng_range(&r, 100, 240) : stay), h->origin, all};
            a += 365 + srng_range(&r, -20, 20);
        } while (seasonal && a < w->H && nmv + 2 <= 32);
        break;
    }
    case T_CIRC: {
        nmdi_date a = w->S - srng_int(&r, 700);
        while (a < w->H && nmv + 2 <= 32) {
            mv[nmv++] = (move){a, C_XKN, all};
            a += srng_range(&r, 380, 640);
            mv[nmv++] = (move){a, h->origin, all};
            a += srng_range(&r, 380, 640);
        }
        break;
    }
    case T_RETURNER: {
        leave = w->S - (nmdi_date)((1 + 11 * srng_u(&r)) * YEAR);
        if (leave < hd->dob + (nmdi_date)(18 * YEAR))
            leave = hd->dob + (nmdi_date)(18 * YEAR) + srng_int(&r, 200);
        if (leave > w->S - 200)
            leave = w->S - 200;
        mv[nmv++] = (move){leave, abroad, all};
        mv[nmv++] = (move){w->S + srng_int(&r, span), C_XKN, all};
        break;
    }
    case T_NATIVE:
        if (srng_bern(&r, 0.035)) {
            unsigned m = all;
            for (int k = 2; k < n; k++) {
                int a = sy_age_on(&h->p[k], w->S);
                if (a >= 18 && a <= 35 && srng_bern(&r, 0.6)) {
                    m = 1u << k;
                    break;
                }
            }
            nmdi_date d = w->S + srng_int(&r, span);
            mv[nmv++] = (move){d, abroad = emig_draw(&r), m};
            if (srng_bern(&r, 0.3))
                mv[nmv++] = (move){d + srng_range(&r, 440, 4 * 365), C_XKN, m};
        }
        break;
    default:
        break;
    }
    qsort(mv, (size_t)nmv, sizeof mv[0], cmp_move);

    /* ---- each member: origins, citizenship, names, segments ---- */
    char famname[NAME_MAX_LEN];
    names_family(&r, nreg, famname);
    int mixed_spouse = h->type == T_SETTLED && n > 1 && srng_bern(&r, 0.15);
    for (int k = 0; k < n; k++) {
        sy_person *p = &h->p[k];
        p->idx = first_idx + (uint64_t)k;
        int birth_loc;
        if (h->type == T_NATIVE) {
            birth_loc = C_XKN;
            if (srng_bern(&r, 0.03)) { /* born abroad to Kernland parents */
                birth_loc = C_XKN;
                p->cob = emig_draw(&r);
            }
        } else if (h->type == T_RETURNER) {
            birth_loc = p->dob > leave ? abroad : C_XKN;
            if (k == 1 && srng_bern(&r, 0.4)) { /* foreign spouse */
                birth_loc = p->dob > leave ? abroad : abroad;
            }
        } else if (k == 1 && mixed_spouse) {
            birth_loc = C_XKN;
        } else {
            nmdi_date first_in = NMDI_DATE_NONE;
            for (int i = 0; i < nmv; i++)
                if ((mv[i].mask & (1u << k)) && mv[i].loc == C_XKN) {
                    first_in = mv[i].date;
                    break;
                }
            birth_loc = first_in != NMDI_DATE_NONE && p->dob > first_in ? C_XKN : h->origin;
            /* a child born here after the parents came: mother's location decides */
            if (p->relation == 3 && mother >= 0 && mother != k && p->dob > w->S) {
                birth_loc = sy_loc_on(&h->p[mother], p->dob);
            }
        }
        if (h->type != T_NATIVE)
            p->cob = birth_loc;
        /* citizenship */
        if (h->type == T_NATIVE || h->type == T_RETURNER) {
            p->cit1 = C_XKN;
            if (birth_loc != C_XKN) { /* foreign-born: spouse a foreigner, children dual */
                if (k == 1) {
                    p->cit1 = birth_loc;
                    p->reason = R_FAM;
                } else {
                    p->cit2 = srng_bern(&r, 0.5) ? birth_loc : C_NONE;
                }
            } else if (srng_bern(&r, 0.03)) {
                p->cit2 = sy_origin_draw(w, &r);
            }
        } else if (k == 1 && mixed_spouse) {
            p->cit1 = C_XKN;
        } else if (birth_loc == C_XKN) {
            p->cit1 = srng_bern(&r, 0.3) ? C_XKN : h->origin;
            if (p->cit1 == C_XKN)
                p->cit2 = h->origin;
        } else {
            p->cit1 = h->origin;
            if (srng_bern(&r, 0.04))
                p->cit2 = sy_origin_draw(w, &r);
        }
        /* parents' country of birth */
        if (p->relation == 3) {
            int m = -1, f = -1;
            for (int q = 0; q < 2 && q < n; q++) {
                if (q == k)
                    continue;
                if (h->p[q].sex == 'F')
                    m = q;
                else
                    f = q;
            }
            p->mother_cob = m >= 0 ? (m < k ? h->p[m].cob : C_NONE) : (nreg == NR_KERN ? C_XKN : h->origin);
            p->father_cob = f >= 0 ? (f < k ? h->p[f].cob : C_NONE) : (nreg == NR_KERN ? C_XKN : h->origin);
            if (p->mother_cob == C_NONE)
                p->mother_cob = h->type == T_NATIVE ? C_XKN : h->origin;
            if (p->father_cob == C_NONE)
                p->father_cob = h->type == T_NATIVE ? C_XKN : h->origin;
        } else if (p->cob == C_XKN) {
            p->mother_cob = p->father_cob = C_XKN;
            if (h->type == T_NATIVE && srng_bern(&r, 0.06))
                p->mother_cob = sy_origin_draw(w, &r);
        } else {
            p->mother_cob = p->father_cob = p->cob;
        }
        if (p->cob != C_XKN && p->reason == R_NONE)
            p->reason = k == 0 ? pick_reason(&r, h->origin, h->type) : R_FAM;
        if (h->type == T_RETURNER && p->cit1 == C_XKN)
            p->reason = R_RET;
        if (h->type == T_CIRC || h->type == T_TEMP)
            p->reason = pick_reason(&r, h->origin, h->type);
        if (h->type == T_VISITOR)
            p->reason = R_NONE; /* visitors do not migrate */
        p->nreg = p->cit1 == C_XKN || (k == 1 && mixed_spouse) ? NR_KERN : nreg;
        if (p->cit1 == C_STATELESS || p->cit1 == C_NONE)
            p->nreg = nreg;
        if (p->reason == R_ASYL && srng_bern(&r, 0.01))
            p->cit1 = C_STATELESS;
        names_for(&r, p, (k == 1 && mixed_spouse) || srng_bern(&r, 0.1) ? NULL : famname);
        education(&r, p, w, p->cob != C_XKN);
        docs_for(&r, p, w);
        mortality(&r, p, w);
        base_segments(p, k, birth_loc, mv, nmv);
    }
    /* children born in the window follow their mother's later moves */
    /* (handled by the masks: every move of the household has all members) */

    /* ---- naturalisation of foreign citizens living here ---- */
    if (h->type == T_SETTLED || h->type == T_NEWIMM) {
        nmdi_date nat = NMDI_DATE_NONE;
        nmdi_date from = (arrive != NMDI_DATE_NONE ? arrive : w->S) + (nmdi_date)(6 * YEAR);
        for (nmdi_date y = from; y < w->E; y += 365)
            if (srng_bern(&r, y < w->S ? 0.035 : 0.03)) {
                nat = y + srng_int(&r, 365);
                break;
            }
        int keep = srng_bern(&r, 0.4);
        for (int k = 0; nat != NMDI_DATE_NONE && k < n; k++) {
            sy_person *p = &h->p[k];
            if (p->cit1 == C_XKN || p->cit2 == C_XKN || !sy_alive_on(p, nat) || sy_loc_on(p, nat) != C_XKN)
                continue;
            p->cit_before = p->cit1;
            p->cit2 = keep && p->cit1 >= 0 ? p->cit1 : p->cit2;
            p->cit1 = C_XKN;
            p->cit_mode = 1;
            p->nat_date = nat;
        }
    }

    /* ---- short trips ---- */
    trip tr[64];
    int nt = 0;
    double rate = 0;
    int dest = C_NONE;
    switch (h->type) {
    case T_NATIVE: rate = 1.0; break;
    case T_SETTLED: case T_NEWIMM: rate = 1.2; dest = h->origin; break;
    case T_RETURNER: rate = 0.9; break;
    case T_VISITOR: rate = 0.5 + 1.5 * srng_u(&r); dest = C_XKN; break;
    default: break;
    }
    if (h->type != T_VISITOR && h->type != T_TEMP && h->type != T_CIRC && srng_bern(&r, 0.05))
        rate = 8; /* frequent business travellers */
    if (rate > 0)
        nt = make_trips(&r, tr, 64, w->S - 30, w->H, rate, dest, w, n, h->type == T_VISITOR);
    /* emigrants and those abroad come home for visits */
    int nt2 = h->type == T_NATIVE || h->type == T_RETURNER || h->type == T_SETTLED
                  ? make_trips(&r, tr + nt, 64 - nt, w->S - 30, w->H, 0.4, C_XKN, w, n, 1)
                  : 0;
    for (int k = 0; k < n; k++) {
        sy_person *p = &h->p[k];
        for (int t = 0; t < nt + nt2; t++) {
            if (!(tr[t].mask & (1u << k)))
                continue;
            int loc = tr[t].loc;
            if (loc != C_XKN && sy_loc_on(p, tr[t].a) != C_XKN)
                continue;
            if (loc == C_XKN && sy_loc_on(p, tr[t].a) == C_XKN)
                continue;
            seg_insert(p, tr[t].a, tr[t].b, loc);
        }
        events_of(p, w);
    }
}
