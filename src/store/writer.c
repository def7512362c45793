/*
 * writer.c — writes one immutable dataset version of the store (nmdi/store.h):
 * per-partition, per-column append buffers flushed to column files, code
 * columns dictionary-encoded, a checksum per file computed while writing
 * (sum64.h), and the crash-safe commit: temporary directory → fsync → manifest
 * → fsync → rename. Memory is bounded by partitions × columns × BUF_FLUSH
 * plus the code dictionaries, independent of the number of rows.
 */
#include "nmdi/store.h"

#include "sum64.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUF_FLUSH (64u * 1024u)

typedef struct colbuf {
    unsigned char *buf, *sbuf; /* data (or string offsets), string bytes     */
    size_t len, cap, slen, scap;
    uint64_t soff;             /* running byte offset of the string column   */
    sum64 h, hs;
    int fd, sfd;               /* the column files kept open, or -1           */
    int dfd;                   /* the data file opened O_DIRECT, or -1        */
    int nodirect;              /* direct writes stopped for this file          */
    uint64_t size;             /* bytes in the data file                      */
} colbuf;

/* Direct writes (nmdi_store_writer_direct): offsets, lengths and buffer
 * addresses in multiples of this (the page size covers the logical block
 * size of common devices; a device or file system that wants more refuses
 * with EINVAL, and the file is then written through the page cache). */
#define DIO_ALIGN 4096u

typedef struct dict {
    nmdi_strmap *map;
    const char **keys;
    size_t n, cap;
    /* codes of up to 8 bytes seen lately: packed bytes → index, so that the
     * common case costs no string hashing (direct-mapped, 256 entries) */
    uint64_t ck[256];
    int32_t cv[256];
    uint8_t cl[256];  /* length + 1; 0 = empty */
} dict;

struct nmdi_store_writer {
    char *dsdir, *tmpdir, *finaldir, *dataset, *version;
    size_t nfields;
    nmdi_store_field *fields;
    uint32_t *width;       /* per field: bytes of a BYTES value (0: not set)    */
    int nparts;
    colbuf *cols;          /* nparts * nfields                                  */
    uint64_t *part_rows, rows;
    dict *dicts;           /* per field, CODE only                              */
    nmdi_arena *arena;
    uint32_t part;
    uint64_t written, fail_after;
    int failed;
    int keep_fds;          /* column files stay open between flushes            */
    int direct;            /* aligned appends bypass the page cache             */
    int full;              /* a buffer of the current row's partition is full   */
    nmdi_error ferr;
    /* write-behind: a thread starting the write-out of the column files */
    pthread_t wb;
    pthread_mutex_t wbmu;
    pthread_cond_t wbcv;
    int wb_on, wb_stop;
};

const char *nmdi_coltype_name(nmdi_coltype t)
{
    switch (t) {
    case NMDI_COL_I32: return "int32";
    case NMDI_COL_I64: return "int64";
    case NMDI_COL_F64: return "double";
    case NMDI_COL_STR: return "string";
    case NMDI_COL_DATE: return "date";
    case NMDI_COL_CODE: return "code";
    case NMDI_COL_BYTES: return "bytes";
    }
    return "?";
}

const char *nmdi_store_bytes_text(const char *field, const unsigned char *v, size_t width, char *out,
                                  size_t size)
{
    static const char hexd[] = "0123456789abcdef";
    size_t nz = 0, fl = strlen(field);
    for (size_t k = 0; k < width; k++)
        nz |= v[k];
    out[0] = 0;
    if (!nz || size < 2 * width + 4)
        return out;
    size_t n = 0;
    if (fl >= 6 && !strcmp(field + fl - 6, "_qgram")) {
        memcpy(out, "b1:", 3);
        n = 3;
    }
    for (size_t k = 0; k < width; k++) {
        out[n++] = hexd[v[k] >> 4];
        out[n++] = hexd[v[k] & 15];
    }
    out[n] = 0;
    return out;
}

static const char *ext_of(nmdi_coltype t)
{
    switch (t) {
    case NMDI_COL_I64: return "i64";
    case NMDI_COL_F64: return "f64";
    case NMDI_COL_STR: return "off";
    case NMDI_COL_BYTES: return "bin";
    default: return "i32";
    }
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

/* Make every file under dir durable: syncfs on its filesystem. */
static int sync_tree(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = syncfs(fd);
    close(fd);
    return rc;
}

static int io_error(nmdi_error *err, const char *path, const char *what, int e)
{
    if (e == ENOSPC || e == EDQUOT)
        return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL,
                             "disk full while %s: free space and run the command again "
                             "(nothing was committed)", what);
    return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "%s: %s", what, strerror(e));
}

