// VNET lifecycle: create with its first IPv4 address range, list with usage, view, delete.
import { and, count, eq, inArray, sql } from "drizzle-orm";
import type { z } from "zod";
import type { Tx } from "../../db";
import {
  addressRanges,
  clusters,
  instances,
  leases,
  nics,
  vnetClusters,
  vnetSecurityGroups,
  vnets,
} from "../../db/schema";
import { intToIp4, ip4ToInt, networkOf, prefixToMask } from "../../lib/domain";
import type { Subject } from "../../lib/permissions";
import type { vnetCreateInput } from "../../lib/schemas";
import type { App } from "../app";
import { type Actor, audit } from "../audit";
import { permitted } from "../authz";
import { conflict, invalid, notFound } from "../errors";
import { beforeVnetRemove } from "./reservations";
import { mutate } from "./revision";

type CreateVnet = z.output<typeof vnetCreateInput>;
type Owner = Subject & { primaryGroupId: number };

/** Creates a bridge VNET with one IPv4 range; the bridge name is generated when left empty. */
export function createVnet(app: App, actor: Actor, owner: Owner, input: CreateVnet) {
  return mutate(app, (tx) => insertVnet(tx, actor, owner, input));
}

/** The body of createVnet, for callers that create several VNETs in one transaction (import). */
export function insertVnet(
  tx: Tx,
  actor: Actor,
  owner: Owner,
  input: CreateVnet & { phydev?: string; applyBridgeAddress?: boolean },
) {
  if (tx.select({ id: vnets.id }).from(vnets).where(eq(vnets.name, input.name)).get())
    throw conflict(`A VNET named ${input.name} already exists; pick another name`, "name");
  if (input.bridge && tx.select({ id: vnets.id }).from(vnets).where(eq(vnets.bridge, input.bridge)).get())
    throw conflict(
      `Bridge ${input.bridge} is already used by another VNET; leave it empty to generate one`,
      "bridge",
    );
  const known = tx
    .select({ id: clusters.id })
    .from(clusters)
    .where(inArray(clusters.id, input.clusterIds))
    .all();
  if (known.length !== new Set(input.clusterIds).size) throw invalid("Unknown cluster", "clusterIds");

  const [netIp, len] = input.subnet.split("/") as [string, string];
  const prefix = Number(len);
  const row = tx
    .insert(vnets)
    .values({
      name: input.name,
      description: input.description,
      ownerId: owner.id,
      groupId: owner.primaryGroupId,
      perms: 0o600,
      driver: "bridge",
      networkType: input.networkType,
      // Placeholder until the id is known; unique, replaced below in the same transaction.
      bridge: input.bridge ?? `tmp-${crypto.randomUUID()}`,
      mtu: input.mtu,
      phydev: input.phydev ?? null,
      applyBridgeAddress: input.applyBridgeAddress ?? input.networkType === "internal",
      context: {
        subnet: `${intToIp4(networkOf(ip4ToInt(netIp), prefix))}/${prefix}`,
        gateway: input.gateway,
        dns: input.dns.length ? input.dns : undefined,
      },
    })
    .returning()
    .get();
  const bridge = input.bridge ?? `bhbr${row.id}`;
  if (!input.bridge) tx.update(vnets).set({ bridge }).where(eq(vnets.id, row.id)).run();
  tx.insert(addressRanges)
    .values({
      vnetId: row.id,
      type: "ip4",
      ip: input.firstIp,
      ipStart: ip4ToInt(input.firstIp),
      prefixLength: prefix,
      size: input.size,
    })
    .run();
  tx.insert(vnetClusters)
    .values(input.clusterIds.map((clusterId) => ({ vnetId: row.id, clusterId })))
    .run();
  // The default security group (id 0) is attached to every new VNET (DESIGN.md).
  tx.insert(vnetSecurityGroups).values({ vnetId: row.id, sgId: 0 }).run();
  audit(tx, actor, { action: "vnet.create", objectType: "vnet", objectId: row.id, objectName: row.name });
  return { ...row, bridge };
}

/** VNETs the subject may USE, with size and used-lease counts. */
export function listVnets(app: App, who: Subject) {
  const sizes = app.db
    .select({ vnetId: addressRanges.vnetId, size: sql<number>`sum(${addressRanges.size})`.as("size") })
    .from(addressRanges)
    .groupBy(addressRanges.vnetId)
    .as("sizes");
  const used = app.db
    .select({ vnetId: leases.vnetId, used: count().as("used") })
    .from(leases)
    .groupBy(leases.vnetId)
    .as("used");
  return app.db
    .select({
      id: vnets.id,
      name: vnets.name,
      description: vnets.description,
      driver: vnets.driver,
      networkType: vnets.networkType,
      bridge: vnets.bridge,
      mtu: vnets.mtu,
      context: vnets.context,
      ownerId: vnets.ownerId,
      createdAt: vnets.createdAt,
      size: sql<number>`coalesce(${sizes.size}, 0)`,
      used: sql<number>`coalesce(${used.used}, 0)`,
    })
    .from(vnets)
    .leftJoin(sizes, eq(sizes.vnetId, vnets.id))
    .leftJoin(used, eq(used.vnetId, vnets.id))
    .where(permitted(vnets, who, "use"))
    .orderBy(vnets.name)
    .all();
}

/** One VNET the subject may USE, with its ranges and leases; NOT_FOUND otherwise. */
export function getVnet(app: App, who: Subject, id: number) {
  const vnet = app.db
    .select()
    .from(vnets)
    .where(and(eq(vnets.id, id), permitted(vnets, who, "use")))
    .get();
  if (!vnet) throw notFound(`VNET ${id}`);
  const ranges = app.db.select().from(addressRanges).where(eq(addressRanges.vnetId, id)).all();
  const leaseRows = app.db
    .select({
      id: leases.id,
      ip: leases.ip,
      mac: leases.mac,
      state: leases.state,
      nicId: leases.nicId,
      instanceId: instances.id,
      instanceName: instances.name,
      createdAt: leases.createdAt,
    })
    .from(leases)
    .leftJoin(nics, eq(nics.id, leases.nicId))
    .leftJoin(instances, eq(instances.id, nics.instanceId))
    .where(eq(leases.vnetId, id))
    .orderBy(leases.ipInt)
    .all();
  const clusterRows = app.db
    .select({ id: clusters.id, name: clusters.name })
    .from(vnetClusters)
    .innerJoin(clusters, eq(clusters.id, vnetClusters.clusterId))
    .where(eq(vnetClusters.vnetId, id))
    .all();
  const prefix = ranges[0]?.prefixLength ?? null;
  return {
    ...vnet,
    mask: prefix === null ? null : prefixToMask(prefix),
    ranges,
    leases: leaseRows,
    clusters: clusterRows,
    size: ranges.reduce((n, r) => n + r.size, 0),
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
    // Held leases go with the VNET; used ones cannot exist here (no NICs).
    tx.delete(leases).where(eq(leases.vnetId, id)).run();
    tx.delete(vnets).where(eq(vnets.id, id)).run();
    audit(tx, actor, { action: "vnet.remove", objectType: "vnet", objectId: id, objectName: vnet.name });
    return { id, name: vnet.name };
  });
}
