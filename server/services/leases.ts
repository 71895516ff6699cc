// Lease views and the hold/release actions of the leases tab, plus the lease history
// ("who had 10.0.105.12 last Tuesday?").
import { and, asc, desc, eq, gte, lte, or, type SQL } from "drizzle-orm";
import { instances, leaseHistory, leases, nics, user, vnets } from "../../db/schema";
import type { Subject } from "../../lib/permissions";
import type { App } from "../app";
import { type Actor, audit } from "../audit";
import { permitted } from "../authz";
import { notFound } from "../errors";
import { holdSpan, releaseSpan } from "./ipam";
import { manageableVnet } from "./ranges";
import { mutate } from "./revision";

function visibleVnet(app: App, who: Subject, vnetId: number) {
  const v = app.db
    .select()
    .from(vnets)
    .where(and(eq(vnets.id, vnetId), permitted(vnets, who, "use")))
    .get();
  if (!v) throw notFound(`VNET ${vnetId}`);
  return v;
}

/** All leases of a VNET (used and held) in address order, compact for a virtualized table. */
export function listLeases(app: App, who: Subject, vnetId: number) {
  visibleVnet(app, who, vnetId);
  return app.db
    .select({
      id: leases.id,
      arId: leases.arId,
      ip: leases.ip,
      ip6: leases.ip6,
      mac: leases.mac,
      state: leases.state,
      reason: leases.reason,
      expiresAt: leases.expiresAt,
      instanceId: instances.id,
      instance: instances.name,
      nicIdx: nics.idx,
    })
    .from(leases)
    .leftJoin(nics, eq(nics.id, leases.nicId))
    .leftJoin(instances, eq(instances.id, nics.instanceId))
    .where(eq(leases.vnetId, vnetId))
    .orderBy(asc(leases.arId), asc(leases.offset))
    .all();
}

type Span = { vnetId: number; from: string; to?: string };

/** Holds a span of addresses with a reason (and optional expiry). */
export function hold(
  app: App,
  actor: Actor,
  who: Subject & { id: string },
  input: Span & { reason: string; expiresAt?: Date },
) {
  return mutate(app, (tx) => {
    const vnet = manageableVnet(tx, who, input.vnetId);
    const n = holdSpan(tx, vnet, input, { userId: who.id, reason: input.reason, expiresAt: input.expiresAt });
    audit(tx, actor, {
      action: "lease.hold",
      objectType: "vnet",
      objectId: vnet.id,
      objectName: vnet.name,
      detail: `${input.from}${input.to ? `–${input.to}` : ""} (${n}): ${input.reason}`,
    });
    return { held: n };
  });
}

/** Releases the holds of a span. */
export function release(app: App, actor: Actor, who: Subject & { id: string }, input: Span) {
  return mutate(app, (tx) => {
    const vnet = manageableVnet(tx, who, input.vnetId);
    const n = releaseSpan(tx, vnet, input, { userId: who.id });
    audit(tx, actor, {
      action: "lease.release",
      objectType: "vnet",
      objectId: vnet.id,
      objectName: vnet.name,
      detail: `${input.from}${input.to ? `–${input.to}` : ""} (${n})`,
    });
    return { released: n };
  });
}

/** Lease history of a VNET, newest first, optionally for one address and a time window. */
export function history(
  app: App,
  who: Subject,
  input: { vnetId: number; address?: string; from?: Date; to?: Date; limit: number },
) {
  visibleVnet(app, who, input.vnetId);
  const where: (SQL | undefined)[] = [eq(leaseHistory.vnetId, input.vnetId)];
  if (input.address)
    where.push(
      or(
        eq(leaseHistory.ip, input.address),
        eq(leaseHistory.ip6, input.address),
        eq(leaseHistory.mac, input.address.toLowerCase()),
      ),
    );
  if (input.from) where.push(gte(leaseHistory.at, input.from));
  if (input.to) where.push(lte(leaseHistory.at, input.to));
  return app.db
    .select({
      id: leaseHistory.id,
      at: leaseHistory.at,
      action: leaseHistory.action,
      ip: leaseHistory.ip,
      ip6: leaseHistory.ip6,
      mac: leaseHistory.mac,
      instanceId: leaseHistory.instanceId,
      instance: instances.name,
      user: user.username,
      reason: leaseHistory.reason,
    })
    .from(leaseHistory)
    .leftJoin(instances, eq(instances.id, leaseHistory.instanceId))
    .leftJoin(user, eq(user.id, leaseHistory.userId))
    .where(and(...where))
    .orderBy(desc(leaseHistory.id))
    .limit(input.limit)
    .all();
}
