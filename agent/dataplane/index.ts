// The dataplane facade the agent uses, and the only file that joins its subsystems (links/, nft/,
// tc/): a reconcile is observe → plan → execute → policy (nftables, QoS), serialised so a push and
// the periodic timer never reconcile at the same time. Nothing here throws for a kernel refusal: every
// outcome becomes a ReconcileResult shaped like the AgentReport's fields.
import { existsSync } from "node:fs";
import { type DesiredState, WIRE_VERSION } from "../../lib/wire";
import { createDhcp, type DhcpOptions, type DhcpResult } from "./dhcp/supervisor";
import { type ExecuteResult, execute } from "./links/execute";
import { warmNetlink } from "./links/nl";
import { observe, observeSome } from "./links/observe";
import { plan, planPreview } from "./links/plan";
import { createNftPolicy, type NftPolicyOptions } from "./nft/policy";
import { type TapPorts, withTapPorts } from "./ports";
import {
  carried,
  expectGuests,
  guestKeys,
  peerPlan,
  portChanges,
  pushScope,
  type Synced,
} from "./push-scope";
import { inNs } from "./run";
import { portQos } from "./tc/plan";
import { createQos, type QosOptions } from "./tc/policy";
import type { Dataplane, Observed, Plan, PolicyResult } from "./types";

export { DRIVER_REGISTRY, DriverError, getDriver, type NetworkDriver } from "./links/drivers";
export { observe } from "./links/observe";
export { plan, planPreview } from "./links/plan";
export type { Synced } from "./push-scope";
export { run, runInNetns } from "./run";
export type { Observed, Op, Plan, ReconcileResult } from "./types";
export { guestNsName, hostVethName, planOps } from "./types";

export interface DataplaneOptions {
  /** Namespace standing in for the node (lab, tests). Created with lo up by reconcile when
   * missing; absent = the agent's own namespace (a real hypervisor). */
  nodeNetns?: string;
  /** Guest namespaces are `${guestPrefix}-i<instanceId>`; every namespace with that prefix is
   * owned (and may be deleted) by this dataplane. */
  guestPrefix: string;
  /** Fault injection for tests (nft/policy.ts, tc/policy.ts). */
  policy?: PolicyOptions;
  /** DHCP/DNS servers of the node's networks (dhcp/supervisor.ts): where their files live. */
  dhcp?: DhcpOptions;
}

export type { Dataplane } from "./types";

const EMPTY: DesiredState = {
  wireVersion: WIRE_VERSION,
  nodeId: 1,
  nodeName: "teardown",
  revision: 0,
  networks: [],
  ports: [],
};
const ERROR_MAX = 4000;

/** One line summarising what failed, for the report's `error`. */
function summarise(r: ExecuteResult): string | undefined {
  if (r.ok) return undefined;
  const failedNets = r.networks.filter((n) => !n.ok);
  const failedPorts = r.ports.filter((p) => !p.ok);
  const parts = [
    ...r.errors,
    ...(failedNets.length
      ? [
          `${failedNets.length} network(s) failed, first VNET ${failedNets[0]?.vnetId}: ${failedNets[0]?.error}`,
        ]
      : []),
    ...(failedPorts.length
      ? [`${failedPorts.length} port(s) failed, first NIC ${failedPorts[0]?.nicId}: ${failedPorts[0]?.error}`]
      : []),
  ];
  return parts.join("; ").slice(0, ERROR_MAX);
}

/** Folds the nftables/QoS outcome (createPolicy) into the ip executor's result. */
function withPolicy(r: ExecuteResult, x: PolicyResult): ExecuteResult {
  const ports = r.ports.map((p) => {
    const err = x.ports.get(p.nicId);
    return p.ok && err ? { nicId: p.nicId, ok: false, error: err } : p;
  });
  const errors = [...r.errors, ...x.errors];
  const ok = r.ok && errors.length === 0 && ports.every((p) => p.ok);
  return { ...r, operations: r.operations + x.ops.length, ops: [...r.ops, ...x.ops], ports, errors, ok };
}

