/*
 * config.c — nmdi.yaml: a YAML tree with line numbers built from libyaml's
 * event API, and the checked, typed view of the sections ingest needs (see
 * nmdi/config.h). Sections owned by later stages (tables, indicators,
 * disclosure, residence options, data_needs, mobile) are checked only for
 * their shape here; those stages read them through nmdi_cfg_*.
 */
#include "nmdi/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- building the tree ------------------------------------------------------ */

typedef struct builder {
    yaml_parser_t p;
    nmdi_arena *a;
    const char *name;
    nmdi_error *err;
    int depth;
} builder;

static int yaml_fail(builder *b)
{
    long line = (long)b->p.problem_mark.line + 1;
    if (b->p.context)
        return nmdi_error_at(b->err, NMDI_EDATA, b->name, line, NULL,
                             "YAML syntax error: %s %s (column %ld)", b->p.context,
                             b->p.problem ? b->p.problem : "", (long)b->p.problem_mark.column + 1);
    return nmdi_error_at(b->err, NMDI_EDATA, b->name, line, NULL, "YAML syntax error: %s (column %ld)",
                         b->p.problem ? b->p.problem : "unknown",
                         (long)b->p.problem_mark.column + 1);
}

static int next_event(builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->p, ev))
        return yaml_fail(b);
    return 0;
}

typedef struct growv {
    void **v;
    size_t n, cap;
} growv;

static int growv_push(growv *g, void *x)
{
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 8;
        void **nv = realloc(g->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        g->v = nv;
        g->cap = nc;
    }
    g->v[g->n++] = x;
    return 0;
}

static int build_node(builder *b, yaml_event_t *ev, nmdi_cfg_node **out);

static int oom(builder *b)
{
    return nmdi_error_set(b->err, NMDI_EINTERNAL, "out of memory reading %s", b->name);
}

/* Builds the children of a mapping or sequence whose start event was seen. */
static int build_children(builder *b, nmdi_cfg_node *node)
{
    growv items = {0}, keys = {0}, lines = {0};
    int rc = 0;
    int is_map = node->kind == NMDI_CFG_MAP;
    for (;;) {
        yaml_event_t ev;
        if ((rc = next_event(b, &ev)))
            break;
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (is_map) {
            if (ev.type != YAML_SCALAR_EVENT) {
                rc = nmdi_error_at(b->err, NMDI_EDATA, b->name, (long)ev.start_mark.line + 1, NULL,
                                   "a mapping key must be a plain scalar");
                yaml_event_delete(&ev);
                break;
            }
            char *k = nmdi_arena_strndup(b->a, (const char *)ev.data.scalar.value,
                                         ev.data.scalar.length);
            long kl = (long)ev.start_mark.line + 1;
            yaml_event_delete(&ev);
            for (size_t i = 0; i < keys.n; i++)
                if (k && strcmp(keys.v[i], k) == 0) {
                    rc = nmdi_error_at(b->err, NMDI_EDATA, b->name, kl, k,
                                       "duplicate key (first at line %ld)",
                                       (long)(intptr_t)lines.v[i]);
                    goto done;
                }
            if (!k || growv_push(&keys, k) || growv_push(&lines, (void *)(intptr_t)kl)) {
                rc = oom(b);
                break;
            }
            if ((rc = next_event(b, &ev)))
                break;
        }
        nmdi_cfg_node *child;
        rc = build_node(b, &ev, &child);
        yaml_event_delete(&ev);
        if (rc)
            break;
        if (growv_push(&items, child)) {
            rc = oom(b);
            break;
        }
    }
done:
    if (!rc) {
        node->n = items.n;
        node->items = nmdi_arena_alloc(b->a, (items.n + 1) * sizeof *node->items);
        if (is_map) {
            node->keys = nmdi_arena_alloc(b->a, (items.n + 1) * sizeof *node->keys);
            node->key_lines = nmdi_arena_alloc(b->a, (items.n + 1) * sizeof *node->key_lines);
        }
        if (!node->items || (is_map && (!node->keys || !node->key_lines)))
            rc = oom(b);
        for (size_t i = 0; !rc && i < items.n; i++) {
            node->items[i] = items.v[i];
            if (is_map) {
                node->keys[i] = keys.v[i];
                node->key_lines[i] = (long)(intptr_t)lines.v[i];
            }
        }
    }
    free(items.v);
    free(keys.v);
    free(lines.v);
    return rc;
}

