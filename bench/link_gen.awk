# bench/link_gen.awk — reproducible generator of two synthetic person files
# for the record-linkage benchmark (wl_link1m): LEFT holds one record per
# person of a population of n, RIGHT holds a share `overlap` of the same
# persons (with realistic recording errors) and new persons up to n records.
#   awk -v n=1000000 -v seed=42 -v dir=OUT -f bench/link_gen.awk
# writes OUT/left.csv, OUT/right.csv (id,given_name,surname,date_of_birth,sex,
# postcode) and OUT/truth.csv (left_id,right_id). The random numbers come from
# a Park–Miller generator in exact double arithmetic (the same files with any
# POSIX awk). Names: surnames and given names are built from syllables with
# a Zipf-like skew, plus a list of very common surnames (the largest shares
# about 1 % of the records: skewed blocks). Errors in RIGHT (rates per
# record): surname typo 8 % (substitution, insertion, deletion, adjacent
# transposition), given-name typo 8 %, given-name variant 4 % (spelling
# variants: c/k, ph/f, y/i, double letters), surname change 3 % of women,
# date of birth: day/month transposed 2 %, one-digit error 3 %, year ±1
# 2 %, missing 2 %; postcode moved 10 %, missing 5 %; given name missing 2 %;
# sex missing 1 %.
function rnd() { S = (S * 48271) % 2147483647; return S / 2147483647 }
function ri(k) { return int(rnd() * k) }
function skew(k, p) { return int(k * rnd() ^ p) }
function surname(   s, i, m) {
    if (rnd() < 0.1) return COMMON[skew(NCOMMON, 1.3)]
    m = 2 + (rnd() < 0.35)
    s = ""
    for (i = 0; i < m; i++) s = s SYL[skew(NSYL, 1.8)]
    return s
}
function given(sex,   s) {
    if (sex == "F") s = GF[skew(NGF, 2.2)] GFE[skew(NGFE, 1.5)]
    else s = GM[skew(NGM, 2.2)] GME[skew(NGME, 1.5)]
    return s
}
function typo(s,   n, p, c, t) {
    n = length(s)
    if (n < 2) return s
    p = 1 + ri(n)
    t = ri(4)
    c = substr(ALPHA, 1 + ri(26), 1)
    if (t == 0) return substr(s, 1, p - 1) c substr(s, p + 1)          # substitution
    if (t == 1) return substr(s, 1, p - 1) c substr(s, p)              # insertion
    if (t == 2) return substr(s, 1, p - 1) substr(s, p + 1)            # deletion
    if (p == n) p = n - 1                                              # transposition
    return substr(s, 1, p - 1) substr(s, p + 1, 1) substr(s, p, 1) substr(s, p + 2)
}
function variant(s,   t) {
    t = s
    if (sub(/ph/, "f", t) || sub(/c/, "k", t) || sub(/y/, "i", t) || sub(/ll/, "l", t) ||
        sub(/nn/, "n", t) || sub(/i/, "y", t) || sub(/k/, "c", t)) return t
    return s "h"
}
function dob(   y, m, d, ml) {
    y = 1930 + skew(86, 0.8)
    m = 1 + ri(12)
    ml = (m == 2) ? 28 : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31
    d = 1 + ri(ml)
    return sprintf("%04d-%02d-%02d", y, m, d)
}
function dob_error(s,   y, m, d, p, c, t, u) {
    y = substr(s, 1, 4); m = substr(s, 6, 2); d = substr(s, 9, 2)
    u = rnd()
    if (u < 0.2857 && d + 0 <= 12 && d != m) return y "-" d "-" m       # day/month transposed
    if (u < 0.7143) {                                                  # one digit
        t = y m d
        p = 1 + ri(8)
        c = ri(10)
        t = substr(t, 1, p - 1) c substr(t, p + 1)
        return substr(t, 1, 4) "-" substr(t, 5, 2) "-" substr(t, 7, 2)
    }
    return sprintf("%04d-%s-%s", y + (rnd() < 0.5 ? -1 : 1), m, d)      # year off by one
}
function postcode() { return 1000 + skew(9000, 1.3) }
function emit(f, id, g, s, b, x, p) { printf "%s,%s,%s,%s,%s,%s\n", id, g, s, b, x, p > f }
BEGIN {
    if (n == "") n = 1000000
    if (seed == "") seed = 42
    if (overlap == "") overlap = 0.8
    if (dir == "") dir = "."
    S = seed % 2147483646 + 1
    ALPHA = "abcdefghijklmnopqrstuvwxyz"
    NSYL = split("an ber son mi ler ka tor ri el ha den ma lo vic sch ne wa gar ro li ta ko nu sel " \
                 "mar fi da sto ber ge ral man rus chen ov ez ski ni kov ter ham lan dor be ca ve " \
                 "to mo ly sa ri ka zu ko ba im ra hu ge ol", T, " ")
    for (i = 1; i <= NSYL; i++) SYL[i - 1] = T[i]
    NCOMMON = split("smith muller garcia nguyen kim wang silva kowalski ivanov haddad " \
                    "martin rossi jansen novak popescu yilmaz khan ali hansen petrov", T, " ")
    for (i = 1; i <= NCOMMON; i++) COMMON[i - 1] = T[i]
    NGF = split("ann mar el sof li ka em is ju cla ro ma lu ni ha ev zo ai ir na be fa", T, " ")
    for (i = 1; i <= NGF; i++) GF[i - 1] = T[i]
    NGFE = split("a ia ie ina elle ette y e anne ica ara", T, " ")
    for (i = 1; i <= NGFE; i++) GFE[i - 1] = T[i]
    NGM = split("jo pet mi dav al tho ste ro wil ch ka ha lu ma fe ib ra ol se yu ta", T, " ")
    for (i = 1; i <= NGM; i++) GM[i - 1] = T[i]
    NGME = split("n hn r id ex mas phen bert liam ris mal rry kas rk lix rahim im iver rgei suf", T, " ")
    for (i = 1; i <= NGME; i++) GME[i - 1] = T[i]
    L = dir "/left.csv"; R = dir "/right.csv"; TR = dir "/truth.csv"
    print "id,given_name,surname,date_of_birth,sex,postcode" > L
    print "id,given_name,surname,date_of_birth,sex,postcode" > R
    print "left_id,right_id" > TR
    nr = 0
    for (i = 1; i <= n; i++) {
        x = rnd() < 0.5 ? "F" : "M"
        g = given(x); s = surname(); b = dob(); p = postcode()
        lid = sprintf("L%07d", i)
        emit(L, lid, g, s, b, x, p)
        if (rnd() >= overlap) continue
        nr++
        rid = sprintf("R%07d", (nr * 1000003) % (n * 2) + 1)
        if (rnd() < 0.08) g = typo(g)
        if (rnd() < 0.04) g = variant(g)
        if (rnd() < 0.08) s = typo(s)
        if (x == "F" && rnd() < 0.03) s = surname()
        u = rnd()
        if (u < 0.02) b = ""; else if (u < 0.09) b = dob_error(b)
        u = rnd()
        if (u < 0.05) p = ""; else if (u < 0.15) p = postcode()
        if (rnd() < 0.02) g = ""
        xr = rnd() < 0.01 ? "" : x
        emit(R, rid, g, s, b, xr, p)
        print lid "," rid > TR
    }
    # new persons in RIGHT up to n records (ids continue the permutation)
    for (j = nr + 1; j <= n; j++) {
        x = rnd() < 0.5 ? "F" : "M"
        rid = sprintf("R%07d", (j * 1000003) % (n * 2) + 1)
        emit(R, rid, given(x), surname(), dob(), x, postcode())
    }
}
