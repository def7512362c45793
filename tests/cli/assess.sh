# assess.sh — `nmdi assess` and `nmdi needs` over a small infrastructure:
# pre-filled answers from the catalog, user answers, history, infrastructure.json.
. "$(dirname "$0")/../lib.sh"
D=$TMP/infra
"$NMDI" -q init "$D" >/dev/null 2>&1 || { fail "init"; done_testing; exit 0; }
"$NMDI" -q synth --persons 1500 --seed 5 --out "$D/incoming" --mobile-share 0 >/dev/null 2>&1
"$NMDI" -q load "$D" census_persons "$D/incoming/sources/census_persons.csv" >/dev/null 2>&1
"$NMDI" assess "$D" --json >"$TMP/a.json" 2>/dev/null
assert_eq "assess exits 0" 0 "$?"
q() { node -e "const r=JSON.parse(require('fs').readFileSync('$TMP/a.json'));for(const c of r.components)for(const q of c.questions)if(q.id==='$1')console.log(q.score===null?'null':q.score)"; }
assert_eq "census pre-filled from the catalog" 4 "$(q src.census)"
assert_eq "no survey loaded" 0 "$(q src.survey)"
assert_eq "manual question unanswered" null "$(q coord.strategy)"
check "infrastructure.json written with sources and agreements" \
    node -e "const j=JSON.parse(require('fs').readFileSync('$D/infrastructure.json'));if(!(j.sources.length>5&&j.agreements.length>0&&j.sources.find(s=>s.id==='census_persons').rows>0))process.exit(1)"
printf '{"coord.strategy": {"score": 3, "evidence": "plan adopted", "date": "2026-10-01"}, "src.survey": {"score": 2}}\n' >"$D/assessment/answers.json"
"$NMDI" assess "$D" --json >"$TMP/a.json" 2>/dev/null
assert_eq "user answer recorded" 3 "$(q coord.strategy)"
assert_eq "user answer wins over the probe" 2 "$(q src.survey)"
check "history keeps both runs" node -e "const h=JSON.parse(require('fs').readFileSync('$D/assessment/history.json'));if(h.length!==2)process.exit(1)"
printf '{"coord.strategy": {"score": 9}}\n' >"$D/assessment/answers.json"
"$NMDI" assess "$D" >/dev/null 2>"$TMP/err"; rc=$?
assert_eq "bad answer exits 1" 1 "$rc"
check "bad answer is named" grep -q "coord.strategy" "$TMP/err"
"$NMDI" needs "$D" >"$TMP/n.txt" 2>&1
assert_eq "needs exits 0" 0 "$?"
check "needs lists gaps of unproduced indicators" grep -q "gap: indicator MIG_STOCK is not produced" "$TMP/n.txt"
"$NMDI" assess "$TMP/nope" 2>/dev/null; assert_eq "missing infrastructure exits 1" 1 "$?"
done_testing
