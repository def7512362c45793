/* sources.c — what the agencies of the synthetic country record about one
 * chunk of simulated households: the truth files, border crossings, the
 * census (persons and members abroad), permits, students, the population
 * register (base extract and events) and the labour force survey's
 * candidate households; each with the agency's own layout, codes, date
 * format and recording errors (docs/synthetic-country.md). */
#include "synth_int.h"

#include <math.h>
#include <stdlib.h>

const char *const sy_file_name[F_COUNT] = {
    "truth/persons.csv",         "truth/households.csv",          "truth/spells.csv",
    "truth/crossings.csv",       "truth/events.csv",              "truth/truth_links.csv",
    "sources/border_crossings.csv", "sources/census_persons.csv", "sources/census_members_abroad.csv",
    "sources/lfs.csv",           "sources/permits.csv",           "sources/students.csv",
    "sources/register_base.csv", "sources/register_events.csv",   "sources/mobile_presence.csv",
    "sources/mobile_areas.csv",
};

const char *const sy_file_header[F_COUNT] = {
    "person_id,household_id,relation,sex,birth_date,death_date,country_of_birth,citizenship,"
    "citizenship2,citizenship_acquisition,citizenship_acquisition_date,former_citizenship,"
    "mother_country_of_birth,father_country_of_birth,reason_for_migration,first_arrival_date,"
    "person_type,area,education,occupation,labour_status_lfs,in_education_lfs,circular",
    "household_id,household_type,area,ea,urban,origin",
    "person_id,spell,location,country,start_date,end_date,resident",
    "person_id,crossing,date,direction,other_country,long_term,border_record_id",
    "person_id,date,event,citizen,returning_citizen,country,days,circular,circular_temporary",
    "source,record_id,person_id",
    "REC_ID,SURNAME,GIVEN_NAMES,SEX,DOB,NATIONALITY,DOC_TYPE,DOC_NO,DIRECTION,CROSS_DATE,"
    "CROSS_TIME,PORT,PURPOSE,STAY_DAYS",
    "HH_NO,P_NO,SURNAME,FIRSTNAME,SEX,BIRTH_DATE,AGE,REGION,EA,URBAN,COB,CIT1,CIT2,CIT_ACQ,"
    "CIT_ACQ_YEAR,LIVED_ABROAD,YOA,REASON,COB_MOTHER,COB_FATHER,RES_1Y,RES_5Y,WEIGHT",
    "HH_NO,M_NO,SEX,AGE,COUNTRY,YEAR_LEFT,REASON",
    "HHID,PERSNO,STRATUM,PSU,REGION,URBRUR,DESIGN_WT,WEIGHT,SEX,AGE,COUNTRYB,NATIONAL,YEARESID,"
    "ILOSTAT,HATLEVEL,ISCO1D,EDUC4WN",
    "PERMIT_NO,CASE_NO,FAMILY_NAME,GIVEN_NAMES,BIRTHDATE,GENDER,NATIONALITY,PERMIT_CLASS,"
    "REASON_CODE,FIRST_PERMIT,VALID_FROM,VALID_TO",
    "STUDENT_NO,NAME,BIRTH,GENDER,CITIZENSHIP,LEVEL,START,END",
    "PIN,FAMILY_NAME,FIRST_NAME,BIRTH_DATE,SEX,CITIZENSHIP,BIRTH_COUNTRY,AREA,REGISTERED_SINCE",
    "EVENT_ID,PIN,EVENT,EVENT_DATE,REG_DATE,FAMILY_NAME,FIRST_NAME,BIRTH_DATE,SEX,CITIZENSHIP,"
    "COUNTRY,AREA",
    "SUBSCRIBER,DAY,AREA,MCC_HOME,ROAM,VISITED_MCC",
    "OP_AREA,AREA_CODE",
};

/* ---- codes ------------------------------------------------------------------------ */
const char *sy_a3(int c)
{
    return c >= 0 ? synth_countries[c].a3 : c == C_XKN ? "XKN" : c == C_STATELESS ? "XXA" : "";
}
const char *sy_a2(int c)
{
    return c >= 0 ? synth_countries[c].a2 : c == C_XKN ? "XN" : c == C_STATELESS ? "XX" : "";
}
const char *sy_num(int c)
{
    return c >= 0 ? synth_countries[c].num : c == C_XKN ? "000" : c == C_STATELESS ? "998" : "";
}
const char *sy_icao(int c)
{
    return c >= 0 ? synth_countries[c].icao : c == C_XKN ? "XKN" : c == C_STATELESS ? "XXA" : "";
}
const char *sy_mcc(int c)
{
    if (c >= 0)
        return synth_countries[c].mcc[0] ? synth_countries[c].mcc : "901";
    return "999";
}

static const char *const reason_code[] = {"WORK", "FAM", "EDUC", "ASYL", "RET", "OTH", ""};
static const char *const type_code[] = {"NATIVE", "SETTLED", "NEWIMM", "TEMP", "CIRC", "RETURNER", "VISITOR"};
static const char *const rel_code[] = {"", "HEAD", "SPOUSE", "CHILD", "PARENT"};
static const char *const event_code[] = {"IMM", "EMI", "TMP_IN", "TMP_OUT"};
static const char *const lf_code[] = {"", "EMP", "UNE", "OLF"};

