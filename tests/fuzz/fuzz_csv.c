/* fuzz_csv.c — libFuzzer target: the CSV reader (nmdi/csv.h) on arbitrary
 * bytes, with the delimiter, UTF-8 check and trimming chosen by the first
 * byte. Every record must be readable; errors must name a line >= 1. The
 * memory reader must read what the stream reader reads, with and without
 * its fast path (NMDI_CSV_SLOW), and a cut of nmdi_blocks_cut() (the block
 * pipeline of `nmdi load`) must split the text into two parts that read as
 * the whole. */
#include "nmdi/csv.h"
#include "../../src/ingest/ingest_impl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A running digest of records, fields, lines and the final error. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* Reads d[0..n) from line0 on into *h; 0 at a clean end, -1 on an error
 * (its line and message digested too); *next: the line after the text. */
static int trace(const char *d, size_t n, const nmdi_csv_opts *o, long line0, uint64_t *h, long *next)
{
    nmdi_csv *c;
    nmdi_error err;
    if (nmdi_csv_open_mem(&c, d, n, "fuzz.csv", o, line0, &err))
        return -2;
    int r;
    while ((r = nmdi_csv_next(c, &err)) > 0) {
        long line = nmdi_csv_line(c);
        size_t nf = nmdi_csv_nfields(c);
        *h = mix(*h, &line, sizeof line);
        *h = mix(*h, &nf, sizeof nf);
        for (size_t i = 0; i < nf; i++) {
            size_t len = nmdi_csv_field_len(c, i);
            *h = mix(*h, &len, sizeof len);
            *h = mix(*h, nmdi_csv_field(c, i), len);
        }
    }
    if (r < 0) {
        *h = mix(*h, &err.line, sizeof err.line);
        *h = mix(*h, err.msg, strlen(err.msg));
    }
    *next = nmdi_csv_next_line(c);
    nmdi_csv_close(c);
    return r < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size == 0)
        return 0;
    static const char delims[] = {0, ',', ';', '\t', '|'};
    nmdi_csv_opts o = {delims[data[0] % 5], (data[0] >> 3) & 1, (data[0] >> 4) & 1};
    FILE *f = fmemopen((void *)(data + 1), size - 1 ? size - 1 : 1, "rb");
    if (!f)
        return 0;
    if (size == 1) {
        fclose(f);
        return 0;
    }
    nmdi_csv *c;
    nmdi_error err;
    if (nmdi_csv_open_stream(&c, f, "fuzz.csv", &o, &err) == 0) {
        int r;
        size_t total = 0;
        while ((r = nmdi_csv_next(c, &err)) > 0) {
            for (size_t i = 0; i < nmdi_csv_nfields(c); i++) {
                const char *s = nmdi_csv_field(c, i);
                assert(strlen(s) <= nmdi_csv_field_len(c, i));
                total += nmdi_csv_field_len(c, i);
            }
            assert(nmdi_csv_line(c) >= 1);
        }
        if (r < 0)
            assert(err.line >= 1 || err.file[0]);
        assert(total <= size);
        nmdi_csv_close(c);
    }
    fclose(f);
    if (o.delim) {
        const char *d = (const char *)data + 1;
        size_t n = size - 1;
        uint64_t fast = 14695981039346656037ULL, slow = fast;
        long next;
        int rf = trace(d, n, &o, 1, &fast, &next);
        setenv("NMDI_CSV_SLOW", "1", 1);
        int rs = trace(d, n, &o, 1, &slow, &next);
        unsetenv("NMDI_CSV_SLOW");
        assert(rf == rs && fast == slow);
        size_t cut = nmdi_blocks_cut(d, n, o.delim);
        assert(cut <= n);
        if (rf == 0) {
            assert(nmdi_blocks_lines(d, n, o.delim) == next - 1);
            assert(cut < n || d[n - 1] == '\n');
        }
        if (rf == 0 && cut > 0) {
            uint64_t parts = 14695981039346656037ULL;
            long next1, next2;
            assert(trace(d, cut, &o, 1, &parts, &next1) == 0);
            assert(trace(d + cut, n - cut, &o, next1, &parts, &next2) == 0);
            assert(parts == fast && next2 == next);
            assert(nmdi_blocks_lines(d, cut, o.delim) == next1 - 1);
        }
    }
    return 0;
}
