/* fuzz_mapping.c — libFuzzer target: the configuration and the mapping of
 * sources onto record types (YAML tree, typed view, column/code/identifier
 * mapping, rule compilation via nmdi_ingest_check_config), then the rule
 * evaluator and the date parser on the same bytes. Errors must name a line. */
#include "nmdi/config.h"
#include "nmdi/ingest.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    nmdi_config *cfg;
    nmdi_error err;
    if (nmdi_config_parse(&cfg, (const char *)data, size, "fuzz.yaml", &err) == 0) {
        nmdi_ingest_check_config(cfg, &err);
        nmdi_config_free(cfg);
    } else {
        assert(err.code == NMDI_EDATA || err.code == NMDI_EINTERNAL);
    }
    /* date formats and values from the same bytes */
    if (size > 2) {
        size_t cut = data[0] % size;
        char fmt[64];
        size_t fl = cut < sizeof fmt - 1 ? cut : sizeof fmt - 1;
        memcpy(fmt, data, fl);
        fmt[fl] = 0;
        nmdi_date d;
        nmdi_ingest_parse_date(fmt, (const char *)data + cut, size - cut, &d);
        nmdi_ingest_parse_date(NULL, (const char *)data, size, &d);
        char norm[256];
        size_t n = nmdi_pseudo_normalise("name", (const char *)data, size, norm, sizeof norm);
        assert(n < sizeof norm && strlen(norm) == n);
        char ph[5];
        nmdi_pseudo_phonetic(norm, ph);
        assert(strlen(ph) == 4);
    }
    return 0;
}
