/* cmd_link.c — `nmdi link`: probabilistic record linkage of CSV files
 * (one file: deduplicate; two files: link). The standalone file path is
 * link_files(); the engine is the library (nmdi/link.h). */
#include "nmdi/cli.h"
#include "nmdi/csv.h"
#include "nmdi/link.h"
#include "nmdi/spine.h"

#include <math.h>

#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern const nmdi_cmd_info nmdi_cmd_link_info;

#define MAX_OPT_LIST 64

typedef struct link_opts {
    nmdi_link_config cfg;
    const char *fields_arg;
    const char *types[MAX_OPT_LIST];
    size_t ntypes;
    const char *blocks[MAX_OPT_LIST];
    size_t nblocks;
    int json, explain;
    const char *save_model, *model, *clusters;
    size_t max_cluster;
} link_opts;

static int parse_u64(const char *s, uint64_t *out)
{
    int64_t v;
    double d;
    if (nmdi_parse_int64(s, &v) == 0 && v >= 0) {
        *out = (uint64_t)v;
        return 0;
    }
    if (nmdi_parse_double(s, &d) == 0 && d >= 0 && d < 1.8e19 && d == (double)(uint64_t)d) {
        *out = (uint64_t)d;
        return 0;
    }
    return -1;
}

static void to_source(const nmdi_table *t, nmdi_link_source *s)
{
    s->name = t->path;
    s->nrows = t->nrows;
    s->ncols = t->ncols;
    s->colnames = (const char *const *)t->names;
    s->cells = t->cells;
    s->lines = t->lines;
}

static void print_warnings(const nmdi_link *lk)
{
    for (const char *const *w = nmdi_link_warnings(lk); *w; w++)
        fprintf(stderr, "nmdi link: warning: %s\n", *w);
}

/* Write one pair as a CSV row (with --explain, one column per field). */
static void put_pair(const nmdi_link *lk, const nmdi_link_source *L, const nmdi_link_source *R,
                     int idL, int idR, const nmdi_link_pair *p, int explain)
{
    const nmdi_link_source *rs = R ? R : L;
    int idr = R ? idR : idL;
    nmdi_csv_put(stdout, L->cells[(size_t)p->a * L->ncols + (size_t)idL]);
    fputc(',', stdout);
    nmdi_csv_put(stdout, rs->cells[(size_t)p->b * rs->ncols + (size_t)idr]);
    printf(",%.9g,%.4f", p->probability, p->weight);
    if (explain) {
        for (size_t f = 0; f < nmdi_link_nfields(lk); f++)
            printf(",%s:%.4f", nmdi_link_level_label(nmdi_link_field_kind(lk, f), p->levels[f]),
                   nmdi_link_field_weight(lk, p, f));
    }
    fputc('\n', stdout);
}

static int col_of(const nmdi_table *t, const char *name)
{
    return nmdi_table_col(t, name);
}

/* The standalone path: read the file(s), prepare, estimate or load the
 * model, score, write pairs (or the model with --json). */
