/*
 * internal.h — private helpers shared by the files of src/publish/ (not part
 * of the public API): observation selection and number formatting.
 */
#ifndef NMDI_PUBLISH_INTERNAL_H
#define NMDI_PUBLISH_INTERNAL_H

#include "nmdi/publish.h"

#define nmdi__sdmx_select nmdi_sdmx_select
#define nmdi__cell_attrs nmdi_sdmx_cell_attrs

/* Is cell j of the sorted selection in another series than cell i? */
int nmdi__same_series(const nmdi_rel_table *t, const nmdi_cell *a, const nmdi_cell *b,
                      int obs_dim);
/* The observation value as text, or NULL when withheld / not available. */
const char *nmdi__cell_value(const nmdi_cell *c, char buf[32]);

#endif
