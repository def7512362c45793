#!/bin/sh
# tests/cli/residence.sh — `nmdi residence`: exact interface (header, columns,
# input order, codes), the worked examples of STANDARDS.md §4 end to end,
# options, errors that never stop the run, and usage errors.
. "$(dirname "$0")/../lib.sh"

HEADER='person_id,crossing_id,date,direction,resident_before,resident_after,long_term_migration,date_final_before,date_final_after,date_final_migration,provisional,error'

# --- the worked examples (person resident at start) and their mirror images
cat >"$TMP/ex.csv" <<'EOF'
person_id,crossing_id,date,direction
p1,1,2017-01-01,arrival
p2,2,2017-01-01,departure
p3,3,2017-01-01,departure
p3,4,2017-01-11,arrival
p4,5,2017-01-01,departure
p4,6,2017-09-08,arrival
p5,7,2017-01-01,departure
p5,8,2017-01-01,arrival
m1,9,2017-01-01,departure
m2,10,2017-01-01,arrival
m3,11,2017-01-01,arrival
m3,12,2017-01-11,departure
m4,13,2017-01-01,arrival
m4,14,2017-09-08,departure
m5,15,2017-01-01,arrival
m5,16,2017-01-01,departure
EOF
cat >"$TMP/init.csv" <<'EOF'
person_id,resident,date_final
p1,1,2016-01-01
p2,1,2016-01-01
p3,1,2016-01-01
p4,1,2016-01-01
p5,1,2016-01-01
m1,0,2016-01-01
m2,0,2016-01-01
m3,0,2016-01-01
m4,0,2016-01-01
m5,0,2016-01-01
EOF
cat >"$TMP/ex.want" <<EOF
$HEADER
p1,1,2017-01-01,arrival,1,1,0,2017-01-01,2017-01-01,2017-01-01,0,0
p2,2,2017-01-01,departure,1,0,1,2017-01-01,2018-01-01,2018-01-01,0,0
p3,3,2017-01-01,departure,1,1,0,2017-01-01,2017-05-13,2017-05-13,0,0
p3,4,2017-01-11,arrival,1,1,0,2017-05-13,2017-05-13,2017-01-11,0,0
p4,5,2017-01-01,departure,1,1,0,2017-01-01,2018-01-08,2018-01-08,0,0
p4,6,2017-09-08,arrival,1,1,0,2018-01-08,2018-01-08,2018-01-08,0,0
p5,7,2017-01-01,departure,1,1,0,2017-01-01,2017-05-03,2017-05-03,0,0
p5,8,2017-01-01,arrival,1,1,0,2017-05-03,2017-05-03,2017-01-01,0,0
m1,9,2017-01-01,departure,0,0,0,2017-01-01,2017-01-01,2017-01-01,0,0
m2,10,2017-01-01,arrival,0,1,1,2017-01-01,2018-01-01,2018-01-01,0,0
m3,11,2017-01-01,arrival,0,0,0,2017-01-01,2017-05-13,2017-05-13,0,0
m3,12,2017-01-11,departure,0,0,0,2017-05-13,2017-05-13,2017-01-11,0,0
m4,13,2017-01-01,arrival,0,0,0,2017-01-01,2018-01-08,2018-01-08,0,0
m4,14,2017-09-08,departure,0,0,0,2018-01-08,2018-01-08,2018-01-08,0,0
m5,15,2017-01-01,arrival,0,0,0,2017-01-01,2017-05-03,2017-05-03,0,0
m5,16,2017-01-01,departure,0,0,0,2017-05-03,2017-05-03,2017-01-01,0,0
EOF
"$NMDI" residence --initial "$TMP/init.csv" --as-of 2018-01-08 "$TMP/ex.csv" >"$TMP/ex.out" 2>"$TMP/ex.err"
rc=$?
assert_eq "worked examples: exit 0" 0 "$rc"
assert_eq "worked examples and mirror images, exact output" "$(cat "$TMP/ex.want")" "$(cat "$TMP/ex.out")"
assert_eq "exact header" "$HEADER" "$(head -n 1 "$TMP/ex.out")"

# --- default cut-off = the last crossing date in the file (2017-09-08):
# the lone departure p2 is then not (yet) a migration, and provisional
"$NMDI" residence --initial "$TMP/init.csv" "$TMP/ex.csv" >"$TMP/def.out" 2>/dev/null
assert_eq "default --as-of: lone departure provisional, not yet a migration" \
    "p2,2,2017-01-01,departure,1,1,0,2017-01-01,2018-01-01,2018-01-01,1,0" \
    "$(grep '^p2,' "$TMP/def.out")"
assert_eq "default --as-of: classification final after the cut-off is provisional" \
    "p4,5,2017-01-01,departure,1,1,0,2017-01-01,2018-01-08,2018-01-08,1,0" \
    "$(grep '^p4,5,' "$TMP/def.out")"

