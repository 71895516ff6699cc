#!/usr/bin/env bash
# `npm start`: build when the sources are newer than the last build, then serve the portal.
# The embedded SQLite database lives in ./data (override with BRIDGEHEAD_DB).
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
if [ ! -f .next/BUILD_ID ] || [ -n "$(find app components server lib db package-lock.json -newer .next/BUILD_ID -print -quit)" ]; then
  npx next build
fi
export PORT="${PORT:-3000}"
exec npx tsx server/serve.ts
