/*
 * api.c — what the server answers: SDMX REST structure, schema and data
 * queries over the loaded release, the portal's JSON API (/api/v1, see
 * docs/api.md), the DCAT catalogue, the UN DESA reference tables, and the
 * authenticated endpoints (whoami, work tables, audit log). Each handler
 * fills a srv_resp; server.c adds caching, ETags and limits around them.
 */
#include "internal.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nmdi/csv.h"

#define JSON_CT "application/json; charset=utf-8"

void nmdi__resp_text(srv_resp *rs, int status, const char *ctype, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    free(rs->body);
    rs->status = status;
    rs->ctype = ctype;
    rs->body = s;
    rs->len = s ? strlen(s) : 0;
}

void nmdi__resp_error(srv_resp *rs, int status, const char *msg)
{
    json_t *j = json_pack("{s:i,s:s}", "status", status, "error", msg ? msg : "");
    char *s = json_dumps(j, 0);
    json_decref(j);
    free(rs->body);
    rs->status = status;
    rs->ctype = JSON_CT;
    rs->body = s;
    rs->len = s ? strlen(s) : 0;
    rs->cacheable = 0;
}

static void resp_json(srv_resp *rs, json_t *j, int cacheable)
{
    free(rs->body);
    rs->body = json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_REAL_PRECISION(17));
    rs->len = rs->body ? strlen(rs->body) : 0;
    rs->status = rs->body ? 200 : 500;
    rs->ctype = JSON_CT;
    rs->cacheable = cacheable;
    json_decref(j);
}

/* Render with a writer into a memory stream. */
typedef int (*render_fn)(FILE *f, void *arg, nmdi_error *err);

static int render_mem(srv_resp *rs, render_fn fn, void *arg, const char *ctype)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        nmdi__resp_error(rs, 500, "out of memory");
        return -1;
    }
    nmdi_error err;
    nmdi_error_clear(&err);
    int rc = fn(f, arg, &err);
    fclose(f);
    if (rc) {
        free(buf);
        nmdi__resp_error(rs, rc == NMDI_EDATA ? 400 : 500, err.msg);
        return -1;
    }
    free(rs->body);
    rs->body = buf;
    rs->len = len;
    rs->status = 200;
    rs->ctype = ctype;
    return 0;
}

/* ---- SDMX REST ---------------------------------------------------------------- */
static int in_list(const char *list, const char *v)
{
    if (!strcmp(list, "all") || !strcmp(list, "*"))
        return 1;
    size_t n = strlen(v);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, '+');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !strncmp(p, v, n))
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static int version_ok(const char *list, const char *v)
{
    return !strcmp(list, "latest") || !strcmp(list, "~") || in_list(list, v);
}

static int dsd_uses(const nmdi_release *r, const nmdi_rel_table *t, size_t cl)
{
    for (size_t d = 0; d < t->ndims; d++)
        if (t->codelist[d] == (int)cl)
            return 1;
    const char *id = r->codelists[cl].id;
    return !strcmp(id, "CL_OBS_STATUS") || !strcmp(id, "CL_CONF_STATUS") ||
           !strcmp(id, "CL_UNIT");
}

typedef struct struct_arg {
    const nmdi_release *r;
    nmdi_sdmx_selection sel;
} struct_arg;

static int render_structure(FILE *f, void *arg, nmdi_error *err)
{
    struct_arg *a = arg;
    return nmdi_sdmx_write_structure(f, a->r, &a->sel, err);
}

