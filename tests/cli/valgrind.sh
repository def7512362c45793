# valgrind.sh — the nmdi command is valgrind-clean (no leak, no invalid access)
# on small runs of each command that exists in this build.
. "$(dirname "$0")/../lib.sh"
if ! command -v valgrind >/dev/null 2>&1; then
    skip "valgrind" "valgrind is not installed"; done_testing; exit 0
fi
vg() { # description, args...
    d=$1; shift
    if valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=99 "$NMDI" "$@" >"$TMP/out" 2>"$TMP/vg"; then ok "valgrind: $d"
    else
        rc=$?
        if [ "$rc" -eq 99 ]; then fail "valgrind: $d" "$(head -40 "$TMP/vg")"; else ok "valgrind: $d (exit $rc, clean)"; fi
    fi
}
has() { "$NMDI" help | grep -q "^  $1 "; }
vg "codes country" codes country
vg "codes --json" codes migstatus --json
vg "unknown command" nosuchcommand
if has residence; then
    printf 'person_id,crossing_id,date,direction\n1,a,2017-01-01,D\n1,b,2017-01-11,A\n2,c,2017-02-30,A\n3,d,2018-01-01,X\n' >"$TMP/x.csv"
    vg "residence" residence "$TMP/x.csv"
fi
if has tabulate; then
    printf 'sex,age,w\nF,1,2\nM,2,3\nF,2,1.5\n' >"$TMP/t.csv"
    vg "tabulate --margins" tabulate "$TMP/t.csv" --by sex,age --weight w --margins
fi
if has survey && [ -f "$NMDI_SHARED/data/survey/api/apistrat.csv" ]; then
    vg "survey stratified" survey "$NMDI_SHARED/data/survey/api/apistrat.csv" --strata stype --weights pw --fpc fpc --mean api00
fi
if has link && [ -f "$NMDI_SHARED/data/febrl/dataset4a.csv" ]; then
    head -200 "$NMDI_SHARED/data/febrl/dataset4a.csv" >"$TMP/a.csv"
    head -200 "$NMDI_SHARED/data/febrl/dataset4b.csv" >"$TMP/b.csv"
    vg "link" link "$TMP/a.csv" "$TMP/b.csv"
fi
if has synth; then
    vg "synth" synth --persons 300 --years 2 --seed 3 --out "$TMP/synth"
fi
done_testing
