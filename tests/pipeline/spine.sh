#!/bin/sh
# tests/pipeline/spine.sh — `nmdi link DIR` (the person spine) on a synthetic
# country of 3,000 persons: census, population register and permits loaded,
# spine built, exported and checked against the synthetic truth
# (truth/truth_links.csv) through src_line, the delivery line of each record.
. "$(dirname "$0")/../lib.sh"

D=$TMP/infra
check "init" "$NMDI" init "$D"
check "synth 3000 persons" "$NMDI" synth --persons 3000 --out "$D/incoming"

# nothing loaded yet: nothing to link, exit 0
if out=$("$NMDI" link "$D" 2>&1) && printf '%s' "$out" | grep -q "nothing to link"; then
    ok "no source loaded: nothing to link, exit 0"
else
    fail "no source loaded: nothing to link, exit 0" "$out"
fi
check "load census_persons" "$NMDI" -q load "$D" census_persons "$D/incoming/sources/census_persons.csv"
if out=$("$NMDI" link "$D" 2>&1) && printf '%s' "$out" | grep -q "nothing to link"; then
    ok "one source loaded: nothing to link, exit 0"
else
    fail "one source loaded: nothing to link, exit 0" "$out"
fi
check "load register_base" "$NMDI" -q load "$D" register_base "$D/incoming/sources/register_base.csv"
check "load permits" "$NMDI" -q load "$D" permits "$D/incoming/sources/permits.csv"
check "load lfs (no identifiers: not linkable)" "$NMDI" -q load "$D" lfs "$D/incoming/sources/lfs.csv"

if "$NMDI" -q link "$D" --json >"$TMP/link.json" 2>"$TMP/link.err"; then
    ok "nmdi link DIR"
else
    fail "nmdi link DIR" "$(cat "$TMP/link.err")"
fi
if grep -q '"left":"census_persons","right":"register_base"' "$TMP/link.json" &&
    grep -q '"version":1' "$TMP/link.json" && grep -q 'lfs' "$TMP/link.err"; then
    ok "report: source pairs, version 1, lfs named as not linkable"
else
    fail "report: source pairs, version 1, lfs named as not linkable" "$(cat "$TMP/link.json" "$TMP/link.err")"
fi
check "export person_spine" sh -c "'$NMDI' export '$D' person_spine >'$TMP/spine.csv'"
assert_eq "spine header" "source,person_key,src_line,person_id,match_probability" "$(head -1 "$TMP/spine.csv")"
n_in=$(($(wc -l <"$D/incoming/sources/census_persons.csv") + $(wc -l <"$D/incoming/sources/register_base.csv") + $(wc -l <"$D/incoming/sources/permits.csv") - 3))
assert_eq "every loaded record of the linked sources is in the spine" "$n_in" "$(($(wc -l <"$TMP/spine.csv") - 1))"
if "$NMDI" datasets "$D" 2>/dev/null | grep -q person_spine || sqlite3 "$D/catalog.db" "select lineage from dataset_versions where dataset='person_spine'" 2>/dev/null | grep -q estimated_precision; then
    ok "catalog version row with lineage"
else
    fail "catalog version row with lineage"
fi

# precision and recall of the record pairs put in one person, against truth
awk -F, '
FILENAME ~ /census_persons.csv$/ { if (FNR > 1) id["census_persons," FNR] = "census," $1 "-" $2; next }
FILENAME ~ /register_base.csv$/  { if (FNR > 1) id["register_base," FNR] = "register_base," $1; next }
FILENAME ~ /permits.csv$/        { if (FNR > 1) id["permits," FNR] = "permit," $1; next }
FILENAME ~ /truth_links.csv$/    { truth[$1 "," $2] = $3; next }
FNR > 1 {
    k = $1 "," $3
    if (!(k in id)) { miss++; next }
    r = id[k]; if (!(r in truth)) { miss++; next }
    n++; rec[n] = r; src[n] = $1; pid[n] = $4; tp_[n] = truth[r]
}
END {
    for (i = 1; i <= n; i++) { bp[pid[i]] = bp[pid[i]] " " i; bt[tp_[i]] = bt[tp_[i]] " " i }
    for (p in bp) { m = split(bp[p], a, " "); for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++)
        if (src[a[x]] != src[a[y]]) { pred++; if (tp_[a[x]] == tp_[a[y]]) tp++ } }
    for (p in bt) { m = split(bt[p], a, " "); for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++)
        if (src[a[x]] != src[a[y]]) tru++ }
    printf "%d %d %d %d %.4f %.4f\n", miss + 0, pred, tru, tp, tp / pred, tp / tru
}' "$D/incoming/sources/census_persons.csv" "$D/incoming/sources/register_base.csv" \
    "$D/incoming/sources/permits.csv" "$D/incoming/truth/truth_links.csv" "$TMP/spine.csv" >"$TMP/eval"
read -r miss pred tru tp prec rec <"$TMP/eval"
echo "# spine vs truth: predicted pairs $pred, true pairs $tru, correct $tp, precision $prec, recall $rec"
assert_eq "every spine record maps to a truth record" 0 "$miss"
if awk -v p="$prec" -v r="$rec" 'BEGIN { exit !(p >= 0.995 && r >= 0.99) }'; then
    ok "precision $prec and recall $rec at or above the bar"
else
    fail "precision $prec and recall $rec at or above the bar"
fi

# a second run writes version 2
if "$NMDI" -q link "$D" >/dev/null 2>&1 && "$NMDI" export "$D" person_spine --version 2 >/dev/null 2>&1; then
    ok "second run: version 2"
else
    fail "second run: version 2"
fi
done_testing
