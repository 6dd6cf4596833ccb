#!/usr/bin/env bash
# The one test command (README, CI): install missing test peers, typecheck, lint, check the import walls, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-peers.sh
npx tsc -p tsconfig.json --noEmit
npm run -s lint
npm run -s lint:deps
npx vitest run "$@"
