/* cmd_load.c — `nmdi load DIR SOURCE FILE...`: load one delivery of a source. */
#include "nmdi/cli.h"
#include "nmdi/ingest.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

extern const nmdi_cmd_info nmdi_cmd_load_info;

static void print_report(const nmdi_load_report *r, int json)
{
    if (json) {
        json_t *j = json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:f,s:I}", "source", r->source,
                              "record_type", r->record_type, "version", (json_int_t)r->version,
                              "path", r->path ? r->path : "", "read", (json_int_t)r->read, "loaded",
                              (json_int_t)r->loaded, "quarantined", (json_int_t)r->quarantined,
                              "seconds", r->seconds, "bytes", (json_int_t)r->bytes);
        json_t *files = json_array();
        for (size_t i = 0; i < r->nfiles; i++)
            json_array_append_new(
                files, json_pack("{s:s,s:s,s:I,s:I,s:I,s:s}", "file", r->files[i].file, "blake2b",
                                 r->files[i].checksum, "read", (json_int_t)r->files[i].read,
                                 "loaded", (json_int_t)r->files[i].loaded, "quarantined",
                                 (json_int_t)r->files[i].quarantined, "unmapped_columns",
                                 r->files[i].unmapped ? r->files[i].unmapped : ""));
        json_object_set_new(j, "files", files);
        nmdi_cli_put_json(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(j);
        return;
    }
    printf("load report: source %s (%s), version %lld\n", r->source, r->record_type,
           (long long)r->version);
    printf("%-40s %12s %12s %12s\n", "file", "read", "loaded", "quarantined");
    for (size_t i = 0; i < r->nfiles; i++) {
        printf("%-40s %12llu %12llu %12llu\n", r->files[i].file, (unsigned long long)r->files[i].read,
               (unsigned long long)r->files[i].loaded, (unsigned long long)r->files[i].quarantined);
        if (r->files[i].unmapped && *r->files[i].unmapped)
            printf("  columns not mapped (not loaded): %s\n", r->files[i].unmapped);
    }
    printf("%-40s %12llu %12llu %12llu\n", "total", (unsigned long long)r->read,
           (unsigned long long)r->loaded, (unsigned long long)r->quarantined);
    double mb = (double)r->bytes / 1e6;
    printf("read = loaded + quarantined: %llu = %llu + %llu; %.1f MB in %.2f s (%.1f MB/s, %.0f rows/s)\n",
           (unsigned long long)r->read, (unsigned long long)r->loaded,
           (unsigned long long)r->quarantined, mb, r->seconds,
           r->seconds > 0 ? mb / r->seconds : 0.0, r->seconds > 0 ? (double)r->read / r->seconds : 0.0);
}

int nmdi_cmd_load(nmdi_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"strict", no_argument, NULL, 's'},
                                         {"max-quarantine", required_argument, NULL, 'm'},
                                         {0, 0, 0, 0}};
    nmdi_load_opts lo = {0};
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 's')
            lo.strict = 1;
        else if (c == 'm') {
            int64_t v;
            if (nmdi_parse_int64(optarg, &v) || v < 0)
                return nmdi_cli_usage(&nmdi_cmd_load_info, "--max-quarantine needs a count");
            lo.max_quarantine = (size_t)v;
        } else
            return nmdi_cli_usage(&nmdi_cmd_load_info, "unknown option");
    }
    if (argc - optind < 3)
        return nmdi_cli_usage(&nmdi_cmd_load_info, "give DIR, SOURCE and at least one FILE");
    lo.fail_after_bytes = nmdi_cli_store_fail_after();
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_load_report *r;
    if (nmdi_ingest_load(ctx, argv[optind], argv[optind + 1], (size_t)(argc - optind - 2),
                         (const char *const *)argv + optind + 2, &lo, &r, &err))
        return nmdi_cli_error("load", &err);
    if (!ctx->quiet || json)
        print_report(r, json);
    nmdi_load_report_free(r);
    return 0;
}

const nmdi_cmd_info nmdi_cmd_load_info = {
    "load", "load one delivery of a source into the store (map, validate, quarantine, pseudonymise)",
    "usage: nmdi load DIR SOURCE FILE... [--json] [--strict] [--max-quarantine N]\n"
    "\n"
    "Reads FILE... (the format declared for SOURCE in DIR/nmdi.yaml: csv, stata\n"
    "(.dta), spss (.sav or .por), sas (.sas7bdat or .xpt transport), told apart by\n"
    "content), maps columns and codes onto SOURCE's record type, converts types,\n"
    "checks the validation rules, replaces identifiers by keyed hashes, and writes\n"
    "a new dataset version to DIR/store. Records that fail go to the quarantine\n"
    "(`nmdi quarantine DIR SOURCE`). Prints the load report: read = loaded +\n"
    "quarantined per file (--json: as JSON).\n"
    "A malformed file (unterminated quote, invalid UTF-8, binary, empty, header\n"
    "not matching the mapping) refuses the whole delivery: nothing becomes visible.\n"
    "  --strict             refuse the delivery if any record fails\n"
    "  --max-quarantine N   refuse the delivery if more than N records fail\n"
    "With --threads 2 or more (the default on a multi-core machine) the delivered\n"
    "files are checksummed on a second thread while the load runs.\n",
};
