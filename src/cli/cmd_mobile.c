/*
 * cmd_mobile.c — `nmdi mobile FILE.csv`: mobile-phone presence records →
 * aggregated migration tables (inbound presence, outbound absence, internal
 * moves, long-term starts), with small cells redacted. The same derivation
 * the pipeline runs over the store (nmdi/mobile.h).
 */
#include "nmdi/cli.h"
#include "nmdi/csv.h"
#include "nmdi/mobile.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern const nmdi_cmd_info nmdi_cmd_mobile_info;

static int parse_roaming(const char *s)
{
    if (strcmp(s, "0") == 0 || nmdi_str_ieq(s, "domestic") || nmdi_str_ieq(s, "home") ||
        nmdi_str_ieq(s, "N") || nmdi_str_ieq(s, "no"))
        return NMDI_MOBILE_DOMESTIC;
    if (strcmp(s, "1") == 0 || nmdi_str_ieq(s, "inbound") || nmdi_str_ieq(s, "in"))
        return NMDI_MOBILE_INBOUND;
    if (strcmp(s, "2") == 0 || nmdi_str_ieq(s, "outbound") || nmdi_str_ieq(s, "out"))
        return NMDI_MOBILE_OUTBOUND;
    return -1;
}

static int find_col(const nmdi_table *t, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        int c = nmdi_table_col(t, names[i]);
        if (c >= 0)
            return c;
    }
    return -1;
}

int nmdi_cmd_mobile(nmdi_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"table", required_argument, NULL, 't'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"gap", required_argument, NULL, 'g'},
                                         {"min-subscribers", required_argument, NULL, 'm'},
                                         {"market-share", required_argument, NULL, 's'},
                                         {"threshold", required_argument, NULL, 'T'},
                                         {"window", required_argument, NULL, 'W'},
                                         {"as-of", required_argument, NULL, 'a'},
                                         {0, 0, 0, 0}};
    nmdi_mobile_params p;
    nmdi_mobile_params_default(&p);
    const char *table = NULL, *outdir = NULL;
    int c;
    int64_t iv;
    double dv;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': table = optarg; break;
        case 'o': outdir = optarg; break;
        case 'g':
        case 'm':
        case 'T':
        case 'W':
            if (nmdi_parse_int64(optarg, &iv) || iv < 0 || iv > 100000)
                return nmdi_cli_usage(&nmdi_cmd_mobile_info, "not a valid number of days or "
                                      "subscribers: '%s'", optarg);
            if (c == 'g')
                p.gap_days = (int)iv;
            else if (c == 'm')
                p.min_subscribers = (int)iv;
            else if (c == 'T')
                p.rule.threshold = (int)iv;
            else
                p.rule.window = (int)iv;
            break;
        case 's':
            if (nmdi_parse_double(optarg, &dv) || dv <= 0 || dv > 1)
                return nmdi_cli_usage(&nmdi_cmd_mobile_info, "--market-share must be in (0,1]");
            p.market_share = dv;
            break;
        case 'a':
            if (nmdi_date_parse(optarg, strlen(optarg), &p.rule.cutoff))
                return nmdi_cli_usage(&nmdi_cmd_mobile_info, "--as-of needs YYYY-MM-DD");
            break;
        default: return nmdi_cli_usage(&nmdi_cmd_mobile_info, "unknown option");
        }
    }
    if (optind + 1 != argc)
        return nmdi_cli_usage(&nmdi_cmd_mobile_info, "give one presence file");
    if (!table && !outdir)
        return nmdi_cli_usage(&nmdi_cmd_mobile_info, "give --table NAME or --out DIR");
    if (table && strcmp(table, "inbound") && strcmp(table, "outbound") &&
        strcmp(table, "internal") && strcmp(table, "longterm"))
        return nmdi_cli_usage(&nmdi_cmd_mobile_info,
                              "--table is inbound, outbound, internal or longterm");
    const char *path = argv[optind];
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_csv_opts co = {.trim = 1, .check_utf8 = 1};
    nmdi_table *t;
    if (nmdi_table_read_csv(&t, path, &co, &err))
        return nmdi_cli_error("mobile", &err);
    static const char *const n_sub[] = {"subscriber", "subscriber_key", "subscriber_id", "imsi_hash", NULL};
    static const char *const n_day[] = {"date", "day", NULL};
    static const char *const n_area[] = {"area", "cell_area", "area_code", NULL};
    static const char *const n_home[] = {"home_country", "home_network_country", "home", NULL};
    static const char *const n_roam[] = {"roaming", "roaming_flag", NULL};
    static const char *const *names[] = {n_sub, n_day, n_area, n_home, n_roam};
    int col[5];
    for (int k = 0; k < 5; k++)
        if ((col[k] = find_col(t, names[k])) < 0) {
            nmdi_error_at(&err, NMDI_EDATA, path, 1, names[k][0],
                          "missing column (expected one of: %s%s%s)", names[k][0],
                          names[k][1] ? ", " : "", names[k][1] ? names[k][1] : "");
            nmdi_table_free(t);
            return nmdi_cli_error("mobile", &err);
        }
    size_t n = t->nrows;
    uint64_t *sub = malloc((n + 1) * sizeof *sub);
    nmdi_date *day = malloc((n + 1) * sizeof *day);
    const char **area = malloc((n + 1) * sizeof *area), **home = malloc((n + 1) * sizeof *home);
    uint8_t *roam = malloc(n + 1);
    int rc = 0;
    if (!sub || !day || !area || !home || !roam)
        rc = nmdi_error_set(&err, NMDI_EINTERNAL, "out of memory");
    size_t bad = 0, k = 0;
    for (size_t r = 0; r < n && !rc; r++) {
        const char *s = nmdi_table_cell(t, r, (size_t)col[0]);
        const char *d = nmdi_table_cell(t, r, (size_t)col[1]);
        const char *ro = nmdi_table_cell(t, r, (size_t)col[4]);
        int rv = parse_roaming(ro);
        if (!*s || nmdi_date_parse(d, strlen(d), &day[k]) || rv < 0) {
            /* a bad record is reported and left out, never silently used */
            if (bad++ < 10)
                fprintf(stderr, "nmdi mobile: %s:%ld: %s\n", path, t->lines[r],
                        !*s ? "field 'subscriber': missing"
                        : rv < 0 ? "field 'roaming': not 0/1/2 (domestic/inbound/outbound)"
                                 : "field 'date': not a date YYYY-MM-DD");
            continue;
        }
        sub[k] = nmdi_hash64(s, strlen(s), 0);
        area[k] = nmdi_table_cell(t, r, (size_t)col[2]);
        home[k] = nmdi_table_cell(t, r, (size_t)col[3]);
        roam[k] = (uint8_t)rv;
        k++;
    }
    if (bad)
        fprintf(stderr, "nmdi mobile: %zu of %zu records rejected (listed above, first 10); %zu used\n",
                bad, n, k);
    nmdi_mobile_result res;
    memset(&res, 0, sizeof res);
    if (!rc) {
        nmdi_mobile_input in = {k, sub, day, area, home, roam};
        rc = nmdi_mobile_run(ctx, &p, &in, &res, &err);
    }
    if (!rc) {
        nmdi_cube *cubes[] = {res.inbound, res.outbound, res.internal, res.longterm};
        const char *names4[] = {"inbound", "outbound", "internal", "longterm"};
        if (outdir && mkdir(outdir, 0755) != 0 && errno != EEXIST)
            rc = nmdi_error_at(&err, NMDI_EDATA, outdir, 0, NULL, "cannot create: %s",
                               strerror(errno));
        for (int q = 0; q < 4 && !rc; q++) {
            if (table && strcmp(table, names4[q]) == 0)
                rc = nmdi_cube_write_csv(cubes[q], stdout);
            if (outdir) {
                char pth[4096];
                snprintf(pth, sizeof pth, "%s/mobile_%s.csv", outdir, names4[q]);
                rc = nmdi_cube_save(cubes[q], pth, &err);
            }
        }
        nmdi_note(ctx,
                  "nmdi mobile: %llu records, %llu subscribers (%llu machine SIMs excluded), %llu "
                  "cells redacted (< %d subscribers)",
                  (unsigned long long)res.records, (unsigned long long)res.subscribers,
                  (unsigned long long)res.machines, (unsigned long long)res.redacted,
                  p.min_subscribers);
    }
    nmdi_mobile_result_free(&res);
    free(sub);
    free(day);
    free(area);
    free(home);
    free(roam);
    nmdi_table_free(t);
    return rc ? nmdi_cli_error("mobile", &err) : 0;
}

