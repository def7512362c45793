/*
 * cmd_residence.c — `nmdi residence`: classify border crossings by the
 * 12/16-month rule (or another threshold/window) from a CSV file, writing
 * one row per input crossing, in input order, to standard output. The rule
 * lives in src/derive/residence.c; this file only reads and writes CSV.
 */
#include "nmdi/cli.h"
#include "nmdi/csv.h"
#include "nmdi/derive.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *const OUT_HEADER =
    "person_id,crossing_id,date,direction,resident_before,resident_after,long_term_migration,"
    "date_final_before,date_final_after,date_final_migration,provisional,error\n";

/* The crossings of a file, column by column. Text lives in the arena. */
typedef struct crossings {
    size_t n, cap;
    uint32_t *person;
    nmdi_date *date;
    uint8_t *dir;
    const char **text; /* per row: crossing_id \0 date text if invalid \0
                          direction text unless "arrival"/"departure" \0 */
    size_t npersons, pcap;
    const char **pid;  /* per person: its person_id */
    nmdi_strmap *map;  /* person_id -> person index */
    nmdi_arena *arena;
} crossings;

static void crossings_free(crossings *c)
{
    free(c->person);
    free(c->date);
    free(c->dir);
    free(c->text);
    free(c->pid);
    nmdi_strmap_free(c->map);
    nmdi_arena_free(c->arena);
}

static int grow(void **p, size_t cap, size_t size)
{
    void *q = realloc(*p, cap * size);
    if (!q)
        return -1;
    *p = q;
    return 0;
}

/* Person index of id, adding a new person when unseen. An empty person_id
 * never links rows: each such row is a person of its own. */
static int64_t person_of(crossings *c, const char *id, size_t len)
{
    int64_t *slot = NULL;
    int inserted = 1;
    if (len) {
        slot = nmdi_strmap_put(c->map, id, len, &inserted);
        if (!slot)
            return -1;
        if (!inserted)
            return *slot;
    }
    if (c->npersons == c->pcap) {
        c->pcap = c->pcap ? 2 * c->pcap : 1024;
        if (grow((void **)&c->pid, c->pcap, sizeof *c->pid))
            return -1;
    }
    const char *copy = nmdi_arena_strndup(c->arena, id, len);
    if (!copy)
        return -1;
    c->pid[c->npersons] = copy;
    if (slot)
        *slot = (int64_t)c->npersons;
    return (int64_t)c->npersons++;
}

static int find_col(nmdi_csv *csv, const char *name)
{
    for (size_t i = 0; i < nmdi_csv_nfields(csv); i++)
        if (nmdi_str_ieq(nmdi_csv_field(csv, i), name))
            return (int)i;
    return -1;
}

static const char *field(nmdi_csv *csv, int col, size_t *len)
{
    if (col < 0 || (size_t)col >= nmdi_csv_nfields(csv)) {
        *len = 0;
        return "";
    }
    *len = nmdi_csv_field_len(csv, (size_t)col);
    return nmdi_csv_field(csv, (size_t)col);
}

