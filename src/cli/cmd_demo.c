/*
 * cmd_demo.c — `nmdi demo`: the main job. Generates the synthetic country,
 * creates an infrastructure from the example configuration, runs every
 * pipeline stage that exists in this build (load, link, derive, estimate,
 * protect, publish, assess) through the same commands a user would type,
 * printing what each stage did, then serves the release.
 *
 * A stage whose command is not in this build is reported as "not available"
 * and skipped: the demo never fakes a stage.
 */
#include "nmdi/cli.h"
#include "nmdi/config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const nmdi_cmd_info nmdi_cmd_demo_info;

typedef struct demo {
    nmdi_ctx *ctx;
    int nstage;
    int ran, skipped;
} demo;

static void stage_head(demo *d, const char *name, const char *what)
{
    d->nstage++;
    fprintf(stderr, "\n== [%d] %s: %s\n", d->nstage, name, what);
}

/* Run one stage command; a missing command is reported, not faked. */
static int stage(demo *d, const char *name, const char *what, const char *const *args)
{
    stage_head(d, name, what);
    if (!nmdi_cli_find(args[0])) {
        fprintf(stderr, "   stage '%s' is not available in this build: skipped\n", args[0]);
        d->skipped++;
        return 0;
    }
    fprintf(stderr, "   $ nmdi");
    for (size_t i = 0; args[i]; i++)
        fprintf(stderr, " %s", args[i]);
    fputc('\n', stderr);
    double t0 = nmdi_now();
    fflush(stdout);
    int rc = nmdi_cli_run(d->ctx, args);
    fflush(stdout);
    fprintf(stderr, "   -> %s in %.2f s\n", rc == 0 ? "done" : "FAILED", nmdi_now() - t0);
    d->ran++;
    return rc;
}

/* The demo loads, for every source of the configuration, the synthetic
 * delivery incoming/sources/<source>.csv when it exists (the example
 * configuration names its sources after the synthetic country's files). */
static int load_all(demo *d, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/nmdi.yaml", dir);
    nmdi_config *cfg;
    nmdi_error err;
    if (nmdi_config_load(&cfg, path, &err))
        return nmdi_cli_error("demo", &err);
    int rc = 0;
    for (size_t i = 0; i < cfg->nsources && rc == 0; i++) {
        char file[8300], what[512];
        snprintf(file, sizeof file, "%s/incoming/sources/%s.csv", dir, cfg->sources[i].id);
        if (access(file, R_OK) != 0) {
            fprintf(stderr, "\n   (no synthetic delivery for source '%s')\n", cfg->sources[i].id);
            continue;
        }
        snprintf(what, sizeof what, "load the '%s' delivery (%s)", cfg->sources[i].id,
                 cfg->sources[i].record_type);
        const char *args[] = {"load", dir, cfg->sources[i].id, file, NULL};
        rc = stage(d, "load", what, args);
    }
    nmdi_config_free(cfg);
    return rc;
}

