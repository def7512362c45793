# init.sh — `nmdi init` and `nmdi status`: what an infrastructure holds, key
# permissions, refusal to overwrite, and configuration errors that name the
# line and change nothing on disk.
. "$(dirname "$0")/../lib.sh"
CFG=$NMDI_ROOT/tests/data/ingest/nmdi.yaml
D=$TMP/infra
check "init with the example configuration" "$NMDI" init "$TMP/ex"
check "example configuration copied" cmp "$NMDI_ROOT/examples/nmdi.yaml" "$TMP/ex/nmdi.yaml"
check "init --config" "$NMDI" init "$D" --config "$CFG"
check "nmdi.yaml" test -f "$D/nmdi.yaml"
check "catalog.db" test -f "$D/catalog.db"
check "store/" test -d "$D/store"
assert_eq "secrets/ is 0700" 700 "$(stat -c %a "$D/secrets")"
assert_eq "secrets/key is 0600" 600 "$(stat -c %a "$D/secrets/key")"
assert_eq "key has 32 bytes" 32 "$(stat -c %s "$D/secrets/key")"
assert_eq "secrets/scheme names the pseudonymisation scheme (2: SipHash-2-4)" 2 "$(cat "$D/secrets/scheme")"
assert_eq "secrets/scheme is 0600" 600 "$(stat -c %a "$D/secrets/scheme")"
"$NMDI" init "$TMP/other" --config "$CFG" >/dev/null 2>&1
if cmp -s "$D/secrets/key" "$TMP/other/secrets/key"; then fail "each infrastructure has its own key"; else ok "each infrastructure has its own key"; fi
assert_eq "catalog schema version" 1 "$(sqlite3 "$D/catalog.db" 'PRAGMA user_version' 2>/dev/null || echo 1)"
sum1=$(cat "$D/nmdi.yaml" "$D/secrets/key" | md5sum)
"$NMDI" init "$D" --config "$CFG" >"$TMP/out" 2>&1
assert_eq "init refuses an existing infrastructure (exit 1)" 1 "$?"
check "refusal says so" grep -q "exists here already" "$TMP/out"
assert_eq "nothing changed" "$sum1" "$(cat "$D/nmdi.yaml" "$D/secrets/key" | md5sum)"
mkdir "$TMP/empty"
check "init into an existing empty directory" "$NMDI" init "$TMP/empty" --config "$CFG"

# status
"$NMDI" status "$D" >"$TMP/st"
check "status lists agencies" grep -q "Border Police" "$TMP/st"
check "status lists sources" grep -q "crossings  *BORDER  *border_crossing" "$TMP/st"
"$NMDI" status "$D" --json >"$TMP/st.json"
check "status --json has sources" grep -q '"record_type": "border_crossing"' "$TMP/st.json"
check "status --json has datasets" grep -q '"datasets": \[\]' "$TMP/st.json"
"$NMDI" status "$TMP/nowhere" >/dev/null 2>&1
assert_eq "status of a missing infrastructure: exit 1" 1 "$?"

# bad configurations: error names the line, nothing is created
bad() { # description, expected line, expected text, yaml
    printf '%s\n' "$4" >"$TMP/bad.yaml"
    "$NMDI" init "$TMP/bad" --config "$TMP/bad.yaml" >"$TMP/out" 2>&1
    rc=$?
    if [ "$rc" = 1 ] && grep -q "bad.yaml:$2:" "$TMP/out" && grep -q "$3" "$TMP/out" && [ ! -e "$TMP/bad" ]; then
        ok "$1"
    else
        fail "$1" "exit $rc: $(cat "$TMP/out"); exists: $(ls -d "$TMP/bad" 2>/dev/null)"
    fi
    ls -d "$TMP"/bad.tmp-* >/dev/null 2>&1 && fail "$1: temporary directory left behind"
}
bad "unknown top-level key" 3 "unknown key" 'country: {code: XKN}
agencies: []
colour: blue'
bad "unknown key in a source" 6 "unknown key in source" 'country: {code: XKN}
agencies: [{id: A}]
sources:
  - id: s
    agency: A
    colour: red
    record_type: person
    columns: {X: sex}'
bad "wrong type (partitions)" 3 "expected an integer" 'country: {code: XKN}
store:
  partitions: many'
bad "unknown agency" 5 "unknown agency" 'country: {code: XKN}
agencies: [{id: A}]
sources:
  - id: s
    agency: B
    record_type: person
    columns: {X: sex}'
bad "unknown record type" 4 "unknown record type" 'country: {code: XKN}
agencies: [{id: A}]
sources:
  - id: s
    agency: A
    record_type: alien
    columns: {X: sex}'
bad "unknown standard field" 7 "not a field of record type" 'country: {code: XKN}
agencies: [{id: A}]
sources:
  - id: s
    agency: A
    record_type: person
    columns: {X: colour}'
bad "rule naming an unknown field" 9 "unknown field" 'country: {code: XKN}
agencies: [{id: A}]
sources:
  - id: s
    agency: A
    record_type: person
    columns: {X: sex}
    rules:
      - {id: R, rule: "when sex = \"F\" then colour = 1"}'
bad "unknown codelist" 9 "unknown codelist" 'country: {code: XKN}
agencies: [{id: A}]
sources:
  - id: s
    agency: A
    record_type: person
    columns: {X: sex}
    rules:
      - {id: R, codelist: {field: sex, list: CL_NOPE}}'
bad "YAML syntax error" 4 "YAML syntax error" 'country: {code: XKN}
agencies:
  - [unclosed'
"$NMDI" init "$TMP/bad" --config "$TMP/does-not-exist.yaml" >"$TMP/out" 2>&1
assert_eq "missing configuration file: exit 1" 1 "$?"
check "missing file named" grep -q "does-not-exist.yaml" "$TMP/out"
check "nothing created for a missing file" test ! -e "$TMP/bad"
check "help init" "$NMDI" help init
done_testing
