/* test_spine.c — unit tests of src/link/spine.c: a small infrastructure with
 * two person sources and a permit source (several permits per person key)
 * built from generated persons with typos; the spine written to the store is
 * checked against the generated truth, plus the "nothing to link" case;
 * and border crossings (many rows per travel document, keying errors on
 * single crossings, renewed passports) linked into the spine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nmdi/ingest.h"
#include "nmdi/spine.h"

#define NP 300

static const char *const syl[] = {"ka", "lo", "mi", "ren", "sa", "to", "vik", "bru", "del", "fa",
                                  "gor", "hen", "ist", "jo", "mar", "nor", "pel", "qua", "ros", "tin"};

static void name_of(unsigned seed, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s", syl[seed % 20], syl[(seed / 20) % 20], syl[(seed / 400) % 20]);
    out[0] = (char)(out[0] - 32);
}

static void write_sources(const char *d)
{
    char p[512];
    snprintf(p, sizeof p, "%s/a.csv", d);
    FILE *a = fopen(p, "wb");
    snprintf(p, sizeof p, "%s/b.csv", d);
    FILE *b = fopen(p, "wb");
    snprintf(p, sizeof p, "%s/p.csv", d);
    FILE *c = fopen(p, "wb");
    assert_true(a && b && c);
    fputs("ID,SURNAME,GIVEN,DOB,SEX\n", a);
    fputs("PIN,FAMILY,FIRST,BIRTH,SEX\n", b);
    fputs("CASE,FAMILY,FIRST,BIRTH,SEX\n", c);
    uint64_t s = 12345;
    for (unsigned i = 0; i < NP; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        char sur[32], giv[32];
        name_of((unsigned)(s >> 33) % 8000, sur, sizeof sur);
        name_of((unsigned)(s >> 45) % 8000, giv, sizeof giv);
        int y = 1940 + (int)((s >> 20) % 70), m = 1 + (int)((s >> 12) % 12), dd = 1 + (int)((s >> 5) % 28);
        char sex = (s >> 3) & 1 ? 'M' : 'F';
        fprintf(a, "a%u,%s,%s,%04d-%02d-%02d,%c\n", i, sur, giv, y, m, dd, sex);
        if (i % 4 != 3) { /* three in four persons are in the register */
            if (i % 10 == 1)
                sur[1] = sur[1] == 'x' ? 'y' : 'x'; /* a typo */
            fprintf(b, "b%u,%s,%s,%02d.%02d.%04d,%c\n", i, sur, giv, dd, m, y, sex);
        }
        if (i % 10 == 0) /* one in ten holds two permits */
            for (int k = 0; k < 2; k++)
                fprintf(c, "c%u,%s,%s,%04d%02d%02d,%c\n", i, sur, giv, y, m, dd, sex);
    }
    fclose(a);
    fclose(b);
    fclose(c);
}

