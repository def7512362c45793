/*
 * error.c — error values with a location (file, line, field) and a message.
 * Library code never prints or exits: it fills an nmdi_error and returns
 * its code, and the caller (the CLI, the server, a test) decides what to do.
 */
#include "nmdi/core.h"

#include <string.h>

void nmdi_error_clear(nmdi_error *e)
{
    if (!e)
        return;
    memset(e, 0, sizeof *e);
}

static void set_msg(nmdi_error *e, const char *fmt, va_list ap)
{
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

int nmdi_error_set(nmdi_error *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    nmdi_error_clear(e);
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    set_msg(e, fmt, ap);
    va_end(ap);
    return code;
}

int nmdi_error_at(nmdi_error *e, int code, const char *file, long line, const char *field,
                  const char *fmt, ...)
{
    if (!e)
        return code;
    nmdi_error_clear(e);
    e->code = code;
    e->line = line;
    if (file)
        snprintf(e->file, sizeof e->file, "%s", file);
    if (field)
        snprintf(e->field, sizeof e->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    set_msg(e, fmt, ap);
    va_end(ap);
    return code;
}

void nmdi_error_format(const nmdi_error *e, char *buf, size_t size)
{
    size_t n = 0;
    if (size == 0)
        return;
    buf[0] = 0;
    if (e->file[0]) {
        if (e->line > 0)
            n += (size_t)snprintf(buf + n, size - n, "%s:%ld: ", e->file, e->line);
        else
            n += (size_t)snprintf(buf + n, size - n, "%s: ", e->file);
    }
    if (n < size && e->field[0])
        n += (size_t)snprintf(buf + n, size - n, "field '%s': ", e->field);
    if (n < size)
        snprintf(buf + n, size - n, "%s", e->msg[0] ? e->msg : "unknown error");
}
