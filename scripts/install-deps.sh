#!/bin/sh
# Installs the Debian packages nmdi needs to build, test and run.
# Usage: scripts/install-deps.sh [build|test|all]
#   build: compiler and C libraries (enough for `make` and `make demo`)
#   test:  build + test tools (cmocka, valgrind, R survey/rsdmx, chromium, node)
# As root it runs apt-get; otherwise it prints what is missing and how to install it.
set -eu
what=${1:-all}
BUILD_PKGS="build-essential pkg-config libsqlite3-dev libjansson-dev libsodium-dev libyaml-dev \
libgsl-dev libxml2-dev libxml2-utils libmicrohttpd-dev libreadstat-dev libpq-dev \
nodejs npm"
TEST_PKGS="libcmocka-dev valgrind r-base-core r-cran-survey r-cran-mass r-cran-rsdmx chromium sqlite3"
case "$what" in
  build) pkgs="$BUILD_PKGS" ;;
  test|all) pkgs="$BUILD_PKGS $TEST_PKGS" ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 1 ;;
esac
missing=""
for p in $pkgs; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # node/npm may come from elsewhere (e.g. nodesource); accept a working binary
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "nmdi: installing Debian packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "nmdi: missing Debian packages:$missing" >&2
  echo "nmdi: install them with: sudo apt-get install$missing" >&2
  exit 1
fi
