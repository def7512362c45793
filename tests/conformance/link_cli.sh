#!/bin/sh
# link_cli.sh — `nmdi link` interface and bad input: output layout, trimming,
# --explain, --json, --type, --block syntax, and clear errors (unknown
# column, empty file, header only, a block rule naming nothing, too many
# pairs, skewed blocks) — never a crash or a silent empty result.
. "$(dirname "$0")/../lib.sh"
cat >"$TMP/a.csv" <<'CSV'
 id , given_name , surname , dob , postcode
a1, john , smith , 1970-01-01 , 2600
a2, mary , jones , 1980-12-12 , 2601
a3, peter , brown , 1965-05-05 , 3000
a4, susan , taylor , 1990-03-15 , 4000
a5, michael , wilson , 1955-11-20 , 5000
a6, linda , martin , 1972-10-09 , 6000
a7, robert , lee , 1988-12-31 , 7000
a8, karen , white , 1969-07-04 , 2602
CSV
cat >"$TMP/b.csv" <<'CSV'
id,given_name,surname,dob,postcode
b1,jon,smith,1970-01-01,2600
b2,mary,jones,1980-12-12,2601
b3,peter,browne,1965-05-05,3000
b4,susan,tailor,1990-03-15,4000
b5,michael,wilson,1955-20-11,5000
b6,linda,martin,1972-10-09,
b7,zoe,young,2000-01-01,8000
CSV
run() { "$NMDI" link -q "$@" >"$TMP/out" 2>"$TMP/err"; echo $?; }

assert_eq "two files link: exit 0" 0 "$(run "$TMP/a.csv" "$TMP/b.csv")"
assert_eq "header" "left_id,right_id,match_probability,match_weight" "$(head -1 "$TMP/out")"
assert_eq "the six true pairs, ids trimmed" "a1,b1 a2,b2 a3,b3 a4,b4 a5,b5 a6,b6" \
    "$(awk -F, 'NR > 1 { printf "%s%s,%s", (NR > 2 ? " " : ""), $1, $2 }' "$TMP/out")"
assert_eq "--explain adds a column per field" \
    "left_id,right_id,match_probability,match_weight,given_name,surname,dob,postcode" \
    "$(run --explain "$TMP/a.csv" "$TMP/b.csv" >/dev/null; head -1 "$TMP/out")"
assert_eq "--explain: transposed day/month and missing postcode" \
    "day_month_transposed missing" \
    "$(awk -F, '$1 == "a5" { split($7, x, ":"); d = x[1] } $1 == "a6" { split($8, y, ":"); m = y[1] } END { print d, m }' "$TMP/out")"
assert_eq "--threshold 0.99999 keeps fewer" 1 \
    "$(run --threshold 0.999999 "$TMP/a.csv" "$TMP/b.csv" >/dev/null; awk -F, 'NR > 1' "$TMP/out" | awk 'END { print (NR < 6) }')"
assert_eq "--json prints the model" 0 "$(run --json "$TMP/a.csv" "$TMP/b.csv")"
if grep -q '"lambda"' "$TMP/out" && grep -q '"blocking"' "$TMP/out" && grep -q '"u"' "$TMP/out"; then
    ok "--json has lambda, m/u and the blocking analysis"
else
    fail "--json has lambda, m/u and the blocking analysis" "$(head -20 "$TMP/out")"
fi
if command -v python3 >/dev/null 2>&1; then
    check "--json is valid JSON" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$TMP/out"
fi
assert_eq "--type and --block with derived keys" 0 \
    "$(run --type dob=date --type postcode=code --block 'surname:soundex' --block 'dob:year,postcode:2' "$TMP/a.csv" "$TMP/b.csv")"
assert_eq "dedupe of one file: exit 0" 0 "$(run "$TMP/a.csv")"

