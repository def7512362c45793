/*
 * nmdi/link.h — probabilistic record linkage (Fellegi–Sunter, STANDARDS.md §8):
 * string, date and number comparators, keyed privacy-preserving linkage
 * encodings, blocking with analysis, m and λ by EM, u from random pairs,
 * term-frequency adjustment, one-to-one assignment and clustering.
 *
 * Ownership: an nmdi_link session (nmdi_link_new) copies what it needs from
 * the caller's record arrays (normalised values live in the session's own
 * arena), so the source arrays may be freed after nmdi_link_new returns.
 * Everything returned by nmdi_link_* accessors (pairs, warnings, labels)
 * belongs to the session and lives until nmdi_link_free(). Strings returned
 * by nmdi_link_model_json() are malloc'd and freed by the caller (free()).
 *
 * Threading: the comparators and the encoding functions are pure and
 * reentrant. A session is used by one thread at a time; nmdi_link_train and
 * nmdi_link_run spread their work over ctx->nthreads threads themselves, and
 * their results do not depend on the thread count.
 */
#ifndef NMDI_LINK_H
#define NMDI_LINK_H

#include "nmdi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- comparators (pure; strings are bytes, compared as given) ------------
 * Strings longer than NMDI_LINK_MAXLEN bytes are compared on their first
 * NMDI_LINK_MAXLEN bytes. */
#define NMDI_LINK_MAXLEN 255

/* Jaro similarity in [0,1]; two empty strings give 1. */
double nmdi_link_jaro(const char *a, size_t la, const char *b, size_t lb);
/* Jaro–Winkler: prefix scale 0.1, prefix up to 4, applied when Jaro > 0.7.
 * MARTHA/MARHTA 0.9611, DWAYNE/DUANE 0.84, DIXON/DICKSONX 0.8133. */
double nmdi_link_jaro_winkler(const char *a, size_t la, const char *b, size_t lb);
/* Levenshtein edit distance (insert, delete, substitute). */
int nmdi_link_levenshtein(const char *a, size_t la, const char *b, size_t lb);
/* Damerau–Levenshtein distance, optimal string alignment variant
 * (adjacent transposition counts 1; no substring edited twice). */
int nmdi_link_damerau(const char *a, size_t la, const char *b, size_t lb);
/* The same when it is at most k, else k+1 (banded, fast for small k). */
int nmdi_link_damerau_max(const char *a, size_t la, const char *b, size_t lb, int k);
/* Jaccard similarity of the sets of q-grams (no padding); q in 1..4.
 * Strings shorter than q compare as whole strings (1 if equal, else 0). */
double nmdi_link_qgram_jaccard(const char *a, size_t la, const char *b, size_t lb, int q);
/* American Soundex of the ASCII letters of s (others skipped; H and W do not
 * separate equal codes). out gets 4 characters and a NUL ("R163"), or ""
 * when s holds no letter. Returns the length written (0 or 4). */
int nmdi_link_soundex(const char *s, size_t len, char out[5]);
/* Normalise a clear value for comparison: ASCII lower case, every ASCII
 * character that is not a letter or digit becomes a space, runs of spaces
 * collapse, ends trimmed; Latin-1 letters in UTF-8 are transliterated
 * (ü -> ue, ß -> ss, é -> e), other bytes >= 0x80 are kept. Writes at most
 * size-1 bytes and a NUL; returns the length. */
size_t nmdi_link_normalise(const char *s, size_t len, char *out, size_t size);
/* Parse a date given as YYYY-MM-DD, YYYYMMDD (FEBRL style), YYYY/MM/DD,
 * DD/MM/YYYY or DD.MM.YYYY. Sets y, m, d (as written, even when not a valid
 * calendar date) and returns 1 when valid, 0 when well-formed but invalid, -1 otherwise. */
int nmdi_link_date_parse(const char *s, size_t len, int *y, int *m, int *d);

/* ---- keyed linkage encodings (privacy-preserving linkage) -----------------
 * Each function takes a clear value and a 32-byte secret key and writes a
 * NUL-terminated printable encoding into out (NMDI_LINK_ENC_MAX bytes). The
 * clear value is normalised first (nmdi_link_normalise), so "  O'Brien" and
 * "o brien" encode alike. Keyed BLAKE2b (libsodium crypto_generichash) is
 * used throughout: without the key, encodings cannot be recomputed from
 * guessed values. An empty (or all-punctuation) value encodes as "" (missing).
 * Returns 0, or -1 when libsodium cannot be initialised.
 *   "h1:" + 32 hex  keyed hash of the normalised value (exact comparison)
 *   "p1:" + 32 hex  keyed hash of the Soundex code (phonetic comparison)
 *   "b1:" + 128 hex 512-bit Bloom filter of the padded bigrams of the
 *                   normalised value, 15 keyed hash positions per bigram
 *                   (compared by Dice similarity, tolerant of typos)
 * Columns holding such encodings are detected by nmdi_link (kinds hash and
 * bloom) and compared with nmdi_link_encoding_dice / exact equality. */
