// VNET peerings: without one, a node routes nothing between two VNETs (each reaches its own
// gateway and its NAT to the outside only). A peering links two VNETs once both sides consented:
// whoever holds MANAGE on both creates it active; MANAGE on one side and USE on the other proposes
// it, and a manager of the other side accepts. Either side's manager removes it. Every change is
// audited and bumps the nodes hosting either VNET, whose agents then allow or stop the routing
// (and cut the flows that were running between them).
import { and, eq, inArray, or } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db, Tx } from "../../../db";
import { instances, nics, user, vnetPeerings, vnets } from "../../../db/schema";
import { can, type Subject } from "../../../lib/permissions";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { permitted } from "../../authz";
import { conflict, DomainError, forbidden, invalid, notFound } from "../../errors";
import { assertUnlocked } from "../ownership";
import { mutate } from "../revision";

type Vnet = typeof vnets.$inferSelect;

const va = alias(vnets, "peer_va");
const vb = alias(vnets, "peer_vb");

/** Visible means USE, or the level asked of it (the bits are independent, e.g. 200). */
const visible = (t: Parameters<typeof permitted>[0], who: Subject) =>
  or(permitted(t, who, "use"), permitted(t, who, "manage"));

/** The VNET if the caller may see it; NOT_FOUND otherwise (never reveal another tenant's VNET). */
function visibleVnet(tx: Tx | Db, who: Subject, id: number, field?: string): Vnet {
  const row = tx
    .select()
    .from(va)
    .where(and(eq(va.id, id), visible(va, who)))
    .get();
  if (!row) throw new DomainError("not_found", `VNET ${id} not found`, field);
  return row;
}

/** The peering if the caller sees at least one of its VNETs, with both VNETs; NOT_FOUND otherwise. */
function visiblePeering(tx: Tx | Db, who: Subject, id: number) {
  const row = tx
    .select({ p: vnetPeerings, a: va, b: vb })
    .from(vnetPeerings)
    .innerJoin(va, eq(va.id, vnetPeerings.vnetA))
    .innerJoin(vb, eq(vb.id, vnetPeerings.vnetB))
    .where(and(eq(vnetPeerings.id, id), or(visible(va, who), visible(vb, who))))
    .get();
  if (!row) throw notFound(`Peering ${id}`);
  return row;
}

/** Nodes hosting NICs of any of these VNETs (a reservation's NICs sit on its parent's network). */
export function nodesOfVnets(tx: Tx, vnetIds: number[]): number[] {
  if (vnetIds.length === 0) return [];
  return tx
    .selectDistinct({ nodeId: instances.nodeId })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .innerJoin(vnets, eq(vnets.id, nics.vnetId))
    .where(or(inArray(nics.vnetId, vnetIds), inArray(vnets.parentVnetId, vnetIds)))
    .all()
    .map((r) => r.nodeId);
}

/** Active peers of each VNET among `vnetIds` (by VNET id), for the nodes' desired state. */
export function activePeers(
  tx: Tx | Db,
  vnetIds: number[],
): Map<number, { vnetId: number; subnet?: string }[]> {
  const out = new Map<number, { vnetId: number; subnet?: string }[]>();
  if (vnetIds.length === 0) return out;
  const rows = tx
    .select({ a: vnetPeerings.vnetA, b: vnetPeerings.vnetB, sa: va.context, sb: vb.context })
    .from(vnetPeerings)
    .innerJoin(va, eq(va.id, vnetPeerings.vnetA))
    .innerJoin(vb, eq(vb.id, vnetPeerings.vnetB))
    .where(
      and(
        eq(vnetPeerings.state, "active"),
        or(inArray(vnetPeerings.vnetA, vnetIds), inArray(vnetPeerings.vnetB, vnetIds)),
      ),
    )
    .all();
  const add = (from: number, to: number, subnet: string | undefined) => {
    const list = out.get(from) ?? [];
    list.push({ vnetId: to, ...(subnet ? { subnet } : {}) });
    out.set(from, list);
  };
  for (const r of rows) {
    add(r.a, r.b, r.sb.subnet);
    add(r.b, r.a, r.sa.subnet);
  }
  for (const list of out.values()) list.sort((x, y) => x.vnetId - y.vnetId);
  return out;
}

const userName = (tx: Tx | Db, id: string | null) =>
  id === null ? null : (tx.select({ u: user.username }).from(user).where(eq(user.id, id)).get()?.u ?? id);

const label = (a: Pick<Vnet, "name">, b: Pick<Vnet, "name">) => `${a.name} ↔ ${b.name}`;

