// The tenancy side of VNETs: clone, labels (for automatic selection), and "my VNETs" for the
// self-service page. The VNET lifecycle itself lives in vnets.ts (IPAM); ownership operations are
// generic (ownership.ts); reservations have their own module.
import { asc, eq, inArray, isNotNull } from "drizzle-orm";
import {
  addressRanges,
  instances,
  leases,
  nics,
  vnetClusters,
  vnetSecurityGroups,
  vnets,
  vnetTemplates,
} from "../../../db/schema";
import type { Subject } from "../../../lib/permissions";
import type { VnetRestrictedInput } from "../../../lib/schemas";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { conflict, forbidden } from "../../errors";
import { assertNameFree, describeOwnership, type Owner, ownedFor } from "../ownership";
import { checkQuota } from "../quotas";
import { mutate } from "../revision";
import { pickIds } from "./templates";
import { changeVnetConfig } from "./vnet-config";

type Vnet = typeof vnets.$inferSelect;

/** Copies a VNET (USE on it) with its address ranges, clusters and security groups, but no
 * leases, as a new VNET of the caller's. A VLAN ID / VNI is picked anew from the source's
 * template pool; a VNET with an admin-fixed VLAN/VNI or a reservation cannot be cloned. */
export function cloneVnet(
  app: App,
  actor: Actor,
  owner: Owner & { username?: string },
  id: number,
  name: string,
  overrides: VnetRestrictedInput = {},
) {
  return mutate(app, (tx) => {
    const src = ownedFor(tx, "vnet", owner, id, "use", { doing: "clone it" }) as Vnet;
    assertNameFree(tx, "vnet", name);
    if (src.parentVnetId !== null)
      throw conflict(
        `VNET ${src.name} is a reservation; reserve addresses of its parent instead of cloning it`,
      );
    // A second bridge on the same physical NIC would take it from the first one on every node
    // (a NIC has one master), so a copy of a bridged network is the cloud admin's decision.
    if (owner.role !== "admin" && src.phydev && src.driver === "bridge")
      throw forbidden(
        `VNET ${src.name} is bridged to the physical device ${src.phydev}; only a cloud admin may create another network on it. Reserve addresses of it instead`,
        "phydev",
      );
    checkQuota(tx, owner, { vnets: 1 });
    let ids = { vlanId: src.vlanId, vni: src.vni as number | null };
    if (src.vni !== null || (src.vlanId !== null && src.driver === "vlan")) {
      const tpl =
        src.templateId === null
          ? undefined
          : tx.select().from(vnetTemplates).where(eq(vnetTemplates.id, src.templateId)).get();
      if (!tpl || (!tpl.attrs.vniPool && !tpl.attrs.vlanPool))
        throw conflict(
          `VNET ${src.name} has a VLAN ID / VNI set by an administrator and no template pool to pick a new one; ask an administrator to create the copy`,
        );
      const picked = pickIds(tx, tpl);
      if (picked.exhausted) throw conflict(picked.exhausted);
      ids = { vlanId: picked.vlanId ?? src.vlanId, vni: picked.vni };
    }
    const admin = owner.role === "admin";
    const { id: _id, createdAt: _c, updatedAt: _u, ...copy } = src;
    const row = tx
      .insert(vnets)
      .values({
        ...copy,
        ...ids,
        name,
        bridge: `tmp-${crypto.randomUUID()}`,
        ownerId: owner.id,
        groupId: admin ? src.groupId : owner.primaryGroupId,
        perms: admin ? src.perms : 0o600,
        lockLevel: null,
      })
      .returning()
      .get();
    tx.update(vnets)
      .set({ bridge: `bhbr${row.id}` })
      .where(eq(vnets.id, row.id))
      .run();
    for (const ar of tx
      .select()
      .from(addressRanges)
      .where(eq(addressRanges.vnetId, id))
      .orderBy(asc(addressRanges.id))
      .all()) {
      const { id: _a, createdAt: _ac, vnetId: _v, ...arCopy } = ar;
      tx.insert(addressRanges)
        .values({ ...arCopy, vnetId: row.id, freeHint: 0 })
        .run();
    }
    const cl = tx.select().from(vnetClusters).where(eq(vnetClusters.vnetId, id)).all();
    if (cl.length)
      tx.insert(vnetClusters)
        .values(cl.map((c) => ({ ...c, vnetId: row.id })))
        .run();
    const sgs = tx.select().from(vnetSecurityGroups).where(eq(vnetSecurityGroups.vnetId, id)).all();
    if (sgs.length)
      tx.insert(vnetSecurityGroups)
        .values(sgs.map((s) => ({ ...s, vnetId: row.id })))
        .run();
    // Restricted overrides go through the one writer of them: cloud admins may, others only
    // restate what the copy already has.
    const fresh = tx.select().from(vnets).where(eq(vnets.id, row.id)).get()!;
    const { changed } = changeVnetConfig(
      tx,
      owner,
      { ...fresh, name: `${name} (a copy of ${src.name})` },
      overrides,
    );
    audit(tx, actor, {
      action: "vnet.clone",
      objectType: "vnet",
      objectId: row.id,
      objectName: name,
      detail: `from ${src.name} (#${src.id})${changed.length ? `; ${changed.join("; ")}` : ""}`,
    });
    const out = tx.select({ bridge: vnets.bridge }).from(vnets).where(eq(vnets.id, row.id)).get()!;
    return { id: row.id, name, bridge: out.bridge };
  });
}

