/*
 * suppress.c — threshold (primary) and secondary cell suppression for cubes
 * with margins (nmdi/protect.h).
 *
 * A 2-dimensional table with margins, rows 0..R (R = total) and columns 0..C
 * (C = total), obeys Σ_c<C x[r][c] = x[r][C] for every row r and
 * Σ_r<R x[r][c] = x[R][c] for every column c. Flipping the sign of the margin
 * cells (except the grand total) turns this into "every row and every column
 * sums to 0": the incidence system of the bipartite graph whose nodes are the
 * rows and columns and whose edges are the cells. With the published cells
 * moved to the right-hand side, the solutions for the suppressed cells differ
 * by elements of the cycle space of the graph of suppressed cells, so a
 * suppressed cell is determined exactly when its edge is a bridge of that
 * graph. The secondary suppression therefore repeats: find a bridge (Tarjan),
 * close a cycle through it along the cheapest path (Dijkstra; published cells
 * cost their value, suppressed cells nothing, zero cells a large penalty),
 * until no suppressed cell is a bridge. A 1-dimensional line with its total
 * needs 0 or at least 2 suppressed cells. More dimensions: every 2-D sub-table
 * (two dimensions with margins varying, the others fixed at any code) and
 * every 1-D line is protected in turn, repeated until a full pass changes
 * nothing (docs/methods-protect.md).
 */
#include "nmdi/protect.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOTAL "_T"
#define ZERO_PENALTY 1e12

enum { S_NONE = 0, S_PRIMARY = 1, S_SECONDARY = 2 };

typedef struct sup_ctx {
    nmdi_cube *c;
    size_t nd, ncells;
    uint32_t *ids;    /* ncells * nd: code ids, total = ncodes[d] */
    uint32_t *ncodes; /* per dimension, codes other than the total */
    int *has_total;   /* per dimension */
    unsigned char *state;
    double *cost;
    size_t added;
} sup_ctx;

static double cell_cost(const nmdi_cell *x)
{
    double v = fabs(x->value);
    if (isnan(v))
        return ZERO_PENALTY;
    return v == 0 ? ZERO_PENALTY : v + 1;
}

static int sup_init(sup_ctx *s, nmdi_cube *c)
{
    memset(s, 0, sizeof *s);
    s->c = c;
    s->nd = nmdi_cube_ndims(c);
    s->ncells = nmdi_cube_ncells(c);
    size_t nd = s->nd ? s->nd : 1, nc = s->ncells ? s->ncells : 1;
    s->ids = calloc(nc * nd, sizeof *s->ids);
    s->ncodes = calloc(nd, sizeof *s->ncodes);
    s->has_total = calloc(nd, sizeof *s->has_total);
    s->state = calloc(nc, 1);
    s->cost = calloc(nc, sizeof *s->cost);
    if (!s->ids || !s->ncodes || !s->has_total || !s->state || !s->cost)
        return -1;
    for (size_t d = 0; d < s->nd; d++) {
        nmdi_strmap *m = nmdi_strmap_new();
        if (!m)
            return -1;
        for (size_t i = 0; i < s->ncells; i++) {
            const char *code = nmdi_cube_cell(c, i)->codes[d];
            if (strcmp(code, TOTAL) == 0) {
                s->has_total[d] = 1;
                continue;
            }
            int ins = 0;
            int64_t *v = nmdi_strmap_put(m, code, strlen(code), &ins);
            if (!v) {
                nmdi_strmap_free(m);
                return -1;
            }
            if (ins)
                *v = s->ncodes[d]++;
            s->ids[i * s->nd + d] = (uint32_t)*v;
        }
        for (size_t i = 0; i < s->ncells; i++)
            if (strcmp(nmdi_cube_cell(c, i)->codes[d], TOTAL) == 0)
                s->ids[i * s->nd + d] = s->ncodes[d];
        nmdi_strmap_free(m);
    }
    for (size_t i = 0; i < s->ncells; i++) {
        nmdi_cell *x = nmdi_cube_cell(c, i);
        s->cost[i] = cell_cost(x);
        if (strcmp(x->conf_status, NMDI_CONF_PRIMARY) == 0)
            s->state[i] = S_PRIMARY;
        else if (strcmp(x->conf_status, NMDI_CONF_SECONDARY) == 0)
            s->state[i] = S_SECONDARY;
    }
    return 0;
}

