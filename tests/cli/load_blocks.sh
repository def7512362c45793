# load_blocks.sh — the parallel block pipeline of `nmdi load` gives the same
# store, quarantine, line numbers and errors as a one-thread load, whatever
# the thread count and however small the blocks: quoted fields holding
# delimiters, LF, CRLF and "" quotes, blank lines, CRLF line ends, bad rows of
# every kind, and malformed files (unterminated quote, text after a closing
# quote, invalid UTF-8) refused with the same file/line message.
. "$(dirname "$0")/../lib.sh"
H='REC_ID,SURNAME,GIVEN_NAMES,SEX,DOB,NATIONALITY,DOC_TYPE,DOC_NO,DIRECTION,CROSS_DATE,CROSS_TIME,PORT,PURPOSE,STAY_DAYS'
F=$TMP/bc.csv
{
    printf '%s\r\n' "$H"
    for i in $(seq 1 60); do
        printf 'R%d,SMITH,JOHN,M,05/08/1956,XKN,P,AX%d,X,2019-05-11,21:46,KNA1,,\r\n' "$i" $((i % 7))
        printf '"R%d, with a comma",WALOW,"TON\nULF",F,01/02/1990,D,P,"AX%d",E,2019-05-13,17:54,KNA1,RES,3\n' "$i" $((i % 5))
        printf '"R%d ""quoted""\r\nover two lines","O""BRIEN",ANN,F,01/02/1990,GBD,P,BX%d,E,2020-01-01,10:00,KNL1,RES,\n' "$i" "$i"
        [ $((i % 9)) = 0 ] && printf '\n\r\n'
        [ $((i % 10)) = 3 ] && printf 'B%d,DOE,JANE,Q,31/02/1999,ZZZ,P,CX%d,Z,2019-13-01,10:00,KNA1,,-5\n' "$i" "$i"
        [ $((i % 10)) = 5 ] && printf 'C%d,too,few,fields\n' "$i"
        [ $((i % 10)) = 7 ] && printf 'D%d,DOE,JANE,F,01/01/2001,XKN,P,DX%d,E,1999-01-01,10:00,KNA1,,\n' "$i" "$i"
    done
    printf 'LAST,"NO ""FINAL"" NEWLINE",X,M,05/08/1956,XKN,P,AX1,X,2019-05-11,21:46,KNA1,,'
} >"$F"

"$NMDI" -q init "$TMP/tmpl" >/dev/null 2>&1 || { fail "init"; done_testing; exit 1; }
# load FILE into a fresh infrastructure with the template's key; prints its
# export and quarantine listing (or the error) into $TMP/out.NAME
run() { # NAME THREADS BLOCK FILE [SOURCE]
    local d=$TMP/d.$1 src=${5:-border_crossings}
    rm -rf "$d"
    "$NMDI" -q init "$d" >/dev/null 2>&1 && cp "$TMP/tmpl/secrets/key" "$d/secrets/key"
    NMDI_LOAD_BLOCK_BYTES=$3 "$NMDI" --threads "$2" -q load "$d" "$src" "$4" --json >"$TMP/rep.$1" 2>"$TMP/err.$1"
    echo "exit $?" >"$TMP/out.$1"
    grep -o '"\(read\|loaded\|quarantined\)": [0-9]*\|"blake2b": "[0-9a-f]*"' "$TMP/rep.$1" | head -4 >>"$TMP/out.$1"
    sed "s#$d#DIR#g" "$TMP/err.$1" >>"$TMP/out.$1"
    "$NMDI" -q export "$d" "$src" >>"$TMP/out.$1" 2>/dev/null
    "$NMDI" -q quarantine "$d" "$src" | cut -d, -f2- >>"$TMP/out.$1" 2>/dev/null
}

run ref 1 0 "$F"
check "one thread: the delivery loads" grep -q "^exit 0" "$TMP/out.ref"
check "read = loaded + quarantined: 199 = 181 + 18" sh -c "grep -q '\"read\": 199' '$TMP/out.ref' && grep -q '\"loaded\": 181' '$TMP/out.ref' && grep -q '\"quarantined\": 18' '$TMP/out.ref'"
if command -v b2sum >/dev/null; then
    check "the file's BLAKE2b-256, computed as the blocks are read" grep -q "\"blake2b\": \"$(b2sum -l 256 "$F" | cut -d' ' -f1)\"" "$TMP/out.ref"
else
    skip "BLAKE2b of the file" "no b2sum"
