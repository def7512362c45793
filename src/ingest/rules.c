/*
 * rules.c — validation rules of the configuration, compiled once per load
 * and checked per record: required fields, codelists, ranges, date formats,
 * and cross-field rules written like VTL datapoint rules:
 *     when <condition> then <condition> [errorcode "X"] [errorlevel N]
 * Expressions: fields, numbers, "text", and/or/not, = <> < <= > >=,
 * + - * /, x in {"a","b"}, x not in (...), x is [not] null,
 * x between a and b, isnull(x), year(d), month(d), day(d), length(s),
 * nvl(x, y), abs(x), date("YYYY-MM-DD"). Dates are a type of their own:
 * date fields, date literals (1990-01-01 unquoted, "1990-01-01" next to a
 * date, or date("...")), date ± days (a date) and date − date (days); a
 * date compares with dates only, so `date_of_birth >= 1900` is refused
 * rather than read as a day count. Null propagates as in VTL; a rule whose
 * result is null passes (completeness is the job of `required`). Range
 * rules take number or date bounds to match their field.
 * Also: date formats (nmdi_ingest_parse_date).
 */
#include "ingest_impl.h"

#include "nmdi/codes.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- dates with a format ------------------------------------------------------ */

int nmdi_date_format_valid(const char *fmt)
{
    int y = 0, m = 0, d = 0;
    for (const char *p = fmt; *p;) {
        if (!strncmp(p, "YYYY", 4)) { y++; p += 4; }
        else if (!strncmp(p, "MM", 2) || *p == 'M') { m++; p += *p == 'M' && p[1] == 'M' ? 2 : 1; }
        else if (!strncmp(p, "DD", 2) || *p == 'D') { d++; p += *p == 'D' && p[1] == 'D' ? 2 : 1; }
        else if (isalnum((unsigned char)*p)) return -1;
        else p++;
    }
    return y == 1 && m == 1 && d == 1 ? 0 : -1;
}

static inline int digits(const char **s, const char *end, int min, int max, int *out)
{
    int n = 0, v = 0;
    while (*s < end && n < max && **s >= '0' && **s <= '9') {
        v = v * 10 + (**s - '0');
        (*s)++;
        n++;
    }
    if (n < min)
        return -1;
    *out = v;
    return 0;
}

int nmdi_ingest_parse_date(const char *format, const char *s, size_t len, nmdi_date *out)
{
    if (!format) {
        if (len > 10 && (s[10] == 'T' || s[10] == ' '))
            len = 10;
        return nmdi_date_parse(s, len, out);
    }
    const char *p = s, *end = s + len;
    int y = -1, m = -1, d = -1;
    for (const char *f = format; *f;) {
        /* tokens compared character by character (this runs per record) */
        if (f[0] == 'Y' && f[1] == 'Y' && f[2] == 'Y' && f[3] == 'Y') {
            if (digits(&p, end, 4, 4, &y)) return -1;
            f += 4;
        } else if (f[0] == 'M' && f[1] == 'M') {
            if (digits(&p, end, 2, 2, &m)) return -1;
            f += 2;
        } else if (f[0] == 'D' && f[1] == 'D') {
            if (digits(&p, end, 2, 2, &d)) return -1;
            f += 2;
        } else if (*f == 'M') {
            if (digits(&p, end, 1, 2, &m)) return -1;
            f++;
        } else if (*f == 'D') {
            if (digits(&p, end, 1, 2, &d)) return -1;
            f++;
        } else {
            if (p >= end || *p != *f) return -1;
            p++;
            f++;
        }
    }
    if (p != end || !nmdi_date_valid_ymd(y, m, d))
        return -1;
    *out = nmdi_date_from_ymd(y, m, d);
    return 0;
}

/* ---- expressions --------------------------------------------------------------- */

enum { T_NUM = 1, T_STR, T_BOOL, T_DATE };
enum {
    E_NUM, E_STR, E_NULL, E_FIELD, E_OR, E_AND, E_NOT, E_EQ, E_NE, E_LT, E_LE, E_GT, E_GE,
    E_ADD, E_SUB, E_MUL, E_DIV, E_NEG, E_IN, E_ISNULL, E_YEAR, E_MONTH, E_DAY, E_LENGTH, E_NVL,
    E_ABS, E_BETWEEN
};

