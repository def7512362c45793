/*
 * link.c — the linkage engine: a session prepares every record once
 * (normalised values, interned value ids, Soundex codes, parsed dates and
 * numbers, decoded Bloom filters, bigram sets and masks, character
 * histograms, term frequencies; one cache line per record and field),
 * builds the blocking keys of each OR-ed rule (splitting skewed blocks by a
 * further field) and counts the pairs each rule makes (blocking analysis),
 * then enumerates candidate pairs block by block without allocating per
 * pair, in units of blocks run on the thread pool: to aggregate comparison
 * patterns for EM (model.c) and to score (cheap exact filters before each
 * costly comparator, early exit on a weight bound). Each candidate pair is
 * compared once even when several rules produce it (a pair is skipped by
 * rule r when an earlier rule already blocks it). Records of both files
 * share one index space: left rows 0..nl-1, right rows nl..nl+nr-1.
 */
#include "link_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---- kinds and levels ---------------------------------------------------- */

static const char *const KIND_NAMES[NMDI_LINK_NKINDS] = {
    "name", "text", "code", "postcode", "date", "number", "hash", "bloom"};
static const int KIND_NLEV[NMDI_LINK_NKINDS] = {5, 4, 4, 4, 5, 4, 2, 4};
/* level labels, worst (0) first */
static const char *const KIND_LABELS[NMDI_LINK_NKINDS][NMDI_LINK_MAX_LEVELS] = {
    {"else", "soundex", "jw>=0.88", "jw>=0.92", "exact"},
    {"else", "jaccard2>=0.5", "damerau<=2", "exact"},
    {"else", "damerau<=2", "damerau<=1", "exact"},
    {"else", "prefix3", "damerau<=1", "exact"},
    {"else", "within_365_days", "one_digit_edit", "day_month_transposed", "exact"},
    {"else", "one_char_edit", "within_1", "exact"},
    {"else", "exact"},
    {"else", "dice>=0.75", "dice>=0.9", "exact"},
};

const char *nmdi_link_kind_name(nmdi_link_kind k)
{
    return (unsigned)k < NMDI_LINK_NKINDS ? KIND_NAMES[k] : "?";
}

int nmdi_link_kind_parse(const char *name)
{
    for (int k = 0; k < NMDI_LINK_NKINDS; k++)
        if (nmdi_str_ieq(name, KIND_NAMES[k]))
            return k;
    return -1;
}

int nmdi_link_kind_nlevels(nmdi_link_kind k)
{
    return (unsigned)k < NMDI_LINK_NKINDS ? KIND_NLEV[k] : 0;
}

const char *nmdi_link_level_label(nmdi_link_kind k, int level)
{
    if (level == NMDI_LINK_LEVEL_MISSING)
        return "missing";
    if ((unsigned)k >= NMDI_LINK_NKINDS || level < 0 || level >= KIND_NLEV[k])
        return "?";
    return KIND_LABELS[k][level];
}

static int has(const char *lower, const char *w)
{
    return strstr(lower, w) != NULL;
}

nmdi_link_kind nmdi_link_kind_infer(const char *colname, size_t nvalues, const char *const *values)
{
    char c[128];
    size_t n = 0;
    for (; colname[n] && n + 1 < sizeof c; n++)
        c[n] = (char)(colname[n] >= 'A' && colname[n] <= 'Z' ? colname[n] + 32 : colname[n]);
    c[n] = 0;
    size_t nonempty = 0, isdate = 0, isnum = 0, isb = 0, ish = 0;
    for (size_t i = 0; i < nvalues; i++) {
        const char *v = values[i];
        size_t l = strlen(v);
        if (l == 0)
            continue;
        nonempty++;
        int y, m, d;
        if (nmdi_link_date_parse(v, l, &y, &m, &d) >= 0 && y >= 1800 && y <= 2200)
            isdate++;
        double x;
        if (nmdi_parse_double(v, &x) == 0)
            isnum++;
        if (strncmp(v, "b1:", 3) == 0)
            isb++;
        if (strncmp(v, "h1:", 3) == 0 || strncmp(v, "p1:", 3) == 0)
            ish++;
    }
    if (nonempty > 0 && isb * 10 >= nonempty * 9)
        return NMDI_LINK_BLOOM;
    if (nonempty > 0 && ish * 10 >= nonempty * 9)
        return NMDI_LINK_HASH;
    if (has(c, "postcode") || has(c, "postal") || has(c, "zip") || has(c, "post_code"))
        return NMDI_LINK_POSTCODE;
    if (has(c, "dob") || has(c, "birth") || has(c, "date") ||
        (nonempty > 0 && isdate * 10 >= nonempty * 9 && !has(c, "id")))
        return NMDI_LINK_DATE;
    if (has(c, "name") || has(c, "surname") || has(c, "first") || has(c, "last") ||
        has(c, "fname") || has(c, "lname"))
        return NMDI_LINK_NAME;
    if (nonempty > 0 && isnum * 20 >= nonempty * 19) {
        if (has(c, "id") || has(c, "ssn") || has(c, "soc") || has(c, "code") || has(c, "_no") ||
            has(c, "passport") || has(c, "phone"))
            return NMDI_LINK_CODE;
        return NMDI_LINK_NUMBER;
    }
    if (has(c, "address") || has(c, "street") || has(c, "suburb") || has(c, "city") ||
        has(c, "town") || has(c, "place"))
        return NMDI_LINK_TEXT;
    if (has(c, "id") || has(c, "code") || has(c, "passport") || has(c, "sex") ||
        has(c, "state") || has(c, "country"))
        return NMDI_LINK_CODE;
    return NMDI_LINK_NAME;
}

void nmdi_link_config_init(nmdi_link_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->threshold = 0.5;
    cfg->tf = 1;
    cfg->max_block_pairs = 10000000ULL;
    cfg->max_pairs = 500000000ULL;
    cfg->u_samples = 1000000ULL;
    cfg->seed = 42;
    cfg->max_iter = 200;
    cfg->em_pairs = 2000000ULL;
}

/* ---- session bookkeeping --------------------------------------------------- */

double lk_cpu_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void lk_warn(nmdi_link *lk, const char *fmt, ...)
{
    if (lk->nwarn + 2 > lk->capwarn) {
        size_t c = lk->capwarn ? lk->capwarn * 2 : 8;
        const char **w = realloc(lk->warn, c * sizeof *w);
        if (!w)
            return;
        lk->warn = w;
        lk->capwarn = c;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lk->warn[lk->nwarn++] = nmdi_arena_strdup(lk->arena, buf);
    lk->warn[lk->nwarn] = NULL;
}

const char *const *nmdi_link_warnings(const nmdi_link *lk)
{
    static const char *const none[1] = {NULL};
    return lk->nwarn ? lk->warn : none;
}

size_t nmdi_link_nfields(const nmdi_link *lk)
{
    return lk->nfields;
}

const char *nmdi_link_field_name(const nmdi_link *lk, size_t f)
{
    return lk->F[f].name;
}

nmdi_link_kind nmdi_link_field_kind(const nmdi_link *lk, size_t f)
{
    return lk->F[f].kind;
}

uint64_t nmdi_link_candidate_pairs(const nmdi_link *lk)
{
    return lk->cand_bound;
}

void nmdi_link_free(nmdi_link *lk)
{
    if (!lk)
        return;
    for (size_t r = 0; r < lk->nrules; r++)
        free(lk->R[r].key);
    for (size_t f = 0; f < lk->nfields; f++)
        free(lk->F[f].rec_base);
    free(lk->warn);
    free(lk->pairs);
    nmdi_arena_free(lk->arena);
    free(lk);
}

/* ---- preparing records -------------------------------------------------------- */

static int find_col(const nmdi_link_source *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->colnames[i], name) == 0)
            return (int)i;
    return -1;
}

