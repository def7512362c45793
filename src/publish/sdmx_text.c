/*
 * sdmx_text.c — the non-XML data writers: SDMX-JSON 1.0 data messages
 * (series or flat, per dimensionAtObservation), SDMX-CSV 1.0 (DATAFLOW
 * column "AGENCY:ID(VERSION)", dimensions in DSD order, OBS_VALUE then the
 * attributes) and plain CSV (the cube's own column names, without the cell
 * key, which is never published).
 */
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "nmdi/csv.h"

int nmdi__sdmx_write_other(FILE *f, int format, const nmdi_release *r, const nmdi_rel_table *t,
                           const nmdi_sdmx_query *q, nmdi_error *err);

static json_t *names_obj(nmdi_text n)
{
    return json_pack("{s:s,s:s}", "en", n.en ? n.en : "", "zh", n.zh ? n.zh : "");
}

/* Position of value v in a growing list of distinct strings (JSON values). */
typedef struct vlist {
    nmdi_strmap *pos;
    json_t *values; /* array of {"id","name"} */
} vlist;

static size_t vlist_pos(vlist *l, const char *v, nmdi_text name, int with_id, int time)
{
    int ins = 0;
    int64_t *p = nmdi_strmap_put(l->pos, v, strlen(v), &ins);
    if (!p)
        return 0;
    if (ins) {
        *p = (int64_t)json_array_size(l->values);
        json_t *o = json_object();
        if (with_id)
            json_object_set_new(o, "id", json_string(v));
        json_object_set_new(o, "name", json_string(name.en));
        json_object_set_new(o, "names", names_obj(name));
        if (time) {
            nmdi_date a, b;
            if (nmdi_sdmx_period(v, &a, &b) == 0) {
                char da[11], db[11], s[40];
                nmdi_date_format(a, da);
                nmdi_date_format(b, db);
                snprintf(s, sizeof s, "%sT00:00:00Z", da);
                json_object_set_new(o, "start", json_string(s));
                snprintf(s, sizeof s, "%sT23:59:59Z", db);
                json_object_set_new(o, "end", json_string(s));
            }
        }
        json_array_append_new(l->values, o);
    }
    return (size_t)*p;
}

static const char *concept_en(const nmdi_release *r, const char *id, nmdi_text *out)
{
    for (size_t i = 0; i < r->nconcepts; i++)
        if (!strcmp(r->concepts[i].id, id)) {
            *out = r->concepts[i].name;
            return out->en;
        }
    out->en = out->zh = id;
    return id;
}

static json_t *component(const nmdi_release *r, const char *id, long key_pos, json_t *values)
{
    nmdi_text n;
    concept_en(r, id, &n);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "name", json_string(n.en));
    json_object_set_new(o, "names", names_obj(n));
    if (key_pos >= 0)
        json_object_set_new(o, "keyPosition", json_integer(key_pos));
    if (!strcmp(id, "TIME_PERIOD") || !strcmp(id, "REF_AREA") || !strcmp(id, "OBS_STATUS") ||
        !strcmp(id, "UNIT_MEASURE") || !strcmp(id, "CONF_STATUS"))
        json_object_set_new(o, "role", json_string(id));
    if (key_pos < 0)
        json_object_set_new(o, "relationship", json_pack("{s:s}", "primaryMeasure", "OBS_VALUE"));
    json_object_set_new(o, "values", values);
    return o;
}

