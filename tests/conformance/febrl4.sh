#!/bin/sh
# febrl4.sh — FEBRL4 two-file linkage (dataset4a vs dataset4b, 5,000 true
# pairs), unsupervised: precision, recall and F1 against the truth file.
# Bar: F1 >= 0.9995 (we reach 1.0000; the issue's goal is 0.999), and the
# same with --one-to-one (using the saved model: --save-model, --model).
. "$(dirname "$0")/../lib.sh"
D=$NMDI_SHARED/data/febrl
if [ ! -f "$D/dataset4a.csv" ]; then
    skip "FEBRL4 linkage" "no $D"
    done_testing
    exit 0
fi
# score PRED TRUTH -> "tp pred truth p r f1"
score() {
    awk -F, '{ sub(/\r$/, "") } NR == FNR { if (FNR > 1) t[$1 "," $2] = 1; nt = FNR - 1; next }
             FNR > 1 { n++; if (($1 "," $2) in t) tp++ }
             END { p = n ? tp / n : 0; r = tp / nt; f = p + r ? 2 * p * r / (p + r) : 0;
                   printf "%d %d %d %.5f %.5f %.5f\n", tp, n, nt, p, r, f }' "$2" "$1"
}
bar() { awk -v f="$1" -v b="$2" 'BEGIN { exit !(f >= b) }'; }

if "$NMDI" link -q --save-model "$TMP/m.json" "$D/dataset4a.csv" "$D/dataset4b.csv" >"$TMP/out.csv" 2>"$TMP/err"; then
    ok "nmdi link dataset4a dataset4b runs"
else
    fail "nmdi link dataset4a dataset4b runs" "$(cat "$TMP/err")"
fi
assert_eq "header" "left_id,right_id,match_probability,match_weight" "$(head -1 "$TMP/out.csv")"
set -- $(score "$TMP/out.csv" "$D/febrl4_true_matches.csv")
echo "# FEBRL4: tp=$1 predicted=$2 true=$3 precision=$4 recall=$5 F1=$6"
if bar "$6" 0.9995; then ok "FEBRL4 F1 $6 >= 0.9995"; else fail "FEBRL4 F1 $6 >= 0.9995"; fi
# every probability at or above the default threshold
bad=$(awk -F, 'NR > 1 && $3 < 0.5' "$TMP/out.csv" | wc -l | tr -d ' ')
assert_eq "all rows at or above threshold 0.5" 0 "$bad"

"$NMDI" link -q --one-to-one --model "$TMP/m.json" "$D/dataset4a.csv" "$D/dataset4b.csv" \
    >"$TMP/o2o.csv" 2>"$TMP/err" || fail "--one-to-one runs" "$(cat "$TMP/err")"
set -- $(score "$TMP/o2o.csv" "$D/febrl4_true_matches.csv")
echo "# FEBRL4 one-to-one: precision=$4 recall=$5 F1=$6"
if bar "$6" 0.9995; then ok "FEBRL4 one-to-one F1 $6 >= 0.9995"; else fail "FEBRL4 one-to-one F1 $6"; fi
dupl=$(awk -F, 'NR > 1 { print $1 }' "$TMP/o2o.csv" | sort | uniq -d | wc -l | tr -d ' ')
dupr=$(awk -F, 'NR > 1 { print $2 }' "$TMP/o2o.csv" | sort | uniq -d | wc -l | tr -d ' ')
assert_eq "one-to-one: each record linked at most once" "0 0" "$dupl $dupr"

# EM on a deterministic hash sample of the candidate pairs (about 20,000 per
# rule instead of up to 85,000): the links stay as good
"$NMDI" link -q --em-pairs 20000 "$D/dataset4a.csv" "$D/dataset4b.csv" \
    >"$TMP/em.csv" 2>"$TMP/err" || fail "--em-pairs runs" "$(cat "$TMP/err")"
set -- $(score "$TMP/em.csv" "$D/febrl4_true_matches.csv")
echo "# FEBRL4 EM on a sample: precision=$4 recall=$5 F1=$6"
if bar "$6" 0.999; then ok "FEBRL4 with --em-pairs 20000: F1 $6 >= 0.999"; else fail "FEBRL4 with --em-pairs 20000: F1 $6"; fi
# the thread count does not change the result
"$NMDI" link -q --threads 3 "$D/dataset4a.csv" "$D/dataset4b.csv" >"$TMP/t3.csv" 2>"$TMP/err"
if cmp -s "$TMP/out.csv" "$TMP/t3.csv"; then ok "--threads 3 gives the same links, byte for byte"
else fail "--threads 3 gives the same links, byte for byte"; fi

# a fixed model gives the same links without re-estimating
"$NMDI" link -q --model "$TMP/m.json" "$D/dataset4a.csv" "$D/dataset4b.csv" \
    >"$TMP/fixed.csv" 2>"$TMP/err" || fail "--model runs" "$(cat "$TMP/err")"
if cmp -s "$TMP/out.csv" "$TMP/fixed.csv"; then ok "--model reproduces the saved model's links"
else fail "--model reproduces the saved model's links"; fi
done_testing
