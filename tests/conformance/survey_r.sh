#!/bin/sh
# survey_r.sh — `nmdi survey` against R's survey package and the golden
# values of STANDARDS.md §7. The golden checks run whenever the shared api
# data is present; the R comparison (tests/conformance/r/survey_ref.R: every
# design feature, every estimate and SE to a relative 1e-9) runs when
# Rscript with the survey package is installed, and skips visibly otherwise.
. "$(dirname "$0")/../lib.sh"
API=$NMDI_SHARED/data/survey/api
HERE=$(cd "$(dirname "$0")" && pwd)

# near VALUE EXPECTED DIGITS: VALUE rounds to EXPECTED at DIGITS significant digits
near() { awk -v v="$1" -v e="$2" -v d="$3" 'BEGIN { f = sprintf("%." d "g", v) + 0; exit !(f == e + 0) }'; }
field() { # file statistic variable column(4=estimate 5=se)
    awk -F, -v s="$2" -v v="$3" -v c="$4" '$1 == s && $2 == v { print $c }' "$1"
}

if [ ! -f "$API/apistrat.csv" ]; then
    skip "golden values of STANDARDS.md 7" "no \$NMDI_SHARED/data/survey/api"
    skip "R survey conformance" "no \$NMDI_SHARED/data/survey/api"
    done_testing
    exit 0
fi

out=$TMP/strat.csv
if "$NMDI" survey "$API/apistrat.csv" --strata stype --weights pw --fpc fpc --mean api00 >"$out" 2>"$TMP/err"; then
    assert_eq "header" "statistic,variable,estimate,se,cv,ci_low,ci_high,n" "$(head -1 "$out")"
    m=$(field "$out" mean api00 3); s=$(field "$out" mean api00 4)
    if near "$m" 662.29 5 && near "$s" 9.4089 5; then ok "apistrat mean api00 662.29 (SE 9.4089)"
    else fail "apistrat mean api00 662.29 (SE 9.4089)" "got $m ($s)"; fi
    digits=$(printf '%s' "$m" | tr -cd '0-9' | sed 's/^0*//' | wc -c)
    if [ "$digits" -ge 15 ]; then ok "estimates printed with >= 15 significant digits"
    else fail "estimates printed with >= 15 significant digits" "$m"; fi
else
    fail "apistrat stratified design" "$(cat "$TMP/err")"
fi
out=$TMP/clus1.csv
if "$NMDI" survey "$API/apiclus1.csv" --ids dnum --weights pw --fpc fpc --mean api00 --total enroll >"$out" 2>"$TMP/err"; then
    m=$(field "$out" mean api00 3); s=$(field "$out" mean api00 4)
    if near "$m" 644.17 5 && near "$s" 23.542 5; then ok "apiclus1 mean api00 644.17 (SE 23.542)"
    else fail "apiclus1 mean api00 644.17 (SE 23.542)" "got $m ($s)"; fi
    m=$(field "$out" total enroll 3); s=$(field "$out" total enroll 4)
    if near "$m" 3404940 7 && near "$s" 932235 6; then ok "apiclus1 total enroll 3,404,940 (SE 932,235)"
    else fail "apiclus1 total enroll 3,404,940 (SE 932,235)" "got $m ($s)"; fi
else
    fail "apiclus1 one-stage cluster design" "$(cat "$TMP/err")"
fi

