/* test_derive.c — unit tests of src/derive: the residence rule over border
 * crossings (every worked example of STANDARDS.md §4 and its mirror image,
 * the lone crossing and the cut-off, the return rule, the D0 quirk, other
 * thresholds, sequence errors), property tests on random itineraries against
 * an independent day-by-day checker, mirror symmetry and invariance to the
 * order of persons, and the other derivations (events, status, permits). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nmdi/derive.h"

#define A NMDI_ARRIVAL
#define D NMDI_DEPARTURE
#define NONE NMDI_DATE_NONE

static nmdi_date dt(const char *s)
{
    nmdi_date d;
    if (nmdi_date_parse(s, strlen(s), &d))
        fail_msg("bad date in test: %s", s);
    return d;
}

static nmdi_residence_rule rule(int tm, int tw, const char *cutoff)
{
    nmdi_residence_rule r;
    nmdi_residence_rule_default(&r);
    r.threshold = tm;
    r.window = tw;
    r.cutoff = cutoff ? dt(cutoff) : NONE;
    return r;
}

/* Check one result: rb ra ltm fb fa fm (dates as text, "" for none). */
static void expect(const nmdi_residence_result *o, int rb, int ra, int ltm, const char *fb,
                   const char *fa, const char *fm)
{
    char b[11];
    assert_int_equal(o->rb, rb);
    assert_int_equal(o->ra, ra);
    assert_int_equal(o->ltm, ltm);
    nmdi_date_format(o->fb, b);
    assert_string_equal(b, fb);
    nmdi_date_format(o->fa, b);
    assert_string_equal(b, fa);
    nmdi_date_format(o->fm, b);
    assert_string_equal(b, fm);
}

/* Classify a person given as "D 2017-01-01, A 2017-01-11" (X: unknown
 * direction, date "bad": invalid). mirror swaps directions and status. */
static size_t run_spec(const nmdi_residence_rule *r, const char *spec, int initial,
                       const char *d0, int mirror, nmdi_residence_result *out)
{
    nmdi_date date[64];
    uint8_t dir[64];
    size_t n = 0;
    const char *p = spec;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        char c = *p++;
        dir[n] = c == 'A' ? A : c == 'D' ? D : NMDI_DIR_UNKNOWN;
        if (mirror && dir[n] != NMDI_DIR_UNKNOWN)
            dir[n] = (uint8_t)!dir[n];
        while (*p == ' ')
            p++;
        if (strncmp(p, "bad", 3) == 0) {
            date[n] = NONE;
            p += 3;
        } else {
            char buf[11];
            memcpy(buf, p, 10);
            buf[10] = 0;
            date[n] = dt(buf);
            p += 10;
        }
        n++;
    }
    if (mirror && initial >= 0)
        initial = !initial;
    nmdi_residence_classify(r, n, date, dir, NULL, initial, d0 ? dt(d0) : NONE, out);
    return n;
}

/* rb/ra as seen from the person (mirror inverts residence) */
#define RES(v) (mirror ? !(v) : (v))

static void test_worked_examples(void **state)
{
    (void)state;
    nmdi_residence_result o[8];
    nmdi_residence_rule r = rule(365, 487, "2018-06-30");
    for (int mirror = 0; mirror < 2; mirror++) {
        /* ARR 2017-01-01: resident -> resident, LTM 0, final 2017-01-01 */
        run_spec(&r, "A 2017-01-01", 1, "2016-01-01", mirror, o);
        expect(&o[0], RES(1), RES(1), 0, "2017-01-01", "2017-01-01", "2017-01-01");
        assert_int_equal(o[0].provisional, 0);
        /* DEP 2017-01-01, no return: emigration, final 2018-01-01 */
        run_spec(&r, "D 2017-01-01", 1, "2016-01-01", mirror, o);
        expect(&o[0], RES(1), RES(0), 1, "2017-01-01", "2018-01-01", "2018-01-01");
        /* DEP; ARR 10 days later: no migration, final +122+10; ARR LTM 0 */
        run_spec(&r, "D 2017-01-01, A 2017-01-11", 1, "2016-01-01", mirror, o);
        expect(&o[0], RES(1), RES(1), 0, "2017-01-01", "2017-05-13", "2017-05-13");
        expect(&o[1], RES(1), RES(1), 0, "2017-05-13", "2017-05-13", "2017-01-11");
        /* 250 days out: no migration, final 2018-01-08 (+122+250) */
        run_spec(&r, "D 2017-01-01, A 2017-09-08", 1, "2016-01-01", mirror, o);
        expect(&o[0], RES(1), RES(1), 0, "2017-01-01", "2018-01-08", "2018-01-08");
        expect(&o[1], RES(1), RES(1), 0, "2018-01-08", "2018-01-08", "2018-01-08");
        /* same-day return: DEP final 2017-05-03 (+122), ARR LTM 0 */
        run_spec(&r, "D 2017-01-01, A 2017-01-01", 1, "2016-01-01", mirror, o);
        expect(&o[0], RES(1), RES(1), 0, "2017-01-01", "2017-05-03", "2017-05-03");
        expect(&o[1], RES(1), RES(1), 0, "2017-05-03", "2017-05-03", "2017-01-01");
        /* inferred initial status gives the same (first crossing a departure) */
        run_spec(&r, "D 2017-01-01, A 2017-09-08", -1, NULL, mirror, o);
        expect(&o[0], RES(1), RES(1), 0, "2017-01-01", "2018-01-08", "2018-01-08");
        /* 400 days out: migration at the departure, final +365; the return
         * of a non-resident is a migrating arrival judged on its own */
        run_spec(&r, "D 2017-01-01, A 2018-02-05", 1, "2016-01-01", mirror, o);
        expect(&o[0], RES(1), RES(0), 1, "2017-01-01", "2018-01-01", "2018-01-01");
        expect(&o[1], RES(0), RES(1), 1, "2018-02-05", "2019-02-05", "2019-02-05");
    }
}

static void test_lone_crossing_cutoff(void **state)
{
    (void)state;
    nmdi_residence_result o[2];
    for (int mirror = 0; mirror < 2; mirror++) {
        nmdi_residence_rule r = rule(365, 487, "2017-12-31"); /* 364 days after */
        run_spec(&r, "D 2017-01-01", -1, NULL, mirror, o);
        expect(&o[0], RES(1), RES(1), 0, "2017-01-01", "2018-01-01", "2018-01-01");
        assert_int_equal(o[0].provisional, 1);
        r.cutoff = dt("2018-01-01"); /* 365 days after: confirmed */
        run_spec(&r, "D 2017-01-01", -1, NULL, mirror, o);
        expect(&o[0], RES(1), RES(0), 1, "2017-01-01", "2018-01-01", "2018-01-01");
        assert_int_equal(o[0].provisional, 0);
        r.cutoff = NONE; /* no cut-off: never confirmed, always provisional */
        run_spec(&r, "D 2017-01-01", -1, NULL, mirror, o);
        assert_int_equal(o[0].ltm, 0);
        assert_int_equal(o[0].provisional, 1);
        /* a lone non-migrating crossing is final at once */
        r.cutoff = dt("2017-01-01");
        run_spec(&r, "A 2017-01-01", 1, "2016-06-01", mirror, o);
        expect(&o[0], RES(1), RES(1), 0, "2017-01-01", "2017-01-01", "2017-01-01");
        assert_int_equal(o[0].provisional, 0);
        /* the last crossing of a longer history counts its open spell as Tw,
         * whatever the cut-off */
        r.cutoff = dt("2017-03-01");
        run_spec(&r, "A 2016-01-01, D 2017-01-01", 1, "2015-01-01", mirror, o);
        expect(&o[1], RES(1), RES(0), 1, "2017-01-01", "2018-01-01", "2018-01-01");
        assert_int_equal(o[1].provisional, 1);
        assert_int_equal(o[0].provisional, 0);
    }
}

