/*
 * csv.c — a streaming CSV reader for the dialects agencies really deliver
 * (see nmdi/csv.h), a small CSV writer, and a table of strings read whole.
 *
 * The reader is a byte-level state machine over a 1 MiB read buffer; each
 * record is unescaped into a growable record buffer with field offsets, so
 * that memory stays bounded by the longest record, not by the file size.
 */
#include "nmdi/csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define BUFSZ (1u << 20)

struct nmdi_csv {
    FILE *f;
    int own;
    int mem;          /* reading a caller's buffer (nmdi_csv_open_mem)   */
    char *name;
    nmdi_csv_opts opts;
    unsigned char *buf;
    size_t pos, len;
    int eof;
    uint64_t consumed;
    long line;        /* current physical line (1-based)   */
    long rec_line;    /* line on which the last record began */
    char *rec;        /* unescaped record, fields NUL-separated */
    size_t rec_len, rec_cap;
    size_t *off;      /* field start offsets into rec        */
    size_t *flen;
    unsigned char *quoted;
    size_t nf, nf_cap;
    int started;
    unsigned char stop[256];  /* bytes that end a run of plain field text */
    int fast;         /* simple records may take the fast path (fast_record) */
};

/* Bytes that interrupt the bulk copy of an unquoted field: the delimiter,
 * line ends and NUL (everything else, '"' included, is field text once a
 * field has begun). */
static void set_stops(nmdi_csv *c)
{
    memset(c->stop, 0, sizeof c->stop);
    c->stop[(unsigned char)c->opts.delim] = 1;
    c->stop['\n'] = c->stop['\r'] = c->stop[0] = 1;
    unsigned char d = (unsigned char)c->opts.delim;
    /* NMDI_CSV_SLOW: every record byte by byte (tests compare both paths) */
    c->fast = d != '"' && d != '\r' && d != '\n' && d != 0 && !getenv("NMDI_CSV_SLOW");
}

/* ---- fast path ------------------------------------------------------------------
 * A record that lies whole in the buffer, ends with LF or CRLF and holds no
 * '"', no other CR and no NUL is copied at once and split at its
 * delimiters, found 16 bytes at a time (SSE2 where available, the same
 * masks computed byte by byte elsewhere). Any other record takes the
 * byte-level path below, which also reports every error: both give the same
 * fields, lines and errors. */
#define FAST_MAX 4096 /* longest record taken by the fast path */

typedef struct scan_masks {
    unsigned lf, cr, bad, dl, hi; /* bit i: byte i is LF, CR, '"' or NUL, the delimiter, >= 0x80 */
} scan_masks;

#if defined(__SSE2__)
static inline scan_masks scan16(const unsigned char *p, unsigned char delim)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    scan_masks m;
    m.lf = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
    m.cr = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
    m.bad = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                     _mm_cmpeq_epi8(v, _mm_setzero_si128())));
    m.dl = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)delim)));
    m.hi = (unsigned)_mm_movemask_epi8(v);
    return m;
}
#else
static inline scan_masks scan16(const unsigned char *p, unsigned char delim)
{
    scan_masks m = {0, 0, 0, 0, 0};
    for (unsigned i = 0; i < 16; i++) {
        unsigned b = 1u << i;
        m.lf |= p[i] == '\n' ? b : 0;
        m.cr |= p[i] == '\r' ? b : 0;
        m.bad |= p[i] == '"' || p[i] == 0 ? b : 0;
        m.dl |= p[i] == delim ? b : 0;
        m.hi |= p[i] >= 0x80 ? b : 0;
    }
    return m;
}
#endif

static int field_room(nmdi_csv *c, size_t n);
static int rec_reserve(nmdi_csv *c, size_t n);

/* 1: a record was read (*ascii: whether all its bytes are ASCII); 0: take
 * the byte-level path (nothing consumed); -1: out of memory. */
