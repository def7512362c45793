/* cmd_serve.c — `nmdi serve DIR`: serve the latest release over HTTP (SDMX
 * REST, JSON API, DCAT, portal) until SIGINT or SIGTERM (src/serve/). */
#include "nmdi/cli.h"
#include "nmdi/serve.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int nmdi_cmd_serve(nmdi_ctx *ctx, int argc, char **argv);
extern const nmdi_cmd_info nmdi_cmd_serve_info;

int nmdi_cmd_serve(nmdi_ctx *ctx, int argc, char **argv)
{
    nmdi_serve_opts o = {0};
    o.listen = "127.0.0.1:8080";
    o.threads = ctx->nthreads > 1 ? (unsigned)ctx->nthreads : 2;
    static const struct option lo[] = {{"listen", required_argument, 0, 'l'},
                                       {"web", required_argument, 0, 'w'},
                                       {"data", required_argument, 0, 'd'},
                                       {"tls-cert", required_argument, 0, 'c'},
                                       {"tls-key", required_argument, 0, 'k'},
                                       {"rate", required_argument, 0, 'r'},
                                       {"max-obs", required_argument, 0, 'm'},
                                       {"port-file", required_argument, 0, 'p'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *port_file = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'l': o.listen = optarg; break;
        case 'w': o.web_dir = optarg; break;
        case 'd': o.data_dir = optarg; break;
        case 'c': o.tls_cert = optarg; break;
        case 'k': o.tls_key = optarg; break;
        case 'r': o.rate = atof(optarg); if (o.rate <= 0) o.rate = -1; break;
        case 'm': o.max_obs = (size_t)strtoull(optarg, NULL, 10); break;
        case 'p': port_file = optarg; break;
        case 'h': fputs(nmdi_cmd_serve_info.usage, stdout); return 0;
        default: return nmdi_cli_usage(&nmdi_cmd_serve_info, "unknown option");
        }
    }
    if (optind + 1 != argc)
        return nmdi_cli_usage(&nmdi_cmd_serve_info, "expected one infrastructure directory");
    o.dir = argv[optind];
    /* block the stop signals in every thread; this one waits for them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    nmdi_error err;
    nmdi_server *s;
    if (nmdi_serve_start(&s, ctx, &o, &err) != 0)
        return nmdi_cli_error("serve", &err);
    char web[2048];
    nmdi_serve_web_dir(o.web_dir, web, sizeof web);
    const char *host = o.listen;
    const char *colon = strrchr(host, ':');
    char shown[300];
    snprintf(shown, sizeof shown, "%.*s:%u", colon ? (int)(colon - host) : 9,
             colon ? (colon == host ? "0.0.0.0" : host) : "127.0.0.1", nmdi_serve_port(s));
    if (colon == host)
        snprintf(shown, sizeof shown, "0.0.0.0:%u", nmdi_serve_port(s));
    nmdi_note(ctx, "nmdi serve: http%s://%s/ (SDMX /rest, API /api/v1, portal %s); Ctrl-C stops",
              o.tls_cert ? "s" : "", shown, web);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "%u\n", nmdi_serve_port(s));
            fclose(f);
        }
    }
    int sig = 0;
    sigwait(&set, &sig);
    nmdi_note(ctx, "nmdi serve: %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    nmdi_serve_stop(s);
    return 0;
}

const nmdi_cmd_info nmdi_cmd_serve_info = {
    "serve", "serve the latest release: SDMX REST, JSON API, DCAT and the portal",
    "usage: nmdi serve DIR [--listen 127.0.0.1:8080] [--web DIR] [--tls-cert F --tls-key F]\n"
    "                      [--rate N] [--max-obs N] [--data DIR] [--port-file F]\n"
    "\n"
    "Serves DIR/releases/LATEST: SDMX REST 2.1 under /rest/, the JSON API under /api/v1/,\n"
    "the DCAT catalogue at /dcat.jsonld, and the portal's static files. Listens on loopback\n"
    "by default (port 0 picks a free port; --port-file writes it). Stops cleanly on SIGINT\n"
    "or SIGTERM. See docs/api.md.\n"
    "\n"
    "  --listen ADDR      HOST:PORT, [IPv6]:PORT or :PORT (all interfaces)\n"
    "  --web DIR          portal files (default $NMDI_WEB, else web/dist of the build's repo,\n"
    "                     else /usr/share/nmdi/web)\n"
    "  --data DIR         reference data holding undesa/ (default: data/ of the repo)\n"
    "  --tls-cert F --tls-key F   serve HTTPS with this PEM certificate and key\n"
    "  --rate N           requests per second per client (default 500; 0 = unlimited)\n"
    "  --max-obs N        data answers above N observations get 413 (default 2000000)\n",
};
