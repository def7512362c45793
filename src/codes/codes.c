/*
 * codes.c — the built-in codelists (nmdi/codes.h): sex, age, ISCED 2011,
 * reason for migration, migratory status (UN EGM 2017, STANDARDS.md §2),
 * labour-force status (ILO), citizenship group, flow direction, countries
 * and M49 regions (generated data in countries_data.c), SDMX observation
 * and confidentiality status, units. Codes follow SDMX conventions (_T
 * total, _U unknown, _Z not applicable). All data is static and read-only.
 */
#include "codes_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NCODES(a) (sizeof(a) / sizeof((a)[0]))

static const nmdi_code sex[] = {
    {"F", "Female", "女", NULL}, {"M", "Male", "男", NULL},
    {"_T", "Total", "合计", NULL}, {"_U", "Unknown", "不详", NULL},
};

static const nmdi_code age5[] = {
    {"Y0T4", "0-4 years", "0-4岁", "_T"},       {"Y5T9", "5-9 years", "5-9岁", "_T"},
    {"Y10T14", "10-14 years", "10-14岁", "_T"}, {"Y15T19", "15-19 years", "15-19岁", "_T"},
    {"Y20T24", "20-24 years", "20-24岁", "_T"}, {"Y25T29", "25-29 years", "25-29岁", "_T"},
    {"Y30T34", "30-34 years", "30-34岁", "_T"}, {"Y35T39", "35-39 years", "35-39岁", "_T"},
    {"Y40T44", "40-44 years", "40-44岁", "_T"}, {"Y45T49", "45-49 years", "45-49岁", "_T"},
    {"Y50T54", "50-54 years", "50-54岁", "_T"}, {"Y55T59", "55-59 years", "55-59岁", "_T"},
    {"Y60T64", "60-64 years", "60-64岁", "_T"}, {"Y65T69", "65-69 years", "65-69岁", "_T"},
    {"Y70T74", "70-74 years", "70-74岁", "_T"}, {"Y_GE75", "75 years or over", "75岁及以上", "_T"},
    {"Y15T24", "15-24 years", "15-24岁", "_T"}, {"Y15T64", "15-64 years", "15-64岁", "_T"},
    {"Y_GE15", "15 years or over", "15岁及以上", "_T"},
    {"_T", "All ages", "所有年龄", NULL},        {"_U", "Unknown", "不详", NULL},
};

/* single years Y0..Y99 and Y_GE100, built as static text */
#define Y(n) {"Y" #n, #n " years", #n "岁", "_T"}
static const nmdi_code age1[] = {
    Y(0),  Y(1),  Y(2),  Y(3),  Y(4),  Y(5),  Y(6),  Y(7),  Y(8),  Y(9),  Y(10), Y(11), Y(12),
    Y(13), Y(14), Y(15), Y(16), Y(17), Y(18), Y(19), Y(20), Y(21), Y(22), Y(23), Y(24), Y(25),
    Y(26), Y(27), Y(28), Y(29), Y(30), Y(31), Y(32), Y(33), Y(34), Y(35), Y(36), Y(37), Y(38),
    Y(39), Y(40), Y(41), Y(42), Y(43), Y(44), Y(45), Y(46), Y(47), Y(48), Y(49), Y(50), Y(51),
    Y(52), Y(53), Y(54), Y(55), Y(56), Y(57), Y(58), Y(59), Y(60), Y(61), Y(62), Y(63), Y(64),
    Y(65), Y(66), Y(67), Y(68), Y(69), Y(70), Y(71), Y(72), Y(73), Y(74), Y(75), Y(76), Y(77),
    Y(78), Y(79), Y(80), Y(81), Y(82), Y(83), Y(84), Y(85), Y(86), Y(87), Y(88), Y(89), Y(90),
    Y(91), Y(92), Y(93), Y(94), Y(95), Y(96), Y(97), Y(98), Y(99),
    {"Y_GE100", "100 years or over", "100岁及以上", "_T"},
    {"_T", "All ages", "所有年龄", NULL}, {"_U", "Unknown", "不详", NULL},
};
#undef Y

static const nmdi_code isced[] = {
    {"ED0", "Early childhood education", "学前教育", "ED0-2"},
    {"ED1", "Primary education", "初等教育", "ED0-2"},
    {"ED2", "Lower secondary education", "初级中等教育", "ED0-2"},
    {"ED3", "Upper secondary education", "高级中等教育", "ED3_4"},
    {"ED4", "Post-secondary non-tertiary education", "中等后非高等教育", "ED3_4"},
    {"ED5", "Short-cycle tertiary education", "短线高等教育", "ED5-8"},
    {"ED6", "Bachelor's or equivalent level", "学士或同等水平", "ED5-8"},
    {"ED7", "Master's or equivalent level", "硕士或同等水平", "ED5-8"},
    {"ED8", "Doctoral or equivalent level", "博士或同等水平", "ED5-8"},
    {"ED0-2", "Less than primary, primary and lower secondary education (levels 0-2)",
     "初级中等及以下教育（0-2级）", "_T"},
    {"ED3_4", "Upper secondary and post-secondary non-tertiary education (levels 3 and 4)",
     "高级中等和中等后非高等教育（3-4级）", "_T"},
    {"ED5-8", "Tertiary education (levels 5-8)", "高等教育（5-8级）", "_T"},
    {"_T", "All ISCED 2011 levels", "所有教育程度", NULL},
    {"_U", "Unknown", "不详", NULL},
};

