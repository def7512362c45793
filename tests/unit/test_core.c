/* test_core.c — unit tests of src/core: dates, CSV reader, tables, arena,
 * hash map, number formatting, UTF-8 and the thread pool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nmdi/csv.h"

static void test_dates(void **state)
{
    (void)state;
    nmdi_date d;
    assert_int_equal(nmdi_date_parse("1970-01-01", 10, &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(nmdi_date_parse("2000-02-29", 10, &d), 0);
    assert_int_equal(d, 11016);
    assert_int_equal(nmdi_date_parse("1900-02-29", 10, &d), -1);
    assert_int_equal(nmdi_date_parse("2017-13-01", 10, &d), -1);
    assert_int_equal(nmdi_date_parse("2017-1-01", 9, &d), -1);
    assert_int_equal(nmdi_date_parse("2017/01/01", 10, &d), -1);
    char buf[11];
    /* round trip over 400 years covers every calendar rule */
    for (nmdi_date x = nmdi_date_from_ymd(1800, 1, 1); x < nmdi_date_from_ymd(2200, 1, 1); x += 1) {
        nmdi_date_format(x, buf);
        nmdi_date y;
        assert_int_equal(nmdi_date_parse(buf, 10, &y), 0);
        assert_int_equal(x, y);
    }
    nmdi_date_format(nmdi_date_from_ymd(2017, 1, 1) + 122, buf);
    assert_string_equal(buf, "2017-05-03");
    nmdi_date_format(NMDI_DATE_NONE, buf);
    assert_string_equal(buf, "");
}