static int build_node(builder *b, yaml_event_t *ev, nmdi_cfg_node **out)
{
    nmdi_cfg_node *n = nmdi_arena_calloc(b->a, 1, sizeof *n);
    if (!n)
        return oom(b);
    n->line = (long)ev->start_mark.line + 1;
    n->col = (long)ev->start_mark.column + 1;
    *out = n;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n->kind = NMDI_CFG_SCALAR;
        n->str = nmdi_arena_strndup(b->a, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        if (strlen(n->str) != ev->data.scalar.length)
            return nmdi_error_at(b->err, NMDI_EDATA, b->name, n->line, NULL,
                                 "a NUL character in a value is not allowed");
        return n->str ? 0 : oom(b);
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        if (++b->depth > 64)
            return nmdi_error_at(b->err, NMDI_EDATA, b->name, n->line, NULL, "nesting too deep");
        n->kind = ev->type == YAML_MAPPING_START_EVENT ? NMDI_CFG_MAP : NMDI_CFG_SEQ;
        {
            int rc = build_children(b, n);
            b->depth--;
            return rc;
        }
    case YAML_ALIAS_EVENT:
        return nmdi_error_at(b->err, NMDI_EDATA, b->name, n->line, NULL,
                             "YAML aliases (*name) are not supported: write the value out");
    default:
        return nmdi_error_at(b->err, NMDI_EDATA, b->name, n->line, NULL, "unexpected YAML event");
    }
}

static int build_tree(builder *b, const char *text, size_t len, nmdi_cfg_node **root)
{
    *root = NULL;
    yaml_parser_set_input_string(&b->p, (const unsigned char *)text, len);
    yaml_event_t ev;
    int rc = 0;
    for (;;) {
        if ((rc = next_event(b, &ev)))
            return rc;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT || t == YAML_SCALAR_EVENT ||
            t == YAML_ALIAS_EVENT) {
            if (*root) {
                rc = nmdi_error_at(b->err, NMDI_EDATA, b->name, (long)ev.start_mark.line + 1, NULL,
                                   "only one YAML document is allowed");
                yaml_event_delete(&ev);
                return rc;
            }
            rc = build_node(b, &ev, root);
            yaml_event_delete(&ev);
            if (rc)
                return rc;
            continue;
        }
        yaml_event_delete(&ev);
    }
    if (!*root)
        return nmdi_error_at(b->err, NMDI_EDATA, b->name, 1, NULL, "the configuration is empty");
    return 0;
}

/* ---- generic accessors ---------------------------------------------------------- */

