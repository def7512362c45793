/* test_serve.c — unit tests of src/serve: the SDMX REST request parser (paths,
 * flowRef, keys, parameters, status codes), content negotiation, and a
 * deterministic fuzz of both over random paths and parameters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nmdi/serve.h"

static int parse(const char *path, const nmdi_kv *kv, size_t n, nmdi_rest_query *q,
                 nmdi_arena *a)
{
    nmdi_error err;
    nmdi_error_clear(&err);
    return nmdi_rest_parse(path, kv, n, a, q, &err);
}

static void test_data_paths(void **state)
{
    (void)state;
    nmdi_arena *a = nmdi_arena_new(4096);
    nmdi_rest_query q;
    assert_int_equal(parse("/data/MIG_STOCK", NULL, 0, &q, a), 0);
    assert_int_equal(q.kind, NMDI_REST_DATA);
    assert_string_equal(q.flow_id, "MIG_STOCK");
    assert_null(q.flow_agency);
    assert_int_equal(q.q.key.ndims, 0);
    assert_string_equal(q.provider, "all");
    assert_int_equal(parse("/data/NMDI,MIG_STOCK,1.0/F+M..2020/all", NULL, 0, &q, a), 0);
    assert_string_equal(q.flow_agency, "NMDI");
    assert_string_equal(q.flow_version, "1.0");
    assert_int_equal(q.q.key.ndims, 3);
    assert_int_equal(q.q.key.parts[0].n, 2);
    assert_int_equal(parse("/data/NMDI,MIG_STOCK,latest", NULL, 0, &q, a), 0);
    assert_null(q.flow_version);
    nmdi_kv kv[] = {{"startPeriod", "2020-Q1"}, {"endPeriod", "2021"},
                    {"dimensionAtObservation", "AllDimensions"}, {"detail", "dataonly"},
                    {"lastNObservations", "2"}};
    assert_int_equal(parse("/data/X/all", kv, 5, &q, a), 0);
    assert_string_equal(q.q.start_period, "2020-Q1");
    assert_string_equal(q.q.dim_at_obs, "AllDimensions");
    assert_int_equal(q.q.detail, NMDI_DETAIL_DATAONLY);
    assert_int_equal(q.q.last_n, 2);
    nmdi_kv bad1[] = {{"detail", "everything"}};
    assert_int_equal(parse("/data/X", bad1, 1, &q, a), 400);
    nmdi_kv bad2[] = {{"firstNObservations", "-1"}};
    assert_int_equal(parse("/data/X", bad2, 1, &q, a), 400);
    nmdi_kv hist[] = {{"includeHistory", "true"}};
    assert_int_equal(parse("/data/X", hist, 1, &q, a), 501);
    assert_int_equal(parse("/data/A,B,C,D", NULL, 0, &q, a), 400);
    assert_int_equal(parse("/data/X/F++M", NULL, 0, &q, a), 400);
    assert_int_equal(parse("/data", NULL, 0, &q, a), 400);
    assert_int_equal(parse("/data/X/a/b/c", NULL, 0, &q, a), 400);
    assert_int_equal(parse("/data/X<y>", NULL, 0, &q, a), 400);
    nmdi_arena_free(a);
}

static void test_structure_paths(void **state)
{
    (void)state;
    nmdi_arena *a = nmdi_arena_new(4096);
    nmdi_rest_query q;
    assert_int_equal(parse("/dataflow", NULL, 0, &q, a), 0);
    assert_int_equal(q.kind, NMDI_REST_STRUCTURE);
    assert_int_equal(q.resource, NMDI_RES_DATAFLOW);
    assert_string_equal(q.agency, "all");
    assert_string_equal(q.version, "latest");
    nmdi_kv kv[] = {{"references", "children"}, {"detail", "allstubs"}};
    assert_int_equal(parse("/codelist/NMDI/CL_SEX+CL_AGE/1.0", kv, 2, &q, a), 0);
    assert_int_equal(q.resource, NMDI_RES_CODELIST);
    assert_string_equal(q.id, "CL_SEX+CL_AGE");
    assert_int_equal(q.references, NMDI_REF_CHILDREN);
    assert_int_equal(q.stubs, 2);
    nmdi_kv kv2[] = {{"references", "codelist"}};
    assert_int_equal(parse("/datastructure/NMDI", kv2, 1, &q, a), 0);
    assert_int_equal(q.references, NMDI_REF_TYPE);
    assert_int_equal(q.ref_type, NMDI_RES_CODELIST);
    nmdi_kv bad[] = {{"references", "cousins"}};
    assert_int_equal(parse("/dataflow", bad, 1, &q, a), 400);
    assert_int_equal(parse("/categoryscheme", NULL, 0, &q, a), 501);
    assert_int_equal(parse("/nonsense", NULL, 0, &q, a), 404);
    assert_int_equal(parse("/", NULL, 0, &q, a), 404);
    assert_int_equal(parse("/dataflow/A/B/C/D", NULL, 0, &q, a), 400);
    assert_int_equal(parse("/schema/datastructure/NMDI/DSD_X/1.0", NULL, 0, &q, a), 0);
    assert_int_equal(q.kind, NMDI_REST_SCHEMA);
    assert_int_equal(parse("/schema/codelist/NMDI/CL_SEX", NULL, 0, &q, a), 400);
    nmdi_arena_free(a);
}

static void test_negotiation(void **state)
{
    (void)state;
    assert_int_equal(nmdi_rest_negotiate(NMDI_REST_DATA, NULL, NULL), NMDI_FMT_GENERIC);
    assert_int_equal(nmdi_rest_negotiate(NMDI_REST_DATA, NULL, "*/*"), NMDI_FMT_GENERIC);
    assert_int_equal(nmdi_rest_negotiate(NMDI_REST_STRUCTURE, NULL, "*/*"), NMDI_FMT_STRUCTURE);
    assert_int_equal(
        nmdi_rest_negotiate(NMDI_REST_DATA, NULL,
                            "application/vnd.sdmx.structurespecificdata+xml;version=2.1"),
        NMDI_FMT_STRUCTSPEC);
    assert_int_equal(nmdi_rest_negotiate(NMDI_REST_DATA, NULL,
                                         "text/html;q=0.9, application/vnd.sdmx.data+json;"
                                         "version=1.0.0;q=1.0"),
                     NMDI_FMT_JSON);
    assert_int_equal(nmdi_rest_negotiate(NMDI_REST_DATA, NULL, "text/csv"), NMDI_FMT_SDMXCSV);
    assert_int_equal(nmdi_rest_negotiate(NMDI_REST_DATA, NULL, "image/png"), -1);
    assert_int_equal(nmdi_rest_negotiate(NMDI_REST_DATA, NULL,
                                         "application/vnd.sdmx.genericdata+xml;version=3.0"),
                     -1);
    assert_int_equal(nmdi_rest_negotiate(NMDI_REST_STRUCTURE, NULL,
                                         "application/vnd.sdmx.data+json"),
                     -1);
    assert_int_equal(nmdi_rest_negotiate(NMDI_REST_DATA, "csvdata", "image/png"),
                     NMDI_FMT_SDMXCSV);
    assert_int_equal(nmdi_rest_negotiate(NMDI_REST_DATA, "bogus", NULL), -1);
    assert_int_equal(nmdi_rest_negotiate(NMDI_REST_STRUCTURE, "structure", NULL),
                     NMDI_FMT_STRUCTURE);
}

