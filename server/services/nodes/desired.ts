// Compiles a node's whole desired state (the wire contract) from the database: the networks its
// instances' NICs use, and one container-style port per NIC. Level-triggered: always complete.
import { and, eq, inArray, isNotNull, isNull, ne, or } from "drizzle-orm";
import { type Db, snapshot, type Tx } from "../../../db";
import { addressRanges, counters, instances, leases, nics, nodes, vnets } from "../../../db/schema";
import { gatewayNic, guestMtu, resolveContext, VXLAN_OVERHEAD } from "../../../lib/context";
import { defaultDnsDomain, dhcpOn, dnsLabel } from "../../../lib/dns";
import { type Ipv6Service, ipv6Service } from "../../../lib/ipv6-service";
import {
  type DesiredNetwork,
  type DesiredPort,
  type DesiredState,
  ROUTED_GATEWAY,
  tapDeviceName,
  WIRE_VERSION,
} from "../../../lib/wire";
import { nicSgIds, vnetSgIds, wireGroups } from "../security-groups/sg-policy";
import { activePeers } from "../vnets/peerings";

type Vnet = typeof vnets.$inferSelect;

/** MTU of a VNET's bridge and guests: a VXLAN VNET's MTU is its underlay's, less the overhead. */
export const guestMtuOf = (vnet: Pick<Vnet, "driver" | "mtu">) =>
  vnet.driver === "vxlan" ? vnet.mtu - VXLAN_OVERHEAD : vnet.mtu;

/** Hosting VTEPs of each VXLAN VNET, shared by every node's compile at one global revision: a
 * change that alters which live nodes host a VXLAN VNET, or a hosting node's VTEP, bumps the nodes
 * hosting it (vxlanNodesOf), which moves the global revision, so an entry at the current revision
 * is the database's answer. Without it, a fan-out to N hosts reads N×(N−1) rows. */
const hostsCache = new WeakMap<
  object,
  { revision: number; byVnet: Map<number, { nodeId: number; vtep: string }[]> }
>();

function vnetHosts(db: Db, tx: Tx, vnetIds: number[]) {
  const revision =
    tx.select({ value: counters.value }).from(counters).where(eq(counters.name, "revision")).get()?.value ??
    0;
  let cache = hostsCache.get(db);
  if (!cache || cache.revision !== revision) {
    cache = { revision, byVnet: new Map() };
    hostsCache.set(db, cache);
  }
  const missing = vnetIds.filter((id) => !cache.byVnet.has(id));
  if (missing.length) {
    for (const id of missing) cache.byVnet.set(id, []);
    const rows = tx
      .selectDistinct({ vnetId: nics.vnetId, nodeId: nodes.id, vtep: nodes.vtepAddress })
      .from(nics)
      .innerJoin(instances, eq(instances.id, nics.instanceId))
      .innerJoin(nodes, eq(nodes.id, instances.nodeId))
      .where(and(inArray(nics.vnetId, missing), isNotNull(nodes.vtepAddress), isNull(nodes.revokedAt)))
      .all();
    for (const r of rows) if (r.vtep) cache.byVnet.get(r.vnetId)!.push({ nodeId: r.nodeId, vtep: r.vtep });
    for (const id of missing)
      cache.byVnet.get(id)!.sort((a, b) => (a.vtep < b.vtep ? -1 : a.vtep > b.vtep ? 1 : 0));
  }
  return cache.byVnet;
}

/** VTEP addresses of the other live nodes hosting each VXLAN VNET (by VNET id), sorted. */
function vxlanPeers(db: Db, tx: Tx, nodeId: number, vnetIds: number[]): Map<number, string[]> {
  const out = new Map<number, string[]>(vnetIds.map((id) => [id, []]));
  if (vnetIds.length === 0) return out;
  const hosts = vnetHosts(db, tx, vnetIds);
  for (const id of vnetIds) {
    const seen = new Set<string>();
    for (const h of hosts.get(id) ?? []) if (h.nodeId !== nodeId && !seen.has(h.vtep)) seen.add(h.vtep);
    out.set(id, [...seen]);
  }
  return out;
}

