/*
 * kanon.c — microdata risk: k-anonymity over quasi-identifiers with local
 * suppression (nmdi/protect.h).
 *
 * A suppressed (empty) value matches any value, as in sdcMicro. The class
 * size of a record r with non-empty quasi-identifiers P is
 *   f(r) = Σ over the suppression patterns Q present in the file of the
 *          number of records with pattern Q that agree with r on P ∩ Q,
 * counted with one hash table per (P ∩ Q, Q) built on demand. Suppression is
 * greedy in rounds: every record at risk (f < k) loses the one value whose
 * blanking gives it the largest class, then the class sizes are recounted.
 * Blanking never shrinks any class, so each round only helps, and at most
 * one round per quasi-identifier is needed (a record with every value
 * blanked matches the whole file).
 */
#include "nmdi/protect.h"

#include <stdlib.h>
#include <string.h>

#define MAXQI 16

typedef struct kstate {
    const nmdi_table *t;
    const int *qi;
    size_t nqi, n;
    uint32_t *ids;     /* n * nqi; 0 = empty */
    uint32_t *pat;     /* n: bitmask of non-empty quasi-identifiers */
    uint32_t pats[1 << MAXQI];
    size_t npats;
    size_t *pcount;    /* records per pattern index */
    nmdi_strmap *tabs; /* (A, Q) -> index in maps */
    nmdi_strmap **maps;
    size_t nmaps, capmaps;
    int oom;
} kstate;

static void clear_tables(kstate *s)
{
    for (size_t i = 0; i < s->nmaps; i++)
        nmdi_strmap_free(s->maps[i]);
    s->nmaps = 0;
    nmdi_strmap_free(s->tabs);
    s->tabs = NULL;
}

static size_t key_of(const kstate *s, size_t r, uint32_t A, uint32_t *key)
{
    size_t len = 0;
    for (size_t c = 0; c < s->nqi; c++)
        if (A >> c & 1)
            key[len++] = s->ids[r * s->nqi + c];
    return len * sizeof *key;
}

/* the table counting records of pattern Q by their values on A (A ⊆ Q) */
static nmdi_strmap *table(kstate *s, uint32_t A, uint32_t Q)
{
    uint32_t k2[2] = {A, Q};
    if (!s->tabs && !(s->tabs = nmdi_strmap_new()))
        return NULL;
    int ins = 0;
    int64_t *slot = nmdi_strmap_put(s->tabs, (const char *)k2, sizeof k2, &ins);
    if (!slot)
        return NULL;
    if (!ins)
        return s->maps[*slot];
    if (s->nmaps == s->capmaps) {
        size_t cap = s->capmaps ? 2 * s->capmaps : 16;
        nmdi_strmap **m = realloc(s->maps, cap * sizeof *m);
        if (!m)
            return NULL;
        s->maps = m;
        s->capmaps = cap;
    }
    nmdi_strmap *m = nmdi_strmap_new();
    if (!m)
        return NULL;
    uint32_t key[MAXQI];
    for (size_t r = 0; r < s->n; r++) {
        if (s->pat[r] != Q)
            continue;
        int64_t *v = nmdi_strmap_put(m, (const char *)key, key_of(s, r, A, key), NULL);
        if (!v) {
            nmdi_strmap_free(m);
            return NULL;
        }
        (*v)++;
    }
    *slot = (int64_t)s->nmaps;
    s->maps[s->nmaps++] = m;
    return m;
}

/* class size of record r if its non-empty set were P (P ⊆ pat[r]) */
static size_t class_size(kstate *s, size_t r, uint32_t P)
{
    size_t f = 0;
    uint32_t key[MAXQI];
    for (size_t q = 0; q < s->npats; q++) {
        uint32_t Q = s->pats[q], A = P & Q;
        if (A == 0) {
            f += s->pcount[q];
            continue;
        }
        nmdi_strmap *m = table(s, A, Q);
        if (!m) {
            s->oom = 1;
            return 0;
        }
        int64_t *v = nmdi_strmap_get(m, (const char *)key, key_of(s, r, A, key));
        if (v)
            f += (size_t)*v;
    }
    return f;
}

static void find_patterns(kstate *s)
{
    s->npats = 0;
    for (size_t r = 0; r < s->n; r++) {
        size_t q = 0;
        while (q < s->npats && s->pats[q] != s->pat[r])
            q++;
        if (q == s->npats) {
            s->pats[q] = s->pat[r];
            s->pcount[q] = 0;
            s->npats++;
        }
        s->pcount[q]++;
    }
}

void nmdi_kanon_report_free(nmdi_kanon_report *rep)
{
    if (rep) {
        free(rep->suppressed_by_qi);
        rep->suppressed_by_qi = NULL;
    }
}

