/*
 * release.c — `nmdi publish`: freeze DIR/work/protected/ into an immutable,
 * versioned release (temp directory, fsync, rename; LATEST replaced
 * atomically), with lineage (SHA-256 of every input, code version, previous
 * release) in release.json; and the loader that reads a release back into
 * memory for the writers and the server (nmdi_release_open).
 *
 * The SDMX model (dimension order, codelists, concepts) is built on load by
 * model.c, so the release on disk stays plain files: tables/<ID>.csv and
 * tables/<ID>.json; the SDMX structure message and DSD schemas written under
 * sdmx/ at publish time are a convenience copy of what the server renders.
 */
#include "nmdi/publish.h"
#include "nmdi/codes.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nmdi__publish_build_model(nmdi_release *r, json_t *root, nmdi_error *err); /* model.c */

/* ---- small file helpers ---------------------------------------------------- */
/* snprintf for paths (callers check the directory length once, up front). */
__attribute__((format(printf, 3, 4))) static void pfmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Close f after flushing and fsyncing it; -1 on any failure. */
static int close_synced(FILE *f)
{
    int rc = 0;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* Copy src to dst, computing the SHA-256 of the bytes (hex into sha). */
static int copy_file_sha(const char *src, const char *dst, char sha[65], nmdi_error *err)
{
    FILE *in = fopen(src, "rb");
    if (!in)
        return nmdi_error_at(err, NMDI_EDATA, src, 0, NULL, "cannot open: %s", strerror(errno));
    FILE *out = fopen(dst, "wb");
    if (!out) {
        fclose(in);
        return nmdi_error_at(err, NMDI_EINTERNAL, dst, 0, NULL, "cannot create: %s",
                             strerror(errno));
    }
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    char buf[65536];
    size_t n;
    int bad = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        crypto_hash_sha256_update(&st, (const unsigned char *)buf, n);
        if (fwrite(buf, 1, n, out) != n)
            bad = 1;
    }
    if (ferror(in))
        bad = 1;
    fclose(in);
    if (close_synced(out) != 0 || bad)
        return nmdi_error_at(err, NMDI_EINTERNAL, dst, 0, NULL, "write failed: %s",
                             strerror(errno));
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(sha, 65, h, sizeof h);
    return 0;
}

static int write_json_file(const char *path, json_t *j, nmdi_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot create: %s",
                             strerror(errno));
    int rc = json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    if (close_synced(f) != 0 || rc != 0)
        return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "write failed");
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Remove a directory tree we created (temp dir on failure). */
static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[4096];
            pfmt(p, sizeof p, "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                rm_tree(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(path);
}

static int valid_version(const char *v)
{
    /* YYYYMMDD-N */
    size_t n = strlen(v);
    if (n < 10 || n > 20 || v[8] != '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (i != 8 && (v[i] < '0' || v[i] > '9'))
            return 0;
    return 1;
}

static int valid_table_id(const char *s)
{
    if (!*s || strlen(s) > 100)
        return 0;
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* Read DIR/releases/LATEST into buf; -1 when absent or invalid. */
static int read_latest(const char *dir, char *buf, size_t size)
{
    char p[4096];
    pfmt(p, sizeof p, "%s/releases/LATEST", dir);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return valid_version(buf) ? 0 : -1;
}

/* ---- publish ------------------------------------------------------------- */
typedef struct input_table {
    char *id;
    json_t *meta;
} input_table;

static void free_inputs(input_table *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(in[i].id);
        json_decref(in[i].meta);
    }
    free(in);
}

/* Read and check the metadata of every protected table. */
static int read_inputs(const char *pdir, input_table **out, size_t *nout, nmdi_error *err)
{
    DIR *d = opendir(pdir);
    if (!d) {
        if (errno == ENOENT) { /* nothing protected yet: nothing to publish */
            *out = NULL;
            *nout = 0;
            return 0;
        }
        return nmdi_error_at(err, NMDI_EDATA, pdir, 0, NULL, "cannot read: %s", strerror(errno));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 || e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn) {
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
                break;
            }
            names = nn;
        }
        names[n++] = strndup(e->d_name, l - 5);
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof *names, cmp_str);
    input_table *in = calloc(n ? n : 1, sizeof *in);
    size_t k = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char jp[4096], cp[4096];
        pfmt(jp, sizeof jp, "%s/%s.json", pdir, names[i]);
        pfmt(cp, sizeof cp, "%s/%s.csv", pdir, names[i]);
        json_error_t je;
        json_t *m = json_load_file(jp, 0, &je);
        if (!m) {
            rc = nmdi_error_at(err, NMDI_EDATA, jp, je.line, NULL, "invalid JSON: %s", je.text);
            break;
        }
        if (!json_is_object(m) || !json_is_true(json_object_get(m, "protected"))) {
            json_decref(m);
            rc = nmdi_error_at(err, NMDI_EDATA, jp, 0, "protected",
                               "table is not marked \"protected\": true; only tables that went "
                               "through `nmdi protect` are published");
            break;
        }
        const char *id = json_string_value(json_object_get(m, "id"));
        if (!id)
            id = names[i];
        if (!valid_table_id(id) || strcmp(id, names[i]) != 0) {
            json_decref(m);
            rc = nmdi_error_at(err, NMDI_EDATA, jp, 0, "id",
                               "table id '%s' must equal the file name and be an SDMX id "
                               "(letters, digits, _ and -)", id);
            break;
        }
        nmdi_cube *c;
        if (nmdi_cube_load(&c, cp, err) != 0) {
            json_decref(m);
            rc = err->code ? err->code : NMDI_EDATA;
            break;
        }
        nmdi_cube_free(c);
        in[k].id = strdup(names[i]);
        in[k].meta = m;
        k++;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc) {
        free_inputs(in, k);
        return rc;
    }
    *out = in;
    *nout = k;
    return 0;
}

