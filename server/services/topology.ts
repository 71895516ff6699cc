// The topology view's data: nodes with their state, the VNETs they host, instances and their NICs —
// what the caller may see, in one snapshot. Admins see every object; an end user sees their own
// instances, the VNETs they may use and the nodes their instances run on (without error texts,
// which may name other tenants' objects).
import { eq, inArray, sql } from "drizzle-orm";
import { snapshot } from "../../db";
import { instances, leases, nics, nodes, user, vnets } from "../../db/schema";
import type { Subject } from "../../lib/permissions";
import type { App } from "../app";
import { permitted } from "../authz";

/** What the view colours a node by. */
export type TopologyNodeState = "in-sync" | "outdated" | "error" | "disconnected" | "pending" | "revoked";

export function topology(app: App, who: Subject) {
  const admin = who.role === "admin";
  const downAfterMs = app.env.BRIDGEHEAD_NODE_DOWN_AFTER_S * 1000;
  return snapshot(app.db, (tx) => {
    const insts = tx
      .select({
        id: instances.id,
        name: instances.name,
        nodeId: instances.nodeId,
        ownerId: instances.ownerId,
        ownerName: user.name,
      })
      .from(instances)
      .innerJoin(user, eq(user.id, instances.ownerId))
      .where(admin ? undefined : eq(instances.ownerId, who.id))
      .orderBy(instances.name)
      .all();
    const visibleVnets = tx
      .select({ id: vnets.id, name: vnets.name, driver: vnets.driver, vni: vnets.vni, vlanId: vnets.vlanId })
      .from(vnets)
      .where(permitted(vnets, who, "use"))
      .orderBy(vnets.name)
      .all();
    const instanceIds = insts.map((i) => i.id);
    const nicRows = instanceIds.length
      ? tx
          .select({
            id: nics.id,
            instanceId: nics.instanceId,
            idx: nics.idx,
            vnetId: nics.vnetId,
            ip: leases.ip,
            ip6: leases.ip6,
          })
          .from(nics)
          .leftJoin(leases, eq(leases.nicId, nics.id))
          .where(admin ? undefined : inArray(nics.instanceId, instanceIds))
          .orderBy(nics.instanceId, nics.idx)
          .all()
      : [];
    const nodeIds = [...new Set(insts.map((i) => i.nodeId))];
    const nodeRows = tx
      .select({
        id: nodes.id,
        name: nodes.name,
        enrolledAt: nodes.enrolledAt,
        revokedAt: nodes.revokedAt,
        lastSeenAt: nodes.lastSeenAt,
        lastError: nodes.lastError,
        desired: nodes.desiredRevision,
        applied: nodes.appliedRevision,
        vtep: nodes.vtepAddress,
      })
      .from(nodes)
      .where(admin ? undefined : nodeIds.length ? inArray(nodes.id, nodeIds) : sql`0`)
      .orderBy(nodes.name)
      .all();
    const now = Date.now();
    const state = (n: (typeof nodeRows)[number]): TopologyNodeState => {
      if (n.revokedAt) return "revoked";
      if (!n.enrolledAt) return "pending";
      const fresh = n.lastSeenAt !== null && now - n.lastSeenAt.getTime() < downAfterMs;
      if (!app.agents.isConnected(n.id) || !fresh) return "disconnected";
      if (n.lastError) return "error";
      return n.applied >= n.desired ? "in-sync" : "outdated";
    };
    // A VNET is on a node when one of the node's instances has a NIC on it.
    const nodeOf = new Map(insts.map((i) => [i.id, i.nodeId]));
    const hosts = new Map<number, Set<number>>();
    for (const n of nicRows) {
      const node = nodeOf.get(n.instanceId);
      if (node === undefined) continue;
      if (!hosts.has(n.vnetId)) hosts.set(n.vnetId, new Set());
      hosts.get(n.vnetId)!.add(node);
    }
    return {
      nodes: nodeRows.map((n) => ({
        id: n.id,
        name: n.name,
        state: state(n),
        ...(admin && n.lastError ? { error: n.lastError } : {}),
        ...(admin && n.vtep ? { vtep: n.vtep } : {}),
      })),
      vnets: visibleVnets.map((v) => ({
        ...v,
        nodeIds: [...(hosts.get(v.id) ?? [])].sort((a, b) => a - b),
      })),
      instances: insts,
      nics: nicRows.filter((n) => nodeOf.has(n.instanceId)),
    };
  });
}
