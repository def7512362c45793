/*
 * pseudo.c — pseudonymisation at ingest: the infrastructure key
 * (DIR/secrets/key), keyed hashes of normalised identifiers for exact
 * linkage (BLAKE2b keyed with the infrastructure key, domain-separated),
 * keyed phonetic codes and keyed bigram Bloom filters for approximate
 * linkage, and the per-person record key of the cell key method.
 * The threat model is in docs/privacy.md.
 */
#include "ingest_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
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
    /* the pseudonymisation scheme goes with the key: all deliveries of the
       infrastructure are hashed by the same function */
    snprintf(path, sizeof path, "%s/secrets/scheme", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot create: %s", strerror(errno));
    char txt[32];
    int n = snprintf(txt, sizeof txt, "%d\n", NMDI_PSEUDO_SIPHASH);
    bad = write(fd, txt, (size_t)n) != n || fsync(fd) < 0;
    e = errno;
    close(fd);
    if (bad) {
        unlink(path);
        return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot write: %s", strerror(e));
    }
    return 0;
}

int nmdi_pseudo_scheme_load(const char *dir, int *scheme, nmdi_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/secrets/scheme", dir);
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno != ENOENT)
            return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot open: %s", strerror(errno));
        *scheme = NMDI_PSEUDO_BLAKE2B; /* infrastructures initialised before the file existed */
        return 0;
    }
    char buf[32] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = 0;
    if (!strcmp(buf, "1") || !strcmp(buf, "2")) {
        *scheme = buf[0] - '0';
        return 0;
    }
    return nmdi_error_at(err, NMDI_EDATA, path, 1, NULL,
                         "unknown pseudonymisation scheme '%s' (1 = keyed BLAKE2b, 2 = SipHash-2-4)",
                         buf);
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

/* Scheme 2: SipHash-2-4 (crypto_shorthash) of the value under a per-domain
 * 128-bit subkey, the keyed BLAKE2b of "nmdi-pseudonym-v2", NUL, domain. */
static void domain_subkey(const unsigned char key[NMDI_KEY_BYTES], const char *domain,
                          unsigned char sub[crypto_shorthash_KEYBYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, NMDI_KEY_BYTES, crypto_shorthash_KEYBYTES);
    crypto_generichash_update(&st, (const unsigned char *)"nmdi-pseudonym-v2", 18);
    crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain));
    crypto_generichash_final(&st, sub, crypto_shorthash_KEYBYTES);
    sodium_memzero(&st, sizeof st);
}

static int64_t siphash_with(const unsigned char sub[crypto_shorthash_KEYBYTES], const char *s, size_t len)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)s, len, sub);
    int64_t v;
    memcpy(&v, h, sizeof v);
    return v == NMDI_I64_NONE ? NMDI_I64_NONE + 1 : v;
}

/* Scheme 1: the value through a keyed BLAKE2b state that has absorbed the key
 * block and the domain (a copy: the caller's state is kept for other values). */
static int64_t blake2b_value(crypto_generichash_state st, const char *s, size_t len)
{
    unsigned char h[16];
    crypto_generichash_update(&st, (const unsigned char *)s, len);
    crypto_generichash_final(&st, h, sizeof h);
    int64_t v;
    memcpy(&v, h, sizeof v);
    return v == NMDI_I64_NONE ? NMDI_I64_NONE + 1 : v;
}

int64_t nmdi_pseudo_hash(const unsigned char key[NMDI_KEY_BYTES], int scheme, const char *domain,
                         const char *s, size_t len)
{
    if (scheme == NMDI_PSEUDO_SIPHASH) {
        unsigned char sub[crypto_shorthash_KEYBYTES];
        domain_subkey(key, domain, sub);
        int64_t v = siphash_with(sub, s, len);
        sodium_memzero(sub, sizeof sub);
        return v;
    }
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, NMDI_KEY_BYTES, 16);
    crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
    return blake2b_value(st, s, len);
}

