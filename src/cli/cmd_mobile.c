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
#include <libgen.h>
#include <unistd.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern const nmdi_cmd_info nmdi_cmd_mobile_info;

/* The MCC table shipped as data (data/mcc.csv) where nmdi's data files are
 * (nmdi_find_data: $NMDI_DATA_DIR, next to the executable, /usr/share/nmdi). */
static int find_mcc(char *out, size_t size)
{
    return nmdi_find_data("data/mcc.csv", out, size) == 0 ? 0 : nmdi_find_data("mcc.csv", out, size);
}

static int compare(nmdi_ctx *ctx, const nmdi_mobile_params *p, const char *dir, const char *mcc,
                   int json)
{
    char found[4096];
    if (!mcc) {
        if (find_mcc(found, sizeof found) != 0) {
            fprintf(stderr, "nmdi mobile: the MCC table data/mcc.csv was not found; give --mcc "
                            "FILE or set NMDI_DATA_DIR\n");
            return 1;
        }
        mcc = found;
    }
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_mobile_comparison *c;
    if (nmdi_mobile_compare(ctx, p, dir, mcc, &c, &err))
        return nmdi_cli_error("mobile", &err);
    int rc = nmdi_mobile_compare_write(c, stdout, json);
    nmdi_mobile_compare_free(c);
    return rc ? 2 : 0;
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
                                         {"compare", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"mcc", required_argument, NULL, 'M'},
                                         {"areas", required_argument, NULL, 'A'},
                                         {"tmpdir", required_argument, NULL, 'D'},
                                         {"partition-records", required_argument, NULL, 'P'},
                                         {0, 0, 0, 0}};
    nmdi_mobile_params p;
    nmdi_mobile_params_default(&p);
    const char *table = NULL, *outdir = NULL, *cmpdir = NULL, *mcc = NULL, *areas = NULL;
    int c, json = ctx->json, share_given = 0;
    int64_t iv;
    double dv;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': table = optarg; break;
        case 'c': cmpdir = optarg; break;
        case 'j': json = 1; break;
        case 'M': mcc = optarg; break;
        case 'A': areas = optarg; break;
        case 'D': p.tmpdir = optarg; break;
        case 'P':
            if (nmdi_parse_int64(optarg, &iv) || iv < 1)
                return nmdi_cli_usage(&nmdi_cmd_mobile_info, "--partition-records needs a "
                                      "positive number, not '%s'", optarg);
            p.partition_records = (size_t)iv;
            break;
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
            share_given = 1;
            break;
        case 'a':
            if (nmdi_date_parse(optarg, strlen(optarg), &p.rule.cutoff))
                return nmdi_cli_usage(&nmdi_cmd_mobile_info, "--as-of needs YYYY-MM-DD");
            break;
        default: return nmdi_cli_usage(&nmdi_cmd_mobile_info, "unknown option");
        }
    }
    if (cmpdir) {
        if (optind != argc || table || outdir)
            return nmdi_cli_usage(&nmdi_cmd_mobile_info,
                                  "--compare DIR takes no presence file, --table or --out");
        if (!share_given)
            p.market_share = 0; /* the synthetic country's own */
        return compare(ctx, &p, cmpdir, mcc, json);
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
    char found[4096];
    if (!mcc && find_mcc(found, sizeof found) == 0)
        mcc = found;
    nmdi_mobile_maps *maps = NULL;
    if (nmdi_mobile_maps_load(&maps, mcc, areas, &err))
        return nmdi_cli_error("mobile", &err);
    nmdi_mobile_result res;
    nmdi_mobile_file_stats st;
    int rc = nmdi_mobile_run_file(ctx, &p, path, maps, &res, &st, &err);
    nmdi_mobile_maps_free(maps);
    for (uint64_t i = 0; i < st.rejected && i < NMDI_MOBILE_MAX_MESSAGES; i++)
        fprintf(stderr, "nmdi mobile: %s\n", st.message[i]);
    if (st.rejected)
        fprintf(stderr, "nmdi mobile: %llu of %llu records rejected (listed above, first %d); "
                        "%llu used\n", (unsigned long long)st.rejected,
                (unsigned long long)st.read, NMDI_MOBILE_MAX_MESSAGES,
                (unsigned long long)(st.read - st.rejected));
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
    return rc ? nmdi_cli_error("mobile", &err) : 0;
}

const nmdi_cmd_info nmdi_cmd_mobile_info = {
    "mobile",
    "mobile-phone presence records → aggregated migration tables (small cells redacted)",
    "usage: nmdi mobile FILE.csv (--table inbound|outbound|internal|longterm | --out DIR)\n"
    "                  [--gap DAYS] [--min-subscribers N] [--market-share S]\n"
    "                  [--threshold DAYS] [--window DAYS] [--as-of YYYY-MM-DD]\n"
    "                  [--mcc MCC.csv] [--areas AREAS.csv]\n"
    "                  [--tmpdir DIR] [--partition-records N]\n"
    "       nmdi mobile --compare DIR [--json] [--min-subscribers N] [--market-share S]\n\n"
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
    "--min-subscribers (default 15) are redacted. Method: docs/methods-mobile.md.\n"
    "The operator layout (SUBSCRIBER, DAY, AREA, MCC_HOME, ROAM, VISITED_MCC) is read\n"
    "too: mobile country codes through the MCC table (data/mcc.csv, or --mcc), operator\n"
    "areas through --areas (operator area, subdivision).\n"
    "Memory is bounded: a first pass splits the records by a hash of the subscriber\n"
    "into typed temporary files of about --partition-records records (default\n"
    "2097152) under --tmpdir (default $TMPDIR or /tmp), 21 bytes per record; the\n"
    "partitions are then derived in parallel (--threads) and deleted.\n\n"
    "--compare DIR sets the mobile-based estimates of a synthetic country against its\n"
    "truth and the border-based estimates. DIR is the output of `nmdi synth` (truth/,\n"
    "sources/, synth.json) or an infrastructure built by `nmdi demo` (incoming/ holds\n"
    "the synthetic country; border figures from work/estimates/MIG_FLOW.csv). Rows:\n"
    "  IMM_FOREIGN year, country: long-term presence starts of foreign SIMs /\n"
    "              long-term immigrations of foreigners / border IMM of foreigners\n"
    "  EMI_CITIZEN year, country: emigration signals of domestic SIMs / emigrations\n"
    "              of citizens / border EMI of citizens\n"
    "  EMI_ALL     year, country: the same signals / all emigrations / border EMI\n"
    "  RESIDENTS   month: domestic SIMs with a home area this month and the last /\n"
    "              residents aged 10+ present on the 15th\n"
    "  MOVES       month: domestic SIMs whose home area changed / true internal moves\n"
    "Columns: subscribers (P = some classified provisionally), mobile = subscribers /\n"
    "market share (default: the synthetic country's), truth, border, mobile - truth,\n"
    "mobile / truth, border / truth. Rows under --min-subscribers are redacted.\n"
    "--json prints the same as one JSON object.\n",
};