static int link_files(nmdi_ctx *ctx, link_opts *o, const char *lpath, const char *rpath)
{
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_csv_opts copts = {0, 1, 1};
    nmdi_table *tl = NULL, *tr = NULL;
    nmdi_link *lk = NULL;
    char **fieldv = NULL;
    char *fieldbuf = NULL;
    int *kinds = NULL;
    int rc = nmdi_table_read_csv(&tl, lpath, &copts, &err);
    if (!rc && rpath)
        rc = nmdi_table_read_csv(&tr, rpath, &copts, &err);
    if (rc)
        goto out;
    /* the field list (to attach --type kinds) */
    int idcol = 0;
    if (o->cfg.id && (idcol = col_of(tl, o->cfg.id)) < 0) {
        rc = nmdi_error_at(&err, NMDI_EDATA, lpath, 1, o->cfg.id, "--id: no such column");
        goto out;
    }
    size_t nf = 0;
    fieldv = calloc(tl->ncols + MAX_OPT_LIST + 1, sizeof *fieldv);
    kinds = calloc(tl->ncols + MAX_OPT_LIST + 1, sizeof *kinds);
    if (!fieldv || !kinds) {
        rc = nmdi_error_set(&err, NMDI_EINTERNAL, "out of memory");
        goto out;
    }
    if (o->fields_arg) {
        fieldbuf = strdup(o->fields_arg);
        char *save = NULL;
        for (char *tok = fieldbuf ? strtok_r(fieldbuf, ",", &save) : NULL; tok;
             tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ')
                tok++;
            size_t l = strlen(tok);
            while (l > 0 && tok[l - 1] == ' ')
                tok[--l] = 0;
            if (l == 0)
                continue;
            if (nf == tl->ncols + MAX_OPT_LIST) {
                rc = nmdi_error_set(&err, NMDI_EDATA, "--fields: too many fields");
                goto out;
            }
            fieldv[nf++] = tok;
        }
        if (nf == 0) {
            rc = nmdi_error_set(&err, NMDI_EDATA, "--fields names no column");
            goto out;
        }
    } else {
        for (size_t i = 0; i < tl->ncols; i++)
            if ((int)i != idcol)
                fieldv[nf++] = tl->names[i];
    }
    for (size_t f = 0; f < nf; f++)
        kinds[f] = -1;
    for (size_t t = 0; t < o->ntypes; t++) {
        const char *eq = strchr(o->types[t], '=');
        if (!eq) {
            rc = nmdi_error_set(&err, NMDI_EDATA, "--type %s: expected FIELD=KIND", o->types[t]);
            goto out;
        }
        int k = nmdi_link_kind_parse(eq + 1);
        if (k < 0) {
            rc = nmdi_error_set(&err, NMDI_EDATA,
                                "--type %s: unknown kind '%s' (name, text, date, code, number, "
                                "postcode, hash, bloom)",
                                o->types[t], eq + 1);
            goto out;
        }
        size_t nl = (size_t)(eq - o->types[t]);
        size_t f = 0;
        for (; f < nf; f++)
            if (strlen(fieldv[f]) == nl && strncmp(fieldv[f], o->types[t], nl) == 0)
                break;
        if (f == nf) {
            rc = nmdi_error_set(&err, NMDI_EDATA, "--type %s: '%.*s' is not a compared field",
                                o->types[t], (int)nl, o->types[t]);
            goto out;
        }
        kinds[f] = k;
    }
    o->cfg.nfields = nf;
    o->cfg.fields = (const char *const *)fieldv;
    o->cfg.kinds = kinds;
    o->cfg.nblocks = o->nblocks;
    o->cfg.blocks = o->blocks;
    nmdi_link_source sl, sr;
    to_source(tl, &sl);
    if (tr)
        to_source(tr, &sr);
    if ((rc = nmdi_link_new(&lk, &sl, tr ? &sr : NULL, &o->cfg, &err)) != 0)
        goto out;
    if (o->model)
        rc = nmdi_link_model_load(lk, o->model, &err);
    else
        rc = nmdi_link_train(lk, ctx, &err);
    if (rc)
        goto out;
    const nmdi_link_pair *pairs;
    size_t np;
    if ((rc = nmdi_link_run(lk, ctx, &pairs, &np, &err)) != 0)
        goto out;
    print_warnings(lk);
    if (o->save_model && (rc = nmdi_link_model_save(lk, o->save_model, &err)) != 0)
        goto out;
    int idL = o->cfg.id ? col_of(tl, o->cfg.id) : 0;
    int idR = tr ? (o->cfg.id ? col_of(tr, o->cfg.id) : 0) : idL;
    if (o->clusters) {
        if (tr) {
            rc = nmdi_error_set(&err, NMDI_EDATA, "--clusters needs one file (deduplication)");
            goto out;
        }
        uint32_t *cl = malloc((tl->nrows + 1) * sizeof *cl);
        FILE *cf = fopen(o->clusters, "w");
        if (!cl || !cf) {
            free(cl);
            if (cf)
                fclose(cf);
            rc = nmdi_error_at(&err, NMDI_EDATA, o->clusters, 0, NULL, "cannot write");
            goto out;
        }
        size_t refused = nmdi_link_cluster(tl->nrows, pairs, np, o->max_cluster, cl);
        fprintf(cf, "record_id,cluster_id\n");
        for (size_t i = 0; i < tl->nrows; i++) {
            nmdi_csv_put(cf, nmdi_table_cell(tl, i, (size_t)idL));
            fputc(',', cf);
            nmdi_csv_put(cf, nmdi_table_cell(tl, cl[i], (size_t)idL));
            fputc('\n', cf);
        }
        fclose(cf);
        free(cl);
        if (refused)
            fprintf(stderr,
                    "nmdi link: warning: %zu links refused by the chaining guard "
                    "(--max-cluster %zu)\n",
                    refused, o->max_cluster);
    }
    if (o->json) {
        char *js = nmdi_link_model_json(lk);
        if (!js) {
            rc = nmdi_error_set(&err, NMDI_EINTERNAL, "out of memory");
            goto out;
        }
        printf("%s\n", js);
        free(js);
    } else {
        printf("left_id,right_id,match_probability,match_weight");
        if (o->explain)
            for (size_t f = 0; f < nmdi_link_nfields(lk); f++) {
                fputc(',', stdout);
                nmdi_csv_put(stdout, nmdi_link_field_name(lk, f));
            }
        fputc('\n', stdout);
        for (size_t i = 0; i < np; i++)
            put_pair(lk, &sl, tr ? &sr : NULL, idL, idR, &pairs[i], o->explain);
    }
    if (fflush(stdout) != 0)
        rc = nmdi_error_set(&err, NMDI_EINTERNAL, "cannot write standard output");
out:
    if (rc)
        nmdi_cli_error("link", &err);
    nmdi_link_free(lk);
    nmdi_table_free(tl);
    nmdi_table_free(tr);
    free(fieldv);
    free(fieldbuf);
    free(kinds);
    return rc;
}