const nmdi_cfg_node *nmdi_cfg_get(const nmdi_cfg_node *map, const char *key)
{
    if (!map || map->kind != NMDI_CFG_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->items[i];
    return NULL;
}

const char *nmdi_cfg_text(const nmdi_cfg_node *n, const char *lang)
{
    if (!n)
        return NULL;
    if (n->kind == NMDI_CFG_SCALAR)
        return n->str;
    const nmdi_cfg_node *x = nmdi_cfg_get(n, lang);
    return x && x->kind == NMDI_CFG_SCALAR ? x->str : NULL;
}

int nmdi_cfg_as_str(const nmdi_cfg_node *n, const char *file, const char *what, const char **out,
                    nmdi_error *err)
{
    if (!n || n->kind != NMDI_CFG_SCALAR)
        return nmdi_error_at(err, NMDI_EDATA, file, n ? n->line : 0, what,
                             "expected a text value, not a %s",
                             !n ? "missing value" : n->kind == NMDI_CFG_MAP ? "mapping" : "list");
    *out = n->str;
    return 0;
}

int nmdi_cfg_as_int(const nmdi_cfg_node *n, const char *file, const char *what, int64_t *out,
                    nmdi_error *err)
{
    const char *s = NULL;
    if (nmdi_cfg_as_str(n, file, what, &s, err))
        return NMDI_EDATA;
    if (nmdi_parse_int64(s, out))
        return nmdi_error_at(err, NMDI_EDATA, file, n->line, what, "expected an integer, got '%s'", s);
    return 0;
}

int nmdi_cfg_as_double(const nmdi_cfg_node *n, const char *file, const char *what, double *out,
                       nmdi_error *err)
{
    const char *s = NULL;
    if (nmdi_cfg_as_str(n, file, what, &s, err))
        return NMDI_EDATA;
    if (nmdi_parse_double(s, out))
        return nmdi_error_at(err, NMDI_EDATA, file, n->line, what, "expected a number, got '%s'", s);
    return 0;
}

int nmdi_cfg_as_bool(const nmdi_cfg_node *n, const char *file, const char *what, int *out,
                     nmdi_error *err)
{
    const char *s = NULL;
    if (nmdi_cfg_as_str(n, file, what, &s, err))
        return NMDI_EDATA;
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
        *out = 0;
    else
        return nmdi_error_at(err, NMDI_EDATA, file, n->line, what, "expected true or false, got '%s'",
                             s);
    return 0;
}

int nmdi_cfg_check_keys(const nmdi_cfg_node *map, const char *file, const char *section,
                        const char *const *allowed, nmdi_error *err)
{
    if (!map || map->kind != NMDI_CFG_MAP)
        return nmdi_error_at(err, NMDI_EDATA, file, map ? map->line : 0, section,
                             "expected a mapping (key: value lines)");
    for (size_t i = 0; i < map->n; i++) {
        int found = 0;
        for (size_t k = 0; allowed[k]; k++)
            if (strcmp(map->keys[i], allowed[k]) == 0)
                found = 1;
        if (!found) {
            char list[512] = "";
            size_t used = 0;
            for (size_t k = 0; allowed[k] && used < sizeof list - 1; k++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                         allowed[k]);
            return nmdi_error_at(err, NMDI_EDATA, file, map->key_lines[i], map->keys[i],
                                 "unknown key in %s (allowed: %s)", section, list);
        }
    }
    return 0;
}

/* ---- the typed view ------------------------------------------------------------- */

typedef struct loader {
    nmdi_config *cfg;
    const char *file;
    nmdi_error *err;
} loader;

#define LERR(L, node, field, ...) \
    nmdi_error_at((L)->err, NMDI_EDATA, (L)->file, (node) ? (node)->line : 0, field, __VA_ARGS__)

static int want_kind(loader *L, const nmdi_cfg_node *n, nmdi_cfg_kind k, const char *what)
{
    if (n && n->kind == k)
        return 0;
    static const char *names[] = {"", "text value", "mapping", "list"};
    return LERR(L, n, what, "expected a %s%s", names[k],
                !n ? "" : n->kind == NMDI_CFG_SCALAR ? ", got a text value"
                        : n->kind == NMDI_CFG_MAP ? ", got a mapping" : ", got a list");
}

/* Optional string key; *out unchanged when absent. */
static int opt_str(loader *L, const nmdi_cfg_node *map, const char *key, const char **out)
{
    const nmdi_cfg_node *n = nmdi_cfg_get(map, key);
    if (!n)
        return 0;
    return nmdi_cfg_as_str(n, L->file, key, out, L->err);
}

static int req_str(loader *L, const nmdi_cfg_node *map, const char *key, const char **out,
                   const char *section)
{
    const nmdi_cfg_node *n = nmdi_cfg_get(map, key);
    if (!n)
        return LERR(L, map, key, "missing required key in %s", section);
    if (nmdi_cfg_as_str(n, L->file, key, out, L->err))
        return NMDI_EDATA;
    if (!**out)
        return LERR(L, n, key, "must not be empty");
    return 0;
}

/* name: text, or name: {en: .., zh: ..} */
static int names(loader *L, const nmdi_cfg_node *map, const char **en, const char **zh)
{
    static const char *const keys[] = {"en", "zh", "fr", "es", "ar", "ru", NULL};
    const nmdi_cfg_node *n = nmdi_cfg_get(map, "name");
    if (!n)
        return 0;
    if (n->kind == NMDI_CFG_SCALAR) {
        *en = n->str;
        return 0;
    }
    if (nmdi_cfg_check_keys(n, L->file, "name", keys, L->err))
        return NMDI_EDATA;
    return opt_str(L, n, "en", en) || opt_str(L, n, "zh", zh);
}

/* A list of strings, or a single string (as a list of one). */
static int str_list(loader *L, const nmdi_cfg_node *n, const char *what, size_t *count,
                    const char ***out)
{
    if (n->kind == NMDI_CFG_SCALAR) {
        *out = nmdi_arena_alloc(L->cfg->arena, sizeof **out);
        if (!*out)
            return nmdi_error_set(L->err, NMDI_EINTERNAL, "out of memory");
        (*out)[0] = n->str;
        *count = 1;
        return 0;
    }
    if (want_kind(L, n, NMDI_CFG_SEQ, what))
        return NMDI_EDATA;
    *out = nmdi_arena_calloc(L->cfg->arena, n->n + 1, sizeof **out);
    if (!*out)
        return nmdi_error_set(L->err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n->n; i++)
        if (nmdi_cfg_as_str(n->items[i], L->file, what, &(*out)[i], L->err))
            return NMDI_EDATA;
    *count = n->n;
    return 0;
}

static int load_country(loader *L, const nmdi_cfg_node *n)
{
    static const char *const keys[] = {"code", "name", "areas", NULL};
    static const char *const akeys[] = {"code", "name", NULL};
    nmdi_config *c = L->cfg;
    if (nmdi_cfg_check_keys(n, L->file, "country", keys, L->err) ||
        req_str(L, n, "code", &c->country_code, "country") ||
        names(L, n, &c->country_en, &c->country_zh))
        return NMDI_EDATA;
    const nmdi_cfg_node *areas = nmdi_cfg_get(n, "areas");
    if (!areas)
        return 0;
    if (want_kind(L, areas, NMDI_CFG_SEQ, "areas"))
        return NMDI_EDATA;
    c->areas = nmdi_arena_calloc(c->arena, areas->n + 1, sizeof *c->areas);
    if (!c->areas)
        return nmdi_error_set(L->err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < areas->n; i++) {
        const nmdi_cfg_node *a = areas->items[i];
        nmdi_cfg_area *ar = &c->areas[i];
        if (nmdi_cfg_check_keys(a, L->file, "area", akeys, L->err) ||
            req_str(L, a, "code", &ar->code, "area") || names(L, a, &ar->name_en, &ar->name_zh))
            return NMDI_EDATA;
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->areas[k].code, ar->code) == 0)
                return LERR(L, a, "code", "area '%s' declared twice", ar->code);
    }
    c->nareas = areas->n;
    return 0;
}

