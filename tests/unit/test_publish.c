/* test_publish.c — unit tests of src/publish: publishing a release from small
 * cubes (refusal of unprotected tables, versions, LATEST, lineage), the SDMX
 * key and time-period parsers (with a deterministic fuzz), query selection,
 * and every writer; SDMX-ML messages are validated with xmllint against the
 * official schemas when $NMDI_SHARED is present. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nmdi/publish.h"

static char tmpdir[256];

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

/* A two-table infrastructure: a count table with time and a survey table without. */
static void make_infra(const char *dir, int protect_second)
{
    char p[512];
    snprintf(p, sizeof p, "%s/work", dir);
    mkdir(dir, 0755);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/work/protected", dir);
    mkdir(p, 0755);
    const char *dims[] = {"TIME_PERIOD", "SEX", "COUNTRY_OF_BIRTH"};
    nmdi_cube *c = nmdi_cube_new(3, dims);
    const char *years[] = {"2020", "2021"}, *sexes[] = {"F", "M", "_T"};
    double v = 10;
    for (int y = 0; y < 2; y++)
        for (int s = 0; s < 3; s++) {
            nmdi_cell cell;
            nmdi_cell_init(&cell);
            cell.value = v;
            cell.n = (int64_t)v;
            cell.ckey = 0.5;
            v += 7;
            const char *codes[] = {years[y], sexes[s], "DEU"};
            assert_int_equal(nmdi_cube_add(c, codes, &cell), 0);
        }
    nmdi_cell w;
    nmdi_cell_init(&w);
    strcpy(w.obs_status, "M");
    strcpy(w.conf_status, "C");
    const char *wc[] = {"2021", "F", "CHN"};
    assert_int_equal(nmdi_cube_add(c, wc, &w), 0);
    nmdi_error err;
    snprintf(p, sizeof p, "%s/work/protected/MIG_STOCK.csv", dir);
    assert_int_equal(nmdi_cube_save(c, p, &err), 0);
    nmdi_cube_free(c);
    snprintf(p, sizeof p, "%s/work/protected/MIG_STOCK.json", dir);
    write_text(p, "{\"id\":\"MIG_STOCK\",\"name\":{\"en\":\"Migrant stock\",\"zh\":\"移民存量\"},"
                  "\"unit\":\"PS\",\"measure\":\"count\",\"reference_period\":\"2021\","
                  "\"protected\":true}");
    const char *d2[] = {"SEX", "AGE"};
    c = nmdi_cube_new(2, d2);
    nmdi_cell s;
    nmdi_cell_init(&s);
    s.value = 12.5;
    s.se = 1.25;
    s.cv = 0.1;
    s.n = 230;
    strcpy(s.obs_status, "E");
    const char *sc[] = {"F", "Y15T19"};
    assert_int_equal(nmdi_cube_add(c, sc, &s), 0);
    snprintf(p, sizeof p, "%s/work/protected/SURVEY_SHARE.csv", dir);
    assert_int_equal(nmdi_cube_save(c, p, &err), 0);
    nmdi_cube_free(c);
    snprintf(p, sizeof p, "%s/work/protected/SURVEY_SHARE.json", dir);
    write_text(p, protect_second ? "{\"id\":\"SURVEY_SHARE\",\"name\":\"Share\",\"unit\":\"PC\","
                                   "\"measure\":\"ratio\",\"reference_period\":\"2024-Q2\","
                                   "\"protected\":true}"
                                 : "{\"id\":\"SURVEY_SHARE\",\"name\":\"Share\"}");
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nmdi-publish-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_refuses_unprotected(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/unprot", tmpdir);
    make_infra(dir, 0);
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    nmdi_error err;
    char v[32];
    assert_int_equal(nmdi_publish_release(&ctx, dir, NULL, v, &err), NMDI_EDATA);
    assert_non_null(strstr(err.file, "SURVEY_SHARE.json"));
    assert_string_equal(err.field, "protected");
    char p[600];
    snprintf(p, sizeof p, "%s/releases/LATEST", dir);
    assert_int_equal(access(p, F_OK), -1);
}

static nmdi_release *publish_fixture(const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    make_infra(dir, 1);
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    nmdi_error err;
    char v[32];
    nmdi_publish_opts o = {.now = "2026-11-27T10:00:00Z"};
    assert_int_equal(nmdi_publish_release(&ctx, dir, &o, v, &err), 0);
    assert_string_equal(v, "20261127-1");
    assert_int_equal(nmdi_publish_release(&ctx, dir, &o, v, &err), 0);
    assert_string_equal(v, "20261127-2");
    nmdi_release *r;
    assert_int_equal(nmdi_release_open(&r, dir, NULL, &err), 0);
    return r;
}

static void test_release(void **state)
{
    (void)state;
    nmdi_release *r = publish_fixture("rel");
    assert_string_equal(r->version, "20261127-2");
    assert_string_equal(r->agency, "NMDI");
    assert_int_equal(r->ntables, 2);
    const nmdi_rel_table *t = nmdi_release_table(r, "MIG_STOCK");
    assert_non_null(t);
    assert_int_equal(t->ndims, 3);
    assert_string_equal(t->dims[0], "SEX");
    assert_string_equal(t->dims[2], "TIME_PERIOD");
    assert_string_equal(t->name.zh, "移民存量");
    const nmdi_rel_table *s = nmdi_release_table(r, "SURVEY_SHARE");
    assert_int_equal(s->ndims, 3); /* SEX, AGE, constant TIME_PERIOD */
    assert_int_equal(s->cube_col[2], -1);
    assert_string_equal(nmdi_rel_code(s, nmdi_cube_cell(s->cube, 0), 2), "2024-Q2");
    assert_non_null(strstr(r->json, "\"previous_release\": \"20261127-1\""));
    assert_non_null(strstr(r->json, "csv_sha256"));
    int ci = nmdi_release_codelist_index(r, "CL_SEX");
    assert_true(ci >= 0);
    assert_string_equal(r->codelists[ci].codes[0], "_T");
    nmdi_release_free(r);
}

static void test_key_parser(void **state)
{
    (void)state;
    nmdi_arena *a = nmdi_arena_new(4096);
    nmdi_error err;
    nmdi_sdmx_key k;
    assert_int_equal(nmdi_sdmx_key_parse("all", a, &k, &err), 0);
    assert_int_equal(k.ndims, 0);
    assert_int_equal(nmdi_sdmx_key_parse("F+M..2020", a, &k, &err), 0);
    assert_int_equal(k.ndims, 3);
    assert_int_equal(k.parts[0].n, 2);
    assert_string_equal(k.parts[0].codes[1], "M");
    assert_int_equal(k.parts[1].n, 0);
    assert_string_equal(k.parts[2].codes[0], "2020");
    assert_int_equal(nmdi_sdmx_key_parse("F++M", a, &k, &err), NMDI_EDATA);
    assert_int_equal(nmdi_sdmx_key_parse("F.<script>", a, &k, &err), NMDI_EDATA);
    assert_int_equal(nmdi_sdmx_key_parse("+", a, &k, &err), NMDI_EDATA);
    assert_int_equal(nmdi_sdmx_key_parse("..", a, &k, &err), 0);
    assert_int_equal(k.ndims, 3);
    /* deterministic fuzz: random strings over the key alphabet never crash,
     * and every accepted key has consistent parts */
    const char alpha[] = "AB_.+.+x9-$@ %/";
    uint64_t seed = 42;
    char buf[64];
    for (int it = 0; it < 20000; it++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t len = (seed >> 33) % 40;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[i] = alpha[(seed >> 33) % (sizeof alpha - 1)];
        }
        buf[len] = 0;
        if (nmdi_sdmx_key_parse(buf, a, &k, &err) == 0) {
            size_t dots = 0;
            for (size_t i = 0; i < len; i++)
                dots += buf[i] == '.';
            if (k.ndims)
                assert_int_equal(k.ndims, dots + 1);
            for (size_t d = 0; d < k.ndims; d++)
                for (size_t j = 0; j < k.parts[d].n; j++)
                    assert_true(strlen(k.parts[d].codes[j]) > 0);
        }
    }
    nmdi_arena_free(a);
}

