/*
 * assess.c — capacity self-assessment and data-needs report (nmdi/assess.h).
 *
 * Probes turn evidence the infrastructure can see into a pre-filled score
 * (0..4) with a sentence of evidence. A user's answer (answers file) always
 * wins over a probe, and is reported as such, so that a country can correct
 * what the machine sees. Scoring: the mean of the answered questions of a
 * component, scaled to 0..100; unanswered questions are gaps to fill.
 */
#include "nmdi/assess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EVBUF 512

static int str_has(const char *s, const char *needle)
{
    return s && strstr(s, needle) != NULL;
}

/* Kinds of sources, from the record type and the source id. */
static int source_is(const nmdi_assess_source *s, const char *kind)
{
    const char *rt = s->record_type ? s->record_type : "";
    if (strcmp(kind, "census") == 0)
        return strcmp(rt, "person") == 0 && str_has(s->id, "census");
    if (strcmp(kind, "survey") == 0)
        return strcmp(rt, "person") == 0 &&
               (str_has(s->id, "survey") || str_has(s->id, "lfs") || str_has(s->id, "hh"));
    if (strcmp(kind, "member_abroad") == 0)
        return str_has(rt, "member_abroad");
    return str_has(rt, kind);
}

static int loaded_of_kind(const nmdi_assess_evidence *ev, const char *kind, const char **which,
                          int64_t *rows)
{
    int n = 0;
    for (size_t i = 0; i < ev->nsources; i++) {
        const nmdi_assess_source *s = &ev->sources[i];
        if (s->rows > 0 && source_is(s, kind)) {
            if (!n && which)
                *which = s->id;
            if (rows)
                *rows += s->rows;
            n++;
        }
    }
    return n;
}

static const nmdi_assess_table *find_table(const nmdi_assess_evidence *ev, const char *id)
{
    for (size_t i = 0; i < ev->ntables; i++)
        if (strcmp(ev->tables[i].id, id) == 0)
            return &ev->tables[i];
    return NULL;
}

static int table_has_dim(const nmdi_assess_table *t, const char *dim)
{
    for (size_t i = 0; i < t->ndims; i++)
        if (strcmp(t->dims[i], dim) == 0)
            return 1;
    return 0;
}

static size_t needs_produced(const nmdi_assess_evidence *ev, size_t *total)
{
    size_t prod = 0;
    *total = 0;
    for (size_t i = 0; i < ev->nneeds; i++)
        for (size_t k = 0; k < ev->needs[i].nindicators; k++) {
            (*total)++;
            const nmdi_assess_table *t = find_table(ev, ev->needs[i].indicators[k]);
            if (t && t->published)
                prod++;
        }
    return prod;
}