/** Peerings of one VNET (USE on it), or of every VNET the caller sees; each names the other side. */
export function listPeerings(app: App, who: Subject, vnetId?: number) {
  if (vnetId !== undefined) visibleVnet(app.db, who, vnetId);
  const rows = app.db
    .select({ p: vnetPeerings, a: va, b: vb })
    .from(vnetPeerings)
    .innerJoin(va, eq(va.id, vnetPeerings.vnetA))
    .innerJoin(vb, eq(vb.id, vnetPeerings.vnetB))
    .where(
      and(
        vnetId === undefined ? undefined : or(eq(vnetPeerings.vnetA, vnetId), eq(vnetPeerings.vnetB, vnetId)),
        or(visible(va, who), visible(vb, who)),
      ),
    )
    .orderBy(vnetPeerings.id)
    .all();
  return rows.map(({ p, a, b }) => {
    const side = (v: Vnet) => ({ id: v.id, name: v.name, manage: can(who, v, "manage") });
    const self = vnetId === b.id ? b : a;
    const other = self.id === a.id ? b : a;
    const waitingOn = p.state === "proposed" ? (p.proposedFrom === a.id ? b : a) : null;
    return {
      id: p.id,
      state: p.state,
      vnet: side(self),
      peer: side(other),
      proposedBy: userName(app.db, p.proposedBy),
      proposedFrom: p.proposedFrom,
      acceptedBy: userName(app.db, p.acceptedBy),
      createdAt: p.createdAt,
      acceptedAt: p.acceptedAt,
      /** The caller may accept it: it waits on a VNET the caller manages. */
      canAccept: waitingOn !== null && can(who, waitingOn, "manage"),
      canRemove: can(who, a, "manage") || can(who, b, "manage"),
    };
  });
}

/** Peers two VNETs: active at once with MANAGE on both; proposed with MANAGE on one side and USE on
 * the other (the other side's manager accepts it). */
export function createPeering(app: App, actor: Actor, who: Subject, input: { vnetA: number; vnetB: number }) {
  if (input.vnetA === input.vnetB)
    throw invalid("A VNET cannot be peered with itself; choose another VNET", "vnetB");
  return mutate(app, (tx, touch) => {
    const x = visibleVnet(tx, who, input.vnetA, "vnetA");
    const y = visibleVnet(tx, who, input.vnetB, "vnetB");
    for (const v of [x, y])
      if (v.parentVnetId !== null)
        throw invalid(
          `VNET ${v.name} is a reservation on its parent's network; peer the parent VNET instead`,
          v === x ? "vnetA" : "vnetB",
        );
    const mx = can(who, x, "manage");
    const my = can(who, y, "manage");
    if (!mx && !my) throw forbidden(`You need MANAGE permission on VNET ${x.name} or ${y.name} to peer them`);
    if (mx) assertUnlocked("vnet", x, "manage");
    if (my) assertUnlocked("vnet", y, "manage");
    const [a, b] = x.id < y.id ? [x, y] : [y, x];
    const dup = tx
      .select()
      .from(vnetPeerings)
      .where(and(eq(vnetPeerings.vnetA, a.id), eq(vnetPeerings.vnetB, b.id)))
      .get();
    if (dup)
      throw conflict(
        dup.state === "active"
          ? `VNETs ${label(a, b)} are already peered (peering ${dup.id})`
          : `A peering of ${label(a, b)} is already proposed (peering ${dup.id}); a manager of the other side accepts it`,
      );
    const active = mx && my;
    const row = tx
      .insert(vnetPeerings)
      .values({
        vnetA: a.id,
        vnetB: b.id,
        state: active ? "active" : "proposed",
        proposedBy: actor.userId,
        proposedFrom: mx ? x.id : y.id,
        acceptedBy: active ? actor.userId : null,
        acceptedAt: active ? new Date() : null,
      })
      .returning()
      .get();
    audit(tx, actor, {
      action: "peering.create",
      objectType: "peering",
      objectId: row.id,
      objectName: label(a, b),
      detail: active ? "active (MANAGE on both)" : `proposed from ${mx ? x.name : y.name}`,
    });
    if (active) touch(nodesOfVnets(tx, [a.id, b.id]));
    return { id: row.id, state: row.state, vnetA: a.id, vnetB: b.id };
  });
}

/** Accepts a proposed peering: MANAGE on the side it was proposed to. */
export function acceptPeering(app: App, actor: Actor, who: Subject, id: number) {
  return mutate(app, (tx, touch) => {
    const { p, a, b } = visiblePeering(tx, who, id);
    if (p.state === "active") throw conflict(`Peering ${label(a, b)} is already active`);
    const other = p.proposedFrom === a.id ? b : a;
    if (!can(who, other, "manage"))
      throw forbidden(`You need MANAGE permission on VNET ${other.name} to accept peering ${label(a, b)}`);
    assertUnlocked("vnet", other, "manage");
    tx.update(vnetPeerings)
      .set({ state: "active", acceptedBy: actor.userId, acceptedAt: new Date() })
      .where(eq(vnetPeerings.id, id))
      .run();
    audit(tx, actor, {
      action: "peering.accept",
      objectType: "peering",
      objectId: id,
      objectName: label(a, b),
      detail: `accepted for ${other.name}`,
    });
    touch(nodesOfVnets(tx, [a.id, b.id]));
    return { id, state: "active" as const };
  });
}

/** Removes a peering (proposed or active): MANAGE on either side. The nodes stop routing between
 * the two VNETs and cut the connections that were open between them. */
export function removePeering(app: App, actor: Actor, who: Subject, id: number) {
  return mutate(app, (tx, touch) => {
    const { p, a, b } = visiblePeering(tx, who, id);
    if (!can(who, a, "manage") && !can(who, b, "manage"))
      throw forbidden(
        `You need MANAGE permission on VNET ${a.name} or ${b.name} to remove peering ${label(a, b)}`,
      );
    tx.delete(vnetPeerings).where(eq(vnetPeerings.id, id)).run();
    audit(tx, actor, {
      action: "peering.remove",
      objectType: "peering",
      objectId: id,
      objectName: label(a, b),
      detail: `was ${p.state}`,
    });
    if (p.state === "active") touch(nodesOfVnets(tx, [a.id, b.id]));
    return { id };
  });
}
