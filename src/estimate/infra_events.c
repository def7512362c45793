/*
 * infra_events.c — the `events` table kind of the estimate stage: counts of
 * the records of an event dataset (the long-term migrations `nmdi derive`
 * derives from border crossings, the register flows, the register events of
 * a population register, first permits) by calendar year of the event and
 * by the characteristics of the person: sex, age at the event, citizenship,
 * country of birth, country of previous or next usual residence, former
 * citizenship (acquisitions of citizenship), area, reason. This is the EU
 * Regulation 862/2007 Art. 3 set of flow tables (STANDARDS.md §5).
 *
 * Columns are found by name; the meaning of a generic `country` column
 * depends on the dataset: in a border-derived dataset (with a traveller_key)
 * it is the country of the travel document, i.e. the citizenship; in a
 * register dataset it is the previous residence of an immigration, the next
 * residence of an emigration and the former citizenship of an acquisition.
 * A table whose dimension has no column in the dataset is not produced (the
 * stage says which column is missing): it is never filled with unknowns.
 */
#include "infra_internal.h"

#include "nmdi/codes.h"
#include "nmdi/tabulate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ecols {
    fcol ev, date, sex, dob, cit, citizen, cob, prev, next, former, country, area, reason, prov,
        rkey, key;
    int border;           /* border-derived: `country` is the document country */
} ecols;

static void ecols_open(ecols *e, const nmdi_dataset *ds, size_t part)
{
    nmdi_est_fcol_open(&e->ev, ds, part, "event");
    nmdi_est_fcol_open(&e->date, ds, part, "date");
    nmdi_est_fcol_open(&e->sex, ds, part, "sex");
    nmdi_est_fcol_open(&e->dob, ds, part, "date_of_birth");
    nmdi_est_fcol_open(&e->citizen, ds, part, "citizen");
    nmdi_est_fcol_open(&e->cob, ds, part, "country_of_birth");
    nmdi_est_fcol_open(&e->area, ds, part, "area");
    nmdi_est_fcol_open(&e->reason, ds, part, "reason");
    nmdi_est_fcol_open(&e->prov, ds, part, "provisional");
    nmdi_est_fcol_open(&e->rkey, ds, part, "record_key");
    nmdi_est_fcol_open(&e->country, ds, part, "country");
    nmdi_est_fcol_open(&e->key, ds, part, "traveller_key");
    e->border = e->key.present;
    if (!e->key.present)
        nmdi_est_fcol_open(&e->key, ds, part, "person_key");
    nmdi_est_fcol_open(&e->cit, ds, part, "citizenship");
    if (!e->cit.present)
        nmdi_est_fcol_open(&e->cit, ds, part, "document_country");
    if (!e->cit.present && e->border)
        nmdi_est_fcol_open(&e->cit, ds, part, "country");
    nmdi_est_fcol_open(&e->prev, ds, part, "previous_residence");
    nmdi_est_fcol_open(&e->next, ds, part, "next_residence");
    nmdi_est_fcol_open(&e->former, ds, part, "former_citizenship");
}

/* Is the concept available in the dataset (its column, or `country` of a
 * register dataset)? */
static int ecols_has(const ecols *e, const char *c)
{
    int regcountry = e->country.present && !e->border;
    if (!strcmp(c, "TIME_PERIOD") || !strcmp(c, "FLOW"))
        return 1;
    if (!strcmp(c, "SEX")) return e->sex.present;
    if (!strcmp(c, "AGE")) return e->dob.present;
    if (!strcmp(c, "CITIZENSHIP")) return e->cit.present;
    if (!strcmp(c, "CITIZENSHIP_GROUP")) return e->citizen.present || e->cit.present;
    if (!strcmp(c, "COUNTRY_OF_BIRTH")) return e->cob.present;
    if (!strcmp(c, "COUNTRY_OF_PREV_RES")) return e->prev.present || regcountry;
    if (!strcmp(c, "COUNTRY_OF_NEXT_RES")) return e->next.present || regcountry;
    if (!strcmp(c, "PARTNER_COUNTRY"))
        return (e->prev.present && e->next.present) || regcountry;
    if (!strcmp(c, "FORMER_CITIZENSHIP")) return e->former.present || regcountry;
    if (!strcmp(c, "REF_AREA")) return e->area.present;
    if (!strcmp(c, "REASON")) return e->reason.present;
    return 0;
}