static int fast_record(nmdi_csv *c, int *ascii)
{
    const unsigned char *b = c->buf + c->pos;
    size_t avail = c->len - c->pos;
    const unsigned char delim = (unsigned char)c->opts.delim;
    uint16_t dm[FAST_MAX / 16];
    unsigned hi = 0;
    size_t e = 0, crpos = SIZE_MAX;
    int found = 0;
    for (size_t i = 0; i < avail && i < FAST_MAX && !found; i += 16) {
        scan_masks m;
        unsigned valid = 0xFFFF;
        if (i + 16 <= avail) {
            m = scan16(b + i, delim);
        } else {
            unsigned char tmp[16];
            memset(tmp, 'a', sizeof tmp);
            memcpy(tmp, b + i, avail - i);
            m = scan16(tmp, delim);
            valid = (1u << (avail - i)) - 1;
        }
        m.lf &= valid;
        unsigned upto = valid;
        if (m.lf) {
            unsigned k = (unsigned)__builtin_ctz(m.lf);
            upto = (1u << k) - 1;
            e = i + k;
            found = 1;
        }
        if (m.bad & upto)
            return 0;
        unsigned cr = m.cr & upto;
        if (cr) {
            if ((cr & (cr - 1)) || crpos != SIZE_MAX)
                return 0; /* more than one CR */
            crpos = i + (unsigned)__builtin_ctz(cr);
        }
        hi |= m.hi & upto;
        dm[i / 16] = (uint16_t)(m.dl & upto);
    }
    if (!found)
        return 0;
    size_t end = e;
    if (crpos != SIZE_MAX) {
        if (crpos + 1 != e)
            return 0; /* a CR inside the line ends a record of its own */
        end = e - 1;
    }
    if (end == 0)
        return 0; /* a blank line */
    if (rec_reserve(c, end) || field_room(c, 64))
        return -1;
    memcpy(c->rec, b, end);
    c->rec[end] = 0;
    size_t start = 0, nf = 0;
    for (size_t k = 0; k * 16 < end; k++) {
        unsigned m = dm[k];
        while (m) {
            size_t p = k * 16 + (unsigned)__builtin_ctz(m);
            m &= m - 1;
            if (nf + 1 >= c->nf_cap && field_room(c, nf + 2))
                return -1;
            c->off[nf] = start;
            c->flen[nf] = p - start;
            c->quoted[nf++] = 0;
            c->rec[p] = 0;
            start = p + 1;
        }
    }
    c->off[nf] = start;
    c->flen[nf] = end - start;
    c->quoted[nf++] = 0;
    c->nf = nf;
    c->rec_len = end + 1;
    c->rec_line = c->line++;
    c->pos += e + 1;
    *ascii = hi == 0;
    return 1;
}

static int fill(nmdi_csv *c)
{
    if (c->eof)
        return 0;
    if (c->mem) {
        c->eof = 1;
        return 0;
    }
    c->consumed += c->len;
    c->len = fread(c->buf, 1, BUFSZ, c->f);
    c->pos = 0;
    if (c->len == 0) {
        c->eof = 1;
        return 0;
    }
    return 1;
}

/* next byte or -1 at EOF */
static inline int getb(nmdi_csv *c)
{
    if (c->pos >= c->len && !fill(c))
        return -1;
    return c->buf[c->pos++];
}

static inline int peekb(nmdi_csv *c)
{
    if (c->pos >= c->len && !fill(c))
        return -1;
    return c->buf[c->pos];
}

/* Room for n more bytes (and the NUL that ends a field) in the record. */
static int rec_reserve(nmdi_csv *c, size_t n)
{
    return nmdi_grow((void **)&c->rec, &c->rec_cap, c->rec_len + n + 2, 1, 4096);
}

static int rec_push(nmdi_csv *c, char ch)
{
    if (c->rec_len + 1 >= c->rec_cap && rec_reserve(c, 1))
        return -1;
    c->rec[c->rec_len++] = ch;
    return 0;
}

/* Room for n fields in the field arrays. */
static int field_room(nmdi_csv *c, size_t n)
{
    if (n > c->nf_cap) {
        size_t ncap = c->nf_cap ? c->nf_cap * 2 : 64;
        while (ncap < n)
            ncap *= 2;
        size_t *o = realloc(c->off, ncap * sizeof *o);
        if (!o)
            return -1;
        c->off = o;
        size_t *l = realloc(c->flen, ncap * sizeof *l);
        if (!l)
            return -1;
        c->flen = l;
        unsigned char *q = realloc(c->quoted, ncap);
        if (!q)
            return -1;
        c->quoted = q;
        c->nf_cap = ncap;
    }
    return 0;
}

static int field_begin(nmdi_csv *c)
{
    if (c->nf == c->nf_cap && field_room(c, c->nf + 1))
        return -1;
    c->off[c->nf] = c->rec_len;
    c->quoted[c->nf] = 0;
    c->nf++;
    return 0;
}

static int field_end(nmdi_csv *c)
{
    size_t i = c->nf - 1;
    c->flen[i] = c->rec_len - c->off[i];
    return rec_push(c, 0);
}

