/*
 * infra.c — the estimate stage over an infrastructure (nmdi/estimate.h):
 * reads the table declarations (configuration `tables:` or the defaults
 * below), computes each table from the store with the tabulation engine,
 * the survey engine or the mobile derivation, and writes cubes with their
 * metadata to DIR/work/estimates/ (each file atomically).
 *
 * The "person view" turns a person record of any source (census, survey,
 * register) into the concepts tables are made of: SEX, AGE (5-year groups),
 * COUNTRY_OF_BIRTH, CITIZENSHIP, MIGRATORY_STATUS (the 2×2 of STANDARDS.md
 * §2 by nmdi_derive_migratory_status), REF_AREA, EDUCATION (ISCED 2011
 * aggregates), LABOUR_STATUS, ARRIVAL (years since arrival, grouped),
 * REGION_OF_BIRTH (UN M49 region).
 */
#include "nmdi/catalog.h"
#include "nmdi/codes.h"
#include "nmdi/config.h"
#include "nmdi/csv.h"
#include "nmdi/cube.h"
#include "nmdi/derive.h"
#include "nmdi/estimate.h"
#include "nmdi/mobile.h"
#include "nmdi/store.h"
#include "nmdi/survey.h"
#include "nmdi/tabulate.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "infra_internal.h"




void nmdi_est_fcol_open(fcol *c, const nmdi_dataset *ds, size_t part, const char *name)
{
    memset(c, 0, sizeof *c);
    int i = nmdi_dataset_find(ds, name);
    if (i < 0)
        return;
    nmdi_error e;
    c->type = nmdi_dataset_field(ds, (size_t)i)->type;
    int rc = 0;
    switch (c->type) {
    case NMDI_COL_I32:
    case NMDI_COL_DATE:
    case NMDI_COL_CODE:
        rc = nmdi_dataset_i32(ds, part, name, &c->i32, &e);
        if (c->type == NMDI_COL_CODE)
            c->dict = nmdi_dataset_dict(ds, name, &c->ndict);
        break;
    case NMDI_COL_I64: rc = nmdi_dataset_i64(ds, part, name, &c->i64, &e); break;
    case NMDI_COL_F64: rc = nmdi_dataset_f64(ds, part, name, &c->f64, &e); break;
    case NMDI_COL_STR: rc = nmdi_dataset_str(ds, part, name, &c->off, &c->bytes, &e); break;
    case NMDI_COL_BYTES: rc = -1; break; /* byte strings (Bloom filters): not read here */
    }
    c->present = rc == 0;
}

/* The value as text ("" when missing). The pointer is valid until the next call. */
const char *nmdi_est_fcol_str(fcol *c, size_t r)
{
    if (!c->present)
        return "";
    switch (c->type) {
    case NMDI_COL_CODE: {
        int32_t k = c->i32[r];
        return k >= 0 && (size_t)k < c->ndict ? c->dict[k] : "";
    }
    case NMDI_COL_I32:
        if (c->i32[r] == NMDI_I32_NONE)
            return "";
        snprintf(c->buf, sizeof c->buf, "%d", c->i32[r]);
        return c->buf;
    case NMDI_COL_DATE:
        nmdi_date_format(c->i32[r], c->buf);
        return c->buf;
    case NMDI_COL_I64:
        if (c->i64[r] == NMDI_I64_NONE)
            return "";
        snprintf(c->buf, sizeof c->buf, "%lld", (long long)c->i64[r]);
        return c->buf;
    case NMDI_COL_F64:
        if (isnan(c->f64[r]))
            return "";
        nmdi_fmt_double(c->f64[r], c->buf);
        return c->buf;
    case NMDI_COL_STR: {
        size_t n = (size_t)(c->off[r + 1] - c->off[r]);
        if (n >= sizeof c->buf)
            n = sizeof c->buf - 1;
        memcpy(c->buf, c->bytes + c->off[r], n);
        c->buf[n] = 0;
        return c->buf;
    }
    case NMDI_COL_BYTES: break;
    }
    return "";
}

/* Integer value, INT32_MIN when missing or not a number. */
int32_t nmdi_est_fcol_int(fcol *c, size_t r)
{
    if (!c->present)
        return INT32_MIN;
    if (c->type == NMDI_COL_I32 || c->type == NMDI_COL_DATE)
        return c->i32[r];
    if (c->type == NMDI_COL_I64)
        return c->i64[r] == NMDI_I64_NONE ? INT32_MIN : (int32_t)c->i64[r];
    if (c->type == NMDI_COL_F64)
        return isnan(c->f64[r]) ? INT32_MIN : (int32_t)c->f64[r];
    const char *s = nmdi_est_fcol_str(c, r);
    int64_t v;
    return nmdi_parse_int64(s, &v) == 0 ? (int32_t)v : INT32_MIN;
}

double nmdi_est_fcol_f64(fcol *c, size_t r)
{
    if (!c->present)
        return NAN;
    if (c->type == NMDI_COL_F64)
        return c->f64[r];
    int32_t v = nmdi_est_fcol_int(c, r);
    return v == INT32_MIN ? NAN : (double)v;
}

/* ---- the person view -------------------------------------------------------------- */
typedef struct pcols {
    fcol sex, age, dob, cob, cit, cit2, mob, fob, area, arr, educ, lab, inedu, weight, stratum,
        psu, rkey, ref, cor, prev;
} pcols;

static void pcols_open(pcols *p, const nmdi_dataset *ds, size_t part)
{
    nmdi_est_fcol_open(&p->sex, ds, part, "sex");
    nmdi_est_fcol_open(&p->age, ds, part, "age");
    nmdi_est_fcol_open(&p->dob, ds, part, "date_of_birth");
    nmdi_est_fcol_open(&p->cob, ds, part, "country_of_birth");
    nmdi_est_fcol_open(&p->cit, ds, part, "citizenship");
    nmdi_est_fcol_open(&p->cit2, ds, part, "citizenship2");
    nmdi_est_fcol_open(&p->mob, ds, part, "country_of_birth_mother");
    nmdi_est_fcol_open(&p->fob, ds, part, "country_of_birth_father");
    nmdi_est_fcol_open(&p->area, ds, part, "area");
    nmdi_est_fcol_open(&p->arr, ds, part, "arrival_year");
    nmdi_est_fcol_open(&p->educ, ds, part, "education");
    nmdi_est_fcol_open(&p->lab, ds, part, "labour_status");
    nmdi_est_fcol_open(&p->inedu, ds, part, "in_education");
    nmdi_est_fcol_open(&p->weight, ds, part, "weight");
    nmdi_est_fcol_open(&p->stratum, ds, part, "stratum");
    nmdi_est_fcol_open(&p->psu, ds, part, "psu");
    nmdi_est_fcol_open(&p->rkey, ds, part, "record_key");
    nmdi_est_fcol_open(&p->ref, ds, part, "reference_date");
    nmdi_est_fcol_open(&p->cor, ds, part, "country_of_residence");
    /* country of previous usual residence: asked directly, else the census
     * question on the residence one year before */
    nmdi_est_fcol_open(&p->prev, ds, part, "previous_residence");
    if (!p->prev.present)
        nmdi_est_fcol_open(&p->prev, ds, part, "residence_1y_ago");
}

typedef struct pview {
    char sex[4], agegrp[12], cob[8], cit[8], ms[12], nativity[4], citizen[6], citgroup[6],
        area[32], educ[8], lab[6], arrival[12], region[8], cor[8], prev[8], yoa[12];
    int age;
    int8_t foreign_born, non_citizen, recent_immigrant;
    double weight, rkey;
} pview;

static void copy(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s && *s ? s : "_U");
}

