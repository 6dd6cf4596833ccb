#!/usr/bin/env bash
# The one test command (README, CI): install missing test peers, typecheck, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-peers.sh
npx tsc -p tsconfig.json --noEmit
npx vitest run "$@"