/* `nmdi link DIR`: the person spine of an infrastructure (nmdi/spine.h). */
static int link_infrastructure(nmdi_ctx *ctx, link_opts *o, const char *dir)
{
    nmdi_spine_opts so = {o->cfg.threshold, 0};
    nmdi_spine_report *r = NULL;
    nmdi_error err = {0};
    if (nmdi_spine_build(ctx, dir, &so, &r, &err)) {
        char buf[1024];
        nmdi_error_format(&err, buf, sizeof buf);
        fprintf(stderr, "nmdi link: %s\n", buf);
        return err.code == NMDI_EDATA ? 1 : 2;
    }
    if (o->json) {
        printf("{\"sources\":[");
        for (size_t i = 0; i < r->nsources; i++)
            printf("%s\"%s\"", i ? "," : "", r->sources[i]);
        printf("],\"pairs\":[");
        for (size_t i = 0; i < r->npairs; i++) {
            const nmdi_spine_pairrep *p = &r->pairs[i];
            char ep[32] = "null", er[32] = "null";
            if (!isnan(p->est_precision))
                snprintf(ep, sizeof ep, "%.6f", p->est_precision);
            if (!isnan(p->est_recall))
                snprintf(er, sizeof er, "%.6f", p->est_recall);
            printf("%s{\"left\":\"%s\",\"right\":\"%s\",\"pairs_compared\":%llu,\"links\":%llu,"
                   "\"uncertain_pairs\":%llu,\"estimated_precision\":%s,\"estimated_recall\":%s}",
                   i ? "," : "", p->left, p->right, (unsigned long long)p->compared,
                   (unsigned long long)p->links, (unsigned long long)p->uncertain, ep, er);
        }
        printf("],\"records\":%llu,\"persons\":%llu,\"refused_merges\":%zu,\"version\":%lld}\n",
               (unsigned long long)r->records, (unsigned long long)r->persons, r->refused,
               (long long)r->version);
    }
    if (r->nsources < 2) {
        fprintf(stderr, "nmdi link: %s: %zu person-level source(s) with linkage encodings loaded%s%s: "
                "nothing to link\n", dir, r->nsources, *r->skipped ? "; not linkable: " : "",
                r->skipped);
        nmdi_spine_report_free(r);
        return 0;
    }
    FILE *f = o->json ? stderr : stdout;
    fprintf(f, "%-16s %-16s %12s %8s %10s %10s %10s\n", "left", "right", "compared", "links",
            "uncertain", "est_prec", "est_recall");
    for (size_t i = 0; i < r->npairs; i++) {
        const nmdi_spine_pairrep *p = &r->pairs[i];
        fprintf(f, "%-16s %-16s %12llu %8llu %10llu %10.4f %10.4f\n", p->left, p->right,
                (unsigned long long)p->compared, (unsigned long long)p->links,
                (unsigned long long)p->uncertain, p->est_precision, p->est_recall);
    }
    fprintf(f, "person_spine version %lld: %llu records, %llu persons, %zu merges refused "
            "(chaining guard)%s%s, %.1f s\n", (long long)r->version, (unsigned long long)r->records,
            (unsigned long long)r->persons, r->refused, *r->skipped ? "; not linkable: " : "",
            r->skipped, r->seconds);
    nmdi_spine_report_free(r);
    return 0;
}

