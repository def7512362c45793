/* cmd_derive.c — `nmdi derive DIR`: residence, migration events, register
 * flows and first permits over the store (library: src/derive/pipeline.c). */
#include "nmdi/cli.h"
#include "nmdi/derive_pipeline.h"

#include <getopt.h>
#include <jansson.h>
#include <string.h>

extern const nmdi_cmd_info nmdi_cmd_derive_info;

static const char *const ev_names[5] = {"", "IMM", "EMI", "TMP_IN", "TMP_OUT"};
static const char *const out_names[4] = {"crossing_residence", "migration_events",
                                         "register_flows", "first_permits"};
static const char *const reasons[5] = {"FAM", "EDU", "REM", "OTH", "_U"};

static json_t *by_year(const uint64_t *v, const uint64_t *prov)
{
    json_t *a = json_array();
    for (int y = 0; y < NMDI_DERIVE_NYEARS; y++)
        if (v[y])
            json_array_append_new(a, json_pack("{s:i,s:I,s:I}", "year",
                                               y ? NMDI_DERIVE_YEAR0 + y : 0, "count",
                                               (json_int_t)v[y], "provisional",
                                               (json_int_t)prov[y]));
    return a;
}

static void print_json(const char *dir, const nmdi_derive_summary *s)
{
    char cut[11] = "";
    nmdi_date_format(s->cutoff, cut);
    json_t *j = json_object(), *ev = json_object(), *reg = json_object(), *out = json_object(),
           *perm = json_object();
    json_object_set_new(j, "dir", json_string(dir));
    json_object_set_new(j, "cutoff", cut[0] ? json_string(cut) : json_null());
    json_object_set_new(j, "border_sources", json_integer(s->border_sources));
    json_object_set_new(j, "register_sources", json_integer(s->register_sources));
    json_object_set_new(j, "permit_sources", json_integer(s->permit_sources));
    json_object_set_new(j, "crossings_in", json_integer((json_int_t)s->crossings_in));
    json_object_set_new(j, "crossings_out", json_integer((json_int_t)s->crossings_out));
    json_object_set_new(j, "travel_documents", json_integer((json_int_t)s->documents));
    json_object_set_new(j, "travellers", json_integer((json_int_t)s->travellers));
    json_object_set_new(j, "provisional_crossings",
                        json_integer((json_int_t)s->provisional_crossings));
    json_object_set_new(j, "errors",
                        json_pack("{s:I,s:I,s:I}", "same_direction", (json_int_t)s->errors[2],
                                  "unknown_direction", (json_int_t)s->errors[3], "invalid_date",
                                  (json_int_t)s->errors[4]));
    for (int t = 1; t < 5; t++)
        json_object_set_new(ev, ev_names[t], by_year(s->events[t], s->events_prov[t]));
    json_object_set_new(j, "events", ev);
    if (s->initial_date != NMDI_DATE_NONE) {
        char d0[11];
        nmdi_date_format(s->initial_date, d0);
        json_object_set_new(j, "initial_status",
                            json_pack("{s:s,s:I,s:I,s:I}", "register_date", d0, "found",
                                      (json_int_t)s->initial_registered, "not_found",
                                      (json_int_t)s->initial_unregistered, "no_identity",
                                      (json_int_t)(s->initial_inferred - s->initial_unregistered)));
    }
    json_object_set_new(j, "events_with_residence",
                        json_integer((json_int_t)s->events_with_residence));
    json_object_set_new(j, "returning_citizens", json_integer((json_int_t)s->returning));
    json_object_set_new(j, "circular_travellers", json_integer((json_int_t)s->circular));
    json_object_set_new(j, "temporary_circular_travellers",
                        json_integer((json_int_t)s->circular_temporary));
    json_object_set_new(j, "register_rows", json_integer((json_int_t)s->register_rows));
    json_object_set_new(reg, "IMM", by_year(s->reg[1], s->reg_prov[1]));
    json_object_set_new(reg, "EMI", by_year(s->reg[2], s->reg_prov[2]));
    json_object_set_new(j, "register_flows", reg);
    json_object_set_new(j, "permits_in", json_integer((json_int_t)s->permits_in));
    json_object_set_new(j, "first_permits", json_integer((json_int_t)s->first_permits));
    for (int r = 0; r < 5; r++)
        json_object_set_new(perm, reasons[r], json_integer((json_int_t)s->permits_by_reason[r]));
    json_object_set_new(j, "first_permits_by_reason", perm);
    for (int o = 0; o < 4; o++)
        if (s->version[o])
            json_object_set_new(out, out_names[o], json_integer(s->version[o]));
    json_object_set_new(j, "versions", out);
    json_object_set_new(j, "seconds", json_real(s->seconds));
    json_object_set_new(j, "crossings_per_second",
                        json_real(s->seconds > 0 ? (double)s->crossings_in / s->seconds : 0));
    nmdi_cli_put_json(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(j);
}

static void print_text(const char *dir, const nmdi_derive_summary *s)
{
    char cut[11] = "";
    nmdi_date_format(s->cutoff, cut);
    printf("derive %s: %d border, %d register, %d permit source(s); %.2f s\n", dir,
           s->border_sources, s->register_sources, s->permit_sources, s->seconds);
    if (s->border_sources) {
        if (s->documents)
            printf("travel documents: %llu, joined into %llu travellers (same keyed name and "
                   "date of birth)\n",
                   (unsigned long long)s->documents, (unsigned long long)s->travellers);
        printf("border crossings: %llu in, %llu classified (%llu travellers), cut-off %s, "
               "%llu provisional; errors: %llu same direction, %llu unknown direction, %llu "
               "invalid date; %.0f crossings/s\n",
               (unsigned long long)s->crossings_in, (unsigned long long)s->crossings_out,
               (unsigned long long)s->travellers, cut[0] ? cut : "-",
               (unsigned long long)s->provisional_crossings, (unsigned long long)s->errors[2],
               (unsigned long long)s->errors[3], (unsigned long long)s->errors[4],
               s->seconds > 0 ? (double)s->crossings_in / s->seconds : 0);
        if (s->initial_date != NMDI_DATE_NONE) {
            char d0[11];
            nmdi_date_format(s->initial_date, d0);
            printf("initial status: register extract of %s: %llu travellers found (resident), "
                   "%llu not found and %llu without a complete identity (inferred from the "
                   "first crossing)\n",
                   d0, (unsigned long long)s->initial_registered,
                   (unsigned long long)s->initial_unregistered,
                   (unsigned long long)(s->initial_inferred - s->initial_unregistered));
        }
        printf("previous/next residence from register events: %llu of the long-term "
               "migration events\n", (unsigned long long)s->events_with_residence);
        printf("%-6s %8s %8s %8s %8s   (provisional in brackets)\n", "year", "IMM", "EMI",
               "TMP_IN", "TMP_OUT");
        for (int y = 0; y < NMDI_DERIVE_NYEARS; y++) {
            uint64_t any = 0;
            for (int t = 1; t < 5; t++)
                any += s->events[t][y];
            if (!any)
                continue;
            printf("%-6d", y ? NMDI_DERIVE_YEAR0 + y : 0);
            for (int t = 1; t < 5; t++) {
                char b[48];
                snprintf(b, sizeof b, "%llu(%llu)", (unsigned long long)s->events[t][y],
                         (unsigned long long)s->events_prov[t][y]);
                printf(" %8s", b);
            }
            putchar('\n');
        }
        printf("returning citizens %llu; circular travellers %llu, temporary circular %llu\n",
               (unsigned long long)s->returning, (unsigned long long)s->circular,
               (unsigned long long)s->circular_temporary);
    }
    if (s->register_sources) {
        printf("register events: %llu in; registered flows by year (provisional):\n",
               (unsigned long long)s->register_rows);
        for (int y = 0; y < NMDI_DERIVE_NYEARS; y++)
            if (s->reg[1][y] || s->reg[2][y])
                printf("%-6d IMM %llu(%llu) EMI %llu(%llu)\n", y ? NMDI_DERIVE_YEAR0 + y : 0,
                       (unsigned long long)s->reg[1][y], (unsigned long long)s->reg_prov[1][y],
                       (unsigned long long)s->reg[2][y], (unsigned long long)s->reg_prov[2][y]);
    }
    if (s->permit_sources) {
        printf("permits: %llu in, %llu first permits:", (unsigned long long)s->permits_in,
               (unsigned long long)s->first_permits);
        for (int r = 0; r < 5; r++)
            printf(" %s %llu", reasons[r], (unsigned long long)s->permits_by_reason[r]);
        putchar('\n');
    }
    for (int o = 0; o < 4; o++)
        if (s->version[o])
            printf("wrote %s version %lld\n", out_names[o], (long long)s->version[o]);
}

int nmdi_cmd_derive(nmdi_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"as-of", required_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    int json = ctx->json, c;
    nmdi_date as_of = NMDI_DATE_NONE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'a':
            if (nmdi_date_parse(optarg, strlen(optarg), &as_of))
                return nmdi_cli_usage(&nmdi_cmd_derive_info, "--as-of needs a date YYYY-MM-DD, not '%s'",
                                      optarg);
            break;
        case 'h': fputs(nmdi_cmd_derive_info.usage, stdout); return 0;
        default: return nmdi_cli_usage(&nmdi_cmd_derive_info, "unknown option");
        }
    }
    if (optind != argc - 1)
        return nmdi_cli_usage(&nmdi_cmd_derive_info, "expected one infrastructure DIR");
    const char *dir = argv[optind];
    nmdi_derive_summary *s = calloc(1, sizeof *s);
    if (!s) {
        fprintf(stderr, "nmdi derive: out of memory\n");
        return NMDI_EINTERNAL;
    }
    ctx->store_fail_after = nmdi_cli_store_fail_after();
    nmdi_error err;
    nmdi_error_clear(&err);
    int rc = nmdi_derive_dir(ctx, dir, as_of, s, &err);
    if (rc)
        rc = nmdi_cli_error("derive", &err);
    else if (json)
        print_json(dir, s);
    else
        print_text(dir, s);
    free(s);
    return rc;
}

