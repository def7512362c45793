/* test_derive_pipeline.c — unit tests of `nmdi derive DIR` (src/derive/pipeline.c,
 * travellers.c): the residence section of the configuration, and whole runs over
 * small infrastructures loaded through the ingest library: events of known
 * itineraries, a passport renewal joined (or not) by name and date of birth,
 * register flows, first permits, versions, lineage, the thread count; the
 * document join itself (nmdi_travellers_link) over a store whose keys stay in
 * their partition (the parallel join) and over one whose keys do not (the
 * serial join over a global map); the register index by identity
 * (nmdi_regindex_build) against a direct reading. */
#include "../../src/derive/pipeline_impl.h" /* the document join (internal) */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nmdi/catalog.h"
#include "nmdi/derive_pipeline.h"
#include "nmdi/ingest.h"
#include "nmdi/store.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static nmdi_date D(const char *s)
{
    nmdi_date d;
    assert_int_equal(nmdi_date_parse(s, strlen(s), &d), 0);
    return d;
}

static void test_params(void **state)
{
    (void)state;
    nmdi_config *cfg;
    nmdi_error err;
    nmdi_derive_params p;
    assert_int_equal(nmdi_derive_params_load(NULL, &p, &err), 0);
    assert_int_equal(p.rule.threshold, 365);
    assert_int_equal(p.rule.window, 487);
    assert_int_equal(p.usual_residence, 'b');
    assert_int_equal(p.link_documents, 1);
    const char *y = "country: {code: XKN}\nagencies: [{id: A}]\n"
                    "residence: {rule: \"9/12\", usual_residence: a}\n";
    assert_int_equal(nmdi_config_parse(&cfg, y, strlen(y), "t.yaml", &err), 0);
    assert_int_equal(nmdi_derive_params_load(cfg, &p, &err), 0);
    assert_int_equal(p.rule.threshold, 273);
    assert_int_equal(p.rule.window, 365);
    assert_int_equal(p.usual_residence, 'a');
    assert_string_equal(p.country, "XKN");
    nmdi_config_free(cfg);
    y = "country: {code: XKN}\nagencies: [{id: A}]\n"
        "residence: {threshold_months: 12, window_months: 16, link_documents: false}\n";
    assert_int_equal(nmdi_config_parse(&cfg, y, strlen(y), "t.yaml", &err), 0);
    assert_int_equal(nmdi_derive_params_load(cfg, &p, &err), 0);
    assert_int_equal(p.rule.threshold, 365);
    assert_int_equal(p.rule.window, 487);
    assert_int_equal(p.link_documents, 0);
    nmdi_config_free(cfg);
    y = "country: {code: XKN}\nagencies: [{id: A}]\nresidence:\n  threshold: 400\n  window: 300\n";
    assert_int_equal(nmdi_config_parse(&cfg, y, strlen(y), "t.yaml", &err), 0);
    assert_int_equal(nmdi_derive_params_load(cfg, &p, &err), NMDI_EDATA);
    nmdi_config_free(cfg);
    y = "country: {code: XKN}\nagencies: [{id: A}]\nresidence:\n  usual_residence: c\n";
    assert_int_equal(nmdi_config_parse(&cfg, y, strlen(y), "t.yaml", &err), 0);
    assert_int_equal(nmdi_derive_params_load(cfg, &p, &err), NMDI_EDATA);
    assert_int_equal(err.line, 4);
    nmdi_config_free(cfg);
    y = "country: {code: XKN}\nagencies: [{id: A}]\nresidence:\n  treshold: 300\n";
    assert_int_equal(nmdi_config_parse(&cfg, y, strlen(y), "t.yaml", &err), 0);
    assert_int_equal(nmdi_derive_params_load(cfg, &p, &err), NMDI_EDATA);
    nmdi_config_free(cfg);
}

/* Rows of a dataset: count rows with `field` (a CODE column) equal to code. */
static size_t count_code(const char *dir, const char *dataset, const char *field, const char *code)
{
    nmdi_dataset *ds;
    nmdi_error err;
    if (nmdi_ingest_open_latest(dir, dataset, &ds, &err))
        fail_msg("%s: %s", dataset, err.msg);
    size_t nd, n = 0;
    const char *const *dict = nmdi_dataset_dict(ds, field, &nd);
    for (size_t p = 0; p < nmdi_dataset_nparts(ds); p++) {
        const int32_t *c;
        if (!nmdi_dataset_part_rows(ds, p))
            continue;
        assert_int_equal(nmdi_dataset_i32(ds, p, field, &c, &err), 0);
        for (uint64_t i = 0; i < nmdi_dataset_part_rows(ds, p); i++)
            n += c[i] >= 0 && !strcmp(dict[c[i]], code);
    }
    nmdi_dataset_close(ds);
    return n;
}

static const char *CONFIG =
    "country: {code: XKN}\n"
    "agencies: [{id: A}]\n"
    "store: {partitions: %d}\n"
    "sources:\n"
    "  - id: bc\n"
    "    agency: A\n"
    "    record_type: border_crossing\n"
    "    columns: {DOC: traveller_key, DIR: direction, DATE: date, TIME: time, NAT: "
    "document_country, SEX: sex}\n"
    "    codes: {DIR: {E: A, X: D}}\n"
    "    identifiers:\n"
    "      - {column: SURNAME, name: surname, kind: name}\n"
    "      - {column: GIVEN, name: given_name, kind: name}\n"
    "      - {column: DOB, name: dob, kind: date}\n"
    "  - id: reg\n"
    "    agency: A\n"
    "    record_type: register_event\n"
    "    columns: {PIN: person_key, EV: event, DATE: date, CIT: citizenship}\n"
    "  - id: per\n"
    "    agency: A\n"
    "    record_type: permit\n"
    "    columns: {CASE: person_key, FROM: valid_from, TO: valid_to, WHY: reason}\n"
    "residence: {rule: \"12/16\", usual_residence: b%s}\n";

