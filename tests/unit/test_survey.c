/* test_survey.c — unit tests of src/estimate/survey*.c and calibrate.c: the
 * linear solver, the replicate variance, the Taylor variance by stratum and
 * stage (hand-computed values), lonely PSUs, domains, missing values, bad
 * input, calibration meeting its margins, and the reader of the needed
 * columns. The comparison with R is in
 * tests/conformance/survey_r.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nmdi/survey.h"

static char *write_tmp(const char *content)
{
    char *path = strdup("/tmp/nmdi-survey-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static nmdi_table *load(const char *content, char **path)
{
    *path = write_tmp(content);
    nmdi_table *t = NULL;
    nmdi_error err;
    assert_int_equal(nmdi_table_read_csv(&t, *path, NULL, &err), 0);
    return t;
}

static void drop(nmdi_table *t, char *path)
{
    nmdi_table_free(t);
    unlink(path);
    free(path);
}

static void test_solve(void **state)
{
    (void)state;
    const double A[9] = {4, 2, 0, 2, 5, 1, 0, 1, 3};
    const double x0[3] = {1, -2, 3};
    double b[3], x[3];
    for (int i = 0; i < 3; i++)
        b[i] = A[i * 3] * x0[0] + A[i * 3 + 1] * x0[1] + A[i * 3 + 2] * x0[2];
    assert_int_equal(nmdi_svy_solve(A, b, 3, x), 0);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(x[i] - x0[i]) < 1e-12);
    const double S[4] = {1, 2, 2, 4}; /* singular */
    assert_int_equal(nmdi_svy_solve(S, b, 2, x), -1);
}

static void test_rep_var(void **state)
{
    (void)state;
    const double th[4] = {1, 2, 3, 4};
    assert_true(fabs(nmdi_svy_rep_var(th, 4, 1, NULL, 0, 0) - 5) < 1e-12);
    assert_true(fabs(nmdi_svy_rep_var(th, 4, 0.5, NULL, 1, 2) - 3) < 1e-12);
    /* rscale 0: left out of the centre, contributes nothing */
    const double rs[4] = {1, 1, 1, 0};
    assert_true(fabs(nmdi_svy_rep_var(th, 4, 1, rs, 0, 0) - 2) < 1e-12);
    /* NaN replicates are dropped (R's na.omit) */
    const double tn[4] = {1, NAN, 3, 5};
    assert_true(fabs(nmdi_svy_rep_var(tn, 4, 1, NULL, 0, 0) - 8) < 1e-12);
}

/* Two strata: A has PSUs z = 2, 6; B has z = 5, 5, 8 (weights times y).
 * v = 2/1 * 8 + 3/2 * 6 = 25; with N_A = 4, N_B = 6 each term halves. */
static const char *strat_csv = "h,psu,w,y,NA_,NB_,dom\n"
                               "A,1,2,1,4,4,x\n"
                               "A,2,2,3,4,4,y\n"
                               "B,3,1,5,6,6,x\n"
                               "B,4,1,5,6,6,x\n"
                               "B,5,1,8,6,6,y\n";