static int load_agencies(loader *L, const nmdi_cfg_node *n)
{
    static const char *const keys[] = {"id", "name", "description", "contact", NULL};
    nmdi_config *c = L->cfg;
    if (want_kind(L, n, NMDI_CFG_SEQ, "agencies"))
        return NMDI_EDATA;
    c->agencies = nmdi_arena_calloc(c->arena, n->n + 1, sizeof *c->agencies);
    if (!c->agencies)
        return nmdi_error_set(L->err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        const nmdi_cfg_node *a = n->items[i];
        nmdi_cfg_agency *ag = &c->agencies[i];
        ag->line = a->line;
        if (nmdi_cfg_check_keys(a, L->file, "agency", keys, L->err) ||
            req_str(L, a, "id", &ag->id, "agency") || names(L, a, &ag->name_en, &ag->name_zh))
            return NMDI_EDATA;
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->agencies[k].id, ag->id) == 0)
                return LERR(L, a, "id", "agency '%s' declared twice (first at line %ld)", ag->id,
                            c->agencies[k].line);
    }
    c->nagencies = n->n;
    return 0;
}

static int load_rule(loader *L, const nmdi_cfg_node *n, nmdi_cfg_rule *r, int top)
{
    static const char *const keys[] = {"id",         "required", "codelist",  "range",
                                       "date_format", "rule",     "errorcode", "errorlevel",
                                       "record_type", "description", NULL};
    r->line = n->line;
    if (nmdi_cfg_check_keys(n, L->file, "rule", keys, L->err) || req_str(L, n, "id", &r->id, "rule") ||
        opt_str(L, n, "errorcode", &r->errorcode))
        return NMDI_EDATA;
    if (top) {
        if (req_str(L, n, "record_type", &r->record_type, "a top-level validation rule"))
            return NMDI_EDATA;
    } else if (nmdi_cfg_get(n, "record_type")) {
        return LERR(L, nmdi_cfg_get(n, "record_type"), "record_type",
                    "a rule of a source applies to that source's record type: remove record_type");
    }
    const char *kinds[] = {"required", "codelist", "range", "date_format", "rule"};
    int found = 0;
    const nmdi_cfg_node *body = NULL;
    for (int k = 0; k < 5; k++) {
        const nmdi_cfg_node *b = nmdi_cfg_get(n, kinds[k]);
        if (!b)
            continue;
        if (found)
            return LERR(L, b, kinds[k], "a rule has exactly one of required, codelist, range, "
                                        "date_format, rule");
        found = 1;
        body = b;
        r->kind = (nmdi_rule_kind)(k + 1);
    }
    if (!found)
        return LERR(L, n, r->id, "a rule needs one of required, codelist, range, date_format, rule");
    nmdi_arena *a = L->cfg->arena;
    switch (r->kind) {
    case NMDI_RULE_REQUIRED:
        return str_list(L, body, "required", &r->nfields, &r->fields);
    case NMDI_RULE_EXPR:
        return nmdi_cfg_as_str(body, L->file, "rule", &r->expr, L->err);
    default:
        break;
    }
    static const char *const ckeys[] = {"field", "codes", "list", NULL};
    static const char *const rkeys[] = {"field", "min", "max", NULL};
    static const char *const dkeys[] = {"field", "format", NULL};
    const char *const *allowed = r->kind == NMDI_RULE_CODELIST ? ckeys
                                 : r->kind == NMDI_RULE_RANGE  ? rkeys
                                                               : dkeys;
    if (nmdi_cfg_check_keys(body, L->file, kinds[r->kind - 1], allowed, L->err))
        return NMDI_EDATA;
    r->fields = nmdi_arena_calloc(a, 2, sizeof *r->fields);
    if (!r->fields)
        return nmdi_error_set(L->err, NMDI_EINTERNAL, "out of memory");
    r->nfields = 1;
    if (req_str(L, body, "field", &r->fields[0], kinds[r->kind - 1]))
        return NMDI_EDATA;
    if (r->kind == NMDI_RULE_CODELIST) {
        const nmdi_cfg_node *codes = nmdi_cfg_get(body, "codes");
        if (opt_str(L, body, "list", &r->codelist))
            return NMDI_EDATA;
        if (!!codes == !!r->codelist)
            return LERR(L, body, "codelist", "give either codes: [...] or list: <codelist id>");
        if (codes && str_list(L, codes, "codes", &r->ncodes, &r->codes))
            return NMDI_EDATA;
    } else if (r->kind == NMDI_RULE_RANGE) {
        const nmdi_cfg_node *mn = nmdi_cfg_get(body, "min"), *mx = nmdi_cfg_get(body, "max");
        if (!mn && !mx)
            return LERR(L, body, "range", "give min, max or both");
        /* a bound is a number or a calendar date YYYY-MM-DD (kept as days) */
        const nmdi_cfg_node *bn[2] = {mn, mx};
        double *bv[2] = {&r->min, &r->max};
        int *bd[2] = {&r->min_is_date, &r->max_is_date};
        for (int k = 0; k < 2; k++) {
            const char *s = NULL;
            nmdi_date d;
            if (!bn[k])
                continue;
            if (nmdi_cfg_as_str(bn[k], L->file, k ? "max" : "min", &s, L->err))
                return NMDI_EDATA;
            if (!nmdi_date_parse(s, strlen(s), &d)) {
                *bv[k] = d;
                *bd[k] = 1;
            } else if (nmdi_parse_double(s, bv[k])) {
                return nmdi_error_at(L->err, NMDI_EDATA, L->file, bn[k]->line, k ? "max" : "min",
                                     "expected a number or a date (YYYY-MM-DD), got '%s'", s);
            }
        }
        if (mn && mx && r->min_is_date != r->max_is_date)
            return LERR(L, body, "range", "min and max must both be dates or both be numbers");
        r->has_min = !!mn;
        r->has_max = !!mx;
        if (mn && mx && r->min > r->max)
            return LERR(L, body, "range", "min is greater than max");
    } else {
        if (req_str(L, body, "format", &r->format, "date_format"))
            return NMDI_EDATA;
    }
    return 0;
}

