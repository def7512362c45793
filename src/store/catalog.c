/*
 * catalog.c — the SQLite implementation of nmdi/catalog.h: schema versions
 * and forward migrations (PRAGMA user_version), write-ahead logging with full
 * sync, one transaction per write (or the caller's), and the queries the
 * commands need. Nothing outside this file sees SQLite.
 */
#include "nmdi/catalog.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct nmdi_catalog {
    sqlite3 *db;
    char *path;
    int in_txn;
    int readonly;
    sqlite3_stmt *qst; /* prepared quarantine insert (loads write many) */
};

/* Migration i brings the schema from version i to i+1. Never edit a shipped
 * migration: append a new one. */
static const char *const migrations[] = {
    /* 0 → 1 */
    "CREATE TABLE agencies (id TEXT PRIMARY KEY, name_en TEXT, name_zh TEXT);\n"
    "CREATE TABLE sources (id TEXT PRIMARY KEY, agency_id TEXT NOT NULL REFERENCES agencies(id),\n"
    "  record_type TEXT NOT NULL, format TEXT NOT NULL, description TEXT);\n"
    "CREATE TABLE dataset_versions (id INTEGER PRIMARY KEY, dataset TEXT NOT NULL,\n"
    "  version INTEGER NOT NULL, source_id TEXT, record_type TEXT, path TEXT NOT NULL,\n"
    "  read_rows INTEGER NOT NULL, rows INTEGER NOT NULL, quarantined INTEGER NOT NULL,\n"
    "  nparts INTEGER NOT NULL, loaded_at TEXT NOT NULL, lineage TEXT,\n"
    "  UNIQUE (dataset, version));\n"
    "CREATE TABLE deliveries (version_id INTEGER NOT NULL REFERENCES dataset_versions(id),\n"
    "  file TEXT NOT NULL, checksum TEXT, read_rows INTEGER, loaded INTEGER, quarantined INTEGER);\n"
    "CREATE TABLE quarantine (id INTEGER PRIMARY KEY,\n"
    "  version_id INTEGER NOT NULL REFERENCES dataset_versions(id), file TEXT, line INTEGER,\n"
    "  rule TEXT NOT NULL, field TEXT, value TEXT, message TEXT);\n"
    "CREATE INDEX quarantine_version ON quarantine(version_id);\n"
    "CREATE TABLE variables (version_id INTEGER NOT NULL REFERENCES dataset_versions(id),\n"
    "  name TEXT NOT NULL, type TEXT NOT NULL, codelist TEXT);\n"
    "CREATE TABLE lineage (child TEXT NOT NULL, parent TEXT NOT NULL, relation TEXT);\n"
    "CREATE TABLE codelists (id TEXT PRIMARY KEY, name_en TEXT, name_zh TEXT);\n"
    "CREATE TABLE table_defs (id TEXT PRIMARY KEY, definition TEXT);\n"
    "CREATE TABLE releases (version TEXT PRIMARY KEY, created TEXT NOT NULL, ntables INTEGER);\n"
    "CREATE TABLE users (id TEXT PRIMARY KEY, role TEXT NOT NULL, agency_id TEXT);\n"
    "CREATE TABLE tokens (hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),\n"
    "  created TEXT NOT NULL, expires TEXT);\n"
    "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, user_id TEXT,\n"
    "  action TEXT NOT NULL, object TEXT);\n",
};
#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])
_Static_assert(NMIGRATIONS == NMDI_CATALOG_SCHEMA, "one migration per schema version");

static int db_err(nmdi_catalog *c, nmdi_error *err, const char *what)
{
    int code = sqlite3_errcode(c->db);
    if (code == SQLITE_FULL)
        return nmdi_error_at(err, NMDI_EDATA, c->path, 0, NULL, "disk full while %s", what);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return nmdi_error_at(err, NMDI_EDATA, c->path, 0, NULL,
                             "the catalog is busy (another load running?) while %s", what);
    return nmdi_error_at(err, NMDI_EINTERNAL, c->path, 0, NULL, "catalog error while %s: %s", what,
                         sqlite3_errmsg(c->db));
}

static int exec(nmdi_catalog *c, const char *sql, nmdi_error *err, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_free(msg);
        return db_err(c, err, what);
    }
    return 0;
}

int nmdi_catalog_begin(nmdi_catalog *c, nmdi_error *err)
{
    if (c->in_txn)
        return nmdi_error_set(err, NMDI_EINTERNAL, "catalog transaction already open");
    if (exec(c, "BEGIN IMMEDIATE", err, "starting a transaction"))
        return err->code;
    c->in_txn = 1;
    return 0;
}

