/* test_protect.c — unit tests of src/protect: the ptable (the example of
 * STANDARDS.md §9 and the constraints of every row), CSV ptables, the cell key
 * method (zeros stay zero, determinism, js, bounded noise, frequencies),
 * record keys, suppression checked by an independent margin solver (the
 * null space of the margin equations by SVD), survey rules, k-anonymity
 * checked by brute force, and the stage over a directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <gsl/gsl_linalg.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nmdi/protect.h"
#include "nmdi/tabulate.h"

/* ---- ptables ---------------------------------------------------------------------- */
static void check_ptable(const nmdi_ptable *pt, int D, double V, int js)
{
    int cap = nmdi_ptable_cap(pt);
    assert_int_equal(cap, D + js + 1);
    size_t k = 0, n = nmdi_ptable_nrows(pt);
    for (int i = 0; i <= cap; i++) {
        double sum = 0, mean = 0, var = 0, prev_ub = 0;
        int first = 1;
        while (k < n && nmdi_ptable_row_at(pt, k)->i == i) {
            const nmdi_ptable_row *r = nmdi_ptable_row_at(pt, k++);
            assert_int_equal(r->v, r->j - r->i);
            assert_true(r->j >= 0);
            assert_true(r->v >= -D && r->v <= D);
            assert_false(r->j >= 1 && r->j <= js); /* counts 1..js never published */
            assert_true(r->p > 0);
            if (first)
                assert_true(r->lb == 0);
            else
                assert_true(fabs(r->lb - prev_ub) < 1e-15);
            assert_true(r->ub > r->lb);
            prev_ub = r->ub;
            first = 0;
            sum += r->p;
            mean += r->p * r->v;
            var += r->p * r->v * r->v;
        }
        assert_false(first); /* every row present */
        assert_true(prev_ub == 1.0);
        assert_true(fabs(sum - 1) < 1e-12);
        assert_true(fabs(mean) < 1e-9);
        if (i == 0)
            assert_true(var == 0);
        else if (i == cap)
            assert_true(fabs(var - V) < 1e-9);
        else if (i > js)
            assert_true(var <= V + 1e-9); /* variance at most V (ptable's optim 1) */
    }
    assert_int_equal(k, n);
}

static double row_p(const nmdi_ptable *pt, int i, int j)
{
    for (size_t k = 0; k < nmdi_ptable_nrows(pt); k++) {
        const nmdi_ptable_row *r = nmdi_ptable_row_at(pt, k);
        if (r->i == i && r->j == j)
            return r->p;
    }
    return -1;
}

static void test_ptable_example(void **state)
{
    (void)state;
    nmdi_ptable *pt;
    nmdi_error err;
    assert_int_equal(nmdi_ptable_build(&pt, 2, 1.08, 1, &err), 0);
    /* STANDARDS.md §9: i=1 -> 0 (0.51333), 2 (0.46000), 3 (0.02667) */
    assert_true(fabs(row_p(pt, 1, 0) - 0.51333) < 5e-6);
    assert_true(fabs(row_p(pt, 1, 2) - 0.46000) < 5e-6);
    assert_true(fabs(row_p(pt, 1, 3) - 0.02667) < 5e-6);
    assert_true(row_p(pt, 1, 1) < 0); /* 1 is never published */
    assert_true(row_p(pt, 0, 0) == 1.0);
    check_ptable(pt, 2, 1.08, 1);
    /* the last row is symmetric (all of -D..D allowed) */
    int cap = nmdi_ptable_cap(pt);
    for (int v = 1; v <= 2; v++)
        assert_true(fabs(row_p(pt, cap, cap + v) - row_p(pt, cap, cap - v)) < 1e-12);
    /* rows with 0 in their support are non-decreasing up to 0 (ptable's mono) */
    assert_true(row_p(pt, 2, 0) <= row_p(pt, 2, 2) + 1e-12);
    assert_true(row_p(pt, 3, 2) <= row_p(pt, 3, 3) + 1e-12);
    assert_string_equal(nmdi_ptable_describe(pt), "cell key method (D=2, V=1.08, js=1)");
    nmdi_ptable_free(pt);

    int params[][2] = {{3, 2}, {5, 2}, {4, 0}, {1, 1}, {3, 3}};
    double vs[] = {2.0, 3.0, 1.5, 0.5, 1.2};
    for (size_t t = 0; t < 5; t++) {
        assert_int_equal(nmdi_ptable_build(&pt, params[t][0], vs[t], params[t][1], &err), 0);
        check_ptable(pt, params[t][0], vs[t], params[t][1]);
        nmdi_ptable_free(pt);
    }
    assert_int_equal(nmdi_ptable_build(&pt, 2, 4.0, 1, &err), NMDI_EDATA); /* V >= D^2 */
    assert_int_equal(nmdi_ptable_build(&pt, 2, 0, 1, &err), NMDI_EDATA);
    assert_int_equal(nmdi_ptable_build(&pt, 1, 0.5, 2, &err), NMDI_EDATA); /* js > D */
}