struct expr {
    int op, type;
    double num;
    const char *s;
    size_t len;
    int field;
    expr *a, *b, *c;
    size_t n;
    expr **list;
};

typedef struct parser {
    const char *src, *p;
    nmdi_arena *a;
    const rule_field *fields;
    size_t nf;
    const char *file;
    long line;
    const char *rule;
    nmdi_error *err;
    int failed;
} parser;

static expr *perr(parser *P, const char *fmt, const char *arg)
{
    if (!P->failed) {
        char msg[512];
        snprintf(msg, sizeof msg, fmt, arg);
        nmdi_error_at(P->err, NMDI_EDATA, P->file, P->line, P->rule,
                      "rule: %s (at \"%.30s\")", msg, P->p);
    }
    P->failed = 1;
    return NULL;
}

static void skip_ws(parser *P)
{
    while (*P->p && isspace((unsigned char)*P->p))
        P->p++;
}

/* Accept keyword or operator tok (keywords case-insensitive, whole word). */
static int accept(parser *P, const char *tok)
{
    skip_ws(P);
    size_t n = strlen(tok);
    if (isalpha((unsigned char)tok[0])) {
        if (strncasecmp(P->p, tok, n) == 0 && !isalnum((unsigned char)P->p[n]) && P->p[n] != '_') {
            P->p += n;
            return 1;
        }
        return 0;
    }
    if (strncmp(P->p, tok, n) == 0) {
        /* do not split <= into < = */
        if (n == 1 && (tok[0] == '<' || tok[0] == '>') && (P->p[1] == '=' || (tok[0] == '<' && P->p[1] == '>')))
            return 0;
        P->p += n;
        return 1;
    }
    return 0;
}

static expr *node(parser *P, int op, int type)
{
    expr *e = nmdi_arena_calloc(P->a, 1, sizeof *e);
    if (!e)
        return perr(P, "%s", "out of memory");
    e->op = op;
    e->type = type;
    return e;
}

static expr *parse_or(parser *P);
static int coerce(parser *P, expr *field, expr *lit);

/* DDDD-DD-DD not followed by a digit, letter, '_' or '.' */
static int is_date_literal(const char *p)
{
    static const char shape[] = "9999-99-99";
    for (int i = 0; i < 10; i++)
        if (shape[i] == '9' ? !isdigit((unsigned char)p[i]) : p[i] != '-')
            return 0;
    return !isalnum((unsigned char)p[10]) && p[10] != '_' && p[10] != '.';
}

