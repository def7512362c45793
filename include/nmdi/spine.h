/*
 * nmdi/spine.h — the person spine of an infrastructure: the person-level
 * sources of the configuration (record types person, permit, student, and
 * border_crossing with one unit per keyed travel document) linked
 * pairwise on their keyed linkage encodings (nmdi/link.h: Fellegi–Sunter, EM,
 * one-to-one per source pair), clustered into persons with a guard against
 * chaining, and written as the store dataset `person_spine` with a catalog
 * version row whose lineage holds the input versions, the model of every
 * source pair and its estimated precision and recall.
 *
 * Ownership: a report is freed with nmdi_spine_report_free(). Threading: one
 * build per infrastructure at a time (the catalog serialises commits).
 */
#ifndef NMDI_SPINE_H
#define NMDI_SPINE_H

#include "nmdi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmdi_spine_pairrep {
    char *left, *right;        /* source ids                                     */
    uint64_t compared;         /* candidate pairs compared                        */
    uint64_t links;            /* one-to-one links at probability >= threshold    */
    uint64_t uncertain;        /* pairs with probability in [0.2, 0.8)            */
    double est_precision;      /* mean probability of the links                   */
    double est_recall;         /* sum of link probabilities / expected matches    */
} nmdi_spine_pairrep;

typedef struct nmdi_spine_report {
    size_t nsources;           /* person-level sources loaded and linkable         */
    char **sources;
    char *skipped;             /* comma list of person-level sources not linkable  */
    size_t npairs;
    nmdi_spine_pairrep *pairs;
    uint64_t records, persons; /* rows of the spine, distinct person ids           */
    size_t refused;            /* merges refused by the chaining guard             */
    int64_t version;           /* person_spine version written (0: none)           */
    uint64_t decisions;        /* clerical decisions applied (DIR/review/)         */
    uint64_t review_pairs;     /* pairs in the uncertain band written for review   */
    double seconds;
} nmdi_spine_report;

typedef struct nmdi_spine_opts {
    double threshold;          /* link probability (default 0.5)                   */
    size_t max_cluster;        /* chaining guard (default: number of sources)      */
} nmdi_spine_opts;

/* Build the spine of infrastructure dir. With fewer than two linkable
 * sources nothing is written: *out reports nsources < 2, version 0. */
int nmdi_spine_build(const nmdi_ctx *ctx, const char *dir, const nmdi_spine_opts *opts,
                     nmdi_spine_report **out, nmdi_error *err);
void nmdi_spine_report_free(nmdi_spine_report *r);

/* Clerical review. Each build also writes person_spine_pairs: the pairs
 * with probability in [0.2, 0.8) (sources, lines, person keys, probability,
 * weight, agreement pattern with field weights; no identifier).
 * Export writes those of the latest version with lo <= p < hi as CSV
 * (left_source,left_line,left_person_key,right_source,right_line,
 * right_person_key,match_probability,match_weight,pattern,decision) to out
 * ("-" = standard output). Import reads such a file (columns left_source,
 * left_line, right_source, right_line, decision = match | non-match | empty)
 * and merges it into DIR/review/decisions.csv, which every later build
 * applies (a decision overrides the model's probability: 1 or 0). */
int nmdi_spine_review_export(const char *dir, double lo, double hi, const char *out, uint64_t *n,
                             nmdi_error *err);
int nmdi_spine_review_import(const char *dir, const char *file, uint64_t *n, nmdi_error *err);

#ifdef __cplusplus
}
#endif
#endif