/** Sets a VNET's labels (MANAGE): what NICs asking for any VNET can require. */
export function setLabels(app: App, actor: Actor, who: Subject, id: number, labels: string[]) {
  return mutate(app, (tx) => {
    const v = ownedFor(tx, "vnet", who, id, "manage", { doing: "change its labels" }) as Vnet;
    const clean = [...new Set(labels)];
    tx.update(vnets).set({ labels: clean }).where(eq(vnets.id, id)).run();
    audit(tx, actor, {
      action: "vnet.labels",
      objectType: "vnet",
      objectId: id,
      objectName: v.name,
      detail: clean.join(", ") || "(none)",
    });
    return { id, labels: clean };
  });
}

/** The caller's own VNETs with usage, their leases and the NICs using them (self-service). */
export function myVnets(app: App, who: Subject) {
  const rows = app.db.select().from(vnets).where(eq(vnets.ownerId, who.id)).orderBy(vnets.name).all();
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const ars = app.db.select().from(addressRanges).where(inArray(addressRanges.vnetId, ids)).all();
  const ls = app.db
    .select({
      vnetId: leases.vnetId,
      ip: leases.ip,
      ip6: leases.ip6,
      ip6Ula: leases.ip6Ula,
      mac: leases.mac,
      state: leases.state,
      reason: leases.reason,
      instance: instances.name,
      nicIdx: nics.idx,
    })
    .from(leases)
    .leftJoin(nics, eq(nics.id, leases.nicId))
    .leftJoin(instances, eq(instances.id, nics.instanceId))
    .where(inArray(leases.vnetId, ids))
    .orderBy(asc(leases.ipInt))
    .all();
  const parents = rows.filter((r) => r.parentVnetId !== null).map((r) => r.parentVnetId!);
  const parentNames = parents.length
    ? app.db.select({ id: vnets.id, name: vnets.name }).from(vnets).where(inArray(vnets.id, parents)).all()
    : [];
  const templates = app.db
    .select({ id: vnetTemplates.id, name: vnetTemplates.name })
    .from(vnetTemplates)
    .where(isNotNull(vnetTemplates.id))
    .all();
  return rows.map((v) => {
    const mine = ars.filter((a) => a.vnetId === v.id);
    const first = mine[0];
    return {
      id: v.id,
      name: v.name,
      description: v.description,
      driver: v.driver,
      vni: v.vni,
      vlanId: v.vlanId,
      subnet: v.context.subnet ?? null,
      gateway: v.context.gateway ?? null,
      firstIp: first?.ip ?? null,
      ipv6: mine.some((a) => a.ulaPrefix || a.globalPrefix || a.ip6),
      size: mine.reduce((n, a) => n + a.size, 0),
      leases: ls.filter((l) => l.vnetId === v.id),
      lockLevel: v.lockLevel,
      labels: v.labels,
      parent: parentNames.find((p) => p.id === v.parentVnetId)?.name ?? null,
      template: templates.find((t) => t.id === v.templateId)?.name ?? null,
      createdAt: v.createdAt,
      ...describeOwnership(app.db, who, v),
    };
  });
}