static char *tmp_file(const char *content)
{
    char *path = strdup("/tmp/nmdi-protect-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_ptable_csv(void **state)
{
    (void)state;
    nmdi_ptable *pt, *back;
    nmdi_error err;
    assert_int_equal(nmdi_ptable_build(&pt, 3, 2.0, 2, &err), 0);
    char *path = tmp_file("");
    FILE *f = fopen(path, "w");
    assert_int_equal(nmdi_ptable_write_csv(pt, f), 0);
    fclose(f);
    assert_int_equal(nmdi_ptable_read_csv(&back, path, &err), 0);
    assert_int_equal(nmdi_ptable_nrows(back), nmdi_ptable_nrows(pt));
    for (size_t k = 0; k < nmdi_ptable_nrows(pt); k++) {
        const nmdi_ptable_row *a = nmdi_ptable_row_at(pt, k), *b = nmdi_ptable_row_at(back, k);
        assert_int_equal(a->i, b->i);
        assert_int_equal(a->j, b->j);
        assert_true(a->p == b->p); /* printed round-trip exact */
        assert_true(fabs(a->ub - b->ub) < 1e-15);
    }
    for (double ck = 0; ck < 1; ck += 0.001)
        for (int64_t c = 0; c < 12; c++)
            assert_true(nmdi_ptable_apply(pt, c, ck) == nmdi_ptable_apply(back, c, ck));
    nmdi_ptable_free(back);
    nmdi_ptable_free(pt);
    unlink(path);
    free(path);

    /* a hand-written ptable: rows out of order, v optional */
    path = tmp_file("i,j,p\n1,2,0.5\n0,0,1\n1,0,0.5\n2,1,0.25\n2,2,0.5\n2,3,0.25\n");
    assert_int_equal(nmdi_ptable_read_csv(&pt, path, &err), 0);
    assert_int_equal(nmdi_ptable_cap(pt), 2);
    assert_int_equal(nmdi_ptable_apply(pt, 1, 0.49), 0);
    assert_int_equal(nmdi_ptable_apply(pt, 1, 0.5), 2);
    assert_int_equal(nmdi_ptable_apply(pt, 10, 0.2), 9);
    assert_int_equal(nmdi_ptable_apply(pt, 10, 0.8), 11);
    nmdi_ptable_free(pt);
    unlink(path);
    free(path);
    const char *bad[] = {
        "i,j,p\n0,1,1\n1,1,1\n",              /* zero must stay zero */
        "i,j,p\n0,0,1\n2,2,1\n",              /* row 1 missing */
        "i,j,p\n0,0,1\n1,0,0.5\n1,2,0.4\n",   /* sums to 0.9 */
        "i,j,p,v\n0,0,1\n1,2,1,2\n",          /* v != j - i */
        "i,j\n0,0\n",                         /* no p */
    };
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        path = tmp_file(bad[t]);
        nmdi_error_clear(&err);
        assert_int_equal(nmdi_ptable_read_csv(&pt, path, &err), NMDI_EDATA);
        assert_string_equal(err.file, path);
        unlink(path);
        free(path);
    }
}

/* ---- cell key method ------------------------------------------------------------- */
static void test_cellkey(void **state)
{
    (void)state;
    nmdi_ptable *pt;
    nmdi_error err;
    assert_int_equal(nmdi_ptable_build(&pt, 2, 1.08, 1, &err), 0);
    /* frequencies: a uniform grid of keys reproduces p exactly (to 1/N) */
    enum { N = 100000 };
    int hist[8] = {0};
    for (int k = 0; k < N; k++) {
        int64_t j = nmdi_ptable_apply(pt, 1, (k + 0.5) / N);
        assert_true(j >= 0 && j <= 3);
        hist[j]++;
    }
    assert_int_equal(hist[1], 0);
    assert_true(fabs(hist[0] / (double)N - row_p(pt, 1, 0)) < 2.0 / N);
    assert_true(fabs(hist[2] / (double)N - row_p(pt, 1, 2)) < 2.0 / N);
    assert_true(fabs(hist[3] / (double)N - row_p(pt, 1, 3)) < 2.0 / N);
    for (int64_t c = 0; c < 50; c++)
        for (int k = 0; k < 997; k++) {
            double ck = k / 997.0;
            int64_t j = nmdi_ptable_apply(pt, c, ck);
            if (c == 0)
                assert_true(j == 0);
            assert_true(j != 1);         /* js = 1: never published */
            assert_true(llabs(j - c) <= 2);
            assert_true(j == nmdi_ptable_apply(pt, c, ck)); /* deterministic */
        }

    /* a cube: same (count, ckey) -> same published value; zeros stay zero */
    const char *dims[] = {"x"};
    nmdi_cube *c = nmdi_cube_new(1, dims);
    const char *codes[][1] = {{"a"}, {"b"}, {"c"}, {"d"}, {"_T"}};
    double vals[] = {0, 7, 7, 1, 15}, keys[] = {NAN, 0.3, 0.3, 0.9, 0.5};
    for (int i = 0; i < 5; i++) {
        nmdi_cell cell;
        nmdi_cell_init(&cell);
        cell.value = vals[i];
        cell.n = (int64_t)vals[i];
        cell.ckey = keys[i];
        assert_int_equal(nmdi_cube_add(c, codes[i], &cell), 0);
    }
    assert_int_equal(nmdi_protect_cellkey(c, pt, &err), 0);
    assert_true(nmdi_cube_cell(c, 0)->value == 0);
    assert_true(nmdi_cube_cell(c, 1)->value == nmdi_cube_cell(c, 2)->value);
    assert_true(nmdi_cube_cell(c, 3)->value != 1);
    for (int i = 0; i < 5; i++) {
        const nmdi_cell *x = nmdi_cube_cell(c, i);
        assert_true(isnan(x->ckey));             /* keys never leave */
        assert_true((double)x->n == x->value);   /* n is not the original count */
        assert_true(fabs(x->value - vals[i]) <= 2);
    }
    /* the table is not additive in general, but each value stays near */
    nmdi_cell *x = nmdi_cube_cell(c, 1);
    x->value = 2.5;
    assert_int_equal(nmdi_protect_cellkey(c, pt, &err), NMDI_EDATA);
    x->value = 3;
    x->ckey = NAN;
    assert_int_equal(nmdi_protect_cellkey(c, pt, &err), NMDI_EDATA);
    assert_string_equal(err.field, "ckey");
    nmdi_cube_free(c);
    nmdi_ptable_free(pt);
}

static void test_record_keys(void **state)
{
    (void)state;
    unsigned char s1[32], s2[32];
    for (int i = 0; i < 32; i++) {
        s1[i] = (unsigned char)i;
        s2[i] = (unsigned char)(i + 1);
    }
    double a, b, c, sum = 0;
    assert_int_equal(nmdi_rkey_derive(s1, 32, "person-1", 8, &a), 0);
    assert_int_equal(nmdi_rkey_derive(s1, 32, "person-1", 8, &b), 0);
    assert_int_equal(nmdi_rkey_derive(s2, 32, "person-1", 8, &c), 0);
    assert_true(a == b);
    assert_true(a != c);
    uint64_t fixed;
    assert_int_equal(nmdi_tab_key_fixed(a, &fixed), 0);
    assert_true(nmdi_tab_key_double(fixed) == a); /* exact at the engine's resolution */
    char buf[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(buf, sizeof buf, "p%d", i);
        assert_int_equal(nmdi_rkey_derive(s1, 32, buf, strlen(buf), &a), 0);
        assert_true(a >= 0 && a < 1);
        sum += a;
    }
    assert_true(fabs(sum / 20000 - 0.5) < 0.01); /* uniform: sd of the mean 0.002 */
    assert_int_equal(nmdi_rkey_derive(s1, 8, "x", 1, &a), NMDI_EDATA);
}

/* ---- suppression, checked by an independent margin solver ----------------------------
 * Unknowns: the suppressed cells. Equations: every row and column of the
 * table with margins (members sum to the total). A cell is determined iff its
 * unit vector lies in the row space of the equations, i.e. iff every null
 * space vector (right singular vectors of zero singular value) is zero there. */
static void undetermined_2d(const double *val, const int *sup, int R, int C, int *determined)
{
    /* (R+1) x (C+1) grid, index r*(C+1)+c, total row R and column C */
    int W = C + 1, k = 0, idx[4096];
    for (int i = 0; i < (R + 1) * W; i++)
        idx[i] = sup[i] ? k++ : -1;
    if (k == 0)
        return;
    int m = (R + 1) + (C + 1);
    int rows = m > k ? m : k;
    gsl_matrix *A = gsl_matrix_calloc((size_t)rows, (size_t)k);
    for (int r = 0; r <= R; r++)
        for (int c = 0; c <= C; c++)
            if (idx[r * W + c] >= 0)
                gsl_matrix_set(A, (size_t)r, (size_t)idx[r * W + c], c == C ? -1 : 1);
    for (int c = 0; c <= C; c++)
        for (int r = 0; r <= R; r++)
            if (idx[r * W + c] >= 0)
                gsl_matrix_set(A, (size_t)(R + 1 + c), (size_t)idx[r * W + c], r == R ? -1 : 1);
    gsl_matrix *V = gsl_matrix_alloc((size_t)k, (size_t)k);
    gsl_vector *S = gsl_vector_alloc((size_t)k), *work = gsl_vector_alloc((size_t)k);
    assert_int_equal(gsl_linalg_SV_decomp(A, V, S, work), 0);
    double smax = gsl_vector_get(S, 0);
    for (int i = 0; i < (R + 1) * W; i++) {
        if (idx[i] < 0)
            continue;
        double w = 0;
        for (int j = 0; j < k; j++)
            if (gsl_vector_get(S, (size_t)j) < 1e-9 * (smax > 1 ? smax : 1))
                w += pow(gsl_matrix_get(V, (size_t)idx[i], (size_t)j), 2);
        determined[i] = w < 1e-12;
    }
    (void)val;
    gsl_matrix_free(A);
    gsl_matrix_free(V);
    gsl_vector_free(S);
    gsl_vector_free(work);
}

static nmdi_cube *table_2d(int R, int C, uint64_t seed, double *val)
{
    const char *dims[] = {"row", "col"};
    nmdi_cube *c = nmdi_cube_new(2, dims);
    int W = C + 1;
    for (int r = 0; r <= R; r++)
        val[r * W + C] = 0;
    for (int cc = 0; cc <= C; cc++)
        val[R * W + cc] = 0;
    for (int r = 0; r < R; r++)
        for (int cc = 0; cc < C; cc++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            int v = (int)((seed >> 33) % 100);
            v = v < 12 ? 1 + v % 2 : v < 30 ? 3 + v : v; /* some 1s and 2s */
            val[r * W + cc] = v;
            val[r * W + C] += v;
            val[R * W + cc] += v;
            val[R * W + C] += v;
        }
    for (int r = 0; r <= R; r++)
        for (int cc = 0; cc <= C; cc++) {
            char a[16], b[16];
            snprintf(a, sizeof a, r == R ? "_T" : "r%02d", r);
            snprintf(b, sizeof b, cc == C ? "_T" : "c%02d", cc);
            const char *codes[2] = {a, b};
            nmdi_cell cell;
            nmdi_cell_init(&cell);
            cell.value = val[r * W + cc];
            cell.n = (int64_t)cell.value;
            assert_int_equal(nmdi_cube_add(c, codes, &cell), 0);
        }
    return c;
}

static void test_suppress_2d(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        int R = 2 + (int)(seed % 6), C = 2 + (int)((seed / 3) % 5);
        double val[100];
        int sup[100] = {0}, det[100] = {0};
        nmdi_cube *c = table_2d(R, C, seed, val);
        nmdi_suppress_opts o = {3, 1};
        nmdi_suppress_stats st;
        nmdi_error err;
        assert_int_equal(nmdi_protect_suppress(c, &o, &st, &err), 0);
        int W = C + 1, primary = 0;
        for (int r = 0; r <= R; r++)
            for (int cc = 0; cc <= C; cc++) {
                const nmdi_cell *x = nmdi_cube_cell(c, (size_t)(r * W + cc));
                int p = val[r * W + cc] > 0 && val[r * W + cc] < 3;
                assert_int_equal(strcmp(x->conf_status, NMDI_CONF_PRIMARY) == 0, p);
                primary += p;
                sup[r * W + cc] = strcmp(x->conf_status, NMDI_CONF_FREE) != 0;
                if (sup[r * W + cc]) {
                    assert_true(isnan(x->value) && x->n == -1);
                    assert_string_equal(x->obs_status, NMDI_OBS_MISSING);
                    assert_true(val[r * W + cc] > 0); /* so the interval has width */
                } else {
                    assert_true(x->value == val[r * W + cc]);
                }
            }
        assert_int_equal((int)st.primary, primary);
        /* no row or column with exactly one suppressed cell */
        for (int r = 0; r <= R; r++) {
            int n = 0;
            for (int cc = 0; cc <= C; cc++)
                n += sup[r * W + cc];
            assert_true(n != 1);
        }
        for (int cc = 0; cc <= C; cc++) {
            int n = 0;
            for (int r = 0; r <= R; r++)
                n += sup[r * W + cc];
            assert_true(n != 1);
        }
        undetermined_2d(val, sup, R, C, det);
        for (int i = 0; i < (R + 1) * W; i++)
            assert_false(sup[i] && det[i]);
        nmdi_cube_free(c);
    }
}

