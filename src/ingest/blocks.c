/*
 * blocks.c — the block pipeline of a CSV load (nmdi_blocks_run): the file is
 * cut into record-aligned blocks of about 1 MiB, worker threads turn blocks
 * into converted, validated and pseudonymised rows in parallel, and the
 * caller's thread hands the blocks to the writer strictly in file order.
 *
 * Cutting: a block ends just after a record's line end, never inside a
 * quoted field. A block without any '"' byte ends after its last LF (or a
 * lone CR); a block with quotes is scanned from its start (a record start)
 * by a small state machine that follows the reader's rules (nmdi/csv.h: a
 * '"' opens a quoted field only as the first byte of a field, "" is a quote,
 * text after a closing quote is an error). A block where no cut is possible
 * yet (a record longer than the block, or a quoted field still open) grows
 * until one is, as the stream reader's record buffer would. Where the bytes
 * are malformed the cut may fall anywhere after the fault: the fault's block
 * starts at a true record start, so its parse stops at the same byte, with
 * the same message, as a whole-file parse; the writer stops there.
 *
 * Memory: at most nworkers + 2 blocks (and their outputs) exist at once.
 * Threads: the reading is done under the pipeline's lock by the worker that
 * takes the next block; work() runs unlocked and concurrently on distinct
 * blocks; write() runs on the caller's thread, one block at a time, in order.
 */
#include "ingest_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SLOT_FREE, SLOT_WORK, SLOT_DONE };

typedef struct slot {
    nmdi_block b;
    int state;
} slot;

typedef struct pipe_st {
    int fd;
    const char *name;
    char delim;
    int eof, done;         /* end of file reached; no block left to read   */
    char *tail;            /* bytes after the last cut, not yet in a block */
    size_t tlen, tcap;
    uint64_t next_read, total;
    long line;             /* line of the next block's first byte          */
    slot *slots;
    size_t nslots;
    const nmdi_block_ops *ops;
    size_t block;          /* bytes read per block (before any growth)     */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_write;
    int abort;
    int rerr;
    nmdi_error err;        /* reading error                               */
} pipe_st;

/* The reader's quote state machine over d[0..n) (a record starts at d[0]),
 * shared by nmdi_blocks_cut and nmdi_blocks_lines. Returns the end of the
 * last record end certain to be one. lines (if not NULL) gets the lines the
 * reader counts: LF anywhere, a CR not followed by LF outside quotes. When
 * final, the text ends the file: a CR or a quote at its end means what it
 * means at the end of a file; otherwise the scan stops before them (what they
 * mean depends on the next byte). On a parse error (text after a closing
 * quote) the scan stops there and returns n: the block is cut after it and its
 * parse fails where the reader fails; the lines up to the error are counted. */
static size_t scan_quoted(const char *d, size_t n, char delim, int final, long *lines)
{
    enum { FS, UQ, QT, AQ, SP } st = FS;
    size_t i = 0, last = 0;
    long nl = 0;
    const unsigned char *u = (const unsigned char *)d;
    while (i < n) {
        unsigned ch = u[i];
        switch (st) {
        case FS:
            if (ch == '"') {
                st = QT;
                i++;
                break;
            }
            /* fall through */
        case UQ:
        line_end:
            if (ch == '\n') {
                nl++;
                last = ++i;
                st = FS;
            } else if (ch == '\r') {
                if (i + 1 >= n && !final)
                    goto out;
                nl++;
                i += i + 1 < n && u[i + 1] == '\n' ? 2 : 1;
                last = i;
                st = FS;
            } else if (ch == (unsigned char)delim) {
                i++;
                st = FS;
            } else {
                i++;
                st = UQ;
            }
            break;
        case QT:
            if (ch == '"') {
                if (i + 1 >= n && !final)
                    goto out;
                if (i + 1 < n && u[i + 1] == '"') {
                    i += 2;
                } else {
                    i++;
                    st = AQ;
                }
            } else {
                /* to the next quote; inside quotes only LF counts as a line */
                const unsigned char *q = memchr(u + i, '"', n - i);
                size_t e = q ? (size_t)(q - u) : n;
                if (lines)
                    for (const unsigned char *p = u + i; (p = memchr(p, '\n', (size_t)(u + e - p))); p++)
                        nl++;
                i = e;
            }
            break;
        case AQ: /* the byte after a closing quote: the reader takes a delimiter or a line end */
            if (ch == (unsigned char)delim || ch == '\n' || ch == '\r')
                goto line_end;
            if (ch != ' ' && ch != '\t') {
                last = n; /* text after a closing quote: the parse fails here */
                goto out;
            }
            st = SP;
            i++;
            break;
        case SP: /* then skips spaces and tabs (a tab even when it is the delimiter) */
            if (ch == ' ' || ch == '\t')
                i++;
            else if (ch == (unsigned char)delim || ch == '\n' || ch == '\r')
                goto line_end;
            else {
                last = n;
                goto out;
            }
            break;
        }
    }
out:
    if (lines)
        *lines = nl;
    return last;
}