/** Folds the DHCP step into the result: its actions are operations (a repair when the revision did
 * not change), a server that failed fails its network. */
function withDhcp(r: ExecuteResult, d: DhcpResult): ExecuteResult {
  const failed = new Map<number, string>();
  for (const e of d.errors) {
    const m = /^VNET (\d+): /.exec(e);
    if (m) failed.set(Number(m[1]), e);
  }
  const networks = r.networks.map((n) => {
    const err = failed.get(n.vnetId);
    return n.ok && err ? { ...n, ok: false, error: err } : n;
  });
  const errors = [...r.errors, ...d.errors.filter((e) => !/^VNET \d+: /.test(e))];
  const ok = r.ok && d.ok && errors.length === 0 && networks.every((n) => n.ok);
  return { ...r, operations: r.operations + d.ops.length, ops: [...r.ops, ...d.ops], networks, errors, ok };
}

/** What a push changed, for the policy steps: the NICs, and those of them with QoS. */
type PolicyPush = { changed: Set<number>; qos: Set<number> };

export type PolicyOptions = NftPolicyOptions & QosOptions;

/** The policy steps after the ip plan, for one node: nftables (nft/policy.ts) and QoS
 * (tc/policy.ts), each level-based, each reported as a PolicyResult. */
export interface Policy {
  /** The lockdown guard (see NftPolicy.guard): before any port is created or changed. */
  guard(out: PolicyResult): Promise<void>;
  /** nftables; with `push` (a push that changed only some NICs), only the difference is loaded,
   * without reading the tables back first. */
  nft(desired: DesiredState, push?: PolicyPush): Promise<PolicyResult>;
  /** QoS; with `push`, reads and plans only the NICs of `push.qos` (changed NICs that had or have
   * QoS: a NIC without either has no tc object of ours to look at). */
  qos(desired: DesiredState, push?: PolicyPush): Promise<PolicyResult>;
  /** Both steps in order, merged. */
  reconcile(desired: DesiredState, push?: PolicyPush): Promise<PolicyResult>;
  /** Whether the current reconcile creates the node namespace: then the guard, nftables and QoS
   * read nothing first (there is nothing of ours to find). Set before each reconcile's execution. */
  freshNode(on: boolean): void;
  /** Whether the nftables step knows what the kernel holds (it loaded it, and recorded it): a
   * push's nftables step then reads nothing and may run beside the ip plan. */
  trusted(): boolean;
  /** Bookkeeping a push deferred (recording the loaded nftables form); run before the next reconcile. */
  settle(): Promise<void>;
  /** The nft/tc command lines reconcile would run now (the plan preview); changes nothing. QoS of
   * ports whose veth the ip plan has yet to create is not listed. */
  preview(desired: DesiredState): Promise<string[]>;
}

/** The nftables and QoS steps of one node (namespace). */
export function createPolicy(ns: string | undefined, opts: PolicyOptions = {}): Policy {
  const nft = createNftPolicy(ns, opts);
  const qos = createQos(ns, opts);
  const gone = () => ns !== undefined && !existsSync(`/run/netns/${ns}`);
  /** Runs one step into a fresh result, timed; a throw is that step's error. The node namespace
   * gone (teardown) or never created (reported by the ip plan) runs nothing. */
  const step = async (
    key: "nft" | "tc",
    body: (out: PolicyResult) => Promise<void>,
    errors: string[] = [],
  ) => {
    const out: PolicyResult = { ops: [], errors, ports: new Map() };
    if (gone()) return out;
    const t0 = performance.now();
    try {
      await body(out);
    } catch (e) {
      out.errors.push(`${key === "nft" ? "nftables" : "QoS"}: ${(e as Error).message}`);
    }
    out.phases = { [key]: performance.now() - t0 };
    return out;
  };
  const nftStep = (desired: DesiredState, push?: PolicyPush) =>
    step("nft", (out) => nft.reconcile(desired, out, push !== undefined), nft.takeLater());
  const qosStep = (desired: DesiredState, push?: PolicyPush) =>
    step("tc", (out) => qos.reconcile(desired, out, push?.qos));
  return {
    guard: nft.guard,
    settle: nft.settle,
    trusted: nft.trusted,
    freshNode: (on) => {
      nft.freshNode(on);
      qos.freshNode(on);
    },
    nft: nftStep,
    qos: qosStep,
    reconcile: async (desired, push) =>
      mergePolicy(await nftStep(desired, push), await qosStep(desired, push)),
    preview: async (desired) => {
      if (gone()) return [`${inNs(ns, "nft -f -")}  # create the tables`];
      return [...(await nft.preview(desired)), ...(await qos.preview(desired))];
    },
  };
}