static void rest_structure(nmdi_server *s, const nmdi_rest_query *q, int fmt, srv_resp *rs)
{
    const nmdi_release *r = s->rel;
    size_t nt = r->ntables, nc = r->ncodelists;
    unsigned char *flows = calloc(nt + 1, 1), *dsds = calloc(nt + 1, 1), *cls = calloc(nc + 1, 1);
    unsigned char *bflows = calloc(nt + 1, 1), *bdsds = calloc(nt + 1, 1), *bcls = calloc(nc + 1, 1);
    int cs = 0, bcs = 0, found = 0;
    if (!flows || !dsds || !cls || !bflows || !bdsds || !bcls) {
        nmdi__resp_error(rs, 500, "out of memory");
        goto out;
    }
    if (in_list(q->agency, r->agency) && version_ok(q->version, r->sdmx_version)) {
        for (size_t i = 0; i < nt; i++) {
            if (q->resource == NMDI_RES_DATAFLOW && in_list(q->id, r->tables[i].id))
                bflows[i] = 1, found = 1;
            if (q->resource == NMDI_RES_DATASTRUCTURE && in_list(q->id, r->tables[i].dsd_id))
                bdsds[i] = 1, found = 1;
        }
        for (size_t i = 0; i < nc; i++)
            if (q->resource == NMDI_RES_CODELIST && in_list(q->id, r->codelists[i].id))
                bcls[i] = 1, found = 1;
        if (q->resource == NMDI_RES_CONCEPTSCHEME && in_list(q->id, "CS_NMDI"))
            bcs = 1, found = 1;
    }
    if (!found) {
        nmdi__resp_error(rs, 404, "No structures match the query");
        rs->cacheable = 1;
        goto out;
    }
    memcpy(flows, bflows, nt);
    memcpy(dsds, bdsds, nt);
    memcpy(cls, bcls, nc);
    cs = bcs;
    int refs = q->references;
    int want_children = refs == NMDI_REF_CHILDREN || refs == NMDI_REF_DESCENDANTS ||
                        refs == NMDI_REF_ALL || refs == NMDI_REF_PARENTSANDSIBLINGS ||
                        refs == NMDI_REF_TYPE;
    int want_parents = refs == NMDI_REF_PARENTS || refs == NMDI_REF_PARENTSANDSIBLINGS ||
                       refs == NMDI_REF_ALL || refs == NMDI_REF_TYPE;
    int deep = refs == NMDI_REF_DESCENDANTS || refs == NMDI_REF_ALL || refs == NMDI_REF_TYPE;
    if (refs != NMDI_REF_NONE) {
        /* parents: DSDs of codelists/concepts, dataflows of DSDs */
        if (want_parents) {
            for (size_t i = 0; i < nt; i++) {
                int p = bdsds[i] || bcs;
                for (size_t c = 0; c < nc && !p; c++)
                    p = bcls[c] && dsd_uses(r, &r->tables[i], c);
                if (p && !bdsds[i])
                    dsds[i] = 1;
                if (bdsds[i] || (refs == NMDI_REF_ALL && p))
                    flows[i] = 1;
            }
        }
        /* children: DSD of flows; codelists and concepts of DSDs */
        if (want_children) {
            unsigned char *src = refs == NMDI_REF_PARENTSANDSIBLINGS ? dsds : bdsds;
            for (size_t i = 0; i < nt; i++) {
                if (bflows[i])
                    dsds[i] = 1;
                int expand = src[i] || (deep && bflows[i]);
                if (refs == NMDI_REF_CHILDREN && bflows[i] && !bdsds[i])
                    expand = 0;
                if (expand) {
                    for (size_t c = 0; c < nc; c++)
                        if (dsd_uses(r, &r->tables[i], c))
                            cls[c] = 1;
                    cs = 1;
                }
            }
        }
        if (refs == NMDI_REF_TYPE) {
            /* keep the base objects and only the referenced ones of the type */
            for (size_t i = 0; i < nt; i++) {
                if (q->ref_type != NMDI_RES_DATAFLOW)
                    flows[i] = bflows[i];
                if (q->ref_type != NMDI_RES_DATASTRUCTURE)
                    dsds[i] = bdsds[i];
            }
            for (size_t c = 0; c < nc; c++)
                if (q->ref_type != NMDI_RES_CODELIST)
                    cls[c] = bcls[c];
            if (q->ref_type != NMDI_RES_CONCEPTSCHEME)
                cs = bcs;
        }
    }
    struct_arg a = {r, {flows, dsds, cls, cs, q->stubs == 2}};
    if (render_mem(rs, render_structure, &a, nmdi_rest_content_type(fmt)) == 0) {
        rs->cacheable = 1;
        rs->lastmod = r->created_t;
    }
out:
    free(flows);
    free(dsds);
    free(cls);
    free(bflows);
    free(bdsds);
    free(bcls);
}

typedef struct data_arg {
    const nmdi_release *r;
    const nmdi_rel_table *t;
    const nmdi_sdmx_query *q;
    int fmt;
    const char *schemas;
} data_arg;

static int render_data(FILE *f, void *arg, nmdi_error *err)
{
    data_arg *a = arg;
    if (a->fmt == NMDI_FMT_XSD)
        return nmdi_sdmx_write_xsd(f, a->r, a->t, a->q->dim_at_obs, a->schemas, err);
    return nmdi_sdmx_write_data(f, a->fmt, a->r, a->t, a->q, err);
}