static void test_periods(void **state)
{
    (void)state;
    nmdi_date f, l;
    char a[11], b[11];
    struct {
        const char *p, *first, *last;
    } cases[] = {{"2020", "2020-01-01", "2020-12-31"},    {"2020-Q2", "2020-04-01", "2020-06-30"},
                 {"2020-02", "2020-02-01", "2020-02-29"}, {"2021-S2", "2021-07-01", "2021-12-31"},
                 {"2020-M12", "2020-12-01", "2020-12-31"}, {"2020-W01", "2019-12-30", "2020-01-05"},
                 {"2020-D366", "2020-12-31", "2020-12-31"}, {"2020-05-17", "2020-05-17", "2020-05-17"},
                 {"2019-A1", "2019-01-01", "2019-12-31"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(nmdi_sdmx_period(cases[i].p, &f, &l), 0);
        nmdi_date_format(f, a);
        nmdi_date_format(l, b);
        assert_string_equal(a, cases[i].first);
        assert_string_equal(b, cases[i].last);
    }
    const char *bad[] = {"20", "2020-13", "2020-Q5", "2019-D366", "2020-W54", "abcd", "2020-",
                         "2020-02-30", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(nmdi_sdmx_period(bad[i], &f, &l), -1);
}

static void test_queries(void **state)
{
    (void)state;
    nmdi_release *r = publish_fixture("q");
    const nmdi_rel_table *t = nmdi_release_table(r, "MIG_STOCK");
    nmdi_arena *a = nmdi_arena_new(4096);
    nmdi_error err;
    nmdi_sdmx_query q;
    nmdi_sdmx_query_init(&q);
    assert_int_equal(nmdi_sdmx_query_count(t, &q), 7);
    assert_int_equal(nmdi_sdmx_key_parse("F+M..", a, &q.key, &err), 0);
    assert_int_equal(nmdi_sdmx_query_count(t, &q), 5);
    q.start_period = "2021";
    assert_int_equal(nmdi_sdmx_query_count(t, &q), 3);
    q.end_period = "2020-12";
    assert_int_equal(nmdi_sdmx_query_count(t, &q), 0);
    q.end_period = NULL;
    q.start_period = NULL;
    q.last_n = 1;
    assert_int_equal(nmdi_sdmx_query_count(t, &q), 3); /* F.DEU, M.DEU, F.CHN */
    assert_int_equal(nmdi_sdmx_key_parse("F.DEU", a, &q.key, &err), 0);
    assert_int_equal(nmdi_sdmx_query_check(t, &q, &err), NMDI_EDATA);
    nmdi_sdmx_query_init(&q);
    q.dim_at_obs = "NOPE";
    assert_int_equal(nmdi_sdmx_query_check(t, &q, &err), NMDI_EDATA);
    q.dim_at_obs = "AllDimensions";
    assert_int_equal(nmdi_sdmx_query_check(t, &q, &err), 0);
    q.start_period = "2020-Q9";
    assert_int_equal(nmdi_sdmx_query_check(t, &q, &err), NMDI_EDATA);
    nmdi_arena_free(a);
    nmdi_release_free(r);
}

static char *render(const nmdi_release *r, const nmdi_rel_table *t, int fmt,
                    const nmdi_sdmx_query *q, const char *path)
{
    FILE *f = fopen(path, "w+");
    assert_non_null(f);
    nmdi_error err;
    int rc = fmt == NMDI_FMT_STRUCTURE ? nmdi_sdmx_write_structure(f, r, NULL, &err)
             : fmt == NMDI_FMT_XSD
                 ? nmdi_sdmx_write_xsd(f, r, t, q ? q->dim_at_obs : NULL, getenv("XSD_BASE"), &err)
                 : nmdi_sdmx_write_data(f, fmt, r, t, q, &err);
    assert_int_equal(rc, 0);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static int xmllint(const char *schema, const char *file)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "xmllint --noout --schema '%s' '%s' 2>%s.err", schema, file, file);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, "head -5 %s.err", file);
        (void)system(cmd);
    }
    return rc;
}