/* Itineraries (cut-off 2022-06-30 = the last crossing):
 * d1 (citizen) lone arrival 2019-01-10 -> IMM, returning citizen;
 * d2 resident short trip -> nothing;
 * d3 visitor 2019-02-01 .. 2019-06-01 (120 days) -> TMP_IN;
 * d4/d5: one resident, passport renewed while abroad: departs on d4 2020-01-05,
 *   returns on d5 2020-01-25 (same name and birth date) -> nothing when the
 *   documents are joined; an EMI (d4) and an IMM (d5) when they are not;
 * d6 resident emigrates 2019-03-01 and never comes back -> EMI;
 * d7 a resident's day trip, listed return first: ordered by time (departure 08:00,
 *   arrival 20:00), so no error and no event. */
static const char *CROSSINGS =
    "DOC,SURNAME,GIVEN,DOB,DIR,DATE,TIME,NAT,SEX\n"
    "d1,Ames,Ann,1980-01-01,E,2019-01-10,10:00,XKN,F\n"
    "d2,Bell,Bo,1970-05-05,X,2019-04-01,09:00,XKN,M\n"
    "d2,Bell,Bo,1970-05-05,E,2019-04-15,09:00,XKN,M\n"
    "d3,Cruz,Cy,1990-02-02,E,2019-02-01,12:00,FRA,M\n"
    "d3,Cruz,Cy,1990-02-02,X,2019-06-01,12:00,FRA,M\n"
    "d4,Dahl,Di,1985-07-07,X,2020-01-05,07:00,XKN,F\n"
    "d5,Dahl,Di,1985-07-07,E,2020-01-25,07:00,XKN,F\n"
    "d6,Eng,Ed,1960-03-03,X,2019-03-01,11:00,DEU,M\n"
    "d7,Fox,Fi,1975-09-09,E,2021-05-01,20:00,ITA,F\n"
    "d7,Fox,Fi,1975-09-09,X,2021-05-01,08:00,ITA,F\n"
    "d2,Bell,Bo,1970-05-05,X,2022-06-20,09:00,XKN,M\n"
    "d2,Bell,Bo,1970-05-05,E,2022-06-30,09:00,XKN,M\n";

static void make_infra_p(const char *d, const char *dir, const char *extra, int parts)
{
    char cfg[512], csv[512], text[4096];
    snprintf(cfg, sizeof cfg, "%s/c.yaml", d);
    snprintf(text, sizeof text, CONFIG, parts, extra);
    write_file(cfg, text);
    nmdi_error err;
    if (nmdi_ingest_init(dir, cfg, &err))
        fail_msg("init: %s", err.msg);
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    static const struct {
        const char *src, *file, *text;
    } loads[] = {
        {"bc", "bc.csv", NULL},
        {"reg", "reg.csv",
         "PIN,EV,DATE,CIT\n"
         "p1,REG_IN,2019-01-01,FRA\n"   /* stays: IMM */
         "p2,REG_IN,2019-02-01,DEU\n"   /* leaves after 100 days: not counted */
         "p2,DEREG_OUT,2019-05-12,DEU\n" /* ... and its deregistration not either (returns) */
         "p2,REG_IN,2019-06-01,DEU\n"   /* stays: IMM */
         "p3,DEREG_OUT,2019-03-01,XKN\n" /* EMI of a citizen */
         "p4,BIRTH,2019-03-01,XKN\n"},
        {"per", "per.csv",
         "CASE,FROM,TO,WHY\n"
         "c1,2019-01-01,2019-12-31,FAM\n" /* first */
         "c1,2020-01-01,2021-12-31,FAM\n" /* renewal */
         "c2,2019-01-01,2019-12-31,EDU\n" /* first */
         "c2,2020-09-01,2021-08-31,REM\n" /* gap of 8 months: first again */
         "c3,2019-05-01,2019-06-15,OTH\n"}, /* short: not a residence permit */
    };
    for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
        snprintf(csv, sizeof csv, "%s/%s", d, loads[i].file);
        write_file(csv, loads[i].text ? loads[i].text : CROSSINGS);
        const char *files[] = {csv};
        nmdi_load_report *r;
        if (nmdi_ingest_load(&ctx, dir, loads[i].src, 1, files, NULL, &r, &err))
            fail_msg("load %s: %s", loads[i].src, err.msg);
        nmdi_load_report_free(r);
    }
}

static void make_infra(const char *d, const char *dir, const char *extra)
{
    make_infra_p(d, dir, extra, 3);
}

static int lineage_fn(void *arg, const nmdi_dsversion *v)
{
    char *out = arg;
    snprintf(out, 4096, "%s", v->lineage);
    return 0;
}

