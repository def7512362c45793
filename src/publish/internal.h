/*
 * internal.h — private helpers shared by the files of src/publish/ (not part
 * of the public API): observation selection and number formatting.
 */
#ifndef NMDI_PUBLISH_INTERNAL_H
#define NMDI_PUBLISH_INTERNAL_H

#include "nmdi/publish.h"

/* The observations a query selects, sorted by series key then by the
 * observation dimension (time in calendar order). *obs_dim = index of the
 * observation dimension, -1 for AllDimensions. Returns 0, or EDATA/EINTERNAL
 * (caller frees *idx with free()). */
int nmdi__sdmx_select(const nmdi_rel_table *t, const nmdi_sdmx_query *q, size_t **idx,
                      size_t *n, int *obs_dim, nmdi_error *err);
/* Is cell j of the sorted selection in another series than cell i? */
int nmdi__same_series(const nmdi_rel_table *t, const nmdi_cell *a, const nmdi_cell *b,
                      int obs_dim);
/* Attribute values of a cell as strings (NULL when absent); bufs hold the
 * formatted numbers. Withheld unweighted counts and cell keys never appear. */
void nmdi__cell_attrs(const nmdi_rel_table *t, const nmdi_cell *c, const char *vals[NMDI_NATTRS],
                      char bufs[NMDI_NATTRS][32]);
/* The observation value as text, or NULL when withheld / not available. */
const char *nmdi__cell_value(const nmdi_cell *c, char buf[32]);

#endif