static void test_return_rule(void **state)
{
    (void)state;
    nmdi_residence_result o[8];
    nmdi_residence_rule r = rule(365, 487, "2019-12-31");
    for (int mirror = 0; mirror < 2; mirror++) {
        /* two short trips: each return is final at its own date */
        run_spec(&r, "D 2017-01-01, A 2017-02-01, D 2017-03-01, A 2017-04-01", 1, "2016-01-01",
                 mirror, o);
        /* out 31, back 28, out 31 (62 abroad), back: final +122+62; the
         * first departure's walk already fixes both returns' Fm */
        expect(&o[0], RES(1), RES(1), 0, "2017-01-01", "2017-07-04", "2017-07-04");
        expect(&o[1], RES(1), RES(1), 0, "2017-07-04", "2017-07-04", "2017-02-01");
        expect(&o[2], RES(1), RES(1), 0, "2017-07-04", "2017-08-01", "2017-08-01");
        expect(&o[3], RES(1), RES(1), 0, "2017-08-01", "2017-08-01", "2017-04-01");
        /* a return at or after B + Ts is not known early: 2017-01-01 + 244 */
        run_spec(&r, "D 2017-01-01, A 2017-09-02", 1, "2016-01-01", mirror, o);
        expect(&o[1], RES(1), RES(1), 0, "2018-01-02", "2018-01-02", "2018-01-02");
        run_spec(&r, "D 2017-01-01, A 2017-09-01", 1, "2016-01-01", mirror, o);
        expect(&o[1], RES(1), RES(1), 0, "2018-01-01", "2018-01-01", "2017-09-01");
        /* the return rule's Fm is overwritten when the return is a migration:
         * out 200 days, back 30, out 200: 400 days abroad within the window */
        run_spec(&r, "D 2017-01-01, A 2017-07-20, D 2017-08-19, A 2018-03-07", 1, "2016-01-01",
                 mirror, o);
        expect(&o[0], RES(1), RES(0), 1, "2017-01-01", "2018-01-31", "2018-01-31");
        /* A 2017-07-20 by a non-resident: 30 days in, then 200 out: no */
        expect(&o[1], RES(0), RES(0), 0, "2018-01-31", "2018-01-31", "2017-07-20");
    }
}

static void test_d0_quirk(void **state)
{
    (void)state;
    nmdi_residence_result o[4];
    nmdi_residence_rule r = rule(365, 487, "2019-12-31");
    for (int mirror = 0; mirror < 2; mirror++) {
        /* resident at D0 = 2017-01-31, first crossing before D0: inferred
         * non-resident. Crossing 1 becomes final on 2017-01-31 = D0 exactly,
         * so crossing 2 takes the given status (resident), not Ra = 0. */
        run_spec(&r, "A 2016-09-01, D 2016-10-01, A 2017-06-01", 1, "2017-01-31", mirror, o);
        expect(&o[0], RES(0), RES(0), 0, "2016-09-01", "2017-01-31", "2017-01-31");
        expect(&o[1], RES(1), RES(1), 0, "2017-01-31", "2017-10-01", "2016-10-01");
        expect(&o[2], RES(1), RES(1), 0, "2017-10-01", "2017-10-01", "2017-06-01");
        /* one day later, no quirk: crossing 2 is a non-resident's departure */
        run_spec(&r, "A 2016-09-01, D 2016-10-01, A 2017-06-01", 1, "2017-02-01", mirror, o);
        expect(&o[1], RES(0), RES(0), 0, "2017-01-31", "2017-01-31", "2016-10-01");
        /* first crossing on or after D0: the given status is used */
        run_spec(&r, "A 2017-01-01", 1, "2017-01-01", mirror, o);
        expect(&o[0], RES(1), RES(1), 0, "2017-01-01", "2017-01-01", "2017-01-01");
        run_spec(&r, "A 2017-01-01", 1, "2017-01-02", mirror, o);
        expect(&o[0], RES(0), RES(1), 1, "2017-01-01", "2018-01-01", "2018-01-01");
    }
}

static void test_other_rules(void **state)
{
    (void)state;
    nmdi_residence_result o[4];
    /* 9 of 12 months: Tm 273, Tw 365, Tn 92, Ts 184 */
    nmdi_residence_rule r = rule(273, 365, "2019-12-31");
    for (int mirror = 0; mirror < 2; mirror++) {
        run_spec(&r, "D 2017-01-01, A 2017-09-01", 1, "2016-01-01", mirror, o);
        expect(&o[0], RES(1), RES(1), 0, "2017-01-01", "2017-12-02", "2017-12-02");
        run_spec(&r, "D 2017-01-01, A 2017-10-15", 1, "2016-01-01", mirror, o);
        expect(&o[0], RES(1), RES(0), 1, "2017-01-01", "2017-10-01", "2017-10-01");
        expect(&o[1], RES(0), RES(1), 1, "2017-10-15", "2018-07-15", "2018-07-15");
        /* return rule with Ts = 184: back after 100 days */
        run_spec(&r, "D 2017-01-01, A 2017-04-11", 1, "2016-01-01", mirror, o);
        expect(&o[0], RES(1), RES(1), 0, "2017-01-01", "2017-07-12", "2017-07-12");
        expect(&o[1], RES(1), RES(1), 0, "2017-07-12", "2017-07-12", "2017-04-11");
    }
    /* threshold = window: Tn = 0, any day back breaks the stay */
    r = rule(30, 30, "2019-12-31");
    run_spec(&r, "D 2017-01-01, A 2017-01-29, D 2017-01-30", 1, "2016-01-01", 0, o);
    expect(&o[0], 1, 1, 0, "2017-01-01", "2017-01-29", "2017-01-29");
    nmdi_error err;
    assert_int_equal(nmdi_residence_rule_check(&r, &err), 0);
    r.window = 29;
    assert_int_equal(nmdi_residence_rule_check(&r, &err), NMDI_EDATA);
}