/* Run one probe: returns score 0..4 or -1 when the probe is unknown. */
static int probe(const char *name, const nmdi_assess_evidence *ev, char *evid)
{
    const char *which = NULL;
    int64_t rows = 0;
    if (strcmp(name, "needs_register") == 0) {
        size_t with = 0;
        for (size_t i = 0; i < ev->nneeds; i++)
            with += ev->needs[i].nindicators > 0 && ev->needs[i].nsources > 0;
        snprintf(evid, EVBUF, "%zu policy questions in the register, %zu linked to indicators and sources",
                 ev->nneeds, with);
        if (ev->nneeds == 0)
            return 0;
        return with == ev->nneeds ? 4 : with * 2 >= ev->nneeds ? 3 : 2;
    }
    if (strcmp(name, "needs_coverage") == 0) {
        size_t total, prod = needs_produced(ev, &total);
        snprintf(evid, EVBUF, "%zu of %zu indicators named in the register are published", prod,
                 total);
        if (total == 0)
            return 0;
        return (int)lround(4.0 * (double)prod / (double)total);
    }
    if (strcmp(name, "agencies") == 0) {
        size_t supplying = 0;
        for (size_t a = 0; a < ev->nsources; a++) {
            int first = 1;
            for (size_t b = 0; b < a; b++)
                if (ev->sources[b].agency && ev->sources[a].agency &&
                    strcmp(ev->sources[a].agency, ev->sources[b].agency) == 0)
                    first = 0;
            supplying += first;
        }
        snprintf(evid, EVBUF, "%zu agencies declared, %zu supplying sources", ev->nagencies,
                 supplying);
        return supplying == 0 ? 0 : supplying == 1 ? 1 : supplying == 2 ? 2 : supplying < 5 ? 3 : 4;
    }
    if (strcmp(name, "agreements") == 0) {
        snprintf(evid, EVBUF, "%zu data-sharing agreements declared for %zu agencies",
                 ev->nagreements, ev->nagencies);
        if (ev->nagencies == 0)
            return 0;
        double share = (double)ev->nagreements / (double)ev->nagencies;
        return share >= 1 ? 4 : (int)floor(4 * share);
    }
    if (strcmp(name, "source_census") == 0) {
        int n = loaded_of_kind(ev, "census", &which, &rows);
        snprintf(evid, EVBUF, n ? "census source '%s' loaded (%lld records)" : "no census loaded",
                 which ? which : "", (long long)rows);
        return n ? 4 : 0;
    }
    if (strcmp(name, "source_survey") == 0) {
        int n = loaded_of_kind(ev, "survey", &which, &rows);
        snprintf(evid, EVBUF, n ? "survey source '%s' loaded (%lld records)" : "no survey loaded",
                 which ? which : "", (long long)rows);
        return n ? 4 : 0;
    }
    if (strcmp(name, "source_admin") == 0) {
        static const char *const kinds[] = {"border_crossing", "register_event", "permit",
                                            "student"};
        int n = 0;
        char list[256] = "";
        for (size_t k = 0; k < 4; k++)
            if (loaded_of_kind(ev, kinds[k], NULL, NULL)) {
                n++;
                strncat(list, list[0] ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, kinds[k], sizeof list - strlen(list) - 1);
            }
        snprintf(evid, EVBUF, "%d kinds of administrative records loaded%s%s", n, n ? ": " : "",
                 list);
        return n == 0 ? 0 : n == 1 ? 2 : n == 2 ? 3 : 4;
    }
    if (strcmp(name, "source_emigrants") == 0) {
        int m = loaded_of_kind(ev, "member_abroad", NULL, NULL);
        int r = loaded_of_kind(ev, "register_event", NULL, NULL);
        int b = loaded_of_kind(ev, "border_crossing", NULL, NULL);
        snprintf(evid, EVBUF, "household members abroad: %s; register: %s; border crossings: %s",
                 m ? "yes" : "no", r ? "yes" : "no", b ? "yes" : "no");
        return m + r + b == 0 ? 0 : m + r + b == 1 ? 2 : m + r + b == 2 ? 3 : 4;
    }
    if (strcmp(name, "source_mobile") == 0) {
        int n = loaded_of_kind(ev, "mobile", &which, &rows);
        int pub = 0;
        for (size_t i = 0; i < ev->ntables; i++)
            pub += ev->tables[i].published && ev->tables[i].topic &&
                   strcmp(ev->tables[i].topic, "mobile") == 0;
        snprintf(evid, EVBUF, "mobile presence: %s; %d mobile-based tables published",
                 n ? "loaded" : "not loaded", pub);
        return n ? (pub ? 4 : 3) : 0;
    }
    if (strcmp(name, "pseudonymised") == 0) {
        snprintf(evid, EVBUF, ev->pseudonymised
                                  ? "identifiers are stored only as keyed pseudonyms"
                                  : "no pseudonymised identifiers found");
        return ev->pseudonymised ? 4 : 0;
    }
    if (strcmp(name, "linked") == 0) {
        int loaded = 0;
        for (size_t i = 0; i < ev->nsources; i++)
            loaded += ev->sources[i].rows > 0;
        snprintf(evid, EVBUF, ev->linked ? "a person spine links the sources"
                                         : "no person spine (%d sources loaded)",
                 loaded);
        return ev->linked ? 4 : loaded >= 2 ? 1 : 0;
    }
    if (strcmp(name, "derived") == 0) {
        snprintf(evid, EVBUF, ev->derived ? "migration events derived by the residence rule"
                                          : "no derived migration events");
        return ev->derived ? 4 : 0;
    }
    if (strcmp(name, "release") == 0) {
        size_t pub = 0;
        for (size_t i = 0; i < ev->ntables; i++)
            pub += ev->tables[i].published;
        if (ev->release)
            snprintf(evid, EVBUF, "release %s with %zu tables", ev->release, pub);
        else
            snprintf(evid, EVBUF, "no release published");
        return ev->release ? (pub >= 5 ? 4 : 3) : 0;
    }
    if (strcmp(name, "open_data") == 0) {
        snprintf(evid, EVBUF, "SDMX: %s; DCAT catalogue: %s; open licence: %s",
                 ev->sdmx ? "yes" : "no", ev->dcat ? "yes" : "no", ev->open_licence ? "yes" : "no");
        return ev->release ? ev->sdmx * 2 + ev->dcat + ev->open_licence : 0;
    }
    if (strcmp(name, "stock_flow") == 0) {
        int stock = 0, flow = 0;
        for (size_t i = 0; i < ev->ntables; i++) {
            const nmdi_assess_table *t = &ev->tables[i];
            if (!t->published || !t->topic)
                continue;
            stock += strcmp(t->topic, "stock") == 0;
            flow += strcmp(t->topic, "flow") == 0;
        }
        snprintf(evid, EVBUF, "%d stock tables and %d flow tables published", stock, flow);
        return (stock ? 2 : 0) + (flow ? 2 : 0);
    }
    if (strcmp(name, "sdg_disagg") == 0) {
        int n = 0;
        for (size_t i = 0; i < ev->ntables; i++) {
            const nmdi_assess_table *t = &ev->tables[i];
            if (t->published && t->topic && strcmp(t->topic, "sdg") == 0 &&
                table_has_dim(t, "MIGRATORY_STATUS"))
                n++;
        }
        snprintf(evid, EVBUF, "%d SDG indicators published by migratory status", n);
        return n == 0 ? 0 : n == 1 ? 3 : 4;
    }
    if (strcmp(name, "quality_flags") == 0) {
        int with = 0, surveys = 0;
        for (size_t i = 0; i < ev->ntables; i++) {
            const nmdi_assess_table *t = &ev->tables[i];
            if (!t->published || !t->topic || strcmp(t->topic, "sdg") != 0)
                continue;
            surveys++;
            with += !isnan(t->max_cv);
        }
        snprintf(evid, EVBUF, "%d of %d survey-based tables carry SE and CV", with, surveys);
        if (surveys == 0)
            return 0;
        return with == surveys ? 4 : with ? 2 : 1;
    }
    if (strcmp(name, "multilingual") == 0) {
        snprintf(evid, EVBUF, ev->multilingual ? "names in English and Chinese"
                                               : "names in one language only");
        return ev->multilingual ? 4 : 1;
    }
    return -1;
}

