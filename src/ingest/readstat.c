/*
 * readstat.c — Stata (.dta), SPSS (.sav, .por) and SAS (.sas7bdat, .xpt
 * transport) deliveries read through ReadStat's streaming parser. Format
 * "spss" reads a system file or a portable file, "sas" a SAS7BDAT or a
 * transport (XPORT) file, told apart by their first bytes. Each observation
 * becomes a row of text fields handed to the same row function as CSV rows,
 * so mapping, codes, validation and pseudonymisation are shared. Values with
 * a date or date-time display format become ISO dates (Stata %td: days since
 * 1960-01-01, %tc: milliseconds; SPSS DATE-like formats and DATETIME:
 * seconds since 1582-10-14; SAS DATE-like formats: days since 1960-01-01,
 * DATETIME-like formats: seconds since 1960-01-01); other numbers are
 * written at full precision (a value label never replaces the value: map
 * codes under codes:); missing values (system, SPSS user-defined, Stata and
 * SAS tagged .a-.z) are empty. The "line" of a row is its observation
 * number, counted from 1 (Stata's _n, SPSS's case number).
 */
#include "ingest_impl.h"

#include <math.h>
#include <readstat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef enum { DT_NONE, DT_STATA_DAYS, DT_STATA_MS, DT_SPSS_SECS, DT_SAS_DAYS, DT_SAS_SECS } datekind;

/* readers: 0 dta, 1 sav, 2 sas7bdat, 3 por, 4 xport */
enum { K_DTA, K_SAV, K_SAS, K_POR, K_XPT };

typedef struct rsctx {
    const char *path;
    int kind;           /* K_DTA, ...                           */
    int (*header)(void *, size_t, const char *const *, nmdi_error *);
    row_fn row;
    void *arg;
    nmdi_error *err;
    int failed;
    size_t nvars;
    char **names;
    datekind *dk;
    char **vals;        /* current row's texts                  */
    size_t *caps, *lens;
    int header_done;
    long obs;
} rsctx;

static int prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static datekind date_kind(int kind, const char *fmt)
{
    if (!fmt || !*fmt)
        return DT_NONE;
    if (kind == K_DTA) {
        if (prefix(fmt, "%td") || prefix(fmt, "%d"))
            return DT_STATA_DAYS;
        if (prefix(fmt, "%tc") || prefix(fmt, "%tC"))
            return DT_STATA_MS;
        return DT_NONE;
    }
    if (kind == K_SAV || kind == K_POR) {
        /* SPSS keeps dates and date-times alike as seconds since 1582-10-14 */
        static const char *const spss[] = {"DATETIME", "YMDHMS", "DATE", "ADATE", "EDATE", "SDATE",
                                           "JDATE", NULL};
        for (size_t i = 0; spss[i]; i++)
            if (prefix(fmt, spss[i]))
                return DT_SPSS_SECS;
        return DT_NONE;
    }
    /* SAS: date-times (seconds) first, since DATETIME starts like DATE */
    static const char *const secs[] = {"DATETIME", "DATEAMPM", "E8601DT", "IS8601DT", "B8601DT",
                                       "MDYAMPM", "NLDATM", NULL};
    static const char *const days[] = {"DATE", "YYMMDD", "MMDDYY", "DDMMYY", "E8601DA", "IS8601DA",
                                       "B8601DA", "WORDDATE", "WEEKDATE", "NLDATE", "YYMMN", NULL};
    for (size_t i = 0; secs[i]; i++)
        if (prefix(fmt, secs[i]))
            return DT_SAS_SECS;
    for (size_t i = 0; days[i]; i++)
        if (prefix(fmt, days[i]))
            return DT_SAS_DAYS;
    return DT_NONE;
}

