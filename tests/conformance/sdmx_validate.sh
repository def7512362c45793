#!/bin/sh
# Every SDMX-ML message nmdi serves validates against the official SDMX-ML
# 2.1 schemas (../shared/data/sdmx/sdmx-ml-v2_1/schemas) with xmllint:
# structure messages (full, stubs, references), generic data (time series,
# flat, cross-section, each detail) and structure-specific data with the
# DSD-specific schema the server serves under /rest/schema/.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cli/serve_fixture.inc"
S="$NMDI_SHARED/data/sdmx/sdmx-ml-v2_1/schemas"
if [ ! -f "$S/SDMXMessage.xsd" ]; then skip "sdmx validation" "NMDI_SHARED schemas absent"; done_testing; exit 0; fi
if ! command -v xmllint >/dev/null; then skip "sdmx validation" "xmllint not installed"; done_testing; exit 0; fi
make_infra
"$NMDI" -q publish "$TMP/infra" --now 2026-11-27T10:00:00Z >/dev/null
check "release structure.xml validates" xmllint --noout --schema "$S/SDMXMessage.xsd" "$TMP/infra/releases/20261127-1/sdmx/structure.xml"
start_server
[ -n "$PORT" ] || { fail "server started" "$(cat "$TMP/serve.log")"; done_testing; exit 0; }
n=0
valid() { # description, url, [accept]
    n=$((n + 1))
    if [ -n "${3:-}" ]; then curl -s -H "Accept: $3" -o "$TMP/m$n.xml" "$BASE$2"; else curl -s -o "$TMP/m$n.xml" "$BASE$2"; fi
    check "$1" xmllint --noout --schema "$S/SDMXMessage.xsd" "$TMP/m$n.xml"
}
valid "all structures" "/rest/dataflow/all/all/latest?references=all"
valid "dataflow stubs" "/rest/dataflow?detail=allstubs"
valid "datastructure with children" "/rest/datastructure/NMDI/DSD_MIG_STOCK/1.0?references=children"
valid "codelist parents" "/rest/codelist/NMDI/CL_SEX?references=parentsandsiblings"
valid "concept scheme" "/rest/conceptscheme"
for t in MIG_STOCK SURVEY_SHARE; do
    for q in "" "?dimensionAtObservation=AllDimensions" "?dimensionAtObservation=SEX" "?detail=dataonly" \
             "?detail=serieskeysonly" "?detail=nodata" "?lastNObservations=1"; do
        valid "generic data $t $q" "/rest/data/$t/all/all$q"
    done
    for dao in TIME_PERIOD AllDimensions SEX; do
        curl -s -o "$TMP/$t-$dao.xsd" "$BASE/rest/schema/dataflow/NMDI/$t/1.0?dimensionAtObservation=$dao"
        sed -i "s#schemaLocation=\"[^\"]*/\\(SDMX[A-Za-z]*\\.xsd\\)\"#schemaLocation=\"$S/\\1\"#g" "$TMP/$t-$dao.xsd"
        curl -s -H 'Accept: application/vnd.sdmx.structurespecificdata+xml;version=2.1' \
            -o "$TMP/$t-$dao.xml" "$BASE/rest/data/$t?dimensionAtObservation=$dao"
        check "structure-specific data $t at $dao validates with the served DSD schema" \
            xmllint --noout --schema "$TMP/$t-$dao.xsd" "$TMP/$t-$dao.xml"
    done
done
# a wrong value must not validate: the schema is not a rubber stamp
sed 's/SEX="F"/SEX="Q"/' "$TMP/MIG_STOCK-TIME_PERIOD.xml" >"$TMP/bad.xml"
if xmllint --noout --schema "$TMP/MIG_STOCK-TIME_PERIOD.xsd" "$TMP/bad.xml" 2>/dev/null; then
    fail "a code outside the codelist fails validation"
else
    ok "a code outside the codelist fails validation"
fi
stop_server
done_testing
