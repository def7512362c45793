/* cmd_token.c — `nmdi token DIR create|list|revoke`: bearer tokens for
 * analysts and administrators of the server (stored hashed, src/serve/auth.c). */
#include "nmdi/cli.h"
#include "nmdi/serve.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

int nmdi_cmd_token(nmdi_ctx *ctx, int argc, char **argv);
extern const nmdi_cmd_info nmdi_cmd_token_info;

int nmdi_cmd_token(nmdi_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    const char *role = NULL, *agency = NULL;
    static const struct option lo[] = {{"role", required_argument, 0, 'r'},
                                       {"agency", required_argument, 0, 'a'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'r': role = optarg; break;
        case 'a': agency = optarg; break;
        case 'h': fputs(nmdi_cmd_token_info.usage, stdout); return 0;
        default: return nmdi_cli_usage(&nmdi_cmd_token_info, "unknown option");
        }
    }
    if (argc - optind < 2)
        return nmdi_cli_usage(&nmdi_cmd_token_info, "expected DIR and an action");
    const char *dir = argv[optind], *action = argv[optind + 1];
    nmdi_error err;
    if (!strcmp(action, "create")) {
        if (!role)
            return nmdi_cli_usage(&nmdi_cmd_token_info, "create needs --role analyst|admin");
        char tok[128];
        long id;
        if (nmdi_token_create(dir, role, agency, tok, sizeof tok, &id, &err) != 0)
            return nmdi_cli_error("token", &err);
        printf("%s\n", tok);
        fprintf(stderr, "nmdi token: token %ld (%s%s%s) created; it is shown only once\n", id,
                role, agency ? ", agency " : "", agency ? agency : "");
        return 0;
    }
    if (!strcmp(action, "list")) {
        if (nmdi_token_list(dir, stdout, &err) != 0)
            return nmdi_cli_error("token", &err);
        return 0;
    }
    if (!strcmp(action, "revoke")) {
        if (argc - optind < 3)
            return nmdi_cli_usage(&nmdi_cmd_token_info, "revoke needs a token id");
        char *end;
        long id = strtol(argv[optind + 2], &end, 10);
        if (*end || id <= 0)
            return nmdi_cli_usage(&nmdi_cmd_token_info, "bad token id '%s'", argv[optind + 2]);
        if (nmdi_token_revoke(dir, id, &err) != 0)
            return nmdi_cli_error("token", &err);
        return 0;
    }
    return nmdi_cli_usage(&nmdi_cmd_token_info, "unknown action '%s'", action);
}

const nmdi_cmd_info nmdi_cmd_token_info = {
    "token", "create, list or revoke bearer tokens for the server",
    "usage: nmdi token DIR create --role analyst|admin [--agency A]\n"
    "       nmdi token DIR list\n"
    "       nmdi token DIR revoke ID\n"
    "\n"
    "Tokens authenticate analysts and administrators to `nmdi serve` (header\n"
    "Authorization: Bearer <token>). `create` prints the token once; DIR/serve.db keeps only\n"
    "its hash. Every request made with a token is written to the audit log.\n",
};
