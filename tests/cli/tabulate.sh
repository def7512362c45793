#!/bin/sh
# tests/cli/tabulate.sh — `nmdi tabulate`: the exact output layout, margins,
# measures, errors, and (when R is present) a random weighted cube against R.
. "$(dirname "$0")/../lib.sh"

cat >"$TMP/p.csv" <<'CSV'
sex,age,cob,w,y
F,1,AA,2,10
M,1,BB,1,5
F,2,AA,1.5,3
,1,AA,1,1
F,1,"B,B",1,2
CSV

out=$("$NMDI" tabulate "$TMP/p.csv" --by sex,age --weight w --margins)
assert_eq "weighted count cube with margins" "sex,age,value,n
,1,1,1
,_T,1,1
F,1,3,2
F,2,1.5,1
F,_T,4.5,3
M,1,1,1
M,_T,1,1
_T,1,5,4
_T,2,1.5,1
_T,_T,6.5,5" "$out"

out=$("$NMDI" tabulate "$TMP/p.csv" --by cob --count)
assert_eq "unweighted count, quoted code" 'cob,value,n
AA,3,3
"B,B",1,1
BB,1,1' "$out"

out=$("$NMDI" tabulate "$TMP/p.csv" --by sex --mean y --weight w)
assert_eq "weighted mean, full precision" "sex,value,n
,1,1
F,5.888888888888889,3
M,5,1" "$out"

out=$("$NMDI" tabulate "$TMP/p.csv" --by sex --sum y --margins)
assert_eq "unweighted sum with margins" "sex,value,n
,1,1
F,15,3
M,5,1
_T,21,5" "$out"

err=$("$NMDI" tabulate "$TMP/p.csv" --by sex,area 2>&1 >/dev/null); rc=$?
case "$rc:$err" in 1:*"p.csv:1: field 'area'"*) ok "missing column named, exit 1" ;;
    *) fail "missing column named, exit 1" "rc=$rc $err" ;; esac
printf 'sex,w\nF,1\nM,-1\n' >"$TMP/neg.csv"
err=$("$NMDI" tabulate "$TMP/neg.csv" --by sex --weight w 2>&1 >/dev/null); rc=$?
case "$rc:$err" in 1:*"neg.csv:3: field 'w': negative weight"*) ok "negative weight refused" ;;
    *) fail "negative weight refused" "rc=$rc $err" ;; esac
printf 'sex,y\nF,1\nM,x1\n' >"$TMP/nn.csv"
err=$("$NMDI" tabulate "$TMP/nn.csv" --by sex --mean y 2>&1 >/dev/null); rc=$?
case "$rc:$err" in 1:*"nn.csv:3: field 'y'"*"not a number"*) ok "non-numeric value named" ;;
    *) fail "non-numeric value named" "rc=$rc $err" ;; esac
err=$("$NMDI" tabulate "$TMP/p.csv" --by sex --sum y --mean y 2>&1 >/dev/null); rc=$?
assert_eq "two measures is a usage error" 1 "$rc"

# a random weighted mean cube against R's aggregate (independent reference)
if command -v Rscript >/dev/null 2>&1; then
    awk 'BEGIN { srand(11); print "sex,age,area,w,y";
        for (i = 0; i < 4000; i++) printf "%s,%d,A%d,%.3f,%.2f\n",
            (rand() < 0.5 ? "F" : "M"), int(rand() * 17), int(rand() * 9),
            rand() * 50, rand() * 1000 - 200 }' >"$TMP/r.csv"
    "$NMDI" tabulate "$TMP/r.csv" --by sex,age,area --weight w --mean y --margins >"$TMP/ours.csv"
    Rscript -e '
        d <- read.csv(commandArgs(TRUE)[1], colClasses = c("character", "character", "character", "numeric", "numeric"))
        o <- read.csv(commandArgs(TRUE)[2], colClasses = c("character", "character", "character", "numeric", "numeric"))
        bad <- 0
        for (r in seq_len(nrow(o))) {
            m <- rep(TRUE, nrow(d))
            for (v in c("sex", "age", "area")) if (o[[v]][r] != "_T") m <- m & d[[v]] == o[[v]][r]
            ref <- sum(d$w[m] * d$y[m]) / sum(d$w[m])
            if (sum(m) != o$n[r] || abs(ref - o$value[r]) > 1e-9 * max(1, abs(ref))) bad <- bad + 1
        }
        full <- nrow(unique(d[, c("sex", "age", "area")]))
        cat(bad, nrow(o) >= full, "\n")' "$TMP/r.csv" "$TMP/ours.csv" >"$TMP/r.out" 2>&1
    assert_eq "weighted means of every cell and margin equal R's" "0 TRUE" "$(cat "$TMP/r.out" | tr -s ' ' | sed 's/ $//')"