# --- columns in any order, extra columns, A/D and 1/0 (echoed), input order
cat >"$TMP/cols.csv" <<'EOF'
direction;port;date;crossing_id;person_id
A;AKL;2017-01-11;c2;"x;1"
1;AKL;2017-03-01;c4;y
D;AKL;2017-01-01;c1;"x;1"
0;WLG;2016-01-01;c3;y
EOF
"$NMDI" residence --as-of 2018-01-01 "$TMP/cols.csv" >"$TMP/cols.out" 2>/dev/null
cat >"$TMP/cols.want" <<EOF
$HEADER
x;1,c2,2017-01-11,A,1,1,0,2017-05-13,2017-05-13,2017-01-11,0,0
y,c4,2017-03-01,1,0,1,1,2017-03-01,2018-03-01,2018-03-01,1,0
x;1,c1,2017-01-01,D,1,1,0,2017-01-01,2017-05-13,2017-05-13,0,0
y,c3,2016-01-01,0,1,0,1,2016-01-01,2016-12-31,2016-12-31,0,0
EOF
assert_eq "any column order, extra columns, codes A/D/1/0, input order kept" \
    "$(cat "$TMP/cols.want")" "$(cat "$TMP/cols.out")"

# --- bad lines never stop the run: codes 2, 3, 4
cat >"$TMP/bad.csv" <<'EOF'
person_id,crossing_id,date,direction
a,1,2017-01-01,D
a,2,2017-03-01,D
a,3,2017-06-01,A
b,4,2017-02-30,A
b,5,2017-01-01,sideways
b,6,2017-01-05,D
c,7,,A
EOF
"$NMDI" residence --as-of 2018-01-01 "$TMP/bad.csv" >"$TMP/bad.out" 2>"$TMP/bad.err"
rc=$?
assert_eq "errors: exit 0" 0 "$rc"
assert_eq "errors: one row per input line" 8 "$(wc -l <"$TMP/bad.out" | tr -d ' ')"
assert_eq "code 2: second departure in a row, carried through" \
    "a,2,2017-03-01,D,1,1,0,2017-10-01,2017-10-01,2017-10-01,0,2" "$(grep '^a,2,' "$TMP/bad.out")"
assert_eq "code 2: the valid crossings ignore it" \
    "a,3,2017-06-01,A,1,1,0,2017-10-01,2017-10-01,2017-06-01,0,0" "$(grep '^a,3,' "$TMP/bad.out")"
assert_eq "code 4: invalid date, empty final dates" \
    "b,4,2017-02-30,A,1,1,0,,,,0,4" "$(grep '^b,4,' "$TMP/bad.out")"
assert_eq "code 3: unknown direction" \
    "b,5,2017-01-01,sideways,1,1,0,2017-01-01,2017-01-01,2017-01-01,0,3" "$(grep '^b,5,' "$TMP/bad.out")"
assert_eq "code 4: empty date, no valid crossing: residence unknown" \
    "c,7,,A,,,0,,,,0,4" "$(grep '^c,7,' "$TMP/bad.out")"
if grep -q '4 of 7 crossings flagged' "$TMP/bad.err" && grep -q 'invalid date (4)' "$TMP/bad.err"; then
    ok "error summary on standard error"
else
    fail "error summary on standard error" "$(cat "$TMP/bad.err")"
fi

# --- other threshold/window pairs: 9 of 12 months
printf 'person_id,crossing_id,date,direction\nq,1,2017-01-01,D\nq,2,2017-10-15,A\n' >"$TMP/nine.csv"
assert_eq "--threshold 273 --window 365: 287 days out is a migration" \
    "q,1,2017-01-01,D,1,0,1,2017-01-01,2017-10-01,2017-10-01,0,0" \
    "$("$NMDI" -q residence --threshold 273 --window 365 --as-of 2019-01-01 "$TMP/nine.csv" | grep '^q,1,')"
assert_eq "12/16 months: 287 days out is not" \
    "q,1,2017-01-01,D,1,1,0,2017-01-01,2018-02-14,2018-02-14,0,0" \
    "$("$NMDI" -q residence --as-of 2019-01-01 "$TMP/nine.csv" | grep '^q,1,')"

# --- standard input, header only, usage and data errors
assert_eq "reads standard input with -" "$(cat "$TMP/ex.want" | sed -n 2p)" \
    "$("$NMDI" residence --initial "$TMP/init.csv" --as-of 2018-01-08 - <"$TMP/ex.csv" 2>/dev/null | sed -n 2p)"
printf 'person_id,crossing_id,date,direction\n' >"$TMP/head.csv"
assert_eq "header only: header only" "$HEADER" "$("$NMDI" -q residence "$TMP/head.csv")"
: >"$TMP/empty.csv"
"$NMDI" residence "$TMP/empty.csv" >/dev/null 2>"$TMP/e.err"
assert_eq "empty file: exit 1" 1 "$?"
printf 'person_id,crossing_id,direction\nx,1,A\n' >"$TMP/nodate.csv"
"$NMDI" residence "$TMP/nodate.csv" >"$TMP/nd.out" 2>"$TMP/nd.err"
assert_eq "missing column: exit 1" 1 "$?"
if grep -q "missing column 'date'" "$TMP/nd.err" && [ ! -s "$TMP/nd.out" ]; then
    ok "missing column: the message names it, nothing on stdout"
