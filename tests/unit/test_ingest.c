/* test_ingest.c — unit tests of src/ingest: date formats, validation rules
 * (every kind, VTL-like expressions with nulls), pseudonymisation
 * (normalisation, phonetic codes, keyed hashes, record keys), and a whole
 * load through the library with its accounting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/ingest/ingest_impl.h"
#include "nmdi/csv.h"

static void test_dates(void **state)
{
    (void)state;
    nmdi_date d, e;
    assert_int_equal(nmdi_ingest_parse_date("DD/MM/YYYY", "01/02/1980", 10, &d), 0);
    assert_int_equal(nmdi_date_parse("1980-02-01", 10, &e), 0);
    assert_int_equal(d, e);
    assert_int_equal(nmdi_ingest_parse_date("YYYYMMDD", "19800201", 8, &d), 0);
    assert_int_equal(d, e);
    assert_int_equal(nmdi_ingest_parse_date("D.M.YYYY", "1.2.1980", 8, &d), 0);
    assert_int_equal(d, e);
    assert_int_equal(nmdi_ingest_parse_date(NULL, "1980-02-01T10:11:12", 19, &d), 0);
    assert_int_equal(d, e);
    assert_int_equal(nmdi_ingest_parse_date("DD/MM/YYYY", "31/02/1980", 10, &d), -1);
    assert_int_equal(nmdi_ingest_parse_date("DD/MM/YYYY", "01/02/1980x", 11, &d), -1);
    assert_int_equal(nmdi_ingest_parse_date("DD/MM/YYYY", "1/2/1980", 8, &d), -1);
    assert_int_equal(nmdi_ingest_parse_date(NULL, "1980-2-1", 8, &d), -1);
    assert_int_equal(nmdi_date_format_valid("DD.MM.YYYY"), 0);
    assert_int_equal(nmdi_date_format_valid("YYYY-MM"), -1);
    assert_int_equal(nmdi_date_format_valid("DD/MM/YY"), -1);
}

static const rule_field F[] = {{"sex", NMDI_F_CODE}, {"age", NMDI_F_INT}, {"dob", NMDI_F_DATE},
                               {"arrival_year", NMDI_F_INT}, {"cob", NMDI_F_COUNTRY}};

static int check_expr(const char *text_, const ival *vals)
{
    nmdi_arena *a = nmdi_arena_new(0);
    nmdi_cfg_rule r = {0};
    r.id = "R";
    r.kind = NMDI_RULE_EXPR;
    r.expr = text_;
    crule c;
    nmdi_error err;
    if (nmdi_rule_compile(a, "t.yaml", &r, F, 5, &c, &err))
        fail_msg("compile %s: %s", text_, err.msg);
    int bad;
    int ok = nmdi_rule_check(&c, vals, &bad);
    nmdi_rule_free(&c);
    nmdi_arena_free(a);
    return ok;
}

static void compile_fails(const char *text_, const char *text)
{
    nmdi_arena *a = nmdi_arena_new(0);
    nmdi_cfg_rule r = {0};
    r.id = "R";
    r.kind = NMDI_RULE_EXPR;
    r.expr = text_;
    r.line = 12;
    crule c;
    nmdi_error err;
    assert_int_equal(nmdi_rule_compile(a, "t.yaml", &r, F, 5, &c, &err), NMDI_EDATA);
    assert_int_equal(err.line, 12);
    if (!strstr(err.msg, text))
        fail_msg("%s: expected %s in %s", text_, text, err.msg);
    nmdi_rule_free(&c);
    nmdi_arena_free(a);
}

static void test_rules(void **state)
{
    (void)state;
    nmdi_date dob = nmdi_date_from_ymd(1990, 5, 1);
    ival v[5] = {{V_STR, 0, "F", 1}, {V_NUM, 30, NULL, 0}, {V_NUM, dob, NULL, 0}, {V_NUM, 2015, NULL, 0},
                 {V_STR, 0, "DEU", 3}};
    assert_true(check_expr("when arrival_year is not null then arrival_year >= year(dob)", v));
    assert_true(check_expr("sex in {\"F\", \"M\"} and age between 0 and 120", v));
    assert_true(check_expr("sex not in (\"X\") and not (age < 0)", v));
    assert_true(check_expr("dob < \"2000-01-01\" and dob >= date(\"1990-05-01\")", v));
    assert_true(check_expr("month(dob) = 5 and day(dob) = 1 and length(cob) = 3", v));
    assert_true(check_expr("age * 2 + 1 = 61 and abs(-age) = 30 and age / 0 = 1", v)); /* null passes */
    assert_true(check_expr("when cob <> \"XKN\" then arrival_year > 0 errorcode \"E1\" errorlevel 2", v));
    v[3].num = 1980;
    assert_false(check_expr("when arrival_year is not null then arrival_year >= year(dob)", v));
    assert_false(check_expr("nvl(arrival_year, 0) > 1985", v));
    v[3] = (ival){V_NULL, 0, NULL, 0};
    assert_true(check_expr("when arrival_year is not null then arrival_year >= year(dob)", v));
    assert_true(check_expr("arrival_year > 3000", v)); /* null result passes */
    assert_false(check_expr("isnull(arrival_year) = false", v));
    assert_true(check_expr("arrival_year > 3000 or true", v));
    compile_fails("when colour = 1 then age > 0", "unknown field 'colour'");
    compile_fails("sex > 3", "comparing text with a number");
    compile_fails("when age > 0 age < 100", "expected 'then'");
    compile_fails("age + 1", "true or false");
    compile_fails("age > (1", "expected ')'");
    compile_fails("frob(age) > 1", "unknown function");
    compile_fails("dob > \"yesterday\"", "YYYY-MM-DD");
    compile_fails("age > 1 garbage", "unexpected text");
    /* the other kinds */
    nmdi_arena *a = nmdi_arena_new(0);
    static const char *req[] = {"sex", "arrival_year"};
    static const char *codes[] = {"F", "M"};
    nmdi_cfg_rule r1 = {.id = "REQ", .kind = NMDI_RULE_REQUIRED, .nfields = 2, .fields = req};
    nmdi_cfg_rule r2 = {.id = "CL", .kind = NMDI_RULE_CODELIST, .nfields = 1, .fields = req, .ncodes = 2, .codes = codes};
    static const char *agef[] = {"age"};
    nmdi_cfg_rule r3 = {.id = "RG", .kind = NMDI_RULE_RANGE, .nfields = 1, .fields = agef, .has_min = 1, .min = 0, .has_max = 1, .max = 20};
    nmdi_cfg_rule r4 = {.id = "CL2", .kind = NMDI_RULE_CODELIST, .nfields = 1, .fields = req, .codelist = "sex"};
    crule c;
    nmdi_error err;
    int bad;
    assert_int_equal(nmdi_rule_compile(a, "t", &r1, F, 5, &c, &err), 0);
    assert_false(nmdi_rule_check(&c, v, &bad));
    assert_int_equal(bad, 3);
    nmdi_rule_free(&c);
    assert_int_equal(nmdi_rule_compile(a, "t", &r2, F, 5, &c, &err), 0);
    assert_true(nmdi_rule_check(&c, v, &bad));
    v[0] = (ival){V_STR, 0, "X", 1};
    assert_false(nmdi_rule_check(&c, v, &bad));
    nmdi_rule_free(&c);
    assert_int_equal(nmdi_rule_compile(a, "t", &r4, F, 5, &c, &err), 0);
    assert_false(nmdi_rule_check(&c, v, &bad));
    v[0] = (ival){V_STR, 0, "_U", 2};
    assert_true(nmdi_rule_check(&c, v, &bad));
    nmdi_rule_free(&c);
    assert_int_equal(nmdi_rule_compile(a, "t", &r3, F, 5, &c, &err), 0);
    assert_false(nmdi_rule_check(&c, v, &bad));
    assert_int_equal(bad, 1);
    nmdi_rule_free(&c);
    nmdi_arena_free(a);
}