/* Write len bytes at p to fd (O_APPEND), or at offset off when off >= 0;
 * honours the test hook. 0, or an errno value; *done (when not NULL): the
 * bytes written, also on error. */
static int write_all(nmdi_store_writer *w, int fd, const unsigned char *p, size_t len, int64_t off,
                     size_t *done)
{
    size_t n0 = len;
    int e = 0;
    while (len > 0) {
        if (w->fail_after && __atomic_load_n(&w->written, __ATOMIC_RELAXED) + len > w->fail_after) {
            e = ENOSPC;
            break;
        }
        ssize_t r = off >= 0 ? pwrite(fd, p, len, (off_t)off) : write(fd, p, len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            e = errno;
            break;
        }
        p += r;
        len -= (size_t)r;
        if (off >= 0)
            off += r;
        __atomic_fetch_add(&w->written, (uint64_t)r, __ATOMIC_RELAXED);
    }
    if (done)
        *done = n0 - len;
    return e;
}

/* The aligned head of an append to a column's data file written with
 * O_DIRECT, past the page cache (writers marked direct, files kept open):
 * *p and *len are advanced past what was written. A file system without
 * O_DIRECT, or one refusing the alignment, ends direct writes for the file;
 * so does an unaligned tail (the file's end is then unaligned). */
static int append_direct(nmdi_store_writer *w, colbuf *c, const char *path,
                         const unsigned char **p, size_t *len)
{
    if (!w->direct || !w->keep_fds || c->nodirect || *len < DIO_ALIGN || c->size % DIO_ALIGN ||
        (uintptr_t)*p % DIO_ALIGN)
        return 0;
    if (c->dfd < 0 && (c->dfd = open(path, O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644)) < 0) {
        c->nodirect = 1;
        return 0;
    }
    size_t n = *len - *len % DIO_ALIGN, done;
    int e = write_all(w, c->dfd, *p, n, (int64_t)c->size, &done);
    c->size += done; /* what was written stays: the rest follows it */
    *p += done;
    *len -= done;
    if (e == EINVAL) { /* O_DIRECT refused: the page cache it is */
        c->nodirect = 1;
        return 0;
    }
    return e;
}

/* Append bytes to a file (created when absent); honours the test hook.
 * With fdp (a column file's slot): the file is opened once and kept open in
 * *fdp when the writer keeps its files open, else opened and closed here.
 * With c (fdp its data file's slot): the column's size is kept, and aligned
 * appends may go past the page cache (append_direct). */
static int append_fd(nmdi_store_writer *w, int *fdp, colbuf *c, const char *path, const void *data,
                     size_t len, nmdi_error *err)
{
    int fd = fdp ? *fdp : -1, keep = fdp && w->keep_fds;
    const unsigned char *p = data;
    if (c) {
        int e = append_direct(w, c, path, &p, &len);
        if (e)
            return io_error(err, path, "writing a column file", e);
        if (!len)
            return 0;
    }
    if (fd < 0) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            return io_error(err, path, "cannot open for writing", errno);
        if (keep)
            *fdp = fd;
    } else {
        keep = 1;
    }
    int e = write_all(w, fd, p, len, -1, NULL);
    if (e) {
        if (!keep)
            close(fd);
        return io_error(err, path, "writing a column file", e);
    }
    if (c)
        c->size += len;
    if (!keep && close(fd) < 0)
        return io_error(err, path, "closing a column file", errno);
    return 0;
}

static int append_file(nmdi_store_writer *w, const char *path, const void *data, size_t len,
                       nmdi_error *err)
{
    return append_fd(w, NULL, NULL, path, data, len, err);
}

/* Close the column files kept open (the first close error, when err). */
static int close_fds(nmdi_store_writer *w, nmdi_error *err)
{
    int rc = 0;
    for (size_t i = 0; w->cols && i < (size_t)w->nparts * w->nfields; i++)
        for (int k = 0; k < 3; k++) {
            int *fdp = k == 2 ? &w->cols[i].dfd : k ? &w->cols[i].sfd : &w->cols[i].fd;
            if (*fdp >= 0 && close(*fdp) < 0 && !rc && err)
                rc = io_error(err, w->tmpdir, "closing a column file", errno);
            *fdp = -1;
        }
    return rc;
}