static expr *parse_primary(parser *P)
{
    skip_ws(P);
    const char *p = P->p;
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        const char *start = p;
        while (*p && *p != q)
            p++;
        if (!*p)
            return perr(P, "%s", "unterminated text literal");
        expr *e = node(P, E_STR, T_STR);
        if (!e)
            return NULL;
        e->s = nmdi_arena_strndup(P->a, start, (size_t)(p - start));
        e->len = (size_t)(p - start);
        P->p = p + 1;
        return e;
    }
    if (is_date_literal(p)) {
        /* an unquoted YYYY-MM-DD is a date, never the subtraction 1990 - 01 - 01 */
        nmdi_date d;
        if (nmdi_date_parse(p, 10, &d))
            return perr(P, "%s", "not a calendar date");
        expr *e = node(P, E_NUM, T_DATE);
        if (!e)
            return NULL;
        e->num = d;
        P->p = p + 10;
        return e;
    }
    if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
        char *end;
        double v = strtod(p, &end);
        expr *e = node(P, E_NUM, T_NUM);
        if (!e)
            return NULL;
        e->num = v;
        P->p = end;
        return e;
    }
    if (accept(P, "(")) {
        expr *e = parse_or(P);
        if (!e)
            return NULL;
        if (!accept(P, ")"))
            return perr(P, "%s", "expected ')'");
        return e;
    }
    if (accept(P, "null"))
        return node(P, E_NULL, 0);
    if (accept(P, "true")) {
        expr *e = node(P, E_NUM, T_BOOL);
        if (e) e->num = 1;
        return e;
    }
    if (accept(P, "false")) {
        expr *e = node(P, E_NUM, T_BOOL);
        if (e) e->num = 0;
        return e;
    }
    if (isalpha((unsigned char)*p) || *p == '_') {
        const char *start = p;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        size_t n = (size_t)(p - start);
        char name[128];
        if (n >= sizeof name)
            return perr(P, "%s", "name too long");
        memcpy(name, start, n);
        name[n] = 0;
        P->p = p;
        if (accept(P, "(")) {
            static const struct { const char *name; int op, nargs, type; } fns[] = {
                {"isnull", E_ISNULL, 1, T_BOOL}, {"year", E_YEAR, 1, T_NUM},
                {"month", E_MONTH, 1, T_NUM},    {"day", E_DAY, 1, T_NUM},
                {"length", E_LENGTH, 1, T_NUM},  {"nvl", E_NVL, 2, 0},
                {"abs", E_ABS, 1, T_NUM},        {"date", -1, 1, T_DATE},
            };
            for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
                if (strcasecmp(fns[i].name, name))
                    continue;
                expr *x = parse_or(P);
                expr *y = NULL;
                if (!x)
                    return NULL;
                if (fns[i].nargs == 2) {
                    if (!accept(P, ","))
                        return perr(P, "%s() takes two arguments", fns[i].name);
                    if (!(y = parse_or(P)))
                        return NULL;
                }
                if (!accept(P, ")"))
                    return perr(P, "expected ')' after the arguments of %s()", fns[i].name);
                if (fns[i].op == -1) { /* date literal */
                    nmdi_date d;
                    if (x->type == T_DATE)
                        return x;
                    if (x->op != E_STR || nmdi_date_parse(x->s, x->len, &d))
                        return perr(P, "%s", "date() takes a \"YYYY-MM-DD\" literal");
                    expr *e = node(P, E_NUM, T_DATE);
                    if (e) e->num = d;
                    return e;
                }
                int op = fns[i].op;
                if ((op == E_YEAR || op == E_MONTH || op == E_DAY) && x->type != T_DATE && x->op != E_NULL)
                    return perr(P, "%s() needs a date", fns[i].name);
                if (op == E_ABS && x->type != T_NUM && x->op != E_NULL)
                    return perr(P, "%s", "abs() needs a number");
                if (op == E_NVL && y && coerce(P, x, y))
                    return NULL;
                if (op == E_LENGTH && x->type != T_STR && x->op != E_NULL)
                    return perr(P, "%s", "length() needs text");
                expr *e = node(P, op, fns[i].type ? fns[i].type : x->type);
                if (!e)
                    return NULL;
                e->a = x;
                e->b = y;
                return e;
            }
            return perr(P, "unknown function '%s'", name);
        }
        for (size_t i = 0; i < P->nf; i++)
            if (!strcmp(P->fields[i].name, name)) {
                nmdi_ftype t = P->fields[i].type;
                int ty = t == NMDI_F_DATE                          ? T_DATE
                         : (t == NMDI_F_INT || t == NMDI_F_DOUBLE) ? T_NUM
                         : t == NMDI_F_BOOL                        ? T_BOOL
                                                                   : T_STR;
                expr *e = node(P, E_FIELD, ty);
                if (e) e->field = (int)i;
                return e;
            }
        return perr(P, "unknown field '%s' (not mapped by this source)", name);
    }
    return perr(P, "%s", "expected a field, number, text or '('");
}

static expr *parse_unary(parser *P)
{
    if (accept(P, "-")) {
        expr *x = parse_unary(P);
        if (!x) return NULL;
        if (x->type != T_NUM && x->type != T_BOOL) return perr(P, "%s", "'-' needs a number");
        expr *e = node(P, E_NEG, T_NUM);
        if (e) e->a = x;
        return e;
    }
    return parse_primary(P);
}

static expr *binary(parser *P, int op, int type, expr *a, expr *b)
{
    if (!a || !b)
        return NULL;
    expr *e = node(P, op, type);
    if (e) { e->a = a; e->b = b; }
    return e;
}

