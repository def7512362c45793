/* cmd_survey.c — `nmdi survey FILE.csv`: design-based estimates with standard
 * errors from a survey sample (Taylor linearisation or replicate weights,
 * optional calibration), as R's survey package computes them. The logic is
 * in src/estimate/survey*.c (nmdi/survey.h). */
#include "nmdi/cli.h"
#include "nmdi/csv.h"
#include "nmdi/survey.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const nmdi_cmd_info nmdi_cmd_survey_info;

#define MAXLIST 256

/* Split a comma list into out[] (arena copies); returns the count or -1. */
static int split_list(nmdi_arena *a, const char *s, const char **out, size_t max)
{
    size_t n = 0;
    const char *p = s;
    while (1) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *q = p;
        nmdi_str_trim(&q, &len);
        if (len) {
            if (n == max)
                return -1;
            out[n++] = nmdi_arena_strndup(a, q, len);
        }
        if (!e)
            break;
        p = e + 1;
    }
    return (int)n;
}

static int add_requests(nmdi_arena *a, nmdi_svy_stat stat, const char *arg, nmdi_svy_request *req,
                        size_t *nreq)
{
    const char *items[MAXLIST];
    int k = split_list(a, arg, items, MAXLIST);
    if (k <= 0)
        return -1;
    for (int i = 0; i < k; i++) {
        if (*nreq == MAXLIST)
            return -1;
        nmdi_svy_request *r = &req[(*nreq)++];
        r->stat = stat;
        r->var = items[i];
        r->den = NULL;
        if (stat == NMDI_SVY_RATIO) {
            char *slash = strchr(items[i], '/');
            if (!slash || slash == items[i] || !slash[1])
                return -1;
            *slash = '\0';
            r->den = slash + 1;
        }
    }
    return 0;
}

