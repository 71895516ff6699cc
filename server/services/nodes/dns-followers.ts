// The lease-change hook of DNS: every node's dnsmasq names all guests of a DHCP-served network, so a
// lease allocated or released on one node changes the desired state of the network's other nodes.
// Its own file (not desired.ts) because the App registers it: desired.ts reaches the App through
// the services it uses, and the App importing it back would be a cycle.
import { eq, inArray, or } from "drizzle-orm";
import type { Tx } from "../../../db";
import { instances, nics, vnets } from "../../../db/schema";
import { dhcpOn } from "../../../lib/dns";

/** Nodes with NICs on the DHCP-served networks of `vnetIds` (a reservation's is its parent's): their
 * DNS names every guest of the network, so a lease allocated or released on one node changes theirs. */
export function dnsFollowersOfLeases(tx: Tx, vnetIds: number[]): number[] {
  const roots = tx
    .select()
    .from(vnets)
    .where(inArray(vnets.id, vnetIds))
    .all()
    .map((v) =>
      v.parentVnetId === null ? v : (tx.select().from(vnets).where(eq(vnets.id, v.parentVnetId)).get() ?? v),
    )
    .filter(dhcpOn)
    .map((v) => v.id);
  if (!roots.length) return [];
  return tx
    .selectDistinct({ nodeId: instances.nodeId })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .innerJoin(vnets, eq(vnets.id, nics.vnetId))
    .where(or(inArray(nics.vnetId, roots), inArray(vnets.parentVnetId, roots)))
    .all()
    .map((r) => r.nodeId);
}
