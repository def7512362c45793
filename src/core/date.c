/*
 * date.c — calendar dates as days since 1970-01-01 (proleptic Gregorian),
 * with strict ISO 8601 (YYYY-MM-DD) parsing and formatting. The conversion
 * uses the civil-from-days / days-from-civil algorithms (era of 400 years).
 */
#include "nmdi/core.h"

#include <string.h>

nmdi_date nmdi_date_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (nmdi_date)(era * 146097 + (int)doe - 719468);
}

void nmdi_date_to_ymd(nmdi_date z0, int *y, int *m, int *d)
{
    int z = z0 + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = (int)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (mm <= 2);
    *m = mm;
    *d = (int)dd;
}

int nmdi_date_valid_ymd(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int max = mdays[m - 1] + (m == 2 && leap);
    return d <= max;
}

int nmdi_date_parse(const char *s, size_t len, nmdi_date *out)
{
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    int v[3] = {0, 0, 0};
    static const int pos[3][2] = {{0, 4}, {5, 2}, {8, 2}};
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < pos[k][1]; i++) {
            char c = s[pos[k][0] + i];
            if (c < '0' || c > '9')
                return -1;
            v[k] = v[k] * 10 + (c - '0');
        }
    }
    if (!nmdi_date_valid_ymd(v[0], v[1], v[2]))
        return -1;
    *out = nmdi_date_from_ymd(v[0], v[1], v[2]);
    return 0;
}

void nmdi_date_format(nmdi_date date, char out[11])
{
    if (date == NMDI_DATE_NONE) {
        out[0] = 0;
        return;
    }
    int y, m, d;
    nmdi_date_to_ymd(date, &y, &m, &d);
    if (y < 0 || y > 9999) {
        out[0] = 0;
        return;
    }
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = 0;
}

int nmdi_date_year(nmdi_date date)
{
    int y, m, d;
    nmdi_date_to_ymd(date, &y, &m, &d);
    return y;
}
