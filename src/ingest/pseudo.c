/*
 * pseudo.c — pseudonymisation at ingest: the infrastructure key
 * (DIR/secrets/key), keyed hashes of normalised identifiers for exact
 * linkage (BLAKE2b keyed with the infrastructure key, domain-separated),
 * keyed phonetic codes and keyed bigram Bloom filters for approximate
 * linkage, and the per-person record key of the cell key method.
 * The threat model is in docs/privacy.md.
 */
#include "nmdi/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nmdi_pseudo_key_create(const char *dir, nmdi_error *err)
{
    if (sodium_init() < 0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "libsodium failed to initialise");
    char path[4096];
    snprintf(path, sizeof path, "%s/secrets", dir);
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot create: %s", strerror(errno));
    if (chmod(path, 0700) < 0)
        return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot chmod: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/secrets/key", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot create the key: %s",
                             strerror(errno));
    unsigned char key[NMDI_KEY_BYTES];
    randombytes_buf(key, sizeof key);
    ssize_t w = write(fd, key, sizeof key);
    sodium_memzero(key, sizeof key);
    int bad = w != (ssize_t)sizeof key || fsync(fd) < 0;
    int e = errno;
    close(fd);
    if (bad) {
        unlink(path);
        return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot write the key: %s",
                             strerror(e));
    }
    return 0;
}

int nmdi_pseudo_key_load(const char *dir, unsigned char key[NMDI_KEY_BYTES], nmdi_error *err)
{
    if (sodium_init() < 0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "libsodium failed to initialise");
    char path[4096];
    snprintf(path, sizeof path, "%s/secrets/key", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot open the pseudonymisation key: %s",
                             strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || (st.st_mode & 077)) {
        close(fd);
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL,
                             "the pseudonymisation key must be readable by its owner only "
                             "(chmod 600)");
    }
    ssize_t r = read(fd, key, NMDI_KEY_BYTES);
    char extra;
    ssize_t r2 = read(fd, &extra, 1);
    close(fd);
    if (r != NMDI_KEY_BYTES || r2 != 0) {
        sodium_memzero(key, NMDI_KEY_BYTES);
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "the key must be exactly %d bytes",
                             NMDI_KEY_BYTES);
    }
    return 0;
}

int64_t nmdi_pseudo_hash(const unsigned char key[NMDI_KEY_BYTES], const char *domain,
                         const char *s, size_t len)
{
    crypto_generichash_state st;
    unsigned char h[16];
    crypto_generichash_init(&st, key, NMDI_KEY_BYTES, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
    crypto_generichash_update(&st, (const unsigned char *)s, len);
    crypto_generichash_final(&st, h, sizeof h);
    int64_t v;
    memcpy(&v, h, sizeof v);
    if (v == NMDI_I64_NONE)
        v = NMDI_I64_NONE + 1;
    return v;
}

double nmdi_pseudo_record_key(const unsigned char key[NMDI_KEY_BYTES], int64_t person_key)
{
    unsigned char buf[8];
    memcpy(buf, &person_key, 8);
    int64_t h = nmdi_pseudo_hash(key, "record_key", (const char *)buf, 8);
    return (double)((uint64_t)h >> 11) * 0x1.0p-53;
}

/* Fold a Latin-1 supplement / Latin Extended-A letter (2-byte UTF-8) to ASCII. */
static char fold_latin(unsigned c1, unsigned c2)
{
    unsigned cp = ((c1 & 0x1F) << 6) | (c2 & 0x3F);
    static const char l1[] = /* U+00C0 .. U+00FF */
        "AAAAAAACEEEEIIIIDNOOOOO*OUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty";
    if (cp >= 0xC0 && cp <= 0xFF) {
        char ch = l1[cp - 0xC0];
        return ch == '*' || ch == '/' ? 0 : ch;
    }
    if (cp >= 0x100 && cp <= 0x17F) {
        static const char ea[] = "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlLlLlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";
        return ea[cp - 0x100];
    }
    return 0;
}

size_t nmdi_pseudo_normalise(const char *kind, const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return 0;
    int name = strcmp(kind, "name") == 0, doc = strcmp(kind, "document") == 0;
    if (!name && !doc) {
        nmdi_str_trim(&s, &len);
        n = len < cap - 1 ? len : cap - 1;
        memcpy(out, s, n);
        out[n] = 0;
        return n;
    }
    int space = 0;
    for (size_t i = 0; i < len && n < cap - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        char a = 0;
        if (c < 0x80) {
            a = (char)c;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < len) {
            a = fold_latin(c, (unsigned char)s[i + 1]);
            if (!a) { /* other scripts: keep the bytes as they are */
                if (n + 2 < cap) {
                    if (space && n) out[n++] = ' ';
                    space = 0;
                    out[n++] = (char)c;
                    out[n++] = s[i + 1];
                }
                i++;
                continue;
            }
            i++;
        } else {
            /* 3- and 4-byte sequences (CJK, ...): keep them */
            size_t k = (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            if (space && n && n < cap - 1) out[n++] = ' ';
            space = 0;
            for (size_t j = 0; j < k && i + j < len && n < cap - 1; j++)
                out[n++] = s[i + j];
            i += k - 1;
            continue;
        }
        if (a >= 'a' && a <= 'z')
            a = (char)(a - 'a' + 'A');
        int alnum = (a >= 'A' && a <= 'Z') || (a >= '0' && a <= '9');
        if (!alnum) {
            if (name)
                space = 1;
            continue;
        }
        if (space && n && name && n < cap - 1)
            out[n++] = ' ';
        space = 0;
        if (n < cap - 1)
            out[n++] = a;
    }
    out[n] = 0;
    return n;
}

void nmdi_pseudo_phonetic(const char *norm, char out[5])
{
    /* American Soundex over the ASCII letters of the normalised name */
    static const char code[] = "01230120022455012623010202"; /* A..Z */
    size_t n = 0;
    char last = 0;
    for (const char *p = norm; *p && n < 4; p++) {
        char c = *p;
        if (c < 'A' || c > 'Z') {
            if (c == ' ')
                last = 0;
            continue;
        }
        char d = code[c - 'A'];
        if (n == 0) {
            out[n++] = c;
            last = d;
            continue;
        }
        if (c == 'H' || c == 'W')
            continue;
        if (d != '0' && d != last)
            out[n++] = d;
        last = d;
    }
    if (n == 0)
        out[n++] = '_';
    while (n < 4)
        out[n++] = '0';
    out[4] = 0;
}

void nmdi_pseudo_qgram(const unsigned char key[NMDI_KEY_BYTES], const char *norm,
                       unsigned char out[NMDI_QGRAM_BYTES])
{
    /* bigrams of " NAME " (padded), each set in k=2 positions of a keyed
     * Bloom filter of NMDI_QGRAM_BYTES*8 bits */
    memset(out, 0, NMDI_QGRAM_BYTES);
    size_t len = strlen(norm);
    char buf[260];
    if (len > 256)
        len = 256;
    buf[0] = ' ';
    memcpy(buf + 1, norm, len);
    buf[len + 1] = ' ';
    for (size_t i = 0; i + 1 < len + 2; i++) {
        int64_t h = nmdi_pseudo_hash(key, "qgram", buf + i, 2);
        uint64_t u = (uint64_t)h;
        for (int k = 0; k < 2; k++) {
            unsigned bit = (unsigned)((u >> (k * 32)) % (NMDI_QGRAM_BYTES * 8));
            out[bit / 8] |= (unsigned char)(1u << (bit % 8));
        }
    }
}
