// The node agent: `npm run agent -- --server URL (--token TOKEN | state file) [--netns NAME]`.
// Enrolls with a one-time join token, keeps one authenticated channel to the server, applies each
// pushed desired state to the kernel (or to a network namespace standing in for a node) and
// reports what it applied. Re-reconciles on a timer to repair drift; that report is its heartbeat.
import { parseArgs } from "node:util";
import { AgentExit, runAgent } from "./agent";

const { values: args } = parseArgs({
  options: {
    server: { type: "string" },
    token: { type: "string" },
    netns: { type: "string" },
    state: { type: "string" },
    interval: { type: "string", default: "10" },
    vtep: { type: "string" },
    "underlay-dev": { type: "string" },
    help: { type: "boolean", default: false },
  },
});

const USAGE =
  "usage: npm run agent -- --server URL --token JOIN_TOKEN [--netns NAME] [--state FILE] [--interval SECONDS]\n" +
  "                        [--underlay-dev DEVICE] [--vtep ADDRESS]\n" +
  "  --token is needed only the first time; the credential is kept in the state file (mode 600).\n" +
  "  --underlay-dev: the node's uplink (VXLAN underlay, NAT egress, external networks);\n" +
  "  --vtep: the node's VXLAN tunnel endpoint address (default: the first IPv4 of --underlay-dev).";

if (args.help) {
  console.error(USAGE);
  process.exit(0);
}

runAgent(args).then(
  (agent) => {
    const stop = (signal: string) => {
      console.log(`${new Date().toISOString()} agent: ${signal}: stopping (the dataplane stays as it is)`);
      void agent.stop().then(() => process.exit(0));
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  },
  (err) => {
    if (err instanceof AgentExit) {
      console.error(`agent: ${err.message}`);
      if (err.code === 2 && !err.message.startsWith("enrollment")) console.error(USAGE);
      process.exit(err.code);
    }
    console.error(`agent: ${err instanceof Error ? err.stack : err}`);
    process.exit(1);
  },
);