static void rest_data(nmdi_server *s, const nmdi_rest_query *q, int fmt, srv_resp *rs)
{
    const nmdi_release *r = s->rel;
    const nmdi_rel_table *t = nmdi_release_table(r, q->flow_id);
    if (!t || (q->flow_agency && !in_list(q->flow_agency, r->agency)) ||
        (q->flow_version && !version_ok(q->flow_version, r->sdmx_version))) {
        nmdi__resp_error(rs, 404, "No dataflow matches the flowRef");
        rs->cacheable = 1;
        return;
    }
    if (strcmp(q->provider, "all") != 0) {
        /* one data provider: the agency (AGENCY or AGENCY,ID forms) */
        const char *p = q->provider, *comma = strchr(p, ',');
        const char *id = comma ? comma + 1 : p;
        if (!in_list(id, r->agency) && !(comma && in_list(id, "all"))) {
            nmdi__resp_error(rs, 404, "No data for this data provider");
            rs->cacheable = 1;
            return;
        }
    }
    nmdi_error err;
    nmdi_error_clear(&err);
    if (nmdi_sdmx_query_check(t, &q->q, &err) != 0) {
        nmdi__resp_error(rs, 400, err.msg);
        rs->cacheable = 1;
        return;
    }
    size_t n = nmdi_sdmx_query_count(t, &q->q);
    if (n == 0) {
        nmdi__resp_error(rs, 404, "No Results Found");
        rs->cacheable = 1;
        return;
    }
    if (s->opts.max_obs && n > s->opts.max_obs) {
        char m[200];
        snprintf(m, sizeof m, "the query selects %zu observations; the limit is %zu: narrow the key "
                              "or the period", n, s->opts.max_obs);
        nmdi__resp_error(rs, 413, m);
        return;
    }
    data_arg a = {r, t, &q->q, fmt, NULL};
    if (render_mem(rs, render_data, &a, nmdi_rest_content_type(fmt)) == 0) {
        rs->cacheable = 1;
        rs->lastmod = r->created_t;
    }
}

static void rest_schema(nmdi_server *s, const nmdi_rest_query *q, srv_resp *rs)
{
    const nmdi_release *r = s->rel;
    const nmdi_rel_table *t = NULL;
    for (size_t i = 0; i < r->ntables && !t; i++)
        if ((q->resource == NMDI_RES_DATAFLOW && !strcmp(q->id, r->tables[i].id)) ||
            (q->resource == NMDI_RES_DATASTRUCTURE && !strcmp(q->id, r->tables[i].dsd_id)))
            t = &r->tables[i];
    if (!t || !in_list(q->agency, r->agency) || !version_ok(q->version, r->sdmx_version)) {
        nmdi__resp_error(rs, 404, "No structure matches the schema query");
        rs->cacheable = 1;
        return;
    }
    nmdi_error err;
    nmdi_error_clear(&err);
    if (nmdi_sdmx_query_check(t, &q->q, &err) != 0) {
        nmdi__resp_error(rs, 400, err.msg);
        return;
    }
    data_arg a = {r, t, &q->q, NMDI_FMT_XSD, NULL};
    if (render_mem(rs, render_data, &a, nmdi_rest_content_type(NMDI_FMT_XSD)) == 0) {
        rs->cacheable = 1;
        rs->lastmod = r->created_t;
    }
}

void nmdi__serve_rest(nmdi_server *s, const srv_req *rq, const char *sub, srv_resp *rs)
{
    nmdi_arena *a = nmdi_arena_new(8192);
    nmdi_rest_query q;
    nmdi_error err;
    nmdi_error_clear(&err);
    int st = nmdi_rest_parse(sub, rq->args, rq->nargs, a, &q, &err);
    if (st) {
        nmdi__resp_error(rs, st, err.msg);
        rs->cacheable = st != 414;
        nmdi_arena_free(a);
        return;
    }
    const char *fp = NULL;
    for (size_t i = 0; i < rq->nargs; i++)
        if (!strcmp(rq->args[i].key, "format"))
            fp = rq->args[i].value;
    int fmt = nmdi_rest_negotiate(q.kind, fp, rq->accept);
    if (fmt < 0) {
        nmdi__resp_error(rs, 406,
                         q.kind == NMDI_REST_DATA
                             ? "Not Acceptable: data are available as "
                               "application/vnd.sdmx.genericdata+xml;version=2.1, "
                               "application/vnd.sdmx.structurespecificdata+xml;version=2.1, "
                               "application/vnd.sdmx.data+json;version=1.0.0, "
                               "application/vnd.sdmx.data+csv;version=1.0.0"
                             : "Not Acceptable: structures are available as "
                               "application/vnd.sdmx.structure+xml;version=2.1");
        rs->cacheable = 1;
        nmdi_arena_free(a);
        return;
    }
    if (q.kind == NMDI_REST_DATA)
        rest_data(s, &q, fmt, rs);
    else if (q.kind == NMDI_REST_SCHEMA)
        rest_schema(s, &q, rs);
    else
        rest_structure(s, &q, fmt, rs);
    nmdi_arena_free(a);
}

