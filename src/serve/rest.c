/*
 * rest.c — SDMX REST 2.1 (specification v1.5.0) request parsing, independent
 * of HTTP: the path (/data/{flowRef}/{key}/{providerRef},
 * /{structure}/{agencyID}/{resourceID}/{version}, /schema/...), the query
 * parameters (startPeriod, endPeriod, dimensionAtObservation, detail,
 * references, first/lastNObservations), and content negotiation from the
 * Accept header or a `format` parameter. Errors are HTTP statuses as the
 * specification asks: 400 syntax, 404 unknown, 406 format, 501 unsupported.
 */
#include "nmdi/serve.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int id_ok(const char *s, int allow_plus_dot)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '@' || c == '$' || c == '-' ||
              (allow_plus_dot && (c == '+' || c == '.'))))
            return 0;
    }
    return 1;
}

static const char *arg(const nmdi_kv *args, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (args[i].key && !strcmp(args[i].key, key))
            return args[i].value ? args[i].value : "";
    return NULL;
}

static const char *const resources[] = {"dataflow", "datastructure", "codelist", "conceptscheme"};
static const char *const unsupported[] = {
    "metadatastructure", "categoryscheme", "hierarchicalcodelist", "organisationscheme",
    "agencyscheme", "dataproviderscheme", "dataconsumerscheme", "organisationunitscheme",
    "categorisation", "contentconstraint", "attachmentconstraint", "actualconstraint",
    "allowedconstraint", "structureset", "process", "reportingtaxonomy", "provisionagreement",
    "metadataflow", "structure", "transformationscheme", "rulesetscheme",
    "userdefinedoperatorscheme", "customtypescheme", "namepersonalisationscheme", "vtlmappingscheme",
    "metadata", "availableconstraint", "concept", "code", "category"};

static int resource_index(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, resources[i]))
            return i;
    return -1;
}

/* Split path into at most max segments (copied into the arena). */
static size_t split_path(const char *path, nmdi_arena *a, char **seg, size_t max, int *too_many)
{
    size_t n = 0;
    *too_many = 0;
    const char *p = path;
    while (*p == '/')
        p++;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (n == max) {
            *too_many = 1;
            return n;
        }
        seg[n++] = nmdi_arena_strndup(a, p, len);
        if (!e)
            break;
        p = e + 1;
        if (!*p) /* trailing slash */
            break;
    }
    return n;
}

static int parse_long(const char *s, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 1000000000L)
        return -1;
    *out = v;
    return 0;
}

