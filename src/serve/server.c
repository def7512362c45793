/*
 * server.c — the HTTP front of nmdi serve on libmicrohttpd (a pool of epoll
 * threads): request limits (GET/HEAD only, URL length, header memory,
 * connection timeout, a token bucket per client address), bearer-token
 * authentication and the audit log of every non-public access, routing to
 * /rest (SDMX), /api/v1 (JSON API), /dcat.jsonld and the static portal
 * files (no path traversal: every file is realpath-checked inside the web
 * folder), and HTTP caching: public answers are rendered once per
 * (release, path, query, Accept), kept in memory, and sent with a strong
 * ETag and Last-Modified so clients revalidate with 304.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ARGS 64
#define NBUCKETS 4096

/* ---- locations -------------------------------------------------------------- */
static int exe_relative(const char *rel, char *buf, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = 0;
    snprintf(buf, size, "%s/../../%s", exe, rel);
    struct stat st;
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

const char *nmdi_serve_web_dir(const char *given, char *buf, size_t size)
{
    if (given && *given) {
        snprintf(buf, size, "%s", given);
        return buf;
    }
    const char *env = getenv("NMDI_WEB");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return buf;
    }
    if (exe_relative("web/dist", buf, size) == 0)
        return buf;
    snprintf(buf, size, "/usr/share/nmdi/web");
    return buf;
}

static void data_dir(const char *given, char *buf, size_t size)
{
    if (given && *given) {
        snprintf(buf, size, "%s", given);
        return;
    }
    const char *env = getenv("NMDI_DATA");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return;
    }
    if (exe_relative("data", buf, size) == 0)
        return;
    snprintf(buf, size, "/usr/share/nmdi/data");
}

/* ---- cache ---------------------------------------------------------------------- */
static cache_entry *cache_get(nmdi_server *s, const char *key, size_t klen)
{
    pthread_rwlock_rdlock(&s->cache_lock);
    int64_t *v = nmdi_strmap_get(s->cache, key, klen);
    cache_entry *e = v ? s->entries[*v] : NULL;
    pthread_rwlock_unlock(&s->cache_lock);
    return e;
}

static void make_etag(const srv_resp *rs, const char *version, char out[24])
{
    uint64_t h = nmdi_hash64(rs->body ? rs->body : "", rs->len, (uint64_t)rs->status);
    h ^= nmdi_hash64(version, strlen(version), 7);
    snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}

static void add_headers(struct MHD_Response *r, const char *ctype, const char *etag,
                        time_t lastmod, int cacheable, int rest);

static void entry_free(cache_entry *e)
{
    if (e->resp)
        MHD_destroy_response(e->resp);
    if (e->resp304)
        MHD_destroy_response(e->resp304);
    free(e->body);
    free(e);
}

/* Prepare the responses of an entry once; they are queued as they are. */
static int entry_prepare(cache_entry *e, int rest)
{
    int ok = e->status == 200;
    e->resp = MHD_create_response_from_buffer(e->len, e->body, MHD_RESPMEM_PERSISTENT);
    if (!e->resp)
        return -1;
    add_headers(e->resp, e->ctype, ok ? e->etag : NULL, ok ? e->lastmod : 0, ok, rest);
    if (ok) {
        e->resp304 = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!e->resp304)
            return -1;
        add_headers(e->resp304, NULL, e->etag, e->lastmod, 1, rest);
    }
    return 0;
}

/* Move a rendered public answer into the cache; returns the entry (which
 * then owns the body) or NULL when the cache is full. */
