/* names.c — names of the synthetic country's people: syllable models per
 * origin region (invented syllables, not lists of real people), the
 * machine-readable-zone transliteration of border records, alternative
 * romanisations, and keying errors. */
#include "synth_int.h"

#include <ctype.h>

typedef struct name_model {
    const char *first[16];  /* first syllables of given names */
    const char *male[10];   /* endings of male given names */
    const char *female[10]; /* endings of female given names */
    const char *fam1[16];   /* first part of family names */
    const char *fam2[10];   /* second part ("" allowed) */
} name_model;

static const name_model models[NR_COUNT] = {
    /* NR_KERN: Kernland (fictional, Germanic-sounding) */
    {{"Ar", "Bel", "Ker", "Dor", "Ul", "Hal", "Gis", "Ton", "Rik", "Mel", "Wen", "Os", "Fal", "Ing", "Lot", "Sig"},
     {"mar", "brecht", "wald", "o", "ulf", "rik", "hard", "win", "bert", "en"},
     {"da", "trud", "ke", "lind", "a", "ina", "hild", "wine", "ja", "run"},
     {"Kern", "Höl", "Brun", "Wald", "Stein", "Lin", "Fähr", "Mos", "Tann", "Ried", "Grün", "Am", "Ost", "Berg", "Falk", "Sand"},
     {"er", "mann", "ow", "hagen", "feld", "ke", "ing", "ler", "dorf", "bach"}},
    /* NR_GERMANIC */
    {{"Jo", "Lu", "Ma", "Fre", "Hen", "Kla", "Ste", "Wil", "Ber", "Ot", "Gre", "Lie", "Jür", "Sö", "Ans", "Tho"},
     {"hann", "kas", "rten", "drik", "nrik", "us", "fan", "helm", "nd", "to"},
     {"hanna", "isa", "rie", "da", "nrike", "ra", "phanie", "lma", "rit", "ke"},
     {"Schmi", "Mül", "Wag", "Bau", "Schrö", "Kö", "Hoff", "Jans", "Vos", "Lind", "Brö", "Ström", "Hau", "Zim", "Wei", "Björk"},
     {"dt", "ler", "ner", "er", "der", "nig", "mann", "sen", "berg", "qvist"}},
    /* NR_ROMANCE */
    {{"Al", "Fran", "Lu", "Ma", "Gio", "Ser", "Ra", "Jo", "Ti", "Ce", "Da", "Ro", "Pa", "Vi", "Is", "Em"},
     {"berto", "cesco", "is", "rio", "vanni", "gio", "fael", "sé", "ago", "nuel"},
     {"berta", "cesca", "isa", "ria", "vanna", "na", "faela", "sefa", "tiana", "lia"},
     {"Ro", "Fer", "Gon", "Mar", "Ric", "Lo", "San", "Cos", "Bian", "Es", "Mo", "Pe", "Gar", "Ca", "Fon", "Ol"},
     {"dríguez", "nández", "zález", "tín", "ci", "pes", "tos", "ta", "chi", "teves"}},
    /* NR_EEUROPE (Slavic, Hungarian, Greek, Albanian: one model) */
    {{"Vla", "Mi", "Bo", "Dra", "Ste", "Ja", "Zo", "Ka", "Ni", "Pe", "Lju", "Iva", "Go", "Ra", "Du", "Mar"},
     {"dimir", "lan", "ris", "gan", "fan", "n", "ran", "rel", "kola", "tar"},
     {"dimira", "lena", "rislava", "gana", "fanija", "na", "rana", "tarina", "kolina", "ja"},
     {"Nov", "Kov", "Petr", "Jovan", "Horv", "Kr", "Dimitr", "Wiśn", "Szab", "Mar", "Pop", "Ilić", "Stoj", "Bab", "Kuz", "Č"},
     {"ak", "ačević", "ović", "ov", "áth", "ić", "iou", "ski", "enko", "ek"}},
    /* NR_ARABIC */
    {{"Mo", "Ah", "Kha", "Ya", "Fa", "Sa", "Ha", "Ab", "Ka", "Ra", "Na", "Om", "Ib", "Zai", "Ja", "Mus"},
     {"hammed", "med", "lid", "ssin", "rid", "mir", "san", "dul", "rim", "ar"},
     {"hamma", "ima", "lida", "smin", "tima", "mira", "na", "la", "rima", "nab"},
     {"Al-", "El ", "Ha", "Ab", "Kha", "Man", "Sa", "Na", "Ra", "Bou", "Ben ", "Ta", "Qa", "Ju", "Ma", "Da"},
     {"Hassan", "Amin", "ddad", "bas", "lil", "sour", "leh", "sser", "shid", "aziz"}},
    /* NR_TURKPERS */
    {{"Meh", "Ay", "Em", "Ke", "Ba", "Gül", "Öz", "Ar", "Da", "Ser", "Fa", "Re", "Ni", "Sa", "Er", "Ka"},
     {"met", "han", "re", "mal", "rış", "can", "tan", "man", "vut", "dar"},
     {"tap", "şe", "ine", "ziban", "har", "ten", "gül", "an", "lar", "nur"},
     {"Yıl", "Kay", "Çe", "Şa", "Ah", "Do", "Ka", "Ra", "Hos", "Moh", "Ali", "Ka", "Ba", "Te", "Gö", "Ar"},
     {"dız", "a", "lik", "hin", "madi", "ğan", "rimi", "him", "seini", "ammadi"}},
    /* NR_SASIA */
    {{"Ra", "Su", "Pri", "Ar", "Vi", "An", "Sa", "Mo", "Ka", "De", "Ha", "Nee", "Sh", "Ab", "Ta", "Ja"},
     {"jesh", "resh", "yank", "jun", "kram", "il", "njay", "han", "mal", "v"},
     {"ni", "nita", "ya", "ti", "dya", "jali", "ngeeta", "hini", "vita", "shmi"},
     {"Sha", "Pa", "Kha", "Si", "Gu", "Re", "Cho", "Ra", "Ba", "Is", "Ver", "Mu", "Ra", "Ah", "Hu", "Iq"},
     {"rma", "tel", "n", "ngh", "pta", "ddy", "udhury", "hman", "nerjee", "lam"}},
    /* NR_EASIA */
    {{"Wei", "Xiao", "Li", "Jun", "Hao", "Min", "Yu", "Jia", "Zhi", "Ying", "Seo", "Hyun", "Ji", "Kai", "Ming", "Yan"},
     {"jie", "long", "wei", "hao", "ming", "jun", "ho", "woo", "", "feng"},
     {"ling", "mei", "na", "yan", "xin", "hua", "yeon", "ah", "", "jing"},
     {"Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Kim", "Park", "Lee", "Wu", "Zhou", "Xu", "Sun", "Ma"},
     {"", "", "", "", "", "", "", "", "", ""}},
    /* NR_SEASIA */
    {{"Ng", "Tr", "Ma", "Jo", "Ro", "Sur", "Ari", "Tha", "Ki", "Bu", "Dew", "Pu", "Sia", "Lo", "Ha", "Kha"},
     {"uyen", "ung", "rco", "se", "del", "iya", "f", "nh", "at", "di"},
     {"oc Anh", "ang", "ricel", "sie", "sa", "ani", "fa", "nh Lan", "ttana", "wi"},
     {"Ngu", "Tr", "Le", "Pha", "San", "Re", "Sa", "Wong", "Ku", "Su", "Bau", "Hu", "Vo", "Da", "Ta", "Pra"},
     {"yen", "an", "", "m", "tos", "yes", "put", "sa", "suma", "tanto"}},
    /* NR_AFRICA */
    {{"Chi", "Olu", "Ama", "Kwa", "Ade", "Ngo", "Fa", "Ta", "Mu", "Ze", "Abe", "Ye", "Bin", "Ke", "Si", "Ba"},
     {"nedu", "wale", "du", "me", "bayo", "zi", "tou", "iwo", "sa", "nta"},
     {"oma", "wa", "ra", "na", "bola", "zi", "tima", "wo", "nga", "la"},
     {"Oko", "Ade", "Mensa", "Nko", "Ba", "Dia", "Wa", "Ha", "Tesfa", "Mu", "Ke", "Ogu", "Ka", "Ndi", "Sa", "Ti"},
     {"nkwo", "yemi", "h", "si", "llo", "", "ngari", "ile", "ye", "ndi"}},
    /* NR_ANGLO */
    {{"Ja", "Mi", "Da", "Ro", "Wil", "Ste", "Ka", "Jen", "Chri", "Bri", "Ash", "Em", "Hea", "Ry", "Ty", "Ma"},
     {"mes", "chael", "vid", "bert", "liam", "ven", "leb", "son", "stopher", "an"},
     {"net", "chelle", "isy", "berta", "low", "phanie", "te", "nifer", "stine", "ley"},
     {"Smi", "John", "Wil", "Bro", "Jo", "Da", "Mil", "Tay", "An", "Tho", "Whi", "Har", "Mar", "Cl", "Lew", "Wal"},
     {"th", "son", "liams", "wn", "nes", "vies", "ler", "lor", "derson", "mas"}},
};

