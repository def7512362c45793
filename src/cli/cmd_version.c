/* cmd_version.c — `nmdi version`: print the version of nmdi and its libraries. */
#include "nmdi/cli.h"

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

int nmdi_cmd_version(nmdi_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    printf("nmdi %s (sqlite %s, jansson %s, libsodium %s)\n", NMDI_VERSION, sqlite3_libversion(),
           JANSSON_VERSION, sodium_version_string());
    return 0;
}

const nmdi_cmd_info nmdi_cmd_version_info = {
    "version", "print the version of nmdi and of the libraries it uses",
    "usage: nmdi version\n",
};
