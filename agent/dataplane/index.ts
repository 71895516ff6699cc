// The dataplane facade the agent uses: observe → plan → execute, serialised so a push and the
// periodic timer never reconcile at the same time. Nothing here throws for a kernel refusal: every
// outcome becomes a ReconcileResult shaped like the AgentReport's fields.
import { existsSync } from "node:fs";
import type { DesiredState } from "../../lib/wire";
import { normCidr, vxlanName, ZERO_MAC } from "./drivers";
import { type ExecuteResult, execute } from "./execute";
import type { NftCounters } from "./nft-apply";
import { warmNetlink } from "./nl";
import { observe, observeGuest, observeSome } from "./observe";
import { linksOf, plan, planPreview } from "./plan";
import { createPolicy, type PolicyOptions, type PolicyResult } from "./policy";
import { type TapPorts, withTapPorts } from "./ports";
import { portQos } from "./tc";
import { guestNsName, hostVethName, type Observed, type Op, type Plan } from "./types";

export { DRIVER_REGISTRY, DriverError, getDriver, type NetworkDriver } from "./drivers";
export { observe } from "./observe";
export { plan, planPreview } from "./plan";
export { run, runInNetns } from "./run";
export type { Observed, Op, Plan } from "./types";
export { guestNsName, hostVethName, planOps } from "./types";

/** Per guest namespace, a fingerprint of the desired ports (and their networks) living in it. */
function guestKeys(desired: DesiredState, guestPrefix: string): Map<string, string> {
  const nets = new Map(desired.networks.map((n) => [n.vnetId, n]));
  const byNs = new Map<string, unknown[]>();
  for (const p of desired.ports) {
    const ns = guestNsName(guestPrefix, p.instanceId);
    const n = nets.get(p.vnetId);
    const list = byNs.get(ns);
    if (list) list.push(p, n?.bridge, n?.driver);
    else byNs.set(ns, [p, n?.bridge, n?.driver]);
  }
  return new Map([...byNs].map(([ns, v]) => [ns, JSON.stringify(v)]));
}

/** Fills in the skipped guest namespaces as the last reconcile left them: each port's guest end
 * with its desired MAC, MTU and addresses, paired with the host veth just observed, and the default
 * route. A namespace whose host veths are not all there is read for real instead. */
async function expectGuests(o: Observed, desired: DesiredState, skip: Set<string>, guestPrefix: string) {
  const links = new Map(o.links.map((l) => [l.name, l]));
  const present = new Set(o.namespaces);
  const byNs = new Map<string, DesiredState["ports"]>();
  for (const p of desired.ports) {
    const ns = guestNsName(guestPrefix, p.instanceId);
    const list = byNs.get(ns);
    if (list) list.push(p);
    else byNs.set(ns, [p]);
  }
  for (const ns of skip) {
    if (!present.has(ns)) continue;
    const ports = byNs.get(ns) ?? [];
    const hosts = ports.map((p) => links.get(hostVethName(p.nicId)));
    if (hosts.some((h) => h?.kind !== "veth" || h.linkIndex === undefined)) {
      const g = await observeGuest(ns);
      if (g) o.guests[ns] = g;
      continue;
    }
    const owner = ports.find((p) => p.defaultRoute && p.gateway);
    o.guests[ns] = {
      links: [
        { name: "lo", ifindex: 1, mtu: 65536, up: true, ipv4: ["127.0.0.1/8"] },
        ...ports.map((p, i) => ({
          name: p.guestIf,
          ifindex: hosts[i]?.linkIndex as number,
          kind: "veth",
          mtu: p.mtu,
          mac: p.mac.toLowerCase(),
          up: true,
          linkIndex: hosts[i]?.ifindex,
          ipv4: p.addresses.map(normCidr),
        })),
      ],
      defaultRoutes: owner ? [{ gateway: owner.gateway, dev: owner.guestIf }] : [],
    };
  }
}

export interface DataplaneOptions {
  /** Namespace standing in for the node (lab, tests). Created with lo up by reconcile when
   * missing; absent = the agent's own namespace (a real hypervisor). */
  nodeNetns?: string;
  /** Guest namespaces are `${guestPrefix}-i<instanceId>`; every namespace with that prefix is
   * owned (and may be deleted) by this dataplane. */
  guestPrefix: string;
  /** Fault injection for tests (policy.ts). */
  policy?: PolicyOptions;
}

