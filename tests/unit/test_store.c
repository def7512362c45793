/* test_store.c — unit tests of the store (src/store): writing and reading
 * every column type across partitions (fixed-width bytes too), dictionaries, checksums that catch
 * damage, the disk-full test hook, and the catalog (migrations, transactions). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nmdi/catalog.h"
#include "nmdi/store.h"
#include "../../src/store/sum64.h"

#include <sodium.h>

static char *tmpdir(void)
{
    char *d = strdup("/tmp/nmdi-store-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rmrf(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

static const nmdi_store_field fields[] = {
    {"key", NMDI_COL_I64}, {"age", NMDI_COL_I32}, {"dob", NMDI_COL_DATE},
    {"w", NMDI_COL_F64},   {"note", NMDI_COL_STR}, {"sex", NMDI_COL_CODE},
};

static void write_rows(nmdi_store_writer *w, int n)
{
    nmdi_error err;
    for (int i = 0; i < n; i++) {
        nmdi_store_row_begin(w, (uint32_t)(i % 3));
        nmdi_store_put_i64(w, 0, i * 1000003LL);
        nmdi_store_put_i32(w, 1, i % 7 == 0 ? NMDI_I32_NONE : i);
        nmdi_store_put_i32(w, 2, 10000 + i);
        nmdi_store_put_f64(w, 3, i % 5 == 0 ? NAN : i / 2.0);
        char note[32];
        int len = snprintf(note, sizeof note, "n%d", i);
        nmdi_store_put_str(w, 4, note, i % 4 == 0 ? 0 : (size_t)len);
        nmdi_store_put_str(w, 5, i % 2 ? "F" : "M", i % 9 == 0 ? 0 : 1);
        assert_int_equal(nmdi_store_row_end(w, &err), 0);
    }
}

static void test_roundtrip(void **state)
{
    (void)state;
    char *d = tmpdir();
    nmdi_store_writer *w;
    nmdi_error err;
    nmdi_store_opts o = {3, 0};
    assert_int_equal(nmdi_store_writer_open(&w, d, "ds", "1", 6, fields, &o, &err), 0);
    write_rows(w, 50000);
    char *path;
    assert_int_equal(nmdi_store_writer_finish(w, "{\"source\":\"x\"}", &path, &err), 0);
    nmdi_dataset *ds;
    assert_int_equal(nmdi_dataset_open(&ds, path, &err), 0);
    assert_int_equal(nmdi_dataset_nparts(ds), 3);
    assert_int_equal(nmdi_dataset_rows(ds), 50000);
    assert_int_equal(nmdi_dataset_verify(ds, &err), 0);
    assert_non_null(strstr(nmdi_dataset_meta(ds), "\"source\""));
    size_t ndict;
    const char *const *dict = nmdi_dataset_dict(ds, "sex", &ndict);
    assert_int_equal(ndict, 2);
    for (size_t p = 0; p < 3; p++) {
        const int64_t *key;
        const int32_t *age, *dob, *sex;
        const double *wt;
        const uint64_t *off;
        const char *bytes;
        assert_int_equal(nmdi_dataset_i64(ds, p, "key", &key, &err), 0);
        assert_int_equal(nmdi_dataset_i32(ds, p, "age", &age, &err), 0);
        assert_int_equal(nmdi_dataset_i32(ds, p, "dob", &dob, &err), 0);
        assert_int_equal(nmdi_dataset_i32(ds, p, "sex", &sex, &err), 0);
        assert_int_equal(nmdi_dataset_f64(ds, p, "w", &wt, &err), 0);
        assert_int_equal(nmdi_dataset_str(ds, p, "note", &off, &bytes, &err), 0);
        for (uint64_t r = 0; r < nmdi_dataset_part_rows(ds, p); r++) {
            int i = (int)(r * 3 + p);
            assert_int_equal(key[r], i * 1000003LL);
            assert_int_equal(age[r], i % 7 == 0 ? NMDI_I32_NONE : i);
            assert_int_equal(dob[r], 10000 + i);
            assert_true(i % 5 == 0 ? isnan(wt[r]) : wt[r] == i / 2.0);
            char note[32];
            int len = snprintf(note, sizeof note, "n%d", i);
            size_t got = (size_t)(off[r + 1] - off[r]);
            assert_int_equal(got, i % 4 == 0 ? 0 : (size_t)len);
            assert_memory_equal(bytes + off[r], note, got);
            if (i % 9 == 0)
                assert_int_equal(sex[r], -1);
            else
                assert_string_equal(dict[sex[r]], i % 2 ? "F" : "M");
        }
    }
    const int32_t *x;
    assert_int_not_equal(nmdi_dataset_i32(ds, 0, "nope", &x, &err), 0);
    assert_int_not_equal(nmdi_dataset_i32(ds, 0, "key", &x, &err), 0); /* wrong type */
    nmdi_dataset_close(ds);
    /* damage one byte: verify fails */
    char f[4200];
    snprintf(f, sizeof f, "%s/p001/dob.i32", path);
    FILE *fp = fopen(f, "r+b");
    assert_non_null(fp);
    fseek(fp, 8, SEEK_SET);
    fputc(0x55, fp);
    fclose(fp);
    assert_int_equal(nmdi_dataset_open(&ds, path, &err), 0);
    assert_int_equal(nmdi_dataset_verify(ds, &err), NMDI_EDATA);
    assert_non_null(strstr(err.msg, "checksum"));
    nmdi_dataset_close(ds);
    /* the same version cannot be written twice */
    assert_int_not_equal(nmdi_store_writer_open(&w, d, "ds", "1", 6, fields, &o, &err), 0);
    free(path);
    rmrf(d);
    free(d);
}