static cache_entry *cache_put(nmdi_server *s, const char *key, size_t klen, srv_resp *rs,
                              int rest)
{
    if (s->cache_used + rs->len > s->opts.cache_bytes)
        return NULL;
    cache_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->status = rs->status;
    e->ctype = rs->ctype;
    e->body = rs->body;
    e->len = rs->len;
    e->lastmod = rs->lastmod;
    make_etag(rs, s->rel ? s->rel->version : "", e->etag);
    if (entry_prepare(e, rest) != 0) {
        e->body = NULL; /* still rs's */
        entry_free(e);
        return NULL;
    }
    pthread_rwlock_wrlock(&s->cache_lock);
    int ins = 0;
    int64_t *v = nmdi_strmap_put(s->cache, key, klen, &ins);
    cache_entry *res = e;
    if (!v) {
        res = NULL;
    } else if (!ins) {
        res = s->entries[*v]; /* another thread was first */
    } else {
        if (s->nentries == s->capentries) {
            size_t nc = s->capentries ? s->capentries * 2 : 256;
            cache_entry **ne = realloc(s->entries, nc * sizeof *ne);
            if (!ne) {
                *v = -1;
                res = NULL;
            } else {
                s->entries = ne;
                s->capentries = nc;
            }
        }
        if (res) {
            *v = (int64_t)s->nentries;
            s->entries[s->nentries++] = e;
            s->cache_used += e->len + klen + sizeof *e;
        }
    }
    pthread_rwlock_unlock(&s->cache_lock);
    if (res != e) {
        e->body = NULL; /* body stays with rs */
        entry_free(e);
        return res;
    }
    rs->body = NULL; /* now owned by the cache */
    return e;
}

/* ---- rate limit ------------------------------------------------------------------ */
static int rate_ok(nmdi_server *s, const char *client)
{
    /* loopback clients are the operator (or a reverse proxy, behind which every
     * client shares one address): limits belong to remote addresses */
    if (s->opts.rate <= 0 || !strncmp(client, "127.", 4) || !strcmp(client, "::1") ||
        !strncmp(client, "::ffff:127.", 11))
        return 1;
    uint64_t k = nmdi_hash64(client, strlen(client), 99);
    double now = nmdi_now();
    pthread_mutex_lock(&s->rate_lock);
    struct bucket *b = &s->buckets[k % NBUCKETS];
    if (b->key != k) {
        b->key = k;
        b->tokens = s->opts.burst;
        b->last = now;
    }
    b->tokens += (now - b->last) * s->opts.rate;
    if (b->tokens > s->opts.burst)
        b->tokens = s->opts.burst;
    b->last = now;
    int ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    pthread_mutex_unlock(&s->rate_lock);
    return ok;
}

