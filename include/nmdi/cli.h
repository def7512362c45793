/*
 * nmdi/cli.h — the contract between the `nmdi` dispatcher (src/cli/main.c)
 * and its subcommands (src/cli/cmd_<name>.c, one file per command).
 *
 * Each command file defines
 *     int nmdi_cmd_<name>(nmdi_ctx *ctx, int argc, char **argv);
 *     const nmdi_cmd_info nmdi_cmd_<name>_info;
 * and the build registers it automatically from the file name. argv[0] is
 * the command name. The return value is the exit code: 0 ok, 1 data or
 * usage error, 2 internal error. Commands print errors with nmdi_cli_error.
 * Global options --quiet/-q and --threads N are taken by the dispatcher
 * wherever they appear (before "--") and set in ctx.
 */
#ifndef NMDI_CLI_H
#define NMDI_CLI_H

#include "nmdi/core.h"

typedef struct nmdi_cmd_info {
    const char *name;
    const char *summary; /* one line for `nmdi help`           */
    const char *usage;   /* full text for `nmdi help <command>` */
} nmdi_cmd_info;

/* Print "nmdi <cmd>: <formatted error>" to stderr; returns err->code (or 2). */
int nmdi_cli_error(const char *cmd, const nmdi_error *err);
/* The store's disk-full test hook: the byte count in the environment
 * variable NMDI_TEST_STORE_FAIL_AFTER when positive, else 0 (off); used by
 * tests/cli/load.sh and tests/pipeline/derive_faults.sh. */
uint64_t nmdi_cli_store_fail_after(void);
/* Print a usage error and the command's usage line; returns 1. */
int nmdi_cli_usage(const nmdi_cmd_info *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
typedef int (*nmdi_cmd_fn)(nmdi_ctx *ctx, int argc, char **argv);
/* The command of that name in this build, or NULL (used by `nmdi demo` to
 * chain the stages that exist). */
nmdi_cmd_fn nmdi_cli_find(const char *name);
/* Run a command in-process with a NULL-terminated argument list (argv[0] is
 * the command name); returns its exit code, or 2 when it does not exist. */
int nmdi_cli_run(nmdi_ctx *ctx, const char *const *args);

/* Is argv[i] "-h" or "--help"? */
int nmdi_cli_is_help(const char *arg);

/* Open DIR/catalog.db (read-only when readonly is set) for command CMD; on
 * failure prints the error and returns the exit code, else 0 and *cat. */
struct nmdi_catalog;
int nmdi_cli_open_catalog(const char *cmd, const char *dir, int readonly, struct nmdi_catalog **cat);
/* Print J on standard output as JSON (jansson dump FLAGS) and a newline;
 * the caller keeps its reference. Returns 0, or NMDI_EINTERNAL when the text
 * cannot be made. */
struct json_t;
int nmdi_cli_put_json(const struct json_t *j, size_t flags);

#endif
