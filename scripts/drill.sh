#!/bin/bash
# npm run drill [-- --scenario NAME]: installs what is missing, builds, runs the failover drills (root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >&2
bash scripts/setup.sh
exec node dist/lab/drill-main.js "$@"