/* The last record boundary in d[0..n) (a record starts at d[0]), 0 when none
 * is certain yet. */
size_t nmdi_blocks_cut(const char *d, size_t n, char delim)
{
    if (!memchr(d, '"', n)) {
        const char *p = memrchr(d, '\n', n);
        if (p)
            return (size_t)(p - d) + 1;
        /* no LF: a lone CR ends a record when the byte after it is known */
        for (size_t i = n >= 2 ? n - 1 : 0; i-- > 0;)
            if (d[i] == '\r')
                return i + 1;
        return 0;
    }
    return scan_quoted(d, n, delim, 0, NULL);
}

long nmdi_blocks_lines(const char *d, size_t n, char delim)
{
    long lines = 0;
    if (!memchr(d, '"', n)) {
        /* LF ends a line; so does a CR not followed by LF */
        for (const char *p = d, *e = d + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
            lines++;
        for (const char *p = d, *e = d + n; (p = memchr(p, '\r', (size_t)(e - p))); p++)
            if (p + 1 == e || p[1] != '\n')
                lines++;
        return lines;
    }
    scan_quoted(d, n, delim, 1, &lines);
    return lines;
}

/* The next block into b: 1, 0 when none is left, -1 on a reading error. */
static int read_block(pipe_st *P, nmdi_block *b)
{
    if (P->done)
        return 0;
    size_t limit = P->tlen + P->block;
    if (nmdi_grow((void **)&b->data, &b->cap, limit, 1, 0))
        goto oom;
    if (P->tlen)
        memcpy(b->data, P->tail, P->tlen);
    size_t n = P->tlen, cut;
    for (;;) {
        while (n < limit && !P->eof) {
            ssize_t r = read(P->fd, b->data + n, limit - n);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                nmdi_error_at(&P->err, NMDI_EDATA, P->name, 0, NULL, "cannot read: %s", strerror(errno));
                return -1;
            }
            if (r == 0)
                P->eof = 1;
            else if (P->ops->on_read)
                P->ops->on_read(P->ops->arg, b->data + n, (size_t)r);
            n += (size_t)r;
        }
        cut = P->eof ? n : nmdi_blocks_cut(b->data, n, P->delim);
        if (cut > 0 || P->eof)
            break;
        /* no record ends in the block yet: read on */
        limit *= 2;
        if (nmdi_grow((void **)&b->data, &b->cap, limit, 1, 0))
            goto oom;
    }
    if (n == 0) {
        P->done = 1;
        return 0;
    }
    if (nmdi_grow((void **)&P->tail, &P->tcap, n - cut + 1, 1, 0))
        goto oom;
    memcpy(P->tail, b->data + cut, n - cut);
    P->tlen = n - cut;
    b->len = cut;
    b->seq = P->next_read++;
    b->line0 = P->line;
    P->line += nmdi_blocks_lines(b->data, cut, P->delim);
    if (P->eof && P->tlen == 0)
        P->done = 1;
    return 1;
oom:
    nmdi_error_set(&P->err, NMDI_EINTERNAL, "out of memory reading %s", P->name);
    return -1;
}

typedef struct wk {
    pipe_st *P;
    int idx;
} wk;