static void sup_free(sup_ctx *s)
{
    free(s->ids);
    free(s->ncodes);
    free(s->has_total);
    free(s->state);
    free(s->cost);
}

static void mark(sup_ctx *s, size_t cell)
{
    if (s->state[cell] == S_NONE) {
        s->state[cell] = S_SECONDARY;
        s->added++;
    }
}

/* ---- groups: cells sharing every code except those of the free dimensions ---- */
typedef struct groups {
    size_t ngroups;
    size_t *start; /* ngroups + 1 */
    size_t *cells; /* cells ordered by group */
} groups;

static int make_groups(const sup_ctx *s, const size_t *freed, size_t nfree, groups *g)
{
    memset(g, 0, sizeof *g);
    nmdi_strmap *m = nmdi_strmap_new();
    size_t nc = s->ncells ? s->ncells : 1;
    int64_t *gid = malloc(nc * sizeof *gid);
    uint32_t *key = malloc((s->nd ? s->nd : 1) * sizeof *key);
    g->cells = malloc(nc * sizeof *g->cells);
    int rc = (!m || !gid || !key || !g->cells) ? -1 : 0;
    for (size_t i = 0; !rc && i < s->ncells; i++) {
        memcpy(key, &s->ids[i * s->nd], s->nd * sizeof *key);
        for (size_t f = 0; f < nfree; f++)
            key[freed[f]] = UINT32_MAX;
        int ins = 0;
        int64_t *v = nmdi_strmap_put(m, (const char *)key, s->nd * sizeof *key, &ins);
        if (!v) {
            rc = -1;
            break;
        }
        if (ins)
            *v = (int64_t)g->ngroups++;
        gid[i] = *v;
    }
    if (!rc && !(g->start = calloc(g->ngroups + 2, sizeof *g->start)))
        rc = -1;
    if (!rc) {
        for (size_t i = 0; i < s->ncells; i++)
            g->start[gid[i] + 2]++;
        for (size_t k = 2; k < g->ngroups + 2; k++)
            g->start[k] += g->start[k - 1];
        for (size_t i = 0; i < s->ncells; i++)
            g->cells[g->start[gid[i] + 1]++] = i;
    }
    nmdi_strmap_free(m);
    free(gid);
    free(key);
    return rc;
}

static void free_groups(groups *g)
{
    free(g->start);
    free(g->cells);
}

/* ---- 1-D: a line and its total ------------------------------------------------ */
static void protect_line(sup_ctx *s, const size_t *cells, size_t n)
{
    size_t nsup = 0, best = SIZE_MAX;
    for (size_t k = 0; k < n; k++) {
        size_t i = cells[k];
        if (s->state[i])
            nsup++;
        else if (best == SIZE_MAX || s->cost[i] < s->cost[best])
            best = i;
    }
    if (nsup == 1 && best != SIZE_MAX)
        mark(s, best);
}

/* ---- 2-D: bridges and cycles ------------------------------------------------------ */
typedef struct graph {
    size_t nr, nc, nv;   /* rows (incl. total), columns (incl. total), nr + nc */
    long *cell;          /* nr * nc: cube cell or -1 when absent */
    /* Tarjan */
    int *disc, *low, timer;
    long bridge;         /* a suppressed cell that is a bridge, or -1 */
    /* Dijkstra */
    double *dist;
    long *prev;          /* previous node */
    unsigned char *done;
} graph;

static long g_cell(const graph *g, size_t u, size_t v)
{
    /* u and v are nodes: rows 0..nr-1, columns nr..nv-1 */
    if (u >= g->nr) {
        size_t t = u;
        u = v;
        v = t;
    }
    return g->cell[u * g->nc + (v - g->nr)];
}

static int is_sup(const sup_ctx *s, long cell) { return cell >= 0 && s->state[cell] != S_NONE; }

