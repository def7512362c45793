/*
 * nmdi/serve.h — the HTTP server (libmicrohttpd): SDMX REST 2.1 (v1.5.0) under
 * /rest/, the portal's JSON API under /api/v1/ (docs/api.md), a DCAT
 * catalogue, CSV downloads, static portal files, bearer-token authentication
 * with an audit log of every non-public access, and request limits.
 *
 * The request parser (nmdi_rest_parse) and content negotiation
 * (nmdi_rest_negotiate) are independent of HTTP so that tests and fuzzers
 * can drive them directly.
 *
 * Ownership: nmdi_serve_start() returns a server owning its threads, the
 * loaded release, the response cache and the token database handle;
 * nmdi_serve_stop() ends them all. Parsed requests live in the caller's
 * arena. Tokens: nmdi_token_create() returns the clear token once (the
 * database keeps only its hash).
 *
 * Threading: the server answers on a pool of libmicrohttpd threads; the
 * release is read-only, the cache and rate limiter are locked internally.
 * nmdi_rest_parse/negotiate are reentrant.
 */
#ifndef NMDI_SERVE_H
#define NMDI_SERVE_H

#include <stdint.h>

#include "nmdi/core.h"
#include "nmdi/publish.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmdi_serve_opts {
    const char *dir;        /* infrastructure directory                       */
    const char *listen;     /* "127.0.0.1:8080" (default), "[::1]:0", ":8080" */
    const char *web_dir;    /* static portal files, NULL: see nmdi_serve_web_dir */
    const char *data_dir;   /* reference data (data/undesa), NULL: found like web */
    const char *tls_cert, *tls_key; /* PEM files; both or neither              */
    unsigned threads;       /* worker threads (default 2)                     */
    size_t cache_bytes;     /* rendered-response cache (default 256 MiB)      */
    double rate;            /* requests per second per client (default 200)   */
    unsigned burst;         /* burst size per client (default 400)            */
    unsigned timeout_s;     /* connection timeout (default 30)                */
    size_t max_obs;         /* larger data answers get 413 (default 2,000,000) */
} nmdi_serve_opts;

typedef struct nmdi_server nmdi_server;

int nmdi_serve_start(nmdi_server **out, const nmdi_ctx *ctx, const nmdi_serve_opts *opts,
                     nmdi_error *err);
uint16_t nmdi_serve_port(const nmdi_server *s); /* the bound port (for port 0) */
void nmdi_serve_stop(nmdi_server *s);

/* The static files folder: opts value, else $NMDI_WEB, else
 * <dir of the executable>/../../web/dist, else /usr/share/nmdi/web. */
const char *nmdi_serve_web_dir(const char *given, char *buf, size_t size);

/* ---- SDMX REST request parsing ------------------------------------------- */
enum { NMDI_REST_DATA, NMDI_REST_STRUCTURE, NMDI_REST_SCHEMA };
enum { NMDI_RES_DATAFLOW, NMDI_RES_DATASTRUCTURE, NMDI_RES_CODELIST, NMDI_RES_CONCEPTSCHEME };
enum { NMDI_REF_NONE, NMDI_REF_PARENTS, NMDI_REF_PARENTSANDSIBLINGS, NMDI_REF_CHILDREN,
       NMDI_REF_DESCENDANTS, NMDI_REF_ALL, NMDI_REF_TYPE };

typedef struct nmdi_rest_query {
    int kind;                    /* NMDI_REST_*                                 */
    int resource;                /* NMDI_RES_* (structure and schema queries)   */
    /* structure: '+'-separated lists; "all" / "latest" as given */
    const char *agency, *id, *version;
    int references;              /* NMDI_REF_*                                  */
    int ref_type;                /* NMDI_RES_* when references is a type        */
    int stubs;                   /* detail=allstubs / referencestubs            */
    /* data */
    const char *flow_agency, *flow_id, *flow_version; /* flowRef parts (NULL: any) */
    const char *provider;        /* "all" or a provider ref                     */
    nmdi_sdmx_query q;
} nmdi_rest_query;

typedef struct nmdi_kv {
    const char *key, *value;
} nmdi_kv;

/* Parse path (after "/rest") and query arguments. Returns 0, or an HTTP
 * status (400 bad syntax, 404 unknown resource, 501 not implemented) with a
 * message in err. */
int nmdi_rest_parse(const char *path, const nmdi_kv *args, size_t nargs, nmdi_arena *a,
                    nmdi_rest_query *out, nmdi_error *err);
/* Choose the response format (NMDI_FMT_*) from the format parameter (may be
 * NULL) and the Accept header (may be NULL); kind = NMDI_REST_*. -1: 406. */
int nmdi_rest_negotiate(int kind, const char *format_param, const char *accept);
const char *nmdi_rest_content_type(int fmt);

/* ---- tokens (DIR/serve.db) ------------------------------------------------ */
/* Create a token for role "analyst" or "admin" (agency may be NULL); the clear
 * token (nmdi_<64 hex>) is written into out (at least 80 bytes). */
int nmdi_token_create(const char *dir, const char *role, const char *agency, char *out,
                      size_t size, long *id_out, nmdi_error *err);
int nmdi_token_revoke(const char *dir, long id, nmdi_error *err);
/* Print the tokens (id, role, agency, created, revoked; never the hash). */
int nmdi_token_list(const char *dir, FILE *f, nmdi_error *err);

#ifdef __cplusplus
}
#endif
#endif
