/* cmd_codes.c — `nmdi codes [LIST]`: print a built-in codelist. */
#include "nmdi/cli.h"
#include "nmdi/codes.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const nmdi_cmd_info nmdi_cmd_codes_info;

static void print_json_code(json_t *arr, const char *id, const char *en, const char *zh,
                            const char *parent)
{
    json_t *o = json_pack("{s:s, s:{s:s, s:s}}", "id", id, "name", "en", en, "zh", zh);
    if (parent && *parent)
        json_object_set_new(o, "parent", json_string(parent));
    json_array_append_new(arr, o);
}

int nmdi_cmd_codes(nmdi_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"lang", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'}, {0, 0, 0, 0}};
    const char *lang = "en";
    int json = ctx->json, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:j", opts, NULL)) != -1) {
        if (c == 'l')
            lang = optarg;
        else if (c == 'j')
            json = 1;
        else
            return nmdi_cli_usage(&nmdi_cmd_codes_info, "unknown option");
    }
    if (strcmp(lang, "en") != 0 && strcmp(lang, "zh") != 0)
        return nmdi_cli_usage(&nmdi_cmd_codes_info, "--lang must be en or zh, not '%s'", lang);
    size_t n;
    const nmdi_codelist *all = nmdi_codes_all(&n);
    if (optind >= argc) {
        printf("%-22s %-14s %6s  %s\n", "codelist", "short name", "codes", "name");
        for (size_t i = 0; i < n; i++)
            printf("%-22s %-14s %6zu  %s\n", all[i].id, all[i].short_id, all[i].n,
                   strcmp(lang, "zh") == 0 ? all[i].name_zh : all[i].name_en);
        size_t nc, nr;
        nmdi_countries(&nc);
        nmdi_codes_regions(&nr);
        printf("%-22s %-14s %6zu  %s\n", "CL_COUNTRY", "country", nc,
               strcmp(lang, "zh") == 0 ? "国家和地区（ISO 3166-1）"
                                       : "Countries and areas (ISO 3166-1)");
        printf("%-22s %-14s %6zu  %s\n", "CL_REGION", "region", nr,
               strcmp(lang, "zh") == 0 ? "联合国M49区域" : "UN M49 regions");
        return 0;
    }
    const char *name = argv[optind];
    json_t *arr = json ? json_array() : NULL;
    if (strcasecmp(name, "country") == 0 || strcasecmp(name, "CL_COUNTRY") == 0) {
        size_t nc;
        const nmdi_country *cs = nmdi_countries(&nc);
        if (!json)
            printf("alpha3,alpha2,numeric,name,region,subregion,intermediate_region\n");
        for (size_t i = 0; i < nc; i++) {
            const char *nm = strcmp(lang, "zh") == 0 ? cs[i].name_zh : cs[i].name_en;
            if (json) {
                json_array_append_new(
                    arr, json_pack("{s:s,s:s,s:s,s:{s:s,s:s},s:s,s:s,s:s}", "alpha3", cs[i].alpha3,
                                   "alpha2", cs[i].alpha2, "numeric", cs[i].numeric, "name", "en",
                                   cs[i].name_en, "zh", cs[i].name_zh, "region", cs[i].region,
                                   "subregion", cs[i].subregion, "intermediate_region",
                                   cs[i].intermediate));
            } else {
                printf("%s,%s,%s,", cs[i].alpha3, cs[i].alpha2, cs[i].numeric);
                const char *f[] = {nm, cs[i].region, cs[i].subregion, cs[i].intermediate};
                for (int k = 0; k < 4; k++) {
                    if (k)
                        putchar(',');
                    if (strchr(f[k], ','))
                        printf("\"%s\"", f[k]);
                    else
                        fputs(f[k], stdout);
                }
                putchar('\n');
            }
        }
    } else {
        const nmdi_code *codes;
        size_t nc;
        const nmdi_codelist *cl = NULL;
        if (strcasecmp(name, "region") == 0 || strcasecmp(name, "CL_REGION") == 0)
            codes = nmdi_codes_regions(&nc);
        else {
            cl = nmdi_codes_get(name);
            if (!cl) {
                json_decref(arr);
                fprintf(stderr, "nmdi codes: no codelist '%s'; `nmdi codes` lists them\n", name);
                return NMDI_EDATA;
            }
            codes = cl->codes;
            nc = cl->n;
        }
        if (!json)
            printf("code,name,parent\n");
        for (size_t i = 0; i < nc; i++) {
            if (json) {
                print_json_code(arr, codes[i].id, codes[i].name_en, codes[i].name_zh,
                                codes[i].parent);
            } else {
                const char *nm = nmdi_code_name(&codes[i], lang);
                printf("%s,%s%s%s,%s\n", codes[i].id, strchr(nm, ',') ? "\"" : "", nm,
                       strchr(nm, ',') ? "\"" : "", codes[i].parent ? codes[i].parent : "");
            }
        }
    }
    if (json) {
        nmdi_cli_put_json(arr, JSON_INDENT(2));
        json_decref(arr);
    }
    return 0;
}

const nmdi_cmd_info nmdi_cmd_codes_info = {
    "codes",
    "print a built-in codelist (countries, regions, sex, age, ISCED, ...)",
    "usage: nmdi codes [LIST] [--lang en|zh] [--json]\n\n"
    "Without LIST, lists the codelists. LIST is an SDMX codelist id (CL_SEX) or its short\n"
    "name (sex, age5, age, isced, reason, migstatus, labour, citgroup, flow, obs_status,\n"
    "conf_status, unit, country, region). Output is CSV (code,name,parent; countries:\n"
    "alpha3,alpha2,numeric,name,region,subregion,intermediate_region) or JSON with both\n"
    "English and Chinese names.\n",
};
