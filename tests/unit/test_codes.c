/* test_codes.c — unit tests of src/codes: codelists, countries, regions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "nmdi/codes.h"

static void test_countries(void **state)
{
    (void)state;
    size_t n;
    const nmdi_country *all = nmdi_countries(&n);
    assert_true(n >= 249);
    const nmdi_country *de = nmdi_country_find("DEU");
    assert_non_null(de);
    assert_string_equal(de->alpha2, "DE");
    assert_string_equal(de->numeric, "276");
    assert_string_equal(de->name_zh, "德国");
    assert_string_equal(de->region, "150");
    assert_string_equal(de->subregion, "155");
    assert_ptr_equal(nmdi_country_find("de"), de);
    assert_ptr_equal(nmdi_country_find("276"), de);
    assert_null(nmdi_country_find("XKN"));
    /* every alpha-3 unique, every region known */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strlen(all[i].alpha3), 3);
        assert_ptr_equal(nmdi_country_find(all[i].alpha3), &all[i]);
        if (all[i].region[0])
            assert_non_null(nmdi_region_find(all[i].region));
        assert_true(strlen(all[i].name_zh) > 0);
    }
    const nmdi_code *r = nmdi_region_find("202");
    assert_non_null(r);
    assert_string_equal(r->name_zh, "撒哈拉以南非洲");
}

static void test_lists(void **state)
{
    (void)state;
    const nmdi_codelist *sex = nmdi_codes_get("sex");
    assert_non_null(sex);
    assert_ptr_equal(nmdi_codes_get("CL_SEX"), sex);
    assert_string_equal(nmdi_code_name(nmdi_codes_find(sex, "F"), "zh"), "女");
    assert_string_equal(nmdi_code_name(nmdi_codes_find(sex, "F"), "fr"), "Female");
    assert_null(nmdi_codes_find(sex, "X"));
    const nmdi_codelist *ms = nmdi_codes_for_concept("MIGRATORY_STATUS");
    assert_non_null(ms);
    assert_non_null(nmdi_codes_find(ms, "FB_NCIT"));
    assert_non_null(nmdi_codes_find(nmdi_codes_get("isced"), "ED5-8"));
    assert_null(nmdi_codes_get("nope"));
    /* every parent of every list exists in the list */
    size_t n;
    const nmdi_codelist *all = nmdi_codes_all(&n);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < all[i].n; k++)
            if (all[i].codes[k].parent)
                assert_non_null(nmdi_codes_find(&all[i], all[i].codes[k].parent));
    assert_true(nmdi_codes_is_country_concept("COUNTRY_OF_BIRTH"));
    assert_false(nmdi_codes_is_country_concept("SEX"));
}

static void test_age(void **state)
{
    (void)state;
    assert_string_equal(nmdi_age_group5(0), "Y0T4");
    assert_string_equal(nmdi_age_group5(4), "Y0T4");
    assert_string_equal(nmdi_age_group5(5), "Y5T9");
    assert_string_equal(nmdi_age_group5(74), "Y70T74");
    assert_string_equal(nmdi_age_group5(75), "Y_GE75");
    assert_string_equal(nmdi_age_group5(110), "Y_GE75");
    assert_string_equal(nmdi_age_group5(-1), "_U");
    const nmdi_codelist *a = nmdi_codes_get("age");
    assert_non_null(nmdi_codes_find(a, "Y37"));
    assert_non_null(nmdi_codes_find(a, "Y_GE100"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_countries),
                                       cmocka_unit_test(test_lists), cmocka_unit_test(test_age)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
