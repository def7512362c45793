/*
 * link_impl.h — private to src/link: the session structure shared by the
 * engine (link.c) and the model estimation and persistence (model.c).
 */
#ifndef NMDI_LINK_IMPL_H
#define NMDI_LINK_IMPL_H

#include "nmdi/link.h"

#define NMDI_LINK_MAX_RULES 32

/* one record's prepared value of one field */
typedef struct lrec {
    const char *s;       /* normalised value (shared per distinct value) */
    unsigned char *bloom;/* decoded Bloom filter (bloom kind)            */
    double num;          /* number kind: parsed value or NaN             */
    uint32_t vid;        /* interned value id, 0 = missing                */
    uint32_t sdx;        /* Soundex code packed (name kind), 0 = none     */
    int32_t ymd;         /* date kind: y*10000+m*100+d as written, -1     */
    int32_t days;        /* date kind: days since epoch or NONE           */
    uint16_t len;
    uint16_t pop;        /* bloom popcount                                */
    uint8_t hist[16];    /* folded character histogram (byte & 15) of s:  */
                         /* the L1 distance of two is a lower bound on     */
                         /* 2 x their edit distance (a cheap pre-filter)   */
} lrec;

typedef struct lfield {
    char *name;
    nmdi_link_kind kind;
    int nlev, tf;
    int colL, colR;
    lrec *rec;           /* n records, cache-line aligned inside rec_base */
    void *rec_base;      /* the allocation (calloc)                        */
    uint32_t nvals;
    const char **vals;   /* value id -> normalised string                 */
    double *freq;        /* value id -> share of non-missing records      */
    double *tfw;         /* value id -> TF-adjusted exact weight (tf)      */
    uint16_t **bg;       /* text kind: value id -> sorted distinct bigrams */
    uint16_t *nbg;
    uint64_t *bgmask;    /* text kind: value id -> bigrams hashed into 128 bits (2 words) */
    size_t nonmissing;
    double m[NMDI_LINK_MAX_LEVELS], u[NMDI_LINK_MAX_LEVELS];
    int m_estimated;
    double w[NMDI_LINK_MAX_LEVELS];
    uint64_t ucount[NMDI_LINK_MAX_LEVELS];
} lfield;

typedef struct lpart {
    int colL, colR, fn, arg;
} lpart;

typedef struct lrule {
    char *text;
    int all, nparts;
    lpart part[8];
    uint32_t *key;       /* per record, 0 = not blocked (malloc)          */
    uint32_t nkeys;
    const char **keyname;
    uint32_t *offL, *idxL, *offR, *idxR;
    uint8_t *skip;       /* per key: block too large                       */
    uint64_t pairs, blocks, largest, skipped_blocks, skipped_pairs;
    uint64_t new_pairs;  /* pairs not already made by an earlier rule      */
    uint64_t split_blocks; /* oversized blocks split by a further field    */
    int em_iter, em_converged;
    uint64_t em_pairs;   /* pairs compared for EM (all, or a hash sample)   */
    double em_lambda;   /* share of matches among the rule's pairs (EM)   */
    uint32_t fieldmask;  /* compared fields this rule blocks on (masked in EM) */
} lrule;

struct nmdi_link {
    nmdi_arena *arena;
    nmdi_link_config cfg;
    const nmdi_link_source *L, *Rs;
    int dedupe;
    size_t nl, nr, n;
    int idL, idR;
    const char **ids;
    size_t nfields;
    lfield F[NMDI_LINK_MAX_FIELDS];
    size_t nrules;
    lrule R[NMDI_LINK_MAX_RULES];
    uint64_t total_pairs, cand_bound, candidates, compared;
    const char **warn;
    size_t nwarn, capwarn;
    /* model */
    int trained, from_file, em_iter, converged;
    double lambda, lambda_c;
    uint64_t u_pairs, npatterns, em_sampled;
    double train_seconds, score_seconds, train_cpu, score_cpu; /* wall, process CPU */
    nmdi_link_pair *pairs;
    size_t npairs;
};

/* A unit of work: the blocks (keys k0..k1-1) of one rule. */
typedef struct lk_unit {
    uint32_t rule, k0, k1;
} lk_unit;

typedef void (*lk_pair_fn)(const nmdi_link *lk, size_t rule, uint32_t a, uint32_t b, void *arg);
void lk_enumerate(const nmdi_link *lk, lk_pair_fn fn, void *arg);
void lk_enumerate_unit(const nmdi_link *lk, const lk_unit *u, int skip_earlier, lk_pair_fn fn,
                       void *arg);
/* The blocks of rules r0..r1-1 split into about per_rule units of similar
 * pair counts each (malloc'd; NULL on OOM). */
lk_unit *lk_units(const nmdi_link *lk, size_t r0, size_t r1, size_t per_rule, size_t *n);
/* Units per rule for ctx's thread count (1 when single-threaded). */
size_t lk_units_per_rule(const nmdi_ctx *ctx);
/* pairs of rule r; skip_earlier: skip pairs an earlier rule makes */
void lk_enumerate_rule(const nmdi_link *lk, size_t r, int skip_earlier, lk_pair_fn fn, void *arg);
int lk_compare(const lfield *F, uint32_t a, uint32_t b);
double lk_field_weight(const nmdi_link *lk, size_t f, int level, uint32_t a);
/* CPU seconds of the process (all threads). */
double lk_cpu_seconds(void);
void lk_warn(nmdi_link *lk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