static int set_val(rsctx *c, size_t i, const char *s, size_t len)
{
    if (len + 1 > c->caps[i]) {
        size_t nc = len + 64;
        char *nb = realloc(c->vals[i], nc);
        if (!nb)
            return -1;
        c->vals[i] = nb;
        c->caps[i] = nc;
    }
    memcpy(c->vals[i], s, len);
    c->vals[i][len] = 0;
    c->lens[i] = len;
    return 0;
}

static int on_meta(readstat_metadata_t *m, void *arg)
{
    rsctx *c = arg;
    int n = readstat_get_var_count(m);
    if (n <= 0)
        return READSTAT_HANDLER_OK;
    c->nvars = (size_t)n;
    c->names = calloc(c->nvars, sizeof *c->names);
    c->dk = calloc(c->nvars, sizeof *c->dk);
    c->vals = calloc(c->nvars, sizeof *c->vals);
    c->caps = calloc(c->nvars, sizeof *c->caps);
    c->lens = calloc(c->nvars, sizeof *c->lens);
    if (!c->names || !c->dk || !c->vals || !c->caps || !c->lens) {
        nmdi_error_set(c->err, NMDI_EINTERNAL, "out of memory");
        c->failed = 1;
        return READSTAT_HANDLER_ABORT;
    }
    for (size_t i = 0; i < c->nvars; i++)
        if (set_val(c, i, "", 0)) {
            nmdi_error_set(c->err, NMDI_EINTERNAL, "out of memory");
            c->failed = 1;
            return READSTAT_HANDLER_ABORT;
        }
    return READSTAT_HANDLER_OK;
}

static int on_var(int index, readstat_variable_t *v, const char *labels, void *arg)
{
    (void)labels;
    rsctx *c = arg;
    if (index < 0 || (size_t)index >= c->nvars)
        return READSTAT_HANDLER_OK;
    c->names[index] = strdup(readstat_variable_get_name(v));
    c->dk[index] = date_kind(c->kind, readstat_variable_get_format(v));
    if (!c->names[index]) {
        c->failed = 1;
        nmdi_error_set(c->err, NMDI_EINTERNAL, "out of memory");
        return READSTAT_HANDLER_ABORT;
    }
    return READSTAT_HANDLER_OK;
}

static int emit_row(rsctx *c)
{
    if (c->obs < 0)
        return 0;
    if (c->row(c->arg, c->nvars, (const char *const *)c->vals, c->lens, c->obs + 1, c->err)) {
        c->failed = 1;
        return -1;
    }
    return 0;
}

static int on_value(int obs, readstat_variable_t *v, readstat_value_t value, void *arg)
{
    rsctx *c = arg;
    if (!c->header_done) {
        for (size_t i = 0; i < c->nvars; i++)
            if (!c->names[i] && !(c->names[i] = strdup(""))) {
                c->failed = 1;
                return READSTAT_HANDLER_ABORT;
            }
        if (c->header(c->arg, c->nvars, (const char *const *)c->names, c->err)) {
            c->failed = 1;
            return READSTAT_HANDLER_ABORT;
        }
        c->header_done = 1;
        c->obs = -1;
    }
    if (obs != c->obs) {
        if (emit_row(c))
            return READSTAT_HANDLER_ABORT;
        c->obs = obs;
        for (size_t i = 0; i < c->nvars; i++) {
            c->lens[i] = 0;
            c->vals[i][0] = 0;
        }
    }
    int idx = readstat_variable_get_index(v);
    if (idx < 0 || (size_t)idx >= c->nvars)
        return READSTAT_HANDLER_OK;
    char buf[64];
    const char *s = "";
    size_t len = 0;
    if (readstat_value_is_missing(value, v)) {
        /* empty */
    } else if (readstat_value_type_class(value) == READSTAT_TYPE_CLASS_STRING) {
        s = readstat_string_value(value);
        if (!s)
            s = "";
        len = strlen(s);
    } else {
        double x = readstat_double_value(value);
        datekind dk = c->dk[idx];
        if (dk != DT_NONE) {
            double days = dk == DT_STATA_DAYS || dk == DT_SAS_DAYS ? x
                          : dk == DT_STATA_MS                      ? x / 86400000.0
                                                                   : x / 86400.0;
            nmdi_date base = dk == DT_SPSS_SECS ? nmdi_date_from_ymd(1582, 10, 14)
                                                : nmdi_date_from_ymd(1960, 1, 1);
            /* the calendar day that contains the instant */
            double d = base + floor(days);
            if (isfinite(d) && d > -2000000 && d < 2000000) {
                nmdi_date_format((nmdi_date)d, buf);
                s = buf;
                len = strlen(buf);
            }
        } else {
            nmdi_fmt_double(x, buf);
            s = buf;
            len = strlen(buf);
        }
    }
    if (set_val(c, (size_t)idx, s, len)) {
        nmdi_error_set(c->err, NMDI_EINTERNAL, "out of memory");
        c->failed = 1;
        return READSTAT_HANDLER_ABORT;
    }
    return READSTAT_HANDLER_OK;
}

