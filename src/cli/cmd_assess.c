/*
 * cmd_assess.c — `nmdi assess DIR`: the capacity self-assessment. Pre-fills
 * answers from the infrastructure's own evidence, merges the user's answers
 * (DIR/assessment/answers.json), scores each component, and keeps the
 * history so progress is tracked over time.
 */
#include "nmdi/assess.h"
#include "nmdi/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

extern const nmdi_cmd_info nmdi_cmd_assess_info;

static const char *tr(json_t *o, const char *lang)
{
    const char *s = json_string_value(json_object_get(o, lang));
    return s ? s : json_string_value(json_object_get(o, "en"));
}

static int save_json(const char *path, json_t *j, nmdi_error *err)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!s)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    int rc = nmdi_write_file_atomic(path, s, strlen(s), err);
    free(s);
    return rc;
}

int nmdi_cmd_assess(nmdi_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"answers", required_argument, NULL, 'a'},
                                         {"questionnaire", required_argument, NULL, 'q'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"lang", required_argument, NULL, 'l'},
                                         {"no-save", no_argument, NULL, 'n'},
                                         {0, 0, 0, 0}};
    const char *answers_path = NULL, *qpath = NULL, *lang = "en";
    int json = 0, save = 1, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a': answers_path = optarg; break;
        case 'q': qpath = optarg; break;
        case 'j': json = 1; break;
        case 'l': lang = optarg; break;
        case 'n': save = 0; break;
        default: return nmdi_cli_usage(&nmdi_cmd_assess_info, "unknown option");
        }
    }
    if (optind + 1 != argc)
        return nmdi_cli_usage(&nmdi_cmd_assess_info, "give the infrastructure directory");
    const char *dir = argv[optind];
    nmdi_error err;
    nmdi_error_clear(&err);
    char qbuf[4096], path[4200];
    if (!qpath) {
        if (nmdi_find_data("data/assessment/questionnaire.json", qbuf, sizeof qbuf) != 0) {
            fprintf(stderr, "nmdi assess: cannot find data/assessment/questionnaire.json; set "
                            "NMDI_DATA_DIR or give --questionnaire FILE\n");
            return NMDI_EDATA;
        }
        qpath = qbuf;
    }
    json_t *q = NULL, *answers = NULL, *rep = NULL;
    nmdi_arena *a = nmdi_arena_new(0);
    nmdi_assess_evidence ev;
    int rc = nmdi_assess_load_questionnaire(&q, qpath, &err);
    if (!rc)
        rc = nmdi_assess_gather(dir, &ev, a, &err);
    /* the infrastructure as the portal shows it, refreshed with the evidence */
    if (!rc && save)
        rc = nmdi_assess_write_infrastructure(dir, &err);
    if (!rc) {
        snprintf(path, sizeof path, "%s/assessment/answers.json", dir);
        struct stat st;
        if (!answers_path && stat(path, &st) == 0)
            answers_path = path;
        if (answers_path) {
            json_error_t je;
            answers = json_load_file(answers_path, 0, &je);
            if (!answers || !json_is_object(answers))
                rc = nmdi_error_at(&err, NMDI_EDATA, answers_path, answers ? 0 : je.line, NULL,
                                   "answers must be a JSON object {question_id: {score, "
                                   "evidence, date}}%s%s",
                                   answers ? "" : ": ", answers ? "" : je.text);
        }
    }
    if (!rc)
        rc = nmdi_assess_run(q, &ev, answers, &rep, &err);
    if (!rc && answers_path)
        json_object_set_new(rep, "answers_file", json_string(answers_path));
    /* the data-needs report travels with the assessment (the portal shows both) */
    json_t *needs = NULL;
    if (!rc && nmdi_needs_run(&ev, &needs, &err) == 0)
        json_object_set_new(rep, "needs", needs);
    if (!rc && save) {
        snprintf(path, sizeof path, "%s/assessment", dir);
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            rc = nmdi_error_at(&err, NMDI_EINTERNAL, path, 0, NULL, "cannot create: %s",
                               strerror(errno));
        /* history: one entry per run, with the date and the scores */
        snprintf(path, sizeof path, "%s/assessment/history.json", dir);
        json_t *hist = json_load_file(path, 0, NULL);
        if (!json_is_array(hist)) {
            json_decref(hist);
            hist = json_array();
        }
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_t *h = json_object(), *sc = json_object();
        size_t i;
        json_t *comp;
        json_array_foreach(json_object_get(rep, "components"), i, comp)
            json_object_set(sc, json_string_value(json_object_get(comp, "id")),
                            json_object_get(comp, "score"));
        json_object_set_new(h, "date", json_string(stamp));
        json_object_set(h, "overall", json_object_get(rep, "overall"));
        json_object_set_new(h, "scores", sc);
        json_array_append_new(hist, h);
        if (!rc)
            rc = save_json(path, hist, &err);
        json_object_set(rep, "history", hist);
        json_decref(hist);
        snprintf(path, sizeof path, "%s/assessment/latest.json", dir);
        if (!rc) {
            json_object_set(rep, "questionnaire_title", json_object_get(q, "title"));
            rc = save_json(path, rep, &err);
        }
    }
    if (!rc) {
        if (json) {
            nmdi_cli_put_json(rep, JSON_INDENT(2));
        } else {
            printf("%s — %s\n\n", tr(json_object_get(q, "title"), lang),
                   json_string_value(json_object_get(rep, "date")));
            size_t i, k;
            json_t *comp, *qq;
            json_array_foreach(json_object_get(rep, "components"), i, comp)
            {
                json_t *s = json_object_get(comp, "score");
                printf("%-40s %s%5.1f/100%s  (%lld of %lld questions answered)\n",
                       tr(json_object_get(comp, "name"), lang), "", json_is_number(s) ? json_number_value(s) : 0.0,
                       json_is_number(s) ? "" : " (none answered)",
                       (long long)json_integer_value(json_object_get(comp, "answered")),
                       (long long)json_integer_value(json_object_get(comp, "total")));
                json_array_foreach(json_object_get(comp, "questions"), k, qq)
                {
                    json_t *qs = json_object_get(qq, "score");
                    const char *evs = json_string_value(json_object_get(qq, "evidence"));
                    printf("   [%s] %s\n", json_is_integer(qs) ? (char[]){(char)('0' + json_integer_value(qs)), 0} : "-",
                           tr(json_object_get(qq, "text"), lang));
                    if (evs && *evs)
                        printf("        %s: %s\n",
                               strcmp(json_string_value(json_object_get(qq, "source")), "answered") == 0
                                   ? "answer" : "evidence",
                               evs);
                }
            }
            json_t *ov = json_object_get(rep, "overall");
            printf("\noverall: %.1f/100\n", json_is_number(ov) ? json_number_value(ov) : 0.0);
            printf("\nnext steps:\n");
            json_t *st;
            json_array_foreach(json_object_get(rep, "next_steps"), i, st)
            {
                if (i >= 8)
                    break;
                printf("  %zu. %s\n", i + 1, tr(st, lang));
            }
            if (save && !ctx->quiet)
                fprintf(stderr, "saved %s/assessment/latest.json and history.json; answer the "
                                "open questions in %s/assessment/answers.json\n",
                        dir, dir);
        }
    }
    json_decref(q);
    json_decref(answers);
    json_decref(rep);
    nmdi_arena_free(a);
    return rc ? nmdi_cli_error("assess", &err) : 0;
}

const nmdi_cmd_info nmdi_cmd_assess_info = {
    "assess",
    "capacity self-assessment of the infrastructure, pre-filled from its own evidence",
    "usage: nmdi assess DIR [--answers FILE] [--questionnaire FILE] [--lang en|zh] [--json]\n"
    "                      [--no-save]\n\n"
    "Runs the questionnaire (data/assessment/questionnaire.json, organised by the components\n"
    "of a national migration data infrastructure). Questions the infrastructure can see for\n"
    "itself (sources loaded and linked, tables and SDG disaggregations published, open data\n"
    "with metadata) are pre-filled from the configuration, the catalog and the current\n"
    "release, with the evidence shown. The others are answered in DIR/assessment/answers.json\n"
    "(or --answers FILE): {\"coord.strategy\": {\"score\": 3, \"evidence\": \"...\",\n"
    "\"date\": \"2026-11-01\"}}; a user's answer wins over a pre-filled one. Scores are 0-4 per\n"
    "question and 0-100 per component. Writes DIR/assessment/latest.json and appends to\n"
    "DIR/assessment/history.json (the portal shows both) unless --no-save.\n",
};
