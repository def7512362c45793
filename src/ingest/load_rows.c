/*
 * load_rows.c — the records of a load: on the workers, each record of a
 * block is converted, validated and pseudonymised into the block's output
 * (stored rows as typed values, quarantined records as their issues); on
 * the calling thread, blocks are committed to the store and the quarantine
 * in file order, with the counts, --strict and --max-quarantine, so that the
 * result does not depend on the thread count (docs/methods-ingest.md).
 */
#include "load_impl.h"

#include "nmdi/codes.h"
#include "nmdi/csv.h"

#include <ctype.h>
#include <math.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Entries of each memo: about one per 64 bytes of the delivery, at least
 * 2^12, at most 2^19 (2^17 for names, whose bigram filters make entries
 * large and whose distinct values are few): at most 38-42 MiB for a key,
 * document or date, 27 MiB for a name, whatever the file size. */
static unsigned memo_log2(uint64_t bytes, int big_entries)
{
    unsigned l = 12;
    while (l < (big_entries ? 17u : 19u) && ((uint64_t)1 << l) * 64 < bytes)
        l++;
    return l;
}


/* ---- per record, on a worker ------------------------------------------------------
 * A worker parses a block and turns each record into either a stored row
 * (typed values of every store field, keyed hashes included) or a
 * quarantined record (its issues), both kept in the block's output (bout);
 * the writer then hands them to the store and the catalog in file order
 * (nmdi_load_commit). Line numbers in a block count from 1; the writer adds the
 * block's first line. */



/* Copy s into the block's strings; its offset, or SIZE_MAX when out of memory. */
static size_t sb_put(bout *o, const char *s, size_t len, int nul)
{
    size_t need = o->slen + 4 + len + 1;
    if (nmdi_grow((void **)&o->sb, &o->scap, need, 1, 1 << 16))
        return SIZE_MAX;
    size_t off = o->slen;
    uint32_t l = (uint32_t)len;
    memcpy(o->sb + off, &l, 4);
    if (len)
        memcpy(o->sb + off + 4, s, len);
    o->slen += 4 + len;
    if (nul)
        o->sb[o->slen++] = 0;
    return off;
}

void nmdi_load_out_free(void *arg, void *p)
{
    (void)arg;
    bout *o = p;
    if (!o)
        return;
    free(o->rec);
    free(o->q);
    free(o->slots);
    free(o->part);
    if (o->sb)
        explicit_bzero(o->sb, o->scap);
    free(o->sb);
    free(o);
}

void nmdi_load_out_reset(bout *o)
{
    o->nrec = o->nq = o->nrows = o->slen = 0;
    o->nlines = 0;
    o->bytes = 0;
    o->rc = 0;
    nmdi_error_clear(&o->err);
}

/* A worker's state; with n workers each memo has 1/2^shift of the entries
 * (2^shift >= n: all workers' memos together take one worker's memory). */
int nmdi_load_work_init(const loadst *L, lwork *W, uint64_t total_bytes, unsigned shift)
{
    nmdi_pseudo_cache_init(&W->pc, L->key, L->scheme);
    W->fmemo = calloc(L->nf + 1, sizeof *W->fmemo);
    W->imemo = calloc(L->nid + 1, sizeof *W->imemo);
    W->ccache = calloc(L->nf + 1, sizeof *W->ccache);
    W->vals = calloc(L->nf + 1, sizeof *W->vals);
    W->bad = calloc(L->nf + 1, 1);
    W->norm = malloc(1024);
    W->cm = calloc((L->nf + 1) * CM_SLOTS, sizeof *W->cm);
    W->vc = calloc((L->nf + 1) * CM_SLOTS, sizeof *W->vc);
    if (!W->fmemo || !W->imemo || !W->ccache || !W->vals || !W->bad || !W->norm || !W->cm || !W->vc)
        return -1;
    /* Under the SipHash scheme a key or a document/date encoding costs one or
     * two SipHash calls (~15 ns each), less than a memo lookup that misses
     * the cache (~100 ns): only names (normalisation, phonetic code, bigram
     * filter) keep a memo. A field without one has its memo left empty. */
    int cheap = L->scheme == NMDI_PSEUDO_SIPHASH;
    for (size_t i = 0; i < L->nf; i++)
        if (L->f[i].type == NMDI_F_KEY && !cheap &&
            nmdi_memo_init(&W->fmemo[i], memo_log2(total_bytes, 0) - shift, sizeof(keyres)))
            return -1;
    for (size_t i = 0; i < L->nid; i++)
        if ((!cheap || L->id[i].st_qgram >= 0) &&
            nmdi_memo_init(&W->imemo[i], memo_log2(total_bytes, L->id[i].st_qgram >= 0) - shift,
                           L->id[i].st_qgram >= 0 ? sizeof(identres) : offsetof(identres, q)))
            return -1;
    return 0;
}

