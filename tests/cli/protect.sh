#!/bin/sh
# tests/cli/protect.sh — `nmdi ptable` and `nmdi protect`: the example ptable of
# STANDARDS.md §9, record keys -> cell keys -> perturbation end to end,
# suppression, survey rules, k-anonymity, the stage over a directory, errors.
. "$(dirname "$0")/../lib.sh"

out=$("$NMDI" ptable --D 2 --V 1.08 --js 1 | awk -F, '$1 == 1 { printf "%s:%.5f ", $2, $3 }')
assert_eq "ptable D=2 V=1.08 js=1, row i=1 (STANDARDS.md §9)" "0:0.51333 2:0.46000 3:0.02667 " "$out"
"$NMDI" ptable --D 2 --V 1.08 --js 1 --out "$TMP/pt.csv"
out=$("$NMDI" ptable --in "$TMP/pt.csv" | cmp - "$TMP/pt.csv" && echo same)
assert_eq "ptable --out, read back with --in" "same" "$out"
"$NMDI" ptable --D 2 --V 5 >/dev/null 2>&1
assert_eq "V >= D^2 refused" 1 "$?"

# records with pseudonymised keys; record keys from a secret
awk 'BEGIN { srand(17); print "pid,sex,age,area";
    for (i = 0; i < 600; i++) printf "h%05d,%s,%d,A%d\n", i, (rand() < 0.5 ? "F" : "M"),
        int(rand() * 6), int(rand() * 8) }' >"$TMP/p.csv"
printf '0123456789abcdef0123456789abcdef' >"$TMP/secret"
"$NMDI" protect rkey "$TMP/p.csv" --key pid --secret-file "$TMP/secret" --out "$TMP/pk.csv"
"$NMDI" protect rkey "$TMP/p.csv" --key pid --secret-file "$TMP/secret" >"$TMP/pk2.csv"
check "record keys are reproducible" cmp "$TMP/pk.csv" "$TMP/pk2.csv"
out=$(awk -F, 'NR > 1 && ($5 < 0 || $5 >= 1) { bad++ } END { print bad + 0 }' "$TMP/pk.csv")
assert_eq "record keys in [0,1)" 0 "$out"

"$NMDI" tabulate "$TMP/pk.csv" --by sex,age,area --margins --rkey rkey --cube >"$TMP/cube.csv"
"$NMDI" -q protect cellkey "$TMP/cube.csv" --D 2 --V 1.08 --js 1 >"$TMP/ck.csv"
"$NMDI" -q protect cellkey "$TMP/cube.csv" --ptable "$TMP/pt.csv" >"$TMP/ck2.csv"
check "cell key method: ptable file and parameters agree" cmp "$TMP/ck.csv" "$TMP/ck2.csv"
out=$(paste -d, "$TMP/cube.csv" "$TMP/ck.csv" | awk -F, 'NR > 1 {
        o = $4; p = $16; d = p - o; if (d < 0) d = -d
        if (d > 2 || p == 1 || (o == 0) != (p == 0) || $22 != "" || $21 != p) bad++ }
        END { print bad + 0 }')
assert_eq "perturbed: |noise| <= 2, never 1, n = published, no cell keys" 0 "$out"

# the same cell in another table gets the same noise: F x age 0 x A0 from a
# 2-D table of the records with sex F
awk -F, 'NR == 1 || $2 == "F"' "$TMP/pk.csv" >"$TMP/f.csv"
"$NMDI" tabulate "$TMP/f.csv" --by age,area --rkey rkey --cube >"$TMP/cubeF.csv"
"$NMDI" -q protect cellkey "$TMP/cubeF.csv" >"$TMP/ckF.csv"
a=$(awk -F, '$1 == "F" && $2 == "0" && $3 == "A0" { print $4 }' "$TMP/ck.csv")
b=$(awk -F, '$1 == "0" && $2 == "A0" { print $3 }' "$TMP/ckF.csv")
assert_eq "same cell, same noise in another table" "$a" "$b"

