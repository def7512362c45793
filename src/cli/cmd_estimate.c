/* cmd_estimate.c — `nmdi estimate DIR`: the estimate stage over an
 * infrastructure (nmdi/estimate.h). */
#include "nmdi/cli.h"
#include "nmdi/estimate.h"

#include <getopt.h>

extern const nmdi_cmd_info nmdi_cmd_estimate_info;

int nmdi_cmd_estimate(nmdi_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0, 0, 0, 0}};
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else
            return nmdi_cli_usage(&nmdi_cmd_estimate_info, "unknown option");
    }
    if (optind + 1 != argc)
        return nmdi_cli_usage(&nmdi_cmd_estimate_info, "give the infrastructure directory");
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_estimate_summary sum;
    nmdi_note(ctx, "estimate: tables of %s", argv[optind]);
    if (nmdi_estimate_infra(ctx, argv[optind], &sum, &err))
        return nmdi_cli_error("estimate", &err);
    if (json)
        printf("{\"tables\": %zu, \"skipped\": %zu, \"cells\": %zu}\n", sum.ntables, sum.nskipped,
               sum.ncells);
    else
        nmdi_note(ctx, "estimate: %zu tables (%zu cells) in %s/work/estimates; %zu not produced",
                  sum.ntables, sum.ncells, argv[optind], sum.nskipped);
    return 0;
}

const nmdi_cmd_info nmdi_cmd_estimate_info = {
    "estimate",
    "produce the declared stock, flow, SDG and mobile tables from the store",
    "usage: nmdi estimate DIR [--json]\n\n"
    "Computes every table of the configuration's `tables:` section (or the default set:\n"
    "census stocks by sex, age, migratory status, country of birth, citizenship, area,\n"
    "region and duration of stay; long-term flows from `nmdi derive`; SDG 8.5.2, 8.6.1,\n"
    "labour-force participation and tertiary attainment by migratory status from the\n"
    "LFS with Taylor standard errors; mobile-phone aggregates) and writes each as a cube\n"
    "with its metadata to DIR/work/estimates/<TABLE>.csv and .json, for `nmdi protect`.\n"
    "A table whose input dataset is not in the store is reported and skipped.\n"
    "Methods: docs/methods-estimate.md.\n",
};