/* ---- static files ------------------------------------------------------------------ */
static const char *mime(const char *path)
{
    static const struct {
        const char *ext, *type;
    } m[] = {{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
             {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
             {".json", "application/json; charset=utf-8"}, {".svg", "image/svg+xml"},
             {".png", "image/png"}, {".jpg", "image/jpeg"}, {".ico", "image/x-icon"},
             {".woff2", "font/woff2"}, {".woff", "font/woff"}, {".txt", "text/plain; charset=utf-8"},
             {".csv", "text/csv; charset=utf-8"}, {".map", "application/json"},
             {".webmanifest", "application/manifest+json"}, {".wasm", "application/wasm"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof m / sizeof *m; i++)
        if (!strcmp(dot, m[i].ext))
            return m[i].type;
    return "application/octet-stream";
}

static void serve_static(nmdi_server *s, const char *path, srv_resp *rs)
{
    if (!s->web_real[0]) {
        nmdi__resp_text(rs, 404, "text/plain; charset=utf-8",
                        "nmdi: no portal files (build web/ or pass --web DIR); the API is at "
                        "/api/v1/release and /rest/dataflow\n");
        return;
    }
    /* refuse traversal outright, then check the resolved path too */
    if (strstr(path, "..") || strchr(path, '\\') || strlen(path) > 1024) {
        nmdi__resp_error(rs, 400, "bad path");
        return;
    }
    char full[PATH_MAX + 1100], real[PATH_MAX];
    snprintf(full, sizeof full, "%s%s", s->web_real, path);
    struct stat st;
    int found = stat(full, &st) == 0;
    if (found && S_ISDIR(st.st_mode)) {
        size_t l = strlen(full);
        snprintf(full + l, sizeof full - l, "%sindex.html", full[l - 1] == '/' ? "" : "/");
        found = stat(full, &st) == 0;
    }
    if (!found) {
        const char *last = strrchr(path, '/');
        if (last && !strchr(last, '.')) { /* client-side route: the app */
            snprintf(full, sizeof full, "%s/index.html", s->web_real);
            found = stat(full, &st) == 0;
        }
    }
    size_t wl = strlen(s->web_real);
    if (!found || !realpath(full, real) || strncmp(real, s->web_real, wl) != 0 ||
        (real[wl] != '/' && real[wl] != 0) || !S_ISREG(st.st_mode)) {
        nmdi__resp_error(rs, 404, "not found");
        return;
    }
    FILE *f = fopen(real, "rb");
    if (!f) {
        nmdi__resp_error(rs, 404, "not found");
        return;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf || n != (size_t)st.st_size) {
        free(buf);
        nmdi__resp_error(rs, 500, "read failed");
        return;
    }
    free(rs->body);
    rs->body = buf;
    rs->len = n;
    rs->status = 200;
    rs->ctype = mime(real);
    rs->cacheable = 1;
    rs->lastmod = st.st_mtime;
}

/* ---- routing --------------------------------------------------------------------------- */
static void route(nmdi_server *s, const srv_req *rq, srv_resp *rs)
{
    const char *p = rq->path;
    int rest = !strncmp(p, "/rest/", 6) || !strcmp(p, "/rest");
    int api = !strncmp(p, "/api/v1/", 8);
    int dcat = !strcmp(p, "/dcat.jsonld") || !strcmp(p, "/dcat");
    if ((rest || dcat || (api && strncmp(p, "/api/v1/reference/", 18) != 0 &&
                          strncmp(p, "/api/v1/whoami", 14) != 0 &&
                          strncmp(p, "/api/v1/work/", 13) != 0 && strcmp(p, "/api/v1/audit") != 0 &&
                          strcmp(p, "/api/v1/assessment") != 0 &&
                          strcmp(p, "/api/v1/infrastructure") != 0)) &&
        !s->rel) {
        nmdi__resp_error(rs, 503, "no release published yet (run nmdi publish)");
        return;
    }
    if (rest)
        nmdi__serve_rest(s, rq, p + 5, rs);
    else if (api)
        nmdi__serve_api(s, rq, p + 7, rs);
    else if (dcat)
        nmdi__serve_dcat(s, rq, rs);
    else if (!strcmp(p, "/api") || !strcmp(p, "/api/v1"))
        nmdi__resp_text(rs, 200, "application/json; charset=utf-8",
                        "{\"api\":\"/api/v1\",\"sdmx\":\"/rest\",\"dcat\":\"/dcat.jsonld\","
                        "\"docs\":\"docs/api.md\"}");
    else
        serve_static(s, p, rs);
}

/* ---- libmicrohttpd glue -------------------------------------------------------------- */
typedef struct arg_ctx {
    nmdi_kv kv[MAX_ARGS];
    size_t n;
    int too_many;
} arg_ctx;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    arg_ctx *a = cls;
    if (a->n == MAX_ARGS - 1) {
        a->too_many = 1;
        return MHD_NO;
    }
    a->kv[a->n].key = key ? key : "";
    a->kv[a->n].value = value ? value : "";
    a->n++;
    return MHD_YES;
}

static void add_headers(struct MHD_Response *r, const char *ctype, const char *etag,
                        time_t lastmod, int cacheable, int rest)
{
    if (ctype)
        MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(r, "Cache-Control", cacheable ? "public, max-age=300" : "no-store");
    if (rest)
        MHD_add_response_header(r, "Vary", "Accept");
    if (etag)
        MHD_add_response_header(r, "ETag", etag);
    if (lastmod > 0) {
        char d[64];
        struct tm tm;
        gmtime_r(&lastmod, &tm);
        strftime(d, sizeof d, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        MHD_add_response_header(r, "Last-Modified", d);
    }
}

static int not_modified(struct MHD_Connection *c, const char *etag, time_t lastmod)
{
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    if (inm)
        return etag && (strstr(inm, etag) != NULL || !strcmp(inm, "*"));
    const char *ims = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Modified-Since");
    if (ims && lastmod > 0) {
        struct tm tm = {0};
        if (strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm))
            return lastmod <= timegm(&tm);
    }
    return 0;
}

static enum MHD_Result queue(struct MHD_Connection *c, int status, const char *ctype,
                             const char *body, size_t len, int persistent, const char *etag,
                             time_t lastmod, int cacheable, int rest, const srv_resp *rs)
{
    if (cacheable && status == 200 && not_modified(c, etag, lastmod)) {
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        add_headers(r, NULL, etag, lastmod, 1, rest);
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NOT_MODIFIED, r);
        MHD_destroy_response(r);
        return ret;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, (void *)body, persistent ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    add_headers(r, ctype, etag, lastmod, cacheable, rest);
    if (rs && rs->allow)
        MHD_add_response_header(r, "Allow", rs->allow);
    if (rs && rs->auth_challenge)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"nmdi\"");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result queue_entry(struct MHD_Connection *c, const cache_entry *e)
{
    if (e->resp304 && not_modified(c, e->etag, e->lastmod))
        return MHD_queue_response(c, MHD_HTTP_NOT_MODIFIED, e->resp304);
    return MHD_queue_response(c, (unsigned)e->status, e->resp);
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    (void)version;
    (void)upload_data;
    nmdi_server *s = cls;
    static int first_marker;
    int other = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
    if (*req_cls == NULL && !other) {
        *req_cls = &first_marker;
        return MHD_YES;
    }
    srv_resp rs = {0};
    srv_req rq = {0};
    rq.method = method;
    rq.path = url;
    char client[INET6_ADDRSTRLEN + 1] = "?";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, client,
                      sizeof client);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                      client, sizeof client);
    }
    rq.client = client;
    if (other) { /* answered at once: the body is never read */
        *upload_data_size = 0;
        nmdi__resp_error(&rs, 405, "only GET and HEAD are supported");
        rs.allow = "GET, HEAD";
        enum MHD_Result r = queue(conn, rs.status, rs.ctype, rs.body, rs.len, 0, NULL, 0, 0, 0, &rs);
        free(rs.body);
        return r;
    }
    if (!rate_ok(s, client)) {
        nmdi__resp_error(&rs, 429, "too many requests; slow down");
        enum MHD_Result r = queue(conn, 429, rs.ctype, rs.body, rs.len, 0, NULL, 0, 0, 0, &rs);
        free(rs.body);
        return r;
    }
    if (strlen(url) > 4096) {
        nmdi__resp_error(&rs, 414, "URI too long");
        enum MHD_Result r = queue(conn, 414, rs.ctype, rs.body, rs.len, 0, NULL, 0, 0, 0, &rs);
        free(rs.body);
        return r;
    }
    arg_ctx args = {0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
    if (args.too_many) {
        nmdi__resp_error(&rs, 400, "too many query parameters");
        enum MHD_Result r = queue(conn, 400, rs.ctype, rs.body, rs.len, 0, NULL, 0, 0, 0, &rs);
        free(rs.body);
        return r;
    }
    rq.accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
    const char *authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    int rest = !strncmp(url, "/rest", 5);
    /* fast path: a public answer already rendered */
    char key[8192];
    size_t klen = 0;
    if (!authz) {
        klen = (size_t)snprintf(key, sizeof key, "%s?", url);
        for (size_t i = 0; i < args.n && klen < sizeof key; i++)
            klen += (size_t)snprintf(key + klen, sizeof key - klen, "%s=%s&", args.kv[i].key,
                                     args.kv[i].value);
        if (klen < sizeof key)
            klen += (size_t)snprintf(key + klen, sizeof key - klen, "|%s",
                                     rest && rq.accept ? rq.accept : "");
        if (klen >= sizeof key)
            klen = 0;
        cache_entry *e = klen ? cache_get(s, key, klen) : NULL;
        if (e)
            return queue_entry(conn, e);
    }
    char role[16] = "", agency[64] = "";
    if (authz) {
        const char *tok = !strncasecmp(authz, "Bearer ", 7) ? authz + 7 : NULL;
        if (tok && nmdi__auth_check(s, tok, role, agency, &rq.token_id) == 0) {
            rq.role = role;
            rq.agency = agency[0] ? agency : NULL;
        } else {
            rq.bad_token = 1;
            nmdi__resp_error(&rs, 401, "invalid or revoked token");
            rs.auth_challenge = 1;
            nmdi__audit(s, &rq, 401);
            enum MHD_Result r = queue(conn, 401, rs.ctype, rs.body, rs.len, 0, NULL, 0, 0, 0, &rs);
            free(rs.body);
            return r;
        }
    }
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    if (host && args.n < MAX_ARGS) { /* the DCAT handler builds absolute URLs */
        args.kv[args.n].key = "\x01host";
        args.kv[args.n].value = host;
    }
    rq.args = args.kv;
    rq.nargs = args.n;
    srv_req rq2 = rq;
    arg_ctx hosted = args;
    if (host)
        hosted.n++;
    rq2.args = hosted.kv;
    rq2.nargs = hosted.n;
    int is_dcat = !strcmp(url, "/dcat.jsonld") || !strcmp(url, "/dcat") ||
                  !strcmp(url, "/api/v1/dcat");
    route(s, is_dcat ? &rq2 : &rq, &rs);
    if (!rs.ctype)
        rs.ctype = "text/plain";
    if (rq.role) {
        /* every authenticated access is audited; never cached */
        nmdi__audit(s, &rq, rs.status);
        rs.cacheable = 0;
    }
    enum MHD_Result ret;
    if (rs.cacheable && !authz && klen) {
        cache_entry *e = cache_put(s, key, klen, &rs, rest);
        if (e) {
            free(rs.body);
            return queue_entry(conn, e);
        }
    }
    char etag[24];
    int cacheable = rs.cacheable && rs.status == 200;
    if (cacheable)
        make_etag(&rs, s->rel ? s->rel->version : "", etag);
    ret = queue(conn, rs.status ? rs.status : 500, rs.ctype, rs.body ? rs.body : "", rs.len, 0,
                cacheable ? etag : NULL, rs.lastmod, cacheable, rest, &rs);
    free(rs.body);
    return ret;
}

