/* cmd_datasets.c — `nmdi datasets DIR [--json]`: dataset versions with row
 * counts and lineage. */
#include "nmdi/catalog.h"
#include "nmdi/cli.h"
#include "nmdi/store.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>

extern const nmdi_cmd_info nmdi_cmd_datasets_info;

typedef struct dout {
    int json, verify;
    json_t *arr;
    const char *dir;
    int bad;
} dout;

/* Open a version and recompute its checksums; prints a line when damaged. */
static int verify_version(dout *o, const nmdi_dsversion *v)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", o->dir, v->path);
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_dataset *ds;
    int rc = nmdi_dataset_open(&ds, path, &err);
    if (!rc) {
        rc = nmdi_dataset_verify(ds, &err);
        if (!rc && nmdi_dataset_rows(ds) != (uint64_t)v->rows)
            rc = nmdi_error_at(&err, NMDI_EDATA, path, 0, NULL, "store has %llu rows, catalog %lld",
                               (unsigned long long)nmdi_dataset_rows(ds), (long long)v->rows);
        nmdi_dataset_close(ds);
    }
    if (rc) {
        nmdi_cli_error("datasets", &err);
        o->bad++;
    }
    return rc;
}

static int print_v(void *arg, const nmdi_dsversion *v)
{
    dout *o = arg;
    if (o->verify)
        verify_version(o, v);
    json_error_t je;
    json_t *lin = json_loads(v->lineage, 0, &je);
    if (o->json) {
        json_t *x = json_pack("{s:s,s:I,s:s,s:s,s:I,s:I,s:I,s:i,s:s,s:s}", "dataset", v->dataset,
                              "version", (json_int_t)v->version, "source", v->source, "record_type",
                              v->record_type, "read", (json_int_t)v->read, "rows",
                              (json_int_t)v->rows, "quarantined", (json_int_t)v->quarantined,
                              "partitions", v->nparts, "loaded_at", v->loaded_at, "path", v->path);
        json_object_set_new(x, "lineage", lin ? lin : json_object());
        json_array_append_new(o->arr, x);
        return 0;
    }
    printf("%-20s %7lld %-16s %12lld %12lld %12lld  %s  %s\n", v->dataset, (long long)v->version,
           v->record_type, (long long)v->read, (long long)v->rows, (long long)v->quarantined,
           v->loaded_at, v->path);
    json_t *in = json_object_get(lin, "inputs");
    size_t i;
    json_t *f;
    json_array_foreach(in, i, f)
        printf("    from %s (blake2b %.16s…)\n", json_string_value(json_object_get(f, "file")),
               json_string_value(json_object_get(f, "blake2b")));
    json_decref(lin);
    return 0;
}

int nmdi_cmd_datasets(nmdi_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"verify", no_argument, NULL, 'v'},
                                         {0, 0, 0, 0}};
    int json = 0, verify = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'v')
            verify = 1;
        else
            return nmdi_cli_usage(&nmdi_cmd_datasets_info, "unknown option");
    }
    if (argc - optind != 1)
        return nmdi_cli_usage(&nmdi_cmd_datasets_info, "give the infrastructure directory");
    nmdi_catalog *cat;
    int rc = nmdi_cli_open_catalog("datasets", argv[optind], 1, &cat);
    if (rc)
        return rc;
    nmdi_error err;
    nmdi_error_clear(&err);
    dout o = {json, verify, json ? json_array() : NULL, argv[optind], 0};
    if (!json)
        printf("%-20s %7s %-16s %12s %12s %12s  %-20s  %s\n", "dataset", "version", "record_type",
               "read", "rows", "quarantined", "loaded_at", "path");
    rc = nmdi_catalog_versions(cat, NULL, print_v, &o, &err);
    nmdi_catalog_close(cat);
    if (rc)
        rc = nmdi_cli_error("datasets", &err);
    else if (json)
        rc = nmdi_cli_put_json(o.arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o.arr);
    return rc ? rc : o.bad ? NMDI_EDATA : 0;
}

const nmdi_cmd_info nmdi_cmd_datasets_info = {
    "datasets", "list dataset versions with row counts and lineage",
    "usage: nmdi datasets DIR [--json] [--verify]\n"
    "\n"
    "Lists every dataset version: read, rows, quarantined, load time, store path and\n"
    "the delivered files it came from (lineage). --verify also opens each version\n"
    "and recomputes the checksums of its files (exit 1 when one is damaged).\n",
};
