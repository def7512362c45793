#!/bin/sh
# derive_faults.sh — `nmdi derive` when the disk fills up (store test hook
# NMDI_TEST_STORE_FAIL_AFTER): the outputs crossing_residence and
# migration_events are written by output threads, whole pages with O_DIRECT
# (nmdi_store_writer_direct); a failed append must reach the stage, be
# reported as a full disk, leave no version visible and no temporary
# directory, and a rerun must complete. Two partitions of ≈ 150 000
# crossings, so that every group queues several 128 Ki-row chunks.
. "$(dirname "$0")/../lib.sh"

if ! "$NMDI" help synth >/dev/null 2>&1 || ! "$NMDI" help derive >/dev/null 2>&1; then
    skip "derive on a full disk" "nmdi synth/derive not in this build"
    done_testing
    exit 0
fi

S=$TMP/synth
D=$TMP/infra
check "synthetic country of 30000 persons" "$NMDI" synth -q --persons 30000 --seed 3 --out "$S"
check "init" "$NMDI" init -q "$D"
sed -i 's/^  partitions: [0-9]*/  partitions: 2/' "$D/nmdi.yaml"
check "two partitions configured" grep -q '^  partitions: 2' "$D/nmdi.yaml"
for src in border_crossings register_base register_events permits; do
    check "load $src" "$NMDI" --threads 2 load -q "$D" $src "$S/sources/$src.csv"
done
outs() { "$NMDI" datasets "$D" --json | grep -c '"dataset": "\(crossing_residence\|migration_events\|register_flows\|first_permits\)"'; }
leftovers() { find "$D/store" -maxdepth 2 -name '.tmp-*' | wc -l; }

for at in 200000 3000000; do
    NMDI_TEST_STORE_FAIL_AFTER=$at "$NMDI" --threads 2 derive "$D" >"$TMP/out" 2>&1
    assert_eq "disk full after $at bytes: exit 1, no output visible" "1 0" "$? $(outs)"
    check "disk full after $at bytes: reported as such" grep -q "disk full" "$TMP/out"
    assert_eq "disk full after $at bytes: no temporary directory left" 0 "$(leftovers)"
done
check "rerun after disk full completes" "$NMDI" --threads 2 derive -q "$D"
assert_eq "the four outputs, once each" 4 "$(outs)"
check "outputs' checksums match" "$NMDI" datasets "$D" --verify
n=$("$NMDI" export "$D" crossing_residence | tail -n +2 | wc -l)
m=$(tail -n +2 "$S/sources/border_crossings.csv" | wc -l)
q=$("$NMDI" datasets "$D" --json | grep -A12 '"dataset": "border_crossings"' | grep -o '"rows": [0-9]*' | head -1 | grep -o '[0-9]*')
assert_eq "a crossing_residence row per stored crossing" "$q" "$n"
check "more than 2 x 131072 crossings (chunks queued)" test "$m" -gt 262144
done_testing
