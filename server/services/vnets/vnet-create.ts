// VNET creation: the row with its first address range, clusters and default security group, and
// the VLAN ID and VNI pools "auto" draws from. Reservations, hoster networks and template
// instantiation create their VNETs through insertVnet, inside their own transactions.
import { and, eq, inArray, isNotNull, ne, sql } from "drizzle-orm";
import type { z } from "zod";
import type { Tx } from "../../../db";
import {
  addressRanges,
  clusters,
  settings,
  vnetClusters,
  vnetSecurityGroups,
  vnets,
} from "../../../db/schema";
import { intToIp4, ip4ToInt, networkOf } from "../../../lib/domain";
import type { Subject } from "../../../lib/permissions";
import type { Pools, vnetCreateInput } from "../../../lib/schemas";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { conflict, invalid } from "../../errors";
import { mutate } from "../revision";
import { checkCrossVnetOverlap } from "./ranges";

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

/** How insertVnet treats addresses another VNET of a shared cluster uses: refused (unless an
 * admin allowed it), a warning (template networks: each is its own L2 domain by design) or not
 * looked at (a reservation: its parent holds the addresses). */
export type InsertOverlap = "refuse" | "warn" | "ignore";

/** The body of createVnet, for callers that create several VNETs in one transaction (import). */
export function insertVnet(
  tx: Tx,
  actor: Actor,
  owner: Owner,
  input: Omit<CreateVnet, "allowOverlap"> & { allowOverlap?: boolean; applyBridgeAddress?: boolean },
  overlap: InsertOverlap = "refuse",
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
  // The default security group (id 0) is attached to every new VNET, so a new
  // network passes traffic until its owner narrows it.
  tx.insert(vnetSecurityGroups).values({ vnetId: row.id, sgId: 0 }).run();
  const { warnings, allowed } =
    overlap === "ignore"
      ? { warnings: [], allowed: undefined }
      : checkCrossVnetOverlap(
          tx,
          row.id,
          ip4ToInt(input.firstIp),
          input.size,
          overlap === "warn"
            ? { refuse: false }
            : { refuse: true, field: "firstIp", allow: input.allowOverlap, who: owner },
        );
  // Say what was changed and what is missing, not only what was refused.
  const subnet = `${intToIp4(networkOf(ip4ToInt(netIp), prefix))}/${prefix}`;
  if (subnet !== input.subnet)
    warnings.unshift(`Subnet ${input.subnet} was saved as ${subnet} (host bits cleared)`);
  if (input.networkType === "internal" && !input.gateway)
    warnings.push(
      `VNET ${row.name} is internal (NAT) but has no gateway: its guests cannot reach the outside; set one under Context`,
    );
  audit(tx, actor, {
    action: "vnet.create",
    objectType: "vnet",
    objectId: row.id,
    objectName: row.name,
    detail: [
      driver,
      vlanId && `VLAN ${vlanId}`,
      vni && `VNI ${vni}`,
      input.subnet,
      dual && "dual stack",
      allowed,
    ]
      .filter(Boolean)
      .join(", "),
  });
  return { ...row, bridge, vlanId, vni, warnings };
}