# bad input: clear errors naming the file, line and field
printf 'id,w,y\n1,2,3\n2,,4\n3,1,5\n' >"$TMP/badw.csv"
"$NMDI" survey "$TMP/badw.csv" --weights w --mean y >/dev/null 2>"$TMP/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "badw.csv:3: field 'w'" "$TMP/err"; then ok "missing weight: error names file, line, field"
else fail "missing weight: error names file, line, field" "rc=$rc $(cat "$TMP/err")"; fi
printf 'id,w,y\n1,2,3\n2,-1,4\n3,1,5\n' >"$TMP/negw.csv"
"$NMDI" survey "$TMP/negw.csv" --weights w --mean y >/dev/null 2>"$TMP/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "negw.csv:3: field 'w'.*negative" "$TMP/err"; then ok "negative weight: error"
else fail "negative weight: error" "rc=$rc $(cat "$TMP/err")"; fi
printf 'id,w,y\n1,2,3\n2,1,abc\n3,1,5\n' >"$TMP/nonnum.csv"
"$NMDI" survey "$TMP/nonnum.csv" --weights w --mean y >/dev/null 2>"$TMP/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "nonnum.csv:3: field 'y'.*not a number" "$TMP/err"; then ok "non-numeric value: error"
else fail "non-numeric value: error" "rc=$rc $(cat "$TMP/err")"; fi

"$NMDI" survey "$API/apistrat.csv" --strata stype --weights pw --mean api00 --by sch.wide --json >"$TMP/j.json" 2>"$TMP/err"
if grep -q '"statistic": "mean"' "$TMP/j.json" && grep -q '"sch.wide": "Yes"' "$TMP/j.json"; then ok "--json output"
else fail "--json output" "$(head -c 400 "$TMP/j.json") $(cat "$TMP/err")"; fi
"$NMDI" survey "$API/apistrat.csv" --strata stype --weights pw --ratio api00 >/dev/null 2>&1
assert_eq "--ratio without num/den: usage error" 1 $?
"$NMDI" survey "$API/apistrat.csv" --strata stype --weights pw --mean name >/dev/null 2>"$TMP/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "apistrat.csv:2: field 'name'" "$TMP/err"; then ok "text in a numeric variable: error at line 2"
else fail "text in a numeric variable: error at line 2" "rc=$rc $(cat "$TMP/err")"; fi
printf 'h,w,y,d\nA,1,1,x\nA,1,3,x\nB,2,5,y\nB,2,,z\nC,1,4,x\n' >"$TMP/dom.csv"
"$NMDI" survey "$TMP/dom.csv" --strata h --weights w --mean y --by d --lonely-psu certainty >"$TMP/dom.out" 2>"$TMP/err"
assert_eq "domain without observed values: explicit NA row" "z,mean,y,NA,NA,NA,NA,NA,0" "$(grep '^z,' "$TMP/dom.out")"
"$NMDI" survey "$TMP/dom.csv" --strata h --weights w --mean y >/dev/null 2>"$TMP/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "only one PSU" "$TMP/err"; then ok "lonely PSU with the default (fail): error"
else fail "lonely PSU with the default (fail): error" "rc=$rc $(cat "$TMP/err")"; fi

if ! command -v Rscript >/dev/null 2>&1 || ! Rscript -e 'suppressMessages(library(survey))' >/dev/null 2>&1; then
    skip "R survey conformance" "Rscript with the survey package not installed"
    done_testing
    exit 0
fi
mkdir -p "$TMP/r"
Rscript "$HERE/r/survey_ref.R" "$NMDI" "$API" "$TMP/r" >"$TMP/r.log" 2>&1
rrc=$?
while IFS= read -r line; do
    case "$line" in
    "PASS "*) ok "R: ${line#PASS }" ;;
    "SKIP "*) skip "R: ${line#SKIP }" "see message" ;;
    "FAIL "*) name=${line#FAIL }; det=$(awk -v n="$line" 'f && /^#/ { print; next } f { exit } $0 == n { f = 1 }' "$TMP/r.log")
        fail "R: $name" "$det" ;;
    esac
done <"$TMP/r.log"
if grep -q "^ALL PASSED" "$TMP/r.log"; then ok "R comparison completed"
elif grep -q "^SOME FAILED" "$TMP/r.log"; then ok "R comparison completed (failures above)"
else fail "R comparison script ran" "status $rrc; $(tail -n 15 "$TMP/r.log")"; fi
done_testing