fi
check "a quoted field with a comma and a newline is one value" grep -q '^"R1, with a comma",' "$TMP/out.ref"
check "\"\" inside a quoted field spanning lines" grep -q '^"R1 ""quoted""' "$TMP/out.ref"
check "line numbers count the lines inside quoted fields" grep -q 'bc.csv,17,codelist,sex,Q,' "$TMP/out.ref"
check "line numbers in the store (src_line): R60 on line 327" grep -q '^R60,.*bc.csv,327$' "$TMP/out.ref"
for t in "1 1" "1 37" "2 0" "2 1" "2 64" "2 500" "3 200"; do
    set -- $t
    run "t$1b$2" "$1" "$2" "$F"
    if cmp -s "$TMP/out.ref" "$TMP/out.t$1b$2"; then ok "--threads $1, blocks of $2 bytes: same store, quarantine and lines"
    else fail "--threads $1, blocks of $2 bytes: same store, quarantine and lines" "$(diff "$TMP/out.ref" "$TMP/out.t$1b$2" | head -5)"; fi
done

# a low limit of open files: the store writer cannot keep its column files
# open and opens and closes them at every flush instead: the same files
(ulimit -n 300 2>/dev/null && run lowfd 2 64 "$F")
grep sum64 "$TMP/d.ref/store/border_crossings/1/manifest.json" >"$TMP/sums.ref"
grep sum64 "$TMP/d.lowfd/store/border_crossings/1/manifest.json" >"$TMP/sums.lowfd" 2>/dev/null
if [ -s "$TMP/sums.ref" ] && cmp -s "$TMP/out.ref" "$TMP/out.lowfd" && cmp -s "$TMP/sums.ref" "$TMP/sums.lowfd"; then
    ok "ulimit -n 300 (column files opened per flush): same store files and quarantine"
else fail "ulimit -n 300 (column files opened per flush): same store files and quarantine" "$(diff "$TMP/out.ref" "$TMP/out.lowfd" | head -5)"; fi

# malformed files: the same error (file, line, column) at any thread count and block size
bad() { # NAME BYTES: a file of good lines with BYTES in the middle
    local n=$1 f=$TMP/bad_$1.csv
    head -c 2000 "$F" | awk 'NR==1 || /^R[0-9]*,SMITH/' >"$f"
    printf "$2" >>"$f"
    sed -n 2,40p "$F" | grep '^R[0-9]*,SMITH' >>"$f"
    run "${n}_ref" 1 0 "$f"
    check "$n: refused" grep -q "^exit 1" "$TMP/out.${n}_ref"
    for b in 0 16 300; do
        run "${n}_$b" 2 "$b" "$f"
        if cmp -s "$TMP/out.${n}_ref" "$TMP/out.${n}_$b"; then ok "$n: same error with --threads 2, blocks of $b bytes"
        else fail "$n: same error with --threads 2, blocks of $b bytes" "$(diff "$TMP/out.${n}_ref" "$TMP/out.${n}_$b" | head -5)"; fi
    done
}
bad unterminated 'U1,"open quote,X,M,05/08/1956,XKN,P,AX1,X,2019-05-11,21:46,KNA1,,\nU2,A,B,M,05/08/1956,XKN,P,AX1,X,2019-05-11,21:46,KNA1,,\n'
bad after_quote 'U1,"closed"x,X,M,05/08/1956,XKN,P,AX1,X,2019-05-11,21:46,KNA1,,\n'
bad utf8 'U1,\377\376,X,M,05/08/1956,XKN,P,AX1,X,2019-05-11,21:46,KNA1,,\n'
check "the unterminated quote is reported at its line" grep -q "unterminated quoted field" "$TMP/out.unterminated_ref"

# a source without a person key (census persons: records keyed by source, file
# and line) and a synthetic border file: same store at any thread count and block size
if "$NMDI" -q synth --persons 400 --seed 3 --out "$TMP/syn" >/dev/null 2>&1; then
    for src in census_persons border_crossings; do
        f=$TMP/syn/sources/$src.csv
        run "${src}_ref" 1 0 "$f" "$src"
        check "$src: synthetic delivery loads" grep -q "^exit 0" "$TMP/out.${src}_ref"
        for t in "2 0" "2 700" "3 97"; do
            set -- $t
            run "${src}_$1_$2" "$1" "$2" "$f" "$src"
            if cmp -s "$TMP/out.${src}_ref" "$TMP/out.${src}_$1_$2"; then ok "$src: --threads $1, blocks of $2 bytes: same store and quarantine"
            else fail "$src: --threads $1, blocks of $2 bytes: same store and quarantine" "$(diff "$TMP/out.${src}_ref" "$TMP/out.${src}_$1_$2" | head -5)"; fi
        done
    done
else
    fail "nmdi synth for the keyless source"
fi
done_testing
