/*
 * paths.c — finding the data files nmdi ships (data/, examples/, web/dist)
 * from an installed or a built-in-place binary, and small file helpers.
 */
#include "nmdi/core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int nmdi_find_data(const char *rel, char *out, size_t size)
{
    struct stat st;
    const char *env = getenv("NMDI_DATA_DIR");
    if (env && *env) {
        snprintf(out, size, "%s/%s", env, rel);
        if (stat(out, &st) == 0)
            return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        /* build/rel/nmdi → repository root; bin/nmdi → share/nmdi */
        static const char *const ups[] = {"%s/../../%s", "%s/../share/nmdi/%s", "%s/%s"};
        for (size_t i = 0; i < sizeof ups / sizeof ups[0]; i++) {
            snprintf(out, size, ups[i], exe, rel);
            if (stat(out, &st) == 0)
                return 0;
        }
    }
    snprintf(out, size, "/usr/share/nmdi/%s", rel);
    if (stat(out, &st) == 0)
        return 0;
    return -1;
}

int nmdi_write_file_atomic(const char *path, const void *data, size_t len, nmdi_error *err)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot write: %s", strerror(errno));
        free(tmp);
        return NMDI_EINTERNAL;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot write: %s",
                                 strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot write: %s", strerror(e));
    }
    free(tmp);
    return 0;
}

const char *nmdi_map_file(const char *path, size_t min_size, int populate, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (size_t)st.st_size < min_size) {
        close(fd);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, n, MADV_SEQUENTIAL);
    *size = n;
    return p;
}