export interface ReconcileResult {
  operations: number;
  /** The command lines executed, in order. */
  ops: string[];
  networks: { vnetId: number; ok: boolean; error?: string }[];
  ports: { nicId: number; ok: boolean; error?: string }[];
  ok: boolean;
  error?: string;
  durationMs: number;
  /** Security-group rule counters read during this reconcile, by counter name (`sg<g>_r<rule>`). */
  counters?: NftCounters;
  /** Where the time went (ms): observe, plan, the executor's phases, nft, tc. */
  phases?: Record<string, number>;
}

export interface Dataplane {
  /** The kernel's current state as this dataplane sees it. */
  observe(): Promise<Observed>;
  /** What reconcile would do now (the plan preview); changes nothing. */
  plan(desired: DesiredState): Promise<Plan>;
  /** The exact command lines reconcile would run now, in order; changes nothing. */
  preview(desired: DesiredState): Promise<string[]>;
  /** Makes the kernel match `desired`; a second call with the same state performs 0 operations.
   * With `full: false` (a push), guest namespaces whose ports did not change since a reconcile
   * that found them in sync are not read again; `full` (the default, and the periodic drift
   * check) reads everything. */
  reconcile(desired: DesiredState, opts?: { full?: boolean }): Promise<ReconcileResult>;
  /** The nftables/QoS command lines reconcile would run after the plan (policy.ts); changes nothing. */
  policyPreview(desired: DesiredState): Promise<string[]>;
  /** Removes every link and guest namespace this dataplane owns (`lab down`, tests); with
   * removeNodeNetns, the node namespace too. */
  teardown(opts?: { removeNodeNetns?: boolean }): Promise<ReconcileResult>;
}

