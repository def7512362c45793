# bench/workloads.sh — the workloads of bench/run.sh (sourced). Each wl_<name>
# runs nmdi and its peers on the same files, checks that the answers agree and
# adds one or more rows (row WORKLOAD NMDI_T PEER PEER_T NMDI_MEM PEER_MEM
# THROUGHPUT AGREE).
# Files of the synthetic country (docs/synthetic-country.md):
CROSSINGS_FILE=${CROSSINGS_FILE:-sources/border_crossings.csv}
CENSUS_FILE=${CENSUS_FILE:-sources/census_persons.csv}
LFS_FILE=${LFS_FILE:-sources/lfs.csv}
MOBILE_FILE=${MOBILE_FILE:-sources/mobile_presence.csv}
MOBILE_AREAS=${MOBILE_AREAS:-sources/mobile_areas.csv}
TRUTH_CROSSINGS=${TRUTH_CROSSINGS:-truth/crossings.csv}
WORKLOADS="load tabulate survey residence derive link link1m mobile api"
# loadbig (memory against file size, minutes of work) runs only when asked: BENCH_ONLY=loadbig
case "${BENCH_ONLY:-}" in loadbig*) WORKLOADS="$WORKLOADS loadbig" ;; esac

sqlite_peer() { # NAME SQL...   runs in a fresh database file
    rm -f "$W/peer.db"
    measure "$1" sqlite3 "$W/peer.db" "${@:2}"
}
have_duck() { [ -d "$BENCH/node_modules/@duckdb/node-api" ]; }

pg_start() {
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)
    [ -x "$PGBIN/initdb" ] || { log "PostgreSQL not installed"; return 1; }
    PGDIR=$W/pg; PGPORT=54329
    rm -rf "$PGDIR"; mkdir -p "$PGDIR"
    local asuser=""
    if [ "$(id -u)" = 0 ]; then chown -R postgres "$PGDIR" 2>/dev/null; chmod 755 "$W" "$S" 2>/dev/null; asuser="runuser -u postgres --"; fi
    $asuser "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >/dev/null 2>&1 || { log "initdb failed"; return 1; }
    $asuser "$PGBIN/pg_ctl" -D "$PGDIR/data" -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_parallel_workers_per_gather=$THREADS -c work_mem=256MB" -l "$PGDIR/log" -w start >/dev/null || { log "pg_ctl start failed: $(tail -3 "$PGDIR/log")"; return 1; }
    PSQL="psql -X -h 127.0.0.1 -p $PGPORT -U postgres -q -t -A"
    PGASUSER=$asuser
}
pg_stop() { [ -n "${PGDIR:-}" ] && $PGASUSER "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1; }
# peak memory of the PostgreSQL server is not the psql client's: report "-" for it

header_cols() { head -1 "$1" | tr -d '\r'; }
sql_create() { # TABLE FILE → CREATE TABLE with text columns
    local cols; cols=$(header_cols "$2" | sed 's/[^,]*/"&" text/g')
    echo "CREATE TABLE $1 ($cols);"
}
rate() { awk -v n="$1" -v t="$2" -v u="$3" 'BEGIN{ if (t <= 0) t = 0.01; r = n / t; if (r >= 1e6) printf "%.2f M %s/s", r/1e6, u; else printf "%.0f %s/s", r, u }'; }

# ---- load: CSV into the store (validated, pseudonymised) vs a bare parse into a table
# Per core: nmdi's CPU seconds (user + sys of the whole load, /usr/bin/time) against DuckDB
# with threads=1 (its statement time: one core busy) and SQLite .import (user + sys, one
# thread). The nmdi load also validates, pseudonymises, writes ~4.5x the input as typed
# columns and fsyncs them; the peers only parse text into memory or one table.
cpu_of() { awk '{printf "%.2f", $2 + $3}' "$1"; } # time file "%e %U %S %M" -> user+sys
load_one() { # SOURCE FILE
    local src=$1 f=$2
    [ -f "$f" ] || { log "no $f"; return 1; }
    local rows mb; rows=$(($(wc -l <"$f") - 1)); mb=$(du -m "$f" | cut -f1)
    local what="load $src ($rows rows, $mb MB)"
    local nt=NA nm=0 nrows=NA ncpu=NA acc=""
    if "$LOADER" help 2>/dev/null | grep -q '^  load '; then
        rm -rf "$W/infra"; "$LOADER" -q init "$W/infra" >/dev/null 2>"$W/init.err" || log "nmdi init failed: $(tail -1 "$W/init.err")"
        if /usr/bin/time -f '%e %U %S %M' -o "$W/load_nmdi_$src.time" "$LOADER" --threads "$THREADS" -q load "$W/infra" "$src" "$f" --json \
            >"$W/load_nmdi_$src.out" 2>"$W/load_nmdi_$src.err"; then
            read -r nt _ _ nm <"$W/load_nmdi_$src.time"; nm=$((nm / 1024))
            ncpu=$(cpu_of "$W/load_nmdi_$src.time")
            # read = loaded + quarantined
            nrows=$(tr -d ' \n' <"$W/load_nmdi_$src.out" | grep -o '"read":[0-9]*' | head -1 | cut -d: -f2)
            acc=$(tr -d ' \n' <"$W/load_nmdi_$src.out" | grep -o '"read":[0-9]*,"loaded":[0-9]*,"quarantined":[0-9]*' | head -1)
        else
            log "nmdi load $src failed: $(tail -2 "$W/load_nmdi_$src.err")"
        fi
    else
        log "nmdi load is not in this build"
    fi
    local tp="NA"; [ "$nt" != NA ] && tp="$(rate "$rows" "$nt" rows), $(awk "BEGIN{printf \"%.1f MB/s\", $mb/$nt}"); CPU $ncpu s = $(awk "BEGIN{printf \"%.0f\", $rows/$ncpu}") rows per CPU-second"
    if have_duck; then
        measure "load_duck_$src" node "$BENCH/duck.mjs" "$THREADS" "CREATE TABLE t AS SELECT * FROM read_csv('$f', all_varchar=true, header=true)" "SELECT count(*) FROM t"
        local dt; dt=$(sed -n 1p "$W/load_duck_$src.err" | awk '{print $2}' | tr -d s)
        row "$what" "$nt" "DuckDB read_csv into an in-memory table, threads=$THREADS (statement time; whole node process $T s)" "${dt:-NA}" "$nm" "$M" "$tp" "rows nmdi $nrows ($acc), DuckDB $(cat "$W/load_duck_$src.out")"
        # per core: DuckDB on one thread; its statement time is the CPU time of that core
        measure "load_duck1_$src" node "$BENCH/duck.mjs" 1 "CREATE TABLE t AS SELECT * FROM read_csv('$f', all_varchar=true, header=true)" "SELECT count(*) FROM t"
        local d1; d1=$(sed -n 1p "$W/load_duck1_$src.err" | awk '{print $2}' | tr -d s)
        [ "$ncpu" != NA ] && row "$what, per core: nmdi CPU seconds (user+sys, --threads $THREADS)" "$ncpu" "DuckDB read_csv threads=1 (statement time = one core)" "${d1:-NA}" "$nm" "$M" \
            "nmdi $(awk "BEGIN{printf \"%.0f\", $rows/$ncpu}") rows per CPU-second, DuckDB $(awk "BEGIN{printf \"%.0f\", $rows/${d1:-1}}") rows per CPU-second" "rows DuckDB $(cat "$W/load_duck1_$src.out")"
    fi
    rm -f "$W/peer.db"
    /usr/bin/time -f '%e %U %S %M' -o "$W/load_sqlite_$src.time" sqlite3 "$W/peer.db" -cmd ".mode csv" -cmd ".import '$f' t" "SELECT count(*) FROM t" >"$W/load_sqlite_$src.out" 2>"$W/load_sqlite_$src.err"
    local st sm; read -r st _ _ sm <"$W/load_sqlite_$src.time"; sm=$((sm / 1024))
    row "$what" "$nt" "SQLite .import" "$st" "$nm" "$sm" "$tp" "rows nmdi $nrows, SQLite $(cat "$W/load_sqlite_$src.out")"
    [ "$ncpu" != NA ] && row "$what, per core: nmdi CPU seconds" "$ncpu" "SQLite .import (CPU seconds, one thread)" "$(cpu_of "$W/load_sqlite_$src.time")" "$nm" "$sm" \
        "SQLite $(awk "BEGIN{printf \"%.0f\", $rows/$(cpu_of "$W/load_sqlite_$src.time")}") rows per CPU-second" "-"
    if pg_start; then
        $PSQL -c "$(sql_create t "$f")" >/dev/null
        measure "load_pg_$src" $PSQL -c "\\copy t FROM '$f' WITH (FORMAT csv, HEADER true)"
        row "$what" "$nt" "PostgreSQL COPY (client+server)" "$T" "$nm" "-" "$tp" "rows nmdi $nrows, PostgreSQL $($PSQL -c 'select count(*) from t')"
        pg_stop
    fi
}

wl_load() {
    case " ${BENCH_LOAD_SOURCES:-border_crossings census_persons} " in *" border_crossings "*) load_one border_crossings "$S/$CROSSINGS_FILE" ;; esac
    case " ${BENCH_LOAD_SOURCES:-border_crossings census_persons} " in *" census_persons "*) load_one census_persons "$S/$CENSUS_FILE" ;; esac
}