/* ---- JSON API --------------------------------------------------------------- */
static json_t *text_json(nmdi_text t)
{
    return json_pack("{s:s,s:s}", "en", t.en ? t.en : "", "zh", t.zh ? t.zh : "");
}

static json_t *num_or_null(double v, int withheld)
{
    return withheld || isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static void api_table(nmdi_server *s, const srv_req *rq, const nmdi_rel_table *t, srv_resp *rs)
{
    const nmdi_release *r = s->rel;
    nmdi_arena *a = nmdi_arena_new(4096);
    nmdi_sdmx_query q;
    nmdi_sdmx_query_init(&q);
    /* ?DIM=code+code filters */
    for (size_t i = 0; i < rq->nargs; i++) {
        const char *k = rq->args[i].key;
        if (!strcmp(k, "format") || !strcmp(k, "lang"))
            continue;
        size_t d;
        for (d = 0; d < t->ndims; d++)
            if (!strcmp(t->dims[d], k))
                break;
        if (d == t->ndims) {
            char m[256];
            snprintf(m, sizeof m, "'%s' is not a dimension of %s", k, t->id);
            nmdi__resp_error(rs, 400, m);
            rs->cacheable = 1;
            nmdi_arena_free(a);
            return;
        }
        if (!q.key.ndims) {
            q.key.ndims = t->ndims;
            q.key.parts = nmdi_arena_calloc(a, t->ndims, sizeof *q.key.parts);
        }
        nmdi_sdmx_key one;
        nmdi_error err;
        nmdi_error_clear(&err);
        /* the HTTP library decodes '+' in a query string as a space; codes hold
         * no spaces, so a space here is the '+' of an alternative list */
        char *val = nmdi_arena_strdup(a, rq->args[i].value);
        for (char *c = val; c && *c; c++)
            if (*c == ' ')
                *c = '+';
        if (!val || nmdi_sdmx_key_parse(val, a, &one, &err) != 0 || one.ndims != 1) {
            nmdi__resp_error(rs, 400, "filter values are codes separated by '+'");
            rs->cacheable = 1;
            nmdi_arena_free(a);
            return;
        }
        q.key.parts[d] = one.parts[0];
    }
    json_error_t je;
    json_t *root = json_loads(t->metadata_json, JSON_PRESERVE_ORDER, &je);
    if (!root)
        root = json_object();
    json_object_del(root, "lineage");
    json_t *dims = json_array();
    size_t *idx = NULL, n = 0;
    int od;
    nmdi_error err;
    nmdi_error_clear(&err);
    if (nmdi_sdmx_select(t, &q, &idx, &n, &od, &err) != 0) {
        json_decref(root);
        json_decref(dims);
        nmdi__resp_error(rs, 400, err.msg);
        nmdi_arena_free(a);
        return;
    }
    for (size_t d = 0; d < t->ndims; d++) {
        json_t *codes = json_array();
        nmdi_strmap *seen = nmdi_strmap_new();
        if (t->codelist[d] >= 0) {
            const nmdi_sdmx_codelist *cl = &r->codelists[t->codelist[d]];
            /* the codes of the table in codelist order */
            for (size_t c = 0; c < nmdi_cube_ncells(t->cube); c++) {
                const char *code = nmdi_rel_code(t, nmdi_cube_cell(t->cube, c), d);
                nmdi_strmap_put(seen, code, strlen(code), NULL);
            }
            for (size_t j = 0; j < cl->ncodes; j++)
                if (nmdi_strmap_get(seen, cl->codes[j], strlen(cl->codes[j])))
                    json_array_append_new(codes, json_pack("{s:s,s:o}", "id", cl->codes[j], "name",
                                                           text_json(cl->names[j])));
        } else {
            for (size_t c = 0; c < nmdi_cube_ncells(t->cube); c++) {
                const char *code = nmdi_rel_code(t, nmdi_cube_cell(t->cube, c), d);
                int ins = 0;
                nmdi_strmap_put(seen, code, strlen(code), &ins);
                if (ins)
                    json_array_append_new(codes, json_pack("{s:s,s:{s:s,s:s}}", "id", code,
                                                           "name", "en", code, "zh", code));
            }
        }
        nmdi_strmap_free(seen);
        nmdi_text dn = {t->dims[d], t->dims[d]};
        for (size_t c = 0; c < r->nconcepts; c++)
            if (!strcmp(r->concepts[c].id, t->dims[d]))
                dn = r->concepts[c].name;
        json_array_append_new(dims, json_pack("{s:s,s:o,s:o}", "id", t->dims[d], "name",
                                              text_json(dn), "codes", codes));
    }
    json_object_set_new(root, "dimensions", dims);
    json_t *obs = json_array();
    for (size_t i = 0; i < n; i++) {
        const nmdi_cell *c = nmdi_cube_cell(t->cube, idx[i]);
        json_t *key = json_object();
        for (size_t d = 0; d < t->ndims; d++)
            json_object_set_new(key, t->dims[d], json_string(nmdi_rel_code(t, c, d)));
        int wh = isnan(c->value) || isinf(c->value);
        const char *vals[NMDI_NATTRS];
        char bufs[NMDI_NATTRS][32];
        nmdi_sdmx_cell_attrs(t, c, vals, bufs);
        json_t *o = json_object();
        json_object_set_new(o, "key", key);
        json_object_set_new(o, "value", num_or_null(c->value, 0));
        json_object_set_new(o, "se", num_or_null(c->se, wh));
        json_object_set_new(o, "cv", num_or_null(c->cv, wh));
        json_object_set_new(o, "ci_low", num_or_null(c->ci_low, wh));
        json_object_set_new(o, "ci_high", num_or_null(c->ci_high, wh));
        json_object_set_new(o, "n", vals[NMDI_ATTR_N] ? json_integer(c->n) : json_null());
        json_object_set_new(o, "obs_status", json_string(c->obs_status));
        json_object_set_new(o, "conf_status", json_string(c->conf_status));
        json_array_append_new(obs, o);
    }
    free(idx);
    json_object_set_new(root, "observations", obs);
    json_object_set_new(root, "release", json_string(r->version));
    resp_json(rs, root, 1);
    rs->lastmod = r->created_t;
    nmdi_arena_free(a);
}

static int render_csv(FILE *f, void *arg, nmdi_error *err)
{
    data_arg *a = arg;
    return nmdi_sdmx_write_data(f, NMDI_FMT_CSV, a->r, a->t, NULL, err);
}

static void send_file(srv_resp *rs, const char *path, const char *ctype, int cacheable)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        nmdi__resp_error(rs, 404, "not found");
        return;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char tmp[65536];
    size_t k;
    while (m && (k = fread(tmp, 1, sizeof tmp, f)) > 0)
        fwrite(tmp, 1, k, m);
    fclose(f);
    if (m)
        fclose(m);
    free(rs->body);
    rs->body = buf;
    rs->len = len;
    rs->status = buf ? 200 : 500;
    rs->ctype = ctype;
    rs->cacheable = cacheable;
}