static char *write_tmp(const char *content, size_t len)
{
    char *path = strdup("/tmp/nmdi-core-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_csv_dialects(void **state)
{
    (void)state;
    /* BOM, semicolon, CRLF, quotes with "" and embedded newline, no final newline */
    const char txt[] = "\xEF\xBB\xBF"
                       "id;name;note\r\n1;\"Smith; J\";\"say \"\"hi\"\"\"\r\n\r\n2;Li;\"two\nlines\"";
    char *p = write_tmp(txt, sizeof txt - 1);
    nmdi_error err;
    nmdi_table *t;
    assert_int_equal(nmdi_table_read_csv(&t, p, NULL, &err), 0);
    assert_int_equal(t->ncols, 3);
    assert_int_equal(t->nrows, 2);
    assert_string_equal(t->names[0], "id");
    assert_string_equal(nmdi_table_cell(t, 0, 1), "Smith; J");
    assert_string_equal(nmdi_table_cell(t, 0, 2), "say \"hi\"");
    assert_string_equal(nmdi_table_cell(t, 1, 2), "two\nlines");
    assert_int_equal(t->lines[0], 2);
    assert_int_equal(t->lines[1], 4);
    assert_int_equal(nmdi_table_col(t, "note"), 2);
    assert_int_equal(nmdi_table_col(t, "nope"), -1);
    nmdi_table_free(t);
    unlink(p);
    free(p);
}

static void test_csv_errors(void **state)
{
    (void)state;
    nmdi_error err;
    nmdi_table *t = NULL;
    struct {
        const char *txt;
        size_t len;
        long line;
        const char *msg;
    } cases[] = {
        {"a,b\n1,\"open\n2,3\n", 16, 2, "unterminated"},
        {"a,b\n1,2,3\n", 10, 2, "expected 2 fields"},
        {"a,b\n1,\xff\n", 8, 2, "invalid UTF-8"},
        {"a,b\n1,\0\n", 8, 2, "NUL byte"},
        {"", 0, 1, "empty file"},
        {"a,b\n1,\"x\"y\n", 11, 2, "after the closing quote"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = write_tmp(cases[i].txt, cases[i].len);
        assert_int_equal(nmdi_table_read_csv(&t, p, NULL, &err), NMDI_EDATA);
        assert_int_equal(err.line, cases[i].line);
        assert_non_null(strstr(err.msg, cases[i].msg));
        assert_string_equal(err.file, p);
        unlink(p);
        free(p);
    }
    assert_int_equal(nmdi_table_read_csv(&t, "/nonexistent/x.csv", NULL, &err), NMDI_EDATA);
}

static void test_csv_trim(void **state)
{
    (void)state;
    const char txt[] = " id , name \n 1 ,  Ann  \n";
    char *p = write_tmp(txt, sizeof txt - 1);
    nmdi_csv_opts o = {.delim = ',', .trim = 1, .check_utf8 = 1};
    nmdi_error err;
    nmdi_table *t;
    assert_int_equal(nmdi_table_read_csv(&t, p, &o, &err), 0);
    assert_string_equal(t->names[1], "name");
    assert_string_equal(nmdi_table_cell(t, 0, 1), "Ann");
    nmdi_table_free(t);
    unlink(p);
    free(p);
}

static void test_strmap(void **state)
{
    (void)state;
    nmdi_strmap *m = nmdi_strmap_new();
    char key[32];
    for (int i = 0; i < 10000; i++) {
        int ins;
        snprintf(key, sizeof key, "k%d", i);
        int64_t *v = nmdi_strmap_put(m, key, strlen(key), &ins);
        assert_non_null(v);
        assert_int_equal(ins, 1);
        *v = i;
    }
    assert_int_equal(nmdi_strmap_count(m), 10000);
    int64_t *v = nmdi_strmap_get(m, "k4242", 5);
    assert_non_null(v);
    assert_int_equal(*v, 4242);
    assert_null(nmdi_strmap_get(m, "zz", 2));
    size_t it = 0, n = 0;
    const char *k;
    int64_t val;
    while (nmdi_strmap_iter(m, &it, &k, &val))
        n++;
    assert_int_equal(n, 10000);
    nmdi_strmap_free(m);
}

static void test_numbers(void **state)
{
    (void)state;
    char buf[32];
    nmdi_fmt_double(0.1, buf);
    assert_string_equal(buf, "0.1");
    nmdi_fmt_double(1.0 / 3.0, buf);
    assert_true(strtod(buf, NULL) == 1.0 / 3.0);
    nmdi_fmt_double(0.0 / 0.0, buf);
    assert_string_equal(buf, "NA");
    double d;
    assert_int_equal(nmdi_parse_double(" 1.5 ", &d), 0);
    assert_true(d == 1.5);
    assert_int_equal(nmdi_parse_double("1.5x", &d), -1);
    assert_int_equal(nmdi_parse_double("", &d), -1);
    int64_t i;
    assert_int_equal(nmdi_parse_int64("-42", &i), 0);
    assert_int_equal(i, -42);
    assert_int_equal(nmdi_parse_int64("4.2", &i), -1);
    size_t bad;
    assert_int_equal(nmdi_utf8_valid("caf\xc3\xa9 \xe4\xb8\xad", 9, &bad), 1);
    assert_int_equal(nmdi_utf8_valid("ab\xc3", 3, &bad), 0);
    assert_int_equal(bad, 2);
    assert_int_equal(nmdi_utf8_valid("\xed\xa0\x80", 3, &bad), 0); /* surrogate */
}

/* nmdi_pack8 gives what memcpy into a zeroed word gives, for every length */
static void test_pack8(void **state)
{
    (void)state;
    unsigned char b[16];
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int rep = 0; rep < 200; rep++) {
        for (size_t i = 0; i < sizeof b; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[i] = (unsigned char)x;
        }
        for (size_t len = 0; len <= 8; len++)
            for (size_t off = 0; off < 8; off++) {
                uint64_t w = 0;
                memcpy(&w, b + off, len);
                assert_true(nmdi_pack8((const char *)b + off, len) == w);
            }
    }
}

static void test_grow(void **state)
{
    (void)state;
    int *a = NULL;
    size_t cap = 0;
    assert_int_equal(nmdi_grow((void **)&a, &cap, 3, sizeof *a, 8), 0);
    assert_int_equal(cap, 8);
    a[7] = 42;
    assert_int_equal(nmdi_grow((void **)&a, &cap, 8, sizeof *a, 8), 0); /* room already */
    assert_int_equal(cap, 8);
    assert_int_equal(nmdi_grow((void **)&a, &cap, 20, sizeof *a, 8), 0); /* doubles: 16, 32 */
    assert_int_equal(cap, 32);
    assert_int_equal(a[7], 42);
    int *keep = a;
    assert_int_equal(nmdi_grow((void **)&a, &cap, SIZE_MAX / 2, sizeof *a, 8), -1); /* overflow */
    assert_ptr_equal(a, keep);
    assert_int_equal(cap, 32);
    free(a);
    char *b = NULL;
    size_t bcap = 0;
    assert_int_equal(nmdi_grow((void **)&b, &bcap, 100, 1, 0), 0); /* first 0: exactly need */
    assert_int_equal(bcap, 100);
    free(b);
}

static void test_arena(void **state)
{
    (void)state;
    nmdi_arena *a = nmdi_arena_new(1024);
    for (int i = 0; i < 1000; i++) {
        char *s = nmdi_arena_sprintf(a, "item %d", i);
        assert_string_equal(s, i == 0 ? "item 0" : s);
        assert_true(((uintptr_t)nmdi_arena_alloc(a, 3) & 15) == 0);
    }
    void *big = nmdi_arena_alloc(a, 1 << 20);
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    nmdi_arena_free(a);
}

typedef struct {
    atomic_int hits[100];
} pool_arg;

static int pool_fn(void *arg, size_t part)
{
    pool_arg *p = arg;
    atomic_fetch_add(&p->hits[part], 1);
    return part == 37 ? 5 : 0;
}

static void test_pool(void **state)
{
    (void)state;
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.nthreads = 4;
    pool_arg p;
    for (int i = 0; i < 100; i++)
        atomic_init(&p.hits[i], 0);
    assert_int_equal(nmdi_pool_run(&ctx, 100, pool_fn, &p), 5);
    for (int i = 0; i < 100; i++)
        assert_int_equal(atomic_load(&p.hits[i]), 1);
}

static void test_error_format(void **state)
{
    (void)state;
    nmdi_error e;
    char buf[256];
    nmdi_error_at(&e, NMDI_EDATA, "x.csv", 12, "date", "not a date: '%s'", "2017-02-30");
    nmdi_error_format(&e, buf, sizeof buf);
    assert_string_equal(buf, "x.csv:12: field 'date': not a date: '2017-02-30'");
    nmdi_error_set(&e, NMDI_EINTERNAL, "boom");
    nmdi_error_format(&e, buf, sizeof buf);
    assert_string_equal(buf, "boom");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),        cmocka_unit_test(test_csv_dialects),
        cmocka_unit_test(test_csv_errors),   cmocka_unit_test(test_csv_trim),
        cmocka_unit_test(test_strmap),       cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_arena),        cmocka_unit_test(test_grow),        cmocka_unit_test(test_pack8),        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_error_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