else
    fail "missing column: the message names it" "$(cat "$TMP/nd.err")"
fi
"$NMDI" residence "$TMP/nope.csv" >/dev/null 2>&1
assert_eq "missing file: exit 1" 1 "$?"
"$NMDI" residence --threshold 400 --window 300 "$TMP/ex.csv" >/dev/null 2>&1
assert_eq "window below threshold: exit 1" 1 "$?"
"$NMDI" residence --threshold abc "$TMP/ex.csv" >/dev/null 2>&1
assert_eq "non-numeric threshold: exit 1" 1 "$?"
"$NMDI" residence --as-of 2017-02-30 "$TMP/ex.csv" >/dev/null 2>&1
assert_eq "invalid --as-of: exit 1" 1 "$?"
"$NMDI" residence >/dev/null 2>&1
assert_eq "no file: exit 1" 1 "$?"
printf 'person_id,resident,date_final\np1,yes,2016-01-01\n' >"$TMP/badinit.csv"
"$NMDI" residence --initial "$TMP/badinit.csv" "$TMP/ex.csv" >/dev/null 2>"$TMP/bi.err"
assert_eq "bad --initial value: exit 1" 1 "$?"
if grep -q "badinit.csv:2: field 'resident'" "$TMP/bi.err"; then
    ok "bad --initial value: message names file, line and field"
else
    fail "bad --initial value: message names file, line and field" "$(cat "$TMP/bi.err")"
fi
"$NMDI" help residence | grep -q 'usage: nmdi residence' && ok "help residence" || fail "help residence"

# --- invariance to the order of lines across persons (random itineraries)
awk 'BEGIN { srand(7); id = 0
  for (p = 0; p < 400; p++) { d = int(rand() * 900); dir = int(rand() * 2)
    n = 1 + int(rand() * 8)
    for (k = 0; k < n; k++) { id++
      printf "%d,%d,%d,%s\n", p, id, d, (dir ? "A" : "D"); dir = 1 - dir
      g = rand(); d += int(g < 0.3 ? rand() * 30 : g < 0.7 ? rand() * 300 : rand() * 700) } } }' \
    >"$TMP/gen.raw"
# day numbers to dates with date(1), independently of nmdi
awk -F, '{ print "2015-01-01 + " $3 " days" }' "$TMP/gen.raw" | date -u -f - +%Y-%m-%d >"$TMP/gen.dates"
paste -d, "$TMP/gen.raw" "$TMP/gen.dates" | awk -F, '{ print $1 "," $2 "," $5 "," $4 }' >"$TMP/gen.body"
{ echo "person_id,crossing_id,date,direction"; cat "$TMP/gen.body"; } >"$TMP/gen.csv"
# shuffle lines, keeping each person's lines in their order (stable by person)
{ echo "crossing_id,direction,date,person_id"
  awk -F, 'BEGIN { srand(11) } { r[$1] = (($1 in r) ? r[$1] : rand()); print r[$1] "," $2 "," $4 "," $3 "," $1 }' "$TMP/gen.body" |
    sort -s -t, -k1,1 | cut -d, -f2-; } >"$TMP/gen2.csv"
"$NMDI" residence --as-of 2018-06-30 "$TMP/gen.csv" 2>/dev/null | tail -n +2 | sort -t, -k2,2n >"$TMP/g1"
"$NMDI" --threads 2 residence --as-of 2018-06-30 "$TMP/gen2.csv" 2>/dev/null | tail -n +2 | sort -t, -k2,2n >"$TMP/g2"
if [ -s "$TMP/g1" ] && cmp -s "$TMP/g1" "$TMP/g2"; then
    ok "same classification whatever the order of persons and columns"
else
    fail "same classification whatever the order of persons and columns" "$(diff "$TMP/g1" "$TMP/g2" | head)"
fi

# --- the sanitizer build on the same inputs (leaks, overflows)
if [ -x "${NMDI_ASAN:-}" ]; then
    "$NMDI_ASAN" residence --initial "$TMP/init.csv" --as-of 2018-01-08 "$TMP/ex.csv" >"$TMP/asan.out" 2>"$TMP/asan.err" &&
        "$NMDI_ASAN" residence "$TMP/bad.csv" >/dev/null 2>>"$TMP/asan.err" &&
        "$NMDI_ASAN" --threads 3 residence "$TMP/gen2.csv" >/dev/null 2>>"$TMP/asan.err"
    if [ $? -eq 0 ] && cmp -s "$TMP/asan.out" "$TMP/ex.want"; then
        ok "ASan+UBSan build: same output, clean"
    else
        fail "ASan+UBSan build: same output, clean" "$(head -n 20 "$TMP/asan.err")"
    fi
else
    skip "ASan+UBSan build" "build/asan/nmdi not built"
fi
done_testing