static void test_spine(void **state)
{
    (void)state;
    char d[] = "/tmp/nmdi-spine-XXXXXX";
    assert_non_null(mkdtemp(d));
    char dir[256], cfg[256], fa[256], fb[256], fp[256];
    snprintf(dir, sizeof dir, "%s/infra", d);
    snprintf(cfg, sizeof cfg, "%s/c.yaml", d);
    snprintf(fa, sizeof fa, "%s/a.csv", d);
    snprintf(fb, sizeof fb, "%s/b.csv", d);
    snprintf(fp, sizeof fp, "%s/p.csv", d);
    FILE *f = fopen(cfg, "wb");
    assert_non_null(f);
    fputs("country: {code: XKN}\n"
          "agencies: [{id: A}]\n"
          "store: {partitions: 2}\n"
          "sources:\n"
          "  - id: census\n    agency: A\n    record_type: person\n"
          "    columns: {ID: {field: rid, type: string}, SEX: sex, DOB: date_of_birth}\n"
          "    identifiers: [{column: SURNAME, name: surname, kind: name}, "
          "{column: GIVEN, name: given_name, kind: name}]\n"
          "  - id: register\n    agency: A\n    record_type: person\n"
          "    columns: {PIN: person_key, SEX: sex, BIRTH: {field: date_of_birth, format: DD.MM.YYYY}}\n"
          "    identifiers: [{column: FAMILY, name: surname, kind: name}, "
          "{column: FIRST, name: given_name, kind: name}]\n"
          "  - id: permits\n    agency: A\n    record_type: permit\n"
          "    columns: {CASE: person_key, SEX: sex, BIRTH: {field: date_of_birth, format: YYYYMMDD}}\n"
          "    identifiers: [{column: FAMILY, name: surname, kind: name}, "
          "{column: FIRST, name: given_name, kind: name}]\n",
          f);
    fclose(f);
    write_sources(d);
    nmdi_error err = {0};
    assert_int_equal(nmdi_ingest_init(dir, cfg, &err), 0);
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    nmdi_spine_report *r = NULL;
    nmdi_load_report *lr;
    /* one source: nothing to link, nothing written */
    const char *fa1[] = {fa}, *fb1[] = {fb}, *fp1[] = {fp};
    assert_int_equal(nmdi_ingest_load(&ctx, dir, "census", 1, fa1, NULL, &lr, &err), 0);
    nmdi_load_report_free(lr);
    assert_int_equal(nmdi_spine_build(&ctx, dir, NULL, &r, &err), 0);
    assert_int_equal(r->nsources, 1);
    assert_int_equal(r->version, 0);
    nmdi_spine_report_free(r);
    assert_int_equal(nmdi_ingest_load(&ctx, dir, "register", 1, fb1, NULL, &lr, &err), 0);
    nmdi_load_report_free(lr);
    int rc = nmdi_ingest_load(&ctx, dir, "permits", 1, fp1, NULL, &lr, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    nmdi_load_report_free(lr);
    rc = nmdi_spine_build(&ctx, dir, NULL, &r, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(r->nsources, 3);
    assert_int_equal(r->npairs, 3);
    assert_int_equal(r->version, 1);
    assert_int_equal(r->records, NP + NP * 3 / 4 + NP / 10 * 2);
    for (size_t i = 0; i < r->npairs; i++) {
        assert_true(r->pairs[i].links > 0);
        assert_true(r->pairs[i].est_precision > 0.9 && r->pairs[i].est_precision <= 1);
        assert_true(r->pairs[i].est_recall > 0.9 && r->pairs[i].est_recall <= 1);
    }
    assert_int_equal(r->pairs[0].links, NP * 3 / 4 - 0); /* census-register: every register person */
    nmdi_spine_report_free(r);

    /* the spine against the generated truth: src_line - 2 is the person index */
    nmdi_dataset *ds;
    assert_int_equal(nmdi_ingest_open_latest(dir, "person_spine", &ds, &err), 0);
    assert_int_equal(nmdi_dataset_rows(ds), NP + NP * 3 / 4 + NP / 10 * 2);
    char pid[3][NP][16];
    memset(pid, 0, sizeof pid);
    size_t nd = 0;
    const char *const *dict = nmdi_dataset_dict(ds, "source", &nd);
    assert_non_null(dict);
    for (size_t part = 0; part < nmdi_dataset_nparts(ds); part++) {
        const int32_t *src, *line;
        const uint64_t *off;
        const char *bytes;
        const double *pr;
        assert_int_equal(nmdi_dataset_i32(ds, part, "source", &src, &err), 0);
        assert_int_equal(nmdi_dataset_i32(ds, part, "src_line", &line, &err), 0);
        assert_int_equal(nmdi_dataset_str(ds, part, "person_id", &off, &bytes, &err), 0);
        assert_int_equal(nmdi_dataset_f64(ds, part, "match_probability", &pr, &err), 0);
        for (size_t i = 0; i < nmdi_dataset_part_rows(ds, part); i++) {
            const char *sn = dict[src[i]];
            int s = !strcmp(sn, "census") ? 0 : !strcmp(sn, "register") ? 1 : 2;
            /* person index from the line: census every person, register
             * skips i%4==3, permits two lines per tenth person */
            int l = line[i] - 2, person;
            if (s == 0)
                person = l;
            else if (s == 1)
                person = l / 3 * 4 + l % 3;
            else
                person = l / 2 * 10;
            assert_true(person >= 0 && person < NP);
            snprintf(pid[s][person], 16, "%.*s", (int)(off[i + 1] - off[i]), bytes + off[i]);
            assert_true(pr[i] != pr[i] || (pr[i] >= 0.5 && pr[i] <= 1)); /* NaN or a link */
        }
    }
    nmdi_dataset_close(ds);
    int same = 0, split = 0;
    for (int i = 0; i < NP; i++) {
        for (int s = 1; s < 3; s++) {
            if (!pid[s][i][0])
                continue;
            if (!strcmp(pid[s][i], pid[0][i]))
                same++;
            else
                split++;
        }
        for (int j = 0; j < i; j++) /* different persons never share an id */
            assert_string_not_equal(pid[0][i], pid[0][j]);
    }
    assert_int_equal(split, 0);
    assert_int_equal(same, NP * 3 / 4 + NP / 10);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

/* Border crossings: NB persons of a census; each crosses 4 times on one
 * document, one crossing with a surname typo and one with day and month
 * swapped; every fifth person renewed the passport (2 more crossings on a
 * second document). Every crossing must get its census person's id. */
#define NB 120
static void test_border(void **state)
{
    (void)state;
    char d[] = "/tmp/nmdi-spineb-XXXXXX";
    assert_non_null(mkdtemp(d));
    char dir[256], cfg[256], fa[256], fx[256];
    snprintf(dir, sizeof dir, "%s/infra", d);
    snprintf(cfg, sizeof cfg, "%s/c.yaml", d);
    snprintf(fa, sizeof fa, "%s/a.csv", d);
    snprintf(fx, sizeof fx, "%s/x.csv", d);
    FILE *f = fopen(cfg, "wb");
    assert_non_null(f);
    fputs("country: {code: XKN}\n"
          "agencies: [{id: A}]\n"
          "store: {partitions: 2}\n"
          "sources:\n"
          "  - id: census\n    agency: A\n    record_type: person\n"
          "    columns: {ID: {field: rid, type: string}, SEX: sex, DOB: date_of_birth}\n"
          "    identifiers: [{column: SURNAME, name: surname, kind: name}, "
          "{column: GIVEN, name: given_name, kind: name}]\n"
          "  - id: border\n    agency: A\n    record_type: border_crossing\n"
          "    columns: {DOC_NO: traveller_key, SEX: sex, DOB: {field: date_of_birth, format: DD/MM/YYYY},"
          " DIR: direction, DATE: date}\n"
          "    identifiers: [{column: SURNAME, name: surname, kind: name}, "
          "{column: GIVEN, name: given_name, kind: name}]\n",
          f);
    fclose(f);
    FILE *a = fopen(fa, "wb"), *x = fopen(fx, "wb");
    assert_true(a && x);
    fputs("ID,SURNAME,GIVEN,DOB,SEX\n", a);
    fputs("DOC_NO,SURNAME,GIVEN,DOB,SEX,DIR,DATE\n", x);
    int person_of_line[NB * 6 + 2];
    int nx = 0;
    uint64_t s = 987654321;
    for (int i = 0; i < NB; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        char sur[32], giv[32], typo[32];
        name_of((unsigned)(s >> 33) % 8000, sur, sizeof sur);
        name_of((unsigned)(s >> 45) % 8000, giv, sizeof giv);
        int y = 1940 + (int)((s >> 20) % 70), m = 1 + (int)((s >> 12) % 12), dd = 1 + (int)((s >> 5) % 12);
        if (dd == m) /* a swap that stays a valid, different date */
            dd = m % 12 + 1;
        char sex = (s >> 3) & 1 ? 'M' : 'F';
        fprintf(a, "a%d,%s,%s,%04d-%02d-%02d,%c\n", i, sur, giv, y, m, dd, sex);
        snprintf(typo, sizeof typo, "%s", sur);
        typo[2] = typo[2] == 'q' ? 'z' : 'q';
        int ndoc = i % 5 == 0 ? 2 : 1;
        for (int k = 0; k < ndoc; k++)
            for (int c = 0; c < (k ? 2 : 4); c++) {
                const char *sn = !k && c == 1 ? typo : sur;
                int d1 = !k && c == 2 ? m : dd, m1 = !k && c == 2 ? dd : m; /* swapped */
                fprintf(x, "%s%07d,%s,%s,%02d/%02d/%04d,%c,%c,2020-%02d-10\n", k ? "RN" : "PA", i, sn, giv,
                        d1, m1, y, sex, c % 2 ? 'X' : 'E', 1 + c);
                person_of_line[nx++ + 2] = i;
            }
    }
    fclose(a);
    fclose(x);
    nmdi_error err = {0};
    assert_int_equal(nmdi_ingest_init(dir, cfg, &err), 0);
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    nmdi_load_report *lr;
    const char *fa1[] = {fa}, *fx1[] = {fx};
    assert_int_equal(nmdi_ingest_load(&ctx, dir, "census", 1, fa1, NULL, &lr, &err), 0);
    nmdi_load_report_free(lr);
    int rc = nmdi_ingest_load(&ctx, dir, "border", 1, fx1, NULL, &lr, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    nmdi_load_report_free(lr);
    nmdi_spine_report *r = NULL;
    rc = nmdi_spine_build(&ctx, dir, NULL, &r, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(r->nsources, 2);
    assert_int_equal(r->records, NB + nx);
    /* one unit per document: NB + NB/5 documents, every one linked */
    assert_int_equal(r->pairs[0].links, NB + NB / 5);
    assert_int_equal(r->persons, NB);
    nmdi_spine_report_free(r);
    nmdi_dataset *ds;
    assert_int_equal(nmdi_ingest_open_latest(dir, "person_spine", &ds, &err), 0);
    static char pid[2][NB * 6 + 2][16];
    memset(pid, 0, sizeof pid);
    size_t nd = 0;
    const char *const *dict = nmdi_dataset_dict(ds, "source", &nd);
    assert_non_null(dict);
    for (size_t part = 0; part < nmdi_dataset_nparts(ds); part++) {
        const int32_t *src, *line;
        const uint64_t *off;
        const char *bytes;
        const double *pr;
        assert_int_equal(nmdi_dataset_i32(ds, part, "source", &src, &err), 0);
        assert_int_equal(nmdi_dataset_i32(ds, part, "src_line", &line, &err), 0);
        assert_int_equal(nmdi_dataset_str(ds, part, "person_id", &off, &bytes, &err), 0);
        assert_int_equal(nmdi_dataset_f64(ds, part, "match_probability", &pr, &err), 0);
        for (size_t i = 0; i < nmdi_dataset_part_rows(ds, part); i++) {
            int sb = !strcmp(dict[src[i]], "border");
            int l = line[i];
            assert_true(l >= 2 && l < (sb ? nx : NB) + 2);
            snprintf(pid[sb][l], 16, "%.*s", (int)(off[i + 1] - off[i]), bytes + off[i]);
            assert_true(pr[i] >= 0.5 && pr[i] <= 1); /* every record linked */
        }
    }
    nmdi_dataset_close(ds);
    for (int l = 2; l < nx + 2; l++)
        assert_string_equal(pid[1][l], pid[0][person_of_line[l] + 2]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spine),
        cmocka_unit_test(test_border),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
