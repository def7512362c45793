/*
 * evidence.c — gathers what an infrastructure can show about itself, for the
 * assessment and the data-needs report: the configuration (agencies,
 * sources, data-needs register, data-sharing agreements, languages), the
 * catalog (what was loaded, linked, derived) and the current release (which
 * tables are published, with which dimensions and precision).
 */
#include "nmdi/assess.h"
#include "nmdi/catalog.h"
#include "nmdi/config.h"
#include "nmdi/csv.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static size_t cfg_list(const nmdi_cfg_node *n, const char ***out, nmdi_arena *a)
{
    *out = NULL;
    if (!n)
        return 0;
    if (n->kind == NMDI_CFG_SCALAR) {
        *out = nmdi_arena_calloc(a, 1, sizeof(char *));
        (*out)[0] = n->str;
        return 1;
    }
    if (n->kind != NMDI_CFG_SEQ)
        return 0;
    *out = nmdi_arena_calloc(a, n->n + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n->n; i++)
        if (n->items[i]->kind == NMDI_CFG_SCALAR)
            (*out)[k++] = n->items[i]->str;
    return k;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static char *read_small(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return n ? strdup(buf) : NULL;
}

/* largest CV of the cube file, NAN when the cube has no CV */
static double cube_max_cv(const char *path)
{
    nmdi_table *t;
    nmdi_error err;
    if (nmdi_table_read_csv(&t, path, NULL, &err))
        return NAN;
    int c = nmdi_table_col(t, "cv");
    double mx = NAN;
    for (size_t r = 0; c >= 0 && r < t->nrows; r++) {
        double v;
        if (nmdi_parse_double(nmdi_table_cell(t, r, (size_t)c), &v) == 0 && (isnan(mx) || v > mx))
            mx = v;
    }
    nmdi_table_free(t);
    return mx;
}

typedef struct tables_acc {
    nmdi_assess_table *t;
    size_t n, cap;
    nmdi_arena *a;
} tables_acc;

static nmdi_assess_table *acc_get(tables_acc *acc, const char *id)
{
    for (size_t i = 0; i < acc->n; i++)
        if (strcmp(acc->t[i].id, id) == 0)
            return &acc->t[i];
    if (acc->n == acc->cap) {
        size_t nc = acc->cap ? acc->cap * 2 : 32;
        nmdi_assess_table *nt = nmdi_arena_calloc(acc->a, nc, sizeof *nt);
        if (!nt)
            return NULL;
        if (acc->n)
            memcpy(nt, acc->t, acc->n * sizeof *nt);
        acc->t = nt;
        acc->cap = nc;
    }
    nmdi_assess_table *x = &acc->t[acc->n++];
    memset(x, 0, sizeof *x);
    x->id = nmdi_arena_strdup(acc->a, id);
    x->max_cv = NAN;
    return x;
}

static void table_from_meta(tables_acc *acc, json_t *m, const char *csv, int published)
{
    const char *id = json_string_value(json_object_get(m, "id"));
    if (!id)
        return;
    nmdi_assess_table *t = acc_get(acc, id);
    if (!t)
        return;
    const char *topic = json_string_value(json_object_get(m, "topic"));
    const char *rp = json_string_value(json_object_get(m, "reference_period"));
    if (topic)
        t->topic = nmdi_arena_strdup(acc->a, topic);
    if (rp)
        t->reference_period = nmdi_arena_strdup(acc->a, rp);
    json_t *dims = json_object_get(m, "dimensions");
    if (json_is_array(dims)) {
        t->ndims = json_array_size(dims);
        t->dims = nmdi_arena_calloc(acc->a, t->ndims + 1, sizeof(char *));
        for (size_t i = 0; i < t->ndims; i++) {
            json_t *d = json_array_get(dims, i);
            const char *s = json_is_string(d) ? json_string_value(d)
                                              : json_string_value(json_object_get(d, "id"));
            t->dims[i] = nmdi_arena_strdup(acc->a, s ? s : "");
        }
    }
    if (csv && file_exists(csv))
        t->max_cv = cube_max_cv(csv);
    t->published |= published;
}

int nmdi_assess_gather(const char *dir, nmdi_assess_evidence *ev, nmdi_arena *a, nmdi_error *err)
{
    memset(ev, 0, sizeof *ev);
    char path[4096];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char today[16];
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    ev->today = nmdi_arena_strdup(a, today);

    snprintf(path, sizeof path, "%s/nmdi.yaml", dir);
    nmdi_config *cfg;
    int rc = nmdi_config_load(&cfg, path, err);
    if (rc)
        return rc;
    ev->nagencies = cfg->nagencies;
    const nmdi_cfg_node *ag = nmdi_cfg_get(cfg->root, "agreements");
    ev->nagreements = ag && ag->kind == NMDI_CFG_SEQ ? ag->n : 0;
    const nmdi_cfg_node *pub = nmdi_cfg_get(cfg->root, "publication");
    const nmdi_cfg_node *langs = pub ? nmdi_cfg_get(pub, "languages") : NULL;
    const char **ll;
    size_t nl = cfg_list(langs, &ll, a);
    ev->multilingual = nl >= 2 || (cfg->country_zh && cfg->country_en);
    const nmdi_cfg_node *lic = pub ? nmdi_cfg_get(pub, "license") : NULL;
    ev->open_licence = lic && lic->kind == NMDI_CFG_SCALAR && lic->str[0];

    /* sources and what the catalog has of them */
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    nmdi_catalog *cat = NULL;
    if (nmdi_catalog_open(&cat, path, 1, err)) {
        nmdi_config_free(cfg);
        return err->code;
    }
    nmdi_assess_source *src = nmdi_arena_calloc(a, cfg->nsources + 1, sizeof *src);
    for (size_t i = 0; i < cfg->nsources; i++) {
        const nmdi_cfg_source *s = &cfg->sources[i];
        src[i].id = nmdi_arena_strdup(a, s->id);
        src[i].agency = nmdi_arena_strdup(a, s->agency);
        src[i].record_type = nmdi_arena_strdup(a, s->record_type);
        src[i].rows = -1;
        nmdi_dsversion v;
        if (nmdi_catalog_latest(cat, s->id, &v, a, err) == 1) {
            src[i].rows = v.rows;
            src[i].loaded_at = v.loaded_at;
            if (s->nidents && v.rows > 0)
                ev->pseudonymised = 1;
        }
    }
    ev->sources = src;
    ev->nsources = cfg->nsources;
    nmdi_dsversion v;
    ev->linked = nmdi_catalog_latest(cat, "person_spine", &v, a, err) == 1;
    ev->derived = nmdi_catalog_latest(cat, "crossing_residence", &v, a, err) == 1 ||
                  nmdi_catalog_latest(cat, "migration_events", &v, a, err) == 1;
    nmdi_catalog_close(cat);

    /* data-needs register */
    const nmdi_cfg_node *needs = nmdi_cfg_get(cfg->root, "data_needs");
    if (needs && needs->kind == NMDI_CFG_SEQ) {
        nmdi_need *nd = nmdi_arena_calloc(a, needs->n + 1, sizeof *nd);
        for (size_t i = 0; i < needs->n; i++) {
            const nmdi_cfg_node *q = needs->items[i];
            const nmdi_cfg_node *id = nmdi_cfg_get(q, "id");
            nd[i].id = id && id->kind == NMDI_CFG_SCALAR ? nmdi_arena_strdup(a, id->str)
                                                          : nmdi_arena_sprintf(a, "Q%zu", i + 1);
            nd[i].question_en = nmdi_cfg_text(nmdi_cfg_get(q, "question"), "en");
            nd[i].question_zh = nmdi_cfg_text(nmdi_cfg_get(q, "question"), "zh");
            nd[i].nindicators = cfg_list(nmdi_cfg_get(q, "indicators"), &nd[i].indicators, a);
            nd[i].nsources = cfg_list(nmdi_cfg_get(q, "sources"), &nd[i].sources, a);
            nd[i].ndisagg = cfg_list(nmdi_cfg_get(q, "disaggregation"), &nd[i].disaggregation, a);
        }
        ev->needs = nd;
        ev->nneeds = needs->n;
    }
    nmdi_config_free(cfg);

    /* tables: estimated (work/estimates) and published (current release) */
    tables_acc acc = {.a = a};
    snprintf(path, sizeof path, "%s/work/estimates", dir);
    DIR *dh = opendir(path);
    struct dirent *e;
    while (dh && (e = readdir(dh))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        char jp[4400];
        snprintf(jp, sizeof jp, "%s/%s", path, e->d_name);
        json_t *m = json_load_file(jp, 0, NULL);
        if (m) {
            table_from_meta(&acc, m, NULL, 0);
            json_decref(m);
        }
    }
    if (dh)
        closedir(dh);
    snprintf(path, sizeof path, "%s/releases/LATEST", dir);
    char *latest = read_small(path);
    if (latest) {
        ev->release = nmdi_arena_strdup(a, latest);
        snprintf(path, sizeof path, "%s/releases/%s/release.json", dir, latest);
        json_t *rel = json_load_file(path, 0, NULL);
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(rel, "tables"), i, t)
        {
            char csv[4400];
            snprintf(csv, sizeof csv, "%s/releases/%s/tables/%s.csv", dir, latest,
                     json_string_value(json_object_get(t, "id")));
            table_from_meta(&acc, t, csv, 1);
        }
        if (rel) {
            const char *lic2 = json_string_value(json_object_get(rel, "license"));
            if (lic2 && *lic2)
                ev->open_licence = 1;
            ev->sdmx = json_array_size(json_object_get(rel, "tables")) > 0;
            ev->dcat = 1; /* nmdi serve publishes a DCAT catalogue of every release */
        }
        json_decref(rel);
        free(latest);
    }
    ev->tables = acc.t;
    ev->ntables = acc.n;
    return 0;
}

