// The node agent: `npm run agent -- --server URL (--token TOKEN | state file) [--netns NAME]`.
// Enrolls with a one-time join token, keeps one authenticated channel to the server, applies each
// pushed desired state to the kernel (or to a network namespace standing in for a node) and
// reports what it applied. Re-reconciles on a timer to repair drift; that report is its heartbeat.
import fs from "node:fs";
import { parseArgs } from "node:util";
import { AgentExit, runAgent, VERSION } from "./agent";
import { install, purgeDataplane, status, uninstall } from "./install";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "token-file": { type: "string" },
    root: { type: "string", default: "/" },
    "purge-dataplane": { type: "boolean", default: false },
    server: { type: "string" },
    token: { type: "string" },
    netns: { type: "string" },
    state: { type: "string" },
    interval: { type: "string", default: "10" },
    vtep: { type: "string" },
    "underlay-dev": { type: "string" },
    insecure: { type: "boolean", default: false },
    version: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

const USAGE =
  "usage: npm run agent -- --server URL --token JOIN_TOKEN [--netns NAME] [--state FILE] [--interval SECONDS]\n" +
  "                        [--underlay-dev DEVICE] [--vtep ADDRESS] [--insecure]\n" +
  "       bridgehead-agent install|status|uninstall … (see install --help); --version\n" +
  "  --token is needed only the first time; the credential is kept in the state file (mode 600).\n" +
  "  --underlay-dev: the node's uplink (VXLAN underlay, NAT egress, external networks);\n" +
  "  --vtep: the node's VXLAN tunnel endpoint address (default: the first IPv4 of --underlay-dev).\n" +
  "  The join token carries the fingerprint of the portal's certificate; any other is refused.\n" +
  "  --insecure: allow a plain http:// server (labs and tests only: the credential crosses in clear).";

if (args.help) {
  console.error(USAGE);
  process.exit(0);
}
if (args.version) {
  console.log(`bridgehead-agent ${VERSION}`);
  process.exit(0);
}
const command = positionals[0];
try {
  if (command === "install") {
    install({ ...args, server: args.server ?? "", token: args.token ?? "" }, args.root);
    process.exit(0);
  }
  if (command === "status") {
    status(args.root);
    process.exit(0);
  }
  if (command === "uninstall") {
    if (args["purge-dataplane"]) await purgeDataplane(args.netns);
    uninstall(args.root);
    if (!args["purge-dataplane"])
      console.log("the node's networks are left as they are (--purge-dataplane removes them)");
    process.exit(0);
  }
  if (command !== undefined) throw new AgentExit(2, `unknown command ${command}`);
} catch (err) {
  console.error(`agent: ${err instanceof Error ? err.message : err}`);
  process.exit(err instanceof AgentExit ? err.code : 1);
}
// The service reads its one-time token from a file (mode 600); once enrolled it is not needed.
if (args["token-file"] && !args.token && fs.existsSync(args["token-file"]))
  args.token = fs.readFileSync(args["token-file"], "utf8").trim() || undefined;

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