static const nmdi_code reason[] = {
    {"WORK", "Work", "工作", "_T"},
    {"FAM", "Family", "家庭", "_T"},
    {"EDUC", "Education", "学习", "_T"},
    {"ASYL", "Forced displacement, asylum", "被迫流离失所、庇护", "_T"},
    {"RET", "Return", "回返", "_T"},
    {"OTH", "Other", "其他", "_T"},
    {"_T", "All reasons", "所有原因", NULL},
    {"_U", "Unknown", "不详", NULL},
};

static const nmdi_code migstatus[] = {
    {"NB_CIT", "Native-born citizens", "本国出生的公民", "NB"},
    {"NB_NCIT", "Native-born non-citizens", "本国出生的非公民", "NB"},
    {"FB_CIT", "Foreign-born citizens", "外国出生的公民", "FB"},
    {"FB_NCIT", "Foreign-born non-citizens", "外国出生的非公民", "FB"},
    {"NB", "Native-born", "本国出生", "_T"},
    {"FB", "Foreign-born", "外国出生", "_T"},
    {"CIT", "Citizens", "公民", "_T"},
    {"NCIT", "Non-citizens (incl. stateless)", "非公民（含无国籍者）", "_T"},
    {"SECGEN", "Second generation (native-born with a foreign-born parent)",
     "第二代（父母至少一方外国出生的本国出生者）", "NB"},
    {"_T", "Total population", "总人口", NULL},
    {"_U", "Unknown", "不详", NULL},
};

static const nmdi_code labour[] = {
    {"EMP", "Employed", "就业", "LF"},
    {"UNE", "Unemployed", "失业", "LF"},
    {"LF", "Labour force", "劳动力", "_T"},
    {"OLF", "Outside the labour force", "非劳动力", "_T"},
    {"_T", "Total", "合计", NULL},
    {"_U", "Unknown", "不详", NULL},
};

static const nmdi_code citgroup[] = {
    {"NAT", "Citizens (nationals)", "本国公民", "_T"},
    {"FOR", "Foreign citizens", "外国公民", "_T"},
    {"STLS", "Stateless", "无国籍", "_T"},
    {"_T", "Total", "合计", NULL},
    {"_U", "Unknown", "不详", NULL},
};

static const nmdi_code flow[] = {
    {"IMM", "Immigration", "移入", NULL},
    {"EMI", "Emigration", "移出", NULL},
    {"NET", "Net migration", "净移民", NULL},
    {"RET", "Returning citizens", "回返公民", "IMM"},
    {"TMP_IN", "Temporary mobility, arrivals (3-12 months)", "临时流动，入境（3-12个月）", NULL},
    {"TMP_OUT", "Temporary mobility, departures (3-12 months)", "临时流动，出境（3-12个月）",
     NULL},
};

static const nmdi_code obs_status[] = {
    {"A", "Normal value", "正常值", NULL},
    {"E", "Estimated value", "估计值", NULL},
    {"P", "Provisional value", "临时值", NULL},
    {"U", "Low reliability", "可靠性低", NULL},
    {"M", "Missing value; data cannot exist or are withheld", "缺失值", NULL},
};

static const nmdi_code conf_status[] = {
    {"F", "Free", "可公开", NULL},
    {"C", "Confidential statistical information (primary)", "保密（一次隐匿）", NULL},
    {"D", "Secondary confidentiality set by the sender", "保密（二次隐匿）", NULL},
    {"N", "Not for publication, restricted for internal use only", "不公开", NULL},
};

static const nmdi_code unit[] = {
    {"PS", "Persons", "人", NULL},
    {"PT", "Percent", "百分比", NULL},
    {"YR", "Years", "年", NULL},
    {"SUBSCR", "Mobile subscribers", "移动用户", NULL},
};

/* Countries themselves (ISO 3166-1 alpha-3) are in countries_data.c and
 * served by nmdi_countries(); these are the extra codes of a country dimension. */
static const nmdi_code country_extra[] = {
    {"_T", "All countries", "所有国家", NULL},
    {"_U", "Unknown", "不详", NULL},
    {"_Z", "Not applicable", "不适用", NULL},
};