/* Descriptors open in this process now (-1 when /proc/self/fd cannot be read). */
static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* Whether a writer of nfiles column files may keep them all open: the soft
 * limit of open files is raised to the hard limit (once per process: later
 * calls find it raised), and a writer keeps its files open only when the
 * descriptors already open (other writers' included), its files and 256
 * spare ones fit under the limit; else each flush opens and closes its file. */
static int may_keep_fds(size_t nfiles)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    if (rl.rlim_cur == RLIM_INFINITY)
        return 1;
    long used = open_fds();
    if (used < 0) /* unknown: half of what the limit leaves after the spare ones */
        return rl.rlim_cur > 256 && nfiles <= (rl.rlim_cur - 256) / 2;
    return (uint64_t)used + nfiles + 256 <= (uint64_t)rl.rlim_cur;
}

static void col_path(const nmdi_store_writer *w, char *buf, size_t size, int part, size_t f,
                     const char *ext)
{
    snprintf(buf, size, "%s/p%03d/%s.%s", w->tmpdir, part, w->fields[f].name, ext);
}

static int flush_col(nmdi_store_writer *w, int part, size_t f, nmdi_error *err)
{
    colbuf *c = &w->cols[(size_t)part * w->nfields + f];
    char path[4096];
    if (c->len) {
        col_path(w, path, sizeof path, part, f, ext_of(w->fields[f].type));
        sum64_update(&c->h, c->buf, c->len);
        if (append_fd(w, &c->fd, c, path, c->buf, c->len, err))
            return NMDI_EDATA;
        c->len = 0;
    }
    if (c->slen) {
        col_path(w, path, sizeof path, part, f, "str");
        sum64_update(&c->hs, c->sbuf, c->slen);
        if (append_fd(w, &c->sfd, NULL, path, c->sbuf, c->slen, err))
            return NMDI_EDATA;
        c->slen = 0;
    }
    return 0;
}

static void put_bytes(nmdi_store_writer *w, size_t f, const void *v, size_t n)
{
    colbuf *c = &w->cols[(size_t)w->part * w->nfields + f];
    if (nmdi_grow((void **)&c->buf, &c->cap, c->len + n, 1, BUF_FLUSH + 64)) {
        if (!w->failed)
            nmdi_error_set(&w->ferr, NMDI_EINTERNAL, "out of memory writing the store");
        w->failed = 1;
        return;
    }
    memcpy(c->buf + c->len, v, n);
    c->len += n;
    w->full |= c->len >= BUF_FLUSH;
}

/* put_bytes for values of 4 or 8 bytes (n a constant where inlined): the
 * common case, room in the buffer, costs a store and an add. */
static inline void put_word(nmdi_store_writer *w, size_t f, const void *v, size_t n)
{
    colbuf *c = &w->cols[(size_t)w->part * w->nfields + f];
    if (c->len + n <= c->cap) {
        memcpy(c->buf + c->len, v, n);
        c->len += n;
        w->full |= c->len >= BUF_FLUSH;
        return;
    }
    put_bytes(w, f, v, n);
}