static int col_error(nmdi_error *err, const nmdi_link_source *s, const char *what, const char *name)
{
    char cols[600] = "";
    size_t n = 0;
    for (size_t i = 0; i < s->ncols && n + 40 < sizeof cols; i++)
        n += (size_t)snprintf(cols + n, sizeof cols - n, "%s%s", i ? ", " : "", s->colnames[i]);
    return nmdi_error_at(err, NMDI_EDATA, s->name, 1, name, "%s: no such column (columns: %s)", what,
                         cols);
}

static const char *cell(const nmdi_link *lk, uint32_t rec, int colL, int colR)
{
    if (rec < lk->nl)
        return lk->L->cells[(size_t)rec * lk->L->ncols + (size_t)colL];
    return lk->Rs->cells[(size_t)(rec - lk->nl) * lk->Rs->ncols + (size_t)colR];
}

/* Fill the per-record values of field f: normalised string, value id,
 * and the kind's precomputed forms. */
static int prepare_field(nmdi_link *lk, lfield *F, nmdi_error *err)
{
    /* one cache line per record (lrec is 64 bytes) */
    size_t rbytes = (lk->n ? lk->n : 1) * sizeof *F->rec;
    /* calloc (lazily zeroed pages) aligned by hand to a cache line */
    F->rec_base = calloc(1, rbytes + 64);
    F->rec = F->rec_base ? (lrec *)(void *)((char *)F->rec_base +
                                            (64 - (uintptr_t)F->rec_base % 64) % 64)
                         : NULL;
    nmdi_strmap *ids = nmdi_strmap_new();
    if (!F->rec || !ids) {
        nmdi_strmap_free(ids);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    char buf[NMDI_LINK_MAXLEN + 1];
    uint32_t *count = NULL;
    size_t capc = 0;
    F->nonmissing = 0;
    for (uint32_t i = 0; i < lk->n; i++) {
        lrec *R = &F->rec[i];
        const char *v = cell(lk, i, F->colL, F->colR);
        size_t len = strlen(v);
        size_t n = 0;
        R->ymd = -1;
        R->days = NMDI_DATE_NONE;
        R->num = NAN;
        switch (F->kind) {
        case NMDI_LINK_CODE:
        case NMDI_LINK_POSTCODE: {
            size_t k = nmdi_link_normalise(v, len, buf, sizeof buf);
            for (size_t j = 0; j < k; j++)
                if (buf[j] != ' ')
                    buf[n++] = buf[j];
            buf[n] = 0;
            break;
        }
        case NMDI_LINK_DATE: {
            int y, m, d;
            int ok = nmdi_link_date_parse(v, len, &y, &m, &d);
            if (ok >= 0) {
                n = (size_t)snprintf(buf, sizeof buf, "%04d%02d%02d", y % 10000, m % 100, d % 100);
                R->ymd = y * 10000 + m * 100 + d;
                if (ok == 1)
                    R->days = nmdi_date_from_ymd(y, m, d);
            } else {
                size_t k = nmdi_link_normalise(v, len, buf, sizeof buf);
                for (size_t j = 0; j < k; j++)
                    if (buf[j] != ' ')
                        buf[n++] = buf[j];
                buf[n] = 0;
            }
            break;
        }
        case NMDI_LINK_HASH:
        case NMDI_LINK_BLOOM:
            n = len < NMDI_LINK_MAXLEN ? len : NMDI_LINK_MAXLEN;
            memcpy(buf, v, n);
            buf[n] = 0;
            break;
        default:
            n = nmdi_link_normalise(v, len, buf, sizeof buf);
            break;
        }
        if (n == 0)
            continue; /* missing: vid 0 */
        int ins = 0;
        int64_t *slot = nmdi_strmap_put(ids, buf, n, &ins);
        if (!slot)
            goto oom;
        if (ins) {
            *slot = (int64_t)nmdi_strmap_count(ids);
            char *s = nmdi_arena_strndup(lk->arena, buf, n);
            if (!s)
                goto oom;
            R->s = s;
        } else {
            /* share the first copy: find it via any record holding it is
             * costly, so keep a copy per distinct value only */
            R->s = NULL;
        }
        R->vid = (uint32_t)*slot;
        R->len = (uint16_t)n;
        if ((size_t)R->vid >= capc) {
            size_t c = capc ? capc * 2 : 1024;
            while (c <= R->vid)
                c *= 2;
            uint32_t *nc = realloc(count, c * sizeof *nc);
            if (!nc)
                goto oom;
            memset(nc + capc, 0, (c - capc) * sizeof *nc);
            count = nc;
            capc = c;
        }
        count[R->vid]++;
        F->nonmissing++;
        for (size_t j = 0; j < n; j++)
            R->hist[(unsigned char)buf[j] & 15]++;
        if (F->kind == NMDI_LINK_NAME) {
            char sx[5];
            if (nmdi_link_soundex(buf, n, sx) == 4)
                memcpy(&R->sdx, sx, 4);
        } else if (F->kind == NMDI_LINK_NUMBER) {
            double x;
            if (nmdi_parse_double(v, &x) == 0)
                R->num = x;
        } else if (F->kind == NMDI_LINK_BLOOM) {
            unsigned char bits[NMDI_LINK_BLOOM_BITS / 8];
            if (nmdi_link_bloom_decode(v, bits) == 0) {
                R->bloom = nmdi_arena_alloc(lk->arena, sizeof bits);
                if (!R->bloom)
                    goto oom;
                memcpy(R->bloom, bits, sizeof bits);
                int pc = 0;
                for (size_t j = 0; j < sizeof bits; j++)
                    pc += __builtin_popcount(bits[j]);
                R->pop = (uint16_t)pc;
            }
        }
    }
    /* second pass: point every record at the shared copy of its value */
    F->nvals = (uint32_t)nmdi_strmap_count(ids);
    F->vals = nmdi_arena_calloc(lk->arena, F->nvals + 1, sizeof *F->vals);
    F->freq = nmdi_arena_calloc(lk->arena, F->nvals + 1, sizeof *F->freq);
    F->tfw = nmdi_arena_calloc(lk->arena, F->nvals + 1, sizeof *F->tfw);
    if (!F->vals || !F->freq || !F->tfw)
        goto oom;
    for (uint32_t i = 0; i < lk->n; i++)
        if (F->rec[i].vid && F->rec[i].s)
            F->vals[F->rec[i].vid] = F->rec[i].s;
    for (uint32_t i = 0; i < lk->n; i++)
        if (F->rec[i].vid)
            F->rec[i].s = F->vals[F->rec[i].vid];
    for (uint32_t v = 1; v <= F->nvals; v++)
        F->freq[v] = (double)count[v] / (double)(F->nonmissing ? F->nonmissing : 1);
    if (F->kind == NMDI_LINK_TEXT) {
        /* sorted distinct bigrams of each distinct value, for Jaccard */
        F->bg = nmdi_arena_calloc(lk->arena, F->nvals + 1, sizeof *F->bg);
        F->nbg = nmdi_arena_calloc(lk->arena, F->nvals + 1, sizeof *F->nbg);
        F->bgmask = nmdi_arena_calloc(lk->arena, 2 * ((size_t)F->nvals + 1), sizeof *F->bgmask);
        if (!F->bg || !F->nbg || !F->bgmask)
            goto oom;
        for (uint32_t v = 1; v <= F->nvals; v++) {
            const char *t = F->vals[v];
            size_t n = strlen(t);
            if (n < 2)
                continue;
            uint16_t *g = nmdi_arena_alloc(lk->arena, (n - 1) * sizeof *g);
            if (!g)
                goto oom;
            size_t k = 0;
            for (size_t i = 0; i + 1 < n; i++) {
                uint16_t x = (uint16_t)((unsigned char)t[i] << 8 | (unsigned char)t[i + 1]);
                size_t j = k++;
                while (j > 0 && g[j - 1] > x) {
                    g[j] = g[j - 1];
                    j--;
                }
                g[j] = x;
            }
            size_t d = 0;
            for (size_t i = 0; i < k; i++)
                if (d == 0 || g[d - 1] != g[i])
                    g[d++] = g[i];
            F->bg[v] = g;
            F->nbg[v] = (uint16_t)d;
            uint64_t *mk = F->bgmask + 2 * (size_t)v;
            for (size_t i = 0; i < d; i++) {
                uint32_t h = (uint32_t)g[i] * 0x9E3779B1u >> 25;
                mk[h >> 6] |= 1ULL << (h & 63);
            }
        }
    }
    free(count);
    nmdi_strmap_free(ids);
    return 0;
oom:
    free(count);
    nmdi_strmap_free(ids);
    return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
}

/* ---- comparing ------------------------------------------------------------------ */

/* L1 distance of two folded character histograms. One edit changes it by
 * at most 2 (a substitution; insert and delete 1, a transposition 0), and
 * folding buckets never increases it, so an edit distance <= k needs
 * hist_l1 <= 2k: the filter rejects without running the edit distance. */
static inline int hist_l1(const uint8_t *x, const uint8_t *y)
{
#ifdef __SSE2__
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)x);
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)y);
    __m128i s = _mm_sad_epu8(a, b);
    return _mm_cvtsi128_si32(s) + _mm_cvtsi128_si32(_mm_srli_si128(s, 8));
