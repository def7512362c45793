/*
 * compare.c — the string and date comparators of record linkage: Jaro and
 * Jaro–Winkler (Winkler 1990), Levenshtein and Damerau (optimal string
 * alignment) distances, q-gram Jaccard similarity, American Soundex, value
 * normalisation and a lenient date parser. All functions are pure and use
 * only stack memory (no allocation per comparison): strings are capped at
 * NMDI_LINK_MAXLEN bytes.
 */
#include "nmdi/link.h"

#include <string.h>

static inline size_t cap(size_t n);

/* Damerau (OSA) distance when it is at most k, else k+1: only the band
 * |i-j| <= k of the table is computed, and the row minimum stops it early. */
int nmdi_link_damerau_max(const char *a, size_t la, const char *b, size_t lb, int k)
{
    if (la > NMDI_LINK_MAXLEN)
        la = NMDI_LINK_MAXLEN;
    if (lb > NMDI_LINK_MAXLEN)
        lb = NMDI_LINK_MAXLEN;
    int big = k + 1;
    if ((la > lb ? la - lb : lb - la) > (size_t)k)
        return big;
    int r0[NMDI_LINK_MAXLEN + 1], r1[NMDI_LINK_MAXLEN + 1], r2[NMDI_LINK_MAXLEN + 1];
    int *pp = r0, *prev = r1, *cur = r2;
    for (size_t j = 0; j <= lb; j++) {
        prev[j] = j <= (size_t)k ? (int)j : big;
        pp[j] = big;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t lo = i > (size_t)k ? i - (size_t)k : 1;
        size_t hi = i + (size_t)k < lb ? i + (size_t)k : lb;
        cur[0] = i <= (size_t)k ? (int)i : big;
        if (lo > 1)
            cur[lo - 1] = big;
        int rowmin = cur[0];
        for (size_t j = lo; j <= hi; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = prev[j - 1] + cost;
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            if (v > big)
                v = big;
            cur[j] = v;
            if (v < rowmin)
                rowmin = v;
        }
        if (hi < lb)
            cur[hi + 1] = big;
        if (rowmin > k)
            return big;
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb] > k ? big : prev[lb];
}

static inline size_t cap(size_t n)
{
    return n > NMDI_LINK_MAXLEN ? NMDI_LINK_MAXLEN : n;
}

double nmdi_link_jaro(const char *a, size_t la, const char *b, size_t lb)
{
    la = cap(la);
    lb = cap(lb);
    if (la == 0 && lb == 0)
        return 1.0;
    if (la == 0 || lb == 0)
        return 0.0;
    size_t lmax = la > lb ? la : lb;
    size_t win = lmax / 2;
    win = win > 0 ? win - 1 : 0;
    unsigned char fa[NMDI_LINK_MAXLEN], fb[NMDI_LINK_MAXLEN];
    memset(fa, 0, la);
    memset(fb, 0, lb);
    size_t m = 0;
    for (size_t i = 0; i < la; i++) {
        size_t lo = i > win ? i - win : 0;
        size_t hi = i + win + 1 < lb ? i + win + 1 : lb;
        for (size_t j = lo; j < hi; j++) {
            if (!fb[j] && a[i] == b[j]) {
                fa[i] = fb[j] = 1;
                m++;
                break;
            }
        }
    }
    if (m == 0)
        return 0.0;
    size_t t = 0, k = 0;
    for (size_t i = 0; i < la; i++) {
        if (!fa[i])
            continue;
        while (!fb[k])
            k++;
        if (a[i] != b[k])
            t++;
        k++;
    }
    double dm = (double)m;
    return (dm / (double)la + dm / (double)lb + (dm - (double)t / 2.0) / dm) / 3.0;
}

double nmdi_link_jaro_winkler(const char *a, size_t la, const char *b, size_t lb)
{
    double j = nmdi_link_jaro(a, la, b, lb);
    if (j <= 0.7)
        return j;
    size_t l = 0;
    while (l < 4 && l < la && l < lb && a[l] == b[l])
        l++;
    return j + (double)l * 0.1 * (1.0 - j);
}

int nmdi_link_levenshtein(const char *a, size_t la, const char *b, size_t lb)
{
    la = cap(la);
    lb = cap(lb);
    int row[NMDI_LINK_MAXLEN + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int v = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
        }
    }
    return row[lb];
}

int nmdi_link_damerau(const char *a, size_t la, const char *b, size_t lb)
{
    la = cap(la);
    lb = cap(lb);
    int r0[NMDI_LINK_MAXLEN + 1], r1[NMDI_LINK_MAXLEN + 1], r2[NMDI_LINK_MAXLEN + 1];
    int *pp = r0, *prev = r1, *cur = r2; /* rows i-2, i-1, i */
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = prev[j - 1] + cost;
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
        }
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

