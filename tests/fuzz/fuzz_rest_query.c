/* fuzz_rest_query.c — libFuzzer target for the SDMX REST request parser and
 * content negotiation (src/serve/rest.c). The input is split at the first
 * two newlines into path, query string (k=v&k=v) and Accept header. Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -Iinclude \
 *     $(pkg-config --cflags libxml-2.0) tests/fuzz/fuzz_rest_query.c src/core/*.c \
 *     src/publish/*.c src/codes/*.c src/serve/rest.c src/estimate/cube.c \
 *     -o build/fuzz_rest_query $(pkg-config --libs libxml-2.0 jansson libsodium) -lm */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nmdi/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    char *path = s, *qs = strchr(s, '\n'), *accept = NULL;
    if (qs) {
        *qs++ = 0;
        accept = strchr(qs, '\n');
        if (accept)
            *accept++ = 0;
    }
    nmdi_kv kv[16];
    size_t n = 0;
    for (char *p = qs, *save = NULL, *tok; p && n < 16 && (tok = strtok_r(p, "&", &save)); p = NULL) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq++ = 0;
        kv[n].key = tok;
        kv[n].value = eq ? eq : "";
        n++;
    }
    nmdi_arena *a = nmdi_arena_new(4096);
    nmdi_rest_query q;
    nmdi_error err;
    int st = nmdi_rest_parse(path, kv, n, a, &q, &err);
    if (st != 0 && st != 400 && st != 404 && st != 414 && st != 501)
        abort();
    for (int k = 0; k < 3; k++)
        (void)nmdi_rest_negotiate(k, NULL, accept);
    nmdi_arena_free(a);
    free(s);
    return 0;
}