static void pid(sbuf *b, uint64_t idx)
{
    char t[24];
    snprintf(t, sizeof t, "P%09llu", (unsigned long long)idx);
    sb_puts(b, t);
}
static void hid(sbuf *b, uint64_t h)
{
    char t[24];
    snprintf(t, sizeof t, "H%010llu", (unsigned long long)h);
    sb_puts(b, t);
}
/* A number of 10 digits that looks arbitrary but is unique: an affine map
 * modulo 10^10 with a multiplier prime to 10, both drawn from the seed (so
 * that ids do not reveal the person's index to the linkage under test). */
static unsigned long long scramble(const sy_world *w, uint64_t v, uint64_t salt)
{
    const uint64_t M = 10000000000ULL;
    uint64_t m = (sy_mix(w->o.seed * 31 + salt) % M) | 1;
    if (m % 5 == 0)
        m += 2;
    uint64_t c = sy_mix(w->o.seed + salt * 977) % M;
    return (unsigned long long)(((unsigned __int128)(v % M) * m + c) % M);
}
/* A 64-bit record id, unique for (tag, idx < 2^44, n < 4096): the splitmix
 * finaliser is a bijection. Printed as 16 hex digits. */
static void recid(const sy_world *w, char *out, size_t size, const char *prefix, unsigned tag,
                  uint64_t idx, unsigned n)
{
    uint64_t v = ((idx << 12) | (n & 4095u)) ^ ((uint64_t)tag << 56);
    snprintf(out, size, "%s%016llX", prefix, (unsigned long long)sy_mix(v ^ sy_mix(w->o.seed)));
}
static void link(sy_chunk *o, const char *src, const char *rec, uint64_t idx)
{
    sbuf *b = &o->f[F_LINKS];
    sb_puts(b, src);
    sb_sep(b);
    sb_puts(b, rec);
    sb_sep(b);
    if (idx != UINT64_MAX)
        pid(b, idx);
    sb_eol(b);
}

static nmdi_date swap_dm(nmdi_date d)
{
    int y, m, dd;
    nmdi_date_to_ymd(d, &y, &m, &dd);
    if (dd > 12 || dd == m)
        return d;
    return nmdi_date_from_ymd(y, dd, m);
}

/* Date of birth as an agency records it: sometimes day and month swapped. */
static nmdi_date dob_recorded(srng *r, nmdi_date dob, double pswap, double pmiss)
{
    double u = srng_u(r);
    if (u < pmiss)
        return NMDI_DATE_NONE;
    if (u < pmiss + pswap)
        return swap_dm(dob);
    return dob;
}

static void name_recorded(srng *r, const char *in, char *out, double ptypo)
{
    snprintf(out, NAME_MAX_LEN, "%s", in);
    if (srng_bern(r, ptypo))
        names_typo(r, out);
}

/* ---- truth ------------------------------------------------------------------------- */
static int first_arrival(const sy_person *p, nmdi_date *out)
{
    *out = NMDI_DATE_NONE;
    if (p->seg[0].loc == C_XKN)
        return 0;
    for (int i = 1; i < p->nseg; i++)
        if (p->seg[i].loc == C_XKN) {
            *out = p->seg[i].start;
            return 1;
        }
    return 0;
}

void sy_labour(const sy_world *w, const sy_person *p, nmdi_date d, int *ilo, int *educ)
{
    srng r = srng_at(w->o.seed, p->idx, 77, (uint64_t)d);
    int age = sy_age_on(p, d);
    *ilo = LF_NA;
    *educ = 0;
    if (age < 15)
        return;
    double pe = age < 20 ? 0.85 : age < 25 ? 0.45 : age < 30 ? 0.12 : 0.03;
    if (p->reason == R_EDUC && age < 35)
        pe = 0.9;
    *educ = srng_bern(&r, pe);
    double act = age < 25 ? (*educ ? 0.25 : 0.7) : age < 55 ? (p->sex == 'F' ? 0.78 : 0.88)
               : age < 65 ? 0.6 : 0.05;
    if (!srng_bern(&r, act)) {
        *ilo = LF_OLF;
        return;
    }
    double ur = 0.05 + (p->cob != C_XKN ? 0.05 : 0) + (p->reason == R_ASYL ? 0.12 : 0) +
                (1 - p->work_prop) * 0.2;
    if (age < 25)
        ur *= 2;
    *ilo = srng_bern(&r, ur) ? LF_UNE : LF_EMP;
}