static void tarjan(const sup_ctx *s, graph *g, size_t u, long parent_edge)
{
    g->disc[u] = g->low[u] = ++g->timer;
    size_t lo = u < g->nr ? g->nr : 0, hi = u < g->nr ? g->nv : g->nr;
    for (size_t v = lo; v < hi && g->bridge < 0; v++) {
        long e = g_cell(g, u, v);
        if (!is_sup(s, e) || e == parent_edge)
            continue;
        if (!g->disc[v]) {
            tarjan(s, g, v, e);
            if (g->bridge >= 0) /* found deeper: low values are now partial */
                return;
            if (g->low[v] < g->low[u])
                g->low[u] = g->low[v];
            if (g->low[v] > g->disc[u])
                g->bridge = e;
        } else if (g->disc[v] < g->low[u]) {
            g->low[u] = g->disc[v];
        }
    }
}

static long find_bridge(const sup_ctx *s, graph *g)
{
    memset(g->disc, 0, g->nv * sizeof *g->disc);
    memset(g->low, 0, g->nv * sizeof *g->low);
    g->timer = 0;
    g->bridge = -1;
    for (size_t u = 0; u < g->nv && g->bridge < 0; u++)
        if (!g->disc[u])
            tarjan(s, g, u, -1);
    return g->bridge;
}

/* Cheapest path from node a to node b not using cell `skip`; marks its cells.
 * Returns 0, or -1 when there is none. */
static int close_cycle(sup_ctx *s, graph *g, size_t a, size_t b, long skip)
{
    for (size_t v = 0; v < g->nv; v++) {
        g->dist[v] = INFINITY;
        g->prev[v] = -1;
        g->done[v] = 0;
    }
    g->dist[a] = 0;
    for (;;) {
        size_t u = SIZE_MAX;
        for (size_t v = 0; v < g->nv; v++)
            if (!g->done[v] && g->dist[v] < INFINITY && (u == SIZE_MAX || g->dist[v] < g->dist[u]))
                u = v;
        if (u == SIZE_MAX || u == b)
            break;
        g->done[u] = 1;
        size_t lo = u < g->nr ? g->nr : 0, hi = u < g->nr ? g->nv : g->nr;
        for (size_t v = lo; v < hi; v++) {
            long e = g_cell(g, u, v);
            if (e < 0 || e == skip || g->done[v])
                continue;
            double w = s->state[e] ? 0 : s->cost[e];
            if (g->dist[u] + w < g->dist[v]) {
                g->dist[v] = g->dist[u] + w;
                g->prev[v] = (long)u;
            }
        }
    }
    if (g->dist[b] == INFINITY)
        return -1;
    for (size_t v = b; v != a; v = (size_t)g->prev[v])
        mark(s, (size_t)g_cell(g, v, (size_t)g->prev[v]));
    return 0;
}

/* Protect one 2-D sub-table: cells of one group, free dimensions da, db. */
static int protect_table(sup_ctx *s, const size_t *cells, size_t n, size_t da, size_t db,
                         size_t *unprotectable)
{
    graph g;
    memset(&g, 0, sizeof g);
    g.nr = s->ncodes[da] + 1;
    g.nc = s->ncodes[db] + 1;
    g.nv = g.nr + g.nc;
    g.cell = malloc(g.nr * g.nc * sizeof *g.cell);
    g.disc = malloc(g.nv * sizeof *g.disc);
    g.low = malloc(g.nv * sizeof *g.low);
    g.dist = malloc(g.nv * sizeof *g.dist);
    g.prev = malloc(g.nv * sizeof *g.prev);
    g.done = malloc(g.nv);
    int rc = 0;
    if (!g.cell || !g.disc || !g.low || !g.dist || !g.prev || !g.done) {
        rc = -1;
        goto out;
    }
    for (size_t k = 0; k < g.nr * g.nc; k++)
        g.cell[k] = -1;
    int any = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = cells[k];
        g.cell[s->ids[i * s->nd + da] * g.nc + s->ids[i * s->nd + db]] = (long)i;
        any |= s->state[i] != S_NONE;
    }
    if (!any)
        goto out;
    long e;
    while ((e = find_bridge(s, &g)) >= 0) {
        size_t r = s->ids[(size_t)e * s->nd + da], c = s->ids[(size_t)e * s->nd + db];
        size_t before = s->added;
        int found = close_cycle(s, &g, r, g.nr + c, e) == 0;
        assert(!found || s->added > before); /* a bridge needs a new cell */
        if (found && s->added == before)
            break;
        if (!found) {
            /* no cycle can hold this cell (absent cells break every path):
             * withhold the whole sub-table rather than publish a determined cell */
            (*unprotectable)++;
            for (size_t k = 0; k < n; k++)
                mark(s, cells[k]);
            break;
        }
    }