int nmdi_rest_parse(const char *path, const nmdi_kv *args, size_t nargs, nmdi_arena *a,
                    nmdi_rest_query *out, nmdi_error *err)
{
    memset(out, 0, sizeof *out);
    nmdi_sdmx_query_init(&out->q);
    if (!path || strlen(path) > 8192) {
        nmdi_error_set(err, NMDI_EDATA, "path too long");
        return 414;
    }
    char *seg[8];
    int too_many;
    size_t n = split_path(path, a, seg, 8, &too_many);
    if (n == 0) {
        nmdi_error_set(err, NMDI_EDATA, "no resource in the path (try /rest/dataflow)");
        return 404;
    }
    if (too_many) {
        nmdi_error_set(err, NMDI_EDATA, "too many path segments");
        return 400;
    }
    for (size_t i = 0; i < n; i++)
        if (!*seg[i]) {
            nmdi_error_set(err, NMDI_EDATA, "empty path segment %zu", i + 1);
            return 400;
        }
    if (!strcmp(seg[0], "data")) {
        out->kind = NMDI_REST_DATA;
        if (n < 2 || n > 4) {
            nmdi_error_set(err, NMDI_EDATA, "expected /data/{flowRef}[/{key}[/{providerRef}]]");
            return 400;
        }
        /* flowRef: ID | AGENCY,ID | AGENCY,ID,VERSION */
        size_t commas = 0;
        for (const char *c = seg[1]; *c; c++)
            commas += *c == ',';
        if (commas > 2) {
            nmdi_error_set(err, NMDI_EDATA, "flowRef has more than three parts");
            return 400;
        }
        char *parts[3] = {0};
        size_t np = 0;
        for (char *p = seg[1], *c; np < 3; p = c + 1) {
            c = strchr(p, ',');
            parts[np++] = p;
            if (!c)
                break;
            *c = 0;
        }
        for (size_t i = 0; i < np; i++)
            if (!id_ok(parts[i], 1)) {
                nmdi_error_set(err, NMDI_EDATA, "invalid flowRef '%s'", parts[i]);
                return 400;
            }
        if (np == 1) {
            out->flow_id = parts[0];
        } else {
            out->flow_agency = strcmp(parts[0], "all") ? parts[0] : NULL;
            out->flow_id = parts[1];
            out->flow_version = np == 3 && strcmp(parts[2], "latest") ? parts[2] : NULL;
        }
        nmdi_error e2;
        nmdi_error_clear(&e2);
        if (nmdi_sdmx_key_parse(n >= 3 ? seg[2] : "all", a, &out->q.key, &e2) != 0) {
            *err = e2;
            return 400;
        }
        out->provider = n == 4 ? seg[3] : "all";
        if (n == 4 && !id_ok(seg[3], 1) && !strchr(seg[3], ',')) {
            nmdi_error_set(err, NMDI_EDATA, "invalid providerRef");
            return 400;
        }
        const char *v;
        out->q.start_period = arg(args, nargs, "startPeriod");
        out->q.end_period = arg(args, nargs, "endPeriod");
        out->q.dim_at_obs = arg(args, nargs, "dimensionAtObservation");
        if (out->q.dim_at_obs && !id_ok(out->q.dim_at_obs, 0)) {
            nmdi_error_set(err, NMDI_EDATA, "invalid dimensionAtObservation");
            return 400;
        }
        if ((v = arg(args, nargs, "detail"))) {
            static const char *const d[] = {"full", "dataonly", "serieskeysonly", "nodata"};
            int found = -1;
            for (int i = 0; i < 4; i++)
                if (!strcmp(v, d[i]))
                    found = i;
            if (found < 0) {
                nmdi_error_set(err, NMDI_EDATA,
                               "detail must be full, dataonly, serieskeysonly or nodata");
                return 400;
            }
            out->q.detail = found;
        }
        if ((v = arg(args, nargs, "firstNObservations")) && parse_long(v, &out->q.first_n)) {
            nmdi_error_set(err, NMDI_EDATA, "firstNObservations must be a positive integer");
            return 400;
        }
        if ((v = arg(args, nargs, "lastNObservations")) && parse_long(v, &out->q.last_n)) {
            nmdi_error_set(err, NMDI_EDATA, "lastNObservations must be a positive integer");
            return 400;
        }
        if ((v = arg(args, nargs, "includeHistory")) && strcmp(v, "false") != 0) {
            nmdi_error_set(err, NMDI_EDATA, "includeHistory is not supported (releases are "
                                            "immutable; older releases have their own version)");
            return 501;
        }
        return 0;
    }
    int schema = !strcmp(seg[0], "schema");
    out->kind = schema ? NMDI_REST_SCHEMA : NMDI_REST_STRUCTURE;
    size_t base = schema ? 1 : 0;
    if (schema && n < 4) {
        nmdi_error_set(err, NMDI_EDATA, "expected /schema/{context}/{agencyID}/{resourceID}");
        return 400;
    }
    if (n <= base) {
        nmdi_error_set(err, NMDI_EDATA, "missing resource");
        return 400;
    }
    int res = resource_index(seg[base]);
    if (res < 0) {
        for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
            if (!strcmp(seg[base], unsupported[i]) ||
                (schema && (!strcmp(seg[base], "metadatastructure") ||
                            !strcmp(seg[base], "provisionagreement")))) {
                nmdi_error_set(err, NMDI_EDATA, "%s queries are not implemented", seg[base]);
                return 501;
            }
        nmdi_error_set(err, NMDI_EDATA, "unknown resource '%s'", seg[base]);
        return 404;
    }
    if (schema && res != NMDI_RES_DATAFLOW && res != NMDI_RES_DATASTRUCTURE) {
        nmdi_error_set(err, NMDI_EDATA, "schema context must be datastructure or dataflow");
        return 400;
    }
    if (n > base + 4) {
        nmdi_error_set(err, NMDI_EDATA, "too many path segments");
        return 400;
    }
    out->resource = res;
    out->agency = n > base + 1 ? seg[base + 1] : "all";
    out->id = n > base + 2 ? seg[base + 2] : "all";
    out->version = n > base + 3 ? seg[base + 3] : "latest";
    if (!id_ok(out->agency, 1) || !id_ok(out->id, 1) || !id_ok(out->version, 1)) {
        nmdi_error_set(err, NMDI_EDATA, "invalid agency, id or version");
        return 400;
    }
    const char *v;
    if (schema) {
        out->q.dim_at_obs = arg(args, nargs, "dimensionAtObservation");
        if (out->q.dim_at_obs && !id_ok(out->q.dim_at_obs, 0)) {
            nmdi_error_set(err, NMDI_EDATA, "invalid dimensionAtObservation");
            return 400;
        }
        return 0;
    }
    if ((v = arg(args, nargs, "references"))) {
        static const char *const r[] = {"none", "parents", "parentsandsiblings", "children",
                                        "descendants", "all"};
        int found = -1;
        for (int i = 0; i < 6; i++)
            if (!strcmp(v, r[i]))
                found = i;
        if (found >= 0) {
            out->references = found;
        } else if (resource_index(v) >= 0) {
            out->references = NMDI_REF_TYPE;
            out->ref_type = resource_index(v);
        } else {
            int known = 0;
            for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
                known |= !strcmp(v, unsupported[i]);
            if (known) {
                out->references = NMDI_REF_TYPE;
                out->ref_type = -1; /* a type nmdi never has: nothing added */
            } else {
                nmdi_error_set(err, NMDI_EDATA, "invalid references value '%s'", v);
                return 400;
            }
        }
    }
    if ((v = arg(args, nargs, "detail"))) {
        if (!strcmp(v, "allstubs") || !strcmp(v, "allcompletestubs"))
            out->stubs = 2;
        else if (!strcmp(v, "referencestubs") || !strcmp(v, "referencecompletestubs"))
            out->stubs = 1;
        else if (strcmp(v, "full") != 0 && strcmp(v, "referencepartial") != 0) {
            nmdi_error_set(err, NMDI_EDATA, "invalid detail value '%s'", v);
            return 400;
        }
    }
    return 0;
}