/* Tables an authenticated user may see in DIR/work/<stage>/ (metadata). */
static void api_work_list(nmdi_server *s, const srv_req *rq, srv_resp *rs)
{
    json_t *arr = json_array();
    const char *stages[] = {"estimates", "protected"};
    for (int i = 0; i < 2; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/work/%s", s->dir, stages[i]);
        DIR *d = opendir(p);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (l < 6 || strcmp(e->d_name + l - 5, ".json") || e->d_name[0] == '.')
                continue;
            char jp[4400];
            snprintf(jp, sizeof jp, "%s/%s", p, e->d_name);
            json_t *m = json_load_file(jp, 0, NULL);
            if (!m)
                continue;
            const char *ag = json_string_value(json_object_get(m, "agency"));
            if (!strcmp(rq->role, "admin") || !rq->agency || !*rq->agency || !ag ||
                !strcmp(ag, rq->agency)) {
                json_object_set_new(m, "stage", json_string(stages[i]));
                json_array_append(arr, m);
            }
            json_decref(m);
        }
        closedir(d);
    }
    resp_json(rs, arr, 0);
}

static void api_work_table(nmdi_server *s, const srv_req *rq, const char *rest, srv_resp *rs)
{
    /* {stage}/{id}.csv */
    char stage[32], id[128];
    if (sscanf(rest, "%31[a-z]/%127[A-Za-z0-9_-].csv", stage, id) != 2 ||
        (strcmp(stage, "estimates") && strcmp(stage, "protected"))) {
        nmdi__resp_error(rs, 404, "expected /api/v1/work/tables/{estimates|protected}/{id}.csv");
        return;
    }
    char jp[4096], cp[4096];
    snprintf(jp, sizeof jp, "%s/work/%s/%s.json", s->dir, stage, id);
    snprintf(cp, sizeof cp, "%s/work/%s/%s.csv", s->dir, stage, id);
    json_t *m = json_load_file(jp, 0, NULL);
    if (!m) {
        nmdi__resp_error(rs, 404, "no such table");
        return;
    }
    const char *ag = json_string_value(json_object_get(m, "agency"));
    int allowed = !strcmp(rq->role, "admin") || !rq->agency || !*rq->agency || !ag ||
                  !strcmp(ag, rq->agency);
    json_decref(m);
    if (!allowed) {
        nmdi__resp_error(rs, 403, "this table belongs to another agency");
        return;
    }
    send_file(rs, cp, "text/csv; charset=utf-8", 0);
}

