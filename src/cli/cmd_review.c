/* cmd_review.c — `nmdi review DIR`: clerical review of the person spine:
 * export the pairs of the uncertain band, import decisions and rebuild the
 * spine with them (nmdi/spine.h). */
#include "nmdi/cli.h"
#include "nmdi/spine.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const nmdi_cmd_info nmdi_cmd_review_info;

static int fail(const nmdi_error *err)
{
    char buf[1024];
    nmdi_error_format(err, buf, sizeof buf);
    fprintf(stderr, "nmdi review: %s\n", buf);
    return err->code == NMDI_EDATA ? 1 : 2;
}

int nmdi_cmd_review(nmdi_ctx *ctx, int argc, char **argv)
{
    const char *exp = NULL, *imp = NULL;
    double lo = 0.2, hi = 0.8;
    static const struct option lo_opts[] = {{"export", required_argument, 0, 'e'},
                                            {"import", required_argument, 0, 'i'},
                                            {"band", required_argument, 0, 'b'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo_opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            exp = optarg;
            break;
        case 'i':
            imp = optarg;
            break;
        case 'b':
            if (sscanf(optarg, "%lf,%lf", &lo, &hi) != 2 || !(lo >= 0 && lo < hi && hi <= 1))
                return nmdi_cli_usage(&nmdi_cmd_review_info, "--band LO,HI with 0 <= LO < HI <= 1");
            break;
        case 'h':
            fputs(nmdi_cmd_review_info.usage, stdout);
            return 0;
        default:
            return nmdi_cli_usage(&nmdi_cmd_review_info, "unknown or incomplete option '%s'",
                                  argv[optind - 1]);
        }
    }
    if (argc - optind != 1 || (!exp == !imp))
        return nmdi_cli_usage(&nmdi_cmd_review_info, "give DIR and one of --export FILE, --import FILE");
    const char *dir = argv[optind];
    nmdi_error err = {0};
    uint64_t n = 0;
    if (exp) {
        if (nmdi_spine_review_export(dir, lo, hi, exp, &n, &err))
            return fail(&err);
        fprintf(stderr, "nmdi review: %llu pairs with probability in [%g, %g) written to %s\n",
                (unsigned long long)n, lo, hi, exp);
        return 0;
    }
    if (nmdi_spine_review_import(dir, imp, &n, &err))
        return fail(&err);
    fprintf(stderr, "nmdi review: %llu decisions read from %s (kept in %s/review/decisions.csv)\n",
            (unsigned long long)n, imp, dir);
    nmdi_spine_report *r = NULL;
    if (nmdi_spine_build(ctx, dir, NULL, &r, &err))
        return fail(&err);
    fprintf(stderr, "nmdi review: person_spine version %lld: %llu records, %llu persons, %llu decisions applied\n",
            (long long)r->version, (unsigned long long)r->records, (unsigned long long)r->persons,
            (unsigned long long)r->decisions);
    nmdi_spine_report_free(r);
    return 0;
}

const nmdi_cmd_info nmdi_cmd_review_info = {
    "review",
    "clerical review of the person spine: export uncertain pairs, import decisions",
    "usage: nmdi review DIR --export FILE [--band LO,HI]\n"
    "       nmdi review DIR --import FILE\n"
    "\n"
    "--export writes the pairs of the latest spine (nmdi link DIR) whose match\n"
    "probability is in [LO, HI) (default 0.2,0.8) as CSV (\"-\" = standard output):\n"
    "left_source,left_line,left_person_key,right_source,right_line,right_person_key,\n"
    "match_probability,match_weight,pattern,decision — record lines and keyed person\n"
    "keys, the agreement level and weight of every compared field, never an\n"
    "identifier. Fill the decision column with match or non-match (or leave it\n"
    "empty) and give the file to --import: the decisions are kept in\n"
    "DIR/review/decisions.csv and a new spine version is built with them (a\n"
    "decision overrides the model: probability 1 or 0).\n",
};
