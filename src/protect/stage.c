/*
 * stage.c — the protect stage over an infrastructure (nmdi/protect.h):
 * DIR/work/estimates/<ID>.csv + .json → DIR/work/protected/<ID>.csv + .json.
 * The method of each table comes from its metadata's "protect" object or from
 * what the cube holds (cell keys → cell key method; standard errors → survey
 * rules; else threshold and secondary suppression). The new protected/ folder
 * is written beside the old one and swapped in by rename, so readers see
 * either the previous complete set of tables or the new one.
 */
#include "nmdi/protect.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void nmdi_protect_defaults(nmdi_protect_settings *s)
{
    memset(s, 0, sizeof *s);
    s->D = 2;
    s->V = 1.08;
    s->js = 1;
    s->threshold = 3;
    s->survey.n_min = 3;
    s->survey.cv_flag = 0.165;
    s->survey.cv_withhold = 0.333;
}

static int rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    char buf[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(buf, sizeof buf, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(buf, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(buf);
        else
            unlink(buf);
    }
    closedir(d);
    return rmdir(path);
}

static int json_int(json_t *o, const char *k, int64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int json_num(json_t *o, const char *k, double *out)
{
    json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 0;
}

typedef enum { M_AUTO, M_CELLKEY, M_SUPPRESS, M_SURVEY, M_NONE } method;

/* Protect one cube by the settings; fills desc (the sentence for the
 * metadata) and adds the settings applied to `applied`. */
static int protect_cube(nmdi_cube *c, method m, const nmdi_protect_settings *s,
                        const char *dir, json_t *applied, char *desc, size_t descsz,
                        nmdi_error *err)
{
    size_t n = nmdi_cube_ncells(c);
    if (m == M_AUTO) {
        int keys = n > 0, se = 0;
        for (size_t i = 0; i < n; i++) {
            const nmdi_cell *x = nmdi_cube_cell(c, i);
            if (x->value > 0 && isnan(x->ckey))
                keys = 0;
            if (!isnan(x->se))
                se = 1;
        }
        m = keys ? M_CELLKEY : se ? M_SURVEY : M_SUPPRESS;
    }
    int rc = 0;
    if (m == M_CELLKEY) {
        nmdi_ptable *pt;
        if (s->ptable) {
            char path[4096];
            snprintf(path, sizeof path, "%s%s%s", s->ptable[0] == '/' ? "" : dir,
                     s->ptable[0] == '/' ? "" : "/", s->ptable);
            rc = nmdi_ptable_read_csv(&pt, path, err);
        } else {
            rc = nmdi_ptable_build(&pt, s->D, s->V, s->js, err);
        }
        if (rc)
            return rc;
        rc = nmdi_protect_cellkey(c, pt, err);
        snprintf(desc, descsz, "%s; totals perturbed independently, so tables are not additive",
                 nmdi_ptable_describe(pt));
        json_object_set_new(applied, "method", json_string("cellkey"));
        if (s->ptable)
            json_object_set_new(applied, "ptable", json_string(s->ptable));
        else {
            json_object_set_new(applied, "D", json_integer(s->D));
            json_object_set_new(applied, "V", json_real(s->V));
            json_object_set_new(applied, "js", json_integer(s->js));
        }
        nmdi_ptable_free(pt);
    } else if (m == M_SURVEY) {
        nmdi_survey_stats st;
        rc = nmdi_protect_survey(c, &s->survey, &st, err);
        snprintf(desc, descsz,
                 "survey estimates withheld when the unweighted count is below %lld or the CV "
                 "above %g, flagged unreliable (OBS_STATUS U) when the CV is above %g",
                 (long long)s->survey.n_min, s->survey.cv_withhold, s->survey.cv_flag);
        json_object_set_new(applied, "method", json_string("survey"));
        json_object_set_new(applied, "n_min", json_integer(s->survey.n_min));
        json_object_set_new(applied, "cv_flag", json_real(s->survey.cv_flag));
        json_object_set_new(applied, "cv_withhold", json_real(s->survey.cv_withhold));
    } else if (m == M_SUPPRESS) {
        nmdi_suppress_opts o = {s->threshold, 1};
        nmdi_suppress_stats st;
        rc = nmdi_protect_suppress(c, &o, &st, err);
        snprintf(desc, descsz,
                 "threshold suppression of cells with fewer than %lld contributors "
                 "(CONF_STATUS C) and secondary suppression against recomputation from the "
                 "totals (CONF_STATUS D)",
                 (long long)s->threshold);
        json_object_set_new(applied, "method", json_string("suppress"));
        json_object_set_new(applied, "threshold", json_integer(s->threshold));
    } else {
        for (size_t i = 0; i < n; i++)
            nmdi_cube_cell(c, i)->ckey = NAN;
        snprintf(desc, descsz, "none (declared not confidential in the table's settings)");
        json_object_set_new(applied, "method", json_string("none"));
    }
    return rc;
}

/* dir/id+ext into buf; 0 when it does not fit */
static int fits(char *buf, size_t size, const char *dir, const char *id, const char *ext)
{
    int n = snprintf(buf, size, "%s/%s%s", dir, id, ext);
    return n >= 0 && (size_t)n < size;
}

static int protect_one(const char *dir, const char *indir, const char *outdir, const char *id,
                       const nmdi_protect_settings *defaults, nmdi_error *err)
{
    char csv[8800], js[8800], out[8800];
    if (!fits(csv, sizeof csv, indir, id, ".csv") || !fits(js, sizeof js, indir, id, ".json") ||
        !fits(out, sizeof out, outdir, id, ".json"))
        return nmdi_error_at(err, NMDI_EDATA, indir, 0, NULL, "path too long for table %s", id);
    json_error_t jerr;
    json_t *meta = json_load_file(js, JSON_DECODE_ANY, &jerr);
    if (!meta || !json_is_object(meta)) {
        json_decref(meta);
        return nmdi_error_at(err, NMDI_EDATA, js, meta ? 0 : jerr.line, NULL,
                             "table metadata must be a JSON object%s%s", meta ? "" : ": ",
                             meta ? "" : jerr.text);
    }
    nmdi_protect_settings s = *defaults;
    method m = M_AUTO;
    json_t *p = json_object_get(meta, "protect");
    int bad = 0;
    if (p && json_is_object(p)) {
        int64_t iv;
        json_t *mv = json_object_get(p, "method");
        if (mv) {
            const char *ms = json_is_string(mv) ? json_string_value(mv) : "";
            if (!strcmp(ms, "cellkey"))
                m = M_CELLKEY;
            else if (!strcmp(ms, "suppress"))
                m = M_SUPPRESS;
            else if (!strcmp(ms, "survey"))
                m = M_SURVEY;
            else if (!strcmp(ms, "none"))
                m = M_NONE;
            else if (strcmp(ms, "auto") != 0)
                bad = 1;
        }
        iv = s.D;
        bad |= json_int(p, "D", &iv) != 0;
        s.D = (int)iv;
        iv = s.js;
        bad |= json_int(p, "js", &iv) != 0;
        s.js = (int)iv;
        bad |= json_num(p, "V", &s.V) != 0;
        bad |= json_int(p, "threshold", &s.threshold) != 0;
        bad |= json_int(p, "n_min", &s.survey.n_min) != 0;
        bad |= json_num(p, "cv_flag", &s.survey.cv_flag) != 0;
        bad |= json_num(p, "cv_withhold", &s.survey.cv_withhold) != 0;
        json_t *pv = json_object_get(p, "ptable");
        if (pv && !json_is_string(pv))
            bad = 1;
        else if (pv)
            s.ptable = json_string_value(pv);
    } else if (p) {
        bad = 1;
    }
    if (bad) {
        json_decref(meta);
        return nmdi_error_at(err, NMDI_EDATA, js, 0, "protect",
                             "bad settings: \"method\" is cellkey|suppress|survey|none|auto, "
                             "\"D\", \"js\", \"threshold\", \"n_min\" whole numbers, \"V\", "
                             "\"cv_flag\", \"cv_withhold\" numbers, \"ptable\" a path");
    }
    nmdi_cube *c;
    int rc = nmdi_cube_load(&c, csv, err);
    if (rc) {
        json_decref(meta);
        return rc;
    }
    json_t *applied = json_object();
    char desc[512];
    rc = protect_cube(c, m, &s, dir, applied, desc, sizeof desc, err);
    if (rc) {
        if (!err->file[0])
            snprintf(err->file, sizeof err->file, "%.500s", csv);
    } else {
        fits(out, sizeof out, outdir, id, ".csv");
        rc = nmdi_cube_save(c, out, err);
    }
    if (!rc) {
        json_object_set_new(meta, "protected", json_true());
        json_object_set_new(meta, "disclosure_control", json_string(desc));
        json_object_set(meta, "protect", applied);
        char *text = json_dumps(meta, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fits(out, sizeof out, outdir, id, ".json");
        rc = text ? nmdi_write_file_atomic(out, text, strlen(text), err)
                  : nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        free(text);
    }
    json_decref(applied);
    json_decref(meta);
    nmdi_cube_free(c);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int nmdi_protect_dir(const nmdi_ctx *ctx, const char *dir, const nmdi_protect_settings *s,
                     size_t *ntables, nmdi_error *err)
{
    char indir[4096], outdir[4096], tmpdir[4200], olddir[4200];
    snprintf(indir, sizeof indir, "%s/work/estimates", dir);
    snprintf(outdir, sizeof outdir, "%s/work/protected", dir);
    snprintf(tmpdir, sizeof tmpdir, "%s.new.%ld", outdir, (long)getpid());
    snprintf(olddir, sizeof olddir, "%s.old.%ld", outdir, (long)getpid());
    *ntables = 0;
    DIR *d = opendir(indir);
    if (!d && errno == ENOENT) {
        /* nothing estimated yet: nothing to protect (not an error, as an
         * infrastructure without tables is a valid state) */
        nmdi_note(ctx, "protect: %s does not exist: no tables to protect", indir);
        return 0;
    }
    if (!d)
        return nmdi_error_at(err, NMDI_EDATA, indir, 0, NULL, "cannot read the estimates: %s",
                             strerror(errno));
    char **ids = NULL;
    size_t nids = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && !rc) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".csv") != 0 || e->d_name[0] == '.')
            continue;
        if (nids == cap) {
            cap = cap ? 2 * cap : 16;
            char **n = realloc(ids, cap * sizeof *n);
            if (!n) {
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                break;
            }
            ids = n;
        }
        if (!(ids[nids] = strndup(e->d_name, len - 4)))
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        else
            nids++;
    }
    closedir(d);
    if (!rc && nids)
        qsort(ids, nids, sizeof *ids, cmp_str);
    if (!rc) {
        rm_tree(tmpdir);
        if (mkdir(tmpdir, 0755) != 0)
            rc = nmdi_error_at(err, NMDI_EINTERNAL, tmpdir, 0, NULL, "cannot create: %s",
                               strerror(errno));
    }
    for (size_t i = 0; i < nids && !rc; i++) {
        rc = protect_one(dir, indir, tmpdir, ids[i], s, err);
        if (!rc)
            nmdi_note(ctx, "protect: %s", ids[i]);
    }
    if (!rc) {
        /* swap the complete new folder in */
        struct stat st;
        int had = stat(outdir, &st) == 0;
        if (had && rename(outdir, olddir) != 0)
            rc = nmdi_error_at(err, NMDI_EINTERNAL, outdir, 0, NULL, "cannot replace: %s",
                               strerror(errno));
        else if (rename(tmpdir, outdir) != 0) {
            rc = nmdi_error_at(err, NMDI_EINTERNAL, outdir, 0, NULL, "cannot create: %s",
                               strerror(errno));
            if (had)
                rename(olddir, outdir);
        } else if (had) {
            rm_tree(olddir);
        }
    }
    if (rc)
        rm_tree(tmpdir);
    else
        *ntables = nids;
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    return rc;
}