# bad input
: >"$TMP/empty.csv"
head -1 "$TMP/b.csv" >"$TMP/header.csv"
assert_eq "unknown --fields column: exit 1" 1 "$(run --fields surname,nosuch "$TMP/a.csv" "$TMP/b.csv")"
if grep -q "nosuch" "$TMP/err"; then ok "error names the column"; else fail "error names the column" "$(cat "$TMP/err")"; fi
assert_eq "unknown --id column: exit 1" 1 "$(run --id nosuch "$TMP/a.csv")"
assert_eq "empty file: exit 1" 1 "$(run "$TMP/empty.csv" "$TMP/b.csv")"
assert_eq "header-only file: exit 1" 1 "$(run "$TMP/a.csv" "$TMP/header.csv")"
if grep -q "no records" "$TMP/err"; then ok "header-only: says no records"; else fail "header-only message" "$(cat "$TMP/err")"; fi
assert_eq "block rule naming nothing: exit 1" 1 "$(run --block ' , ' "$TMP/a.csv" "$TMP/b.csv")"
if grep -q "names no column" "$TMP/err"; then ok "empty rule: clear message"; else fail "empty rule message" "$(cat "$TMP/err")"; fi
assert_eq "block rule with unknown column: exit 1" 1 "$(run --block 'nosuch' "$TMP/a.csv" "$TMP/b.csv")"
assert_eq "too many pairs: exit 1" 1 "$(run --block '*' --max-pairs 10 "$TMP/a.csv" "$TMP/b.csv")"
if grep -q "max-pairs" "$TMP/err"; then ok "too many pairs: names --max-pairs"; else fail "too many pairs message" "$(cat "$TMP/err")"; fi
assert_eq "skewed block is skipped, exit 0" 0 "$(run --block '*' --max-block-pairs 10 "$TMP/a.csv" "$TMP/b.csv")"
if grep -q "warning" "$TMP/err" && grep -q "max-block-pairs" "$TMP/err"; then ok "skewed block: warning"
else fail "skewed block: warning" "$(cat "$TMP/err")"; fi
assert_eq "unknown --type kind: exit 1" 1 "$(run --type dob=weird "$TMP/a.csv")"
assert_eq "--type on a field not compared: exit 1" 1 "$(run --type nosuch=date "$TMP/a.csv")"
assert_eq "three files: usage error" 1 "$(run "$TMP/a.csv" "$TMP/b.csv" "$TMP/b.csv")"
assert_eq "missing file: exit 1" 1 "$(run "$TMP/nosuch.csv")"
assert_eq "bad --threshold: exit 1" 1 "$(run --threshold 2 "$TMP/a.csv")"
echo '{"nope":1}' >"$TMP/badmodel.json"
assert_eq "--model not a model: exit 1" 1 "$(run --model "$TMP/badmodel.json" "$TMP/a.csv" "$TMP/b.csv")"
# skewed blocks: a surname shared by 3,000 of 3,200 records (4.5 million
# pairs in one block): split by the coarsest further field that brings it
# under --max-block-pairs, with a warning naming the rule and the key
awk 'BEGIN { print "id,given_name,surname,sex,birth_year"; s = 7
    for (i = 1; i <= 3200; i++) { s = (s * 48271) % 2147483647
        printf "r%d,g%d,%s,%s,%d\n", i, s % 400, i <= 3000 ? "smith" : "n" s % 100, s % 2 ? "F" : "M", 1930 + s % 80 } }' >"$TMP/skew.csv"
assert_eq "skewed block: exit 0" 0 "$(run --block surname --max-block-pairs 100000 "$TMP/skew.csv")"
if grep -q "block rule 'surname'.*'smith' makes 4498500.*split by 'birth_year'" "$TMP/err"; then ok "skewed block: warning names rule, key and the split"
else fail "skewed block: warning names rule, key and the split" "$(cat "$TMP/err")"; fi
"$NMDI" link -q --json --block surname --max-block-pairs 100000 "$TMP/skew.csv" >"$TMP/skew.json" 2>/dev/null
n=$(tr -d ' \n' <"$TMP/skew.json" | grep -o '"pairs_compared":[0-9]*' | cut -d: -f2)
if [ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" -lt 200000 ]; then ok "skewed block: pairs bounded ($n compared, not 4.5 million)"
else fail "skewed block: pairs bounded" "pairs_compared=$n"; fi
# no field splits it enough: the block is skipped, with its count reported
assert_eq "unsplittable skewed block: exit 0" 0 "$(run --fields surname,sex --block surname --max-block-pairs 1000 "$TMP/skew.csv")"
if grep -q "'smith,[fm]' would make [0-9]* pairs.*skipped" "$TMP/err"; then ok "unsplittable skewed block: skipped with a warning"
else fail "unsplittable skewed block: skipped with a warning" "$(cat "$TMP/err")"; fi

# the sanitizer build on the same input: no leak, no crash
if [ -x "${NMDI_ASAN:-}" ]; then
    check "ASan build: link, explain, json" sh -c "'$NMDI_ASAN' link -q --explain '$TMP/a.csv' '$TMP/b.csv' >/dev/null && '$NMDI_ASAN' link -q --json --one-to-one '$TMP/a.csv' >/dev/null"
    check "ASan build: skewed block split, threads" sh -c "'$NMDI_ASAN' link -q --threads 2 --u-samples 20000 --block surname --max-block-pairs 100000 '$TMP/skew.csv' >/dev/null 2>&1"
    check "ASan build: bad inputs exit 1 cleanly" sh -c "'$NMDI_ASAN' link -q '$TMP/header.csv' 2>/dev/null; test \$? -eq 1 && '$NMDI_ASAN' link -q --block ',' '$TMP/a.csv' 2>/dev/null; test \$? -eq 1"
fi
done_testing