static int valid_name(const char *s)
{
    if (!*s || *s == '.')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

#define WB_BYTES (32u << 20) /* write-behind round: after this many new bytes */

/* Start the write-out of every column file's dirty pages (not waiting). */
static void wb_sweep(nmdi_store_writer *w)
{
    char path[4096];
    for (int p = 0; p < w->nparts; p++)
        for (size_t f = 0; f < w->nfields; f++)
            for (int k = 0; k < 1 + (w->fields[f].type == NMDI_COL_STR); k++) {
                if (w->keep_fds) {
                    /* the descriptors stay open until wb_stop has joined this thread */
                    const colbuf *c = &w->cols[(size_t)p * w->nfields + f];
                    int kfd = k ? c->sfd : c->fd;
                    if (kfd >= 0)
                        (void)sync_file_range(kfd, 0, 0, SYNC_FILE_RANGE_WRITE);
                    continue;
                }
                col_path(w, path, sizeof path, p, f, k ? "str" : ext_of(w->fields[f].type));
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                    continue;
                (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
                close(fd);
            }
}

static void *wb_main(void *arg)
{
    nmdi_store_writer *w = arg;
    uint64_t last = 0;
    pthread_mutex_lock(&w->wbmu);
    while (!w->wb_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->wbcv, &w->wbmu, &ts);
        uint64_t now = __atomic_load_n(&w->written, __ATOMIC_RELAXED);
        if (w->wb_stop || now - last < WB_BYTES)
            continue;
        last = now;
        pthread_mutex_unlock(&w->wbmu);
        wb_sweep(w);
        pthread_mutex_lock(&w->wbmu);
    }
    pthread_mutex_unlock(&w->wbmu);
    return NULL;
}

static void wb_stop(nmdi_store_writer *w)
{
    if (!w->wb_on)
        return;
    pthread_mutex_lock(&w->wbmu);
    w->wb_stop = 1;
    pthread_cond_signal(&w->wbcv);
    pthread_mutex_unlock(&w->wbmu);
    pthread_join(w->wb, NULL);
    pthread_cond_destroy(&w->wbcv);
    pthread_mutex_destroy(&w->wbmu);
    w->wb_on = 0;
}

void nmdi_store_writer_direct(nmdi_store_writer *w)
{
    w->direct = 1;
}

void nmdi_store_writer_write_behind(nmdi_store_writer *w)
{
    if (w->wb_on)
        return;
    w->wb_stop = 0;
    if (pthread_mutex_init(&w->wbmu, NULL))
        return;
    if (pthread_cond_init(&w->wbcv, NULL)) {
        pthread_mutex_destroy(&w->wbmu);
        return;
    }
    if (pthread_create(&w->wb, NULL, wb_main, w)) {
        pthread_cond_destroy(&w->wbcv);
        pthread_mutex_destroy(&w->wbmu);
        return;
    }
    w->wb_on = 1;
}

static void free_writer(nmdi_store_writer *w)
{
    if (!w)
        return;
    wb_stop(w);
    close_fds(w, NULL);
    if (w->cols)
        for (size_t i = 0; i < (size_t)w->nparts * w->nfields; i++) {
            free(w->cols[i].buf);
            free(w->cols[i].sbuf);
        }
    if (w->dicts)
        for (size_t i = 0; i < w->nfields; i++) {
            nmdi_strmap_free(w->dicts[i].map);
            free(w->dicts[i].keys);
        }
    free(w->dicts);
    free(w->cols);
    free(w->width);
    free(w->part_rows);
    free(w->dsdir);
    free(w->tmpdir);
    free(w->finaldir);
    nmdi_arena_free(w->arena);
    free(w);
}

/* Recursively remove a directory tree (only what the store writes: files and
 * one or two levels of directories). */
static int rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[8192];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc |= rm_tree(sub);
        else if (unlink(sub) < 0)
            rc = -1;
    }
    closedir(d);
    if (rmdir(path) < 0)
        rc = -1;
    return rc;
}