const nmdi_cmd_info nmdi_cmd_mobile_info = {
    "mobile",
    "mobile-phone presence records → aggregated migration tables (small cells redacted)",
    "usage: nmdi mobile FILE.csv (--table inbound|outbound|internal|longterm | --out DIR)\n"
    "                  [--gap DAYS] [--min-subscribers N] [--market-share S]\n"
    "                  [--threshold DAYS] [--window DAYS] [--as-of YYYY-MM-DD]\n\n"
    "FILE has one row per subscriber and day: subscriber (pseudonymised key), date,\n"
    "area (subdivision, or the visited country's alpha-3 when roaming abroad),\n"
    "home_country (alpha-3 of the home network) and roaming (0 domestic, 1 inbound = a\n"
    "foreign SIM here, 2 outbound = a domestic SIM abroad; or the words).\n"
    "Presence spells (a silence over --gap days, default 7, ends one) become synthetic\n"
    "crossings classified by the border-crossing residence rule (--threshold/--window,\n"
    "default 365/487). Tables (cube CSV: ...,value,se,cv,ci_low,ci_high,n,ckey,...):\n"
    "  inbound   TIME_PERIOD (month), HOME_COUNTRY (and _T), PRESENCE_TYPE SHORT|TEMP|LONG\n"
    "  outbound  TIME_PERIOD (month), VISITED_COUNTRY (and _T), ABSENCE_TYPE\n"
    "  internal  TIME_PERIOD (month), ORIGIN_AREA, DESTINATION_AREA (home area per month)\n"
    "  longterm  TIME_PERIOD (year), FLOW IMM|EMI, COUNTERPART_AREA (and _T)\n"
    "value = distinct subscribers / market share; n = subscribers; cells under\n"
    "--min-subscribers (default 15) are redacted. Method: docs/methods-mobile.md.\n",
};
