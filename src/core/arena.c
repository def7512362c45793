/*
 * arena.c — bump allocation in chunks. Everything allocated from an arena is
 * freed together by nmdi_arena_free(); there is no per-object free. Large
 * requests get a chunk of their own so that waste stays bounded.
 */
#include "nmdi/core.h"

#include <stdlib.h>
#include <string.h>

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} chunk;

struct nmdi_arena {
    chunk *head;
    size_t chunk_size;
    size_t total;
};

nmdi_arena *nmdi_arena_new(size_t chunk_size)
{
    nmdi_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
    return a;
}

void *nmdi_arena_alloc(nmdi_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t csize = size > a->chunk_size / 4 ? size : a->chunk_size;
        chunk *n = malloc(sizeof *n + csize);
        if (!n)
            return NULL;
        n->size = csize;
        n->used = 0;
        if (c && csize == size && c->size - c->used >= 64) {
            /* big block: link it behind the current chunk to keep using it */
            n->next = c->next;
            c->next = n;
            n->used = size;
            a->total += size;
            return n->data;
        }
        n->next = c;
        a->head = c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    a->total += size;
    return p;
}

void *nmdi_arena_calloc(nmdi_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = nmdi_arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *nmdi_arena_strndup(nmdi_arena *a, const char *s, size_t n)
{
    char *p = nmdi_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *nmdi_arena_strdup(nmdi_arena *a, const char *s)
{
    return nmdi_arena_strndup(a, s, strlen(s));
}

char *nmdi_arena_sprintf(nmdi_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = nmdi_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t nmdi_arena_used(const nmdi_arena *a)
{
    return a->total;
}

void nmdi_arena_free(nmdi_arena *a)
{
    if (!a)
        return;
    chunk *c = a->head;
    while (c) {
        chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

int nmdi_grow_slow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : first ? first : need;
    while (nc < need) {
        if (nc > SIZE_MAX / 2)
            return -1;
        nc *= 2;
    }
    if (elem && nc > SIZE_MAX / elem)
        return -1;
    void *n = realloc(*p, nc * elem);
    if (!n)
        return -1;
    *p = n;
    *cap = nc;
    return 0;
}