int nmdi_catalog_commit(nmdi_catalog *c, nmdi_error *err)
{
    if (!c->in_txn)
        return nmdi_error_set(err, NMDI_EINTERNAL, "no catalog transaction open");
    if (exec(c, "COMMIT", err, "committing")) {
        nmdi_catalog_rollback(c);
        return err->code;
    }
    c->in_txn = 0;
    return 0;
}

void nmdi_catalog_rollback(nmdi_catalog *c)
{
    if (c->in_txn)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    c->in_txn = 0;
}

/* Implicit transaction around one write when the caller has none open. */
static int wbegin(nmdi_catalog *c, nmdi_error *err, int *own)
{
    *own = 0;
    if (c->readonly)
        return nmdi_error_set(err, NMDI_EINTERNAL, "catalog opened read-only");
    if (c->in_txn)
        return 0;
    *own = 1;
    return nmdi_catalog_begin(c, err);
}

static int wend(nmdi_catalog *c, int own, int rc, nmdi_error *err)
{
    if (!own)
        return rc;
    if (rc) {
        nmdi_catalog_rollback(c);
        return rc;
    }
    return nmdi_catalog_commit(c, err);
}

int nmdi_catalog_schema_version(nmdi_catalog *c)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

static int migrate(nmdi_catalog *c, nmdi_error *err)
{
    int v = nmdi_catalog_schema_version(c);
    if (v < 0)
        return db_err(c, err, "reading the schema version");
    if (v > (int)NMIGRATIONS)
        return nmdi_error_at(err, NMDI_EDATA, c->path, 0, NULL,
                             "catalog schema version %d is newer than this nmdi (%d): upgrade nmdi",
                             v, (int)NMIGRATIONS);
    for (; v < (int)NMIGRATIONS; v++) {
        if (c->readonly)
            return nmdi_error_at(err, NMDI_EDATA, c->path, 0, NULL,
                                 "catalog schema version %d needs migrating: run a command that "
                                 "writes (e.g. nmdi load)", v);
        if (nmdi_catalog_begin(c, err))
            return err->code;
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (exec(c, migrations[v], err, "migrating the schema") ||
            exec(c, pragma, err, "migrating the schema")) {
            nmdi_catalog_rollback(c);
            return err->code;
        }
        if (nmdi_catalog_commit(c, err))
            return err->code;
    }
    return 0;
}

static int open_db(nmdi_catalog **out, const char *path, int flags, int readonly, nmdi_error *err)
{
    *out = NULL;
    nmdi_catalog *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    c->readonly = readonly;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "cannot open the catalog: %s",
                      c->db ? sqlite3_errmsg(c->db) : "out of memory");
        nmdi_catalog_close(c);
        return NMDI_EDATA;
    }
    sqlite3_busy_timeout(c->db, 10000);
    if ((!readonly && exec(c, "PRAGMA journal_mode=WAL", err, "opening")) ||
        exec(c, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", err, "opening") ||
        migrate(c, err)) {
        nmdi_catalog_close(c);
        return err->code;
    }
    *out = c;
    return 0;
}

int nmdi_catalog_create(nmdi_catalog **out, const char *path, nmdi_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL, "a catalog exists already");
    return open_db(out, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0, err);
}

int nmdi_catalog_open(nmdi_catalog **out, const char *path, int readonly, nmdi_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL,
                             "no catalog here: is this an infrastructure made by `nmdi init`?");
    return open_db(out, path, readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, readonly, err);
}

void nmdi_catalog_close(nmdi_catalog *c)
{
    if (!c)
        return;
    nmdi_catalog_rollback(c);
    sqlite3_finalize(c->qst);
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

/* Prepare, bind text/int64 values described by types ('t' text, 'i' int64), step once. */
static int run(nmdi_catalog *c, const char *sql, const char *types, nmdi_error *err,
               const char *what, ...)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(c, err, what);
    va_list ap;
    va_start(ap, what);
    for (int i = 0; types[i]; i++) {
        if (types[i] == 't') {
            const char *s = va_arg(ap, const char *);
            if (s)
                sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(st, i + 1);
        } else {
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        }
    }
    va_end(ap);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        return db_err(c, err, what);
    return 0;
}

int nmdi_catalog_sync_config(nmdi_catalog *c, const nmdi_config *cfg, nmdi_error *err)
{
    int own, rc = wbegin(c, err, &own);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < cfg->nagencies; i++) {
        const nmdi_cfg_agency *a = &cfg->agencies[i];
        rc = run(c,
                 "INSERT INTO agencies(id,name_en,name_zh) VALUES(?,?,?) ON CONFLICT(id) DO UPDATE "
                 "SET name_en=excluded.name_en, name_zh=excluded.name_zh",
                 "ttt", err, "recording agencies", a->id, a->name_en, a->name_zh);
    }
    for (size_t i = 0; !rc && i < cfg->nsources; i++) {
        const nmdi_cfg_source *s = &cfg->sources[i];
        rc = run(c,
                 "INSERT INTO sources(id,agency_id,record_type,format,description) VALUES(?,?,?,?,?) "
                 "ON CONFLICT(id) DO UPDATE SET agency_id=excluded.agency_id, "
                 "record_type=excluded.record_type, format=excluded.format, "
                 "description=excluded.description",
                 "ttttt", err, "recording sources", s->id, s->agency, s->record_type, s->format,
                 s->description);
    }
    return wend(c, own, rc, err);
}

