/* cmd_protect.c — `nmdi protect`: disclosure control of cubes and microdata
 * files, and the protect stage over an infrastructure (src/protect/). */
#include "nmdi/cli.h"
#include "nmdi/protect.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const nmdi_cmd_info nmdi_cmd_protect_info;

enum {
    O_PTABLE = 1, O_D, O_V, O_JS, O_OUT, O_THRESHOLD, O_NOSEC, O_NMIN, O_CVFLAG, O_CVW,
    O_QI, O_K, O_REPORT, O_KEY, O_SECRET, O_COLUMN
};

static const struct option opts[] = {
    {"ptable", required_argument, 0, O_PTABLE},  {"D", required_argument, 0, O_D},
    {"V", required_argument, 0, O_V},            {"js", required_argument, 0, O_JS},
    {"out", required_argument, 0, O_OUT},        {"threshold", required_argument, 0, O_THRESHOLD},
    {"no-secondary", no_argument, 0, O_NOSEC},   {"n-min", required_argument, 0, O_NMIN},
    {"cv-flag", required_argument, 0, O_CVFLAG}, {"cv-withhold", required_argument, 0, O_CVW},
    {"qi", required_argument, 0, O_QI},          {"k", required_argument, 0, O_K},
    {"report-only", no_argument, 0, O_REPORT},   {"key", required_argument, 0, O_KEY},
    {"secret-file", required_argument, 0, O_SECRET}, {"column", required_argument, 0, O_COLUMN},
    {"help", no_argument, 0, 'h'},               {0, 0, 0, 0}};

typedef struct args {
    nmdi_protect_settings s;
    const char *out, *qi, *key, *secret, *column;
    int64_t k;
    int secondary, report_only;
    const char *input;
} args;

