/*
 * nmdi/assess.h — the data-needs register and the capacity self-assessment
 * of a national migration data infrastructure.
 *
 * The questionnaire, its scale, scoring and recommendations are data
 * (data/assessment/questionnaire.json), not code. Questions may name an
 * automatic probe ("auto"): the answer is then pre-filled from evidence the
 * infrastructure can see itself (sources loaded, linkage done, tables and
 * SDG disaggregations published, open data with metadata), with the
 * evidence shown. Other questions are answered by the user (an answers
 * file). Scores run 0..4 per question; a component's score is the mean of
 * its answered questions scaled to 0..100.
 *
 * The evidence is gathered by the caller (the CLI reads the configuration,
 * the catalog and the release) into nmdi_assess_evidence, so this module
 * depends on nothing to its right in the pipeline.
 *
 * Ownership: nmdi_assess_run and nmdi_needs_run return a new jansson object
 * owned by the caller (json_decref). Inputs are borrowed. Reentrant.
 */
#ifndef NMDI_ASSESS_H
#define NMDI_ASSESS_H

#include <jansson.h>

#include "nmdi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A policy question of the data-needs register. */
typedef struct nmdi_need {
    const char *id, *question_en, *question_zh;
    size_t nindicators;
    const char **indicators;      /* table/indicator ids that answer it   */
    size_t nsources;
    const char **sources;         /* source ids that feed them            */
    size_t ndisagg;
    const char **disaggregation;  /* dimensions needed (SEX, AGE, ...)    */
} nmdi_need;

/* A table the infrastructure produced (estimated and/or published). */
typedef struct nmdi_assess_table {
    const char *id, *topic, *reference_period;
    size_t ndims;
    const char **dims;
    double max_cv;      /* largest CV of a published cell, NAN when none */
    int published;      /* in the current release                       */
} nmdi_assess_table;

/* A source declared in the configuration and what was loaded of it. */
typedef struct nmdi_assess_source {
    const char *id, *agency, *record_type;
    int64_t rows;           /* rows loaded in the latest version, -1 none */
    const char *loaded_at;  /* ISO date-time of the latest load, or NULL  */
} nmdi_assess_source;

typedef struct nmdi_assess_evidence {
    const char *today;      /* YYYY-MM-DD of the assessment              */
    size_t nagencies;
    size_t nsources;
    const nmdi_assess_source *sources;
    size_t nagreements;     /* data-sharing agreements declared           */
    int linked;             /* a person spine exists                      */
    int derived;            /* residence/migration events were derived    */
    int pseudonymised;      /* identifiers stored only as keyed encodings */
    size_t ntables;
    const nmdi_assess_table *tables;
    const char *release;    /* current release version, or NULL           */
    int sdmx, dcat, open_licence, multilingual;
    size_t nneeds;
    const nmdi_need *needs;
} nmdi_assess_evidence;

/* Load the questionnaire (JSON) and check it. */
int nmdi_assess_load_questionnaire(json_t **out, const char *path, nmdi_error *err);
/* Run the assessment. answers: object {question_id: {"score": 0..4,
 * "evidence": "...", "date": "..."}} or NULL. Returns the report object
 * {date, components:[{id,name,score,questions:[...],gaps:[...]}], overall,
 * gaps, next_steps}. */
int nmdi_assess_run(const json_t *questionnaire, const nmdi_assess_evidence *ev,
                    const json_t *answers, json_t **report, nmdi_error *err);
/* The data-needs report: per policy question, the indicators produced, their
 * quality (CV, timeliness, disaggregation available) and the gaps. */
int nmdi_needs_run(const nmdi_assess_evidence *ev, json_t **report, nmdi_error *err);

/* Gather the evidence of the infrastructure dir (configuration, catalog,
 * work/estimates, current release); strings are owned by arena. */
int nmdi_assess_gather(const char *dir, nmdi_assess_evidence *ev, nmdi_arena *arena,
                       nmdi_error *err);
/* Write DIR/infrastructure.json (agencies, sources with last load and rows,
 * data-sharing agreements) for the portal's infrastructure page. */
int nmdi_assess_write_infrastructure(const char *dir, nmdi_error *err);

#ifdef __cplusplus
}
#endif
#endif