void nmdi_load_work_free(const loadst *L, lwork *W)
{
    for (size_t i = 0; W->fmemo && i < L->nf; i++)
        nmdi_memo_free(&W->fmemo[i]);
    for (size_t i = 0; W->imemo && i < L->nid; i++)
        nmdi_memo_free(&W->imemo[i]);
    for (size_t i = 0; W->ccache && i < L->nf; i++)
        nmdi_strmap_free(W->ccache[i]);
    free(W->fmemo);
    free(W->imemo);
    free(W->ccache);
    free(W->cm);
    free(W->vc);
    free(W->vals);
    free(W->bad);
    if (W->norm)
        explicit_bzero(W->norm, 1024);
    free(W->norm);
    free(W->f);
    free(W->lens);
    nmdi_pseudo_cache_wipe(&W->pc);
}

/* One issue of the current record (the value cut to VALUE_MAX bytes on a
 * UTF-8 boundary). */
static int qadd(bout *o, const char *rule, const char *field, const char *value, size_t vlen,
                const char *msg)
{
    if (nmdi_grow((void **)&o->q, &o->capq, o->nq + 1, sizeof *o->q, 1024))
        return -1;
    char v[VALUE_MAX + 4];
    if (vlen > VALUE_MAX) {
        size_t n = VALUE_MAX;
        while (n > 0 && ((unsigned char)value[n] & 0xC0) == 0x80)
            n--;
        memcpy(v, value, n);
        memcpy(v + n, "...", 4);
        vlen = n + 3;
    } else {
        memcpy(v, value ? value : "", vlen);
        v[vlen] = 0;
    }
    size_t a = sb_put(o, v, vlen, 1), b = sb_put(o, msg, strlen(msg), 1);
    if (a == SIZE_MAX || b == SIZE_MAX)
        return -1;
    o->q[o->nq++] = (qent){rule, field, a, b};
    o->rec[o->nrec - 1].nq++;
    return 0;
}

/* nmdi_str_trim, without the call when both ends are printable ASCII
 * (no white space in any locale: same result). */
static inline void trim(const char **s, size_t *len)
{
    if (*len) {
        unsigned char a = (unsigned char)(*s)[0], b = (unsigned char)(*s)[*len - 1];
        if (a > ' ' && a < 0x7F && b > ' ' && b < 0x7F)
            return;
    }
    nmdi_str_trim(s, len);
}

/* The slot of a value of at most 8 bytes (packed as key) among field i's
 * CM_SLOTS slots of a per-field cache (W->cm, W->vc). */
static inline size_t short_slot(size_t i, uint64_t key, size_t len)
{
    return i * CM_SLOTS + (size_t)(((key + len) * 0x9E3779B97F4A7C15ULL) >> 58);
}

/* Field i's slot in the codelist-check cache (W->vc) for a value of at most
 * 8 bytes (NULL for a longer one); *known: the slot holds this value's check. */
static inline vcache *vc_slot(lwork *W, size_t i, const char *s, size_t len, uint64_t *key, int *known)
{
    *key = 0;
    *known = 0;
    if (len > 8)
        return NULL;
    *key = nmdi_pack8(s, len);
    vcache *e = &W->vc[short_slot(i, *key, len)];
    *known = e->len1 == len + 1 && e->key == *key;
    return e;
}