static void person_view(pcols *p, size_t r, const char *country, int ref_year, pview *v)
{
    copy(v->sex, sizeof v->sex, nmdi_est_fcol_str(&p->sex, r));
    if (strcmp(v->sex, "F") != 0 && strcmp(v->sex, "M") != 0)
        strcpy(v->sex, "_U");
    int age = nmdi_est_fcol_int(&p->age, r);
    if (age == INT32_MIN && p->dob.present && p->dob.i32[r] != NMDI_DATE_NONE && ref_year > 0)
        age = ref_year - nmdi_date_year(p->dob.i32[r]);
    v->age = age == INT32_MIN ? -1 : age;
    copy(v->agegrp, sizeof v->agegrp, nmdi_age_group5(v->age));
    char cob[8], cit[8], cit2[8], mob[8], fob[8];
    snprintf(cob, sizeof cob, "%s", nmdi_est_fcol_str(&p->cob, r));
    snprintf(cit, sizeof cit, "%s", nmdi_est_fcol_str(&p->cit, r));
    snprintf(cit2, sizeof cit2, "%s", nmdi_est_fcol_str(&p->cit2, r));
    snprintf(mob, sizeof mob, "%s", nmdi_est_fcol_str(&p->mob, r));
    snprintf(fob, sizeof fob, "%s", nmdi_est_fcol_str(&p->fob, r));
    nmdi_person_origin o;
    memset(&o, 0, sizeof o);
    o.country = country;
    o.birth = cob;
    o.citizenship = cit;
    o.citizenship2 = cit2[0] ? cit2 : NULL;
    o.mother_birth = mob;
    o.father_birth = fob;
    int arr = nmdi_est_fcol_int(&p->arr, r);
    o.arrival_year = arr == INT32_MIN ? 0 : arr;
    o.ref = ref_year > 0 ? nmdi_date_from_ymd(ref_year, 7, 1) : NMDI_DATE_NONE;
    nmdi_migratory_status ms;
    nmdi_derive_migratory_status(&o, &ms);
    copy(v->ms, sizeof v->ms, ms.status);
    copy(v->citgroup, sizeof v->citgroup, ms.citgroup);
    v->foreign_born = ms.foreign_born;
    v->non_citizen = ms.non_citizen;
    strcpy(v->nativity, ms.foreign_born == 1 ? "FB" : ms.foreign_born == 0 ? "NB" : "_U");
    strcpy(v->citizen, ms.non_citizen == 1 ? "NCIT" : ms.non_citizen == 0 ? "CIT" : "_U");
    copy(v->cob, sizeof v->cob, cob);
    copy(v->cit, sizeof v->cit, cit);
    copy(v->area, sizeof v->area, nmdi_est_fcol_str(&p->area, r));
    copy(v->cor, sizeof v->cor, nmdi_est_fcol_str(&p->cor, r));
    const char *e = nmdi_est_fcol_str(&p->educ, r);
    const nmdi_code *ec = nmdi_codes_find(nmdi_codes_get("isced"), e);
    copy(v->educ, sizeof v->educ, ec && ec->parent && strcmp(ec->parent, "_T") ? ec->parent : NULL);
    copy(v->lab, sizeof v->lab, nmdi_est_fcol_str(&p->lab, r));
    if (ms.foreign_born == 1 && arr != INT32_MIN && ref_year > 0) {
        int d = ref_year - arr;
        snprintf(v->arrival, sizeof v->arrival, "%s",
                 d < 5 ? "Y_LT5" : d < 10 ? "Y5T9" : d < 20 ? "Y10T19" : "Y_GE20");
    } else {
        strcpy(v->arrival, ms.foreign_born == 1 ? "_U" : "_Z");
    }
    /* year of arrival of the foreign-born (single years), and immigrants of
     * the last 12 months: usual residence one year before abroad */
    if (ms.foreign_born == 1 && arr != INT32_MIN)
        snprintf(v->yoa, sizeof v->yoa, "%d", arr);
    else
        strcpy(v->yoa, ms.foreign_born == 1 ? "_U" : "_Z");
    copy(v->prev, sizeof v->prev, nmdi_est_fcol_str(&p->prev, r));
    v->recent_immigrant = strcmp(v->prev, "_U") != 0 && strcmp(v->prev, country) != 0;
    const nmdi_country *cc = nmdi_country_find(cob);
    copy(v->region, sizeof v->region, cc && cc->region[0] ? cc->region : NULL);
    double w = nmdi_est_fcol_f64(&p->weight, r);
    v->weight = isnan(w) ? 1.0 : w;
    v->rkey = nmdi_est_fcol_f64(&p->rkey, r);
}

static const char *concept(const pview *v, const char *c)
{
    if (!strcmp(c, "SEX")) return v->sex;
    if (!strcmp(c, "AGE")) return v->agegrp;
    if (!strcmp(c, "COUNTRY_OF_BIRTH")) return v->cob;
    if (!strcmp(c, "CITIZENSHIP")) return v->cit;
    if (!strcmp(c, "MIGRATORY_STATUS")) return v->ms;
    if (!strcmp(c, "CITIZENSHIP_GROUP")) return v->citgroup;
    if (!strcmp(c, "REF_AREA")) return v->area;
    if (!strcmp(c, "EDUCATION")) return v->educ;
    if (!strcmp(c, "LABOUR_STATUS")) return v->lab;
    if (!strcmp(c, "ARRIVAL")) return v->arrival;
    if (!strcmp(c, "REGION_OF_BIRTH")) return v->region;
    if (!strcmp(c, "NATIVITY")) return v->nativity;
    if (!strcmp(c, "COUNTRY_OF_RESIDENCE")) return v->cor;
    if (!strcmp(c, "COUNTRY_OF_PREV_RES")) return v->prev;
    if (!strcmp(c, "YEAR_OF_ARRIVAL")) return v->yoa;
    return NULL;
}

/* A dimension is written DIM or DIM=CONCEPT (the dimension DIM takes the
 * values of CONCEPT, e.g. MIGRATORY_STATUS=NATIVITY for NB/FB only). */
static const char *concept_of(const char *dim)
{
    const char *eq = strchr(dim, '=');
    return eq ? eq + 1 : dim;
}

static int known_concept(const char *c)
{
    static const pview z;
    return concept(&z, concept_of(c)) != NULL;
}


/* Open the latest version of a dataset; 1 opened, 0 none, <0 error. */
int nmdi_est_open_latest(stage *s, const char *dataset, nmdi_dataset **ds, nmdi_dsversion *v,
                       nmdi_error *err)
{
    int rc = nmdi_catalog_latest(s->cat, dataset, v, s->arena, err);
    if (rc <= 0)
        return rc;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", s->dir, v->path);
    return nmdi_dataset_open(ds, path, err) == 0 ? 1 : -1;
}

static int ref_year_of(const tdecl *t, nmdi_dataset *ds, const nmdi_dsversion *v)
{
    if (t->reference_period && atoi(t->reference_period) > 0)
        return atoi(t->reference_period);
    /* the reference date of the records, else the year of the load */
    for (size_t part = 0; part < nmdi_dataset_nparts(ds); part++) {
        fcol c;
        nmdi_est_fcol_open(&c, ds, part, "reference_date");
        for (size_t r = 0; c.present && r < nmdi_dataset_part_rows(ds, part); r++)
            if (c.i32[r] != NMDI_DATE_NONE)
                return nmdi_date_year(c.i32[r]);
    }
    return v->loaded_at ? atoi(v->loaded_at) : 0;
}

/* ---- metadata ---------------------------------------------------------------------------- */
int nmdi_est_write_table_p(stage *s, const tdecl *t, nmdi_cube *cube, const char *source_desc,
                         const char *method, const char *refperiod, const char *protect,
                         nmdi_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/work/estimates/%s.csv", s->dir, t->id);
    int rc = nmdi_cube_save(cube, path, err);
    if (rc)
        return rc;
    json_t *dims = json_array();
    for (size_t i = 0; i < nmdi_cube_ndims(cube); i++)
        json_array_append_new(dims, json_string(nmdi_cube_dim(cube, i)));
    json_t *m = json_pack("{s:s, s:{s:s,s:s}, s:{s:s,s:s}, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
                          "id", t->id, "name", "en", t->name_en, "zh", t->name_zh ? t->name_zh : t->name_en,
                          "description", "en", t->desc_en ? t->desc_en : "", "zh",
                          t->desc_zh ? t->desc_zh : (t->desc_en ? t->desc_en : ""),
                          "dimensions", dims, "unit", t->unit ? t->unit : "PS", "measure",
                          strcmp(t->kind, "survey_ratio") == 0 ? "rate" : "count", "source", source_desc,
                          "method", method, "reference_period", refperiod, "topic",
                          t->topic ? t->topic : "stock", "cells", (json_int_t)nmdi_cube_ncells(cube));
    if (protect)
        json_object_set_new(m, "protect", json_pack("{s:s}", "method", protect));
    if (s->meta_extra) {
        json_object_update(m, (json_t *)s->meta_extra);
        json_decref((json_t *)s->meta_extra);
        s->meta_extra = NULL;
    }
    char *txt = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(m);
    if (!txt)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    snprintf(path, sizeof path, "%s/work/estimates/%s.json", s->dir, t->id);
    rc = nmdi_write_file_atomic(path, txt, strlen(txt), err);
    free(txt);
    if (!rc) {
        s->sum->ntables++;
        s->sum->ncells += nmdi_cube_ncells(cube);
        nmdi_note(s->ctx, "  %-20s %6zu cells  %s", t->id, nmdi_cube_ncells(cube), t->name_en);
    }
    return rc;
}

int nmdi_est_write_table(stage *s, const tdecl *t, nmdi_cube *cube, const char *source_desc,
                       const char *method, const char *refperiod, nmdi_error *err)
{
    return nmdi_est_write_table_p(s, t, cube, source_desc, method, refperiod, NULL, err);
}

