// Lease allocation, holds and releases. Everything runs inside the caller's IMMEDIATE transaction;
// the unique indexes on (vnet, ip), (vnet, ip6), (vnet, mac) and (range, offset) make a duplicate
// impossible even if this code had a bug. Lowest-free search starts at the range's free hint
// (every offset below it is taken), so an allocation costs O(log n) on a filling range. A lease's
// history events are written when it ends (`dropLease`); until then the lease row is its entry.
import { and, asc, count, eq, gte, inArray, lt, lte, sql } from "drizzle-orm";
import { compile, connectionOf, type Tx } from "../../../db";
import { addressRanges, instances, leaseHistory, leases, nics, type vnets } from "../../../db/schema";
import { isIpv4, isIpv6, isMac } from "../../../lib/domain";
import { type ArSpec, addressAt, macToBig, offsetOfIp4, offsetOfIp6 } from "../../../lib/ipam";
import { conflict, invalid } from "../../errors";
import { leasesChanged } from "../lease-changes";

type Vnet = typeof vnets.$inferSelect;
type LeaseAction = (typeof leaseHistory.$inferSelect)["action"];
type Ar = typeof addressRanges.$inferSelect;
export type Lease = typeof leases.$inferSelect;
type Who = { userId: string; nicId?: number | null; instanceId?: number | null; reason?: string | null };

const SCAN_BATCH = 256;
const HINT_STRIDE = 32;

// The allocation hot path runs as statements compiled once per connection from drizzle queries
// (`compile`): drizzle's query building and SQLite's statement preparation were ~90 % of an
// allocation's cost, and drizzle's per-call parameter and row mapping half of what was left.
const ph = sql.placeholder;
function statements(tx: Tx) {
  return {
    expiredHold: compile(
      tx,
      tx
        .select({ id: leases.id })
        .from(leases)
        .where(
          and(eq(leases.vnetId, ph("vnetId")), eq(leases.state, "hold"), lt(leases.expiresAt, ph("now"))),
        )
        .limit(1),
    ),
    ranges: tx
      .select()
      .from(addressRanges)
      .where(eq(addressRanges.vnetId, ph("vnetId")))
      .orderBy(asc(addressRanges.id))
      .prepare(),
    scan: compile(
      tx,
      tx
        .select({ o: leases.offset })
        .from(leases)
        .where(and(eq(leases.arId, ph("arId")), gte(leases.offset, ph("from"))))
        .orderBy(asc(leases.offset))
        .limit(SCAN_BATCH),
    ),
    at: tx
      .select()
      .from(leases)
      .where(and(eq(leases.arId, ph("arId")), eq(leases.offset, ph("offset"))))
      .prepare(),
    setHint: compile(
      tx,
      tx
        .update(addressRanges)
        .set({ freeHint: sql`${ph("hint")}` })
        .where(eq(addressRanges.id, ph("arId"))),
    ),
    insertLease: compile(
      tx,
      tx.insert(leases).values({
        vnetId: ph("vnetId"),
        arId: ph("arId"),
        offset: ph("offset"),
        ip: ph("ip"),
        ipInt: ph("ipInt"),
        ip6: ph("ip6"),
        ip6Ula: ph("ip6Ula"),
        mac: ph("mac"),
        state: ph("state"),
        nicId: ph("nicId"),
        reason: ph("reason"),
        expiresAt: ph("expiresAt"),
        createdBy: ph("createdBy"),
        createdAt: ph("createdAt"),
      }),
    ),
    instanceName: compile(
      tx,
      tx
        .select({ name: instances.name })
        .from(instances)
        .where(eq(instances.id, ph("id"))),
    ),
  };
}
const cache = new WeakMap<object, ReturnType<typeof statements>>();
function stmts(tx: Tx) {
  const key = connectionOf(tx);
  let s = cache.get(key);
  if (!s) {
    s = statements(tx);
    cache.set(key, s);
  }
  return s;
}

/** The lowest offset ≥ the range's hint without a lease; null when the range is full. */
function lowestFreeOffset(tx: Tx, ar: Ar): number | null {
  let from = ar.freeHint;
  while (from < ar.size) {
    const scan = stmts(tx).scan;
    const rows = scan.stmt.pluck().all(...scan.args({ arId: ar.id, from })) as number[];
    let expect = from;
    for (const o of rows) {
      if (o !== expect) return expect;
      expect++;
    }
    if (rows.length < SCAN_BATCH) return expect < ar.size ? expect : null;
    from = expect;
  }
  return null;
}

