/*
 * recordtype.c — the standard record types of DESIGN.md §4 (the data model):
 * for each, its fields with their types and codelists. Sources map their
 * columns onto these; later stages read the store by these field names.
 * Documented in docs/data-model.md (keep both in step).
 */
#include "nmdi/ingest.h"

#include <string.h>

#define F(n, t, cl, d) {n, NMDI_F_##t, cl, d}

static const nmdi_std_field person[] = {
    F("person_key", KEY, NULL, "person identifier (keyed hash)"),
    F("household_id", KEY, NULL, "household identifier (keyed hash)"),
    F("sex", CODE, "CL_SEX", "sex: F, M, _U"),
    F("date_of_birth", DATE, NULL, "date of birth"),
    F("age", INT, NULL, "age in completed years"),
    F("country_of_birth", COUNTRY, NULL, "country of birth"),
    F("citizenship", COUNTRY, NULL, "country of citizenship"),
    F("citizenship2", COUNTRY, NULL, "second citizenship"),
    F("stateless", BOOL, NULL, "stateless (1) or not (0)"),
    F("citizenship_at_birth", COUNTRY, NULL, "citizenship at birth"),
    F("citizenship_acq_how", CODE, NULL, "how citizenship was acquired"),
    F("citizenship_acq_year", INT, NULL, "year citizenship was acquired"),
    F("country_of_birth_mother", COUNTRY, NULL, "country of birth of the mother"),
    F("country_of_birth_father", COUNTRY, NULL, "country of birth of the father"),
    F("ever_lived_abroad", BOOL, NULL, "ever lived abroad"),
    F("arrival_year", INT, NULL, "year of (most recent) arrival"),
    F("arrival_month", INT, NULL, "month of arrival"),
    F("previous_residence", COUNTRY, NULL, "country of previous residence"),
    F("residence_1y_ago", COUNTRY, NULL, "country of residence 1 year ago"),
    F("residence_5y_ago", COUNTRY, NULL, "country of residence 5 years ago"),
    F("reason_migration", CODE, "CL_REASON_MIG", "reason for migration"),
    F("education", CODE, "CL_ISCED11", "education level (ISCED 2011)"),
    F("labour_status", CODE, "CL_LABOUR_STATUS", "labour force status"),
    F("occupation", CODE, NULL, "occupation (ISCO-08)"),
    F("area", CODE, "CL_AREA", "area of usual residence"),
    F("stratum", CODE, NULL, "survey stratum"),
    F("psu", CODE, NULL, "survey primary sampling unit"),
    F("weight", DOUBLE, NULL, "survey weight"),
    F("reference_date", DATE, NULL, "reference date of the record (census day, interview)"),
};

static const nmdi_std_field member_abroad[] = {
    F("household_id", KEY, NULL, "household identifier (keyed hash)"),
    F("member_key", KEY, NULL, "member identifier (keyed hash)"),
    F("sex", CODE, "CL_SEX", "sex"),
    F("age", INT, NULL, "age in completed years"),
    F("date_of_birth", DATE, NULL, "date of birth"),
    F("country_of_residence", COUNTRY, NULL, "country of current residence"),
    F("departure_year", INT, NULL, "year of departure"),
    F("reason", CODE, "CL_REASON_MIG", "reason for leaving"),
    F("citizenship", COUNTRY, NULL, "citizenship"),
    F("area", CODE, "CL_AREA", "area of the household"),
    F("reference_date", DATE, NULL, "reference date"),
};

static const nmdi_std_field border_crossing[] = {
    F("traveller_key", KEY, NULL, "traveller identifier (keyed hash)"),
    F("direction", CODE, NULL, "A arrival, D departure"),
    F("date", DATE, NULL, "date of crossing"),
    F("time", STRING, NULL, "time of crossing (HH:MM[:SS])"),
    F("port", CODE, NULL, "port of entry or exit"),
    F("document_country", COUNTRY, NULL, "country issuing the travel document (citizenship)"),
    F("sex", CODE, "CL_SEX", "sex"),
    F("date_of_birth", DATE, NULL, "date of birth"),
    F("document_type", CODE, NULL, "travel document type"),
    F("purpose", CODE, NULL, "visa or stated purpose"),
    F("intended_duration", INT, NULL, "stated intended duration of stay (days)"),
    F("country_of_residence", COUNTRY, NULL, "stated country of residence"),
};