# ---- loadbig: peak memory of `nmdi load` against the size of the file (not in the default
# WORKLOADS: BENCH_ONLY=loadbig). Border-crossing files of BENCH_LOADBIG_MB (MB, default
# "256 512 1024 2048") are built from the synthetic file by concatenating copies whose
# document numbers and record ids are renumbered (each copy: new travellers), then loaded
# one by one; each file is deleted after its load. Peak RSS should not grow with the size.
wl_loadbig() {
    local src=$S/$CROSSINGS_FILE
    [ -f "$src" ] || { log "no $src"; return 1; }
    "$LOADER" help 2>/dev/null | grep -q '^  load ' || { log "nmdi load is not in this build"; return 1; }
    local mb f rows
    for mb in ${BENCH_LOADBIG_MB:-256 512 1024 2048}; do
        f=$W/crossings_${mb}mb.csv
        # copy k renumbers DOC_NO (column 8) and REC_ID (column 1) with a suffix
        awk -F, -v OFS=, -v max=$((mb * 1048576)) -v src="$src" 'BEGIN {
                while ((getline l < src) > 0) { if (!h) { print l; n += length(l) + 1; h = 1 } }
                close(src)
                for (k = 0; n < max; k++) {
                    first = 1
                    while (n < max && (getline l < src) > 0) {
                        if (first) { first = 0; continue }
                        split(l, a, ","); if (k) { a[1] = a[1] "K" k; a[8] = a[8] "K" k }
                        out = a[1]; for (i = 2; i <= 14; i++) out = out "," a[i]
                        print out; n += length(out) + 1
                    }
                    close(src)
                }
            }' >"$f"
        rows=$(($(wc -l <"$f") - 1))
        local size; size=$(du -m "$f" | cut -f1)
        rm -rf "$W/infra"; "$LOADER" -q init "$W/infra" >/dev/null 2>&1
        /usr/bin/time -f '%e %U %S %M' -o "$W/loadbig.time" "$LOADER" --threads "$THREADS" -q load "$W/infra" border_crossings "$f" --json \
            >"$W/loadbig_$mb.out" 2>"$W/loadbig_$mb.err" || log "loadbig $mb failed: $(tail -2 "$W/loadbig_$mb.err")"
        local t u sy m; read -r t u sy m <"$W/loadbig.time"
        local acc; acc=$(tr -d ' \n' <"$W/loadbig_$mb.out" | grep -o '"read":[0-9]*,"loaded":[0-9]*,"quarantined":[0-9]*' | head -1)
        row "load border_crossings, large file ($rows rows, $size MB)" "$t" "(memory bound: no peer)" NA "$((m / 1024))" "-" \
            "$(rate "$rows" "$t" rows), CPU $(awk "BEGIN{printf \"%.1f s = %.0f rows per CPU-second\", $u+$sy, $rows/($u+$sy)}")" "${acc:-NA}"
        rm -f "$f"; rm -rf "$W/infra"
    done
}