static int parse_args(int argc, char **argv, args *a)
{
    const nmdi_cmd_info *info = &nmdi_cmd_protect_info;
    nmdi_protect_defaults(&a->s);
    a->secondary = 1;
    a->k = 3;
    a->column = "rkey";
    int o;
    int64_t iv;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case O_PTABLE:
            a->s.ptable = optarg;
            break;
        case O_D:
        case O_JS:
        case O_THRESHOLD:
        case O_NMIN:
        case O_K:
            if (nmdi_parse_int64(optarg, &iv) != 0 || iv < 0 || iv > 1000000000)
                return nmdi_cli_usage(info, "%s needs a whole number, got '%s'",
                                      argv[optind - 1], optarg);
            if (o == O_D)
                a->s.D = (int)iv;
            else if (o == O_JS)
                a->s.js = (int)iv;
            else if (o == O_THRESHOLD)
                a->s.threshold = iv;
            else if (o == O_NMIN)
                a->s.survey.n_min = iv;
            else
                a->k = iv;
            break;
        case O_V:
        case O_CVFLAG:
        case O_CVW: {
            double v;
            if (nmdi_parse_double(optarg, &v) != 0)
                return nmdi_cli_usage(info, "%s needs a number, got '%s'", argv[optind - 1],
                                      optarg);
            if (o == O_V)
                a->s.V = v;
            else if (o == O_CVFLAG)
                a->s.survey.cv_flag = v;
            else
                a->s.survey.cv_withhold = v;
            break;
        }
        case O_OUT:
            a->out = optarg;
            break;
        case O_NOSEC:
            a->secondary = 0;
            break;
        case O_QI:
            a->qi = optarg;
            break;
        case O_REPORT:
            a->report_only = 1;
            break;
        case O_KEY:
            a->key = optarg;
            break;
        case O_SECRET:
            a->secret = optarg;
            break;
        case O_COLUMN:
            a->column = optarg;
            break;
        case 'h':
            fputs(info->usage, stdout);
            return -1;
        default:
            return nmdi_cli_usage(info, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return nmdi_cli_usage(info, "expected one input file");
    a->input = argv[optind];
    return 0;
}

static int write_cube(const nmdi_cube *c, const char *out, nmdi_error *err)
{
    if (out)
        return nmdi_cube_save(c, out, err);
    int rc = nmdi_cube_write_csv(c, stdout);
    if (fflush(stdout) != 0 || rc)
        return nmdi_error_set(err, NMDI_EINTERNAL, "cannot write the output");
    return 0;
}

static int cube_cmd(nmdi_ctx *ctx, const char *sub, int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_cube *c;
    if ((rc = nmdi_cube_load(&c, a.input, &err)))
        return nmdi_cli_error("protect", &err);
    if (!strcmp(sub, "cellkey")) {
        nmdi_ptable *pt;
        rc = a.s.ptable ? nmdi_ptable_read_csv(&pt, a.s.ptable, &err)
                        : nmdi_ptable_build(&pt, a.s.D, a.s.V, a.s.js, &err);
        if (!rc) {
            rc = nmdi_protect_cellkey(c, pt, &err);
            if (!rc)
                nmdi_note(ctx, "protect: %zu cells perturbed: %s", nmdi_cube_ncells(c),
                          nmdi_ptable_describe(pt));
            nmdi_ptable_free(pt);
        }
        if (rc && !err.file[0])
            snprintf(err.file, sizeof err.file, "%s", a.input);
    } else if (!strcmp(sub, "suppress")) {
        nmdi_suppress_opts o = {a.s.threshold, a.secondary};
        nmdi_suppress_stats st;
        rc = nmdi_protect_suppress(c, &o, &st, &err);
        if (!rc)
            nmdi_note(ctx, "protect: %zu cells, %zu primary and %zu secondary suppressions%s",
                      st.cells, st.primary, st.secondary,
                      st.unprotectable ? " (some sub-tables withheld whole)" : "");
    } else {
        nmdi_survey_stats st;
        rc = nmdi_protect_survey(c, &a.s.survey, &st, &err);
        if (!rc)
            nmdi_note(ctx, "protect: %zu cells, %zu withheld (n), %zu withheld (CV), %zu flagged",
                      st.cells, st.withheld_n, st.withheld_cv, st.flagged);
    }
    if (!rc)
        rc = write_cube(c, a.out, &err);
    nmdi_cube_free(c);
    return rc ? nmdi_cli_error("protect", &err) : 0;
}

/* split "a,b,c" and find the columns of t; returns count or -1 */
static int find_cols(const nmdi_table *t, char *list, int *cols, int max, nmdi_error *err)
{
    int n = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ')
            tok++;
        if (n == max) {
            nmdi_error_set(err, NMDI_EDATA, "at most %d quasi-identifiers", max);
            return -1;
        }
        if ((cols[n] = nmdi_table_col(t, tok)) < 0) {
            nmdi_error_at(err, NMDI_EDATA, t->path, 1, tok, "no such column in the header");
            return -1;
        }
        n++;
    }
    return n;
}

static int write_table(const nmdi_table *t, FILE *f, const char *extra_name,
                       const double *extra)
{
    for (size_t c = 0; c < t->ncols; c++) {
        if (c)
            fputc(',', f);
        nmdi_csv_put(f, t->names[c]);
    }
    if (extra_name) {
        fputc(',', f);
        nmdi_csv_put(f, extra_name);
    }
    fputc('\n', f);
    char buf[32];
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (c)
                fputc(',', f);
            nmdi_csv_put(f, nmdi_table_cell(t, r, c));
        }
        if (extra) {
            nmdi_fmt_double(extra[r], buf);
            fprintf(f, ",%s", buf);
        }
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

static int save_table(const nmdi_table *t, const char *out, const char *extra_name,
                      const double *extra, nmdi_error *err)
{
    if (!out)
        return write_table(t, stdout, extra_name, extra) || fflush(stdout)
                   ? nmdi_error_set(err, NMDI_EINTERNAL, "cannot write the output")
                   : 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    int bad = write_table(t, m, extra_name, extra);
    fclose(m);
    int rc = bad ? nmdi_error_set(err, NMDI_EINTERNAL, "out of memory")
                 : nmdi_write_file_atomic(out, buf, len, err);
    free(buf);
    return rc;
}

