/* fuzz_csv.c — libFuzzer target: the CSV reader (nmdi/csv.h) on arbitrary
 * bytes, with the delimiter, UTF-8 check and trimming chosen by the first
 * byte. Every record must be readable; errors must name a line >= 1. */
#include "nmdi/csv.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

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
    return 0;
}