static void iso_now(const nmdi_publish_opts *o, char buf[32], time_t *t_out)
{
    if (o && o->now && strlen(o->now) >= 10) {
        pfmt(buf, 32, "%s", o->now);
        struct tm tm = {0};
        if (strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm) || strptime(buf, "%Y-%m-%d", &tm))
            *t_out = timegm(&tm);
        else
            *t_out = 0;
        return;
    }
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    *t_out = t;
}

/* Next free version for the day: YYYYMMDD-N. */
static void next_version(const char *rdir, const char *created, char out[32])
{
    char day[9];
    memcpy(day, created, 4);
    memcpy(day + 4, created + 5, 2);
    memcpy(day + 6, created + 8, 2);
    day[8] = 0;
    long maxn = 0;
    DIR *d = opendir(rdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            const char *nm = e->d_name;
            if (nm[0] == '.' && strncmp(nm, ".tmp-", 5) == 0)
                nm += 5;
            if (strncmp(nm, day, 8) == 0 && nm[8] == '-') {
                long v = strtol(nm + 9, NULL, 10);
                if (v > maxn)
                    maxn = v;
            }
        }
        closedir(d);
    }
    pfmt(out, 32, "%s-%ld", day, maxn + 1);
}

static json_t *text_or_string(json_t *v)
{
    if (json_is_object(v))
        return json_incref(v);
    if (json_is_string(v))
        return json_pack("{s:O,s:O}", "en", v, "zh", v);
    return NULL;
}