static char sniff(nmdi_csv *c)
{
    /* look at the first line in the buffer (skipping a BOM), outside quotes */
    static const char cands[] = {',', ';', '\t', '|'};
    size_t counts[4] = {0, 0, 0, 0};
    int inq = 0;
    for (size_t i = c->pos; i < c->len; i++) {
        unsigned char ch = c->buf[i];
        if (ch == '"')
            inq = !inq;
        else if (!inq && (ch == '\n' || ch == '\r'))
            break;
        else if (!inq)
            for (int k = 0; k < 4; k++)
                if (ch == (unsigned char)cands[k])
                    counts[k]++;
    }
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (counts[k] > counts[best])
            best = k;
    return cands[best];
}

int nmdi_csv_open_stream(nmdi_csv **out, FILE *f, const char *name, const nmdi_csv_opts *opts,
                         nmdi_error *err)
{
    nmdi_csv *c = calloc(1, sizeof *c);
    if (!c)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    c->f = f;
    c->name = strdup(name ? name : "-");
    c->buf = malloc(BUFSZ);
    if (!c->name || !c->buf) {
        nmdi_csv_close(c);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    if (opts)
        c->opts = *opts;
    else
        c->opts.check_utf8 = 1;
    c->line = 1;
    fill(c);
    if (ferror(f)) {
        int e = errno;
        nmdi_csv_close(c);
        return nmdi_error_at(err, NMDI_EDATA, name, 0, NULL, "cannot read: %s", strerror(e));
    }
    if (c->len >= 3 && c->buf[0] == 0xEF && c->buf[1] == 0xBB && c->buf[2] == 0xBF)
        c->pos = 3;
    if (!c->opts.delim)
        c->opts.delim = sniff(c);
    set_stops(c);
    *out = c;
    return 0;
}

int nmdi_csv_open_mem(nmdi_csv **out, const char *data, size_t len, const char *name,
                      const nmdi_csv_opts *opts, long first_line, nmdi_error *err)
{
    nmdi_csv *c = calloc(1, sizeof *c);
    if (!c)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    c->mem = 1;
    c->name = strdup(name ? name : "-");
    if (!c->name) {
        nmdi_csv_close(c);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    if (opts)
        c->opts = *opts;
    else
        c->opts.check_utf8 = 1;
    c->buf = (unsigned char *)(uintptr_t)data; /* read only: never written nor freed */
    c->len = len;
    c->line = first_line > 0 ? first_line : 1;
    if (!c->opts.delim)
        c->opts.delim = sniff(c);
    set_stops(c);
    *out = c;
    return 0;
}

int nmdi_csv_open(nmdi_csv **out, const char *path, const nmdi_csv_opts *opts, nmdi_error *err)
{
    if (strcmp(path, "-") == 0)
        return nmdi_csv_open_stream(out, stdin, "<stdin>", opts, err);
    FILE *f = fopen(path, "rb");
    if (!f)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot open: %s", strerror(errno));
    int rc = nmdi_csv_open_stream(out, f, path, opts, err);
    if (rc) {
        fclose(f);
        return rc;
    }
    (*out)->own = 1;
    return 0;
}

void nmdi_csv_close(nmdi_csv *c)
{
    if (!c)
        return;
    if (c->own && c->f)
        fclose(c->f);
    free(c->name);
    if (!c->mem)
        free(c->buf);
    free(c->rec);
    free(c->off);
    free(c->flen);
    free(c->quoted);
    free(c);
}

static void trim_field(nmdi_csv *c, size_t i)
{
    if (c->quoted[i])
        return;
    char *s = c->rec + c->off[i];
    size_t n = c->flen[i];
    size_t a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (a)
        memmove(s, s + a, n - a);
    s[n - a] = 0;
    c->flen[i] = n - a;
}

/* errors of nmdi_csv_next return -1 (a positive code would read as "a record") */
#define csv_fail(err, ...) (nmdi_error_at(err, __VA_ARGS__), -1)

int nmdi_csv_next(nmdi_csv *c, nmdi_error *err)
{
    const int delim = (unsigned char)c->opts.delim;
    for (;;) {
        c->rec_len = 0;
        c->nf = 0;
        int ascii = -1;
        if (c->fast && c->pos < c->len) {
            int r = fast_record(c, &ascii);
            if (r < 0)
                goto oom;
            if (r)
                goto fields;
        }
        int ch = getb(c);
        if (ch < 0)
            return 0;
        c->rec_line = c->line;
        /* skip blank lines: they hold no record */
        if (ch == '\n') {
            c->line++;
            continue;
        }
        if (ch == '\r') {
            if (peekb(c) == '\n')
                getb(c);
            c->line++;
            continue;
        }
        long col = 1;
        if (field_begin(c))
            goto oom;
        for (;;) {
            if (ch == 0) {
                return csv_fail(err, NMDI_EDATA, c->name, c->line, NULL,
                                     "column %ld: NUL byte: this looks like a binary file, not CSV",
                                     col);
            }
            if (ch == '"' && c->rec_len == c->off[c->nf - 1] && !c->quoted[c->nf - 1]) {
                /* quoted field */
                c->quoted[c->nf - 1] = 1;
                long qline = c->line;
                for (;;) {
                    /* a run of bytes that are neither '"', LF nor NUL: copied at once */
                    size_t i = c->pos;
                    while (i < c->len && c->buf[i] != '"' && c->buf[i] != '\n' && c->buf[i] != 0)
                        i++;
                    if (i > c->pos) {
                        if (rec_reserve(c, i - c->pos))
                            goto oom;
                        memcpy(c->rec + c->rec_len, c->buf + c->pos, i - c->pos);
                        c->rec_len += i - c->pos;
                        c->pos = i;
                    }
                    ch = getb(c);
                    if (ch < 0)
                        return csv_fail(err, NMDI_EDATA, c->name, qline, NULL,
                                             "column %ld: unterminated quoted field", col);
                    if (ch == '"') {
                        if (peekb(c) == '"') {
                            getb(c);
                            if (rec_push(c, '"'))
                                goto oom;
                            continue;
                        }
                        break;
                    }
                    if (ch == '\n')
                        c->line++;
                    if (ch == 0)
                        return csv_fail(err, NMDI_EDATA, c->name, c->line, NULL,
                                             "column %ld: NUL byte: this looks like a binary "
                                             "file, not CSV", col);
                    if (rec_push(c, (char)ch))
                        goto oom;
                }
                ch = getb(c);
                if (ch >= 0 && ch != delim && ch != '\n' && ch != '\r') {
                    /* tolerate spaces after a closing quote */
                    while (ch == ' ' || ch == '\t')
                        ch = getb(c);
                    if (ch >= 0 && ch != delim && ch != '\n' && ch != '\r')
                        return csv_fail(err, NMDI_EDATA, c->name, c->line, NULL,
                                             "column %ld: text after the closing quote of a "
                                             "quoted field", col);
                }
                continue; /* reprocess ch as a separator */
            }
            if (ch < 0 || ch == '\n' || ch == '\r') {
                if (field_end(c))
                    goto oom;
                if (ch == '\r' && peekb(c) == '\n')
                    getb(c);
                if (ch >= 0)
                    c->line++;
                break;
            }
            if (ch == delim) {
                if (field_end(c) || field_begin(c))
                    goto oom;
                col++;
            } else {
                /* ch and the run of plain text after it in the buffer */
                size_t i = c->pos;
                while (i < c->len && !c->stop[c->buf[i]])
                    i++;
                size_t run = i - c->pos;
                if (rec_reserve(c, run + 1))
                    goto oom;
                c->rec[c->rec_len++] = (char)ch;
                memcpy(c->rec + c->rec_len, c->buf + c->pos, run);
                c->rec_len += run;
                c->pos = i;
            }
            ch = getb(c);
        }
    fields:
        /* a record of ASCII bytes only is valid UTF-8: checked 8 bytes at a time */
        if (c->opts.check_utf8 && ascii < 0) {
            uint64_t acc = 0, w;
            size_t k = 0;
            for (; k + 8 <= c->rec_len; k += 8) {
                memcpy(&w, c->rec + k, 8);
                acc |= w;
            }
            for (; k < c->rec_len; k++)
                acc |= (unsigned char)c->rec[k];
            ascii = (acc & 0x8080808080808080ULL) == 0;
        }
        for (size_t i = 0; i < c->nf; i++) {
            if (c->opts.trim)
                trim_field(c, i);
            size_t bad;
            if (c->opts.check_utf8 && ascii != 1 && !nmdi_utf8_valid(c->rec + c->off[i], c->flen[i], &bad))
                return csv_fail(err, NMDI_EDATA, c->name, c->rec_line, NULL,
                                     "column %zu: invalid UTF-8 (byte %zu of the field)", i + 1,
                                     bad + 1);
        }
        return 1;
    }
oom:
    nmdi_error_set(err, NMDI_EINTERNAL, "out of memory reading %s", c->name);
    return -1;
}

size_t nmdi_csv_nfields(const nmdi_csv *c) { return c->nf; }
const char *nmdi_csv_field(const nmdi_csv *c, size_t i) { return c->rec + c->off[i]; }
size_t nmdi_csv_field_len(const nmdi_csv *c, size_t i) { return c->flen[i]; }
long nmdi_csv_line(const nmdi_csv *c) { return c->rec_line; }
long nmdi_csv_next_line(const nmdi_csv *c) { return c->line; }
uint64_t nmdi_csv_bytes(const nmdi_csv *c) { return c->consumed + c->pos; }
char nmdi_csv_delim(const nmdi_csv *c) { return c->opts.delim; }
const char *nmdi_csv_name(const nmdi_csv *c) { return c->name; }

/* ---- writer ------------------------------------------------------------------ */

void nmdi_csv_put(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void nmdi_csv_put_row(FILE *f, size_t n, const char *const *fields)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        nmdi_csv_put(f, fields[i]);
    }
    fputc('\n', f);
}

/* ---- table --------------------------------------------------------------------- */

int nmdi_table_read_csv(nmdi_table **out, const char *path, const nmdi_csv_opts *opts,
                        nmdi_error *err)
{
    nmdi_csv *c;
    int rc = nmdi_csv_open(&c, path, opts, err);
    if (rc)
        return rc;
    nmdi_table *t = calloc(1, sizeof *t);
    nmdi_arena *a = nmdi_arena_new(1 << 20);
    if (!t || !a) {
        free(t);
        nmdi_arena_free(a);
        nmdi_csv_close(c);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    t->arena = a;
    t->path = nmdi_arena_strdup(a, path);
    rc = nmdi_csv_next(c, err);
    if (rc <= 0) {
        if (rc == 0)
            nmdi_error_at(err, NMDI_EDATA, path, 1, NULL, "empty file: no header line");
        nmdi_csv_close(c);
        nmdi_table_free(t);
        return err->code;
    }
    t->ncols = nmdi_csv_nfields(c);
    t->names = nmdi_arena_calloc(a, t->ncols, sizeof(char *));
    for (size_t i = 0; i < t->ncols; i++) {
        const char *s = nmdi_csv_field(c, i);
        size_t n = nmdi_csv_field_len(c, i);
        if (opts && opts->trim)
            nmdi_str_trim(&s, &n);
        t->names[i] = nmdi_arena_strndup(a, s, n);
    }
    size_t cap = 1024;
    const char **cells = malloc(cap * t->ncols * sizeof *cells);
    long *lines = malloc(cap * sizeof *lines);
    size_t n = 0;
    rc = 0;
    while (cells && lines && (rc = nmdi_csv_next(c, err)) == 1) {
        if (nmdi_csv_nfields(c) != t->ncols) {
            nmdi_error_at(err, NMDI_EDATA, path, nmdi_csv_line(c), NULL,
                          "expected %zu fields as in the header, found %zu", t->ncols,
                          nmdi_csv_nfields(c));
            rc = -1;
            break;
        }
        if (n == cap) {
            cap *= 2;
            const char **nc = realloc(cells, cap * t->ncols * sizeof *cells);
            long *nl = realloc(lines, cap * sizeof *lines);
            if (nc)
                cells = nc;
            if (nl)
                lines = nl;
            if (!nc || !nl) {
                nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                rc = -1;
                break;
            }
        }
        for (size_t i = 0; i < t->ncols; i++) {
            const char *s = nmdi_csv_field(c, i);
            size_t len = nmdi_csv_field_len(c, i);
            char *v = len ? nmdi_arena_strndup(a, s, len) : (char *)"";
            if (!v) {
                nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                rc = -1;
                break;
            }
            cells[n * t->ncols + i] = v;
        }
        if (rc < 0)
            break;
        lines[n] = nmdi_csv_line(c);
        n++;
    }
    nmdi_csv_close(c);
    if (!cells || !lines || rc < 0) {
        if (!cells || !lines)
            nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        free(cells);
        free(lines);
        nmdi_table_free(t);
        return err->code ? err->code : NMDI_EINTERNAL;
    }
    /* move the row arrays into the arena so the table has one owner */
    t->nrows = n;
    t->cells = nmdi_arena_alloc(a, (n ? n : 1) * t->ncols * sizeof *cells + 1);
    t->lines = nmdi_arena_alloc(a, (n ? n : 1) * sizeof *lines);
    if (!t->cells || !t->lines) {
        free(cells);
        free(lines);
        nmdi_table_free(t);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    if (n) {
        memcpy((void *)t->cells, cells, n * t->ncols * sizeof *cells);
        memcpy(t->lines, lines, n * sizeof *lines);
    }
    free(cells);
    free(lines);
    *out = t;
    return 0;
}

int nmdi_table_col(const nmdi_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->names[i], name) == 0)
            return (int)i;
    return -1;
}

void nmdi_table_free(nmdi_table *t)
{
    if (!t)
        return;
    nmdi_arena_free(t->arena);
    free(t);
}