function setHint(tx: Tx, arId: number, hint: number) {
  const q = stmts(tx).setHint;
  q.stmt.run(...q.args({ hint, arId }));
}

/** Holds whose expiry has passed are released before any allocation in the VNET. */
function purgeExpiredHolds(tx: Tx, vnetId: number) {
  const q = stmts(tx).expiredHold;
  if (!q.stmt.get(...q.args({ vnetId, now: Date.now() }))) return;
  const expired = tx
    .select()
    .from(leases)
    .where(and(eq(leases.vnetId, vnetId), eq(leases.state, "hold"), lt(leases.expiresAt, new Date())))
    .all();
  for (const l of expired) dropLease(tx, l, { userId: "system", reason: "hold expired" }, "unhold");
}

function ranges(tx: Tx, vnetId: number): Ar[] {
  return stmts(tx).ranges.all({ vnetId });
}

/** Offset of `mac` inside `ar` (the range's first MAC plus the offset), or null when outside. */
function offsetOfMac(ar: ArSpec, mac: string): number | null {
  const off = macToBig(mac.toLowerCase()) - macToBig(addressAt(ar, 0).mac);
  return off >= 0n && off < BigInt(ar.size) ? Number(off) : null;
}

/** Finds the range and offset of a requested IPv4, IPv6 or MAC address in a VNET. */
function locate(all: Ar[], addr: string): { ar: Ar; offset: number } | null {
  // Anything but a well-formed address is in no range (the address math throws on it).
  const offsetIn = isMac(addr) ? offsetOfMac : isIpv6(addr) ? offsetOfIp6 : isIpv4(addr) ? offsetOfIp4 : null;
  if (!offsetIn) return null;
  for (const ar of all) {
    const off = offsetIn(ar as ArSpec, addr);
    if (off !== null) return { ar, offset: off };
  }
  return null;
}

function insertLease(
  tx: Tx,
  vnet: Vnet,
  ar: Ar,
  offset: number,
  state: "used" | "hold",
  who: Who,
  expiresAt?: Date | null,
): Lease {
  const a = addressAt(ar as ArSpec, offset);
  const st = stmts(tx);
  const lease: Lease = {
    id: 0,
    vnetId: vnet.id,
    arId: ar.id,
    offset,
    ip: a.ip,
    ipInt: a.ipInt,
    ip6: a.ip6,
    ip6Ula: a.ip6Ula,
    mac: a.mac,
    state,
    nicId: who.nicId ?? null,
    reason: who.reason ?? null,
    expiresAt: expiresAt ?? null,
    createdBy: who.userId,
    createdAt: new Date(),
  };
  lease.id = Number(st.insertLease.stmt.run(...st.insertLease.args(lease)).lastInsertRowid);
  leasesChanged(tx, vnet.id);
  return lease;
}

function instanceNameOf(tx: Tx, id: number | null | undefined): string | null {
  if (!id) return null;
  const q = stmts(tx).instanceName;
  return (q.stmt.pluck().get(...q.args({ id })) as string | undefined) ?? null;
}

/** Ends a lease and writes its two history events: how it began (allocate/hold, with the time,
 * user and reason kept on the lease row) and how it ended. A live lease is its own history entry
 * until then (leases.ts `history` reads both), so an allocation writes one row, not two. */
function dropLease(tx: Tx, l: Lease, who: Who, action: "release" | "unhold") {
  tx.delete(leases).where(eq(leases.id, l.id)).run();
  leasesChanged(tx, l.vnetId);
  const ar = tx
    .select({ hint: addressRanges.freeHint })
    .from(addressRanges)
    .where(eq(addressRanges.id, l.arId))
    .get();
  if (ar && l.offset < ar.hint)
    tx.update(addressRanges).set({ freeHint: l.offset }).where(eq(addressRanges.id, l.arId)).run();
  const event = {
    vnetId: l.vnetId,
    ip: l.ip,
    ip6: l.ip6,
    mac: l.mac,
    nicId: l.nicId,
    instanceId: who.instanceId ?? null,
    instanceName: instanceNameOf(tx, who.instanceId),
  };
  tx.insert(leaseHistory)
    .values([
      {
        ...event,
        action: l.state === "used" ? "allocate" : "hold",
        userId: l.createdBy,
        reason: l.reason,
        at: l.createdAt,
      },
      { ...event, action, userId: who.userId, reason: who.reason ?? null },
    ])
    .run();
}

