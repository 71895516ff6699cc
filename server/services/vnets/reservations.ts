// Reservations (OpenNebula's `reserve`): a user carves N consecutive addresses of a VNET they may
// USE into a new VNET of their own. The addresses stay on hold in the parent (so they count in its
// usage and are never leased there twice); the child has one IPv4 range over exactly those
// addresses, with the same MACs, and shares the parent's physical attributes. Deleting the child
// gives the addresses back; a parent with reservations cannot be deleted.
import { asc, eq } from "drizzle-orm";
import type { Tx } from "../../../db";
import { addressRanges, leases, vnetClusters, vnets } from "../../../db/schema";
import { intToIp4, ip4ToInt, networkOf } from "../../../lib/domain";
import { addressAt } from "../../../lib/ipam";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { conflict, DomainError, invalid } from "../../errors";
import { holdSpan, releaseSpan } from "../leases/ipam";
import { assertNameFree, assertUnlocked, type Owner, ownedFor } from "../ownership";
import { checkQuota } from "../quotas";
import { mutate } from "../revision";
import { insertVnet } from "./vnet-create";

type Vnet = typeof vnets.$inferSelect;
type Ar = typeof addressRanges.$inferSelect;

/** The first run of `size` free offsets in `ar` (starting at `at` when given); null if none. */
function freeRun(tx: Tx, ar: Ar, size: number, at?: number): number | null {
  const taken = new Set(
    tx
      .select({ o: leases.offset })
      .from(leases)
      .where(eq(leases.arId, ar.id))
      .all()
      .map((r) => r.o),
  );
  const fits = (start: number) => {
    if (start < 0 || start + size > ar.size) return false;
    for (let o = start; o < start + size; o++) if (taken.has(o)) return false;
    return true;
  };
  if (at !== undefined) return fits(at) ? at : null;
  let run = 0;
  for (let o = 0; o < ar.size; o++) {
    run = taken.has(o) ? 0 : run + 1;
    if (run === size) return o - size + 1;
  }
  return null;
}

/** Reserves `size` addresses of `vnetId` (USE) into a new VNET named `name`, owned by the caller. */
export function reserve(
  app: App,
  actor: Actor,
  owner: Owner & { username?: string },
  input: { vnetId: number; name: string; size: number; firstIp?: string },
) {
  return mutate(app, (tx) => {
    const parent = ownedFor(tx, "vnet", owner, input.vnetId, "use", {
      doing: "reserve addresses from it",
    }) as Vnet;
    assertNameFree(tx, "vnet", input.name);
    checkQuota(tx, owner, { vnets: 1, leases: input.size });
    const ars = tx
      .select()
      .from(addressRanges)
      .where(eq(addressRanges.vnetId, parent.id))
      .orderBy(asc(addressRanges.id))
      .all()
      .filter((a) => a.ip);
    if (!ars.length) throw invalid(`VNET ${parent.name} has no IPv4 address range to reserve from`, "vnetId");
    let found: { ar: Ar; start: number } | null = null;
    for (const ar of ars) {
      const at = input.firstIp ? ip4ToInt(input.firstIp) - ip4ToInt(ar.ip!) : undefined;
      if (at !== undefined && (at < 0 || at >= ar.size)) continue;
      const start = freeRun(tx, ar, input.size, at);
      if (start !== null) {
        found = { ar, start };
        break;
      }
      if (at !== undefined) break;
    }
    if (!found)
      throw conflict(
        input.firstIp
          ? `${input.size} addresses from ${input.firstIp} are not all free in VNET ${parent.name}; pick another first address or leave it empty`
          : `VNET ${parent.name} has no ${input.size} consecutive free addresses; reserve fewer`,
        input.firstIp ? "firstIp" : "size",
      );
    const { ar, start } = found;
    const first = addressAt(ar, start);
    const lastIp = intToIp4(ip4ToInt(first.ip!) + input.size - 1);
    holdSpan(
      tx,
      parent,
      { from: first.ip!, to: lastIp },
      { userId: owner.id, reason: `Reserved for VNET ${input.name}` },
    );
    const prefix = ar.prefixLength ?? 24;
    const clusterIds = tx
      .select({ c: vnetClusters.clusterId })
      .from(vnetClusters)
      .where(eq(vnetClusters.vnetId, parent.id))
      .all()
      .map((r) => r.c);
    const child = insertVnet(
      tx,
      actor,
      owner,
      {
        name: input.name,
        description: `Reservation of ${input.size} addresses of ${parent.name}`,
        networkType: parent.networkType,
        bridge: undefined,
        mtu: parent.mtu,
        subnet: parent.context.subnet ?? `${intToIp4(networkOf(ip4ToInt(first.ip!), prefix))}/${prefix}`,
        gateway: parent.context.gateway,
        dns: parent.context.dns ?? [],
        firstIp: first.ip!,
        size: input.size,
        clusterIds: clusterIds.length ? clusterIds : [0],
        // Physical attributes are set right below from the template / parent, in this transaction.
        driver: "bridge",
        phydev: undefined,
        globalPrefix: undefined,
        ulaPrefix: undefined,
        gateway6: undefined,
      },
      "ignore",
    );
    tx.update(vnets)
      .set({
        driver: parent.driver,
        phydev: parent.phydev,
        vlanId: parent.vlanId,
        qos: parent.qos,
        context: parent.context,
        applyBridgeAddress: parent.applyBridgeAddress,
        parentVnetId: parent.id,
      })
      .where(eq(vnets.id, child.id))
      .run();
    // Same MACs as the parent would have given these addresses.
    tx.update(addressRanges).set({ mac: first.mac }).where(eq(addressRanges.vnetId, child.id)).run();
    audit(tx, actor, {
      action: "vnet.reserve",
      objectType: "vnet",
      objectId: parent.id,
      objectName: parent.name,
      detail: `${first.ip}–${lastIp} (${input.size}) into VNET ${input.name} (#${child.id})`,
    });
    return {
      id: child.id,
      name: input.name,
      parentId: parent.id,
      firstIp: first.ip!,
      lastIp,
      size: input.size,
    };
  });
}

/** Called by VNET deletion inside its transaction: refuses a locked VNET or a parent with
 * reservations, and gives a reservation's addresses back to its parent. */
export function beforeVnetRemove(tx: Tx, vnet: Vnet, userId: string) {
  assertUnlocked("vnet", vnet, "manage");
  const children = tx.select({ name: vnets.name }).from(vnets).where(eq(vnets.parentVnetId, vnet.id)).all();
  if (children.length)
    throw conflict(
      `VNET ${vnet.name} has reservation${children.length > 1 ? "s" : ""} ${children.map((c) => c.name).join(", ")}; delete ${children.length > 1 ? "them" : "it"} first`,
    );
  if (vnet.parentVnetId === null) return;
  const parent = tx.select().from(vnets).where(eq(vnets.id, vnet.parentVnetId)).get();
  if (!parent) return;
  for (const ar of tx.select().from(addressRanges).where(eq(addressRanges.vnetId, vnet.id)).all()) {
    if (!ar.ip) continue;
    try {
      releaseSpan(tx, parent, { from: ar.ip, to: intToIp4(ip4ToInt(ar.ip) + ar.size - 1) }, { userId });
    } catch (e) {
      // Nothing left on hold there (an admin released it by hand): nothing to give back.
      if (!(e instanceof DomainError && e.kind === "invalid")) throw e;
    }
  }
}