static void truth_person(const sy_world *w, const sy_household *h, const sy_person *p, sy_chunk *o)
{
    sbuf *b = &o->f[F_PERSONS];
    nmdi_date fa;
    first_arrival(p, &fa);
    int ilo = LF_NA, educ = 0;
    if (sy_resident_on(p, w->lfs_date))
        sy_labour(w, p, w->lfs_date, &ilo, &educ);
    pid(b, p->idx); sb_sep(b);
    hid(b, h->hid); sb_sep(b);
    sb_puts(b, rel_code[p->relation]); sb_sep(b);
    sb_putc(b, p->sex); sb_sep(b);
    sb_date(b, p->dob, DF_ISO); sb_sep(b);
    sb_date(b, p->dod, DF_ISO); sb_sep(b);
    sb_puts(b, sy_a3(p->cob)); sb_sep(b);
    sb_puts(b, sy_a3(p->cit1)); sb_sep(b);
    sb_puts(b, sy_a3(p->cit2)); sb_sep(b);
    sb_puts(b, p->cit1 == C_XKN || p->cit2 == C_XKN ? (p->cit_mode ? "NATURALISATION" : "BIRTH") : "");
    sb_sep(b);
    sb_date(b, p->nat_date, DF_ISO); sb_sep(b);
    sb_puts(b, sy_a3(p->cit_before)); sb_sep(b);
    sb_puts(b, sy_a3(p->mother_cob)); sb_sep(b);
    sb_puts(b, sy_a3(p->father_cob)); sb_sep(b);
    sb_puts(b, reason_code[p->reason]); sb_sep(b);
    sb_date(b, fa, DF_ISO); sb_sep(b);
    sb_puts(b, type_code[h->type]); sb_sep(b);
    sb_puts(b, h->area >= 0 ? sy_areas[h->area].code : ""); sb_sep(b);
    if (p->isced >= 0)
        sb_printf(b, "ED%d", p->isced);
    sb_sep(b);
    if (p->isco >= 0 && ilo == LF_EMP)
        sb_int(b, p->isco);
    sb_sep(b);
    sb_puts(b, lf_code[ilo]); sb_sep(b);
    if (ilo != LF_NA)
        sb_int(b, educ);
    sb_sep(b);
    sb_int(b, p->circular);
    sb_eol(b);

    b = &o->f[F_SPELLS];
    for (int i = 0; i < p->nseg; i++) {
        pid(b, p->idx); sb_sep(b);
        sb_int(b, i + 1); sb_sep(b);
        sb_puts(b, p->seg[i].loc == C_XKN ? "IN" : "OUT"); sb_sep(b);
        sb_puts(b, p->seg[i].loc == C_XKN ? "XKN" : sy_a3(p->seg[i].loc)); sb_sep(b);
        sb_date(b, p->seg[i].start, DF_ISO); sb_sep(b);
        sb_date(b, sy_seg_end(p, i), DF_ISO); sb_sep(b);
        sb_int(b, p->res_after[i]);
        sb_eol(b);
    }
    b = &o->f[F_EVENTS];
    for (int k = 0; k < p->nev; k++) {
        const sy_event *e = &p->ev[k];
        if (e->date < w->S || e->date >= w->E)
            continue;
        pid(b, p->idx); sb_sep(b);
        sb_date(b, e->date, DF_ISO); sb_sep(b);
        sb_puts(b, event_code[e->kind]); sb_sep(b);
        sb_int(b, e->citizen); sb_sep(b);
        sb_int(b, e->kind == EV_IMM && e->citizen); sb_sep(b);
        sb_puts(b, sy_a3(e->country)); sb_sep(b);
        sb_int(b, e->days); sb_sep(b);
        sb_int(b, e->circular); sb_sep(b);
        sb_int(b, e->circular_temp);
        sb_eol(b);
    }
}

/* ---- border crossings ----------------------------------------------------------------- */
static const char *const ports[] = {"KNA1", "KNA2", "KNS1", "KNL1", "KNL2", "KNL3", "KNL4"};
static const double port_w[] = {58, 12, 5, 9, 7, 5, 4};