int nmdi_store_writer_open(nmdi_store_writer **out, const char *store_dir, const char *dataset,
                           const char *version, size_t nfields, const nmdi_store_field *fields,
                           const nmdi_store_opts *opts, nmdi_error *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "libsodium failed to initialise");
    if (!valid_name(dataset) || !valid_name(version))
        return nmdi_error_set(err, NMDI_EDATA, "invalid dataset or version name '%s/%s'", dataset,
                              version);
    for (size_t f = 0; f < nfields; f++) {
        if (!valid_name(fields[f].name))
            return nmdi_error_at(err, NMDI_EDATA, NULL, 0, fields[f].name,
                                 "a stored field name may hold only letters, digits, '_', '-', '.'");
        for (size_t k = 0; k < f; k++)
            if (!strcmp(fields[k].name, fields[f].name))
                return nmdi_error_at(err, NMDI_EINTERNAL, NULL, 0, fields[f].name,
                                     "field stored twice");
    }
    nmdi_store_writer *w = calloc(1, sizeof *w);
    if (!w)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    w->nparts = opts && opts->nparts > 0 ? opts->nparts : 8;
    w->fail_after = opts ? opts->fail_after_bytes : 0;
    w->nfields = nfields;
    w->arena = nmdi_arena_new(0);
    size_t ncol = (size_t)w->nparts * nfields;
    w->cols = calloc(ncol ? ncol : 1, sizeof *w->cols);
    for (size_t i = 0; w->cols && i < ncol; i++)
        w->cols[i].fd = w->cols[i].sfd = w->cols[i].dfd = -1;
    w->part_rows = calloc((size_t)w->nparts, sizeof *w->part_rows);
    w->width = calloc(nfields ? nfields : 1, sizeof *w->width);
    w->dicts = calloc(nfields ? nfields : 1, sizeof *w->dicts);
    w->fields = w->arena ? nmdi_arena_calloc(w->arena, nfields + 1, sizeof *w->fields) : NULL;
    if (!w->cols || !w->part_rows || !w->dicts || !w->fields || !w->width) {
        free_writer(w);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    w->dataset = nmdi_arena_strdup(w->arena, dataset);
    w->version = nmdi_arena_strdup(w->arena, version);
    for (size_t f = 0; f < nfields; f++) {
        w->fields[f].name = nmdi_arena_strdup(w->arena, fields[f].name);
        w->fields[f].type = fields[f].type;
        if (fields[f].type == NMDI_COL_CODE && !(w->dicts[f].map = nmdi_strmap_new())) {
            free_writer(w);
            return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        }
    }
    size_t l = strlen(store_dir) + strlen(dataset) + strlen(version) + 64;
    w->dsdir = malloc(l);
    w->tmpdir = malloc(l);
    w->finaldir = malloc(l);
    if (!w->dsdir || !w->tmpdir || !w->finaldir) {
        free_writer(w);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    snprintf(w->dsdir, l, "%s/%s", store_dir, dataset);
    snprintf(w->tmpdir, l, "%s/.tmp-%s-%ld", w->dsdir, version, (long)getpid());
    snprintf(w->finaldir, l, "%s/%s", w->dsdir, version);
    struct stat st;
    if (stat(w->finaldir, &st) == 0) {
        nmdi_error_at(err, NMDI_EINTERNAL, w->finaldir, 0, NULL, "dataset version exists already");
        free_writer(w);
        return NMDI_EINTERNAL;
    }
    size_t nfiles = 0;
    for (size_t f = 0; f < nfields; f++)
        nfiles += 1 + (fields[f].type == NMDI_COL_STR);
    w->keep_fds = may_keep_fds(nfiles * (size_t)w->nparts);
    rm_tree(w->tmpdir);
    if (mkdir_p(w->dsdir, 0755) < 0 || mkdir(w->tmpdir, 0755) < 0) {
        int e = errno;
        io_error(err, w->tmpdir, "cannot create the version directory", e);
        free_writer(w);
        return err->code;
    }
    for (int p = 0; p < w->nparts; p++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/p%03d", w->tmpdir, p);
        if (mkdir(path, 0755) < 0) {
            int e = errno;
            io_error(err, path, "cannot create a partition directory", e);
            nmdi_store_writer_abort(w);
            return err->code;
        }
        for (size_t f = 0; f < nfields; f++) {
            colbuf *c = &w->cols[(size_t)p * nfields + f];
            sum64_init(&c->h);
            sum64_init(&c->hs);
            w->part = (uint32_t)p;
            if (fields[f].type == NMDI_COL_STR) {
                uint64_t zero = 0;
                put_bytes(w, f, &zero, sizeof zero);
            }
            /* create every file now, so that an empty partition has its files */
            col_path(w, path, sizeof path, p, f, ext_of(fields[f].type));
            if (append_fd(w, &c->fd, NULL, path, "", 0, err) ||
                (fields[f].type == NMDI_COL_STR &&
                 (col_path(w, path, sizeof path, p, f, "str"),
                  append_fd(w, &c->sfd, NULL, path, "", 0, err)))) {
                nmdi_store_writer_abort(w);
                return err->code;
            }
        }
    }
    w->part = 0;
    *out = w;
    return 0;
}

int nmdi_store_writer_set_width(nmdi_store_writer *w, size_t f, size_t width, nmdi_error *err)
{
    if (f >= w->nfields || w->fields[f].type != NMDI_COL_BYTES || width < 1 ||
        width > NMDI_STORE_BYTES_MAX)
        return nmdi_error_at(err, NMDI_EINTERNAL, NULL, 0, f < w->nfields ? w->fields[f].name : NULL,
                             "a width (1..%d bytes) is for BYTES fields", NMDI_STORE_BYTES_MAX);
    w->width[f] = (uint32_t)width;
    return 0;
}

void nmdi_store_row_begin(nmdi_store_writer *w, uint32_t part)
{
    assert(part < (uint32_t)w->nparts);
    w->part = part % (uint32_t)w->nparts;
}

void nmdi_store_put_i32(nmdi_store_writer *w, size_t f, int32_t v)
{
    put_word(w, f, &v, sizeof v);
}

void nmdi_store_put_i64(nmdi_store_writer *w, size_t f, int64_t v)
{
    put_word(w, f, &v, sizeof v);
}

void nmdi_store_put_f64(nmdi_store_writer *w, size_t f, double v)
{
    put_word(w, f, &v, sizeof v);
}

/* The dictionary index of code s of CODE field f, added when new: -1 for
 * len 0 (missing), -2 when out of memory. Codes of at most 8 bytes seen
 * lately are found in a direct-mapped cache without string hashing. */
static int32_t code_of(nmdi_store_writer *w, size_t f, const char *s, size_t len)
{
    if (!len)
        return -1;
    dict *d = &w->dicts[f];
    uint64_t packed = 0;
    unsigned slot8 = 0;
    if (len <= 8) {
        packed = nmdi_pack8(s, len);
        slot8 = (unsigned)(((packed + len) * 0x9E3779B97F4A7C15ULL) >> 56);
        if (d->cl[slot8] == len + 1 && d->ck[slot8] == packed)
            return d->cv[slot8];
    }
    int ins = 0;
    int64_t *slot = nmdi_strmap_put(d->map, s, len, &ins);
    if (!slot)
        return -2;
    if (ins) {
        if (nmdi_grow((void **)&d->keys, &d->cap, d->n + 1, sizeof *d->keys, 64))
            return -2;
        if (!(d->keys[d->n] = nmdi_arena_strndup(w->arena, s, len)))
            return -2;
        *slot = (int64_t)d->n++;
    }
    int32_t code = (int32_t)*slot;
    if (len <= 8) {
        d->ck[slot8] = packed;
        d->cv[slot8] = code;
        d->cl[slot8] = (uint8_t)(len + 1);
    }
    return code;
}

void nmdi_store_put_str(nmdi_store_writer *w, size_t f, const char *s, size_t len)
{
    if (w->fields[f].type == NMDI_COL_CODE) {
        int32_t code = code_of(w, f, s, len);
        if (code == -2)
            goto oom;
        put_word(w, f, &code, sizeof code);
        return;
    }
    colbuf *c = &w->cols[(size_t)w->part * w->nfields + f];
    if (len) {
        if (nmdi_grow((void **)&c->sbuf, &c->scap, c->slen + len, 1, BUF_FLUSH + 64))
            goto oom;
        memcpy(c->sbuf + c->slen, s, len);
    }
    c->slen += len;
    c->soff += len;
    w->full |= c->slen >= BUF_FLUSH;
    put_word(w, f, &c->soff, sizeof c->soff);
    return;
oom:
    if (!w->failed)
        nmdi_error_set(&w->ferr, NMDI_EINTERNAL, "out of memory writing the store");
    w->failed = 1;
}

void nmdi_store_put_bytes(nmdi_store_writer *w, size_t f, const void *v)
{
    static const unsigned char zero[NMDI_STORE_BYTES_MAX];
    if (w->fields[f].type != NMDI_COL_BYTES || !w->width[f]) {
        if (!w->failed)
            nmdi_error_set(&w->ferr, NMDI_EINTERNAL, "field '%s': not a BYTES field with a width",
                           w->fields[f].name);
        w->failed = 1;
        return;
    }
    put_bytes(w, f, v ? v : zero, w->width[f]);
}

int nmdi_store_row_end(nmdi_store_writer *w, nmdi_error *err)
{
    if (w->failed) {
        *err = w->ferr;
        return err->code;
    }
    w->part_rows[w->part]++;
    w->rows++;
    if (!w->full)
        return 0;
    w->full = 0;
    colbuf *row = &w->cols[(size_t)w->part * w->nfields];
    for (size_t f = 0; f < w->nfields; f++)
        if (row[f].len >= BUF_FLUSH || row[f].slen >= BUF_FLUSH)
            if (flush_col(w, (int)w->part, f, err)) {
                w->failed = 1;
                w->ferr = *err;
                return err->code;
            }
    return 0;
}

uint64_t nmdi_store_writer_rows(const nmdi_store_writer *w)
{
    return __atomic_load_n(&w->rows, __ATOMIC_RELAXED);
}

int32_t nmdi_store_code_index(nmdi_store_writer *w, size_t f, const char *s, size_t len)
{
    if (f >= w->nfields || w->fields[f].type != NMDI_COL_CODE)
        return -2;
    return code_of(w, f, s, len);
}

/* Width in bytes of one value of field f in its column file (0 for STR and
 * for a BYTES field without a width). */
static size_t value_width(const nmdi_store_writer *w, size_t f)
{
    switch (w->fields[f].type) {
    case NMDI_COL_I64:
    case NMDI_COL_F64: return 8;
    case NMDI_COL_STR: return 0;
    case NMDI_COL_BYTES: return w->width[f];
    default: return 4;
    }
}

int nmdi_store_append_columns(nmdi_store_writer *w, uint32_t part, size_t nrows,
                              const void *const *cols, nmdi_error *err)
{
    if (part >= (uint32_t)w->nparts)
        return nmdi_error_set(err, NMDI_EINTERNAL, "partition %u of %d", part, w->nparts);
    for (size_t f = 0; f < w->nfields; f++)
        if (!value_width(w, f) || (nrows && !cols[f]))
            return nmdi_error_at(err, NMDI_EINTERNAL, NULL, 0, w->fields[f].name,
                                 "column append: no values (or a string field)");
    colbuf *row = &w->cols[(size_t)part * w->nfields];
    for (size_t f = 0; f < w->nfields; f++) {
        colbuf *c = &row[f];
        size_t bytes = nrows * value_width(w, f);
        const unsigned char *src = cols[f];
        if (c->len == 0 && bytes >= BUF_FLUSH) {
            /* a whole buffer's worth or more: written from the caller's array */
            char path[4096];
            col_path(w, path, sizeof path, (int)part, f, ext_of(w->fields[f].type));
            sum64_update(&c->h, src, bytes);
            if (append_fd(w, &c->fd, c, path, src, bytes, err))
                return err->code;
            continue;
        }
        while (bytes) {
            size_t room = c->len < BUF_FLUSH ? BUF_FLUSH - c->len : 0, k = bytes < room ? bytes : room;
            if (k) {
                if (nmdi_grow((void **)&c->buf, &c->cap, c->len + k, 1, BUF_FLUSH + 64))
                    return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory writing the store");
                memcpy(c->buf + c->len, src, k);
                c->len += k;
                src += k;
                bytes -= k;
            }
            if (c->len >= BUF_FLUSH && flush_col(w, (int)part, f, err))
                return err->code;
        }
    }
    w->part_rows[part] += nrows;
    __atomic_fetch_add(&w->rows, (uint64_t)nrows, __ATOMIC_RELAXED);
    return 0;
}

static int add_file(json_t *files, const char *name, const sum64 *st, uint64_t bytes)
{
    char hex[17];
    sum64_hex(sum64_final(st), hex);
    return json_object_set_new(files, name, json_pack("{s:I,s:s}", "bytes", (json_int_t)bytes,
                                                      "sum64", hex));
}

static int file_size(const char *path, uint64_t *out)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    *out = (uint64_t)st.st_size;
    return 0;
}