static void test_errors(void **state)
{
    (void)state;
    nmdi_residence_result o[8];
    nmdi_residence_rule r = rule(365, 487, "2019-12-31");
    /* DEP DEP ARR: the second departure is code 2 and transparent */
    run_spec(&r, "D 2017-01-01, D 2017-03-01, A 2017-06-01", -1, NULL, 0, o);
    assert_int_equal(o[0].error, 0);
    assert_int_equal(o[1].error, NMDI_RES_ESAMEDIR);
    assert_int_equal(o[2].error, 0);
    /* as DEP 2017-01-01, ARR 2017-06-01 alone: 151 days out, final +122+151 */
    expect(&o[0], 1, 1, 0, "2017-01-01", "2017-10-01", "2017-10-01");
    expect(&o[1], 1, 1, 0, "2017-10-01", "2017-10-01", "2017-10-01");
    expect(&o[2], 1, 1, 0, "2017-10-01", "2017-10-01", "2017-06-01");
    /* invalid date (code 4, empty dates) and unknown direction (code 3) */
    run_spec(&r, "X 2016-12-31, D 2017-01-01, A bad, A 2017-01-11", -1, NULL, 0, o);
    assert_int_equal(o[0].error, NMDI_RES_EDIR);
    assert_int_equal(o[1].error, 0);
    assert_int_equal(o[2].error, NMDI_RES_EDATE);
    assert_int_equal(o[3].error, 0);
    /* crossing 0 (unknown direction) precedes the first valid crossing:
     * carries the rule-1 status (the departure makes it resident) */
    expect(&o[0], 1, 1, 0, "2016-12-31", "2016-12-31", "2016-12-31");
    expect(&o[2], 1, 1, 0, "", "", "");
    assert_int_equal(o[2].provisional, 0);
    /* an invalid date in the middle is transparent */
    expect(&o[3], 1, 1, 0, "2017-05-13", "2017-05-13", "2017-01-11");
    /* three arrivals in a row: the 2nd and 3rd are code 2 */
    run_spec(&r, "A 2017-01-01, A 2017-01-02, A 2017-01-03, D 2017-02-01", -1, NULL, 0, o);
    assert_int_equal(o[1].error, 2);
    assert_int_equal(o[2].error, 2);
    assert_int_equal(o[3].error, 0);
    /* only errors, no initial status: residence unknown (-1) */
    run_spec(&r, "X 2017-01-01, A bad", -1, NULL, 0, o);
    assert_int_equal(o[0].rb, -1);
    assert_int_equal(o[1].ra, -1);
    /* only errors with an initial status: carried */
    run_spec(&r, "X 2017-01-01", 0, "2016-01-01", 0, o);
    expect(&o[0], 0, 0, 0, "2017-01-01", "2017-01-01", "2017-01-01");
    /* one valid crossing among errors counts as a lone crossing (rule 6) */
    r.cutoff = dt("2017-06-01");
    run_spec(&r, "D 2017-01-01, D 2017-02-01", -1, NULL, 0, o);
    expect(&o[0], 1, 1, 0, "2017-01-01", "2018-01-01", "2018-01-01");
    expect(&o[1], 1, 1, 0, "2018-01-01", "2018-01-01", "2018-01-01");
    /* caller-set flags */
    nmdi_date d2[2] = {dt("2017-01-01"), dt("2017-02-01")};
    uint8_t dir2[2] = {D, A}, fl[2] = {0, 9};
    nmdi_residence_classify(&r, 2, d2, dir2, fl, -1, NONE, o);
    assert_int_equal(o[1].error, 9);
    assert_int_equal(o[0].ltm, 0); /* lone departure, cut-off too early */
}

static void test_parse_direction(void **state)
{
    (void)state;
    assert_int_equal(nmdi_residence_parse_direction("arrival", 7), A);
    assert_int_equal(nmdi_residence_parse_direction("Departure", 9), D);
    assert_int_equal(nmdi_residence_parse_direction(" A ", 3), A);
    assert_int_equal(nmdi_residence_parse_direction("d", 1), D);
    assert_int_equal(nmdi_residence_parse_direction("1", 1), A);
    assert_int_equal(nmdi_residence_parse_direction("0", 1), D);
    assert_int_equal(nmdi_residence_parse_direction("", 0), NMDI_DIR_UNKNOWN);
    assert_int_equal(nmdi_residence_parse_direction("arr", 3), NMDI_DIR_UNKNOWN);
    assert_int_equal(nmdi_residence_parse_direction("2", 1), NMDI_DIR_UNKNOWN);
}


/* The scenarios of the reference's own test suite (migrbc, tests/testthat,
 * residence and non-residence files: the second is the mirror image of the
 * first). Initial status known at the first crossing's date; the reference
 * runs with today's date as cut-off, here a late cut-off. Expected values:
 * rb ra ltm, then Fb Fa Fm in days after 2017-01-01. */
typedef struct scenario {
    const char *crossings;
    int want[5][6];
    int initial;      /* 0: resident at 2017-01-01 (default), -1: none */
    const char *d0;   /* another date of the initial status          */
} scenario;

static const scenario migrbc_scenarios[] = {
    {"A 2017-01-01", {{1, 1, 0, 0, 0, 0}}, 0, NULL},
    {"D 2017-01-01", {{1, 0, 1, 0, 365, 365}}, 0, NULL},
    {"D 2017-01-01, A 2017-01-11", {{1, 1, 0, 0, 132, 132}, {1, 1, 0, 132, 132, 10}}, 0, NULL},
    {"D 2017-01-01, A 2017-01-11, D 2017-03-12, A 2017-04-01",
     {{1, 1, 0, 0, 152, 152},
      {1, 1, 0, 152, 152, 10},
      {1, 1, 0, 152, 212, 212},
      {1, 1, 0, 212, 212, 90}}, 0, NULL},
    {"D 2017-01-01, A 2017-09-08", {{1, 1, 0, 0, 372, 372}, {1, 1, 0, 372, 372, 372}}, 0, NULL},
    {"D 2017-01-01, A 2017-01-01", {{1, 1, 0, 0, 122, 122}, {1, 1, 0, 122, 122, 0}}, 0, NULL},
    {"D 2017-01-01, A 2017-01-11, D 2017-03-12",
     {{1, 0, 1, 0, 425, 425}, {0, 0, 0, 425, 425, 10}, {0, 0, 0, 425, 425, 425}}, 0, NULL},
    {"D 2017-01-01, A 2018-01-06", {{1, 0, 1, 0, 365, 365}, {0, 1, 1, 370, 735, 735}}, 0, NULL},
    {"D 2017-01-01, A 2017-12-17, D 2018-01-06, A 2018-01-26, D 2018-01-27",
     {{1, 0, 1, 0, 385, 385},
      {0, 0, 0, 385, 493, 493},
      {0, 0, 0, 493, 493, 385},
      {0, 0, 0, 493, 513, 513},
      {0, 0, 0, 513, 513, 391}}, 0, NULL},
    {"D 2017-01-01, A 2017-01-11, D 2018-01-06, A 2018-01-16",
     {{1, 1, 0, 0, 132, 132},
      {1, 1, 0, 132, 132, 10},
      {1, 1, 0, 370, 502, 502},
      {1, 1, 0, 502, 502, 380}}, 0, NULL},
    {"D 2017-01-01, A 2018-01-06, D 2018-01-16, A 2018-11-02, D 2018-11-12",
     {{1, 0, 1, 0, 365, 365},
      {0, 0, 0, 370, 502, 502},
      {0, 0, 0, 502, 502, 380},
      {0, 0, 0, 670, 802, 802},
      {0, 0, 0, 802, 802, 680}}, 0, NULL},
    /* test-RBC_algorithm_with_IRS.R, scenario 2: resident at 2018-05-18 =
     * Fa of crossing 2, so crossing 3 takes the initial status (the quirk);
     * scenario 4 is its mirror image */
    {"D 2017-01-01, A 2018-01-06, D 2018-01-16, A 2018-11-02, D 2018-11-12",
     {{1, 0, 1, 0, 365, 365},
      {0, 0, 0, 370, 502, 502},
      {1, 0, 1, 502, 755, 755},
      {0, 0, 0, 755, 802, 670},
      {0, 0, 0, 802, 802, 755}},
     0,
     "2018-05-18"},
    /* scenario 5: without initial status, as with it */
    {"D 2017-01-01, A 2018-01-06, D 2018-01-16, A 2018-11-02, D 2018-11-12",
     {{1, 0, 1, 0, 365, 365},
      {0, 0, 0, 370, 502, 502},
      {0, 0, 0, 502, 502, 380},
      {0, 0, 0, 670, 802, 802},
      {0, 0, 0, 802, 802, 680}},
     -1,
     NULL},
};

