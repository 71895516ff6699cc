// `npm run lab [-- up] [--nodes N] [--port P] [--no-ui]` / `npm run lab -- down` (root).
// up: N node namespaces on an underlay bridge (198.18.0.0/15) and an "outside" namespace, a fresh
// database with demo VNETs (internal, VXLAN, routed) and instances, the portal (`next start`, or
// the plain API host with --no-ui), one real agent per node; waits until every node has applied
// its state and prints how to reach the portal and the guests. down: stops exactly the processes
// it started (by the ids it recorded) and deletes exactly the namespaces named bhlab…, and its
// data directory. Everything else on the machine is left alone.
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { createApp } from "../server/app";
import { callerFor } from "../server/caller";
import { loadEnv } from "../server/env";
import { createNode } from "../server/services/nodes/nodes";
import { bootstrapAdmin } from "../server/services/users";
import { createUnderlay, destroyUnderlay, type LabNode, setVnetDriver, startAgent } from "./cluster";

const PREFIX = "bhlab";
const ROOT = path.resolve(import.meta.dirname, "..");
const DIR = path.join(ROOT, "data", "lab");
const STATE = path.join(DIR, "lab.json");

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    nodes: { type: "string", default: "2" },
    port: { type: "string", default: "3100" },
    "no-ui": { type: "boolean", default: false },
    interval: { type: "string", default: "5" },
  },
});

interface LabState {
  prefix: string;
  url: string;
  password: string;
  /** Process group ids of what `up` started (portal, agents). */
  pgids: number[];
}

const say = (msg: string) => console.log(`lab: ${msg}`);

