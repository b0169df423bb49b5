#!/bin/bash
# Makes a fresh clone ready on Debian 12 as root: system packages, npm dependencies, compiled output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >&2
# npm ci only when node_modules is missing or older than the lock file: it costs ~10 s otherwise.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
npm run --silent build >&2