static void test_migrbc_scenarios(void **state)
{
    (void)state;
    nmdi_residence_rule r = rule(365, 487, "2030-01-01");
    nmdi_residence_result o[8];
    const nmdi_date base = dt("2017-01-01");
    for (size_t k = 0; k < sizeof migrbc_scenarios / sizeof migrbc_scenarios[0]; k++) {
        for (int mirror = 0; mirror < 2; mirror++) {
            const scenario *sc = &migrbc_scenarios[k];
            size_t n = run_spec(&r, sc->crossings, sc->initial < 0 ? -1 : 1,
                                sc->d0 ? sc->d0 : "2017-01-01", mirror, o);
            for (size_t i = 0; i < n; i++) {
                const int *w = migrbc_scenarios[k].want[i];
                assert_int_equal(o[i].rb, RES(w[0]));
                assert_int_equal(o[i].ra, RES(w[1]));
                assert_int_equal(o[i].ltm, w[2]);
                assert_int_equal(o[i].fb - base, w[3]);
                assert_int_equal(o[i].fa - base, w[4]);
                assert_int_equal(o[i].fm - base, w[5]);
                assert_int_equal(o[i].error, 0);
            }
        }
    }
}

/* ---- an independent checker: day-by-day presence ------------------------------
 * For valid, alternating crossings in time order. The migrating crossing i is
 * decided by counting days one at a time from its date: each day belongs to
 * the side after the last crossing dated on or before it; the day the far
 * side reaches Tm decides a migration (final the next day), the day the home
 * side exceeds Tn decides no migration (final that day). */
static void brute(const nmdi_residence_rule *r, size_t n, const nmdi_date *date,
                  const uint8_t *dir, int initial, nmdi_date d0, nmdi_residence_result *out)
{
    const int tm = r->threshold, tn = r->window - r->threshold, ts = 2 * tn;
    for (size_t i = 0; i < n; i++) {
        out[i].fm = NONE;
        out[i].error = 0;
    }
    int inferred = dir[0] == A ? 0 : 1;
    int given = initial >= 0;
    int irs = given && (d0 == NONE || date[0] >= d0) ? initial : inferred;
    nmdi_date quirk_date = given ? d0 : date[0];
    int quirk_status = given ? initial : inferred;
    for (size_t i = 0; i < n; i++) {
        nmdi_residence_result *o = &out[i];
        if (i == 0) {
            o->rb = (int8_t)irs;
            o->fb = date[0];
        } else {
            o->rb = out[i - 1].ra;
            o->fb = out[i - 1].fa > date[i] ? out[i - 1].fa : date[i];
            if (out[i - 1].fa == quirk_date)
                o->rb = (int8_t)quirk_status;
        }
        nmdi_date b = o->fb;
        int migrating = (dir[i] == A) != (o->rb == 1);
        if (!migrating) {
            o->ra = o->rb;
            o->ltm = 0;
            o->fa = date[i] > b ? date[i] : b;
            if (o->fm == NONE)
                o->fm = o->fa;
            continue;
        }
        if (n == 1) {
            int mig = r->cutoff != NONE && r->cutoff - date[i] >= tm;
            o->ra = (int8_t)(mig ? !o->rb : o->rb);
            o->ltm = (uint8_t)mig;
            o->fa = o->fm = date[i] + tm;
            continue;
        }
        int far = 0, home = 0, mig = -1;
        nmdi_date day = date[i], decided = NONE;
        size_t j = i;
        for (; mig < 0; day++) {
            while (j + 1 < n && date[j + 1] <= day)
                j++;
            if ((j - i) % 2 == 0) {
                if (++far == tm) {
                    mig = 1;
                    decided = day;
                }
            } else if (++home == tn + 1) {
                mig = 0;
                decided = day;
            }
        }
        if (mig) {
            o->ra = (int8_t)!o->rb;
            o->ltm = 1;
            o->fa = o->fm = decided + 1 > b ? decided + 1 : b;
        } else {
            o->ra = o->rb;
            o->ltm = 0;
            o->fa = decided > b ? decided : b;
            if (o->fm == NONE)
                o->fm = o->fa;
        }
        /* the return rule: returns reached before the decision */
        for (size_t m = i + 1; m < n && date[m] <= decided; m += 2)
            if (date[m] < b + ts && out[m].fm == NONE)
                out[m].fm = date[m] > b ? date[m] : b;
    }
    for (size_t i = 0; i < n; i++)
        out[i].provisional =
            (uint8_t)((out[i].fa > r->cutoff) || (out[i].fm != NONE && out[i].fm > r->cutoff));
}

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* A random itinerary: gaps from same-day to years, alternating directions,
 * or (errors=1) with some repeated directions, unknown ones, bad dates. */
static size_t random_person(size_t maxn, nmdi_date *date, uint8_t *dir, int errors)
{
    size_t n = 1 + rnd((uint32_t)maxn);
    nmdi_date d = dt("2015-01-01") + (nmdi_date)rnd(1000);
    uint8_t di = (uint8_t)rnd(2);
    for (size_t i = 0; i < n; i++) {
        date[i] = d;
        dir[i] = di;
        if (errors && rnd(8) == 0)
            dir[i] = (uint8_t)(rnd(3) == 0 ? NMDI_DIR_UNKNOWN : !di);
        if (errors && rnd(12) == 0)
            date[i] = NONE;
        di = (uint8_t)!di;
        static const int scale[] = {1, 30, 120, 250, 400, 700};
        d += (nmdi_date)rnd((uint32_t)scale[rnd(6)] + 1);
    }
    return n;
}

static void random_rule(nmdi_residence_rule *r)
{
    if (rnd(2)) {
        r->threshold = 365;
        r->window = 487;
    } else {
        r->threshold = 20 + (int)rnd(400);
        r->window = r->threshold + (int)rnd(200);
    }
    r->cutoff = dt("2016-01-01") + (nmdi_date)rnd(2500);
}

static void same_result(const nmdi_residence_result *x, const nmdi_residence_result *y)
{
    assert_int_equal(x->rb, y->rb);
    assert_int_equal(x->ra, y->ra);
    assert_int_equal(x->ltm, y->ltm);
    assert_int_equal(x->fb, y->fb);
    assert_int_equal(x->fa, y->fa);
    assert_int_equal(x->fm, y->fm);
    assert_int_equal(x->provisional, y->provisional);
    assert_int_equal(x->error, y->error);
}

static void test_property_brute(void **state)
{
    (void)state;
    nmdi_date date[16];
    uint8_t dir[16];
    nmdi_residence_result got[16], want[16];
    for (int it = 0; it < 20000; it++) {
        nmdi_residence_rule r;
        random_rule(&r);
        size_t n = random_person(12, date, dir, 0);
        int initial = rnd(3) ? -1 : (int)rnd(2);
        nmdi_date d0 = initial < 0 ? NONE : date[rnd((uint32_t)n)] + (nmdi_date)rnd(600) - 300;
        nmdi_residence_classify(&r, n, date, dir, NULL, initial, d0, got);
        brute(&r, n, date, dir, initial, d0, want);
        for (size_t i = 0; i < n; i++)
            same_result(&got[i], &want[i]);
    }
}

