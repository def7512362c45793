#!/bin/sh
# link_rldata.sh — deduplication of RLdata500 and RLdata10000 (R package
# RecordLinkage; the identity column gives the truth), unsupervised, with the
# identity column left out of the comparison. Bars (what we reach minus a
# margin): RLdata500 F1 >= 0.95 (0.980), RLdata10000 F1 >= 0.95 (0.964).
. "$(dirname "$0")/../lib.sh"
D=$NMDI_SHARED/data/linkage-rldata
if [ ! -f "$D/RLdata10000_with_identity.csv" ]; then
    skip "RLdata dedupe" "no $D"
    done_testing
    exit 0
fi
for n in 500 10000; do
    f=$D/RLdata${n}_with_identity.csv
    if "$NMDI" link -q --id rec_no --fields fname_c1,fname_c2,lname_c1,lname_c2,by,bm,bd \
        "$f" >"$TMP/out.csv" 2>"$TMP/err"; then
        ok "RLdata$n dedupe runs"
    else
        fail "RLdata$n dedupe runs" "$(cat "$TMP/err")"
    fi
    set -- $(awk -F, '{ gsub(/"|\r/, "") }
        NR == FNR { if (FNR > 1) { id[$1] = $2; c[$2]++ } next }
        FNR > 1 { n++; if (id[$1] == id[$2]) tp++ }
        END { for (g in c) nt += c[g] * (c[g] - 1) / 2
              p = n ? tp / n : 0; r = tp / nt; f = p + r ? 2 * p * r / (p + r) : 0
              printf "%d %d %d %.4f %.4f %.4f\n", tp, n, nt, p, r, f }' "$f" "$TMP/out.csv")
    echo "# RLdata$n: tp=$1 predicted=$2 true=$3 precision=$4 recall=$5 F1=$6"
    if awk -v f="$6" 'BEGIN { exit !(f >= 0.95) }'; then ok "RLdata$n F1 $6 >= 0.95"
    else fail "RLdata$n F1 $6 >= 0.95"; fi
done
done_testing