static expr *parse_mul(parser *P)
{
    expr *e = parse_unary(P);
    while (e) {
        int op = accept(P, "*") ? E_MUL : accept(P, "/") ? E_DIV : -1;
        if (op < 0) break;
        expr *r = parse_unary(P);
        if (r && (e->type == T_STR || r->type == T_STR)) return perr(P, "%s", "arithmetic on text");
        if (r && (e->type == T_DATE || r->type == T_DATE))
            return perr(P, "%s", "dates can only be added to or subtracted from");
        e = binary(P, op, T_NUM, e, r);
    }
    return e;
}

static expr *parse_add(parser *P)
{
    expr *e = parse_mul(P);
    while (e) {
        int op = accept(P, "+") ? E_ADD : accept(P, "-") ? E_SUB : -1;
        if (op < 0) break;
        expr *r = parse_mul(P);
        if (r && (e->type == T_STR || r->type == T_STR)) return perr(P, "%s", "arithmetic on text");
        if (!r)
            return NULL;
        /* date + days, days + date, date - days: a date; date - date: days */
        int da = e->type == T_DATE, db = r->type == T_DATE;
        if (da && db && op == E_ADD)
            return perr(P, "%s", "two dates cannot be added (subtract them for the days between)");
        if (db && !da && op == E_SUB)
            return perr(P, "%s", "a date cannot be subtracted from a number");
        e = binary(P, op, (da != db) ? T_DATE : T_NUM, e, r);
    }
    return e;
}

/* A text literal compared with a date is read as a date. */
static int coerce(parser *P, expr *field, expr *lit)
{
    if (field->type == T_DATE && lit->op == E_STR) {
        nmdi_date d;
        if (nmdi_date_parse(lit->s, lit->len, &d))
            return perr(P, "%s", "compare a date with \"YYYY-MM-DD\""), -1;
        lit->op = E_NUM;
        lit->type = T_DATE;
        lit->num = d;
    }
    return 0;
}

static int comparable(parser *P, expr *a, expr *b)
{
    if (coerce(P, a, b) || coerce(P, b, a))
        return -1;
    if (a->op == E_NULL || b->op == E_NULL)
        return 0;
    int ta = a->type == T_BOOL ? T_NUM : a->type, tb = b->type == T_BOOL ? T_NUM : b->type;
    if (ta == T_DATE || tb == T_DATE) {
        if (ta != tb)
            return perr(P, "%s", "a date compares with a date only (write it as YYYY-MM-DD)"), -1;
        return 0;
    }
    if (ta != tb)
        return perr(P, "%s", "comparing text with a number"), -1;
    return 0;
}

