#!/usr/bin/env bash
# `npm run build:agent`: the node agent as one file, dist/bridgehead-agent.mjs, with its python
# helpers beside it. It needs only Node 20 on the node (no node_modules, no tsx).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist
# Bundled CommonJS dependencies call require() for Node's built-ins; an ES module has none.
npx esbuild agent/main.ts --bundle --platform=node --target=node20 --format=esm \
  --outfile=dist/bridgehead-agent.mjs --log-level=warning \
  --banner:js="#!/usr/bin/env node
import { createRequire as __bhRequire } from 'node:module'; const require = __bhRequire(import.meta.url);"
cp agent/dataplane/links/nlhelper.py agent/dataplane/nft/ct-delete.py dist/
chmod 755 dist/bridgehead-agent.mjs
echo "dist/bridgehead-agent.mjs ($(du -k dist/bridgehead-agent.mjs | cut -f1) KiB) + nlhelper.py, ct-delete.py"