static void test_taylor_strata(void **state)
{
    (void)state;
    char *path;
    nmdi_table *t = load(strat_csv, &path);
    nmdi_svy_spec spec = {0};
    spec.ids[0] = "psu";
    spec.nids = 1;
    spec.strata = "h";
    spec.weights = "w";
    nmdi_svy_design *d;
    nmdi_error err;
    assert_int_equal(nmdi_svy_design_new(&d, t, &spec, &err), 0);
    double z[5];
    size_t idx[5] = {4, 3, 2, 1, 0}; /* any order */
    for (size_t i = 0; i < 5; i++)
        z[i] = nmdi_svy_design_weight(d, i) * atof(nmdi_table_cell(t, i, 3));
    double v;
    assert_int_equal(nmdi_svy_taylor_var(d, z, idx, 5, &v, &err), 0);
    assert_true(fabs(v - 25) < 1e-12);
    nmdi_svy_design_free(d);

    spec.fpc[0] = "NA_"; /* population size 4 in A ... column holds 4 and 6 */
    spec.nfpc = 1;
    assert_int_equal(nmdi_svy_design_new(&d, t, &spec, &err), 0);
    assert_int_equal(nmdi_svy_taylor_var(d, z, idx, 5, &v, &err), 0);
    assert_true(fabs(v - 12.5) < 1e-12);

    /* a total through the estimator: 26 with SE 5*sqrt(.5) */
    nmdi_svy_request rq = {NMDI_SVY_TOTAL, "y", NULL};
    nmdi_svy_result *res;
    assert_int_equal(nmdi_svy_estimate(d, &rq, 1, NULL, 0, &res, &err), 0);
    assert_int_equal(res->nrows, 1);
    assert_true(fabs(res->rows[0].estimate - 26) < 1e-12);
    assert_true(fabs(res->rows[0].se - sqrt(12.5)) < 1e-12);
    assert_int_equal(res->rows[0].n, 5);
    assert_true(fabs(res->rows[0].ci_high - (26 + 1.959963984540054 * sqrt(12.5))) < 1e-9);
    nmdi_svy_result_free(res);

    /* domain x: records 1, 3, 4 (z = 2 | 5, 5); as R's subset the absent
     * PSUs count as zeros: A {2, 0}: ss 2, * .5 * 2 = 2; B {5, 5, 0}: ss 50/3,
     * * .5 * 3/2 = 12.5 */
    const char *by[1] = {"dom"};
    assert_int_equal(nmdi_svy_estimate(d, &rq, 1, by, 1, &res, &err), 0);
    assert_int_equal(res->nrows, 2);
    assert_string_equal(res->rows[0].domain[0], "x");
    assert_true(fabs(res->rows[0].estimate - 12) < 1e-12);
    assert_true(fabs(res->rows[0].se * res->rows[0].se - 14.5) < 1e-9);
    assert_int_equal(res->rows[0].n, 3);
    nmdi_svy_result_free(res);
    nmdi_svy_design_free(d);
    drop(t, path);
}

static void test_lonely(void **state)
{
    (void)state;
    char *path;
    nmdi_table *t = load("h,w,y\nA,1,1\nA,1,3\nB,2,5\n", &path);
    nmdi_svy_spec spec = {0};
    spec.strata = "h";
    spec.weights = "w";
    nmdi_svy_design *d;
    nmdi_error err;
    nmdi_svy_request rq = {NMDI_SVY_TOTAL, "y", NULL};
    nmdi_svy_result *res;
    assert_int_equal(nmdi_svy_design_new(&d, t, &spec, &err), 0);
    assert_int_equal(nmdi_svy_estimate(d, &rq, 1, NULL, 0, &res, &err), NMDI_EDATA);
    assert_non_null(strstr(err.msg, "only one PSU"));
    nmdi_svy_design_free(d);
    /* certainty: B contributes 0; A: z = 1, 3 -> 2 * 2 = 4 */
    spec.lonely = NMDI_SVY_LONELY_CERTAINTY;
    assert_int_equal(nmdi_svy_design_new(&d, t, &spec, &err), 0);
    assert_int_equal(nmdi_svy_estimate(d, &rq, 1, NULL, 0, &res, &err), 0);
    assert_true(fabs(res->rows[0].se - 2) < 1e-12);
    nmdi_svy_result_free(res);
    nmdi_svy_design_free(d);
    /* adjust: B's total 10 centred at 0: 4 + 100 */
    spec.lonely = NMDI_SVY_LONELY_ADJUST;
    assert_int_equal(nmdi_svy_design_new(&d, t, &spec, &err), 0);
    assert_int_equal(nmdi_svy_estimate(d, &rq, 1, NULL, 0, &res, &err), 0);
    assert_true(fabs(res->rows[0].se - sqrt(104)) < 1e-12);
    nmdi_svy_result_free(res);
    nmdi_svy_design_free(d);
    /* average: 4 * 2 strata / 1 usable stratum */
    spec.lonely = NMDI_SVY_LONELY_AVERAGE;
    assert_int_equal(nmdi_svy_design_new(&d, t, &spec, &err), 0);
    assert_int_equal(nmdi_svy_estimate(d, &rq, 1, NULL, 0, &res, &err), 0);
    assert_true(fabs(res->rows[0].se - sqrt(8)) < 1e-12);
    nmdi_svy_result_free(res);
    nmdi_svy_design_free(d);
    drop(t, path);
}