#else
    int d = 0;
    for (int i = 0; i < 16; i++)
        d += x[i] > y[i] ? x[i] - y[i] : y[i] - x[i];
    return d;
#endif
}

static inline int popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

/* Damerau distance <= k, using the histogram filter first. */
static inline int within(const lrec *x, const lrec *y, int k)
{
    if (abs((int)x->len - (int)y->len) > k || hist_l1(x->hist, y->hist) > 2 * k)
        return 0;
    return nmdi_link_damerau_max(x->s, x->len, y->s, y->len, k) <= k;
}

int lk_compare(const lfield *F, uint32_t a, uint32_t b)
{
    const lrec *x = &F->rec[a], *y = &F->rec[b];
    if (!x->vid || !y->vid)
        return NMDI_LINK_LEVEL_MISSING;
    int top = KIND_NLEV[F->kind] - 1;
    if (x->vid == y->vid)
        return top;
    switch (F->kind) {
    case NMDI_LINK_NAME: {
        /* Jaro <= (m/la + m/lb + 1)/3 with m at most the common characters
         * (bounded by the histograms); Jaro-Winkler >= 0.88 needs Jaro >= 0.8
         * (the prefix bonus adds at most 0.4 (1 - Jaro)). */
        int la = x->len, lb = y->len;
        int mmax = (la + lb - hist_l1(x->hist, y->hist)) / 2;
        double jb = ((double)mmax / la + (double)mmax / lb + 1.0) / 3.0;
        if (jb >= 0.8 - 1e-9) {
            double jw = nmdi_link_jaro_winkler(x->s, x->len, y->s, y->len);
            if (jw >= 0.92)
                return 3;
            if (jw >= 0.88)
                return 2;
        }
        if (x->sdx && x->sdx == y->sdx)
            return 1;
        return 0;
    }
    case NMDI_LINK_TEXT: {
        if (within(x, y, 2))
            return 2;
        /* bigram Jaccard >= 0.5 on the precomputed sets (strings
         * shorter than 2 characters are unequal here: level 0):
         * 3 |A∩B| >= |A| + |B|, and |A∩B| <= |A| + |B| - |h(A) ∪ h(B)| */
        size_t na = F->nbg[x->vid], nb = F->nbg[y->vid];
        if (!na || !nb || 3 * (na < nb ? na : nb) < na + nb)
            return 0;
        const uint64_t *ma = F->bgmask + 2 * (size_t)x->vid, *mb = F->bgmask + 2 * (size_t)y->vid;
        size_t hu = (size_t)(popcount64(ma[0] | mb[0]) + popcount64(ma[1] | mb[1]));
        if (3 * (na + nb - hu) < na + nb)
            return 0;
        const uint16_t *ga = F->bg[x->vid], *gb = F->bg[y->vid];
        size_t i = 0, j = 0, in = 0;
        while (i < na && j < nb) {
            if (ga[i] == gb[j]) {
                in++;
                i++;
                j++;
            } else if (ga[i] < gb[j]) {
                i++;
            } else {
                j++;
            }
        }
        return 2 * in >= na + nb - in ? 1 : 0;
    }
    case NMDI_LINK_CODE:
        if (abs((int)x->len - (int)y->len) > 2 || hist_l1(x->hist, y->hist) > 4)
            return 0;
        {
            int d = nmdi_link_damerau_max(x->s, x->len, y->s, y->len, 2);
            return d <= 1 ? 2 : d <= 2 ? 1 : 0;
        }
    case NMDI_LINK_POSTCODE:
        if (within(x, y, 1))
            return 2;
        if (x->len >= 3 && y->len >= 3 && memcmp(x->s, y->s, 3) == 0)
            return 1;
        return 0;
    case NMDI_LINK_DATE:
        if (x->ymd >= 0 && y->ymd >= 0 && x->ymd / 10000 == y->ymd / 10000) {
            int m1 = x->ymd / 100 % 100, d1 = x->ymd % 100, m2 = y->ymd / 100 % 100, d2 = y->ymd % 100;
            if (m1 == d2 && d1 == m2)
                return 3;
        }
        if (within(x, y, 1))
            return 2;
        if (x->days != NMDI_DATE_NONE && y->days != NMDI_DATE_NONE && abs(x->days - y->days) <= 365)
            return 1;
        return 0;
    case NMDI_LINK_NUMBER:
        if (!isnan(x->num) && !isnan(y->num)) {
            if (fabs(x->num - y->num) <= 1.0)
                return 2;
        }
        if (within(x, y, 1))
            return 1;
        return 0;
    case NMDI_LINK_HASH:
        return 0;
    case NMDI_LINK_BLOOM: {
        if (!x->bloom || !y->bloom || x->pop + y->pop == 0)
            return 0;
        int c = 0;
        for (size_t j = 0; j < NMDI_LINK_BLOOM_BITS / 8; j += 8) {
            uint64_t p, q;
            memcpy(&p, x->bloom + j, 8);
            memcpy(&q, y->bloom + j, 8);
            c += __builtin_popcountll(p & q);
        }
        double dice = 2.0 * c / (double)(x->pop + y->pop);
        return dice >= 0.9 ? 2 : dice >= 0.75 ? 1 : 0;
    }
    default:
        return 0;
    }
}

/* ---- blocking ------------------------------------------------------------------ */

enum { BF_VALUE, BF_SOUNDEX, BF_PREFIX, BF_YEAR };

static int parse_rule(nmdi_link *lk, lrule *R, const char *text, nmdi_error *err)
{
    R->text = nmdi_arena_strdup(lk->arena, text);
    if (!R->text)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text);
    const char *t = buf;
    size_t tl = strlen(buf);
    nmdi_str_trim(&t, &tl);
    if (tl == 1 && t[0] == '*') {
        R->all = 1;
        return 0;
    }
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const char *p = tok;
        size_t pl = strlen(tok);
        nmdi_str_trim(&p, &pl);
        if (pl == 0)
            continue;
        if (R->nparts == 8)
            return nmdi_error_set(err, NMDI_EDATA, "block rule '%s': at most 8 columns", text);
        char col[256];
        snprintf(col, sizeof col, "%.*s", (int)pl, p);
        lpart *P = &R->part[R->nparts];
        P->fn = BF_VALUE;
        char *colon = strrchr(col, ':');
        if (colon) {
            *colon = 0;
            const char *fn = colon + 1;
            char *end;
            long nch = strtol(fn, &end, 10);
            if (strcmp(fn, "soundex") == 0)
                P->fn = BF_SOUNDEX;
            else if (strcmp(fn, "year") == 0)
                P->fn = BF_YEAR;
            else if (*fn && *end == 0 && nch > 0 && nch < 256) {
                P->fn = BF_PREFIX;
                P->arg = (int)nch;
            } else {
                return nmdi_error_set(err, NMDI_EDATA,
                                      "block rule '%s': unknown key function ':%s' (use "
                                      ":soundex, :year or :N for the first N characters)",
                                      text, fn);
            }
            size_t cl = strlen(col);
            while (cl > 0 && col[cl - 1] == ' ')
                col[--cl] = 0;
        }
        P->colL = find_col(lk->L, col);
        if (P->colL < 0)
            return col_error(err, lk->L, "block rule", col);
        for (size_t f = 0; f < lk->nfields; f++)
            if (lk->F[f].colL == P->colL)
                R->fieldmask |= 1u << f;
        if (lk->Rs) {
            P->colR = find_col(lk->Rs, col);
            if (P->colR < 0)
                return col_error(err, lk->Rs, "block rule", col);
        }
        R->nparts++;
    }
    if (R->nparts == 0)
        return nmdi_error_set(err, NMDI_EDATA,
                              "block rule '%s' names no column (give column names separated by "
                              "commas, or '*' for all pairs)",
                              text);
    return 0;
}