static expr *parse_cmp(parser *P)
{
    expr *e = parse_add(P);
    if (!e)
        return NULL;
    static const struct { const char *tok; int op; } ops[] = {
        {"<>", E_NE}, {"!=", E_NE}, {"<=", E_LE}, {">=", E_GE}, {"=", E_EQ}, {"<", E_LT}, {">", E_GT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (accept(P, ops[i].tok)) {
            expr *r = parse_add(P);
            if (!r || comparable(P, e, r))
                return NULL;
            return binary(P, ops[i].op, T_BOOL, e, r);
        }
    if (accept(P, "is")) {
        int neg = accept(P, "not");
        if (!accept(P, "null"))
            return perr(P, "%s", "expected 'null' after 'is'");
        expr *x = node(P, E_ISNULL, T_BOOL);
        if (!x) return NULL;
        x->a = e;
        if (!neg) return x;
        expr *n = node(P, E_NOT, T_BOOL);
        if (n) n->a = x;
        return n;
    }
    const char *save = P->p;
    int neg = accept(P, "not");
    if (accept(P, "in")) {
        int close = accept(P, "{") ? '}' : accept(P, "(") ? ')' : 0;
        if (!close)
            return perr(P, "%s", "expected '{' or '(' after 'in'");
        expr *x = node(P, E_IN, T_BOOL);
        if (!x) return NULL;
        x->a = e;
        expr *items[256];
        size_t n = 0;
        do {
            expr *it = parse_add(P);
            if (!it || comparable(P, e, it))
                return NULL;
            if (n == 256)
                return perr(P, "%s", "more than 256 items in a list");
            items[n++] = it;
        } while (accept(P, ","));
        if (!accept(P, close == '}' ? "}" : ")"))
            return perr(P, "%s", "unterminated list after 'in'");
        x->list = nmdi_arena_alloc(P->a, n * sizeof *x->list);
        if (!x->list) return perr(P, "%s", "out of memory");
        memcpy(x->list, items, n * sizeof *items);
        x->n = n;
        if (!neg) return x;
        expr *nn = node(P, E_NOT, T_BOOL);
        if (nn) nn->a = x;
        return nn;
    }
    if (accept(P, "between")) {
        expr *lo = parse_add(P);
        if (!lo || !accept(P, "and"))
            return lo ? perr(P, "%s", "expected 'and' in 'between'") : NULL;
        expr *hi = parse_add(P);
        if (!hi || comparable(P, e, lo) || comparable(P, e, hi))
            return NULL;
        expr *x = node(P, E_BETWEEN, T_BOOL);
        if (!x) return NULL;
        x->a = e; x->b = lo; x->c = hi;
        if (!neg) return x;
        expr *nn = node(P, E_NOT, T_BOOL);
        if (nn) nn->a = x;
        return nn;
    }
    P->p = save;
    return e;
}

static expr *parse_not(parser *P)
{
    if (accept(P, "not")) {
        expr *x = parse_not(P);
        if (!x) return NULL;
        expr *e = node(P, E_NOT, T_BOOL);
        if (e) e->a = x;
        return e;
    }
    return parse_cmp(P);
}

static expr *parse_and(parser *P)
{
    expr *e = parse_not(P);
    while (e && accept(P, "and"))
        e = binary(P, E_AND, T_BOOL, e, parse_not(P));
    return e;
}

static expr *parse_or(parser *P)
{
    expr *e = parse_and(P);
    while (e && accept(P, "or"))
        e = binary(P, E_OR, T_BOOL, e, parse_and(P));
    return e;
}

static void collect_fields(const expr *e, int *first)
{
    if (!e)
        return;
    if (e->op == E_FIELD && *first < 0)
        *first = e->field;
    collect_fields(e->a, first);
    collect_fields(e->b, first);
    collect_fields(e->c, first);
    for (size_t i = 0; i < e->n; i++)
        collect_fields(e->list[i], first);
}

static int find_field(const rule_field *fields, size_t nf, const char *name)
{
    for (size_t i = 0; i < nf; i++)
        if (!strcmp(fields[i].name, name))
            return (int)i;
    return -1;
}

int nmdi_rule_compile(nmdi_arena *a, const char *file, const nmdi_cfg_rule *r, const rule_field *fields,
                      size_t nf, crule *out, nmdi_error *err)
{
    memset(out, 0, sizeof *out);
    out->cfg = r;
    out->id = r->id;
    out->errorcode = r->errorcode ? r->errorcode : r->id;
    out->field = -1;
    if (r->kind != NMDI_RULE_EXPR) {
        out->fields = nmdi_arena_calloc(a, r->nfields + 1, sizeof *out->fields);
        if (!out->fields)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        for (size_t i = 0; i < r->nfields; i++) {
            int f = find_field(fields, nf, r->fields[i]);
            if (f < 0)
                return nmdi_error_at(err, NMDI_EDATA, file, r->line, r->fields[i],
                                     "rule '%s' names a field this source does not map", r->id);
            out->fields[i] = f;
        }
        out->nfields = r->nfields;
        out->field = out->fields[0];
    }
    switch (r->kind) {
    case NMDI_RULE_CODELIST:
        out->codes = nmdi_strmap_new();
        if (!out->codes)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        if (r->codelist) {
            const nmdi_codelist *cl = nmdi_codes_get(r->codelist);
            if (!cl)
                return nmdi_error_at(err, NMDI_EDATA, file, r->line, r->id,
                                     "unknown codelist '%s' (`nmdi codes` lists them)", r->codelist);
            for (size_t i = 0; i < cl->n; i++)
                if (!nmdi_strmap_put(out->codes, cl->codes[i].id, strlen(cl->codes[i].id), NULL))
                    return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
        for (size_t i = 0; i < r->ncodes; i++)
            if (!nmdi_strmap_put(out->codes, r->codes[i], strlen(r->codes[i]), NULL))
                return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        return 0;
    case NMDI_RULE_RANGE: {
        nmdi_ftype t = fields[out->field].type;
        if (t != NMDI_F_INT && t != NMDI_F_DOUBLE && t != NMDI_F_DATE)
            return nmdi_error_at(err, NMDI_EDATA, file, r->line, r->fields[0],
                                 "rule '%s': range needs a number or date field", r->id);
        int date = t == NMDI_F_DATE;
        if ((r->has_min && r->min_is_date != date) || (r->has_max && r->max_is_date != date))
            return nmdi_error_at(err, NMDI_EDATA, file, r->line, r->fields[0],
                                 date ? "rule '%s': the bounds of a date field's range are dates "
                                        "(min: 1900-01-01)"
                                      : "rule '%s': the bounds of a number field's range are numbers",
                                 r->id);
        return 0;
    }
    case NMDI_RULE_DATE_FORMAT:
        if (fields[out->field].type != NMDI_F_DATE)
            return nmdi_error_at(err, NMDI_EDATA, file, r->line, r->fields[0],
                                 "rule '%s': date_format needs a date field", r->id);
        if (nmdi_date_format_valid(r->format))
            return nmdi_error_at(err, NMDI_EDATA, file, r->line, r->fields[0],
                                 "rule '%s': bad date format '%s' (use YYYY, MM, DD, M, D)", r->id,
                                 r->format);
        return 0;
    case NMDI_RULE_REQUIRED:
        return 0;
    case NMDI_RULE_EXPR:
        break;
    }
    parser P = {r->expr, r->expr, a, fields, nf, file, r->line, r->id, err, 0};
    expr *then;
    if (accept(&P, "when")) {
        out->when = parse_or(&P);
        if (!out->when)
            return NMDI_EDATA;
        if (!accept(&P, "then"))
            return perr(&P, "%s", "expected 'then'"), NMDI_EDATA;
    }
    then = parse_or(&P);
    if (!then)
        return NMDI_EDATA;
    out->then = then;
    if (accept(&P, "errorcode")) {
        expr *code = parse_primary(&P);
        if (!code || code->op != E_STR)
            return perr(&P, "%s", "errorcode takes a \"text\""), NMDI_EDATA;
        out->errorcode = code->s;
    }
    if (accept(&P, "errorlevel")) {
        expr *lvl = parse_primary(&P);
        if (!lvl || lvl->op != E_NUM)
            return perr(&P, "%s", "errorlevel takes a number"), NMDI_EDATA;
    }
    skip_ws(&P);
    if (*P.p)
        return perr(&P, "%s", "unexpected text at the end of the rule"), NMDI_EDATA;
    if ((out->when && out->when->type != T_BOOL) || then->type != T_BOOL)
        return perr(&P, "%s", "a condition must be true or false (use a comparison)"), NMDI_EDATA;
    collect_fields(out->when ? out->when : then, &out->field);
    if (out->field < 0)
        collect_fields(then, &out->field);
    return 0;
}

void nmdi_rule_free(crule *r)
{
    nmdi_strmap_free(r->codes);
    r->codes = NULL;
}

static ival vnum(double x) { return (ival){V_NUM, x, NULL, 0}; }
static const ival vnull = {V_NULL, 0, NULL, 0};

static int veq(const ival *a, const ival *b)
{
    if (a->kind == V_NUM)
        return a->num == b->num;
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

static int vcmp(const ival *a, const ival *b)
{
    if (a->kind == V_NUM)
        return a->num < b->num ? -1 : a->num > b->num;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    return c ? c : (a->len < b->len ? -1 : a->len > b->len);
}

static ival eval(const expr *e, const ival *vals)
{
    ival a, b, c;
    switch (e->op) {
    case E_NUM: return vnum(e->num);
    case E_STR: return (ival){V_STR, 0, e->s, e->len};
    case E_NULL: return vnull;
    case E_FIELD: return vals[e->field];
    case E_OR:
        a = eval(e->a, vals);
        if (a.kind == V_NUM && a.num) return vnum(1);
        b = eval(e->b, vals);
        if (b.kind == V_NUM && b.num) return vnum(1);
        return a.kind == V_NULL || b.kind == V_NULL ? vnull : vnum(0);
    case E_AND:
        a = eval(e->a, vals);
        if (a.kind == V_NUM && !a.num) return vnum(0);
        b = eval(e->b, vals);
        if (b.kind == V_NUM && !b.num) return vnum(0);
        return a.kind == V_NULL || b.kind == V_NULL ? vnull : vnum(1);
    case E_NOT:
        a = eval(e->a, vals);
        return a.kind == V_NULL ? vnull : vnum(!a.num);
    case E_ISNULL:
        return vnum(eval(e->a, vals).kind == V_NULL);
    case E_NVL:
        a = eval(e->a, vals);
        return a.kind == V_NULL ? eval(e->b, vals) : a;
    case E_IN:
        a = eval(e->a, vals);
        if (a.kind == V_NULL) return vnull;
        for (size_t i = 0; i < e->n; i++) {
            b = eval(e->list[i], vals);
            if (b.kind == a.kind && veq(&a, &b)) return vnum(1);
        }
        return vnum(0);
    case E_BETWEEN:
        a = eval(e->a, vals);
        b = eval(e->b, vals);
        c = eval(e->c, vals);
        if (a.kind == V_NULL || b.kind == V_NULL || c.kind == V_NULL) return vnull;
        return vnum(vcmp(&a, &b) >= 0 && vcmp(&a, &c) <= 0);
    default:
        break;
    }
    a = eval(e->a, vals);
    if (a.kind == V_NULL) return vnull;
    switch (e->op) {
    case E_NEG: return vnum(-a.num);
    case E_ABS: return vnum(fabs(a.num));
    case E_LENGTH: return vnum((double)a.len);
    case E_YEAR:
    case E_MONTH:
    case E_DAY: {
        int y, m, d;
        nmdi_date_to_ymd((nmdi_date)a.num, &y, &m, &d);
        return vnum(e->op == E_YEAR ? y : e->op == E_MONTH ? m : d);
    }
    default:
        break;
    }
    b = eval(e->b, vals);
    if (b.kind == V_NULL) return vnull;
    switch (e->op) {
    case E_EQ: return vnum(veq(&a, &b));
    case E_NE: return vnum(!veq(&a, &b));
    case E_LT: return vnum(vcmp(&a, &b) < 0);
    case E_LE: return vnum(vcmp(&a, &b) <= 0);
    case E_GT: return vnum(vcmp(&a, &b) > 0);
    case E_GE: return vnum(vcmp(&a, &b) >= 0);
    case E_ADD: return vnum(a.num + b.num);
    case E_SUB: return vnum(a.num - b.num);
    case E_MUL: return vnum(a.num * b.num);
    case E_DIV: return b.num == 0 ? vnull : vnum(a.num / b.num);
    }
    return vnull;
}

int nmdi_rule_check(const crule *r, const ival *vals, int *bad_field)
{
    *bad_field = r->field;
    switch (r->cfg->kind) {
    case NMDI_RULE_REQUIRED:
        for (size_t i = 0; i < r->nfields; i++)
            if (vals[r->fields[i]].kind == V_NULL) {
                *bad_field = r->fields[i];
                return 0;
            }
        return 1;
    case NMDI_RULE_CODELIST: {
        const ival *v = &vals[r->field];
        if (v->kind == V_NULL)
            return 1;
        if (v->kind == V_STR)
            return nmdi_strmap_get(r->codes, v->s, v->len) != NULL;
        char buf[32];
        nmdi_fmt_double(v->num, buf);
        return nmdi_strmap_get(r->codes, buf, strlen(buf)) != NULL;
    }
    case NMDI_RULE_RANGE: {
        const ival *v = &vals[r->field];
        if (v->kind != V_NUM)
            return 1;
        if (r->cfg->has_min && v->num < r->cfg->min)
            return 0;
        if (r->cfg->has_max && v->num > r->cfg->max)
            return 0;
        return 1;
    }
    case NMDI_RULE_DATE_FORMAT:
        return 1; /* applied at conversion */
    case NMDI_RULE_EXPR:
        break;
    }
    if (r->when) {
        ival w = eval(r->when, vals);
        if (w.kind == V_NULL || !w.num)
            return 1;
    }
    ival t = eval(r->then, vals);
    return t.kind == V_NULL || t.num != 0;
}