int nmdi_readstat_read(const char *path, const char *format,
                       int (*header)(void *arg, size_t nf, const char *const *names, nmdi_error *err),
                       row_fn row, void *arg, uint64_t *bytes, nmdi_error *err)
{
    rsctx c = {0};
    c.path = path;
    c.header = header;
    c.row = row;
    c.arg = arg;
    c.err = err;
    c.obs = -1;
    struct stat st;
    if (stat(path, &st) < 0)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot open the file");
    if (st.st_size == 0)
        return nmdi_error_at(err, NMDI_EDATA, path, 1, NULL, "the file is empty");
    /* SPSS system files start with $FL2/$FL3 (else: portable); SAS transport
     * files with "HEADER RECORD" (else: SAS7BDAT) */
    char magic[16] = {0};
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot open the file");
    size_t got = fread(magic, 1, sizeof magic - 1, fp);
    fclose(fp);
    if (!strcmp(format, "stata"))
        c.kind = K_DTA;
    else if (!strcmp(format, "spss"))
        c.kind = got >= 4 && !memcmp(magic, "$FL", 3) ? K_SAV : K_POR;
    else
        c.kind = got >= 13 && !memcmp(magic, "HEADER RECORD", 13) ? K_XPT : K_SAS;
    readstat_parser_t *p = readstat_parser_init();
    if (!p)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    readstat_set_metadata_handler(p, on_meta);
    readstat_set_variable_handler(p, on_var);
    readstat_set_value_handler(p, on_value);
    readstat_error_t e = c.kind == K_DTA   ? readstat_parse_dta(p, path, &c)
                         : c.kind == K_SAV ? readstat_parse_sav(p, path, &c)
                         : c.kind == K_POR ? readstat_parse_por(p, path, &c)
                         : c.kind == K_XPT ? readstat_parse_xport(p, path, &c)
                                           : readstat_parse_sas7bdat(p, path, &c);
    readstat_parser_free(p);
    int rc = 0;
    if (c.failed) {
        rc = err->code ? err->code : NMDI_EDATA;
    } else if (e != READSTAT_OK) {
        rc = nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "not a readable %s file: %s", format,
                           readstat_error_message(e));
    } else if (!c.header_done) {
        /* no observations: still check the header */
        for (size_t i = 0; i < c.nvars; i++)
            if (!c.names[i])
                c.names[i] = strdup("");
        rc = header(arg, c.nvars, (const char *const *)c.names, err);
    } else if (emit_row(&c)) {
        rc = err->code ? err->code : NMDI_EDATA;
    }
    if (!rc)
        *bytes += (uint64_t)st.st_size;
    for (size_t i = 0; i < c.nvars; i++) {
        if (c.names)
            free(c.names[i]);
        if (c.vals)
            free(c.vals[i]);
    }
    free(c.names);
    free(c.dk);
    free(c.vals);
    free(c.caps);
    free(c.lens);
    return rc;
}
