/* cmd_publish.c — `nmdi publish DIR`: freeze the protected tables into an
 * immutable SDMX release (src/publish/release.c). */
#include "nmdi/cli.h"
#include "nmdi/publish.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

/* Publication settings come from DIR/nmdi.yaml (country, publication: agency,
 * version, maintainer) when the configuration module is in the build;
 * options override them. */
#if defined(__has_include)
#if __has_include("nmdi/config.h")
#include "nmdi/config.h"
#define NMDI_PUBLISH_HAVE_CONFIG 1
#endif
#endif

int nmdi_cmd_publish(nmdi_ctx *ctx, int argc, char **argv);
extern const nmdi_cmd_info nmdi_cmd_publish_info;

int nmdi_cmd_publish(nmdi_ctx *ctx, int argc, char **argv)
{
    nmdi_publish_opts o = {0};
    static const struct option lo[] = {{"agency", required_argument, 0, 'a'},
                                       {"sdmx-version", required_argument, 0, 'v'},
                                       {"maintainer", required_argument, 0, 'm'},
                                       {"now", required_argument, 0, 'n'},
                                       {"country", required_argument, 0, 'c'},
                                       {"country-name", required_argument, 0, 'e'},
                                       {"country-name-zh", required_argument, 0, 'z'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'a': o.agency = optarg; break;
        case 'v': o.sdmx_version = optarg; break;
        case 'm': o.maintainer = optarg; break;
        case 'n': o.now = optarg; break;
        case 'c': o.country_code = optarg; break;
        case 'e': o.country_en = optarg; break;
        case 'z': o.country_zh = optarg; break;
        case 'h': fputs(nmdi_cmd_publish_info.usage, stdout); return 0;
        default: return nmdi_cli_usage(&nmdi_cmd_publish_info, "unknown option");
        }
    }
    if (optind + 1 != argc)
        return nmdi_cli_usage(&nmdi_cmd_publish_info, "expected one infrastructure directory");
    nmdi_error err;
    char version[32];
#ifdef NMDI_PUBLISH_HAVE_CONFIG
    nmdi_config *cfg = NULL;
    char cp[4096];
    snprintf(cp, sizeof cp, "%s/nmdi.yaml", argv[optind]);
    if (access(cp, R_OK) == 0) {
        if (nmdi_config_load(&cfg, cp, &err) != 0)
            return nmdi_cli_error("publish", &err);
        if (!o.agency && cfg->pub_agency && *cfg->pub_agency)
            o.agency = cfg->pub_agency;
        if (!o.sdmx_version && cfg->pub_version && *cfg->pub_version)
            o.sdmx_version = cfg->pub_version;
        if (!o.maintainer && cfg->pub_maintainer && *cfg->pub_maintainer)
            o.maintainer = cfg->pub_maintainer;
        if (!o.country_code && cfg->country_code && *cfg->country_code) {
            o.country_code = cfg->country_code;
            o.country_en = cfg->country_en;
            o.country_zh = cfg->country_zh;
        }
    }
    int rc = nmdi_publish_release(ctx, argv[optind], &o, version, &err);
    nmdi_config_free(cfg);
    if (rc != 0)
        return nmdi_cli_error("publish", &err);
#else
    if (nmdi_publish_release(ctx, argv[optind], &o, version, &err) != 0)
        return nmdi_cli_error("publish", &err);
#endif
    if (version[0])
        printf("%s\n", version);
    return 0;
}

const nmdi_cmd_info nmdi_cmd_publish_info = {
    "publish", "freeze the protected tables into an immutable SDMX release",
    "usage: nmdi publish DIR [--agency ID] [--sdmx-version V] [--maintainer TEXT]\n"
    "                        [--country CODE [--country-name EN] [--country-name-zh ZH]]\n"
    "\n"
    "Reads DIR/work/protected/<TABLE_ID>.csv + <TABLE_ID>.json (written by `nmdi protect`),\n"
    "refuses any table whose metadata lacks \"protected\": true, and writes the release\n"
    "DIR/releases/<YYYYMMDD-N>/ (release.json with lineage, tables/, sdmx/structure.xml and\n"
    "one DSD-specific schema per table), then points DIR/releases/LATEST at it. The\n"
    "release directory appears complete or not at all. Prints the version.\n"
    "\n"
    "Settings come from DIR/nmdi.yaml (country; publication: agency, version,\n"
    "maintainer) when present; the options below override them.\n"
    "\n"
    "  --agency ID          SDMX agency of every artefact (default NMDI)\n"
    "  --sdmx-version V     version of the SDMX artefacts (default 1.0)\n"
    "  --maintainer TEXT    name of the maintaining organisation (message sender)\n"
    "  --country CODE       the country of the release (release.json \"country\")\n"
    "  --country-name EN, --country-name-zh ZH   its names (default: from the ISO list)\n"
    "  --now TIME           stamp the release with this ISO 8601 UTC time (tests)\n",
};