/* the solver itself recognises a determined cell (a test that can fail) */
static void test_margin_solver(void **state)
{
    (void)state;
    /* 2x2 + margins; suppress (0,0) and (0,1): both determined by the columns */
    double val[9] = {0};
    int sup[9] = {1, 1, 0, 0, 0, 0, 0, 0, 0}, det[9] = {0};
    undetermined_2d(val, sup, 2, 2, det);
    assert_true(det[0] && det[1]);
    /* a 2x2 rectangle of suppressions is undetermined */
    int sup2[9] = {1, 1, 0, 1, 1, 0, 0, 0, 0}, det2[9] = {0};
    undetermined_2d(val, sup2, 2, 2, det2);
    assert_false(det2[0] || det2[1] || det2[3] || det2[4]);
}

static void test_suppress_1d_3d(void **state)
{
    (void)state;
    nmdi_error err;
    /* 1-D: one small cell needs a partner */
    const char *dims[] = {"x", "y", "z"};
    nmdi_cube *c = nmdi_cube_new(1, dims);
    double v1[] = {2, 40, 17, 30, 89};
    const char *k1[] = {"a", "b", "c", "d", "_T"};
    for (int i = 0; i < 5; i++) {
        nmdi_cell cell;
        nmdi_cell_init(&cell);
        cell.value = v1[i];
        cell.n = (int64_t)v1[i];
        assert_int_equal(nmdi_cube_add(c, &k1[i], &cell), 0);
    }
    nmdi_suppress_opts o = {3, 1};
    nmdi_suppress_stats st;
    assert_int_equal(nmdi_protect_suppress(c, &o, &st, &err), 0);
    assert_int_equal(st.primary, 1);
    assert_int_equal(st.secondary, 1);
    assert_string_equal(nmdi_cube_cell(c, 2)->conf_status, NMDI_CONF_SECONDARY); /* 17 */
    nmdi_cube_free(c);

    /* 3-D with all margins from the tabulation engine: every 2-D sub-table
     * is checked by the solver */
    nmdi_tab *t = nmdi_tab_new(3);
    uint64_t s = 99;
    for (int i = 0; i < 400; i++) {
        char a[8], b[8], d[8];
        s = s * 6364136223846793005u + 1442695040888963407u;
        snprintf(a, sizeof a, "%d", (int)((s >> 33) % 3));
        snprintf(b, sizeof b, "%d", (int)((s >> 40) % 4));
        snprintf(d, sizeof d, "%d", (int)((s >> 50) % 5));
        const char *codes[3] = {a, b, d};
        assert_int_equal(nmdi_tab_add(t, codes, NULL, 1, 0, 0), 0);
    }
    assert_int_equal(nmdi_tab_cube(t, dims, NMDI_TAB_COUNT, 1, 0, &c, &err), 0);
    nmdi_tab_free(t);
    size_t nc = nmdi_cube_ncells(c);
    double *orig = malloc(nc * sizeof *orig);
    for (size_t i = 0; i < nc; i++)
        orig[i] = nmdi_cube_cell(c, i)->value;
    o.threshold = 5;
    assert_int_equal(nmdi_protect_suppress(c, &o, &st, &err), 0);
    assert_true(st.primary > 0);
    assert_int_equal(st.unprotectable, 0);
    int sizes[3] = {3, 4, 5};
    for (int da = 0; da < 3; da++)
        for (int db = da + 1; db < 3; db++) {
            int dc = 3 - da - db;
            for (int fixed = 0; fixed <= sizes[dc]; fixed++) {
                int R = sizes[da], C = sizes[db], W = C + 1;
                double val[64];
                int sup[64] = {0}, det[64] = {0}, present = 0;
                for (size_t i = 0; i < nc; i++) {
                    const nmdi_cell *x = nmdi_cube_cell(c, i);
                    int fc = strcmp(x->codes[dc], "_T") ? atoi(x->codes[dc]) : sizes[dc];
                    if (fc != fixed)
                        continue;
                    int r = strcmp(x->codes[da], "_T") ? atoi(x->codes[da]) : R;
                    int cc = strcmp(x->codes[db], "_T") ? atoi(x->codes[db]) : C;
                    val[r * W + cc] = orig[i];
                    sup[r * W + cc] = strcmp(x->conf_status, NMDI_CONF_FREE) != 0;
                    present++;
                }
                assert_int_equal(present, (R + 1) * (C + 1)); /* dense data */
                undetermined_2d(val, sup, R, C, det);
                for (int i = 0; i < (R + 1) * W; i++)
                    assert_false(sup[i] && det[i]);
            }
        }
    free(orig);
    nmdi_cube_free(c);
}