/* Convert field i from raw text; 0 ok, else fills *rule and *msg. */
static int convert(const loadst *L, lwork *W, size_t i, const char *s, size_t len, const char **rule,
                   const char **msg)
{
    const pfield *p = &L->f[i];
    ival *v = &W->vals[i];
    trim(&s, &len);
    if (p->cmap && len) {
        int64_t idx = -1;
        if (len <= 8) {
            uint64_t key = nmdi_pack8(s, len);
            cmcache *e = &W->cm[short_slot(i, key, len)];
            if (e->len1 == len + 1 && e->key == key) {
                idx = e->idx;
            } else {
                int64_t *k = nmdi_strmap_get(p->cmap, s, len);
                idx = k ? *k : -1;
                *e = (cmcache){key, (int32_t)idx, (uint8_t)(len + 1)};
            }
        } else {
            int64_t *k = nmdi_strmap_get(p->cmap, s, len);
            idx = k ? *k : -1;
        }
        if (idx >= 0) {
            s = p->cto[idx];
            len = strlen(s);
        }
    }
    if (len == 0 || (len == 1 && s[0] == '.' && p->type != NMDI_F_STRING)) {
        *v = (ival){V_NULL, 0, NULL, 0};
        return 0;
    }
    char tmp[64];
    uint64_t key;
    int known;
    vcache *e;
    switch (p->type) {
    case NMDI_F_KEY:
    case NMDI_F_STRING:
        *v = (ival){V_STR, 0, s, len};
        return 0;
    case NMDI_F_CODE:
        if (p->cl || p->areas) {
            int ok = 0;
            e = vc_slot(W, i, s, len, &key, &known);
            if (known) {
                ok = e->ok;
            } else if (len >= sizeof tmp) {
                *rule = "codelist";
                *msg = "code too long";
                return -1;
            } else {
                memcpy(tmp, s, len);
                tmp[len] = 0;
                if (p->cl)
                    ok = strcmp(tmp, "_T") && nmdi_codes_find(p->cl, tmp);
                for (size_t k = 0; p->areas && !ok && k < L->cfg->nareas; k++)
                    ok = !strcmp(L->cfg->areas[k].code, tmp);
                if (e)
                    *e = (vcache){key, NULL, (uint8_t)(len + 1), (uint8_t)ok};
            }
            if (!ok) {
                *rule = "codelist";
                *msg = p->cl ? "not a code of the field's codelist (map it under codes:)"
                             : "not an area of the configuration (country.areas)";
                return -1;
            }
        }
        *v = (ival){V_STR, 0, s, len};
        return 0;
    case NMDI_F_COUNTRY: {
        if (len >= sizeof tmp || len < 2) {
            *rule = "codelist";
            *msg = "not an ISO 3166-1 country code (map it under codes:)";
            return -1;
        }
        int ok = 0;
        const char *a3 = NULL; /* the alpha-3 code it becomes; NULL: kept as written */
        e = vc_slot(W, i, s, len, &key, &known);
        if (known) {
            ok = e->ok, a3 = e->a3;
        } else {
            memcpy(tmp, s, len);
            tmp[len] = 0;
            if (!strcmp(tmp, L->cfg->country_code) || !strcmp(tmp, "XXA") || !strcmp(tmp, "XXB") ||
                !strcmp(tmp, "XXC") || !strcmp(tmp, "XXX") || !strcmp(tmp, "XKX") || !strcmp(tmp, "_U"))
                ok = 1;
            else {
                /* the codelist is searched once per distinct text (at most 4096 kept) */
                const nmdi_country *ct;
                int64_t *slot = W->ccache[i] ? nmdi_strmap_get(W->ccache[i], tmp, len) : NULL;
                if (slot) {
                    ct = *slot < 0 ? NULL : (const nmdi_country *)(intptr_t)*slot;
                } else {
                    ct = nmdi_country_find(tmp);
                    if (!W->ccache[i])
                        W->ccache[i] = nmdi_strmap_new();
                    if (W->ccache[i] && nmdi_strmap_count(W->ccache[i]) < 4096 &&
                        (slot = nmdi_strmap_put(W->ccache[i], tmp, len, NULL)))
                        *slot = ct ? (int64_t)(intptr_t)ct : -1;
                }
                if (ct)
                    ok = 1, a3 = ct->alpha3;
            }
            if (e)
                *e = (vcache){key, a3, (uint8_t)(len + 1), (uint8_t)ok};
        }
        if (!ok) {
            *rule = "codelist";
            *msg = "not an ISO 3166-1 country code (alpha-3, alpha-2 or numeric; map others under codes:)";
            return -1;
        }
        *v = a3 ? (ival){V_STR, 0, a3, strlen(a3)} : (ival){V_STR, 0, s, len};
        return 0;
    }
    case NMDI_F_DATE: {
        nmdi_date d;
        if (nmdi_ingest_parse_date(p->format, s, len, &d)) {
            *rule = p->fmt_rule ? p->fmt_rule : "type";
            *msg = p->format ? "not a date in the declared format" : "not a date (YYYY-MM-DD)";
            return -1;
        }
        *v = (ival){V_NUM, d, NULL, 0};
        return 0;
    }
    case NMDI_F_BOOL: {
        if (len >= sizeof tmp)
            len = sizeof tmp - 1;
        for (size_t k = 0; k < len; k++)
            tmp[k] = (char)tolower((unsigned char)s[k]);
        tmp[len] = 0;
        int b = -1;
        if (!strcmp(tmp, "1") || !strcmp(tmp, "true") || !strcmp(tmp, "yes") || !strcmp(tmp, "y"))
            b = 1;
        else if (!strcmp(tmp, "0") || !strcmp(tmp, "false") || !strcmp(tmp, "no") || !strcmp(tmp, "n"))
            b = 0;
        if (b < 0) {
            *rule = "type";
            *msg = "not a yes/no value (1/0, true/false, yes/no)";
            return -1;
        }
        *v = (ival){V_NUM, b, NULL, 0};
        return 0;
    }
    case NMDI_F_INT:
    case NMDI_F_DOUBLE: {
        if (len >= sizeof tmp) {
            *rule = "type";
            *msg = "number too long";
            return -1;
        }
        memcpy(tmp, s, len);
        tmp[len] = 0;
        if (p->type == NMDI_F_INT) {
            int64_t x;
            if (nmdi_parse_int64(tmp, &x) || x <= INT32_MIN || x > INT32_MAX) {
                *rule = "type";
                *msg = "not an integer";
                return -1;
            }
            *v = (ival){V_NUM, (double)x, NULL, 0};
        } else {
            double x;
            if (nmdi_parse_double(tmp, &x) || !isfinite(x)) {
                *rule = "type";
                *msg = "not a number";
                return -1;
            }
            *v = (ival){V_NUM, x, NULL, 0};
        }
        return 0;
    }
    }
    return 0;
}

