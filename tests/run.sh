#!/bin/sh
# Runs every test of nmdi and prints one summary line:
#   tests: N passed, N failed, N skipped
# Every test program speaks TAP ("ok N - ...", "not ok N - ...",
# "ok N # SKIP ..."): the cmocka unit tests (release and ASan+UBSan builds)
# and the shell tests in tests/{cli,conformance,pipeline,web}/*.sh.
# A program that exits non-zero without a failing TAP line counts as one
# failure. Logs go to build/test-logs/.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOGS=$ROOT/build/test-logs
mkdir -p "$LOGS"
export NMDI="$ROOT/build/rel/nmdi" NMDI_ASAN="$ROOT/build/asan/nmdi" NMDI_ROOT="$ROOT"
export NMDI_SHARED="${NMDI_SHARED:-$ROOT/../shared}"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
pass=0 fail=0 skip=0 failed_list=""
only=${1:-}

run_one() { # name, command...
    name=$1; shift
    case "$name" in *"$only"*) ;; *) return ;; esac
    log="$LOGS/$(echo "$name" | tr '/' '_').log"
    t0=$(date +%s)
    timeout 900 "$@" >"$log" 2>&1
    rc=$?
    t1=$(date +%s)
    p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
    s=$(grep -cE '^ok [0-9]+.*# ?SKIP' "$log" | tr -d ' ')
    f=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
    p=$((p - s))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $name exited with status $rc" >>"$log"
    fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    status=ok; [ "$f" -gt 0 ] && status=FAIL && failed_list="$failed_list $name"
    printf '%-44s %4s  %3d passed %3d failed %3d skipped  %3ss\n' "$name" "$status" "$p" "$f" "$s" $((t1 - t0))
    if [ "$f" -gt 0 ]; then
        grep -E '^not ok|^# ' "$log" | head -40 | sed 's/^/    /'
        tail -n 20 "$log" | sed 's/^/    | /'
    fi
}

for v in rel asan; do
    for t in build/$v/tests/test_*; do
        [ -x "$t" ] || continue
        run_one "unit/$v/$(basename "$t")" "$t"
    done
done
for dir in cli conformance pipeline web; do
    for t in tests/$dir/*.sh; do
        [ -f "$t" ] || continue
        run_one "$dir/$(basename "$t" .sh)" sh "$t"
    done
done
echo
[ -n "$failed_list" ] && echo "failed:$failed_list"
echo "tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
