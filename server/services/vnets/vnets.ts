// VNET lifecycle: list with usage, view, delete (creation and the pools are in vnet-create.ts).
import { and, count, eq, sql } from "drizzle-orm";
import {
  addressRanges,
  clusters,
  instances,
  leases,
  nics,
  securityGroups,
  sgRules,
  user,
  vnetClusters,
  vnetSecurityGroups,
  vnets,
} from "../../../db/schema";
import { guestMtu } from "../../../lib/context";
import { prefixToMask } from "../../../lib/domain";
import { can, type Subject } from "../../../lib/permissions";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { permitted } from "../../authz";
import { conflict, notFound } from "../../errors";
import { endLeasesOfVnet } from "../leases/ipam";
import { assertUnlocked } from "../ownership";
import { mutate } from "../revision";
import { beforeVnetRemove } from "./reservations";

/** VNETs the subject may USE, with size, used and held counts, owner and clusters (for the filters). */
export function listVnets(app: App, who: Subject) {
  const sizes = app.db
    .select({ vnetId: addressRanges.vnetId, size: sql<number>`sum(${addressRanges.size})`.as("size") })
    .from(addressRanges)
    .groupBy(addressRanges.vnetId)
    .as("sizes");
  const used = app.db
    .select({
      vnetId: leases.vnetId,
      used: count().as("used"),
      held: sql<number>`sum(${leases.state} = 'hold')`.as("held"),
    })
    .from(leases)
    .groupBy(leases.vnetId)
    .as("used");
  const rows = app.db
    .select({
      id: vnets.id,
      name: vnets.name,
      description: vnets.description,
      driver: vnets.driver,
      networkType: vnets.networkType,
      bridge: vnets.bridge,
      mtu: vnets.mtu,
      vlanId: vnets.vlanId,
      vni: vnets.vni,
      context: vnets.context,
      ownerId: vnets.ownerId,
      owner: user.username,
      lockLevel: vnets.lockLevel,
      createdAt: vnets.createdAt,
      size: sql<number>`coalesce(${sizes.size}, 0)`,
      used: sql<number>`coalesce(${used.used}, 0)`,
      held: sql<number>`coalesce(${used.held}, 0)`,
    })
    .from(vnets)
    .leftJoin(user, eq(user.id, vnets.ownerId))
    .leftJoin(sizes, eq(sizes.vnetId, vnets.id))
    .leftJoin(used, eq(used.vnetId, vnets.id))
    .where(permitted(vnets, who, "use"))
    .orderBy(vnets.name)
    .all();
  const memberships = app.db
    .select({ vnetId: vnetClusters.vnetId, id: clusters.id, name: clusters.name })
    .from(vnetClusters)
    .innerJoin(clusters, eq(clusters.id, vnetClusters.clusterId))
    .all();
  return rows.map((r) => ({
    ...r,
    clusters: memberships.filter((m) => m.vnetId === r.id).map(({ id, name }) => ({ id, name })),
  }));
}

/** One VNET the subject may USE, with its ranges (and their usage), clusters and security groups;
 * NOT_FOUND otherwise. Leases are paged separately (lease.list): a /16 has 65k of them. */
export function getVnet(app: App, who: Subject, id: number) {
  const vnet = app.db
    .select()
    .from(vnets)
    .where(and(eq(vnets.id, id), permitted(vnets, who, "use")))
    .get();
  if (!vnet) throw notFound(`VNET ${id}`);
  const usage = app.db
    .select({
      arId: leases.arId,
      used: sql<number>`sum(${leases.state} = 'used')`,
      held: sql<number>`sum(${leases.state} = 'hold')`,
    })
    .from(leases)
    .where(eq(leases.vnetId, id))
    .groupBy(leases.arId)
    .all();
  const ranges = app.db
    .select()
    .from(addressRanges)
    .where(eq(addressRanges.vnetId, id))
    .orderBy(addressRanges.id)
    .all()
    .map((r) => {
      const u = usage.find((x) => x.arId === r.id);
      return { ...r, used: u?.used ?? 0, held: u?.held ?? 0 };
    });
  const clusterRows = app.db
    .select({ id: clusters.id, name: clusters.name })
    .from(vnetClusters)
    .innerJoin(clusters, eq(clusters.id, vnetClusters.clusterId))
    .where(eq(vnetClusters.vnetId, id))
    .all();
  const sgs = app.db
    .select({
      id: securityGroups.id,
      name: securityGroups.name,
      description: securityGroups.description,
      rules: sql<number>`(SELECT count(*) FROM ${sgRules} WHERE ${sgRules.sgId} = ${securityGroups.id})`,
    })
    .from(vnetSecurityGroups)
    .innerJoin(securityGroups, eq(securityGroups.id, vnetSecurityGroups.sgId))
    .where(eq(vnetSecurityGroups.vnetId, id))
    .orderBy(securityGroups.id)
    .all();
  const owner = app.db.select({ name: user.username }).from(user).where(eq(user.id, vnet.ownerId)).get();
  const nicCount = app.db.select({ n: count() }).from(nics).where(eq(nics.vnetId, id)).get()?.n ?? 0;
  const prefix = vnet.context.subnet
    ? Number(vnet.context.subnet.split("/")[1])
    : (ranges.find((r) => r.prefixLength !== null)?.prefixLength ?? null);
  return {
    ...vnet,
    canManage: can(who, vnet, "manage"),
    owner: owner?.name ?? vnet.ownerId,
    mask: prefix === null ? null : prefixToMask(prefix),
    guestMtu: guestMtu(vnet),
    ranges,
    clusters: clusterRows,
    securityGroups: sgs,
    nics: nicCount,
    size: ranges.reduce((n, r) => n + r.size, 0),
    used: ranges.reduce((n, r) => n + r.used, 0),
    held: ranges.reduce((n, r) => n + r.held, 0),
  };
}

/** Deletes a VNET; refused while NICs use it (naming their instances). */
export function removeVnet(app: App, actor: Actor, who: Subject, id: number) {
  return mutate(app, (tx) => {
    const vnet = tx
      .select()
      .from(vnets)
      .where(and(eq(vnets.id, id), permitted(vnets, who, "manage")))
      .get();
    if (!vnet) throw notFound(`VNET ${id}`);
    assertUnlocked("vnet", vnet, "admin");
    beforeVnetRemove(tx, vnet, who.id);
    const users = tx
      .selectDistinct({ name: instances.name })
      .from(nics)
      .innerJoin(instances, eq(instances.id, nics.instanceId))
      .where(eq(nics.vnetId, id))
      .all();
    if (users.length)
      throw conflict(
        `VNET ${vnet.name} is in use by instance${users.length > 1 ? "s" : ""} ${users.map((u) => u.name).join(", ")}; delete them or detach their NICs first`,
      );
    // Held leases go with the VNET (used ones cannot exist here: no NICs), into its lease history.
    endLeasesOfVnet(tx, id, who.id);
    tx.delete(vnets).where(eq(vnets.id, id)).run();
    audit(tx, actor, { action: "vnet.remove", objectType: "vnet", objectId: id, objectName: vnet.name });
    return { id, name: vnet.name };
  });
}