/* The release may switch between requests, never during one. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    nmdi_server *s = cls;
    pthread_rwlock_rdlock(&s->rel_lock);
    enum MHD_Result r =
        handle_request(cls, conn, url, method, version, upload_data, upload_data_size, req_cls);
    pthread_rwlock_unlock(&s->rel_lock);
    return r;
}

/* ---- following DIR/releases/LATEST ------------------------------------------------------ */
static void read_latest(const char *dir, char *buf, size_t size)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/releases/LATEST", dir);
    buf[0] = 0;
    FILE *f = fopen(p, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = 0;
}

static void *watch_latest(void *arg)
{
    nmdi_server *s = arg;
    while (!s->stopping) {
        for (int i = 0; i < 10 && !s->stopping; i++)
            usleep(100000);
        if (s->stopping)
            break;
        char v[64];
        read_latest(s->dir, v, sizeof v);
        if (!v[0] || (s->rel && !strcmp(v, s->rel->version)))
            continue;
        nmdi_release *nr;
        nmdi_error err;
        if (nmdi_release_open(&nr, s->dir, NULL, &err) != 0)
            continue; /* keep serving the old one */
        pthread_rwlock_wrlock(&s->rel_lock);
        nmdi_release *old = s->rel;
        s->rel = nr;
        /* retire the cache: its buffers may still be on the wire */
        pthread_rwlock_wrlock(&s->cache_lock);
        size_t need = s->nretired + s->nentries;
        if (need > s->capretired) {
            cache_entry **ne = realloc(s->retired, (need + 16) * sizeof *ne);
            if (ne) {
                s->retired = ne;
                s->capretired = need + 16;
            }
        }
        if (need <= s->capretired) {
            memcpy(s->retired + s->nretired, s->entries, s->nentries * sizeof *s->entries);
            s->nretired = need;
            s->nentries = 0;
            s->cache_used = 0;
            nmdi_strmap *fresh = nmdi_strmap_new();
            if (fresh) {
                nmdi_strmap_free(s->cache);
                s->cache = fresh;
            }
        }
        pthread_rwlock_unlock(&s->cache_lock);
        pthread_rwlock_unlock(&s->rel_lock);
        nmdi_release_free(old);
        if (s->ctx)
            nmdi_note(s->ctx, "nmdi serve: now serving release %s", nr->version);
    }
    return NULL;
}

