// VNET lifecycle: create with its first address range, list with usage, view, delete; the VLAN ID
// and VNI pools "auto" draws from.
import { and, count, eq, inArray, isNotNull, ne, sql } from "drizzle-orm";
import type { z } from "zod";
import type { Tx } from "../../db";
import {
  addressRanges,
  clusters,
  instances,
  leases,
  nics,
  securityGroups,
  settings,
  sgRules,
  user,
  vnetClusters,
  vnetSecurityGroups,
  vnets,
} from "../../db/schema";
import { guestMtu } from "../../lib/context";
import { intToIp4, ip4ToInt, networkOf, prefixToMask } from "../../lib/domain";
import { can, type Subject } from "../../lib/permissions";
import type { Pools, vnetCreateInput } from "../../lib/schemas";
import type { App } from "../app";
import { type Actor, audit } from "../audit";
import { permitted } from "../authz";
import { conflict, invalid, notFound } from "../errors";
import { endLeasesOfVnet } from "./ipam";
import { assertUnlocked, crossVnetOverlaps } from "./ranges";
import { beforeVnetRemove } from "./reservations";
import { mutate } from "./revision";

type CreateVnet = z.output<typeof vnetCreateInput>;
type Owner = Subject & { primaryGroupId: number };
type PoolId = number | "auto" | null | undefined;

/** Creates a VNET with one IPv4 (or dual-stack) range; the bridge name is generated when left empty. */
export function createVnet(app: App, actor: Actor, owner: Owner, input: CreateVnet) {
  return mutate(app, (tx) => insertVnet(tx, actor, owner, input));
}

// ---------------------------------------------------------------------------
// VLAN ID and VNI pools
// ---------------------------------------------------------------------------
const POOL_KEYS = { vlan: "pool.vlan", vni: "pool.vni" } as const;

/** The admin-set pools ("auto" takes the lowest free ID from them). */
export function getPools(db: App["db"] | Tx): Pools {
  const get = (k: string) =>
    (db.select().from(settings).where(eq(settings.key, k)).get()?.value as Pools["vlan"] | undefined) ?? null;
  return { vlan: get(POOL_KEYS.vlan), vni: get(POOL_KEYS.vni) };
}

/** Replaces the pools; IDs already given to VNETs outside the new pools stay as they are. */
export function setPools(app: App, actor: Actor, pools: Pools) {
  return mutate(app, (tx) => {
    for (const kind of ["vlan", "vni"] as const) {
      tx.delete(settings).where(eq(settings.key, POOL_KEYS[kind])).run();
      if (pools[kind]) tx.insert(settings).values({ key: POOL_KEYS[kind], value: pools[kind] }).run();
    }
    const show = (p: Pools["vlan"]) => (p ? `${p.from}–${p.to}` : "none");
    audit(tx, actor, {
      action: "vnet.pools",
      objectType: "settings",
      detail: `VLAN ${show(pools.vlan)}, VNI ${show(pools.vni)}`,
    });
    return pools;
  });
}

/** Resolves a VLAN ID request ("auto", a number, none) against the pool and the other VNETs. */
export function resolveVlan(tx: Tx, want: PoolId, phydev: string | null, selfId?: number): number | null {
  if (want === undefined || want === null) return null;
  // 802.1Q IDs collide only on the same physical device.
  const taken = new Set(
    tx
      .select({ id: vnets.vlanId, vnetId: vnets.id })
      .from(vnets)
      .where(and(isNotNull(vnets.vlanId), phydev ? eq(vnets.phydev, phydev) : sql`1 = 1`))
      .all()
      .filter((r) => r.vnetId !== selfId)
      .map((r) => r.id!),
  );
  if (want === "auto") return lowestFromPool(getPools(tx).vlan, taken, "VLAN ID", "vlanId");
  if (taken.has(want))
    throw conflict(
      `VLAN ID ${want} is already used by another VNET${phydev ? ` on ${phydev}` : ""}; pick another or "auto"`,
      "vlanId",
    );
  return want;
}