static void border(const sy_world *w, const sy_household *h, const sy_person *p, sy_chunk *o)
{
    sbuf *t = &o->f[F_TCROSS], *b = &o->f[F_BORDER];
    char sur[NAME_MAX_LEN], giv[NAME_MAX_LEN], rec[32];
    char mrz_s[NAME_MAX_LEN], mrz_g[NAME_MAX_LEN];
    names_mrz(p->family, mrz_s);
    names_mrz(p->given, mrz_g);
    for (int i = 1; i < p->nseg; i++) {
        nmdi_date d = p->seg[i].start;
        int arrival = p->seg[i].loc == C_XKN;
        if ((p->seg[i - 1].loc == C_XKN) == arrival || d < w->S || d >= w->E)
            continue;
        srng r = srng_at(w->o.seed, p->idx, 11, (uint64_t)i);
        int port = srng_pick(&r, port_w, 7);
        int recorded = !srng_bern(&r, port >= 3 ? 0.02 : 0.004);
        recid(w, rec, sizeof rec, "B", 1, p->idx, (unsigned)i);
        pid(t, p->idx); sb_sep(t);
        sb_int(t, i); sb_sep(t);
        sb_date(t, d, DF_ISO); sb_sep(t);
        sb_putc(t, arrival ? 'A' : 'D'); sb_sep(t);
        sb_puts(t, sy_a3(arrival ? p->seg[i - 1].loc : p->seg[i].loc)); sb_sep(t);
        sb_int(t, p->ltm[i]); sb_sep(t);
        if (recorded)
            sb_puts(t, rec);
        sb_eol(t);
        if (!recorded)
            continue;
        link(o, "border", rec, p->idx);
        int citizen = sy_citizen_on(p, d);
        int doc_c = citizen ? C_XKN : (p->nat_date != NMDI_DATE_NONE && d < p->nat_date ? p->cit_before : p->cit1);
        int second = p->cit2 != C_NONE && p->cit2 != doc_c && srng_bern(&r, 0.25);
        if (second)
            doc_c = p->cit2;
        name_recorded(&r, mrz_s, sur, 0.01);
        name_recorded(&r, mrz_g, giv, 0.01);
        nmdi_date dob = dob_recorded(&r, p->dob, 0.005, 0.002);
        if (srng_bern(&r, 0.001))
            arrival = !arrival; /* direction keyed wrongly */
        nmdi_date rd = srng_bern(&r, 0.001) ? d + 1 : d;
        sb_puts(b, rec); sb_sep(b);
        sb_str(b, sur); sb_sep(b);
        sb_str(b, giv); sb_sep(b);
        sb_putc(b, p->sex); sb_sep(b);
        sb_date(b, dob, DF_DMY_SLASH); sb_sep(b);
        sb_puts(b, sy_icao(doc_c)); sb_sep(b);
        int idcard = doc_c == C_XKN && port >= 3 && srng_bern(&r, 0.6);
        sb_putc(b, idcard ? 'I' : 'P'); sb_sep(b);
        char doc[16];
        const char *dn = second ? p->docno[1] : (p->doc_renew != NMDI_DATE_NONE && d < p->doc_renew ? p->docno_old : p->docno[0]);
        snprintf(doc, sizeof doc, "%s", dn);
        if (srng_bern(&r, 0.003))
            doc[2 + srng_int(&r, 7)] = (char)('0' + srng_int(&r, 10));
        sb_puts(b, doc); sb_sep(b);
        sb_putc(b, arrival ? 'E' : 'X'); sb_sep(b);
        sb_date(b, rd, DF_ISO); sb_sep(b);
        sb_printf(b, "%02d:%02d", srng_int(&r, 24), srng_int(&r, 60)); sb_sep(b);
        sb_puts(b, ports[port]); sb_sep(b);
        if (arrival) {
            int res = p->res_after[i - 1];
            const char *purpose;
            if (res || citizen)
                purpose = "RES";
            else if (h->type == T_VISITOR) {
                static const char *const vp[] = {"TOU", "BUS", "FAM", "TRN", "OTH"};
                static const double vw[] = {60, 20, 14, 3, 3};
                purpose = vp[srng_pick(&r, vw, 5)];
            } else {
                static const char *const rp[] = {"WRK", "FAM", "STU", "ASY", "RES", "OTH"};
                purpose = rp[p->reason == R_NONE ? 5 : p->reason];
            }
            sb_puts(b, purpose);
            sb_sep(b);
            if (!res && !citizen) {
                nmdi_date e2 = i + 1 < p->nseg ? p->seg[i + 1].start : d + 730;
                int stay = (int)(e2 - d);
                if (srng_bern(&r, 0.3))
                    stay = (int)(stay * (0.5 + srng_u(&r)));
                if (stay > 365)
                    stay = 365;
                if (!srng_bern(&r, 0.05))
                    sb_int(b, stay < 1 ? 1 : stay);
            }
        } else {
            sb_sep(b);
        }
        sb_eol(b);
    }
}

/* ---- census ------------------------------------------------------------------------------ */
static const char *census_reason(int reason)
{
    static const char *const c[] = {"1", "2", "3", "4", "5", "6", ""};
    return c[reason];
}

