/* cmd_ptable.c — `nmdi ptable`: print a perturbation table for the cell key
 * method, built from (D, V, js) or checked from a CSV file (src/protect/ptable.c). */
#include "nmdi/cli.h"
#include "nmdi/protect.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const nmdi_cmd_info nmdi_cmd_ptable_info;

static int parse_int_opt(const char *s, int *out)
{
    int64_t v;
    if (nmdi_parse_int64(s, &v) != 0 || v < INT32_MIN || v > INT32_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

int nmdi_cmd_ptable(nmdi_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    const nmdi_cmd_info *info = &nmdi_cmd_ptable_info;
    static const struct option opts[] = {{"D", required_argument, 0, 'D'},
                                         {"V", required_argument, 0, 'V'},
                                         {"js", required_argument, 0, 'j'},
                                         {"in", required_argument, 0, 'i'},
                                         {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int D = 2, js = 1, o;
    double V = 1.08;
    const char *in = NULL, *outp = NULL;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'D':
            if (parse_int_opt(optarg, &D) != 0)
                return nmdi_cli_usage(info, "--D needs a whole number, got '%s'", optarg);
            break;
        case 'V':
            if (nmdi_parse_double(optarg, &V) != 0)
                return nmdi_cli_usage(info, "--V needs a number, got '%s'", optarg);
            break;
        case 'j':
            if (parse_int_opt(optarg, &js) != 0)
                return nmdi_cli_usage(info, "--js needs a whole number, got '%s'", optarg);
            break;
        case 'i':
            in = optarg;
            break;
        case 'o':
            outp = optarg;
            break;
        case 'h':
            fputs(info->usage, stdout);
            return 0;
        default:
            return nmdi_cli_usage(info, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return nmdi_cli_usage(info, "unexpected argument '%s'", argv[optind]);
    nmdi_error err;
    nmdi_error_clear(&err);
    nmdi_ptable *pt;
    int rc = in ? nmdi_ptable_read_csv(&pt, in, &err) : nmdi_ptable_build(&pt, D, V, js, &err);
    if (rc)
        return nmdi_cli_error("ptable", &err);
    if (!outp) {
        rc = nmdi_ptable_write_csv(pt, stdout);
        if (fflush(stdout) != 0)
            rc = NMDI_EINTERNAL;
    } else {
        size_t n = strlen(outp) + 8;
        char *tmp = malloc(n);
        FILE *f = NULL;
        if (tmp) {
            snprintf(tmp, n, "%s.tmp", outp);
            f = fopen(tmp, "wb");
        }
        if (!f) {
            rc = nmdi_error_at(&err, NMDI_EINTERNAL, outp, 0, NULL, "cannot write: %s",
                               strerror(errno));
        } else {
            rc = nmdi_ptable_write_csv(pt, f);
            if (fflush(f) != 0 || fsync(fileno(f)) != 0)
                rc = NMDI_EINTERNAL;
            if (fclose(f) != 0)
                rc = NMDI_EINTERNAL;
            if (rc || rename(tmp, outp) != 0) {
                unlink(tmp);
                rc = nmdi_error_at(&err, NMDI_EINTERNAL, outp, 0, NULL, "cannot write: %s",
                                   strerror(errno));
            }
        }
        free(tmp);
        if (rc) {
            nmdi_ptable_free(pt);
            return nmdi_cli_error("ptable", &err);
        }
    }
    nmdi_ptable_free(pt);
    return rc;
}

const nmdi_cmd_info nmdi_cmd_ptable_info = {
    "ptable",
    "perturbation table of the cell key method from (D, V, js)",
    "usage: nmdi ptable [--D 2] [--V 1.08] [--js 1] [--out FILE]\n"
    "       nmdi ptable --in PTABLE.csv [--out FILE]\n"
    "\n"
    "Builds the maximum-entropy perturbation table: for each original count i\n"
    "(0 .. D+js+1, the last row standing for all larger counts) the perturbed\n"
    "counts j with probability p, zero mean and variance V, |j-i| <= D, never\n"
    "a count in 1..js, and 0 kept 0. Prints CSV i,j,p,v,p_int_lb,p_int_ub\n"
    "(v = j-i; a cell with cell key in [p_int_lb, p_int_ub) of row i is\n"
    "published as j). With --in, reads a ptable (columns i,j,p[,v]), checks it\n"
    "and prints it with its intervals. Defaults D=2, V=1.08, js=1.\n"
    "Methods: docs/methods-protect.md.\n",
};