static void test_survey_rules(void **state)
{
    (void)state;
    const char *dims[] = {"x"};
    nmdi_cube *c = nmdi_cube_new(1, dims);
    const char *k[][1] = {{"a"}, {"b"}, {"c"}, {"d"}};
    double cv[] = {0.05, 0.2, 0.5, 0.01};
    int64_t n[] = {100, 100, 100, 2};
    for (int i = 0; i < 4; i++) {
        nmdi_cell cell;
        nmdi_cell_init(&cell);
        cell.value = 10;
        cell.se = 10 * cv[i];
        cell.cv = cv[i];
        cell.n = n[i];
        assert_int_equal(nmdi_cube_add(c, k[i], &cell), 0);
    }
    nmdi_survey_rule r = {3, 0.165, 0.333};
    nmdi_survey_stats st;
    nmdi_error err;
    assert_int_equal(nmdi_protect_survey(c, &r, &st, &err), 0);
    assert_int_equal(st.flagged, 1);
    assert_int_equal(st.withheld_cv, 1);
    assert_int_equal(st.withheld_n, 1);
    assert_true(nmdi_cube_cell(c, 0)->value == 10);
    assert_string_equal(nmdi_cube_cell(c, 0)->obs_status, NMDI_OBS_NORMAL);
    assert_string_equal(nmdi_cube_cell(c, 1)->obs_status, NMDI_OBS_UNRELIABLE);
    assert_true(nmdi_cube_cell(c, 1)->value == 10);
    assert_true(isnan(nmdi_cube_cell(c, 2)->value) && isnan(nmdi_cube_cell(c, 2)->se));
    assert_string_equal(nmdi_cube_cell(c, 2)->obs_status, NMDI_OBS_MISSING);
    assert_string_equal(nmdi_cube_cell(c, 3)->conf_status, NMDI_CONF_PRIMARY);
    nmdi_cube_free(c);
}