/** Two policy steps' results as one (the later step's port error wins for the same NIC). */
function mergePolicy(a: PolicyResult, b: PolicyResult): PolicyResult {
  return {
    ops: [...a.ops, ...b.ops],
    errors: [...a.errors, ...b.errors],
    ports: new Map([...a.ports, ...b.ports]),
    phases: { ...a.phases, ...b.phases },
    ...(a.counters || b.counters ? { counters: a.counters ?? b.counters } : {}),
  };
}

/** NICs with QoS whose veth this plan (re)creates: the new veth has lost its qdiscs, so a push's
 * QoS step looks at them too. */
function recreatedCapped(desired: DesiredState, p: Plan): number[] {
  const capped = new Set(
    portQos(desired)
      .filter((q) => q.inbound || q.outbound)
      .map((q) => q.nicId),
  );
  return p.node.flatMap((op) =>
    op.object.kind === "port" && op.line.startsWith("link add ") && capped.has(op.object.nicId)
      ? [op.object.nicId]
      : [],
  );
}

/** A dataplane for one node (namespace) and one guest prefix, hypervisor (tap) ports included. */
export function createDataplane(opts: DataplaneOptions): Dataplane & { taps: TapPorts } {
  return withTapPorts(createPortDataplane(opts), opts.nodeNetns);
}