static const nmdi_std_field permit[] = {
    F("person_key", KEY, NULL, "person identifier (keyed hash)"),
    F("permit_type", CODE, NULL, "permit type"),
    F("reason", CODE, NULL, "FAM family, EDU education, REM remunerated activities, OTH other"),
    F("valid_from", DATE, NULL, "first day of validity"),
    F("valid_to", DATE, NULL, "last day of validity"),
    F("citizenship", COUNTRY, NULL, "citizenship"),
    F("sex", CODE, "CL_SEX", "sex"),
    F("date_of_birth", DATE, NULL, "date of birth"),
    F("issued", DATE, NULL, "date of issue"),
};

static const nmdi_std_field register_event[] = {
    F("person_key", KEY, NULL, "person identifier (keyed hash)"),
    F("event", CODE, NULL, "REG_IN registration from abroad, DEREG_OUT deregistration to abroad, "
                           "BIRTH, DEATH, CIT_ACQ citizenship acquisition"),
    F("date", DATE, NULL, "date of the event"),
    F("country", COUNTRY, NULL, "previous (REG_IN) or next (DEREG_OUT) country of residence"),
    F("sex", CODE, "CL_SEX", "sex"),
    F("date_of_birth", DATE, NULL, "date of birth"),
    F("citizenship", COUNTRY, NULL, "citizenship"),
    F("country_of_birth", COUNTRY, NULL, "country of birth"),
    F("area", CODE, "CL_AREA", "area"),
};

static const nmdi_std_field student[] = {
    F("person_key", KEY, NULL, "person identifier (keyed hash)"),
    F("citizenship", COUNTRY, NULL, "citizenship"),
    F("level", CODE, "CL_ISCED11", "level of the programme (ISCED 2011)"),
    F("start", DATE, NULL, "start of enrolment"),
    F("end", DATE, NULL, "end of enrolment"),
    F("sex", CODE, "CL_SEX", "sex"),
    F("date_of_birth", DATE, NULL, "date of birth"),
    F("country_of_prior_education", COUNTRY, NULL, "country of prior education"),
};

static const nmdi_std_field mobile_presence[] = {
    F("subscriber_key", KEY, NULL, "subscriber identifier (keyed hash)"),
    F("day", DATE, NULL, "day of presence"),
    F("area", CODE, "CL_AREA", "area of presence (in the country)"),
    F("visited_country", COUNTRY, NULL, "country visited when roaming abroad"),
    F("home_country", COUNTRY, NULL, "home network country"),
    F("roaming", BOOL, NULL, "roaming (1) or not (0)"),
};

#define RT(id, key, desc, arr) {id, key, desc, sizeof arr / sizeof arr[0], arr}
static const nmdi_record_type types[] = {
    RT("person", "person_key", "census, survey or population register person", person),
    RT("member_abroad", "household_id", "household member living abroad", member_abroad),
    RT("border_crossing", "traveller_key", "one crossing of the border", border_crossing),
    RT("permit", "person_key", "residence or work permit, long-term visa", permit),
    RT("register_event", "person_key", "event of a population or foreigners register",
       register_event),
    RT("student", "person_key", "enrolment of a student", student),
    RT("mobile_presence", "subscriber_key", "a subscriber's presence on one day", mobile_presence),
};

const nmdi_record_type *nmdi_record_types(size_t *n)
{
    *n = sizeof types / sizeof types[0];
    return types;
}

const nmdi_record_type *nmdi_record_type_find(const char *id)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].id, id) == 0)
            return &types[i];
    return NULL;
}

const nmdi_std_field *nmdi_record_type_field(const nmdi_record_type *rt, const char *name)
{
    for (size_t i = 0; i < rt->n; i++)
        if (strcmp(rt->fields[i].name, name) == 0)
            return &rt->fields[i];
    return NULL;
}

static const char *const tnames[] = {"", "key", "date", "int", "double", "code", "country", "bool",
                                     "string"};

nmdi_ftype nmdi_ftype_parse(const char *s)
{
    for (int i = 1; i <= NMDI_F_STRING; i++)
        if (strcmp(tnames[i], s) == 0)
            return (nmdi_ftype)i;
    return 0;
}

const char *nmdi_ftype_name(nmdi_ftype t)
{
    return t >= 1 && t <= NMDI_F_STRING ? tnames[t] : "?";
}

nmdi_coltype nmdi_ftype_coltype(nmdi_ftype t)
{
    switch (t) {
    case NMDI_F_KEY: return NMDI_COL_I64;
    case NMDI_F_DATE: return NMDI_COL_DATE;
    case NMDI_F_INT:
    case NMDI_F_BOOL: return NMDI_COL_I32;
    case NMDI_F_DOUBLE: return NMDI_COL_F64;
    case NMDI_F_CODE:
    case NMDI_F_COUNTRY: return NMDI_COL_CODE;
    case NMDI_F_STRING: return NMDI_COL_STR;
    }
    return NMDI_COL_STR;
}