static void test_missing_and_prop(void **state)
{
    (void)state;
    char *path;
    nmdi_table *t = load("w,y,c\n1,2,a\n3,NA,b\n1,,a\n1,4,\n", &path);
    nmdi_svy_spec spec = {0};
    spec.weights = "w";
    nmdi_svy_design *d;
    nmdi_error err;
    assert_int_equal(nmdi_svy_design_new(&d, t, &spec, &err), 0);
    nmdi_svy_request rq[2] = {{NMDI_SVY_MEAN, "y", NULL}, {NMDI_SVY_PROP, "c", NULL}};
    nmdi_svy_result *res;
    assert_int_equal(nmdi_svy_estimate(d, rq, 2, NULL, 0, &res, &err), 0);
    assert_int_equal(res->nrows, 3);
    assert_true(fabs(res->rows[0].estimate - 3) < 1e-12); /* (2 + 4) / 2 */
    assert_int_equal(res->rows[0].n, 2);
    assert_string_equal(res->rows[1].variable, "c=a");
    assert_true(fabs(res->rows[1].estimate - 0.4) < 1e-12); /* 2 / 5 */
    assert_string_equal(res->rows[2].variable, "c=b");
    assert_int_equal(res->rows[2].n, 3);
    nmdi_svy_result_free(res);
    nmdi_svy_design_free(d);
    drop(t, path);
}

static void test_bad_input(void **state)
{
    (void)state;
    char *path;
    nmdi_table *t = load("w,y\n1,2\n-1,3\n", &path);
    nmdi_svy_spec spec = {0};
    spec.weights = "w";
    nmdi_svy_design *d;
    nmdi_error err;
    assert_int_equal(nmdi_svy_design_new(&d, t, &spec, &err), NMDI_EDATA);
    assert_int_equal(err.line, 3);
    assert_string_equal(err.field, "w");
    drop(t, path);
    t = load("w,y\n1,2\n1,x\n", &path);
    assert_int_equal(nmdi_svy_design_new(&d, t, &spec, &err), 0);
    nmdi_svy_request rq = {NMDI_SVY_MEAN, "y", NULL};
    nmdi_svy_result *res;
    assert_int_equal(nmdi_svy_estimate(d, &rq, 1, NULL, 0, &res, &err), NMDI_EDATA);
    assert_int_equal(err.line, 3);
    assert_string_equal(err.field, "y");
    nmdi_svy_design_free(d);
    drop(t, path);
}

static void test_calibrate(void **state)
{
    (void)state;
    char *path, *mpath;
    nmdi_table *t = load("id,w,s,x,y\n1,10,a,1,3\n2,10,a,2,4\n3,5,b,3,5\n4,5,b,4,7\n5,8,b,2,1\n", &path);
    mpath = write_tmp("variable,category,total\ns,a,30\ns,b,50\nx,,200\n");
    for (int m = 0; m < 2; m++) {
        nmdi_svy_spec spec = {0};
        spec.ids[0] = "id";
        spec.nids = 1;
        spec.weights = "w";
        spec.calibrate = m ? NMDI_SVY_CAL_RAKING : NMDI_SVY_CAL_LINEAR;
        spec.margins = mpath;
        nmdi_svy_design *d;
        nmdi_error err;
        assert_int_equal(nmdi_svy_design_new(&d, t, &spec, &err), 0);
        double na = 0, nb = 0, tx = 0;
        for (size_t i = 0; i < 5; i++) {
            double w = nmdi_svy_design_weight(d, i);
            if (i < 2)
                na += w;
            else
                nb += w;
            tx += w * atof(nmdi_table_cell(t, i, 3));
        }
        assert_true(fabs(na - 30) < 1e-5 && fabs(nb - 50) < 1e-5 && fabs(tx - 200) < 1e-4);
        /* the SE of a calibration variable's total is 0 */
        nmdi_svy_request rq = {NMDI_SVY_TOTAL, "x", NULL};
        nmdi_svy_result *res;
        assert_int_equal(nmdi_svy_estimate(d, &rq, 1, NULL, 0, &res, &err), 0);
        assert_true(res->rows[0].se < 1e-6);
        nmdi_svy_result_free(res);
        nmdi_svy_design_free(d);
    }
    unlink(mpath);
    free(mpath);
    drop(t, path);
}

