/*
 * internal.h — private structures shared by the files of src/serve/: the
 * server, a request as the handlers see it, a response being built, and the
 * token/audit database (auth.c).
 */
#ifndef NMDI_SERVE_INTERNAL_H
#define NMDI_SERVE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include "nmdi/serve.h"

typedef struct srv_resp {
    int status;
    const char *ctype;   /* static string                                   */
    char *body;          /* malloc'd (or NULL)                              */
    size_t len;
    int cacheable;       /* public, immutable: cache and send ETag          */
    time_t lastmod;      /* 0: none                                         */
    const char *allow;   /* Allow header for 405                            */
    int auth_challenge;  /* send WWW-Authenticate                           */
} srv_resp;

typedef struct srv_req {
    const char *method, *path, *accept, *client;
    const nmdi_kv *args;
    size_t nargs;
    const char *role;    /* NULL public, "analyst", "admin"                 */
    const char *agency;  /* token's agency or NULL                          */
    long token_id;
    int bad_token;       /* an Authorization header that did not match       */
} srv_req;

typedef struct cache_entry {
    int status;
    const char *ctype;
    char *body;
    size_t len;
    char etag[24];
    time_t lastmod;
    void *resp, *resp304; /* prepared libmicrohttpd responses, reused   */
} cache_entry;

struct nmdi_server {
    struct MHD_Daemon *daemon;
    const nmdi_ctx *ctx;
    nmdi_serve_opts opts;
    char dir[2048], web[2048], data[2048], web_real[4096];
    nmdi_release *rel;
    /* rendered-response cache */
    pthread_rwlock_t cache_lock;
    nmdi_strmap *cache;
    cache_entry **entries;
    size_t nentries, capentries, cache_used;
    /* rate limiter: token buckets in a fixed table hashed by client address */
    pthread_mutex_t rate_lock;
    struct bucket { uint64_t key; double tokens, last; } *buckets;
    /* tokens and audit log */
    sqlite3 *db;
    pthread_mutex_t db_lock;
    char *undesa_json; /* rendered once at start                           */
    size_t undesa_len;
    uint16_t port;
    char *tls_cert, *tls_key;
    /* release switching: a watcher thread loads a new LATEST; requests hold
     * rel_lock for reading, the switch takes it for writing. Old cache
     * entries (their buffers may still be in flight) are retired, freed at stop. */
    pthread_rwlock_t rel_lock;
    pthread_t watcher;
    int watcher_started;
    volatile int stopping;
    cache_entry **retired;
    size_t nretired, capretired;
};

/* api.c: the handlers (fill rs; body malloc'd) */
void nmdi__serve_rest(nmdi_server *s, const srv_req *rq, const char *sub, srv_resp *rs);
void nmdi__serve_api(nmdi_server *s, const srv_req *rq, const char *sub, srv_resp *rs);
void nmdi__serve_dcat(nmdi_server *s, const srv_req *rq, srv_resp *rs);
int nmdi__serve_load_undesa(nmdi_server *s);
void nmdi__resp_text(srv_resp *rs, int status, const char *ctype, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void nmdi__resp_error(srv_resp *rs, int status, const char *msg);

/* auth.c */
int nmdi__auth_open(const char *dir, sqlite3 **db, int create, nmdi_error *err);
/* Look a bearer token up: 0 and role/agency (static strings / malloc'd) or -1. */
int nmdi__auth_check(nmdi_server *s, const char *token, char role[16], char agency[64],
                     long *id);
void nmdi__audit(nmdi_server *s, const srv_req *rq, int status);
void nmdi__audit_json(nmdi_server *s, srv_resp *rs);

#endif
