#!/usr/bin/env bash
# `npm test`: every check the project has, in the order that fails fastest.
# Installs missing Debian packages and node modules first, so it runs on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir=/usr NEXT_TELEMETRY_DISABLED=1
step() { printf '\n=== %s\n' "$1"; SECONDS=0; }
done_step() { printf '=== %s took %ss\n' "$1" "$SECONDS"; }

step deps; bash scripts/ensure-deps.sh; [ -d node_modules/.bin ] || npm ci --no-audit --no-fund; done_step deps
step typecheck; npx tsc --noEmit -p tsconfig.json; done_step typecheck
step lint; npx biome check .; done_step lint
step "unit, router and kernel tests"; npx vitest run; done_step vitest
step build; npx next build; done_step build
step "browser tests"; npx playwright test; done_step playwright
