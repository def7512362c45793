#!/bin/sh
# tests/fuzz/run.sh [SECONDS] — builds the libFuzzer targets of the CSV reader
# (fuzz_csv) and of the configuration/mapping (fuzz_mapping) with clang
# (-fsanitize=fuzzer,address,undefined) into build/fuzz/ and runs each for
# SECONDS (default 60), with a corpus in build/fuzz/corpus-<target>/ seeded
# from tests/data/ingest and examples/. `make fuzz FUZZ_SECONDS=600` runs it.
# With SECONDS=short it runs a quick smoke run (1,000 inputs per target, used by tests/cli/fuzz.sh).
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "fuzz: $CC not found (apt-get install clang)" >&2
    exit 2
fi
PKGS="sqlite3 jansson libsodium yaml-0.1"
FLAGS="-std=c17 -D_GNU_SOURCE -Iinclude -g -O1 -fsanitize=fuzzer,address,undefined $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lreadstat -lm -lpthread"
SRC="src/core/*.c src/codes/*.c src/store/*.c src/ingest/*.c"
mkdir -p build/fuzz/obj
lib=build/fuzz/libnmdi-fuzz.a
if [ ! -f "$lib" ] || [ -n "$(find src include -newer "$lib" -name '*.[ch]' 2>/dev/null | head -1)" ]; then
    rm -f build/fuzz/obj/*.o
    for f in $SRC; do
        o=build/fuzz/obj/$(echo "$f" | tr '/' '_').o
        # shellcheck disable=SC2086
        $CC $FLAGS -c "$f" -o "$o"
    done
    rm -f "$lib"
    ar rcs "$lib" build/fuzz/obj/*.o
fi
for t in fuzz_csv fuzz_mapping; do
    bin=build/fuzz/$t
    if [ ! -x "$bin" ] || [ "$lib" -nt "$bin" ] || [ tests/fuzz/$t.c -nt "$bin" ]; then
        # shellcheck disable=SC2086
        $CC $FLAGS -o "$bin" tests/fuzz/$t.c "$lib" $LIBS
    fi
    corpus=build/fuzz/corpus-$t
    mkdir -p "$corpus"
    case $t in
        fuzz_csv) cp tests/data/ingest/*.csv "$corpus/" 2>/dev/null || true ;;
        fuzz_mapping) cp tests/data/ingest/*.yaml examples/*.yaml "$corpus/" 2>/dev/null || true ;;
    esac
    if [ "$secs" = short ]; then
        "$bin" -runs=1000 -max_total_time=10 -max_len=2048 -seed=1 -artifact_prefix=build/fuzz/ "$corpus" >build/fuzz/$t.log 2>&1
    else
        "$bin" -max_total_time="$secs" -max_len=65536 -artifact_prefix=build/fuzz/ "$corpus" >build/fuzz/$t.log 2>&1
    fi
    echo "fuzz: $t ok ($(grep -c . "$corpus"/* 2>/dev/null | wc -l) corpus files; log build/fuzz/$t.log)"
done