int nmdi_assess_load_questionnaire(json_t **out, const char *path, nmdi_error *err)
{
    json_error_t je;
    json_t *q = json_load_file(path, 0, &je);
    if (!q)
        return nmdi_error_at(err, NMDI_EDATA, path, je.line, NULL, "invalid JSON: %s", je.text);
    json_t *comps = json_object_get(q, "components");
    if (!json_is_array(comps) || json_array_size(comps) == 0) {
        json_decref(q);
        return nmdi_error_at(err, NMDI_EDATA, path, 0, "components",
                             "the questionnaire needs a non-empty 'components' array");
    }
    size_t i, k;
    json_t *c, *qq;
    json_array_foreach(comps, i, c)
    {
        if (!json_is_string(json_object_get(c, "id")) ||
            !json_is_array(json_object_get(c, "questions"))) {
            json_decref(q);
            return nmdi_error_at(err, NMDI_EDATA, path, 0, "components",
                                 "component %zu needs an 'id' and a 'questions' array", i + 1);
        }
        json_array_foreach(json_object_get(c, "questions"), k, qq)
        {
            if (!json_is_string(json_object_get(qq, "id")) ||
                !json_is_object(json_object_get(qq, "text"))) {
                nmdi_error_at(err, NMDI_EDATA, path, 0, "questions",
                              "question %zu of component '%s' needs an 'id' and a 'text'", k + 1,
                              json_string_value(json_object_get(c, "id")));
                json_decref(q);
                return NMDI_EDATA;
            }
            const char *pr = json_string_value(json_object_get(qq, "auto"));
            char ev[EVBUF];
            nmdi_assess_evidence empty;
            memset(&empty, 0, sizeof empty);
            if (pr && probe(pr, &empty, ev) < 0) {
                nmdi_error_at(err, NMDI_EDATA, path, 0, "auto",
                              "question '%s' names an unknown probe '%s'",
                              json_string_value(json_object_get(qq, "id")), pr);
                json_decref(q);
                return NMDI_EDATA;
            }
        }
    }
    *out = q;
    return 0;
}