static const nmdi_codelist lists[] = {
    {"CL_SEX", "Sex", "性别", "sex", NCODES(sex), sex},
    {"CL_AGE", "Age (5-year groups)", "年龄（五岁组）", "age5", NCODES(age5), age5},
    {"CL_AGE1", "Age (single years)", "年龄（单岁）", "age", NCODES(age1), age1},
    {"CL_ISCED11", "Education level (ISCED 2011)", "受教育程度（ISCED 2011）", "isced",
     NCODES(isced), isced},
    {"CL_REASON_MIG", "Reason for migration", "迁移原因", "reason", NCODES(reason), reason},
    {"CL_MIGRATORY_STATUS", "Migratory status", "移民身份", "migstatus", NCODES(migstatus),
     migstatus},
    {"CL_LABOUR_STATUS", "Labour force status", "劳动力状况", "labour", NCODES(labour), labour},
    {"CL_CITIZENSHIP_GROUP", "Citizenship group", "公民身份组", "citgroup", NCODES(citgroup),
     citgroup},
    {"CL_FLOW", "Migration flow", "移民流动", "flow", NCODES(flow), flow},
    {"CL_OBS_STATUS", "Observation status", "观测值状态", "obs_status", NCODES(obs_status),
     obs_status},
    {"CL_CONF_STATUS", "Confidentiality status", "保密状态", "conf_status", NCODES(conf_status),
     conf_status},
    {"CL_UNIT_MEASURE", "Unit of measure", "计量单位", "unit", NCODES(unit), unit},
    {"CL_COUNTRY_EXTRA", "Country totals and special codes", "国家合计及特殊代码", "country_extra",
     NCODES(country_extra), country_extra},
};

const nmdi_codelist *nmdi_codes_all(size_t *n)
{
    *n = NCODES(lists);
    return lists;
}

const nmdi_codelist *nmdi_codes_get(const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < NCODES(lists); i++)
        if (strcasecmp(lists[i].id, id) == 0 || strcasecmp(lists[i].short_id, id) == 0)
            return &lists[i];
    return NULL;
}

const nmdi_code *nmdi_codes_find(const nmdi_codelist *cl, const char *code)
{
    if (!cl || !code)
        return NULL;
    for (size_t i = 0; i < cl->n; i++)
        if (strcmp(cl->codes[i].id, code) == 0)
            return &cl->codes[i];
    return NULL;
}

const char *nmdi_code_name(const nmdi_code *c, const char *lang)
{
    if (lang && strncmp(lang, "zh", 2) == 0 && c->name_zh)
        return c->name_zh;
    return c->name_en;
}

const nmdi_country *nmdi_countries(size_t *n)
{
    *n = nmdi_codes_country_count;
    return nmdi_codes_country_table;
}

const nmdi_country *nmdi_country_find(const char *code)
{
    if (!code)
        return NULL;
    size_t len = strlen(code);
    for (size_t i = 0; i < nmdi_codes_country_count; i++) {
        const nmdi_country *c = &nmdi_codes_country_table[i];
        if ((len == 2 && strcasecmp(c->alpha2, code) == 0) ||
            (len == 3 && strcasecmp(c->alpha3, code) == 0) || strcmp(c->numeric, code) == 0)
            return c;
    }
    return NULL;
}

const nmdi_code *nmdi_codes_regions(size_t *n)
{
    *n = nmdi_codes_region_count;
    return nmdi_codes_region_table;
}

const nmdi_code *nmdi_region_find(const char *m49)
{
    for (size_t i = 0; m49 && i < nmdi_codes_region_count; i++)
        if (strcmp(nmdi_codes_region_table[i].id, m49) == 0)
            return &nmdi_codes_region_table[i];
    return NULL;
}

const nmdi_codelist *nmdi_codes_for_concept(const char *concept)
{
    static const struct {
        const char *concept, *list;
    } map[] = {
        {"SEX", "CL_SEX"},
        {"AGE", "CL_AGE"},
        {"AGE1", "CL_AGE1"},
        {"EDUCATION_LEV", "CL_ISCED11"},
        {"EDUCATION", "CL_ISCED11"},
        {"REASON_MIG", "CL_REASON_MIG"},
        {"MIGRATORY_STATUS", "CL_MIGRATORY_STATUS"},
        {"LABOUR_STATUS", "CL_LABOUR_STATUS"},
        {"CITIZENSHIP_GROUP", "CL_CITIZENSHIP_GROUP"},
        {"FLOW", "CL_FLOW"},
        {"OBS_STATUS", "CL_OBS_STATUS"},
        {"CONF_STATUS", "CL_CONF_STATUS"},
        {"UNIT_MEASURE", "CL_UNIT_MEASURE"},
    };
    for (size_t i = 0; concept && i < NCODES(map); i++)
        if (strcmp(map[i].concept, concept) == 0)
            return nmdi_codes_get(map[i].list);
    return NULL;
}

const char *nmdi_age_group5(int age)
{
    if (age < 0)
        return "_U";
    if (age >= 75)
        return "Y_GE75";
    return age5[age / 5].id;
}

int nmdi_codes_is_country_concept(const char *concept)
{
    static const char *const c[] = {"COUNTRY_OF_BIRTH", "CITIZENSHIP", "COUNTRY_PREV_RES",
                                     "COUNTRY_NEXT_RES", "COUNTERPART_AREA", "HOME_COUNTRY",
                                     "VISITED_COUNTRY", "COUNTRY"};
    for (size_t i = 0; concept && i < NCODES(c); i++)
        if (strcmp(c[i], concept) == 0)
            return 1;
    return 0;
}