/* The blocking key of record i under rule R into buf; 0 when a part is missing. */
static size_t rule_key(const nmdi_link *lk, const lrule *R, uint32_t i, char *buf, size_t size)
{
    size_t n = 0;
    for (int p = 0; p < R->nparts; p++) {
        const lpart *P = &R->part[p];
        const char *v = cell(lk, i, P->colL, P->colR);
        char norm[NMDI_LINK_MAXLEN + 1];
        size_t k = nmdi_link_normalise(v, strlen(v), norm, sizeof norm);
        if (k == 0)
            return 0;
        switch (P->fn) {
        case BF_SOUNDEX:
            if (nmdi_link_soundex(norm, k, norm) == 0)
                return 0;
            k = 4;
            break;
        case BF_PREFIX:
            if (k > (size_t)P->arg)
                k = (size_t)P->arg;
            break;
        case BF_YEAR: {
            int y, m, d;
            if (nmdi_link_date_parse(v, strlen(v), &y, &m, &d) < 0)
                return 0;
            k = (size_t)snprintf(norm, sizeof norm, "%04d", y % 10000);
            break;
        }
        default:
            break;
        }
        if (n + k + 1 >= size)
            return 0;
        memcpy(buf + n, norm, k);
        n += k;
        buf[n++] = '\x1f';
    }
    return n;
}

/* Counting sort of records of [lo,hi) by key into off/idx. */
static int group(const uint32_t *key, uint32_t nkeys, uint32_t lo, uint32_t hi, uint32_t **off_out,
                 uint32_t **idx_out, nmdi_arena *a)
{
    uint32_t *off = nmdi_arena_calloc(a, (size_t)nkeys + 2, sizeof *off);
    uint32_t *idx = nmdi_arena_alloc(a, ((size_t)(hi - lo) + 1) * sizeof *idx);
    if (!off || !idx)
        return -1;
    for (uint32_t i = lo; i < hi; i++)
        if (key[i])
            off[key[i] + 1]++;
    for (uint32_t k = 1; k <= nkeys + 1; k++)
        off[k] += off[k - 1];
    uint32_t *pos = calloc((size_t)nkeys + 2, sizeof *pos);
    if (!pos)
        return -1;
    memcpy(pos, off, ((size_t)nkeys + 2) * sizeof *pos);
    for (uint32_t i = lo; i < hi; i++)
        if (key[i])
            idx[pos[key[i]]++] = i;
    free(pos);
    *off_out = off;
    *idx_out = idx;
    return 0;
}

static uint64_t block_pairs(const nmdi_link *lk, const lrule *R, uint32_t k)
{
    uint64_t a = R->offL[k + 1] - R->offL[k];
    if (lk->dedupe)
        return a * (a - (a > 0)) / 2;
    return a * (uint64_t)(R->offR[k + 1] - R->offR[k]);
}

/* The largest block (in pairs) that splitting the oversized blocks of R by
 * the values of field F would leave; UINT64_MAX on OOM. */
static uint64_t largest_split(const nmdi_link *lk, const lrule *R, const lfield *F)
{
    nmdi_strmap *m = nmdi_strmap_new();
    uint64_t *cnt = NULL; /* per sub-block: left count, right count */
    size_t cap = 0;
    uint64_t mx = 0;
    char buf[64];
    if (!m)
        return UINT64_MAX;
    for (uint32_t i = 0; i < lk->n; i++) {
        uint32_t k = R->key[i], v = F->rec[i].vid;
        if (!k || !v || block_pairs(lk, R, k) <= lk->cfg.max_block_pairs)
            continue;
        int ins;
        int64_t *slot = nmdi_strmap_put(m, buf, (size_t)snprintf(buf, sizeof buf, "%u:%u", k, v), &ins);
        if (!slot)
            goto oom;
        if (ins)
            *slot = (int64_t)nmdi_strmap_count(m) - 1;
        size_t id = (size_t)*slot;
        if (id >= cap) {
            size_t nc = cap ? cap * 2 : 1024;
            uint64_t *c = realloc(cnt, nc * 2 * sizeof *c);
            if (!c)
                goto oom;
            memset(c + 2 * cap, 0, (nc - cap) * 2 * sizeof *c);
            cnt = c;
            cap = nc;
        }
        cnt[2 * id + (i >= lk->nl)]++;
    }
    for (size_t id = 0; id < nmdi_strmap_count(m); id++) {
        uint64_t a = cnt[2 * id], p = lk->dedupe ? a * (a - (a > 0)) / 2 : a * cnt[2 * id + 1];
        if (p > mx)
            mx = p;
    }
    free(cnt);
    nmdi_strmap_free(m);
    return mx;
oom:
    free(cnt);
    nmdi_strmap_free(m);
    return UINT64_MAX;
}

/* The fallback for skewed blocks: blocks of R with more pairs than
 * --max-block-pairs are split by the values of a further compared field
 * (one the rule does not block on yet: the coarsest that brings every
 * block under the limit, else the one leaving the smallest largest block),
 * up to three levels; a record missing that field leaves
 * the oversized block (counted in the warning). Blocks still too large
 * after that are skipped by build_rule. Returns 0, or -1 on OOM. */
