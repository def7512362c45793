# demo.sh — end-to-end pipeline test: `nmdi demo` on a small synthetic country,
# then checks what every stage in this build left behind.
. "$(dirname "$0")/../lib.sh"
has() { "$NMDI" help | grep -q "^  $1 "; }
D=$TMP/demo
if "$NMDI" demo --persons 3000 --seed 7 --dir "$D" --no-serve >"$TMP/out" 2>"$TMP/log"; then
    ok "nmdi demo --no-serve runs to the end"
else
    fail "nmdi demo --no-serve runs to the end" "$(tail -30 "$TMP/log")"
fi
check "demo prints a stage summary" grep -q "stages ran" "$TMP/log"
if has init; then
    check "infrastructure has a configuration" test -f "$D/nmdi.yaml"
    check "infrastructure has a catalog" test -f "$D/catalog.db"
    check "secrets are owner-only" sh -c "[ \"\$(stat -c %a '$D/secrets')\" = 700 ]"
    check "status runs" "$NMDI" status "$D"
fi
if has load; then
    check "every delivery was loaded (status lists datasets)" sh -c "'$NMDI' datasets '$D' | grep -q ."
fi
if has publish && has protect && has estimate; then # no tables without estimate
    check "a release was published" test -s "$D/releases/LATEST"
    v=$(cat "$D/releases/LATEST" 2>/dev/null)
    check "the release has tables" sh -c "ls '$D/releases/$v/tables/'*.csv >/dev/null"
    check "the release lists its tables" sh -c "grep -q '\"tables\"' '$D/releases/$v/release.json'"
fi
if has assess; then
    check "assessment saved with history" test -s "$D/assessment/history.json"
    check "needs report runs" "$NMDI" needs "$D"
fi
# the same demo twice gives an error (never overwrites) unless --force
"$NMDI" demo --persons 3000 --dir "$D" --no-serve >/dev/null 2>&1
assert_eq "rerun without --force refuses" 1 "$?"
done_testing
