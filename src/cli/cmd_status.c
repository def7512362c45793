/* cmd_status.c — `nmdi status DIR [--json]`: agencies, sources, dataset
 * versions and releases of an infrastructure. */
#include "nmdi/catalog.h"
#include "nmdi/cli.h"

#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

extern const nmdi_cmd_info nmdi_cmd_status_info;

typedef struct acc {
    json_t *arr;
    const char *const *keys;
} acc;

static int add_row(void *arg, int n, const char *const *v)
{
    acc *a = arg;
    json_t *o = json_object();
    for (int i = 0; i < n && a->keys[i]; i++)
        json_object_set_new(o, a->keys[i], json_string(v[i]));
    json_array_append_new(a->arr, o);
    return 0;
}

static int add_version(void *arg, const nmdi_dsversion *v)
{
    json_t *arr = arg;
    json_array_append_new(arr, json_pack("{s:s,s:I,s:s,s:s,s:I,s:I,s:I,s:s,s:s}", "dataset", v->dataset,
                                         "version", (json_int_t)v->version, "source", v->source,
                                         "record_type", v->record_type, "read", (json_int_t)v->read,
                                         "rows", (json_int_t)v->rows, "quarantined",
                                         (json_int_t)v->quarantined, "loaded_at", v->loaded_at,
                                         "path", v->path));
    return 0;
}

int nmdi_cmd_status(nmdi_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0, 0, 0, 0}};
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else
            return nmdi_cli_usage(&nmdi_cmd_status_info, "unknown option");
    }
    if (argc - optind != 1)
        return nmdi_cli_usage(&nmdi_cmd_status_info, "give the infrastructure directory");
    const char *dir = argv[optind];
    nmdi_catalog *cat;
    int orc = nmdi_cli_open_catalog("status", dir, 1, &cat);
    if (orc)
        return orc;
    nmdi_error err;
    nmdi_error_clear(&err);
    static const char *const akeys[] = {"id", "name_en", "name_zh", NULL};
    static const char *const skeys[] = {"id", "agency", "record_type", "format", NULL};
    static const char *const rkeys[] = {"version", "created", "ntables", NULL};
    acc ag = {json_array(), akeys}, so = {json_array(), skeys}, re = {json_array(), rkeys};
    json_t *vers = json_array();
    int rc = nmdi_catalog_agencies(cat, add_row, &ag, &err) || nmdi_catalog_sources(cat, add_row, &so, &err) ||
             nmdi_catalog_versions(cat, NULL, add_version, vers, &err) ||
             nmdi_catalog_releases(cat, add_row, &re, &err);
    nmdi_catalog_close(cat);
    /* releases written by `nmdi publish` as folders (docs/api.md) */
    char path[4096];
    snprintf(path, sizeof path, "%s/releases", dir);
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || !strcmp(e->d_name, "LATEST"))
                continue;
            int known = 0;
            for (size_t i = 0; i < json_array_size(re.arr); i++)
                if (!strcmp(json_string_value(json_object_get(json_array_get(re.arr, i), "version")),
                            e->d_name))
                    known = 1;
            if (!known)
                json_array_append_new(re.arr, json_pack("{s:s}", "version", e->d_name));
        }
        closedir(d);
    }
    if (rc) {
        json_decref(ag.arr);
        json_decref(so.arr);
        json_decref(re.arr);
        json_decref(vers);
        return nmdi_cli_error("status", &err);
    }
    if (json) {
        json_t *j = json_pack("{s:s,s:o,s:o,s:o,s:o}", "infrastructure", dir, "agencies", ag.arr,
                              "sources", so.arr, "datasets", vers, "releases", re.arr);
        rc = nmdi_cli_put_json(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(j);
        return rc;
    }
    printf("infrastructure %s\n\nagencies (%zu)\n", dir, json_array_size(ag.arr));
    size_t i;
    json_t *x;
    json_array_foreach(ag.arr, i, x)
        printf("  %-12s %s\n", json_string_value(json_object_get(x, "id")),
               json_string_value(json_object_get(x, "name_en")));
    printf("\nsources (%zu)\n", json_array_size(so.arr));
    json_array_foreach(so.arr, i, x)
        printf("  %-20s %-12s %-16s %s\n", json_string_value(json_object_get(x, "id")),
               json_string_value(json_object_get(x, "agency")),
               json_string_value(json_object_get(x, "record_type")),
               json_string_value(json_object_get(x, "format")));
    printf("\ndataset versions (%zu)\n", json_array_size(vers));
    if (json_array_size(vers))
        printf("  %-20s %7s %12s %12s %12s  %s\n", "dataset", "version", "read", "rows", "quarantined",
               "loaded at");
    json_array_foreach(vers, i, x)
        printf("  %-20s %7lld %12lld %12lld %12lld  %s\n", json_string_value(json_object_get(x, "dataset")),
               (long long)json_integer_value(json_object_get(x, "version")),
               (long long)json_integer_value(json_object_get(x, "read")),
               (long long)json_integer_value(json_object_get(x, "rows")),
               (long long)json_integer_value(json_object_get(x, "quarantined")),
               json_string_value(json_object_get(x, "loaded_at")));
    printf("\nreleases (%zu)\n", json_array_size(re.arr));
    json_array_foreach(re.arr, i, x)
        printf("  %s\n", json_string_value(json_object_get(x, "version")));
    json_decref(ag.arr);
    json_decref(so.arr);
    json_decref(re.arr);
    json_decref(vers);
    return 0;
}

const nmdi_cmd_info nmdi_cmd_status_info = {
    "status", "summarise an infrastructure: agencies, sources, dataset versions, releases",
    "usage: nmdi status DIR [--json]\n",
};
