#!/bin/bash
# Makes a clone ready to run: npm dependencies and compiled output (no system packages: see install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# npm ci only when node_modules is missing or older than the lock file: it costs ~10 s otherwise.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
npm run --silent build >&2