/** Resolves a VNI request ("auto", a number, none) against the pool and the other VNETs. */
export function resolveVni(tx: Tx, want: PoolId, selfId?: number): number | null {
  if (want === undefined || want === null) return null;
  const taken = new Set(
    tx
      .select({ id: vnets.vni })
      .from(vnets)
      .where(and(isNotNull(vnets.vni), selfId === undefined ? sql`1 = 1` : ne(vnets.id, selfId)))
      .all()
      .map((r) => r.id!),
  );
  if (want === "auto") return lowestFromPool(getPools(tx).vni, taken, "VNI", "vni");
  if (taken.has(want))
    throw conflict(`VNI ${want} is already used by another VNET; pick another or "auto"`, "vni");
  return want;
}

function lowestFromPool(pool: Pools["vlan"], taken: Set<number>, what: string, field: string): number {
  if (!pool)
    throw invalid(`No ${what} pool is set; an admin sets one under "ID pools", or give a number`, field);
  for (let i = pool.from; i <= pool.to; i++) if (!taken.has(i)) return i;
  throw conflict(
    `The ${what} pool ${pool.from}–${pool.to} is exhausted (${pool.to - pool.from + 1} of ${pool.to - pool.from + 1} used); widen it or give a number`,
    field,
  );
}

/** The body of createVnet, for callers that create several VNETs in one transaction (import). */
export function insertVnet(
  tx: Tx,
  actor: Actor,
  owner: Owner,
  input: CreateVnet & { applyBridgeAddress?: boolean },
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
  const driver = input.driver ?? "bridge";
  const phydev = input.phydev ?? null;
  const vlanId = driver === "vlan" ? resolveVlan(tx, input.vlanId, phydev) : null;
  const vni = driver === "vxlan" ? resolveVni(tx, input.vni) : null;

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
      driver,
      networkType: input.networkType,
      // Placeholder until the id is known; unique, replaced below in the same transaction.
      bridge: input.bridge ?? `tmp-${crypto.randomUUID()}`,
      mtu: input.mtu,
      phydev,
      vlanId,
      vni,
      // External networks: no gateway address on the bridge by default (it would clash with the LAN's).
      applyBridgeAddress: input.applyBridgeAddress ?? input.networkType === "internal",
      context: {
        subnet: `${intToIp4(networkOf(ip4ToInt(netIp), prefix))}/${prefix}`,
        gateway: input.gateway,
        gateway6: input.gateway6,
        dns: input.dns.length ? input.dns : undefined,
      },
    })
    .returning()
    .get();
  const bridge = input.bridge ?? `bhbr${row.id}`;
  if (!input.bridge) tx.update(vnets).set({ bridge }).where(eq(vnets.id, row.id)).run();
  const dual = Boolean(input.globalPrefix || input.ulaPrefix);
  tx.insert(addressRanges)
    .values({
      vnetId: row.id,
      type: dual ? "ip4_6" : "ip4",
      ip: input.firstIp,
      ipStart: ip4ToInt(input.firstIp),
      prefixLength: prefix,
      size: input.size,
      globalPrefix: input.globalPrefix ?? null,
      ulaPrefix: input.ulaPrefix ?? null,
      prefixLength6: dual ? 64 : null,
    })
    .run();
  tx.insert(vnetClusters)
    .values(input.clusterIds.map((clusterId) => ({ vnetId: row.id, clusterId })))
    .run();
  // The default security group (id 0) is attached to every new VNET (DESIGN.md).
  tx.insert(vnetSecurityGroups).values({ vnetId: row.id, sgId: 0 }).run();
  // Overlapping another VNET of a shared cluster may be intended (separate L2 domains): warn only.
  const warnings = crossVnetOverlaps(tx, row.id, { type: "ip4", ip: input.firstIp, size: input.size });
  audit(tx, actor, {
    action: "vnet.create",
    objectType: "vnet",
    objectId: row.id,
    objectName: row.name,
    detail: [driver, vlanId && `VLAN ${vlanId}`, vni && `VNI ${vni}`, input.subnet, dual && "dual stack"]
      .filter(Boolean)
      .join(", "),
  });
  return { ...row, bridge, vlanId, vni, warnings };
}

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
    assertUnlocked(vnet, "admin");
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