/* The keyed hash of key field i's value (and, for the record type's key,
 * the record key), through the field's memo. */
static const keyres *key_hash(const loadst *L, lwork *W, size_t i, const char *domain, keyres *tmp)
{
    const ival *v = &W->vals[i];
    void *fill = NULL;
    keyres *r = W->fmemo[i].mem ? nmdi_memo_find(&W->fmemo[i], v->s, v->len, &fill) : NULL;
    if (r)
        return r;
    r = fill ? fill : tmp;
    r->hash = nmdi_pseudo_cache_hash(&W->pc, domain, v->s, v->len);
    r->rk = NAN;
    if ((int)i == L->keyf) {
        unsigned char pk[8];
        memcpy(pk, &r->hash, 8);
        int64_t rk = nmdi_pseudo_cache_hash(&W->pc, "record_key", (const char *)pk, 8);
        r->rk = (double)((uint64_t)rk >> 11) * 0x1.0p-53;
    }
    return r;
}

/* The encodings of identifier d's raw value, through its memo. */
static const identres *ident_encode(const loadst *L, lwork *W, size_t i, const char *s, size_t len,
                                    identres *tmp)
{
    const pident *d = &L->id[i];
    void *fill = NULL;
    identres *r = nmdi_memo_find(&W->imemo[i], s, len, &fill);
    if (r)
        return r;
    r = fill ? fill : tmp;
    size_t n = 0;
    if (len && !strcmp(d->cfg->kind, "date")) {
        nmdi_date dt;
        if (!nmdi_ingest_parse_date(d->cfg->format, s, len, &dt)) {
            nmdi_date_format(dt, W->norm);
            n = 10;
        }
    } else if (len) {
        n = nmdi_pseudo_normalise(d->cfg->kind, s, len, W->norm, 1024);
    }
    W->norm[n] = 0;
    r->n = (uint32_t)n;
    r->hash = r->phon = NMDI_I64_NONE;
    if (!n)
        return r;
    if (d->st_hash >= 0)
        r->hash = nmdi_pseudo_cache_hash(&W->pc, d->cfg->kind, W->norm, n);
    if (d->st_phon >= 0) {
        char ph[5];
        nmdi_pseudo_phonetic(W->norm, ph);
        r->phon = nmdi_pseudo_cache_hash(&W->pc, "phonetic", ph, 4);
    }
    if (d->st_qgram >= 0)
        nmdi_pseudo_cache_qgram(&W->pc, W->norm, r->q);
    return r;
}

