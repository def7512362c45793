/*
 * nmdi/codes.h — built-in codelists with multilingual names: countries
 * (ISO 3166-1 alpha-2/alpha-3/numeric with UN M49 regions), sex, age (single
 * years and 5-year groups), ISCED 2011, reason for migration, migratory
 * status, labour-force status, citizenship group.
 *
 * All data is static and read-only; nothing here allocates, and every
 * function is thread-safe. Codes follow SDMX conventions: "_T" total,
 * "_U" unknown, "_Z" not applicable.
 */
#ifndef NMDI_CODES_H
#define NMDI_CODES_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmdi_code {
    const char *id;       /* code as published (SDMX)                       */
    const char *name_en;
    const char *name_zh;
    const char *parent;   /* parent code in a hierarchy, or NULL            */
} nmdi_code;

typedef struct nmdi_codelist {
    const char *id;       /* SDMX codelist id, e.g. "CL_SEX", "CL_AREA"     */
    const char *name_en;
    const char *name_zh;
    const char *short_id; /* name for `nmdi codes`: sex, age5, country ...  */
    size_t n;
    const nmdi_code *codes;
} nmdi_codelist;

typedef struct nmdi_country {
    const char *alpha2, *alpha3, *numeric; /* numeric = M49 code, 3 digits  */
    const char *name_en, *name_zh;
    const char *region, *subregion, *intermediate; /* M49 codes or ""       */
} nmdi_country;

/* All codelists; *n receives their number. */
const nmdi_codelist *nmdi_codes_all(size_t *n);
/* By SDMX id ("CL_SEX") or short name ("sex"); NULL when unknown. */
const nmdi_codelist *nmdi_codes_get(const char *id);
/* A code of a list, or NULL. */
const nmdi_code *nmdi_codes_find(const nmdi_codelist *cl, const char *code);
/* Name in a language ("en", "zh"; others fall back to English). */
const char *nmdi_code_name(const nmdi_code *c, const char *lang);

/* Countries: by alpha-2, alpha-3 or numeric code (case-insensitive). */
const nmdi_country *nmdi_country_find(const char *code);
const nmdi_country *nmdi_countries(size_t *n);

/* The codelist of an SDMX dimension or attribute concept ("SEX" → CL_SEX,
 * "COUNTRY_OF_BIRTH" → CL_COUNTRY, ...); NULL when the concept has no
 * built-in list (e.g. REF_AREA inside the country comes from the config). */
const nmdi_codelist *nmdi_codes_for_concept(const char *concept);

/* UN M49 regions, sub-regions and intermediate regions (code = M49). */
const nmdi_code *nmdi_codes_regions(size_t *n);
const nmdi_code *nmdi_region_find(const char *m49);
/* Is this dimension a country dimension (COUNTRY_OF_BIRTH, CITIZENSHIP,
 * COUNTRY_PREV_RES, COUNTRY_NEXT_RES, COUNTERPART_AREA, HOME_COUNTRY)?
 * Its codes are ISO 3166-1 alpha-3 plus CL_COUNTRY_EXTRA. */
int nmdi_codes_is_country_concept(const char *concept);

/* Age in completed years → 5-year group code ("Y0T4" ... "Y70T74", "Y_GE75"). */
const char *nmdi_age_group5(int age);

#ifdef __cplusplus
}
#endif
#endif