static int read_crossings(crossings *c, const char *path, nmdi_error *err)
{
    nmdi_csv_opts opts = {0, 1, 1};
    nmdi_csv *csv;
    int rc = nmdi_csv_open(&csv, path, &opts, err);
    if (rc)
        return rc;
    rc = nmdi_csv_next(csv, err);
    if (rc <= 0) {
        nmdi_csv_close(csv);
        if (rc == 0)
            return nmdi_error_at(err, NMDI_EDATA, path, 1, NULL,
                                 "empty file: no header line (expected person_id, crossing_id, "
                                 "date, direction)");
        return err->code;
    }
    static const char *const names[4] = {"person_id", "crossing_id", "date", "direction"};
    int col[4];
    for (int k = 0; k < 4; k++) {
        col[k] = find_col(csv, names[k]);
        if (col[k] < 0) {
            nmdi_csv_close(csv);
            return nmdi_error_at(err, NMDI_EDATA, path, 1, names[k],
                                 "missing column '%s' in the header (needed: person_id, "
                                 "crossing_id, date, direction, in any order)",
                                 names[k]);
        }
    }
    while ((rc = nmdi_csv_next(csv, err)) == 1) {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 4096;
            if (grow((void **)&c->person, c->cap, sizeof *c->person) ||
                grow((void **)&c->date, c->cap, sizeof *c->date) ||
                grow((void **)&c->dir, c->cap, sizeof *c->dir) ||
                grow((void **)&c->text, c->cap, sizeof *c->text)) {
                rc = -1;
                nmdi_error_set(err, NMDI_EINTERNAL, "out of memory reading %s", path);
                break;
            }
        }
        size_t lp, lc, ld, lr;
        const char *p = field(csv, col[0], &lp), *cid = field(csv, col[1], &lc);
        const char *d = field(csv, col[2], &ld), *r = field(csv, col[3], &lr);
        int64_t person = person_of(c, p, lp);
        nmdi_date date;
        if (nmdi_date_parse(d, ld, &date))
            date = NMDI_DATE_NONE;
        int dir = nmdi_residence_parse_direction(r, lr);
        /* keep the raw date text when invalid, and the direction text unless
         * it is the canonical spelling (the output echoes what the file said) */
        size_t keep_d = date == NMDI_DATE_NONE ? ld : 0;
        const char *canon = dir == NMDI_ARRIVAL ? "arrival" : "departure";
        size_t keep_r = dir != NMDI_DIR_UNKNOWN && lr == strlen(canon) && !memcmp(r, canon, lr)
                            ? 0
                            : lr;
        char *t = nmdi_arena_alloc(c->arena, lc + keep_d + keep_r + 3);
        if (person < 0 || !t) {
            rc = -1;
            nmdi_error_set(err, NMDI_EINTERNAL, "out of memory reading %s", path);
            break;
        }
        memcpy(t, cid, lc);
        t[lc] = 0;
        memcpy(t + lc + 1, d, keep_d);
        t[lc + 1 + keep_d] = 0;
        memcpy(t + lc + 2 + keep_d, r, keep_r);
        t[lc + 2 + keep_d + keep_r] = 0;
        c->person[c->n] = (uint32_t)person;
        c->date[c->n] = date;
        c->dir[c->n] = (uint8_t)dir;
        c->text[c->n] = t;
        if (++c->n >= UINT32_MAX - 1) {
            rc = -1;
            nmdi_error_at(err, NMDI_EDATA, path, nmdi_csv_line(csv), NULL,
                          "too many crossings for one run; split the file by person");
            break;
        }
    }
    nmdi_csv_close(csv);
    return rc < 0 ? (err->code ? err->code : NMDI_EINTERNAL) : 0;
}

/* --initial FILE: person_id,resident,date_final. Persons without crossings
 * are ignored; a bad value stops the run (it would silently change results). */
static int read_initial(const crossings *c, const char *path, int8_t *status, nmdi_date *date,
                        nmdi_error *err)
{
    nmdi_csv_opts opts = {0, 1, 1};
    nmdi_table *t;
    int rc = nmdi_table_read_csv(&t, path, &opts, err);
    if (rc)
        return rc;
    static const char *const names[3] = {"person_id", "resident", "date_final"};
    int col[3];
    for (int k = 0; k < 3; k++) {
        col[k] = -1;
        for (size_t j = 0; j < t->ncols && col[k] < 0; j++)
            if (nmdi_str_ieq(t->names[j], names[k]))
                col[k] = (int)j;
        if (col[k] < 0) {
            nmdi_error_at(err, NMDI_EDATA, path, 1, names[k],
                          "missing column '%s' in the header (needed: person_id, resident, "
                          "date_final)",
                          names[k]);
            nmdi_table_free(t);
            return NMDI_EDATA;
        }
    }
    for (size_t i = 0; i < t->nrows && !rc; i++) {
        const char *p = nmdi_table_cell(t, i, (size_t)col[0]);
        const char *res = nmdi_table_cell(t, i, (size_t)col[1]);
        const char *df = nmdi_table_cell(t, i, (size_t)col[2]);
        nmdi_date d;
        if (strcmp(res, "1") != 0 && strcmp(res, "0") != 0)
            rc = nmdi_error_at(err, NMDI_EDATA, path, t->lines[i], "resident",
                               "'%s' is not 1 (resident) or 0 (not resident)", res);
        else if (nmdi_date_parse(df, strlen(df), &d))
            rc = nmdi_error_at(err, NMDI_EDATA, path, t->lines[i], "date_final",
                               "'%s' is not a date YYYY-MM-DD", df);
        if (rc || !*p)
            continue;
        int64_t *slot = nmdi_strmap_get(c->map, p, strlen(p));
        if (!slot)
            continue;
        if (status[*slot] >= 0)
            rc = nmdi_error_at(err, NMDI_EDATA, path, t->lines[i], "person_id",
                               "person '%s' has a second initial status", p);
        status[*slot] = (int8_t)(res[0] - '0');
        date[*slot] = d;
    }
    nmdi_table_free(t);
    return rc;
}

/* ---- output ------------------------------------------------------------------ */