static void test_property_mirror_and_errors(void **state)
{
    (void)state;
    nmdi_date date[16], vdate[16];
    uint8_t dir[16], mdir[16], vdir[16];
    nmdi_residence_result o[16], m[16], v[16];
    for (int it = 0; it < 20000; it++) {
        nmdi_residence_rule r;
        random_rule(&r);
        size_t n = random_person(14, date, dir, 1);
        /* the driver puts invalid dates last; keep valid dates in order */
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (date[i] != NONE) {
                vdate[k] = date[i];
                vdir[k++] = dir[i];
            }
        for (size_t i = 0; i < n; i++)
            if (date[i] == NONE) {
                vdate[k] = NONE;
                vdir[k++] = dir[i];
            }
        memcpy(date, vdate, n * sizeof *date);
        memcpy(dir, vdir, n);
        int initial = rnd(3) ? -1 : (int)rnd(2);
        nmdi_date base = date[0] == NONE ? dt("2016-01-01") : date[0];
        nmdi_date d0 = initial < 0 ? NONE : base + (nmdi_date)rnd(600) - 300;
        nmdi_residence_classify(&r, n, date, dir, NULL, initial, d0, o);
        /* mirror: swap directions and the initial status */
        for (size_t i = 0; i < n; i++)
            mdir[i] = dir[i] == NMDI_DIR_UNKNOWN ? dir[i] : (uint8_t)!dir[i];
        nmdi_residence_classify(&r, n, date, mdir, NULL, initial < 0 ? -1 : !initial, d0, m);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(o[i].rb < 0 ? -1 : !o[i].rb, m[i].rb);
            assert_int_equal(o[i].ra < 0 ? -1 : !o[i].ra, m[i].ra);
            assert_int_equal(o[i].ltm, m[i].ltm);
            assert_int_equal(o[i].fb, m[i].fb);
            assert_int_equal(o[i].fa, m[i].fa);
            assert_int_equal(o[i].fm, m[i].fm);
            assert_int_equal(o[i].provisional, m[i].provisional);
            assert_int_equal(o[i].error, m[i].error);
            /* flagged crossings carry the status and are final at B */
            if (o[i].error) {
                assert_int_equal(o[i].ra, o[i].rb);
                assert_int_equal(o[i].ltm, 0);
                assert_int_equal(o[i].fa, o[i].fb);
                assert_int_equal(o[i].fm, o[i].fb);
            }
        }
        /* without an initial status, flagged crossings are transparent: the
         * valid crossings classify as if the flagged ones were absent */
        if (initial >= 0)
            continue;
        k = 0;
        for (size_t i = 0; i < n; i++)
            if (!o[i].error) {
                vdate[k] = date[i];
                vdir[k++] = dir[i];
            }
        if (!k)
            continue;
        nmdi_residence_classify(&r, k, vdate, vdir, NULL, -1, NONE, v);
        for (size_t i = 0, j = 0; i < n; i++) {
            if (o[i].error)
                continue;
            assert_int_equal(v[j].error, 0);
            /* Fb of the first valid crossing may come from a flagged one before it */
            if (j == 0)
                v[j].fb = o[i].fb;
            same_result(&o[i], &v[j]);
            j++;
        }
    }
}

/* Persons in any order, crossings interleaved: the same classification. */
static void test_property_order(void **state)
{
    (void)state;
    enum { P = 300, MAXC = 10 };
    static nmdi_date pdate[P][MAXC];
    static uint8_t pdir[P][MAXC];
    static size_t plen[P];
    static nmdi_residence_result want[P][MAXC];
    static int8_t init[P];
    static nmdi_date init_date[P];
    nmdi_residence_rule r = rule(365, 487, "2020-01-01");
    size_t total = 0;
    for (size_t p = 0; p < P; p++) {
        plen[p] = random_person(MAXC, pdate[p], pdir[p], 1);
        /* the classifier wants time order: sort (stable, invalid last) */
        for (size_t i = 1; i < plen[p]; i++)
            for (size_t j = i; j > 0; j--) {
                nmdi_date a = pdate[p][j - 1] == NONE ? INT32_MAX : pdate[p][j - 1];
                nmdi_date b = pdate[p][j] == NONE ? INT32_MAX : pdate[p][j];
                if (a <= b)
                    break;
                nmdi_date td = pdate[p][j];
                pdate[p][j] = pdate[p][j - 1];
                pdate[p][j - 1] = td;
                uint8_t tr = pdir[p][j];
                pdir[p][j] = pdir[p][j - 1];
                pdir[p][j - 1] = tr;
            }
        init[p] = (int8_t)(rnd(4) ? -1 : (int)rnd(2));
        init_date[p] = dt("2016-01-01") + (nmdi_date)rnd(700);
        nmdi_residence_classify(&r, plen[p], pdate[p], pdir[p], NULL, init[p],
                                init[p] < 0 ? NONE : init_date[p], want[p]);
        total += plen[p];
    }
    uint32_t *person = malloc(total * sizeof *person);
    nmdi_date *date = malloc(total * sizeof *date);
    uint8_t *dir = malloc(total);
    size_t *which = malloc(total * sizeof *which);
    nmdi_residence_result *out = malloc(total * sizeof *out);
    uint32_t perm[P];
    int8_t pinit[P];
    nmdi_date pinit_date[P];
    for (int round = 0; round < 6; round++) {
        /* a random numbering of persons and a random interleaving that keeps
         * each person's crossings of the same date in their order */
        for (uint32_t p = 0; p < P; p++)
            perm[p] = p;
        for (uint32_t p = P - 1; p > 0; p--) {
            uint32_t q = rnd(p + 1), t = perm[p];
            perm[p] = perm[q];
            perm[q] = t;
        }
        size_t next[P] = {0}, left = total;
        for (size_t k = 0; k < total; k++) {
            uint32_t pos = rnd((uint32_t)left), p = 0;
            for (;; p++) {
                size_t rem = plen[p] - next[p];
                if (pos < rem)
                    break;
                pos -= rem;
            }
            person[k] = perm[p];
            date[k] = pdate[p][next[p]];
            dir[k] = pdir[p][next[p]];
            which[k] = p * MAXC + next[p]++;
            left--;
        }
        for (uint32_t p = 0; p < P; p++) {
            pinit[perm[p]] = init[p];
            pinit_date[perm[p]] = init_date[p];
        }
        nmdi_ctx ctx;
        nmdi_ctx_init(&ctx);
        ctx.nthreads = 1 + round % 3;
        nmdi_residence_input in = {total, person, date, dir, NULL, P, pinit, pinit_date};
        nmdi_error err;
        assert_int_equal(nmdi_residence_run(&ctx, &r, &in, out, &err), 0);
        for (size_t k = 0; k < total; k++)
            same_result(&out[k], &want[which[k] / MAXC][which[k] % MAXC]);
    }
    free(person);
    free(date);
    free(dir);
    free(which);
    free(out);
}

/* The driver sorts each person's crossings by date, ties in input order. */
static void test_run_sorts(void **state)
{
    (void)state;
    nmdi_residence_rule r = rule(365, 487, "2018-12-31");
    /* person 0 given backwards; person 1 has 100 crossings (long sort) */
    enum { N = 103 };
    uint32_t person[N];
    nmdi_date date[N], sdate[100];
    uint8_t dir[N], sdir[100];
    person[0] = 0, date[0] = dt("2017-01-11"), dir[0] = A;
    person[1] = 0, date[1] = NONE, dir[1] = A;
    person[2] = 0, date[2] = dt("2017-01-01"), dir[2] = D;
    for (int i = 0; i < 100; i++) {
        sdate[i] = dt("2010-01-01") + i * 17;
        sdir[i] = (uint8_t)(i % 2);
        /* input order: a fixed scramble of time order */
        int j = (i * 37) % 100;
        person[3 + j] = 1;
        date[3 + j] = sdate[i];
        dir[3 + j] = sdir[i];
    }
    nmdi_residence_result out[N], want[100];
    nmdi_residence_input in = {N, person, date, dir, NULL, 2, NULL, NULL};
    nmdi_error err;
    assert_int_equal(nmdi_residence_run(NULL, &r, &in, out, &err), 0);
    expect(&out[2], 1, 1, 0, "2017-01-01", "2017-05-13", "2017-05-13");
    expect(&out[0], 1, 1, 0, "2017-05-13", "2017-05-13", "2017-01-11");
    assert_int_equal(out[1].error, NMDI_RES_EDATE);
    assert_int_equal(out[1].rb, 1);
    nmdi_residence_classify(&r, 100, sdate, sdir, NULL, -1, NONE, want);
    for (int i = 0; i < 100; i++)
        same_result(&out[3 + (i * 37) % 100], &want[i]);
    /* a bad rule is refused */
    r.window = 100;
    assert_int_equal(nmdi_residence_run(NULL, &r, &in, out, &err), NMDI_EDATA);
}


