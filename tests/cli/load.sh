# load.sh — `nmdi load`, `nmdi quarantine`, `nmdi datasets`, `nmdi export`:
# mapping, code maps, conversion, every rule kind, quarantine accounting
# (read = loaded + quarantined), pseudonymisation (no clear identifier in the
# store), CSV dialects, Stata round trip, malformed files refused with nothing
# visible, --strict, disk full, and the FEBRL file (CRLF, no final newline).
. "$(dirname "$0")/../lib.sh"
DATA=$NMDI_ROOT/tests/data/ingest
D=$TMP/infra
"$NMDI" init "$D" --config "$DATA/nmdi.yaml" >/dev/null 2>&1 || { fail "init"; done_testing; exit 1; }
versions() { "$NMDI" datasets "$D" --json | grep -c '"version"'; }

"$NMDI" load "$D" census "$DATA/census.csv" >"$TMP/rep" 2>"$TMP/err"
assert_eq "load census: exit 0" 0 "$?"
check "report: read = loaded + quarantined" grep -q "read = loaded + quarantined: 9 = 2 + 7" "$TMP/rep"
"$NMDI" quarantine "$D" census >"$TMP/q"
check "quarantine: unknown sex code (codelist of CL_SEX)" grep -q ",4,codelist,sex,3," "$TMP/q"
check "quarantine: impossible date (declared format)" grep -q ",5,type,date_of_birth,31/02/1999," "$TMP/q"
check "quarantine: cross-field rule with its errorcode" grep -q ",6,ARR_BEFORE_BIRTH,arrival_year,1990," "$TMP/q"
check "quarantine: unknown country" grep -q ",7,codelist,country_of_birth,ZZZ," "$TMP/q"
check "quarantine: area outside the configuration" grep -q ",7,codelist,area,R3," "$TMP/q"
check "quarantine: wrong column count" grep -q ",8,columns,,8," "$TMP/q"
check "quarantine: date range (bounds written as dates)" grep -q ",9,DOB_RANGE,date_of_birth,01/01/1880," "$TMP/q"
check "quarantine: date comparison rule, unquoted date" grep -q ",10,BORN_BEFORE_1900,date_of_birth,31/12/1899," "$TMP/q"
check "quarantine: a record inside the date range passes it" sh -c "! grep -q ',10,DOB_RANGE' '$TMP/q'"
"$NMDI" quarantine "$D" census --json >"$TMP/q.json"
check "quarantine --json" grep -q '"rule": "ARR_BEFORE_BIRTH"' "$TMP/q.json"

"$NMDI" export "$D" census >"$TMP/census.out" 2>/dev/null
assert_eq "export: header + 2 rows" 3 "$(wc -l <"$TMP/census.out")"
check "export: code map 2 -> F and numeric 000 -> XKN" grep -q ",F,1980-02-01,XKN,XKN,,R1,1.5," "$TMP/census.out"
check "export: alpha-3 from the country codelist" grep -q ",M,1990-07-15,CHN,CHN,2015,R2,2," "$TMP/census.out"
check "export: identifier encodings, no name column" sh -c "head -1 '$TMP/census.out' | grep -q 'name_hash,name_phon,name_qgram,record_key' && ! head -1 '$TMP/census.out' | grep -q ',name,'"
# the bigram filter: 64 raw bytes in the store (name_qgram.bin), exported as b1: + 128 hex
check "export: name_qgram as b1: + 128 hex" sh -c "cut -d, -f11 '$TMP/census.out' | tail -2 | grep -cE '^b1:[0-9a-f]{128}\$' | grep -qx 2"
check "store: name_qgram is a bytes64 column of 64 bytes a row" sh -c "grep -q '\"bytes64\"' '$D/store/census/1/manifest.json' && [ \$(cat '$D'/store/census/1/p*/name_qgram.bin | wc -c) = 128 ]"
if grep -rq "Müller\|Anna" "$D/store" "$D/catalog.db"; then fail "no clear name in the store or catalog"; else ok "no clear name in the store or catalog"; fi
if grep -rqa "Müller" "$D/store"; then fail "no clear name bytes in the store"; else ok "no clear name bytes in the store"; fi
awk -F, 'NR>1 { if ($12 < 0 || $12 >= 1) bad=1 } END { exit bad }' "$TMP/census.out"
assert_eq "record keys in [0,1)" 0 "$?"

# CSV dialect: ';', CRLF, ISO date-time, no final newline, ICAO code map
"$NMDI" load "$D" crossings "$DATA/crossings.csv" --json >"$TMP/rep.json" 2>/dev/null
assert_eq "load crossings (semicolon, CRLF, no final newline)" 0 "$?"
check "json report: read 4" grep -q '"read": 4' "$TMP/rep.json"
check "json report: loaded 3" grep -q '"loaded": 3' "$TMP/rep.json"
check "json report: quarantined 1" grep -q '"quarantined": 1' "$TMP/rep.json"
"$NMDI" export "$D" crossings >"$TMP/cr.out" 2>/dev/null
check "ICAO D -> DEU" grep -q ",A,2024-01-05,DEU," "$TMP/cr.out"
check "date-time value read as its date" grep -q ",D,2024-01-06,GBR," "$TMP/cr.out"
check "same traveller, same keyed hash" sh -c "[ \$(cut -d, -f1 '$TMP/cr.out' | sort | uniq -d | wc -l) = 1 ]"
"$NMDI" quarantine "$D" crossings >"$TMP/q2"
check "inline codelist rule" grep -q ",5,DIRECTION_CODE,direction,X," "$TMP/q2"

