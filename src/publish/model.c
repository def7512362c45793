/*
 * model.c — the SDMX model of a loaded release: for each table the order of
 * its SDMX dimensions (the cube's, TIME_PERIOD last; a table without a time
 * dimension gets TIME_PERIOD fixed to its reference period), one codelist per
 * kind of dimension shared by every table of the release (CL_SEX, CL_AGE,
 * CL_AREA for every country dimension, ...) holding the codes the tables use,
 * the fixed codelists of the attributes (CL_OBS_STATUS, CL_CONF_STATUS,
 * CL_UNIT), and one concept scheme. Names in English and Chinese come from
 * nmdi/codes.h, with the SDMX special codes (_T, _U, _Z, _O) built in.
 */
#include "nmdi/publish.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "nmdi/codes.h"

int nmdi__publish_build_model(nmdi_release *r, json_t *root, nmdi_error *err);

const char *const nmdi_sdmx_attr_ids[NMDI_NATTRS] = {
    "OBS_STATUS", "CONF_STATUS", "UNIT_MEASURE", "SE", "CV", "CI_LOW", "CI_HIGH", "N_UNWEIGHTED"};

typedef struct named {
    const char *id, *en, *zh;
} named;

static const named concepts[] = {
    {"REF_AREA", "Reference area", "参考地区"},
    {"TIME_PERIOD", "Time period", "时间"},
    {"SEX", "Sex", "性别"},
    {"AGE", "Age", "年龄"},
    {"CITIZENSHIP", "Citizenship", "国籍"},
    {"COUNTRY_OF_BIRTH", "Country of birth", "出生国"},
    {"COUNTRY_OF_RESIDENCE", "Country of residence", "居住国"},
    {"PREVIOUS_RESIDENCE", "Country of previous residence", "原居住国"},
    {"NEXT_RESIDENCE", "Country of next residence", "下一居住国"},
    {"MIGRATORY_STATUS", "Migratory status", "移民身份"},
    {"REASON", "Reason for migration", "移民原因"},
    {"EDUCATION", "Educational attainment (ISCED 2011)", "受教育程度（ISCED 2011）"},
    {"LABOUR_FORCE_STATUS", "Labour force status", "劳动力状况"},
    {"AREA", "Area", "地区"},
    {"FLOW", "Migration flow", "移民流动"},
    {"PERMIT_TYPE", "Permit type", "许可类型"},
    {"OBS_VALUE", "Observation value", "观测值"},
    {"OBS_STATUS", "Observation status", "观测状态"},
    {"CONF_STATUS", "Confidentiality status", "保密状态"},
    {"UNIT_MEASURE", "Unit of measure", "计量单位"},
    {"SE", "Standard error", "标准误"},
    {"CV", "Coefficient of variation", "变异系数"},
    {"CI_LOW", "Lower bound of the 95% confidence interval", "95%置信区间下限"},
    {"CI_HIGH", "Upper bound of the 95% confidence interval", "95%置信区间上限"},
    {"N_UNWEIGHTED", "Unweighted number of records", "未加权记录数"},
};

static const named special_codes[] = {
    {"_T", "Total", "合计"},
    {"_U", "Unknown", "未知"},
    {"_Z", "Not applicable", "不适用"},
    {"_O", "Other", "其他"},
    {"_X", "Not specified", "未说明"},
};

static const named obs_status[] = {
    {"A", "Normal value", "正常值"},
    {"B", "Time series break", "时间序列中断"},
    {"E", "Estimated value", "估计值"},
    {"F", "Forecast value", "预测值"},
    {"M", "Missing value; data cannot exist", "缺失值"},
    {"P", "Provisional value", "临时值"},
    {"U", "Low reliability", "可靠性低"},
};

static const named conf_status[] = {
    {"F", "Free", "可公开"},
    {"C", "Confidential statistical information", "保密统计信息"},
    {"D", "Secondary confidentiality set by the sender, not for publication", "二次保密"},
    {"N", "Not for publication, restricted for internal use only", "不予公开"},
    {"S", "Secondary confidentiality set and managed by the receiver", "接收方二次保密"},
};