/* "SOURCE:FILE:LINE" (as snprintf "%s:%s:%ld" would write it, cut at cap-1
 * bytes) without the formatting machinery: one per census record. */
static size_t record_label(char *buf, size_t cap, const char *src, const char *file, long line)
{
    char num[24];
    size_t k = sizeof num;
    unsigned long u = line < 0 ? 0UL - (unsigned long)line : (unsigned long)line;
    do
        num[--k] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (line < 0)
        num[--k] = '-';
    size_t n = 0;
    const char *part[5] = {src, ":", file, ":", NULL};
    for (size_t p = 0; p < 5; p++) {
        const char *s = part[p];
        size_t l = s ? strlen(s) : sizeof num - k;
        if (!s)
            s = num + k;
        if (l > cap - 1 - n)
            l = cap - 1 - n;
        memcpy(buf + n, s, l);
        n += l;
    }
    buf[n] = 0;
    return n;
}

static inline uint64_t bits_f64(double x)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    return u;
}

/* The store values of a record that passed: one word per store field. */
static int work_store(const loadst *L, lwork *W, bout *o, const char *const *fields,
                      const size_t *lens, long line)
{
    if (o->nrows == o->caprows) { /* two arrays, one capacity */
        size_t cs = o->caprows, cp = o->caprows;
        if (nmdi_grow((void **)&o->slots, &cs, o->nrows + 1, (size_t)L->nst * sizeof *o->slots, 1024) ||
            nmdi_grow((void **)&o->part, &cp, o->nrows + 1, sizeof *o->part, 1024))
            return -1;
        o->caprows = cp;
    }
    uint64_t *sl = o->slots + o->nrows * (size_t)L->nst;
    keyres tmp;
    /* the memo entries of this record's values, fetched together */
    for (size_t i = 0; i < L->nf; i++)
        if (W->fmemo[i].mem && W->vals[i].kind == V_STR)
            nmdi_memo_prefetch(&W->fmemo[i], W->vals[i].s, W->vals[i].len);
    for (size_t i = 0; i < L->nid; i++) {
        const char *s = fields[L->id[i].src];
        size_t len = lens[L->id[i].src];
        trim(&s, &len);
        nmdi_memo_prefetch(&W->imemo[i], s, len);
    }
    int64_t pkey = 0;
    double rkey = 0;
    uint32_t part = 0;
    if (L->keyf >= 0 && W->vals[L->keyf].kind == V_STR) {
        const keyres *k = key_hash(L, W, (size_t)L->keyf, "key", &tmp);
        pkey = k->hash;
        rkey = k->rk;
        part = (uint32_t)((uint64_t)pkey % (uint64_t)L->cfg->partitions);
    } else {
        /* no person key: the record is keyed by its source, file and line */
        char buf[600];
        size_t n = record_label(buf, sizeof buf, L->src->id, L->curname, line);
        pkey = nmdi_pseudo_cache_hash(&W->pc, "record", buf, n);
        unsigned char pk[8];
        memcpy(pk, &pkey, 8);
        int64_t rk = nmdi_pseudo_cache_hash(&W->pc, "record_key", (const char *)pk, 8);
        rkey = (double)((uint64_t)rk >> 11) * 0x1.0p-53;
        part = (uint32_t)((uint64_t)pkey % (uint64_t)L->cfg->partitions);
    }
    for (size_t i = 0; i < L->nf; i++) {
        const ival *v = &W->vals[i];
        int st = L->f[i].st;
        switch (L->f[i].type) {
        case NMDI_F_KEY:
            sl[st] = (uint64_t)(v->kind == V_NULL ? NMDI_I64_NONE
                                : (int)i == L->keyf ? pkey
                                                    : key_hash(L, W, i, "key", &tmp)->hash);
            break;
        case NMDI_F_DATE:
        case NMDI_F_INT:
        case NMDI_F_BOOL:
            sl[st] = (uint64_t)(uint32_t)(v->kind == V_NULL ? NMDI_I32_NONE : (int32_t)v->num);
            break;
        case NMDI_F_DOUBLE:
            sl[st] = bits_f64(v->kind == V_NULL ? NAN : v->num);
            break;
        default:
            if ((sl[st] = sb_put(o, v->s, v->kind == V_NULL ? 0 : v->len, 0)) == SIZE_MAX)
                return -1;
        }
    }
    for (size_t i = 0; i < L->nid; i++) {
        const pident *d = &L->id[i];
        const char *s = fields[d->src];
        size_t len = lens[d->src];
        identres itmp;
        trim(&s, &len);
        const identres *r = ident_encode(L, W, i, s, len, &itmp);
        if (d->st_hash >= 0)
            sl[d->st_hash] = (uint64_t)r->hash;
        if (d->st_phon >= 0)
            sl[d->st_phon] = (uint64_t)r->phon;
        if (d->st_qgram >= 0 &&
            (sl[d->st_qgram] = sb_put(o, (const char *)r->q, r->n ? sizeof r->q : 0, 0)) == SIZE_MAX)
            return -1;
    }
    sl[L->st_rk] = bits_f64(rkey);
    sl[L->st_file] = sl[L->st_line] = 0;
    o->part[o->nrows] = part;
    o->rec[o->nrec - 1].row = (int32_t)o->nrows++;
    return 0;
}

