/*
 * model.c — the Fellegi–Sunter model of a linkage session: u from random
 * record pairs (seeded, reproducible; every pair when there are few), m and
 * λ by EM over the comparison patterns of the candidate pairs aggregated
 * into counts (so each EM iteration costs the number of distinct patterns,
 * not of pairs), and the model as JSON (inspect, save, load). Random pairs
 * and candidate pairs are compared in parallel parts merged in a fixed
 * order; a rule with more than em_pairs pairs runs EM on a hash sample.
 *
 * EM runs on the candidate pairs with u fixed to the random-pair u. Blocking
 * makes non-matches agree on the blocked fields far more often than random
 * pairs do, so in the comparison vector of a pair made by rule r the fields
 * that rule r blocks on are masked (treated as missing): the remaining
 * fields of a non-match are then distributed as in random pairs, and EM
 * estimates m and λ_c (the share of matches among candidate pairs) without
 * confusing "came from this block" with "is a match". Each field's m comes
 * from the pairs of the rules that do not block on it. Scoring uses all
 * fields with the prior λ = λ_c × candidates / all pairs.
 */
#include "link_impl.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef uint64_t ucounts[NMDI_LINK_MAX_FIELDS][NMDI_LINK_MAX_LEVELS];

static void count_u(const nmdi_link *lk, uint32_t a, uint32_t b, ucounts c)
{
    for (size_t f = 0; f < lk->nfields; f++) {
        int l = lk_compare(&lk->F[f], a, b);
        if (l != NMDI_LINK_LEVEL_MISSING)
            c[f][l]++;
    }
}

/* u in parts: part p covers random pairs [p*chunk, (p+1)*chunk) of the
 * seeded stream (the i-th pair draws the (2i)-th and (2i+1)-th splitmix
 * outputs, so any part starts where the sequential stream would be), or,
 * when every pair is taken, left rows [p*chunk, (p+1)*chunk). */
typedef struct u_job {
    const nmdi_link *lk;
    uint64_t S, chunk;
    int all;
    ucounts *c;
} u_job;

static int u_part(void *arg, size_t p)
{
    u_job *J = arg;
    const nmdi_link *lk = J->lk;
    uint64_t lo = p * J->chunk, hi = lo + J->chunk;
    if (J->all) {
        if (hi > lk->nl)
            hi = lk->nl;
        for (uint32_t a = (uint32_t)lo; a < hi; a++) {
            uint32_t b0 = lk->dedupe ? a + 1 : (uint32_t)lk->nl;
            for (uint32_t b = b0; b < lk->n; b++)
                count_u(lk, a, b, J->c[p]);
        }
        return 0;
    }
    if (hi > J->S)
        hi = J->S;
    uint64_t st = lk->cfg.seed + 2 * lo * 0x9E3779B97F4A7C15ULL;
    for (uint64_t i = lo; i < hi; i++) {
        uint32_t a, b;
        if (lk->dedupe) {
            a = (uint32_t)(splitmix(&st) % lk->nl);
            b = (uint32_t)(splitmix(&st) % (lk->nl - 1));
            if (b >= a)
                b++;
        } else {
            a = (uint32_t)(splitmix(&st) % lk->nl);
            b = (uint32_t)(lk->nl + splitmix(&st) % lk->nr);
        }
        count_u(lk, a, b, J->c[p]);
    }
    return 0;
}

static int estimate_u(nmdi_link *lk, const nmdi_ctx *ctx)
{
    uint64_t S = lk->cfg.u_samples ? lk->cfg.u_samples : 2000000ULL;
    u_job J = {lk, S, 0, lk->total_pairs <= S, NULL};
    uint64_t span = J.all ? lk->nl : S;
    size_t np = ctx && ctx->nthreads > 1 ? (size_t)ctx->nthreads * 4 : 1;
    if (np > span)
        np = span ? (size_t)span : 1;
    J.chunk = (span + np - 1) / np;
    if (J.chunk == 0)
        J.chunk = 1;
    J.c = calloc(np, sizeof *J.c);
    if (!J.c)
        return -1;
    nmdi_pool_run(ctx, np, u_part, &J);
    for (size_t f = 0; f < lk->nfields; f++) {
        memset(lk->F[f].ucount, 0, sizeof lk->F[f].ucount);
        for (size_t p = 0; p < np; p++)
            for (int l = 0; l < NMDI_LINK_MAX_LEVELS; l++)
                lk->F[f].ucount[l] += J.c[p][f][l];
    }
    free(J.c);
    lk->u_pairs = J.all ? lk->total_pairs : S;
    for (size_t f = 0; f < lk->nfields; f++) {
        lfield *F = &lk->F[f];
        uint64_t tot = 0;
        for (int l = 0; l < F->nlev; l++)
            tot += F->ucount[l];
        for (int l = 0; l < F->nlev; l++)
            F->u[l] = ((double)F->ucount[l] + 0.5) / ((double)tot + 0.5 * F->nlev);
    }
    return 0;
}