int nmdi_est_event_concept(const char *c)
{
    static const char *const known[] = {"TIME_PERIOD", "FLOW", "SEX", "AGE", "CITIZENSHIP",
                                        "CITIZENSHIP_GROUP", "COUNTRY_OF_BIRTH",
                                        "COUNTRY_OF_PREV_RES", "COUNTRY_OF_NEXT_RES",
                                        "PARTNER_COUNTRY", "FORMER_CITIZENSHIP", "REF_AREA",
                                        "REASON", NULL};
    for (size_t i = 0; known[i]; i++)
        if (!strcmp(c, known[i]))
            return 1;
    return 0;
}

/* Register event codes as flows: registration from abroad = immigration,
 * deregistration to abroad = emigration. */
static const char *flow_of(const char *ev)
{
    if (!strcmp(ev, "REG_IN"))
        return "IMM";
    if (!strcmp(ev, "DEREG_OUT"))
        return "EMI";
    return ev;
}

/* Is code in the comma-separated list? (NULL list: every code) */
static int in_list(const char *list, const char *code)
{
    if (!list)
        return 1;
    size_t n = strlen(code);
    for (const char *p = list; *p;) {
        const char *q = strchr(p, ',');
        size_t m = q ? (size_t)(q - p) : strlen(p);
        while (m && p[m - 1] == ' ')
            m--;
        if (m == n && !strncmp(p, code, n))
            return 1;
        if (!q)
            break;
        p = q + 1;
        while (*p == ' ')
            p++;
    }
    return 0;
}

/* Completed years between two dates; -1 when either is unknown. */
static int age_at(nmdi_date dob, nmdi_date d)
{
    if (dob == NMDI_DATE_NONE || d == NMDI_DATE_NONE || dob == INT32_MIN || d == INT32_MIN || d < dob)
        return -1;
    int y0, m0, d0, y1, m1, d1;
    nmdi_date_to_ymd(dob, &y0, &m0, &d0);
    nmdi_date_to_ymd(d, &y1, &m1, &d1);
    return y1 - y0 - (m1 < m0 || (m1 == m0 && d1 < d0));
}

typedef struct eview {
    char year[12], flow[16], sex[4], age[12], cit[8], cg[4], cob[8], prev[8], next[8], partner[8],
        former[8], area[32], reason[8];
} eview;

static void put(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s && *s ? s : "_U");
}

static void event_view(ecols *e, size_t r, const char *flow, nmdi_date d, const char *country,
                       eview *v)
{
    nmdi_date_format(d, v->year);
    v->year[4] = 0;
    put(v->flow, sizeof v->flow, flow);
    put(v->sex, sizeof v->sex, nmdi_est_fcol_str(&e->sex, r));
    if (strcmp(v->sex, "F") && strcmp(v->sex, "M"))
        strcpy(v->sex, "_U");
    int a = e->dob.present ? age_at(e->dob.i32[r], d) : -1;
    put(v->age, sizeof v->age, nmdi_age_group5(a));
    put(v->cit, sizeof v->cit, nmdi_est_fcol_str(&e->cit, r));
    int c = nmdi_est_fcol_int(&e->citizen, r);
    if (c == INT32_MIN && e->cit.present && strcmp(v->cit, "_U"))
        c = !strcmp(v->cit, country);
    strcpy(v->cg, c == INT32_MIN ? "_U" : c ? "NAT" : "FOR");
    put(v->cob, sizeof v->cob, nmdi_est_fcol_str(&e->cob, r));
    /* a register dataset's `country`: previous residence (IMM), next
     * residence (EMI), former citizenship (CIT_ACQ) */
    const char *rc = e->country.present && !e->border ? nmdi_est_fcol_str(&e->country, r) : "";
    char rcb[8];
    snprintf(rcb, sizeof rcb, "%s", rc);
    int imm = !strcmp(flow, "IMM"), emi = !strcmp(flow, "EMI");
    put(v->prev, sizeof v->prev, e->prev.present ? nmdi_est_fcol_str(&e->prev, r) : imm ? rcb : "_Z");
    put(v->next, sizeof v->next, e->next.present ? nmdi_est_fcol_str(&e->next, r) : emi ? rcb : "_Z");
    snprintf(v->partner, sizeof v->partner, "%s", imm ? v->prev : emi ? v->next : "_Z");
    put(v->former, sizeof v->former,
        e->former.present ? nmdi_est_fcol_str(&e->former, r) : !strcmp(flow, "CIT_ACQ") ? rcb : "");
    put(v->area, sizeof v->area, nmdi_est_fcol_str(&e->area, r));
    put(v->reason, sizeof v->reason, nmdi_est_fcol_str(&e->reason, r));
}