/* ---- k-anonymity, checked by brute force ------------------------------------------------ */
static size_t brute_class(const nmdi_table *t, const int *qi, size_t nqi, size_t r)
{
    size_t f = 0;
    for (size_t s = 0; s < t->nrows; s++) {
        int ok = 1;
        for (size_t q = 0; q < nqi && ok; q++) {
            const char *a = nmdi_table_cell(t, r, (size_t)qi[q]);
            const char *b = nmdi_table_cell(t, s, (size_t)qi[q]);
            ok = !*a || !*b || strcmp(a, b) == 0;
        }
        f += ok;
    }
    return f;
}

static void test_kanon(void **state)
{
    (void)state;
    /* 400 records, skewed categories, a few blanks already */
    size_t cap = 64 * 1024, len = 0;
    char *csv = malloc(cap);
    len += (size_t)snprintf(csv + len, cap - len, "id,age,sex,cob,area\n");
    uint64_t s = 5;
    for (int i = 0; i < 400; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        int age = (int)((s >> 33) % 16), cob = (int)((s >> 40) % 100);
        cob = cob < 70 ? 0 : cob < 85 ? 1 : cob % 12;
        char cobs[8] = "";
        if (i % 97 != 0) /* 5 values missing from the start */
            snprintf(cobs, sizeof cobs, "C%d", cob);
        len += (size_t)snprintf(csv + len, cap - len, "%d,%d,%s,%s,A%d\n", i, age,
                                (s >> 20) & 1 ? "F" : "M", cobs, (int)((s >> 50) % 7));
    }
    char *path = tmp_file(csv);
    free(csv);
    nmdi_table *t;
    nmdi_error err;
    assert_int_equal(nmdi_table_read_csv(&t, path, NULL, &err), 0);
    int qi[4] = {1, 2, 3, 4};
    nmdi_kanon_report rep;
    assert_int_equal(nmdi_protect_kanon(t, qi, 4, 3, 0, &rep, &err), 0);
    size_t risk = 0;
    for (size_t r = 0; r < t->nrows; r++)
        risk += brute_class(t, qi, 4, r) < 3;
    assert_int_equal(rep.at_risk_before, risk);
    assert_true(risk > 0);
    assert_int_equal(rep.suppressed, 0);
    nmdi_kanon_report_free(&rep);

    assert_int_equal(nmdi_protect_kanon(t, qi, 4, 3, 1, &rep, &err), 0);
    assert_int_equal(rep.at_risk_after, 0);
    assert_true(rep.suppressed >= 1);
    size_t blanks = 0, byq = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        assert_true(brute_class(t, qi, 4, r) >= 3); /* k reached */
        for (int q = 0; q < 4; q++)
            blanks += !*nmdi_table_cell(t, r, (size_t)qi[q]);
    }
    for (int q = 0; q < 4; q++)
        byq += rep.suppressed_by_qi[q];
    assert_int_equal(byq, rep.suppressed);
    assert_int_equal(blanks, rep.suppressed + 5); /* 5 blanks were there before */
    /* local suppression blanks fewer values than blanking every record at risk */
    assert_true(rep.suppressed <= risk * 4);
    nmdi_kanon_report_free(&rep);
    nmdi_table_free(t);
    unlink(path);
    free(path);
}