# Stata: export, then load the .dta through ReadStat
check "export --format stata" "$NMDI" export "$D" census --format stata --output "$TMP/census.dta"
"$NMDI" load "$D" census_stata "$TMP/census.dta" >"$TMP/rep" 2>&1
assert_eq "load a Stata file" 0 "$?"
check "Stata: read 2 = 2 + 0" grep -q "read = loaded + quarantined: 2 = 2 + 0" "$TMP/rep"
"$NMDI" export "$D" census_stata >"$TMP/st.out" 2>/dev/null
check "Stata dates (%td) come back as dates" grep -q "1980-02-01" "$TMP/st.out"

# malformed deliveries are refused whole: nothing becomes visible
n0=$(versions)
refuse() { # description, file, expected text
    "$NMDI" load "$D" census "$2" >"$TMP/out" 2>&1
    rc=$?
    if [ "$rc" = 1 ] && grep -q "$3" "$TMP/out" && [ "$(versions)" = "$n0" ]; then ok "$1"
    else fail "$1" "exit $rc: $(cat "$TMP/out")"; fi
}
printf 'PID,NAME,SEX,DOB,COB,CIT,YOA,REGION,WT\n1,"Anna,2,01/02/1980,000,XKN,,R1,1\n' >"$TMP/quote.csv"
refuse "unterminated quote: refused, names the line" "$TMP/quote.csv" "quote.csv:2: column 2: unterminated"
printf 'PID,NAME,SEX,DOB,COB,CIT,YOA,REGION,WT\n1,Ann\377a,2,01/02/1980,000,XKN,,R1,1\n' >"$TMP/utf8.csv"
refuse "invalid UTF-8: refused, names line and column" "$TMP/utf8.csv" "utf8.csv:2: column 2: invalid UTF-8"
printf '\037\213\010\000\001\002\003PID' >"$TMP/bin.csv"
refuse "binary file: refused" "$TMP/bin.csv" "binary"
: >"$TMP/empty.csv"
refuse "empty file: refused" "$TMP/empty.csv" "empty"
printf 'PID,NAME,SEX,DOB,COB,CIT,YOA,AREA,WT\n1,A,2,01/02/1980,000,XKN,,R1,1\n' >"$TMP/hdr.csv"
refuse "header not matching the mapping: refused, names the column" "$TMP/hdr.csv" "field 'REGION'.*header does not match"
"$NMDI" load "$D" census "$DATA/census.csv" "$TMP/hdr.csv" >/dev/null 2>&1
assert_eq "multi-file delivery with a bad file: exit 1, nothing visible" "1 $n0" "$? $(versions)"
"$NMDI" load "$D" census "$DATA/census.csv" --strict >"$TMP/out" 2>&1
assert_eq "--strict refuses a delivery with failing records" "1 $n0" "$? $(versions)"
"$NMDI" load "$D" nosuch "$DATA/census.csv" >/dev/null 2>&1
assert_eq "unknown source: exit 1" 1 "$?"
"$NMDI" load "$D" census "$TMP/missing.csv" >/dev/null 2>&1
assert_eq "missing file: exit 1" 1 "$?"

# disk full (store test hook): reported, nothing visible, no leftovers; rerun completes
NMDI_TEST_STORE_FAIL_AFTER=64 "$NMDI" load "$D" census "$DATA/census.csv" >"$TMP/out" 2>&1
assert_eq "disk full: exit 1, nothing visible" "1 $n0" "$? $(versions)"
check "disk full is reported as such" grep -q "disk full" "$TMP/out"
check "no temporary directory left" sh -c "! ls -a '$D/store/census' | grep -q tmp"
check "rerun after disk full completes" "$NMDI" load "$D" census "$DATA/census.csv"
assert_eq "a second delivery is a new version" 2 "$("$NMDI" datasets "$D" --json | grep -c '"dataset": "census"')"
check "quarantine of the latest version" grep -q "census,2," "$("$NMDI" quarantine "$D" census >"$TMP/q3"; echo "$TMP/q3")"
check "datasets shows lineage" sh -c "'$NMDI' datasets '$D' | grep -q 'from .*census.csv'"
check "datasets --verify: checksums match" "$NMDI" datasets "$D" --verify

# FEBRL: CRLF line ends, no final newline, spaces after commas
F=$NMDI_SHARED/data/febrl/dataset4a.csv
if [ -f "$F" ]; then
    "$NMDI" load "$D" febrl "$F" >"$TMP/rep" 2>&1
    assert_eq "FEBRL dataset4a loads" 0 "$?"
    check "FEBRL: 5000 = 5000 + 0" grep -q "read = loaded + quarantined: 5000 = 5000 + 0" "$TMP/rep"
    "$NMDI" export "$D" febrl >"$TMP/f.out" 2>/dev/null
    if grep -qi "michaela\|neumann" "$TMP/f.out"; then fail "FEBRL names pseudonymised"; else ok "FEBRL names pseudonymised"; fi
else
    skip "FEBRL dataset4a" "$F absent"
fi
done_testing