int nmdi_publish_release(const nmdi_ctx *ctx, const char *dir, const nmdi_publish_opts *opts,
                         char version_out[32], nmdi_error *err)
{
    nmdi_error_clear(err);
    if (strlen(dir) > 3000)
        return nmdi_error_set(err, NMDI_EDATA, "directory name too long");
    if (sodium_init() < 0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "libsodium failed to initialise");
    const char *agency = opts && opts->agency ? opts->agency : "NMDI";
    const char *sver = opts && opts->sdmx_version ? opts->sdmx_version : "1.0";
    char pdir[4096], rdir[4096];
    pfmt(pdir, sizeof pdir, "%s/work/protected", dir);
    pfmt(rdir, sizeof rdir, "%s/releases", dir);
    input_table *in = NULL;
    size_t nin = 0;
    int rc = read_inputs(pdir, &in, &nin, err);
    if (rc)
        return rc;
    version_out[0] = 0;
    if (nin == 0) {
        free_inputs(in, nin);
        nmdi_note(ctx, "nmdi publish: nothing to publish (no table in %s; run `nmdi protect`); "
                       "no release made", pdir);
        return 0;
    }
    if (mkdir(rdir, 0755) != 0 && errno != EEXIST) {
        free_inputs(in, nin);
        return nmdi_error_at(err, NMDI_EINTERNAL, rdir, 0, NULL, "cannot create: %s",
                             strerror(errno));
    }
    char created[32], version[32], prev[32];
    time_t created_t;
    iso_now(opts, created, &created_t);
    next_version(rdir, created, version);
    int has_prev = read_latest(dir, prev, sizeof prev) == 0;

    char tmp[4096], path[4096];
    pfmt(tmp, sizeof tmp, "%s/.tmp-%s-%ld", rdir, version, (long)getpid());
    rm_tree(tmp);
    if (mkdir(tmp, 0755) != 0) {
        free_inputs(in, nin);
        return nmdi_error_at(err, NMDI_EINTERNAL, tmp, 0, NULL, "cannot create: %s",
                             strerror(errno));
    }
    pfmt(path, sizeof path, "%s/tables", tmp);
    mkdir(path, 0755);
    pfmt(path, sizeof path, "%s/sdmx", tmp);
    mkdir(path, 0755);

    json_t *root = json_object();
    json_object_set_new(root, "version", json_string(version));
    json_object_set_new(root, "created", json_string(created));
    {
        /* always present (the portal reads it); names from the ISO list when known */
        const char *cc = opts && opts->country_code ? opts->country_code : "";
        const nmdi_country *known = *cc ? nmdi_country_find(cc) : NULL;
        const char *en = opts && opts->country_en ? opts->country_en : known ? known->name_en : cc;
        const char *zh = opts && opts->country_zh ? opts->country_zh
                         : known && known->name_zh && *known->name_zh ? known->name_zh
                                                                      : en;
        json_object_set_new(root, "country", json_pack("{s:s,s:{s:s,s:s}}", "code", cc, "name",
                                                       "en", en ? en : "", "zh", zh ? zh : ""));
    }
    json_object_set_new(root, "agency", json_string(agency));
    json_object_set_new(root, "sdmx_version", json_string(sver));
    if (opts && opts->maintainer)
        json_object_set_new(root, "maintainer", json_string(opts->maintainer));
    json_t *tables = json_array();
    json_object_set_new(root, "tables", tables);
    json_t *lineage = json_object();
    json_object_set_new(lineage, "nmdi_version", json_string(NMDI_VERSION));
    json_object_set_new(lineage, "previous_release", has_prev ? json_string(prev) : json_null());
    json_object_set_new(lineage, "inputs", json_array());
    json_object_set_new(root, "lineage", lineage);

    for (size_t i = 0; i < nin && !rc; i++) {
        char src[4096], dst[4096], sha_csv[65], sha_json[65];
        pfmt(src, sizeof src, "%s/%s.csv", pdir, in[i].id);
        pfmt(dst, sizeof dst, "%s/tables/%s.csv", tmp, in[i].id);
        if ((rc = copy_file_sha(src, dst, sha_csv, err)))
            break;
        pfmt(src, sizeof src, "%s/%s.json", pdir, in[i].id);
        pfmt(dst, sizeof dst, "%s/tables/%s.source.json", tmp, in[i].id);
        if ((rc = copy_file_sha(src, dst, sha_json, err)))
            break;
        json_t *m = in[i].meta, *t = json_object();
        json_object_set_new(t, "id", json_string(in[i].id));
        const char *keys[] = {"name", "description"};
        for (int k = 0; k < 2; k++) {
            json_t *v = text_or_string(json_object_get(m, keys[k]));
            if (!v)
                v = json_pack("{s:s,s:s}", "en", k ? "" : in[i].id, "zh", k ? "" : in[i].id);
            json_object_set_new(t, keys[k], v);
        }
        const char *skip[] = {"id", "name", "description", NULL};
        const char *key;
        json_t *val;
        json_object_foreach(m, key, val)
        {
            int s = 0;
            for (int k = 0; skip[k]; k++)
                s |= !strcmp(key, skip[k]);
            if (!s)
                json_object_set(t, key, val);
        }
        json_t *tl = json_pack("{s:s,s:s,s:s,s:s}", "csv", sha_csv, "metadata", sha_json,
                               "csv_file", "work/protected", "release", version);
        json_t *lin_in = json_object_get(m, "lineage");
        if (lin_in)
            json_object_set(tl, "upstream", lin_in);
        json_object_set_new(t, "lineage", tl);
        json_array_append_new(json_object_get(lineage, "inputs"),
                              json_pack("{s:s,s:s,s:s}", "table", in[i].id, "csv_sha256",
                                        sha_csv, "metadata_sha256", sha_json));
        json_array_append(tables, t);
        pfmt(dst, sizeof dst, "%s/tables/%s.json", tmp, in[i].id);
        rc = write_json_file(dst, t, err);
        json_decref(t);
    }
    if (!rc) {
        pfmt(path, sizeof path, "%s/release.json", tmp);
        rc = write_json_file(path, root, err);
    }
    /* Load what was written: proves it reads back, and renders the SDMX copy. */
    nmdi_release *r = NULL;
    if (!rc) {
        char sub[256];
        pfmt(sub, sizeof sub, ".tmp-%s-%ld", version, (long)getpid());
        rc = nmdi_release_open(&r, dir, sub, err);
    }
    if (!rc) {
        pfmt(path, sizeof path, "%s/sdmx/structure.xml", tmp);
        FILE *f = fopen(path, "wb");
        rc = f ? nmdi_sdmx_write_structure(f, r, NULL, err)
               : nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot create");
        if (f && close_synced(f) != 0 && !rc)
            rc = nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "write failed");
        for (size_t i = 0; i < r->ntables && !rc; i++) {
            pfmt(path, sizeof path, "%s/sdmx/%s.xsd", tmp, r->tables[i].id);
            f = fopen(path, "wb");
            rc = f ? nmdi_sdmx_write_xsd(f, r, &r->tables[i], NULL, NULL, err)
                   : nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot create");
            if (f && close_synced(f) != 0 && !rc)
                rc = nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "write failed");
        }
    }
    nmdi_release_free(r);
    json_decref(root);
    free_inputs(in, nin);
    if (!rc) {
        pfmt(path, sizeof path, "%s/tables", tmp);
        fsync_path(path, 1);
        pfmt(path, sizeof path, "%s/sdmx", tmp);
        fsync_path(path, 1);
        fsync_path(tmp, 1);
        pfmt(path, sizeof path, "%s/%s", rdir, version);
        if (rename(tmp, path) != 0)
            rc = nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot rename release: %s",
                               strerror(errno));
    }
    if (rc) {
        rm_tree(tmp);
        return rc;
    }
    /* LATEST: temp file, fsync, rename, fsync the directory. */
    char lt[4096], lp[4096];
    pfmt(lt, sizeof lt, "%s/.LATEST.tmp-%ld", rdir, (long)getpid());
    pfmt(lp, sizeof lp, "%s/LATEST", rdir);
    FILE *f = fopen(lt, "wb");
    if (!f || fprintf(f, "%s\n", version) < 0 || close_synced(f) != 0 || rename(lt, lp) != 0) {
        unlink(lt);
        return nmdi_error_at(err, NMDI_EINTERNAL, lp, 0, NULL, "cannot update LATEST: %s",
                             strerror(errno));
    }
    fsync_path(rdir, 1);
    pfmt(version_out, 32, "%s", version);
    nmdi_note(ctx, "published release %s (%zu tables) in %s/%s", version, nin, rdir, version);
    return 0;
}

