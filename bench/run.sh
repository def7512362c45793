#!/bin/bash
# bench/run.sh — `make bench`: measures nmdi against its peers on the same data,
# machine and cores, checks that the answers agree, and prints one table:
#   workload | nmdi s | peer | peer s | peer/nmdi | nmdi peak MiB | peer peak MiB |
#   nmdi throughput | answers agree
# preceded by the machine (CPU, cores, RAM, disk, kernel, load average), the nmdi
# commit and the peers' versions. The table goes to
# bench/results/<date>-<host>-<persons>.md (history kept in the repo);
# docs/performance.md discusses the latest.
#
# Settings (environment): BENCH_PERSONS (default 1000000; 10000000 for the full
# run), BENCH_THREADS (default: number of cores), BENCH_ONLY (substring filter of
# workload names: load tabulate survey residence link mobile api), BENCH_KEEP=1
# keeps the raw outputs in bench/work/ (the synthetic country of each size is kept
# there anyway and reused), BENCH_NMDI (the nmdi to measure), BENCH_NMDI_LOAD (an
# nmdi with `init/load` for the load workload when BENCH_NMDI has none),
# BENCH_R_TIMEOUT (seconds R may take; 240 for the census-sized survey),
# BENCH_WRK_SECONDS (10), BENCH_MOBILE_SHARE (0.02, the synth default).
# Peers are installed here (apt-get as root, npm in bench/) and never become
# dependencies of nmdi: DuckDB (@duckdb/node-api), SQLite (sqlite3 CLI),
# PostgreSQL (a private cluster on a loopback port in a temporary folder),
# R survey, wrk.
set -u
cd "$(dirname "$0")"
BENCH=$(pwd)
ROOT=$(cd .. && pwd)
NMDI=${BENCH_NMDI:-$ROOT/build/rel/nmdi}
# the load workload needs `nmdi init/load` (the ingest stage); BENCH_NMDI_LOAD may name
# another build of nmdi that has them when this one does not yet
LOADER=${BENCH_NMDI_LOAD:-$NMDI}
PERSONS=${BENCH_PERSONS:-1000000}
THREADS=${BENCH_THREADS:-$(nproc)}
ONLY=${BENCH_ONLY:-}
W=$BENCH/work
DATE=$(date -u +%Y-%m-%d)
HOST=$(hostname -s 2>/dev/null || echo host)
OUT=$BENCH/results/$DATE-$HOST-$PERSONS${BENCH_ONLY:+-only-$BENCH_ONLY}.md
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)   # at the start: the tree the binary was built from
mkdir -p "$W" "$BENCH/results"
ROWS=()
log() { echo "bench: $*" >&2; }

# ---- peers ---------------------------------------------------------------------
install_peers() {
    if [ "$(id -u)" = 0 ]; then
        local need=""
        for p in postgresql sqlite3 wrk r-cran-survey time; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
        done
        if [ -n "$need" ]; then
            log "installing peers:$need"
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
        fi
    fi
    if [ ! -d "$BENCH/node_modules/@duckdb/node-api" ]; then
        log "installing DuckDB (npm ci in bench/)"
        (cd "$BENCH" && npm ci --no-audit --no-fund >/dev/null 2>&1) || log "DuckDB not available"
    fi
}

# measure NAME CMD... → sets T (seconds) and M (peak RSS MiB); output in $W/NAME.out
measure() {
    local name=$1; shift
    /usr/bin/time -f '%e %M' -o "$W/$name.time" "$@" >"$W/$name.out" 2>"$W/$name.err"
    local rc=$?
    read -r T M <"$W/$name.time" 2>/dev/null || { T=NA; M=0; }
    case "$T" in Command*) T=$(tail -1 "$W/$name.time" | cut -d' ' -f1); M=$(tail -1 "$W/$name.time" | cut -d' ' -f2) ;; esac
    M=$((M / 1024))
    [ $rc -ne 0 ] && log "$name failed (exit $rc): $(tail -3 "$W/$name.err")"
    return $rc
}

