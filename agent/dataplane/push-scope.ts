// The push-scope shortcuts: event-style optimisations of a push (full: false) over the level-based
// reconcile. A push that changes only some ports reads and plans only their namespaces and links
// (pushScope); one that changes only VXLAN peer lists plans the FDB entries from the difference
// (peerPlan); guest namespaces known in sync are expected as left, not read again (guestKeys,
// expectGuests); untouched objects report what the last reconcile found (carry). They never change
// the outcome, only how much is read: a full reconcile after any push finds nothing to do
// (tests/applied.property.dataplane.test.ts holds that, and push-scope.test.ts the scopes).
import type { DesiredState } from "../../lib/wire";
import { normCidr, vxlanName, ZERO_MAC } from "./links/drivers";
import { observeGuest } from "./links/observe";
import { linksOf } from "./links/plan";
import { guestNsName, hostVethName, type Observed, type Op, type Plan, type ReconcileResult } from "./types";

/** Per guest namespace, a fingerprint of the desired ports (and their networks) living in it. */
export function guestKeys(desired: DesiredState, guestPrefix: string): Map<string, string> {
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
export async function expectGuests(
  o: Observed,
  desired: DesiredState,
  skip: Set<string>,
  guestPrefix: string,
) {
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
export interface PushScope {
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
  opts: { nodeNetns?: string; guestPrefix: string },
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
export function portChanges(base: Synced, desired: DesiredState): { changed: Set<number>; qos: Set<number> } {
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

const UNKNOWN = "not planned by this push, and no status from the last reconcile";

/** The networks' and ports' statuses of a scoped push: what it planned, else what `base` reported. */
export function carried(
  desired: DesiredState,
  fresh: Pick<ReconcileResult, "networks" | "ports">,
  base: Synced | undefined,
): Pick<ReconcileResult, "networks" | "ports"> {
  return {
    networks: carry(
      desired.networks.map((n) => n.vnetId),
      (n) => n.vnetId,
      fresh.networks,
      base?.networks,
      (vnetId) => ({ vnetId, ok: false, error: UNKNOWN }),
    ),
    ports: carry(
      desired.ports.map((p) => p.nicId),
      (p) => p.nicId,
      fresh.ports,
      base?.ports,
      (nicId) => ({ nicId, ok: false, error: UNKNOWN }),
    ),
  };
}