static inline char *put_date(char *o, nmdi_date d)
{
    if (d == NMDI_DATE_NONE)
        return o;
    int y, m, dd;
    nmdi_date_to_ymd(d, &y, &m, &dd);
    if (y < 0 || y > 9999) {
        char b[11];
        nmdi_date_format(d, b);
        size_t l = strlen(b);
        memcpy(o, b, l);
        return o + l;
    }
    o[0] = (char)('0' + y / 1000);
    o[1] = (char)('0' + y / 100 % 10);
    o[2] = (char)('0' + y / 10 % 10);
    o[3] = (char)('0' + y % 10);
    o[4] = '-';
    o[5] = (char)('0' + m / 10);
    o[6] = (char)('0' + m % 10);
    o[7] = '-';
    o[8] = (char)('0' + dd / 10);
    o[9] = (char)('0' + dd % 10);
    return o + 10;
}

static inline char *put_flag(char *o, int v)
{
    if (v >= 0)
        *o++ = (char)('0' + v);
    return o;
}

/* One row per input crossing, in input order. person_id, crossing_id and
 * direction echo the file; date is the parsed date (the same text when
 * valid) or the file's text when invalid. */
static void write_rows(const crossings *c, const nmdi_residence_result *res, FILE *f)
{
    char line[160];
    fputs(OUT_HEADER, f);
    for (size_t i = 0; i < c->n; i++) {
        const nmdi_residence_result *r = &res[i];
        const char *cid = c->text[i];
        const char *rawd = cid + strlen(cid) + 1;
        const char *rawr = rawd + strlen(rawd) + 1;
        nmdi_csv_put(f, c->pid[c->person[i]]);
        fputc(',', f);
        nmdi_csv_put(f, cid);
        fputc(',', f);
        if (c->date[i] == NMDI_DATE_NONE)
            nmdi_csv_put(f, rawd);
        else {
            char *e = put_date(line, c->date[i]);
            fwrite(line, 1, (size_t)(e - line), f);
        }
        fputc(',', f);
        if (c->dir[i] == NMDI_DIR_UNKNOWN || *rawr)
            nmdi_csv_put(f, rawr);
        else
            fputs(c->dir[i] == NMDI_ARRIVAL ? "arrival" : "departure", f);
        char *o = line;
        *o++ = ',';
        o = put_flag(o, r->rb);
        *o++ = ',';
        o = put_flag(o, r->ra);
        *o++ = ',';
        o = put_flag(o, r->ltm);
        *o++ = ',';
        o = put_date(o, r->fb);
        *o++ = ',';
        o = put_date(o, r->fa);
        *o++ = ',';
        o = put_date(o, r->fm);
        *o++ = ',';
        o = put_flag(o, r->provisional);
        *o++ = ',';
        o = put_flag(o, r->error);
        *o++ = '\n';
        fwrite(line, 1, (size_t)(o - line), f);
    }
}