static const char *eview_code(const eview *v, const char *c)
{
    if (!strcmp(c, "TIME_PERIOD")) return v->year;
    if (!strcmp(c, "FLOW")) return v->flow;
    if (!strcmp(c, "SEX")) return v->sex;
    if (!strcmp(c, "AGE")) return v->age;
    if (!strcmp(c, "CITIZENSHIP")) return v->cit;
    if (!strcmp(c, "CITIZENSHIP_GROUP")) return v->cg;
    if (!strcmp(c, "COUNTRY_OF_BIRTH")) return v->cob;
    if (!strcmp(c, "COUNTRY_OF_PREV_RES")) return v->prev;
    if (!strcmp(c, "COUNTRY_OF_NEXT_RES")) return v->next;
    if (!strcmp(c, "PARTNER_COUNTRY")) return v->partner;
    if (!strcmp(c, "FORMER_CITIZENSHIP")) return v->former;
    if (!strcmp(c, "REF_AREA")) return v->area;
    if (!strcmp(c, "REASON")) return v->reason;
    return "_U";
}

/* The record key of an event: the stored one, else derived from the
 * person's key (the same as MIG_FLOW's), so that the same person adds the
 * same key to a cell in every table. */
static uint64_t event_key(ecols *e, size_t r)
{
    double rkv = nmdi_est_fcol_f64(&e->rkey, r);
    uint64_t k = 0;
    if (!isnan(rkv) && nmdi_tab_key_fixed(rkv, &k) == 0)
        return k;
    if (e->key.present && e->key.type == NMDI_COL_I64)
        return nmdi_hash64(&e->key.i64[r], sizeof e->key.i64[r], 0x666c6f77ULL) >> (64 - NMDI_TAB_KEY_BITS);
    if (e->key.present) {
        const char *s = nmdi_est_fcol_str(&e->key, r);
        return nmdi_hash64(s, strlen(s), 0x666c6f77ULL) >> (64 - NMDI_TAB_KEY_BITS);
    }
    return 0;
}

static const char *dim_name(const char *dim, char *buf, size_t n)
{
    const char *eq = strchr(dim, '=');
    snprintf(buf, n, "%.*s", eq ? (int)(eq - dim) : (int)strlen(dim), dim);
    return buf;
}

static const char *dim_concept(const char *dim)
{
    const char *eq = strchr(dim, '=');
    return eq ? eq + 1 : dim;
}