static void census(const sy_world *w, const sy_household *h, sy_chunk *o)
{
    nmdi_date C = w->census_date;
    srng r = srng_at(w->o.seed, h->hid, 21, 0);
    if (w->o.census_sample < 1 && !srng_bern(&r, w->o.census_sample))
        return;
    int nres = 0;
    for (int k = 0; k < h->n; k++)
        nres += sy_resident_on(&h->p[k], C);
    if (!nres || h->area < 0 || srng_bern(&r, 0.025)) /* household non-response */
        return;
    char hh[24], rec[48];
    snprintf(hh, sizeof hh, "%010llu", scramble(w, h->hid, 1));
    int pno = 0, mno = 0;
    for (int k = 0; k < h->n; k++) {
        const sy_person *p = &h->p[k];
        if (!sy_resident_on(p, C)) {
            /* a member abroad: emigrated and alive */
            if (!sy_alive_on(p, C) || sy_loc_on(p, C) == C_XKN)
                continue;
            int left = 0;
            nmdi_date dl = NMDI_DATE_NONE;
            for (int e = 0; e < p->nev; e++)
                if (p->ev[e].kind == EV_EMI && p->ev[e].date <= C) {
                    left = 1;
                    dl = p->ev[e].date;
                }
            if (!left || srng_bern(&r, 0.15))
                continue;
            sbuf *a = &o->f[F_CENSUS_ABROAD];
            snprintf(rec, sizeof rec, "%s-A%d", hh, ++mno);
            link(o, "census_abroad", rec, p->idx);
            sb_puts(a, hh); sb_sep(a);
            sb_int(a, mno); sb_sep(a);
            sb_putc(a, p->sex == 'M' ? '1' : '2'); sb_sep(a);
            sb_int(a, sy_age_on(p, C)); sb_sep(a);
            sb_puts(a, srng_bern(&r, 0.04) ? "999" : sy_num(sy_loc_on(p, C))); sb_sep(a);
            sb_int(a, nmdi_date_year(dl)); sb_sep(a);
            static const char *const ar[] = {"1", "2", "3", "6", "9"};
            static const double aw[] = {50, 20, 15, 10, 5};
            sb_puts(a, ar[srng_pick(&r, aw, 5)]);
            sb_eol(a);
            continue;
        }
        if (srng_bern(&r, 0.01)) /* person omitted */
            continue;
        sbuf *b = &o->f[F_CENSUS];
        pno++;
        snprintf(rec, sizeof rec, "%s-%d", hh, pno);
        link(o, "census", rec, p->idx);
        char sur[NAME_MAX_LEN], giv[NAME_MAX_LEN];
        name_recorded(&r, p->family, sur, 0.02);
        name_recorded(&r, p->given, giv, 0.02);
        if (p->nreg != NR_KERN && srng_bern(&r, 0.05))
            names_variant(&r, p->nreg, p->given, giv);
        int age = sy_age_on(p, C);
        sb_puts(b, hh); sb_sep(b);
        sb_int(b, pno); sb_sep(b);
        sb_str(b, sur); sb_sep(b);
        sb_str(b, giv); sb_sep(b);
        sb_putc(b, p->sex == 'M' ? '1' : '2'); sb_sep(b);
        sb_date(b, dob_recorded(&r, p->dob, 0.004, 0.03), DF_DMY_DOT); sb_sep(b);
        sb_int(b, srng_bern(&r, 0.01) && age > 0 ? age + (srng_bern(&r, 0.5) ? 1 : -1) : age); sb_sep(b);
        sb_int(b, h->area + 1); sb_sep(b);
        sb_int(b, h->ea); sb_sep(b);
        sb_putc(b, h->urban ? '1' : '2'); sb_sep(b);
        sb_puts(b, srng_bern(&r, 0.015) ? "999" : sy_num(p->cob)); sb_sep(b);
        int citizen = sy_citizen_on(p, C);
        int c1 = citizen ? C_XKN : (p->nat_date != NMDI_DATE_NONE ? p->cit_before : p->cit1);
        int c2 = citizen ? (p->cit1 == C_XKN ? p->cit2 : p->cit1) : (p->cit2 == C_XKN ? C_NONE : p->cit2);
        sb_puts(b, srng_bern(&r, 0.01) ? "999" : sy_num(c1)); sb_sep(b);
        sb_puts(b, sy_num(c2)); sb_sep(b);
        int nat = citizen && p->nat_date != NMDI_DATE_NONE && p->nat_date <= C;
        if (citizen)
            sb_puts(b, srng_bern(&r, 0.02) ? "9" : nat ? "2" : "1");
        sb_sep(b);
        if (nat)
            sb_int(b, nmdi_date_year(p->nat_date));
        sb_sep(b);
        /* most recent arrival to live here: the last long-term immigration before C */
        nmdi_date arr = NMDI_DATE_NONE;
        for (int e = 0; e < p->nev; e++)
            if (p->ev[e].kind == EV_IMM && p->ev[e].date <= C)
                arr = p->ev[e].date;
        int abroad = arr != NMDI_DATE_NONE || p->cob != C_XKN;
        sb_putc(b, abroad ? '1' : '2'); sb_sep(b);
        if (abroad) {
            double u = srng_u(&r);
            if (arr == NMDI_DATE_NONE || u < 0.03) {
                sb_puts(b, "9999");
            } else {
                int y = nmdi_date_year(arr), ago = nmdi_date_year(C) - y;
                if (ago >= 8 && u < 0.2) /* heaping on years ending in 0 or 5 */
                    y = (int)(floor((y + 2.5) / 5.0) * 5);
                sb_int(b, y);
            }
            sb_sep(b);
            sb_puts(b, srng_bern(&r, 0.05) ? "9" : p->reason == R_NONE ? "6" : census_reason(p->reason));
        } else {
            sb_sep(b);
        }
        sb_sep(b);
        sb_puts(b, srng_bern(&r, 0.05) ? "999" : sy_num(p->mother_cob)); sb_sep(b);
        sb_puts(b, srng_bern(&r, 0.06) ? "999" : sy_num(p->father_cob)); sb_sep(b);
        for (int yago = 1; yago <= 5; yago += 4) {
            nmdi_date d = C - (yago == 1 ? 365 : 1826);
            if (d >= p->dob) {
                int loc = sy_resident_on(p, d) ? C_XKN : sy_loc_on(p, d);
                if (loc == C_XKN && !sy_resident_on(p, d))
                    loc = p->cob != C_XKN ? p->cob : C_XKN;
                sb_puts(b, srng_bern(&r, 0.02) ? "999" : sy_num(loc));
            }
            sb_sep(b);
        }
        if (w->o.census_sample < 1) {
            char wt[32];
            nmdi_fmt_double(1.0 / w->o.census_sample, wt);
            sb_puts(b, wt);
        } else {
            sb_putc(b, '1');
        }
        sb_eol(b);
    }
}

/* ---- population register --------------------------------------------------------------- */
static void pin_of(const sy_world *w, const sy_person *p, char out[16])
{
    snprintf(out, 16, "%010llu", scramble(w, p->idx, 2));
}