/* ---- start and stop ---------------------------------------------------------------- */
static int parse_listen(const char *l, struct sockaddr_storage *ss, socklen_t *len, int *v6)
{
    char host[256] = "127.0.0.1";
    const char *port = NULL;
    if (!l || !*l)
        l = "127.0.0.1:8080";
    if (l[0] == '[') {
        const char *e = strchr(l, ']');
        if (!e || e[1] != ':')
            return -1;
        snprintf(host, sizeof host, "%.*s", (int)(e - l - 1), l + 1);
        port = e + 2;
    } else if (strchr(l, ':')) {
        const char *c = strrchr(l, ':');
        if (c == l)
            snprintf(host, sizeof host, "0.0.0.0");
        else
            snprintf(host, sizeof host, "%.*s", (int)(c - l), l);
        port = c + 1;
    } else {
        port = l;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*end || p < 0 || p > 65535 || !*port)
        return -1;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)p);
        *len = sizeof *a4;
        *v6 = 0;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)p);
        *len = sizeof *a6;
        *v6 = 1;
        return 0;
    }
    if (!strcmp(host, "localhost")) {
        inet_pton(AF_INET, "127.0.0.1", &a4->sin_addr);
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)p);
        *len = sizeof *a4;
        *v6 = 0;
        return 0;
    }
    return -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char tmp[8192];
    size_t n;
    while (m && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
        fwrite(tmp, 1, n, m);
    fclose(f);
    if (m)
        fclose(m);
    return buf;
}

