/*
 * nmdi/config.h — the infrastructure's configuration file (nmdi.yaml): a
 * YAML tree with line numbers that any stage can read, and the typed view of
 * the sections the ingest stage needs (country, agencies, sources, validation
 * rules, partitions, publication).
 *
 * Parsing uses libyaml's event API. Every node keeps its line and column, so
 * any stage can report "nmdi.yaml:42: field 'x': ..." for its own keys: the
 * estimate stage reads `tables`/`indicators`, protect reads `disclosure`,
 * derive reads `residence`, assess reads `data_needs`, the mobile stage reads
 * `mobile` — all through nmdi_cfg_* on nmdi_config.root.
 *
 * Validation done here: YAML syntax, top-level and section keys (an unknown
 * key is an error naming its line), scalar types, references between
 * sections (a source's agency must be declared). Checking a source against
 * its record type (standard fields, codelists, rule expressions) is done by
 * nmdi_ingest_check_config() in nmdi/ingest.h.
 *
 * Ownership: an nmdi_config owns every string and node in one arena;
 * nmdi_config_free() releases all. A loaded config is read-only and may be
 * shared between threads.
 */
#ifndef NMDI_CONFIG_H
#define NMDI_CONFIG_H

#include "nmdi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the generic tree ----------------------------------------------------- */
typedef enum nmdi_cfg_kind { NMDI_CFG_SCALAR = 1, NMDI_CFG_MAP, NMDI_CFG_SEQ } nmdi_cfg_kind;

typedef struct nmdi_cfg_node nmdi_cfg_node;
struct nmdi_cfg_node {
    nmdi_cfg_kind kind;
    long line, col;         /* 1-based position of the node in the file      */
    const char *str;        /* scalar text (NUL-terminated); NULL otherwise   */
    int quoted;             /* scalar was written in quotes                   */
    size_t n;               /* number of map entries or sequence items        */
    const char **keys;      /* map: n keys                                    */
    long *key_lines;        /* map: line of each key                          */
    nmdi_cfg_node **items;  /* map: values; sequence: items                   */
};

/* Value of key in a map node, or NULL (also when node is not a map). */
const nmdi_cfg_node *nmdi_cfg_get(const nmdi_cfg_node *map, const char *key);
/* Text of a translatable value — `text` or `{en: .., zh: ..}` — in language lang:
 * a plain scalar serves every language; NULL when absent. The string is the node's. */
const char *nmdi_cfg_text(const nmdi_cfg_node *n, const char *lang);
/* Scalar helpers: 0 ok, NMDI_EDATA (error at the node's line) otherwise. */
int nmdi_cfg_as_int(const nmdi_cfg_node *n, const char *file, const char *what, int64_t *out,
                    nmdi_error *err);
int nmdi_cfg_as_double(const nmdi_cfg_node *n, const char *file, const char *what, double *out,
                       nmdi_error *err);
int nmdi_cfg_as_bool(const nmdi_cfg_node *n, const char *file, const char *what, int *out,
                     nmdi_error *err);
int nmdi_cfg_as_str(const nmdi_cfg_node *n, const char *file, const char *what, const char **out,
                    nmdi_error *err);
/* Error when map has a key outside allowed (NULL-terminated list). */
int nmdi_cfg_check_keys(const nmdi_cfg_node *map, const char *file, const char *section,
                        const char *const *allowed, nmdi_error *err);

/* ---- typed view ------------------------------------------------------------ */
typedef struct nmdi_cfg_area {
    const char *code, *name_en, *name_zh;
} nmdi_cfg_area;

typedef struct nmdi_cfg_agency {
    const char *id, *name_en, *name_zh;
    long line;
} nmdi_cfg_agency;

/* One column of a source: source column → standard field. */
typedef struct nmdi_cfg_column {
    const char *column;   /* name in the agency's file                          */
    const char *field;    /* standard field of the record type                  */
    const char *type;     /* explicit type for a non-standard field, or NULL    */
    const char *format;   /* input date format (e.g. "DD/MM/YYYY"), or NULL     */
    const char *codelist; /* explicit codelist, or NULL                         */
    long line;
} nmdi_cfg_column;