static int write_json(FILE *f, const nmdi_release *r, const nmdi_rel_table *t,
                      const nmdi_sdmx_query *q, nmdi_error *err)
{
    size_t *idx, n;
    int od;
    int rc = nmdi__sdmx_select(t, q, &idx, &n, &od, err);
    if (rc)
        return rc;
    int detail = q ? q->detail : NMDI_DETAIL_FULL;
    size_t nd = t->ndims;
    vlist *dl = calloc(nd, sizeof *dl), al[NMDI_NATTRS];
    if (!dl) {
        free(idx);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t d = 0; d < nd; d++) {
        dl[d].pos = nmdi_strmap_new();
        dl[d].values = json_array();
    }
    for (int a = 0; a < NMDI_NATTRS; a++) {
        al[a].pos = nmdi_strmap_new();
        al[a].values = json_array();
    }
    json_t *ds = json_object();
    json_object_set_new(ds, "action", json_string("Information"));
    json_t *container = json_object(); /* series or observations */
    json_object_set_new(ds, od < 0 ? "observations" : "series", container);
    char key[4096], vb[32], bufs[NMDI_NATTRS][32];
    json_t *series_obs = NULL;
    const nmdi_cell *series_first = NULL;
    for (size_t i = 0; i < n; i++) {
        const nmdi_cell *c = nmdi_cube_cell(t->cube, idx[i]);
        size_t pos[64];
        for (size_t d = 0; d < nd && d < 64; d++) {
            const char *code = nmdi_rel_code(t, c, d);
            pos[d] = vlist_pos(&dl[d], code, nmdi_rel_code_name(r, t, d, code), 1,
                               d == nd - 1);
        }
        json_t *ob = json_array();
        const char *v = nmdi__cell_value(c, vb);
        json_array_append_new(ob, v ? json_real(c->value) : json_null());
        if (detail != NMDI_DETAIL_DATAONLY) {
            const char *vals[NMDI_NATTRS];
            nmdi__cell_attrs(t, c, vals, bufs);
            for (int a = 0; a < NMDI_NATTRS; a++) {
                if (!vals[a]) {
                    json_array_append_new(ob, json_null());
                    continue;
                }
                nmdi_text an = {vals[a], vals[a]};
                int ci = a == NMDI_ATTR_OBS_STATUS    ? nmdi_release_codelist_index(r, "CL_OBS_STATUS")
                         : a == NMDI_ATTR_CONF_STATUS ? nmdi_release_codelist_index(r, "CL_CONF_STATUS")
                         : a == NMDI_ATTR_UNIT_MEASURE ? nmdi_release_codelist_index(r, "CL_UNIT")
                                                      : -1;
                if (ci >= 0)
                    for (size_t j = 0; j < r->codelists[ci].ncodes; j++)
                        if (!strcmp(r->codelists[ci].codes[j], vals[a]))
                            an = r->codelists[ci].names[j];
                json_array_append_new(
                    ob, json_integer((json_int_t)vlist_pos(&al[a], vals[a], an, ci >= 0, 0)));
            }
        }
        int keep_obs = detail != NMDI_DETAIL_SERIESKEYSONLY && detail != NMDI_DETAIL_NODATA;
        if (od < 0) {
            size_t o = 0;
            for (size_t d = 0; d < nd; d++)
                o += (size_t)snprintf(key + o, sizeof key - o, d ? ":%zu" : "%zu", pos[d]);
            json_object_set_new(container, key, ob);
            continue;
        }
        if (!series_first || !nmdi__same_series(t, series_first, c, od)) {
            size_t o = 0;
            for (size_t d = 0, k = 0; d < nd; d++)
                if ((int)d != od)
                    o += (size_t)snprintf(key + o, sizeof key - o, k++ ? ":%zu" : "%zu", pos[d]);
            json_t *s = json_object();
            json_object_set_new(s, "attributes", json_array());
            series_obs = json_object();
            json_object_set_new(s, "observations", series_obs);
            json_object_set_new(container, key, s);
            series_first = c;
        }
        if (keep_obs) {
            snprintf(key, sizeof key, "%zu", pos[od]);
            json_object_set_new(series_obs, key, ob);
        } else {
            json_decref(ob);
        }
    }
    /* structure */
    json_t *series_dims = json_array(), *obs_dims = json_array();
    for (size_t d = 0; d < nd; d++) {
        json_t *comp = component(r, t->dims[d], (long)d, json_incref(dl[d].values));
        json_array_append_new((od < 0 || (int)d == od) ? obs_dims : series_dims, comp);
    }
    json_t *obs_attrs = json_array();
    if (detail != NMDI_DETAIL_DATAONLY)
        for (int a = 0; a < NMDI_NATTRS; a++)
            json_array_append_new(obs_attrs,
                                  component(r, nmdi_sdmx_attr_ids[a], -1, json_incref(al[a].values)));
    char self[512];
    snprintf(self, sizeof self, "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=%s:%s(%s)",
             r->agency, t->id, r->sdmx_version);
    json_t *structure = json_pack(
        "{s:[{s:s,s:s}],s:s,s:o,s:o,s:{s:[],s:o,s:o},s:{s:[],s:[],s:o}}", "links", "urn", self,
        "rel", "dataflow", "name", t->name.en, "names", names_obj(t->name), "description",
        json_string(t->description.en ? t->description.en : ""), "dimensions", "dataSet",
        "series", series_dims, "observation", obs_dims, "attributes", "dataSet", "series",
        "observation", obs_attrs);
    char id[128];
    snprintf(id, sizeof id, "DATA_%s_%s", r->agency, r->version);
    json_t *root = json_pack("{s:{s:s,s:b,s:s,s:{s:s}},s:[o],s:o}", "header", "id", id, "test",
                             0, "prepared", r->created, "sender", "id", r->agency, "dataSets",
                             ds, "structure", structure);
    for (size_t d = 0; d < nd; d++) {
        nmdi_strmap_free(dl[d].pos);
        json_decref(dl[d].values);
    }
    for (int a = 0; a < NMDI_NATTRS; a++) {
        nmdi_strmap_free(al[a].pos);
        json_decref(al[a].values);
    }
    free(dl);
    free(idx);
    if (!root)
        return nmdi_error_set(err, NMDI_EINTERNAL, "building SDMX-JSON failed");
    rc = json_dumpf(root, f, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (rc != 0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "writing SDMX-JSON failed");
    return 0;
}

static int write_csv(FILE *f, int sdmx, const nmdi_release *r, const nmdi_rel_table *t,
                     const nmdi_sdmx_query *q, nmdi_error *err)
{
    size_t *idx, n;
    int od;
    int rc = nmdi__sdmx_select(t, q, &idx, &n, &od, err);
    if (rc)
        return rc;
    size_t nd = t->ndims;
    size_t ncols = nd + 1 + NMDI_NATTRS + 1;
    const char **row = calloc(ncols, sizeof *row);
    if (!row) {
        free(idx);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    char flow[512];
    snprintf(flow, sizeof flow, "%s:%s(%s)", r->agency, t->id, r->sdmx_version);
    size_t k = 0;
    static const char *plain_attrs[] = {"OBS_STATUS", "CONF_STATUS", NULL, "se", "cv",
                                        "ci_low", "ci_high", "n"};
    /* plain CSV: the cube's dimensions in its own order (constant time omitted) */
    if (sdmx)
        row[k++] = "DATAFLOW";
    for (size_t d = 0; d < nd; d++)
        if (sdmx || t->cube_col[d] >= 0)
            row[k++] = t->dims[d];
    row[k++] = sdmx ? "OBS_VALUE" : "value";
    if (sdmx) {
        for (int a = 0; a < NMDI_NATTRS; a++)
            row[k++] = nmdi_sdmx_attr_ids[a];
    } else {
        for (int a = NMDI_ATTR_SE; a < NMDI_NATTRS; a++)
            row[k++] = plain_attrs[a];
        row[k++] = "OBS_STATUS";
        row[k++] = "CONF_STATUS";
    }
    nmdi_csv_put_row(f, k, row);
    char vb[32], bufs[NMDI_NATTRS][32];
    for (size_t i = 0; i < n; i++) {
        const nmdi_cell *c = nmdi_cube_cell(t->cube, idx[i]);
        k = 0;
        if (sdmx)
            row[k++] = flow;
        for (size_t d = 0; d < nd; d++)
            if (sdmx || t->cube_col[d] >= 0)
                row[k++] = nmdi_rel_code(t, c, d);
        const char *v = nmdi__cell_value(c, vb);
        row[k++] = v ? v : "";
        const char *vals[NMDI_NATTRS];
        nmdi__cell_attrs(t, c, vals, bufs);
        if (sdmx) {
            for (int a = 0; a < NMDI_NATTRS; a++)
                row[k++] = vals[a] ? vals[a] : "";
        } else {
            for (int a = NMDI_ATTR_SE; a < NMDI_NATTRS; a++)
                row[k++] = vals[a] ? vals[a] : "";
            row[k++] = vals[NMDI_ATTR_OBS_STATUS] ? vals[NMDI_ATTR_OBS_STATUS] : "";
            row[k++] = vals[NMDI_ATTR_CONF_STATUS] ? vals[NMDI_ATTR_CONF_STATUS] : "";
        }
        nmdi_csv_put_row(f, k, row);
    }
    free(row);
    free(idx);
    if (ferror(f))
        return nmdi_error_set(err, NMDI_EINTERNAL, "writing CSV failed");
    return 0;
}

int nmdi__sdmx_write_other(FILE *f, int format, const nmdi_release *r, const nmdi_rel_table *t,
                           const nmdi_sdmx_query *q, nmdi_error *err)
{
    if (format == NMDI_FMT_JSON)
        return write_json(f, r, t, q, err);
    return write_csv(f, format == NMDI_FMT_SDMXCSV, r, t, q, err);
}