out:
    free(g.cell);
    free(g.disc);
    free(g.low);
    free(g.dist);
    free(g.prev);
    free(g.done);
    return rc;
}

static int pass(sup_ctx *s, size_t *unprotectable)
{
    size_t m[64], nm = 0;
    for (size_t d = 0; d < s->nd && nm < 64; d++)
        if (s->has_total[d])
            m[nm++] = d;
    if (nm == 0)
        return 0;
    if (nm == 1) {
        groups g;
        if (make_groups(s, m, 1, &g) != 0)
            return -1;
        for (size_t k = 0; k < g.ngroups; k++)
            protect_line(s, &g.cells[g.start[k]], g.start[k + 1] - g.start[k]);
        free_groups(&g);
        return 0;
    }
    for (size_t a = 0; a < nm; a++)
        for (size_t b = a + 1; b < nm; b++) {
            size_t fr[2] = {m[a], m[b]};
            groups g;
            if (make_groups(s, fr, 2, &g) != 0)
                return -1;
            for (size_t k = 0; k < g.ngroups; k++)
                if (protect_table(s, &g.cells[g.start[k]], g.start[k + 1] - g.start[k], m[a],
                                  m[b], unprotectable) != 0) {
                    free_groups(&g);
                    return -1;
                }
            free_groups(&g);
        }
    return 0;
}

static void hide(nmdi_cell *x, const char *conf)
{
    x->value = x->se = x->cv = x->ci_low = x->ci_high = NAN;
    x->ckey = NAN;
    x->n = -1;
    strcpy(x->obs_status, NMDI_OBS_MISSING);
    strcpy(x->conf_status, conf);
}

static int run(nmdi_cube *c, const nmdi_suppress_opts *o, int secondary,
               nmdi_suppress_stats *st, nmdi_error *err)
{
    sup_ctx s;
    if (sup_init(&s, c) != 0) {
        sup_free(&s);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    if (o && o->threshold > 0)
        for (size_t i = 0; i < s.ncells; i++) {
            const nmdi_cell *x = nmdi_cube_cell(c, i);
            int64_t n = x->n >= 0 ? x->n : (int64_t)x->value;
            if (n > 0 && n < o->threshold)
                s.state[i] = S_PRIMARY;
        }
    size_t unprotectable = 0;
    if (secondary) {
        size_t before;
        do {
            before = s.added;
            if (pass(&s, &unprotectable) != 0) {
                sup_free(&s);
                return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
            }
        } while (s.added != before);
    }
    nmdi_suppress_stats out = {0};
    out.cells = s.ncells;
    out.unprotectable = unprotectable;
    for (size_t i = 0; i < s.ncells; i++) {
        nmdi_cell *x = nmdi_cube_cell(c, i);
        x->ckey = NAN;
        if (s.state[i] == S_PRIMARY) {
            hide(x, NMDI_CONF_PRIMARY);
            out.primary++;
        } else if (s.state[i] == S_SECONDARY) {
            hide(x, NMDI_CONF_SECONDARY);
            out.secondary++;
        }
    }
    if (st)
        *st = out;
    sup_free(&s);
    return 0;
}

int nmdi_protect_suppress(nmdi_cube *c, const nmdi_suppress_opts *o, nmdi_suppress_stats *st,
                          nmdi_error *err)
{
    return run(c, o, o ? o->secondary : 1, st, err);
}

int nmdi_protect_secondary(nmdi_cube *c, nmdi_suppress_stats *st, nmdi_error *err)
{
    return run(c, NULL, 1, st, err);
}