/* ---- kind: count ------------------------------------------------------------------------------ */
static int table_count(stage *s, const tdecl *t, nmdi_error *err)
{
    nmdi_dataset *ds;
    nmdi_dsversion v;
    int rc = nmdi_est_open_latest(s, t->source, &ds, &v, err);
    if (rc <= 0)
        return rc;
    int ref_year = ref_year_of(t, ds, &v);
    nmdi_tab *tab = nmdi_tab_new(t->ndims);
    if (!tab) {
        nmdi_dataset_close(ds);
        return -nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    int weighted = 0, unit_weights = 1;
    rc = 0;
    for (size_t part = 0; part < nmdi_dataset_nparts(ds) && !rc; part++) {
        pcols pc;
        pcols_open(&pc, ds, part);
        weighted |= pc.weight.present;
        for (size_t r = 0; r < nmdi_dataset_part_rows(ds, part) && !rc; r++) {
            pview pv;
            person_view(&pc, r, s->cfg->country_code, ref_year, &pv);
            if (t->filter && !strcmp(t->filter, "foreign_born") && pv.foreign_born != 1)
                continue;
            if (t->filter && !strcmp(t->filter, "non_citizen") && pv.non_citizen != 1)
                continue;
            if (t->filter && !strcmp(t->filter, "recent_immigrant") && !pv.recent_immigrant)
                continue;
            const char *codes[MAXDIMS];
            for (size_t d = 0; d < t->ndims; d++)
                codes[d] = concept(&pv, concept_of(t->dims[d]));
            uint64_t rk = 0;
            if (!isnan(pv.rkey))
                nmdi_tab_key_fixed(pv.rkey, &rk);
            if (pv.weight != 1.0)
                unit_weights = 0;
            rc = nmdi_tab_add(tab, codes, NULL, pv.weight, 0, rk);
        }
    }
    nmdi_cube *cube = NULL;
    char dimbuf[MAXDIMS][64];
    const char *dimnames[MAXDIMS];
    for (size_t d = 0; d < t->ndims; d++) {
        const char *eq = strchr(t->dims[d], '=');
        snprintf(dimbuf[d], sizeof dimbuf[d], "%.*s", eq ? (int)(eq - t->dims[d]) : 63, t->dims[d]);
        dimnames[d] = dimbuf[d];
    }
    if (!rc)
        rc = nmdi_tab_cube(tab, dimnames, NMDI_TAB_COUNT, 1, 1, &cube, err);
    nmdi_tab_free(tab);
    nmdi_dataset_close(ds);
    if (rc)
        return -(err->code ? err->code : NMDI_EINTERNAL);
    char ref[16], src[512];
    snprintf(ref, sizeof ref, "%d", ref_year);
    snprintf(src, sizeof src, "%s (%s), version %lld, %lld records", t->source,
             v.record_type ? v.record_type : "", (long long)v.version, (long long)v.rows);
    /* the cell key method perturbs whole counts; a table of a sample (weights
     * other than 1) is protected by suppression instead */
    rc = nmdi_est_write_table_p(s, t, cube, src,
                       weighted && !unit_weights ? "weighted count of records (sample weights), all margins"
                                                 : "count of records, all margins",
                       ref, weighted && !unit_weights ? "suppress" : NULL, err);
    nmdi_cube_free(cube);
    return rc ? -rc : 1;
}

/* ---- calibration of survey weights to another source's totals ------------------------------ */
#define CAL_MAXM 4
typedef struct cal_plan {
    size_t nm;
    char m[CAL_MAXM][64]; /* margins: concepts joined by '*' */
} cal_plan;

/* Calibration concepts: SEX, AGE (the broad groups of labour force survey
 * weighting: 0-14, 15-24, ..., 55-64, 65+), REF_AREA, NATIVITY. */
static int cal_concept(const char *c, size_t n)
{
    static const char *const known[] = {"SEX", "AGE", "REF_AREA", "NATIVITY", NULL};
    for (size_t i = 0; known[i]; i++)
        if (strlen(known[i]) == n && !strncmp(c, known[i], n))
            return 1;
    return 0;
}

/* Check a margins list ("SEX*AGE,REF_AREA"); fills plan when given.
 * Returns 0 or -1 (bad), with why naming the bad part. */
static int cal_split(const char *list, cal_plan *cp, char *why, size_t wn)
{
    cal_plan tmp;
    if (!cp)
        cp = &tmp;
    memset(cp, 0, sizeof *cp);
    for (const char *p = list; p && *p;) {
        while (*p == ' ')
            p++;
        const char *q = strchr(p, ',');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        while (n && p[n - 1] == ' ')
            n--;
        if (cp->nm == CAL_MAXM || n == 0 || n >= sizeof cp->m[0]) {
            snprintf(why, wn, "at most %d margins, each a concept or concepts joined by '*'", CAL_MAXM);
            return -1;
        }
        memcpy(cp->m[cp->nm], p, n);
        cp->m[cp->nm][n] = 0;
        for (const char *c = cp->m[cp->nm]; *c;) {
            const char *st = strchr(c, '*');
            size_t k = st ? (size_t)(st - c) : strlen(c);
            if (!cal_concept(c, k)) {
                snprintf(why, wn, "unknown calibration concept '%.*s' (known: SEX, AGE, REF_AREA, "
                         "NATIVITY)", (int)k, c);
                return -1;
            }
            c += k + (st != NULL);
        }
        cp->nm++;
        if (!q)
            break;
        p = q + 1;
    }
    if (cp->nm == 0) {
        snprintf(why, wn, "no calibration margin");
        return -1;
    }
    return 0;
}

/* 1 when the table calibrates (plan filled), 0 when not. */
static int cal_parse(const tdecl *t, cal_plan *cp, char *why, size_t wn)
{
    memset(cp, 0, sizeof *cp);
    if (!t->cal_method || !strcmp(t->cal_method, "none") || !t->cal_totals || !t->cal_margins)
        return 0;
    return cal_split(t->cal_margins, cp, why, wn) == 0;
}

static const char *cal_age(int age)
{
    if (age < 0)
        return NULL;
    static const char *const g[] = {"Y0T14", "Y15T24", "Y25T34", "Y35T44", "Y45T54", "Y55T64", "Y_GE65"};
    return age < 15 ? g[0] : age >= 65 ? g[6] : g[(age - 5) / 10];
}

/* The record's category of margin m (codes joined by '_'); 1 when a part is unknown. */
static int cal_code(const pview *v, const char *m, char *buf, size_t n)
{
    buf[0] = 0;
    int missing = 0;
    for (const char *c = m; *c;) {
        const char *st = strchr(c, '*');
        size_t k = st ? (size_t)(st - c) : strlen(c);
        const char *code = NULL;
        if (k == 3 && !strncmp(c, "SEX", 3))
            code = strcmp(v->sex, "_U") ? v->sex : NULL;
        else if (k == 3 && !strncmp(c, "AGE", 3))
            code = cal_age(v->age);
        else if (k == 8 && !strncmp(c, "REF_AREA", 8))
            code = strcmp(v->area, "_U") ? v->area : NULL;
        else if (k == 8 && !strncmp(c, "NATIVITY", 8))
            code = strcmp(v->nativity, "_U") ? v->nativity : NULL;
        if (!code)
            missing = 1;
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", len ? "_" : "", code ? code : "");
        c += k + (st != NULL);
    }
    return missing;
}

/* Population totals of the calibration margins from the source t->cal_totals
 * (its weights applied: a census sample is weighted), records with an
 * unknown category prorated over the known ones so that every margin sums
 * to the population; written as the margins file of nmdi survey --margins
 * to DIR/work/calibration/<TABLE>.csv. Returns 0 (why set when calibration
 * cannot be done: no totals source, a category of the population without
 * sample records or the reverse) or <0 on an internal error. */
static int cal_totals(stage *s, const tdecl *t, const cal_plan *cp, const nmdi_table *tb, size_t ccol,
                      char *path, size_t pn, json_t *info, char *why, size_t wn, nmdi_error *err)
{
    nmdi_dataset *ds;
    nmdi_dsversion v;
    int rc = nmdi_est_open_latest(s, t->cal_totals, &ds, &v, err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        snprintf(why, wn, "no dataset '%s' in the store for the totals", t->cal_totals);
        return 0;
    }
    /* the totals' reference year: that of a table of the same source (the
     * census year of the configuration), else of its records */
    tdecl td;
    memset(&td, 0, sizeof td);
    for (size_t i = 0; i < s->ndecls && !td.reference_period; i++)
        if (!strcmp(s->decls[i].source, t->cal_totals) && s->decls[i].reference_period)
            td.reference_period = s->decls[i].reference_period;
    int ref_year = ref_year_of(&td, ds, &v);
    nmdi_strmap *cat[CAL_MAXM] = {0};
    double *tot[CAL_MAXM] = {0}, known[CAL_MAXM] = {0}, all = 0;
    const char **names[CAL_MAXM] = {0};
    size_t cap = 1024;
    rc = 0;
    for (size_t m = 0; m < cp->nm && !rc; m++) {
        cat[m] = nmdi_strmap_new();
        tot[m] = calloc(cap, sizeof(double));
        names[m] = calloc(cap, sizeof(char *));
        if (!cat[m] || !tot[m] || !names[m])
            rc = -nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t part = 0; part < nmdi_dataset_nparts(ds) && !rc; part++) {
        pcols pc;
        pcols_open(&pc, ds, part);
        for (size_t r = 0; r < nmdi_dataset_part_rows(ds, part) && !rc; r++) {
            pview pv;
            person_view(&pc, r, s->cfg->country_code, ref_year, &pv);
            all += pv.weight;
            for (size_t m = 0; m < cp->nm; m++) {
                char cb[64];
                if (cal_code(&pv, cp->m[m], cb, sizeof cb))
                    continue;
                int ins;
                int64_t *ix = nmdi_strmap_put(cat[m], cb, strlen(cb), &ins);
                if (!ix) {
                    rc = -nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                    break;
                }
                if (ins) {
                    *ix = (int64_t)nmdi_strmap_count(cat[m]) - 1;
                    if ((size_t)*ix >= cap) {
                        rc = -nmdi_error_set(err, NMDI_EDATA, "calibration margin %s has more than "
                                             "%zu categories", cp->m[m], cap);
                        break;
                    }
                    names[m][*ix] = nmdi_arena_strdup(s->arena, cb);
                }
                tot[m][*ix] += pv.weight;
                known[m] += pv.weight;
            }
        }
    }
    nmdi_dataset_close(ds);
    /* every sample category has a population total and every populated
     * category has sample records (else R's calibrate cannot be met either) */
    char *seen = calloc(cap * CAL_MAXM, 1);
    if (!rc && !seen)
        rc = -nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    for (size_t m = 0; m < cp->nm && !rc && !why[0]; m++) {
        for (size_t i = 0; i < tb->nrows && !why[0]; i++) {
            const char *c = tb->cells[i * tb->ncols + ccol + m];
            int64_t *ix = nmdi_strmap_get(cat[m], c, strlen(c));
            if (!ix)
                snprintf(why, wn, "sample category %s of %s has no population total in %s", c,
                         cp->m[m], t->cal_totals);
            else
                seen[m * cap + (size_t)*ix] = 1;
        }
        for (size_t k = 0; k < nmdi_strmap_count(cat[m]) && !why[0]; k++)
            if (!seen[m * cap + k] && tot[m][k] > 0)
                snprintf(why, wn, "category %s of %s has no sample record", names[m][k], cp->m[m]);
    }
    free(seen);
    size_t blen = 64;
    for (size_t m = 0; m < cp->nm && !rc; m++)
        blen += nmdi_strmap_count(cat[m]) * 96;
    char *buf = !rc && !why[0] ? malloc(blen) : NULL;
    if (!rc && !why[0] && !buf)
        rc = -nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    if (buf) {
        size_t len = (size_t)snprintf(buf, blen, "variable,category,total\n");
        for (size_t m = 0; m < cp->nm; m++) {
            double f = known[m] > 0 ? all / known[m] : 1;
            for (size_t k = 0; k < nmdi_strmap_count(cat[m]); k++) {
                char num[40];
                nmdi_fmt_double(tot[m][k] * f, num);
                len += (size_t)snprintf(buf + len, blen - len, "CAL%zu,%s,%s\n", m + 1, names[m][k], num);
            }
        }
        snprintf(path, pn, "%s/work/calibration", s->dir);
        mkdir(path, 0755);
        snprintf(path, pn, "%s/work/calibration/%s.csv", s->dir, t->id);
        if (nmdi_write_file_atomic(path, buf, len, err))
            rc = -(err->code ? err->code : NMDI_EINTERNAL);
        free(buf);
        char src[256], rel[256];
        snprintf(src, sizeof src, "%s version %lld (%lld records)", t->cal_totals,
                 (long long)v.version, (long long)v.rows);
        snprintf(rel, sizeof rel, "work/calibration/%s.csv", t->id);
        json_object_set_new(info, "totals_source", json_string(src));
        json_object_set_new(info, "population", json_real(all));
        json_object_set_new(info, "margins_file", json_string(rel));
    }
    for (size_t m = 0; m < cp->nm; m++) {
        nmdi_strmap_free(cat[m]);
        free(tot[m]);
        free(names[m]);
    }
    return rc;
}

/* ---- kind: survey_ratio ------------------------------------------------------------------------ */
static int in_population(const char *pop, const pview *v)
{
    if (!pop || !strcmp(pop, "all"))
        return 1;
    if (!strcmp(pop, "age15plus"))
        return v->age >= 15;
    if (!strcmp(pop, "age15to24"))
        return v->age >= 15 && v->age <= 24;
    if (!strcmp(pop, "age25to64"))
        return v->age >= 25 && v->age <= 64;
    return 0;
}

/* 1, 0, or -1 (missing) for the survey variables */
static int survey_var(const char *name, const pview *v, int in_edu)
{
    int emp = !strcmp(v->lab, "EMP"), une = !strcmp(v->lab, "UNE"), olf = !strcmp(v->lab, "OLF");
    if (!strcmp(name, "one"))
        return 1;
    if (!strcmp(name, "unemployed"))
        return emp || une ? une : 0;
    if (!strcmp(name, "labour_force"))
        return emp || une ? 1 : olf ? 0 : -1;
    if (!strcmp(name, "employed"))
        return emp || une || olf ? emp : -1;
    if (!strcmp(name, "youth"))
        return v->age >= 15 && v->age <= 24;
    if (!strcmp(name, "neet"))
        return emp ? 0 : in_edu < 0 ? -1 : !in_edu;
    if (!strcmp(name, "tertiary"))
        return strcmp(v->educ, "_U") ? !strcmp(v->educ, "ED5-8") : -1;
    return -2;
}

static int table_survey(stage *s, const tdecl *t, nmdi_error *err)
{
    if (survey_var(t->numerator, &(pview){0}, 0) == -2 ||
        survey_var(t->denominator, &(pview){0}, 0) == -2)
        return -nmdi_error_at(err, NMDI_EDATA, s->cfg->path, t->line, "numerator",
                              "table %s: unknown survey variable (known: unemployed, "
                              "labour_force, employed, youth, neet, tertiary, one)", t->id);
    nmdi_dataset *ds;
    nmdi_dsversion v;
    int rc = nmdi_est_open_latest(s, t->source, &ds, &v, err);
    if (rc <= 0)
        return rc;
    int ref_year = ref_year_of(t, ds, &v);
    /* an in-memory table of strings for the survey engine: every record stays
     * (domains never drop rows); outside the population num = den = 0 */
    uint64_t nrows = nmdi_dataset_rows(ds);
    enum { C_STRATUM, C_PSU, C_W, C_NAT, C_CIT, C_SEX, C_NUM, C_DEN, C_CAL, NC = C_CAL + CAL_MAXM };
    static const char *const names[NC] = {"stratum", "psu", "weight", "NATIVITY", "CITIZEN", "SEX",
                                          "num", "den", "CAL1", "CAL2", "CAL3", "CAL4"};
    cal_plan cp;
    char why[256] = "";
    int cal = cal_parse(t, &cp, why, sizeof why);
    nmdi_table tb;
    memset(&tb, 0, sizeof tb);
    tb.arena = nmdi_arena_new(1 << 20);
    tb.ncols = NC;
    tb.names = (char **)names;
    tb.path = (char *)t->source;
    tb.cells = tb.arena ? nmdi_arena_calloc(tb.arena, (size_t)nrows * NC + 1, sizeof(char *)) : NULL;
    tb.lines = tb.arena ? nmdi_arena_calloc(tb.arena, (size_t)nrows + 1, sizeof(long)) : NULL;
    if (!tb.cells || !tb.lines) {
        nmdi_arena_free(tb.arena);
        nmdi_dataset_close(ds);
        return -nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    size_t n = 0;
    for (size_t part = 0; part < nmdi_dataset_nparts(ds); part++) {
        pcols pc;
        pcols_open(&pc, ds, part);
        for (size_t r = 0; r < nmdi_dataset_part_rows(ds, part); r++) {
            pview pv;
            person_view(&pc, r, s->cfg->country_code, ref_year, &pv);
            int in_edu = nmdi_est_fcol_int(&pc.inedu, r);
            in_edu = in_edu == INT32_MIN ? -1 : in_edu != 0;
            int inpop = in_population(t->population, &pv);
            int num = survey_var(t->numerator, &pv, in_edu);
            int den = survey_var(t->denominator, &pv, in_edu);
            const char **row = &tb.cells[n * NC];
            row[C_STRATUM] = nmdi_arena_strdup(tb.arena, nmdi_est_fcol_str(&pc.stratum, r));
            row[C_PSU] = nmdi_arena_strdup(tb.arena, nmdi_est_fcol_str(&pc.psu, r));
            char wb[32];
            nmdi_fmt_double(pv.weight, wb);
            row[C_W] = nmdi_arena_strdup(tb.arena, wb);
            row[C_NAT] = nmdi_arena_strdup(tb.arena, pv.nativity);
            row[C_CIT] = nmdi_arena_strdup(tb.arena, pv.citizen);
            for (size_t m = 0; m < CAL_MAXM; m++) {
                char cb[64] = "";
                if (cal && m < cp.nm && cal_code(&pv, cp.m[m], cb, sizeof cb) && !why[0])
                    snprintf(why, sizeof why, "a sample record has no %s", cp.m[m]);
                row[C_CAL + m] = nmdi_arena_strdup(tb.arena, cb);
            }
            row[C_SEX] = nmdi_arena_strdup(tb.arena, pv.sex);
            /* outside the population, and where a value is missing inside it, the
             * variables are missing (NA): the record stays in the design (strata and
             * PSUs count for the variance) but not in the domain, as R's svyratio
             * with na.rm = TRUE on a subset of the design */
            row[C_NUM] = !inpop || num < 0 || den < 0 ? "" : num ? "1" : "0";
            row[C_DEN] = !inpop || num < 0 || den < 0 ? "" : den ? "1" : "0";
            tb.lines[n] = (long)n + 2;
            n++;
        }
    }
    tb.nrows = n;
    nmdi_dataset_close(ds);
    nmdi_svy_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.ids[0] = "psu";
    spec.nids = 1;
    spec.strata = "stratum";
    spec.weights = "weight";
    spec.nest = 1;
    spec.lonely = NMDI_SVY_LONELY_ADJUST;
    nmdi_svy_design *d = NULL;
    /* calibration to the totals of another source (integration of sources);
     * when it cannot be done the design weights are used and the metadata
     * say why */
    char mpath[4200] = "";
    json_t *calinfo = NULL;
    if (cal) {
        calinfo = json_pack("{s:s, s:s, s:s}", "method", t->cal_method, "totals", t->cal_totals,
                            "margins", t->cal_margins);
        if (!why[0] && cal_totals(s, t, &cp, &tb, C_CAL, mpath, sizeof mpath, calinfo, why,
                                  sizeof why, err) < 0) {
            json_decref(calinfo);
            nmdi_arena_free(tb.arena);
            return -(err->code ? err->code : NMDI_EINTERNAL);
        }
        if (!why[0]) {
            spec.calibrate = !strcmp(t->cal_method, "linear") ? NMDI_SVY_CAL_LINEAR : NMDI_SVY_CAL_RAKING;
            spec.margins = mpath;
            nmdi_error cerr;
            nmdi_error_clear(&cerr);
            if (nmdi_svy_design_new(&d, &tb, &spec, &cerr) != 0) {
                snprintf(why, sizeof why, "%.200s", cerr.msg);
                d = NULL;
                spec.calibrate = NMDI_SVY_CAL_NONE;
                spec.margins = NULL;
            }
        }
        json_object_set_new(calinfo, "status", json_string(why[0] ? "not calibrated" : "calibrated"));
        if (why[0]) {
            json_object_set_new(calinfo, "reason", json_string(why));
            nmdi_note(s->ctx, "  %-20s not calibrated: %s; design weights used", t->id, why);
        }
    }
    rc = d ? 0 : nmdi_svy_design_new(&d, &tb, &spec, err);
    nmdi_cube *cube = NULL;
    static const char *const cdims[] = {"MIGRATORY_STATUS", "SEX"};
    if (!rc && !(cube = nmdi_cube_new(2, cdims)))
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    /* MIGRATORY_STATUS codes NB/FB (nativity) and CIT/NCIT side by side */
    static const struct {
        const char *by[2];
        size_t nby;
        int ms_from; /* index of by giving MIGRATORY_STATUS, -1 → _T */
        int sex_from;
    } groups[] = {
        {{"NATIVITY", "SEX"}, 2, 0, 1}, {{"CITIZEN", "SEX"}, 2, 0, 1}, {{"NATIVITY", NULL}, 1, 0, -1},
        {{"CITIZEN", NULL}, 1, 0, -1},  {{"SEX", NULL}, 1, -1, 0},     {{NULL, NULL}, 0, -1, -1},
    };
    nmdi_svy_request req = {NMDI_SVY_RATIO, "num", "den"};
    for (size_t g = 0; !rc && g < sizeof groups / sizeof groups[0]; g++) {
        nmdi_svy_result *res = NULL;
        rc = nmdi_svy_estimate(d, &req, 1, groups[g].by, groups[g].nby, &res, err);
        for (size_t i = 0; !rc && i < res->nrows; i++) {
            const nmdi_svy_row *row = &res->rows[i];
            const char *codes[2] = {groups[g].ms_from >= 0 ? row->domain[groups[g].ms_from] : "_T",
                                    groups[g].sex_from >= 0 ? row->domain[groups[g].sex_from] : "_T"};
            if (!strcmp(codes[0], "_U") || !strcmp(codes[1], "_U"))
                continue;
            nmdi_cell cell;
            nmdi_cell_init(&cell);
            double k = !strcmp(t->unit ? t->unit : "PT", "PT") ? 100.0 : 1.0;
            cell.value = row->estimate * k;
            cell.se = row->se * k;
            cell.cv = row->cv;
            cell.ci_low = row->ci_low * k;
            cell.ci_high = row->ci_high * k;
            cell.n = row->n;
            strcpy(cell.obs_status, isnan(row->estimate) ? NMDI_OBS_MISSING : NMDI_OBS_ESTIMATED);
            if (nmdi_cube_add(cube, codes, &cell))
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
        nmdi_svy_result_free(res);
    }
    nmdi_svy_design_free(d);
    nmdi_arena_free(tb.arena);
    if (rc) {
        nmdi_cube_free(cube);
        json_decref(calinfo);
        return -rc;
    }
    nmdi_cube_sort(cube);
    char ref[16], src[512], method[1024], calm[512] = "";
    if (calinfo && spec.calibrate != NMDI_SVY_CAL_NONE)
        snprintf(calm, sizeof calm, "; weights calibrated (%s, as R's calibrate) to the population "
                 "totals of %s by %s, and SEs from the residuals of the calibration", t->cal_method,
                 t->cal_totals, t->cal_margins);
    else if (calinfo)
        snprintf(calm, sizeof calm, "; weights not calibrated (%s)", why);
    snprintf(ref, sizeof ref, "%d", ref_year);
    snprintf(src, sizeof src, "%s (survey), version %lld, %lld records", t->source,
             (long long)v.version, (long long)v.rows);
    snprintf(method, sizeof method,
             "ratio %s/%s over %s; stratified two-stage design (strata, PSUs, weights), Taylor "
             "linearisation, 95%% normal confidence interval; lonely PSUs centred (adjust)%s",
             t->numerator, t->denominator, t->population ? t->population : "all", calm);
    s->meta_extra = calinfo ? json_pack("{s:o}", "calibration", calinfo) : NULL;
    rc = nmdi_est_write_table(s, t, cube, src, method, ref, err);
    nmdi_cube_free(cube);
    return rc ? -rc : 1;
}

/* Burn-in: before a traveller's first crossing in the data, residence is
 * inferred from that crossing (STANDARDS.md §4 rule 1), which turns the
 * return of residents from trips early in the data into spurious
 * immigrations. Flows derived from border crossings are therefore counted
 * from the first whole calendar year starting at least one year after the
 * first crossing of the data. */
nmdi_date nmdi_est_burn_in(stage *s, nmdi_error *err)
{
    nmdi_date burn_in = NMDI_DATE_NONE;
    nmdi_dataset *cr;
    nmdi_dsversion cv;
    if (nmdi_est_open_latest(s, "crossing_residence", &cr, &cv, err) == 1) {
        nmdi_date first = NMDI_DATE_NONE;
        for (size_t part = 0; part < nmdi_dataset_nparts(cr); part++) {
            fcol dc;
            nmdi_est_fcol_open(&dc, cr, part, "date");
            for (size_t r = 0; dc.present && r < nmdi_dataset_part_rows(cr, part); r++)
                if (dc.i32[r] != NMDI_DATE_NONE && (first == NMDI_DATE_NONE || dc.i32[r] < first))
                    first = dc.i32[r];
        }
        nmdi_dataset_close(cr);
        if (first != NMDI_DATE_NONE) {
            int y, m, d;
            nmdi_date_to_ymd(first + 365, &y, &m, &d);
            burn_in = (m == 1 && d == 1) ? first + 365 : nmdi_date_from_ymd(y + 1, 1, 1);
        }
    }
    return burn_in;
}

/* ---- kind: flows -------------------------------------------------------------------------------- */
static int table_flows(stage *s, const tdecl *t, nmdi_error *err)
{
    nmdi_dataset *ds;
    nmdi_dsversion v;
    int rc = nmdi_est_open_latest(s, t->source, &ds, &v, err);
    if (rc <= 0)
        return rc;
    /* Burn-in (nmdi_est_burn_in): flows derived from border crossings are
     * counted from one year after the first crossing of the data on. */
    nmdi_date burn_in = NMDI_DATE_NONE;
    if (!strcmp(t->source, "migration_events"))
        burn_in = nmdi_est_burn_in(s, err);
    static const char *const dims[] = {"TIME_PERIOD", "FLOW", "CITIZENSHIP_GROUP"};
    nmdi_tab *all = nmdi_tab_new(3), *prov = nmdi_tab_new(3);
    rc = all && prov ? 0 : nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    nmdi_date last = NMDI_DATE_NONE;
    for (size_t part = 0; part < nmdi_dataset_nparts(ds) && !rc; part++) {
        fcol ev, date, cit, pr, ret, rk;
        nmdi_est_fcol_open(&ev, ds, part, "event");
        nmdi_est_fcol_open(&date, ds, part, "date");
        nmdi_est_fcol_open(&cit, ds, part, "citizen");
        nmdi_est_fcol_open(&pr, ds, part, "provisional");
        nmdi_est_fcol_open(&ret, ds, part, "returning_citizen");
        nmdi_est_fcol_open(&rk, ds, part, "record_key");
        fcol tk;
        nmdi_est_fcol_open(&tk, ds, part, "traveller_key");
        if (!tk.present)
            nmdi_est_fcol_open(&tk, ds, part, "person_key");
        if (!ev.present || !date.present) {
            rc = nmdi_error_set(err, NMDI_EDATA, "dataset %s has no event/date fields", t->source);
            break;
        }
        for (size_t r = 0; r < nmdi_dataset_part_rows(ds, part) && !rc; r++) {
            char e[16];
            snprintf(e, sizeof e, "%s", nmdi_est_fcol_str(&ev, r));
            if (strcmp(e, "IMM") && strcmp(e, "EMI"))
                continue;
            nmdi_date dd = nmdi_est_fcol_int(&date, r);
            if (dd == NMDI_DATE_NONE || dd == INT32_MIN)
                continue;
            if (burn_in != NMDI_DATE_NONE && dd < burn_in)
                continue;
            if (last == NMDI_DATE_NONE || dd > last)
                last = dd;
            char yr[11];
            nmdi_date_format(dd, yr);
            yr[4] = 0;
            int c = nmdi_est_fcol_int(&cit, r);
            const char *cg = c == INT32_MIN ? "_U" : c ? "NAT" : "FOR";
            /* record key: the stored one, else derived from the person's key so that
             * the same traveller always adds the same key to a cell */
            double rkv = nmdi_est_fcol_f64(&rk, r);
            uint64_t rkf = 0;
            if (!isnan(rkv))
                nmdi_tab_key_fixed(rkv, &rkf);
            else if (tk.present && tk.type == NMDI_COL_I64)
                rkf = nmdi_hash64(&tk.i64[r], sizeof tk.i64[r], 0x666c6f77ULL) >> (64 - NMDI_TAB_KEY_BITS);
            const char *codes[3] = {yr, e, cg};
            int p = nmdi_est_fcol_int(&pr, r) > 0;
            rc = nmdi_tab_add(all, codes, NULL, 1, 0, rkf) || (p && nmdi_tab_add(prov, codes, NULL, 1, 0, rkf));
            if (!rc && !strcmp(e, "IMM") && nmdi_est_fcol_int(&ret, r) > 0) {
                const char *rcodes[3] = {yr, "RET", cg};
                rc = nmdi_tab_add(all, rcodes, NULL, 1, 0, rkf) ||
                     (p && nmdi_tab_add(prov, rcodes, NULL, 1, 0, rkf));
            }
        }
    }
    nmdi_dataset_close(ds);
    nmdi_cube *cube = NULL, *pc = NULL;
    if (!rc)
        rc = nmdi_tab_cube(all, dims, NMDI_TAB_COUNT, 0, 1, &cube, err);
    if (!rc)
        rc = nmdi_tab_cube(prov, dims, NMDI_TAB_COUNT, 0, 0, &pc, err);
    nmdi_tab_free(all);
    nmdi_tab_free(prov);
    if (rc) {
        nmdi_cube_free(cube);
        nmdi_cube_free(pc);
        return -(err->code ? err->code : NMDI_EINTERNAL);
    }
    /* totals over citizenship groups and NET = IMM - EMI per year; a cell is
     * provisional when any of its events is */
    size_t nc = nmdi_cube_ncells(cube);
    for (size_t i = 0; i < nc; i++) {
        nmdi_cell *c = nmdi_cube_cell(cube, i);
        if (nmdi_cube_find(pc, (const char *const *)c->codes))
            strcpy(c->obs_status, NMDI_OBS_PROVISIONAL);
    }
    /* margins over CITIZENSHIP_GROUP, and NET */
    nmdi_strmap *seen = nmdi_strmap_new();
    for (size_t i = 0; i < nc && seen; i++) {
        nmdi_cell c0 = *nmdi_cube_cell(cube, i);
        char key[64];
        snprintf(key, sizeof key, "%s|%s", c0.codes[0], c0.codes[1]);
        int ins;
        nmdi_strmap_put(seen, key, strlen(key), &ins);
        if (!ins)
            continue;
        nmdi_cell tot;
        nmdi_cell_init(&tot);
        tot.value = 0;
        tot.ckey = 0;
        int provisional = 0;
        for (size_t k = 0; k < nc; k++) {
            nmdi_cell *c = nmdi_cube_cell(cube, k);
            if (!strcmp(c->codes[0], c0.codes[0]) && !strcmp(c->codes[1], c0.codes[1])) {
                tot.value += c->value;
                tot.n += c->n;
                /* the cell key of a union of disjoint cells is the sum of their keys mod 1 */
                tot.ckey = fmod(tot.ckey + c->ckey, 1.0);
                provisional |= !strcmp(c->obs_status, NMDI_OBS_PROVISIONAL);
            }
        }
        if (provisional)
            strcpy(tot.obs_status, NMDI_OBS_PROVISIONAL);
        char yr[16], fl[8];
        snprintf(yr, sizeof yr, "%s", c0.codes[0]);
        snprintf(fl, sizeof fl, "%s", c0.codes[1]);
        const char *codes[3] = {yr, fl, "_T"};
        nmdi_cube_add(cube, codes, &tot);
    }
    nmdi_strmap_free(seen);
    /* net migration is not a count: it is left to the reader (IMM - EMI of the
     * published, protected figures), not published as a cell */
    nmdi_cube_sort(cube);
    nmdi_cube_free(pc);
    char ref[32] = "";
    if (last != NMDI_DATE_NONE)
        nmdi_date_format(last, ref);
    char src[512];
    snprintf(src, sizeof src, "%s (derived from border crossings by nmdi derive), version %lld",
             t->source, (long long)v.version);
    char method[768], bi[11] = "";
    if (burn_in != NMDI_DATE_NONE)
        nmdi_date_format(burn_in, bi);
    snprintf(method, sizeof method,
             "long-term migrations under the residence rule of the configuration (12/16 months "
             "by default); OBS_STATUS P while the classification is not final; NET = IMM - EMI; "
             "RET = immigrations of returning citizens%s%s",
             bi[0] ? "; counted from " : "", bi[0] ? bi : "");
    rc = nmdi_est_write_table(s, t, cube, src, method, ref, err);
    nmdi_cube_free(cube);
    return rc ? -rc : 1;
}

/* ---- kind: mobile ------------------------------------------------------------------------------- */
static int table_mobile(stage *s, const tdecl *t, nmdi_mobile_result *mr, int *have,
                        nmdi_error *err)
{
    if (!*have) {
        nmdi_dataset *ds;
        nmdi_dsversion v;
        int rc = nmdi_est_open_latest(s, t->source, &ds, &v, err);
        if (rc <= 0)
            return rc;
        const nmdi_cfg_node *mob = nmdi_cfg_get(s->cfg->root, "mobile");
        const nmdi_cfg_node *amap = mob ? nmdi_cfg_get(mob, "areas") : NULL;
        nmdi_mobile_params p;
        nmdi_mobile_params_default(&p);
        p.home_country = s->cfg->country_code;
        const nmdi_cfg_node *x;
        double dv;
        int64_t iv;
        if (mob && (x = nmdi_cfg_get(mob, "market_share")) &&
            nmdi_cfg_as_double(x, s->cfg->path, "market_share", &dv, err) == 0)
            p.market_share = dv;
        if (mob && (x = nmdi_cfg_get(mob, "min_subscribers")) &&
            nmdi_cfg_as_int(x, s->cfg->path, "min_subscribers", &iv, err) == 0)
            p.min_subscribers = (int)iv;
        s->mob_min = p.min_subscribers;
        s->mob_share = p.market_share;
        if (mob && (x = nmdi_cfg_get(mob, "partition_records")) &&
            nmdi_cfg_as_int(x, s->cfg->path, "partition_records", &iv, err) == 0 && iv > 0)
            p.partition_records = (size_t)iv;
        /* partition by partition, memory-bounded (infra_mobile.c) */
        rc = nmdi_est_mobile_derive(s->ctx, ds, v.record_type, &p, amap, mr, err);
        nmdi_dataset_close(ds);
        if (rc)
            return -rc;
        *have = 1;
        nmdi_note(s->ctx, "  mobile: %llu records, %llu subscribers, %llu machine SIMs excluded, %llu cells redacted",
                  (unsigned long long)mr->records, (unsigned long long)mr->subscribers,
                  (unsigned long long)mr->machines, (unsigned long long)mr->redacted);
    }
    nmdi_cube *c = !strcmp(t->mobile_table, "inbound")    ? mr->inbound
                   : !strcmp(t->mobile_table, "outbound") ? mr->outbound
                   : !strcmp(t->mobile_table, "internal") ? mr->internal
                                                          : mr->longterm;
    /* published: distinct subscribers (whole counts for the cell key method);
     * redacted cells (under the minimum number of subscribers) are left out */
    const char *dn[MAXDIMS];
    for (size_t d = 0; d < nmdi_cube_ndims(c) && d < MAXDIMS; d++)
        dn[d] = nmdi_cube_dim(c, d);
    nmdi_cube *pub = nmdi_cube_new(nmdi_cube_ndims(c), dn);
    if (!pub)
        return -nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < nmdi_cube_ncells(c); i++) {
        nmdi_cell x = *nmdi_cube_cell(c, i);
        if (isnan(x.value) || !strcmp(x.conf_status, NMDI_CONF_PRIMARY))
            continue;
        x.value = (double)x.n;
        if (nmdi_cube_add(pub, (const char *const *)x.codes, &x)) {
            nmdi_cube_free(pub);
            return -nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
    }
    char src[256], method[512];
    snprintf(src, sizeof src, "%s (mobile network operator, daily presence; aggregates only)", t->source);
    snprintf(method, sizeof method,
             "distinct subscribers of one operator; presence spells classified by the residence rule "
             "(docs/methods-mobile.md); cells under %d subscribers not published; divide by the "
             "market share (%g) for an estimate of persons; experimental statistics",
             s->mob_min, s->mob_share);
    int rc = nmdi_est_write_table(s, t, pub, src, method, "", err);
    nmdi_cube_free(pub);
    return rc ? -rc : 1;
}

/* ---- declarations from the configuration ---------------------------------------------------------- */
static const char *cfg_s(const nmdi_cfg_node *m, const char *k)
{
    const nmdi_cfg_node *x = nmdi_cfg_get(m, k);
    return x && x->kind == NMDI_CFG_SCALAR ? x->str : NULL;
}

/* `calibration:` of a survey table: `none`, or {method: raking|linear,
 * totals: SOURCE, margins: [SEX*AGE, REF_AREA]}. */
static int cfg_calibration(stage *s, const nmdi_cfg_node *m, tdecl *t, nmdi_error *err)
{
    const nmdi_cfg_node *c = nmdi_cfg_get(m, "calibration");
    if (!c)
        return 0;
    if (c->kind == NMDI_CFG_SCALAR) {
        if (strcmp(c->str, "none"))
            return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, c->line, "calibration",
                                 "table %s: calibration is none or {method, totals, margins}", t->id);
        t->cal_method = "none";
        return 0;
    }
    static const char *const keys[] = {"method", "totals", "margins", NULL};
    if (c->kind != NMDI_CFG_MAP)
        return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, c->line, "calibration",
                             "table %s: calibration is none or {method, totals, margins}", t->id);
    if (nmdi_cfg_check_keys(c, s->cfg->path, "calibration", keys, err))
        return err->code;
    const char *meth = cfg_s(c, "method");
    if (!meth || (strcmp(meth, "raking") && strcmp(meth, "linear") && strcmp(meth, "none")))
        return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, c->line, "method",
                             "table %s: calibration method must be raking, linear or none", t->id);
    t->cal_method = meth;
    if (cfg_s(c, "totals"))
        t->cal_totals = cfg_s(c, "totals");
    const nmdi_cfg_node *mg = nmdi_cfg_get(c, "margins");
    if (mg && mg->kind == NMDI_CFG_SCALAR) {
        t->cal_margins = mg->str;
    } else if (mg && mg->kind == NMDI_CFG_SEQ) {
        char *j = nmdi_arena_strdup(s->arena, "");
        for (size_t k = 0; k < mg->n && j; k++)
            j = nmdi_arena_sprintf(s->arena, "%s%s%s", j, k ? "," : "",
                                   mg->items[k]->kind == NMDI_CFG_SCALAR ? mg->items[k]->str : "?");
        t->cal_margins = j;
    }
    if (strcmp(meth, "none") && (!t->cal_totals || !t->cal_margins))
        return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, c->line, "calibration",
                             "table %s: calibration needs totals (a source) and margins", t->id);
    char why[160];
    if (t->cal_margins && cal_split(t->cal_margins, NULL, why, sizeof why))
        return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, mg ? mg->line : c->line, "margins",
                             "table %s: %s", t->id, why);
    return 0;
}