# ---- tabulate: weighted 4-D cube with margins (sex x 5-year age x country of birth x region)
census5() { # the census with a 5-year age group column AGE5 (same file for nmdi and the peers)
    local f=$S/census_age5.csv
    [ -f "$f" ] || awk -F, -v OFS=, 'NR==1{print $0 ",AGE5"; next}
        {a=$7+0; g=(a>=85)?"Y_GE85":sprintf("Y%dT%d", int(a/5)*5, int(a/5)*5+4); print $0 "," g}' "$S/$CENSUS_FILE" >"$f"
    echo "$f"
}
wl_tabulate() {
    [ -f "$S/$CENSUS_FILE" ] || { log "no $S/$CENSUS_FILE"; return 1; }
    local f; f=$(census5)
    local rows; rows=$(($(wc -l <"$f") - 1))
    measure tab_nmdi "$NMDI" --threads "$THREADS" tabulate "$f" --by SEX,AGE5,COB,REGION --weight WEIGHT --margins || return 1
    local nt=$T nm=$M cells; cells=$(($(wc -l <"$W/tab_nmdi.out") - 1))
    # nmdi's answer: cells, grand total, total of women (SEX=2, other dimensions _T)
    local ntot nfem
    ntot=$(awk -F, '$1=="_T"&&$2=="_T"&&$3=="_T"&&$4=="_T"{printf "%.6g", $5}' "$W/tab_nmdi.out")
    nfem=$(awk -F, '$1=="2"&&$2=="_T"&&$3=="_T"&&$4=="_T"{printf "%.6g", $5}' "$W/tab_nmdi.out")
    local nans="$cells/$ntot/$nfem"
    local tp; tp=$(rate "$rows" "$nt" rows)
    local dims='"SEX", "AGE5", "COB", "REGION"'
    local cube="SELECT $dims, sum(\"WEIGHT\"::float8) v, count(*) n, GROUPING($dims) g FROM p GROUP BY CUBE ($dims)"
    local check="SELECT (SELECT count(*) FROM r) || '/' || (SELECT round(v::numeric, 6) FROM r WHERE g = 15) || '/' || (SELECT round(v::numeric, 6) FROM r WHERE g = 7 AND \"SEX\" = '2')"
    if have_duck; then
        measure tab_duck node "$BENCH/duck.mjs" "$THREADS" \
            "CREATE TABLE p AS SELECT * FROM read_csv('$f', all_varchar=true, header=true)" \
            "CREATE TABLE r AS $cube" "$check"
        local rd qd; rd=$(sed -n 1p "$W/tab_duck.err" | awk '{print $2}' | tr -d s); qd=$(sed -n 2p "$W/tab_duck.err" | awk '{print $2}' | tr -d s)
        local dans; dans=$(sed 's/\.0*\//\//g; s/\.0*$//' "$W/tab_duck.out")
        row "4-D weighted cube with margins ($rows rows, $cells cells)" "$nt" "DuckDB read_csv + GROUP BY CUBE" \
            "$(awk "BEGIN{printf \"%.3f\", ${rd:-0}+${qd:-0}}")" "$nm" "$M" "$tp" "cells/total/women nmdi $nans, DuckDB $dans"
        row "4-D weighted cube with margins ($rows rows, $cells cells)" "$nt" "DuckDB GROUP BY CUBE (query only, table in memory)" "${qd:-NA}" "$nm" "-" "$tp" "as above"
    fi
    if pg_start; then
        $PSQL -c "$(sql_create p "$f")" >/dev/null
        $PSQL -c "\\copy p FROM '$f' WITH (FORMAT csv, HEADER true)" >/dev/null
        measure tab_pg $PSQL -c "CREATE TABLE r AS $cube"
        local pans; pans=$($PSQL -c "$check" | sed 's/\.0*\//\//g; s/\.0*$//')
        row "4-D weighted cube with margins ($rows rows, $cells cells)" "$nt" "PostgreSQL GROUP BY CUBE (query only, table loaded)" "$T" "$nm" "-" "$tp" "cells/total/women nmdi $nans, PostgreSQL $pans"
        pg_stop
    fi
}

