/* test_assess.c — unit tests of src/assess: probes, scoring, user answers
 * overriding probes, the data-needs report and questionnaire checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nmdi/assess.h"

static const char *qpath(void)
{
    const char *root = getenv("NMDI_ROOT");
    static char buf[4096]; /* test-only scratch */
    snprintf(buf, sizeof buf, "%s/data/assessment/questionnaire.json", root ? root : ".");
    return buf;
}

static json_t *find_q(json_t *rep, const char *comp, const char *qid)
{
    size_t i, k;
    json_t *c, *q;
    json_array_foreach(json_object_get(rep, "components"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "id")), comp) != 0)
            continue;
        json_array_foreach(json_object_get(c, "questions"), k, q)
        {
            if (strcmp(json_string_value(json_object_get(q, "id")), qid) == 0)
                return q;
        }
    }
    return NULL;
}

static json_t *find_c(json_t *rep, const char *comp)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(rep, "components"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "id")), comp) == 0)
            return c;
    }
    return NULL;
}

static void test_empty_infrastructure(void **state)
{
    (void)state;
    json_t *q, *rep;
    nmdi_error err;
    assert_int_equal(nmdi_assess_load_questionnaire(&q, qpath(), &err), 0);
    nmdi_assess_evidence ev;
    memset(&ev, 0, sizeof ev);
    ev.today = "2026-11-27";
    assert_int_equal(nmdi_assess_run(q, &ev, NULL, &rep, &err), 0);
    /* every probe sees nothing: dissemination scores low, gaps everywhere */
    json_t *rel = find_q(rep, "dissemination", "dis.release");
    assert_int_equal(json_integer_value(json_object_get(rel, "score")), 0);
    assert_true(json_array_size(json_object_get(rep, "gaps")) > 10);
    assert_true(json_array_size(json_object_get(rep, "next_steps")) > 5);
    /* manual questions are unanswered (null), not zero */
    assert_true(json_is_null(json_object_get(find_q(rep, "coordination", "coord.strategy"), "score")));
    json_decref(rep);
    json_decref(q);
}

