/*
 * nmdi/csv.h — streaming CSV reader of any common dialect, a CSV writer, and
 * an in-memory table of strings read from a CSV file.
 *
 * The reader accepts: delimiter ',', ';', '\t' or '|' (given, or sniffed from
 * the header line), fields quoted with '"' and "" as an escaped quote,
 * quoted fields spanning lines, UTF-8 with or without a byte-order mark,
 * LF or CRLF line ends, and a missing final newline. It reports an
 * unterminated quote, invalid UTF-8 (when asked), NUL bytes (binary files)
 * and text after a closing quote, naming the file, line and column.
 *
 * Ownership: field pointers returned by nmdi_csv_field() are valid until the
 * next nmdi_csv_next() call. An nmdi_table owns all its strings in one arena;
 * nmdi_table_free() releases everything. Readers and tables are not shared
 * between threads.
 */
#ifndef NMDI_CSV_H
#define NMDI_CSV_H

#include "nmdi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmdi_csv_opts {
    char delim;        /* 0: sniff from the first line                       */
    int check_utf8;    /* 1: invalid UTF-8 is an error                        */
    int trim;          /* 1: trim surrounding spaces of unquoted fields       */
} nmdi_csv_opts;

typedef struct nmdi_csv nmdi_csv;

/* Open path ("-" for standard input). opts may be NULL (sniff, check UTF-8). */
int nmdi_csv_open(nmdi_csv **out, const char *path, const nmdi_csv_opts *opts, nmdi_error *err);
/* Read from an open stream (not closed by nmdi_csv_close); name is for errors. */
int nmdi_csv_open_stream(nmdi_csv **out, FILE *f, const char *name, const nmdi_csv_opts *opts,
                         nmdi_error *err);
/* Read the len bytes at data (not copied: they must outlive the reader) as
 * a CSV text whose first byte lies on line first_line; no byte-order mark
 * is skipped. Same records, fields and errors as the stream reader over the
 * same bytes. Used to parse record-aligned blocks of a file in parallel. */
int nmdi_csv_open_mem(nmdi_csv **out, const char *data, size_t len, const char *name,
                      const nmdi_csv_opts *opts, long first_line, nmdi_error *err);
/* Next record: 1 when a record was read, 0 at end of file, -1 on error. */
int nmdi_csv_next(nmdi_csv *c, nmdi_error *err);
size_t nmdi_csv_nfields(const nmdi_csv *c);
const char *nmdi_csv_field(const nmdi_csv *c, size_t i); /* NUL-terminated */
size_t nmdi_csv_field_len(const nmdi_csv *c, size_t i);
long nmdi_csv_line(const nmdi_csv *c);      /* line on which the record began */
long nmdi_csv_next_line(const nmdi_csv *c); /* line on which the next record may begin */
uint64_t nmdi_csv_bytes(const nmdi_csv *c); /* bytes consumed so far          */
char nmdi_csv_delim(const nmdi_csv *c);
const char *nmdi_csv_name(const nmdi_csv *c);
void nmdi_csv_close(nmdi_csv *c);

/* ---- writer helpers ------------------------------------------------------ */
/* Write one field, quoting it when it holds the delimiter, a quote, CR or LF. */
void nmdi_csv_put(FILE *f, const char *s);
/* Write fields separated by commas and end the line. */
void nmdi_csv_put_row(FILE *f, size_t n, const char *const *fields);

/* ---- in-memory table of strings -------------------------------------------
 * Row 0 of the file is the header. Cells are NUL-terminated strings; an
 * empty field is "" (missing). With opts->trim, header names and values are
 * trimmed. A record with a different number of fields than the header is an
 * error naming the line. */
typedef struct nmdi_table {
    size_t nrows, ncols;
    char **names;        /* ncols header names                     */
    const char **cells;  /* nrows * ncols, row-major               */
    long *lines;         /* source line of each row                */
    char *path;          /* file name for messages                 */
    nmdi_arena *arena;
} nmdi_table;

int nmdi_table_read_csv(nmdi_table **out, const char *path, const nmdi_csv_opts *opts,
                        nmdi_error *err);
/* Column index of name (exact match), or -1. */
int nmdi_table_col(const nmdi_table *t, const char *name);
static inline const char *nmdi_table_cell(const nmdi_table *t, size_t row, size_t col)
{
    return t->cells[row * t->ncols + col];
}
void nmdi_table_free(nmdi_table *t);

#ifdef __cplusplus
}
#endif
#endif
