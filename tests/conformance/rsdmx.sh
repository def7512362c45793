#!/bin/sh
# R's rsdmx (Debian r-cran-rsdmx) reads the dataflows, the data structure
# definition (with codelists and concepts) and the data from a running
# `nmdi serve`, and the values equal the release's.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cli/serve_fixture.inc"
if ! command -v Rscript >/dev/null 2>&1; then skip "rsdmx" "Rscript not installed"; done_testing; exit 0; fi
if ! Rscript -e 'suppressMessages(library(rsdmx))' >/dev/null 2>&1; then skip "rsdmx" "R package rsdmx not installed"; done_testing; exit 0; fi
make_infra
"$NMDI" -q publish "$TMP/infra" --now 2026-11-27T10:00:00Z >/dev/null
start_server
[ -n "$PORT" ] || { fail "server started" "$(cat "$TMP/serve.log")"; done_testing; exit 0; }
cat >"$TMP/check.R" <<'R'
suppressMessages(library(rsdmx))
base <- commandArgs(TRUE)[1]
out <- function(...) cat(..., "\n", sep = "")
flows <- as.data.frame(readSDMX(paste0(base, "/rest/dataflow")))
out("flows=", paste(sort(flows$id), collapse = ","))
dsd <- readSDMX(paste0(base, "/rest/datastructure/NMDI/DSD_MIG_STOCK?references=children"))
cls <- sapply(slot(slot(dsd, "codelists"), "codelists"), function(x) slot(x, "id"))
out("codelists=", paste(sort(cls), collapse = ","))
sex <- as.data.frame(slot(dsd, "codelists"), codelistId = "CL_SEX")
out("sex=", paste(sex$id, collapse = ","), " ", paste(sex$label.en, collapse = "|"))
ds <- slot(slot(dsd, "datastructures"), "datastructures")[[1]]
comp <- slot(ds, "Components")
dims <- c(sapply(slot(comp, "Dimensions"), function(x) slot(x, "conceptRef")),
          slot(slot(comp, "TimeDimension"), "conceptRef"))
out("dims=", paste(dims, collapse = ","))
d <- as.data.frame(readSDMX(paste0(base, "/rest/data/MIG_STOCK")))
d <- d[order(d$SEX, d$COUNTRY_OF_BIRTH, d$obsTime, method = "radix"), ]
out("rows=", nrow(d))
out("values=", paste(d$SEX, d$COUNTRY_OF_BIRTH, d$obsTime, d$obsValue, d$OBS_STATUS, sep = ":", collapse = " "))
ss <- as.data.frame(readSDMX(paste0(base, "/rest/data/MIG_STOCK?format=structurespecificdata")))
ss <- ss[order(ss$SEX, ss$COUNTRY_OF_BIRTH, ss$TIME_PERIOD, method = "radix"), ]
out("ssvalues=", paste(ss$SEX, ss$COUNTRY_OF_BIRTH, ss$TIME_PERIOD, as.numeric(ss$OBS_VALUE), ss$OBS_STATUS, sep = ":", collapse = " "))
s <- as.data.frame(readSDMX(paste0(base, "/rest/data/SURVEY_SHARE/F..")))
out("survey=", paste(s$obsValue, s$SE, s$CV, s$N_UNWEIGHTED, sep = ":"))
R
Rscript "$TMP/check.R" "$BASE" >"$TMP/r.out" 2>"$TMP/r.err"
rc=$?
assert_eq "Rscript ran" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$TMP/r.err" | tail -20
get() { sed -n "s/^$1=//p" "$TMP/r.out"; }
assert_eq "rsdmx reads the dataflows" "MIG_STOCK,SURVEY_SHARE" "$(get flows)"
assert_eq "rsdmx reads the codelists of the DSD" "CL_AREA,CL_CONF_STATUS,CL_OBS_STATUS,CL_SEX,CL_UNIT" "$(get codelists)"
assert_eq "rsdmx reads codes and names" "_T,F,M Total|Female|Male" "$(get sex)"
assert_eq "rsdmx reads the dimensions" "SEX,COUNTRY_OF_BIRTH,TIME_PERIOD" "$(get dims)"
assert_eq "rsdmx reads every observation" 7 "$(get rows)"
# the release's values (withheld CHN cell has no value: NA)
assert_eq "values equal the release" "F:CHN:2020:NA:M F:DEU:2020:120:A F:DEU:2021:130:A M:DEU:2020:95:A M:DEU:2021:101:A _T:DEU:2020:215:A _T:DEU:2021:231:A" "$(get values)"
assert_eq "structure-specific data read, values equal the release" "$(get values)" "$(get ssvalues)"
assert_eq "survey estimate, SE, CV, n" "12.5:1.2:0.096:230" "$(get survey)"
stop_server
done_testing