static void test_run(void **state)
{
    (void)state;
    char d[] = "/tmp/nmdi-derive-XXXXXX";
    assert_non_null(mkdtemp(d));
    char dir[256], cmd[600];
    snprintf(dir, sizeof dir, "%s/infra", d);
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    nmdi_error err;
    nmdi_derive_summary *s = calloc(1, sizeof *s);
    assert_non_null(s);
    /* nothing loaded yet: nothing to derive, no version written */
    char cfg[512], text[4096];
    snprintf(cfg, sizeof cfg, "%s/c.yaml", d);
    snprintf(text, sizeof text, CONFIG, 3, "");
    write_file(cfg, text);
    char empty[300];
    snprintf(empty, sizeof empty, "%s/empty", d);
    assert_int_equal(nmdi_ingest_init(empty, cfg, &err), 0);
    assert_int_equal(nmdi_derive_dir(&ctx, empty, NMDI_DATE_NONE, s, &err), 0);
    assert_int_equal(s->version[0], 0);
    assert_int_equal(s->crossings_in, 0);

    make_infra(d, dir, "");
    for (int threads = 1; threads <= 3; threads += 2) {
        ctx.nthreads = threads;
        if (nmdi_derive_dir(&ctx, dir, NMDI_DATE_NONE, s, &err))
            fail_msg("derive: %s", err.msg);
        assert_int_equal(s->cutoff, D("2022-06-30"));
        assert_int_equal(s->crossings_in, 12);
        assert_int_equal(s->crossings_out, 12);
        assert_int_equal(s->documents, 7);
        assert_int_equal(s->travellers, 6);
        assert_int_equal(s->errors[2], 0);
        assert_int_equal(s->events[NMDI_EV_IMMIGRATION][2019 - NMDI_DERIVE_YEAR0], 1);
        assert_int_equal(s->events[NMDI_EV_EMIGRATION][2019 - NMDI_DERIVE_YEAR0], 1);
        assert_int_equal(s->events[NMDI_EV_TEMP_IN][2019 - NMDI_DERIVE_YEAR0], 1);
        assert_int_equal(s->events[NMDI_EV_IMMIGRATION][2020 - NMDI_DERIVE_YEAR0], 0);
        assert_int_equal(s->events[NMDI_EV_EMIGRATION][2020 - NMDI_DERIVE_YEAR0], 0);
        assert_int_equal(s->returning, 1);
        assert_int_equal(s->reg[NMDI_REG_IN][2019 - NMDI_DERIVE_YEAR0], 2);
        assert_int_equal(s->reg[NMDI_REG_OUT][2019 - NMDI_DERIVE_YEAR0], 1);
        assert_int_equal(s->first_permits, 3);
        assert_int_equal(s->permits_by_reason[0], 1); /* FAM */
        assert_int_equal(s->permits_by_reason[1], 1); /* EDU */
        assert_int_equal(s->permits_by_reason[2], 1); /* REM */
        int64_t v = threads == 1 ? 1 : 2;
        assert_int_equal(s->version[0], v);
        assert_int_equal(s->version[1], v);
        assert_int_equal(s->version[2], v);
        assert_int_equal(s->version[3], v);
    }
    assert_int_equal(count_code(dir, "migration_events", "event", "IMM"), 1);
    assert_int_equal(count_code(dir, "migration_events", "event", "EMI"), 1);
    assert_int_equal(count_code(dir, "migration_events", "event", "TMP_IN"), 1);
    assert_int_equal(count_code(dir, "crossing_residence", "direction", "A"), 6);
    assert_int_equal(count_code(dir, "register_flows", "event", "IMM"), 2);
    assert_int_equal(count_code(dir, "first_permits", "reason", "EDU"), 1);
    /* crossing_residence: the rows of d7 in time order, the residence chained */
    nmdi_dataset *ds;
    assert_int_equal(nmdi_ingest_open_latest(dir, "crossing_residence", &ds, &err), 0);
    assert_int_equal(nmdi_dataset_rows(ds), 12);
    assert_int_equal(nmdi_dataset_verify(ds, &err), 0);
    size_t nprov = 0, nd6 = 0, nd7 = 0;
    for (size_t p = 0; p < nmdi_dataset_nparts(ds); p++) {
        if (!nmdi_dataset_part_rows(ds, p))
            continue;
        const int32_t *prov, *date, *rb, *ra, *ltm;
        assert_int_equal(nmdi_dataset_i32(ds, p, "provisional", &prov, &err), 0);
        assert_int_equal(nmdi_dataset_i32(ds, p, "date", &date, &err), 0);
        assert_int_equal(nmdi_dataset_i32(ds, p, "resident_before", &rb, &err), 0);
        assert_int_equal(nmdi_dataset_i32(ds, p, "resident_after", &ra, &err), 0);
        assert_int_equal(nmdi_dataset_i32(ds, p, "long_term_migration", &ltm, &err), 0);
        for (uint64_t i = 0; i < nmdi_dataset_part_rows(ds, p); i++) {
            nprov += (size_t)prov[i];
            if (date[i] == D("2019-03-01")) { /* d6: resident emigrates */
                nd6++;
                assert_int_equal(rb[i], 1);
                assert_int_equal(ra[i], 0);
                assert_int_equal(ltm[i], 1);
            }
            if (i + 1 < nmdi_dataset_part_rows(ds, p) && date[i] == D("2021-05-01") &&
                date[i + 1] == D("2021-05-01")) { /* d7: ordered by time */
                nd7++;
                assert_int_equal(rb[i], 1);
                assert_int_equal(ra[i + 1], 1);
                assert_int_equal(ltm[i] + ltm[i + 1], 0);
            }
        }
    }
    assert_int_equal(nd6, 1);
    assert_int_equal(nd7, 1);
    assert_true(nprov > 0); /* the last crossings of d2 end near the cut-off */
    nmdi_dataset_close(ds);
    /* lineage: inputs, parameters, code version */
    char lin[4096] = "", path[400];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    nmdi_catalog *c;
    assert_int_equal(nmdi_catalog_open(&c, path, 1, &err), 0);
    assert_int_equal(nmdi_catalog_versions(c, "migration_events", lineage_fn, lin, &err), 0);
    nmdi_catalog_close(c);
    assert_non_null(strstr(lin, "\"threshold_days\":365"));
    assert_non_null(strstr(lin, "\"window_days\":487"));
    assert_non_null(strstr(lin, "\"dataset\":\"bc\""));
    assert_non_null(strstr(lin, "\"nmdi_version\""));
    assert_non_null(strstr(lin, "\"usual_residence\":\"b\""));
    /* --as-of before the lone arrival of d1 + 365 days: not (yet) an immigration */
    assert_int_equal(nmdi_derive_dir(&ctx, dir, D("2019-06-30"), s, &err), 0);
    assert_int_equal(s->events[NMDI_EV_IMMIGRATION][2019 - NMDI_DERIVE_YEAR0], 0);

    /* without joining documents, the renewal makes an emigration and an immigration */
    char dir2[300];
    snprintf(dir2, sizeof dir2, "%s/infra2", d);
    make_infra(d, dir2, ", link_documents: false");
    assert_int_equal(nmdi_derive_dir(&ctx, dir2, NMDI_DATE_NONE, s, &err), 0);
    assert_int_equal(s->travellers, 7);
    assert_int_equal(s->events[NMDI_EV_IMMIGRATION][2020 - NMDI_DERIVE_YEAR0], 1);
    assert_int_equal(s->events[NMDI_EV_EMIGRATION][2020 - NMDI_DERIVE_YEAR0], 1);

    /* the same results for any number of partitions (travellers joined across
     * partitions are gathered into the home partition of their root document) */
    nmdi_derive_summary *s1 = calloc(1, sizeof *s1);
    assert_non_null(s1);
    for (int parts = 1; parts <= 5; parts += 4) {
        char dirp[320];
        snprintf(dirp, sizeof dirp, "%s/infra_p%d", d, parts);
        make_infra_p(d, dirp, "", parts);
        assert_int_equal(nmdi_derive_dir(&ctx, dirp, NMDI_DATE_NONE, s, &err), 0);
        if (parts == 1) {
            *s1 = *s;
            continue;
        }
        assert_int_equal(s->travellers, s1->travellers);
        assert_int_equal(s->documents, s1->documents);
        assert_int_equal(s->crossings_out, s1->crossings_out);
        assert_memory_equal(s->errors, s1->errors, sizeof s->errors);
        assert_memory_equal(s->events, s1->events, sizeof s->events);
        assert_memory_equal(s->events_prov, s1->events_prov, sizeof s->events_prov);
        assert_int_equal(s->circular_temporary, s1->circular_temporary);
        assert_memory_equal(s->reg, s1->reg, sizeof s->reg);
        assert_int_equal(s->first_permits, s1->first_permits);
    }
    assert_int_equal(s1->travellers, 6);

    /* the same rows in the same order with one or two threads, and with the
     * obsolete batch_crossings (accepted, without effect) */
    for (int t = 1; t <= 2; t++) {
        char da[320], yaml[400], ytext[4096];
        snprintf(da, sizeof da, "%s/infra_b%d", d, t);
        make_infra_p(d, da, "", 3);
        nmdi_ctx c2 = ctx;
        c2.nthreads = t;
        assert_int_equal(nmdi_derive_dir(&c2, da, NMDI_DATE_NONE, s, &err), 0);
        *s1 = *s;
        c2.nthreads = 3 - t;
        /* the same infrastructure (same keys, same partitions), the other
         * number of threads */
        snprintf(yaml, sizeof yaml, "%s/nmdi.yaml", da);
        snprintf(ytext, sizeof ytext, CONFIG, 3,
                 t == 1 ? ", batch_crossings: 1" : ", batch_crossings: 2");
        write_file(yaml, ytext);
        assert_int_equal(nmdi_derive_dir(&c2, da, NMDI_DATE_NONE, s, &err), 0);
        assert_memory_equal(s->events, s1->events, sizeof s->events);
        assert_int_equal(s->travellers, s1->travellers);
        static const char *const outs[2] = {"crossing_residence", "migration_events"};
        for (int o = 0; o < 2; o++) {
            char pa[400], pb[400];
            snprintf(pa, sizeof pa, "%s/store/%s/1", da, outs[o]);
            snprintf(pb, sizeof pb, "%s/store/%s/2", da, outs[o]);
            nmdi_dataset *xa, *xb;
            assert_int_equal(nmdi_dataset_open(&xa, pa, &err), 0);
            assert_int_equal(nmdi_dataset_open(&xb, pb, &err), 0);
            assert_int_equal(nmdi_dataset_nfields(xa), nmdi_dataset_nfields(xb));
            for (size_t p = 0; p < nmdi_dataset_nparts(xa); p++) {
                size_t n = (size_t)nmdi_dataset_part_rows(xa, p);
                assert_int_equal(n, nmdi_dataset_part_rows(xb, p));
                for (size_t f = 0; f < nmdi_dataset_nfields(xa); f++) {
                    const nmdi_store_field *fd = nmdi_dataset_field(xa, f);
                    if (fd->type == NMDI_COL_I64) {
                        const int64_t *va, *vb;
                        assert_int_equal(nmdi_dataset_i64(xa, p, fd->name, &va, &err), 0);
                        assert_int_equal(nmdi_dataset_i64(xb, p, fd->name, &vb, &err), 0);
                        assert_memory_equal(va, vb, n * sizeof *va + !n);
                        continue;
                    }
                    const int32_t *va, *vb;
                    assert_int_equal(nmdi_dataset_i32(xa, p, fd->name, &va, &err), 0);
                    assert_int_equal(nmdi_dataset_i32(xb, p, fd->name, &vb, &err), 0);
                    size_t na = 0, nbd = 0;
                    const char *const *ka = nmdi_dataset_dict(xa, fd->name, &na);
                    const char *const *kb = nmdi_dataset_dict(xb, fd->name, &nbd);
                    for (size_t i = 0; i < n; i++) {
                        if (!ka || va[i] < 0 || vb[i] < 0)
                            assert_int_equal(va[i], vb[i]);
                        else
                            assert_string_equal(ka[va[i]], kb[vb[i]]);
                    }
                }
            }
            nmdi_dataset_close(xa);
            nmdi_dataset_close(xb);
        }
    }
    free(s1);
    free(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

/* Initial residence and previous/next residence from the population register:
 * r1 resident (in the extract) returning 2019-02-01 from a trip begun before
 *   the data, stays: inferred, an immigration; with the extract, nothing;
 * m1 immigrant (not in the extract) arriving 2019-03-01 and staying, registered
 *   from FRA on 2019-03-10: IMM with previous_residence FRA;
 * e1 resident leaving 2019-04-01 for good, deregistered to DEU: EMI with
 *   next_residence DEU;
 * the names are keyed in other cases in the register (the keyed hash of a
 * name is of its normalised form). */
static const char *REG_CONFIG =
    "country: {code: XKN}\n"
    "agencies: [{id: A}]\n"
    "store: {partitions: 2}\n"
    "sources:\n"
    "  - id: bc\n"
    "    agency: A\n"
    "    record_type: border_crossing\n"
    "    columns: {DOC: traveller_key, DIR: direction, DATE: date, SEX: sex}\n"
    "    codes: {DIR: {E: A, X: D}}\n"
    "    identifiers:\n"
    "      - {column: SURNAME, name: surname, kind: name}\n"
    "      - {column: GIVEN, name: given_name, kind: name}\n"
    "      - {column: DOB, name: dob, kind: date}\n"
    "  - id: base\n"
    "    agency: A\n"
    "    record_type: person\n"
    "    columns: {PIN: person_key, SEX: sex, SINCE: {field: registered_since, type: date}}\n"
    "    identifiers:\n"
    "      - {column: SURNAME, name: surname, kind: name}\n"
    "      - {column: GIVEN, name: given_name, kind: name}\n"
    "      - {column: DOB, name: dob, kind: date}\n"
    "  - id: ev\n"
    "    agency: A\n"
    "    record_type: register_event\n"
    "    columns: {PIN: person_key, EV: event, DATE: date, SEX: sex, CTY: country}\n"
    "    identifiers:\n"
    "      - {column: SURNAME, name: surname, kind: name}\n"
    "      - {column: GIVEN, name: given_name, kind: name}\n"
    "      - {column: DOB, name: dob, kind: date}\n"
    "residence: {rule: \"12/16\"%s}\n";

static void reg_infra(const char *d, const char *dir, const char *extra, int with_base)
{
    char cfg[512], csv[512], text[4096];
    snprintf(cfg, sizeof cfg, "%s/r.yaml", d);
    snprintf(text, sizeof text, REG_CONFIG, extra);
    write_file(cfg, text);
    nmdi_error err;
    if (nmdi_ingest_init(dir, cfg, &err))
        fail_msg("init: %s", err.msg);
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    static const struct {
        const char *src, *text;
    } loads[] = {
        {"bc", "DOC,SURNAME,GIVEN,DOB,DIR,DATE,SEX\n"
               "r1,RUIZ,ROSA,1980-01-01,E,2019-02-01,F\n"
               "m1,MORI,MAX,1990-02-02,E,2019-03-01,M\n"
               "e1,EKE,EVA,1970-03-03,X,2019-04-01,F\n"
               "x1,XU,XI,1999-09-09,E,2021-06-30,M\n"},
        {"base", "PIN,SURNAME,GIVEN,DOB,SEX,SINCE\n"
                 "1,Ruiz,Rosa,1980-01-01,F,2001-01-01\n"
                 "3,Eke,Eva,1970-03-03,F,1970-03-03\n"
                 "4,Other,Olga,1950-05-05,F,2018-12-31\n"},
        {"ev", "PIN,SURNAME,GIVEN,DOB,SEX,EV,DATE,CTY\n"
               "2,Mori,Max,1990-02-02,M,REG_IN,2019-03-10,FRA\n"
               "3,Eke,Eva,1970-03-03,F,DEREG_OUT,2019-04-05,DEU\n"},
    };
    for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
        if (i == 1 && !with_base)
            continue;
        snprintf(csv, sizeof csv, "%s/%s.csv", d, loads[i].src);
        write_file(csv, loads[i].text);
        const char *files[] = {csv};
        nmdi_load_report *r;
        if (nmdi_ingest_load(&ctx, dir, loads[i].src, 1, files, NULL, &r, &err))
            fail_msg("load %s: %s", loads[i].src, err.msg);
        nmdi_load_report_free(r);
    }
}

static void test_register(void **state)
{
    (void)state;
    char d[] = "/tmp/nmdi-derive-reg-XXXXXX";
    assert_non_null(mkdtemp(d));
    char dir[256], dir2[256], dir3[256], cmd[600];
    snprintf(dir, sizeof dir, "%s/infra", d);
    snprintf(dir2, sizeof dir2, "%s/infra2", d);
    snprintf(dir3, sizeof dir3, "%s/infra3", d);
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    nmdi_error err;
    nmdi_derive_summary *s = calloc(1, sizeof *s);
    assert_non_null(s);
    const int y19 = 2019 - NMDI_DERIVE_YEAR0;

    /* no extract: r1's return is an immigration (inferred non-resident) */
    reg_infra(d, dir, "", 1);
    assert_int_equal(nmdi_derive_dir(&ctx, dir, NMDI_DATE_NONE, s, &err), 0);
    assert_int_equal(s->events[NMDI_EV_IMMIGRATION][y19], 2);
    assert_int_equal(s->events[NMDI_EV_EMIGRATION][y19], 1);
    assert_int_equal(s->initial_date, NMDI_DATE_NONE);
    /* previous / next residence need no extract, only register events */
    assert_int_equal(s->events_with_residence, 2);
    assert_int_equal(count_code(dir, "migration_events", "previous_residence", "FRA"), 1);
    assert_int_equal(count_code(dir, "migration_events", "next_residence", "DEU"), 1);
    assert_int_equal(count_code(dir, "register_flows", "previous_residence", "FRA"), 1);
    assert_int_equal(count_code(dir, "register_flows", "next_residence", "DEU"), 1);

    /* with the extract dated 2019-01-01: r1 is resident, no immigration */
    reg_infra(d, dir2, ", initial_register: base, initial_date: 2019-01-01", 1);
    assert_int_equal(nmdi_derive_dir(&ctx, dir2, NMDI_DATE_NONE, s, &err), 0);
    assert_int_equal(s->events[NMDI_EV_IMMIGRATION][y19], 1);
    assert_int_equal(s->events[NMDI_EV_EMIGRATION][y19], 1);
    assert_int_equal(s->initial_date, D("2019-01-01"));
    assert_int_equal(s->initial_registered, 2);   /* r1, e1 */
    assert_int_equal(s->initial_unregistered, 2); /* m1, x1 */
    assert_int_equal(count_code(dir2, "migration_events", "previous_residence", "FRA"), 1);
    char lin[4096] = "", path[512];
    snprintf(path, sizeof path, "%s/catalog.db", dir2);
    nmdi_catalog *c;
    assert_int_equal(nmdi_catalog_open(&c, path, 1, &err), 0);
    assert_int_equal(nmdi_catalog_versions(c, "migration_events", lineage_fn, lin, &err), 0);
    nmdi_catalog_close(c);
    assert_non_null(strstr(lin, "\"register\":\"base\""));
    /* the default date is the latest registered_since (2018-12-31), still before r1 */
    assert_int_equal(nmdi_derive_dir(&ctx, dir2, D("2022-01-01"), s, &err), 0);
    assert_int_equal(s->events[NMDI_EV_IMMIGRATION][y19], 1);

    /* a configured extract that is not loaded: a note, the status inferred */
    reg_infra(d, dir3, ", initial_register: base", 0);
    assert_int_equal(nmdi_derive_dir(&ctx, dir3, NMDI_DATE_NONE, s, &err), 0);
    assert_int_equal(s->events[NMDI_EV_IMMIGRATION][y19], 2);
    assert_int_equal(s->initial_date, NMDI_DATE_NONE);

    /* an unknown source is a configuration error naming the key */
    nmdi_config *cfg;
    const char *y = "country: {code: XKN}\nagencies: [{id: A}]\nresidence:\n  initial_register: nope\n";
    nmdi_derive_params p;
    assert_int_equal(nmdi_config_parse(&cfg, y, strlen(y), "t.yaml", &err), 0);
    assert_int_equal(nmdi_derive_params_load(cfg, &p, &err), NMDI_EDATA);
    assert_int_equal(err.line, 4);
    nmdi_config_free(cfg);
    y = "country: {code: XKN}\nagencies: [{id: A}]\nresidence:\n  initial_date: 2019-13-01\n";
    assert_int_equal(nmdi_config_parse(&cfg, y, strlen(y), "t.yaml", &err), 0);
    assert_int_equal(nmdi_derive_params_load(cfg, &p, &err), NMDI_EDATA);
    nmdi_config_free(cfg);
    free(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

/* ---- the document join: keys confined to their partition or not ---- */

/* Rows of a border dataset: document key, identity hashes, sex. */
static const struct jrow {
    int64_t key, s, g, b;
    const char *sex;
} jrows[] = {
    {10, 1, 2, 3, "M"},  {7, 7, 8, 9, "F"},   {10, 1, 2, 3, "M"},  /* 10 again after 7 */
    {11, 1, 2, 3, "M"},  {11, 4, 5, 6, "M"},  /* 11: identities A and B */
    {25, 4, 5, 6, "M"},  {25, 4, 5, 6, "M"},  /* 25: B, so 10-11-25 is one person */
    {30, 7, 8, 9, "F"},  /* 30: C, as 7 */
    {13, NMDI_I64_NONE, 2, 3, "M"},            /* incomplete identity: alone */
    {14, 1, 2, 3, "F"},  /* the names of A, another sex: alone */
    {5, 11, 12, 13, "M"}, {NMDI_I64_NONE, 1, 2, 3, "M"}, /* a row without a key */
};

static int64_t jperson(int64_t key)
{
    switch (key) {
    case 11: case 25: return 10;
    case 30: return 7;
    default: return key;
    }
}

/* Write jrows in 3 partitions: spread 0 at key % 3 (as the store's loader
 * does), spread 1 elsewhere (and document 25 split over two partitions). */
static nmdi_dataset *jwrite(const char *d, int spread)
{
    static const nmdi_store_field f[5] = {{"traveller_key", NMDI_COL_I64}, {"surname_hash", NMDI_COL_I64},
                                          {"given_name_hash", NMDI_COL_I64}, {"dob_hash", NMDI_COL_I64},
                                          {"sex", NMDI_COL_CODE}};
    nmdi_store_writer *w;
    nmdi_error err;
    nmdi_store_opts o = {3, 0};
    char *path;
    nmdi_dataset *ds;
    assert_int_equal(nmdi_store_writer_open(&w, d, spread ? "spread" : "confined", "1", 5, f, &o, &err), 0);
    for (size_t i = 0; i < sizeof jrows / sizeof jrows[0]; i++) {
        const struct jrow *r = &jrows[i];
        uint32_t p = r->key == NMDI_I64_NONE ? 0 : (uint32_t)((uint64_t)r->key % 3);
        if (spread)
            p = r->key == 25 ? (uint32_t)(i % 2) : (p + 1) % 3;
        nmdi_store_row_begin(w, p);
        nmdi_store_put_i64(w, 0, r->key);
        nmdi_store_put_i64(w, 1, r->s);
        nmdi_store_put_i64(w, 2, r->g);
        nmdi_store_put_i64(w, 3, r->b);
        nmdi_store_put_str(w, 4, r->sex, 1);
        assert_int_equal(nmdi_store_row_end(w, &err), 0);
    }
    assert_int_equal(nmdi_store_writer_finish(w, NULL, &path, &err), 0);
    assert_int_equal(nmdi_dataset_open(&ds, path, &err), 0);
    free(path);
    return ds;
}

static void test_join(void **state)
{
    (void)state;
    char d[] = "/tmp/nmdi-join-XXXXXX", cmd[128];
    assert_non_null(mkdtemp(d));
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    ctx.quiet = 1;
    for (int spread = 0; spread < 2; spread++)
        for (int threads = 1; threads <= 2; threads++) {
            ctx.nthreads = threads;
            nmdi_dataset *ds = jwrite(d, spread);
            nmdi_travellers *t;
            nmdi_error err;
            assert_int_equal(nmdi_travellers_link(&ctx, ds, &t, &err), 0);
            assert_non_null(t);
            uint64_t docs, persons;
            nmdi_travellers_counts(t, &docs, &persons);
            assert_int_equal(docs, 8);
            assert_int_equal(persons, 5);
            const int64_t *pkey;
            const uint16_t *home;
            nmdi_travellers_docs(t, &pkey, &home);
            size_t seen = 0;
            for (size_t p = 0; p < 3; p++) {
                size_t nr, n = (size_t)nmdi_dataset_part_rows(ds, p);
                const nmdi_trun *runs = nmdi_travellers_runs(t, p, &nr);
                const int64_t *key;
                assert_int_equal(nmdi_dataset_i64(ds, p, "traveller_key", &key, &err), 0);
                assert_true(n == 0 || (nr > 0 && runs[0].row == 0));
                for (size_t k = 0; k < nr; k++) {
                    size_t end = k + 1 < nr ? runs[k + 1].row : n;
                    assert_true(runs[k].row < end);
                    for (size_t i = runs[k].row; i < end; i++, seen++) {
                        if (runs[k].doc == NMDI_TRUN_NONE) {
                            assert_true(key[i] == NMDI_I64_NONE);
                            continue;
                        }
                        assert_true(key[i] != NMDI_I64_NONE);
                        assert_int_equal(pkey[runs[k].doc], jperson(key[i]));
                        /* the person's home: a partition with a row of its root document */
                        size_t h = home[runs[k].doc], hn = (size_t)nmdi_dataset_part_rows(ds, h);
                        const int64_t *hk;
                        assert_int_equal(nmdi_dataset_i64(ds, h, "traveller_key", &hk, &err), 0);
                        int found = 0;
                        for (size_t j = 0; j < hn && !found; j++)
                            found = hk[j] == pkey[runs[k].doc];
                        assert_true(found);
                        if (!spread)
                            assert_int_equal(h, (uint64_t)jperson(key[i]) % 3);
                    }
                }
            }
            assert_int_equal(seen, sizeof jrows / sizeof jrows[0]);
            nmdi_travellers_free(t);
            nmdi_dataset_close(ds);
            snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", d);
            assert_int_equal(system(cmd), 0);
        }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

/* The register index against a direct reading: every identity of the
 * extract is registered (repeats and thousands of identities, so that the
 * set fills in slot order with clusters), others are not; the country of
 * the registration nearest a date is the one of smallest (distance, date,
 * row), ties in row order. */
static uint64_t rx_rand(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static void test_regindex(void **state)
{
    (void)state;
    char d[] = "/tmp/nmdi-rx-XXXXXX", cmd[128];
    assert_non_null(mkdtemp(d));
    enum { NB = 6000, NE = 1500, NP = 60 };
    static const nmdi_store_field bf[5] = {{"surname_hash", NMDI_COL_I64}, {"given_name_hash", NMDI_COL_I64},
                                           {"dob_hash", NMDI_COL_I64}, {"sex", NMDI_COL_CODE},
                                           {"registered_since", NMDI_COL_DATE}};
    static const nmdi_store_field ef[7] = {{"surname_hash", NMDI_COL_I64}, {"given_name_hash", NMDI_COL_I64},
                                           {"dob_hash", NMDI_COL_I64}, {"sex", NMDI_COL_CODE},
                                           {"event", NMDI_COL_CODE}, {"date", NMDI_COL_DATE},
                                           {"country", NMDI_COL_CODE}};
    static const char *const evs[3] = {"REG_IN", "DEREG_OUT", "BIRTH"}, *const ctys[4] = {"AA", "BB", "CC", ""};
    int64_t(*id3)[3] = calloc(NB, sizeof *id3);
    struct { int64_t id; int kind; nmdi_date date; const char *cty; } *ev = calloc(NE, sizeof *ev);
    assert_non_null(id3);
    assert_non_null(ev);
    uint64_t seed = 88172645463325252ull;
    nmdi_store_writer *w;
    nmdi_error err;
    nmdi_store_opts o = {3, 0};
    char *path;
    nmdi_dataset *base, *evd;
    assert_int_equal(nmdi_store_writer_open(&w, d, "base", "1", 5, bf, &o, &err), 0);
    for (int i = 0; i < NB; i++) {
        if (i % 7 == 6) /* a repeat of an earlier person */
            memcpy(id3[i], id3[rx_rand(&seed) % (uint64_t)i], sizeof id3[i]);
        else
            for (int k = 0; k < 3; k++)
                id3[i][k] = (int64_t)(rx_rand(&seed) >> 1);
        nmdi_store_row_begin(w, (uint32_t)(i % 3));
        for (int k = 0; k < 3; k++)
            nmdi_store_put_i64(w, (size_t)k, id3[i][k]);
        nmdi_store_put_str(w, 3, "F", 1);
        nmdi_store_put_i32(w, 4, 18000 + i % 500);
        assert_int_equal(nmdi_store_row_end(w, &err), 0);
    }
    assert_int_equal(nmdi_store_writer_finish(w, NULL, &path, &err), 0);
    assert_int_equal(nmdi_dataset_open(&base, path, &err), 0);
    free(path);
    /* events of NP persons of the extract: dates close together, so that
     * distances and dates tie */
    assert_int_equal(nmdi_store_writer_open(&w, d, "events", "1", 7, ef, &o, &err), 0);
    for (int i = 0; i < NE; i++) {
        const int64_t *h = id3[rx_rand(&seed) % NP];
        int e = (int)(rx_rand(&seed) % 3), c = (int)(rx_rand(&seed) % 4);
        nmdi_date dt = 18000 + (nmdi_date)(rx_rand(&seed) % 40);
        nmdi_store_row_begin(w, (uint32_t)(i % 2));
        for (int k = 0; k < 3; k++)
            nmdi_store_put_i64(w, (size_t)k, h[k]);
        nmdi_store_put_str(w, 3, "F", 1);
        nmdi_store_put_str(w, 4, evs[e], strlen(evs[e]));
        nmdi_store_put_i32(w, 5, dt);
        nmdi_store_put_str(w, 6, ctys[c], strlen(ctys[c]));
        assert_int_equal(nmdi_store_row_end(w, &err), 0);
    }
    assert_int_equal(nmdi_store_writer_finish(w, NULL, &path, &err), 0);
    assert_int_equal(nmdi_dataset_open(&evd, path, &err), 0);
    free(path);
    /* the events as the index reads them: partition by partition, row by row */
    size_t ne = 0;
    for (size_t p = 0; p < nmdi_dataset_nparts(evd); p++) {
        const int64_t *h[3];
        const int32_t *ec, *dt, *cc;
        size_t n = (size_t)nmdi_dataset_part_rows(evd, p), nec, ncc;
        const char *const *ed = nmdi_dataset_dict(evd, "event", &nec), *const *cd = nmdi_dataset_dict(evd, "country", &ncc);
        if (!n)
            continue;
        assert_int_equal(nmdi_dataset_i64(evd, p, "surname_hash", &h[0], &err), 0);
        assert_int_equal(nmdi_dataset_i64(evd, p, "given_name_hash", &h[1], &err), 0);
        assert_int_equal(nmdi_dataset_i64(evd, p, "dob_hash", &h[2], &err), 0);
        assert_int_equal(nmdi_dataset_i32(evd, p, "event", &ec, &err), 0);
        assert_int_equal(nmdi_dataset_i32(evd, p, "date", &dt, &err), 0);
        assert_int_equal(nmdi_dataset_i32(evd, p, "country", &cc, &err), 0);
        for (size_t r = 0; r < n; r++) {
            const char *es = ec[r] >= 0 && (size_t)ec[r] < nec ? ed[ec[r]] : "";
            const char *cs = cc[r] >= 0 && (size_t)cc[r] < ncc ? cd[cc[r]] : "";
            ev[ne].id = nmdi_identity_id(h[0][r], h[1][r], h[2][r], "F");
            ev[ne].kind = !strcmp(es, "REG_IN") ? 1 : !strcmp(es, "DEREG_OUT") ? 2 : 0;
            ev[ne].date = dt[r];
            ev[ne++].cty = cs;
        }
    }
    assert_int_equal(ne, NE);
    const nmdi_dataset *evp = evd;
    nmdi_regindex *x;
    assert_int_equal(nmdi_regindex_build(base, &evp, 1, &x, &err), 0);
    assert_int_equal(nmdi_regindex_extract_date(x), 18499);
    for (int i = 0; i < NB; i++) {
        assert_int_equal(nmdi_regindex_registered(x, nmdi_identity_id(id3[i][0], id3[i][1], id3[i][2], "F")), 1);
        assert_int_equal(nmdi_regindex_registered(x, nmdi_identity_id(id3[i][0], id3[i][1], id3[i][2], "M")), 0);
    }
    size_t named = 0;
    for (int i = 0; i < NP; i++)
        for (int inward = 0; inward < 2; inward++)
            for (nmdi_date at = 17995; at < 18045; at += 3) {
                int64_t id = nmdi_identity_id(id3[i][0], id3[i][1], id3[i][2], "F");
                const char *want = NULL;
                int64_t bd = 0, bdate = 0;
                for (size_t k = 0; k < ne; k++) {
                    if (ev[k].id != id || ev[k].kind != (inward ? 1 : 2) || !*ev[k].cty)
                        continue;
                    int64_t dd = (int64_t)ev[k].date - at;
                    dd = dd < 0 ? -dd : dd;
                    if (dd > 6)
                        continue;
                    if (!want || dd < bd || (dd == bd && ev[k].date < bdate))
                        want = ev[k].cty, bd = dd, bdate = ev[k].date;
                }
                const char *got = nmdi_regindex_country(x, id, inward, at, 6);
                if (!want)
                    assert_null(got);
                else {
                    assert_non_null(got);
                    assert_string_equal(got, want);
                    named++;
                }
            }
    assert_true(named > 500);
    nmdi_regindex_free(x);
    nmdi_dataset_close(base);
    nmdi_dataset_close(evd);
    free(id3);
    free(ev);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_run),
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_regindex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