int nmdi_protect_kanon(nmdi_table *t, const int *qi, size_t nqi, int64_t k, int suppress,
                       nmdi_kanon_report *rep, nmdi_error *err)
{
    memset(rep, 0, sizeof *rep);
    if (nqi == 0 || nqi > MAXQI)
        return nmdi_error_set(err, NMDI_EDATA, "give 1 to %d quasi-identifiers", MAXQI);
    if (k < 1)
        return nmdi_error_set(err, NMDI_EDATA, "k must be at least 1");
    if (suppress && t->nrows > 0 && (int64_t)t->nrows < k)
        return nmdi_error_at(err, NMDI_EDATA, t->path, 0, NULL,
                             "%zu records cannot be %lld-anonymous", t->nrows, (long long)k);
    kstate *s = calloc(1, sizeof *s);
    if (!s)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    s->t = t;
    s->qi = qi;
    s->nqi = nqi;
    s->n = t->nrows;
    size_t n1 = s->n ? s->n : 1;
    s->ids = calloc(n1 * nqi, sizeof *s->ids);
    s->pat = calloc(n1, sizeof *s->pat);
    s->pcount = calloc((size_t)1 << nqi, sizeof *s->pcount);
    size_t *f = calloc(n1, sizeof *f);
    rep->suppressed_by_qi = calloc(nqi, sizeof *rep->suppressed_by_qi);
    nmdi_strmap *classes = nmdi_strmap_new();
    int rc = 0;
    if (!s->ids || !s->pat || !s->pcount || !f || !rep->suppressed_by_qi || !classes) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        goto done;
    }
    rep->records = s->n;
    rep->nqi = nqi;
    /* value ids per quasi-identifier; empty = 0 */
    for (size_t c = 0; c < nqi && !rc; c++) {
        nmdi_strmap *m = nmdi_strmap_new();
        int64_t next = 1;
        for (size_t r = 0; m && r < s->n; r++) {
            const char *v = nmdi_table_cell(t, r, (size_t)qi[c]);
            if (!*v)
                continue;
            int ins = 0;
            int64_t *id = nmdi_strmap_put(m, v, strlen(v), &ins);
            if (!id) {
                nmdi_strmap_free(m);
                m = NULL;
                break;
            }
            if (ins)
                *id = next++;
            s->ids[r * nqi + c] = (uint32_t)*id;
        }
        if (!m)
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        nmdi_strmap_free(m);
    }
    for (size_t r = 0; r < s->n && !rc; r++) {
        if (!nmdi_strmap_put(classes, (const char *)&s->ids[r * nqi], nqi * sizeof *s->ids, NULL))
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    rep->classes_before = nmdi_strmap_count(classes);
    for (int round = 0; !rc; round++) {
        for (size_t r = 0; r < s->n; r++) {
            s->pat[r] = 0;
            for (size_t c = 0; c < nqi; c++)
                if (s->ids[r * nqi + c])
                    s->pat[r] |= 1u << c;
        }
        find_patterns(s);
        size_t risk = 0;
        for (size_t r = 0; r < s->n; r++) {
            f[r] = class_size(s, r, s->pat[r]);
            risk += (int64_t)f[r] < k;
        }
        if (round == 0)
            rep->at_risk_before = risk;
        rep->at_risk_after = risk;
        if (s->oom) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            break;
        }
        if (risk == 0 || !suppress || round > (int)nqi)
            break;
        rep->rounds++;
        for (size_t r = 0; r < s->n; r++) {
            if ((int64_t)f[r] >= k || s->pat[r] == 0)
                continue;
            size_t best_c = nqi, best_f = 0;
            for (size_t c = 0; c < nqi; c++) {
                if (!(s->pat[r] >> c & 1))
                    continue;
                size_t g = class_size(s, r, s->pat[r] & ~(1u << c));
                if (best_c == nqi || g >= best_f) {
                    best_c = c;
                    best_f = g;
                }
            }
            /* blank in the table (cells are arena strings: point to "") and
             * in ids only after the round, so the tables stay consistent */
            t->cells[r * t->ncols + (size_t)qi[best_c]] = "";
            rep->suppressed++;
            rep->suppressed_by_qi[best_c]++;
        }
        if (s->oom) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            break;
        }
        clear_tables(s);
        for (size_t r = 0; r < s->n; r++)
            for (size_t c = 0; c < nqi; c++)
                if (!*nmdi_table_cell(t, r, (size_t)qi[c]))
                    s->ids[r * nqi + c] = 0;
    }
done:
    clear_tables(s);
    free(s->maps);
    free(s->ids);
    free(s->pat);
    free(s->pcount);
    free(s);
    free(f);
    nmdi_strmap_free(classes);
    if (rc)
        nmdi_kanon_report_free(rep);
    return rc;
}
