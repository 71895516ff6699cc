#!/usr/bin/env node
// The `bridgehead` command (package.json "bin"): runs cli/main.ts through tsx, which is already a
// dependency of the portal, so the CLI needs no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
