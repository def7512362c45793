/*
 * synth_int.h — internal types of the synthetic country generator: the
 * counter-based random numbers, output buffers, the simulated household and
 * person, and the tables shared by the files of src/synth/.
 */
#ifndef NMDI_SYNTH_INT_H
#define NMDI_SYNTH_INT_H

#include "nmdi/synth.h"

#include <stdint.h>
#include <string.h>

/* ---- data tables (synth_data.c, generated) -------------------------------- */
typedef struct synth_country {
    const char *a3, *a2, *num, *icao, *mcc;
    int nreg; /* name-model region, NR_* */
} synth_country;
typedef struct synth_origin {
    int dest, origin, total, females;
} synth_origin;
extern const synth_country synth_countries[];
extern const size_t synth_ncountries;
extern const synth_origin synth_origins[];
extern const size_t synth_norigins;

enum { NR_KERN, NR_GERMANIC, NR_ROMANCE, NR_EEUROPE, NR_ARABIC, NR_TURKPERS, NR_SASIA, NR_EASIA,
       NR_SEASIA, NR_AFRICA, NR_ANGLO, NR_COUNT };

/* Country values: >= 0 index into synth_countries, or one of these. */
#define C_XKN (-1)       /* Kernland            */
#define C_STATELESS (-2) /* no citizenship      */
#define C_NONE (-3)      /* none / not applicable */

/* ---- counter-based random numbers (splitmix64) ---------------------------- */
typedef struct srng {
    uint64_t s;
} srng;
static inline uint64_t sy_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static inline uint64_t srng_next(srng *r)
{
    return sy_mix(r->s += 0x9e3779b97f4a7c15ULL);
}
/* A stream named by (seed, a, b, c): independent of everything else drawn. */
static inline srng srng_at(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    srng r = {sy_mix(sy_mix(sy_mix(seed ^ 0x5851f42d4c957f2dULL) + a) + b * 0x9e3779b97f4a7c15ULL) + c};
    return r;
}
static inline double srng_u(srng *r)
{
    return (double)(srng_next(r) >> 11) * 0x1.0p-53;
}
static inline int srng_int(srng *r, int n) /* 0..n-1 */
{
    return n <= 1 ? 0 : (int)(((srng_next(r) >> 32) * (uint64_t)n) >> 32);
}
static inline int srng_range(srng *r, int lo, int hi) /* lo..hi inclusive */
{
    return lo + srng_int(r, hi - lo + 1);
}
static inline int srng_bern(srng *r, double p)
{
    return srng_u(r) < p;
}
int srng_poisson(srng *r, double lambda);
int srng_pick(srng *r, const double *w, int n); /* index by weights */

/* ---- output buffers --------------------------------------------------------- */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    uint64_t rows;
    int oom;
} sbuf;
void sb_free(sbuf *b);
void sb_reserve(sbuf *b, size_t extra);
static inline void sb_putc(sbuf *b, char c)
{
    if (b->n + 1 > b->cap)
        sb_reserve(b, 1);
    if (!b->oom)
        b->p[b->n++] = c;
}
void sb_puts(sbuf *b, const char *s);      /* raw                          */
void sb_str(sbuf *b, const char *s);       /* CSV field, quoted if needed   */
void sb_int(sbuf *b, long long v);
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void sb_sep(sbuf *b)
{
    sb_putc(b, ',');
}
static inline void sb_eol(sbuf *b)
{
    sb_putc(b, '\n');
    b->rows++;
}
/* Date formats of the agencies. */
enum { DF_ISO, DF_DMY_DOT, DF_DMY_SLASH, DF_YMD, DF_MDY_SLASH };
void sb_date(sbuf *b, nmdi_date d, int fmt); /* nothing for NMDI_DATE_NONE */

/* ---- names (names.c) -------------------------------------------------------- */
#define NAME_MAX_LEN 64
/* Canonical names (UTF-8) of a person of a name region. */
void names_given(srng *r, int region, int female, char *out);
void names_family(srng *r, int region, char *out);
/* Upper-case ASCII as on a machine-readable travel document. */
void names_mrz(const char *in, char *out);
/* Another romanisation of the same name (ASCII or UTF-8), deterministic in r. */
void names_variant(srng *r, int region, const char *in, char *out);
/* A keying error: substitution, deletion, insertion or transposition. */
void names_typo(srng *r, char *s);

/* ---- the simulated population (life.c) ------------------------------------- */
#define SY_MAXSEG 160
#define SY_MAXHH 12
#define SY_NAREAS 10

enum { T_NATIVE, T_SETTLED, T_NEWIMM, T_TEMP, T_CIRC, T_RETURNER, T_VISITOR, T_COUNT };
enum { R_WORK, R_FAM, R_EDUC, R_ASYL, R_RET, R_OTH, R_NONE };
enum { LF_NA, LF_EMP, LF_UNE, LF_OLF };
enum { EV_IMM, EV_EMI, EV_TMP_IN, EV_TMP_OUT };

typedef struct sy_seg {
    nmdi_date start;
    int16_t loc; /* C_XKN or a foreign country index */
} sy_seg;

typedef struct sy_event {
    nmdi_date date;
    int8_t kind;      /* EV_* */
    int8_t citizen;   /* Kernland citizen on that day */
    int8_t circular, circular_temp;
    int16_t country;  /* previous (IMM/TMP_IN) or next (EMI/TMP_OUT) country */
    int32_t days;     /* far-side days counted by the rule, or spell length for TMP */
    int seg;          /* segment that the crossing opens */
} sy_event;