/** Ends every lease of a VNET that is being removed (only holds can be left by then), writing
 * their history events like `dropLease` does, in two statements whatever their number. */
export function endLeasesOfVnet(tx: Tx, vnetId: number, userId: string) {
  const events = (end: boolean) =>
    tx
      .select({
        // Every column of lease_history, in its order (drizzle's insert … select wants them all).
        id: sql<number>`NULL`.as("id"),
        vnetId: leases.vnetId,
        ip: leases.ip,
        ip6: leases.ip6,
        mac: leases.mac,
        action: end
          ? sql<LeaseAction>`CASE ${leases.state} WHEN 'used' THEN 'release' ELSE 'unhold' END`.as("action")
          : sql<LeaseAction>`CASE ${leases.state} WHEN 'used' THEN 'allocate' ELSE 'hold' END`.as("action"),
        nicId: leases.nicId,
        instanceId: sql<number>`NULL`.as("instance_id"),
        instanceName: sql<string>`NULL`.as("instance_name"),
        userId: end ? sql<string>`${userId}`.as("user_id") : leases.createdBy,
        reason: end ? sql<string>`'VNET removed'`.as("reason") : leases.reason,
        at: end ? sql<Date>`${Date.now()}`.as("at") : leases.createdAt,
      })
      .from(leases)
      .where(eq(leases.vnetId, vnetId))
      .orderBy(asc(leases.id));
  tx.insert(leaseHistory).select(events(false)).run();
  tx.insert(leaseHistory).select(events(true)).run();
  tx.delete(leases).where(eq(leases.vnetId, vnetId)).run();
  leasesChanged(tx, vnetId);
}

/** Describes who holds a lease, for refusal messages ("10.0.0.5 (used by web1)"). */
function describeLeases(tx: Tx, ls: Lease[]): string {
  const nicIds = ls.map((l) => l.nicId).filter((x): x is number => x !== null);
  const owners = nicIds.length
    ? new Map(
        tx
          .select({ nicId: nics.id, name: instances.name })
          .from(nics)
          .innerJoin(instances, eq(instances.id, nics.instanceId))
          .where(inArray(nics.id, nicIds))
          .all()
          .map((r) => [r.nicId, r.name]),
      )
    : new Map<number, string>();
  const shown = ls.slice(0, 8).map((l) => {
    const addr = l.ip ?? l.ip6 ?? l.mac;
    return l.state === "hold"
      ? `${addr} (on hold${l.reason ? `: ${l.reason}` : ""})`
      : `${addr} (used by ${owners.get(l.nicId!) ?? "a NIC"})`;
  });
  return shown.join(", ") + (ls.length > 8 ? ` and ${ls.length - 8} more` : "");
}

/** Allocates a used lease for a NIC: the requested address if free, else the lowest free one. */
export function allocateLease(
  tx: Tx,
  vnet: Vnet,
  opts: { ip?: string; nicId: number; userId: string; field?: string },
): Lease {
  if (vnet.lockLevel === "use")
    throw conflict(`VNET ${vnet.name} is locked; unlock it before attaching NICs`, opts.field);
  purgeExpiredHolds(tx, vnet.id);
  const all = ranges(tx, vnet.id);
  const who = { userId: opts.userId, nicId: opts.nicId };
  if (opts.ip) {
    const at = locate(all, opts.ip);
    if (!at) throw invalid(`${opts.ip} is not in any address range of VNET ${vnet.name}`, opts.field);
    const taken = stmts(tx).at.get({ arId: at.ar.id, offset: at.offset });
    if (taken)
      throw conflict(
        `${opts.ip} in VNET ${vnet.name} is ${taken.state === "hold" ? "on hold" : "already in use"}; leave the address empty to get the lowest free one`,
        opts.field,
      );
    return insertLease(tx, vnet, at.ar, at.offset, "used", who);
  }
  for (const ar of all) {
    const off = lowestFreeOffset(tx, ar);
    if (off === null) {
      // Keep the hint exact for a full range, so the next attempt costs nothing.
      if (ar.freeHint !== ar.size) setHint(tx, ar.id, ar.size);
      continue;
    }
    const lease = insertLease(tx, vnet, ar, off, "used", who);
    // Every offset below off + 1 is now taken. The stored hint only has to stay a lower bound, so
    // it is moved once the next search would pass HINT_STRIDE taken offsets (one index page
    // read) rather than on every allocation (one more page written per commit).
    if (off + 1 - ar.freeHint >= HINT_STRIDE) setHint(tx, ar.id, off + 1);
    return lease;
  }
  const total = all.reduce((n, a) => n + a.size, 0);
  const used = tx.select({ n: count() }).from(leases).where(eq(leases.vnetId, vnet.id)).get()?.n ?? 0;
  throw conflict(
    `No free address left in VNET ${vnet.name} (${used} of ${total} used); add or resize an address range`,
    opts.field,
  );
}

