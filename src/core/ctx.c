/*
 * ctx.c — the run-time context, informational notes, progress lines and the
 * thread pool that runs a function over partitions.
 */
#include "nmdi/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void nmdi_ctx_init(nmdi_ctx *ctx)
{
    ctx->quiet = 0;
    ctx->json = 0;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    ctx->nthreads = n > 0 ? (int)n : 1;
    ctx->log = stderr;
    ctx->log_is_tty = isatty(fileno(stderr));
    ctx->store_fail_after = 0;
}

void nmdi_note(const nmdi_ctx *ctx, const char *fmt, ...)
{
    if (!ctx || ctx->quiet || !ctx->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(ctx->log, fmt, ap);
    va_end(ap);
    fputc('\n', ctx->log);
}

double nmdi_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- progress ------------------------------------------------------------ */

static void progress_print(nmdi_progress *p, int final)
{
    double el = nmdi_now() - p->start;
    FILE *f = p->ctx->log;
    if (p->ctx->log_is_tty)
        fputc('\r', f);
    if (p->total) {
        double pct = 100.0 * (double)p->done / (double)p->total;
        fprintf(f, "%s: %llu/%llu (%.0f%%) %.1fs", p->label, (unsigned long long)p->done,
                (unsigned long long)p->total, pct, el);
    } else {
        fprintf(f, "%s: %llu %.1fs", p->label, (unsigned long long)p->done, el);
    }
    if (!p->ctx->log_is_tty || final)
        fputc('\n', f);
    fflush(f);
}

void nmdi_progress_begin(nmdi_progress *p, const nmdi_ctx *ctx, const char *label, uint64_t total)
{
    p->ctx = ctx;
    p->label = label;
    p->total = total;
    p->done = 0;
    p->start = p->last = nmdi_now();
}

void nmdi_progress_update(nmdi_progress *p, uint64_t done)
{
    p->done = done;
    if (!p->ctx || p->ctx->quiet || !p->ctx->log)
        return;
    double t = nmdi_now();
    /* a line every 2 s on a log file, a redraw every 0.2 s on a terminal */
    double every = p->ctx->log_is_tty ? 0.2 : 2.0;
    if (t - p->last < every)
        return;
    p->last = t;
    progress_print(p, 0);
}

void nmdi_progress_end(nmdi_progress *p)
{
    if (!p->ctx || p->ctx->quiet || !p->ctx->log)
        return;
    /* only print a closing line if the work was long enough to show progress */
    if (nmdi_now() - p->start >= 1.0)
        progress_print(p, 1);
}

/* ---- thread pool ----------------------------------------------------------- */

typedef struct pool_job {
    nmdi_part_fn fn;
    void *arg;
    size_t nparts;
    atomic_size_t next;
    atomic_int rc;
} pool_job;

static void *pool_worker(void *p)
{
    pool_job *job = p;
    for (;;) {
        size_t part = atomic_fetch_add(&job->next, 1);
        if (part >= job->nparts)
            break;
        int rc = job->fn(job->arg, part);
        if (rc) {
            int zero = 0;
            atomic_compare_exchange_strong(&job->rc, &zero, rc);
        }
    }
    return NULL;
}

int nmdi_pool_run(const nmdi_ctx *ctx, size_t nparts, nmdi_part_fn fn, void *arg)
{
    pool_job job;
    job.fn = fn;
    job.arg = arg;
    job.nparts = nparts;
    atomic_init(&job.next, 0);
    atomic_init(&job.rc, 0);
    size_t nt = ctx && ctx->nthreads > 1 ? (size_t)ctx->nthreads : 1;
    if (nt > nparts)
        nt = nparts;
    if (nt <= 1) {
        pool_worker(&job);
        return atomic_load(&job.rc);
    }
    pthread_t *th = calloc(nt - 1, sizeof *th);
    if (!th)
        return NMDI_EINTERNAL;
    size_t started = 0;
    for (size_t i = 0; i + 1 < nt; i++) {
        if (pthread_create(&th[i], NULL, pool_worker, &job) != 0)
            break;
        started++;
    }
    pool_worker(&job);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    return atomic_load(&job.rc);
}