int nmdi_assess_run(const json_t *questionnaire, const nmdi_assess_evidence *ev,
                    const json_t *answers, json_t **report, nmdi_error *err)
{
    json_t *rep = json_object();
    json_t *comps = json_array();
    json_t *allgaps = json_array();
    json_object_set_new(rep, "date", json_string(ev->today ? ev->today : ""));
    json_object_set(rep, "questionnaire", json_object_get(questionnaire, "id"));
    json_object_set(rep, "scale", json_object_get(questionnaire, "scale"));
    double sum_all = 0;
    int ncomp_scored = 0;
    size_t i, k;
    json_t *c, *q;
    json_array_foreach(json_object_get(questionnaire, "components"), i, c)
    {
        json_t *oc = json_object();
        json_object_set(oc, "id", json_object_get(c, "id"));
        json_object_set(oc, "name", json_object_get(c, "name"));
        json_t *oqs = json_array(), *gaps = json_array();
        double sum = 0;
        int answered = 0;
        json_array_foreach(json_object_get(c, "questions"), k, q)
        {
            const char *qid = json_string_value(json_object_get(q, "id"));
            const char *pr = json_string_value(json_object_get(q, "auto"));
            json_t *oq = json_object();
            json_object_set_new(oq, "id", json_string(qid));
            json_object_set(oq, "text", json_object_get(q, "text"));
            int score = -1;
            const char *how = "unanswered";
            char evid[EVBUF] = "";
            json_t *ans = answers ? json_object_get(answers, qid) : NULL;
            if (pr) {
                int s = probe(pr, ev, evid);
                json_object_set_new(oq, "auto_score", json_integer(s));
                json_object_set_new(oq, "auto_evidence", json_string(evid));
                score = s;
                how = "pre-filled from the infrastructure";
            }
            if (ans) {
                json_t *js = json_object_get(ans, "score");
                if (!json_is_integer(js) || json_integer_value(js) < 0 ||
                    json_integer_value(js) > 4) {
                    json_decref(oq);
                    json_decref(oqs);
                    json_decref(gaps);
                    json_decref(oc);
                    json_decref(comps);
                    json_decref(allgaps);
                    json_decref(rep);
                    return nmdi_error_at(err, NMDI_EDATA, NULL, 0, qid,
                                         "answer score must be an integer from 0 to 4");
                }
                score = (int)json_integer_value(js);
                how = "answered";
                const char *e = json_string_value(json_object_get(ans, "evidence"));
                if (e)
                    snprintf(evid, sizeof evid, "%s", e);
                if (json_object_get(ans, "date"))
                    json_object_set(oq, "answered_on", json_object_get(ans, "date"));
            }
            json_object_set_new(oq, "source", json_string(how));
            json_object_set_new(oq, "score", score >= 0 ? json_integer(score) : json_null());
            json_object_set_new(oq, "evidence", json_string(evid));
            if (score >= 0) {
                sum += score;
                answered++;
            }
            if (score < 3) {
                json_t *g = json_object();
                json_object_set_new(g, "component", json_string(json_string_value(
                                                       json_object_get(c, "id"))));
                json_object_set_new(g, "question", json_string(qid));
                json_object_set_new(g, "score", score >= 0 ? json_integer(score) : json_null());
                json_object_set(g, "text", json_object_get(q, "text"));
                json_object_set(g, "recommendation", json_object_get(q, "recommendation"));
                json_array_append(gaps, g);
                json_array_append_new(allgaps, g);
            }
            json_array_append_new(oqs, oq);
        }
        json_object_set_new(oc, "questions", oqs);
        json_object_set_new(oc, "gaps", gaps);
        json_object_set_new(oc, "answered", json_integer(answered));
        json_object_set_new(oc, "total", json_integer((json_int_t)json_array_size(json_object_get(c, "questions"))));
        if (answered) {
            double sc = 100.0 * sum / (4.0 * answered);
            json_object_set_new(oc, "score", json_real(round(sc * 10) / 10));
            sum_all += sc;
            ncomp_scored++;
        } else {
            json_object_set_new(oc, "score", json_null());
        }
        json_array_append_new(comps, oc);
    }
    json_object_set_new(rep, "components", comps);
    json_object_set_new(rep, "overall",
                        ncomp_scored ? json_real(round(sum_all / ncomp_scored * 10) / 10)
                                     : json_null());
    json_object_set_new(rep, "gaps", allgaps);
    /* next steps: the recommendations of the lowest-scored answered gaps first */
    json_t *steps = json_array();
    for (int s = 0; s <= 2; s++) {
        size_t gi;
        json_t *g;
        json_array_foreach(allgaps, gi, g)
        {
            json_t *sc = json_object_get(g, "score");
            if (json_is_integer(sc) && json_integer_value(sc) == s &&
                json_object_get(g, "recommendation"))
                json_array_append(steps, json_object_get(g, "recommendation"));
        }
    }
    json_object_set_new(rep, "next_steps", steps);
    *report = rep;
    return 0;
}