static void test_disk_full_and_empty(void **state)
{
    (void)state;
    char *d = tmpdir();
    nmdi_store_writer *w;
    nmdi_error err;
    nmdi_store_opts o = {2, 5000};
    assert_int_equal(nmdi_store_writer_open(&w, d, "ds", "1", 6, fields, &o, &err), 0);
    int failed = 0;
    for (int i = 0; i < 100000 && !failed; i++) {
        nmdi_store_row_begin(w, 0);
        for (size_t f = 0; f < 6; f++)
            if (fields[f].type == NMDI_COL_I64) nmdi_store_put_i64(w, f, i);
            else if (fields[f].type == NMDI_COL_F64) nmdi_store_put_f64(w, f, i);
            else if (fields[f].type == NMDI_COL_STR || fields[f].type == NMDI_COL_CODE) nmdi_store_put_str(w, f, "abc", 3);
            else nmdi_store_put_i32(w, f, i);
        failed = nmdi_store_row_end(w, &err) != 0;
    }
    char *path = NULL;
    if (!failed)
        failed = nmdi_store_writer_finish(w, NULL, &path, &err) != 0;
    else
        nmdi_store_writer_abort(w);
    assert_true(failed);
    assert_non_null(strstr(err.msg, "disk full"));
    char p[4200];
    snprintf(p, sizeof p, "%s/ds/1", d);
    struct stat st;
    assert_int_not_equal(stat(p, &st), 0); /* nothing visible */
    /* an empty version is valid */
    o.fail_after_bytes = 0;
    assert_int_equal(nmdi_store_writer_open(&w, d, "ds", "2", 6, fields, &o, &err), 0);
    assert_int_equal(nmdi_store_writer_finish(w, NULL, &path, &err), 0);
    nmdi_dataset *ds;
    assert_int_equal(nmdi_dataset_open(&ds, path, &err), 0);
    assert_int_equal(nmdi_dataset_rows(ds), 0);
    assert_int_equal(nmdi_dataset_verify(ds, &err), 0);
    const uint64_t *off;
    const char *bytes;
    assert_int_equal(nmdi_dataset_str(ds, 1, "note", &off, &bytes, &err), 0);
    assert_int_equal(off[0], 0);
    nmdi_dataset_close(ds);
    free(path);
    rmrf(d);
    free(d);
}

