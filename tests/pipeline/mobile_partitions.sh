# mobile_partitions.sh — the MOB_* tables of `nmdi estimate` are derived store
# partition by partition (src/estimate/infra_mobile.c): they are byte-identical
# whatever the number of threads, the size of the work units (mobile:
# partition_records) and the number of store partitions.
. "$(dirname "$0")/../lib.sh"
D=$TMP/a
"$NMDI" -q init "$D" >/dev/null 2>&1 || { fail "init"; done_testing; exit 0; }
"$NMDI" -q synth --persons 1500 --years 3 --seed 7 --out "$TMP/in" --mobile-share 0.3 >/dev/null 2>&1 ||
    fail "synth"
P=$TMP/in/sources/mobile_presence.csv
"$NMDI" -q load "$D" mobile_presence "$P" >/dev/null 2>&1 || fail "load into 8 partitions"
run() { # DIR THREADS OUTDIR
    "$NMDI" estimate "$1" --threads "$2" >/dev/null 2>"$TMP/err.$3" || fail "estimate $3" "$(cat "$TMP/err.$3")"
    mkdir -p "$TMP/$3" && cp "$1"/work/estimates/MOB_*.csv "$TMP/$3/"
}
same() { # NAME OUTDIR
    for t in MOB_INBOUND MOB_LONGTERM MOB_INTERNAL; do
        check "$1: $t identical" cmp -s "$TMP/ref/$t.csv" "$TMP/$2/$t.csv"
    done
}
run "$D" 1 ref
check "the reference tables have cells" test "$(cat "$TMP"/ref/MOB_*.csv | wc -l)" -gt 10
check "one unit per store partition by default" grep -q "mobile: 8 units" "$TMP/err.ref"
run "$D" 2 t2
same "2 threads" t2
# units of at most 3000 records: each partition split by a second subscriber hash
sed -i 's/^mobile:$/mobile:\n  partition_records: 3000/' "$D/nmdi.yaml"
run "$D" 2 small
check "small units: more units than partitions" grep -Eq "mobile: ([1-9][0-9]+|9) units" "$TMP/err.small"
same "units of 3000 records, 2 threads" small
run "$D" 1 small1
same "units of 3000 records, 1 thread" small1
# another infrastructure with 3 store partitions (same pseudonymisation key)
E=$TMP/b
"$NMDI" -q init "$E" >/dev/null 2>&1 || fail "init b"
cp "$D/secrets/key" "$E/secrets/key" 2>/dev/null
sed -i 's/^  partitions: 8$/  partitions: 3/' "$E/nmdi.yaml"
"$NMDI" -q load "$E" mobile_presence "$P" >/dev/null 2>&1 || fail "load into 3 partitions"
run "$E" 2 three
check "3 store partitions" grep -q "3 store partitions" "$TMP/err.three"
same "3 store partitions" three
done_testing