static int kanon_cmd(int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!a.qi)
        return nmdi_cli_usage(&nmdi_cmd_protect_info, "kanon needs --qi a,b,c");
    if (a.k < 1)
        return nmdi_cli_usage(&nmdi_cmd_protect_info, "--k must be at least 1");
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_table *t;
    if ((rc = nmdi_table_read_csv(&t, a.input, NULL, &err)))
        return nmdi_cli_error("protect", &err);
    char *list = strdup(a.qi);
    int cols[16];
    int n = list ? find_cols(t, list, cols, 16, &err) : -1;
    free(list);
    nmdi_kanon_report rep;
    if (n < 0 || (rc = nmdi_protect_kanon(t, cols, (size_t)n, a.k, !a.report_only, &rep, &err))) {
        nmdi_table_free(t);
        return nmdi_cli_error("protect", &err);
    }
    /* the report: item,value lines (stdout, or stderr when the file goes to stdout) */
    FILE *r = a.out || a.report_only ? stdout : stderr;
    fprintf(r, "item,value\nrecords,%zu\nk,%lld\nquasi_identifiers,%zu\n", rep.records,
            (long long)a.k, rep.nqi);
    fprintf(r, "classes_before,%zu\nat_risk_before,%zu\n", rep.classes_before,
            rep.at_risk_before);
    if (!a.report_only) {
        fprintf(r, "suppressed_values,%zu\n", rep.suppressed);
        for (int i = 0; i < n; i++)
            fprintf(r, "suppressed_%s,%zu\n", t->names[cols[i]], rep.suppressed_by_qi[i]);
        fprintf(r, "rounds,%zu\nat_risk_after,%zu\n", rep.rounds, rep.at_risk_after);
    }
    if (!a.report_only)
        rc = save_table(t, a.out, NULL, NULL, &err);
    nmdi_kanon_report_free(&rep);
    nmdi_table_free(t);
    return rc ? nmdi_cli_error("protect", &err) : 0;
}

static int rkey_cmd(int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!a.key || !a.secret)
        return nmdi_cli_usage(&nmdi_cmd_protect_info, "rkey needs --key COLUMN and --secret-file F");
    nmdi_error err;
    nmdi_error_clear(&err);
    unsigned char secret[NMDI_RKEY_SECRET_MAX + 1];
    FILE *f = fopen(a.secret, "rb");
    if (!f) {
        nmdi_error_at(&err, NMDI_EDATA, a.secret, 0, NULL, "cannot read: %s", strerror(errno));
        return nmdi_cli_error("protect", &err);
    }
    size_t slen = fread(secret, 1, sizeof secret, f);
    fclose(f);
    if (slen < NMDI_RKEY_SECRET_MIN || slen > NMDI_RKEY_SECRET_MAX) {
        nmdi_error_at(&err, NMDI_EDATA, a.secret, 0, NULL, "a secret is %d to %d bytes",
                      NMDI_RKEY_SECRET_MIN, NMDI_RKEY_SECRET_MAX);
        return nmdi_cli_error("protect", &err);
    }
    nmdi_table *t;
    if ((rc = nmdi_table_read_csv(&t, a.input, NULL, &err)))
        return nmdi_cli_error("protect", &err);
    int kc = nmdi_table_col(t, a.key);
    double *keys = calloc(t->nrows ? t->nrows : 1, sizeof *keys);
    if (kc < 0)
        rc = nmdi_error_at(&err, NMDI_EDATA, a.input, 1, a.key, "no such column in the header");
    else if (nmdi_table_col(t, a.column) >= 0)
        rc = nmdi_error_at(&err, NMDI_EDATA, a.input, 1, a.column, "the column exists already");
    else if (!keys)
        rc = nmdi_error_set(&err, NMDI_EINTERNAL, "out of memory");
    for (size_t r = 0; !rc && r < t->nrows; r++) {
        const char *k = nmdi_table_cell(t, r, (size_t)kc);
        if (!*k)
            rc = nmdi_error_at(&err, NMDI_EDATA, a.input, t->lines[r], a.key, "empty key");
        else if (nmdi_rkey_derive(secret, slen, k, strlen(k), &keys[r]) != 0)
            rc = nmdi_error_set(&err, NMDI_EINTERNAL, "libsodium failed");
    }
    sodium_memzero(secret, sizeof secret);
    if (!rc)
        rc = save_table(t, a.out, a.column, keys, &err);
    free(keys);
    nmdi_table_free(t);
    return rc ? nmdi_cli_error("protect", &err) : 0;
}