static void test_full_infrastructure(void **state)
{
    (void)state;
    json_t *q, *rep;
    nmdi_error err;
    assert_int_equal(nmdi_assess_load_questionnaire(&q, qpath(), &err), 0);
    nmdi_assess_source src[] = {
        {"census", "nso", "person", 1000, "2026-11-27"},
        {"lfs", "nso", "person", 300, "2026-11-27"},
        {"border_crossings", "border", "border_crossing", 5000, "2026-11-27"},
        {"register", "interior", "register_event", 800, "2026-11-27"},
        {"permits", "interior", "permit", 100, NULL},
        {"mobile", "telco", "mobile_presence", 0, NULL},
    };
    const char *d1[] = {"TIME_PERIOD", "SEX", "MIGRATORY_STATUS"};
    const char *d2[] = {"TIME_PERIOD", "FLOW"};
    nmdi_assess_table tabs[] = {
        {"MIG_STOCK", "stock", "2025", 3, d1, NAN, 1},
        {"MIG_FLOW", "flow", "2025", 2, d2, NAN, 1},
        {"SDG_8_5_2", "sdg", "2025", 3, d1, 0.12, 1},
        {"SDG_8_6_1", "sdg", "2021", 3, d1, 0.2, 1},
    };
    const char *ind[] = {"MIG_STOCK", "SDG_8_5_2", "NOT_THERE"};
    const char *srcs[] = {"census", "missing_source"};
    const char *dis[] = {"SEX", "AREA"};
    nmdi_need needs[] = {{"Q1", "How many migrants?", NULL, 3, ind, 2, srcs, 2, dis}};
    nmdi_assess_evidence ev = {.today = "2026-11-27", .nagencies = 4, .nsources = 6,
                               .sources = src, .nagreements = 2, .linked = 1, .derived = 1,
                               .pseudonymised = 1, .ntables = 4, .tables = tabs,
                               .release = "20261127-1", .sdmx = 1, .dcat = 1, .open_licence = 1,
                               .multilingual = 1, .nneeds = 1, .needs = needs};
    assert_int_equal(nmdi_assess_run(q, &ev, NULL, &rep, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(find_q(rep, "sources", "src.census"), "score")), 4);
    assert_int_equal(json_integer_value(json_object_get(find_q(rep, "sources", "src.admin"), "score")), 4);
    /* mobile declared but not loaded */
    assert_int_equal(json_integer_value(json_object_get(find_q(rep, "integration", "int.newsources"), "score")), 0);
    assert_int_equal(json_integer_value(json_object_get(find_q(rep, "dissemination", "dis.sdg"), "score")), 4);
    assert_int_equal(json_integer_value(json_object_get(find_q(rep, "dissemination", "dis.opendata"), "score")), 4);
    /* 2 of 4 agencies with agreements → 2 */
    assert_int_equal(json_integer_value(json_object_get(find_q(rep, "coordination", "coord.agreements"), "score")), 2);
    /* 2 of 3 needed indicators published → round(8/3) = 3 */
    assert_int_equal(json_integer_value(json_object_get(find_q(rep, "needs", "needs.coverage"), "score")), 3);
    /* component score: dissemination has 6 probed questions + 1 manual */
    json_t *dc = find_c(rep, "dissemination");
    assert_int_equal(json_integer_value(json_object_get(dc, "answered")), 6);
    assert_true(json_real_value(json_object_get(dc, "score")) > 90);
    json_decref(rep);

    /* a user's answer wins over the probe and is reported as answered */
    json_t *ans = json_pack("{s:{s:i,s:s,s:s}}", "int.newsources", "score", 2, "evidence",
                            "pilot with one operator", "date", "2026-10-01");
    assert_int_equal(nmdi_assess_run(q, &ev, ans, &rep, &err), 0);
    json_t *nq = find_q(rep, "integration", "int.newsources");
    assert_int_equal(json_integer_value(json_object_get(nq, "score")), 2);
    assert_int_equal(json_integer_value(json_object_get(nq, "auto_score")), 0);
    assert_string_equal(json_string_value(json_object_get(nq, "source")), "answered");
    json_decref(rep);
    json_decref(ans);
    ans = json_pack("{s:{s:i}}", "int.newsources", "score", 7);
    assert_int_equal(nmdi_assess_run(q, &ev, ans, &rep, &err), NMDI_EDATA);
    assert_string_equal(err.field, "int.newsources");
    json_decref(ans);

    /* needs report */
    assert_int_equal(nmdi_needs_run(&ev, &rep, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(rep, "indicators_needed")), 3);
    assert_int_equal(json_integer_value(json_object_get(rep, "indicators_published")), 2);
    json_t *q1 = json_array_get(json_object_get(rep, "questions"), 0);
    assert_false(json_is_true(json_object_get(q1, "answered")));
    char *dump = json_dumps(json_object_get(q1, "gaps"), 0);
    assert_non_null(strstr(dump, "NOT_THERE is not produced"));
    assert_non_null(strstr(dump, "lacks the disaggregation by AREA"));
    assert_non_null(strstr(dump, "missing_source is not declared"));
    free(dump);
    json_decref(rep);
    json_decref(q);
}

static void test_bad_questionnaire(void **state)
{
    (void)state;
    char path[] = "/tmp/nmdi-q-XXXXXX";
    int fd = mkstemp(path);
    const char *txt = "{\"components\":[{\"id\":\"x\",\"questions\":[{\"id\":\"a\",\"text\":{},\"auto\":\"nope\"}]}]}";
    assert_int_equal(write(fd, txt, strlen(txt)), (ssize_t)strlen(txt));
    close(fd);
    json_t *q;
    nmdi_error err;
    assert_int_equal(nmdi_assess_load_questionnaire(&q, path, &err), NMDI_EDATA);
    assert_non_null(strstr(err.msg, "unknown probe 'nope'"));
    unlink(path);
    assert_int_equal(nmdi_assess_load_questionnaire(&q, "/nonexistent.json", &err), NMDI_EDATA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_empty_infrastructure),
                                       cmocka_unit_test(test_full_infrastructure),
                                       cmocka_unit_test(test_bad_questionnaire)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