static void server_free(nmdi_server *s)
{
    s->stopping = 1;
    if (s->watcher_started)
        pthread_join(s->watcher, NULL);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    for (size_t i = 0; i < s->nretired; i++)
        entry_free(s->retired[i]);
    free(s->retired);
    for (size_t i = 0; i < s->nentries; i++)
        entry_free(s->entries[i]);
    free(s->entries);
    nmdi_strmap_free(s->cache);
    nmdi_release_free(s->rel);
    if (s->db)
        sqlite3_close(s->db);
    free(s->buckets);
    free(s->undesa_json);
    if (s->tls_key)
        sodium_memzero(s->tls_key, strlen(s->tls_key));
    free(s->tls_key);
    free(s->tls_cert);
    pthread_rwlock_destroy(&s->cache_lock);
    pthread_rwlock_destroy(&s->rel_lock);
    pthread_mutex_destroy(&s->rate_lock);
    pthread_mutex_destroy(&s->db_lock);
    free(s);
}

int nmdi_serve_start(nmdi_server **out, const nmdi_ctx *ctx, const nmdi_serve_opts *opts,
                     nmdi_error *err)
{
    nmdi_error_clear(err);
    *out = NULL;
    nmdi_server *s = calloc(1, sizeof *s);
    if (!s)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    pthread_rwlock_init(&s->cache_lock, NULL);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* a waiting release switch must not starve behind a stream of requests */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->rel_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&s->rate_lock, NULL);
    pthread_mutex_init(&s->db_lock, NULL);
    s->ctx = ctx;
    s->opts = *opts;
    if (!s->opts.threads)
        s->opts.threads = 2;
    if (!s->opts.cache_bytes)
        s->opts.cache_bytes = (size_t)256 << 20;
    if (s->opts.rate == 0)
        s->opts.rate = 500;
    if (!s->opts.burst)
        s->opts.burst = 1000;
    if (!s->opts.timeout_s)
        s->opts.timeout_s = 30;
    if (!s->opts.max_obs)
        s->opts.max_obs = 2000000;
    snprintf(s->dir, sizeof s->dir, "%s", opts->dir);
    s->cache = nmdi_strmap_new();
    s->buckets = calloc(NBUCKETS, sizeof *s->buckets);
    if (!s->cache || !s->buckets) {
        server_free(s);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    struct stat st;
    if (stat(opts->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        server_free(s);
        return nmdi_error_at(err, NMDI_EDATA, opts->dir, 0, NULL, "not a directory");
    }
    nmdi_error rerr;
    if (nmdi_release_open(&s->rel, opts->dir, NULL, &rerr) != 0) {
        s->rel = NULL;
        char m[1600];
        nmdi_error_format(&rerr, m, sizeof m);
        if (ctx)
            nmdi_note(ctx, "nmdi serve: no release to serve yet (%s); data answers 503", m);
    }
    nmdi_serve_web_dir(opts->web_dir, s->web, sizeof s->web);
    char real[PATH_MAX];
    if (realpath(s->web, real))
        snprintf(s->web_real, sizeof s->web_real, "%s", real);
    data_dir(opts->data_dir, s->data, sizeof s->data);
    nmdi__serve_load_undesa(s);
    nmdi_error aerr;
    if (nmdi__auth_open(opts->dir, &s->db, 1, &aerr) != 0)
        s->db = NULL; /* read-only infrastructure: no tokens, public only */
    struct sockaddr_storage ss;
    socklen_t sl;
    int v6;
    if (parse_listen(opts->listen, &ss, &sl, &v6) != 0) {
        server_free(s);
        return nmdi_error_set(err, NMDI_EDATA,
                              "bad --listen '%s' (expected HOST:PORT, [V6]:PORT or :PORT)",
                              opts->listen);
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY |
                     MHD_USE_TURBO | (v6 ? MHD_USE_IPv6 : 0);
    if ((opts->tls_cert != NULL) != (opts->tls_key != NULL)) {
        server_free(s);
        return nmdi_error_set(err, NMDI_EDATA, "--tls-cert and --tls-key go together");
    }
    if (opts->tls_cert) {
        s->tls_cert = slurp(opts->tls_cert);
        s->tls_key = slurp(opts->tls_key);
        if (!s->tls_cert || !s->tls_key) {
            server_free(s);
            return nmdi_error_at(err, NMDI_EDATA, opts->tls_cert, 0, NULL,
                                 "cannot read the TLS certificate or key");
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls_opts[] = {
        {s->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->tls_cert},
        {s->tls_key ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, s->tls_key},
        {MHD_OPTION_END, 0, NULL}};
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, s->opts.threads, MHD_OPTION_CONNECTION_TIMEOUT,
        s->opts.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
        MHD_OPTION_CONNECTION_LIMIT, 2000u, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 1000u,
        MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!s->daemon) {
        int e = errno;
        server_free(s);
        return nmdi_error_set(err, NMDI_EDATA, "cannot listen on %s: %s",
                              opts->listen ? opts->listen : "127.0.0.1:8080",
                              e ? strerror(e) : "libmicrohttpd refused to start");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    if (pthread_create(&s->watcher, NULL, watch_latest, s) == 0)
        s->watcher_started = 1;
    *out = s;
    return 0;
}

uint16_t nmdi_serve_port(const nmdi_server *s) { return s->port; }

void nmdi_serve_stop(nmdi_server *s)
{
    if (s)
        server_free(s);
}