/* Entries of `tables:` without a kind amend the default table of the same id
 * (e.g. its reference_period or names); entries with a kind declare tables.
 * When every entry only amends, the default set is produced with the
 * amendments; otherwise exactly the declared tables are. */
static int amend_defaults(stage *s, const nmdi_cfg_node *tabs, tdecl **out, size_t *n,
                          nmdi_error *err)
{
    tdecl *d = nmdi_arena_calloc(s->arena, NDEFAULTS, sizeof *d);
    if (!d)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    memcpy(d, nmdi_est_defaults, NDEFAULTS * sizeof *nmdi_est_defaults);
    static const char *const keys[] = {"id", "name", "description", "reference_period", "topic",
                                       "calibration", NULL};
    for (size_t i = 0; i < tabs->n; i++) {
        const nmdi_cfg_node *m = tabs->items[i];
        if (nmdi_cfg_check_keys(m, s->cfg->path, "tables (amending a default table)", keys, err))
            return err->code;
        const char *id = cfg_s(m, "id");
        tdecl *t = NULL;
        for (size_t k = 0; id && k < NDEFAULTS; k++)
            if (!strcmp(d[k].id, id))
                t = &d[k];
        if (!t)
            return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, m->line, "id",
                                 "table '%s' has no kind and is not a default table to amend",
                                 id ? id : "");
        const nmdi_cfg_node *nm = nmdi_cfg_get(m, "name"), *ds = nmdi_cfg_get(m, "description");
        if (nmdi_cfg_text(nm, "en"))
            t->name_en = nmdi_cfg_text(nm, "en");
        if (nmdi_cfg_text(nm, "zh"))
            t->name_zh = nmdi_cfg_text(nm, "zh");
        if (nmdi_cfg_text(ds, "en"))
            t->desc_en = nmdi_cfg_text(ds, "en");
        if (nmdi_cfg_text(ds, "zh"))
            t->desc_zh = nmdi_cfg_text(ds, "zh");
        if (cfg_s(m, "reference_period"))
            t->reference_period = cfg_s(m, "reference_period");
        if (cfg_s(m, "topic"))
            t->topic = cfg_s(m, "topic");
        if (nmdi_cfg_get(m, "calibration") && strcmp(t->kind, "survey_ratio"))
            return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, m->line, "calibration",
                                 "table %s: only survey tables are calibrated", t->id);
        if (cfg_calibration(s, m, t, err))
            return err->code;
        t->line = m->line;
    }
    *out = d;
    *n = NDEFAULTS;
    return 0;
}