static void reg_person_fields(sbuf *b, srng *r, const sy_person *p, nmdi_date d)
{
    char sur[NAME_MAX_LEN], giv[NAME_MAX_LEN];
    name_recorded(r, p->family, sur, 0.003);
    name_recorded(r, p->given, giv, 0.003);
    sb_str(b, sur); sb_sep(b);
    sb_str(b, giv); sb_sep(b);
    sb_date(b, dob_recorded(r, p->dob, 0.001, 0.0), DF_DMY_DOT); sb_sep(b);
    sb_putc(b, p->sex); sb_sep(b);
    int citizen = sy_citizen_on(p, d);
    sb_puts(b, citizen ? "XN" : sy_a2(p->nat_date != NMDI_DATE_NONE ? p->cit_before : p->cit1));
    sb_sep(b);
}

static void reg_event(const sy_world *w, const sy_household *h, const sy_person *p, sy_chunk *o,
                      srng *r, const char *code, nmdi_date d, nmdi_date reg, int country, int n)
{
    if (reg >= w->E || d < w->S)
        return;
    sbuf *b = &o->f[F_REG_EVENTS];
    char pin[16], rec[40];
    pin_of(w, p, pin);
    recid(w, rec, sizeof rec, "E", 2, p->idx, (unsigned)n);
    link(o, "register_event", rec, p->idx);
    sb_puts(b, rec); sb_sep(b);
    sb_puts(b, pin); sb_sep(b);
    sb_puts(b, code); sb_sep(b);
    sb_date(b, d, DF_DMY_DOT); sb_sep(b);
    sb_date(b, reg, DF_DMY_DOT); sb_sep(b);
    reg_person_fields(b, r, p, d);
    sb_puts(b, sy_a2(country)); sb_sep(b);
    sb_puts(b, h->area >= 0 ? sy_areas[h->area].code : "");
    sb_eol(b);
}

static void registers(const sy_world *w, const sy_household *h, const sy_person *p, sy_chunk *o)
{
    srng r = srng_at(w->o.seed, p->idx, 31, 0);
    char pin[16];
    pin_of(w, p, pin);
    /* base extract on the first day: residents, and some who left long ago */
    int res0 = sy_resident_on(p, w->S);
    int stale = !res0 && sy_alive_on(p, w->S) && h->type == T_RETURNER && p->cob == C_XKN &&
                srng_bern(&r, 0.45);
    if ((res0 && srng_bern(&r, 0.985)) || stale) {
        sbuf *b = &o->f[F_REG_BASE];
        link(o, "register_base", pin, p->idx);
        sb_puts(b, pin); sb_sep(b);
        reg_person_fields(b, &r, p, w->S);
        sb_puts(b, sy_a2(p->cob)); sb_sep(b);
        sb_puts(b, h->area >= 0 ? sy_areas[h->area].code : "KN01"); sb_sep(b);
        nmdi_date since = p->dob;
        for (int e = 0; e < p->nev; e++)
            if (p->ev[e].kind == EV_IMM && p->ev[e].date <= w->S)
                since = p->ev[e].date + srng_int(&r, 30);
        sb_date(b, since, DF_DMY_DOT);
        sb_eol(b);
    }
    int n = 0;
    if (p->dob >= w->S && p->seg[0].loc == C_XKN)
        reg_event(w, h, p, o, &r, "GEB", p->dob, p->dob + srng_int(&r, 10), C_NONE, n++);
    for (int e = 0; e < p->nev; e++) {
        const sy_event *ev = &p->ev[e];
        if (ev->date < w->S || ev->date >= w->E)
            continue;
        if (ev->kind == EV_IMM && srng_bern(&r, ev->citizen ? 0.96 : 0.92)) {
            nmdi_date d = ev->date + (srng_bern(&r, 0.2) ? srng_int(&r, 8) : 0);
            reg_event(w, h, p, o, &r, "ZU", d, d + (nmdi_date)(-log(1 - srng_u(&r)) * 14), ev->country, n++);
        } else if (ev->kind == EV_TMP_IN && srng_bern(&r, 0.3)) {
            reg_event(w, h, p, o, &r, "ZU", ev->date, ev->date + srng_int(&r, 30), ev->country, n++);
            if (srng_bern(&r, 0.6))
                reg_event(w, h, p, o, &r, "WEG", ev->date + ev->days, ev->date + ev->days + srng_int(&r, 60), ev->country, n++);
        } else if (ev->kind == EV_EMI && srng_bern(&r, ev->citizen ? 0.6 : 0.45)) {
            nmdi_date delay = (nmdi_date)(-log(1 - srng_u(&r)) * 75);
            reg_event(w, h, p, o, &r, "WEG", ev->date, ev->date + delay, ev->country, n++);
        }
    }
    if (p->nat_date != NMDI_DATE_NONE && p->nat_date >= w->S)
        reg_event(w, h, p, o, &r, "EIN", p->nat_date, p->nat_date + srng_int(&r, 20), p->cit_before, n++);
    if (p->dod != NMDI_DATE_NONE && sy_resident_on(p, p->dod) &&
        (sy_loc_on(p, p->dod) == C_XKN || srng_bern(&r, 0.7)))
        reg_event(w, h, p, o, &r, "TOD", p->dod, p->dod + srng_int(&r, 7), C_NONE, n++);
}

