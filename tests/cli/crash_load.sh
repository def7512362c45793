# crash_load.sh — `kill -9` at random moments of a load leaves the previous
# state intact (catalog and store agree, checksums match, no half version
# visible) and a rerun completes.
. "$(dirname "$0")/../lib.sh"
DATA=$NMDI_ROOT/tests/data/ingest
D=$TMP/infra
"$NMDI" init "$D" --config "$DATA/nmdi.yaml" >/dev/null 2>&1 || { fail "init"; done_testing; exit 1; }
awk 'BEGIN { print "PID,NAME,SEX,DOB,COB,CIT,YOA,REGION,WT";
  for (i = 1; i <= 60000; i++)
    printf "%d,Name %d,%d,%02d/%02d/%d,000,XKN,,R%d,1.5\n", i, i, 1 + i % 2, 1 + i % 28, 1 + i % 12, 1930 + i % 80, 1 + i % 2 }' >"$TMP/big.csv"
check "first load" "$NMDI" -q load "$D" census "$TMP/big.csv"
rows() { "$NMDI" datasets "$D" --json | grep -c '"dataset": "census"'; }
seed=$(date +%N | sed 's/^0*//')
for round in 1 2 3 4 5 6; do
    before=$(rows)
    delay=$(awk -v s="$seed" -v r="$round" 'BEGIN { srand(s + r); printf "%.2f", rand() * 1.5 }')
    "$NMDI" -q load "$D" census "$TMP/big.csv" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    after=$(rows)
    if [ "$after" = "$before" ] || [ "$after" = "$((before + 1))" ]; then
        ok "round $round (kill after ${delay}s): catalog has the old or the new version ($before -> $after)"
    else
        fail "round $round: catalog went from $before to $after versions"
    fi
    check "round $round: every visible version is complete (checksums, row counts)" "$NMDI" datasets "$D" --verify
done
check "rerun after the crashes completes" "$NMDI" -q load "$D" census "$TMP/big.csv"
check "no temporary directory left after the rerun" sh -c "! ls -a '$D/store/census' | grep -q '^.tmp-'"
n=$("$NMDI" datasets "$D" --json | grep -c '"dataset": "census"')
d=$(ls "$D/store/census" | grep -c '^[0-9]')
assert_eq "store holds exactly the versions of the catalog" "$n" "$d"
check "final state verifies" "$NMDI" datasets "$D" --verify
done_testing
