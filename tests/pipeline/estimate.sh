# estimate.sh — the estimate stage over a small synthetic country: the default
# tables are produced, count tables agree with the census records, and the
# survey indicators equal R's survey package (svyratio) on the same LFS.
. "$(dirname "$0")/../lib.sh"
D=$TMP/infra
"$NMDI" -q init "$D" >/dev/null 2>&1 || { fail "init"; done_testing; exit 0; }
"$NMDI" -q synth --persons 6000 --seed 11 --out "$D/incoming" --mobile-share 0 >/dev/null 2>&1
for s in census_persons lfs census_members_abroad register_events permits; do
    "$NMDI" -q load "$D" "$s" "$D/incoming/sources/$s.csv" >/dev/null 2>&1 || fail "load $s"
done
# register flows and first permits (no border crossings: no migration_events)
"$NMDI" -q derive "$D" >/dev/null 2>&1 || fail "derive"
if "$NMDI" estimate "$D" >"$TMP/out" 2>"$TMP/err"; then ok "estimate runs"; else fail "estimate runs" "$(cat "$TMP/err")"; fi
E=$D/work/estimates
for t in MIG_STOCK MIG_STOCK_COB MIG_STOCK_AREA SDG_8_5_2 SDG_8_6_1 MIG_EMIGRANTS_ABROAD; do
    check "table $t written with metadata" test -s "$E/$t.csv" -a -s "$E/$t.json"
done
check "flows are reported as not produced without derived events" grep -q "MIG_FLOW.*not produced" "$TMP/err"
# the grand total of MIG_STOCK equals the census records loaded (weights 1)
rows=$("$NMDI" datasets "$D" --json 2>/dev/null | node -e 'let j=JSON.parse(require("fs").readFileSync(0));let v=(j.versions||j).filter(x=>x.dataset==="census_persons");console.log(v[v.length-1].rows)')
tot=$(grep '^_T,_T,_T,' "$E/MIG_STOCK.csv" | cut -d, -f4)
assert_eq "MIG_STOCK total = census records" "$rows" "$tot"
# the foreign-born total agrees between tables of the same population
fb1=$(grep '^_T,_T,' "$E/MIG_STOCK_ARRIVAL.csv" | cut -d, -f3)
fb2=$(grep '^_T,_T,' "$E/MIG_STOCK_COB.csv" | cut -d, -f3)
assert_eq "foreign-born: MIG_STOCK_ARRIVAL total = MIG_STOCK_COB total" "$fb1" "$fb2"
# ... and with the foreign-born of MIG_STOCK (SEX x AGE x MIGRATORY_STATUS NB/FB)
fb3=$(grep '^_T,_T,FB,' "$E/MIG_STOCK.csv" | cut -d, -f4)
assert_eq "foreign-born: MIG_STOCK = MIG_STOCK_COB total" "$fb2" "$fb3"
# the 2x2 statuses add up to at most the total
tot2=$(grep '^_T,_T,' "$E/MIG_STOCK_STATUS.csv" | cut -d, -f3)
sum4=$(awk -F, '$2=="_T" && $1 ~ /^(NB|FB)_N?CIT$/ {s+=$3} END{print s}' "$E/MIG_STOCK_STATUS.csv")
check "2x2 statuses sum to at most the total" test "$sum4" -le "$tot2"
# ---- the EU 862/2007 Art. 3 set
for t in MIG_POP_CIT MIG_POP_COB MIG_STOCK_YOA MIG_STOCK_ARRIVAL_AGE MIG_STOCK_AREA_REG MIG_STOCK_AREA_CIT \
         MIG_IMM_COB MIG_IMM_CEN_PREV_RES MIG_IMM_PREV_RES MIG_EMI_NEXT_RES MIG_FLOW_PARTNER MIG_ACQ MIG_PERMIT_FIRST; do
    check "table $t written with metadata" test -s "$E/$t.csv" -a -s "$E/$t.json"