void names_given(srng *r, int region, int female, char *out)
{
    const name_model *m = &models[region < 0 || region >= NR_COUNT ? NR_ANGLO : region];
    const char *a = m->first[srng_int(r, 16)];
    const char *b = female ? m->female[srng_int(r, 10)] : m->male[srng_int(r, 10)];
    snprintf(out, NAME_MAX_LEN, "%s%s", a, b);
    /* East Asian given names are often two syllables: add one sometimes. */
    if (region == NR_EASIA && b[0] == '\0')
        snprintf(out, NAME_MAX_LEN, "%s%s", a, female ? "li" : "ping");
}

void names_family(srng *r, int region, char *out)
{
    const name_model *m = &models[region < 0 || region >= NR_COUNT ? NR_ANGLO : region];
    const char *a = m->fam1[srng_int(r, 16)];
    const char *b = m->fam2[srng_int(r, 10)];
    snprintf(out, NAME_MAX_LEN, "%s%s", a, b);
}

/* UTF-8 letters of the models and their ICAO 9303 transliteration. */
static const struct {
    const char *u, *mrz, *alt;
} translit[] = {
    {"ä", "AE", "A"}, {"ö", "OE", "O"}, {"ü", "UE", "U"}, {"Ö", "OE", "O"}, {"Ü", "UE", "U"},
    {"ß", "SS", "S"}, {"é", "E", "E"}, {"á", "A", "A"},   {"í", "I", "I"},  {"ó", "O", "O"},
    {"ç", "C", "CH"}, {"Ç", "C", "CH"}, {"č", "C", "CH"}, {"Č", "C", "CH"}, {"ć", "C", "CH"},
    {"š", "S", "SH"}, {"ś", "S", "S"},  {"ş", "S", "SH"}, {"Ş", "S", "SH"}, {"ž", "Z", "ZH"},
    {"ğ", "G", "GH"}, {"ı", "I", "I"},  {"ñ", "N", "NY"}, {"ł", "L", "L"},  {"ř", "R", "R"},
};
#define NTRANSLIT (sizeof translit / sizeof translit[0])