static uint64_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* Random paths and parameters: the parser never crashes, answers 0 or an HTTP
 * error status, and accepted data queries are self-consistent. */
static void test_fuzz(void **state)
{
    (void)state;
    static const char *pieces[] = {"/", "data", "dataflow", "codelist", "schema", "NMDI", "all",
                                   "latest", ",", ".", "+", "X", "1.0", "F", "..", "%", "<",
                                   "datastructure", "conceptscheme", "", "A_B", "-", "$"};
    static const char *keys[] = {"startPeriod", "endPeriod", "detail", "references",
                                 "dimensionAtObservation", "firstNObservations", "format", "x"};
    static const char *vals[] = {"2020", "full", "all", "children", "AllDimensions", "3", "-2",
                                 "", "nodata", "allstubs", "2020-Q9", "abc"};
    uint64_t seed = 7;
    char path[256], accept[128];
    nmdi_kv kv[4];
    for (int it = 0; it < 30000; it++) {
        nmdi_arena *a = nmdi_arena_new(2048);
        size_t np = rnd(&seed) % 12, o = 0;
        path[o++] = '/';
        for (size_t i = 0; i < np && o < 200; i++) {
            const char *p = pieces[rnd(&seed) % (sizeof pieces / sizeof *pieces)];
            o += (size_t)snprintf(path + o, sizeof path - o, "%s", p);
        }
        path[o] = 0;
        size_t nk = rnd(&seed) % 4;
        for (size_t i = 0; i < nk; i++) {
            kv[i].key = keys[rnd(&seed) % (sizeof keys / sizeof *keys)];
            kv[i].value = vals[rnd(&seed) % (sizeof vals / sizeof *vals)];
        }
        nmdi_rest_query q;
        int st = parse(path, kv, nk, &q, a);
        assert_true(st == 0 || st == 400 || st == 404 || st == 414 || st == 501);
        if (st == 0 && q.kind == NMDI_REST_DATA) {
            assert_non_null(q.flow_id);
            for (size_t d = 0; d < q.q.key.ndims; d++)
                for (size_t j = 0; j < q.q.key.parts[d].n; j++)
                    assert_true(*q.q.key.parts[d].codes[j]);
        }
        size_t al = rnd(&seed) % 100;
        for (size_t i = 0; i < al; i++)
            accept[i] = (char)(' ' + rnd(&seed) % 95);
        accept[al] = 0;
        int f = nmdi_rest_negotiate((int)(rnd(&seed) % 3), NULL, accept);
        assert_true(f >= -1 && f <= NMDI_FMT_XSD);
        nmdi_arena_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_paths),
        cmocka_unit_test(test_structure_paths),
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
