#!/bin/sh
# synth.sh — `nmdi synth` from the command line: files and summary, JSON,
# determinism across thread counts, --like and --census-sample, usage errors.
. "$(dirname "$0")/../lib.sh"

out=$("$NMDI" synth -q --persons 2000 --seed 3 --out "$TMP/a" --json)
check "synth exits 0 and writes the truth" test -s "$TMP/a/truth/persons.csv"
for f in truth/spells.csv truth/crossings.csv truth/events.csv truth/truth_links.csv \
         sources/border_crossings.csv sources/census_persons.csv sources/census_members_abroad.csv \
         sources/lfs.csv sources/permits.csv sources/students.csv sources/register_base.csv \
         sources/register_events.csv sources/mobile_presence.csv sources/mobile_areas.csv synth.json; do
    check "writes $f" test -f "$TMP/a/$f"
done
assert_eq "persons.csv has N rows" 2001 "$(wc -l < "$TMP/a/truth/persons.csv" | tr -d ' ')"
assert_eq "border header" "REC_ID,SURNAME,GIVEN_NAMES,SEX,DOB,NATIONALITY,DOC_TYPE,DOC_NO,DIRECTION,CROSS_DATE,CROSS_TIME,PORT,PURPOSE,STAY_DAYS" \
    "$(head -1 "$TMP/a/sources/border_crossings.csv")"
case "$out" in
*'"file": "sources/border_crossings.csv"'*) ok "json summary lists the files" ;;
*) fail "json summary lists the files" "$out" ;;
esac
rows=$(printf '%s\n' "$out" | grep -A1 '"truth/persons.csv"' | grep -o '"rows": [0-9]*' | grep -o '[0-9]*')
assert_eq "json row count of persons" 2000 "$rows"

"$NMDI" synth -q --threads 2 --persons 2000 --seed 3 --out "$TMP/b" >/dev/null
check "same seed, two threads: identical bytes" diff -r "$TMP/a" "$TMP/b"
"$NMDI" synth -q --persons 2000 --seed 4 --out "$TMP/c" >/dev/null
if cmp -s "$TMP/a/truth/persons.csv" "$TMP/c/truth/persons.csv"; then
    fail "another seed gives other data"
else
    ok "another seed gives other data"
fi

"$NMDI" synth -q --persons 2000 --seed 3 --like NZL --census-sample 0.5 --mobile-share 0 --out "$TMP/d" >/dev/null
check "--like NZL --census-sample 0.5 runs" test -s "$TMP/d/sources/census_persons.csv"
w=$(awk -F, 'NR>1{print $NF}' "$TMP/d/sources/census_persons.csv" | sort -u)
assert_eq "census sample weight is 1/F" 2 "$w"
assert_eq "no mobile rows with --mobile-share 0" 1 "$(wc -l < "$TMP/d/sources/mobile_presence.csv" | tr -d ' ')"
n=$(awk -F, 'NR>1 && $11=="554"' "$TMP/d/sources/census_persons.csv" | wc -l)
[ "$n" -eq 0 ] && ok "Kernland-like-NZL has no NZL-born" || fail "Kernland-like-NZL has no NZL-born" "$n"

"$NMDI" synth -q --persons 10 --out "$TMP/e" --like QQQ 2>"$TMP/err"
assert_eq "unknown --like is a usage error" 1 $?
check "the message names the option" grep -q "like" "$TMP/err"
"$NMDI" synth -q --persons 10 2>/dev/null
assert_eq "missing --out exits 1" 1 $?
"$NMDI" synth -q --persons ten --out "$TMP/f" 2>/dev/null
assert_eq "bad number exits 1" 1 $?
done_testing
