// Address ranges on a live VNET: add, resize, remove. Ranges of one VNET never share an address
// or MAC; shrinking or removing a range with leases is refused naming them; IPv4 addresses that
// another VNET in a shared cluster uses are refused at the field unless an admin allows the
// overlap (separate L2 domains may reuse addresses on purpose), which the audit entry records.
import crypto from "node:crypto";
import { and, eq, inArray, ne } from "drizzle-orm";
import type { z } from "zod";
import type { Tx } from "../../../db";
import { addressRanges, instances, nics, vnetClusters, vnets } from "../../../db/schema";
import { type ContextAttrs, intToIp4, ip4ToInt, networkOf } from "../../../lib/domain";
import { type ArSpec, randomMacBase, rangesClash } from "../../../lib/ipam";
import type { Subject } from "../../../lib/permissions";
import type { arInput } from "../../../lib/schemas";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { permitted } from "../../authz";
import { conflict, forbidden, invalid, notFound } from "../../errors";
import { describeLeasesFrom } from "../leases/ipam";
import { assertUnlocked } from "../ownership";
import { mutate } from "../revision";

type ArIn = z.output<typeof arInput>;
type Ar = typeof addressRanges.$inferSelect;

/** The VNET if `who` may MANAGE it; NOT_FOUND otherwise. */
export function manageableVnet(tx: Tx, who: Subject, vnetId: number) {
  const v = tx
    .select()
    .from(vnets)
    .where(and(eq(vnets.id, vnetId), permitted(vnets, who, "manage")))
    .get();
  if (!v) throw notFound(`VNET ${vnetId}`);
  return v;
}

/** Nodes with instances that have a NIC on the VNET: they must get the new state. */
export function nodesUsing(tx: Tx, vnetId: number): number[] {
  return tx
    .selectDistinct({ nodeId: instances.nodeId })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .where(eq(nics.vnetId, vnetId))
    .all()
    .map((r) => r.nodeId);
}

const label = (ar: ArSpec & { id?: number }) => {
  const first = ar.ip ?? ar.ip6 ?? ar.globalPrefix ?? ar.ulaPrefix ?? ar.mac ?? "?";
  return `range ${ar.id ?? "(new)"} (${ar.type} ${first}, ${ar.size} addresses)`;
};

/** How a change treats IPv4 addresses that another VNET of a shared cluster also uses. */
export type OverlapMode =
  // Refused at `field`, naming the other VNET (the default of every form and API call).
  | { refuse: true; field: string; allow?: boolean; who: Subject }
  // Accepted with a warning: copies and template networks are separate L2 domains by design.
  | { refuse: false };

/** IPv4 ranges of other VNETs in a shared cluster that share an address with [start, start+size):
 * "VNET net (10.5.0.15–10.5.0.19)". A reservation and its parent never count: the parent holds
 * the reserved addresses. */
function overlapsOf(tx: Tx, vnetId: number, start: number, size: number): string[] {
  if (size <= 0) return [];
  const clusterIds = tx
    .select({ c: vnetClusters.clusterId })
    .from(vnetClusters)
    .where(eq(vnetClusters.vnetId, vnetId))
    .all()
    .map((r) => r.c);
  if (!clusterIds.length) return [];
  const self = tx.select({ parent: vnets.parentVnetId }).from(vnets).where(eq(vnets.id, vnetId)).get();
  const others = tx
    .selectDistinct({ ar: addressRanges, vnet: vnets.name, vnetId: vnets.id, parent: vnets.parentVnetId })
    .from(addressRanges)
    .innerJoin(vnets, eq(vnets.id, addressRanges.vnetId))
    .innerJoin(vnetClusters, eq(vnetClusters.vnetId, vnets.id))
    .where(and(ne(addressRanges.vnetId, vnetId), inArray(vnetClusters.clusterId, clusterIds)))
    .all()
    .filter((o) => o.parent !== vnetId && o.vnetId !== self?.parent);
  const seen = new Set<number>();
  return others
    .filter(({ ar }) => ar.ipStart !== null && ar.ipStart < start + size && start < ar.ipStart + ar.size)
    .filter(({ ar }) => !seen.has(ar.id) && Boolean(seen.add(ar.id)))
    .map(
      ({ ar, vnet }) =>
        `VNET ${vnet} (${intToIp4(Math.max(start, ar.ipStart!))}–${intToIp4(Math.min(start + size, ar.ipStart! + ar.size) - 1)})`,
    );
}

