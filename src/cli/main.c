/*
 * main.c — the `nmdi` command: global options, dispatch to one of the
 * subcommands in src/cli/cmd_*.c (registered by the build from their file
 * names), and `nmdi help [command]`.
 */
#include "nmdi/cli.h"

#include "nmdi/catalog.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define NMDI_CMD(n)                                                   \
    int nmdi_cmd_##n(nmdi_ctx *ctx, int argc, char **argv);          \
    extern const nmdi_cmd_info nmdi_cmd_##n##_info;
#include "commands.inc"
#undef NMDI_CMD

typedef struct cmd_entry {
    int (*fn)(nmdi_ctx *, int, char **);
    const nmdi_cmd_info *info;
} cmd_entry;

static const cmd_entry commands[] = {
#define NMDI_CMD(n) {nmdi_cmd_##n, &nmdi_cmd_##n##_info},
#include "commands.inc"
#undef NMDI_CMD
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

int nmdi_cli_error(const char *cmd, const nmdi_error *err)
{
    char buf[2048];
    nmdi_error_format(err, buf, sizeof buf);
    fprintf(stderr, "nmdi %s: %s\n", cmd, buf);
    return err->code ? err->code : NMDI_EINTERNAL;
}

uint64_t nmdi_cli_store_fail_after(void)
{
    const char *s = getenv("NMDI_TEST_STORE_FAIL_AFTER");
    int64_t v;
    return s && !nmdi_parse_int64(s, &v) && v > 0 ? (uint64_t)v : 0;
}

int nmdi_cli_usage(const nmdi_cmd_info *info, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nmdi %s: ", info->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: see `nmdi help %s`\n", info->name);
    return NMDI_EDATA;
}

int nmdi_cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int nmdi_cli_open_catalog(const char *cmd, const char *dir, int readonly, nmdi_catalog **cat)
{
    char path[4096];
    nmdi_error err;
    nmdi_error_clear(&err);
    if ((size_t)snprintf(path, sizeof path, "%s/catalog.db", dir) >= sizeof path) {
        nmdi_error_at(&err, NMDI_EDATA, dir, 0, NULL, "path too long");
        return nmdi_cli_error(cmd, &err);
    }
    if (nmdi_catalog_open(cat, path, readonly, &err))
        return nmdi_cli_error(cmd, &err);
    return 0;
}

int nmdi_cli_put_json(const json_t *j, size_t flags)
{
    char *s = json_dumps(j, flags);
    if (!s) {
        fprintf(stderr, "nmdi: out of memory\n");
        return NMDI_EINTERNAL;
    }
    puts(s);
    free(s);
    return 0;
}

static const cmd_entry *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].info->name, name) == 0)
            return &commands[i];
    return NULL;
}

nmdi_cmd_fn nmdi_cli_find(const char *name)
{
    const cmd_entry *c = find_cmd(name);
    return c ? c->fn : NULL;
}

int nmdi_cli_run(nmdi_ctx *ctx, const char *const *args)
{
    nmdi_cmd_fn fn = nmdi_cli_find(args[0]);
    if (!fn)
        return NMDI_EINTERNAL;
    int argc = 0;
    while (args[argc])
        argc++;
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    if (!argv)
        return NMDI_EINTERNAL;
    for (int i = 0; i < argc; i++)
        argv[i] = (char *)args[i];
    optind = 0; /* GNU getopt: 0 re-initialises its whole state for the next parse */
    int rc = fn(ctx, argc, argv);
    free(argv);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    const cmd_entry *x = a, *y = b;
    return strcmp(x->info->name, y->info->name);
}

static void print_overview(FILE *f)
{
    fprintf(f,
            "nmdi %s — National Migration Data Infrastructure\n\n"
            "usage: nmdi [--quiet] [--threads N] <command> [options] [args]\n\n"
            "commands:\n",
            NMDI_VERSION);
    cmd_entry sorted[NCOMMANDS + 1];
    memcpy(sorted, commands, sizeof commands);
    qsort(sorted, NCOMMANDS, sizeof sorted[0], cmp_entry);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", sorted[i].info->name, sorted[i].info->summary);
    fprintf(f, "  %-12s %s\n", "help", "show help for a command: nmdi help <command>");
    fprintf(f,
            "\nexit codes: 0 ok, 1 data or usage error, 2 internal error\n"
            "global options: --quiet (-q) no progress output; --threads N worker threads\n");
}

int main(int argc, char **argv)
{
    nmdi_ctx ctx;
    nmdi_ctx_init(&ctx);
    /* take global options wherever they appear (before "--") */
    int n = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            for (; i < argc; i++)
                argv[n++] = argv[i];
            break;
        }
        if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            ctx.quiet = 1;
            continue;
        }
        if (strcmp(argv[i], "--threads") == 0 || strncmp(argv[i], "--threads=", 10) == 0) {
            const char *v = argv[i][9] == '=' ? argv[i] + 10 : (i + 1 < argc ? argv[++i] : NULL);
            int64_t t;
            if (!v || nmdi_parse_int64(v, &t) || t < 1 || t > 1024) {
                fprintf(stderr, "nmdi: --threads needs a number from 1 to 1024\n");
                return NMDI_EDATA;
            }
            ctx.nthreads = (int)t;
            continue;
        }
        argv[n++] = argv[i];
    }
    argc = n;
    argv[argc] = NULL;
    if (argc < 2) {
        print_overview(stderr);
        return NMDI_EDATA;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("nmdi %s\n", NMDI_VERSION);
        return 0;
    }
    if (strcmp(name, "help") == 0 || nmdi_cli_is_help(name)) {
        if (argc < 3 || nmdi_cli_is_help(name)) {
            print_overview(stdout);
            return 0;
        }
        const cmd_entry *c = find_cmd(argv[2]);
        if (!c) {
            fprintf(stderr, "nmdi help: no command '%s'; `nmdi help` lists them\n", argv[2]);
            return NMDI_EDATA;
        }
        printf("nmdi %s — %s\n\n%s", c->info->name, c->info->summary, c->info->usage);
        return 0;
    }
    const cmd_entry *c = find_cmd(name);
    if (!c) {
        fprintf(stderr, "nmdi: no command '%s'; `nmdi help` lists them\n", name);
        return NMDI_EDATA;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (nmdi_cli_is_help(argv[i])) {
            printf("nmdi %s — %s\n\n%s", c->info->name, c->info->summary, c->info->usage);
            return 0;
        }
    }
    return c->fn(&ctx, argc - 1, argv + 1);
}