/* ---- migration events, circular migrants ------------------------------------ */

static size_t person_events(const char *spec, int initial, int citizen, const char *cutoff,
                            nmdi_migration_event *ev)
{
    nmdi_date date[16];
    uint8_t dir[16];
    nmdi_residence_result res[16];
    size_t n = 0;
    for (const char *p = spec; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        dir[n] = *p == 'A' ? A : *p == 'D' ? D : NMDI_DIR_UNKNOWN;
        p += 2;
        char b[11];
        memcpy(b, p, 10);
        b[10] = 0;
        date[n++] = dt(b);
        p += 10;
    }
    nmdi_residence_rule r = rule(365, 487, cutoff);
    nmdi_residence_classify(&r, n, date, dir, NULL, initial, initial < 0 ? NONE : dt("2000-01-01"),
                            res);
    nmdi_events_opts o;
    nmdi_events_opts_default(&o);
    return nmdi_derive_events(&o, n, date, dir, res, citizen, ev);
}

static void test_events(void **state)
{
    (void)state;
    nmdi_migration_event ev[16];
    /* a resident: 120 days abroad (temporary), then emigrates for good */
    size_t k = person_events("D 2017-01-01, A 2017-05-01, D 2018-01-01", 1, 1, "2019-06-01", ev);
    assert_int_equal(k, 2);
    assert_int_equal(ev[0].type, NMDI_EV_TEMP_OUT);
    assert_int_equal(ev[0].date, dt("2017-01-01"));
    assert_int_equal(ev[0].duration, 120);
    assert_int_equal(ev[0].crossing, 0);
    assert_string_equal(nmdi_event_code(ev[0].type, ev[0].returning_citizen), "TMP_OUT");
    assert_int_equal(ev[1].type, NMDI_EV_EMIGRATION);
    assert_int_equal(ev[1].date, dt("2018-01-01"));
    assert_int_equal(ev[1].duration, -1);
    assert_int_equal(ev[1].provisional, 0);
    assert_string_equal(nmdi_event_code(ev[1].type, 0), "EMI");
    /* a non-resident citizen: 104 days' visit, then comes back to stay */
    k = person_events("A 2017-01-01, D 2017-04-15, A 2018-01-01", 0, 1, "2018-06-01", ev);
    assert_int_equal(k, 2);
    assert_int_equal(ev[0].type, NMDI_EV_TEMP_IN);
    assert_int_equal(ev[1].type, NMDI_EV_IMMIGRATION);
    assert_int_equal(ev[1].returning_citizen, 1);
    assert_int_equal(ev[1].provisional, 1); /* final 2019-01-01 > cut-off */
    assert_string_equal(nmdi_event_code(ev[1].type, ev[1].returning_citizen), "RET");
    /* a foreigner immigrating is not a returning citizen */
    k = person_events("A 2017-01-01", 0, 0, "2018-06-01", ev);
    assert_int_equal(k, 1);
    assert_int_equal(ev[0].returning_citizen, 0);
    assert_string_equal(nmdi_event_code(ev[0].type, 0), "IMM");
    /* 80 days away is no event; 364 days is still temporary */
    k = person_events("D 2017-01-01, A 2017-03-22", 1, 1, "2019-06-01", ev);
    assert_int_equal(k, 0);
    k = person_events("D 2017-01-01, A 2017-12-31", 1, 1, "2019-06-01", ev);
    assert_int_equal(k, 1);
    assert_int_equal(ev[0].type, NMDI_EV_TEMP_OUT);
    assert_int_equal(ev[0].duration, 364);
    /* the return of a temporary trip is not an event */
    k = person_events("D 2017-01-01, A 2017-06-01, D 2017-06-10, A 2017-06-20", 1, -1,
                      "2019-06-01", ev);
    assert_int_equal(k, 1);
    assert_string_equal(nmdi_event_code(99, 0), "_U");
}

static void test_residence_at(void **state)
{
    (void)state;
    nmdi_residence_rule r = rule(365, 487, "2019-01-01");
    nmdi_residence_result o[4];
    nmdi_date date[4] = {dt("2017-01-01"), dt("2018-02-05"), NONE};
    uint8_t dir[4] = {D, A, A};
    nmdi_residence_classify(&r, 3, date, dir, NULL, 1, dt("2016-01-01"), o);
    nmdi_date f;
    assert_int_equal(nmdi_residence_at(3, date, o, dt("2016-12-31"), &f), 1);
    assert_int_equal(f, dt("2017-01-01"));
    assert_int_equal(nmdi_residence_at(3, date, o, dt("2017-01-01"), &f), 0);
    assert_int_equal(f, dt("2018-01-01")); /* emigrated, known a year later */
    assert_int_equal(nmdi_residence_at(3, date, o, dt("2018-06-30"), &f), 1);
    assert_int_equal(f, dt("2019-02-05")); /* back: provisional at the cut-off */
    assert_int_equal(nmdi_residence_at(1, date + 2, o + 2, dt("2018-06-30"), &f), -1);
    assert_int_equal(f, NONE);
    assert_int_equal(nmdi_residence_at(0, date, o, dt("2018-06-30"), NULL), -1);
}

static void circ(const char *ref, int sliding, const nmdi_date *date, size_t n, int *c, int *t)
{
    nmdi_circular_opts o;
    nmdi_circular_opts_default(&o, dt(ref));
    o.sliding = sliding;
    nmdi_derive_circular(&o, n, date, NULL, c, t);
}

static void test_circular(void **state)
{
    (void)state;
    int c, t;
    /* stays of 424, 458, 457 days and an open one: circular */
    nmdi_date d[4] = {dt("2010-01-01"), dt("2011-03-01"), dt("2012-06-01"), dt("2013-09-01")};
    circ("2016-01-01", 0, d, 4, &c, &t);
    assert_int_equal(c, 1);
    assert_int_equal(t, 1);
    /* ten years before 2021-06-01 hold only two of them: fixed no, sliding yes */
    circ("2021-06-01", 0, d, 4, &c, &t);
    assert_int_equal(c, 0);
    circ("2021-06-01", 1, d, 4, &c, &t);
    assert_int_equal(c, 1);
    /* at 2012-12-31 the third stay is only 213 days old: not yet */
    circ("2012-12-31", 0, d, 4, &c, &t);
    assert_int_equal(c, 0);
    assert_int_equal(t, 1);
    circ("2012-12-31", 1, d, 4, &c, &t);
    assert_int_equal(c, 0);
    /* stays of 100 days: temporary circular only */
    nmdi_date s[4] = {dt("2015-01-01"), dt("2015-04-11"), dt("2015-07-20"), dt("2015-10-28")};
    circ("2016-06-01", 0, s, 4, &c, &t);
    assert_int_equal(c, 0);
    assert_int_equal(t, 1);
    circ("2016-06-01", 1, s, 4, &c, &t);
    assert_int_equal(t, 1);
    /* two crossings are not enough; crossings after ref do not count */
    circ("2016-06-01", 0, s, 2, &c, &t);
    assert_int_equal(t, 0);
    circ("2015-04-11", 1, s, 4, &c, &t);
    assert_int_equal(t, 0);
    /* errors are ignored: flag one of three */
    nmdi_residence_result res[4];
    memset(res, 0, sizeof res);
    res[1].error = NMDI_RES_ESAMEDIR;
    nmdi_circular_opts o;
    nmdi_circular_opts_default(&o, dt("2016-06-01"));
    nmdi_derive_circular(&o, 4, s, res, &c, &t);
    assert_int_equal(t, 1); /* 2015-01-01 now stays 200 days: still 3 crossings */
    res[2].error = NMDI_RES_ESAMEDIR;
    nmdi_derive_circular(&o, 4, s, res, &c, &t);
    assert_int_equal(t, 0);
}