static int split_blocks(nmdi_link *lk, lrule *R)
{
    uint8_t used[NMDI_LINK_MAX_FIELDS] = {0};
    for (size_t f = 0; f < lk->nfields; f++)
        used[f] = (uint8_t)((R->fieldmask >> f) & 1);
    for (int level = 0; level < 3; level++) {
        uint64_t nbig = 0, bigpairs = 0, top = 0;
        uint32_t topk = 0;
        for (uint32_t k = 1; k <= R->nkeys; k++) {
            uint64_t p = block_pairs(lk, R, k);
            if (p > lk->cfg.max_block_pairs) {
                nbig++;
                bigpairs += p;
                if (p > top) {
                    top = p;
                    topk = k;
                }
            }
        }
        if (nbig == 0)
            return 0;
        /* the coarsest field that brings every block under the limit, or
         * else the one leaving the smallest largest block */
        int best = -1;
        uint64_t bestmax = UINT64_MAX;
        uint32_t bestvals = 0;
        for (size_t f = 0; f < lk->nfields; f++) {
            if (used[f] || lk->F[f].nonmissing == 0 || lk->F[f].nvals < 2)
                continue;
            uint64_t mx = largest_split(lk, R, &lk->F[f]);
            if (mx == UINT64_MAX)
                return -1;
            int fits = mx <= lk->cfg.max_block_pairs, bfits = bestmax <= lk->cfg.max_block_pairs;
            if (best < 0 || (fits && !bfits) || (fits && bfits && lk->F[f].nvals < bestvals) ||
                (!fits && !bfits && mx < bestmax)) {
                best = (int)f;
                bestmax = mx;
                bestvals = lk->F[f].nvals;
            }
        }
        if (best < 0)
            return 0;
        used[best] = 1;
        const lfield *F = &lk->F[best];
        uint8_t *big = calloc((size_t)R->nkeys + 1, 1);
        nmdi_strmap *m = nmdi_strmap_new();
        if (!big || !m) {
            free(big);
            nmdi_strmap_free(m);
            return -1;
        }
        for (uint32_t k = 1; k <= R->nkeys; k++)
            big[k] = block_pairs(lk, R, k) > lk->cfg.max_block_pairs;
        const char *topname = R->keyname && R->keyname[topk] ? R->keyname[topk] : "*";
        uint64_t dropped = 0;
        char buf[64];
        for (uint32_t i = 0; i < lk->n; i++) {
            uint32_t k = R->key[i];
            if (!k || !big[k])
                continue;
            uint32_t v = F->rec[i].vid;
            if (!v) {
                R->key[i] = 0;
                dropped++;
                continue;
            }
            int ins;
            int64_t *slot = nmdi_strmap_put(m, buf, (size_t)snprintf(buf, sizeof buf, "%u:%u", k, v), &ins);
            if (!slot) {
                free(big);
                nmdi_strmap_free(m);
                return -1;
            }
            if (ins)
                *slot = (int64_t)R->nkeys + (int64_t)nmdi_strmap_count(m);
            R->key[i] = (uint32_t)*slot;
        }
        uint32_t oldn = R->nkeys, newn = oldn + (uint32_t)nmdi_strmap_count(m);
        const char **names = nmdi_arena_calloc(lk->arena, (size_t)newn + 1, sizeof *names);
        if (!names) {
            free(big);
            nmdi_strmap_free(m);
            return -1;
        }
        for (uint32_t k = 1; k <= oldn; k++)
            names[k] = R->keyname && R->keyname[k] ? R->keyname[k] : "*";
        size_t it = 0;
        const char *ks;
        int64_t kv;
        while (nmdi_strmap_iter(m, &it, &ks, &kv)) {
            unsigned k0 = 0, v0 = 0;
            if (sscanf(ks, "%u:%u", &k0, &v0) == 2 && k0 <= oldn && v0 <= F->nvals) {
                char nb[600];
                snprintf(nb, sizeof nb, "%s,%s", names[k0], F->vals[v0] ? F->vals[v0] : "");
                names[kv] = nmdi_arena_strdup(lk->arena, nb);
            }
        }
        free(big);
        nmdi_strmap_free(m);
        R->keyname = names;
        R->nkeys = newn;
        R->fieldmask |= 1u << best;
        if (group(R->key, R->nkeys, 0, (uint32_t)lk->nl, &R->offL, &R->idxL, lk->arena) < 0 ||
            (!lk->dedupe && group(R->key, R->nkeys, (uint32_t)lk->nl, (uint32_t)lk->n, &R->offR,
                                  &R->idxR, lk->arena) < 0))
            return -1;
        uint64_t sub = 0, subpairs = 0, largest = 0, still = 0;
        for (uint32_t k = oldn + 1; k <= newn; k++) {
            uint64_t p = block_pairs(lk, R, k);
            sub++;
            subpairs += p;
            if (p > largest)
                largest = p;
            still += p > lk->cfg.max_block_pairs;
        }
        lk_warn(lk,
                "block rule '%s': %llu block(s) would make more than --max-block-pairs %llu "
                "pairs (%llu pairs in all; the largest '%s' makes %llu): split by '%s' into %llu "
                "sub-blocks (%llu pairs, the largest %llu; %llu still too large); %llu records "
                "missing '%s' left out of them",
                R->text, (unsigned long long)nbig, (unsigned long long)lk->cfg.max_block_pairs,
                (unsigned long long)bigpairs, topname, (unsigned long long)top, F->name,
                (unsigned long long)sub, (unsigned long long)subpairs, (unsigned long long)largest,
                (unsigned long long)still, (unsigned long long)dropped, F->name);
        R->split_blocks += nbig;
    }
    return 0;
}