/** Releases the lease of a NIC (instance or NIC deletion), recording it in the lease history. */
export function releaseNicLease(tx: Tx, nicId: number, instanceId: number, userId: string) {
  const lease = tx.select().from(leases).where(eq(leases.nicId, nicId)).get();
  if (lease) dropLease(tx, lease, { userId, instanceId }, "release");
}

type Span = { from: string; to?: string };

/** The (range, offset) pairs of a span of addresses in a VNET; refuses spans outside its ranges. */
function spanOffsets(tx: Tx, vnet: Vnet, span: Span): { ar: Ar; offset: number }[] {
  const all = ranges(tx, vnet.id);
  const a = locate(all, span.from);
  if (!a) throw invalid(`${span.from} is not in any address range of VNET ${vnet.name}`, "from");
  const b = span.to ? locate(all, span.to) : a;
  if (!b) throw invalid(`${span.to} is not in any address range of VNET ${vnet.name}`, "to");
  if (b.ar.id !== a.ar.id)
    throw invalid(
      `${span.from} and ${span.to} are in different address ranges; hold each range's part separately`,
      "to",
    );
  if (b.offset < a.offset) throw invalid(`${span.to} comes before ${span.from}`, "to");
  if (b.offset - a.offset >= 65536) throw invalid("A span holds at most 65536 addresses at once", "to");
  return Array.from({ length: b.offset - a.offset + 1 }, (_, i) => ({ ar: a.ar, offset: a.offset + i }));
}

function leasesAt(tx: Tx, arId: number, from: number, to: number): Lease[] {
  return tx
    .select()
    .from(leases)
    .where(and(eq(leases.arId, arId), gte(leases.offset, from), lte(leases.offset, to)))
    .orderBy(asc(leases.offset))
    .all();
}

/** Puts a span of free addresses on hold (kept out of allocation); refuses if any is taken. */
export function holdSpan(
  tx: Tx,
  vnet: Vnet,
  span: Span,
  who: { userId: string; reason: string; expiresAt?: Date | null },
) {
  purgeExpiredHolds(tx, vnet.id);
  const offs = spanOffsets(tx, vnet, span);
  const ar = offs[0]!.ar;
  const taken = leasesAt(tx, ar.id, offs[0]!.offset, offs.at(-1)!.offset);
  if (taken.length)
    throw conflict(`Cannot hold: ${describeLeases(tx, taken)} already taken in VNET ${vnet.name}`, "from");
  for (const o of offs)
    insertLease(tx, vnet, ar, o.offset, "hold", { userId: who.userId, reason: who.reason }, who.expiresAt);
  return offs.length;
}

/** Releases the holds in a span; addresses used by NICs are refused, naming them. */
export function releaseSpan(tx: Tx, vnet: Vnet, span: Span, who: { userId: string }) {
  const offs = spanOffsets(tx, vnet, span);
  const found = leasesAt(tx, offs[0]!.ar.id, offs[0]!.offset, offs.at(-1)!.offset);
  const used = found.filter((l) => l.state === "used");
  if (used.length)
    throw conflict(
      `Cannot release ${describeLeases(tx, used)}: delete the NIC to free a used address`,
      "from",
    );
  if (!found.length)
    throw invalid(
      `No address between ${span.from} and ${span.to ?? span.from} is on hold in VNET ${vnet.name}`,
      "from",
    );
  for (const l of found) dropLease(tx, l, { userId: who.userId }, "unhold");
  return found.length;
}

/** Leases of a range at or beyond `fromOffset`, described for refusal messages. */
export function describeLeasesFrom(tx: Tx, ar: Ar, fromOffset: number): string | null {
  const ls = leasesAt(tx, ar.id, fromOffset, ar.size - 1);
  return ls.length ? describeLeases(tx, ls) : null;
}