const EMPTY: DesiredState = {
  wireVersion: 1,
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

/** Folds the nftables/QoS outcome (policy.ts) into the ip executor's result. */
function withPolicy(r: ExecuteResult, x: PolicyResult): ExecuteResult {
  const ports = r.ports.map((p) => {
    const err = x.ports.get(p.nicId);
    return p.ok && err ? { nicId: p.nicId, ok: false, error: err } : p;
  });
  const errors = [...r.errors, ...x.errors];
  const ok = r.ok && errors.length === 0 && ports.every((p) => p.ok);
  return { ...r, operations: r.operations + x.ops.length, ops: [...r.ops, ...x.ops], ports, errors, ok };
}

/** What the last reconcile without error left the node in. */
export interface Synced {
  desired: DesiredState;
  /** The node's sysctls as read then, with what that reconcile wrote. */
  sysctls: Record<string, string>;
  networks: ReconcileResult["networks"];
  ports: ReconcileResult["ports"];
}

/** A push that only some ports need: those NICs, the desired state restricted to their guest
 * namespaces (every port living there, and their networks), and what to read. */
interface PushScope {
  changed: Set<number>;
  /** Changed NICs that had or have QoS (only those can have tc objects of ours). */
  qos: Set<number>;
  desired: DesiredState;
  namespaces: string[];
  links: string[];
}

/** The scope of a push from `base` to `desired`, or undefined when it needs a node-wide reconcile:
 * anything but ports changed (networks, underlay, security groups...), or a network is not a
 * plain bridge (routed ports, VXLAN FDB and 802.1Q read node-wide state). */
export function pushScope(
  base: Synced,
  desired: DesiredState,
  opts: DataplaneOptions,
): PushScope | undefined {
  const { ports: _a, revision: _b, ...rest } = desired;
  const { ports: _c, revision: _d, ...restBase } = base.desired;
  if (JSON.stringify(rest) !== JSON.stringify(restBase)) return undefined;
  if (desired.networks.some((n) => n.driver !== "bridge")) return undefined;
  const { changed, qos } = portChanges(base, desired);
  const before = new Map(base.desired.ports.map((p) => [p.nicId, p]));
  const after = new Map(desired.ports.map((p) => [p.nicId, p]));
  const nsOf = (p: DesiredState["ports"][number]) => guestNsName(opts.guestPrefix, p.instanceId);
  const namespaces = new Set<string>();
  for (const id of changed) {
    for (const p of [before.get(id), after.get(id)]) if (p) namespaces.add(nsOf(p));
  }
  const ports = desired.ports.filter((p) => namespaces.has(nsOf(p)));
  const vnets = new Set(ports.map((p) => p.vnetId));
  const networks = desired.networks.filter((n) => vnets.has(n.vnetId));
  const gone = base.desired.ports.filter((p) => namespaces.has(nsOf(p)));
  return {
    changed,
    qos,
    desired: { ...desired, networks, ports },
    namespaces: [...namespaces],
    links: [
      ...new Set([
        ...(opts.nodeNetns ? ["lo"] : []),
        ...networks.flatMap(linksOf),
        ...[...ports, ...gone].map((p) => hostVethName(p.nicId)),
      ]),
    ],
  };
}

/** A push that only changes VXLAN peer lists (another node starts or stops hosting a VNET): the
 * static FDB entries of those peers, planned from the difference with `base` (in sync) without
 * reading anything; undefined when anything else changed. */
export function peerPlan(
  base: Synced,
  desired: DesiredState,
  nodeNetns: string | undefined,
): Plan | undefined {
  const strip = (d: DesiredState) => ({
    ...d,
    revision: 0,
    networks: d.networks.map(({ vxlanPeers: _, ...n }) => n),
  });
  if (JSON.stringify(strip(base.desired)) !== JSON.stringify(strip(desired))) return undefined;
  const before = new Map(base.desired.networks.map((n) => [n.vnetId, n]));
  const fdb: Op[] = [];
  for (const net of desired.networks) {
    const old = before.get(net.vnetId)?.vxlanPeers ?? [];
    const now = net.vxlanPeers ?? [];
    if (old.join() === now.join()) continue;
    if (net.driver !== "vxlan" || net.vxlanGroup !== undefined || net.vni === undefined) return undefined;
    const dev = vxlanName(net.vni);
    const op = (line: string, deletion?: true): Op => ({
      target: { kind: "node" },
      tool: "bridge",
      line,
      text: `bridge ${nodeNetns ? `-n ${nodeNetns} ` : ""}${line}`,
      object: { kind: "network", vnetId: net.vnetId },
      ...(deletion ? { deletion } : {}),
    });
    for (const dst of old.filter((d) => !now.includes(d)))
      fdb.push(op(`fdb del ${ZERO_MAC} dev ${dev} dst ${dst}`, true));
    for (const dst of now.filter((d) => !old.includes(d)))
      fdb.push(op(`fdb append ${ZERO_MAC} dev ${dev} dst ${dst}`));
  }
  return {
    nodeNetns,
    deleteNamespaces: [],
    goneWithNamespaces: [],
    createNamespaces: [],
    guestsBefore: [],
    node: [],
    sysctls: [],
    fdb,
    guests: [],
    rejectedNetworks: [],
    rejectedPorts: [],
    networks: [...new Set(fdb.map((o) => (o.object as { vnetId: number }).vnetId))],
    ports: [],
  };
}

/** NICs added, changed or removed since `base`, and those of them that had or have QoS (only
 * those can have tc objects of ours). */
function portChanges(base: Synced, desired: DesiredState): { changed: Set<number>; qos: Set<number> } {
  const before = new Map(base.desired.ports.map((p) => [p.nicId, p]));
  const after = new Map(desired.ports.map((p) => [p.nicId, p]));
  const changed = new Set<number>();
  for (const p of desired.ports) {
    const b = before.get(p.nicId);
    if (!b || JSON.stringify(b) !== JSON.stringify(p)) changed.add(p.nicId);
  }
  for (const id of before.keys()) if (!after.has(id)) changed.add(id);
  const hasQos = (p: DesiredState["ports"][number] | undefined) =>
    Object.values(p?.qos ?? {}).some((v) => v !== undefined && v !== null && v !== 0);
  const qos = new Set([...changed].filter((id) => hasQos(before.get(id)) || hasQos(after.get(id))));
  return { changed, qos };
}

/** Statuses of every desired object (by id): the fresh ones, else those the last reconcile
 * reported (a push only plans what it changed; the rest was in sync). */
function carry<T extends { ok: boolean; error?: string }>(
  wanted: number[],
  id: (s: T) => number,
  fresh: T[],
  known: T[] | undefined,
  missing: (id: number) => T,
): T[] {
  const now = new Map(fresh.map((s) => [id(s), s]));
  const old = new Map((known ?? []).map((s) => [id(s), s]));
  return wanted.map((w) => now.get(w) ?? old.get(w) ?? missing(w));
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

  const apply = async (desired: DesiredState, shape: (p: Plan, o: Observed) => void, full = true) => {
    const t0 = performance.now();
    const base = synced;
    synced = undefined;
    try {
      // The node namespace vanished (removed by hand or by a teardown): node-wide, which recreates it.
      const nodeThere = !opts.nodeNetns || existsSync(`/run/netns/${opts.nodeNetns}`);
      const scope = !full && base && nodeThere ? pushScope(base, desired, opts) : undefined;
      const keys = guestKeys(desired, opts.guestPrefix);
      let o: Observed | undefined;
      let target = desired;
      const peers =
        !full && base && nodeThere && !scope ? peerPlan(base, desired, opts.nodeNetns) : undefined;
      if (peers) {
        // Nothing to read: only FDB entries of changed peers.
      } else if (scope) {
        // Only the changed ports' namespaces and links are read and planned; stale removal only
        // sees those, so nothing else is touched.
        target = scope.desired;
        o = await observeSome({
          nodeNetns: opts.nodeNetns,
          links: scope.links,
          namespaces: scope.namespaces,
          known: { sysctls: base?.sysctls ?? {} },
        });
      } else {
        const skip = new Set(
          full ? [] : [...inSync].filter(([ns, key]) => keys.get(ns) === key).map(([ns]) => ns),
        );
        o = await look(skip);
        await expectGuests(o, desired, skip, opts.guestPrefix);
      }
      inSync.clear();
      const t1 = performance.now();
      const p = peers ?? plan(target, o as Observed, planOpts);
      if (o) shape(p, o);
      const t2 = performance.now();
      // QoS after the links exist (tc needs the devices); the lockdown guard before any port
      // changes. nftables names ports (never ifindexes), so a push whose tables the policy
      // trusts loads them beside the ip plan: a port the tables do not know yet is dropped.
      const guarded: PolicyResult = { ops: [], errors: [], ports: new Map() };
      const push = scope ?? (!full && base ? portChanges(base, desired) : undefined);
      policy.freshNode(p.createNamespaces.some((op) => op.object.kind === "node"));
      // Otherwise nftables loads after the ip plan: until then the guard's lockdown tables (or the
      // tables in force, which drop ports they do not know) drop what new guests send, among it
      // their IPv6 start-up (DAD, MLD, router solicitations) that would otherwise flood every port
      // of the bridge while the plan runs (measured: node and guests 3-5 s instead of 1.3 s).
      const early = push && policy.trusted() ? policy.reconcile(desired, push, "nft") : undefined;
      const executed = await execute(p, async () => {
        await policy.guard(guarded);
        return guarded.ops;
      });
      // A veth this plan (re)created has lost its qdiscs: QoS looks at it too when it has some.
      const capped = new Set(
        portQos(desired)
          .filter((q) => q.inbound || q.outbound)
          .map((q) => q.nicId),
      );
      for (const op of p.node)
        if (
          push &&
          op.object.kind === "port" &&
          op.line.startsWith("link add ") &&
          capped.has(op.object.nicId)
        )
          push.qos.add(op.object.nicId);
      const nft = early ? await early : undefined;
      const rest = await policy.reconcile(desired, push, nft ? "tc" : undefined);
      const x: PolicyResult = nft
        ? {
            ops: [...nft.ops, ...rest.ops],
            errors: [...nft.errors, ...rest.errors],
            ports: new Map([...nft.ports, ...rest.ports]),
            phases: { ...nft.phases, ...rest.phases },
            counters: nft.counters ?? rest.counters,
          }
        : rest;
      if (push) void serial(() => policy.settle());
      const r = withPolicy(executed, { ...x, errors: [...guarded.errors, ...x.errors] });
      // A push reports the objects it did not touch as the last reconcile left them (in sync).
      const unknown = "not planned by this push, and no status from the last reconcile";
      const networks =
        scope || peers
          ? carry(
              desired.networks.map((n) => n.vnetId),
              (n) => n.vnetId,
              r.networks,
              base?.networks,
              (vnetId) => ({ vnetId, ok: false, error: unknown }),
            )
          : r.networks;
      const ports =
        scope || peers
          ? carry(
              desired.ports.map((n) => n.nicId),
              (n) => n.nicId,
              r.ports,
              base?.ports,
              (nicId) => ({ nicId, ok: false, error: unknown }),
            )
          : r.ports;
      const ok = r.ok && networks.every((n) => n.ok) && ports.every((n) => n.ok);
      // Without error, every desired guest namespace now matches its ports (read, or changed).
      if (ok) {
        for (const [ns, key] of keys) inSync.set(ns, key);
        const written = Object.fromEntries(p.sysctls.map((op) => op.line.split("=") as [string, string]));
        synced = { desired, sysctls: { ...(o?.sysctls ?? base?.sysctls), ...written }, networks, ports };
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
      serial(() =>
        apply(EMPTY, (p, o) => {
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
        }),
      ),
  };
}
