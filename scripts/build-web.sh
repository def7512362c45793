#!/bin/sh
# Builds the portal (web/) into web/dist: runs `npm ci` when web/node_modules
# is missing or older than web/package-lock.json (the only step that needs
# the npm registry), then bundles offline with esbuild (web/build.mjs).
# Called by `make web` (and so by `make test` and `make demo`).
set -eu
cd "$(dirname "$0")/../web"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "nmdi: node and npm are needed to build the portal (scripts/install-deps.sh)" >&2
    exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "nmdi: installing the portal's npm packages (npm ci)" >&2
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules/.package-lock.json
fi
node build.mjs
