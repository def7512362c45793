/* cmd_synth.c — `nmdi synth`: generate the synthetic country (src/synth). */
#include "nmdi/cli.h"
#include "nmdi/synth.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

extern const nmdi_cmd_info nmdi_cmd_synth_info;

static int num_arg(const char *opt, const char *s, double *out)
{
    if (nmdi_parse_double(s, out))
        return nmdi_cli_usage(&nmdi_cmd_synth_info, "%s: '%s' is not a number", opt, s);
    return 0;
}

int nmdi_cmd_synth(nmdi_ctx *ctx, int argc, char **argv)
{
    static const struct option lo[] = {
        {"persons", required_argument, NULL, 'n'},      {"years", required_argument, NULL, 'y'},
        {"seed", required_argument, NULL, 's'},         {"out", required_argument, NULL, 'o'},
        {"like", required_argument, NULL, 'l'},         {"census-sample", required_argument, NULL, 'c'},
        {"start", required_argument, NULL, 'b'},        {"mobile-share", required_argument, NULL, 'm'},
        {"mobile-days", required_argument, NULL, 'd'},  {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},               {0, 0, 0, 0}};
    nmdi_synth_opts o;
    nmdi_synth_opts_init(&o);
    int json = ctx->json, c;
    double v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:y:s:o:l:c:b:m:d:jh", lo, NULL)) != -1) {
        switch (c) {
        case 'n':
        case 'y':
        case 's':
        case 'b':
        case 'd': {
            int64_t i;
            if (nmdi_parse_int64(optarg, &i) || i < 0)
                return nmdi_cli_usage(&nmdi_cmd_synth_info, "'%s' is not a non-negative integer", optarg);
            if (c == 'n')
                o.persons = (uint64_t)i;
            else if (c == 'y')
                o.years = (int)(i > 1000 ? 1000 : i);
            else if (c == 's')
                o.seed = (uint64_t)i;
            else if (c == 'b')
                o.start_year = (int)(i > 9999 ? 9999 : i);
            else
                o.mobile_days = (int)(i > 100000 ? 100000 : i);
            break;
        }
        case 'o': o.out = optarg; break;
        case 'l': o.like = optarg; break;
        case 'c':
            if (num_arg("--census-sample", optarg, &v))
                return 1;
            o.census_sample = v;
            break;
        case 'm':
            if (num_arg("--mobile-share", optarg, &v))
                return 1;
            o.mobile_share = v;
            break;
        case 'j': json = 1; break;
        case 'h': fputs(nmdi_cmd_synth_info.usage, stdout); return 0;
        default: return nmdi_cli_usage(&nmdi_cmd_synth_info, "unknown option");
        }
    }
    if (optind < argc)
        return nmdi_cli_usage(&nmdi_cmd_synth_info, "unexpected argument '%s'", argv[optind]);
    if (!o.out)
        return nmdi_cli_usage(&nmdi_cmd_synth_info, "--out DIR is required");
    nmdi_synth_summary sum;
    nmdi_error err;
    nmdi_error_clear(&err);
    int rc = nmdi_synth_run(ctx, &o, &sum, &err);
    if (rc)
        return nmdi_cli_error("synth", &err);
    if (json) {
        json_t *files = json_array();
        for (size_t i = 0; i < sum.nfiles; i++)
            json_array_append_new(files, json_pack("{s:s, s:I, s:I}", "file", sum.files[i], "rows",
                                                   (json_int_t)sum.rows[i], "bytes", (json_int_t)sum.bytes[i]));
        json_t *r = json_pack("{s:s, s:I, s:i, s:I, s:s, s:f, s:o}", "out", o.out, "persons",
                              (json_int_t)o.persons, "years", o.years, "seed", (json_int_t)o.seed, "like",
                              o.like, "seconds", sum.seconds, "files", files);
        nmdi_cli_put_json(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(r);
    } else if (!ctx->quiet) {
        printf("synthetic country Kernland (XKN) like %s: %llu persons, %d years from %d, seed %llu\n",
               o.like, (unsigned long long)o.persons, o.years, o.start_year, (unsigned long long)o.seed);
        for (size_t i = 0; i < sum.nfiles; i++)
            printf("  %-36s %12llu rows %14llu bytes\n", sum.files[i], (unsigned long long)sum.rows[i],
                   (unsigned long long)sum.bytes[i]);
        printf("written to %s in %.2f s\n", o.out, sum.seconds);
    }
    return 0;
}

const nmdi_cmd_info nmdi_cmd_synth_info = {
    "synth",
    "generate a synthetic country with ground truth and its agencies' source files",
    "usage: nmdi synth --persons N --years Y --seed S --out DIR [--like ISO3]\n"
    "                  [--census-sample F] [--start YYYY] [--mobile-share F]\n"
    "                  [--mobile-days D] [--json]\n"
    "\n"
    "Simulates N persons of the fictional country Kernland (XKN) over Y years from\n"
    "1 January of --start (default 2019, Y default 6) and writes into DIR:\n"
    "  truth/    persons, households, presence spells, crossings, migration events\n"
    "            (12/16-month rule) and truth_links.csv (source record -> person)\n"
    "  sources/  border crossings, census persons and members abroad, labour force\n"
    "            survey, permits, students, population register (base and events),\n"
    "            mobile presence and the operator's area table\n"
    "  synth.json the parameters and reference dates.\n"
    "--like ISO3     origin mix of migrants from the UN DESA stock of this destination\n"
    "                (default AUT)\n"
    "--census-sample fraction of households enumerated (default 1, full count)\n"
    "--mobile-share  fraction of persons who are the operator's subscribers (default\n"
    "                0.02; 0 = no mobile records), over the last --mobile-days days\n"
    "                of the window (default 730)\n"
    "The same options and seed give byte-identical files, whatever --threads.\n"
    "Layouts and the model: docs/synthetic-country.md.\n",
};