static int load_rules(loader *L, const nmdi_cfg_node *n, size_t *count, nmdi_cfg_rule **out, int top)
{
    if (want_kind(L, n, NMDI_CFG_SEQ, top ? "validation" : "rules"))
        return NMDI_EDATA;
    *out = nmdi_arena_calloc(L->cfg->arena, n->n + 1, sizeof **out);
    if (!*out)
        return nmdi_error_set(L->err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        if (load_rule(L, n->items[i], &(*out)[i], top))
            return NMDI_EDATA;
        for (size_t k = 0; k < i; k++)
            if (strcmp((*out)[k].id, (*out)[i].id) == 0)
                return LERR(L, n->items[i], "id", "rule '%s' declared twice", (*out)[i].id);
    }
    *count = n->n;
    return 0;
}

static int load_columns(loader *L, const nmdi_cfg_node *n, nmdi_cfg_source *s)
{
    static const char *const keys[] = {"field", "type", "format", "codelist", NULL};
    if (want_kind(L, n, NMDI_CFG_MAP, "columns"))
        return NMDI_EDATA;
    s->columns = nmdi_arena_calloc(L->cfg->arena, n->n + 1, sizeof *s->columns);
    if (!s->columns)
        return nmdi_error_set(L->err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        nmdi_cfg_column *c = &s->columns[i];
        const nmdi_cfg_node *v = n->items[i];
        c->column = n->keys[i];
        c->line = n->key_lines[i];
        if (v->kind == NMDI_CFG_SCALAR) {
            c->field = v->str;
        } else if (nmdi_cfg_check_keys(v, L->file, "column", keys, L->err) ||
                   req_str(L, v, "field", &c->field, "column") || opt_str(L, v, "type", &c->type) ||
                   opt_str(L, v, "format", &c->format) || opt_str(L, v, "codelist", &c->codelist)) {
            return NMDI_EDATA;
        }
        if (!c->field[0])
            return LERR(L, v, c->column, "the standard field name is empty");
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->columns[k].field, c->field) == 0)
                return LERR(L, v, c->column, "field '%s' is already mapped from column '%s' (line %ld)",
                            c->field, s->columns[k].column, s->columns[k].line);
    }
    s->ncolumns = n->n;
    return 0;
}