#define NMDI_LINK_KEY_BYTES 32
#define NMDI_LINK_BLOOM_BITS 512
#define NMDI_LINK_ENC_MAX 136
int nmdi_link_encode_hash(const char *clear, const unsigned char key[NMDI_LINK_KEY_BYTES],
                          char out[NMDI_LINK_ENC_MAX]);
int nmdi_link_encode_phonetic(const char *clear, const unsigned char key[NMDI_LINK_KEY_BYTES],
                              char out[NMDI_LINK_ENC_MAX]);
int nmdi_link_encode_bloom(const char *clear, const unsigned char key[NMDI_LINK_KEY_BYTES],
                           char out[NMDI_LINK_ENC_MAX]);
/* Decode a "b1:" Bloom encoding into 64 bytes; returns 0, or -1 if malformed. */
int nmdi_link_bloom_decode(const char *enc, unsigned char bits[NMDI_LINK_BLOOM_BITS / 8]);
/* Dice similarity 2|A∩B|/(|A|+|B|) of two "b1:" encodings; -1 if malformed. */
double nmdi_link_encoding_dice(const char *a, const char *b);

/* ---- field kinds ------------------------------------------------------------
 * Agreement levels per kind, best first (the level number is the index in
 * the level list reported by nmdi_link_level_label; 0 is the worst):
 *   name     exact, JW >= 0.92, JW >= 0.88, same Soundex, else   (TF-adjusted)
 *   text     exact, Damerau <= 2, bigram Jaccard >= 0.5, else
 *   code     exact, Damerau <= 1, Damerau <= 2, else
 *   postcode exact, Damerau <= 1, same first 3 characters, else
 *   date     exact, day/month transposed, one digit edit of YYYYMMDD,
 *            within 365 days, else
 *   number   exact, |a-b| <= 1, one character edit, else
 *   hash     exact, else                           (keyed hash encodings)
 *   bloom    identical, Dice >= 0.9, Dice >= 0.75, else  (Bloom encodings)
 * A missing value on either side is neutral (weight 0). */
typedef enum nmdi_link_kind {
    NMDI_LINK_NAME = 0,
    NMDI_LINK_TEXT,
    NMDI_LINK_CODE,
    NMDI_LINK_POSTCODE,
    NMDI_LINK_DATE,
    NMDI_LINK_NUMBER,
    NMDI_LINK_HASH,
    NMDI_LINK_BLOOM,
    NMDI_LINK_NKINDS
} nmdi_link_kind;

#define NMDI_LINK_MAX_FIELDS 16
#define NMDI_LINK_MAX_LEVELS 6
#define NMDI_LINK_LEVEL_MISSING 15

const char *nmdi_link_kind_name(nmdi_link_kind k);
/* Kind from its name ("name", "date", ...); -1 when unknown. */
int nmdi_link_kind_parse(const char *name);
int nmdi_link_kind_nlevels(nmdi_link_kind k);
/* Label of level l of kind k ("exact", "jw>=0.92", ...); "missing" for
 * NMDI_LINK_LEVEL_MISSING. */
const char *nmdi_link_level_label(nmdi_link_kind k, int level);
/* Infer a kind from a column name and a sample of its values (documented in
 * docs/methods-linkage.md). */
nmdi_link_kind nmdi_link_kind_infer(const char *colname, size_t nvalues,
                                    const char *const *values);

/* ---- records -----------------------------------------------------------------
 * A source is a row-major array of NUL-terminated strings (values already
 * trimmed; "" is missing) with column names; nmdi_table maps onto it. */
typedef struct nmdi_link_source {
    const char *name;              /* file name for messages            */
    size_t nrows, ncols;
    const char *const *colnames;   /* ncols                             */
    const char *const *cells;      /* nrows * ncols, row-major          */
    const long *lines;             /* source line per row, may be NULL  */
} nmdi_link_source;

