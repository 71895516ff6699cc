// Address ranges on a live VNET: add, resize, remove. Ranges of one VNET never share an address
// or MAC; shrinking or removing a range with leases is refused naming them; an IPv4 range that
// overlaps another VNET in a shared cluster is accepted with a warning (it may be intended).
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
import { conflict, invalid, notFound } from "../../errors";
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

/** IPv4 ranges of other VNETs in a shared cluster that overlap `spec`: warnings, not errors. */
export function crossVnetOverlaps(tx: Tx, vnetId: number, spec: ArSpec): string[] {
  if (!spec.ip) return [];
  const clusterIds = tx
    .select({ c: vnetClusters.clusterId })
    .from(vnetClusters)
    .where(eq(vnetClusters.vnetId, vnetId))
    .all()
    .map((r) => r.c);
  if (!clusterIds.length) return [];
  const others = tx
    .selectDistinct({ ar: addressRanges, vnet: vnets.name })
    .from(addressRanges)
    .innerJoin(vnets, eq(vnets.id, addressRanges.vnetId))
    .innerJoin(vnetClusters, eq(vnetClusters.vnetId, vnets.id))
    .where(and(ne(addressRanges.vnetId, vnetId), inArray(vnetClusters.clusterId, clusterIds)))
    .all();
  const start = ip4ToInt(spec.ip);
  return others
    .filter(({ ar }) => ar.ipStart !== null && ar.ipStart < start + spec.size && start < ar.ipStart + ar.size)
    .map(
      ({ ar, vnet }) =>
        `Overlaps ${intToIp4(Math.max(start, ar.ipStart!))}… with VNET ${vnet} in a shared cluster`,
    );
}

/** Checks a range against the VNET's other ranges and its subnet; returns warnings. */
function checkRange(tx: Tx, vnet: typeof vnets.$inferSelect, spec: ArSpec, selfId?: number): string[] {
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
  return crossVnetOverlaps(tx, vnet.id, spec);
}

/** Adds a range to a live VNET; nodes using the VNET get the new state. */
export function addRange(app: App, actor: Actor, who: Subject, vnetId: number, input: ArIn) {
  return mutate(app, (tx, touch) => {
    const vnet = manageableVnet(tx, who, vnetId);
    assertUnlocked("vnet", vnet, "manage");
    const needsMac = !("ip" in input && input.ip) && !input.mac;
    const spec: ArSpec = {
      ...input,
      mac: needsMac ? randomMacBase((n) => crypto.randomBytes(n)) : input.mac,
    };
    const warnings = checkRange(tx, vnet, spec);
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
      detail: label(ar as ArSpec & { id: number }),
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
export function resizeRange(app: App, actor: Actor, who: Subject, id: number, size: number) {
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
    const warnings = checkRange(tx, vnet, { ...(ar as ArSpec), size }, ar.id);
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
      detail: `range ${id}: ${ar.size} → ${size}`,
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