static int load_codemaps(loader *L, const nmdi_cfg_node *n, nmdi_cfg_source *s)
{
    if (want_kind(L, n, NMDI_CFG_MAP, "codes"))
        return NMDI_EDATA;
    nmdi_arena *a = L->cfg->arena;
    s->codemaps = nmdi_arena_calloc(a, n->n + 1, sizeof *s->codemaps);
    if (!s->codemaps)
        return nmdi_error_set(L->err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        nmdi_cfg_codemap *m = &s->codemaps[i];
        const nmdi_cfg_node *v = n->items[i];
        m->field = n->keys[i];
        m->line = n->key_lines[i];
        if (want_kind(L, v, NMDI_CFG_MAP, m->field))
            return NMDI_EDATA;
        m->from = nmdi_arena_calloc(a, v->n + 1, sizeof *m->from);
        m->to = nmdi_arena_calloc(a, v->n + 1, sizeof *m->to);
        if (!m->from || !m->to)
            return nmdi_error_set(L->err, NMDI_EINTERNAL, "out of memory");
        for (size_t k = 0; k < v->n; k++) {
            m->from[k] = v->keys[k];
            if (nmdi_cfg_as_str(v->items[k], L->file, m->field, &m->to[k], L->err))
                return NMDI_EDATA;
        }
        m->n = v->n;
    }
    s->ncodemaps = n->n;
    return 0;
}

static int load_idents(loader *L, const nmdi_cfg_node *n, nmdi_cfg_source *s)
{
    static const char *const keys[] = {"column", "name", "kind", "format", "encodings", NULL};
    if (want_kind(L, n, NMDI_CFG_SEQ, "identifiers"))
        return NMDI_EDATA;
    s->idents = nmdi_arena_calloc(L->cfg->arena, n->n + 1, sizeof *s->idents);
    if (!s->idents)
        return nmdi_error_set(L->err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        const nmdi_cfg_node *v = n->items[i];
        nmdi_cfg_ident *d = &s->idents[i];
        d->line = v->line;
        d->kind = "text";
        if (nmdi_cfg_check_keys(v, L->file, "identifier", keys, L->err) ||
            req_str(L, v, "column", &d->column, "identifier") || opt_str(L, v, "kind", &d->kind) ||
            opt_str(L, v, "format", &d->format))
            return NMDI_EDATA;
        d->name = d->column;
        if (opt_str(L, v, "name", &d->name))
            return NMDI_EDATA;
        if (strcmp(d->kind, "name") && strcmp(d->kind, "document") && strcmp(d->kind, "date") &&
            strcmp(d->kind, "text"))
            return LERR(L, nmdi_cfg_get(v, "kind"), "kind",
                        "unknown identifier kind '%s' (name, document, date, text)", d->kind);
        const nmdi_cfg_node *enc = nmdi_cfg_get(v, "encodings");
        if (!enc) {
            d->encodings = NMDI_ENC_HASH | (strcmp(d->kind, "name") == 0 ? NMDI_ENC_PHONETIC | NMDI_ENC_QGRAM : 0);
        } else {
            size_t ne;
            const char **list;
            if (str_list(L, enc, "encodings", &ne, &list))
                return NMDI_EDATA;
            for (size_t k = 0; k < ne; k++) {
                if (!strcmp(list[k], "hash"))
                    d->encodings |= NMDI_ENC_HASH;
                else if (!strcmp(list[k], "phonetic"))
                    d->encodings |= NMDI_ENC_PHONETIC;
                else if (!strcmp(list[k], "qgram"))
                    d->encodings |= NMDI_ENC_QGRAM;
                else
                    return LERR(L, enc, "encodings",
                                "unknown encoding '%s' (hash, phonetic, qgram)", list[k]);
            }
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(s->idents[k].name, d->name))
                return LERR(L, v, "name", "identifier name '%s' used twice", d->name);
    }
    s->nidents = n->n;
    return 0;
}

