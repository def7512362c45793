#!/bin/sh
# febrl_dedupe.sh — FEBRL dataset1 deduplication (1,000 records, 500 true
# pairs: rec-N-org and rec-N-dup-k share N), unsupervised. Bar: F1 >= 0.998
# (we reach 1.0000; the issue's goal is 0.995). Also the clusters (persons).
. "$(dirname "$0")/../lib.sh"
D=$NMDI_SHARED/data/febrl
if [ ! -f "$D/dataset1.csv" ]; then
    skip "FEBRL dedupe" "no $D"
    done_testing
    exit 0
fi
if "$NMDI" link -q --clusters "$TMP/cl.csv" "$D/dataset1.csv" >"$TMP/out.csv" 2>"$TMP/err"; then
    ok "nmdi link dataset1 (dedupe) runs"
else
    fail "nmdi link dataset1 (dedupe) runs" "$(cat "$TMP/err")"
fi
# true pairs: records sharing N; predicted pairs: rows of the output
res=$(awk -F, '
    function key(s) { sub(/^rec-/, "", s); sub(/-.*/, "", s); return s }
    NR == FNR { if (FNR > 1) { g = key($1); cnt[g]++ } next }
    FNR > 1 { n++; if (key($1) == key($2)) tp++; if (!($1 < $2 || 1)) bad++ }
    END { for (g in cnt) nt += cnt[g] * (cnt[g] - 1) / 2
          p = n ? tp / n : 0; r = tp / nt; f = p + r ? 2 * p * r / (p + r) : 0
          printf "%d %d %d %.5f %.5f %.5f\n", tp, n, nt, p, r, f }' "$D/dataset1.csv" "$TMP/out.csv")
set -- $res
echo "# FEBRL dataset1 dedupe: tp=$1 predicted=$2 true=$3 precision=$4 recall=$5 F1=$6"
if awk -v f="$6" 'BEGIN { exit !(f >= 0.998) }'; then ok "dataset1 F1 $6 >= 0.998"
else fail "dataset1 F1 $6 >= 0.998"; fi
# each unordered pair once
dups=$(awk -F, 'NR > 1 { k = ($1 < $2) ? $1 "," $2 : $2 "," $1; if (k in s) d++; s[k] = 1 } END { print d + 0 }' "$TMP/out.csv")
assert_eq "each unordered pair once" 0 "$dups"
self=$(awk -F, 'NR > 1 && $1 == $2' "$TMP/out.csv" | wc -l | tr -d ' ')
assert_eq "no record paired with itself" 0 "$self"
# clusters: 1000 rows; persons = distinct clusters = 500 (one person has one record)
assert_eq "clusters file has a row per record" 1001 "$(wc -l <"$TMP/cl.csv" | tr -d ' ')"
np=$(awk -F, 'NR > 1 { c[$2] = 1 } END { n = 0; for (k in c) n++; print n }' "$TMP/cl.csv")
assert_eq "500 persons (clusters)" 500 "$np"
done_testing
