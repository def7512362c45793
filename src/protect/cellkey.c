/*
 * cellkey.c — the cell key method on cubes (nmdi/protect.h): perturbation of
 * the counts of a cube through a ptable (record keys: src/core/rkey.c), and
 * the withholding and flagging of survey estimates by unweighted n and CV.
 */
#include "nmdi/protect.h"

#include <math.h>
#include <string.h>

static void cell_name(nmdi_cube *c, const nmdi_cell *x, char *buf, size_t size)
{
    size_t p = 0;
    buf[0] = 0;
    for (size_t d = 0; d < nmdi_cube_ndims(c) && p < size; d++)
        p += (size_t)snprintf(buf + p, size - p, "%s%s=%s", d ? "," : "", nmdi_cube_dim(c, d),
                              x->codes[d]);
}

int nmdi_protect_cellkey(nmdi_cube *c, const nmdi_ptable *pt, nmdi_error *err)
{
    size_t n = nmdi_cube_ncells(c);
    char name[256];
    /* check everything first: a cube is protected whole or not at all */
    for (size_t i = 0; i < n; i++) {
        nmdi_cell *x = nmdi_cube_cell(c, i);
        if (!(x->value >= 0) || x->value != floor(x->value) || x->value > 9.0e15) {
            cell_name(c, x, name, sizeof name);
            return nmdi_error_at(err, NMDI_EDATA, NULL, 0, "value",
                                 "cell %s: the cell key method perturbs counts; %.17g is "
                                 "not a whole non-negative count",
                                 name, x->value);
        }
        if (x->value > 0 && !(x->ckey >= 0 && x->ckey < 1)) {
            cell_name(c, x, name, sizeof name);
            return nmdi_error_at(err, NMDI_EDATA, NULL, 0, "ckey",
                                 "cell %s has no cell key (tabulate with record keys)", name);
        }
    }
    for (size_t i = 0; i < n; i++) {
        nmdi_cell *x = nmdi_cube_cell(c, i);
        int64_t pub = nmdi_ptable_apply(pt, (int64_t)x->value, x->ckey);
        x->value = (double)pub;
        x->n = pub; /* the original count must not leak through n */
        x->ckey = NAN;
        x->se = x->cv = x->ci_low = x->ci_high = NAN;
        strcpy(x->conf_status, NMDI_CONF_FREE);
    }
    return 0;
}

static void withhold(nmdi_cell *x, const char *conf)
{
    x->value = x->se = x->cv = x->ci_low = x->ci_high = NAN;
    x->ckey = NAN;
    strcpy(x->obs_status, NMDI_OBS_MISSING);
    strcpy(x->conf_status, conf);
}

int nmdi_protect_survey(nmdi_cube *c, const nmdi_survey_rule *r, nmdi_survey_stats *st,
                        nmdi_error *err)
{
    (void)err;
    nmdi_survey_stats s = {0};
    s.cells = nmdi_cube_ncells(c);
    for (size_t i = 0; i < s.cells; i++) {
        nmdi_cell *x = nmdi_cube_cell(c, i);
        x->ckey = NAN;
        if (isnan(x->value))
            continue;
        double cv = x->cv;
        if (isnan(cv) && !isnan(x->se) && x->value != 0)
            cv = x->se / fabs(x->value);
        if (r->n_min > 0 && x->n >= 0 && x->n < r->n_min) {
            withhold(x, NMDI_CONF_PRIMARY);
            s.withheld_n++;
        } else if (r->cv_withhold > 0 && cv > r->cv_withhold) {
            withhold(x, NMDI_CONF_FREE);
            s.withheld_cv++;
        } else if (r->cv_flag > 0 && cv > r->cv_flag) {
            strcpy(x->obs_status, NMDI_OBS_UNRELIABLE);
            s.flagged++;
        }
    }
    if (st)
        *st = s;
    return 0;
}
