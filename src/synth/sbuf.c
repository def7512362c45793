/* sbuf.c — growable text buffers the generator writes CSV rows into, one per
 * output file and chunk, and the agencies' date formats. */
#include "synth_int.h"

#include <stdarg.h>
#include <stdlib.h>

void sb_free(sbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void sb_reserve(sbuf *b, size_t extra)
{
    if (b->oom || b->n + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return;
    }
    b->p = p;
    b->cap = cap;
}

void sb_puts(sbuf *b, const char *s)
{
    size_t l = strlen(s);
    sb_reserve(b, l);
    if (b->oom)
        return;
    memcpy(b->p + b->n, s, l);
    b->n += l;
}

void sb_str(sbuf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        sb_puts(b, s);
        return;
    }
    sb_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            sb_putc(b, '"');
        sb_putc(b, *s);
    }
    sb_putc(b, '"');
}

void sb_int(sbuf *b, long long v)
{
    char tmp[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        sb_putc(b, '-');
    while (n)
        sb_putc(b, tmp[--n]);
}

void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int l = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (l < 0)
        return;
    sb_reserve(b, (size_t)l + 1);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)l + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)l;
}

static void two(sbuf *b, int v)
{
    sb_putc(b, (char)('0' + v / 10));
    sb_putc(b, (char)('0' + v % 10));
}

void sb_date(sbuf *b, nmdi_date d, int fmt)
{
    if (d == NMDI_DATE_NONE)
        return;
    int y, m, dd;
    nmdi_date_to_ymd(d, &y, &m, &dd);
    switch (fmt) {
    case DF_DMY_DOT:
    case DF_DMY_SLASH:
        two(b, dd);
        sb_putc(b, fmt == DF_DMY_DOT ? '.' : '/');
        two(b, m);
        sb_putc(b, fmt == DF_DMY_DOT ? '.' : '/');
        sb_int(b, y);
        break;
    case DF_MDY_SLASH:
        two(b, m);
        sb_putc(b, '/');
        two(b, dd);
        sb_putc(b, '/');
        sb_int(b, y);
        break;
    case DF_YMD:
        sb_int(b, y);
        two(b, m);
        two(b, dd);
        break;
    default:
        sb_int(b, y);
        sb_putc(b, '-');
        two(b, m);
        sb_putc(b, '-');
        two(b, dd);
    }
}