static const named units[] = {
    {"PS", "Persons", "人"},
    {"PC", "Percentage", "百分比"},
    {"PT", "Per thousand", "千分比"},
    {"NR", "Number", "数目"},
    {"RATIO", "Ratio", "比率"},
    {"YR", "Years", "年"},
    {"THS_PS", "Thousands of persons", "千人"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const named *find_named(const named *t, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].id, id))
            return &t[i];
    return NULL;
}

static int is_area_dim(const char *d)
{
    return !strcmp(d, "REF_AREA") || strstr(d, "COUNTRY") || strstr(d, "CITIZENSHIP") ||
           strstr(d, "RESIDENCE") || !strcmp(d, "DESTINATION") || !strcmp(d, "ORIGIN");
}

/* The codelist id for a dimension. */
static const char *dim_codelist(nmdi_arena *a, const char *dim)
{
    if (is_area_dim(dim))
        return "CL_AREA";
    return nmdi_arena_sprintf(a, "CL_%s", dim);
}

/* The built-in list (nmdi/codes.h) for a codelist id, or NULL. */
static const nmdi_codelist *builtin_list(const char *clid)
{
    const nmdi_codelist *cl = nmdi_codes_get(clid);
    if (cl)
        return cl;
    static const struct {
        const char *clid, *alt;
    } alias[] = {{"CL_AGE", "age5"}, {"CL_AGE", "age"}, {"CL_AREA", "country"},
                 {"CL_MIGRATORY_STATUS", "migstatus"}, {"CL_EDUCATION", "isced"},
                 {"CL_LABOUR_FORCE_STATUS", "labour"}, {"CL_UNIT", "unit"},
                 {"CL_REASON", "reason"}, {"CL_SEX", "sex"}};
    for (size_t i = 0; i < NELEM(alias); i++)
        if (!strcmp(alias[i].clid, clid) && (cl = nmdi_codes_get(alias[i].alt)))
            return cl;
    return NULL;
}

static nmdi_text code_name(nmdi_arena *a, const char *clid, const char *code, long *order)
{
    nmdi_text t = {code, code};
    *order = 1000000;
    const named *s = find_named(special_codes, NELEM(special_codes), code);
    if (s) {
        t.en = s->en;
        t.zh = s->zh;
        *order = !strcmp(code, "_T") ? -1 : 2000000;
        return t;
    }
    const nmdi_codelist *cl = builtin_list(clid);
    if (cl) {
        for (size_t i = 0; i < cl->n; i++)
            if (!strcmp(cl->codes[i].id, code)) {
                t.en = nmdi_code_name(&cl->codes[i], "en");
                t.zh = nmdi_code_name(&cl->codes[i], "zh");
                *order = (long)i;
                break;
            }
    }
    if (t.en == code && !strcmp(clid, "CL_AREA")) {
        const nmdi_country *c = nmdi_country_find(code);
        if (c) {
            t.en = c->name_en;
            t.zh = c->name_zh && *c->name_zh ? c->name_zh : c->name_en;
        }
    }
    if (!t.en)
        t.en = code;
    if (!t.zh || !*t.zh)
        t.zh = t.en;
    (void)a;
    return t;
}

/* ---- codelist builder ------------------------------------------------------ */
typedef struct clb {
    const char *id;
    nmdi_text name;
    nmdi_strmap *seen;
    size_t n, cap;
    const char **codes;
    nmdi_text *names;
    long *order;
} clb;

typedef struct model_b {
    nmdi_arena *a;
    clb *cl;
    size_t ncl, capcl;
} model_b;

static int add_cl(model_b *m, const char *id, nmdi_text name)
{
    for (size_t i = 0; i < m->ncl; i++)
        if (!strcmp(m->cl[i].id, id))
            return (int)i;
    if (m->ncl == m->capcl) {
        m->capcl = m->capcl ? m->capcl * 2 : 8;
        clb *n = realloc(m->cl, m->capcl * sizeof *n);
        if (!n)
            return -1;
        m->cl = n;
    }
    clb *c = &m->cl[m->ncl];
    memset(c, 0, sizeof *c);
    c->id = nmdi_arena_strdup(m->a, id);
    c->name = name;
    c->seen = nmdi_strmap_new();
    return (int)m->ncl++;
}

