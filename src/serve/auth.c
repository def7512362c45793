/*
 * auth.c — bearer tokens and the audit log, in SQLite DIR/serve.db (tables
 * `tokens` and `audit`; every statement prepared, values bound). A token is
 * "nmdi_" + 64 hex digits of libsodium randomness; only its BLAKE2b hash is
 * stored, so a stolen database reveals no token. Lookups go by the hash
 * (unguessable), so no timing side channel leaks a token's prefix.
 */
#include "internal.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char *schema_sql =
    "CREATE TABLE IF NOT EXISTS tokens (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL CHECK (role IN ('analyst','admin')), agency TEXT,"
    " created TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, ts TEXT NOT NULL,"
    " token_id INTEGER, role TEXT, client TEXT, method TEXT, path TEXT, status INTEGER);";

int nmdi__auth_open(const char *dir, sqlite3 **db, int create, nmdi_error *err)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/serve.db", dir);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(p, db, flags, NULL) != SQLITE_OK) {
        nmdi_error_at(err, NMDI_EDATA, p, 0, NULL, "cannot open token database: %s",
                      *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        return NMDI_EDATA;
    }
    sqlite3_busy_timeout(*db, 2000);
    char *msg = NULL;
    if (sqlite3_exec(*db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
        nmdi_error_at(err, NMDI_EINTERNAL, p, 0, NULL, "cannot create tables: %s",
                      msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(*db);
        *db = NULL;
        return NMDI_EINTERNAL;
    }
    return 0;
}

static void hash_token(const char *token, char hex[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

static void now_iso(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int nmdi_token_create(const char *dir, const char *role, const char *agency, char *out,
                      size_t size, long *id_out, nmdi_error *err)
{
    nmdi_error_clear(err);
    if (!role || (strcmp(role, "analyst") != 0 && strcmp(role, "admin") != 0))
        return nmdi_error_set(err, NMDI_EDATA, "role must be analyst or admin");
    if (size < 80)
        return nmdi_error_set(err, NMDI_EINTERNAL, "token buffer too small");
    if (sodium_init() < 0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "libsodium failed to initialise");
    sqlite3 *db;
    int rc = nmdi__auth_open(dir, &db, 1, err);
    if (rc)
        return rc;
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    char hex[65], h[65], now[32];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    snprintf(out, size, "nmdi_%s", hex);
    hash_token(out, h);
    now_iso(now);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO tokens (hash, role, agency, created) VALUES (?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "token insert: %s", sqlite3_errmsg(db));
    } else {
        sqlite3_bind_text(st, 1, h, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, role, -1, SQLITE_TRANSIENT);
        if (agency)
            sqlite3_bind_text(st, 3, agency, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 3);
        sqlite3_bind_text(st, 4, now, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "token insert: %s", sqlite3_errmsg(db));
        else if (id_out)
            *id_out = (long)sqlite3_last_insert_rowid(db);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    sodium_memzero(raw, sizeof raw);
    if (rc)
        out[0] = 0;
    return rc;
}

int nmdi_token_revoke(const char *dir, long id, nmdi_error *err)
{
    nmdi_error_clear(err);
    sqlite3 *db;
    int rc = nmdi__auth_open(dir, &db, 0, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "UPDATE tokens SET revoked = 1 WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "%s", sqlite3_errmsg(db));
    else {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "%s", sqlite3_errmsg(db));
        else if (sqlite3_changes(db) == 0)
            rc = nmdi_error_set(err, NMDI_EDATA, "no token with id %ld", id);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int nmdi_token_list(const char *dir, FILE *f, nmdi_error *err)
{
    nmdi_error_clear(err);
    sqlite3 *db;
    int rc = nmdi__auth_open(dir, &db, 0, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, role, agency, created, revoked FROM tokens ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = nmdi_error_set(err, NMDI_EINTERNAL, "%s", sqlite3_errmsg(db));
    } else {
        fprintf(f, "id,role,agency,created,revoked\n");
        while (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *ag = sqlite3_column_text(st, 2);
            fprintf(f, "%lld,%s,%s,%s,%d\n", (long long)sqlite3_column_int64(st, 0),
                    sqlite3_column_text(st, 1), ag ? (const char *)ag : "",
                    sqlite3_column_text(st, 3), sqlite3_column_int(st, 4));
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int nmdi__auth_check(nmdi_server *s, const char *token, char role[16], char agency[64], long *id)
{
    if (!s->db || !token || strncmp(token, "nmdi_", 5) != 0 || strlen(token) != 69)
        return -1;
    char h[65];
    hash_token(token, h);
    int rc = -1;
    pthread_mutex_lock(&s->db_lock);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, role, agency FROM tokens WHERE hash = ? AND revoked = 0",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, h, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *id = (long)sqlite3_column_int64(st, 0);
            snprintf(role, 16, "%s", (const char *)sqlite3_column_text(st, 1));
            const unsigned char *ag = sqlite3_column_text(st, 2);
            snprintf(agency, 64, "%s", ag ? (const char *)ag : "");
            rc = 0;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_lock);
    return rc;
}

void nmdi__audit(nmdi_server *s, const srv_req *rq, int status)
{
    if (!s->db)
        return;
    char now[32];
    now_iso(now);
    pthread_mutex_lock(&s->db_lock);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO audit (ts, token_id, role, client, method, path, status)"
                           " VALUES (?,?,?,?,?,?,?)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
        if (rq->token_id > 0)
            sqlite3_bind_int64(st, 2, rq->token_id);
        else
            sqlite3_bind_null(st, 2);
        sqlite3_bind_text(st, 3, rq->role ? rq->role : "public", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, rq->client ? rq->client : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, rq->method, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, rq->path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 7, status);
        if (sqlite3_step(st) != SQLITE_DONE && s->ctx)
            nmdi_note(s->ctx, "audit log write failed: %s", sqlite3_errmsg(s->db));
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_lock);
}

void nmdi__audit_json(nmdi_server *s, srv_resp *rs)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&s->db_lock);
    sqlite3_stmt *st = NULL;
    if (s->db && sqlite3_prepare_v2(s->db,
                                    "SELECT id, ts, token_id, role, client, method, path, status"
                                    " FROM audit ORDER BY id DESC LIMIT 1000",
                                    -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
            json_object_set_new(o, "ts", json_string((const char *)sqlite3_column_text(st, 1)));
            json_object_set_new(o, "token_id", sqlite3_column_type(st, 2) == SQLITE_NULL
                                                   ? json_null()
                                                   : json_integer(sqlite3_column_int64(st, 2)));
            for (int c = 3; c <= 6; c++) {
                const char *names[] = {"", "", "", "role", "client", "method", "path"};
                const unsigned char *v = sqlite3_column_text(st, c);
                json_object_set_new(o, names[c], json_string(v ? (const char *)v : ""));
            }
            json_object_set_new(o, "status", json_integer(sqlite3_column_int(st, 7)));
            json_array_append_new(arr, o);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_lock);
    rs->status = 200;
    rs->ctype = "application/json; charset=utf-8";
    rs->body = json_dumps(arr, JSON_INDENT(1));
    rs->len = rs->body ? strlen(rs->body) : 0;
    json_decref(arr);
}