int nmdi_catalog_next_version(nmdi_catalog *c, const char *dataset, int64_t *out, nmdi_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "SELECT COALESCE(MAX(version),0)+1 FROM dataset_versions WHERE dataset=?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(c, err, "reading versions");
    sqlite3_bind_text(st, 1, dataset, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    *out = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 1;
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? 0 : db_err(c, err, "reading versions");
}

int nmdi_catalog_has_version(nmdi_catalog *c, const char *dataset, int64_t version)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM dataset_versions WHERE dataset=? AND version=?", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, dataset, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, version);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

int nmdi_catalog_add_version(nmdi_catalog *c, nmdi_dsversion *v, nmdi_error *err)
{
    int own, rc = wbegin(c, err, &own);
    if (rc)
        return rc;
    rc = run(c,
             "INSERT INTO dataset_versions(dataset,version,source_id,record_type,path,read_rows,rows,"
             "quarantined,nparts,loaded_at,lineage) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
             "titttiiiitt", err, "recording a dataset version", v->dataset, v->version, v->source,
             v->record_type, v->path, v->read, v->rows, v->quarantined, (int64_t)v->nparts,
             v->loaded_at, v->lineage);
    if (!rc)
        v->id = sqlite3_last_insert_rowid(c->db);
    return wend(c, own, rc, err);
}

int nmdi_catalog_update_version(nmdi_catalog *c, int64_t id, int64_t read, int64_t rows,
                                int64_t quarantined, const char *lineage, nmdi_error *err)
{
    int own, rc = wbegin(c, err, &own);
    if (rc)
        return rc;
    rc = run(c, "UPDATE dataset_versions SET read_rows=?, rows=?, quarantined=?, lineage=? WHERE id=?",
             "iiiti", err, "updating a dataset version", read, rows, quarantined, lineage, id);
    return wend(c, own, rc, err);
}

int nmdi_catalog_add_delivery(nmdi_catalog *c, int64_t version_id, const char *file,
                              const char *checksum, int64_t read, int64_t loaded,
                              int64_t quarantined, nmdi_error *err)
{
    int own, rc = wbegin(c, err, &own);
    if (rc)
        return rc;
    rc = run(c,
             "INSERT INTO deliveries(version_id,file,checksum,read_rows,loaded,quarantined) "
             "VALUES(?,?,?,?,?,?)",
             "ittiii", err, "recording a delivery", version_id, file, checksum, read, loaded,
             quarantined);
    return wend(c, own, rc, err);
}

int nmdi_catalog_add_quarantine(nmdi_catalog *c, int64_t version_id, const char *file, long line,
                                const char *rule, const char *field, const char *value,
                                const char *message, nmdi_error *err)
{
    int own, rc = wbegin(c, err, &own);
    if (rc)
        return rc;
    if (!c->qst && sqlite3_prepare_v2(c->db,
                                      "INSERT INTO quarantine(version_id,file,line,rule,field,value,"
                                      "message) VALUES(?,?,?,?,?,?,?)",
                                      -1, &c->qst, NULL) != SQLITE_OK)
        return wend(c, own, db_err(c, err, "recording quarantine"), err);
    sqlite3_stmt *st = c->qst;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, version_id);
    sqlite3_bind_text(st, 2, file, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, line);
    sqlite3_bind_text(st, 4, rule, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, field, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, value, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, message, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_err(c, err, "recording quarantine");
    sqlite3_reset(st);
    return wend(c, own, rc, err);
}

int nmdi_catalog_add_release(nmdi_catalog *c, const char *version, const char *created,
                             int64_t ntables, nmdi_error *err)
{
    int own, rc = wbegin(c, err, &own);
    if (rc)
        return rc;
    rc = run(c, "INSERT OR REPLACE INTO releases(version,created,ntables) VALUES(?,?,?)", "tti", err,
             "recording a release", version, created, ntables);
    return wend(c, own, rc, err);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? (const char *)s : "";
}

static void fill_version(sqlite3_stmt *st, nmdi_dsversion *v)
{
    v->id = sqlite3_column_int64(st, 0);
    v->dataset = col_text(st, 1);
    v->version = sqlite3_column_int64(st, 2);
    v->source = col_text(st, 3);
    v->record_type = col_text(st, 4);
    v->path = col_text(st, 5);
    v->read = sqlite3_column_int64(st, 6);
    v->rows = sqlite3_column_int64(st, 7);
    v->quarantined = sqlite3_column_int64(st, 8);
    v->nparts = sqlite3_column_int(st, 9);
    v->loaded_at = col_text(st, 10);
    v->lineage = col_text(st, 11);
}

#define VERSION_COLS \
    "id,dataset,version,source_id,record_type,path,read_rows,rows,quarantined,nparts,loaded_at,lineage"

int nmdi_catalog_versions(nmdi_catalog *c, const char *dataset, nmdi_dsversion_fn fn, void *arg,
                          nmdi_error *err)
{
    sqlite3_stmt *st;
    const char *sql = dataset ? "SELECT " VERSION_COLS " FROM dataset_versions WHERE dataset=? "
                                "ORDER BY dataset, version"
                              : "SELECT " VERSION_COLS " FROM dataset_versions ORDER BY dataset, version";
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(c, err, "listing versions");
    if (dataset)
        sqlite3_bind_text(st, 1, dataset, -1, SQLITE_TRANSIENT);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        nmdi_dsversion v;
        fill_version(st, &v);
        if (fn(arg, &v))
            break;
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_err(c, err, "listing versions");
}

int nmdi_catalog_latest(nmdi_catalog *c, const char *dataset, nmdi_dsversion *out, nmdi_arena *arena,
                        nmdi_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT " VERSION_COLS " FROM dataset_versions WHERE dataset=? "
                           "ORDER BY version DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        db_err(c, err, "reading the latest version");
        return -1;
    }
    sqlite3_bind_text(st, 1, dataset, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        fill_version(st, out);
        out->dataset = nmdi_arena_strdup(arena, out->dataset);
        out->source = nmdi_arena_strdup(arena, out->source);
        out->record_type = nmdi_arena_strdup(arena, out->record_type);
        out->path = nmdi_arena_strdup(arena, out->path);
        out->loaded_at = nmdi_arena_strdup(arena, out->loaded_at);
        out->lineage = nmdi_arena_strdup(arena, out->lineage);
    }
    sqlite3_finalize(st);
    if (r == SQLITE_ROW)
        return 1;
    if (r == SQLITE_DONE)
        return 0;
    db_err(c, err, "reading the latest version");
    return -1;
}