int nmdi_cmd_link(nmdi_ctx *ctx, int argc, char **argv)
{
    link_opts o;
    memset(&o, 0, sizeof o);
    nmdi_link_config_init(&o.cfg);
    o.max_cluster = 50;
    enum {
        O_ID = 256, O_FIELDS, O_TYPE, O_BLOCK, O_ONE, O_THRESH, O_JSON, O_EXPLAIN, O_SAVE,
        O_MODEL, O_MAXBP, O_MAXP, O_SEED, O_USAMP, O_EMP, O_NOTF, O_CLUST, O_MAXCL, O_HELP
    };
    static const struct option lo[] = {
        {"id", required_argument, 0, O_ID},
        {"fields", required_argument, 0, O_FIELDS},
        {"type", required_argument, 0, O_TYPE},
        {"block", required_argument, 0, O_BLOCK},
        {"one-to-one", no_argument, 0, O_ONE},
        {"threshold", required_argument, 0, O_THRESH},
        {"json", no_argument, 0, O_JSON},
        {"explain", no_argument, 0, O_EXPLAIN},
        {"save-model", required_argument, 0, O_SAVE},
        {"model", required_argument, 0, O_MODEL},
        {"max-block-pairs", required_argument, 0, O_MAXBP},
        {"max-pairs", required_argument, 0, O_MAXP},
        {"seed", required_argument, 0, O_SEED},
        {"u-samples", required_argument, 0, O_USAMP},
        {"em-pairs", required_argument, 0, O_EMP},
        {"no-tf", no_argument, 0, O_NOTF},
        {"clusters", required_argument, 0, O_CLUST},
        {"max-cluster", required_argument, 0, O_MAXCL},
        {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    uint64_t u;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_ID:
            o.cfg.id = optarg;
            break;
        case O_FIELDS:
            o.fields_arg = optarg;
            break;
        case O_TYPE:
            if (o.ntypes == MAX_OPT_LIST)
                return nmdi_cli_usage(&nmdi_cmd_link_info, "too many --type options");
            o.types[o.ntypes++] = optarg;
            break;
        case O_BLOCK:
            if (o.nblocks == 32)
                return nmdi_cli_usage(&nmdi_cmd_link_info, "at most 32 --block rules");
            o.blocks[o.nblocks++] = optarg;
            break;
        case O_ONE:
            o.cfg.one_to_one = 1;
            break;
        case O_THRESH:
            if (nmdi_parse_double(optarg, &o.cfg.threshold) != 0 || o.cfg.threshold < 0 ||
                o.cfg.threshold > 1)
                return nmdi_cli_usage(&nmdi_cmd_link_info,
                                      "--threshold needs a probability from 0 to 1, not '%s'",
                                      optarg);
            break;
        case O_JSON:
            o.json = 1;
            break;
        case O_EXPLAIN:
            o.explain = 1;
            break;
        case O_SAVE:
            o.save_model = optarg;
            break;
        case O_MODEL:
            o.model = optarg;
            break;
        case O_MAXBP:
        case O_MAXP:
        case O_SEED:
        case O_USAMP:
        case O_EMP:
        case O_MAXCL:
            if (parse_u64(optarg, &u) != 0)
                return nmdi_cli_usage(&nmdi_cmd_link_info, "%s needs a whole number, not '%s'",
                                      argv[optind - 1], optarg);
            if (c == O_MAXBP)
                o.cfg.max_block_pairs = u;
            else if (c == O_MAXP)
                o.cfg.max_pairs = u;
            else if (c == O_SEED)
                o.cfg.seed = u;
            else if (c == O_USAMP)
                o.cfg.u_samples = u ? u : 1;
            else if (c == O_EMP)
                o.cfg.em_pairs = u;
            else
                o.max_cluster = (size_t)u;
            break;
        case O_NOTF:
            o.cfg.tf = 0;
            break;
        case O_CLUST:
            o.clusters = optarg;
            break;
        case O_HELP:
        case 'h':
            fputs(nmdi_cmd_link_info.usage, stdout);
            return 0;
        default:
            return nmdi_cli_usage(&nmdi_cmd_link_info, "unknown or incomplete option '%s'",
                                  argv[optind - 1]);
        }
    }
    int nargs = argc - optind;
    if (nargs < 1 || nargs > 2)
        return nmdi_cli_usage(&nmdi_cmd_link_info, "give one CSV file (dedupe) or two (link)");
    struct stat st;
    if (nargs == 1 && stat(argv[optind], &st) == 0 && S_ISDIR(st.st_mode))
        return link_infrastructure(ctx, &o, argv[optind]);
    return link_files(ctx, &o, argv[optind], nargs == 2 ? argv[optind + 1] : NULL);
}

