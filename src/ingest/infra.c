/*
 * infra.c — creating an infrastructure directory (nmdi init): check the
 * configuration, then build nmdi.yaml, catalog.db, store/ and secrets/key
 * under a temporary name and rename it into place, so that a failure leaves
 * nothing behind.
 */
#include "nmdi/catalog.h"
#include "nmdi/ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int copy_file(const char *from, const char *to, nmdi_error *err)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return nmdi_error_at(err, NMDI_EDATA, from, 0, NULL, "cannot open: %s", strerror(errno));
    int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fclose(in);
        return nmdi_error_at(err, NMDI_EINTERNAL, to, 0, NULL, "cannot create: %s", strerror(errno));
    }
    char buf[65536];
    size_t r;
    int rc = 0;
    while ((r = fread(buf, 1, sizeof buf, in)) > 0)
        if (write(fd, buf, r) != (ssize_t)r) {
            rc = nmdi_error_at(err, NMDI_EINTERNAL, to, 0, NULL, "cannot write: %s", strerror(errno));
            break;
        }
    if (!rc && (ferror(in) || fsync(fd) < 0))
        rc = nmdi_error_at(err, NMDI_EINTERNAL, to, 0, NULL, "cannot copy the configuration");
    fclose(in);
    close(fd);
    return rc;
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            rm_rf(sub);
        else
            unlink(sub);
    }
    closedir(d);
    rmdir(path);
}

static int populate(const char *dir, const char *config_path, const nmdi_config *cfg, nmdi_error *err)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/nmdi.yaml", dir);
    if (copy_file(config_path, path, err))
        return err->code;
    snprintf(path, sizeof path, "%s/store", dir);
    if (mkdir(path, 0755) < 0)
        return nmdi_error_at(err, NMDI_EINTERNAL, path, 0, NULL, "cannot create: %s", strerror(errno));
    if (nmdi_pseudo_key_create(dir, err))
        return err->code;
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    nmdi_catalog *c;
    if (nmdi_catalog_create(&c, path, err))
        return err->code;
    int rc = nmdi_catalog_sync_config(c, cfg, err);
    nmdi_catalog_close(c);
    return rc;
}

int nmdi_ingest_init(const char *dir, const char *config_path, nmdi_error *err)
{
    nmdi_config *cfg;
    if (nmdi_config_load(&cfg, config_path, err))
        return err->code;
    int rc = nmdi_ingest_check_config(cfg, err);
    if (rc) {
        nmdi_config_free(cfg);
        return rc;
    }
    static const char *const parts[] = {"nmdi.yaml", "catalog.db", "store", "secrets"};
    char path[8192];
    struct stat st;
    int exists = stat(dir, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) {
        nmdi_config_free(cfg);
        return nmdi_error_at(err, NMDI_EDATA, dir, 0, NULL, "exists and is not a directory");
    }
    for (size_t i = 0; exists && i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, parts[i]);
        if (stat(path, &st) == 0) {
            nmdi_config_free(cfg);
            return nmdi_error_at(err, NMDI_EDATA, path, 0, NULL,
                                 "an infrastructure exists here already: nothing was changed");
        }
    }
    char tmp[4096];
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    if (exists)
        snprintf(tmp, sizeof tmp, "%s", dir);
    else
        snprintf(tmp, sizeof tmp, "%.*s.tmp-%ld", (int)dl, dir, (long)getpid());
    if (!exists && mkdir(tmp, 0755) < 0) {
        nmdi_config_free(cfg);
        return nmdi_error_at(err, NMDI_EDATA, dir, 0, NULL, "cannot create the directory: %s",
                             strerror(errno));
    }
    rc = populate(tmp, config_path, cfg, err);
    nmdi_config_free(cfg);
    if (rc) {
        if (exists) {
            for (size_t i = 0; i < 4; i++) {
                snprintf(path, sizeof path, "%s/%s", dir, parts[i]);
                rm_rf(path);
            }
            snprintf(path, sizeof path, "%s/catalog.db-wal", dir);
            unlink(path);
            snprintf(path, sizeof path, "%s/catalog.db-shm", dir);
            unlink(path);
        } else {
            rm_rf(tmp);
        }
        return rc;
    }
    if (!exists && rename(tmp, dir) < 0) {
        int e = errno;
        rm_rf(tmp);
        return nmdi_error_at(err, NMDI_EDATA, dir, 0, NULL, "cannot create the directory: %s",
                             strerror(e));
    }
    return 0;
}