int nmdi_catalog_quarantine(nmdi_catalog *c, const char *dataset, int64_t version,
                            nmdi_quarantine_fn fn, void *arg, nmdi_error *err)
{
    sqlite3_stmt *st;
    const char *sql =
        "SELECT v.dataset, v.version, q.file, q.line, q.rule, q.field, q.value, q.message "
        "FROM quarantine q JOIN dataset_versions v ON v.id = q.version_id "
        "WHERE v.dataset=?1 AND v.version = CASE WHEN ?2 > 0 THEN ?2 ELSE "
        "(SELECT MAX(version) FROM dataset_versions WHERE dataset=?1) END ORDER BY q.id";
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(c, err, "listing quarantine");
    sqlite3_bind_text(st, 1, dataset, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, version);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        nmdi_quarantine_row q = {col_text(st, 0), sqlite3_column_int64(st, 1), col_text(st, 2),
                                 (long)sqlite3_column_int64(st, 3), col_text(st, 4), col_text(st, 5),
                                 col_text(st, 6), col_text(st, 7)};
        if (fn(arg, &q))
            break;
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_err(c, err, "listing quarantine");
}

static int rows(nmdi_catalog *c, const char *sql, nmdi_catalog_row_fn fn, void *arg, nmdi_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(c, err, "reading the catalog");
    int n = sqlite3_column_count(st), r;
    const char *vals[16];
    if (n > 16)
        n = 16;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < n; i++)
            vals[i] = col_text(st, i);
        if (fn(arg, n, vals))
            break;
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_err(c, err, "reading the catalog");
}

int nmdi_catalog_agencies(nmdi_catalog *c, nmdi_catalog_row_fn fn, void *arg, nmdi_error *err)
{
    return rows(c, "SELECT id, COALESCE(name_en,''), COALESCE(name_zh,'') FROM agencies ORDER BY id",
                fn, arg, err);
}

int nmdi_catalog_sources(nmdi_catalog *c, nmdi_catalog_row_fn fn, void *arg, nmdi_error *err)
{
    return rows(c, "SELECT id, agency_id, record_type, format FROM sources ORDER BY id", fn, arg, err);
}

int nmdi_catalog_releases(nmdi_catalog *c, nmdi_catalog_row_fn fn, void *arg, nmdi_error *err)
{
    return rows(c, "SELECT version, created, COALESCE(ntables,0) FROM releases ORDER BY version", fn,
                arg, err);
}