# ---- survey: domain means with Taylor SEs vs R survey::svyby
svy_case() { # NAME FILE IDS STRATA WEIGHT Y BY LABEL [R_TIMEOUT]
    local name=$1 f=$2 psu=$3 strata=$4 wt=$5 y=$6 by=$7 label=$8 rmax=${9:-${BENCH_R_TIMEOUT:-600}}
    local rows; rows=$(($(wc -l <"$f") - 1))
    measure "svy_nmdi_$name" "$NMDI" survey "$f" --ids "$psu" --strata "$strata" --weights "$wt" --nest --lonely-psu adjust --mean "$y" --by "$by" || return 1
    local nt=$T nm=$M dom; dom=$(($(wc -l <"$W/svy_nmdi_$name.out") - 1))
    local tp; tp=$(rate "$rows" "$nt" records)
    if command -v Rscript >/dev/null && Rscript -e 'library(survey)' >/dev/null 2>&1; then
        local nby; nby=$(echo "$by" | tr ',' '\n' | wc -l)
        cat >"$W/svy_$name.R" <<REOF
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust")
byv <- strsplit("$by", ",")[[1]]
cc <- setNames(rep("character", length(byv)), byv)
d <- read.csv("$f", colClasses = cc, na.strings = c("", "NA"))
des <- svydesign(ids=~$psu, strata=~$strata, weights=~$wt, nest=TRUE, data=d)
byf <- as.formula(paste0("~", paste(byv, collapse = "+")))
t0 <- proc.time()[["elapsed"]]
r <- svyby(~$y, byf, des, svymean, na.rm=TRUE)
cat(proc.time()[["elapsed"]] - t0, nrow(r), "\n", file=stderr())
out <- data.frame(key = do.call(paste, c(as.list(r[byv]), sep = "|")), est = r[["$y"]], se = SE(r))
write.csv(out, "$W/svy_r_$name.csv", row.names = FALSE, quote = FALSE)
REOF
        measure "svy_r_$name" timeout "$rmax" Rscript "$W/svy_$name.R"
        local rt agree; rt=$(tail -1 "$W/svy_r_$name.err" | awk '{print $1}')
        # largest relative difference of estimates and SEs over the domains both give
        agree=$(awk -F, -v nby="$nby" 'FNR==1{next} NR==FNR{k=$1; for(i=2;i<=nby;i++) k=k "|" $i; e[k]=$(nby+3); s[k]=$(nby+4); next}
            ($1 in e){m++; d=($2==0)?0:(e[$1]-$2)/$2; d=d<0?-d:d; if(d>de)de=d
                # SE: relative to the R value; SEs below 1e-9 of the estimate count as 0 (rounding noise of all-equal values)
                t=1e-9*($2<0?-$2:$2); a=s[$1]-$3; a=a<0?-a:a; if(a>t){d=a/($3>t?$3:t); if(d>ds)ds=d}}
            END{printf "%d domains matched; max rel. diff estimate %.1e, SE %.1e", m, de, ds}' "$W/svy_nmdi_$name.out" "$W/svy_r_$name.csv" 2>/dev/null)
        [ -f "$W/svy_r_$name.csv" ] || { agree="R did not finish within $rmax s (stopped)"; rt=NA; }
        row "$label: mean of $y in $dom domains ($rows records)" "$nt" "R svyby (estimation only)" "${rt:-NA}" "$nm" "$M" "$tp" "$agree"
        row "$label: mean of $y in $dom domains ($rows records)" "$nt" "R read.csv + svydesign + svyby" "$T" "$nm" "$M" "$tp" "as above"
    else
        row "$label: mean of $y in $dom domains ($rows records)" "$nt" "(R survey absent)" NA "$nm" "-" "$tp" "-"
    fi
}
wl_survey() {
    [ -f "$S/$LFS_FILE" ] || { log "no $S/$LFS_FILE"; return 1; }
    svy_case lfs "$S/$LFS_FILE" PSU STRATUM WEIGHT AGE REGION,SEX,COUNTRYB "LFS (2-stage design)"
    # the census as a large clustered sample (EA clusters, regions as strata): ~2,000 domains
    local f; f=$(census5)
    svy_case census "$f" EA REGION WEIGHT AGE REGION,SEX,COB "census as a cluster sample" "${BENCH_R_TIMEOUT:-240}"
    # the issue's case: 1,000,000 records and ~2,000 domains (area x single year of age x sex):
    # the census records, then as many of them again as make up 1,000,000, the repeats in
    # clusters of their own (EA + 1000000); LIVED_ABROAD (1/2) estimated by domain
    local g=$W/census_1m.csv
    if [ ! -f "$g" ]; then
        local have; have=$(($(wc -l <"$S/$CENSUS_FILE") - 1))
        { cat "$S/$CENSUS_FILE"
          awk -F, -v OFS=, -v need=$((1000000 - have)) 'NR>1 && NR<=need+1{$9=$9+1000000; print}' "$S/$CENSUS_FILE"
        } >"$g.tmp" && mv "$g.tmp" "$g"
    fi
    svy_case census1m "$g" EA REGION WEIGHT LIVED_ABROAD REGION,AGE,SEX "1 M records, area x age x sex" "${BENCH_R_TIMEOUT:-400}"
}

# ---- residence: the 12/16-month rule over all true crossings
wl_residence() {
    local src=$S/$TRUTH_CROSSINGS f=$W/crossings_std.csv
    [ -f "$src" ] || { log "no $src"; return 1; }
    # the truth's crossings in the standalone command's layout (+ the truth's long_term flag, ignored by nmdi)
    awk -F, 'NR==1{print "person_id,crossing_id,date,direction,truth_long_term"; next} {print $1 "," NR-1 "," $3 "," $4 "," $6}' "$src" >"$f"
    local rows mb; rows=$(($(wc -l <"$f") - 1)); mb=$(du -m "$f" | cut -f1)
    # initial residence status at the window start, as a population register would give it
    # (the truth's spell covering the start, or the birth spell)
    local d0; d0=$(grep -o '"window_start": *"[0-9-]*' "$S/synth.json" | grep -o '[0-9-]*$'); d0=${d0:-2019-01-01}
    awk -F, -v d0="$d0" 'NR==1{print "person_id,resident,date_final"; next}
        !($1 in seen) && ($6=="" || $6>=d0){seen[$1]=1; print $1 "," $7 "," d0}' "$S/truth/spells.csv" >"$W/initial.csv"
    measure res_nmdi "$NMDI" --threads "$THREADS" residence "$f" --initial "$W/initial.csv" || return 1
    local nt=$T nm=$M
    # agreement with the truth (which knows the future beyond the window: provisional crossings may differ)
    local agree; agree=$(awk -F, 'NR==FNR{if(FNR>1) t[$2]=$5; next} FNR>1{n++; e=(($7==1)==(t[$2]==1)); a+=e; if($7==1) l++; if(t[$2]==1) tl++; if($11==0){nf++; af+=e}}
        END{printf "long-term flag = truth for %.2f%% of all crossings (%.3f%% of the %d final ones; the rest are provisional: within 487 days of the cut-off); long-term: nmdi %d, truth %d", 100*a/n, 100*af/nf, nf, l, tl}' "$f" "$W/res_nmdi.out")
    # memory-bandwidth reference: a single-threaded copy through memory
    local bw; bw=$(dd if=/dev/zero of=/dev/null bs=1M count=8192 2>&1 | awk '/copied/{print $(NF-1), $NF}')
    row "12/16-month rule, standalone CSV ($rows crossings, $mb MB; initial status at the window start)" "$nt" "(no SQL peer: sequential state, see docs/performance.md)" NA "$nm" "-" \
        "$(rate "$rows" "$nt" crossings), $(awk "BEGIN{printf \"%.0f MB/s\", $mb/$nt}") (memory copy ${bw})" "$agree"
}

# ---- derive: `nmdi derive DIR` from the store (border crossings, the register extract,
# register events and permits loaded once per size and kept; each run works on a hard-linked copy so that
# the derived versions do not pile up)
wl_derive() {
    has derive && "$LOADER" help 2>/dev/null | grep -q '^  load ' || { log "derive or load not in this build"; return 1; }
    # BENCH_DERIVE_PERSONS (default BENCH_PERSONS): the size of the country derived. Another
    # size (or BENCH_DERIVE_LEAN=1) synthesises a country for this workload alone with the
    # least disk: --mobile-share 0, the truth and every source derive does not read deleted
    # as soon as synth ends, each CSV deleted once loaded (the loaded store is kept in
    # $W/derive-infra-N and reused; no DuckDB peer then: its CSV is gone).
    local dp=${BENCH_DERIVE_PERSONS:-$PERSONS} lean=${BENCH_DERIVE_LEAN:-0}
    [ "$dp" != "$PERSONS" ] && lean=1
    local infra=$W/derive-infra-$dp run=$W/derive-run src=$S/sources
    if [ ! -f "$infra/.loaded" ]; then
        rm -rf "$infra"
        if [ "$lean" = 1 ]; then
            src=$W/derive-synth-$dp/sources
            rm -rf "$W/derive-synth-$dp"
            /usr/bin/time -f '%e %U %S %M' -o "$W/derive_synth.time" "$NMDI" --threads "$THREADS" -q synth --persons "$dp" --seed 42 --mobile-share 0 \
                --out "$W/derive-synth-$dp" >/dev/null 2>"$W/derive_synth.err" || { log "synth $dp failed: $(tail -1 "$W/derive_synth.err")"; return 1; }
            rm -rf "$W/derive-synth-$dp/truth"
            find "$src" -type f ! -name border_crossings.csv ! -name register_base.csv ! -name register_events.csv ! -name permits.csv -delete
            log "derive: synthesised $dp persons in $(cut -d' ' -f1 "$W/derive_synth.time") s; kept $(du -sh "$src" | cut -f1) of sources"
        fi
        "$LOADER" -q init "$infra" --config "$ROOT/examples/nmdi.yaml" >/dev/null 2>"$W/derive_init.err" || { log "nmdi init failed: $(tail -1 "$W/derive_init.err")"; return 1; }
        for s in border_crossings register_base register_events permits; do
            [ -f "$src/$s.csv" ] || continue
            /usr/bin/time -f '%e %U %S %M' -o "$W/derive_load_$s.time" "$LOADER" --threads "$THREADS" -q load "$infra" "$s" "$src/$s.csv" >/dev/null 2>"$W/derive_load.err" ||
                { log "load $s failed: $(tail -2 "$W/derive_load.err")"; return 1; }
            log "derive: loaded $s in $(cut -d' ' -f1 "$W/derive_load_$s.time") s wall"
            [ "$lean" = 1 ] && rm -f "$src/$s.csv"
        done
        [ "$lean" = 1 ] && rm -rf "$W/derive-synth-$dp"
        touch "$infra/.loaded"
        log "derive: store of $dp persons $(du -sh "$infra/store" | cut -f1)"
    fi
    rm -rf "$run"; cp -al "$infra" "$run" && rm -f "$run/catalog.db" && cp "$infra/catalog.db" "$run/catalog.db" || return 1
    local la; la=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f '%e %U %S %M' -o "$W/derive_nmdi.time" "$NMDI" --threads "$THREADS" derive "$run" >"$W/derive_nmdi.out" 2>"$W/derive_nmdi.err"
    local rc=$?
    local outmb; outmb=$(du -sm "$run/store/crossing_residence" "$run/store/migration_events" 2>/dev/null | awk '{s+=$1} END{print s+0}')
    rm -rf "$run"
    [ $rc -eq 0 ] || { log "nmdi derive failed: $(tail -3 "$W/derive_nmdi.err")"; return 1; }
    local wall user sys rss; read -r wall user sys rss <"$W/derive_nmdi.time"
    local n; n=$(grep -o 'border crossings: [0-9]* in' "$W/derive_nmdi.out" | grep -o '[0-9]*')
    local ev; ev=$(awk '/^20[0-9][0-9] +[0-9]/{for(i=2;i<=3;i++){split($i,a,"("); s+=a[1]}} END{print s+0}' "$W/derive_nmdi.out")
    local cpu; cpu=$(awk "BEGIN{print $user+$sys}")
    # 2 cores: crossings per wall second, and per CPU second x 2 (what 2 idle cores would give)
    local tp; tp="$(rate "$n" "$wall" crossings) wall, $(rate "$n" "$cpu" "crossings per CPU-second" | sed 's,/s$,,') (x$THREADS: $(awk "BEGIN{printf \"%.2f\", $THREADS*$n/($cpu>0?$cpu:0.01)/1e6}") M/s on $THREADS idle cores)"
    # extrapolation to 100 M crossings at the same CPU cost per crossing
    local x100; x100=$(awk "BEGIN{printf \"%.0f\", 1e8*$cpu/$n/$THREADS}")
    local peer="-" pt=NA pm="-" agree="border IMM+EMI events $ev; outputs written ${outmb} MB; load average at the start $la"
    [ "$dp" -lt 10000000 ] && agree="$agree; 100 M crossings ~ ${x100} s on $THREADS idle cores (CPU-time extrapolation)"
    if have_duck && [ "$lean" != 1 ]; then
        # a lower bound: read the crossings and compute each traveller's gap to the next crossing
        # (sort by document and time; no document linkage, no rule, no output)
        measure derive_duck node "$BENCH/duck.mjs" "$THREADS" \
            "CREATE TABLE b AS SELECT DOC_NO, DIRECTION, CROSS_DATE::DATE d, CROSS_TIME t FROM read_csv('$S/sources/border_crossings.csv', all_varchar=true, header=true)" \
            "CREATE TABLE g AS SELECT DOC_NO, DIRECTION, d, lead(d) OVER (PARTITION BY DOC_NO ORDER BY d, t) - d AS gap FROM b" \
            "SELECT count(*), sum(CASE WHEN gap >= 365 THEN 1 ELSE 0 END) FROM g"
        pt=$(sed -n 2p "$W/derive_duck.err" | awk '{print $2}' | tr -d s); pm=$M
        peer="DuckDB window lead() per document over an in-memory table (statement time; no linkage, no rule)"
        agree="$agree; DuckDB rows,gaps>=365: $(cat "$W/derive_duck.out")"
    fi
    row "derive from the store ($dp persons: $n crossings + registers + permits; $THREADS threads; CPU user+sys $cpu s)" "$wall" "$peer" "${pt:-NA}" "$((rss / 1024))" "$pm" "$tp" "$agree"
}

# ---- link: FEBRL4 accuracy and comparisons per second
wl_link() {
    local sh=${NMDI_SHARED:-$ROOT/../shared}
    [ -d "$sh/data/febrl" ] || sh=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)/../../shared
    local a=$sh/data/febrl/dataset4a.csv b=$sh/data/febrl/dataset4b.csv
    [ -f "$a" ] || { log "FEBRL data absent"; return 1; }
    measure link_febrl "$NMDI" --threads "$THREADS" link "$a" "$b" --one-to-one || return 1
    local nt=$T nm=$M
    local f1; f1=$(awk -F, 'NR>1{split($1,x,"-"); split($2,y,"-"); tp+=(x[2]==y[2]); n++} END{p=tp/n; r=tp/5000; printf "P %.4f R %.4f F1 %.4f", p, r, 2*p*r/(p+r)}' "$W/link_febrl.out")
    "$NMDI" --threads "$THREADS" link "$a" "$b" --one-to-one --json --save-model "$W/link_model.json" >"$W/link_febrl.json" 2>/dev/null
    local pairs; pairs=$(grep -o '"pairs_compared": *[0-9]*' "$W/link_febrl.json" | grep -o '[0-9]*$')
    row "link FEBRL4 5,000 x 5,000, whole run: prepare, 10^6 random pairs for u, EM, score ${pairs:-?} candidate pairs" "$nt" "-" NA "$nm" "-" "$(rate "$(( ${pairs:-0} + 1000000 ))" "$nt" "pairs")" "$f1 (truth: rec ids)"
    # scoring alone: the same candidates with the saved model (no u sample, no EM)
    if measure link_febrl_model "$NMDI" --threads "$THREADS" link "$a" "$b" --one-to-one --model "$W/link_model.json"; then
        local f1m; f1m=$(awk -F, 'NR>1{split($1,x,"-"); split($2,y,"-"); tp+=(x[2]==y[2]); n++} END{p=tp/n; r=tp/5000; printf "P %.4f R %.4f F1 %.4f", p, r, 2*p*r/(p+r)}' "$W/link_febrl_model.out")
        row "link FEBRL4 with the saved model (${pairs:-?} candidate pairs scored)" "$T" "-" NA "$M" "-" "$(rate "${pairs:-0}" "$T" "pairs")" "$f1m"
    fi
}