/** The desired state of `nodeId` at its current revision; null when the node does not exist. */
export function compileDesiredState(db: Db, nodeId: number): DesiredState | null {
  return snapshot(db, (tx) => {
    const node = tx.select().from(nodes).where(eq(nodes.id, nodeId)).get();
    if (!node) return null;
    const rows = tx
      .select({ nic: nics, inst: instances, vnet: vnets, lease: leases, ar: addressRanges })
      .from(nics)
      .innerJoin(instances, eq(instances.id, nics.instanceId))
      .innerJoin(vnets, eq(vnets.id, nics.vnetId))
      .leftJoin(leases, eq(leases.nicId, nics.id))
      .leftJoin(addressRanges, eq(addressRanges.id, leases.arId))
      .where(eq(instances.nodeId, nodeId))
      .orderBy(nics.id)
      .all();
    const networks = new Map<number, DesiredNetwork>();
    const ports: DesiredPort[] = [];
    // Guest context resolved NIC > address range > VNET; GATEWAY_IFACE decided per instance.
    const ctxOf = (r: (typeof rows)[number]) => resolveContext(r.vnet.context, r.ar?.context, r.nic.context);
    const gateways = new Map<number, number | null>();
    for (const r of rows)
      if (!gateways.has(r.inst.id))
        gateways.set(
          r.inst.id,
          gatewayNic(
            rows.filter((x) => x.inst.id === r.inst.id).map((x) => ({ idx: x.nic.idx, context: ctxOf(x) })),
          ),
        );
    // A reservation (tenancy) is a slice of its parent's addresses on the parent's network: its
    // NICs plug into the parent's bridge / VLAN / VNI.
    const parentOf = (v: typeof vnets.$inferSelect) =>
      v.parentVnetId === null ? v : (tx.select().from(vnets).where(eq(vnets.id, v.parentVnetId)).get() ?? v);
    // IPv6 on the bridge, from the ranges of the network (and of reservations carved out of it).
    const v6Of = (v: Vnet): Ipv6Service => {
      const kids = tx.select({ id: vnets.id }).from(vnets).where(eq(vnets.parentVnetId, v.id)).all();
      const ranges = tx
        .select()
        .from(addressRanges)
        .where(inArray(addressRanges.vnetId, [v.id, ...kids.map((k) => k.id)]))
        .orderBy(addressRanges.id)
        .all();
      return ipv6Service(ranges, v.context.gateway6);
    };
    for (const row of rows) {
      const { nic, inst, vnet: own, lease, ar } = row;
      const vnet = parentOf(own);
      const ctx = ctxOf(row);
      const prefix = ar?.prefixLength ?? Number(ctx.subnet?.split("/")[1] ?? 24);
      const routed = vnet.driver === "routed";
      if (!networks.has(vnet.id)) {
        // Routed networks have no L2 to put a gateway on: the node answers for ROUTED_GATEWAY.
        const withAddress = !routed && vnet.applyBridgeAddress && ctx.gateway;
        const v6 = !routed && vnet.applyBridgeAddress ? v6Of(vnet) : undefined;
        // External networks and 802.1Q bridge the node's uplink unless the VNET names a device.
        const phydev =
          vnet.phydev ?? (vnet.networkType === "external" || vnet.driver === "vlan" ? node.uplink : null);
        networks.set(vnet.id, {
          vnetId: vnet.id,
          name: vnet.name,
          driver: vnet.driver,
          networkType: vnet.networkType,
          bridge: vnet.bridge,
          mtu: guestMtuOf(vnet),
          ...(withAddress ? { bridgeAddress: `${ctx.gateway}/${prefix}` } : {}),
          ...(v6?.bridgeAddresses6.length ? { bridgeAddresses6: v6.bridgeAddresses6 } : {}),
          ...(phydev ? { phydev } : {}),
          ...(vnet.vlanId ? { vlanId: vnet.vlanId } : {}),
          ...(vnet.vni ? { vni: vnet.vni } : {}),
          ...(ctx.subnet ? { subnet: ctx.subnet } : {}),
          ...(vnet.antiSpoofing ? {} : { antiSpoofing: false }),
          securityGroupIds: vnetSgIds(tx, vnet.id),
          ...(withAddress && ctx.subnet && dhcpOn(vnet)
            ? {
                dhcp: {
                  enabled: true,
                  domain: vnet.dnsDomain ?? defaultDnsDomain(vnet.name),
                  ...(vnet.dhcpLeaseSeconds ? { leaseSeconds: vnet.dhcpLeaseSeconds } : {}),
                  ...(vnet.dnsUpstreams.length ? { upstreams: vnet.dnsUpstreams } : {}),
                  ...(v6?.bridgeAddresses6.length ? { ipv6: { slaac: v6.slaac, static: v6.static } } : {}),
                },
              }
            : {}),
        });
      }
      const qos = nic.qos ?? own.qos;
      const sgIds = nicSgIds(tx, nic.id);
      ports.push({
        nicId: nic.id,
        ...(nic.portKind === "tap" ? { kind: "tap" as const, dev: tapDeviceName(nic.id) } : {}),
        instanceId: inst.id,
        instanceName: inst.name,
        vnetId: vnet.id,
        guestIf: `eth${nic.idx}`,
        mac: lease?.mac ?? "02:00:00:00:00:00",
        addresses: lease?.ip ? [`${lease.ip}/${prefix}`] : [],
        ...(lease?.ip6 || lease?.ip6Ula
          ? { addresses6: [lease.ip6, lease.ip6Ula].filter((a): a is string => !!a) }
          : {}),
        // A range with a static first IPv6 address leases static addresses (DHCPv6), not SLAAC.
        ...(lease?.ip6 && ar?.ip6 ? { static6: [`${lease.ip6}/${ar.prefixLength6 ?? 64}`] } : {}),
        ...(routed ? { gateway: ROUTED_GATEWAY } : ctx.gateway ? { gateway: ctx.gateway } : {}),
        // The first NIC owns the default route unless the context names another (GATEWAY_IFACE).
        defaultRoute: gateways.get(inst.id) === nic.idx,
        mtu: Math.min(guestMtu(vnet, ctx), guestMtuOf(vnet)),
        ...(Object.keys(qos ?? {}).length ? { qos } : {}),
        securityGroupIds: sgIds,
      });
    }
    const vx = [...networks.values()].filter((n) => n.driver === "vxlan").map((n) => n.vnetId);
    for (const [vnetId, peers] of vxlanPeers(db, tx, node.id, vx)) {
      const n = networks.get(vnetId);
      if (n) n.vxlanPeers = peers;
    }
    for (const [vnetId, names] of remoteNames(tx, node.id, [...networks.values()])) {
      const d = networks.get(vnetId)?.dhcp;
      if (d && names.length) d.names = names;
    }
    for (const [vnetId, peers] of activePeers(tx, [...networks.keys()])) {
      const n = networks.get(vnetId);
      if (n && peers.length) n.peers = peers;
    }
    return {
      wireVersion: WIRE_VERSION,
      nodeId: node.id,
      nodeName: node.name,
      revision: node.desiredRevision,
      ...(node.vtepAddress ? { vtep: node.vtepAddress } : {}),
      ...(node.uplink ? { uplink: node.uplink } : {}),
      networks: [...networks.values()],
      ports,
      securityGroups: wireGroups(
        tx,
        ports.flatMap((p) => p.securityGroupIds ?? []),
      ),
    };
  });
}

