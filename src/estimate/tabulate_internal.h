/*
 * tabulate_internal.h — internals of the tabulation engine shared between
 * tabulate.c and tabulate_fast.c. Not a public header.
 */
#ifndef NMDI_ESTIMATE_TABULATE_INTERNAL_H
#define NMDI_ESTIMATE_TABULATE_INTERNAL_H

#include "nmdi/tabulate.h"

/* The parallel path of nmdi_tabulate_csv over a plain comma-separated file
 * without quotes: 1 done (*out set), 0 not applicable or a record the
 * streaming reader must judge (the caller then runs it), <0 internal error
 * (err set). spec is already checked (1..64 distinct by-columns). */
int nmdi_tab_csv_fast(const nmdi_ctx *ctx, const char *path, const nmdi_tab_spec *spec,
                      nmdi_cube **out, nmdi_error *err);

#endif