# row WORKLOAD NMDI_T PEER PEER_T NMDI_MEM PEER_MEM THROUGHPUT AGREE
# (peer/nmdi > 1: nmdi is faster)
row() {
    local ratio=NA
    if [ "$2" != NA ] && [ "$4" != NA ] && [ -n "$4" ] && [ "$2" != 0 ]; then ratio=$(awk "BEGIN{printf \"%.2f\", $4/($2>0?$2:0.01)}"); fi
    ROWS+=("| $1 | $2 | $3 | $4 | $ratio | $5 | $6 | $7 | $8 |")
    log "$1: nmdi $2 s, $3 $4 s, ratio $ratio, nmdi ${5} MiB, peer $6 MiB, $7, agree: $8"
}

want() { [ -z "$ONLY" ] || [[ "$1" == *"$ONLY"* ]]; }
has() { "$NMDI" help 2>/dev/null | grep -q "^  $1 "; }

# ---- data ----------------------------------------------------------------------
gen_data() {
    if [ -f "$W/synth-$PERSONS/.done" ]; then ROWS+=("$(cat "$W/synth-$PERSONS/.done")"); return; fi
    rm -rf "$W/synth-$PERSONS"
    if ! has synth; then log "nmdi synth not in this build"; return 1; fi
    measure synth "$NMDI" --threads "$THREADS" synth --persons "$PERSONS" --seed 42 --out "$W/synth-$PERSONS" || return 1
    local mb; mb=$(du -sm "$W/synth-$PERSONS" | cut -f1)
    local brows; brows=$(($(wc -l <"$W/synth-$PERSONS/sources/border_crossings.csv") - 1))
    row "synth: $PERSONS persons ($mb MB, $brows border records)" "$T" "-" NA "$M" "-" "$(rate "$PERSONS" "$T" persons), $(awk "BEGIN{printf \"%.1f MB/s\", $mb/$T}")" "-"
    echo "${ROWS[${#ROWS[@]}-1]}" >"$W/synth-$PERSONS/.done"
}

. "$BENCH/workloads.sh"

[ -x "$NMDI" ] || { log "no $NMDI (make build/rel/nmdi)"; exit 1; }
install_peers
T0=$(date +%s); LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
gen_data || { log "no synthetic country"; exit 1; }
S=$W/synth-$PERSONS
for wl in $WORKLOADS; do
    want "$wl" || continue
    log "workload $wl"
    "wl_$wl" || log "workload $wl failed"
done

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
MEM=$(free -g | awk '/Mem:/{print $2}')
DISK=$(df -h "$W" | awk 'NR==2{print $1 " " $2}')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
DUCKV=$(cd "$BENCH" && node -e "import('@duckdb/node-api').then(m=>console.log(m.version?m.version():''))" 2>/dev/null)
[ -n "$DUCKV" ] || DUCKV=$(grep -m1 '"version"' "$BENCH/node_modules/@duckdb/node-api/package.json" 2>/dev/null | cut -d'"' -f4)
PEERS="DuckDB ${DUCKV:-?} (@duckdb/node-api), SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1), PostgreSQL $(ls /usr/lib/postgresql 2>/dev/null | tail -1), R survey $(Rscript -e 'cat(as.character(packageVersion("survey")))' 2>/dev/null), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
{
    echo "# nmdi benchmark $DATE ($PERSONS persons)"
    echo
    echo "Machine: $CPU, $(nproc) cores, ${MEM} GiB RAM, disk $DISK, $(uname -sr); load average (1/5/15 min) at the start $LOAD0, at the end $LOAD (other work shared the cores when above ~2); threads $THREADS"
    echo
    echo "nmdi: $("$NMDI" version 2>/dev/null | head -1), commit $COMMIT$( [ "$LOADER" != "$NMDI" ] && echo "; load workload: $LOADER ($(git -C "$(dirname "$LOADER")/../.." rev-parse --short HEAD 2>/dev/null))")"
    echo
    echo "Peers: $PEERS"
    echo
    echo "Times are wall-clock seconds of the whole command (/usr/bin/time), unless the peer column says otherwise; peer/nmdi > 1 means nmdi was faster. Peak memory is the maximum resident set (MiB) of the process measured."
    echo
    echo "| workload | nmdi s | peer | peer s | peer/nmdi | nmdi peak MiB | peer peak MiB | nmdi throughput | answers agree |"
    echo "|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Total bench time $(( $(date +%s) - T0 )) s. Raw outputs: bench/work/ (BENCH_KEEP=1 keeps them). Generated by \`make bench\` (bench/run.sh, bench/workloads.sh)."
} >"$OUT"
cat "$OUT"
log "table written to $OUT"
[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"/*.out "$W"/*.err
