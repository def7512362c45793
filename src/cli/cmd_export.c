/* cmd_export.c — `nmdi export DIR DATASET --format csv|stata [--output FILE]`. */
#include "nmdi/cli.h"
#include "nmdi/ingest.h"

#include <getopt.h>

extern const nmdi_cmd_info nmdi_cmd_export_info;

int nmdi_cmd_export(nmdi_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"version", required_argument, NULL, 'v'},
                                         {0, 0, 0, 0}};
    const char *format = "csv", *out = "-";
    int64_t version = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'f')
            format = optarg;
        else if (c == 'o')
            out = optarg;
        else if (c == 'v') {
            if (nmdi_parse_int64(optarg, &version) || version < 1)
                return nmdi_cli_usage(&nmdi_cmd_export_info, "--version needs a number >= 1");
        } else
            return nmdi_cli_usage(&nmdi_cmd_export_info, "unknown option");
    }
    if (argc - optind != 2)
        return nmdi_cli_usage(&nmdi_cmd_export_info, "give DIR and DATASET");
    nmdi_error err;
    nmdi_error_clear(&err);
    uint64_t rows;
    if (nmdi_ingest_export(argv[optind], argv[optind + 1], version, format, out, &rows, &err))
        return nmdi_cli_error("export", &err);
    nmdi_note(ctx, "exported %llu rows of %s as %s", (unsigned long long)rows, argv[optind + 1], format);
    return 0;
}

const nmdi_cmd_info nmdi_cmd_export_info = {
    "export", "write a dataset version out as CSV or Stata (identifiers stay pseudonymised)",
    "usage: nmdi export DIR DATASET [--format csv|stata] [--output FILE] [--version N]\n"
    "\n"
    "Writes the latest version of DATASET (or version N) with one column per stored\n"
    "field: dates as YYYY-MM-DD (Stata: %td), codes as text, keys and identifier\n"
    "hashes as 16 hex digits, q-gram encodings as hex. CSV goes to standard output\n"
    "unless --output; Stata (.dta, via ReadStat) needs --output. Rows come partition\n"
    "by partition.\n",
};