/* One record of a block (line counts from the block's first line). */
static int work_row(const loadst *L, lwork *W, bout *o, size_t nf, const char *const *fields,
                    const size_t *lens, long line, nmdi_error *err)
{
    if (nmdi_grow((void **)&o->rec, &o->caprec, o->nrec + 1, sizeof *o->rec, 1024))
        goto oom;
    brec *rec = &o->rec[o->nrec++];
    *rec = (brec){line, -1, (uint32_t)o->nq, 0, 0};
    if (nf != L->ncols) {
        char v[64], msg[128];
        snprintf(v, sizeof v, "%zu", nf);
        snprintf(msg, sizeof msg, "the record has %zu fields, the header has %zu", nf, L->ncols);
        rec->columns = 1;
        if (qadd(o, "columns", "", v, strlen(v), msg))
            goto oom;
        return 0;
    }
    int issues = 0;
    for (size_t i = 0; i < L->nf; i++) {
        const char *rule = NULL, *msg = NULL;
        W->bad[i] = 0;
        if (convert(L, W, i, fields[L->f[i].src], lens[L->f[i].src], &rule, &msg)) {
            W->vals[i] = (ival){V_NULL, 0, NULL, 0};
            W->bad[i] = 1;
            if (issues++ < MAX_ISSUES &&
                qadd(o, rule, L->f[i].name, fields[L->f[i].src], lens[L->f[i].src], msg))
                goto oom;
        }
    }
    for (size_t r = 0; r < L->nrules; r++) {
        int bad;
        if (nmdi_rule_check(&L->rules[r], W->vals, &bad))
            continue;
        /* a field that failed conversion is reported once, not again as missing */
        if (bad >= 0 && W->bad[bad] && L->rules[r].cfg->kind == NMDI_RULE_REQUIRED)
            continue;
        const char *fname = bad >= 0 ? L->f[bad].name : "";
        const char *val = "";
        size_t vlen = 0;
        if (bad >= 0 && L->f[bad].type != NMDI_F_KEY) {
            val = fields[L->f[bad].src];
            vlen = lens[L->f[bad].src];
        }
        if (issues++ < MAX_ISSUES &&
            qadd(o, L->rules[r].errorcode, fname, val, vlen,
                 L->rules[r].cfg->expr ? L->rules[r].cfg->expr : "validation rule failed"))
            goto oom;
    }
    if (issues)
        return 0;
    if (work_store(L, W, o, fields, lens, line))
        goto oom;
    return 0;
oom:
    return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory loading %s", L->curname);
}

/* ---- in file order, on the writer ------------------------------------------------ */

static int quarantine(loadst *L, long line, const char *rule, const char *field, const char *value,
                      const char *msg, nmdi_error *err)
{
    return nmdi_catalog_add_quarantine(L->cat, L->version_id, L->curname, line, rule, field, value, msg,
                                       err);
}

/* Hand a block's records to the store and the quarantine; base is the line
 * of the block's first byte. Then report the block's own error, if any. */