static int load_source(loader *L, const nmdi_cfg_node *n, nmdi_cfg_source *s)
{
    static const char *const keys[] = {"id",    "agency",      "record_type", "format", "delimiter",
                                       "header", "description", "columns",     "codes",  "identifiers",
                                       "rules", NULL};
    s->line = n->line;
    s->format = "csv";
    s->header = 1;
    if (nmdi_cfg_check_keys(n, L->file, "source", keys, L->err) || req_str(L, n, "id", &s->id, "source") ||
        req_str(L, n, "agency", &s->agency, "source") ||
        req_str(L, n, "record_type", &s->record_type, "source") || opt_str(L, n, "format", &s->format) ||
        opt_str(L, n, "description", &s->description))
        return NMDI_EDATA;
    for (const char *p = s->id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return LERR(L, nmdi_cfg_get(n, "id"), "id",
                        "a source id may hold only letters, digits, '_' and '-'");
    if (strcmp(s->format, "csv") && strcmp(s->format, "stata") && strcmp(s->format, "spss") &&
        strcmp(s->format, "sas"))
        return LERR(L, nmdi_cfg_get(n, "format"), "format", "unknown format '%s' (csv, stata, spss, sas)",
                    s->format);
    if (!nmdi_config_agency(L->cfg, s->agency))
        return LERR(L, nmdi_cfg_get(n, "agency"), "agency", "unknown agency '%s': declare it under agencies",
                    s->agency);
    const nmdi_cfg_node *d = nmdi_cfg_get(n, "delimiter");
    if (d) {
        const char *ds = NULL;
        if (nmdi_cfg_as_str(d, L->file, "delimiter", &ds, L->err))
            return NMDI_EDATA;
        if (!strcmp(ds, "\\t") || !strcmp(ds, "tab") || !strcmp(ds, "\t"))
            s->delimiter = '\t';
        else if (strlen(ds) == 1 && strchr(",;|", ds[0]))
            s->delimiter = ds[0];
        else if (strcmp(ds, "auto"))
            return LERR(L, d, "delimiter", "delimiter must be one of , ; | tab auto");
    }
    const nmdi_cfg_node *h = nmdi_cfg_get(n, "header");
    if (h && nmdi_cfg_as_bool(h, L->file, "header", &s->header, L->err))
        return NMDI_EDATA;
    const nmdi_cfg_node *cols = nmdi_cfg_get(n, "columns");
    if (!cols)
        return LERR(L, n, "columns", "source '%s' has no columns mapping", s->id);
    if (load_columns(L, cols, s))
        return NMDI_EDATA;
    const nmdi_cfg_node *x;
    if ((x = nmdi_cfg_get(n, "codes")) && load_codemaps(L, x, s))
        return NMDI_EDATA;
    if ((x = nmdi_cfg_get(n, "identifiers")) && load_idents(L, x, s))
        return NMDI_EDATA;
    if ((x = nmdi_cfg_get(n, "rules")) && load_rules(L, x, &s->nrules, &s->rules, 0))
        return NMDI_EDATA;
    return 0;
}

static int load_sources(loader *L, const nmdi_cfg_node *n)
{
    nmdi_config *c = L->cfg;
    if (want_kind(L, n, NMDI_CFG_SEQ, "sources"))
        return NMDI_EDATA;
    c->sources = nmdi_arena_calloc(c->arena, n->n + 1, sizeof *c->sources);
    if (!c->sources)
        return nmdi_error_set(L->err, NMDI_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        if (load_source(L, n->items[i], &c->sources[i]))
            return NMDI_EDATA;
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->sources[k].id, c->sources[i].id) == 0)
                return LERR(L, n->items[i], "id", "source '%s' declared twice (first at line %ld)",
                            c->sources[i].id, c->sources[k].line);
    }
    c->nsources = n->n;
    return 0;
}