else
    skip "weighted means equal R's" "Rscript not installed"
fi
# the parallel path over a plain file (> 1 MB: 8 chunks) gives the cube of the
# streaming reader (standard input), with 1 and 2 threads; a bad record deep in
# the file is the streaming reader's error with its line
awk 'BEGIN{srand(7); print "sex,age,cob,area,w,rk"; for(i=0;i<60000;i++) printf "%s,%d,%s,KN%02d,%.3f,%.6f\n", (rand()<0.5?"F":"M"), int(rand()*90), substr("ABCDEFGHIJ", 1+int(rand()*10), 1) "X", 1+int(rand()*10), rand()*3, rand()}' >"$TMP/big.csv"
cat "$TMP/big.csv" | "$NMDI" tabulate - --by sex,age,cob,area --weight w --rkey rk --margins >"$TMP/big_stream.csv" 2>/dev/null
"$NMDI" --threads 1 tabulate "$TMP/big.csv" --by sex,age,cob,area --weight w --rkey rk --margins >"$TMP/big_t1.csv" 2>/dev/null
"$NMDI" --threads 2 tabulate "$TMP/big.csv" --by sex,age,cob,area --weight w --rkey rk --margins >"$TMP/big_t2.csv" 2>/dev/null
cut -d, -f1-4,6- "$TMP/big_stream.csv" >"$TMP/s.k"; cut -d, -f1-4,6- "$TMP/big_t1.csv" >"$TMP/t1.k"
check "parallel path: same cells, n and cell keys as the streaming reader" cmp -s "$TMP/s.k" "$TMP/t1.k"
check "parallel path: a non-trivial cube" test "$(wc -l <"$TMP/big_t1.csv")" -gt 10000
check "parallel path: weighted values equal the streaming reader's to 1e-12" awk -F, 'NR==FNR{v[$1","$2","$3","$4]=$5; next} {d=v[$1","$2","$3","$4]-$5; if(d<0)d=-d; if(d>1e-12*($5>1?$5:1)) bad=1} END{exit bad}' "$TMP/big_stream.csv" "$TMP/big_t1.csv"
check "parallel path: the same cube with 1 and 2 threads" cmp -s "$TMP/big_t1.csv" "$TMP/big_t2.csv"
awk 'NR==40001{print "F,3,AX,KN01,-2,0.5"; next} {print}' "$TMP/big.csv" >"$TMP/bigneg.csv"
err=$("$NMDI" --threads 2 tabulate "$TMP/bigneg.csv" --by sex --weight w 2>&1 >/dev/null); rc=$?
case "$rc:$err" in 1:*"bigneg.csv:40001: field 'w': negative weight"*) ok "parallel path: a bad record is the streaming reader's error" ;;
    *) fail "parallel path: a bad record is the streaming reader's error" "rc=$rc $err" ;; esac
awk 'NR==50001{print "F,3,AX"; next} {print}' "$TMP/big.csv" >"$TMP/bigshort.csv"
err=$("$NMDI" tabulate "$TMP/bigshort.csv" --by sex 2>&1 >/dev/null); rc=$?
case "$rc:$err" in 1:*"bigshort.csv:50001:"*"3 fields where the header has 6"*) ok "parallel path: a short record is named by its line" ;;
    *) fail "parallel path: a short record is named by its line" "rc=$rc $err" ;; esac
done_testing
