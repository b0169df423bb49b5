#!/bin/bash
# npm test: installs what is missing, builds, then runs every test in one node:test run
# (unit, integration against real MariaDB/sshd/keepalived, and the namespace failover drills).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >&2
bash scripts/setup.sh
suites=(dist/test/unit/ dist/test/integration/ dist/test/drill/)
if [ "${1:-}" = --quick ]; then suites=(dist/test/unit/ dist/test/integration/); fi
# One file at a time: integration tests start real servers and the drills use the whole machine.
exec node --test --test-concurrency=1 --test-timeout=1800000 "${suites[@]}"