"$NMDI" -q protect suppress "$TMP/cube.csv" --threshold 4 --out "$TMP/sup.csv"
out=$(awk -F, 'NR > 1 && $12 == "C" { c++ } NR > 1 && $12 == "D" { d++ }
    NR > 1 && $12 != "F" && ($4 != "" || $9 != "") { leak++ } END { print (c > 0), (d > 0), leak + 0 }' "$TMP/sup.csv")
assert_eq "suppression: primary and secondary cells, values and n withheld" "1 1 0" "$out"

printf 'x,value,se,cv,ci_low,ci_high,n,ckey,OBS_STATUS,CONF_STATUS\na,10,1,0.1,,,50,,E,F\nb,10,2,0.2,,,50,,E,F\nc,10,5,0.5,,,50,,E,F\nd,10,1,0.1,,,2,,E,F\n' >"$TMP/sv.csv"
out=$("$NMDI" -q protect survey "$TMP/sv.csv" | awk -F, 'NR > 1 { printf "%s:%s:%s ", $1, $9, $10 }')
assert_eq "survey: flag CV > 16.5%, withhold CV > 33.3% and n < 3" "a:E:F b:U:F c:M:F d:M:C " "$out"

"$NMDI" protect kanon "$TMP/p.csv" --qi sex,age,area --k 5 --out "$TMP/anon.csv" >"$TMP/rep.csv"
out=$(awk -F, '$1 == "at_risk_after" { print $2 }' "$TMP/rep.csv")
assert_eq "kanon: no record at risk after local suppression" 0 "$out"
# independent check: class sizes with empty = any value (brute force in awk)
out=$(awk -F, 'NR > 1 { n++; s[n] = $2; a[n] = $3; r[n] = $4 }
    END { for (i = 1; i <= n; i++) { f = 0
            for (j = 1; j <= n; j++)
                if ((s[i] == "" || s[j] == "" || s[i] == s[j]) && (a[i] == "" || a[j] == "" || a[i] == a[j]) &&
                    (r[i] == "" || r[j] == "" || r[i] == r[j])) f++
            if (f < 5) bad++ }
          print bad + 0 }' "$TMP/anon.csv")
assert_eq "kanon: every record shares its combination with >= 4 others" 0 "$out"

# the stage
mkdir -p "$TMP/dir/work/estimates"
cp "$TMP/cube.csv" "$TMP/dir/work/estimates/STOCK.csv"
printf '{"id": "STOCK", "name": {"en": "Stock", "zh": "存量"}}\n' >"$TMP/dir/work/estimates/STOCK.json"
awk -F, 'BEGIN { OFS = "," } { $10 = (NR == 1 ? "ckey" : ""); print }' "$TMP/cube.csv" >"$TMP/dir/work/estimates/SUP.csv"
printf '{"id": "SUP", "protect": {"threshold": 4}}\n' >"$TMP/dir/work/estimates/SUP.json"
check "nmdi protect DIR" "$NMDI" -q protect "$TMP/dir"
out=$(grep -c '"protected": true' "$TMP/dir/work/protected/STOCK.json" "$TMP/dir/work/protected/SUP.json" | tr '\n' ' ')
assert_eq "stage marks every table protected" "$TMP/dir/work/protected/STOCK.json:1 $TMP/dir/work/protected/SUP.json:1 " "$out"
check "stage: cell key method by default for counts with keys" cmp "$TMP/ck.csv" "$TMP/dir/work/protected/STOCK.csv"
check "stage: suppression for a table without keys" cmp "$TMP/sup.csv" "$TMP/dir/work/protected/SUP.csv"

err=$("$NMDI" protect cellkey "$TMP/sup.csv" 2>&1 >/dev/null); rc=$?
case "$rc:$err" in 1:*"sup.csv"*) ok "cell key method on a cube without counts refused, file named" ;;
    *) fail "cell key method on a cube without counts refused" "rc=$rc $err" ;; esac
err=$("$NMDI" protect kanon "$TMP/p.csv" --qi sex,nope 2>&1 >/dev/null); rc=$?
case "$rc:$err" in 1:*"field 'nope'"*) ok "kanon: missing column named" ;;
    *) fail "kanon: missing column named" "rc=$rc $err" ;; esac
done_testing
