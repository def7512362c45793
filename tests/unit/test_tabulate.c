/* test_tabulate.c — unit tests of the tabulation engine (src/estimate/tabulate.c):
 * measures, margins against a brute-force recount, exact cell keys independent
 * of record order and partitioning, and the errors of the CSV door. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nmdi/tabulate.h"

static char *write_tmp(const char *content)
{
    char *path = strdup("/tmp/nmdi-tab-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static const nmdi_cell *find2(nmdi_cube *c, const char *a, const char *b)
{
    const char *codes[2] = {a, b};
    return nmdi_cube_find(c, codes);
}

static void test_measures_and_margins(void **state)
{
    (void)state;
    char *p = write_tmp("sex,age,w,y\nF,1,2,10\nM,1,1,5\nF,2,1.5,3\n,1,1,1\nF,1,1,2\n");
    const char *by[] = {"sex", "age"};
    nmdi_tab_spec spec = {.nby = 2, .by = by, .weight = "w", .margins = 1};
    nmdi_error err;
    nmdi_cube *c;
    assert_int_equal(nmdi_tabulate_csv(NULL, p, &spec, &c, &err), 0);
    /* 4 finest (F1 F2 M1 "":1) + 3 sex totals + 2 age totals + grand = 10 */
    assert_int_equal(nmdi_cube_ncells(c), 10);
    assert_string_equal(nmdi_cube_dim(c, 0), "sex");
    const nmdi_cell *x = find2(c, "F", "1");
    assert_non_null(x);
    assert_true(x->value == 3.0 && x->n == 2);
    x = find2(c, "", "1"); /* empty value: a category of its own */
    assert_non_null(x);
    assert_true(x->value == 1.0 && x->n == 1);
    x = find2(c, "_T", "_T");
    assert_true(x->value == 6.5 && x->n == 5);
    x = find2(c, "_T", "1");
    assert_true(x->value == 5.0 && x->n == 4);
    assert_true(isnan(x->ckey));
    /* sorted: byte order, "_T" last; the first row is the empty sex */
    assert_string_equal(nmdi_cube_cell(c, 0)->codes[0], "");
    assert_string_equal(nmdi_cube_cell(c, 9)->codes[0], "_T");
    assert_string_equal(nmdi_cube_cell(c, 9)->codes[1], "_T");
    nmdi_cube_free(c);

    spec.measure = NMDI_TAB_MEAN;
    spec.var = "y";
    assert_int_equal(nmdi_tabulate_csv(NULL, p, &spec, &c, &err), 0);
    x = find2(c, "F", "_T");
    assert_true(fabs(x->value - 26.5 / 4.5) < 1e-15);
    nmdi_cube_free(c);
    spec.measure = NMDI_TAB_SUM;
    assert_int_equal(nmdi_tabulate_csv(NULL, p, &spec, &c, &err), 0);
    x = find2(c, "_T", "_T");
    assert_true(x->value == 20 + 5 + 4.5 + 1 + 2);
    nmdi_cube_free(c);
    unlink(p);
    free(p);
}

/* random records, margins checked against a recount of the records */
static void test_margins_bruteforce(void **state)
{
    (void)state;
    enum { N = 3000, ND = 3 };
    static int rec[N][ND];
    static double w[N];
    nmdi_tab *t = nmdi_tab_new(ND);
    uint64_t s = 42;
    for (int i = 0; i < N; i++) {
        char b[ND][16];
        const char *codes[ND];
        for (int d = 0; d < ND; d++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            rec[i][d] = (int)((s >> 33) % (unsigned)(3 + 2 * d));
            snprintf(b[d], sizeof b[d], "%d", rec[i][d]);
            codes[d] = b[d];
        }
        w[i] = (double)((s >> 20) % 7); /* some zero weights */
        assert_int_equal(nmdi_tab_add(t, codes, NULL, w[i], 0, 0), 0);
    }
    const char *dims[ND] = {"a", "b", "c"};
    nmdi_cube *c;
    nmdi_error err;
    assert_int_equal(nmdi_tab_cube(t, dims, NMDI_TAB_COUNT, 1, 0, &c, &err), 0);
    for (size_t k = 0; k < nmdi_cube_ncells(c); k++) {
        const nmdi_cell *x = nmdi_cube_cell(c, k);
        double sw = 0;
        int64_t n = 0;
        for (int i = 0; i < N; i++) {
            int match = 1;
            for (int d = 0; d < ND && match; d++)
                if (strcmp(x->codes[d], "_T") != 0 && atoi(x->codes[d]) != rec[i][d])
                    match = 0;
            if (match) {
                sw += w[i];
                n++;
            }
        }
        assert_true(n == x->n);
        assert_true(fabs(sw - x->value) < 1e-9);
    }
    /* every combination of levels present: (3+1)(5+1)(7+1) cells at most */
    assert_true(nmdi_cube_ncells(c) <= 4 * 6 * 8);
    assert_int_equal(nmdi_cube_ncells(c), 4 * 6 * 8);
    nmdi_cube_free(c);
    nmdi_tab_free(t);
}