/* nmdi_svy_read_csv keeps only the columns the design and the estimates
 * use, in file order, with the values and lines of the full reader, and
 * gives the same estimates. */
static void test_read_selected(void **state)
{
    (void)state;
    const char *csv = "name,psu,st,w,r1,r2,y,note,d,x\n"
                      "\"a, b\",1,A,10,9,11,3,z,P,1\n"
                      "c,1,A,10,9,11,4,,P,2\n"
                      "e,2,A,10,11,9,5,q,Q,3\n"
                      "f,3,B,20,19,21,6,,Q,4\n"
                      "g,4,B,20,21,19,8,,P,5\n";
    char *path;
    nmdi_table *full = load(csv, &path);
    nmdi_svy_spec spec = {0};
    spec.ids[0] = "psu";
    spec.nids = 1;
    spec.strata = "st";
    spec.weights = "w";
    spec.nest = 1;
    nmdi_svy_request rq[2] = {{NMDI_SVY_MEAN, "y", NULL}, {NMDI_SVY_RATIO, "y", "x"}};
    const char *by[1] = {"d"};
    nmdi_table *t = NULL;
    nmdi_error err;
    nmdi_csv_opts o = {0, 1, 1};
    assert_int_equal(nmdi_svy_read_csv(&t, path, &o, &spec, rq, 2, by, 1, &err), 0);
    assert_int_equal(t->ncols, 6);
    static const char *const want[] = {"psu", "st", "w", "y", "d", "x"};
    for (size_t c = 0; c < 6; c++)
        assert_string_equal(t->names[c], want[c]);
    assert_int_equal(t->nrows, 5);
    assert_string_equal(nmdi_table_cell(t, 3, 1), "B");
    assert_string_equal(nmdi_table_cell(t, 4, 3), "8");
    assert_int_equal(t->lines[4], 6);
    /* the same estimates as over the full table */
    nmdi_svy_design *d1, *d2;
    nmdi_svy_result *r1, *r2;
    assert_int_equal(nmdi_svy_design_new(&d1, full, &spec, &err), 0);
    assert_int_equal(nmdi_svy_design_new(&d2, t, &spec, &err), 0);
    assert_int_equal(nmdi_svy_estimate(d1, rq, 2, by, 1, &r1, &err), 0);
    assert_int_equal(nmdi_svy_estimate(d2, rq, 2, by, 1, &r2, &err), 0);
    assert_int_equal(r1->nrows, r2->nrows);
    for (size_t i = 0; i < r1->nrows; i++) {
        assert_true(r1->rows[i].estimate == r2->rows[i].estimate);
        assert_true(r1->rows[i].se == r2->rows[i].se);
    }
    nmdi_svy_result_free(r1);
    nmdi_svy_result_free(r2);
    nmdi_svy_design_free(d1);
    nmdi_svy_design_free(d2);
    nmdi_table_free(t);
    /* replicate weights by regex */
    nmdi_svy_spec rs = {0};
    rs.weights = "w";
    rs.repweights = "^r[0-9]+$";
    rs.type = NMDI_SVY_REP_JK1;
    assert_int_equal(nmdi_svy_read_csv(&t, path, &o, &rs, rq, 1, NULL, 0, &err), 0);
    assert_int_equal(t->ncols, 4);
    assert_string_equal(t->names[1], "r1");
    assert_string_equal(t->names[2], "r2");
    nmdi_table_free(t);
    drop(full, path);
    /* a record with the wrong number of fields is an error naming its line,
     * even when the missing field is one that is not kept */
    path = write_tmp("psu,w,y,other\n1,1,2,a\n2,1,3\n");
    spec.strata = NULL;
    assert_int_not_equal(nmdi_svy_read_csv(&t, path, &o, &spec, rq, 1, NULL, 0, &err), 0);
    assert_int_equal(err.line, 3);
    assert_null(t);
    unlink(path);
    free(path);
    path = write_tmp("");
    assert_int_not_equal(nmdi_svy_read_csv(&t, path, &o, &spec, rq, 1, NULL, 0, &err), 0);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solve),         cmocka_unit_test(test_rep_var),
        cmocka_unit_test(test_taylor_strata), cmocka_unit_test(test_lonely),
        cmocka_unit_test(test_missing_and_prop), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_calibrate),     cmocka_unit_test(test_read_selected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