async function up() {
  if (process.getuid?.() !== 0) throw new Error("the lab needs root (network namespaces)");
  if (fs.existsSync(STATE))
    throw new Error(`a lab is already up (${STATE}); run \`npm run lab -- down\` first`);
  const count = Number(args.nodes);
  const port = Number(args.port);
  if (!Number.isInteger(count) || count < 1 || count > 50) throw new Error("--nodes must be 1–50");
  fs.rmSync(DIR, { recursive: true, force: true });
  fs.mkdirSync(DIR, { recursive: true, mode: 0o700 });
  const dbFile = path.join(DIR, "bridgehead.db");
  const password = crypto.randomBytes(12).toString("base64url");
  const url = `http://127.0.0.1:${port}`;
  const state: LabState = { prefix: PREFIX, url, password, pgids: [] };
  const save = () => fs.writeFileSync(STATE, JSON.stringify(state, null, 2), { mode: 0o600 });
  save();

  say(`creating ${count} node namespaces on the underlay bridge (198.18.0.0/15)`);
  const ul = await createUnderlay(PREFIX, count);

  // The database is prepared before the portal starts: admin, VNETs, nodes, instances.
  const env = { BRIDGEHEAD_DB: dbFile, BRIDGEHEAD_ADMIN_PASSWORD: password, BRIDGEHEAD_URL: url };
  const app = createApp(loadEnv(env));
  await bootstrapAdmin(app);
  const adminId = (
    app.db.$client.prepare("SELECT id FROM user WHERE username = 'admin'").get() as { id: string }
  ).id;
  const admin = callerFor(app, adminId);
  const mk = (name: string, subnet: string, gateway: string, description: string, v6 = {}) =>
    admin.vnet.create({
      name,
      description,
      subnet,
      gateway,
      firstIp: subnet.replace(/0\/24$/, "10"),
      size: 100,
      ...v6,
    });
  // Dual stack: the node's router advertisements give its guests their leased SLAAC addresses.
  const internal = await mk(
    "lab-internal",
    "10.61.0.0/24",
    "10.61.0.1",
    "bridge, dual stack, gateway on the bridge",
    {
      globalPrefix: "2001:db8:61::/64",
      gateway6: "2001:db8:61::1",
    },
  );
  const vxlan = await mk("lab-vxlan", "10.62.0.0/24", "", "VXLAN VNI 6100 across all lab nodes");
  const routed = await mk("lab-routed", "10.63.0.0/24", "", "host-routed, gateway 169.254.0.1");
  setVnetDriver(app, vxlan.id, { driver: "vxlan", vni: 6100, mtu: 1500 });
  setVnetDriver(app, routed.id, { driver: "routed" });
  const actor = { userId: adminId, name: "lab", ip: null };
  const tokens = ul.nodes.map((n) => createNode(app, actor, { name: n.name, clusterId: 0 }));
  const guests: { name: string; node: LabNode; ns: string; ip: string; ip6?: string; vnet: string }[] = [];
  const add = async (name: string, k: number, vnetId: number, vnet: string) => {
    const created = await admin.instance.create({ name, nodeId: tokens[k]!.id, nics: [{ vnetId }] });
    const node = ul.nodes[k]!;
    const nic = created.nics[0]!;
    guests.push({
      name,
      node,
      ns: `${node.netns}-i${created.id}`,
      ip: nic.ip!,
      ip6: nic.ip6 ?? undefined,
      vnet,
    });
  };
  for (let k = 0; k < count; k++) await add(`vx${k + 1}`, k, vxlan.id, "lab-vxlan");
  await add("int1", 0, internal.id, "lab-internal");
  await add("int2", 0, internal.id, "lab-internal");
  await add("rt1", 0, routed.id, "lab-routed");
  await add("rt2", 0, routed.id, "lab-routed");
  app.db.$client.close();

  say(args["no-ui"] ? "starting the API host (no UI)" : "starting the portal (next start)");
  const portalLog = fs.openSync(path.join(DIR, "portal.log"), "a");
  const portalEnv = { ...process.env, ...env, PORT: String(port), NEXT_TELEMETRY_DISABLED: "1" };
  if (!args["no-ui"] && !fs.existsSync(path.join(ROOT, ".next", "BUILD_ID"))) {
    say("no production build yet: running next build once");
    const b = spawnSync(process.execPath, [path.join(ROOT, "node_modules/next/dist/bin/next"), "build"], {
      cwd: ROOT,
      stdio: "inherit",
      env: portalEnv,
    });
    if (b.status !== 0) throw new Error("next build failed");
  }
  const portal = spawn(
    process.execPath,
    args["no-ui"]
      ? ["--import", "tsx", "lab/serve.ts", String(port)]
      : [path.join(ROOT, "node_modules/next/dist/bin/next"), "start", "-p", String(port)],
    { cwd: ROOT, env: portalEnv, stdio: ["ignore", portalLog, portalLog], detached: true },
  );
  portal.unref();
  state.pgids.push(portal.pid!);
  save();
  await waitUntil("the portal to answer", 60_000, async () => {
    const r = await fetch(`${url}/api/trpc/agent.join`, { method: "GET" }).catch(() => null);
    return r !== null;
  });

  say(`starting ${count} agents`);
  for (const [k, n] of ul.nodes.entries()) {
    const a = startAgent({
      server: url,
      token: tokens[k]!.joinToken,
      node: n,
      stateFile: path.join(DIR, `agent-${n.name}.json`),
      interval: Number(args.interval),
      logFile: path.join(DIR, `agent-${n.name}.log`),
    });
    state.pgids.push(a.child.pid!);
  }
  save();

  const db = new Database(dbFile, { readonly: true });
  await waitUntil("every node to apply its state", 60_000, async () => {
    const rows = db.prepare("SELECT desired_revision d, applied_revision a, report FROM nodes").all() as {
      d: number;
      a: number;
      report: string | null;
    }[];
    return rows.every((r) => r.a === r.d && r.report !== null && JSON.parse(r.report).ok);
  });
  db.close();

  const width = Math.max(...guests.map((g) => g.ns.length));
  console.log(
    [
      "",
      `Bridgehead lab is up: ${count} nodes (namespaces ${ul.nodes.map((n) => n.netns).join(", ")}).`,
      `  portal:  ${url}${args["no-ui"] ? "/api/trpc (API only)" : ""}   user admin, password ${password}`,
      "  guests (namespace, address, VNET):",
      ...guests.map(
        (g) =>
          `    ${g.ns.padEnd(width)}  ${g.ip.padEnd(11)} ${g.vnet} on ${g.node.name}${g.ip6 ? `  ${g.ip6}` : ""}`,
      ),
      "  try:",
      `    ip netns exec ${guests[0]!.ns} ping ${guests[count > 1 ? 1 : 0]!.ip}     # VXLAN across nodes`,
      `    ip netns exec ${guests.find((g) => g.name === "rt1")!.ns} ping 169.254.0.1   # routed gateway`,
      `    ip netns exec ${guests.find((g) => g.name === "int1")!.ns} ping -6 ${guests.find((g) => g.name === "int2")!.ip6}   # IPv6 (SLAAC from the node's RA)`,
      `    ip netns exec ${ul.outside.netns} ping ${ul.nodes[0]!.vtep}   # the outside reaches node1's uplink`,
      `  logs in ${path.relative(ROOT, DIR)}/; remove everything with: npm run lab -- down`,
      "",
    ].join("\n"),
  );
}

async function down() {
  const state: LabState | null = fs.existsSync(STATE) ? JSON.parse(fs.readFileSync(STATE, "utf8")) : null;
  for (const pgid of state?.pgids ?? []) {
    try {
      process.kill(-pgid, "SIGTERM");
    } catch {
      // Already gone.
    }
  }
  const alive = (pgid: number) => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await waitUntil("the lab's processes to exit", 5000, async () => !(state?.pgids ?? []).some(alive)).catch(
    () => {
      for (const pgid of (state?.pgids ?? []).filter(alive)) process.kill(-pgid, "SIGKILL");
    },
  );
  const removed = await destroyUnderlay(PREFIX);
  fs.rmSync(DIR, { recursive: true, force: true });
  say(`stopped ${state?.pgids.length ?? 0} processes, removed ${removed.length} namespaces (${PREFIX}…)`);
}

async function waitUntil(what: string, ms: number, fn: () => Promise<boolean>) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

const verb = positionals[0] ?? "up";
if (verb !== "up" && verb !== "down") {
  console.error(
    "usage: npm run lab [-- up [--nodes N] [--port P] [--no-ui] [--interval S]] | npm run lab -- down",
  );
  process.exit(2);
}
(verb === "up" ? up() : down()).then(
  () => process.exit(0),
  (err) => {
    console.error(`lab: ${err instanceof Error ? err.message : err}`);
    if (verb === "up") console.error("lab: clean up with `npm run lab -- down`");
    process.exit(1);
  },
);