/* ---- the stage over a directory ---------------------------------------------------------- */
static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_stage(void **state)
{
    (void)state;
    char dir[] = "/tmp/nmdi-stage-XXXXXX", p[512];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/work", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/work/estimates", dir);
    mkdir(p, 0755);
    const char *hdr = "SEX,value,se,cv,ci_low,ci_high,n,ckey,OBS_STATUS,CONF_STATUS\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%sF,5,,,,,5,0.25,A,F\nM,1,,,,,1,0.75,A,F\n_T,6,,,,,6,0,A,F\n", hdr);
    snprintf(p, sizeof p, "%s/work/estimates/CK.csv", dir);
    write_text(p, buf);
    snprintf(p, sizeof p, "%s/work/estimates/CK.json", dir);
    write_text(p, "{\"id\": \"CK\", \"unit\": \"PS\"}");
    snprintf(buf, sizeof buf, "%sF,50,,,,,50,,A,F\nM,2,,,,,2,,A,F\nX,30,,,,,30,,A,F\n_T,82,,,,,82,,A,F\n",
             hdr);
    snprintf(p, sizeof p, "%s/work/estimates/SUP.csv", dir);
    write_text(p, buf);
    snprintf(p, sizeof p, "%s/work/estimates/SUP.json", dir);
    write_text(p, "{\"id\": \"SUP\", \"protect\": {\"threshold\": 3}}");
    nmdi_protect_settings s;
    nmdi_protect_defaults(&s);
    size_t n;
    nmdi_error err;
    nmdi_error_clear(&err);
    assert_int_equal(nmdi_protect_dir(NULL, dir, &s, &n, &err), 0);
    assert_int_equal(n, 2);
    nmdi_cube *c;
    snprintf(p, sizeof p, "%s/work/protected/CK.csv", dir);
    assert_int_equal(nmdi_cube_load(&c, p, &err), 0);
    for (size_t i = 0; i < nmdi_cube_ncells(c); i++) {
        assert_true(isnan(nmdi_cube_cell(c, i)->ckey));
        assert_true(nmdi_cube_cell(c, i)->value != 1);
    }
    nmdi_cube_free(c);
    snprintf(p, sizeof p, "%s/work/protected/SUP.csv", dir);
    assert_int_equal(nmdi_cube_load(&c, p, &err), 0);
    assert_string_equal(nmdi_cube_cell(c, 1)->conf_status, "C");
    assert_true(nmdi_cube_cell(c, 1)->n == -1); /* written empty, read back hidden */
    assert_string_equal(nmdi_cube_cell(c, 2)->conf_status, "D"); /* 30 < 50 */
    nmdi_cube_free(c);
    snprintf(p, sizeof p, "%s/work/protected/SUP.json", dir);
    json_t *j = json_load_file(p, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "protected")));
    assert_non_null(strstr(json_string_value(json_object_get(j, "disclosure_control")),
                           "threshold"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "protect"),
                                                          "method")),
                        "suppress");
    json_decref(j);
    snprintf(p, sizeof p, "%s/work/protected/CK.json", dir);
    j = json_load_file(p, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "disclosure_control")),
                        "cell key method (D=2, V=1.08, js=1); totals perturbed independently, "
                        "so tables are not additive");
    json_decref(j);
    /* a bad setting names the file and the field; the old output stays */
    snprintf(p, sizeof p, "%s/work/estimates/SUP.json", dir);
    write_text(p, "{\"id\": \"SUP\", \"protect\": {\"method\": \"magic\"}}");
    assert_int_equal(nmdi_protect_dir(NULL, dir, &s, &n, &err), NMDI_EDATA);
    assert_string_equal(err.field, "protect");
    snprintf(p, sizeof p, "%s/work/protected/SUP.csv", dir);
    assert_int_equal(access(p, F_OK), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ptable_example), cmocka_unit_test(test_ptable_csv),
        cmocka_unit_test(test_cellkey),        cmocka_unit_test(test_record_keys),
        cmocka_unit_test(test_margin_solver),  cmocka_unit_test(test_suppress_2d),
        cmocka_unit_test(test_suppress_1d_3d), cmocka_unit_test(test_survey_rules),
        cmocka_unit_test(test_kanon),          cmocka_unit_test(test_stage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