static void test_writers(void **state)
{
    (void)state;
    nmdi_release *r = publish_fixture("w");
    const nmdi_rel_table *t = nmdi_release_table(r, "MIG_STOCK");
    char p[600];
    snprintf(p, sizeof p, "%s/out.csv", tmpdir);
    char *s = render(r, t, NMDI_FMT_SDMXCSV, NULL, p);
    assert_non_null(strstr(s, "DATAFLOW,SEX,COUNTRY_OF_BIRTH,TIME_PERIOD,OBS_VALUE,OBS_STATUS"));
    assert_non_null(strstr(s, "NMDI:MIG_STOCK(1.0),F,CHN,2021,,M,C,PS,"));
    /* the unweighted count of a count table is never published */
    assert_null(strstr(s, ",10\n"));
    free(s);
    s = render(r, t, NMDI_FMT_CSV, NULL, p);
    assert_non_null(strstr(s, "SEX,COUNTRY_OF_BIRTH,TIME_PERIOD,value,se,cv"));
    assert_null(strstr(s, "ckey"));
    free(s);
    snprintf(p, sizeof p, "%s/out.json", tmpdir);
    s = render(r, t, NMDI_FMT_JSON, NULL, p);
    assert_non_null(strstr(s, "\"dataSets\""));
    assert_non_null(strstr(s, "\"keyPosition\""));
    free(s);
    const char *shared = getenv("NMDI_SHARED");
    char schemas[512];
    snprintf(schemas, sizeof schemas, "%s/data/sdmx/sdmx-ml-v2_1/schemas", shared ? shared : "");
    snprintf(p, sizeof p, "%s/SDMXMessage.xsd", schemas);
    int validate = shared && access(p, R_OK) == 0 && system("xmllint --version 2>/dev/null") == 0;
    if (!validate)
        fprintf(stderr, "# xmllint or $NMDI_SHARED schemas absent: validation skipped\n");
    setenv("XSD_BASE", schemas, 1);
    const char *dao[] = {NULL, "AllDimensions", "SEX"};
    const int details[] = {NMDI_DETAIL_FULL, NMDI_DETAIL_DATAONLY, NMDI_DETAIL_SERIESKEYSONLY};
    for (size_t ti = 0; ti < r->ntables; ti++) {
        t = &r->tables[ti];
        for (int di = 0; di < 3; di++) {
            nmdi_sdmx_query q;
            nmdi_sdmx_query_init(&q);
            q.dim_at_obs = dao[di];
            q.detail = details[di];
            char g[600], ss[600], xsd[600];
            snprintf(g, sizeof g, "%s/gen-%zu-%d.xml", tmpdir, ti, di);
            snprintf(ss, sizeof ss, "%s/ss-%zu-%d.xml", tmpdir, ti, di);
            snprintf(xsd, sizeof xsd, "%s/dsd-%zu-%d.xsd", tmpdir, ti, di);
            free(render(r, t, NMDI_FMT_GENERIC, &q, g));
            q.detail = NMDI_DETAIL_FULL;
            free(render(r, t, NMDI_FMT_STRUCTSPEC, &q, ss));
            free(render(r, t, NMDI_FMT_XSD, &q, xsd));
            if (validate) {
                assert_int_equal(xmllint(p, g), 0);
                assert_int_equal(xmllint(xsd, ss), 0);
            }
        }
    }
    snprintf(p, sizeof p, "%s/structure.xml", tmpdir);
    s = render(r, NULL, NMDI_FMT_STRUCTURE, NULL, p);
    assert_non_null(strstr(s, "<str:TimeDimension id=\"TIME_PERIOD\""));
    free(s);
    if (validate) {
        char m[600];
        snprintf(m, sizeof m, "%s/SDMXMessage.xsd", schemas);
        assert_int_equal(xmllint(m, p), 0);
    }
    nmdi_release_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_unprotected), cmocka_unit_test(test_release),
        cmocka_unit_test(test_key_parser),          cmocka_unit_test(test_periods),
        cmocka_unit_test(test_queries),             cmocka_unit_test(test_writers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