/* ---- content negotiation ---------------------------------------------------- */
typedef struct mt {
    const char *type;
    int kind; /* NMDI_REST_*, -1 any */
    int fmt;
    const char *version; /* accepted version parameter, NULL any */
} mt;

static const mt media[] = {
    {"application/vnd.sdmx.genericdata+xml", NMDI_REST_DATA, NMDI_FMT_GENERIC, "2.1"},
    {"application/vnd.sdmx.structurespecificdata+xml", NMDI_REST_DATA, NMDI_FMT_STRUCTSPEC, "2.1"},
    {"application/vnd.sdmx.data+json", NMDI_REST_DATA, NMDI_FMT_JSON, "1.0.0"},
    {"application/vnd.sdmx.data+csv", NMDI_REST_DATA, NMDI_FMT_SDMXCSV, "1.0.0"},
    {"application/vnd.sdmx.structure+xml", NMDI_REST_STRUCTURE, NMDI_FMT_STRUCTURE, "2.1"},
    {"application/vnd.sdmx.schema+xml", NMDI_REST_SCHEMA, NMDI_FMT_XSD, "2.1"},
    {"application/xml", NMDI_REST_DATA, NMDI_FMT_GENERIC, NULL},
    {"text/xml", NMDI_REST_DATA, NMDI_FMT_GENERIC, NULL},
    {"application/json", NMDI_REST_DATA, NMDI_FMT_JSON, NULL},
    {"text/csv", NMDI_REST_DATA, NMDI_FMT_SDMXCSV, NULL},
    {"application/xml", NMDI_REST_STRUCTURE, NMDI_FMT_STRUCTURE, NULL},
    {"text/xml", NMDI_REST_STRUCTURE, NMDI_FMT_STRUCTURE, NULL},
    {"application/xml", NMDI_REST_SCHEMA, NMDI_FMT_XSD, NULL},
    {"text/xml", NMDI_REST_SCHEMA, NMDI_FMT_XSD, NULL},
};

static int default_format(int kind)
{
    return kind == NMDI_REST_DATA        ? NMDI_FMT_GENERIC
           : kind == NMDI_REST_STRUCTURE ? NMDI_FMT_STRUCTURE
                                         : NMDI_FMT_XSD;
}