int nmdi_load_commit(loadst *L, bout *o, long base, nmdi_error *err)
{
    nmdi_store_writer *w = L->w;
    const size_t nst = (size_t)L->nst, np = (size_t)L->cfg->partitions;
    /* the file's code in the src_file dictionary, looked up at the block's
     * first stored row (the index nmdi_store_put_str would give it) */
    int32_t file_code = -1;
    /* stored rows per partition (counts, then starts into L->order) */
    if (nmdi_grow((void **)&L->pstart, &L->pcap, np + 1, sizeof *L->pstart, 16) ||
        nmdi_grow((void **)&L->order, &L->ocap, o->nrows + 1, sizeof *L->order, 1024))
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory writing the store");
    memset(L->pstart, 0, (np + 1) * sizeof *L->pstart);
    /* pass 1, in file order: counts, quarantine, --strict and
     * --max-quarantine, and the dictionary codes of the stored rows (so that
     * codes are numbered in order of first appearance in the file); each
     * stored row's code indices and line go into its slots */
    for (size_t k = 0; k < o->nrec; k++) {
        const brec *rec = &o->rec[k];
        long line = base + rec->line - 1;
        L->cur->read++;
        L->rep->read++;
        if (rec->row < 0) {
            if (rec->columns) {
                L->cur->quarantined++;
                L->rep->quarantined++;
            }
            for (uint32_t q = rec->q0; q < rec->q0 + rec->nq; q++)
                if (quarantine(L, line, o->q[q].rule, o->q[q].field, o->sb + o->q[q].val + 4,
                               o->sb + o->q[q].msg + 4, err))
                    return err->code;
            if (rec->columns)
                continue;
            L->cur->quarantined++;
            L->rep->quarantined++;
            if (L->opts->strict)
                return nmdi_error_at(err, NMDI_EDATA, L->curname, line, NULL,
                                     "record fails validation and --strict refuses the delivery "
                                     "(nothing was loaded)");
            if (L->opts->max_quarantine && L->rep->quarantined > L->opts->max_quarantine)
                return nmdi_error_at(err, NMDI_EDATA, L->curname, line, NULL,
                                     "more than %zu records fail validation: the delivery is refused "
                                     "(nothing was loaded)", L->opts->max_quarantine);
            continue;
        }
        uint64_t *sl = o->slots + (size_t)rec->row * nst;
        if (file_code < 0 &&
            (file_code = nmdi_store_code_index(w, (size_t)L->st_file, L->curname, strlen(L->curname))) < 0)
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory writing the store");
        for (size_t st = 0; st < (size_t)L->st_rk; st++)
            if (L->sfields[st].type == NMDI_COL_CODE) {
                uint32_t len;
                memcpy(&len, o->sb + sl[st], 4);
                int32_t code = nmdi_store_code_index(w, st, o->sb + sl[st] + 4, len);
                if (code < -1)
                    return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory writing the store");
                sl[st] = (uint64_t)(uint32_t)code;
            }
        sl[L->st_line] = (uint64_t)(uint32_t)(int32_t)line;
        L->pstart[o->part[rec->row] + 1]++;
        L->cur->loaded++;
        L->rep->loaded++;
    }
    /* pass 2, partition by partition (each partition's rows in file order:
     * the same column files as row by row in file order, while the writer
     * fills one partition's buffers at a time) */
    for (size_t p = 0; p < np; p++)
        L->pstart[p + 1] += L->pstart[p];
    for (size_t k = 0; k < o->nrec; k++)
        if (o->rec[k].row >= 0) {
            uint32_t r = (uint32_t)o->rec[k].row;
            L->order[L->pstart[o->part[r]]++] = r;
        }
    for (size_t i = 0, n = L->pstart[np]; i < n; i++) { /* pstart[np]: all stored rows */
        uint32_t r = L->order[i];
        const uint64_t *sl = o->slots + (size_t)r * nst;
        double rkey;
        memcpy(&rkey, &sl[L->st_rk], 8);
        nmdi_store_row_begin(w, o->part[r]);
        /* the record key, file and line are the last three store fields */
        for (size_t st = 0; st < (size_t)L->st_rk; st++) {
            uint64_t x = sl[st];
            switch (L->sfields[st].type) {
            case NMDI_COL_I32:
            case NMDI_COL_DATE:
            case NMDI_COL_CODE: /* the index from pass 1 */
                nmdi_store_put_i32(w, st, (int32_t)(uint32_t)x);
                break;
            case NMDI_COL_I64:
                nmdi_store_put_i64(w, st, (int64_t)x);
                break;
            case NMDI_COL_F64: {
                double d;
                memcpy(&d, &x, 8);
                nmdi_store_put_f64(w, st, d);
                break;
            }
            case NMDI_COL_BYTES: { /* a Bloom filter, or none (missing: zero bytes) */
                uint32_t len;
                memcpy(&len, o->sb + x, 4);
                nmdi_store_put_bytes(w, st, len ? o->sb + x + 4 : NULL);
                break;
            }
            case NMDI_COL_STR: {
                uint32_t len;
                memcpy(&len, o->sb + x, 4);
                nmdi_store_put_str(w, st, o->sb + x + 4, len);
            }
            }
        }
        nmdi_store_put_f64(w, (size_t)L->st_rk, rkey);
        nmdi_store_put_i32(w, (size_t)L->st_file, file_code);
        nmdi_store_put_i32(w, (size_t)L->st_line, (int32_t)(uint32_t)sl[L->st_line]);
        if (nmdi_store_row_end(w, err))
            return err->code;
    }
    nmdi_progress_update(&L->prog, L->rep->read);
    L->rep->bytes += o->bytes;
    if (o->rc) {
        *err = o->err;
        if (err->line > 0)
            err->line += base - 1;
        return o->rc;
    }
    return 0;
}