static int count_v(void *arg, const nmdi_dsversion *v)
{
    (*(int *)arg)++;
    assert_string_equal(v->dataset, "census");
    return 0;
}

/* The store checksum: the same for any split of the bytes between updates,
 * different for one changed bit, for a shorter file and for swapped halves. */
static void test_sum64(void **state)
{
    (void)state;
    unsigned char buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    sum64 s;
    sum64_init(&s);
    sum64_update(&s, buf, sizeof buf);
    uint64_t whole = sum64_final(&s);
    for (size_t cut = 0; cut <= sizeof buf; cut += 7)
        for (size_t cut2 = cut; cut2 <= sizeof buf; cut2 += 101) {
            sum64_init(&s);
            sum64_update(&s, buf, cut);
            sum64_update(&s, buf + cut, cut2 - cut);
            sum64_update(&s, buf + cut2, sizeof buf - cut2);
            assert_true(sum64_final(&s) == whole);
        }
    for (size_t n = 0; n < sizeof buf; n += 13) {
        sum64_init(&s);
        sum64_update(&s, buf, n);
        assert_true(sum64_final(&s) != whole);
    }
    for (size_t bit = 0; bit < 8 * sizeof buf; bit += 61) {
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        sum64_init(&s);
        sum64_update(&s, buf, sizeof buf);
        assert_true(sum64_final(&s) != whole);
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    sum64_init(&s);
    sum64_update(&s, buf + 500, 500);
    sum64_update(&s, buf, 500);
    assert_true(sum64_final(&s) != whole);
    char hex[17];
    sum64_hex(0x0123456789abcdefULL, hex);
    assert_string_equal(hex, "0123456789abcdef");
}

/* A version written before sum64 (BLAKE2b-256 in its manifest) still verifies. */
static void test_old_manifest(void **state)
{
    (void)state;
    char *d = strdup("/tmp/nmdi-store-old-XXXXXX");
    assert_non_null(mkdtemp(d));
    nmdi_store_field xf[] = {{"x", NMDI_COL_I32}};
    nmdi_store_opts o = {1, 0};
    nmdi_store_writer *w;
    nmdi_error err;
    assert_int_equal(nmdi_store_writer_open(&w, d, "ds", "1", 1, xf, &o, &err), 0);
    for (int i = 0; i < 10; i++) {
        nmdi_store_row_begin(w, 0);
        nmdi_store_put_i32(w, 0, i);
        assert_int_equal(nmdi_store_row_end(w, &err), 0);
    }
    char *path;
    assert_int_equal(nmdi_store_writer_finish(w, NULL, &path, &err), 0);
    /* rewrite the manifest's sum64 of x.i32 as the BLAKE2b of the file */
    char mf[4200], text[8192];
    snprintf(mf, sizeof mf, "%s/manifest.json", path);
    FILE *fp = fopen(mf, "rb");
    assert_non_null(fp);
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = 0;
    int32_t data[10];
    for (int i = 0; i < 10; i++)
        data[i] = i;
    unsigned char h[32];
    char hex[65], repl[8300];
    assert_int_equal(sodium_init() >= 0, 1);
    crypto_generichash(h, 32, (const unsigned char *)data, sizeof data, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, 32);
    char *at = strstr(text, "\"sum64\"");
    assert_non_null(at);
    char *q1 = strchr(at + 7, '"');
    assert_non_null(q1);
    char *end = strchr(q1 + 1, '"');
    assert_non_null(end);
    *at = 0;
    snprintf(repl, sizeof repl, "%s\"blake2b\": \"%s%s", text, hex, end);
    fp = fopen(mf, "wb");
    fputs(repl, fp);
    fclose(fp);
    nmdi_dataset *ds;
    assert_int_equal(nmdi_dataset_open(&ds, path, &err), 0);
    assert_int_equal(nmdi_dataset_verify(ds, &err), 0);
    nmdi_dataset_close(ds);
    /* and a wrong BLAKE2b is caught */
    hex[0] = hex[0] == '0' ? '1' : '0';
    snprintf(repl, sizeof repl, "%s\"blake2b\": \"%s%s", text, hex, end);
    fp = fopen(mf, "wb");
    fputs(repl, fp);
    fclose(fp);
    assert_int_equal(nmdi_dataset_open(&ds, path, &err), 0);
    assert_int_equal(nmdi_dataset_verify(ds, &err), NMDI_EDATA);
    nmdi_dataset_close(ds);
    free(path);
    rmrf(d);
    free(d);
}

/* Write-behind: more than one 32 MiB round of column appends, then finish
 * (same files, checksums verified); and an abort with the thread running. */
static void test_write_behind(void **state)
{
    (void)state;
    char *d = tmpdir();
    static const nmdi_store_field f1[1] = {{"v", NMDI_COL_I64}};
    nmdi_store_writer *w;
    nmdi_error err;
    nmdi_store_opts o = {2, 0};
    assert_int_equal(nmdi_store_writer_open(&w, d, "wb", "1", 1, f1, &o, &err), 0);
    nmdi_store_writer_write_behind(w);
    nmdi_store_writer_write_behind(w); /* a second call changes nothing */
    enum { CH = 1 << 16, NCH = 80 };   /* 80 x 64 Ki x 8 bytes = 40 MiB */
    int64_t *v = malloc(CH * sizeof *v);
    assert_non_null(v);
    for (int c = 0; c < NCH; c++) {
        for (int i = 0; i < CH; i++)
            v[i] = (int64_t)c * CH + i;
        const void *cols[1] = {v};
        assert_int_equal(nmdi_store_append_columns(w, (uint32_t)(c % 2), CH, cols, &err), 0);
    }
    char *path;
    assert_int_equal(nmdi_store_writer_finish(w, NULL, &path, &err), 0);
    nmdi_dataset *ds;
    assert_int_equal(nmdi_dataset_open(&ds, path, &err), 0);
    assert_int_equal(nmdi_dataset_verify(ds, &err), 0);
    assert_int_equal(nmdi_dataset_rows(ds), (uint64_t)CH * NCH);
    const int64_t *r;
    assert_int_equal(nmdi_dataset_i64(ds, 1, "v", &r, &err), 0);
    for (int c = 1, j = 0; c < NCH; c += 2)
        for (int i = 0; i < CH; i++, j++)
            assert_true(r[j] == (int64_t)c * CH + i);
    nmdi_dataset_close(ds);
    free(path);
    assert_int_equal(nmdi_store_writer_open(&w, d, "wb", "2", 1, f1, &o, &err), 0);
    nmdi_store_writer_write_behind(w);
    const void *cols[1] = {v};
    assert_int_equal(nmdi_store_append_columns(w, 0, CH, cols, &err), 0);
    nmdi_store_writer_abort(w);
    free(v);
    rmrf(d);
    free(d);
}

/* Direct writes (nmdi_store_writer_direct): aligned appends past the page
 * cache, unaligned ones and whatever follows an unaligned tail through it,
 * the same contents and checksums either way, and the disk-full hook. Run
 * in /tmp and in the working directory (one of them usually a file system
 * with O_DIRECT, the other perhaps not: the fallback). */
static void direct_in(const char *base)
{
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/nmdi-direct-XXXXXX", base);
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    static const nmdi_store_field f2[2] = {{"v", NMDI_COL_I64}, {"x", NMDI_COL_I32}};
    enum { CH = 32768 };
    int64_t *v = aligned_alloc(4096, CH * sizeof *v);
    int32_t *x = aligned_alloc(4096, CH * sizeof *x);
    assert_non_null(v), assert_non_null(x);
    for (int i = 0; i < CH; i++)
        v[i] = 3 * (int64_t)i - 7, x[i] = i ^ 0x5a5a;
    const void *cols[2] = {v, x};
    /* rows appended to partition 0 and 1: (offset into the arrays, rows) */
    static const int plan[][3] = {{0, 0, CH},  {0, 0, CH},   {0, 5, 1000}, {0, 0, CH},
                                  {1, 0, 100}, {1, 0, CH},   {0, 0, CH / 2}, {1, 3, CH - 3}};
    enum { NP = sizeof plan / sizeof plan[0] };
    for (int mode = 0; mode < 2; mode++) {
        nmdi_store_writer *w;
        nmdi_error err;
        nmdi_store_opts o = {2, 0};
        char ver[16];
        snprintf(ver, sizeof ver, "%d", mode + 1);
        assert_int_equal(nmdi_store_writer_open(&w, d, "dio", ver, 2, f2, &o, &err), 0);
        if (mode)
            nmdi_store_writer_direct(w);
        for (int k = 0; k < NP; k++) {
            const void *c2[2] = {v + plan[k][1], x + plan[k][1]};
            assert_int_equal(nmdi_store_append_columns(w, (uint32_t)plan[k][0], (size_t)plan[k][2], c2, &err), 0);
        }
        char *path;
        assert_int_equal(nmdi_store_writer_finish(w, NULL, &path, &err), 0);
        nmdi_dataset *ds;
        assert_int_equal(nmdi_dataset_open(&ds, path, &err), 0);
        assert_int_equal(nmdi_dataset_verify(ds, &err), 0);
        for (uint32_t p = 0; p < 2; p++) {
            const int64_t *rv;
            const int32_t *rx;
            assert_int_equal(nmdi_dataset_i64(ds, p, "v", &rv, &err), 0);
            assert_int_equal(nmdi_dataset_i32(ds, p, "x", &rx, &err), 0);
            size_t j = 0;
            for (int k = 0; k < NP; k++)
                for (int i = 0; plan[k][0] == (int)p && i < plan[k][2]; i++, j++)
                    assert_true(rv[j] == v[plan[k][1] + i] && rx[j] == x[plan[k][1] + i]);
            assert_int_equal(nmdi_dataset_part_rows(ds, p), j);
        }
        nmdi_dataset_close(ds);
        free(path);
        /* the disk-full hook stops direct writes too, and nothing is committed */
        o.fail_after_bytes = 5 * CH * 8;
        assert_int_equal(nmdi_store_writer_open(&w, d, "dio", "9", 2, f2, &o, &err), 0);
        if (mode)
            nmdi_store_writer_direct(w);
        int rc = 0;
        for (int k = 0; k < 20 && !rc; k++)
            rc = nmdi_store_append_columns(w, 0, CH, cols, &err);
        if (!rc)
            rc = nmdi_store_writer_finish(w, NULL, NULL, &err);
        else
            nmdi_store_writer_abort(w);
        assert_int_equal(rc, NMDI_EDATA);
        assert_non_null(strstr(err.msg, "disk full"));
        char p9[4200];
        snprintf(p9, sizeof p9, "%s/dio/9", d);
        struct stat st;
        assert_true(stat(p9, &st) < 0);
    }
    free(v), free(x);
    rmrf(d);
}

static void test_direct(void **state)
{
    (void)state;
    direct_in("/tmp");
    direct_in(".");
}

/* Column appends (codes by dictionary index) mixed with row puts: same files. */
static void test_append_columns(void **state)
{
    (void)state;
    char *d = tmpdir();
    static const nmdi_store_field cf[3] = {
        {"k", NMDI_COL_I64}, {"c", NMDI_COL_CODE}, {"dt", NMDI_COL_DATE}};
    nmdi_store_writer *w;
    nmdi_error err;
    nmdi_store_opts o = {2, 0};
    assert_int_equal(nmdi_store_writer_open(&w, d, "cols", "1", 3, cf, &o, &err), 0);
    nmdi_store_row_begin(w, 1);
    nmdi_store_put_i64(w, 0, -5);
    nmdi_store_put_str(w, 1, "B", 1);
    nmdi_store_put_i32(w, 2, 7);
    assert_int_equal(nmdi_store_row_end(w, &err), 0);
    assert_int_equal(nmdi_store_code_index(w, 1, "B", 1), 0);
    assert_int_equal(nmdi_store_code_index(w, 1, "A", 1), 1);
    assert_int_equal(nmdi_store_code_index(w, 1, "", 0), -1);
    assert_int_equal(nmdi_store_code_index(w, 0, "A", 1), -2);
    enum { N = 40000 };
    int64_t *k = malloc(N * sizeof *k);
    int32_t *c = malloc(N * sizeof *c), *dt = malloc(N * sizeof *dt);
    assert_non_null(k), assert_non_null(c), assert_non_null(dt);
    for (int i = 0; i < N; i++)
        k[i] = i, c[i] = i % 3 == 2 ? -1 : i % 3, dt[i] = 2 * i;
    const void *cols[3] = {k, c, dt};
    assert_int_equal(nmdi_store_append_columns(w, 1, N, cols, &err), 0);
    assert_int_equal(nmdi_store_append_columns(w, 0, 3, cols, &err), 0);
    assert_int_equal(nmdi_store_writer_rows(w), N + 4);
    char *path;
    assert_int_equal(nmdi_store_writer_finish(w, NULL, &path, &err), 0);
    nmdi_dataset *ds;
    assert_int_equal(nmdi_dataset_open(&ds, path, &err), 0);
    assert_int_equal(nmdi_dataset_verify(ds, &err), 0);
    assert_int_equal(nmdi_dataset_part_rows(ds, 0), 3);
    assert_int_equal(nmdi_dataset_part_rows(ds, 1), N + 1);
    nmdi_dataset_populate(ds, 1, "k"); /* mapped at once; unknown field or partition: nothing */
    nmdi_dataset_populate(ds, 0, "no_such_field");
    nmdi_dataset_populate(ds, 7, "k");
    size_t nd;
    const char *const *dict = nmdi_dataset_dict(ds, "c", &nd);
    assert_int_equal(nd, 2);
    assert_string_equal(dict[0], "B");
    assert_string_equal(dict[1], "A");
    const int64_t *rk;
    const int32_t *rc, *rd;
    assert_int_equal(nmdi_dataset_i64(ds, 1, "k", &rk, &err), 0);
    assert_int_equal(nmdi_dataset_i32(ds, 1, "c", &rc, &err), 0);
    assert_int_equal(nmdi_dataset_i32(ds, 1, "dt", &rd, &err), 0);
    assert_true(rk[0] == -5 && rc[0] == 0 && rd[0] == 7);
    for (int i = 0; i < N; i++)
        assert_true(rk[i + 1] == i && rc[i + 1] == c[i] && rd[i + 1] == 2 * i);
    nmdi_dataset_close(ds);
    free(path), free(k), free(c), free(dt);
    rmrf(d);
    free(d);
}

/* Fixed-width byte columns (BYTES): rows through put and append_columns,
 * missing values as zero bytes, the manifest type, checksums, the text form
 * of exports, and the errors of a BYTES field without a width. */
static void test_bytes(void **state)
{
    (void)state;
    char *d = tmpdir();
    static const nmdi_store_field bf[3] = {
        {"k", NMDI_COL_I64}, {"name_qgram", NMDI_COL_BYTES}, {"raw", NMDI_COL_BYTES}};
    nmdi_store_writer *w;
    nmdi_error err;
    nmdi_store_opts o = {2, 0};
    assert_int_equal(nmdi_store_writer_open(&w, d, "b", "1", 3, bf, &o, &err), 0);
    assert_int_equal(nmdi_store_writer_set_width(w, 0, 8, &err), NMDI_EINTERNAL); /* not BYTES */
    assert_int_equal(nmdi_store_writer_set_width(w, 1, 0, &err), NMDI_EINTERNAL);
    assert_int_equal(nmdi_store_writer_set_width(w, 1, 64, &err), 0);
    assert_int_equal(nmdi_store_writer_set_width(w, 2, 3, &err), 0);
    enum { N = 5000 };
    unsigned char q[64];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < 64; j++)
            q[j] = (unsigned char)(i * 7 + j);
        unsigned char r[3] = {(unsigned char)i, 0, 0xff};
        nmdi_store_row_begin(w, (uint32_t)(i % 2));
        nmdi_store_put_i64(w, 0, i);
        nmdi_store_put_bytes(w, 1, i % 10 == 3 ? NULL : q);
        nmdi_store_put_bytes(w, 2, r);
        assert_int_equal(nmdi_store_row_end(w, &err), 0);
    }
    /* by columns: 3 rows to partition 0 */
    int64_t ck[3] = {-1, -2, -3};
    unsigned char cq[3 * 64] = {0}, cr[3 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    cq[64] = 0x5a;
    const void *cols[3] = {ck, cq, cr};
    assert_int_equal(nmdi_store_append_columns(w, 0, 3, cols, &err), 0);
    char *path;
    assert_int_equal(nmdi_store_writer_finish(w, NULL, &path, &err), 0);
    nmdi_dataset *ds;
    assert_int_equal(nmdi_dataset_open(&ds, path, &err), 0);
    assert_int_equal(nmdi_dataset_verify(ds, &err), 0);
    assert_int_equal(nmdi_dataset_field(ds, 1)->type, NMDI_COL_BYTES);
    assert_int_equal(nmdi_dataset_width(ds, 1), 64);
    assert_int_equal(nmdi_dataset_width(ds, 2), 3);
    assert_int_equal(nmdi_dataset_width(ds, 0), 0);
    const unsigned char *bq, *br;
    size_t wq = 0, wr = 0;
    const int64_t *k;
    assert_int_equal(nmdi_dataset_bytes(ds, 0, "name_qgram", &bq, &wq, &err), 0);
    assert_int_equal(nmdi_dataset_bytes(ds, 0, "raw", &br, &wr, &err), 0);
    assert_int_equal(nmdi_dataset_i64(ds, 0, "k", &k, &err), 0);
    assert_int_equal(wq, 64);
    assert_int_equal(wr, 3);
    assert_int_equal(nmdi_dataset_part_rows(ds, 0), N / 2 + 3);
    static const unsigned char zero[64];
    for (size_t r = 0; r < N / 2; r++) {
        int i = (int)k[r];
        assert_int_equal(i % 2, 0);
        if (i % 10 == 3)
            assert_memory_equal(bq + r * 64, zero, 64);
        for (int j = 0; i % 10 != 3 && j < 64; j++)
            assert_int_equal(bq[r * 64 + (size_t)j], (unsigned char)(i * 7 + j));
        assert_true(br[r * 3] == (unsigned char)i && br[r * 3 + 1] == 0 && br[r * 3 + 2] == 0xff);
    }
    assert_true(k[N / 2 + 1] == -2 && bq[(N / 2 + 1) * 64] == 0x5a && br[(N / 2 + 2) * 3] == 7);
    /* text: "b1:" + hex for *_qgram fields, hex otherwise, "" when all zero */
    char text[2 * 64 + 4];
    nmdi_store_bytes_text("name_qgram", bq, 64, text, sizeof text);
    assert_int_equal(strlen(text), 131);
    assert_memory_equal(text, "b1:00010203", 11);
    nmdi_store_bytes_text("raw", br, 3, text, sizeof text);
    assert_string_equal(text, "0000ff");
    assert_string_equal(nmdi_store_bytes_text("name_qgram", zero, 64, text, sizeof text), "");
    /* the accessors check the type */
    const uint64_t *off;
    const char *sb;
    assert_int_equal(nmdi_dataset_str(ds, 0, "name_qgram", &off, &sb, &err), NMDI_EDATA);
    assert_int_equal(nmdi_dataset_bytes(ds, 0, "k", &bq, &wq, &err), NMDI_EDATA);
    nmdi_dataset_close(ds);
    /* the manifest names the width */
    char mpath[600], line[256];
    snprintf(mpath, sizeof mpath, "%s/manifest.json", path);
    FILE *f = fopen(mpath, "r");
    assert_non_null(f);
    int seen = 0;
    while (fgets(line, sizeof line, f))
        seen += strstr(line, "\"bytes64\"") != NULL || strstr(line, "\"bytes3\"") != NULL;
    fclose(f);
    assert_int_equal(seen, 2);
    free(path);
    /* a BYTES field without a width: the row and the finish fail */
    assert_int_equal(nmdi_store_writer_open(&w, d, "b", "2", 3, bf, &o, &err), 0);
    assert_int_equal(nmdi_store_writer_set_width(w, 1, 64, &err), 0);
    nmdi_store_row_begin(w, 0);
    nmdi_store_put_i64(w, 0, 1);
    nmdi_store_put_bytes(w, 1, q);
    nmdi_store_put_bytes(w, 2, q);
    assert_int_equal(nmdi_store_row_end(w, &err), NMDI_EINTERNAL);
    assert_int_not_equal(nmdi_store_writer_finish(w, NULL, NULL, &err), 0);
    assert_int_equal(nmdi_store_writer_open(&w, d, "b", "3", 3, bf, &o, &err), 0);
    assert_int_not_equal(nmdi_store_writer_finish(w, NULL, NULL, &err), 0);
    rmrf(d);
    free(d);
}

