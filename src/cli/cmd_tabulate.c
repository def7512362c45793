/* cmd_tabulate.c — `nmdi tabulate`: a count, weighted count, sum or mean cube
 * of a CSV file (engine: src/estimate/tabulate.c). */
#include "nmdi/cli.h"
#include "nmdi/csv.h"
#include "nmdi/tabulate.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

extern const nmdi_cmd_info nmdi_cmd_tabulate_info;

/* Split a comma-separated list into trimmed names (in buf, modified). */
static size_t split_list(char *buf, const char **out, size_t max)
{
    size_t n = 0;
    for (char *p = buf; p && n < max;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        const char *s = p;
        size_t len = strlen(p);
        nmdi_str_trim(&s, &len);
        ((char *)s)[len] = 0;
        out[n++] = s;
        p = comma ? comma + 1 : NULL;
    }
    return n;
}

int nmdi_cmd_tabulate(nmdi_ctx *ctx, int argc, char **argv)
{
    const nmdi_cmd_info *info = &nmdi_cmd_tabulate_info;
    static const struct option opts[] = {
        {"by", required_argument, 0, 'b'},     {"weight", required_argument, 0, 'w'},
        {"count", no_argument, 0, 'c'},        {"sum", required_argument, 0, 's'},
        {"mean", required_argument, 0, 'm'},   {"margins", no_argument, 0, 'M'},
        {"rkey", required_argument, 0, 'k'},   {"cube", no_argument, 0, 'C'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    nmdi_tab_spec spec = {0};
    char *by = NULL;
    int nmeasures = 0, full = 0;
    int o;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'b':
            by = optarg;
            break;
        case 'w':
            spec.weight = optarg;
            break;
        case 'c':
            spec.measure = NMDI_TAB_COUNT;
            nmeasures++;
            break;
        case 's':
            spec.measure = NMDI_TAB_SUM;
            spec.var = optarg;
            nmeasures++;
            break;
        case 'm':
            spec.measure = NMDI_TAB_MEAN;
            spec.var = optarg;
            nmeasures++;
            break;
        case 'M':
            spec.margins = 1;
            break;
        case 'k':
            spec.rkey = optarg;
            break;
        case 'C':
            full = 1;
            break;
        case 'h':
            fputs(info->usage, stdout);
            return 0;
        default:
            return nmdi_cli_usage(info, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return nmdi_cli_usage(info, "expected one input file");
    if (!by || !*by)
        return nmdi_cli_usage(info, "--by is required (comma-separated column names)");
    if (nmeasures > 1)
        return nmdi_cli_usage(info, "give at most one of --count, --sum, --mean");
    char *bybuf = strdup(by);
    const char *names[64];
    if (!bybuf)
        return NMDI_EINTERNAL;
    spec.nby = split_list(bybuf, names, 64);
    spec.by = names;
    for (size_t i = 0; i < spec.nby; i++)
        if (!*names[i]) {
            free(bybuf);
            return nmdi_cli_usage(info, "empty column name in --by");
        }
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_cube *cube = NULL;
    int rc = nmdi_tabulate_csv(ctx, argv[optind], &spec, &cube, &err);
    if (rc) {
        free(bybuf);
        return nmdi_cli_error("tabulate", &err);
    }
    if (full) {
        rc = nmdi_cube_write_csv(cube, stdout);
    } else {
        size_t nd = nmdi_cube_ndims(cube);
        for (size_t d = 0; d < nd; d++) {
            nmdi_csv_put(stdout, nmdi_cube_dim(cube, d));
            fputc(',', stdout);
        }
        fputs(spec.rkey ? "value,n,ckey\n" : "value,n\n", stdout);
        char buf[32];
        for (size_t i = 0; i < nmdi_cube_ncells(cube); i++) {
            const nmdi_cell *c = nmdi_cube_cell(cube, i);
            for (size_t d = 0; d < nd; d++) {
                nmdi_csv_put(stdout, c->codes[d]);
                fputc(',', stdout);
            }
            nmdi_fmt_double(c->value, buf);
            fprintf(stdout, "%s,%lld", buf, (long long)c->n);
            if (spec.rkey) {
                nmdi_fmt_double(c->ckey, buf);
                fprintf(stdout, ",%s", buf);
            }
            fputc('\n', stdout);
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = NMDI_EINTERNAL;
    nmdi_cube_free(cube);
    free(bybuf);
    if (rc)
        fprintf(stderr, "nmdi tabulate: error writing the output\n");
    return rc;
}

const nmdi_cmd_info nmdi_cmd_tabulate_info = {
    "tabulate",
    "count, weighted count, sum or mean cube of a CSV file, with margins",
    "usage: nmdi tabulate FILE.csv --by a,b,c [--weight w] [--count | --sum v | --mean v]\n"
    "                     [--margins] [--rkey k] [--cube]\n"
    "\n"
    "Cross-classifies the records of FILE.csv (\"-\" = standard input) by the --by\n"
    "columns and writes a CSV cube to standard output: the --by columns, then\n"
    "value, then n (the unweighted count of records).\n"
    "  --count      value = weighted count: sum of --weight, or records (default)\n"
    "  --sum v      value = weighted sum of column v\n"
    "  --mean v     value = weighted mean of column v (NA when the weights sum to 0)\n"
    "  --weight w   column of non-negative weights (default: each record weighs 1)\n"
    "  --margins    add the totals of every dimension and combination of dimensions\n"
    "               (code _T), as GROUP BY CUBE\n"
    "  --rkey k     column of record keys in [0,1): adds the cell key (sum of the\n"
    "               keys mod 1) as a last column ckey, for the cell key method\n"
    "  --cube       write the full nmdi cube layout (value,se,cv,ci_low,ci_high,n,\n"
    "               ckey,OBS_STATUS,CONF_STATUS) instead, e.g. for `nmdi protect`\n"
    "Rows are sorted by the codes of the first column, then the second, ...; codes\n"
    "in byte order, _T last. An empty value is a category of its own (printed\n"
    "empty). Numbers are printed so that they read back exactly.\n"
    "Errors (exit 1) name the file, line and column: a missing column, an empty,\n"
    "non-numeric or negative weight, an empty or non-numeric value, a value _T\n"
    "with --margins.\n",
};