done
check "new tables carry names in Chinese" grep -q '"zh": "按原国籍' "$E/MIG_ACQ.json"
check "immigrants by citizenship not produced without border-derived events" grep -q "MIG_IMM_CIT.*not produced" "$TMP/err"
# usual residents by citizenship: grand total = census records
tot=$(grep '^_T,_T,_T,' "$E/MIG_POP_CIT.csv" | cut -d, -f4)
assert_eq "MIG_POP_CIT total = census records" "$rows" "$tot"
# foreign-born by country of birth (all ages, both sexes) add up to the foreign-born of MIG_STOCK
fbc=$(awk -F, '$2=="_T" && $3=="_T" && $1!="_T" && $1!="_U" && $1!="XKN" {s+=$4} END{print s}' "$E/MIG_POP_COB.csv")
assert_eq "MIG_POP_COB foreign-born = MIG_STOCK foreign-born" "$fb3" "$fbc"
# census immigrants of the last 12 months = records with residence one year before abroad
"$NMDI" -q export "$D" census_persons --format csv --output "$TMP/cen.csv" >/dev/null 2>&1
nimm=$(node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n");const h=l[0].split(",");const i=h.indexOf("residence_1y_ago");let n=0;for(const x of l.slice(1)){const v=x.split(",")[i];if(v&&v!=="XKN")n++}console.log(n)' "$TMP/cen.csv")
assert_eq "MIG_IMM_COB total = census records resident abroad a year before" "$nimm" "$(grep '^_T,_T,_T,' "$E/MIG_IMM_COB.csv" | cut -d, -f4)"
# registered immigration by previous residence: each year's total = MIG_FLOW_REGISTER
a=$(awk -F, '$2=="_T" && $3=="_T" && $4=="_T" {print $1":"$5}' "$E/MIG_IMM_PREV_RES.csv" | tr '\n' ' ')
b=$(awk -F, '$2=="IMM" && $3=="_T" {print $1":"$4}' "$E/MIG_FLOW_REGISTER.csv" | tr '\n' ' ')
assert_eq "MIG_IMM_PREV_RES yearly totals = MIG_FLOW_REGISTER immigration" "$b" "$a"
a=$(awk -F, '$2=="_T" && $3=="_T" && $4=="_T" {print $1":"$5}' "$E/MIG_EMI_NEXT_RES.csv" | tr '\n' ' ')
b=$(awk -F, '$2=="EMI" && $3=="_T" {print $1":"$4}' "$E/MIG_FLOW_REGISTER.csv" | tr '\n' ' ')
assert_eq "MIG_EMI_NEXT_RES yearly totals = MIG_FLOW_REGISTER emigration" "$b" "$a"
check "partner country: no total over immigration and emigration" sh -c "! cut -d, -f2 '$E/MIG_FLOW_PARTNER.csv' | grep -qx _T"
check "no total over years in event tables" sh -c "! cut -d, -f1 '$E/MIG_ACQ.csv' | grep -qx _T"
# acquisitions of citizenship: every CIT_ACQ event of the register counted
"$NMDI" -q export "$D" register_events --format csv --output "$TMP/ev.csv" >/dev/null 2>&1
nacq=$(grep -c ',CIT_ACQ,' "$TMP/ev.csv")
sacq=$(awk -F, '$2=="_T" && $3=="_T" && $4=="_T" {s+=$5} END{print s}' "$E/MIG_ACQ.csv")
assert_eq "MIG_ACQ counts every acquisition event" "$nacq" "$sacq"
check "MIG_ACQ has former citizenships" grep -q '^20[0-9][0-9],[A-Z][A-Z][A-Z],_T,_T,' "$E/MIG_ACQ.csv"
# survey indicators against R
if command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(survey)' >/dev/null 2>&1; then
    "$NMDI" -q export "$D" lfs --format csv --output "$TMP/lfs.csv" >/dev/null 2>&1
    cat >"$TMP/r.R" <<REOF
suppressMessages(library(survey))
d <- read.csv("$TMP/lfs.csv", colClasses=c(stratum="character", psu="character"))
d\$inpop <- !is.na(d\$age) & d\$age >= 15 & d\$labour_status %in% c("EMP","UNE","OLF")
d\$num <- ifelse(d\$inpop, as.numeric(d\$labour_status=="UNE"), NA)
d\$den <- ifelse(d\$inpop, as.numeric(d\$labour_status %in% c("EMP","UNE")), NA)
d\$fb <- !is.na(d\$country_of_birth) & d\$country_of_birth != "XKN"
options(survey.lonely.psu="adjust")
des <- svydesign(ids=~psu, strata=~stratum, weights=~weight, nest=TRUE, data=d)
r <- svyratio(~num, ~den, subset(des, inpop))
f <- svyratio(~num, ~den, subset(des, inpop & fb))
cat(sprintf("%.12g %.12g %.12g %.12g\n", coef(r)*100, SE(r)*100, coef(f)*100, SE(f)*100))
REOF
    read -r rt rse ft fse <<EOF2
$(Rscript "$TMP/r.R")
EOF2
    nt=$(grep '^_T,_T,' "$E/SDG_8_5_2.csv" | cut -d, -f3,4)
    nf=$(grep '^FB,_T,' "$E/SDG_8_5_2.csv" | cut -d, -f3,4)
    close() { awk -v a="$1" -v b="$2" 'BEGIN{d=a-b; if(d<0)d=-d; m=(a<0?-a:a); exit !(d <= 1e-9*(m>1?m:1))}'; }
    if close "$rt" "${nt%,*}" && close "$rse" "${nt#*,}"; then ok "SDG 8.5.2 total = R svyratio (estimate and SE)"
    else fail "SDG 8.5.2 total = R svyratio" "R: $rt $rse nmdi: $nt"; fi
    if close "$ft" "${nf%,*}" && close "$fse" "${nf#*,}"; then ok "SDG 8.5.2 foreign-born = R svyratio"
    else fail "SDG 8.5.2 foreign-born = R svyratio" "R: $ft $fse nmdi: $nf"; fi
else
    skip "SDG 8.5.2 against R" "R survey not installed"
    skip "SDG 8.5.2 foreign-born against R" "R survey not installed"
fi
# a bad table declaration names its line
cp "$D/nmdi.yaml" "$TMP/keep.yaml"
sed '/^tables:/,/^$/d' "$TMP/keep.yaml" >"$D/nmdi.yaml"
printf 'tables:\n  - {id: X, kind: count, source: census_persons, dimensions: [SEX, NOPE]}\n' >>"$D/nmdi.yaml"
"$NMDI" -q estimate "$D" 2>"$TMP/err2"; rc=$?
assert_eq "unknown dimension exits 1" 1 "$rc"
check "unknown dimension error names the line" grep -q "nmdi.yaml:[0-9]*: field 'dimensions': table X: unknown dimension 'NOPE'" "$TMP/err2"
# an events table over a dataset without the dimension's column is not produced, and says why
sed '/^tables:/,/^$/d' "$TMP/keep.yaml" >"$D/nmdi.yaml"
printf 'tables:\n  - {id: P, kind: events, source: first_permits, dimensions: [TIME_PERIOD, FORMER_CITIZENSHIP]}\n' >>"$D/nmdi.yaml"
"$NMDI" estimate "$D" >/dev/null 2>"$TMP/err3"; rc=$?
assert_eq "missing column: estimate still succeeds" 0 "$rc"
check "missing column is named" grep -q "P .*not produced: dataset 'first_permits' has no column for FORMER_CITIZENSHIP" "$TMP/err3"
printf 'tables:\n  - {id: P, kind: events, source: first_permits, dimensions: [TIME_PERIOD, NOPE]}\n' >"$TMP/t.yaml"
sed '/^tables:/,/^$/d' "$TMP/keep.yaml" >"$D/nmdi.yaml"; cat "$TMP/t.yaml" >>"$D/nmdi.yaml"
"$NMDI" -q estimate "$D" 2>"$TMP/err4"; rc=$?
assert_eq "unknown event dimension exits 1" 1 "$rc"
check "unknown event dimension names the line" grep -q "nmdi.yaml:[0-9]*: field 'dimensions': table P: unknown event dimension 'NOPE'" "$TMP/err4"
cp "$TMP/keep.yaml" "$D/nmdi.yaml"
# the example configuration states the census year: tables carry it
check "census tables carry the configured reference period" grep -q '"reference_period": "2022"' "$E/MIG_STOCK.json"
done_testing