static void test_pseudo(void **state)
{
    (void)state;
    char out[128];
    nmdi_pseudo_normalise("name", "  O'Brien-Müller ", 17, out, sizeof out);
    assert_string_equal(out, "O BRIEN MULLER");
    nmdi_pseudo_normalise("document", "ab-12 34", 8, out, sizeof out);
    assert_string_equal(out, "AB1234");
    nmdi_pseudo_normalise("name", "李 伟", strlen("李 伟"), out, sizeof out);
    assert_string_equal(out, "李 伟");
    char ph[5];
    nmdi_pseudo_phonetic("ROBERT", ph);
    assert_string_equal(ph, "R163");
    nmdi_pseudo_phonetic("RUPERT", ph);
    assert_string_equal(ph, "R163");
    nmdi_pseudo_phonetic("ASHCRAFT", ph);
    assert_string_equal(ph, "A261");
    nmdi_pseudo_phonetic("TYMCZAK", ph);
    assert_string_equal(ph, "T522");
    nmdi_pseudo_phonetic("LEE", ph);
    assert_string_equal(ph, "L000");
    unsigned char k1[NMDI_KEY_BYTES] = {1}, k2[NMDI_KEY_BYTES] = {2};
    int64_t a = nmdi_pseudo_hash(k1, "name", "SMITH", 5);
    assert_int_equal(a, nmdi_pseudo_hash(k1, "name", "SMITH", 5));
    assert_int_not_equal(a, nmdi_pseudo_hash(k2, "name", "SMITH", 5));   /* keyed */
    assert_int_not_equal(a, nmdi_pseudo_hash(k1, "document", "SMITH", 5)); /* domain-separated */
    double lo = 1, hi = 0, sum = 0;
    for (int64_t i = 0; i < 20000; i++) {
        double r = nmdi_pseudo_record_key(k1, i);
        assert_true(r >= 0 && r < 1);
        lo = r < lo ? r : lo;
        hi = r > hi ? r : hi;
        sum += r;
    }
    assert_true(lo < 0.001 && hi > 0.999);
    assert_true(sum / 20000 > 0.49 && sum / 20000 < 0.51);
    unsigned char q1[NMDI_QGRAM_BYTES], q2[NMDI_QGRAM_BYTES];
    nmdi_pseudo_qgram(k1, "SMITH", q1);
    nmdi_pseudo_qgram(k1, "SMYTH", q2);
    int same = 0, n1 = 0;
    for (int i = 0; i < NMDI_QGRAM_BYTES; i++) {
        same += __builtin_popcount(q1[i] & q2[i]);
        n1 += __builtin_popcount(q1[i]);
    }
    assert_true(n1 > 0 && same > 0 && same < n1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load(void **state)
{
    (void)state;
    char d[] = "/tmp/nmdi-ingest-XXXXXX";
    assert_non_null(mkdtemp(d));
    char dir[256], cfg[256], csv[256];
    snprintf(dir, sizeof dir, "%s/infra", d);
    snprintf(cfg, sizeof cfg, "%s/c.yaml", d);
    snprintf(csv, sizeof csv, "%s/p.csv", d);
    write_file(cfg, "country: {code: XKN}\n"
                    "agencies: [{id: A}]\n"
                    "store: {partitions: 2}\n"
                    "sources:\n"
                    "  - id: p\n"
                    "    agency: A\n"
                    "    record_type: permit\n"
                    "    columns: {ID: person_key, FROM: valid_from, TO: valid_to, CIT: citizenship}\n"
                    "    identifiers: [{column: NAME, kind: name}]\n"
                    "    rules:\n"
                    "      - {id: ORDER, rule: 'when valid_to is not null then valid_to >= valid_from'}\n");
    write_file(csv, "ID,NAME,FROM,TO,CIT\n"
                    "a,Ann,2020-01-01,2021-01-01,DE\n"
                    "b,Bob,2020-01-01,2019-01-01,FRA\n"
                    "a,Ann,2021-01-02,,276\n"
                    "c,Cy,2020-13-01,,ITA\n");
    nmdi_error err;
    assert_int_equal(nmdi_ingest_init(dir, cfg, &err), 0);
    assert_int_equal(nmdi_ingest_init(dir, cfg, &err), NMDI_EDATA);
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    nmdi_load_report *r;
    const char *files[] = {csv};
    assert_int_equal(nmdi_ingest_load(&ctx, dir, "p", 1, files, NULL, &r, &err), 0);
    assert_int_equal(r->read, 4);
    assert_int_equal(r->loaded, 2);
    assert_int_equal(r->quarantined, 2);
    assert_int_equal(r->read, r->loaded + r->quarantined);
    assert_int_equal(r->version, 1);
    nmdi_load_report_free(r);
    nmdi_dataset *ds;
    assert_int_equal(nmdi_ingest_open_latest(dir, "p", &ds, &err), 0);
    assert_int_equal(nmdi_dataset_rows(ds), 2);
    assert_int_equal(nmdi_dataset_verify(ds, &err), 0);
    /* both rows of person "a": same key, same partition, same record key; DE and 276 -> DEU */
    int64_t key = 0;
    size_t nkeys = 0;
    for (size_t p = 0; p < nmdi_dataset_nparts(ds); p++) {
        const int64_t *k;
        const int32_t *cit;
        const double *rk;
        assert_int_equal(nmdi_dataset_i64(ds, p, "person_key", &k, &err), 0);
        assert_int_equal(nmdi_dataset_i32(ds, p, "citizenship", &cit, &err), 0);
        assert_int_equal(nmdi_dataset_f64(ds, p, "record_key", &rk, &err), 0);
        const char *const *dict = nmdi_dataset_dict(ds, "citizenship", NULL);
        for (uint64_t i = 0; i < nmdi_dataset_part_rows(ds, p); i++) {
            if (nkeys++ == 0)
                key = k[i];
            assert_int_equal(k[i], key);
            assert_string_equal(dict[cit[i]], "DEU");
            assert_true(rk[i] >= 0 && rk[i] < 1);
        }
    }
    assert_int_equal(nkeys, 2);
    assert_true(nmdi_dataset_find(ds, "NAME_hash") >= 0);
    assert_true(nmdi_dataset_find(ds, "NAME") < 0);
    nmdi_dataset_close(ds);
    /* strict: refused, the previous version stays the latest */
    nmdi_load_opts o = {1, 0, 0};
    assert_int_equal(nmdi_ingest_load(&ctx, dir, "p", 1, files, &o, &r, &err), NMDI_EDATA);
    assert_int_equal(nmdi_ingest_open_latest(dir, "p", &ds, &err), 0);
    assert_int_equal(nmdi_dataset_rows(ds), 2);
    nmdi_dataset_close(ds);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

/* Deterministic random inputs (the fuzz targets' checks, without libFuzzer):
 * CSV bytes through the reader, mutated configurations through the parser and
 * the mapping check, random bytes through normalisation and date parsing. */
static uint64_t rnd(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ULL;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void test_random_inputs(void **state)
{
    (void)state;
    uint64_t seed = 42;
    static const char alphabet[] = "ab,;\"\r\n \t|1.-:\xc3\xa9\xff\x00{}[]#&*";
    char buf[512];
    for (int it = 0; it < 400; it++) {
        size_t n = 1 + rnd(&seed) % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = alphabet[rnd(&seed) % (sizeof alphabet - 1)];
        FILE *f = fmemopen(buf, n, "rb");
        assert_non_null(f);
        nmdi_csv_opts o = {(char)",;\t|"[rnd(&seed) % 4], (int)(rnd(&seed) & 1), (int)(rnd(&seed) & 1)};
        nmdi_csv *c;
        nmdi_error err;
        if (nmdi_csv_open_stream(&c, f, "r.csv", &o, &err) == 0) {
            while (nmdi_csv_next(c, &err) > 0)
                for (size_t i = 0; i < nmdi_csv_nfields(c); i++)
                    assert_true(strlen(nmdi_csv_field(c, i)) <= nmdi_csv_field_len(c, i));
            nmdi_csv_close(c);
        }
        fclose(f);
        char norm[64];
        size_t k = nmdi_pseudo_normalise((it & 1) ? "name" : "document", buf, n, norm, sizeof norm);
        assert_true(k < sizeof norm && strlen(norm) == k);
        nmdi_date d;
        nmdi_ingest_parse_date("DD/MM/YYYY", buf, n, &d);
    }
    /* mutate the test configuration: every parse either succeeds or names a line */
    FILE *cf = fopen("tests/data/ingest/nmdi.yaml", "rb");
    if (!cf)
        cf = fopen("../../tests/data/ingest/nmdi.yaml", "rb");
    if (!cf)
        skip();
    static char text[8192];
    size_t len = fread(text, 1, sizeof text - 1, cf);
    fclose(cf);
    static char mut[8192];
    for (int it = 0; it < 300; it++) {
        memcpy(mut, text, len);
        for (int m = 0; m < 1 + (int)(rnd(&seed) % 4); m++)
            mut[rnd(&seed) % len] = alphabet[rnd(&seed) % (sizeof alphabet - 1)];
        nmdi_config *cfg;
        nmdi_error err;
        if (nmdi_config_parse(&cfg, mut, len, "m.yaml", &err) == 0) {
            if (nmdi_ingest_check_config(cfg, &err))
                assert_true(err.code == NMDI_EDATA);
            nmdi_config_free(cfg);
        } else {
            assert_int_equal(err.code, NMDI_EDATA);
            assert_true(err.line >= 1);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_pseudo),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_random_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