typedef struct sy_person {
    uint64_t idx;       /* global person index = id number */
    int relation;       /* 1 head, 2 spouse, 3 child, 4 parent of head */
    char sex;           /* 'F' or 'M' */
    nmdi_date dob, dod; /* dod NMDI_DATE_NONE when alive at the horizon */
    int cob, cit1, cit2;
    int cit_mode;       /* 0 at birth, 1 naturalisation */
    nmdi_date nat_date; /* naturalisation date or NONE  */
    int cit_before;     /* citizenship given up (or kept as cit2) at naturalisation */
    int mother_cob, father_cob;
    int reason;         /* R_* of the (first) immigration, R_NONE for native-born never abroad */
    int isced, isco;    /* education level 0..8, occupation major group 0..9 (-1 none) */
    double work_prop;
    int nreg;           /* name region */
    char given[NAME_MAX_LEN], family[NAME_MAX_LEN];
    int circular;       /* 1 circular, 2 temporary circular (UNECE) */
    char docno[2][12];  /* passport numbers (second for a second citizenship) */
    nmdi_date doc_renew;
    char docno_old[12];
    int init_res;
    int nev;
    int nseg;           /* everything above is cleared by person_init */
    sy_seg seg[SY_MAXSEG];
    unsigned char ltm[SY_MAXSEG], res_after[SY_MAXSEG];
    sy_event ev[SY_MAXSEG];
} sy_person;

typedef struct sy_household {
    uint64_t hid;       /* household number */
    int type, area, ea, urban, origin;
    int n;
    sy_person p[SY_MAXHH];
} sy_household;

/* The fixed run parameters shared by all chunks (read-only while running). */
typedef struct sy_world {
    nmdi_synth_opts o;
    nmdi_date S, E, H;          /* window start, end (exclusive), horizon */
    nmdi_date census_date, lfs_date, mobile_from;
    int dest;                   /* country index of --like */
    size_t orig_lo, orig_hi;    /* origins of dest in synth_origins */
    double *orig_cum;           /* cumulative weights, orig_hi-orig_lo   */
    int nea[SY_NAREAS][2];      /* enumeration areas per area x (rural, urban) */
    int ea_base[SY_NAREAS][2];  /* first EA number of the stratum */
    int lfs_sel_per[SY_NAREAS][2];
    unsigned char *ea_selected; /* by EA number: selected as LFS PSU */
    int total_ea;
} sy_world;

typedef struct sy_area {
    const char *code, *name;
    double share, urban, imm_factor;
} sy_area;
extern const sy_area sy_areas[SY_NAREAS];

int sy_origin_draw(const sy_world *w, srng *r);
int sy_country_of_a3(const char *a3);
/* Simulate household j of chunk c (persons from first_idx, at most maxp). */
void sy_household_make(const sy_world *w, uint64_t chunk, uint64_t j, uint64_t first_idx,
                       int maxp, sy_household *h);
/* Status and location on a day. */
int sy_resident_on(const sy_person *p, nmdi_date d);
int sy_loc_on(const sy_person *p, nmdi_date d);
int sy_alive_on(const sy_person *p, nmdi_date d);
int sy_citizen_on(const sy_person *p, nmdi_date d); /* Kernland citizen */
int sy_age_on(const sy_person *p, nmdi_date d);
nmdi_date sy_seg_end(const sy_person *p, int i); /* last day of segment i, or NONE if open */

/* ---- agency codes (codes of sources.c) --------------------------------------- */
const char *sy_a3(int c);
const char *sy_a2(int c);
const char *sy_num(int c);
const char *sy_icao(int c);
const char *sy_mcc(int c);

#endif

/* ---- one chunk of persons (sources.c) ----------------------------------------- */
enum { F_PERSONS, F_HOUSEHOLDS, F_SPELLS, F_TCROSS, F_EVENTS, F_LINKS, F_BORDER, F_CENSUS,
       F_CENSUS_ABROAD, F_LFS, F_PERMITS, F_STUDENTS, F_REG_BASE, F_REG_EVENTS, F_MOBILE,
       F_MOBILE_AREAS, F_COUNT };
extern const char *const sy_file_name[F_COUNT];
extern const char *const sy_file_header[F_COUNT];

typedef struct lfs_person {
    uint64_t hid, idx;
    int ea, stratum, pno;
    char sex;
    int age, cob, cit, yrs, ilo, isced, isco, educ, area, urban;
} lfs_person;

typedef struct sy_chunk {
    sbuf f[F_COUNT];
    lfs_person *lfs;
    size_t nlfs, caplfs;
    double stratum_pop[SY_NAREAS * 2]; /* residents on the LFS date */
    uint64_t persons, households;
    int oom;
} sy_chunk;

#define SY_CHUNK 2048
void sy_chunk_run(const sy_world *w, uint64_t chunk, sy_chunk *out);
void sy_chunk_free(sy_chunk *c);
/* Labour status of a person on a day: LF_* and in education (ILO, 4 weeks). */
void sy_labour(const sy_world *w, const sy_person *p, nmdi_date d, int *ilo, int *educ);
void sy_mobile_person(const sy_world *w, const sy_household *h, const sy_person *p, sy_chunk *out);
void sy_mobile_machines(const sy_world *w, uint64_t chunk, uint64_t persons, sy_chunk *out);