int nmdi_store_writer_finish(nmdi_store_writer *w, const char *meta_json, char **path_out,
                             nmdi_error *err)
{
    if (path_out)
        *path_out = NULL;
    if (w->failed) {
        *err = w->ferr;
        nmdi_store_writer_abort(w);
        return err->code;
    }
    char path[4096];
    for (size_t f = 0; f < w->nfields; f++)
        if (w->fields[f].type == NMDI_COL_BYTES && !w->width[f]) {
            nmdi_error_at(err, NMDI_EINTERNAL, NULL, 0, w->fields[f].name, "BYTES field without a width");
            nmdi_store_writer_abort(w);
            return err->code;
        }
    json_t *man = json_object();
    json_t *jfields = json_array(), *jparts = json_array(), *jdicts = json_object();
    json_object_set_new(man, "format", json_string("nmdi-store-1"));
    json_object_set_new(man, "dataset", json_string(w->dataset));
    json_object_set_new(man, "version", json_string(w->version));
    json_object_set_new(man, "nparts", json_integer(w->nparts));
    json_object_set_new(man, "rows", json_integer((json_int_t)w->rows));
    for (size_t f = 0; f < w->nfields; f++) {
        char tn[32];
        if (w->fields[f].type == NMDI_COL_BYTES)
            snprintf(tn, sizeof tn, "bytes%u", (unsigned)w->width[f]);
        else
            snprintf(tn, sizeof tn, "%s", nmdi_coltype_name(w->fields[f].type));
        json_array_append_new(jfields, json_pack("{s:s,s:s}", "name", w->fields[f].name, "type", tn));
    }
    json_object_set_new(man, "fields", jfields);
    int rc = 0;
    for (int p = 0; p < w->nparts && !rc; p++) {
        json_t *jp = json_object(), *files = json_object();
        json_object_set_new(jp, "rows", json_integer((json_int_t)w->part_rows[p]));
        for (size_t f = 0; f < w->nfields && !rc; f++) {
            colbuf *c = &w->cols[(size_t)p * w->nfields + f];
            if ((rc = flush_col(w, p, f, err)))
                break;
            char name[300];
            uint64_t sz = 0;
            const char *ext = ext_of(w->fields[f].type);
            col_path(w, path, sizeof path, p, f, ext);
            if (file_size(path, &sz) < 0) {
                rc = io_error(err, path, "cannot stat a column file", errno);
                break;
            }
            snprintf(name, sizeof name, "%s.%s", w->fields[f].name, ext);
            add_file(files, name, &c->h, sz);
            if (w->fields[f].type == NMDI_COL_STR) {
                col_path(w, path, sizeof path, p, f, "str");
                if (file_size(path, &sz) < 0) {
                    rc = io_error(err, path, "cannot stat a column file", errno);
                    break;
                }
                snprintf(name, sizeof name, "%s.str", w->fields[f].name);
                add_file(files, name, &c->hs, sz);
            }
        }
        json_object_set_new(jp, "files", files);
        json_array_append_new(jparts, jp);
    }
    json_object_set_new(man, "parts", jparts);
    /* dictionaries of code columns */
    for (size_t f = 0; f < w->nfields && !rc; f++) {
        if (w->fields[f].type != NMDI_COL_CODE)
            continue;
        dict *d = &w->dicts[f];
        sum64 st;
        sum64_init(&st);
        snprintf(path, sizeof path, "%s/%s.dict", w->tmpdir, w->fields[f].name);
        uint64_t total = 0;
        if ((rc = append_file(w, path, "", 0, err)))
            break;
        for (size_t k = 0; k < d->n && !rc; k++) {
            size_t len = strlen(d->keys[k]) + 1;
            sum64_update(&st, d->keys[k], len);
            rc = append_file(w, path, d->keys[k], len, err);
            total += len;
        }
        if (rc)
            break;
        char name[300];
        snprintf(name, sizeof name, "%s.dict", w->fields[f].name);
        json_t *jd = json_object();
        add_file(jd, name, &st, total);
        json_object_set_new(json_object_get(jd, name), "codes", json_integer((json_int_t)d->n));
        json_object_update(jdicts, jd);
        json_decref(jd);
    }
    json_object_set_new(man, "dicts", jdicts);
    wb_stop(w);
    if (close_fds(w, rc ? NULL : err))
        rc = err->code;
    /* one syncfs for all column files, dictionaries and partition directories
     * (per-file fsyncs each force a journal commit: much slower) */
    if (!rc && sync_tree(w->tmpdir) < 0)
        rc = io_error(err, w->tmpdir, "cannot sync the version's files", errno);
    if (meta_json) {
        json_error_t je;
        json_t *meta = json_loads(meta_json, 0, &je);
        if (!meta && !rc)
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "invalid manifest metadata: %s", je.text);
        if (meta)
            json_object_set_new(man, "meta", meta);
    }
    if (!rc) {
        char *text = json_dumps(man, JSON_INDENT(1) | JSON_SORT_KEYS);
        snprintf(path, sizeof path, "%s/manifest.json", w->tmpdir);
        if (!text)
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        else if (!(rc = append_file(w, path, text, strlen(text), err)) && fsync_path(path, 0) < 0)
            rc = io_error(err, path, "cannot sync the manifest", errno);
        free(text);
    }
    json_decref(man);
    if (!rc && fsync_path(w->tmpdir, 1) < 0)
        rc = io_error(err, w->tmpdir, "cannot sync the version directory", errno);
    if (!rc && rename(w->tmpdir, w->finaldir) < 0)
        rc = io_error(err, w->finaldir, "cannot move the version into place", errno);
    if (!rc && fsync_path(w->dsdir, 1) < 0)
        rc = io_error(err, w->dsdir, "cannot sync the dataset directory", errno);
    if (rc) {
        nmdi_store_writer_abort(w);
        return rc;
    }
    if (path_out)
        *path_out = strdup(w->finaldir);
    free_writer(w);
    return 0;
}

void nmdi_store_writer_abort(nmdi_store_writer *w)
{
    if (!w)
        return;
    if (w->tmpdir)
        rm_tree(w->tmpdir);
    free_writer(w);
}

int nmdi_store_remove_version(const char *store_dir, const char *dataset, const char *version,
                              nmdi_error *err)
{
    if (!valid_name(dataset) || !valid_name(version))
        return nmdi_error_set(err, NMDI_EDATA, "invalid dataset or version name");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", store_dir, dataset, version);
    if (rm_tree(path) < 0)
        return io_error(err, path, "cannot remove a stale version directory", errno);
    return 0;
}

int nmdi_store_clean_tmp(const char *store_dir, const char *dataset, nmdi_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", store_dir, dataset);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, ".tmp-", 5) != 0)
            continue;
        char sub[8192];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (rm_tree(sub) < 0)
            rc = io_error(err, sub, "cannot remove a leftover temporary directory", errno);
    }
    closedir(d);
    return rc;
}
