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
# survey indicators against R: the default tables calibrate the LFS weights to the
# census totals by sex x age group and by area (raking); R's calibrate + svyratio on
# the same extracted data give the same estimates and SEs; linear calibration and
# no calibration (configured) too
close() { awk -v a="$1" -v b="$2" 'BEGIN{d=a-b; if(d<0)d=-d; m=(a<0?-a:a); exit !(d <= 1e-9*(m>1?m:1))}'; }
check "the calibration is in the metadata" grep -q '"status": "calibrated"' "$E/SDG_8_5_2.json"
check "the margins file of the calibration is kept" test -s "$D/work/calibration/SDG_8_5_2.csv"
if command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(survey)' >/dev/null 2>&1; then
    "$NMDI" -q export "$D" lfs --format csv --output "$TMP/lfs.csv" >/dev/null 2>&1
    cat >"$TMP/r.R" <<REOF
suppressMessages(library(survey))
d <- read.csv("$TMP/lfs.csv", colClasses=c(stratum="character", psu="character"))
d\$inpop <- !is.na(d\$age) & d\$age >= 15 & d\$labour_status %in% c("EMP","UNE","OLF")
d\$num <- ifelse(d\$inpop, as.numeric(d\$labour_status=="UNE"), NA)
d\$den <- ifelse(d\$inpop, as.numeric(d\$labour_status %in% c("EMP","UNE")), NA)
d\$fb <- !is.na(d\$country_of_birth) & d\$country_of_birth != "XKN"
ag <- function(a) as.character(cut(a, c(-Inf,14,24,34,44,54,64,Inf),
      labels=c("Y0T14","Y15T24","Y25T34","Y35T44","Y45T54","Y55T64","Y_GE65")))
d\$cal1 <- paste(d\$sex, ag(d\$age), sep="_")
d\$cal2 <- d\$area
options(survey.lonely.psu="adjust")
des0 <- svydesign(ids=~psu, strata=~stratum, weights=~weight, nest=TRUE, data=d)
for (calfun in c("raking", "linear", "none")) {
des <- des0
if (calfun != "none") {
  cen <- read.csv("$TMP/cen.csv")
  cen\$cal1 <- paste(cen\$sex, ag(cen\$age), sep="_")
  t1 <- tapply(cen\$weight, cen\$cal1, sum); t2 <- tapply(cen\$weight, cen\$area, sum)
  mm <- colnames(model.matrix(~cal1+cal2, d))
  pop <- c(sum(cen\$weight), t1[sub("^cal1", "", mm[grepl("^cal1", mm)])],
           t2[sub("^cal2", "", mm[grepl("^cal2", mm)])])
  names(pop) <- mm
  des <- calibrate(des, ~cal1+cal2, population=pop, calfun=calfun)
}
r <- svyratio(~num, ~den, subset(des, inpop), na.rm=TRUE)
f <- svyratio(~num, ~den, subset(des, inpop & fb), na.rm=TRUE)
cat(calfun, sprintf("%.12g %.12g %.12g %.12g\n", coef(r)*100, SE(r)*100, coef(f)*100, SE(f)*100))
}
REOF
    Rscript "$TMP/r.R" >"$TMP/r.out" 2>"$TMP/r.err" || fail "R" "$(cat "$TMP/r.err")"
    cmp_r() { # $1 calfun, $2 label
        read -r rt rse ft fse <<EOF2
$(grep "^$1 " "$TMP/r.out" | cut -d' ' -f2-)
EOF2
        nt=$(grep '^_T,_T,' "$E/SDG_8_5_2.csv" | cut -d, -f3,4)
        nf=$(grep '^FB,_T,' "$E/SDG_8_5_2.csv" | cut -d, -f3,4)
        if close "$rt" "${nt%,*}" && close "$rse" "${nt#*,}"; then ok "SDG 8.5.2 total = R ($2; estimate and SE)"
        else fail "SDG 8.5.2 total = R ($2)" "R: $rt $rse nmdi: $nt"; fi
        if close "$ft" "${nf%,*}" && close "$fse" "${nf#*,}"; then ok "SDG 8.5.2 foreign-born = R ($2)"
        else fail "SDG 8.5.2 foreign-born = R ($2)" "R: $ft $fse nmdi: $nf"; fi
    }
    cmp_r raking "calibrate raking + svyratio"
    # the same table declared alone (faster), calibrated linearly, then not at all
    sdg='{id: SDG_8_5_2, kind: survey_ratio, source: lfs, numerator: unemployed, denominator: labour_force, population: age15plus, unit: PT, reference_period: "2024"'
    cp "$D/nmdi.yaml" "$TMP/keep0.yaml"
    sed '/^tables:/,/^$/d' "$TMP/keep0.yaml" >"$D/nmdi.yaml"
    printf 'tables:\n  - %s, calibration: {method: linear, totals: census_persons, margins: [SEX*AGE, REF_AREA]}}\n' "$sdg" >>"$D/nmdi.yaml"
    "$NMDI" -q estimate "$D" 2>/dev/null || fail "estimate with linear calibration"
    cmp_r linear "calibrate linear + svyratio"
    sed '/^tables:/,/^$/d' "$TMP/keep0.yaml" >"$D/nmdi.yaml"
    printf 'tables:\n  - %s, calibration: none}\n' "$sdg" >>"$D/nmdi.yaml"
    "$NMDI" -q estimate "$D" 2>/dev/null || fail "estimate without calibration"
    cmp_r none "svyratio, no calibration"
    check "uncalibrated tables say so" sh -c "! grep -q calibration '$E/SDG_8_5_2.json'"
    cp "$TMP/keep0.yaml" "$D/nmdi.yaml"
else
    for x in 1 2 3 4 5 6 7; do skip "SDG 8.5.2 against R" "R survey not installed"; done
fi
# calibration without its totals source: design weights, and the metadata say why
cp "$D/nmdi.yaml" "$TMP/keep1.yaml"
sed '/^tables:/,/^$/d' "$TMP/keep1.yaml" >"$D/nmdi.yaml"
printf 'tables:\n  - {id: SDG_8_6_1, kind: survey_ratio, source: lfs, numerator: neet, denominator: youth, population: age15to24, calibration: {method: raking, totals: nosuch, margins: [SEX]}}\n' >>"$D/nmdi.yaml"
"$NMDI" estimate "$D" >/dev/null 2>"$TMP/err5"
check "calibration without totals is reported" grep -q "SDG_8_6_1.*not calibrated: no dataset 'nosuch'" "$TMP/err5"
check "... and recorded in the metadata" grep -q '"status": "not calibrated"' "$E/SDG_8_6_1.json"
sed '/^tables:/,/^$/d' "$TMP/keep1.yaml" >"$D/nmdi.yaml"
printf 'tables:\n  - {id: SDG_8_6_1, kind: survey_ratio, source: lfs, numerator: neet, denominator: youth,\n     calibration: {method: raking, totals: census_persons, margins: [SEX*NOPE]}}\n' >>"$D/nmdi.yaml"
"$NMDI" -q estimate "$D" 2>"$TMP/err6"; rc=$?
assert_eq "unknown calibration concept exits 1" 1 "$rc"
check "unknown calibration concept names the line" grep -q "nmdi.yaml:[0-9]*: field 'margins': table SDG_8_6_1: unknown calibration concept 'NOPE'" "$TMP/err6"
cp "$TMP/keep1.yaml" "$D/nmdi.yaml"
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