static int build_rule(nmdi_link *lk, lrule *R, int split, nmdi_error *err)
{
    R->key = calloc(lk->n ? lk->n : 1, sizeof *R->key);
    if (!R->key)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    if (R->all) {
        for (uint32_t i = 0; i < lk->n; i++)
            R->key[i] = 1;
        R->nkeys = 1;
    } else {
        nmdi_strmap *m = nmdi_strmap_new();
        if (!m)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        char buf[2048];
        for (uint32_t i = 0; i < lk->n; i++) {
            size_t n = rule_key(lk, R, i, buf, sizeof buf);
            if (n == 0)
                continue;
            int ins;
            int64_t *slot = nmdi_strmap_put(m, buf, n, &ins);
            if (!slot) {
                nmdi_strmap_free(m);
                return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            }
            if (ins)
                *slot = (int64_t)nmdi_strmap_count(m);
            R->key[i] = (uint32_t)*slot;
        }
        R->nkeys = (uint32_t)nmdi_strmap_count(m);
        /* names of keys for warnings: kept as arena strings */
        R->keyname = nmdi_arena_calloc(lk->arena, (size_t)R->nkeys + 1, sizeof *R->keyname);
        size_t it = 0;
        const char *ks;
        int64_t kv;
        while (R->keyname && nmdi_strmap_iter(m, &it, &ks, &kv)) {
            char *c = nmdi_arena_strdup(lk->arena, ks);
            for (char *q = c; c && *q; q++)
                if (*q == '\x1f')
                    *q = q[1] ? ',' : 0;
            R->keyname[kv] = c;
        }
        nmdi_strmap_free(m);
    }
    if (group(R->key, R->nkeys, 0, (uint32_t)lk->nl, &R->offL, &R->idxL, lk->arena) < 0 ||
        (!lk->dedupe && group(R->key, R->nkeys, (uint32_t)lk->nl, (uint32_t)lk->n, &R->offR,
                              &R->idxR, lk->arena) < 0))
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    if (split && split_blocks(lk, R) < 0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    R->skip = nmdi_arena_calloc(lk->arena, (size_t)R->nkeys + 1, 1);
    if (!R->skip)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    R->pairs = R->blocks = R->largest = R->skipped_blocks = R->skipped_pairs = 0;
    for (uint32_t k = 1; k <= R->nkeys; k++) {
        uint64_t p = block_pairs(lk, R, k);
        if (p == 0)
            continue;
        if (p > lk->cfg.max_block_pairs) {
            R->skip[k] = 1;
            R->skipped_blocks++;
            R->skipped_pairs += p;
            continue;
        }
        R->blocks++;
        R->pairs += p;
        if (p > R->largest)
            R->largest = p;
    }
    return 0;
}

static void warn_skipped(nmdi_link *lk, const lrule *R)
{
    if (!R->skipped_blocks)
        return;
    int shown = 0;
    for (uint32_t k = 1; k <= R->nkeys && shown < 3; k++) {
        if (!R->skip[k])
            continue;
        shown++;
        lk_warn(lk,
                "block rule '%s': block '%s' would make %llu pairs (more than --max-block-pairs "
                "%llu): skipped; add a column to the rule to split it",
                R->text, R->keyname && R->keyname[k] ? R->keyname[k] : "*",
                (unsigned long long)block_pairs(lk, R, k),
                (unsigned long long)lk->cfg.max_block_pairs);
    }
    if (R->skipped_blocks > 3)
        lk_warn(lk, "block rule '%s': %llu blocks skipped in all (%llu pairs)", R->text,
                (unsigned long long)R->skipped_blocks, (unsigned long long)R->skipped_pairs);
}

/* Default rules: equality on each compared field whose blocks stay small
 * (at most 50 pairs per record on average); all pairs when the files are
 * tiny. */
static int default_rules(nmdi_link *lk, nmdi_error *err)
{
    uint64_t nmax = lk->nl > lk->nr ? lk->nl : lk->nr;
    if (lk->total_pairs <= 10000) {
        lrule *R = &lk->R[lk->nrules++];
        int rc = parse_rule(lk, R, "*", err);
        return rc ? rc : build_rule(lk, R, 0, err);
    }
    lrule best;
    int have_best = 0;
    memset(&best, 0, sizeof best);
    int big[NMDI_LINK_MAX_FIELDS];
    size_t nbig = 0;
    /* candidates: each field alone, then pairs of fields too coarse alone */
    for (size_t c = 0; c < lk->nfields + NMDI_LINK_MAX_FIELDS * NMDI_LINK_MAX_FIELDS &&
                       lk->nrules < NMDI_LINK_MAX_RULES;
         c++) {
        char text[600];
        size_t f = c;
        if (c < lk->nfields) {
            snprintf(text, sizeof text, "%s", lk->F[c].name);
        } else {
            size_t i = (c - lk->nfields) / NMDI_LINK_MAX_FIELDS;
            size_t j = (c - lk->nfields) % NMDI_LINK_MAX_FIELDS;
            if (i >= nbig || j >= nbig || j <= i)
                continue;
            snprintf(text, sizeof text, "%s,%s", lk->F[big[i]].name, lk->F[big[j]].name);
            f = SIZE_MAX;
        }
        lrule *R = &lk->R[lk->nrules];
        memset(R, 0, sizeof *R);
        int rc = parse_rule(lk, R, text, err);
        if (!rc)
            rc = build_rule(lk, R, 0, err);
        if (rc)
            return rc;
        if (R->pairs <= 50 * nmax && R->skipped_blocks == 0) {
            if (R->pairs > 0)
                lk->nrules++;
            else
                free(R->key);
            if (R->pairs > 0)
                continue;
            memset(R, 0, sizeof *R);
            continue;
        }
        if (f != SIZE_MAX && lk->F[f].nonmissing > 0)
            big[nbig++] = (int)f;
        if (!have_best || R->pairs < best.pairs) {
            free(best.key);
            best = *R;
            have_best = 1;
        } else {
            free(R->key);
        }
        memset(R, 0, sizeof *R);
    }
    if (lk->nrules == 0 && have_best) {
        lk->R[lk->nrules++] = best;
        lk_warn(lk, "no compared field makes small blocks: blocking on '%s' only (%llu pairs)",
                best.text, (unsigned long long)best.pairs);
    } else {
        free(best.key);
    }
    return 0;
}

/* ---- the session ------------------------------------------------------------------ */

static int check_source(const nmdi_link_source *s, nmdi_error *err)
{
    if (s->ncols == 0)
        return nmdi_error_at(err, NMDI_EDATA, s->name, 0, NULL, "empty file: no header");
    if (s->nrows == 0)
        return nmdi_error_at(err, NMDI_EDATA, s->name, 1, NULL,
                             "the file has a header but no records");
    if (s->nrows >= (1u << 31))
        return nmdi_error_at(err, NMDI_EDATA, s->name, 0, NULL, "too many records");
    return 0;
}

int nmdi_link_new(nmdi_link **out, const nmdi_link_source *left, const nmdi_link_source *right,
                  const nmdi_link_config *cfg, nmdi_error *err)
{
    *out = NULL;
    int rc = check_source(left, err);
    if (!rc && right)
        rc = check_source(right, err);
    if (rc)
        return rc;
    nmdi_link *lk = calloc(1, sizeof *lk);
    if (!lk || !(lk->arena = nmdi_arena_new(1 << 20))) {
        free(lk);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    lk->cfg = *cfg;
    if (lk->cfg.max_iter <= 0)
        lk->cfg.max_iter = 200;
    lk->L = left;
    lk->Rs = right;
    lk->dedupe = right == NULL;
    lk->nl = left->nrows;
    lk->nr = right ? right->nrows : 0;
    lk->n = lk->nl + lk->nr;
    lk->total_pairs = lk->dedupe ? (uint64_t)lk->nl * (lk->nl - 1) / 2 : (uint64_t)lk->nl * lk->nr;
    /* id column */
    if (cfg->id) {
        lk->idL = find_col(left, cfg->id);
        if (lk->idL < 0) {
            rc = col_error(err, left, "--id", cfg->id);
            goto fail;
        }
        if (right && (lk->idR = find_col(right, cfg->id)) < 0) {
            rc = col_error(err, right, "--id", cfg->id);
            goto fail;
        }
    } else {
        lk->idL = 0;
        lk->idR = 0;
        if (right && strcmp(right->colnames[0], left->colnames[0]) != 0 &&
            find_col(right, left->colnames[0]) >= 0)
            lk->idR = find_col(right, left->colnames[0]);
    }
    /* fields */
    const char *idname = left->colnames[lk->idL];
    size_t nf = 0;
    const char *names[64];
    int kinds[64];
    if (cfg->nfields) {
        for (size_t i = 0; i < cfg->nfields && nf < 64; i++) {
            names[nf] = cfg->fields[i];
            kinds[nf++] = cfg->kinds ? cfg->kinds[i] : -1;
        }
    } else {
        for (size_t i = 0; i < left->ncols && nf < 64; i++)
            if ((int)i != lk->idL) {
                names[nf] = left->colnames[i];
                kinds[nf++] = -1;
            }
    }
    if (nf == 0) {
        rc = nmdi_error_at(err, NMDI_EDATA, left->name, 1, NULL,
                           "no field to compare: the file has only the id column '%s'", idname);
        goto fail;
    }
    if (nf > NMDI_LINK_MAX_FIELDS) {
        rc = nmdi_error_at(err, NMDI_EDATA, left->name, 1, NULL,
                           "%zu fields to compare: at most %d (choose with --fields)", nf,
                           NMDI_LINK_MAX_FIELDS);
        goto fail;
    }
    for (size_t f = 0; f < nf; f++) {
        lfield *F = &lk->F[f];
        F->name = nmdi_arena_strdup(lk->arena, names[f]);
        F->colL = find_col(left, names[f]);
        if (F->colL < 0) {
            rc = col_error(err, left, "--fields", names[f]);
            goto fail;
        }
        if (right && (F->colR = find_col(right, names[f])) < 0) {
            rc = col_error(err, right, "--fields", names[f]);
            goto fail;
        }
        if (kinds[f] >= 0 && kinds[f] < NMDI_LINK_NKINDS) {
            F->kind = (nmdi_link_kind)kinds[f];
        } else {
            /* infer from the name and up to 1000 values of the left file */
            size_t ns = left->nrows < 1000 ? left->nrows : 1000;
            const char **vals = malloc(ns * sizeof *vals);
            if (!vals) {
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                goto fail;
            }
            for (size_t i = 0; i < ns; i++)
                vals[i] = left->cells[i * left->ncols + (size_t)F->colL];
            F->kind = nmdi_link_kind_infer(names[f], ns, vals);
            free(vals);
        }
        F->nlev = KIND_NLEV[F->kind];
        F->tf = cfg->tf && F->kind == NMDI_LINK_NAME;
        lk->nfields++;
        if ((rc = prepare_field(lk, F, err)) != 0)
            goto fail;
        if (F->nonmissing == 0)
            lk_warn(lk, "field '%s' is missing in every record: it adds nothing", F->name);
    }
    /* ids */
    lk->ids = nmdi_arena_calloc(lk->arena, lk->n + 1, sizeof *lk->ids);
    if (!lk->ids) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < lk->n; i++)
        lk->ids[i] = cell(lk, i, lk->idL, lk->idR);
    /* blocking rules and their analysis */
    if (cfg->nblocks > NMDI_LINK_MAX_RULES) {
        rc = nmdi_error_set(err, NMDI_EDATA, "at most %d block rules", NMDI_LINK_MAX_RULES);
        goto fail;
    }
    for (size_t r = 0; r < cfg->nblocks; r++) {
        lrule *R = &lk->R[lk->nrules++];
        if ((rc = parse_rule(lk, R, cfg->blocks[r], err)) != 0 ||
            (rc = build_rule(lk, R, 1, err)) != 0)
            goto fail;
    }
    if (cfg->nblocks == 0 && (rc = default_rules(lk, err)) != 0)
        goto fail;
    lk->cand_bound = 0;
    for (size_t r = 0; r < lk->nrules; r++) {
        lk->cand_bound += lk->R[r].pairs;
        warn_skipped(lk, &lk->R[r]);
    }
    if (lk->cand_bound > lk->cfg.max_pairs) {
        rc = nmdi_error_set(err, NMDI_EDATA,
                            "the block rules make %llu candidate pairs, more than --max-pairs "
                            "%llu: use narrower rules (more columns per rule)",
                            (unsigned long long)lk->cand_bound,
                            (unsigned long long)lk->cfg.max_pairs);
        goto fail;
    }
    if (lk->cand_bound == 0)
        lk_warn(lk, "the block rules make no candidate pair: nothing can be linked");
    *out = lk;
    return 0;
fail:
    nmdi_link_free(lk);
    return rc;
}

/* ---- enumerating candidate pairs ------------------------------------------------ */

static inline int earlier_rule(const nmdi_link *lk, size_t r, uint32_t a, uint32_t b)
{
    for (size_t q = 0; q < r; q++) {
        const lrule *Q = &lk->R[q];
        uint32_t k = Q->key[a];
        if (k && k == Q->key[b] && !Q->skip[k])
            return 1;
    }
    return 0;
}

/* Records of a block are visited in index order but far apart: fetch the
 * prepared values of a record a few pairs ahead. */
#define PREFETCH 6
static inline void prefetch_rec(const nmdi_link *lk, uint32_t b)
{
    for (size_t f = 0; f < lk->nfields; f++)
        __builtin_prefetch(&lk->F[f].rec[b]);
}

void lk_enumerate_unit(const nmdi_link *lk, const lk_unit *u, int skip_earlier, lk_pair_fn fn,
                       void *arg)
{
    size_t r = u->rule;
    const lrule *R = &lk->R[r];
    size_t er = skip_earlier ? r : 0;
    for (uint32_t k = u->k0; k < u->k1; k++) {
        if (R->skip[k])
            continue;
        const uint32_t *A = R->idxL + R->offL[k];
        uint32_t na = R->offL[k + 1] - R->offL[k];
        if (lk->dedupe) {
            for (uint32_t i = 0; i < na; i++)
                for (uint32_t j = i + 1; j < na; j++) {
                    if (j + PREFETCH < na)
                        prefetch_rec(lk, A[j + PREFETCH]);
                    if (!er || !earlier_rule(lk, er, A[i], A[j]))
                        fn(lk, r, A[i], A[j], arg);
                }
        } else {
            const uint32_t *B = R->idxR + R->offR[k];
            uint32_t nb = R->offR[k + 1] - R->offR[k];
            for (uint32_t i = 0; i < na; i++)
                for (uint32_t j = 0; j < nb; j++) {
                    if (j + PREFETCH < nb)
                        prefetch_rec(lk, B[j + PREFETCH]);
                    if (!er || !earlier_rule(lk, er, A[i], B[j]))
                        fn(lk, r, A[i], B[j], arg);
                }
        }
    }
}

lk_unit *lk_units(const nmdi_link *lk, size_t r0, size_t r1, size_t per_rule, size_t *n)
{
    if (per_rule < 1)
        per_rule = 1;
    size_t cap = (r1 - r0) * (per_rule + 1) + 1, k = 0;
    lk_unit *U = malloc(cap * sizeof *U);
    if (!U)
        return NULL;
    for (size_t r = r0; r < r1; r++) {
        const lrule *R = &lk->R[r];
        uint64_t target = R->pairs / per_rule + 1, acc = 0;
        uint32_t start = 1;
        for (uint32_t key = 1; key <= R->nkeys; key++) {
            if (!R->skip[key])
                acc += block_pairs(lk, R, key);
            if (acc >= target && k + 1 < cap) {
                U[k++] = (lk_unit){(uint32_t)r, start, key + 1};
                start = key + 1;
                acc = 0;
            }
        }
        if (start <= R->nkeys)
            U[k++] = (lk_unit){(uint32_t)r, start, R->nkeys + 1};
    }
    *n = k;
    return U;
}

size_t lk_units_per_rule(const nmdi_ctx *ctx)
{
    return ctx && ctx->nthreads > 1 ? (size_t)ctx->nthreads * 16 : 1;
}

void lk_enumerate_rule(const nmdi_link *lk, size_t r, int skip_earlier, lk_pair_fn fn, void *arg)
{
    lk_unit u = {(uint32_t)r, 1, lk->R[r].nkeys + 1};
    lk_enumerate_unit(lk, &u, skip_earlier, fn, arg);
}

void lk_enumerate(const nmdi_link *lk, lk_pair_fn fn, void *arg)
{
    for (size_t r = 0; r < lk->nrules; r++)
        lk_enumerate_rule(lk, r, 1, fn, arg);
}

/* ---- scoring, one-to-one, clustering ------------------------------------------- */

double lk_field_weight(const nmdi_link *lk, size_t f, int level, uint32_t a)
{
    const lfield *F = &lk->F[f];
    if (level == NMDI_LINK_LEVEL_MISSING)
        return 0.0;
    if (F->tf && level == F->nlev - 1)
        return F->tfw[F->rec[a].vid];
    return F->w[level];
}

double nmdi_link_field_weight(const nmdi_link *lk, const nmdi_link_pair *p, size_t f)
{
    return lk_field_weight(lk, f, p->levels[f], p->a);
}

/* Scoring order: cheap comparators first, so that a pair whose partial
 * weight plus the largest weight the remaining fields could add stays
 * below the threshold is dropped early (exactly: the bound is an upper
 * bound). Survivors get their weight summed in field order, as always. */
typedef struct score_plan {
    size_t nf;
    uint8_t order[NMDI_LINK_MAX_FIELDS];
    double rem[NMDI_LINK_MAX_FIELDS + 1]; /* max weight of order[i..] */
    double prior, wmin;
} score_plan;

typedef struct score_ctx {
    const score_plan *plan;
    nmdi_link_pair *v;
    size_t n, cap;
    int oom;
    uint64_t compared;
} score_ctx;

static int kind_cost(nmdi_link_kind k)
{
    switch (k) {
    case NMDI_LINK_HASH:
        return 0;
    case NMDI_LINK_DATE:
    case NMDI_LINK_NUMBER:
        return 1;
    case NMDI_LINK_CODE:
    case NMDI_LINK_POSTCODE:
        return 2;
    case NMDI_LINK_NAME:
    case NMDI_LINK_BLOOM:
        return 3;
    default:
        return 4;
    }
}

static void plan_scoring(const nmdi_link *lk, score_plan *P)
{
    size_t nf = lk->nfields, k = 0;
    P->nf = nf;
    for (int c = 0; c <= 4; c++)
        for (size_t f = 0; f < nf; f++)
            if (kind_cost(lk->F[f].kind) == c)
                P->order[k++] = (uint8_t)f;
    P->rem[nf] = 0;
    for (size_t i = nf; i-- > 0;) {
        const lfield *F = &lk->F[P->order[i]];
        double mx = 0; /* missing */
        for (int l = 0; l < F->nlev; l++)
            if (F->w[l] > mx)
                mx = F->w[l];
        if (F->tf && F->tfw)
            for (uint32_t v = 1; v <= F->nvals; v++)
                if (F->tfw[v] > mx)
                    mx = F->tfw[v];
        P->rem[i] = P->rem[i + 1] + mx;
    }
}

static void score_pair(const nmdi_link *lk, size_t r, uint32_t a, uint32_t b, void *arg)
{
    (void)r;
    score_ctx *S = arg;
    const score_plan *P = S->plan;
    S->compared++;
    nmdi_link_pair p;
    double w = P->prior;
    for (size_t i = 0; i < P->nf; i++) {
        if (w + P->rem[i] < P->wmin - 1e-9)
            return;
        size_t f = P->order[i];
        int l = lk_compare(&lk->F[f], a, b);
        p.levels[f] = (uint8_t)l;
        w += lk_field_weight(lk, f, l, a);
    }
    w = P->prior;
    for (size_t f = 0; f < P->nf; f++)
        w += lk_field_weight(lk, f, p.levels[f], a);
    if (w < P->wmin)
        return;
    if (S->n == S->cap) {
        size_t c = S->cap ? S->cap * 2 : 1024;
        nmdi_link_pair *nv = realloc(S->v, c * sizeof *nv);
        if (!nv) {
            S->oom = 1;
            return;
        }
        S->v = nv;
        S->cap = c;
    }
    p.a = a;
    p.b = lk->dedupe ? b : b - (uint32_t)lk->nl;
    p.weight = w;
    p.probability = 1.0 / (1.0 + exp2(-w));
    S->v[S->n++] = p;
}

typedef struct score_job {
    const nmdi_link *lk;
    const lk_unit *units;
    score_ctx *parts;
} score_job;

static int score_unit(void *arg, size_t u)
{
    score_job *J = arg;
    lk_enumerate_unit(J->lk, &J->units[u], 1, score_pair, &J->parts[u]);
    return J->parts[u].oom ? NMDI_EINTERNAL : 0;
}

static int by_weight_desc(const void *x, const void *y)
{
    const nmdi_link_pair *p = x, *q = y;
    if (p->weight != q->weight)
        return p->weight < q->weight ? 1 : -1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return (p->b > q->b) - (p->b < q->b);
}

static int by_ab(const void *x, const void *y)
{
    const nmdi_link_pair *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return (p->b > q->b) - (p->b < q->b);
}

int nmdi_link_run(nmdi_link *lk, const nmdi_ctx *ctx, const nmdi_link_pair **pairs, size_t *npairs,
                  nmdi_error *err)
{
    if (!lk->trained)
        return nmdi_error_set(err, NMDI_EINTERNAL, "nmdi_link_run before train or model load");
    score_plan plan;
    memset(&plan, 0, sizeof plan);
    double lam = lk->lambda;
    plan.prior = log2(lam / (1.0 - lam));
    double th = lk->cfg.threshold;
    if (th <= 0)
        plan.wmin = -INFINITY;
    else if (th >= 1)
        plan.wmin = INFINITY;
    else
        plan.wmin = log2(th / (1.0 - th)) - 1e-9;
    plan_scoring(lk, &plan);
    double t0 = nmdi_now(), c0 = lk_cpu_seconds();
    size_t nu = 0;
    lk_unit *units = lk_units(lk, 0, lk->nrules, lk_units_per_rule(ctx), &nu);
    score_ctx *parts = calloc(nu + 1, sizeof *parts);
    if (!units || !parts) {
        free(units);
        free(parts);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t u = 0; u < nu; u++)
        parts[u].plan = &plan;
    score_job job = {lk, units, parts};
    nmdi_pool_run(ctx, nu, score_unit, &job);
    /* concatenate the parts in unit order (the final sort makes the result
     * independent of the partition and of the thread count) */
    score_ctx S;
    memset(&S, 0, sizeof S);
    size_t tot = 0;
    for (size_t u = 0; u < nu; u++) {
        S.oom |= parts[u].oom;
        S.compared += parts[u].compared;
        tot += parts[u].n;
    }
    if (!S.oom) {
        S.v = malloc((tot + 1) * sizeof *S.v);
        if (!S.v)
            S.oom = 1;
    }
    for (size_t u = 0; u < nu; u++) {
        if (S.v && parts[u].n)
            memcpy(S.v + S.n, parts[u].v, parts[u].n * sizeof *S.v);
        S.n += S.v ? parts[u].n : 0;
        free(parts[u].v);
    }
    free(parts);
    free(units);
    lk->score_seconds = nmdi_now() - t0;
    lk->score_cpu = lk_cpu_seconds() - c0;
    lk->compared = S.compared;
    if (S.oom) {
        free(S.v);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    if (lk->cfg.one_to_one && S.n > 0) {
        qsort(S.v, S.n, sizeof *S.v, by_weight_desc);
        uint8_t *usedA = calloc(lk->nl, 1);
        uint8_t *usedB = lk->dedupe ? usedA : calloc(lk->nr ? lk->nr : 1, 1);
        if (!usedA || !usedB) {
            free(usedA);
            if (usedB != usedA)
                free(usedB);
            free(S.v);
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
        size_t k = 0;
        for (size_t i = 0; i < S.n; i++) {
            nmdi_link_pair *p = &S.v[i];
            if (usedA[p->a] || usedB[p->b])
                continue;
            usedA[p->a] = 1;
            usedB[p->b] = 1;
            S.v[k++] = *p;
        }
        S.n = k;
        free(usedA);
        if (usedB != usedA)
            free(usedB);
    }
    qsort(S.v, S.n, sizeof *S.v, by_ab);
    free(lk->pairs);
    lk->pairs = S.v;
    lk->npairs = S.n;
    *pairs = S.v;
    *npairs = S.n;
    if (ctx)
        nmdi_note(ctx, "link: %llu pairs compared in %.2fs (CPU %.2fs: %.2f M pairs/s per core), %zu at or above %g\n",
                  (unsigned long long)S.compared, lk->score_seconds, lk->score_cpu,
                  lk->score_cpu > 0 ? (double)S.compared / lk->score_cpu / 1e6 : 0.0, S.n, th);
    return 0;
}

static int by_weight_idx(const void *x, const void *y, void *arg)
{
    const nmdi_link_pair *p = arg;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    if (p[i].weight != p[j].weight)
        return p[i].weight < p[j].weight ? 1 : -1;
    return (i > j) - (i < j);
}

static uint32_t find_root(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

size_t nmdi_link_cluster(size_t nrows, const nmdi_link_pair *pairs, size_t npairs, size_t max_size,
                         uint32_t *cluster)
{
    uint32_t *parent = malloc((nrows + 1) * sizeof *parent);
    uint32_t *size = malloc((nrows + 1) * sizeof *size);
    size_t *order = malloc((npairs + 1) * sizeof *order);
    size_t refused = 0;
    if (!parent || !size || !order) {
        for (size_t i = 0; i < nrows; i++)
            cluster[i] = (uint32_t)i;
        free(parent);
        free(size);
        free(order);
        return 0;
    }
    for (size_t i = 0; i < nrows; i++) {
        parent[i] = (uint32_t)i;
        size[i] = 1;
    }
    /* by decreasing weight: strong links merge first, weak bridges are refused */
    for (size_t i = 0; i < npairs; i++)
        order[i] = i;
    qsort_r(order, npairs, sizeof *order, by_weight_idx, (void *)pairs);
    for (size_t i = 0; i < npairs; i++) {
        const nmdi_link_pair *p = &pairs[order[i]];
        if (p->a >= nrows || p->b >= nrows)
            continue;
        uint32_t ra = find_root(parent, p->a), rb = find_root(parent, p->b);
        if (ra == rb)
            continue;
        if (max_size && (size_t)size[ra] + size[rb] > max_size) {
            refused++;
            continue;
        }
        if (ra > rb) {
            uint32_t t = ra;
            ra = rb;
            rb = t;
        }
        parent[rb] = ra; /* the smaller row becomes the root */
        size[ra] += size[rb];
    }
    for (size_t i = 0; i < nrows; i++)
        cluster[i] = find_root(parent, (uint32_t)i);
    /* roots are not always the smallest row after path halving: fix */
    uint32_t *minrow = size;
    for (size_t i = 0; i < nrows; i++)
        minrow[i] = UINT32_MAX;
    for (size_t i = 0; i < nrows; i++)
        if (minrow[cluster[i]] == UINT32_MAX)
            minrow[cluster[i]] = (uint32_t)i;
    for (size_t i = 0; i < nrows; i++)
        cluster[i] = minrow[cluster[i]];
    free(parent);
    free(size);
    free(order);
    return refused;
}
