/* cmd_quarantine.c — `nmdi quarantine DIR SOURCE [--version N] [--json]`: the
 * records of a delivery that failed mapping or validation. */
#include "nmdi/catalog.h"
#include "nmdi/cli.h"
#include "nmdi/csv.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>

extern const nmdi_cmd_info nmdi_cmd_quarantine_info;

typedef struct qout {
    int json;
    json_t *arr;
    size_t n;
} qout;

static int print_q(void *arg, const nmdi_quarantine_row *q)
{
    qout *o = arg;
    o->n++;
    if (o->json) {
        json_array_append_new(o->arr, json_pack("{s:s,s:I,s:s,s:I,s:s,s:s,s:s,s:s}", "dataset", q->dataset,
                                                "version", (json_int_t)q->version, "file", q->file,
                                                "line", (json_int_t)q->line, "rule", q->rule, "field",
                                                q->field, "value", q->value, "message", q->message));
        return 0;
    }
    char line[32], ver[32];
    snprintf(line, sizeof line, "%ld", q->line);
    snprintf(ver, sizeof ver, "%lld", (long long)q->version);
    const char *row[] = {q->dataset, ver, q->file, line, q->rule, q->field, q->value, q->message};
    nmdi_csv_put_row(stdout, 8, row);
    return 0;
}

int nmdi_cmd_quarantine(nmdi_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"version", required_argument, NULL, 'v'},
                                         {0, 0, 0, 0}};
    int json = 0, c;
    int64_t version = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'v') {
            if (nmdi_parse_int64(optarg, &version) || version < 1)
                return nmdi_cli_usage(&nmdi_cmd_quarantine_info, "--version needs a number >= 1");
        } else
            return nmdi_cli_usage(&nmdi_cmd_quarantine_info, "unknown option");
    }
    if (argc - optind != 2)
        return nmdi_cli_usage(&nmdi_cmd_quarantine_info, "give DIR and SOURCE");
    nmdi_catalog *cat;
    int rc = nmdi_cli_open_catalog("quarantine", argv[optind], 1, &cat);
    if (rc)
        return rc;
    nmdi_error err;
    nmdi_error_clear(&err);
    qout o = {json, json ? json_array() : NULL, 0};
    if (!json)
        printf("dataset,version,file,line,rule,field,value,message\n");
    rc = nmdi_catalog_quarantine(cat, argv[optind + 1], version, print_q, &o, &err);
    nmdi_catalog_close(cat);
    if (rc)
        rc = nmdi_cli_error("quarantine", &err);
    else if (json)
        rc = nmdi_cli_put_json(o.arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o.arr);
    return rc;
}

const nmdi_cmd_info nmdi_cmd_quarantine_info = {
    "quarantine", "list the records of a delivery that failed mapping or validation",
    "usage: nmdi quarantine DIR SOURCE [--version N] [--json]\n"
    "\n"
    "Prints CSV: dataset,version,file,line,rule,field,value,message — one line per\n"
    "failed check of the latest version of SOURCE (or version N). Values of key\n"
    "fields are never shown.\n",
};