const nmdi_cmd_info nmdi_cmd_derive_info = {
    "derive",
    "derive residence, migration events, register flows and first permits over the store",
    "usage: nmdi derive DIR [--json] [--as-of DATE]\n\n"
    "Reads the residence section of DIR/nmdi.yaml (threshold/window or rule \"12/16\",\n"
    "usual_residence a|b; defaults 365/487 days, b) and the latest version of every\n"
    "border_crossing, register_event and permit source, and writes new versions of:\n"
    "  crossing_residence  each crossing with residence before/after, long-term flag,\n"
    "                      final dates, provisional, error (12/16-month rule)\n"
    "  migration_events    IMM, EMI, TMP_IN, TMP_OUT with citizen, returning citizen,\n"
    "                      circular flags, provisional\n"
    "  register_flows      registered immigration (IMM) and emigration (EMI)\n"
    "  first_permits       first residence permits (6-month gap rule) by reason\n"
    "Partitions run in parallel (--threads N). The data cut-off is the last crossing\n"
    "(register event) date of each source, or --as-of DATE. Results later than the\n"
    "cut-off are provisional. Prints what it did; --json prints the summary as JSON.\n"
    "Exit 0 ok (also when nothing is loaded yet), 1 data or configuration error, 2\n"
    "internal error.\n",
};