/* A resident's short trips: the returns are followed by more than a year at
 * home, but the person never moved: neither circular nor temporary circular. */
static void test_circular_short_trips(void **state)
{
    (void)state;
    int c, t;
    nmdi_date d[6] = {dt("2010-01-01"), dt("2010-01-15"), dt("2011-03-01"),
                      dt("2011-03-15"), dt("2012-06-01"), dt("2012-06-15")};
    circ("2016-01-01", 0, d, 6, &c, &t);
    assert_int_equal(c, 0);
    assert_int_equal(t, 0);
    circ("2016-01-01", 1, d, 6, &c, &t);
    assert_int_equal(c, 0);
    assert_int_equal(t, 0);
    /* 100-day trips between long stays at home: temporary circular (each
     * crossing has 90+ days on both sides), not circular */
    nmdi_date e[6] = {dt("2010-01-01"), dt("2010-04-11"), dt("2011-03-01"),
                      dt("2011-06-09"), dt("2012-06-01"), dt("2012-09-09")};
    circ("2016-01-01", 0, e, 6, &c, &t);
    assert_int_equal(c, 0);
    assert_int_equal(t, 1);
    /* long stays on both sides (400 days abroad, 400 at home): circular */
    nmdi_date f[4] = {dt("2010-01-01"), dt("2011-02-05"), dt("2012-03-11"), dt("2013-04-15")};
    circ("2016-01-01", 0, f, 4, &c, &t);
    assert_int_equal(c, 1);
    assert_int_equal(t, 1);
    /* a short trip between moves counts for nothing (neither its departure nor
     * its return), the three moves around it still do */
    nmdi_date g[5] = {dt("2010-01-01"), dt("2011-02-05"), dt("2011-02-20"), dt("2012-03-11"),
                      dt("2013-04-15")};
    circ("2016-01-01", 0, g, 5, &c, &t);
    assert_int_equal(c, 1);
    circ("2016-01-01", 0, g, 4, &c, &t); /* without the last move: two */
    assert_int_equal(c, 0);
    /* invariance: the same itinerary shifted by any number of days */
    for (int k = 0; k < 400; k += 37) {
        nmdi_date h[4];
        for (int i = 0; i < 4; i++)
            h[i] = f[i] + k;
        nmdi_circular_opts o;
        nmdi_circular_opts_default(&o, dt("2016-01-01") + k);
        nmdi_derive_circular(&o, 4, h, NULL, &c, &t);
        assert_int_equal(c, 1);
    }
}

/* ---- migratory status ----------------------------------------------------------- */

static nmdi_migratory_status status(const char *birth, const char *cit, const char *cit2,
                                    const char *mother, const char *father, int ay, int am)
{
    nmdi_person_origin in = {"NZL", birth, cit, cit2, mother, father, NULL, NULL, ay, am,
                             dt("2021-03-07")};
    nmdi_migratory_status out;
    nmdi_derive_migratory_status(&in, &out);
    return out;
}

static void test_migratory_status(void **state)
{
    (void)state;
    nmdi_migratory_status s = status("NZL", "NZ", NULL, "NZL", "NZL", 0, 0);
    assert_string_equal(s.status, "NB_CIT");
    assert_string_equal(s.citgroup, "NAT");
    assert_int_equal(s.foreign_born, 0);
    assert_int_equal(s.non_citizen, 0);
    assert_int_equal(s.second_generation, 0);
    assert_int_equal(s.recent_1y, 0);
    assert_int_equal(s.duration, -1);
    s = status("IND", "356", NULL, NULL, NULL, 2020, 6);
    assert_string_equal(s.status, "FB_NCIT");
    assert_string_equal(s.citgroup, "FOR");
    assert_int_equal(s.second_generation, 0);
    assert_int_equal(s.recent_1y, 1);
    assert_int_equal(s.recent_5y, 1);
    assert_int_equal(s.duration, 0);
    s = status("GBR", "GBR", "NZL", NULL, NULL, 2016, 3); /* dual citizen */
    assert_string_equal(s.status, "FB_CIT");
    assert_int_equal(s.recent_5y, 0); /* 60 months before March 2021 */
    assert_int_equal(s.duration, 5);
    s = status("GBR", "GBR", NULL, NULL, NULL, 2016, 4);
    assert_int_equal(s.recent_5y, 1);
    assert_int_equal(s.recent_1y, 0);
    assert_int_equal(s.duration, 4);
    s = status("GBR", "GBR", NULL, NULL, NULL, 2020, 0); /* month unknown: July */
    assert_int_equal(s.recent_1y, 1);
    s = status("GBR", "GBR", NULL, NULL, NULL, 2019, 0);
    assert_int_equal(s.recent_1y, 0);
    s = status("GBR", "GBR", NULL, NULL, NULL, 2022, 1); /* after the census: unknown */
    assert_int_equal(s.recent_1y, -1);
    assert_int_equal(s.duration, -1);
    s = status("GBR", "GBR", NULL, NULL, NULL, 0, 0);
    assert_int_equal(s.recent_5y, -1);
    s = status("nz", "XXA", NULL, "WSM", "", 0, 0);
    assert_string_equal(s.status, "NB_NCIT");
    assert_string_equal(s.citgroup, "STLS");
    assert_int_equal(s.non_citizen, 1);
    assert_int_equal(s.second_generation, 1);
    s = status("NZL", "STLS", "AUS", "NZL", "_U", 0, 0);
    assert_string_equal(s.citgroup, "FOR");
    assert_int_equal(s.second_generation, -1);
    s = status("", "NZL", NULL, NULL, NULL, 0, 0);
    assert_string_equal(s.status, "_U");
    assert_int_equal(s.foreign_born, -1);
    assert_int_equal(s.second_generation, -1);
    s = status("NZL", "_U", NULL, NULL, NULL, 0, 0);
    assert_string_equal(s.status, "_U");
    assert_string_equal(s.citgroup, "_U");
    assert_int_equal(s.non_citizen, -1);
    /* residence 1 and 5 years before; returning citizens */
    nmdi_person_origin in = {"NZL", "NZL", "NZL", NULL, NULL, NULL, "AUS", "NZL", 2020, 11,
                             dt("2021-03-07")};
    nmdi_migratory_status o;
    nmdi_derive_migratory_status(&in, &o);
    assert_int_equal(o.abroad_1y, 1);
    assert_int_equal(o.abroad_5y, 0);
    assert_int_equal(o.returning_1y, 1);
    in.citizenship = "AUS";
    nmdi_derive_migratory_status(&in, &o);
    assert_int_equal(o.returning_1y, 0);
    in.citizenship = "NZL";
    in.residence_1y = NULL;
    nmdi_derive_migratory_status(&in, &o);
    assert_int_equal(o.returning_1y, -1);
}

/* ---- permits and register ---------------------------------------------------------- */