static int read_decls(stage *s, tdecl **out, size_t *n, nmdi_error *err)
{
    const nmdi_cfg_node *tabs = nmdi_cfg_get(s->cfg->root, "tables");
    if (!tabs || tabs->n == 0) {
        tdecl *d = nmdi_arena_calloc(s->arena, NDEFAULTS, sizeof *d);
        if (!d)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        memcpy(d, nmdi_est_defaults, NDEFAULTS * sizeof *nmdi_est_defaults);
            *out = d;
        *n = NDEFAULTS;
        return 0;
    }
    int amend_only = 1;
    for (size_t i = 0; i < tabs->n; i++)
        if (nmdi_cfg_get(tabs->items[i], "kind"))
            amend_only = 0;
    if (amend_only)
        return amend_defaults(s, tabs, out, n, err);
    tdecl *d = nmdi_arena_calloc(s->arena, tabs->n, sizeof *d);
    static const char *const keys[] = {"id", "kind", "source", "topic", "name", "description",
                                       "reference_period", "filter", "unit", "numerator",
                                       "denominator", "population", "table", "dimensions", "event",
                                       "calibration", NULL};
    for (size_t i = 0; i < tabs->n; i++) {
        const nmdi_cfg_node *m = tabs->items[i];
        if (nmdi_cfg_check_keys(m, s->cfg->path, "tables", keys, err))
            return err->code;
        tdecl *t = &d[i];
        t->line = m->line;
        t->id = cfg_s(m, "id");
        t->kind = cfg_s(m, "kind");
        t->source = cfg_s(m, "source");
        if (!t->id || !t->kind || !t->source)
            return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, m->line, "tables",
                                 "a table needs id, kind and source");
        if (strcmp(t->kind, "count") && strcmp(t->kind, "survey_ratio") &&
            strcmp(t->kind, "flows") && strcmp(t->kind, "events") && strcmp(t->kind, "mobile"))
            return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, nmdi_cfg_get(m, "kind")->line,
                                 "kind", "table %s: kind must be count, survey_ratio, flows, events "
                                 "or mobile, not '%s'", t->id, t->kind);
        t->topic = cfg_s(m, "topic");
        const nmdi_cfg_node *nm = nmdi_cfg_get(m, "name"), *ds = nmdi_cfg_get(m, "description");
        t->name_en = nmdi_cfg_text(nm, "en") ? nmdi_cfg_text(nm, "en") : t->id;
        t->name_zh = nmdi_cfg_text(nm, "zh");
        t->desc_en = nmdi_cfg_text(ds, "en");
        t->desc_zh = nmdi_cfg_text(ds, "zh");
        t->reference_period = cfg_s(m, "reference_period");
        t->filter = cfg_s(m, "filter");
        t->unit = cfg_s(m, "unit");
        t->numerator = cfg_s(m, "numerator");
        t->denominator = cfg_s(m, "denominator");
        t->population = cfg_s(m, "population");
        t->mobile_table = cfg_s(m, "table");
        t->event = cfg_s(m, "event");
        const nmdi_cfg_node *dims = nmdi_cfg_get(m, "dimensions");
        for (size_t k = 0; dims && dims->kind == NMDI_CFG_SEQ && k < dims->n && k < MAXDIMS; k++)
            t->dims[t->ndims++] = dims->items[k]->str;
        if (!strcmp(t->kind, "count")) {
            if (t->ndims == 0)
                return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, m->line, "dimensions",
                                     "table %s: a count table needs dimensions", t->id);
            for (size_t k = 0; k < t->ndims; k++)
                if (!t->dims[k] || !known_concept(t->dims[k]))
                    return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, dims->items[k]->line,
                                         "dimensions", "table %s: unknown dimension '%s' (known: SEX, AGE, "
                                         "COUNTRY_OF_BIRTH, CITIZENSHIP, MIGRATORY_STATUS, "
                                         "CITIZENSHIP_GROUP, REF_AREA, EDUCATION, LABOUR_STATUS, "
                                         "ARRIVAL, YEAR_OF_ARRIVAL, REGION_OF_BIRTH, NATIVITY, "
                                         "COUNTRY_OF_RESIDENCE, COUNTRY_OF_PREV_RES)",
                                         t->id, t->dims[k] ? t->dims[k] : "");
        }
        if (!strcmp(t->kind, "count") && t->filter && strcmp(t->filter, "foreign_born") &&
            strcmp(t->filter, "non_citizen") && strcmp(t->filter, "recent_immigrant"))
            return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, nmdi_cfg_get(m, "filter")->line,
                                 "filter", "table %s: filter must be foreign_born, non_citizen or "
                                 "recent_immigrant, not '%s'", t->id, t->filter);
        if (!strcmp(t->kind, "events")) {
            if (t->ndims == 0)
                return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, m->line, "dimensions",
                                     "table %s: an events table needs dimensions", t->id);
            for (size_t k = 0; k < t->ndims; k++)
                if (!t->dims[k] || !nmdi_est_event_concept(concept_of(t->dims[k])))
                    return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, dims->items[k]->line,
                                         "dimensions", "table %s: unknown event dimension '%s' (known: "
                                         "TIME_PERIOD, FLOW, SEX, AGE, CITIZENSHIP, CITIZENSHIP_GROUP, "
                                         "COUNTRY_OF_BIRTH, COUNTRY_OF_PREV_RES, COUNTRY_OF_NEXT_RES, "
                                         "PARTNER_COUNTRY, FORMER_CITIZENSHIP, REF_AREA, REASON)",
                                         t->id, t->dims[k] ? t->dims[k] : "");
        }
        if (nmdi_cfg_get(m, "calibration") && strcmp(t->kind, "survey_ratio"))
            return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, m->line, "calibration",
                                 "table %s: only survey tables are calibrated", t->id);
        if (cfg_calibration(s, m, t, err))
            return err->code;
        if (!strcmp(t->kind, "survey_ratio") && (!t->numerator || !t->denominator))
            return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, m->line, "numerator",
                                 "table %s: a survey_ratio needs numerator and denominator", t->id);
        if (!strcmp(t->kind, "mobile") && (!t->mobile_table ||
                                           (strcmp(t->mobile_table, "inbound") && strcmp(t->mobile_table, "outbound") &&
                                            strcmp(t->mobile_table, "internal") && strcmp(t->mobile_table, "longterm"))))
            return nmdi_error_at(err, NMDI_EDATA, s->cfg->path, m->line, "table",
                                 "table %s: a mobile table needs table: inbound, outbound, "
                                 "internal or longterm", t->id);
    }
    *out = d;
    *n = tabs->n;
    return 0;
}