/* The infrastructure described for the portal (GET /api/v1/infrastructure):
 * agencies, the sources each supplies with their last load and rows, and
 * the data-sharing agreements of the configuration. Written atomically to
 * DIR/infrastructure.json. Only metadata: no record leaves the catalog. */
static json_t *cfg_names(const nmdi_cfg_node *n, const char *fallback)
{
    const char *en = nmdi_cfg_text(n, "en"), *zh = nmdi_cfg_text(n, "zh");
    if (!en)
        en = fallback ? fallback : "";
    return json_pack("{s:s,s:s}", "en", en, "zh", zh ? zh : en);
}

int nmdi_assess_write_infrastructure(const char *dir, nmdi_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/nmdi.yaml", dir);
    nmdi_config *cfg;
    int rc = nmdi_config_load(&cfg, path, err);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    nmdi_catalog *cat = NULL;
    if (nmdi_catalog_open(&cat, path, 1, err)) {
        nmdi_config_free(cfg);
        return err->code;
    }
    nmdi_arena *a = nmdi_arena_new(0);
    json_t *root = json_object(), *ags = json_array(), *srcs = json_array(), *agr = json_array();
    json_object_set_new(root, "country",
                        json_pack("{s:s,s:{s:s,s:s}}", "code", cfg->country_code, "name", "en",
                                  cfg->country_en ? cfg->country_en : cfg->country_code, "zh",
                                  cfg->country_zh ? cfg->country_zh : cfg->country_code));
    const nmdi_cfg_node *agn = nmdi_cfg_get(cfg->root, "agencies");
    for (size_t i = 0; i < cfg->nagencies; i++) {
        const nmdi_cfg_agency *g = &cfg->agencies[i];
        json_t *o = json_pack("{s:s,s:{s:s,s:s}}", "id", g->id, "name", "en", g->name_en ? g->name_en : g->id,
                              "zh", g->name_zh ? g->name_zh : (g->name_en ? g->name_en : g->id));
        if (cfg->pub_agency && !strncmp(cfg->pub_agency, g->id, strlen(g->id)))
            json_object_set_new(o, "role", json_string("coordinator"));
        const nmdi_cfg_node *an = agn && agn->kind == NMDI_CFG_SEQ && i < agn->n ? agn->items[i] : NULL;
        const nmdi_cfg_node *desc = an ? nmdi_cfg_get(an, "description") : NULL;
        if (desc)
            json_object_set_new(o, "description", cfg_names(desc, ""));
        json_array_append_new(ags, o);
    }
    for (size_t i = 0; i < cfg->nsources; i++) {
        const nmdi_cfg_source *s = &cfg->sources[i];
        json_t *o = json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "id", s->id, "agency", s->agency,
                              "record_type", s->record_type, "name", "en",
                              s->description ? s->description : s->id, "zh",
                              s->description ? s->description : s->id);
        nmdi_dsversion v;
        if (nmdi_catalog_latest(cat, s->id, &v, a, err) == 1) {
            json_object_set_new(o, "last_load", json_string(v.loaded_at ? v.loaded_at : ""));
            json_object_set_new(o, "rows", json_integer(v.rows));
            json_object_set_new(o, "quarantined", json_integer(v.quarantined));
            json_object_set_new(o, "version", json_integer(v.version));
        } else {
            json_object_set_new(o, "rows", json_null());
        }
        json_array_append_new(srcs, o);
    }
    const nmdi_cfg_node *an = nmdi_cfg_get(cfg->root, "agreements");
    for (size_t i = 0; an && an->kind == NMDI_CFG_SEQ && i < an->n; i++) {
        const nmdi_cfg_node *g = an->items[i];
        const nmdi_cfg_node *from = nmdi_cfg_get(g, "from"), *to = nmdi_cfg_get(g, "to"),
                            *since = nmdi_cfg_get(g, "since");
        json_t *o = json_pack("{s:s,s:s,s:o}", "from", from && from->str ? from->str : "", "to",
                              to && to->str ? to->str : "", "name",
                              cfg_names(nmdi_cfg_get(g, "name"), ""));
        if (since && since->kind == NMDI_CFG_SCALAR)
            json_object_set_new(o, "since", json_string(since->str));
        json_array_append_new(agr, o);
    }
    json_object_set_new(root, "agencies", ags);
    json_object_set_new(root, "sources", srcs);
    json_object_set_new(root, "agreements", agr);
    nmdi_catalog_close(cat);
    nmdi_config_free(cfg);
    nmdi_arena_free(a);
    char *txt = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!txt)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    snprintf(path, sizeof path, "%s/infrastructure.json", dir);
    rc = nmdi_write_file_atomic(path, txt, strlen(txt), err);
    free(txt);
    return rc;
}
