// The executor: runs a Plan in as few processes as possible (one `ip -batch` for namespace
// creation, one for the node namespace, one per guest namespace that changes) and attributes every
// failure to the desired object it served. Objects created in this run that end up failed are
// rolled back (Incus-style revert stack), so a port or network is never left half-applied.
import { setTimeout as sleep } from "node:timers/promises";
import { type BatchResult, ipIn, pool, runBatch, runSysctl, splitForcedBatch } from "../run";
import type { ObjectRef, ObjectStatus, Op, Plan, Tool } from "../types";
import { nlBatches } from "./nl";

export interface ExecuteResult {
  /** Operations attempted, rollback included. */
  operations: number;
  /** Their exact command lines, in order. */
  ops: string[];
  networks: ({ vnetId: number } & ObjectStatus)[];
  ports: ({ nicId: number } & ObjectStatus)[];
  /** Failures not tied to a desired object (stale removals, rollback, the node namespace). */
  errors: string[];
  ok: boolean;
  /** Wall time of each phase, ms (where a reconcile's time goes; the apply bench prints it). */
  phases: Record<string, number>;
}

/** Messages meaning "already gone": a deletion that meets them has nothing left to do. */
const GONE = /Cannot find device|No such file or directory|No such process|Cannot open network namespace/;
/** Guest batches run concurrently; each is one short `ip` process. */
const GUEST_CONCURRENCY = 8;

/** Which objects failed, and why (first error wins: later ones are usually its consequences). */
class Failures {
  node?: string;
  readonly networks = new Map<number, string>();
  readonly ports = new Map<number, string>();
  readonly guests = new Map<string, string>();
  readonly other: string[] = [];
  private readonly portDeps: Map<number, { vnetId: number; ns: string }>;
  private readonly nsPorts = new Map<string, number[]>();

  constructor(plan: Plan) {
    this.portDeps = new Map(plan.ports.map((p) => [p.nicId, p]));
    for (const p of plan.ports) this.nsPorts.set(p.ns, [...(this.nsPorts.get(p.ns) ?? []), p.nicId]);
  }

  fail(o: ObjectRef, msg: string): void {
    if (o.kind === "node") this.node ??= msg;
    else if (o.kind === "network" && !this.networks.has(o.vnetId)) this.networks.set(o.vnetId, msg);
    else if (o.kind === "port" && !this.ports.has(o.nicId)) this.ports.set(o.nicId, msg);
    else if (o.kind === "guest" && !this.guests.has(o.ns)) this.guests.set(o.ns, msg);
    else if (o.kind === "stale") this.other.push(msg);
  }

  /** Why a network failed, if it did. */
  network(vnetId: number): string | undefined {
    return this.networks.get(vnetId) ?? (this.node && `node namespace: ${this.node}`);
  }

  /** Why a port failed: itself, its network, its guest namespace or the node. */
  port(nicId: number): string | undefined {
    const dep = this.portDeps.get(nicId);
    const own = this.ports.get(nicId);
    if (own || !dep) return own;
    const net = this.network(dep.vnetId);
    if (net) return `VNET ${dep.vnetId} failed: ${net}`;
    const g = this.guests.get(dep.ns);
    return g && `guest namespace ${dep.ns} failed: ${g}`;
  }

  /** Whether an op must be skipped (or its creation rolled back) because its object failed. */
  blocked(o: ObjectRef): boolean {
    if (this.node) return o.kind !== "stale";
    if (o.kind === "network") return this.networks.has(o.vnetId);
    if (o.kind === "port") return this.port(o.nicId) !== undefined;
    if (o.kind === "guest") {
      const ports = this.nsPorts.get(o.ns) ?? [];
      return this.guests.has(o.ns) || (ports.length > 0 && ports.every((id) => this.port(id) !== undefined));
    }
    return false;
  }
}

interface Undo {
  op: Op;
  ns: string | undefined;
}

/** Runs one batch of ops in `ns` (undefined: the agent's namespace), skipping blocked objects. */
async function runPhase(
  ns: string | undefined,
  ops: Op[],
  f: Failures,
  undo: Undo[],
  done: string[],
  tool: Tool = "ip",
) {
  const live = ops.filter((o) => !f.blocked(o.object));
  if (live.length === 0) return;
  done.push(...live.map((o) => o.text));
  const lines = live.map((o) => o.line);
  const r = tool === "sysctl" ? await runSysctl(ns, lines) : await runBatch(ns, lines, tool);
  settle(live, r, f, undo, ns);
}

/** Attributes a batch's failures to the objects its ops served; remembers what to undo. */
function settle(live: Op[], r: BatchResult, f: Failures, undo: Undo[], ns: string | undefined) {
  live.forEach((o, i) => {
    const err = r.fatal ?? r.failures.get(i);
    if (err !== undefined && !(o.deletion && GONE.test(err))) f.fail(o.object, `${o.text}: ${err}`);
    else if (err === undefined && o.undo) undo.push({ op: o, ns });
  });
}