int nmdi_estimate_infra(const nmdi_ctx *ctx, const char *dir, nmdi_estimate_summary *sum,
                        nmdi_error *err)
{
    memset(sum, 0, sizeof *sum);
    stage s = {.ctx = ctx, .dir = dir, .sum = sum};
    char path[4200];
    snprintf(path, sizeof path, "%s/nmdi.yaml", dir);
    int rc = nmdi_config_load(&s.cfg, path, err);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    rc = nmdi_catalog_open(&s.cat, path, 1, err);
    if (rc) {
        nmdi_config_free(s.cfg);
        return rc;
    }
    s.arena = nmdi_arena_new(0);
    snprintf(path, sizeof path, "%s/work", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/work/estimates", dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        rc = nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot create: %s", strerror(errno));
    tdecl *decl = NULL;
    size_t nd = 0;
    if (!rc)
        rc = read_decls(&s, &decl, &nd, err);
    s.decls = decl;
    s.ndecls = nd;
    nmdi_mobile_result mr;
    memset(&mr, 0, sizeof mr);
    int have_mobile = 0;
    for (size_t i = 0; !rc && i < nd; i++) {
        const tdecl *t = &decl[i];
        int r;
        s.skip[0] = 0;
        if (!strcmp(t->kind, "count"))
            r = table_count(&s, t, err);
        else if (!strcmp(t->kind, "survey_ratio"))
            r = table_survey(&s, t, err);
        else if (!strcmp(t->kind, "flows"))
            r = table_flows(&s, t, err);
        else if (!strcmp(t->kind, "events"))
            r = nmdi_est_table_events(&s, t, err);
        else
            r = table_mobile(&s, t, &mr, &have_mobile, err);
        if (r < 0) {
            rc = -r;
            if (!err->msg[0])
                nmdi_error_set(err, rc, "table %s failed", t->id);
        } else if (r == 0) {
            sum->nskipped++;
            if (s.skip[0])
                nmdi_note(ctx, "  %-20s not produced: %s", t->id, s.skip);
            else
                nmdi_note(ctx, "  %-20s not produced: no dataset '%s' in the store", t->id, t->source);
        }
    }
    nmdi_mobile_result_free(&mr);
    nmdi_arena_free(s.arena);
    nmdi_catalog_close(s.cat);
    nmdi_config_free(s.cfg);
    return rc;
}
