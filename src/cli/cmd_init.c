/* cmd_init.c — `nmdi init DIR [--config FILE]`: create an infrastructure. */
#include "nmdi/cli.h"
#include "nmdi/ingest.h"

#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const nmdi_cmd_info nmdi_cmd_init_info;

/* The default configuration: nmdi.yaml or examples/nmdi.yaml where nmdi's
 * data files are (nmdi_find_data: $NMDI_DATA_DIR, next to the executable —
 * build/rel/nmdi → the source tree, PREFIX/bin/nmdi → PREFIX/share/nmdi —,
 * /usr/share/nmdi). */
static int default_config(char *out, size_t size)
{
    return nmdi_find_data("nmdi.yaml", out, size) == 0 ? 0 : nmdi_find_data("examples/nmdi.yaml", out, size);
}

int nmdi_cmd_init(nmdi_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'}, {0, 0, 0, 0}};
    const char *config = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else
            return nmdi_cli_usage(&nmdi_cmd_init_info, "unknown option");
    }
    if (argc - optind != 1)
        return nmdi_cli_usage(&nmdi_cmd_init_info, "give exactly one directory");
    const char *dir = argv[optind];
    char path[4096];
    if (!config) {
        if (default_config(path, sizeof path))
            return nmdi_cli_usage(&nmdi_cmd_init_info,
                                  "no default configuration found: give --config FILE or set "
                                  "NMDI_DATA_DIR to the folder holding examples/nmdi.yaml");
        config = path;
    }
    nmdi_error err;
    nmdi_error_clear(&err);
    if (nmdi_ingest_init(dir, config, &err))
        return nmdi_cli_error("init", &err);
    nmdi_note(ctx, "created infrastructure %s from %s (nmdi.yaml, catalog.db, store/, secrets/key)",
              dir, config);
    return 0;
}

const nmdi_cmd_info nmdi_cmd_init_info = {
    "init", "create an infrastructure directory (configuration, catalog, store, key)",
    "usage: nmdi init DIR [--config FILE]\n"
    "\n"
    "Creates DIR/nmdi.yaml (a copy of FILE; by default the example configuration,\n"
    "found as $NMDI_DATA_DIR/nmdi.yaml, $NMDI_DATA_DIR/examples/nmdi.yaml, or\n"
    "examples/nmdi.yaml next to the nmdi executable's source tree), DIR/catalog.db,\n"
    "DIR/store/ and DIR/secrets/key (32 random bytes, mode 0600, folder 0700).\n"
    "The configuration is checked first: an error names its line and nothing is\n"
    "created. An existing infrastructure is never overwritten.\n",
};