static int load_root(loader *L, const nmdi_cfg_node *root)
{
    static const char *const keys[] = {"version",    "country",    "agencies",    "sources",
                                       "validation", "residence",  "tables",      "indicators",
                                       "disclosure", "publication", "data_needs", "mobile",
                                       "store",      "linkage",    "agreements", NULL};
    static const char *const pkeys[] = {"agency", "version", "maintainer", "title", "license",
                                        "contact", "languages", NULL};
    static const char *const skeys[] = {"partitions", NULL};
    nmdi_config *c = L->cfg;
    if (nmdi_cfg_check_keys(root, L->file, "the configuration", keys, L->err))
        return NMDI_EDATA;
    const nmdi_cfg_node *x = nmdi_cfg_get(root, "country");
    if (!x)
        return LERR(L, root, "country", "missing required section 'country'");
    if (load_country(L, x))
        return NMDI_EDATA;
    if ((x = nmdi_cfg_get(root, "agencies")) && load_agencies(L, x))
        return NMDI_EDATA;
    if ((x = nmdi_cfg_get(root, "sources")) && load_sources(L, x))
        return NMDI_EDATA;
    if ((x = nmdi_cfg_get(root, "validation")) && load_rules(L, x, &c->nrules, &c->rules, 1))
        return NMDI_EDATA;
    c->partitions = 8;
    if ((x = nmdi_cfg_get(root, "store"))) {
        if (nmdi_cfg_check_keys(x, L->file, "store", skeys, L->err))
            return NMDI_EDATA;
        const nmdi_cfg_node *p = nmdi_cfg_get(x, "partitions");
        int64_t v;
        if (p) {
            if (nmdi_cfg_as_int(p, L->file, "partitions", &v, L->err))
                return NMDI_EDATA;
            if (v < 1 || v > 4096)
                return LERR(L, p, "partitions", "partitions must be from 1 to 4096");
            c->partitions = (int)v;
        }
    }
    if ((x = nmdi_cfg_get(root, "publication"))) {
        if (nmdi_cfg_check_keys(x, L->file, "publication", pkeys, L->err) ||
            opt_str(L, x, "agency", &c->pub_agency) || opt_str(L, x, "version", &c->pub_version) ||
            opt_str(L, x, "maintainer", &c->pub_maintainer))
            return NMDI_EDATA;
    }
    /* sections of later stages: shape only */
    static const char *const seqs[] = {"tables", "indicators", "data_needs", "agreements", NULL};
    static const char *const maps[] = {"residence", "disclosure", "mobile", "linkage", NULL};
    for (size_t i = 0; seqs[i]; i++)
        if ((x = nmdi_cfg_get(root, seqs[i]))) {
            if (want_kind(L, x, NMDI_CFG_SEQ, seqs[i]))
                return NMDI_EDATA;
            for (size_t k = 0; k < x->n; k++)
                if (want_kind(L, x->items[k], NMDI_CFG_MAP, seqs[i]))
                    return NMDI_EDATA;
        }
    for (size_t i = 0; maps[i]; i++)
        if ((x = nmdi_cfg_get(root, maps[i])) && want_kind(L, x, NMDI_CFG_MAP, maps[i]))
            return NMDI_EDATA;
    return 0;
}

int nmdi_config_parse(nmdi_config **out, const char *text, size_t len, const char *name,
                      nmdi_error *err)
{
    *out = NULL;
    nmdi_arena *a = nmdi_arena_new(0);
    nmdi_config *c = a ? nmdi_arena_calloc(a, 1, sizeof *c) : NULL;
    if (!c) {
        nmdi_arena_free(a);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    c->arena = a;
    c->path = nmdi_arena_strdup(a, name);
    builder b = {.a = a, .name = c->path, .err = err};
    if (!yaml_parser_initialize(&b.p)) {
        nmdi_arena_free(a);
        return nmdi_error_set(err, NMDI_EINTERNAL, "cannot initialise the YAML parser");
    }
    nmdi_cfg_node *root = NULL;
    int rc = build_tree(&b, text, len, &root);
    yaml_parser_delete(&b.p);
    if (!rc) {
        c->root = root;
        loader L = {c, c->path, err};
        rc = load_root(&L, root);
    }
    if (rc) {
        nmdi_arena_free(a);
        return rc;
    }
    *out = c;
    return 0;
}

int nmdi_config_load(nmdi_config **out, const char *path, nmdi_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot open the configuration: %s",
                             strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > (64u << 20)) {
                free(buf);
                fclose(f);
                return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "configuration larger than 64 MiB");
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot read the configuration");
    }
    int rc = nmdi_config_parse(out, buf ? buf : "", len, path, err);
    free(buf);
    return rc;
}

void nmdi_config_free(nmdi_config *cfg)
{
    if (cfg)
        nmdi_arena_free(cfg->arena);
}

const nmdi_cfg_source *nmdi_config_source(const nmdi_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nsources; i++)
        if (strcmp(cfg->sources[i].id, id) == 0)
            return &cfg->sources[i];
    return NULL;
}

const nmdi_cfg_agency *nmdi_config_agency(const nmdi_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nagencies; i++)
        if (strcmp(cfg->agencies[i].id, id) == 0)
            return &cfg->agencies[i];
    return NULL;
}