/** Names of the guests of each DHCP-served network that live on other nodes than `nodeId` (NICs
 * on the VNET or on reservations carved out of it), so every node's DNS answers for all of them;
 * each lease stays with its own node's DHCP server. */
function remoteNames(tx: Tx, nodeId: number, nets: DesiredNetwork[]) {
  const out = new Map<number, NonNullable<NonNullable<DesiredNetwork["dhcp"]>["names"]>>();
  const served = nets.filter((n) => n.dhcp).map((n) => n.vnetId);
  if (!served.length) return out;
  const rows = tx
    .select({
      vnetId: nics.vnetId,
      parent: vnets.parentVnetId,
      instance: instances.name,
      ip: leases.ip,
      ip6: leases.ip6,
      ip6Ula: leases.ip6Ula,
    })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .innerJoin(vnets, eq(vnets.id, nics.vnetId))
    .innerJoin(leases, eq(leases.nicId, nics.id))
    .where(
      and(
        ne(instances.nodeId, nodeId),
        or(inArray(nics.vnetId, served), inArray(vnets.parentVnetId, served)),
      ),
    )
    .orderBy(nics.id)
    .all();
  for (const r of rows) {
    const ip6 = r.ip6 ?? r.ip6Ula;
    if (!r.ip && !ip6) continue;
    const key = r.parent ?? r.vnetId;
    const list = out.get(key) ?? [];
    list.push({ name: dnsLabel(r.instance), ...(r.ip ? { ip: r.ip } : {}), ...(ip6 ? { ip6 } : {}) });
    out.set(key, list);
  }
  return out;
}

/** Nodes hosting any of the VXLAN VNETs among `vnetIds`: their peer lists change when a node
 * starts or stops hosting one, or when a hosting node's VTEP changes, so they must be bumped. */
export function vxlanNodesOf(tx: Tx | Db, vnetIds: number[]): number[] {
  if (vnetIds.length === 0) return [];
  return tx
    .selectDistinct({ nodeId: instances.nodeId })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .innerJoin(vnets, eq(vnets.id, nics.vnetId))
    .where(and(inArray(nics.vnetId, vnetIds), eq(vnets.driver, "vxlan")))
    .all()
    .map((r) => r.nodeId);
}

/** VNET ids of the NICs of instances on `nodeId`. */
export function vnetsOnNode(tx: Tx, nodeId: number): number[] {
  return tx
    .selectDistinct({ vnetId: nics.vnetId })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .where(eq(instances.nodeId, nodeId))
    .all()
    .map((r) => r.vnetId);
}