static void api_assessment(nmdi_server *s, srv_resp *rs)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/assessment/latest.json", s->dir);
    json_t *latest = json_load_file(p, 0, NULL);
    if (!latest) {
        nmdi__resp_error(rs, 404, "no capacity assessment in this infrastructure");
        return;
    }
    /* the history of scores written by `nmdi assess` (one entry per run) */
    snprintf(p, sizeof p, "%s/assessment/history.json", s->dir);
    json_t *hist = json_load_file(p, 0, NULL);
    if (!json_is_array(hist)) {
        json_decref(hist);
        hist = json_array();
    }
    resp_json(rs, json_pack("{s:o,s:o}", "latest", latest, "history", hist), 0);
}

void nmdi__serve_api(nmdi_server *s, const srv_req *rq, const char *sub, srv_resp *rs)
{
    const nmdi_release *r = s->rel;
    /* authenticated endpoints first */
    if (!strncmp(sub, "/whoami", 7) || !strncmp(sub, "/work/", 6) || !strcmp(sub, "/audit")) {
        if (!rq->role) {
            nmdi__resp_error(rs, 401, "this endpoint needs a bearer token (nmdi token)");
            rs->auth_challenge = 1;
            return;
        }
        if (!strcmp(sub, "/whoami")) {
            resp_json(rs, json_pack("{s:s,s:s?,s:I}", "role", rq->role, "agency", rq->agency,
                                    "token_id", (json_int_t)rq->token_id), 0);
        } else if (!strcmp(sub, "/work/tables")) {
            api_work_list(s, rq, rs);
        } else if (!strncmp(sub, "/work/tables/", 13)) {
            api_work_table(s, rq, sub + 13, rs);
        } else if (!strcmp(sub, "/audit")) {
            if (strcmp(rq->role, "admin") != 0)
                nmdi__resp_error(rs, 403, "the audit log is for administrators");
            else
                nmdi__audit_json(s, rs);
        } else {
            nmdi__resp_error(rs, 404, "not found");
        }
        return;
    }
    if (!strcmp(sub, "/release") || !strcmp(sub, "/release/")) {
        free(rs->body);
        rs->body = strdup(r->json);
        rs->len = r->json_len;
        rs->status = 200;
        rs->ctype = JSON_CT;
        rs->cacheable = 1;
        rs->lastmod = r->created_t;
        return;
    }
    if (!strcmp(sub, "/tables")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < r->ntables; i++) {
            json_t *m = json_loads(r->tables[i].metadata_json, JSON_PRESERVE_ORDER, NULL);
            if (m) {
                json_object_del(m, "lineage");
                json_array_append_new(arr, m);
            }
        }
        resp_json(rs, arr, 1);
        rs->lastmod = r->created_t;
        return;
    }
    if (!strncmp(sub, "/tables/", 8)) {
        const char *id = sub + 8;
        size_t l = strlen(id);
        char tid[128];
        int csv = l > 4 && !strcmp(id + l - 4, ".csv");
        snprintf(tid, sizeof tid, "%.*s", (int)(csv ? l - 4 : l), id);
        const nmdi_rel_table *t = nmdi_release_table(r, tid);
        if (!t) {
            nmdi__resp_error(rs, 404, "no such table in the release");
            rs->cacheable = 1;
            return;
        }
        if (csv) {
            data_arg a = {r, t, NULL, NMDI_FMT_CSV, NULL};
            if (render_mem(rs, render_csv, &a, "text/csv; charset=utf-8") == 0) {
                rs->cacheable = 1;
                rs->lastmod = r->created_t;
            }
            return;
        }
        api_table(s, rq, t, rs);
        return;
    }
    if (!strcmp(sub, "/reference/undesa")) {
        if (!s->undesa_json) {
            nmdi__resp_error(rs, 404, "the UN DESA reference tables were not found (data/undesa)");
            return;
        }
        free(rs->body);
        rs->body = malloc(s->undesa_len + 1);
        if (rs->body)
            memcpy(rs->body, s->undesa_json, s->undesa_len + 1);
        rs->len = s->undesa_len;
        rs->status = 200;
        rs->ctype = JSON_CT;
        rs->cacheable = 1;
        return;
    }
    if (!strcmp(sub, "/infrastructure")) {
        char p[4096];
        snprintf(p, sizeof p, "%s/infrastructure.json", s->dir);
        json_t *j = json_load_file(p, 0, NULL);
        if (!j)
            j = json_pack("{s:s,s:[],s:[],s:[]}", "agency", r->agency, "agencies", "sources",
                          "agreements");
        resp_json(rs, j, 0);
        return;
    }
    if (!strcmp(sub, "/assessment")) {
        api_assessment(s, rs);
        return;
    }
    if (!strcmp(sub, "/dcat")) {
        nmdi__serve_dcat(s, rq, rs);
        return;
    }
    nmdi__resp_error(rs, 404, "unknown API path (see docs/api.md)");
    rs->cacheable = 1;
}