int nmdi_cmd_demo(nmdi_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"persons", required_argument, NULL, 'p'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"no-serve", no_argument, NULL, 'n'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"force", no_argument, NULL, 'f'},
                                         {0, 0, 0, 0}};
    const char *persons = "20000", *dir = "demo", *listen = "127.0.0.1:8080", *seed = "1";
    int serve = 1, force = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': persons = optarg; break;
        case 'd': dir = optarg; break;
        case 'l': listen = optarg; break;
        case 'n': serve = 0; break;
        case 's': seed = optarg; break;
        case 'f': force = 1; break;
        default: return nmdi_cli_usage(&nmdi_cmd_demo_info, "unknown option");
        }
    }
    int64_t np;
    if (nmdi_parse_int64(persons, &np) || np < 100)
        return nmdi_cli_usage(&nmdi_cmd_demo_info, "--persons needs a number >= 100, not '%s'",
                              persons);
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!force) {
            fprintf(stderr,
                    "nmdi demo: %s already exists; serve it with `nmdi serve %s`, or rerun with "
                    "--force to replace it (or --dir OTHER)\n",
                    dir, dir);
            return NMDI_EDATA;
        }
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
        if (strchr(dir, '\'') || system(cmd) != 0) {
            fprintf(stderr, "nmdi demo: cannot remove %s\n", dir);
            return NMDI_EINTERNAL;
        }
    }
    demo d = {.ctx = ctx};
    double t0 = nmdi_now();
    fprintf(stderr, "nmdi demo: a synthetic country of %s persons in %s\n", persons, dir);
    char incoming[4096];
    snprintf(incoming, sizeof incoming, "%s/incoming", dir);
    int rc;
    {
        const char *a[] = {"init", dir, NULL};
        rc = stage(&d, "init", "create the infrastructure from the example configuration", a);
    }
    if (rc == 0 && d.ran == 0 && mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "nmdi demo: cannot create %s: %s\n", dir, strerror(errno));
        return NMDI_EINTERNAL;
    }
    if (rc == 0) {
        /* the example configuration's mobile market share is 0.1 */
        const char *a[] = {"synth",  "--persons",      persons, "--seed", seed,
                           "--out",  incoming, "--mobile-share", "0.1", NULL};
        rc = stage(&d, "synth", "generate the synthetic country and its agencies' deliveries", a);
    }
    if (rc == 0 && nmdi_cli_find("load") && nmdi_cli_find("synth"))
        rc = load_all(&d, dir);
    static const struct {
        const char *cmd, *what;
        int optional;
    } later[] = {
        {"link", "link records across sources into the person spine", 1},
        {"derive", "derive residence, migration events and migratory status", 0},
        {"estimate", "estimate stock and flow tables and SDG indicators", 0},
        {"protect", "apply disclosure control to every table", 0},
        {"publish", "freeze the protected tables as an SDMX release", 0},
        {"assess", "assess data needs and capacity from the catalog", 0},
    };
    for (size_t i = 0; rc == 0 && i < sizeof later / sizeof later[0]; i++) {
        const char *a[] = {later[i].cmd, dir, NULL};
        rc = stage(&d, later[i].cmd, later[i].what, a);
        if (rc && later[i].optional) {
            /* an optional stage that cannot run here is reported, not faked, and
             * the pipeline goes on without its output */
            fprintf(stderr, "   stage '%s' did not run (see the message above); the later "
                            "stages go on without it\n", later[i].cmd);
            d.ran--;
            d.skipped++;
            rc = 0;
        }
    }
    fprintf(stderr, "\nnmdi demo: %d stages ran, %d not available, %.1f s%s\n", d.ran, d.skipped,
            nmdi_now() - t0, rc ? " — stopped at a failed stage" : "");
    if (rc)
        return rc;
    if (serve) {
        const char *a[] = {"serve", dir, "--listen", listen, NULL};
        if (!nmdi_cli_find("serve")) {
            fprintf(stderr, "nmdi demo: the server is not available in this build\n");
            return 0;
        }
        fprintf(stderr, "nmdi demo: serving on http://%s/ (Ctrl-C to stop; later: nmdi serve %s)\n",
                listen, dir);
        return nmdi_cli_run(ctx, a);
    }
    return 0;
}

const nmdi_cmd_info nmdi_cmd_demo_info = {
    "demo",
    "the main job: synthetic country → every pipeline stage → served release",
    "usage: nmdi demo [--persons N] [--dir DIR] [--seed S] [--listen ADDR] [--no-serve] [--force]\n\n"
    "Generates a synthetic country of N persons (default 20000) with its agencies'\n"
    "deliveries in DIR/incoming, creates the infrastructure DIR (default ./demo) from the\n"
    "example configuration, and runs every stage that exists in this build: load each\n"
    "delivery, link, derive, estimate, protect, publish, assess. Each stage is the same\n"
    "command a user can run by hand, and is printed before it runs. Then serves the\n"
    "release and the portal on ADDR (default 127.0.0.1:8080) unless --no-serve; serve it\n"
    "again later with `nmdi serve DIR`. An existing DIR is kept unless --force.\n",
};
