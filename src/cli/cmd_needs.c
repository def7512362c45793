/* cmd_needs.c — `nmdi needs DIR`: the data-needs register against what the
 * infrastructure produces: per policy question, the indicators, their
 * quality (CV, timeliness, disaggregation) and the gaps. */
#include "nmdi/assess.h"
#include "nmdi/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

extern const nmdi_cmd_info nmdi_cmd_needs_info;

int nmdi_cmd_needs(nmdi_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"lang", required_argument, NULL, 'l'},
                                         {0, 0, 0, 0}};
    const char *lang = "en";
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'l')
            lang = optarg;
        else
            return nmdi_cli_usage(&nmdi_cmd_needs_info, "unknown option");
    }
    if (optind + 1 != argc)
        return nmdi_cli_usage(&nmdi_cmd_needs_info, "give the infrastructure directory");
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_arena *a = nmdi_arena_new(0);
    nmdi_assess_evidence ev;
    json_t *rep = NULL;
    int rc = nmdi_assess_gather(argv[optind], &ev, a, &err);
    if (!rc)
        rc = nmdi_needs_run(&ev, &rep, &err);
    if (!rc && json) {
        nmdi_cli_put_json(rep, JSON_INDENT(2));
    } else if (!rc) {
        size_t i, k;
        json_t *q, *ind, *g;
        if (ev.nneeds == 0)
            printf("The configuration has no data-needs register (data_needs): add the policy "
                   "questions, their indicators and sources.\n");
        json_array_foreach(json_object_get(rep, "questions"), i, q)
        {
            json_t *qt = json_object_get(q, "question");
            const char *t = json_string_value(json_object_get(qt, lang));
            if (!t || !*t)
                t = json_string_value(json_object_get(qt, "en"));
            printf("%s  %s\n    %s\n", json_string_value(json_object_get(q, "id")),
                   json_is_true(json_object_get(q, "answered")) ? "[answered]" : "[GAPS]", t);
            json_array_foreach(json_object_get(q, "indicators"), k, ind)
            {
                json_t *cv = json_object_get(ind, "max_cv");
                printf("    - %-20s %-26s", json_string_value(json_object_get(ind, "id")),
                       json_string_value(json_object_get(ind, "status")));
                if (json_object_get(ind, "quality"))
                    printf(" %s", json_string_value(json_object_get(ind, "quality")));
                if (json_is_number(cv))
                    printf(" (max CV %.1f%%)", 100 * json_number_value(cv));
                if (json_is_integer(json_object_get(ind, "timeliness_years")))
                    printf(", reference %s", json_string_value(json_object_get(ind, "reference_period")));
                putchar('\n');
            }
            json_array_foreach(json_object_get(q, "gaps"), k, g)
                printf("      gap: %s\n", json_string_value(g));
        }
        printf("\n%lld of %lld indicators named in the register are published\n",
               (long long)json_integer_value(json_object_get(rep, "indicators_published")),
               (long long)json_integer_value(json_object_get(rep, "indicators_needed")));
    }
    json_decref(rep);
    nmdi_arena_free(a);
    return rc ? nmdi_cli_error("needs", &err) : 0;
}

const nmdi_cmd_info nmdi_cmd_needs_info = {
    "needs",
    "data-needs register: which policy questions the published statistics answer, and the gaps",
    "usage: nmdi needs DIR [--lang en|zh] [--json]\n\n"
    "For every policy question of the configuration's data_needs register: the indicators\n"
    "that answer it, whether each is published in the current release, its quality\n"
    "(largest CV, reference period, the disaggregations available against those needed)\n"
    "and the gaps (indicators not produced, sources not loaded, disaggregations missing).\n",
};