/* ---- DCAT ------------------------------------------------------------------ */
static json_t *lang_values(nmdi_text t)
{
    json_t *a = json_array();
    json_array_append_new(a, json_pack("{s:s,s:s}", "@language", "en", "@value", t.en ? t.en : ""));
    if (t.zh && t.en && strcmp(t.zh, t.en) != 0)
        json_array_append_new(a, json_pack("{s:s,s:s}", "@language", "zh", "@value", t.zh));
    return a;
}

static json_t *distribution(const char *base, const char *path, const char *title,
                            const char *mt, const char *fmt)
{
    char url[4096];
    snprintf(url, sizeof url, "%s%s", base, path);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "@type", "dcat:Distribution", "dct:title",
                     title, "dcat:accessURL", url, "dcat:downloadURL", url, "dcat:mediaType", mt,
                     "dct:format", fmt);
}

void nmdi__serve_dcat(nmdi_server *s, const srv_req *rq, srv_resp *rs)
{
    const nmdi_release *r = s->rel;
    char base[512];
    const char *host = NULL;
    for (size_t i = 0; i < rq->nargs; i++)
        if (!strcmp(rq->args[i].key, "\x01host"))
            host = rq->args[i].value;
    int okhost = host && *host && strlen(host) < 200;
    for (const char *p = host; okhost && *p; p++)
        okhost = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == '.' || *p == ':' || *p == '-' || *p == '[' || *p == ']';
    snprintf(base, sizeof base, "%s://%s", s->tls_cert ? "https" : "http",
             okhost ? host : "127.0.0.1");
    json_t *ds = json_array();
    for (size_t i = 0; i < r->ntables; i++) {
        const nmdi_rel_table *t = &r->tables[i];
        char p[1024];
        json_t *dist = json_array();
        snprintf(p, sizeof p, "/api/v1/tables/%s.csv", t->id);
        json_array_append_new(dist, distribution(base, p, "CSV", "text/csv", "CSV"));
        snprintf(p, sizeof p, "/rest/data/%s,%s,%s/all?format=genericdata", r->agency, t->id,
                 r->sdmx_version);
        json_array_append_new(dist, distribution(base, p, "SDMX-ML 2.1 generic data",
                                                 "application/vnd.sdmx.genericdata+xml",
                                                 "SDMX-ML"));
        snprintf(p, sizeof p, "/rest/data/%s,%s,%s/all?format=jsondata", r->agency, t->id,
                 r->sdmx_version);
        json_array_append_new(dist, distribution(base, p, "SDMX-JSON 1.0",
                                                 "application/vnd.sdmx.data+json", "SDMX-JSON"));
        snprintf(p, sizeof p, "/rest/data/%s,%s,%s/all?format=csvdata", r->agency, t->id,
                 r->sdmx_version);
        json_array_append_new(dist, distribution(base, p, "SDMX-CSV 1.0",
                                                 "application/vnd.sdmx.data+csv", "SDMX-CSV"));
        char id[1024];
        snprintf(id, sizeof id, "%s/api/v1/tables/%s", base, t->id);
        json_t *d = json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:o}", "@id", id, "@type",
                              "dcat:Dataset", "dct:identifier", t->id, "dct:title",
                              lang_values(t->name), "dct:description", lang_values(t->description),
                              "dct:issued", r->created, "dcat:version", r->version,
                              "dcat:distribution", dist);
        if (t->topic)
            json_object_set_new(d, "dcat:keyword", json_pack("[s,s]", "migration", t->topic));
        if (t->reference_period)
            json_object_set_new(d, "dct:temporal", json_string(t->reference_period));
        if (t->source)
            json_object_set_new(d, "dct:source", json_string(t->source));
        json_array_append_new(ds, d);
    }
    char cid[600];
    snprintf(cid, sizeof cid, "%s/dcat.jsonld", base);
    json_t *root = json_pack(
        "{s:{s:s,s:s,s:s},s:s,s:s,s:o,s:s,s:{s:s,s:s},s:s,s:o}", "@context", "dcat",
        "http://www.w3.org/ns/dcat#", "dct", "http://purl.org/dc/terms/", "foaf",
        "http://xmlns.com/foaf/0.1/", "@id", cid, "@type", "dcat:Catalog", "dct:title",
        lang_values((nmdi_text){"National migration statistics (open data)", "国家移民统计（开放数据）"}),
        "dct:issued", r->created, "dct:publisher", "@type", "foaf:Agent", "foaf:name",
        r->maintainer ? r->maintainer : r->agency, "dct:license",
        "http://creativecommons.org/licenses/by/4.0/", "dcat:dataset", ds);
    resp_json(rs, root, 0);
    rs->ctype = "application/ld+json; charset=utf-8";
}