static void test_catalog(void **state)
{
    (void)state;
    char *d = tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/catalog.db", d);
    nmdi_catalog *c;
    nmdi_error err;
    assert_int_equal(nmdi_catalog_create(&c, path, &err), 0);
    assert_int_equal(nmdi_catalog_schema_version(c), NMDI_CATALOG_SCHEMA);
    int64_t v;
    assert_int_equal(nmdi_catalog_next_version(c, "census", &v, &err), 0);
    assert_int_equal(v, 1);
    /* a rolled-back transaction leaves nothing */
    assert_int_equal(nmdi_catalog_begin(c, &err), 0);
    nmdi_dsversion dv = {0, "census", 1, "census", "person", "store/census/1", 3, 2, 1, 8, "2026-01-01T00:00:00Z", "{}"};
    assert_int_equal(nmdi_catalog_add_version(c, &dv, &err), 0);
    assert_int_equal(nmdi_catalog_add_quarantine(c, dv.id, "f.csv", 3, "R", "sex", "9", "bad", &err), 0);
    nmdi_catalog_rollback(c);
    int n = 0;
    assert_int_equal(nmdi_catalog_versions(c, NULL, count_v, &n, &err), 0);
    assert_int_equal(n, 0);
    /* committed */
    assert_int_equal(nmdi_catalog_begin(c, &err), 0);
    assert_int_equal(nmdi_catalog_add_version(c, &dv, &err), 0);
    assert_int_equal(nmdi_catalog_commit(c, &err), 0);
    assert_int_equal(nmdi_catalog_versions(c, "census", count_v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(nmdi_catalog_has_version(c, "census", 1), 1);
    assert_int_equal(nmdi_catalog_next_version(c, "census", &v, &err), 0);
    assert_int_equal(v, 2);
    nmdi_catalog_close(c);
    /* reopen read-only; a catalog cannot be created twice */
    assert_int_equal(nmdi_catalog_open(&c, path, 1, &err), 0);
    assert_int_equal(nmdi_catalog_schema_version(c), NMDI_CATALOG_SCHEMA);
    nmdi_catalog_close(c);
    assert_int_not_equal(nmdi_catalog_create(&c, path, &err), 0);
    rmrf(d);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_disk_full_and_empty),
        cmocka_unit_test(test_catalog),
        cmocka_unit_test(test_append_columns),
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_write_behind),
        cmocka_unit_test(test_direct),
        cmocka_unit_test(test_sum64),
        cmocka_unit_test(test_old_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
