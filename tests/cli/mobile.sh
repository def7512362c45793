# mobile.sh — `nmdi mobile`: tables from presence records, redaction, bad records.
. "$(dirname "$0")/../lib.sh"
f=$TMP/p.csv
echo "subscriber,date,area,home_country,roaming" >"$f"
# 16 inbound subscribers from DEU present 2024-01-01 .. 2025-06-30 in A01
awk 'BEGIN{for(s=1;s<=16;s++){t=mktime("2024 01 01 12 00 00"); for(d=0;d<547;d++){print "in" s "," strftime("%Y-%m-%d",t+d*86400,1) "," (d%30==15?"A02":"A01") ",DEU,inbound"}}}' >>"$f"
# 3 short visitors
awk 'BEGIN{for(s=1;s<=3;s++){t=mktime("2024 03 01 12 00 00"); for(d=0;d<5;d++){print "v" s "," strftime("%Y-%m-%d",t+d*86400,1) ",A02,FRA,1"}}}' >>"$f"
# the data begin on 2023-12-01 (a domestic subscriber), so the 16 arrive within them
echo "early,2023-12-01,A01,XKN,0" >>"$f"
echo "bad,2024-02-30,A01,DEU,1" >>"$f"
"$NMDI" mobile "$f" --table longterm >"$TMP/lt.csv" 2>"$TMP/err"
assert_eq "exit 0 with a bad record" 0 "$?"
check "bad record reported with file, line and field" grep -q "p.csv:$(($(wc -l <"$f"))): field 'date'" "$TMP/err"
assert_eq "long-term presence of 16 subscribers in 2024" "2024,IMM,DEU,16,,,,,16" \
    "$(grep '^2024,IMM,DEU' "$TMP/lt.csv" | cut -d, -f1-9)"
grep -v '^early,' "$f" >"$TMP/late.csv"
"$NMDI" mobile "$TMP/late.csv" --table longterm >"$TMP/lt2.csv" 2>/dev/null
check "a stay under way when the data begin is not a long-term start (left-censored)" sh -c "! grep -q '^2024,IMM,DEU' '$TMP/lt2.csv'"
"$NMDI" mobile "$f" --table inbound >"$TMP/in.csv" 2>/dev/null
check "3 short visitors are redacted" sh -c "grep '^2024-03,FRA,SHORT' '$TMP/in.csv' | grep -q ',M,C$'"
check "redacted cell has no value" sh -c "grep '^2024-03,FRA,SHORT' '$TMP/in.csv' | cut -d, -f4 | grep -qx ''"
"$NMDI" mobile "$f" --out "$TMP/out" 2>/dev/null
check "--out writes the four tables" test -f "$TMP/out/mobile_internal.csv" -a -f "$TMP/out/mobile_longterm.csv"
"$NMDI" mobile "$f" 2>/dev/null; assert_eq "no --table/--out is a usage error" 1 "$?"
printf 'subscriber,date\n' >"$TMP/h.csv"
"$NMDI" mobile "$TMP/h.csv" --table inbound 2>"$TMP/err2"; assert_eq "missing column exits 1" 1 "$?"
check "missing column is named" grep -q "field 'area'" "$TMP/err2"
# a SIM seen every day of the period in one single area is taken for a machine
printf 'subscriber,date,area,home_country,roaming\n' >"$TMP/m.csv"
awk 'BEGIN{t=mktime("2024 01 01 12 00 00"); for(d=0;d<100;d++){print "meter," strftime("%Y-%m-%d",t+d*86400,1) ",A01,XKN,0"; if(d%2==0) print "person," strftime("%Y-%m-%d",t+d*86400,1) ",A02,XKN,0"}}' >>"$TMP/m.csv"
"$NMDI" mobile "$TMP/m.csv" --table internal 2>"$TMP/merr" >/dev/null
check "machine SIM excluded and counted" grep -q "(1 machine SIMs excluded)" "$TMP/merr"
# --compare: mobile-based estimates of a small synthetic country against its truth
S=$TMP/syn
"$NMDI" -q synth --persons 2000 --seed 5 --mobile-share 0.5 --mobile-days 400 --out "$S" >/dev/null 2>&1
"$NMDI" mobile --compare "$S" --min-subscribers 1 >"$TMP/cmp.txt" 2>"$TMP/cmperr"
assert_eq "--compare on a synthetic country exits 0" 0 "$?"
check "the comparison has every indicator" sh -c "for i in IMM_FOREIGN EMI_CITIZEN EMI_ALL RESIDENTS MOVES; do grep -q \"^\$i \" '$TMP/cmp.txt' || exit 1; done"
"$NMDI" mobile --compare "$S" --json >"$TMP/cmp.json" 2>/dev/null
check "--json is one JSON object with rows" node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));if(!(j.rows.length>10&&j.market_share===0.5))process.exit(1)' "$TMP/cmp.json"
# The market-share-corrected count of domestic SIMs with a home area in two
# consecutive months is within 15 % of the true residents aged 10+ present
# mid-month (second SIMs add about 7 %, visitors' local SIMs a little more).
check "market-share-corrected residents within 15 % of the truth, every month" node -e '
const j=JSON.parse(require("fs").readFileSync(process.argv[1]));
const r=j.rows.filter(x=>x.indicator==="RESIDENTS");
if(r.length<10)process.exit(1);
for(const x of r){if(!(x.truth>1000&&Math.abs(x.mobile/x.truth-1)<=0.15)){console.error(x);process.exit(1);}}' "$TMP/cmp.json"
check "rows under --min-subscribers are redacted in JSON" node -e '
const j=JSON.parse(require("fs").readFileSync(process.argv[1]));
if(j.rows.some(x=>x.mobile_subscribers!==null&&x.mobile_subscribers>0&&x.mobile_subscribers<15))process.exit(1);
if(!j.rows.some(x=>x.mobile_subscribers===null))process.exit(1);' "$TMP/cmp.json"
# memory-bounded run: many partitions, shuffled records -> byte-identical tables
P=$S/sources/mobile_presence.csv
{ head -1 "$P"; tail -n +2 "$P" | shuf --random-source="$P"; } >"$TMP/shuf.csv"
"$NMDI" mobile "$P" --areas "$S/sources/mobile_areas.csv" --min-subscribers 1 --out "$TMP/one" 2>/dev/null
"$NMDI" --threads 2 mobile "$TMP/shuf.csv" --areas "$S/sources/mobile_areas.csv" --min-subscribers 1 \
    --partition-records 20000 --tmpdir "$TMP" --out "$TMP/many" 2>/dev/null
check "operator layout read (MCC table, area table)" grep -q "^2024-0[0-9],KN0" "$TMP/one/mobile_internal.csv"
for t in inbound outbound internal longterm; do
    check "shuffled, 20+ partitions, 2 threads: identical $t table" cmp -s "$TMP/one/mobile_$t.csv" "$TMP/many/mobile_$t.csv"
done
check "partition files removed" sh -c "! ls -d '$TMP'/nmdi-mobile-* 2>/dev/null"
"$NMDI" mobile "$P" --tmpdir "$TMP/no/such/dir" --table longterm >/dev/null 2>"$TMP/tmperr"
assert_eq "a --tmpdir that does not exist exits 1" 1 "$?"
check "... and is named" grep -q "no/such/dir" "$TMP/tmperr"
"$NMDI" mobile --compare "$TMP/nowhere" >/dev/null 2>"$TMP/cmperr2"; assert_eq "--compare without truth exits 1" 1 "$?"
check "--compare without truth says what DIR must be" grep -q "nmdi synth" "$TMP/cmperr2"
done_testing