/** The dataplane of lab guest ports, networks, nftables and QoS (tap ports: ports/). */
function createPortDataplane(opts: DataplaneOptions): Dataplane {
  // The prefix decides which namespaces we may delete: refuse one that could match foreign names.
  if (!/^[A-Za-z0-9_.]{2,}[A-Za-z0-9_.-]*$/.test(opts.guestPrefix)) {
    throw new Error(`guestPrefix "${opts.guestPrefix}" must be at least 2 letters, digits, "_" or "." first`);
  }
  // Namespace names become paths under /run/netns: no slashes, no surprises.
  if (opts.nodeNetns !== undefined && !/^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/.test(opts.nodeNetns)) {
    throw new Error(`nodeNetns "${opts.nodeNetns}" may only use letters, digits, ".", "_" and "-"`);
  }
  const planOpts = { guestPrefix: opts.guestPrefix };
  const look = (skip?: Set<string>) =>
    observe({ nodeNetns: opts.nodeNetns, guestPrefix: opts.guestPrefix, skip });
  // Guest namespaces known to match the desired ports they had at the last successful reconcile
  // (read in sync, or changed by it without error), by the fingerprint of those ports. A push
  // whose ports for such a namespace are unchanged does not read it again: it is expected as
  // left. The periodic full reconcile reads every namespace, so drift inside one is still found.
  const inSync = new Map<string, string>();
  const policy = createPolicy(opts.nodeNetns, opts.policy);
  const dhcp = createDhcp({ nodeNetns: opts.nodeNetns, ...opts.dhcp });
  /** The DHCP step: after the bridges exist and nftables lets the node's server through; nothing
   * when the node namespace is gone (teardown, or the ip plan could not create it). */
  const dhcpStep = async (desired: DesiredState): Promise<DhcpResult> => {
    if (opts.nodeNetns && !existsSync(`/run/netns/${opts.nodeNetns}`))
      return { ok: true, servers: [], leases: [], ops: [], repairs: [], errors: [] };
    try {
      return await dhcp.reconcile(desired);
    } catch (e) {
      return {
        ok: false,
        servers: [],
        leases: [],
        ops: [],
        repairs: [],
        errors: [`DHCP: ${(e as Error).message}`],
      };
    }
  };
  // Started now, so the first reconcile does not wait for python's start-up.
  warmNetlink();
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

  /** The state the last reconcile left the node in, when it ended without error: a push that
   * changes only some ports of bridge networks is planned against it (see pushScope). */
  let synced: Synced | undefined;

  /** Step 1, observe: what to read for this reconcile. A push may be scoped (push-scope.ts): only
   * FDB entries of changed peers (nothing read), only the changed ports' namespaces and links, or
   * everything but the guest namespaces known in sync. A full reconcile reads everything. */
  const observeStep = async (desired: DesiredState, base: Synced | undefined, full: boolean) => {
    // The node namespace vanished (removed by hand or by a teardown): node-wide, which recreates it.
    const nodeThere = !opts.nodeNetns || existsSync(`/run/netns/${opts.nodeNetns}`);
    const pushBase = !full && nodeThere ? base : undefined;
    const scope = pushBase ? pushScope(pushBase, desired, opts) : undefined;
    const peers = pushBase && !scope ? peerPlan(pushBase, desired, opts.nodeNetns) : undefined;
    const keys = guestKeys(desired, opts.guestPrefix);
    if (peers) return { peers, keys, target: desired };
    if (scope) {
      // Only the changed ports' namespaces and links are read and planned; stale removal only
      // sees those, so nothing else is touched.
      const o = await observeSome({
        nodeNetns: opts.nodeNetns,
        links: scope.links,
        namespaces: scope.namespaces,
        known: { sysctls: base?.sysctls ?? {} },
      });
      return { scope, keys, o, target: scope.desired };
    }
    const skip = new Set(
      full ? [] : [...inSync].filter(([ns, key]) => keys.get(ns) === key).map(([ns]) => ns),
    );
    const o = await look(skip);
    await expectGuests(o, desired, skip, opts.guestPrefix);
    return { keys, o, target: desired };
  };

  /** Steps 3 and 4, execute and policy: the ip plan, with the lockdown guard before any port
   * changes, then nftables and QoS. nftables names ports (never ifindexes), so a push whose tables
   * the policy trusts loads them beside the ip plan: a port the tables do not know yet is dropped.
   * Otherwise nftables loads after the ip plan: until then the guard's lockdown tables (or the
   * tables in force, which drop ports they do not know) drop what new guests send, among it their
   * IPv6 start-up (DAD, MLD, router solicitations) that would otherwise flood every port of the
   * bridge while the plan runs (measured: node and guests 3-5 s instead of 1.3 s). QoS runs after
   * the links exist (tc needs the devices). */
  const executeStep = async (desired: DesiredState, p: Plan, push: PolicyPush | undefined) => {
    const guarded: PolicyResult = { ops: [], errors: [], ports: new Map() };
    policy.freshNode(p.createNamespaces.some((op) => op.object.kind === "node"));
    const early = push && policy.trusted() ? policy.nft(desired, push) : undefined;
    const executed = await execute(p, async () => {
      await policy.guard(guarded);
      return guarded.ops;
    });
    if (push) for (const nicId of recreatedCapped(desired, p)) push.qos.add(nicId);
    const nft = early ? await early : await policy.nft(desired, push);
    const x = mergePolicy(nft, await policy.qos(desired, push));
    if (push) void serial(() => policy.settle());
    return { executed, x: { ...x, errors: [...guarded.errors, ...x.errors] } };
  };

  const apply = async (desired: DesiredState, shape: (p: Plan, o: Observed) => void, full = true) => {
    const t0 = performance.now();
    const base = synced;
    synced = undefined;
    try {
      const seen = await observeStep(desired, base, full);
      inSync.clear();
      const t1 = performance.now();
      // Step 2, plan (pure).
      const p = seen.peers ?? plan(seen.target, seen.o as Observed, planOpts);
      if (seen.o) shape(p, seen.o);
      const t2 = performance.now();
      const push = seen.scope ?? (!full && base ? portChanges(base, desired) : undefined);
      const { executed, x } = await executeStep(desired, p, push);
      const served = await dhcpStep(desired);
      const r = withDhcp(withPolicy(executed, x), served);
      // A push reports the objects it did not touch as the last reconcile left them (in sync).
      const scoped = seen.scope !== undefined || seen.peers !== undefined;
      const { networks, ports } = scoped ? carried(desired, r, base) : r;
      const ok = r.ok && networks.every((n) => n.ok) && ports.every((n) => n.ok);
      // Without error, every desired guest namespace now matches its ports (read, or changed).
      if (ok) {
        for (const [ns, key] of seen.keys) inSync.set(ns, key);
        const written = Object.fromEntries(p.sysctls.map((op) => op.line.split("=") as [string, string]));
        synced = { desired, sysctls: { ...(seen.o?.sysctls ?? base?.sysctls), ...written }, networks, ports };
      }
      const phases = { observe: t1 - t0, plan: t2 - t1, ...executed.phases, ...x.phases };
      return {
        operations: r.operations,
        ops: r.ops,
        networks,
        ports,
        ok,
        error: summarise({ ...r, networks, ports, ok }),
        durationMs: performance.now() - t0,
        phases,
        ...(x.counters ? { counters: x.counters } : {}),
        ...(served.servers.length ? { dhcpLeases: served.leases } : {}),
      };
    } catch (e) {
      policy.freshNode(false);
      // ip could not run or its output could not be read (kernel refusals never land here):
      // every desired object is reported with the cause.
      const error = `reconcile failed: ${(e as Error).message}`.slice(0, ERROR_MAX);
      return {
        operations: 0,
        ops: [],
        networks: desired.networks.map((n) => ({ vnetId: n.vnetId, ok: false, error })),
        ports: desired.ports.map((p) => ({ nicId: p.nicId, ok: false, error })),
        ok: false,
        error,
        durationMs: performance.now() - t0,
      };
    }
  };

  return {
    observe: () => serial(look),
    plan: (desired) => serial(async () => plan(desired, await look(), planOpts)),
    preview: (desired) =>
      serial(async () => [
        ...planPreview(plan(desired, await look(), planOpts)),
        ...(await policy.preview(desired)),
      ]),
    policyPreview: (desired) => serial(() => policy.preview(desired)),
    reconcile: (desired, o) => serial(() => apply(desired, () => {}, o?.full ?? true)),
    teardown: (t) =>
      serial(async () => {
        // The servers first: a dnsmasq would keep a deleted node namespace alive.
        await dhcp.teardown().catch(() => {});
        return apply(EMPTY, (p, o) => {
          // Tearing down must not create the node namespace nor touch its lo on the way out.
          p.createNamespaces = [];
          p.node = o.nodeNetnsExists ? p.node.filter((op) => op.object.kind !== "node") : [];
          if (t?.removeNodeNetns && opts.nodeNetns && o.nodeNetnsExists) {
            // Everything in the node namespace goes with it, in one kernel batch.
            p.node = [];
            p.goneWithNamespaces = [];
            const line = `netns del ${opts.nodeNetns}`;
            p.deleteNamespaces.push({
              target: { kind: "netns" },
              line,
              text: `ip ${line}`,
              object: { kind: "node" },
              deletion: true,
            });
          }
        });
      }),
  };
}