int nmdi_cmd_protect(nmdi_ctx *ctx, int argc, char **argv)
{
    const nmdi_cmd_info *info = &nmdi_cmd_protect_info;
    if (argc < 2)
        return nmdi_cli_usage(info, "expected a subcommand or an infrastructure directory");
    const char *sub = argv[1];
    if (nmdi_cli_is_help(sub)) {
        fputs(info->usage, stdout);
        return 0;
    }
    if (!strcmp(sub, "cellkey") || !strcmp(sub, "suppress") || !strcmp(sub, "survey"))
        return cube_cmd(ctx, sub, argc - 1, argv + 1);
    if (!strcmp(sub, "kanon"))
        return kanon_cmd(argc - 1, argv + 1);
    if (!strcmp(sub, "rkey"))
        return rkey_cmd(argc - 1, argv + 1);
    struct stat st;
    if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
        return nmdi_cli_usage(info, "'%s' is neither a subcommand nor a directory", sub);
    args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    nmdi_error err;
    nmdi_error_clear(&err);
    size_t n;
    if ((rc = nmdi_protect_dir(ctx, a.input, &a.s, &n, &err)))
        return nmdi_cli_error("protect", &err);
    nmdi_note(ctx, "protect: %zu tables written to %s/work/protected", n, a.input);
    return 0;
}

const nmdi_cmd_info nmdi_cmd_protect_info = {
    "protect",
    "disclosure control: cell key method, suppression, survey rules, k-anonymity",
    "usage: nmdi protect DIR [settings]\n"
    "       nmdi protect cellkey CUBE.csv [--ptable P.csv | --D 2 --V 1.08 --js 1] [--out F]\n"
    "       nmdi protect suppress CUBE.csv [--threshold 3] [--no-secondary] [--out F]\n"
    "       nmdi protect survey CUBE.csv [--n-min 3] [--cv-flag 0.165] [--cv-withhold 0.333]\n"
    "                                    [--out F]\n"
    "       nmdi protect kanon FILE.csv --qi age,sex,cob,area [--k 3] [--out F] [--report-only]\n"
    "       nmdi protect rkey FILE.csv --key COLUMN --secret-file F [--column rkey] [--out F]\n"
    "\n"
    "CUBE.csv is a cube in the nmdi layout (dims...,value,se,cv,ci_low,ci_high,n,ckey,\n"
    "OBS_STATUS,CONF_STATUS), e.g. from `nmdi tabulate --cube [--rkey k] [--margins]`.\n"
    "The protected cube goes to standard output or --out (atomic); it never carries\n"
    "cell keys or the original counts of perturbed or suppressed cells.\n"
    "  cellkey   perturb counts with the cell key method (cells need ckey)\n"
    "  suppress  suppress cells with 0 < n < threshold (CONF_STATUS C) and the cells\n"
    "            needed so that none can be recomputed from the totals (_T) (D)\n"
    "  survey    withhold estimates with n < n-min (C) or CV > cv-withhold, flag\n"
    "            CV > cv-flag (OBS_STATUS U)\n"
    "  kanon     k-anonymity over the quasi-identifiers: report (item,value lines) and\n"
    "            local suppression (blanking values) until every record shares its\n"
    "            combination with at least k-1 others; an empty value matches any.\n"
    "            The report goes to stdout with --out or --report-only, else stderr.\n"
    "  rkey      add a column of record keys in [0,1) derived from a pseudonymised\n"
    "            key column and a secret (16-64 bytes) with keyed BLAKE2b\n"
    "  DIR       the stage: DIR/work/estimates/*.csv+.json -> DIR/work/protected/,\n"
    "            per table by its metadata's \"protect\" object or by default (cell key\n"
    "            method when the cube has cell keys, survey rules when it has\n"
    "            standard errors, suppression otherwise); settings above are defaults.\n"
    "Methods: docs/methods-protect.md.\n",
};
