# codes.sh — `nmdi codes` and `nmdi help`, exit codes.
. "$(dirname "$0")/../lib.sh"
out=$("$NMDI" codes sex)
assert_eq "codes sex prints CSV" "code,name,parent" "$(printf '%s\n' "$out" | head -1)"
assert_eq "codes country has DEU in Chinese" "DEU,DE,276,德国,150,155," \
    "$("$NMDI" codes country --lang zh | grep '^DEU')"
"$NMDI" codes nosuchlist >/dev/null 2>"$TMP/err"; rc=$?
assert_eq "unknown codelist exits 1" 1 "$rc"
check "unknown codelist message names it" grep -q "no codelist 'nosuchlist'" "$TMP/err"
check "help lists codes" sh -c "'$NMDI' help | grep -q '^  codes'"
check "help codes explains" sh -c "'$NMDI' help codes | grep -q 'usage: nmdi codes'"
"$NMDI" nosuchcommand 2>/dev/null; assert_eq "unknown command exits 1" 1 "$?"
check "codes --json parses" sh -c "'$NMDI' codes migstatus --json | node -e 'JSON.parse(require(\"fs\").readFileSync(0))'"
done_testing