int nmdi_rest_negotiate(int kind, const char *format_param, const char *accept)
{
    if (format_param && *format_param) {
        static const struct {
            const char *name;
            int kind, fmt;
        } f[] = {{"genericdata", NMDI_REST_DATA, NMDI_FMT_GENERIC},
                 {"generic", NMDI_REST_DATA, NMDI_FMT_GENERIC},
                 {"structurespecificdata", NMDI_REST_DATA, NMDI_FMT_STRUCTSPEC},
                 {"structurespecific", NMDI_REST_DATA, NMDI_FMT_STRUCTSPEC},
                 {"jsondata", NMDI_REST_DATA, NMDI_FMT_JSON},
                 {"sdmx-json", NMDI_REST_DATA, NMDI_FMT_JSON},
                 {"json", NMDI_REST_DATA, NMDI_FMT_JSON},
                 {"csvdata", NMDI_REST_DATA, NMDI_FMT_SDMXCSV},
                 {"sdmx-csv", NMDI_REST_DATA, NMDI_FMT_SDMXCSV},
                 {"csv", NMDI_REST_DATA, NMDI_FMT_SDMXCSV},
                 {"xml", NMDI_REST_DATA, NMDI_FMT_GENERIC},
                 {"structure", NMDI_REST_STRUCTURE, NMDI_FMT_STRUCTURE},
                 {"xml", NMDI_REST_STRUCTURE, NMDI_FMT_STRUCTURE},
                 {"sdmx-ml", NMDI_REST_STRUCTURE, NMDI_FMT_STRUCTURE},
                 {"xml", NMDI_REST_SCHEMA, NMDI_FMT_XSD},
                 {"xsd", NMDI_REST_SCHEMA, NMDI_FMT_XSD}};
        for (size_t i = 0; i < sizeof f / sizeof *f; i++)
            if (f[i].kind == kind && !strcasecmp(f[i].name, format_param))
                return f[i].fmt;
        return -1;
    }
    if (!accept || !*accept)
        return default_format(kind);
    int best = -1;
    double bestq = 0;
    const char *p = accept;
    size_t guard = 0;
    while (*p && guard++ < 64) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char item[256];
        if (len >= sizeof item)
            len = sizeof item - 1;
        memcpy(item, p, len);
        item[len] = 0;
        /* media type and parameters */
        char *save = NULL, *tok = strtok_r(item, ";", &save);
        char type[128] = "";
        double q = 1.0;
        char version[32] = "";
        if (tok) {
            while (*tok == ' ' || *tok == '\t')
                tok++;
            snprintf(type, sizeof type, "%s", tok);
            size_t tl = strlen(type);
            while (tl && (type[tl - 1] == ' ' || type[tl - 1] == '\t'))
                type[--tl] = 0;
            while ((tok = strtok_r(NULL, ";", &save))) {
                while (*tok == ' ')
                    tok++;
                if (!strncasecmp(tok, "q=", 2))
                    q = strtod(tok + 2, NULL);
                else if (!strncasecmp(tok, "version=", 8))
                    snprintf(version, sizeof version, "%s", tok + 8);
            }
        }
        int fmt = -1;
        if (!strcmp(type, "*/*") || !strcasecmp(type, "application/*"))
            fmt = default_format(kind);
        else if (kind == NMDI_REST_DATA && !strcasecmp(type, "text/*"))
            fmt = NMDI_FMT_SDMXCSV;
        for (size_t i = 0; i < sizeof media / sizeof *media && fmt < 0; i++) {
            if (media[i].kind != kind || strcasecmp(media[i].type, type) != 0)
                continue;
            if (version[0] && media[i].version && strcmp(version, media[i].version) != 0 &&
                !(media[i].fmt != NMDI_FMT_GENERIC && media[i].fmt != NMDI_FMT_STRUCTSPEC &&
                  media[i].fmt != NMDI_FMT_STRUCTURE && media[i].fmt != NMDI_FMT_XSD &&
                  !strncmp(version, "1.0", 3)))
                continue;
            fmt = media[i].fmt;
        }
        if (fmt >= 0 && q > bestq) {
            best = fmt;
            bestq = q;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return best;
}

const char *nmdi_rest_content_type(int fmt)
{
    switch (fmt) {
    case NMDI_FMT_GENERIC:
        return "application/vnd.sdmx.genericdata+xml; version=2.1";
    case NMDI_FMT_STRUCTSPEC:
        return "application/vnd.sdmx.structurespecificdata+xml; version=2.1";
    case NMDI_FMT_JSON:
        return "application/vnd.sdmx.data+json; version=1.0.0; charset=utf-8";
    case NMDI_FMT_SDMXCSV:
        return "application/vnd.sdmx.data+csv; version=1.0.0; charset=utf-8";
    case NMDI_FMT_CSV:
        return "text/csv; charset=utf-8";
    case NMDI_FMT_STRUCTURE:
        return "application/vnd.sdmx.structure+xml; version=2.1";
    case NMDI_FMT_XSD:
        return "application/vnd.sdmx.schema+xml; version=2.1";
    default:
        return "application/octet-stream";
    }
}