/* cell keys do not depend on the order of records or on partitions */
static void test_cell_keys_exact(void **state)
{
    (void)state;
    enum { N = 500 };
    static double rk[N];
    static char code[N][4];
    uint64_t s = 7;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        rk[i] = (double)(s >> 11) / 9007199254740992.0;
        snprintf(code[i], sizeof code[i], "%c", 'a' + (int)(i % 5));
    }
    nmdi_tab *fwd = nmdi_tab_new(1), *p1 = nmdi_tab_new(1), *p2 = nmdi_tab_new(1);
    for (int i = 0; i < N; i++) {
        const char *c1[1] = {code[i]}, *c2[1] = {code[N - 1 - i]};
        uint64_t k1, k2;
        assert_int_equal(nmdi_tab_key_fixed(rk[i], &k1), 0);
        assert_int_equal(nmdi_tab_key_fixed(rk[N - 1 - i], &k2), 0);
        assert_int_equal(nmdi_tab_add(fwd, c1, NULL, 1, 0, k1), 0);
        assert_int_equal(nmdi_tab_add(i % 2 ? p1 : p2, c2, NULL, 1, 0, k2), 0);
    }
    assert_int_equal(nmdi_tab_merge(p1, p2), 0);
    const char *dims[1] = {"x"};
    nmdi_cube *a, *b;
    nmdi_error err;
    assert_int_equal(nmdi_tab_cube(fwd, dims, NMDI_TAB_COUNT, 1, 1, &a, &err), 0);
    assert_int_equal(nmdi_tab_cube(p1, dims, NMDI_TAB_COUNT, 1, 1, &b, &err), 0);
    assert_int_equal(nmdi_cube_ncells(a), 6);
    assert_int_equal(nmdi_cube_ncells(b), 6);
    for (size_t k = 0; k < 6; k++) {
        const nmdi_cell *x = nmdi_cube_cell(a, k), *y = nmdi_cube_cell(b, k);
        assert_string_equal(x->codes[0], y->codes[0]);
        assert_true(x->ckey == y->ckey); /* bit-identical */
        assert_true(x->ckey >= 0 && x->ckey < 1);
    }
    /* the total's key is the sum of all keys mod 1 (to double precision) */
    double sum = 0;
    for (int i = 0; i < N; i++)
        sum += rk[i];
    double want = sum - floor(sum);
    assert_true(fabs(nmdi_cube_cell(a, 5)->ckey - want) < 1e-9);
    uint64_t k;
    assert_int_equal(nmdi_tab_key_fixed(1.0, &k), -1);
    assert_int_equal(nmdi_tab_key_fixed(-0.1, &k), -1);
    nmdi_cube_free(a);
    nmdi_cube_free(b);
    nmdi_tab_free(fwd);
    nmdi_tab_free(p1);
    nmdi_tab_free(p2);
}

static void expect_error(const char *csv, nmdi_tab_spec *spec, long line, const char *field)
{
    char *p = write_tmp(csv);
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_cube *c = NULL;
    assert_int_equal(nmdi_tabulate_csv(NULL, p, spec, &c, &err), NMDI_EDATA);
    assert_null(c);
    assert_int_equal(err.line, line);
    assert_string_equal(err.field, field);
    assert_string_equal(err.file, p);
    unlink(p);
    free(p);
}

static void test_errors(void **state)
{
    (void)state;
    const char *by[] = {"sex"};
    nmdi_tab_spec spec = {.nby = 1, .by = by, .weight = "w"};
    expect_error("sex,w\nF,1\nM,-2\n", &spec, 3, "w");
    expect_error("sex,w\nF,1\nM,abc\n", &spec, 3, "w");
    expect_error("sex,w\nF,\n", &spec, 2, "w");
    expect_error("sex,wt\nF,1\n", &spec, 1, "w");
    spec.weight = NULL;
    spec.measure = NMDI_TAB_SUM;
    spec.var = "y";
    expect_error("sex,y\nF,1\nM,1x\n", &spec, 3, "y");
    spec.measure = NMDI_TAB_COUNT;
    spec.margins = 1;
    expect_error("sex,y\nF,1\n_T,1\n", &spec, 3, "sex");
    spec.margins = 0;
    spec.rkey = "y";
    expect_error("sex,y\nF,0.5\nM,1\n", &spec, 3, "y");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measures_and_margins),
        cmocka_unit_test(test_margins_bruteforce),
        cmocka_unit_test(test_cell_keys_exact),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