static void translit_to(const char *in, char *out, int alt)
{
    size_t o = 0;
    for (const char *s = in; *s && o + 3 < NAME_MAX_LEN;) {
        size_t k;
        for (k = 0; k < NTRANSLIT; k++) {
            size_t l = strlen(translit[k].u);
            if (strncmp(s, translit[k].u, l) == 0) {
                const char *t = alt ? translit[k].alt : translit[k].mrz;
                for (; *t && o + 1 < NAME_MAX_LEN; t++)
                    out[o++] = *t;
                s += l;
                break;
            }
        }
        if (k < NTRANSLIT)
            continue;
        unsigned char c = (unsigned char)*s++;
        if (c >= 0x80)
            continue; /* an unknown non-ASCII byte is dropped */
        if (c == '-' || c == ' ' || c == '\'')
            out[o++] = ' ';
        else
            out[o++] = (char)toupper(c);
    }
    out[o] = '\0';
}

void names_mrz(const char *in, char *out)
{
    translit_to(in, out, 0);
}

/* Rewrite rules between romanisations (applied to the ASCII form). */
static const struct {
    const char *a, *b;
} rules[] = {
    {"OU", "U"}, {"U", "OU"}, {"EE", "I"},  {"KH", "H"}, {"Q", "K"},  {"DJ", "J"},  {"J", "DJ"},
    {"SH", "CH"}, {"W", "V"}, {"V", "W"},   {"PH", "F"}, {"Y", "I"},  {"IE", "I"},  {"MM", "M"},
    {"AI", "AY"}, {"C", "K"}, {"TS", "C"},  {"X", "KS"}, {"EI", "AI"}, {"O", "U"},
};
#define NRULES (sizeof rules / sizeof rules[0])

void names_variant(srng *r, int region, const char *in, char *out)
{
    char up[NAME_MAX_LEN];
    translit_to(in, up, srng_bern(r, 0.5));
    /* try a few rules from a random start; apply the first that matches */
    size_t first = (size_t)srng_int(r, (int)NRULES);
    for (size_t t = 0; t < NRULES; t++) {
        size_t k = (first + t) % NRULES;
        char *hit = strstr(up, rules[k].a);
        if (!hit)
            continue;
        char tmp[NAME_MAX_LEN];
        size_t pre = (size_t)(hit - up);
        snprintf(tmp, sizeof tmp, "%.*s%s%s", (int)pre, up, rules[k].b, hit + strlen(rules[k].a));
        memcpy(up, tmp, sizeof up);
        break;
    }
    /* back to name case: first letter of each word upper, rest lower */
    int start = 1;
    size_t o = 0;
    for (const char *s = up; *s && o + 1 < NAME_MAX_LEN; s++) {
        char c = *s;
        out[o++] = start ? c : (char)tolower((unsigned char)c);
        start = (c == ' ');
    }
    out[o] = '\0';
    (void)region;
}

void names_typo(srng *r, char *s)
{
    size_t n = strlen(s);
    if (n < 3)
        return;
    /* only touch ASCII letters so the result stays valid UTF-8 */
    size_t i = 1 + (size_t)srng_int(r, (int)n - 2);
    if ((unsigned char)s[i] >= 0x80 || (unsigned char)s[i - 1] >= 0x80 ||
        (unsigned char)s[i + 1] >= 0x80)
        return;
    int upper = isupper((unsigned char)s[i]) != 0;
    char letter = (char)((upper ? 'A' : 'a') + srng_int(r, 26));
    switch (srng_int(r, 4)) {
    case 0: s[i] = letter; break;                        /* substitution */
    case 1: memmove(s + i, s + i + 1, n - i); break;     /* deletion     */
    case 2:                                              /* insertion    */
        if (n + 2 < NAME_MAX_LEN) {
            memmove(s + i + 1, s + i, n - i + 1);
            s[i] = letter;
        }
        break;
    default: {                                           /* transposition */
        char c = s[i];
        s[i] = s[i + 1];
        s[i + 1] = c;
    }
    }
}
