/* fuzz_sdmx_key.c — libFuzzer target for the SDMX key and time-period parsers
 * (src/publish/query.c). Build (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -Iinclude \
 *     $(pkg-config --cflags libxml-2.0) tests/fuzz/fuzz_sdmx_key.c src/core/*.c \
 *     src/publish/*.c src/codes/*.c src/estimate/cube.c \
 *     -o build/fuzz_sdmx_key $(pkg-config --libs libxml-2.0 jansson libsodium) -lm */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nmdi/publish.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    nmdi_arena *a = nmdi_arena_new(4096);
    nmdi_sdmx_key k;
    nmdi_error err;
    if (nmdi_sdmx_key_parse(s, a, &k, &err) == 0)
        for (size_t d = 0; d < k.ndims; d++)
            for (size_t j = 0; j < k.parts[d].n; j++)
                if (!k.parts[d].codes[j][0])
                    abort();
    nmdi_date f, l;
    if (nmdi_sdmx_period(s, &f, &l) == 0 && f > l)
        abort();
    nmdi_arena_free(a);
    free(s);
    return 0;
}
