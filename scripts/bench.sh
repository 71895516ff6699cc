#!/usr/bin/env bash
# `npm run bench -- <name>`: runs bench/<name>.ts; its last output line is one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-}"
if [ -z "$name" ] || [ ! -f "bench/$name.ts" ]; then
  echo "usage: npm run bench -- <name>; available: $(ls bench/*.ts 2>/dev/null | xargs -n1 basename | sed 's/\.ts$//' | tr '\n' ' ')" >&2
  exit 2
fi
shift
# The benches serve the agent channel over plain HTTP on loopback.
export BRIDGEHEAD_AGENT_INSECURE=1
# The last stdout line is the bench's JSON: the portal's info-level request log would follow it.
export BRIDGEHEAD_LOG_LEVEL="${BRIDGEHEAD_LOG_LEVEL:-warn}"
exec npx tsx "bench/$name.ts" "$@"