static void *worker(void *arg)
{
    wk *w = arg;
    pipe_st *P = w->P;
    pthread_mutex_lock(&P->mu);
    for (;;) {
        slot *s = &P->slots[P->next_read % P->nslots];
        while (!P->abort && !P->done && s->state != SLOT_FREE) {
            pthread_cond_wait(&P->cv_work, &P->mu);
            s = &P->slots[P->next_read % P->nslots];
        }
        if (P->abort || P->done)
            break;
        int r = read_block(P, &s->b);
        if (r <= 0) {
            if (r < 0)
                P->rerr = 1;
            P->done = 1;
            P->total = P->next_read;
            pthread_cond_broadcast(&P->cv_write);
            pthread_cond_broadcast(&P->cv_work);
            break;
        }
        if (P->done)
            P->total = P->next_read;
        s->state = SLOT_WORK;
        pthread_mutex_unlock(&P->mu);
        P->ops->work(P->ops->arg, w->idx, &s->b);
        pthread_mutex_lock(&P->mu);
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&P->cv_write);
    }
    pthread_mutex_unlock(&P->mu);
    return NULL;
}

int nmdi_blocks_run(int fd, const char *name, char delim, long first_line, int nworkers, size_t block,
                    const nmdi_block_ops *ops, nmdi_error *err)
{
    pipe_st P = {0};
    P.line = first_line;
    P.block = block ? block : NMDI_BLOCK_BYTES;
    P.fd = fd;
    P.name = name;
    P.delim = delim;
    P.ops = ops;
    P.nslots = nworkers > 0 ? (size_t)nworkers + 2 : 1;
    P.slots = calloc(P.nslots, sizeof *P.slots);
    if (!P.slots)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    int rc = 0;
    if (nworkers <= 0) {
        /* one thread: read, work and write each block in turn */
        nmdi_block *b = &P.slots[0].b;
        int r = 0;
        while (!rc && (r = read_block(&P, b)) > 0) {
            ops->work(ops->arg, 0, b);
            rc = ops->write(ops->arg, b, err);
        }
        if (!rc && P.rerr == 0 && r < 0)
            P.rerr = 1;
    } else {
        pthread_mutex_init(&P.mu, NULL);
        pthread_cond_init(&P.cv_work, NULL);
        pthread_cond_init(&P.cv_write, NULL);
        pthread_t *th = calloc((size_t)nworkers, sizeof *th);
        wk *ws = calloc((size_t)nworkers, sizeof *ws);
        int started = 0;
        if (!th || !ws) {
            rc = nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
        } else {
            for (int i = 0; i < nworkers; i++) {
                ws[i] = (wk){&P, i};
                if (pthread_create(&th[i], NULL, worker, &ws[i]))
                    break;
                started++;
            }
            if (!started)
                rc = nmdi_error_set(err, NMDI_EINTERNAL, "cannot start a thread");
        }
        for (uint64_t seq = 0; !rc; seq++) {
            slot *s = &P.slots[seq % P.nslots];
            pthread_mutex_lock(&P.mu);
            while (!(s->state == SLOT_DONE && s->b.seq == seq) && !(P.done && seq >= P.total &&
                                                                   !(s->state == SLOT_WORK)))
                pthread_cond_wait(&P.cv_write, &P.mu);
            int ready = s->state == SLOT_DONE && s->b.seq == seq;
            pthread_mutex_unlock(&P.mu);
            if (!ready)
                break;
            rc = ops->write(ops->arg, &s->b, err);
            pthread_mutex_lock(&P.mu);
            s->state = SLOT_FREE;
            pthread_cond_broadcast(&P.cv_work);
            pthread_mutex_unlock(&P.mu);
        }
        pthread_mutex_lock(&P.mu);
        P.abort = 1;
        pthread_cond_broadcast(&P.cv_work);
        pthread_mutex_unlock(&P.mu);
        for (int i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        free(th);
        free(ws);
        pthread_cond_destroy(&P.cv_work);
        pthread_cond_destroy(&P.cv_write);
        pthread_mutex_destroy(&P.mu);
    }
    if (!rc && P.rerr) {
        *err = P.err;
        rc = err->code ? err->code : NMDI_EINTERNAL;
    }
    for (size_t i = 0; i < P.nslots; i++) {
        if (ops->free_out)
            ops->free_out(ops->arg, P.slots[i].b.out);
        if (P.slots[i].b.data)
            explicit_bzero(P.slots[i].b.data, P.slots[i].b.cap); /* clear identifiers */
        free(P.slots[i].b.data);
    }
    free(P.slots);
    if (P.tail)
        explicit_bzero(P.tail, P.tcap);
    free(P.tail);
    return rc;
}