/* ---- permits and students --------------------------------------------------------------- */
/* End of a stay that begins with segment i: the next departure followed by 90+ days abroad. */
static nmdi_date stay_end(const sy_person *p, int i, const sy_world *w)
{
    for (int k = i + 1; k < p->nseg; k++) {
        if (p->seg[k].loc == C_XKN)
            continue;
        nmdi_date e = k + 1 < p->nseg ? p->seg[k + 1].start : w->H + 365;
        if (e - p->seg[k].start >= 90)
            return p->seg[k].start;
    }
    return p->dod != NMDI_DATE_NONE ? p->dod : w->H + 365;
}

static void permits(const sy_world *w, const sy_household *h, const sy_person *p, sy_chunk *o)
{
    srng r = srng_at(w->o.seed, p->idx, 41, 0);
    if (srng_bern(&r, 0.04)) /* never held a permit */
        return;
    char fam[NAME_MAX_LEN], giv[NAME_MAX_LEN], rec[40], cas[24];
    snprintf(cas, sizeof cas, "C%010llu", scramble(w, p->idx, 3));
    int nperm = 0;
    for (int e = 0; e < p->nev; e++) {
        const sy_event *ev = &p->ev[e];
        if (ev->kind != EV_IMM && ev->kind != EV_TMP_IN)
            continue;
        if (sy_citizen_on(p, ev->date) || (ev->kind == EV_TMP_IN && h->type == T_VISITOR && srng_bern(&r, 0.5)))
            continue;
        nmdi_date end = stay_end(p, ev->seg, w);
        if (p->nat_date != NMDI_DATE_NONE && p->nat_date > ev->date && p->nat_date < end)
            end = p->nat_date;
        nmdi_date from = ev->date - srng_int(&r, 40);
        int first = 1;
        while (from < end && from < w->E) {
            nmdi_date to = first ? from + (ev->kind == EV_TMP_IN ? (nmdi_date)ev->days + 30 : 365)
                                 : from + 730;
            if (to >= w->S) {
                int c = p->nat_date != NMDI_DATE_NONE ? p->cit_before : p->cit1;
                recid(w, rec, sizeof rec, "RP", 3, p->idx, (unsigned)++nperm);
                link(o, "permit", rec, p->idx);
                sbuf *b = &o->f[F_PERMITS];
                int swap = p->nreg == NR_EASIA && srng_bern(&r, 0.2);
                if (p->nreg != NR_KERN && srng_bern(&r, 0.3)) {
                    names_variant(&r, p->nreg, p->family, fam);
                } else {
                    name_recorded(&r, p->family, fam, 0.01);
                }
                name_recorded(&r, p->given, giv, 0.01);
                sb_puts(b, rec); sb_sep(b);
                sb_puts(b, cas); sb_sep(b);
                sb_str(b, swap ? giv : fam); sb_sep(b);
                sb_str(b, swap ? fam : giv); sb_sep(b);
                sb_date(b, dob_recorded(&r, p->dob, 0.004, 0.0), DF_YMD); sb_sep(b);
                sb_puts(b, p->sex == 'F' ? "female" : "male"); sb_sep(b);
                sb_puts(b, sy_a3(c)); sb_sep(b);
                sb_puts(b, p->reason == R_WORK ? "RW" : "R"); sb_sep(b);
                sb_puts(b, p->reason == R_FAM ? "10" : p->reason == R_EDUC ? "20" : p->reason == R_WORK ? "30" : "40");
                sb_sep(b);
                sb_putc(b, first ? 'Y' : 'N'); sb_sep(b);
                sb_date(b, from, DF_YMD); sb_sep(b);
                sb_date(b, to, DF_YMD);
                sb_eol(b);
            }
            from = to + 1;
            first = 0;
        }
    }
}

static void student_row(const sy_world *w, const sy_person *p, sy_chunk *o, srng *r, int level,
                        nmdi_date a, nmdi_date b2, int n)
{
    if (a >= w->E || b2 < w->S)
        return;
    sbuf *b = &o->f[F_STUDENTS];
    char rec[40], sur[NAME_MAX_LEN], giv[NAME_MAX_LEN];
    snprintf(rec, sizeof rec, "S%010llu%d", scramble(w, p->idx, 4), n);
    link(o, "student", rec, p->idx);
    name_recorded(r, p->family, sur, 0.01);
    name_recorded(r, p->given, giv, 0.01);
    if (p->nreg != NR_KERN && srng_bern(r, 0.3))
        names_variant(r, p->nreg, p->given, giv);
    char full[2 * NAME_MAX_LEN + 4];
    snprintf(full, sizeof full, "%s, %s", sur, giv);
    int citizen = sy_citizen_on(p, a);
    sb_puts(b, rec); sb_sep(b);
    sb_str(b, full); sb_sep(b);
    sb_date(b, dob_recorded(r, p->dob, 0.01, 0.0), DF_ISO); sb_sep(b);
    sb_putc(b, p->sex == 'F' ? 'f' : 'm'); sb_sep(b);
    sb_puts(b, citizen ? "XN" : sy_a2(p->nat_date != NMDI_DATE_NONE ? p->cit_before : p->cit1)); sb_sep(b);
    sb_int(b, level); sb_sep(b);
    sb_date(b, a, DF_ISO); sb_sep(b);
    if (b2 < w->E)
        sb_date(b, b2, DF_ISO);
    sb_eol(b);
}