/* ---- open ----------------------------------------------------------------- */
void nmdi_release_free(nmdi_release *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ntables; i++)
        nmdi_cube_free(r->tables[i].cube);
    nmdi_arena_free(r->arena);
    free(r);
}

static const char *jstr(nmdi_arena *a, json_t *o, const char *k, const char *def)
{
    json_t *v = json_object_get(o, k);
    if (json_is_string(v))
        return nmdi_arena_strdup(a, json_string_value(v));
    if (json_is_number(v))
        return nmdi_arena_sprintf(a, "%.0f", json_number_value(v));
    return def ? nmdi_arena_strdup(a, def) : NULL;
}

static nmdi_text jtext(nmdi_arena *a, json_t *o, const char *k, const char *def)
{
    nmdi_text t;
    json_t *v = json_object_get(o, k);
    if (json_is_string(v)) {
        t.en = t.zh = nmdi_arena_strdup(a, json_string_value(v));
        return t;
    }
    t.en = jstr(a, v, "en", def);
    t.zh = jstr(a, v, "zh", NULL);
    if (!t.zh || !*t.zh)
        t.zh = t.en;
    return t;
}

int nmdi_release_open(nmdi_release **out, const char *dir, const char *version, nmdi_error *err)
{
    nmdi_error_clear(err);
    *out = NULL;
    char v[64];
    if (strlen(dir) > 3000)
        return nmdi_error_set(err, NMDI_EDATA, "directory name too long");
    if (!version) {
        if (read_latest(dir, v, sizeof v) != 0)
            return nmdi_error_at(err, NMDI_EDATA, dir, 0, NULL,
                                 "no release (releases/LATEST missing; run `nmdi publish`)");
        version = v;
    } else if (strchr(version, '/') || !strcmp(version, "..") || !strcmp(version, ".")) {
        return nmdi_error_set(err, NMDI_EDATA, "invalid release version '%s'", version);
    }
    nmdi_release *r = calloc(1, sizeof *r);
    if (!r)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    r->arena = nmdi_arena_new(1 << 16);
    r->dir = nmdi_arena_sprintf(r->arena, "%s/releases/%s", dir, version);
    char path[4096];
    pfmt(path, sizeof path, "%s/release.json", r->dir);
    json_error_t je;
    json_t *root = json_load_file(path, JSON_PRESERVE_ORDER, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        nmdi_release_free(r);
        return nmdi_error_at(err, NMDI_EDATA, path, je.line, NULL, "cannot read release: %s",
                             root ? "not an object" : je.text);
    }
    nmdi_arena *a = r->arena;
    char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    r->json = nmdi_arena_strdup(a, txt ? txt : "{}");
    r->json_len = strlen(r->json);
    free(txt);
    r->version = jstr(a, root, "version", version);
    r->created = jstr(a, root, "created", "1970-01-01T00:00:00Z");
    struct tm tm = {0};
    r->created_t = strptime(r->created, "%Y-%m-%dT%H:%M:%S", &tm) ? timegm(&tm) : 0;
    r->agency = jstr(a, root, "agency", "NMDI");
    r->sdmx_version = jstr(a, root, "sdmx_version", "1.0");
    r->maintainer = jstr(a, root, "maintainer", NULL);
    json_t *tables = json_object_get(root, "tables");
    if (!json_is_array(tables)) {
        json_decref(root);
        nmdi_release_free(r);
        return nmdi_error_at(err, NMDI_EDATA, path, 0, "tables", "missing array of tables");
    }
    r->ntables = json_array_size(tables);
    r->tables = nmdi_arena_calloc(a, r->ntables ? r->ntables : 1, sizeof *r->tables);
    for (size_t i = 0; i < r->ntables; i++) {
        json_t *tj = json_array_get(tables, i);
        nmdi_rel_table *t = &r->tables[i];
        t->id = jstr(a, tj, "id", NULL);
        if (!t->id || !valid_table_id(t->id)) {
            nmdi_error_at(err, NMDI_EDATA, path, 0, "id", "table %zu has no valid id", i);
            break;
        }
        t->dsd_id = nmdi_arena_sprintf(a, "DSD_%s", t->id);
        t->name = jtext(a, tj, "name", t->id);
        t->description = jtext(a, tj, "description", "");
        t->unit = jstr(a, tj, "unit", NULL);
        t->measure = jstr(a, tj, "measure", "count");
        t->source = jstr(a, tj, "source", NULL);
        t->method = jstr(a, tj, "method", NULL);
        t->reference_period = jstr(a, tj, "reference_period", NULL);
        t->disclosure_control = jstr(a, tj, "disclosure_control", NULL);
        t->topic = jstr(a, tj, "topic", NULL);
        char *mt = json_dumps(tj, JSON_PRESERVE_ORDER | JSON_COMPACT);
        t->metadata_json = nmdi_arena_strdup(a, mt ? mt : "{}");
        free(mt);
        char cp[4096];
        pfmt(cp, sizeof cp, "%s/tables/%s.csv", r->dir, t->id);
        if (nmdi_cube_load(&t->cube, cp, err) != 0)
            break;
    }
    if (!err->code)
        nmdi__publish_build_model(r, root, err);
    json_decref(root);
    if (err->code) {
        int code = err->code;
        nmdi_release_free(r);
        return code;
    }
    *out = r;
    return 0;
}
