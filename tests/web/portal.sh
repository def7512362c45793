#!/bin/sh
# Browser tests of the portal: headless Debian Chromium (playwright-core)
# against the mock API server of tests/web/fixtures (full and degraded
# releases) and against `nmdi serve` on a release that `nmdi publish` makes
# of the same fixture tables. Skips visibly without chromium or the
# portal's node_modules.
. "$(dirname "$0")/../lib.sh"
WEB=$NMDI_ROOT/web
if [ ! -x /usr/bin/chromium ]; then skip "portal browser tests" "/usr/bin/chromium is not installed"; done_testing; exit 0; fi
if [ ! -d "$WEB/node_modules/playwright-core" ]; then skip "portal browser tests" "web/node_modules is absent (run make web)"; done_testing; exit 0; fi
if [ ! -f "$WEB/dist/index.html" ]; then
    check "portal builds" "$NMDI_ROOT/scripts/build-web.sh"
fi

# start_server LOG ARGS...: start the mock server on a free loopback port; sets PID and URL
start_server() {
    log=$1; shift
    node "$NMDI_ROOT/tests/web/fixtures/server.mjs" --port 0 "$@" >"$log" 2>&1 &
    PID=$!
    i=0
    while [ $i -lt 100 ] && ! grep -q '^listening' "$log"; do sleep 0.1; i=$((i + 1)); done
    URL=$(sed -n 's/^listening //p' "$log")
}
# run_browser URL [--degraded]: the checks of portal.mjs as TAP lines
run_browser() {
    node "$NMDI_ROOT/tests/web/portal.mjs" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    n=0
    while IFS= read -r line; do
        case "$line" in
            "ok "*) ok "${line#ok }"; n=$((n + 1)) ;;
            "not ok "*) d=${line#not ok }; fail "${d%% | *}" "${d#* | }"; n=$((n + 1)) ;;
        esac
    done <"$TMP/out"
    if [ "$rc" -ne 0 ] || [ "$n" -eq 0 ]; then fail "browser test run ($*)" "exit $rc; $(tail -n 5 "$TMP/err")"; fi
}

start_server "$TMP/mock.log"
if [ -n "$URL" ]; then
    run_browser "$URL"
else
    fail "mock API server starts" "$(cat "$TMP/mock.log")"
fi
kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null

# degraded release: no assessment, some tables missing, one refused (413)
start_server "$TMP/mock2.log" --without assessment --drop MIG_FLOW,MIG_FLOW_PARTNER,SDG_8_6_1,MIG_STOCK_COB --fail MIG_STOCK_CIT
if [ -n "$URL" ]; then
    run_browser "$URL" --degraded
else
    fail "mock API server starts (degraded)" "$(cat "$TMP/mock2.log")"
fi
kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null

# the real server: publish the fixture tables with `nmdi publish`, serve them
# with `nmdi serve` on a free loopback port, and run the same browser checks
if [ -x "$NMDI" ] && "$NMDI" publish --help >/dev/null 2>&1 && "$NMDI" serve --help >/dev/null 2>&1; then
    check "fixture tables converted to a protected infrastructure" node "$NMDI_ROOT/tests/web/fixtures/to-infra.mjs" "$TMP/infra"
    if "$NMDI" publish --help 2>&1 | grep -q -- --country-name-zh; then
        check "nmdi publish makes a release of them" "$NMDI" publish "$TMP/infra" --country XKN --country-name Kestrania --country-name-zh 凯斯特拉尼亚
    else
        check "nmdi publish makes a release of them" "$NMDI" publish "$TMP/infra"
    fi
    "$NMDI" serve "$TMP/infra" --listen 127.0.0.1:0 --port-file "$TMP/port" --web "$WEB/dist" >"$TMP/serve.log" 2>&1 &
    PID=$!
    i=0
    while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if [ -s "$TMP/port" ]; then
        run_browser "http://127.0.0.1:$(cat "$TMP/port")" --quick
    else
        fail "nmdi serve starts" "$(cat "$TMP/serve.log")"
    fi
    kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
else
    skip "portal against nmdi serve" "this build of nmdi has no publish/serve command"
fi
done_testing