static void students(const sy_world *w, const sy_person *p, sy_chunk *o)
{
    srng r = srng_at(w->o.seed, p->idx, 51, 0);
    int n = 0;
    if (p->reason == R_EDUC) {
        for (int e = 0; e < p->nev; e++) {
            const sy_event *ev = &p->ev[e];
            if ((ev->kind == EV_IMM || ev->kind == EV_TMP_IN) && srng_bern(&r, 0.95)) {
                nmdi_date end = stay_end(p, ev->seg, w);
                int age = sy_age_on(p, ev->date);
                student_row(w, p, o, &r, age < 23 ? 6 : age < 27 ? 7 : 8, ev->date + srng_int(&r, 30),
                            end - srng_int(&r, 20), n++);
            }
        }
        return;
    }
    /* residents entering tertiary education */
    nmdi_date at19 = p->dob + (nmdi_date)(19 * 365.25);
    if (at19 + 365 * 5 < w->S || at19 >= w->E || !srng_bern(&r, 0.35) || !sy_resident_on(p, at19))
        return;
    int y = nmdi_date_year(at19);
    nmdi_date a = nmdi_date_from_ymd(y, 10, 1);
    nmdi_date b2 = a + 365 * srng_range(&r, 3, 5) - 100;
    if (p->dod != NMDI_DATE_NONE && b2 > p->dod)
        b2 = p->dod;
    student_row(w, p, o, &r, 6, a, b2, n++);
}

/* ---- labour force survey candidates -------------------------------------------------------- */
static void lfs_candidates(const sy_world *w, const sy_household *h, sy_chunk *o)
{
    nmdi_date L = w->lfs_date;
    if (h->area < 0)
        return;
    int st = h->area * 2 + h->urban;
    int pno = 0;
    for (int k = 0; k < h->n; k++) {
        const sy_person *p = &h->p[k];
        if (!sy_resident_on(p, L))
            continue;
        o->stratum_pop[st] += 1;
        if (!w->ea_selected[h->ea])
            continue;
        if (o->nlfs == o->caplfs) {
            size_t nc = o->caplfs ? o->caplfs * 2 : 256;
            lfs_person *np = realloc(o->lfs, nc * sizeof *np);
            if (!np) {
                o->oom = 1;
                return;
            }
            o->lfs = np;
            o->caplfs = nc;
        }
        lfs_person *q = &o->lfs[o->nlfs++];
        memset(q, 0, sizeof *q);
        q->hid = h->hid;
        q->idx = p->idx;
        q->ea = h->ea;
        q->stratum = st;
        q->pno = ++pno;
        q->sex = p->sex;
        q->age = sy_age_on(p, L);
        q->cob = p->cob;
        q->cit = sy_citizen_on(p, L) ? C_XKN : (p->nat_date != NMDI_DATE_NONE ? p->cit_before : p->cit1);
        q->yrs = -1;
        for (int e = 0; e < p->nev; e++)
            if (p->ev[e].kind == EV_IMM && p->ev[e].date <= L)
                q->yrs = (int)((L - p->ev[e].date) / 365.25);
        sy_labour(w, p, L, &q->ilo, &q->educ);
        q->isced = p->isced;
        q->isco = q->ilo == LF_EMP ? p->isco : -1;
        q->area = h->area;
        q->urban = h->urban;
    }
}

/* ---- the chunk ------------------------------------------------------------------------------ */
void sy_chunk_run(const sy_world *w, uint64_t chunk, sy_chunk *o)
{
    uint64_t first = chunk * SY_CHUNK;
    uint64_t last = first + SY_CHUNK;
    if (last > w->o.persons)
        last = w->o.persons;
    sy_household *h = malloc(sizeof *h);
    if (!h) {
        o->oom = 1;
        return;
    }
    uint64_t idx = first;
    for (uint64_t j = 0; idx < last; j++) {
        sy_household_make(w, chunk, j, idx, (int)(last - idx), h);
        idx += (uint64_t)h->n;
        o->households++;
        o->persons += (uint64_t)h->n;
        sbuf *b = &o->f[F_HOUSEHOLDS];
        hid(b, h->hid); sb_sep(b);
        sb_puts(b, type_code[h->type]); sb_sep(b);
        sb_puts(b, h->area >= 0 ? sy_areas[h->area].code : ""); sb_sep(b);
        if (h->ea >= 0)
            sb_int(b, h->ea);
        sb_sep(b);
        if (h->area >= 0)
            sb_int(b, h->urban);
        sb_sep(b);
        sb_puts(b, sy_a3(h->origin));
        sb_eol(b);
        census(w, h, o);
        lfs_candidates(w, h, o);
        for (int k = 0; k < h->n; k++) {
            const sy_person *p = &h->p[k];
            truth_person(w, h, p, o);
            border(w, h, p, o);
            registers(w, h, p, o);
            permits(w, h, p, o);
            students(w, p, o);
            if (w->o.mobile_share > 0)
                sy_mobile_person(w, h, p, o);
        }
    }
    if (w->o.mobile_share > 0)
        sy_mobile_machines(w, chunk, last - first, o);
    free(h);
    for (int f = 0; f < F_COUNT; f++)
        if (o->f[f].oom)
            o->oom = 1;
}

void sy_chunk_free(sy_chunk *c)
{
    for (int f = 0; f < F_COUNT; f++)
        sb_free(&c->f[f]);
    free(c->lfs);
    memset(c, 0, sizeof *c);
}