# ---- link1m: two synthetic person files of BENCH_LINK_N records (1,000,000)
# from bench/link_gen.awk (typos, transpositions, name variants, date errors,
# moves, missing values; truth known), linked end to end (prepare, u from
# 10^6 random pairs, EM on a sample, score every candidate pair). Reports
# wall and CPU time, peak memory, candidate pairs scored per CPU second
# (the scoring phase, all threads' CPU) and precision/recall against truth.
LINK1M_RULES=${BENCH_LINK_RULES:-"date_of_birth|surname,given_name:1|given_name,postcode|surname,postcode:2"}
wl_link1m() {
    local n=${BENCH_LINK_N:-1000000} d=$W/link-${BENCH_LINK_N:-1000000}
    if [ ! -f "$d/.done" ]; then
        rm -rf "$d"; mkdir -p "$d"
        local t0; t0=$(date +%s)
        awk -v n="$n" -v seed=42 -v dir="$d" -f "$BENCH/link_gen.awk" || { log "link_gen.awk failed"; return 1; }
        touch "$d/.done"
        log "link1m: generated 2 x $n records in $(( $(date +%s) - t0 )) s"
    fi
    local args=() r
    local IFS_old=$IFS; IFS='|'
    for r in $LINK1M_RULES; do args+=(--block "$r"); done
    IFS=$IFS_old
    /usr/bin/time -f '%e %U %S %M' -o "$W/link1m.time" "$NMDI" --threads "$THREADS" link --one-to-one \
        "$d/left.csv" "$d/right.csv" "${args[@]}" >"$W/link1m.out" 2>"$W/link1m.err" ||
        { log "link1m failed: $(tail -3 "$W/link1m.err")"; return 1; }
    local wall user sys rss
    read -r wall user sys rss <"$W/link1m.time"
    local cand score_wall score_cpu rate
    cand=$(grep -o 'link: [0-9]* pairs compared' "$W/link1m.err" | grep -o '[0-9]*')
    score_wall=$(grep -o 'pairs compared in [0-9.]*s' "$W/link1m.err" | grep -o '[0-9.][0-9.]*s$' | tr -d s)
    score_cpu=$(grep -o '(CPU [0-9.]*s: [0-9.]* M pairs/s per core)' "$W/link1m.err" | head -1)
    rate=$(echo "$score_cpu" | grep -o '[0-9.]* M pairs' | cut -d' ' -f1)
    local pr; pr=$(awk -F, 'NR == FNR { if (FNR > 1) t[$1 "," $2] = 1; nt = FNR - 1; next }
        FNR > 1 { n++; if (($1 "," $2) in t) tp++ }
        END { p = n ? tp / n : 0; r = nt ? tp / nt : 0; printf "P %.4f R %.4f F1 %.4f (%d links, %d true)", p, r, (p + r) ? 2 * p * r / (p + r) : 0, n, nt }' "$d/truth.csv" "$W/link1m.out")
    log "link1m: $(grep '^link:' "$W/link1m.err" | tr '\n' ' ')"
    row "link $n x $n synthetic persons, one-to-one, whole run (${THREADS} threads; rules: ${LINK1M_RULES//|/ OR }): ${cand:-?} candidate pairs scored in ${score_wall:-?} s wall" \
        "$wall" "-" NA "$((rss / 1024))" "-" \
        "${rate:-?} M pairs/s per core (scoring CPU); CPU total $(awk "BEGIN{printf \"%.1f\", $user + $sys}") s" "$pr"
}

# ---- mobile: presence records → the four aggregate tables
wl_mobile() {
    local f=$S/$MOBILE_FILE areas=$S/$MOBILE_AREAS
    [ -f "$f" ] || { log "no $f"; return 1; }
    # the operator's own layout (MCC codes through data/mcc.csv, operator areas
    # through the area table), read by nmdi directly; partitions in $W
    local rows mb; rows=$(($(wc -l <"$f") - 1)); mb=$(du -m "$f" | cut -f1)
    rm -rf "$W/mobile_out"
    measure mobile_nmdi "$NMDI" --threads "$THREADS" mobile "$f" --areas "$areas" --tmpdir "$W" --out "$W/mobile_out" --market-share "${BENCH_MOBILE_SHARE:-0.02}" || return 1
    local nt=$T nm=$M
    local subs; subs=$(grep -o '[0-9]* subscribers' "$W/mobile_nmdi.err" | head -1)
    if have_duck; then
        # a lower bound for any engine: read the file and count distinct subscribers per month and home network
        measure mobile_duck node "$BENCH/duck.mjs" "$THREADS" \
            "CREATE TABLE m AS SELECT * FROM read_csv('$f', all_varchar=true, header=true)" \
            "CREATE TABLE r AS SELECT substr(DAY, 1, 7) mon, MCC_HOME, count(DISTINCT SUBSCRIBER) n FROM m GROUP BY ALL" \
            "SELECT count(DISTINCT SUBSCRIBER) FROM m"
        row "mobile presence → 4 tables ($rows records, $mb MB)" "$nt" "DuckDB read + distinct subscribers by month (no spells, no rule)" "$T" "$nm" "$M" "$(rate "$rows" "$nt" records)" "nmdi ${subs:-?}; DuckDB $(cat "$W/mobile_duck.out") distinct keys"
    else
        row "mobile presence → 4 tables ($rows records, $mb MB)" "$nt" "-" NA "$nm" "-" "$(rate "$rows" "$nt" records)" "${subs:-}"
    fi
    mobile_scale
}

# Scale: synthetic countries where every person is the operator's subscriber
# (--mobile-share 1; about 530 presence records per person over 730 days),
# for each size in BENCH_MOBILE_PERSONS; each is derived by the memory-bounded
# path (subscriber-hash partitions) and the time is extrapolated to 1e9 records.
mobile_scale() {
    local n
    for n in ${BENCH_MOBILE_PERSONS:-20000 200000}; do
        local d=$W/mobile-$n
        if [ ! -f "$d/.done" ]; then
            rm -rf "$d"
            "$NMDI" -q --threads "$THREADS" synth --persons "$n" --seed 7 --mobile-share 1 --out "$d" >/dev/null 2>&1 || { log "synth $n failed"; return 1; }
            touch "$d/.done"
        fi
        local f=$d/$MOBILE_FILE rows gb
        rows=$(($(wc -l <"$f") - 1)); gb=$(du -m "$f" | awk '{printf "%.1f", $1/1024}')
        rm -rf "$W/mobile_scale_out"
        /usr/bin/time -f '%e %U %S %M' -o "$W/mobile_scale.time" "$NMDI" --threads "$THREADS" mobile "$f" \
            --areas "$d/$MOBILE_AREAS" --tmpdir "$W" --out "$W/mobile_scale_out" --market-share 1 \
            >/dev/null 2>"$W/mobile_scale.err" || { log "mobile $n failed: $(tail -2 "$W/mobile_scale.err")"; return 1; }
        local e u s m; read -r e u s m <"$W/mobile_scale.time"
        local cpu; cpu=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.1f", u+s}')
        local x; x=$(awk -v r="$rows" -v e="$e" -v c="$cpu" -v g="$gb" 'BEGIN{
            printf "1e9 records: ~%.0f min wall, ~%.0f min CPU; ~%.0f GB CSV + ~21 GB partition files", 1e9/r*e/60, 1e9/r*c/60, g*1e9/r }')
        row "mobile, memory-bounded: $rows records ($gb GB, $n persons all subscribers)" "$e" "-" NA "$((m / 1024))" "-" "$(rate "$rows" "$e" records) wall, $(rate "$rows" "$cpu" records) per CPU s ($cpu s CPU)" "$x"
    done
}

# ---- api: SDMX REST under wrk (the census cube of this run, published and served)
wl_api() {
    has serve && has publish || return 1
    command -v wrk >/dev/null || { log "wrk absent"; return 1; }
    local inf=$W/api_infra P
    rm -rf "$inf"; mkdir -p "$inf/work/protected"; P=$inf/work/protected
    local f; f=$(census5)
    "$NMDI" --threads "$THREADS" tabulate "$f" --by SEX,AGE5,COB,REGION --weight WEIGHT --margins --cube >"$P/CENSUS_CUBE.csv" || return 1
    printf '%s\n' '{"id":"CENSUS_CUBE","name":{"en":"Census persons by sex, age, country of birth and region (benchmark)","zh":"人口普查"},"unit":"PS","measure":"count","reference_period":"2022","topic":"stock","protected":true}' >"$P/CENSUS_CUBE.json"
    "$NMDI" -q publish "$inf" --now 2026-01-01T00:00:00Z >/dev/null || { log "publish failed"; return 1; }
    local obs; obs=$(($(wc -l <"$P/CENSUS_CUBE.csv") - 1))
    rm -f "$W/api.port"
    "$NMDI" serve "$inf" --listen 127.0.0.1:0 --port-file "$W/api.port" --rate 0 >/dev/null 2>"$W/api_serve.err" &
    local pid=$! i=0
    while [ ! -s "$W/api.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    local port; port=$(cat "$W/api.port" 2>/dev/null)
    local q name url bytes
    for q in "series:2.Y20T24.000.1." "women:2...." "full:all"; do
        name=${q%%:*}; url="http://127.0.0.1:$port/rest/data/CENSUS_CUBE/${q#*:}"
        bytes=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "$url")
        measure "api_wrk_$name" wrk -t2 -c64 -d"${BENCH_WRK_SECONDS:-10}"s --timeout 10s --latency "$url"
        local rps p99 errs
        rps=$(awk '/Requests\/sec/{printf "%.0f", $2}' "$W/api_wrk_$name.out"); p99=$(awk '/ 99%/{print $2}' "$W/api_wrk_$name.out")
        errs=$(grep -E 'Non-2xx|Socket errors' "$W/api_wrk_$name.out" | tr '\n' ' ')
        local m; m=$(awk '/VmHWM/{printf "%d", $2/1024}' "/proc/$pid/status" 2>/dev/null)
        row "SDMX data query '${q#*:}' of a $obs-observation cube (wrk 2 threads, 64 connections; HTTP ${bytes% *}, ${bytes#* } bytes)" "${BENCH_WRK_SECONDS:-10}" "-" NA "${m:--}" "-" "${rps:-NA} req/s, p99 ${p99:-NA}" "${errs:-0 errors}"
    done
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
