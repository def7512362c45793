/* test_config.c — unit tests of the configuration (src/core/config.c): the
 * YAML tree with line numbers, generic access for later stages, the typed
 * view, and errors that name the line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "nmdi/config.h"

static int parse(const char *text, nmdi_config **cfg, nmdi_error *err)
{
    return nmdi_config_parse(cfg, text, strlen(text), "t.yaml", err);
}

static void test_typed_and_generic(void **state)
{
    (void)state;
    const char *y = "country:\n"
                    "  code: XKN\n"
                    "  name: {en: Kernland, zh: 核心国}\n"
                    "  areas: [{code: A1}, {code: A2, name: South}]\n"
                    "agencies:\n"
                    "  - {id: NSO, name: {en: Stats}}\n"
                    "sources:\n"
                    "  - id: census\n"
                    "    agency: NSO\n"
                    "    record_type: person\n"
                    "    delimiter: ';'\n"
                    "    columns:\n"
                    "      SEX: sex\n"
                    "      DOB: {field: date_of_birth, format: DD.MM.YYYY}\n"
                    "    codes:\n"
                    "      SEX: {'1': M, '2': F}\n"
                    "    identifiers:\n"
                    "      - {column: NAME, kind: name}\n"
                    "    rules:\n"
                    "      - {id: R1, required: [sex]}\n"
                    "      - {id: R2, range: {field: age, min: 0, max: 120}}\n"
                    "      - {id: R3, rule: 'when sex = \"F\" then age >= 0', errorcode: E3}\n"
                    "tables:\n"
                    "  - id: T1\n"
                    "    dims: [SEX, AGE]\n"
                    "store: {partitions: 16}\n";
    nmdi_config *c;
    nmdi_error err;
    assert_int_equal(parse(y, &c, &err), 0);
    assert_string_equal(c->country_code, "XKN");
    assert_string_equal(c->country_zh, "核心国");
    assert_int_equal(c->nareas, 2);
    assert_string_equal(c->areas[1].name_en, "South");
    assert_int_equal(c->partitions, 16);
    const nmdi_cfg_source *s = nmdi_config_source(c, "census");
    assert_non_null(s);
    assert_int_equal(s->delimiter, ';');
    assert_int_equal(s->ncolumns, 2);
    assert_string_equal(s->columns[1].format, "DD.MM.YYYY");
    assert_int_equal(s->columns[1].line, 14);
    assert_int_equal(s->codemaps[0].n, 2);
    assert_string_equal(s->codemaps[0].to[1], "F");
    assert_int_equal(s->idents[0].encodings, NMDI_ENC_HASH | NMDI_ENC_PHONETIC | NMDI_ENC_QGRAM);
    assert_int_equal(s->nrules, 3);
    assert_int_equal(s->rules[1].kind, NMDI_RULE_RANGE);
    assert_true(s->rules[1].has_max && s->rules[1].max == 120);
    assert_string_equal(s->rules[2].errorcode, "E3");
    /* generic access with line numbers, as later stages use it */
    const nmdi_cfg_node *t = nmdi_cfg_get(c->root, "tables");
    assert_non_null(t);
    assert_int_equal(t->kind, NMDI_CFG_SEQ);
    assert_int_equal(t->items[0]->line, 24);
    const nmdi_cfg_node *dims = nmdi_cfg_get(t->items[0], "dims");
    assert_int_equal(dims->n, 2);
    assert_string_equal(dims->items[1]->str, "AGE");
    assert_int_equal(dims->items[1]->line, 25);
    int64_t v;
    assert_int_equal(nmdi_cfg_as_int(nmdi_cfg_get(nmdi_cfg_get(c->root, "store"), "partitions"), "t.yaml",
                                     "partitions", &v, &err), 0);
    assert_int_equal(v, 16);
    assert_int_not_equal(nmdi_cfg_as_int(dims->items[0], "t.yaml", "x", &v, &err), 0);
    assert_int_equal(err.line, 25);
    /* translatable text: a map by language, or one scalar for every language */
    const nmdi_cfg_node *cn = nmdi_cfg_get(nmdi_cfg_get(c->root, "country"), "name");
    assert_string_equal(nmdi_cfg_text(cn, "en"), "Kernland");
    assert_string_equal(nmdi_cfg_text(cn, "zh"), "核心国");
    assert_null(nmdi_cfg_text(cn, "fr"));
    const nmdi_cfg_node *an = nmdi_cfg_get(nmdi_cfg_get(nmdi_cfg_get(c->root, "country"), "areas")->items[1], "name");
    assert_string_equal(nmdi_cfg_text(an, "zh"), "South");
    assert_null(nmdi_cfg_text(NULL, "en"));
    nmdi_config_free(c);
}

static void expect_error(const char *y, long line, const char *text)
{
    nmdi_config *c = NULL;
    nmdi_error err;
    assert_int_equal(parse(y, &c, &err), NMDI_EDATA);
    assert_null(c);
    if (err.line != line || !strstr(err.msg, text))
        fail_msg("expected line %ld '%s', got line %ld '%s'", line, text, err.line, err.msg);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("country: {code: X}\nfoo: 1\n", 2, "unknown key");
    expect_error("country: {code: X}\ncountry: {code: Y}\n", 2, "duplicate key");
    expect_error("agencies: []\n", 1, "missing required section");
    expect_error("country: {code: X}\nstore: {partitions: 0}\n", 2, "from 1 to 4096");
    expect_error("country: {code: X}\nagencies: {a: 1}\n", 2, "expected a list");
    expect_error("country: &a {code: X}\nmobile: *a\n", 2, "aliases");
    expect_error("country: {code: X}\nagencies: [{id: A}]\nsources:\n  - {id: s, agency: A, "
                 "record_type: person, columns: {X: sex}, format: xls}\n",
                 4, "unknown format");
    expect_error("country: {code: X}\nagencies: [{id: A}, {id: A}]\n", 2, "declared twice");
    expect_error("country: {code: X}\nagencies: [{id: A}]\nsources:\n  - id: s\n    agency: A\n"
                 "    record_type: person\n    columns: {X: sex}\n    rules:\n"
                 "      - {id: R, range: {field: age}}\n",
                 9, "give min, max or both");
    expect_error("", 1, "empty");
    expect_error("country: {code: X\n", 2, "YAML syntax error");
    nmdi_config *c;
    nmdi_error err;
    assert_int_equal(nmdi_config_load(&c, "/nonexistent/nmdi.yaml", &err), NMDI_EDATA);
    assert_non_null(strstr(err.file, "/nonexistent/nmdi.yaml"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typed_and_generic),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
