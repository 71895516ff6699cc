// Lease allocation. Runs inside the caller's IMMEDIATE transaction; the unique indexes on
// (vnet, ip), (vnet, mac) make a duplicate impossible even if this code had a bug.
import { and, asc, count, eq, gte, lte } from "drizzle-orm";
import type { Tx } from "../../db";
import { addressRanges, leaseHistory, leases, type vnets } from "../../db/schema";
import { intToIp4, ip4ToInt, macFromIp4 } from "../../lib/domain";
import { conflict, invalid } from "../errors";

type Vnet = typeof vnets.$inferSelect;
type Ar = typeof addressRanges.$inferSelect;
export type Lease = typeof leases.$inferSelect;

/** MAC of the address at `ipInt` in `ar`: the AR's first MAC plus the offset, else 02:00:<IPv4>. */
export function macFor(ar: Ar, ipInt: number): string {
  if (!ar.mac) return macFromIp4(intToIp4(ipInt));
  const base = BigInt(`0x${ar.mac.replaceAll(":", "")}`) + BigInt(ipInt - ar.ipStart!);
  return base.toString(16).padStart(12, "0").match(/../g)!.join(":");
}

/** Lowest address of `ar` without a lease (held or used), via the (vnet, ip) index; null when full. */
function lowestFreeIn(tx: Tx, ar: Ar): number | null {
  const start = ar.ipStart!;
  const end = start + ar.size - 1;
  const rows = tx
    .select({ ip: leases.ipInt })
    .from(leases)
    .where(and(eq(leases.vnetId, ar.vnetId), gte(leases.ipInt, start), lte(leases.ipInt, end)))
    .orderBy(asc(leases.ipInt))
    .all();
  let expect = start;
  for (const r of rows) {
    if (r.ip !== expect) return expect;
    expect++;
  }
  return expect <= end ? expect : null;
}

/** Allocates a used lease for a NIC: the requested address if free, else the lowest free one. */
export function allocateLease(
  tx: Tx,
  vnet: Vnet,
  opts: { ip?: string; nicId: number; instanceId: number; userId: string; field?: string },
): Lease {
  const ars = tx
    .select()
    .from(addressRanges)
    .where(eq(addressRanges.vnetId, vnet.id))
    .orderBy(asc(addressRanges.ipStart))
    .all()
    .filter((a) => a.ipStart !== null);
  let pick: { ar: Ar; ip: number } | null = null;
  if (opts.ip) {
    const want = ip4ToInt(opts.ip);
    const ar = ars.find((a) => want >= a.ipStart! && want < a.ipStart! + a.size);
    if (!ar) throw invalid(`${opts.ip} is not in any address range of VNET ${vnet.name}`, opts.field);
    const taken = tx
      .select()
      .from(leases)
      .where(and(eq(leases.vnetId, vnet.id), eq(leases.ipInt, want)))
      .get();
    if (taken)
      throw conflict(
        `${opts.ip} in VNET ${vnet.name} is ${taken.state === "hold" ? "on hold" : "already in use"}; leave the address empty to get the lowest free one`,
        opts.field,
      );
    pick = { ar, ip: want };
  } else {
    for (const ar of ars) {
      const ip = lowestFreeIn(tx, ar);
      if (ip !== null) {
        pick = { ar, ip };
        break;
      }
    }
  }
  if (!pick) {
    const total = ars.reduce((n, a) => n + a.size, 0);
    const used = tx.select({ n: count() }).from(leases).where(eq(leases.vnetId, vnet.id)).get()?.n ?? 0;
    throw conflict(
      `No free address left in VNET ${vnet.name} (${used} of ${total} used); add or resize an address range`,
      opts.field,
    );
  }
  const ip = intToIp4(pick.ip);
  const mac = macFor(pick.ar, pick.ip);
  const lease = tx
    .insert(leases)
    .values({
      vnetId: vnet.id,
      arId: pick.ar.id,
      ip,
      ipInt: pick.ip,
      mac,
      state: "used",
      nicId: opts.nicId,
      createdBy: opts.userId,
    })
    .returning()
    .get();
  tx.insert(leaseHistory)
    .values({
      vnetId: vnet.id,
      ip,
      mac,
      action: "allocate",
      nicId: opts.nicId,
      instanceId: opts.instanceId,
      userId: opts.userId,
    })
    .run();
  return lease;
}

/** Releases the lease of a NIC (instance deletion), recording it in the lease history. */
export function releaseNicLease(tx: Tx, nicId: number, instanceId: number, userId: string) {
  const lease = tx.select().from(leases).where(eq(leases.nicId, nicId)).get();
  if (!lease) return;
  tx.delete(leases).where(eq(leases.id, lease.id)).run();
  tx.insert(leaseHistory)
    .values({
      vnetId: lease.vnetId,
      ip: lease.ip,
      ip6: lease.ip6,
      mac: lease.mac,
      action: "release",
      nicId,
      instanceId,
      userId,
    })
    .run();
}