static int add_code(model_b *m, int ci, const char *code)
{
    clb *c = &m->cl[ci];
    int ins = 0;
    if (!nmdi_strmap_put(c->seen, code, strlen(code), &ins))
        return -1;
    if (!ins)
        return 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        const char **nc = realloc(c->codes, c->cap * sizeof *nc);
        nmdi_text *nn = nc ? realloc(c->names, c->cap * sizeof *nn) : NULL;
        long *no = nn ? realloc(c->order, c->cap * sizeof *no) : NULL;
        if (nc)
            c->codes = nc;
        if (nn)
            c->names = nn;
        if (!no)
            return -1;
        c->order = no;
    }
    c->codes[c->n] = nmdi_arena_strdup(m->a, code);
    c->names[c->n] = code_name(m->a, c->id, code, &c->order[c->n]);
    c->n++;
    return 0;
}

static nmdi_text concept_name(nmdi_arena *a, const char *id)
{
    const named *n = find_named(concepts, NELEM(concepts), id);
    nmdi_text t;
    if (n) {
        t.en = n->en;
        t.zh = n->zh;
    } else {
        /* COUNTRY_OF_X → "Country of x" */
        char *s = nmdi_arena_strdup(a, id);
        for (char *p = s + 1; *p; p++)
            *p = *p == '_' ? ' ' : (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        t.en = t.zh = s;
    }
    return t;
}

typedef struct sort_ctx {
    const clb *c;
} sort_ctx;

static int cmp_code(const void *x, const void *y, void *arg)
{
    const clb *c = ((sort_ctx *)arg)->c;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    if (c->order[i] != c->order[j])
        return c->order[i] < c->order[j] ? -1 : 1;
    return strcmp(c->codes[i], c->codes[j]);
}

int nmdi__publish_build_model(nmdi_release *r, json_t *root, nmdi_error *err)
{
    (void)root;
    model_b m = {.a = r->arena};
    nmdi_arena *a = r->arena;
    int rc = 0;
    /* concepts: collect ids in first-seen order */
    const char **cids = NULL;
    size_t ncid = 0, capcid = 0;
#define ADD_CONCEPT(X)                                                                    \
    do {                                                                                  \
        int dup_ = 0;                                                                     \
        for (size_t q_ = 0; q_ < ncid; q_++)                                              \
            dup_ |= !strcmp(cids[q_], (X));                                               \
        if (!dup_) {                                                                      \
            if (ncid == capcid) {                                                         \
                capcid = capcid ? capcid * 2 : 32;                                        \
                const char **nn_ = realloc(cids, capcid * sizeof *nn_);                   \
                if (!nn_) {                                                               \
                    rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");            \
                    goto done;                                                            \
                }                                                                         \
                cids = nn_;                                                               \
            }                                                                             \
            cids[ncid++] = (X);                                                           \
        }                                                                                 \
    } while (0)

    for (size_t ti = 0; ti < r->ntables; ti++) {
        nmdi_rel_table *t = &r->tables[ti];
        size_t nd = nmdi_cube_ndims(t->cube);
        int tcol = nmdi_cube_dim_index(t->cube, "TIME_PERIOD");
        if (nd > 60) {
            rc = nmdi_error_at(err, NMDI_EDATA, t->id, 0, NULL, "more than 60 dimensions");
            goto done;
        }
        t->ndims = tcol >= 0 ? nd : nd + 1;
        t->dims = nmdi_arena_calloc(a, t->ndims, sizeof *t->dims);
        t->cube_col = nmdi_arena_calloc(a, t->ndims, sizeof *t->cube_col);
        t->codelist = nmdi_arena_calloc(a, t->ndims, sizeof *t->codelist);
        size_t k = 0;
        for (size_t d = 0; d < nd; d++) {
            if ((int)d == tcol)
                continue;
            const char *dim = nmdi_cube_dim(t->cube, d);
            const char *p = dim;
            int okid = *p != 0 && !(*p >= '0' && *p <= '9');
            for (; *p; p++)
                okid &= (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                        (*p >= '0' && *p <= '9') || *p == '_';
            if (!okid || !strcmp(dim, "OBS_VALUE") || find_named(concepts + 16, 9, dim)) {
                rc = nmdi_error_at(err, NMDI_EDATA, t->id, 0, dim,
                                   "dimension name is not a usable SDMX id");
                goto done;
            }
            t->dims[k] = nmdi_arena_strdup(a, dim);
            t->cube_col[k] = (int)d;
            const char *clid = dim_codelist(a, dim);
            const nmdi_codelist *bl = builtin_list(clid);
            nmdi_text cln;
            if (bl) {
                cln.en = bl->name_en;
                cln.zh = bl->name_zh && *bl->name_zh ? bl->name_zh : bl->name_en;
            } else if (!strcmp(clid, "CL_AREA")) {
                cln.en = "Countries and areas";
                cln.zh = "国家和地区";
            } else {
                cln = concept_name(a, dim);
            }
            int ci = add_cl(&m, clid, cln);
            if (ci < 0) {
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                goto done;
            }
            t->codelist[k] = ci;
            for (size_t c = 0; c < nmdi_cube_ncells(t->cube); c++) {
                const char *code = nmdi_cube_cell(t->cube, c)->codes[d];
                int okc = *code != 0;
                for (const char *q = code; *q; q++)
                    okc &= (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
                           (*q >= '0' && *q <= '9') || *q == '_' || *q == '@' || *q == '$' ||
                           *q == '-';
                if (!okc) {
                    rc = nmdi_error_at(err, NMDI_EDATA, t->id, (long)c + 2, dim,
                                       "code '%s' is not an SDMX code (letters, digits, _ @ $ -)",
                                       code);
                    goto done;
                }
                if (add_code(&m, ci, code) != 0) {
                    rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                    goto done;
                }
            }
            ADD_CONCEPT(t->dims[k]);
            k++;
        }
        t->dims[k] = "TIME_PERIOD";
        t->cube_col[k] = tcol;
        t->codelist[k] = -1;
        if (tcol < 0 && !t->reference_period) {
            /* a table without time: the year of the release */
            t->reference_period = nmdi_arena_strndup(a, r->created, 4);
        }
        nmdi_date f0, l0;
        for (size_t c = 0; c < nmdi_cube_ncells(t->cube); c++) {
            const char *tp = nmdi_rel_code(t, nmdi_cube_cell(t->cube, c), k);
            if (nmdi_sdmx_period(tp, &f0, &l0) != 0) {
                rc = nmdi_error_at(err, NMDI_EDATA, t->id, 0, "TIME_PERIOD",
                                   "'%s' is not an SDMX time period (e.g. 2020, 2020-Q1, "
                                   "2020-01)", tp);
                goto done;
            }
            if (tcol < 0)
                break;
        }
        ADD_CONCEPT("TIME_PERIOD");
    }
    /* attribute codelists */
    nmdi_text n1 = {"Observation status", "观测状态"}, n2 = {"Confidentiality status", "保密状态"},
              n3 = {"Unit of measure", "计量单位"};
    int cio = add_cl(&m, "CL_OBS_STATUS", n1), cic = add_cl(&m, "CL_CONF_STATUS", n2),
        ciu = add_cl(&m, "CL_UNIT", n3);
    if (cio < 0 || cic < 0 || ciu < 0) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < NELEM(obs_status); i++)
        add_code(&m, cio, obs_status[i].id);
    for (size_t i = 0; i < NELEM(conf_status); i++)
        add_code(&m, cic, conf_status[i].id);
    for (size_t ti = 0; ti < r->ntables; ti++) {
        nmdi_rel_table *t = &r->tables[ti];
        if (!t->unit || !*t->unit)
            t->unit = "PS";
        add_code(&m, ciu, t->unit);
        /* statuses outside the lists would make invalid messages: check */
        for (size_t c = 0; c < nmdi_cube_ncells(t->cube); c++) {
            const nmdi_cell *cell = nmdi_cube_cell(t->cube, c);
            if (!find_named(obs_status, NELEM(obs_status), cell->obs_status) ||
                !find_named(conf_status, NELEM(conf_status), cell->conf_status)) {
                rc = nmdi_error_at(err, NMDI_EDATA, t->id, (long)c + 2, "OBS_STATUS",
                                   "status '%s'/'%s' is not an SDMX OBS_STATUS/CONF_STATUS code",
                                   cell->obs_status, cell->conf_status);
                goto done;
            }
        }
    }
    /* names for statuses and units */
    for (size_t i = 0; i < m.cl[cio].n; i++) {
        const named *x = find_named(obs_status, NELEM(obs_status), m.cl[cio].codes[i]);
        m.cl[cio].names[i] = (nmdi_text){x->en, x->zh};
        m.cl[cio].order[i] = (long)i;
    }
    for (size_t i = 0; i < m.cl[cic].n; i++) {
        const named *x = find_named(conf_status, NELEM(conf_status), m.cl[cic].codes[i]);
        m.cl[cic].names[i] = (nmdi_text){x->en, x->zh};
        m.cl[cic].order[i] = (long)i;
    }
    for (size_t i = 0; i < m.cl[ciu].n; i++) {
        const named *x = find_named(units, NELEM(units), m.cl[ciu].codes[i]);
        if (x)
            m.cl[ciu].names[i] = (nmdi_text){x->en, x->zh};
    }
    ADD_CONCEPT("OBS_VALUE");
    for (int i = 0; i < NMDI_NATTRS; i++)
        ADD_CONCEPT(nmdi_sdmx_attr_ids[i]);

    /* freeze codelists into the release, codes sorted */
    r->ncodelists = m.ncl;
    r->codelists = nmdi_arena_calloc(a, m.ncl, sizeof *r->codelists);
    for (size_t i = 0; i < m.ncl; i++) {
        clb *c = &m.cl[i];
        nmdi_sdmx_codelist *o = &r->codelists[i];
        o->id = c->id;
        o->name = c->name;
        o->ncodes = c->n;
        o->codes = nmdi_arena_calloc(a, c->n + 1, sizeof *o->codes);
        o->names = nmdi_arena_calloc(a, c->n + 1, sizeof *o->names);
        o->parents = nmdi_arena_calloc(a, c->n + 1, sizeof *o->parents);
        size_t *idx = malloc((c->n + 1) * sizeof *idx);
        if (!idx || !o->codes || !o->names) {
            free(idx);
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            goto done;
        }
        for (size_t j = 0; j < c->n; j++)
            idx[j] = j;
        sort_ctx sc = {c};
        qsort_r(idx, c->n, sizeof *idx, cmp_code, &sc);
        for (size_t j = 0; j < c->n; j++) {
            o->codes[j] = c->codes[idx[j]];
            o->names[j] = c->names[idx[j]];
        }
        free(idx);
    }
    r->nconcepts = ncid;
    r->concepts = nmdi_arena_calloc(a, ncid ? ncid : 1, sizeof *r->concepts);
    for (size_t i = 0; i < ncid; i++) {
        r->concepts[i].id = nmdi_arena_strdup(a, cids[i]);
        r->concepts[i].name = concept_name(a, cids[i]);
    }
done:
    for (size_t i = 0; i < m.ncl; i++) {
        nmdi_strmap_free(m.cl[i].seen);
        free(m.cl[i].codes);
        free(m.cl[i].names);
        free(m.cl[i].order);
    }
    free(m.cl);
    free(cids);
    return rc;
#undef ADD_CONCEPT
}

const nmdi_rel_table *nmdi_release_table(const nmdi_release *r, const char *id)
{
    for (size_t i = 0; i < r->ntables; i++)
        if (!strcmp(r->tables[i].id, id))
            return &r->tables[i];
    return NULL;
}

int nmdi_release_codelist_index(const nmdi_release *r, const char *id)
{
    for (size_t i = 0; i < r->ncodelists; i++)
        if (!strcmp(r->codelists[i].id, id))
            return (int)i;
    return -1;
}

const char *nmdi_rel_code(const nmdi_rel_table *t, const nmdi_cell *cell, size_t d)
{
    int c = t->cube_col[d];
    return c < 0 ? t->reference_period : cell->codes[c];
}

nmdi_text nmdi_rel_code_name(const nmdi_release *r, const nmdi_rel_table *t, size_t d,
                             const char *code)
{
    nmdi_text n = {code, code};
    if (t->codelist[d] < 0)
        return n;
    const nmdi_sdmx_codelist *cl = &r->codelists[t->codelist[d]];
    for (size_t i = 0; i < cl->ncodes; i++)
        if (!strcmp(cl->codes[i], code))
            return cl->names[i];
    return n;
}