int nmdi_cmd_survey(nmdi_ctx *ctx, int argc, char **argv)
{
    const nmdi_cmd_info *info = &nmdi_cmd_survey_info;
    enum {
        O_IDS = 256, O_STRATA, O_WEIGHTS, O_FPC, O_NEST, O_REPW, O_TYPE, O_RHO, O_MSE, O_RSCALES,
        O_LONELY, O_SCALE, O_TOTAL, O_MEAN, O_RATIO, O_PROP, O_BY, O_CAL, O_MARGINS, O_JSON
    };
    static const struct option opts[] = {
        {"ids", required_argument, 0, O_IDS},
        {"strata", required_argument, 0, O_STRATA},
        {"weights", required_argument, 0, O_WEIGHTS},
        {"fpc", required_argument, 0, O_FPC},
        {"nest", no_argument, 0, O_NEST},
        {"repweights", required_argument, 0, O_REPW},
        {"type", required_argument, 0, O_TYPE},
        {"rho", required_argument, 0, O_RHO},
        {"mse", no_argument, 0, O_MSE},
        {"rscales", required_argument, 0, O_RSCALES},
        {"scale", required_argument, 0, O_SCALE},
        {"lonely-psu", required_argument, 0, O_LONELY},
        {"total", required_argument, 0, O_TOTAL},
        {"mean", required_argument, 0, O_MEAN},
        {"ratio", required_argument, 0, O_RATIO},
        {"prop", required_argument, 0, O_PROP},
        {"by", required_argument, 0, O_BY},
        {"calibrate", required_argument, 0, O_CAL},
        {"margins", required_argument, 0, O_MARGINS},
        {"json", no_argument, 0, O_JSON},
        {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    nmdi_arena *a = nmdi_arena_new(1 << 14);
    if (!a)
        return 2;
    nmdi_svy_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.rho = NAN;
    nmdi_svy_request *req = nmdi_arena_calloc(a, MAXLIST, sizeof *req);
    if (!req) {
        nmdi_arena_free(a);
        return 2;
    }
    size_t nreq = 0;
    const char *by[MAXLIST];
    size_t nby = 0;
    double rscales[4096];
    int json = ctx->json, rc = 0, have_type = 0;
    const char *output = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        int k;
        switch (c) {
        case O_IDS:
            k = split_list(a, optarg, spec.ids, NMDI_SVY_MAXSTAGES);
            if (k < 0) {
                rc = nmdi_cli_usage(info, "--ids: at most %d stages", NMDI_SVY_MAXSTAGES);
                goto out;
            }
            spec.nids = (size_t)k;
            if (k == 1 && (strcmp(spec.ids[0], "1") == 0 || strcmp(spec.ids[0], "0") == 0))
                spec.nids = 0;
            break;
        case O_STRATA: spec.strata = optarg; break;
        case O_WEIGHTS: spec.weights = optarg; break;
        case O_FPC:
            k = split_list(a, optarg, spec.fpc, NMDI_SVY_MAXSTAGES);
            if (k < 0) {
                rc = nmdi_cli_usage(info, "--fpc: at most %d stages", NMDI_SVY_MAXSTAGES);
                goto out;
            }
            spec.nfpc = (size_t)k;
            break;
        case O_NEST: spec.nest = 1; break;
        case O_REPW: spec.repweights = optarg; break;
        case O_TYPE:
            have_type = 1;
            if (strcmp(optarg, "JK1") == 0)
                spec.type = NMDI_SVY_REP_JK1;
            else if (strcmp(optarg, "JKn") == 0)
                spec.type = NMDI_SVY_REP_JKN;
            else if (strcmp(optarg, "BRR") == 0)
                spec.type = NMDI_SVY_REP_BRR;
            else if (strcmp(optarg, "Fay") == 0)
                spec.type = NMDI_SVY_REP_FAY;
            else if (strcmp(optarg, "bootstrap") == 0)
                spec.type = NMDI_SVY_REP_BOOTSTRAP;
            else {
                rc = nmdi_cli_usage(info, "--type: JK1, JKn, BRR, Fay or bootstrap, not '%s'",
                                    optarg);
                goto out;
            }
            break;
        case O_RHO:
            if (nmdi_parse_double(optarg, &spec.rho) != 0) {
                rc = nmdi_cli_usage(info, "--rho: not a number: '%s'", optarg);
                goto out;
            }
            break;
        case O_MSE: spec.mse = 1; break;
        case O_SCALE:
            if (nmdi_parse_double(optarg, &spec.scale) != 0 || !(spec.scale > 0)) {
                rc = nmdi_cli_usage(info, "--scale: a positive number, not '%s'", optarg);
                goto out;
            }
            break;
        case O_RSCALES: {
            const char *items[4096];
            k = split_list(a, optarg, items, 4096);
            if (k <= 0) {
                rc = nmdi_cli_usage(info, "--rscales: a comma list of factors");
                goto out;
            }
            for (int i = 0; i < k; i++)
                if (nmdi_parse_double(items[i], &rscales[i]) != 0) {
                    rc = nmdi_cli_usage(info, "--rscales: not a number: '%s'", items[i]);
                    goto out;
                }
            spec.rscales = rscales;
            spec.nrscales = (size_t)k;
            break;
        }
        case O_LONELY:
            if (strcmp(optarg, "fail") == 0)
                spec.lonely = NMDI_SVY_LONELY_FAIL;
            else if (strcmp(optarg, "certainty") == 0)
                spec.lonely = NMDI_SVY_LONELY_CERTAINTY;
            else if (strcmp(optarg, "remove") == 0)
                spec.lonely = NMDI_SVY_LONELY_REMOVE;
            else if (strcmp(optarg, "adjust") == 0)
                spec.lonely = NMDI_SVY_LONELY_ADJUST;
            else if (strcmp(optarg, "average") == 0)
                spec.lonely = NMDI_SVY_LONELY_AVERAGE;
            else {
                rc = nmdi_cli_usage(info,
                                    "--lonely-psu: fail, certainty, remove, adjust or average");
                goto out;
            }
            break;
        case O_TOTAL:
        case O_MEAN:
        case O_RATIO:
        case O_PROP: {
            nmdi_svy_stat st = c == O_TOTAL  ? NMDI_SVY_TOTAL
                               : c == O_MEAN ? NMDI_SVY_MEAN
                               : c == O_RATIO ? NMDI_SVY_RATIO
                                              : NMDI_SVY_PROP;
            if (add_requests(a, st, optarg, req, &nreq) != 0) {
                rc = nmdi_cli_usage(info, "bad estimate '%s'%s", optarg,
                                    st == NMDI_SVY_RATIO ? " (give num/den)" : "");
                goto out;
            }
            break;
        }
        case O_BY:
            k = split_list(a, optarg, by + nby, MAXLIST - nby);
            if (k <= 0) {
                rc = nmdi_cli_usage(info, "--by: a comma list of columns");
                goto out;
            }
            nby += (size_t)k;
            break;
        case O_CAL:
            if (strcmp(optarg, "raking") == 0)
                spec.calibrate = NMDI_SVY_CAL_RAKING;
            else if (strcmp(optarg, "linear") == 0)
                spec.calibrate = NMDI_SVY_CAL_LINEAR;
            else {
                rc = nmdi_cli_usage(info, "--calibrate: raking or linear");
                goto out;
            }
            break;
        case O_MARGINS: spec.margins = optarg; break;
        case O_JSON: json = 1; break;
        case 'o': output = optarg; break;
        case 'h': fputs(info->usage, stdout); goto out;
        default: rc = nmdi_cli_usage(info, "unknown option"); goto out;
        }
    }
    if (optind != argc - 1) {
        rc = nmdi_cli_usage(info, "give exactly one FILE.csv");
        goto out;
    }
    if (nreq == 0) {
        rc = nmdi_cli_usage(info, "ask for at least one estimate (--total, --mean, --ratio, --prop)");
        goto out;
    }
    if (have_type != (spec.repweights != NULL)) {
        rc = nmdi_cli_usage(info, "--repweights and --type go together");
        goto out;
    }
    if (spec.type == NMDI_SVY_REP_FAY && isnan(spec.rho)) {
        rc = nmdi_cli_usage(info, "--type Fay needs --rho");
        goto out;
    }
    if ((spec.calibrate != NMDI_SVY_CAL_NONE) != (spec.margins != NULL)) {
        rc = nmdi_cli_usage(info, "--calibrate and --margins go together");
        goto out;
    }
    if (have_type && spec.nfpc) {
        rc = nmdi_cli_usage(info, "--fpc applies to Taylor designs, not to replicate weights");
        goto out;
    }

    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_table *t = NULL;
    nmdi_svy_design *d = NULL;
    nmdi_svy_result *res = NULL;
    nmdi_csv_opts copts = {0, 1, 1};
    if ((rc = nmdi_svy_read_csv(&t, argv[optind], &copts, &spec, req, nreq, by, nby, &err)) ||
        (rc = nmdi_svy_design_new(&d, t, &spec, &err)) ||
        (rc = nmdi_svy_estimate(d, req, nreq, by, nby, &res, &err))) {
        rc = nmdi_cli_error(info->name, &err);
    } else {
        FILE *f = stdout;
        char *tmp = NULL;
        if (output) {
            tmp = nmdi_arena_sprintf(a, "%s.tmp.%ld", output, (long)getpid());
            f = tmp ? fopen(tmp, "w") : NULL;
            if (!f) {
                nmdi_error_set(&err, NMDI_EINTERNAL, "cannot write %s", output);
                rc = nmdi_cli_error(info->name, &err);
            }
        }
        if (f) {
            int wrc = json ? nmdi_svy_result_write_json(res, f) : nmdi_svy_result_write_csv(res, f);
            if (output) {
                if (fflush(f) != 0 || fsync(fileno(f)) != 0)
                    wrc = -1;
                if (fclose(f) != 0)
                    wrc = -1;
                if (wrc == 0 && rename(tmp, output) != 0)
                    wrc = -1;
                if (wrc)
                    unlink(tmp);
            } else if (fflush(f) != 0) {
                wrc = -1;
            }
            if (wrc) {
                nmdi_error_set(&err, NMDI_EINTERNAL, "cannot write the output");
                rc = nmdi_cli_error(info->name, &err);
            }
        }
    }
    nmdi_svy_result_free(res);
    nmdi_svy_design_free(d);
    nmdi_table_free(t);
out:
    nmdi_arena_free(a);
    return rc;
}

const nmdi_cmd_info nmdi_cmd_survey_info = {
    "survey",
    "design-based survey estimates with standard errors (as R's survey package)",
    "usage: nmdi survey FILE.csv [design] ESTIMATES... [--by a,b] [--json] [-o OUT]\n"
    "\n"
    "Design (as R's svydesign):\n"
    "  --ids a[,b]          cluster column per stage ('1' or absent: no clusters)\n"
    "  --strata s           stratum column (first stage)\n"
    "  --weights w          sampling weights (default: from --fpc, else 1)\n"
    "  --fpc f[,g]          per stage: population size (values > 1) or sampling\n"
    "                       fraction (values <= 1), constant within strata\n"
    "  --nest               cluster ids are unique only within strata\n"
    "  --lonely-psu fail|certainty|remove|adjust|average   (default fail)\n"
    "Replicate weights (as R's svrepdesign, combined weights):\n"
    "  --repweights REGEX --type JK1|JKn|BRR|Fay|bootstrap [--rho r] [--mse]\n"
    "  [--rscales f1,f2,...]  factors per replicate (svrepdesign rscales); for JKn\n"
    "                       by default (n_h-1)/n_h derived from --strata/--ids\n"
    "                       [--nest] and the PSU each replicate zeroes\n"
    "  [--scale c]          overall factor (svrepdesign scale; JK1, JKn, bootstrap)\n"
    "Calibration (as R's calibrate, stage 0):\n"
    "  --calibrate raking|linear --margins FILE   FILE: CSV variable,category,total\n"
    "Estimates (repeatable, comma lists allowed):\n"
    "  --total v  --mean v  --ratio num/den  --prop v (one row per category)\n"
    "  --by a,b             domains (svyby); rows are never dropped for the variance\n"
    "Output CSV: by columns...,statistic,variable,estimate,se,cv,ci_low,ci_high,n\n"
    "Missing values (empty or NA) are left out as R's na.rm=TRUE. See\n"
    "docs/methods-survey.md.\n",
};
