# mobile.sh — `nmdi mobile`: tables from presence records, redaction, bad records.
. "$(dirname "$0")/../lib.sh"
f=$TMP/p.csv
echo "subscriber,date,area,home_country,roaming" >"$f"
# 16 inbound subscribers from DEU present 2024-01-01 .. 2025-06-30 in A01
awk 'BEGIN{for(s=1;s<=16;s++){t=mktime("2024 01 01 12 00 00"); for(d=0;d<547;d++){print "in" s "," strftime("%Y-%m-%d",t+d*86400,1) "," (d%30==15?"A02":"A01") ",DEU,inbound"}}}' >>"$f"
# 3 short visitors
awk 'BEGIN{for(s=1;s<=3;s++){t=mktime("2024 03 01 12 00 00"); for(d=0;d<5;d++){print "v" s "," strftime("%Y-%m-%d",t+d*86400,1) ",A02,FRA,1"}}}' >>"$f"
echo "bad,2024-02-30,A01,DEU,1" >>"$f"
"$NMDI" mobile "$f" --table longterm >"$TMP/lt.csv" 2>"$TMP/err"
assert_eq "exit 0 with a bad record" 0 "$?"
check "bad record reported with file, line and field" grep -q "p.csv:$(($(wc -l <"$f"))): field 'date'" "$TMP/err"
assert_eq "long-term presence of 16 subscribers in 2024" "2024,IMM,DEU,16,,,,,16" \
    "$(grep '^2024,IMM,DEU' "$TMP/lt.csv" | cut -d, -f1-9)"
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
done_testing