/** Applies `mode` to the IPv4 addresses [start, start+size) a change adds to VNET `vnetId`:
 * throws the refusal, or returns the warnings (and what the audit entry should say). */
export function checkCrossVnetOverlap(
  tx: Tx,
  vnetId: number,
  start: number,
  size: number,
  mode: OverlapMode,
): { warnings: string[]; allowed?: string } {
  const hits = overlapsOf(tx, vnetId, start, size);
  if (mode.refuse && mode.allow && mode.who.role !== "admin")
    throw forbidden("Only a cloud admin may allow addresses that another VNET uses", "allowOverlap");
  if (!hits.length) return { warnings: [] };
  const what = `${intToIp4(start)}–${intToIp4(start + size - 1)}`;
  if (mode.refuse && !mode.allow)
    throw conflict(
      `${what} overlaps ${hits.join(", ")} in a shared cluster; pick other addresses${mode.who.role === "admin" ? ", or tick \u201cAllow overlap\u201d if the two networks never meet" : ""}`,
      mode.field,
    );
  const warnings = hits.map((h) => `Overlaps ${h} in a shared cluster`);
  return { warnings, allowed: mode.refuse ? `overlap with ${hits.join(", ")} allowed` : undefined };
}

/** Checks a range against the VNET's other ranges and its subnet (refusals). */
function checkRange(tx: Tx, vnet: typeof vnets.$inferSelect, spec: ArSpec, selfId?: number) {
  for (const other of tx.select().from(addressRanges).where(eq(addressRanges.vnetId, vnet.id)).all()) {
    if (other.id === selfId) continue;
    const clash = rangesClash(spec, other as ArSpec);
    if (clash)
      throw conflict(
        `This range shares ${clash} with ${label(other as ArSpec & { id: number })} of VNET ${vnet.name}; pick another first address or size`,
        selfId
          ? "size"
          : clash === "MAC addresses"
            ? spec.ip
              ? "range.ip"
              : "range.mac"
            : clash === "IPv6 addresses"
              ? "range.ip6"
              : "range.ip",
      );
  }
  const subnet = vnet.context.subnet;
  if (spec.ip && subnet) {
    const [net, len] = subnet.split("/") as [string, string];
    const p = Number(len);
    const first = ip4ToInt(spec.ip);
    const last = first + spec.size - 1;
    const base = networkOf(ip4ToInt(net), p);
    if (networkOf(first, p) !== base || last > base + 2 ** (32 - p) - 1)
      throw invalid(
        `The range ${spec.ip}–${intToIp4(last >>> 0)} is outside the VNET's subnet ${subnet}`,
        selfId ? "size" : "range.ip",
      );
  }
}

/** Adds a range to a live VNET; nodes using the VNET get the new state. */
export function addRange(
  app: App,
  actor: Actor,
  who: Subject,
  vnetId: number,
  input: ArIn,
  allowOverlap = false,
) {
  return mutate(app, (tx, touch) => {
    const vnet = manageableVnet(tx, who, vnetId);
    assertUnlocked("vnet", vnet, "manage");
    const needsMac = !("ip" in input && input.ip) && !input.mac;
    const spec: ArSpec = {
      ...input,
      mac: needsMac ? randomMacBase((n) => crypto.randomBytes(n)) : input.mac,
    };
    checkRange(tx, vnet, spec);
    const { warnings, allowed } = spec.ip
      ? checkCrossVnetOverlap(tx, vnetId, ip4ToInt(spec.ip), spec.size, {
          refuse: true,
          field: "range.ip",
          allow: allowOverlap,
          who,
        })
      : { warnings: [], allowed: undefined };
    const prefix = vnet.context.subnet ? Number(vnet.context.subnet.split("/")[1]) : 24;
    const ar = tx
      .insert(addressRanges)
      .values({
        vnetId,
        type: input.type,
        size: input.size,
        mac: spec.mac ?? null,
        ip: "ip" in input ? input.ip : null,
        ipStart: "ip" in input && input.ip ? ip4ToInt(input.ip) : null,
        prefixLength: "ip" in input && input.ip ? prefix : null,
        ip6: "ip6" in input ? (input.ip6 ?? null) : null,
        prefixLength6: "prefixLength6" in input ? input.prefixLength6 : null,
        globalPrefix: "globalPrefix" in input ? (input.globalPrefix ?? null) : null,
        ulaPrefix: "ulaPrefix" in input ? (input.ulaPrefix ?? null) : null,
      })
      .returning()
      .get();
    touch(nodesUsing(tx, vnetId));
    audit(tx, actor, {
      action: "range.add",
      objectType: "vnet",
      objectId: vnetId,
      objectName: vnet.name,
      detail: [label(ar as ArSpec & { id: number }), allowed].filter(Boolean).join("; "),
    });
    return { range: ar, warnings };
  });
}