typedef struct nmdi_link_config {
    const char *id;               /* id column; NULL = first column            */
    size_t nfields;               /* 0 = every column but the id               */
    const char *const *fields;    /* compared columns                          */
    const int *kinds;             /* per field: nmdi_link_kind, or -1 = infer; may be NULL */
    size_t nblocks;               /* 0 = default rules (see docs)              */
    const char *const *blocks;    /* rules: "col1,col2", with col:soundex,
                                     col:N (first N characters), col:year     */
    double threshold;             /* match probability for output (0.5)        */
    int one_to_one;               /* greedy one-to-one by weight               */
    int tf;                       /* term-frequency adjustment on names (1)    */
    uint64_t max_block_pairs;     /* larger blocks are skipped with a warning  */
    uint64_t max_pairs;           /* more candidate pairs is an error          */
    uint64_t u_samples;           /* random pairs for u                        */
    uint64_t seed;                /* random pairs seed                          */
    int max_iter;                 /* EM iterations                              */
    uint64_t em_pairs;            /* EM on a deterministic hash sample of about
                                     this many candidate pairs per rule when a
                                     rule makes more (0 = always all pairs)    */
} nmdi_link_config;

/* Defaults: threshold 0.5, tf 1, max_block_pairs 10^7, max_pairs 5*10^8,
 * u_samples 10^6, seed 42, max_iter 200, em_pairs 2*10^6. */
void nmdi_link_config_init(nmdi_link_config *cfg);

typedef struct nmdi_link nmdi_link;

/* Prepare a session: resolve columns and kinds, normalise every value,
 * build term frequencies and blocking keys and count the pairs of each
 * blocking rule (the blocking analysis; no comparison is made yet).
 * right == NULL deduplicates left. Errors: unknown column, empty source,
 * a block rule naming nothing, too many candidate pairs. */
int nmdi_link_new(nmdi_link **out, const nmdi_link_source *left, const nmdi_link_source *right,
                  const nmdi_link_config *cfg, nmdi_error *err);
void nmdi_link_free(nmdi_link *lk);

size_t nmdi_link_nfields(const nmdi_link *lk);
const char *nmdi_link_field_name(const nmdi_link *lk, size_t f);
nmdi_link_kind nmdi_link_field_kind(const nmdi_link *lk, size_t f);
uint64_t nmdi_link_candidate_pairs(const nmdi_link *lk); /* upper bound before dedup across rules */
/* Warnings collected so far (skipped blocks, degenerate model); NULL-terminated. */
const char *const *nmdi_link_warnings(const nmdi_link *lk);

/* Estimate the model: u from random pairs (seeded), then m and λ by EM on
 * the aggregated comparison patterns of the candidate pairs. */
int nmdi_link_train(nmdi_link *lk, const nmdi_ctx *ctx, nmdi_error *err);
/* Fix the model from a JSON file written by nmdi_link_model_save (fields
 * are matched by name and kind). */
int nmdi_link_model_load(nmdi_link *lk, const char *path, nmdi_error *err);
int nmdi_link_model_save(const nmdi_link *lk, const char *path, nmdi_error *err);
/* The model and the blocking analysis as JSON text (malloc'd; NULL on OOM). */
char *nmdi_link_model_json(const nmdi_link *lk);

typedef struct nmdi_link_pair {
    uint32_t a, b;           /* row in left, row in right (dedupe: a < b, both in left) */
    double probability, weight;
    uint8_t levels[NMDI_LINK_MAX_FIELDS];
} nmdi_link_pair;

/* Score every candidate pair, keep those with probability >= threshold,
 * apply one-to-one assignment when configured, and return them sorted by
 * (a, b). The array belongs to the session. */
int nmdi_link_run(nmdi_link *lk, const nmdi_ctx *ctx, const nmdi_link_pair **pairs, size_t *npairs,
                  nmdi_error *err);
/* Weight (log2 m/u, TF-adjusted) of field f for a scored pair. */
double nmdi_link_field_weight(const nmdi_link *lk, const nmdi_link_pair *p, size_t f);
/* Cluster a dedupe result into persons: union of the pairs taken by
 * decreasing weight, refusing a merge that would give a cluster larger than
 * max_size (the guard against chaining; 0 = no limit). cluster[i] (nrows
 * entries) gets the smallest row number of its cluster. Returns the number
 * of refused merges. */
size_t nmdi_link_cluster(size_t nrows, const nmdi_link_pair *pairs, size_t npairs, size_t max_size,
                         uint32_t *cluster);

#ifdef __cplusplus
}
#endif
#endif