int nmdi_cmd_residence(nmdi_ctx *ctx, int argc, char **argv)
{
    extern const nmdi_cmd_info nmdi_cmd_residence_info;
    const nmdi_cmd_info *info = &nmdi_cmd_residence_info;
    nmdi_residence_rule rule;
    nmdi_residence_rule_default(&rule);
    const char *initial = NULL, *as_of = NULL;
    static const struct option longopts[] = {
        {"threshold", required_argument, NULL, 't'},
        {"window", required_argument, NULL, 'w'},
        {"initial", required_argument, NULL, 'i'},
        {"as-of", required_argument, NULL, 'a'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        int64_t v;
        switch (opt) {
        case 't':
        case 'w':
            if (nmdi_parse_int64(optarg, &v) || v < 1 || v > 36600)
                return nmdi_cli_usage(info,
                                      "--%s needs a whole number of days (1 to 36600), not '%s'",
                                      opt == 't' ? "threshold" : "window", optarg);
            *(opt == 't' ? &rule.threshold : &rule.window) = (int)v;
            break;
        case 'i': initial = optarg; break;
        case 'a': as_of = optarg; break;
        case ':': return nmdi_cli_usage(info, "option %s needs a value", argv[optind - 1]);
        default: return nmdi_cli_usage(info, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return nmdi_cli_usage(info, "give exactly one crossings file (or - for standard input)");
    const char *path = argv[optind];
    nmdi_error err;
    nmdi_error_clear(&err);
    if (nmdi_residence_rule_check(&rule, &err))
        return nmdi_cli_usage(info, "%s", err.msg);
    if (as_of && nmdi_date_parse(as_of, strlen(as_of), &rule.cutoff))
        return nmdi_cli_usage(info, "--as-of needs a date YYYY-MM-DD, not '%s'", as_of);

    crossings c = {0};
    c.map = nmdi_strmap_new();
    c.arena = nmdi_arena_new(1 << 20);
    int8_t *status = NULL;
    nmdi_date *sdate = NULL;
    nmdi_residence_result *res = NULL;
    int rc = (!c.map || !c.arena) ? nmdi_error_set(&err, NMDI_EINTERNAL, "out of memory")
                                  : read_crossings(&c, path, &err);
    if (!rc && initial) {
        status = malloc((c.npersons + 1) * sizeof *status);
        sdate = malloc((c.npersons + 1) * sizeof *sdate);
        if (!status || !sdate)
            rc = nmdi_error_set(&err, NMDI_EINTERNAL, "out of memory");
        else {
            memset(status, -1, (c.npersons + 1) * sizeof *status);
            rc = read_initial(&c, initial, status, sdate, &err);
        }
    }
    if (!rc && !as_of) /* default cut-off: the last valid crossing date */
        for (size_t i = 0; i < c.n; i++)
            if (c.date[i] != NMDI_DATE_NONE && c.date[i] > rule.cutoff)
                rule.cutoff = c.date[i]; /* NONE is INT32_MIN: below any date */
    if (!rc && !(res = malloc((c.n + 1) * sizeof *res)))
        rc = nmdi_error_set(&err, NMDI_EINTERNAL, "out of memory");
    if (!rc) {
        nmdi_residence_input in = {c.n, c.person, c.date, c.dir, NULL, c.npersons,
                                   status, sdate};
        rc = nmdi_residence_run(ctx, &rule, &in, res, &err);
    }
    if (!rc) {
        static char buf[1 << 16];
        setvbuf(stdout, buf, _IOFBF, sizeof buf);
        write_rows(&c, res, stdout);
        if (fflush(stdout) || ferror(stdout))
            rc = nmdi_error_set(&err, NMDI_EINTERNAL, "cannot write standard output");
        setvbuf(stdout, NULL, _IOLBF, 0);
    }
    if (!rc) {
        size_t count[5] = {0};
        for (size_t i = 0; i < c.n; i++)
            count[res[i].error < 5 ? res[i].error : 0]++;
        size_t bad = count[2] + count[3] + count[4];
        if (bad)
            fprintf(stderr,
                    "nmdi residence: %zu of %zu crossings flagged: %zu two consecutive crossings "
                    "in the same direction (2), %zu unknown direction (3), %zu invalid date (4)\n",
                    bad, c.n, count[2], count[3], count[4]);
        else
            nmdi_note(ctx, "nmdi residence: %zu crossings of %zu persons, no errors", c.n,
                      c.npersons);
    }
    free(res);
    free(status);
    free(sdate);
    crossings_free(&c);
    return rc ? nmdi_cli_error("residence", &err) : 0;
}

const nmdi_cmd_info nmdi_cmd_residence_info = {
    "residence",
    "classify border crossings by the 12/16-month rule (or another threshold/window)",
    "usage: nmdi residence [--threshold DAYS] [--window DAYS] [--initial FILE] [--as-of DATE]\n"
    "                      CROSSINGS.csv\n"
    "\n"
    "Reads border crossings (CSV with header; columns person_id, crossing_id, date,\n"
    "direction in any order, others ignored; date YYYY-MM-DD; direction arrival or\n"
    "departure, also A/D or 1/0) and writes one row per crossing, in input order:\n"
    "  person_id,crossing_id,date,direction,resident_before,resident_after,\n"
    "  long_term_migration,date_final_before,date_final_after,date_final_migration,\n"
    "  provisional,error\n"
    "Crossings of a person are taken by date, then in file order. Rule of Statistics\n"
    "New Zealand (STANDARDS.md section 4): a migration when the person spends THRESHOLD\n"
    "of the next WINDOW days on the other side of the border.\n"
    "\n"
    "options:\n"
    "  --threshold DAYS  days that make a long-term stay (default 365)\n"
    "  --window DAYS     window after the crossing (default 487, i.e. 12 of 16 months)\n"
    "  --initial FILE    CSV person_id,resident,date_final: residence status (1/0) known\n"
    "                    at date_final; used when the first crossing is on or after it\n"
    "  --as-of DATE      data cut-off (default: the last valid crossing date in the file);\n"
    "                    provisional=1 when a final date is after it\n"
    "\n"
    "error codes: 0 none, 2 two consecutive crossings in the same direction (the later\n"
    "one), 3 unknown direction, 4 invalid date (final dates left empty). Flagged\n"
    "crossings carry the residence status through and never stop the run; a summary\n"
    "goes to standard error. Use - to read standard input. See docs/methods-derive.md.\n",
};
