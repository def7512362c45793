# fuzz.sh — a short fuzzing run of the CSV reader and of the configuration /
# mapping (tests/fuzz/): libFuzzer when clang is installed (1,000 inputs per
# target from the seed corpus), else skipped visibly (the unit tests run a
# deterministic random-input pass of the same functions in both builds).
. "$(dirname "$0")/../lib.sh"
if ! command -v clang >/dev/null 2>&1; then
    skip "libFuzzer short run" "clang is not installed"
    done_testing
    exit 0
fi
if "$NMDI_ROOT/tests/fuzz/run.sh" short >"$TMP/out" 2>&1; then
    ok "libFuzzer: fuzz_csv and fuzz_mapping, 1000 inputs each, no crash"
else
    fail "libFuzzer short run" "$(tail -30 "$TMP/out"; tail -30 "$NMDI_ROOT"/build/fuzz/*.log 2>/dev/null)"
fi
done_testing