/* Agency code → standard code for one field. */
typedef struct nmdi_cfg_codemap {
    const char *field;
    size_t n;
    const char **from, **to;
    long line;
} nmdi_cfg_codemap;

/* Encodings of a direct identifier (bit flags). */
enum { NMDI_ENC_HASH = 1, NMDI_ENC_PHONETIC = 2, NMDI_ENC_QGRAM = 4 };

/* A direct identifier: never stored in clear; stored as keyed encodings. */
typedef struct nmdi_cfg_ident {
    const char *column;  /* name in the agency's file                           */
    const char *name;    /* stored as <name>_hash, <name>_phon, <name>_qgram    */
    const char *kind;    /* name | document | date | text (normalisation)       */
    const char *format;  /* input date format for kind=date, or NULL            */
    unsigned encodings;  /* NMDI_ENC_* flags                                    */
    long line;
} nmdi_cfg_ident;

typedef enum nmdi_rule_kind {
    NMDI_RULE_REQUIRED = 1,
    NMDI_RULE_CODELIST,
    NMDI_RULE_RANGE,
    NMDI_RULE_DATE_FORMAT,
    NMDI_RULE_EXPR
} nmdi_rule_kind;

/* A validation rule as written (compiled by the ingest stage). */
typedef struct nmdi_cfg_rule {
    const char *id;
    nmdi_rule_kind kind;
    const char *record_type; /* top-level rules: the record type they apply to */
    size_t nfields;
    const char **fields;     /* required: the fields; others: fields[0]        */
    size_t ncodes;
    const char **codes;      /* codelist given inline                          */
    const char *codelist;    /* or a built-in codelist id ("sex", "CL_SEX")    */
    int has_min, has_max;
    double min, max;         /* range bounds; dates as days since 1970-01-01  */
    const char *format;      /* date_format                                    */
    const char *expr;        /* expr: "when ... then ... [errorcode "x"]"      */
    const char *errorcode;
    long line;
    int min_is_date, max_is_date; /* range: the bound was written YYYY-MM-DD  */
} nmdi_cfg_rule;

typedef struct nmdi_cfg_source {
    const char *id, *agency, *record_type, *format, *description;
    char delimiter;          /* 0 = sniff                                      */
    int header;              /* 1 (default): the first row names the columns   */
    size_t ncolumns;
    nmdi_cfg_column *columns;
    size_t ncodemaps;
    nmdi_cfg_codemap *codemaps;
    size_t nidents;
    nmdi_cfg_ident *idents;
    size_t nrules;
    nmdi_cfg_rule *rules;
    long line;
} nmdi_cfg_source;

typedef struct nmdi_config {
    const char *path;
    const nmdi_cfg_node *root;
    const char *country_code, *country_en, *country_zh;
    size_t nareas;
    nmdi_cfg_area *areas;
    size_t nagencies;
    nmdi_cfg_agency *agencies;
    size_t nsources;
    nmdi_cfg_source *sources;
    size_t nrules;           /* top-level validation rules                     */
    nmdi_cfg_rule *rules;
    int partitions;          /* store.partitions, default 8                    */
    const char *pub_agency, *pub_version, *pub_maintainer;
    nmdi_arena *arena;
} nmdi_config;

/* Read and check a configuration file. */
int nmdi_config_load(nmdi_config **out, const char *path, nmdi_error *err);
/* Parse from memory (name is used in messages). */
int nmdi_config_parse(nmdi_config **out, const char *text, size_t len, const char *name,
                      nmdi_error *err);
void nmdi_config_free(nmdi_config *cfg);

const nmdi_cfg_source *nmdi_config_source(const nmdi_config *cfg, const char *id);
const nmdi_cfg_agency *nmdi_config_agency(const nmdi_config *cfg, const char *id);

#ifdef __cplusplus
}
#endif
#endif