double nmdi_pseudo_record_key(const unsigned char key[NMDI_KEY_BYTES], int scheme, int64_t person_key)
{
    unsigned char buf[8];
    memcpy(buf, &person_key, 8);
    int64_t h = nmdi_pseudo_hash(key, scheme, "record_key", (const char *)buf, 8);
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

/* Length of a valid UTF-8 sequence starting at s[i] (2-4 bytes), or 0. */
static size_t utf8_seq(const char *s, size_t i, size_t len)
{
    unsigned char c = (unsigned char)s[i];
    size_t k = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (!k || i + k > len)
        return 0;
    for (size_t j = 1; j < k; j++)
        if (((unsigned char)s[i + j] & 0xC0) != 0x80)
            return 0;
    return k;
}

size_t nmdi_pseudo_normalise(const char *kind, const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return 0;
    int name = strcmp(kind, "name") == 0, doc = strcmp(kind, "document") == 0;
    if (!name && !doc) {
        nmdi_str_trim(&s, &len);
        for (size_t i = 0; i < len && n < cap - 1; i++)
            if (s[i])
                out[n++] = s[i];
        out[n] = 0;
        return n;
    }
    int space = 0;
    for (size_t i = 0; i < len && n < cap - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        char a = 0;
        if (c >= 0x80) {
            size_t k = utf8_seq(s, i, len);
            if (k == 0)
                continue; /* invalid byte: dropped */
            if (k == 2)
                a = fold_latin(c, (unsigned char)s[i + 1]);
            if (!a) {
                /* other scripts (CJK, Cyrillic, ...): kept as they are */
                if (n + k + 1 >= cap)
                    break;
                if (space && n && name)
                    out[n++] = ' ';
                space = 0;
                memcpy(out + n, s + i, k);
                n += k;
                i += k - 1;
                continue;
            }
            i += k - 1;
        } else {
            a = (char)c;
        }
        if (a >= 'a' && a <= 'z')
            a = (char)(a - 'a' + 'A');
        int alnum = (a >= 'A' && a <= 'Z') || (a >= '0' && a <= '9');
        if (!alnum) {
            if (name)
                space = 1;
            continue;
        }
        if (space && n && name && n + 1 < cap - 1)
            out[n++] = ' ';
        space = 0;
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

/* bigrams of " NAME " (padded), each set in k=2 positions of a Bloom filter
 * of NMDI_QGRAM_BYTES*8 bits; positions from SipHash-2-4 (crypto_shorthash)
 * under a subkey derived from the infrastructure key, so that filters of
 * guessed names cannot be built without the key */
static void qgram_subkey(const unsigned char key[NMDI_KEY_BYTES], unsigned char sub[crypto_shorthash_KEYBYTES])
{
    crypto_generichash(sub, crypto_shorthash_KEYBYTES, (const unsigned char *)"nmdi-qgram-subkey", 17, key,
                       NMDI_KEY_BYTES);
}

static void qgram_with(const unsigned char sub[crypto_shorthash_KEYBYTES], const char *norm,
                       unsigned char out[NMDI_QGRAM_BYTES])
{
    memset(out, 0, NMDI_QGRAM_BYTES);
    size_t len = strlen(norm);
    char buf[260];
    if (len > 256)
        len = 256;
    buf[0] = ' ';
    memcpy(buf + 1, norm, len);
    buf[len + 1] = ' ';
    for (size_t i = 0; i + 1 < len + 2; i++) {
        unsigned char h[crypto_shorthash_BYTES];
        crypto_shorthash(h, (const unsigned char *)buf + i, 2, sub);
        uint64_t u;
        memcpy(&u, h, sizeof u);
        for (int k = 0; k < 2; k++) {
            unsigned bit = (unsigned)((u >> (k * 32)) % (NMDI_QGRAM_BYTES * 8));
            out[bit / 8] |= (unsigned char)(1u << (bit % 8));
        }
    }
}

void nmdi_pseudo_qgram(const unsigned char key[NMDI_KEY_BYTES], const char *norm,
                       unsigned char out[NMDI_QGRAM_BYTES])
{
    unsigned char sub[crypto_shorthash_KEYBYTES];
    qgram_subkey(key, sub);
    qgram_with(sub, norm, out);
    sodium_memzero(sub, sizeof sub);
}

void nmdi_pseudo_cache_qgram(const nmdi_pseudo_cache *c, const char *norm,
                             unsigned char out[NMDI_QGRAM_BYTES])
{
    qgram_with(c->qsub, norm, out);
}

void nmdi_pseudo_cache_init(nmdi_pseudo_cache *c, const unsigned char key[NMDI_KEY_BYTES], int scheme)
{
    memset(c, 0, sizeof *c);
    memcpy(c->key, key, NMDI_KEY_BYTES);
    c->scheme = scheme;
    qgram_subkey(key, c->qsub);
}

int64_t nmdi_pseudo_cache_hash(nmdi_pseudo_cache *c, const char *domain, const char *s, size_t len)
{
    size_t i = 0;
    /* callers pass the same pointer for a domain: compare pointers first */
    while (i < c->n && c->domain[i] != domain)
        i++;
    if (i == c->n)
        for (i = 0; i < c->n && strcmp(c->domain[i], domain) != 0;)
            i++;
    if (i == c->n) {
        if (c->n == NMDI_PSEUDO_CACHE)
            return nmdi_pseudo_hash(c->key, c->scheme, domain, s, len);
        if (c->scheme == NMDI_PSEUDO_SIPHASH) {
            domain_subkey(c->key, domain, c->sub[i]);
        } else {
            crypto_generichash_init(&c->st[i], c->key, NMDI_KEY_BYTES, 16);
            crypto_generichash_update(&c->st[i], (const unsigned char *)domain, strlen(domain) + 1);
        }
        c->domain[i] = domain;
        c->n++;
    }
    if (c->scheme == NMDI_PSEUDO_SIPHASH)
        return siphash_with(c->sub[i], s, len);
    /* scheme 1: the keyed state after the key block and the domain, one
       compression per value */
    return blake2b_value(c->st[i], s, len);
}

void nmdi_pseudo_cache_wipe(nmdi_pseudo_cache *c)
{
    sodium_memzero(c, sizeof *c);
}
