# tests/lib.sh — TAP helpers for shell tests. Source it, then use:
#   ok "description"        fail "description" [details]
#   skip "description" "reason"
#   check "description" command args...      (passes when the command succeeds)
#   assert_eq "description" expected actual
#   done_testing                              (prints the plan; call at the end)
# $NMDI is the release build of the command, $NMDI_SHARED the shared data
# folder (may be absent: tests that need it skip), $TMP a scratch folder.
set -u
_n=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nmdi-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
NMDI=${NMDI:-$(cd "$(dirname "$0")/../.." && pwd)/build/rel/nmdi}
NMDI_ROOT=${NMDI_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
NMDI_SHARED=${NMDI_SHARED:-$NMDI_ROOT/../shared}
ok() { _n=$((_n + 1)); echo "ok $_n - $1"; }
fail() { _n=$((_n + 1)); echo "not ok $_n - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/# /'; return 0; }
skip() { _n=$((_n + 1)); echo "ok $_n # SKIP $1: $2"; }
check() {
    _d=$1; shift
    if _out=$("$@" 2>&1); then ok "$_d"; else fail "$_d" "$(printf '%s' "$_out" | tail -n 15)"; fi
}
assert_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "expected: $2
actual:   $3"; fi
}
done_testing() { echo "1..$_n"; }
