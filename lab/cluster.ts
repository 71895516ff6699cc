// Multi-node machinery shared by the lab (`npm run lab`), the kernel tests and the benches: node
// namespaces on an underlay bridge (198.18.0.0/15, RFC 2544 benchmark addresses), an "outside"
// namespace standing in for the world beyond the uplink, real agent processes, and helpers to
// enroll nodes and shape VNETs. Everything it creates is named with the caller's prefix (which
// must start with "bh"), and destroyUnderlay removes exactly the namespaces with that prefix.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { listNamespaces } from "../agent/dataplane/links/observe";
import { run, runBatch } from "../agent/dataplane/run";
import { nodes } from "../db/schema";
import type { Driver } from "../lib/domain";
import type { Subject } from "../lib/permissions";
import type { App } from "../server/app";
import type { Actor } from "../server/audit";
import { updateVnet } from "../server/services/vnets/vnet-config";

const ROOT = path.resolve(import.meta.dirname, "..");

/** One node namespace on the underlay. */
export interface LabNode {
  /** Node name in Bridgehead (node1, node2, ...). */
  name: string;
  netns: string;
  /** The node's uplink inside its namespace. */
  uplink: string;
  /** The uplink's underlay address (the node's VTEP). */
  vtep: string;
}

export interface Underlay {
  prefix: string;
  /** Namespace holding the underlay bridge. */
  netns: string;
  nodes: LabNode[];
  /** A namespace beyond the uplinks: the "internet" a NATed guest reaches. */
  outside: { netns: string; address: string };
}

export const UPLINK = "ul0";
/** Underlay address of node i (1-based): 198.18.<i/256>.<i%256>. */
export const underlayAddress = (i: number) => `198.18.${i >> 8}.${i & 255}`;
/** The outside host, at the far end of the /15. */
export const OUTSIDE_ADDRESS = "198.19.255.254";

function checkPrefix(prefix: string) {
  if (!/^bh[a-z0-9]+$/.test(prefix))
    throw new Error(`namespace prefix ${prefix} must start with "bh" and use lower-case letters and digits`);
}

async function batch(ns: string | undefined, lines: string[], what: string) {
  const r = await runBatch(ns, lines);
  const failed = r.fatal ?? [...r.failures.entries()].map(([i, e]) => `${lines[i]}: ${e}`).join("; ");
  if (failed) throw new Error(`${what}: ${failed}`);
}

/** Creates `count` node namespaces `${prefix}n<i>`, each with uplink ul0 (198.18.x.y/15) on the
 * underlay bridge in `${prefix}u`, and the outside namespace `${prefix}x` (198.19.255.254/15). */
export async function createUnderlay(prefix: string, count: number): Promise<Underlay> {
  checkPrefix(prefix);
  if (count < 1 || count > 1000) throw new Error(`node count ${count} must be 1–1000`);
  const u = `${prefix}u`;
  const x = `${prefix}x`;
  const labNodes: LabNode[] = Array.from({ length: count }, (_, k) => ({
    name: `node${k + 1}`,
    netns: `${prefix}n${k + 1}`,
    uplink: UPLINK,
    vtep: underlayAddress(k + 1),
  }));
  await batch(
    undefined,
    [u, x, ...labNodes.map((n) => n.netns)].map((ns) => `netns add ${ns}`),
    "namespaces",
  );
  await batch(
    u,
    [
      "link set lo up",
      "link add ul type bridge",
      "link set ul up",
      ...labNodes.flatMap((n, k) => [
        `link add p${k + 1} type veth peer name ${UPLINK} netns ${n.netns}`,
        `link set p${k + 1} master ul up`,
      ]),
      `link add px type veth peer name eth0 netns ${x}`,
      "link set px master ul up",
    ],
    "underlay bridge",
  );
  const up = (dev: string, address: string) => [
    "link set lo up",
    `addr add ${address}/15 dev ${dev}`,
    `link set ${dev} up`,
  ];
  await Promise.all([
    batch(x, up("eth0", OUTSIDE_ADDRESS), "outside namespace"),
    ...labNodes.map((n) => batch(n.netns, up(UPLINK, n.vtep), `node namespace ${n.netns}`)),
  ]);
  return { prefix, netns: u, nodes: labNodes, outside: { netns: x, address: OUTSIDE_ADDRESS } };
}

/** Where the agent keeps each node namespace's DHCP servers (agent/dataplane/dhcp/supervisor.ts). */
const DHCP_DIR = "/run/bridgehead/dhcp";