/* ---- aggregated comparison patterns --------------------------------------- */

typedef struct patmap {
    uint64_t *key;
    uint64_t *cnt;
    uint8_t *used;
    size_t cap, n;
    int oom;
    uint64_t rule_new[NMDI_LINK_MAX_RULES]; /* pairs first made by each rule */
    int masked;         /* mask the fields the pair's rule blocks on */
    uint64_t cut;       /* compare a pair when its hash < cut (UINT64_MAX: all) */
    uint64_t seen;      /* pairs enumerated                                  */
    uint64_t total;     /* pairs compared into the map (seen, or a sample)  */
} patmap;

/* Hash of a pair for the deterministic EM sample (independent of the
 * enumeration order and of the thread count). */
static inline uint64_t pair_hash(uint32_t a, uint32_t b)
{
    uint64_t z = ((uint64_t)a << 32 | b) + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int pat_grow(patmap *P)
{
    size_t nc = P->cap ? P->cap * 2 : 4096;
    uint64_t *k = calloc(nc, sizeof *k), *c = calloc(nc, sizeof *c);
    uint8_t *u = calloc(nc, 1);
    if (!k || !c || !u) {
        free(k);
        free(c);
        free(u);
        return -1;
    }
    for (size_t i = 0; i < P->cap; i++) {
        if (!P->used[i])
            continue;
        size_t h = (size_t)(nmdi_hash64(&P->key[i], 8, 0) & (nc - 1));
        while (u[h])
            h = (h + 1) & (nc - 1);
        u[h] = 1;
        k[h] = P->key[i];
        c[h] = P->cnt[i];
    }
    free(P->key);
    free(P->cnt);
    free(P->used);
    P->key = k;
    P->cnt = c;
    P->used = u;
    P->cap = nc;
    return 0;
}

static void pat_put(patmap *P, uint64_t key, uint64_t cnt)
{
    if ((P->n + 1) * 2 > P->cap && pat_grow(P) < 0) {
        P->oom = 1;
        return;
    }
    size_t h = (size_t)(nmdi_hash64(&key, 8, 0) & (P->cap - 1));
    while (P->used[h] && P->key[h] != key)
        h = (h + 1) & (P->cap - 1);
    if (!P->used[h]) {
        P->used[h] = 1;
        P->key[h] = key;
        P->n++;
    }
    P->cnt[h] += cnt;
}

static void patmap_free(patmap *P);

static void pat_add(const nmdi_link *lk, size_t r, uint32_t a, uint32_t b, void *arg)
{
    patmap *P = arg;
    P->rule_new[r]++;
    P->seen++;
    if (P->cut != UINT64_MAX && pair_hash(a, b) >= P->cut)
        return;
    uint64_t key = 0;
    uint32_t mask = P->masked ? lk->R[r].fieldmask : 0;
    for (size_t f = 0; f < lk->nfields; f++) {
        int l = (mask >> f) & 1 ? NMDI_LINK_LEVEL_MISSING : lk_compare(&lk->F[f], a, b);
        key |= (uint64_t)l << (4 * f);
    }
    P->total++;
    pat_put(P, key, 1);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* Pattern counts of the pairs of rules r0..r1-1 (skip_earlier: each pair
 * once, by its first rule), in parallel over units of blocks; the merged
 * table is rebuilt in key order so that EM sums in the same order whatever
 * the partition and the thread count. */
typedef struct pat_job {
    const nmdi_link *lk;
    const lk_unit *units;
    patmap *parts;
    int skip_earlier;
} pat_job;

static int pat_unit(void *arg, size_t u)
{
    pat_job *J = arg;
    lk_enumerate_unit(J->lk, &J->units[u], J->skip_earlier, pat_add, &J->parts[u]);
    return J->parts[u].oom ? NMDI_EINTERNAL : 0;
}

static int collect(const nmdi_link *lk, const nmdi_ctx *ctx, size_t r0, size_t r1, int skip_earlier,
                   int masked, uint64_t cut, patmap *out)
{
    memset(out, 0, sizeof *out);
    size_t nu = 0;
    lk_unit *units = lk_units(lk, r0, r1, lk_units_per_rule(ctx), &nu);
    patmap *parts = calloc(nu + 1, sizeof *parts);
    int rc = !units || !parts;
    for (size_t u = 0; !rc && u < nu; u++) {
        parts[u].masked = masked;
        parts[u].cut = cut;
        rc = pat_grow(&parts[u]) < 0;
    }
    if (!rc) {
        pat_job J = {lk, units, parts, skip_earlier};
        nmdi_pool_run(ctx, nu, pat_unit, &J);
    }
    size_t nkeys = 0;
    for (size_t u = 0; !rc && u < nu; u++) {
        rc = parts[u].oom;
        nkeys += parts[u].n;
    }
    uint64_t *keys = rc ? NULL : malloc((nkeys + 1) * sizeof *keys);
    patmap M;
    memset(&M, 0, sizeof M);
    rc = rc || !keys || pat_grow(&M) < 0;
    /* merge, then rebuild in key order */
    for (size_t u = 0; !rc && u < nu; u++)
        for (size_t i = 0; i < parts[u].cap && !M.oom; i++)
            if (parts[u].used[i])
                pat_put(&M, parts[u].key[i], parts[u].cnt[i]);
    rc = rc || M.oom || pat_grow(out) < 0;
    if (!rc) {
        size_t k = 0;
        for (size_t i = 0; i < M.cap; i++)
            if (M.used[i])
                keys[k++] = M.key[i];
        qsort(keys, k, sizeof *keys, cmp_u64);
        for (size_t i = 0; i < k && !out->oom; i++) {
            uint64_t c = 0;
            size_t h = (size_t)(nmdi_hash64(&keys[i], 8, 0) & (M.cap - 1));
            while (M.key[h] != keys[i])
                h = (h + 1) & (M.cap - 1);
            c = M.cnt[h];
            pat_put(out, keys[i], c);
        }
        rc = out->oom;
    }
    for (size_t u = 0; u < nu && parts; u++) {
        out->seen += parts[u].seen;
        out->total += parts[u].total;
        for (size_t r = 0; r < NMDI_LINK_MAX_RULES; r++)
            out->rule_new[r] += parts[u].rule_new[r];
        patmap_free(&parts[u]);
    }
    out->masked = masked;
    out->cut = cut;
    patmap_free(&M);
    free(keys);
    free(parts);
    free(units);
    return rc ? -1 : 0;
}

/* The sample cut for about em_pairs of `pairs` pairs (all when fewer). */
static uint64_t sample_cut(const nmdi_link *lk, uint64_t pairs)
{
    uint64_t want = lk->cfg.em_pairs;
    if (want == 0 || pairs <= want)
        return UINT64_MAX;
    return (uint64_t)((double)want / (double)pairs * 18446744073709551615.0);
}

/* EM over aggregated patterns with u fixed: m (into m) and λ (share of
 * matches among the patterns' pairs). est[f] = 1 when field f was observed.
 * Returns the iterations run; *conv = 1 when converged. */
static int em(const nmdi_link *lk, const patmap *P, double m[][NMDI_LINK_MAX_LEVELS], int *est,
              double *lam_io, int *conv)
{
    size_t nf = lk->nfields;
    double lam = *lam_io;
    for (size_t f = 0; f < nf; f++) {
        const lfield *F = &lk->F[f];
        for (int l = 0; l < F->nlev; l++)
            m[f][l] = l == F->nlev - 1 ? 0.9 : 0.1 / (F->nlev - 1);
        est[f] = 0;
    }
    int it;
    *conv = 0;
    for (it = 1; it <= lk->cfg.max_iter; it++) {
        double sm[NMDI_LINK_MAX_FIELDS][NMDI_LINK_MAX_LEVELS];
        memset(sm, 0, sizeof sm);
        double sg = 0;
        for (size_t i = 0; i < P->cap; i++) {
            if (!P->used[i])
                continue;
            uint64_t key = P->key[i];
            double pm = lam, pu = 1.0 - lam;
            for (size_t f = 0; f < nf; f++) {
                int l = (int)((key >> (4 * f)) & 15);
                if (l == NMDI_LINK_LEVEL_MISSING)
                    continue;
                pm *= m[f][l];
                pu *= lk->F[f].u[l];
            }
            double g = pm + pu > 0 ? pm / (pm + pu) : 0.0;
            double c = (double)P->cnt[i];
            sg += c * g;
            for (size_t f = 0; f < nf; f++) {
                int l = (int)((key >> (4 * f)) & 15);
                if (l != NMDI_LINK_LEVEL_MISSING)
                    sm[f][l] += c * g;
            }
        }
        double nl = fmin(fmax(sg / (double)P->total, 1e-12), 1 - 1e-12);
        double delta = fabs(nl - lam);
        lam = nl;
        for (size_t f = 0; f < nf; f++) {
            const lfield *F = &lk->F[f];
            double tm = 0;
            for (int l = 0; l < F->nlev; l++)
                tm += sm[f][l];
            if (tm <= 1e-9)
                continue; /* never observed: keep the start values */
            est[f] = 1;
            for (int l = 0; l < F->nlev; l++) {
                double v = fmax(sm[f][l] / tm, 1e-6);
                delta = fmax(delta, fabs(v - m[f][l]));
                m[f][l] = v;
            }
        }
        if (delta < 1e-7) {
            *conv = 1;
            break;
        }
    }
    *lam_io = lam;
    return it > lk->cfg.max_iter ? lk->cfg.max_iter : it;
}

/* The prior λ among all pairs with m and u fixed: the fixed point of
 * λ = Σ_candidates P(match | pattern; λ) / all pairs (pairs outside the
 * blocks count as non-matches). */
static double solve_lambda(const nmdi_link *lk, const patmap *P, double lam)
{
    size_t nf = lk->nfields;
    double *lr = malloc((P->cap + 1) * sizeof *lr); /* log-likelihood ratio per pattern */
    if (!lr)
        return lam;
    for (size_t i = 0; i < P->cap; i++) {
        lr[i] = 0;
        if (!P->used[i])
            continue;
        for (size_t f = 0; f < nf; f++) {
            int l = (int)((P->key[i] >> (4 * f)) & 15);
            if (l != NMDI_LINK_LEVEL_MISSING)
                lr[i] += log(lk->F[f].m[l] / lk->F[f].u[l]);
        }
    }
    double tot = (double)(lk->total_pairs ? lk->total_pairs : 1);
    double scale = P->total ? (double)P->seen / (double)P->total : 1.0; /* sampled */
    for (int it = 0; it < 1000; it++) {
        double prior = log(lam / (1 - lam)), s = 0;
        for (size_t i = 0; i < P->cap; i++)
            if (P->used[i])
                s += scale * (double)P->cnt[i] / (1.0 + exp(-(prior + lr[i])));
        double nl = fmin(fmax(s / tot, 1e-15), 1 - 1e-12);
        if (fabs(nl - lam) <= 1e-9 * lam) {
            lam = nl;
            break;
        }
        lam = nl;
    }
    free(lr);
    return lam;
}

static void set_weights(nmdi_link *lk)
{
    for (size_t f = 0; f < lk->nfields; f++) {
        lfield *F = &lk->F[f];
        for (int l = 0; l < F->nlev; l++)
            F->w[l] = log2(F->m[l] / F->u[l]);
        /* TF-adjusted exact weights, once per distinct value */
        if (F->tf && F->tfw) {
            double mt = F->m[F->nlev - 1];
            for (uint32_t v = 1; v <= F->nvals; v++)
                F->tfw[v] = log2(mt / (F->freq[v] > 0 ? F->freq[v] : F->u[F->nlev - 1]));
        }
    }
}

static void patmap_free(patmap *P)
{
    free(P->key);
    free(P->cnt);
    free(P->used);
    memset(P, 0, sizeof *P);
}

int nmdi_link_train(nmdi_link *lk, const nmdi_ctx *ctx, nmdi_error *err)
{
    double t0 = nmdi_now(), c0 = lk_cpu_seconds();
    size_t nf = lk->nfields;
    if (estimate_u(lk, ctx) < 0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    /* one EM session per rule over all of its pairs, its own fields masked */
    double msum[NMDI_LINK_MAX_FIELDS][NMDI_LINK_MAX_LEVELS], wsum[NMDI_LINK_MAX_FIELDS];
    memset(msum, 0, sizeof msum);
    memset(wsum, 0, sizeof wsum);
    double est_matches = 0;
    for (size_t r = 0; r < lk->nrules; r++) {
        lrule *R = &lk->R[r];
        patmap P;
        if (collect(lk, ctx, r, r + 1, 0, 1, sample_cut(lk, R->pairs), &P) < 0) {
            patmap_free(&P);
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
        R->em_pairs = P.total;
        R->em_iter = 0;
        R->em_lambda = 0;
        if (P.total > 0) {
            double m[NMDI_LINK_MAX_FIELDS][NMDI_LINK_MAX_LEVELS];
            int est[NMDI_LINK_MAX_FIELDS], conv;
            double lam = 0.05;
            R->em_iter = em(lk, &P, m, est, &lam, &conv);
            R->em_converged = conv;
            R->em_lambda = lam;
            double w = lam * (double)P.seen; /* estimated matches in the session */
            if (w > est_matches)
                est_matches = w;
            if (!conv)
                lk_warn(lk, "block rule '%s': EM did not converge in %d iterations", R->text,
                        lk->cfg.max_iter);
            for (size_t f = 0; f < nf; f++) {
                if (!est[f])
                    continue;
                for (int l = 0; l < lk->F[f].nlev; l++)
                    msum[f][l] += w * m[f][l];
                wsum[f] += w;
            }
        }
        patmap_free(&P);
    }
    for (size_t f = 0; f < nf; f++) {
        lfield *F = &lk->F[f];
        F->m_estimated = wsum[f] > 0;
        for (int l = 0; l < F->nlev; l++)
            F->m[l] = F->m_estimated ? fmax(msum[f][l] / wsum[f], 1e-6)
                                     : (l == F->nlev - 1 ? 0.9 : 0.1 / (F->nlev - 1));
        if (!F->m_estimated && F->nonmissing)
            lk_warn(lk,
                    "field '%s': every blocking rule blocks on it, so its m cannot be estimated "
                    "(assumed 0.9 for exact agreement): add a rule on other fields",
                    F->name);
    }
    /* the distinct candidate pairs, all fields: λ among all pairs */
    patmap U;
    if (collect(lk, ctx, 0, lk->nrules, 1, 0, sample_cut(lk, lk->cand_bound), &U) < 0) {
        patmap_free(&U);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t r = 0; r < lk->nrules; r++)
        lk->R[r].new_pairs = U.rule_new[r];
    lk->candidates = U.seen;
    lk->em_sampled = U.total;
    lk->npatterns = U.n;
    double tot = (double)(lk->total_pairs ? lk->total_pairs : 1);
    double lam0 = fmin(fmax((est_matches > 0 ? est_matches : 1.0) / tot, 1e-15), 0.5);
    lk->lambda = U.total ? solve_lambda(lk, &U, lam0) : lam0;
    lk->lambda_c = U.seen ? lk->lambda * tot / (double)U.seen : 0;
    patmap_free(&U);
    if (lk->candidates == 0)
        lk_warn(lk, "no candidate pairs: the model keeps its starting values");
    int iters = 0;
    lk->converged = 1;
    for (size_t r = 0; r < lk->nrules; r++) {
        iters += lk->R[r].em_iter;
        if (lk->R[r].em_iter && !lk->R[r].em_converged)
            lk->converged = 0;
    }
    lk->em_iter = iters;
    set_weights(lk);
    for (size_t f = 0; f < nf; f++) {
        lfield *F = &lk->F[f];
        if (F->nonmissing && F->m_estimated && F->m[F->nlev - 1] < F->u[F->nlev - 1])
            lk_warn(lk, "field '%s': exact agreement is rarer among matches than non-matches "
                        "(m %.3g < u %.3g): check the field or the blocking",
                    F->name, F->m[F->nlev - 1], F->u[F->nlev - 1]);
    }
    lk->trained = 1;
    lk->train_seconds = nmdi_now() - t0;
    lk->train_cpu = lk_cpu_seconds() - c0;
    if (ctx)
        nmdi_note(ctx,
                  "link: %llu candidate pairs (%llu compared for EM), %llu patterns, EM %d "
                  "iterations over %zu rules, lambda %.4g (%.1f matches), %.2fs (CPU %.2fs)\n",
                  (unsigned long long)lk->candidates, (unsigned long long)lk->em_sampled,
                  (unsigned long long)lk->npatterns, iters, lk->nrules, lk->lambda,
                  lk->lambda * tot, lk->train_seconds, lk->train_cpu);
    return 0;
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *model_json(const nmdi_link *lk)
{
    json_t *o = json_object();
    json_object_set_new(o, "nmdi_link_model", json_integer(1));
    json_object_set_new(o, "mode", json_string(lk->dedupe ? "dedupe" : "link"));
    json_object_set_new(o, "lambda", json_real(lk->lambda));
    json_object_set_new(o, "prior_weight", json_real(log2(lk->lambda / (1 - lk->lambda))));
    json_object_set_new(o, "lambda_candidates", json_real(lk->lambda_c));
    json_object_set_new(o, "estimated_matches",
                        json_real(lk->lambda * (double)lk->total_pairs));
    json_object_set_new(o, "em_iterations", json_integer(lk->em_iter));
    json_object_set_new(o, "em_converged", json_boolean(lk->converged || lk->from_file));
    json_object_set_new(o, "from_file", json_boolean(lk->from_file));
    json_object_set_new(o, "u_random_pairs", json_integer((json_int_t)lk->u_pairs));
    json_object_set_new(o, "u_seed", json_integer((json_int_t)lk->cfg.seed));
    json_object_set_new(o, "comparison_patterns", json_integer((json_int_t)lk->npatterns));
    json_object_set_new(o, "threshold", json_real(lk->cfg.threshold));
    json_object_set_new(o, "one_to_one", json_boolean(lk->cfg.one_to_one));
    json_object_set_new(o, "links", json_integer((json_int_t)lk->npairs));
    json_object_set_new(o, "pairs_compared", json_integer((json_int_t)lk->compared));
    json_t *fa = json_array();
    for (size_t f = 0; f < lk->nfields; f++) {
        const lfield *F = &lk->F[f];
        json_t *fo = json_object();
        json_object_set_new(fo, "name", json_string(F->name));
        json_object_set_new(fo, "kind", json_string(nmdi_link_kind_name(F->kind)));
        json_object_set_new(fo, "tf_adjusted", json_boolean(F->tf));
        json_object_set_new(fo, "m_estimated", json_boolean(F->m_estimated || lk->from_file));
        json_object_set_new(fo, "missing_share",
                            json_real(lk->n ? 1.0 - (double)F->nonmissing / (double)lk->n : 0));
        json_t *la = json_array();
        for (int l = F->nlev - 1; l >= 0; l--) {
            json_t *lo = json_object();
            json_object_set_new(lo, "level", json_integer(l));
            json_object_set_new(lo, "label", json_string(nmdi_link_level_label(F->kind, l)));
            json_object_set_new(lo, "m", json_real(F->m[l]));
            json_object_set_new(lo, "u", json_real(F->u[l]));
            json_object_set_new(lo, "weight", json_real(F->w[l]));
            json_array_append_new(la, lo);
        }
        json_object_set_new(fo, "levels", la);
        json_array_append_new(fa, fo);
    }
    json_object_set_new(o, "fields", fa);
    json_t *b = json_object();
    json_object_set_new(b, "total_pairs", json_integer((json_int_t)lk->total_pairs));
    json_object_set_new(b, "candidate_pairs_upper_bound", json_integer((json_int_t)lk->cand_bound));
    json_object_set_new(b, "candidate_pairs", json_integer((json_int_t)lk->candidates));
    json_object_set_new(b, "reduction_ratio",
                        json_real(lk->total_pairs
                                      ? 1.0 - (double)lk->candidates / (double)lk->total_pairs
                                      : 0));
    json_object_set_new(b, "max_block_pairs", json_integer((json_int_t)lk->cfg.max_block_pairs));
    json_t *ra = json_array();
    for (size_t r = 0; r < lk->nrules; r++) {
        const lrule *R = &lk->R[r];
        json_t *ro = json_object();
        json_object_set_new(ro, "rule", json_string(R->text));
        json_object_set_new(ro, "pairs", json_integer((json_int_t)R->pairs));
        json_object_set_new(ro, "new_pairs", json_integer((json_int_t)R->new_pairs));
        json_object_set_new(ro, "blocks", json_integer((json_int_t)R->blocks));
        json_object_set_new(ro, "largest_block_pairs", json_integer((json_int_t)R->largest));
        json_object_set_new(ro, "skipped_blocks", json_integer((json_int_t)R->skipped_blocks));
        json_object_set_new(ro, "skipped_pairs", json_integer((json_int_t)R->skipped_pairs));
        json_object_set_new(ro, "split_blocks", json_integer((json_int_t)R->split_blocks));
        json_object_set_new(ro, "em_pairs", json_integer((json_int_t)R->em_pairs));
        json_object_set_new(ro, "em_iterations", json_integer(R->em_iter));
        json_object_set_new(ro, "em_lambda", json_real(R->em_lambda));
        json_array_append_new(ra, ro);
    }
    json_object_set_new(b, "rules", ra);
    json_object_set_new(o, "blocking", b);
    json_t *wa = json_array();
    for (size_t i = 0; i < lk->nwarn; i++)
        json_array_append_new(wa, json_string(lk->warn[i]));
    json_object_set_new(o, "warnings", wa);
    return o;
}

char *nmdi_link_model_json(const nmdi_link *lk)
{
    json_t *o = model_json(lk);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(o);
    return s;
}

int nmdi_link_model_save(const nmdi_link *lk, const char *path, nmdi_error *err)
{
    char *s = nmdi_link_model_json(lk);
    if (!s)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int bad = !f || fputs(s, f) < 0 || fputc('\n', f) == EOF;
    if (f && fclose(f) != 0)
        bad = 1;
    free(s);
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot write the model file");
    }
    return 0;
}

int nmdi_link_model_load(nmdi_link *lk, const char *path, nmdi_error *err)
{
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        return nmdi_error_at(err, NMDI_EDATA, path, je.line, NULL, "not a model file: %s",
                             je.text);
    int rc = 0;
    json_t *lam = json_object_get(o, "lambda");
    json_t *fa = json_object_get(o, "fields");
    if (!json_is_integer(json_object_get(o, "nmdi_link_model")) || !json_is_number(lam) ||
        !json_is_array(fa)) {
        rc = nmdi_error_at(err, NMDI_EDATA, path, 0, NULL,
                           "not an nmdi link model (written by --save-model)");
        goto out;
    }
    double l = json_number_value(lam);
    if (!(l > 0 && l < 1)) {
        rc = nmdi_error_at(err, NMDI_EDATA, path, 0, "lambda", "lambda must be in (0,1)");
        goto out;
    }
    for (size_t f = 0; f < lk->nfields; f++) {
        lfield *F = &lk->F[f];
        json_t *fo = NULL, *x;
        size_t i;
        json_array_foreach(fa, i, x)
        {
            const char *nm = json_string_value(json_object_get(x, "name"));
            if (nm && strcmp(nm, F->name) == 0)
                fo = x;
        }
        if (!fo) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, 0, F->name,
                               "the model has no such field (compare the fields it was "
                               "trained on)");
            goto out;
        }
        const char *kn = json_string_value(json_object_get(fo, "kind"));
        if (!kn || nmdi_link_kind_parse(kn) != (int)F->kind) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, 0, F->name,
                               "kind %s in the model, %s here (use --type)", kn ? kn : "?",
                               nmdi_link_kind_name(F->kind));
            goto out;
        }
        json_t *tf = json_object_get(fo, "tf_adjusted");
        if (json_is_boolean(tf))
            F->tf = json_is_true(tf);
        json_t *la = json_object_get(fo, "levels");
        int seen = 0;
        json_array_foreach(la, i, x)
        {
            json_int_t lv = json_integer_value(json_object_get(x, "level"));
            double m = json_number_value(json_object_get(x, "m"));
            double u = json_number_value(json_object_get(x, "u"));
            if (lv < 0 || lv >= F->nlev || !(m > 0 && m <= 1) || !(u > 0 && u <= 1)) {
                rc = nmdi_error_at(err, NMDI_EDATA, path, 0, F->name,
                                   "level %lld: m and u must be in (0,1]", (long long)lv);
                goto out;
            }
            F->m[lv] = m;
            F->u[lv] = u;
            seen |= 1 << lv;
        }
        if (seen != (1 << F->nlev) - 1) {
            rc = nmdi_error_at(err, NMDI_EDATA, path, 0, F->name,
                               "the model lacks some of the %d levels", F->nlev);
            goto out;
        }
    }
    lk->lambda = l;
    json_t *lc = json_object_get(o, "lambda_candidates");
    lk->lambda_c = json_is_number(lc) ? json_number_value(lc) : l;
    set_weights(lk);
    lk->trained = 1;
    lk->from_file = 1;
out:
    json_decref(o);
    return rc;
}
