#!/bin/bash
# npm run lab -- up|down|status: the two-node lab for trying the toolkit by hand (root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = up ]; then
  bash scripts/install-deps.sh >&2
  bash scripts/setup.sh
fi
exec node dist/lab/lab-main.js "$@"
