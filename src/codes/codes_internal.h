/* codes_internal.h — tables shared inside src/codes (generated data). */
#ifndef NMDI_CODES_INTERNAL_H
#define NMDI_CODES_INTERNAL_H
#include "nmdi/codes.h"
extern const nmdi_country nmdi_codes_country_table[];
extern const size_t nmdi_codes_country_count;
extern const nmdi_code nmdi_codes_region_table[];
extern const size_t nmdi_codes_region_count;
#endif