const nmdi_cmd_info nmdi_cmd_link_info = {
    "link",
    "link records across files, or deduplicate one file (Fellegi-Sunter, EM)",
    "usage: nmdi link [options] LEFT.csv [RIGHT.csv]\n"
    "       nmdi link DIR [--threshold P] [--json]\n"
    "\n"
    "With one file, finds the records of the same person in it (deduplication);\n"
    "with two, links records of LEFT to records of RIGHT. Unsupervised: m and\n"
    "lambda by EM, u from random pairs (docs/methods-linkage.md).\n"
    "Writes CSV on standard output: left_id,right_id,match_probability,match_weight\n"
    "one row per pair at or above the threshold, sorted by left then right file\n"
    "order (dedupe: each pair once, left_id the earlier record).\n"
    "\n"
    "options:\n"
    "  --id COLUMN          record id column (default: the first column)\n"
    "  --fields a,b,c       compared columns (default: all but the id; at most 16)\n"
    "  --type FIELD=KIND    kind of a field: name, text, date, code, number,\n"
    "                       postcode, hash, bloom (default: inferred; repeatable)\n"
    "  --block RULE         blocking rule (repeatable, OR-ed): columns that must be\n"
    "                       equal, e.g. 'surname' or 'dob_year,postcode'; a column\n"
    "                       may be written col:soundex, col:N (first N characters)\n"
    "                       or col:year (year of a date); '*' = all pairs\n"
    "  --one-to-one         link each record at most once (greedy by weight)\n"
    "  --threshold P        minimum match probability (default 0.5)\n"
    "  --explain            add a column per field: level:weight\n"
    "  --json               print the model and blocking analysis instead of pairs\n"
    "  --save-model FILE    save the estimated model (JSON)\n"
    "  --model FILE         use a saved model instead of estimating one\n"
    "  --max-block-pairs N  larger blocks of a --block rule are split by a further\n"
    "                       field, else skipped, with a warning (1e7)\n"
    "  --max-pairs N        refuse more candidate pairs in all (5e8)\n"
    "  --seed N             seed of the random pairs for u (42)\n"
    "  --u-samples N        random pairs for u (1e6; all pairs when fewer)\n"
    "  --em-pairs N         EM on a deterministic sample of about N pairs per rule\n"
    "                       when a rule makes more (2e6; 0 = all pairs)\n"
    "  --no-tf              no term-frequency adjustment of name weights\n"
    "  --clusters FILE      dedupe: write record_id,cluster_id (persons)\n"
    "  --max-cluster N      chaining guard: largest cluster (50; 0 = none)\n"
    "\n"
    "With an infrastructure directory DIR, builds the person spine: the latest\n"
    "versions of the person-level sources (record types person, permit, student;\n"
    "permit and student records grouped by person key) are linked pairwise on\n"
    "their keyed linkage encodings (one-to-one), clustered into persons and written\n"
    "as the dataset person_spine (source, person_key, src_line, person_id,\n"
    "match_probability) with the models and estimated precision/recall in its\n"
    "lineage. Prints per source pair the pairs compared, links and estimated\n"
    "quality. Fewer than two linkable sources: says so, exits 0.\n",
};