/* Sorted distinct q-grams of s packed into integers; returns their count. */
static size_t qgrams(const char *s, size_t n, int q, uint32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i + (size_t)q <= n; i++) {
        uint32_t g = 0;
        for (int j = 0; j < q; j++)
            g = (g << 8) | (unsigned char)s[i + (size_t)j];
        out[k++] = g;
    }
    /* insertion sort: short arrays */
    for (size_t i = 1; i < k; i++) {
        uint32_t v = out[i];
        size_t j = i;
        while (j > 0 && out[j - 1] > v) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = v;
    }
    size_t d = 0;
    for (size_t i = 0; i < k; i++)
        if (d == 0 || out[d - 1] != out[i])
            out[d++] = out[i];
    return d;
}

double nmdi_link_qgram_jaccard(const char *a, size_t la, const char *b, size_t lb, int q)
{
    if (q < 1)
        q = 1;
    if (q > 4)
        q = 4;
    la = cap(la);
    lb = cap(lb);
    if (la < (size_t)q || lb < (size_t)q)
        return (la == lb && memcmp(a, b, la) == 0) ? 1.0 : 0.0;
    uint32_t ga[NMDI_LINK_MAXLEN], gb[NMDI_LINK_MAXLEN];
    size_t na = qgrams(a, la, q, ga), nb = qgrams(b, lb, q, gb);
    size_t i = 0, j = 0, inter = 0;
    while (i < na && j < nb) {
        if (ga[i] == gb[j]) {
            inter++;
            i++;
            j++;
        } else if (ga[i] < gb[j]) {
            i++;
        } else {
            j++;
        }
    }
    return (double)inter / (double)(na + nb - inter);
}

int nmdi_link_soundex(const char *s, size_t len, char out[5])
{
    /* a..z; '0' = vowel-like separator; H and W handled apart */
    static const char code[27] = "01230120022455012623010202";
    size_t i = 0;
    int c = 0;
    for (; i < len; i++) {
        c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        if (c >= 'a' && c <= 'z')
            break;
    }
    if (i == len) {
        out[0] = 0;
        return 0;
    }
    out[0] = (char)(c - 32);
    char prev = code[c - 'a'];
    int n = 1;
    for (i++; i < len && n < 4; i++) {
        c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        if (c < 'a' || c > 'z')
            continue;
        if (c == 'h' || c == 'w')
            continue;
        char d = code[c - 'a'];
        if (d == '0') {
            prev = '0';
            continue;
        }
        if (d != prev)
            out[n++] = d;
        prev = d;
    }
    while (n < 4)
        out[n++] = '0';
    out[4] = 0;
    return 4;
}

/* ASCII transliteration of the Latin-1 letters U+00C0..U+00FF (UTF-8 C3 xx):
 * German umlauts as digraphs (ü -> ue, as on travel documents, ICAO 9303),
 * other accents dropped; "" = not a letter. */
static const char *const LATIN1[64] = {
    "a", "a", "a", "a", "ae", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "oe", "",  "oe", "u", "u", "u", "ue", "y", "th", "ss",
    "a", "a", "a", "a", "ae", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "oe", "",  "oe", "u", "u", "u", "ue", "y", "th", "y"};

size_t nmdi_link_normalise(const char *s, size_t len, char *out, size_t size)
{
    size_t n = 0;
    int space = 0;
    if (size == 0)
        return 0;
    for (size_t i = 0; i < len && n + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0xC3 && i + 1 < len && ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
            const char *t = LATIN1[(unsigned char)s[i + 1] & 0x3F];
            i++;
            if (!*t) {
                space = 1;
                continue;
            }
            if (space && n > 0 && n + 2 < size)
                out[n++] = ' ';
            space = 0;
            for (; *t && n + 1 < size; t++)
                out[n++] = *t;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        int keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
        if (!keep) {
            space = 1;
            continue;
        }
        if (space && n > 0 && n + 2 < size)
            out[n++] = ' ';
        space = 0;
        out[n++] = (char)c;
    }
    out[n] = 0;
    return n;
}

static int digits(const char *s, size_t n, int *v)
{
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 1;
}

int nmdi_link_date_parse(const char *s, size_t len, int *y, int *m, int *d)
{
    int ok = 0;
    if (len == 8 && digits(s, 4, y) && digits(s + 4, 2, m) && digits(s + 6, 2, d))
        ok = 1;
    else if (len == 10 && (s[4] == '-' || s[4] == '/') && s[7] == s[4] && digits(s, 4, y) &&
             digits(s + 5, 2, m) && digits(s + 8, 2, d))
        ok = 1;
    else if (len == 10 && (s[2] == '/' || s[2] == '.') && s[5] == s[2] && digits(s, 2, d) &&
             digits(s + 3, 2, m) && digits(s + 6, 4, y))
        ok = 1;
    if (!ok)
        return -1;
    return nmdi_date_valid_ymd(*y, *m, *d) ? 1 : 0;
}