int nmdi_needs_run(const nmdi_assess_evidence *ev, json_t **report, nmdi_error *err)
{
    (void)err;
    json_t *rep = json_object(), *qs = json_array();
    int year = 0;
    if (ev->today)
        year = atoi(ev->today);
    size_t total_ind = 0, produced = 0;
    for (size_t i = 0; i < ev->nneeds; i++) {
        const nmdi_need *n = &ev->needs[i];
        json_t *o = json_object(), *inds = json_array(), *gaps = json_array();
        json_object_set_new(o, "id", json_string(n->id));
        json_object_set_new(o, "question", json_pack("{s:s,s:s}", "en", n->question_en ? n->question_en : "",
                                                     "zh", n->question_zh ? n->question_zh : (n->question_en ? n->question_en : "")));
        size_t ok = 0;
        for (size_t k = 0; k < n->nindicators; k++) {
            const nmdi_assess_table *t = find_table(ev, n->indicators[k]);
            json_t *oi = json_object();
            json_object_set_new(oi, "id", json_string(n->indicators[k]));
            total_ind++;
            if (!t || !t->published) {
                json_object_set_new(oi, "status", json_string(t ? "estimated, not published" : "not produced"));
                json_array_append_new(gaps, json_sprintf("indicator %s is %s", n->indicators[k],
                                                         t ? "not published" : "not produced"));
            } else {
                produced++;
                ok++;
                json_object_set_new(oi, "status", json_string("published"));
                json_object_set_new(oi, "reference_period",
                                    json_string(t->reference_period ? t->reference_period : ""));
                int lag = t->reference_period && year ? year - atoi(t->reference_period) : -1;
                json_object_set_new(oi, "timeliness_years", lag >= 0 ? json_integer(lag) : json_null());
                json_object_set_new(oi, "max_cv", isnan(t->max_cv) ? json_null() : json_real(t->max_cv));
                const char *q = isnan(t->max_cv) ? "full count" : t->max_cv <= 0.165 ? "reliable"
                                                 : t->max_cv <= 0.333 ? "use with caution (some cells)"
                                                                      : "some cells not reliable";
                json_object_set_new(oi, "quality", json_string(q));
                json_t *have = json_array(), *miss = json_array();
                for (size_t d = 0; d < n->ndisagg; d++) {
                    if (table_has_dim(t, n->disaggregation[d]))
                        json_array_append_new(have, json_string(n->disaggregation[d]));
                    else {
                        json_array_append_new(miss, json_string(n->disaggregation[d]));
                        json_array_append_new(gaps, json_sprintf("indicator %s lacks the disaggregation by %s",
                                                                 n->indicators[k], n->disaggregation[d]));
                    }
                }
                json_object_set_new(oi, "disaggregation", have);
                json_object_set_new(oi, "missing_disaggregation", miss);
                if (lag > 2)
                    json_array_append_new(gaps, json_sprintf("indicator %s is %d years old",
                                                             n->indicators[k], lag));
            }
            json_array_append_new(inds, oi);
        }
        for (size_t s = 0; s < n->nsources; s++) {
            int found = 0, loaded = 0;
            for (size_t k = 0; k < ev->nsources; k++)
                if (strcmp(ev->sources[k].id, n->sources[s]) == 0) {
                    found = 1;
                    loaded = ev->sources[k].rows > 0;
                }
            if (!found || !loaded)
                json_array_append_new(gaps, json_sprintf("source %s is %s", n->sources[s],
                                                         found ? "declared but not loaded" : "not declared"));
        }
        if (n->nindicators == 0)
            json_array_append_new(gaps, json_string("no indicator is linked to this question"));
        json_object_set_new(o, "indicators", inds);
        json_object_set_new(o, "answered", json_boolean(n->nindicators && ok == n->nindicators));
        json_object_set_new(o, "gaps", gaps);
        json_array_append_new(qs, o);
    }
    json_object_set_new(rep, "date", json_string(ev->today ? ev->today : ""));
    json_object_set_new(rep, "questions", qs);
    json_object_set_new(rep, "indicators_needed", json_integer((json_int_t)total_ind));
    json_object_set_new(rep, "indicators_published", json_integer((json_int_t)produced));
    *report = rep;
    return 0;
}