function rangeOf(tx: Tx, who: Subject, id: number): { ar: Ar; vnet: typeof vnets.$inferSelect } {
  const ar = tx.select().from(addressRanges).where(eq(addressRanges.id, id)).get();
  if (!ar) throw notFound(`Address range ${id}`);
  const vnet = manageableVnet(tx, who, ar.vnetId);
  assertUnlocked("vnet", vnet, "manage");
  return { ar, vnet };
}

/** Grows or shrinks a range; shrinking below a lease is refused naming the leases. */
export function resizeRange(
  app: App,
  actor: Actor,
  who: Subject,
  id: number,
  size: number,
  allowOverlap = false,
) {
  return mutate(app, (tx, touch) => {
    const { ar, vnet } = rangeOf(tx, who, id);
    if (size < ar.size) {
      const held = describeLeasesFrom(tx, ar, size);
      if (held)
        throw conflict(
          `Cannot shrink ${label(ar as ArSpec & { id: number })} to ${size}: ${held} would fall outside; release them first`,
          "size",
        );
    }
    checkRange(tx, vnet, { ...(ar as ArSpec), size }, ar.id);
    // Only the addresses a growth adds count: a copy of a VNET shares its addresses from the start.
    const { warnings, allowed } =
      ar.ipStart !== null && size > ar.size
        ? checkCrossVnetOverlap(tx, vnet.id, ar.ipStart + ar.size, size - ar.size, {
            refuse: true,
            field: "size",
            allow: allowOverlap,
            who,
          })
        : { warnings: [], allowed: undefined };
    tx.update(addressRanges)
      .set({ size, freeHint: Math.min(ar.freeHint, size) })
      .where(eq(addressRanges.id, id))
      .run();
    touch(nodesUsing(tx, vnet.id));
    audit(tx, actor, {
      action: "range.resize",
      objectType: "vnet",
      objectId: vnet.id,
      objectName: vnet.name,
      detail: [`range ${id}: ${ar.size} → ${size}`, allowed].filter(Boolean).join("; "),
    });
    return { id, size, warnings };
  });
}

/** Removes a range without leases; with leases it is refused naming them. */
export function removeRange(app: App, actor: Actor, who: Subject, id: number) {
  return mutate(app, (tx, touch) => {
    const { ar, vnet } = rangeOf(tx, who, id);
    const held = describeLeasesFrom(tx, ar, 0);
    if (held)
      throw conflict(
        `Cannot remove ${label(ar as ArSpec & { id: number })} of VNET ${vnet.name}: ${held} still leased; release them first`,
      );
    tx.delete(addressRanges).where(eq(addressRanges.id, id)).run();
    touch(nodesUsing(tx, vnet.id));
    audit(tx, actor, {
      action: "range.remove",
      objectType: "vnet",
      objectId: vnet.id,
      objectName: vnet.name,
      detail: label(ar as ArSpec & { id: number }),
    });
    return { id };
  });
}

/** Replaces a range's context overrides (gateway, DNS, ...: what differs from the VNET's). */
export function setRangeContext(app: App, actor: Actor, who: Subject, id: number, context: ContextAttrs) {
  return mutate(app, (tx, touch) => {
    const { vnet } = rangeOf(tx, who, id);
    const clean = Object.fromEntries(Object.entries(context).filter(([, v]) => v !== undefined));
    tx.update(addressRanges).set({ context: clean }).where(eq(addressRanges.id, id)).run();
    touch(nodesUsing(tx, vnet.id));
    audit(tx, actor, {
      action: "range.context",
      objectType: "vnet",
      objectId: vnet.id,
      objectName: vnet.name,
      detail: `range ${id}: ${JSON.stringify(clean)}`,
    });
    return { id, context: clean };
  });
}