int nmdi_est_table_events(stage *s, const tdecl *t, nmdi_error *err)
{
    nmdi_dataset *ds;
    nmdi_dsversion v;
    int rc = nmdi_est_open_latest(s, t->source, &ds, &v, err);
    if (rc <= 0)
        return rc;
    /* every dimension needs its column */
    if (nmdi_dataset_nparts(ds) > 0) {
        ecols e0;
        ecols_open(&e0, ds, 0);
        if ((t->event && !e0.ev.present) || !e0.date.present) {
            nmdi_dataset_close(ds);
            snprintf(s->skip, sizeof s->skip, "dataset '%s' has no %s column", t->source,
                     e0.date.present ? "event" : "date");
            return 0;
        }
        for (size_t d = 0; d < t->ndims; d++)
            if (!ecols_has(&e0, dim_concept(t->dims[d]))) {
                nmdi_dataset_close(ds);
                snprintf(s->skip, sizeof s->skip, "dataset '%s' has no column for %s", t->source,
                         dim_concept(t->dims[d]));
                return 0;
            }
    }
    nmdi_date burn_in = NMDI_DATE_NONE;
    if (nmdi_dataset_nparts(ds) > 0) {
        ecols e0;
        ecols_open(&e0, ds, 0);
        /* border-derived events, and first permits (a permit seen first in
         * the data may renew one issued before it), start with the burn-in */
        if (e0.border || !strcmp(t->source, "first_permits"))
            burn_in = nmdi_est_burn_in(s, err);
    }
    nmdi_tab *all = nmdi_tab_new(t->ndims), *prov = nmdi_tab_new(t->ndims);
    rc = all && prov ? 0 : nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    nmdi_date first = NMDI_DATE_NONE, last = NMDI_DATE_NONE;
    size_t nev = 0, nprov = 0;
    for (size_t part = 0; part < nmdi_dataset_nparts(ds) && !rc; part++) {
        ecols e;
        ecols_open(&e, ds, part);
        for (size_t r = 0; r < nmdi_dataset_part_rows(ds, part) && !rc; r++) {
            char ev[16];
            snprintf(ev, sizeof ev, "%s", nmdi_est_fcol_str(&e.ev, r));
            const char *flow = flow_of(ev);
            if (e.ev.present && !in_list(t->event, flow) && !in_list(t->event, ev))
                continue;
            nmdi_date d = nmdi_est_fcol_int(&e.date, r);
            if (d == NMDI_DATE_NONE || d == INT32_MIN)
                continue;
            if (burn_in != NMDI_DATE_NONE && d < burn_in)
                continue;
            first = first == NMDI_DATE_NONE || d < first ? d : first;
            last = last == NMDI_DATE_NONE || d > last ? d : last;
            eview vw;
            event_view(&e, r, flow, d, s->cfg->country_code, &vw);
            const char *codes[MAXDIMS];
            for (size_t k = 0; k < t->ndims; k++)
                codes[k] = eview_code(&vw, dim_concept(t->dims[k]));
            uint64_t key = event_key(&e, r);
            int p = nmdi_est_fcol_int(&e.prov, r) > 0;
            rc = nmdi_tab_add(all, codes, NULL, 1, 0, key) || (p && nmdi_tab_add(prov, codes, NULL, 1, 0, key));
            nev++;
            nprov += p;
        }
    }
    nmdi_dataset_close(ds);
    char dimbuf[MAXDIMS][64];
    const char *dimnames[MAXDIMS];
    for (size_t d = 0; d < t->ndims; d++)
        dimnames[d] = dim_name(t->dims[d], dimbuf[d], sizeof dimbuf[d]);
    nmdi_cube *cube = NULL, *pc = NULL, *out = NULL;
    if (!rc)
        rc = nmdi_tab_cube(all, dimnames, NMDI_TAB_COUNT, 1, 1, &cube, err);
    if (!rc)
        rc = nmdi_tab_cube(prov, dimnames, NMDI_TAB_COUNT, 1, 0, &pc, err);
    nmdi_tab_free(all);
    nmdi_tab_free(prov);
    /* no totals over years, nor over immigration and emigration together;
     * a cell with any provisional event is provisional */
    if (!rc && !(out = nmdi_cube_new(t->ndims, dimnames)))
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; !rc && i < nmdi_cube_ncells(cube); i++) {
        nmdi_cell c = *nmdi_cube_cell(cube, i);
        int keep = 1;
        for (size_t d = 0; d < t->ndims; d++)
            if ((!strcmp(dimnames[d], "TIME_PERIOD") || !strcmp(dimnames[d], "FLOW")) &&
                !strcmp(c.codes[d], NMDI_TAB_TOTAL))
                keep = 0;
        if (!keep)
            continue;
        if (nmdi_cube_find(pc, (const char *const *)c.codes))
            strcpy(c.obs_status, NMDI_OBS_PROVISIONAL);
        if (nmdi_cube_add(out, (const char *const *)c.codes, &c))
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    nmdi_cube_free(cube);
    nmdi_cube_free(pc);
    if (rc) {
        nmdi_cube_free(out);
        return -(err->code ? err->code : NMDI_EINTERNAL);
    }
    nmdi_cube_sort(out);
    char ref[32] = "", f[11] = "", l[11] = "";
    if (first != NMDI_DATE_NONE) {
        nmdi_date_format(first, f);
        nmdi_date_format(last, l);
        f[4] = l[4] = 0;
        if (strcmp(f, l))
            snprintf(ref, sizeof ref, "%s/%s", f, l);
        else
            snprintf(ref, sizeof ref, "%s", f);
    }
    if (t->reference_period)
        snprintf(ref, sizeof ref, "%s", t->reference_period);
    char src[512], method[1024], bi[11] = "";
    snprintf(src, sizeof src, "%s (%s), version %lld, %zu events counted", t->source,
             v.record_type ? v.record_type : "", (long long)v.version, nev);
    if (burn_in != NMDI_DATE_NONE)
        nmdi_date_format(burn_in, bi);
    snprintf(method, sizeof method,
             "count of events %s by calendar year of the event date; age in completed years at "
             "the event (5-year groups); margins (_T) over every dimension except the year and "
             "the flow; OBS_STATUS P where any event of the cell is not final at the data "
             "cut-off (%zu provisional events)%s%s",
             t->event ? t->event : "(all)", nprov, bi[0] ? "; counted from " : "", bi[0] ? bi : "");
    rc = nmdi_est_write_table(s, t, out, src, method, ref, err);
    nmdi_cube_free(out);
    return rc ? -rc : 1;
}
