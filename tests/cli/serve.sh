#!/bin/sh
# nmdi publish + nmdi serve on a random loopback port: status codes, content
# types, ETag/304, errors 400/404/406/405/501, JSON API, DCAT, tokens and the
# audit log, path traversal, clean shutdown on SIGTERM.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/serve_fixture.inc"
if ! command -v curl >/dev/null; then skip "serve" "curl not installed"; done_testing; exit 0; fi
make_infra
check "publish" "$NMDI" -q publish "$TMP/infra" --now 2026-11-27T10:00:00Z
assert_eq "LATEST" "20261127-1" "$(cat "$TMP/infra/releases/LATEST")"
# an unprotected table is refused
mkdir -p "$TMP/bad/work/protected"
cp "$TMP/infra/work/protected/MIG_STOCK.csv" "$TMP/bad/work/protected/"
echo '{"id":"MIG_STOCK","name":"x"}' >"$TMP/bad/work/protected/MIG_STOCK.json"
"$NMDI" -q publish "$TMP/bad" 2>"$TMP/err"; rc=$?
assert_eq "unprotected table refused (exit 1)" 1 "$rc"
check "error names the file" grep -q "MIG_STOCK.json" "$TMP/err"
mkdir -p "$TMP/web/assets"; echo '<h1>portal</h1>' >"$TMP/web/index.html"; echo 'x' >"$TMP/web/assets/a.js"
echo secret >"$TMP/secret.txt"
start_server --web "$TMP/web"
[ -n "$PORT" ] || { fail "server started" "$(cat "$TMP/serve.log")"; done_testing; exit 0; }
ok "server started on port $PORT"
assert_eq "dataflow 200" 200 "$(code "$BASE/rest/dataflow")"
ct=$(curl -s -o /dev/null -w '%{content_type}' "$BASE/rest/dataflow/NMDI/MIG_STOCK/1.0")
assert_eq "structure content type" "application/vnd.sdmx.structure+xml; version=2.1" "$ct"
ct=$(curl -s -o /dev/null -w '%{content_type}' "$BASE/rest/data/MIG_STOCK")
assert_eq "default data format: generic" "application/vnd.sdmx.genericdata+xml; version=2.1" "$ct"
ct=$(curl -s -o /dev/null -w '%{content_type}' -H 'Accept: */*' "$BASE/rest/data/MIG_STOCK")
assert_eq "*/* gives generic" "application/vnd.sdmx.genericdata+xml; version=2.1" "$ct"
ct=$(curl -s -o /dev/null -w '%{content_type}' -H 'Accept: application/vnd.sdmx.structurespecificdata+xml;version=2.1' "$BASE/rest/data/MIG_STOCK")
assert_eq "structure-specific by Accept" "application/vnd.sdmx.structurespecificdata+xml; version=2.1" "$ct"
ct=$(curl -s -o /dev/null -w '%{content_type}' "$BASE/rest/data/MIG_STOCK?format=jsondata")
assert_eq "format=jsondata" "application/vnd.sdmx.data+json; version=1.0.0; charset=utf-8" "$ct"
body=$(curl -s -H 'Accept: application/vnd.sdmx.data+csv;version=1.0.0' "$BASE/rest/data/NMDI,MIG_STOCK,1.0/F+M.DEU.?startPeriod=2021")
assert_eq "SDMX-CSV with key and startPeriod" "DATAFLOW,SEX,COUNTRY_OF_BIRTH,TIME_PERIOD,OBS_VALUE,OBS_STATUS,CONF_STATUS,UNIT_MEASURE,SE,CV,CI_LOW,CI_HIGH,N_UNWEIGHTED
NMDI:MIG_STOCK(1.0),F,DEU,2021,130,A,F,PS,,,,,
NMDI:MIG_STOCK(1.0),M,DEU,2021,101,A,F,PS,,,,," "$(printf '%s' "$body" | tr -d '\r')"
assert_eq "406 for an unknown format" 406 "$(code -H 'Accept: image/png' "$BASE/rest/data/MIG_STOCK")"
assert_eq "404 unknown flow" 404 "$(code "$BASE/rest/data/NOPE")"
assert_eq "404 no results" 404 "$(code "$BASE/rest/data/MIG_STOCK/F.FRA.")"
assert_eq "400 bad key length" 400 "$(code "$BASE/rest/data/MIG_STOCK/F.DEU")"
assert_eq "400 bad period" 400 "$(code "$BASE/rest/data/MIG_STOCK?startPeriod=2020-Q7")"
assert_eq "400 bad detail" 400 "$(code "$BASE/rest/data/MIG_STOCK?detail=everything")"
assert_eq "501 unsupported resource" 501 "$(code "$BASE/rest/categoryscheme")"
assert_eq "404 unknown structure" 404 "$(code "$BASE/rest/codelist/NMDI/CL_NOPE")"
assert_eq "405 POST" 405 "$(code -X POST -d x=1 "$BASE/rest/dataflow")"
etag=$(curl -s -D - -o /dev/null "$BASE/rest/data/MIG_STOCK" | tr -d '\r' | awk 'tolower($1)=="etag:"{print $2}')
[ -n "$etag" ] && ok "ETag sent" || fail "ETag sent"
assert_eq "304 on If-None-Match" 304 "$(code -H "If-None-Match: $etag" "$BASE/rest/data/MIG_STOCK")"
assert_eq "304 on If-Modified-Since" 304 "$(code -H 'If-Modified-Since: Sat, 28 Nov 2026 00:00:00 GMT' "$BASE/rest/data/MIG_STOCK")"
check "dataflow references=all has codelists" sh -c "curl -s '$BASE/rest/dataflow/NMDI/MIG_STOCK?references=all' | grep -q 'str:Codelist id=\"CL_SEX\"'"
check "codelist names in Chinese" sh -c "curl -s '$BASE/rest/codelist/NMDI/CL_SEX' | grep -q '>女<'"
# JSON API
assert_eq "api release" "20261127-1" "$(curl -s "$BASE/api/v1/release" | sed -n 's/.*"version": "\([^"]*\)".*/\1/p' | head -1)"
curl -s "$BASE/api/v1/tables/MIG_STOCK?SEX=F&TIME_PERIOD=2021" >"$TMP/t.json"
check "api table filter" grep -Eq '"observations":\[\{"key":\{"SEX":"F","COUNTRY_OF_BIRTH":"DEU","TIME_PERIOD":"2021"\},"value":130(\.0)?,' "$TMP/t.json"
check "withheld value is null" sh -c "curl -s '$BASE/api/v1/tables/MIG_STOCK?COUNTRY_OF_BIRTH=CHN' | grep -q '\"value\":null'"
assert_eq "api unknown dimension 400" 400 "$(code "$BASE/api/v1/tables/MIG_STOCK?NOPE=1")"
check "api CSV has no cell key" sh -c "curl -s '$BASE/api/v1/tables/MIG_STOCK.csv' | head -1 | grep -vq ckey"
check "DCAT catalogue" sh -c "curl -s '$BASE/dcat.jsonld' | grep -q 'dcat:Dataset'"
check "UN DESA reference" sh -c "curl -s '$BASE/api/v1/reference/undesa' | grep -q 'Germany'"
# static files and traversal
assert_eq "portal index" "<h1>portal</h1>" "$(curl -s "$BASE/")"
assert_eq "client route falls back to the app" "<h1>portal</h1>" "$(curl -s "$BASE/tables/MIG_STOCK")"
assert_eq "traversal refused" 400 "$(code --path-as-is "$BASE/../secret.txt")"
assert_eq "encoded traversal refused" 400 "$(code --path-as-is "$BASE/%2e%2e/secret.txt")"
# tokens and audit
assert_eq "whoami without token 401" 401 "$(code "$BASE/api/v1/whoami")"
tok=$("$NMDI" token "$TMP/infra" create --role admin 2>/dev/null)
case "$tok" in nmdi_*) ok "token created";; *) fail "token created" "$tok";; esac
assert_eq "bad token 401" 401 "$(code -H 'Authorization: Bearer nmdi_0000' "$BASE/api/v1/release")"
assert_eq "whoami with token" 200 "$(code -H "Authorization: Bearer $tok" "$BASE/api/v1/whoami")"
assert_eq "work tables for admin" 200 "$(code -H "Authorization: Bearer $tok" "$BASE/api/v1/work/tables")"
check "audit log records the access" sh -c "curl -s -H 'Authorization: Bearer $tok' '$BASE/api/v1/audit' | grep -q '/api/v1/work/tables'"
check "token stored hashed" sh -c "! grep -q '$tok' '$TMP/infra/serve.db'"
# a new release is picked up while serving
"$NMDI" -q publish "$TMP/infra" --now 2026-11-27T12:00:00Z >/dev/null
i=0; v=""
while [ $i -lt 50 ]; do
    v=$(curl -s "$BASE/api/v1/release" | sed -n 's/.*"version": "\([^"]*\)".*/\1/p' | head -1)
    [ "$v" = "20261127-2" ] && break
    sleep 0.1; i=$((i + 1))
done
assert_eq "new release served without restart" "20261127-2" "$v"
stop_server
assert_eq "clean shutdown on SIGTERM" 0 "$SERVER_RC"
# TLS when given a certificate
if command -v openssl >/dev/null 2>&1 &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1; then
    start_server --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem"
    assert_eq "HTTPS with --tls-cert/--tls-key" 200 "$(code --cacert "$TMP/cert.pem" "https://localhost:$PORT/rest/dataflow")"
    assert_eq "plain HTTP refused on the TLS port" 000 "$(code --max-time 3 "http://127.0.0.1:$PORT/rest/dataflow")"
    stop_server
else
    skip "TLS" "openssl absent"
fi
"$NMDI" serve "$TMP/infra" --tls-cert "$TMP/cert.pem" 2>/dev/null
assert_eq "--tls-cert without --tls-key is a usage error" 1 "$?"
done_testing
