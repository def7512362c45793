# bench/workloads.sh — the workloads of bench/run.sh (sourced). Each wl_<name>
# runs nmdi and its peers on the same files and adds one or more rows.
# Files of the synthetic country (docs/synthetic-country.md):
CROSSINGS_FILE=${CROSSINGS_FILE:-sources/border_crossings.csv}
CENSUS_FILE=${CENSUS_FILE:-sources/census_persons.csv}
LFS_FILE=${LFS_FILE:-sources/lfs.csv}
TRUTH_CROSSINGS=${TRUTH_CROSSINGS:-truth/crossings.csv}
WORKLOADS="load tabulate survey residence link api"

sqlite_peer() { # NAME SQL...   runs in a fresh database file
    rm -f "$W/peer.db"
    measure "$1" sqlite3 "$W/peer.db" "${@:2}"
}

pg_start() {
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)
    [ -x "$PGBIN/initdb" ] || { log "PostgreSQL not installed"; return 1; }
    PGDIR=$W/pg; PGPORT=54329
    rm -rf "$PGDIR"; mkdir -p "$PGDIR"
    local asuser=""
    if [ "$(id -u)" = 0 ]; then chown -R postgres "$PGDIR" 2>/dev/null; chmod 777 "$W"; asuser="runuser -u postgres --"; fi
    $asuser "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >/dev/null 2>&1 || return 1
    $asuser "$PGBIN/pg_ctl" -D "$PGDIR/data" -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_parallel_workers_per_gather=$THREADS" -l "$PGDIR/log" -w start >/dev/null || return 1
    PSQL="psql -h 127.0.0.1 -p $PGPORT -U postgres -q -t -A"
    PGASUSER=$asuser
}
pg_stop() { [ -n "${PGDIR:-}" ] && $PGASUSER "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1; }

header_cols() { head -1 "$1" | tr -d '\r'; }
sql_create() { # TABLE FILE → CREATE TABLE with text columns
    local cols; cols=$(header_cols "$2" | sed 's/[^,]*/"&" text/g')
    echo "CREATE TABLE $1 ($cols);"
}

wl_load() {
    local f=$S/$CROSSINGS_FILE
    [ -f "$f" ] || { log "no $f"; return 1; }
    local rows mb; rows=$(($(wc -l <"$f") - 1)); mb=$(du -m "$f" | cut -f1)
    local nt=NA nm=0
    if has load && has init; then
        rm -rf "$W/infra"; "$NMDI" -q init "$W/infra" >/dev/null 2>&1
        if measure load_nmdi "$NMDI" --threads "$THREADS" -q load "$W/infra" border_crossings "$f"; then nt=$T; nm=$M; fi
    fi
    local tp="NA"; [ "$nt" != NA ] && tp=$(awk "BEGIN{printf \"%.0f rows/s, %.0f MB/s\", $rows/$nt, $mb/$nt}")
    if [ -d "$BENCH/node_modules/@duckdb/node-api" ]; then
        measure load_duck node "$BENCH/duck.mjs" "$THREADS" "CREATE TABLE t AS SELECT * FROM read_csv('$f', all_varchar=true)" "SELECT count(*) FROM t"
        row "load border crossings ($rows rows, $mb MB)" "$nt" "DuckDB read_csv" "$T" "$nm" "$tp" "$(cat "$W/load_duck.out")"
    fi
    sqlite_peer load_sqlite -cmd ".mode csv" -cmd ".import '$f' t" "SELECT count(*) FROM t"
    row "load border crossings ($rows rows, $mb MB)" "$nt" "SQLite .import" "$T" "$nm" "$tp" "$(cat "$W/load_sqlite.out")"
    if pg_start; then
        $PSQL -c "$(sql_create t "$f")" >/dev/null
        measure load_pg $PSQL -c "\\copy t FROM '$f' WITH (FORMAT csv, HEADER true)"
        row "load border crossings ($rows rows, $mb MB)" "$nt" "PostgreSQL COPY" "$T" "$nm" "$tp" "$($PSQL -c 'select count(*) from t')"
        pg_stop
    fi
    # the nmdi load validates and pseudonymises; the peers only parse text
}

wl_tabulate() {
    local f=$S/$CENSUS_FILE
    [ -f "$f" ] || { log "no $f"; return 1; }
    local by=${TAB_BY:-SEX,AGE,COB,REGION} w=${TAB_WEIGHT:-WEIGHT}
    local rows; rows=$(($(wc -l <"$f") - 1))
    has tabulate || return 1
    local wopt=(); [ -n "$w" ] && wopt=(--weight "$w")
    measure tab_nmdi "$NMDI" --threads "$THREADS" tabulate "$f" --by "$by" "${wopt[@]}" --margins || return 1
    local nt=$T nm=$M cells; cells=$(($(wc -l <"$W/tab_nmdi.out") - 1))
    local tp; tp=$(awk "BEGIN{printf \"%.0f rows/s\", $rows/$nt}")
    local cols=${by//,/\",\"}; local agg="count(*)"; [ -n "$w" ] && agg="sum(\"$w\"::double)"
    if [ -d "$BENCH/node_modules/@duckdb/node-api" ]; then
        measure tab_duck node "$BENCH/duck.mjs" "$THREADS" \
            "CREATE TABLE p AS SELECT * FROM read_csv('$f', all_varchar=true)" \
            "CREATE TABLE r AS SELECT \"$cols\", $agg v, count(*) n FROM p GROUP BY CUBE (\"$cols\")" \
            "SELECT count(*) FROM r"
        # the timing of the GROUP BY CUBE statement alone, not the CSV read
        local dt; dt=$(grep -m1 'GROUP BY CUBE' "$W/tab_duck.err" | awk '{print $2}' | tr -d s)
        local nd; nd=$(cat "$W/tab_duck.out")
        row "4-D cube with margins ($rows rows, $cells cells)" "$nt" "DuckDB GROUP BY CUBE (query only)" "${dt:-NA}" "$nm" "$tp" "cells $cells vs $nd"
    fi
    if pg_start; then
        $PSQL -c "$(sql_create p "$f")" >/dev/null
        $PSQL -c "\\copy p FROM '$f' WITH (FORMAT csv, HEADER true)" >/dev/null
        measure tab_pg $PSQL -c "SELECT count(*) FROM (SELECT \"$cols\", $agg, count(*) FROM p GROUP BY CUBE (\"$cols\")) x"
        row "4-D cube with margins ($rows rows, $cells cells)" "$nt" "PostgreSQL GROUP BY CUBE (query only)" "$T" "$nm" "$tp" "cells $cells vs $(cat "$W/tab_pg.out")"
        pg_stop
    fi
}

wl_survey() {
    local f=$S/$LFS_FILE
    [ -f "$f" ] || { log "no $f"; return 1; }
    has survey || return 1
    local strata=${SVY_STRATA:-STRATUM} psu=${SVY_PSU:-PSU} wt=${SVY_WEIGHT:-WEIGHT} y=${SVY_Y:-AGE} by=${SVY_BY:-REGION,SEX,COUNTRYB}
    local rows; rows=$(($(wc -l <"$f") - 1))
    measure svy_nmdi "$NMDI" survey "$f" --ids "$psu" --strata "$strata" --weights "$wt" --nest --mean "$y" --by "$by" || return 1
    local nt=$T nm=$M dom; dom=$(($(wc -l <"$W/svy_nmdi.out") - 1))
    if command -v Rscript >/dev/null && Rscript -e 'library(survey)' >/dev/null 2>&1; then
        cat >"$W/svy.R" <<REOF
suppressMessages(library(survey))
d <- read.csv("$f")
des <- svydesign(ids=~$psu, strata=~$strata, weights=~$wt, nest=TRUE, data=d)
byf <- as.formula(paste0("~", gsub(",", "+", "$by")))
t0 <- proc.time()[["elapsed"]]
r <- svyby(~$y, byf, des, svymean, na.rm=TRUE)
cat(proc.time()[["elapsed"]] - t0, nrow(r), "\n", file=stderr())
REOF
        measure svy_r Rscript "$W/svy.R"
        local rt; rt=$(tail -1 "$W/svy_r.err" | awk '{print $1}')
        row "survey: mean by $dom domains ($rows records)" "$nt" "R svyby (estimation only)" "${rt:-NA}" "$nm" "$(awk "BEGIN{printf \"%.0f records/s\", $rows/$nt}")" "see tests/conformance/survey_r.sh"
    fi
}

wl_residence() {
    # the truth's crossings in the standalone command's layout (person_id,crossing_id,date,direction)
    local src=$S/$TRUTH_CROSSINGS f=$W/crossings_std.csv
    [ -f "$src" ] || { log "no $src"; return 1; }
    has residence || return 1
    awk -F, 'NR==1{print "person_id,crossing_id,date,direction"; next} {print $1 "," NR "," $3 "," $4}' "$src" >"$f"
    local rows; rows=$(($(wc -l <"$f") - 1))
    measure res_nmdi "$NMDI" --threads "$THREADS" residence "$f" || return 1
    local nt=$T nm=$M
    # memory-bandwidth reference: copying the file's bytes once through memory
    local bw; bw=$(dd if=/dev/zero of=/dev/null bs=1M count=4096 2>&1 | awk '/copied/{print $(NF-1), $NF}')
    row "12/16-month rule, standalone CSV ($rows crossings)" "$nt" "(no SQL peer: see docs/performance.md)" NA "$nm" "$(awk "BEGIN{printf \"%.2f M crossings/s\", $rows/$nt/1e6}")" "memcpy ${bw}"
}

wl_link() {
    has link || return 1
    local a=$ROOT/../shared/data/febrl/dataset4a.csv b=$ROOT/../shared/data/febrl/dataset4b.csv
    [ -f "$a" ] || { log "FEBRL data absent"; return 1; }
    measure link_febrl "$NMDI" --threads "$THREADS" link "$a" "$b" --one-to-one || return 1
    local nt=$T nm=$M
    local f1; f1=$(awk -F, 'NR>1{split($1,x,"-"); split($2,y,"-"); tp+=(x[2]==y[2]); n++} END{p=tp/n; r=tp/5000; printf "P %.4f R %.4f F1 %.4f", p, r, 2*p*r/(p+r)}' "$W/link_febrl.out")
    row "link FEBRL4 5000 x 5000" "$nt" "-" NA "$nm" "-" "$f1"
}

wl_api() {
    has serve && has publish || return 1
    command -v wrk >/dev/null || { log "wrk absent"; return 1; }
    [ -d "$W/demo" ] || "$NMDI" -q demo --persons 20000 --dir "$W/demo" --no-serve >/dev/null 2>&1 || return 1
    local port=18931
    "$NMDI" serve "$W/demo" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
    local pid=$!
    sleep 1
    local flow; flow=$(curl -s "http://127.0.0.1:$port/rest/dataflow" | grep -o 'Dataflow id="[^"]*"' | head -1 | cut -d'"' -f2)
    measure api_wrk wrk -t2 -c64 -d10s --latency "http://127.0.0.1:$port/rest/data/${flow:-MIG_STOCK}/all"
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    local rps p99; rps=$(awk '/Requests\/sec/{print $2}' "$W/api_wrk.out"); p99=$(awk '/ 99%/{print $2}' "$W/api_wrk.out")
    local errs; errs=$(awk '/Non-2xx|Socket errors/{print}' "$W/api_wrk.out" | tr '\n' ' ')
    row "SDMX API cached data query (wrk, 64 connections, 10 s)" "10" "-" NA "-" "${rps:-NA} req/s, p99 ${p99:-NA}" "${errs:-no errors}"
}
