// Compiles a node's whole desired state (the wire contract) from the database: the networks its
// instances' NICs use, and one container-style port per NIC. Level-triggered: always complete.
import { eq } from "drizzle-orm";
import type { Db } from "../../db";
import { addressRanges, instances, leases, nics, nodes, vnets } from "../../db/schema";
import { type DesiredNetwork, type DesiredPort, type DesiredState, WIRE_VERSION } from "../../lib/wire";
import { nicSgIds, wireGroups } from "./security-groups";

/** The desired state of `nodeId` at its current revision; null when the node does not exist. */
export function compileDesiredState(db: Db, nodeId: number): DesiredState | null {
  return db.transaction((tx) => {
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
    // A reservation (tenancy) is a slice of its parent's addresses on the parent's network: its
    // NICs plug into the parent's bridge / VLAN / VNI.
    const parentOf = (v: typeof vnets.$inferSelect) =>
      v.parentVnetId === null ? v : (tx.select().from(vnets).where(eq(vnets.id, v.parentVnetId)).get() ?? v);
    for (const { nic, inst, vnet: own, lease, ar } of rows) {
      const vnet = parentOf(own);
      const ctx = { ...own.context, ...(ar?.context ?? {}) };
      const prefix = ar?.prefixLength ?? Number(ctx.subnet?.split("/")[1] ?? 24);
      if (!networks.has(vnet.id)) {
        const withAddress = vnet.applyBridgeAddress && ctx.gateway;
        networks.set(vnet.id, {
          vnetId: vnet.id,
          name: vnet.name,
          driver: vnet.driver,
          networkType: vnet.networkType,
          bridge: vnet.bridge,
          mtu: vnet.mtu,
          ...(withAddress ? { bridgeAddress: `${ctx.gateway}/${prefix}` } : {}),
          ...(vnet.phydev ? { phydev: vnet.phydev } : {}),
          ...(vnet.vlanId ? { vlanId: vnet.vlanId } : {}),
          ...(vnet.vni ? { vni: vnet.vni } : {}),
          ...(ctx.subnet ? { subnet: ctx.subnet } : {}),
        });
      }
      const qos = nic.qos ?? own.qos;
      const sgIds = nicSgIds(tx, nic.id);
      ports.push({
        nicId: nic.id,
        instanceId: inst.id,
        instanceName: inst.name,
        vnetId: vnet.id,
        guestIf: `eth${nic.idx}`,
        mac: lease?.mac ?? "02:00:00:00:00:00",
        addresses: lease?.ip ? [`${lease.ip}/${prefix}`] : [],
        ...(ctx.gateway ? { gateway: ctx.gateway } : {}),
        // The first NIC owns the default route unless the context names another (GATEWAY_IFACE).
        defaultRoute: nic.idx === 0,
        mtu: ctx.guestMtu ?? vnet.mtu,
        ...(Object.keys(qos ?? {}).length ? { qos } : {}),
        securityGroups: sgIds,
      });
    }
    return {
      wireVersion: WIRE_VERSION,
      nodeId: node.id,
      nodeName: node.name,
      revision: node.desiredRevision,
      networks: [...networks.values()],
      ports,
      securityGroups: wireGroups(
        tx,
        ports.flatMap((p) => p.securityGroups ?? []),
      ),
    };
  });
}