static void test_add_months(void **state)
{
    (void)state;
    assert_int_equal(nmdi_derive_add_months(dt("2020-01-31"), 1), dt("2020-02-29"));
    assert_int_equal(nmdi_derive_add_months(dt("2019-01-31"), 1), dt("2019-02-28"));
    assert_int_equal(nmdi_derive_add_months(dt("2020-11-15"), 3), dt("2021-02-15"));
    assert_int_equal(nmdi_derive_add_months(dt("2020-03-31"), -1), dt("2020-02-29"));
    assert_int_equal(nmdi_derive_add_months(dt("2020-01-15"), -13), dt("2018-12-15"));
    assert_int_equal(nmdi_derive_add_months(dt("2020-01-15"), 0), dt("2020-01-15"));
}

static void test_permits(void **state)
{
    (void)state;
    nmdi_permit_opts o;
    nmdi_permit_opts_default(&o);
    nmdi_date from[6] = {dt("2020-01-01"), dt("2021-01-01"), dt("2022-03-01"),
                         dt("2023-07-01"), dt("2024-07-01"), dt("2024-12-01")};
    nmdi_date to[6] = {dt("2020-12-31"), dt("2021-12-31"), dt("2022-12-31"),
                       dt("2024-06-30"), dt("2024-08-15"), dt("2025-11-30")};
    uint8_t reason[6] = {1, 1, 2, 2, 2, 3}, kind[6];
    assert_int_equal(nmdi_derive_permits(&o, 6, from, to, reason, kind), 2);
    assert_int_equal(kind[0], NMDI_PERMIT_FIRST);
    assert_int_equal(kind[1], NMDI_PERMIT_RENEWAL);
    assert_int_equal(kind[2], NMDI_PERMIT_CHANGE);
    assert_int_equal(kind[3], NMDI_PERMIT_FIRST); /* gap 2023-01-01..06-30: 6 months */
    assert_int_equal(kind[4], NMDI_PERMIT_SHORT);
    assert_int_equal(kind[5], NMDI_PERMIT_CHANGE); /* gap of 5 months */
    from[3] = dt("2023-06-30"); /* one day short of 6 months */
    nmdi_derive_permits(&o, 6, from, to, reason, kind);
    assert_int_equal(kind[3], NMDI_PERMIT_RENEWAL);
    /* only a previous permit of the same reason counts */
    o.same_reason_gap = 1;
    nmdi_derive_permits(&o, 6, from, to, reason, kind);
    assert_int_equal(kind[2], NMDI_PERMIT_FIRST);
    assert_int_equal(kind[5], NMDI_PERMIT_FIRST);
    o.same_reason_gap = 0;
    /* open-ended permit: never a gap after it; 3 months exactly is enough */
    nmdi_date f2[2] = {dt("2020-01-01"), dt("2025-01-01")}, t2[2] = {NONE, dt("2025-03-31")};
    uint8_t r2[2] = {1, 1}, k2[2];
    assert_int_equal(nmdi_derive_permits(&o, 2, f2, t2, r2, k2), 1);
    assert_int_equal(k2[1], NMDI_PERMIT_RENEWAL);
    t2[0] = dt("2020-03-30"); /* 1 day short of 3 months */
    assert_int_equal(nmdi_derive_permits(&o, 2, f2, t2, r2, k2), 1);
    assert_int_equal(k2[0], NMDI_PERMIT_SHORT);
    assert_int_equal(k2[1], NMDI_PERMIT_FIRST);
}

static void test_register(void **state)
{
    (void)state;
    assert_int_equal(nmdi_usual_residence_days('a'), 183);
    assert_int_equal(nmdi_usual_residence_days('b'), 365);
    assert_int_equal(nmdi_usual_residence_days('c'), -1);
    nmdi_date d[5] = {dt("2017-05-01"), dt("2018-01-01"), dt("2018-06-01"), dt("2018-08-01"),
                      dt("2019-01-01")};
    uint8_t ev[5] = {NMDI_REG_OTHER, NMDI_REG_IN, NMDI_REG_OUT, NMDI_REG_OTHER, NMDI_REG_IN};
    uint8_t c[5], p[5];
    nmdi_derive_register(365, dt("2019-12-31"), 5, d, ev, c, p);
    assert_int_equal(c[0], 0);
    assert_int_equal(c[1], 0); /* left after 151 days */
    assert_int_equal(c[2], 0); /* back after 214 days */
    assert_int_equal(c[3], 0);
    assert_int_equal(c[4], 1); /* still there, but 364 days of data: provisional */
    assert_int_equal(p[4], 1);
    nmdi_derive_register(365, dt("2020-01-01"), 5, d, ev, c, p);
    assert_int_equal(p[4], 0);
    nmdi_derive_register(183, dt("2020-01-01"), 5, d, ev, c, p); /* option a */
    assert_int_equal(c[1], 0);
    assert_int_equal(c[2], 1);
    nmdi_derive_register(0, NONE, 5, d, ev, c, p); /* every event */
    assert_int_equal(c[1] + c[2] + c[4], 3);
    assert_int_equal(p[4], 0);
}


/* ---- mobile presence ------------------------------------------------------------ */

static void test_presence(void **state)
{
    (void)state;
    /* in the country, roaming abroad from day 10 (twice that day, then back
     * in on day 10: the day's last observation decides) ... */
    nmdi_date day[8];
    uint8_t in[8] = {1, 1, 0, 1, 0, 0, 1, 1};
    int days[8] = {0, 5, 10, 10, 20, 400, 420, 421};
    nmdi_date base = dt("2017-01-01");
    for (int i = 0; i < 8; i++)
        day[i] = base + days[i];
    nmdi_date date[8];
    uint8_t dir[8];
    int first;
    size_t k = nmdi_presence_crossings(8, day, in, date, dir, &first);
    assert_int_equal(first, 1);
    assert_int_equal(k, 2);
    assert_int_equal(date[0], base + 20);
    assert_int_equal(dir[0], D);
    assert_int_equal(date[1], base + 420);
    assert_int_equal(dir[1], A);
    /* the same classifier: 400 days abroad from a resident is an emigration */
    nmdi_residence_rule r = rule(365, 487, "2019-01-01");
    nmdi_residence_result o[2];
    nmdi_residence_classify(&r, k, date, dir, NULL, first, base, o);
    assert_int_equal(o[0].ltm, 1);
    assert_int_equal(o[0].ra, 0);
    assert_int_equal(o[1].ltm, 1); /* and the return an immigration */
    /* nothing observed; one day; first day abroad */
    assert_int_equal(nmdi_presence_crossings(0, day, in, date, dir, &first), 0);
    assert_int_equal(first, -1);
    assert_int_equal(nmdi_presence_crossings(1, day, in, date, dir, &first), 0);
    assert_int_equal(first, 1);
    assert_int_equal(nmdi_presence_crossings(3, day + 2, in + 2, date, dir, &first), 1);
    assert_int_equal(first, 1); /* day 10's last observation: in the country */
    assert_int_equal(date[0], base + 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_examples),
        cmocka_unit_test(test_migrbc_scenarios),
        cmocka_unit_test(test_lone_crossing_cutoff),
        cmocka_unit_test(test_return_rule),
        cmocka_unit_test(test_d0_quirk),
        cmocka_unit_test(test_other_rules),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_parse_direction),
        cmocka_unit_test(test_property_brute),
        cmocka_unit_test(test_property_mirror_and_errors),
        cmocka_unit_test(test_property_order),
        cmocka_unit_test(test_run_sorts),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_residence_at),
        cmocka_unit_test(test_circular),
        cmocka_unit_test(test_circular_short_trips),
        cmocka_unit_test(test_migratory_status),
        cmocka_unit_test(test_add_months),
        cmocka_unit_test(test_permits),
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_presence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