/** Stops the dnsmasq servers agents started for node namespaces under `prefix`: they run as daemons
 * (they outlive an agent on purpose) and would keep a deleted namespace alive. */
export function stopDhcpServers(prefix: string) {
  if (!prefix.startsWith("bh"))
    throw new Error(`refusing to touch servers outside the project prefix: ${prefix}`);
  if (!fs.existsSync(DHCP_DIR)) return;
  for (const node of fs.readdirSync(DHCP_DIR).filter((n) => n.startsWith(prefix))) {
    for (const vnet of fs.readdirSync(`${DHCP_DIR}/${node}`)) {
      try {
        const pid = Number(fs.readFileSync(`${DHCP_DIR}/${node}/${vnet}/dnsmasq.pid`, "utf8").trim());
        if (pid > 0 && fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "dnsmasq")
          process.kill(pid, "SIGTERM");
      } catch {
        // No pid file, or the process is gone already.
      }
    }
    fs.rmSync(`${DHCP_DIR}/${node}`, { recursive: true, force: true });
  }
}

/** Deletes every namespace whose name starts with `prefix` (nodes, guests, underlay, outside), and
 * the DHCP servers of its node namespaces. */
export async function destroyUnderlay(prefix: string): Promise<string[]> {
  checkPrefix(prefix);
  const ours = (await listNamespaces()).filter((n) => n.startsWith(prefix));
  if (ours.length)
    await runBatch(
      undefined,
      ours.map((n) => `netns del ${n}`),
    );
  stopDhcpServers(prefix);
  return ours;
}

/** A running agent process for one node namespace. */
export interface AgentProcess {
  child: ChildProcess;
  /** Everything it printed so far. */
  log(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL (a crash) and wait for the exit. */
  kill9(): Promise<void>;
}

export interface AgentOptions {
  server: string;
  /** Join token (first start only). */
  token?: string;
  node: Pick<LabNode, "netns" | "uplink">;
  stateFile: string;
  /** Reconcile interval in seconds. */
  interval?: number;
  /** Write the output to this file and detach (the lab); otherwise keep it in memory. */
  logFile?: string;
}

/** Starts `agent/main.ts` for a node namespace, with its uplink as underlay device. */
export function startAgent(o: AgentOptions): AgentProcess {
  const args = [
    "--import",
    "tsx",
    "agent/main.ts",
    ...(o.token ? ["--server", o.server, "--token", o.token] : []),
    "--netns",
    o.node.netns,
    "--underlay-dev",
    o.node.uplink,
    "--state",
    o.stateFile,
    "--interval",
    String(o.interval ?? 1),
    // The lab's portal serves plain HTTP on loopback.
    ...(o.server.startsWith("http:") ? ["--insecure"] : []),
  ];
  let out = "";
  let child: ChildProcess;
  if (o.logFile) {
    const fd = fs.openSync(o.logFile, "a");
    child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", fd, fd], detached: true });
    fs.closeSync(fd);
    child.unref();
  } else {
    child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d) => (out += d));
    child.stderr?.on("data", (d) => (out += d));
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return { child, log: () => out, stop: () => signal("SIGTERM"), kill9: () => signal("SIGKILL") };
}

/** Who the lab's own changes are audited as, and the cloud-admin role they act with. */
const LAB_ACTOR: Actor = { userId: null, name: "lab", ip: null };
const LAB_ADMIN: Subject = { id: "lab", role: "admin", groupIds: [0] };

/** Sets a VNET's driver (and VNI / MTU) through the service `vnet.update` calls, as a cloud admin
 * would (the driver is a restricted attribute): it checks the change, bumps the nodes the VNET
 * touches and audits it. */
export function setVnetDriver(app: App, vnetId: number, set: { driver: Driver; vni?: number; mtu?: number }) {
  updateVnet(app, LAB_ACTOR, LAB_ADMIN, { id: vnetId, ...set });
}

/** Whether node `id` reported its current desired revision as applied without error. */
export function nodeApplied(app: App, id: number): boolean {
  const n = app.db.select().from(nodes).where(eq(nodes.id, id)).get();
  return (
    !!n && n.appliedRevision === n.desiredRevision && n.report?.revision === n.desiredRevision && n.report.ok
  );
}

/** Runs `cmd` inside namespace `ns`; the result, never a throw for a non-zero exit. */
export const inNetns = (ns: string, cmd: string, args: string[]) =>
  run("ip", ["netns", "exec", ns, cmd, ...args]);