/* ---- UN DESA reference tables ------------------------------------------------ */
int nmdi__serve_load_undesa(nmdi_server *s)
{
    static const char *files[] = {"undesa_ims2020_t1_stock_by_sex_destination.csv",
                                  "undesa_ims2020_t2_population_thousands_by_sex.csv",
                                  "undesa_ims2020_t3_stock_pct_of_population_by_sex.csv"};
    static const char *keys[] = {"stock", "population_thousands", "percent_of_population"};
    nmdi_table *tb[3] = {0};
    nmdi_error err;
    for (int i = 0; i < 3; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/undesa/%s", s->data, files[i]);
        if (nmdi_table_read_csv(&tb[i], p, NULL, &err) != 0) {
            for (int j = 0; j < i; j++)
                nmdi_table_free(tb[j]);
            return -1;
        }
    }
    json_t *rows = json_array();
    int years[] = {1990, 1995, 2000, 2005, 2010, 2015, 2020};
    const char *sexes[] = {"both", "male", "female"};
    for (size_t r = 0; r < tb[0]->nrows; r++) {
        json_t *o = json_object();
        const char *code = nmdi_table_cell(tb[0], r, (size_t)nmdi_table_col(tb[0], "location_code"));
        json_object_set_new(o, "code", json_string(code));
        json_object_set_new(o, "name", json_string(nmdi_table_cell(tb[0], r, 1)));
        json_object_set_new(o, "notes", json_string(nmdi_table_cell(tb[0], r, 2)));
        json_object_set_new(o, "type_of_data", json_string(nmdi_table_cell(tb[0], r, 4)));
        for (int i = 0; i < 3; i++) {
            if (r >= tb[i]->nrows)
                continue;
            json_t *bys = json_object();
            for (int sx = 0; sx < 3; sx++) {
                json_t *v = json_array();
                for (int y = 0; y < 7; y++) {
                    char col[32];
                    snprintf(col, sizeof col, "%s_%d", sexes[sx], years[y]);
                    int c = nmdi_table_col(tb[i], col);
                    double d;
                    const char *cell = c >= 0 ? nmdi_table_cell(tb[i], r, (size_t)c) : "";
                    json_array_append_new(v, nmdi_parse_double(cell, &d) == 0 ? json_real(d)
                                                                              : json_null());
                }
                json_object_set_new(bys, sexes[sx], v);
            }
            json_object_set_new(o, keys[i], bys);
        }
        json_array_append_new(rows, o);
    }
    json_t *root = json_pack(
        "{s:s,s:s,s:s,s:[i,i,i,i,i,i,i],s:o}", "title",
        "International Migrant Stock 2020: Destination (UN DESA, POP/DB/MIG/Stock/Rev.2020)",
        "source", "United Nations Department of Economic and Social Affairs, Population Division "
                  "(2020). International Migrant Stock 2020.",
        "licence", "CC BY 3.0 IGO (http://creativecommons.org/licenses/by/3.0/igo/)", "years", 1990,
        1995, 2000, 2005, 2010, 2015, 2020, "rows", rows);
    s->undesa_json = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_REAL_PRECISION(15));
    s->undesa_len = s->undesa_json ? strlen(s->undesa_json) : 0;
    json_decref(root);
    for (int i = 0; i < 3; i++)
        nmdi_table_free(tb[i]);
    return s->undesa_json ? 0 : -1;
}