/* ---- the pipeline's callbacks ------------------------------------------------------- */

static int fields_room(lwork *W, size_t k)
{
    if (k <= W->fcap)
        return 0;
    size_t nc = k + 16;
    const char **nf = realloc(W->f, nc * sizeof *nf);
    if (nf)
        W->f = nf;
    size_t *nl = realloc(W->lens, nc * sizeof *nl);
    if (nl)
        W->lens = nl;
    if (!nf || !nl)
        return -1;
    W->fcap = nc;
    return 0;
}

void nmdi_load_block_work(void *arg, int idx, nmdi_block *b)
{
    loadst *L = arg;
    lwork *W = &L->work[idx];
    bout *o = b->out;
    if (!o && !(o = b->out = calloc(1, sizeof *o)))
        return; /* the writer reports it */
    nmdi_load_out_reset(o);
    nmdi_csv_opts copts = {L->delim, 1, 0};
    nmdi_csv *c;
    if ((o->rc = nmdi_csv_open_mem(&c, b->data, b->len, L->curname, &copts, b->line0, &o->err)))
        return;
    int r;
    while ((r = nmdi_csv_next(c, &o->err)) > 0) {
        size_t k = nmdi_csv_nfields(c);
        if (fields_room(W, k)) {
            o->rc = nmdi_error_set(&o->err, NMDI_EINTERNAL, "out of memory");
            break;
        }
        for (size_t i = 0; i < k; i++) {
            W->f[i] = nmdi_csv_field(c, i);
            W->lens[i] = nmdi_csv_field_len(c, i);
        }
        if ((o->rc = work_row(L, W, o, k, W->f, W->lens, nmdi_csv_line(c), &o->err)))
            break;
    }
    if (r < 0 && !o->rc)
        o->rc = o->err.code ? o->err.code : NMDI_EDATA;
    o->nlines = nmdi_csv_next_line(c) - b->line0;
    o->bytes = b->len;
    nmdi_csv_close(c);
}

void nmdi_load_block_read(void *arg, const char *p, size_t n)
{
    loadst *L = arg;
    crypto_generichash_update(&L->fh, (const unsigned char *)p, n);
}

int nmdi_load_block_write(void *arg, nmdi_block *b, nmdi_error *err)
{
    loadst *L = arg;
    bout *o = b->out;
    if (!o)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory loading %s", L->curname);
    /* the reader's count of lines before the block must agree with the parse's */
    if (b->line0 != L->base)
        return nmdi_error_at(err, NMDI_EINTERNAL, L->curname, L->base, NULL,
                             "internal error: block %llu starts on line %ld by the reader's count",
                             (unsigned long long)b->seq, b->line0);
    int rc = nmdi_load_commit(L, o, 1, err); /* its lines are the file's */
    L->base += o->nlines;
    return rc;
}

/* ReadStat rows: through the same worker code, committed every 8192 rows. */
int nmdi_load_rs_row(void *arg, size_t nf, const char *const *fields, const size_t *lens, long line,
                  nmdi_error *err)
{
    loadst *L = arg;
    bout *o = L->rsout;
    if (!o && !(o = L->rsout = calloc(1, sizeof *o)))
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    int rc = work_row(L, &L->work[0], o, nf, fields, lens, line, err);
    if (!rc && o->nrec >= 8192) {
        rc = nmdi_load_commit(L, o, 1, err);
        nmdi_load_out_reset(o);
    }
    return rc;
}