/** Undoes, newest first, the creations whose object failed; one batch per namespace. */
async function rollback(undo: Undo[], f: Failures, done: string[]) {
  const todo = undo.filter((u) => f.blocked(u.op.object)).reverse();
  const byNs = new Map<string | undefined, Undo[]>();
  for (const u of todo) {
    const list = byNs.get(u.ns);
    if (list) list.push(u);
    else byNs.set(u.ns, [u]);
  }
  // The node namespace first: veths and bridges go before the guest namespaces they point into.
  const order = [...byNs.keys()].sort((a, b) => Number(a === undefined) - Number(b === undefined));
  for (const ns of order) {
    const items = byNs.get(ns) ?? [];
    const lines = items.map((u) => u.op.undo as string);
    done.push(...lines.map((l) => `ip ${ns ? `-n ${ns} ` : ""}${l}`));
    const r = await runBatch(ns, lines);
    items.forEach((u, i) => {
      const err = r.fatal ?? r.failures.get(i);
      if (err !== undefined && !GONE.test(err)) f.other.push(`rollback of "${u.op.text}" failed: ${err}`);
    });
  }
}

/** Waits (bounded) until links that die with deleted namespaces are gone from the node namespace:
 * the kernel removes them asynchronously, and the next observation must not see them. Only those
 * links are looked up (one `ip -batch` per poll), not the node's whole link list. */
async function waitGone(nodeNs: string | undefined, names: string[], timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const input = names.map((n) => `link show dev ${n}\n`).join("");
  while (names.length > 0 && Date.now() < deadline) {
    const r = await ipIn(nodeNs, ["-j", "-force", "-batch", "-"], input);
    if (splitForcedBatch(r.stdout, r.stderr, names.length).every((d) => d === "")) return;
    await sleep(20);
  }
}

/** Runs a plan and reports per network and per port. Never throws for a kernel refusal. */
export async function execute(
  plan: Plan,
  /** Runs once the namespaces exist, before the node's links change (nft/policy.ts guard); the
   * command lines it ran join the result's, in order. */
  beforeNode?: () => Promise<string[]>,
): Promise<ExecuteResult> {
  const f = new Failures(plan);
  const undo: Undo[] = [];
  const done: string[] = [];
  // Guest namespaces: all through the netlink helpers in one request when they can, else one `ip`
  // process each.
  const guestPhase = async (batches: Plan["guests"]) => {
    const live = batches
      .map((g) => ({ ns: g.ns, ops: g.ops.filter((o) => !f.blocked(o.object)) }))
      .filter((g) => g.ops.length > 0);
    if (live.length === 0) return;
    const r = await nlBatches(live.map((g) => ({ ns: g.ns, lines: g.ops.map((o) => o.line) })));
    if (!r) return void (await pool(live, GUEST_CONCURRENCY, (g) => runPhase(g.ns, g.ops, f, undo, done)));
    live.forEach((g, i) => {
      done.push(...g.ops.map((o) => o.text));
      settle(g.ops, r[i] as BatchResult, f, undo, g.ns);
    });
  };

  // Namespaces first (stale ones go, taking their veths; new ones come, the veth peers are created
  // straight into them), then squatters on guest interface names, then the node namespace, then
  // the guests' addresses and routes.
  const phases: Record<string, number> = {};
  const timed = async (name: string, fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    phases[name] = (phases[name] ?? 0) + (performance.now() - t0);
  };
  await timed("namespaces", () =>
    runPhase(undefined, [...plan.deleteNamespaces, ...plan.createNamespaces], f, undo, done),
  );
  // Veths dying with their namespaces vanish asynchronously (~20–40 ms of namespace cleanup): the
  // node's changes go on meanwhile unless one of them names such a veth (a NIC moved to another
  // instance gets its veth again under the same name).
  const gone = new Set(plan.goneWithNamespaces);
  const touchesGone = [...plan.node, ...plan.sysctls, ...plan.fdb].some((o) =>
    o.line.split(/[\s=.]+/).some((w) => gone.has(w)),
  );
  const vanish = timed("namespaces", () => waitGone(plan.nodeNetns, plan.goneWithNamespaces));
  if (touchesGone) await vanish;
  if (beforeNode) await timed("guard", async () => done.push(...(await beforeNode())));
  await timed("guests_before", () => guestPhase(plan.guestsBefore));
  // Guests last, each a few netlink requests through the helpers. Not beside the node's batch:
  // both are RTNL-bound kernel work, and overlapping them measured no faster (node + guests
  // 1.30 s either way at 1,000 ports).
  await timed("node", () => runPhase(plan.nodeNetns, plan.node, f, undo, done));
  await timed("sysctl", () => runPhase(plan.nodeNetns, plan.sysctls, f, undo, done, "sysctl"));
  await timed("fdb", () => runPhase(plan.nodeNetns, plan.fdb, f, undo, done, "bridge"));
  await timed("guests", () => guestPhase(plan.guests));
  await timed("rollback", () => rollback(undo, f, done));
  await vanish;

  const networks = [
    ...plan.networks.map((vnetId) => status({ vnetId }, f.network(vnetId))),
    ...plan.rejectedNetworks.map((r) => ({ vnetId: r.vnetId, ok: false, error: r.error })),
  ];
  const ports = [
    ...plan.ports.map((p) => status({ nicId: p.nicId }, f.port(p.nicId))),
    ...plan.rejectedPorts.map((r) => ({ nicId: r.nicId, ok: false, error: r.error })),
  ];
  const errors = [...(f.node ? [`node namespace: ${f.node}`] : []), ...f.other];
  const ok = errors.length === 0 && networks.every((n) => n.ok) && ports.every((p) => p.ok);
  return { operations: done.length, ops: done, networks, ports, errors, ok, phases };
}

function status<T extends object>(id: T, error: string | undefined): T & ObjectStatus {
  return error === undefined ? { ...id, ok: true } : { ...id, ok: false, error };
}
