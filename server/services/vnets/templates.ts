// VNET templates: admins set the physical attributes once; end users instantiate them into VNETs
// of their own (name, size, optional first address, IPv6, QoS tier), never seeing a VLAN ID or a
// physical device. VLAN IDs and VNIs come from the template's pool without collisions (the pick
// runs inside the IMMEDIATE transaction; VNIs are also unique in the database).
import crypto from "node:crypto";
import { and, eq, inArray, isNotNull } from "drizzle-orm";
import type { z } from "zod";
import { type Db, snapshot, type Tx } from "../../../db";
import {
  addressRanges,
  clusters,
  groups,
  securityGroups,
  vnetSecurityGroups,
  vnets,
  vnetTemplates,
} from "../../../db/schema";
import type { Subject } from "../../../lib/permissions";
import { changedKeys, RESTRICTED_TEMPLATE_ATTRS, restrictedMessage } from "../../../lib/restricted";
import type { VnetRestrictedInput } from "../../../lib/schemas";
import {
  type AddressPlan,
  type instantiateInput,
  pickFromPool,
  planAddresses,
  randomUla64,
  type TemplateAttrs,
  type templateAllocateInput,
} from "../../../lib/templates";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { permitted } from "../../authz";
import { conflict, forbidden, invalid } from "../../errors";
import { assertNameFree, describeOwnership, type Owner, ownedFor } from "../ownership";
import { checkQuota, quotaOf } from "../quotas";
import { mutate } from "../revision";
import { changeVnetConfig } from "./vnet-config";
import { insertVnet } from "./vnet-create";

type Template = typeof vnetTemplates.$inferSelect;
type Allocate = z.output<typeof templateAllocateInput> & { groupId?: number; perms?: number };

/** Templates `who` may USE, with owner, group and the caller's levels. */
export function listTemplates(app: App, who: Subject) {
  return app.db
    .select()
    .from(vnetTemplates)
    .where(permitted(vnetTemplates, who, "use"))
    .orderBy(vnetTemplates.name)
    .all()
    .map((t) => ({ ...t, ...describeOwnership(app.db, who, t) }));
}

/** One template (USE), NOT_FOUND otherwise. */
export function getTemplate(app: App, who: Subject, id: number) {
  const t = ownedFor(app.db, "template", who, id, "use", { ignoreLock: true }) as Template;
  const vnetCount = app.db.select({ id: vnets.id }).from(vnets).where(eq(vnets.templateId, id)).all().length;
  return { ...t, ...describeOwnership(app.db, who, t), vnetCount };
}

/** Clusters must exist; security groups must exist and be usable by the caller. */
function checkReferences(tx: Tx, who: Subject, attrs: TemplateAttrs) {
  const known = tx
    .select({ id: clusters.id })
    .from(clusters)
    .where(inArray(clusters.id, attrs.clusterIds))
    .all();
  if (known.length !== new Set(attrs.clusterIds).size) throw invalid("Unknown cluster", "attrs.clusterIds");
  const sgs = tx
    .select({ id: securityGroups.id })
    .from(securityGroups)
    .where(
      and(
        inArray(securityGroups.id, attrs.securityGroupIds.length ? attrs.securityGroupIds : [-1]),
        permitted(securityGroups, who, "use"),
      ),
    )
    .all();
  if (sgs.length !== new Set(attrs.securityGroupIds).size)
    throw invalid("Unknown security group, or one you may not use", "attrs.securityGroupIds");
}

/** Creates a template (cloud admins): owned by the caller, shared with `groupId` at `perms`. */
export function allocateTemplate(app: App, actor: Actor, owner: Owner, input: Allocate) {
  return mutate(app, (tx) => {
    assertNameFree(tx, "template", input.name);
    checkReferences(tx, owner, input.attrs);
    if (
      input.groupId !== undefined &&
      !tx.select({ id: groups.id }).from(groups).where(eq(groups.id, input.groupId)).get()
    )
      throw invalid(`Group ${input.groupId} does not exist; pick one from the Groups page`, "groupId");
    const row = tx
      .insert(vnetTemplates)
      .values({
        name: input.name,
        description: input.description,
        ownerId: owner.id,
        groupId: input.groupId ?? owner.primaryGroupId,
        perms: input.perms ?? 0o640,
        attrs: input.attrs,
      })
      .returning()
      .get();
    audit(tx, actor, {
      action: "template.allocate",
      objectType: "template",
      objectId: row.id,
      objectName: row.name,
    });
    return row;
  });
}

/** Updates name, description and attributes: MANAGE, and the cloud-admin role when a restricted
 * attribute (driver, network type, physical device, VLAN/VNI pool, MTU) changes: an ADMIN bit on
 * the template is not enough, since VNETs made from it get these on real NICs. */
export function updateTemplate(
  app: App,
  actor: Actor,
  who: Subject,
  input: z.output<typeof templateAllocateInput> & { id: number },
) {
  return mutate(app, (tx) => {
    const t = ownedFor(tx, "template", who, input.id, "manage", { doing: "change it" }) as Template;
    const changed = changedKeys(
      Object.keys(RESTRICTED_TEMPLATE_ATTRS) as (keyof typeof RESTRICTED_TEMPLATE_ATTRS)[],
      t.attrs as Record<string, unknown>,
      input.attrs as Record<string, unknown>,
    );
    if (changed.length && who.role !== "admin")
      throw forbidden(restrictedMessage("template", t.name, changed[0]!), `attrs.${changed[0]}`);
    assertNameFree(tx, "template", input.name, t.id);
    checkReferences(tx, who, input.attrs);
    tx.update(vnetTemplates)
      .set({ name: input.name, description: input.description, attrs: input.attrs })
      .where(eq(vnetTemplates.id, t.id))
      .run();
    audit(tx, actor, {
      action: "template.update",
      objectType: "template",
      objectId: t.id,
      objectName: input.name,
      detail: changed.length ? `restricted: ${changed.join(", ")}` : undefined,
    });
    return { id: t.id, name: input.name };
  });
}

/** Deletes a template (MANAGE); VNETs made from it stay. */
export function removeTemplate(app: App, actor: Actor, who: Subject, id: number) {
  return mutate(app, (tx) => {
    const t = ownedFor(tx, "template", who, id, "manage", { doing: "delete it" });
    tx.update(vnets).set({ templateId: null }).where(eq(vnets.templateId, id)).run();
    tx.delete(vnetTemplates).where(eq(vnetTemplates.id, id)).run();
    audit(tx, actor, { action: "template.delete", objectType: "template", objectId: id, objectName: t.name });
    return { id, name: t.name };
  });
}

/** Copies a template (USE). Admins keep the source's group and permissions; others get a private
 * copy in their primary group. */
export function cloneTemplate(app: App, actor: Actor, owner: Owner, id: number, name: string) {
  return mutate(app, (tx) => {
    const t = ownedFor(tx, "template", owner, id, "use", { doing: "clone it" }) as Template;
    assertNameFree(tx, "template", name);
    const admin = owner.role === "admin";
    const row = tx
      .insert(vnetTemplates)
      .values({
        name,
        description: t.description,
        ownerId: owner.id,
        groupId: admin ? t.groupId : owner.primaryGroupId,
        perms: admin ? t.perms : 0o600,
        attrs: t.attrs,
      })
      .returning()
      .get();
    audit(tx, actor, {
      action: "template.clone",
      objectType: "template",
      objectId: row.id,
      objectName: name,
      detail: `from ${t.name} (#${t.id})`,
    });
    return row;
  });
}

const poolText = (kind: "VLAN ID" | "VNI", p: { from: number; to: number }) =>
  `${kind} pool ${p.from}–${p.to}`;

/** The VLAN ID and VNI a VNET from `t` gets now: lowest free in the template's pools. */
export function pickIds(
  tx: Tx | Db,
  t: Template,
): { vlanId: number | null; vni: number | null; exhausted?: string } {
  const a = t.attrs;
  let vlanId: number | null = null;
  let vni: number | null = null;
  if (a.vniPool) {
    const used = tx
      .select({ v: vnets.vni })
      .from(vnets)
      .where(isNotNull(vnets.vni))
      .all()
      .map((r) => r.v!);
    vni = pickFromPool(a.vniPool, used);
    if (vni === null) {
      const n = a.vniPool.to - a.vniPool.from + 1;
      return {
        vlanId,
        vni,
        exhausted: `${poolText("VNI", a.vniPool)} of template ${t.name} is exhausted (${n} of ${n} in use); ask an administrator to widen the pool or free a VNET made from it`,
      };
    }
  }
  if (a.vlanPool) {
    const used = tx
      .select({ v: vnets.vlanId })
      .from(vnets)
      .where(and(isNotNull(vnets.vlanId), a.phydev ? eq(vnets.phydev, a.phydev) : undefined))
      .all()
      .map((r) => r.v!);
    vlanId = pickFromPool(a.vlanPool, used);
    if (vlanId === null) {
      const n = a.vlanPool.to - a.vlanPool.from + 1;
      return {
        vlanId,
        vni,
        exhausted: `${poolText("VLAN ID", a.vlanPool)} of template ${t.name} is exhausted (${n} of ${n} in use); ask an administrator to widen the pool or free a VNET made from it`,
      };
    }
  }
  return { vlanId, vni };
}

type Problem = { field?: string; message: string };

/** Checks the user's inputs against the template; the plan or the problems (with their field). */
function check(t: Template, input: z.output<typeof instantiateInput>) {
  const problems: Problem[] = [];
  const plan = planAddresses(t.attrs, input.size, input.firstIp);
  if ("error" in plan) problems.push({ field: plan.field, message: plan.error });
  if (input.ipv6 && !t.attrs.allowIpv6)
    problems.push({ field: "ipv6", message: `Template ${t.name} does not offer IPv6` });
  const tier = input.qosTier ? t.attrs.qosTiers.find((q) => q.name === input.qosTier) : undefined;
  if (input.qosTier && !tier)
    problems.push({ field: "qosTier", message: `Template ${t.name} has no QoS tier ${input.qosTier}` });
  return { plan: "error" in plan ? null : plan, qos: tier?.qos ?? t.attrs.qos ?? {}, problems };
}

/** What instantiating would create, without creating it: addresses, the VLAN/VNI the pool would
 * give now, the resulting VNET's attributes, and any problem (invalid input, pool, quota). */
export function previewInstantiate(app: App, owner: Owner, input: z.output<typeof instantiateInput>) {
  return snapshot(app.db, (tx) => {
    const t = ownedFor(tx, "template", owner, input.templateId, "use", {
      doing: "instantiate it",
    }) as Template;
    const { plan, qos, problems } = check(t, input);
    const ids = pickIds(tx, t);
    if (ids.exhausted) problems.push({ message: ids.exhausted });
    try {
      checkQuota(tx, owner, { vnets: 1 });
    } catch (e) {
      problems.push({ message: (e as Error).message });
    }
    const clusterNames = tx
      .select({ name: clusters.name })
      .from(clusters)
      .where(inArray(clusters.id, t.attrs.clusterIds))
      .all()
      .map((c) => c.name);
    return {
      ok: problems.length === 0,
      problems,
      plan,
      vnet: {
        name: input.name,
        driver: t.attrs.driver,
        networkType: t.attrs.networkType,
        mtu: t.attrs.mtu ?? 1500,
        vlanId: ids.vlanId,
        vni: ids.vni,
        pool: t.attrs.vniPool
          ? poolText("VNI", t.attrs.vniPool)
          : t.attrs.vlanPool
            ? poolText("VLAN ID", t.attrs.vlanPool)
            : null,
        clusters: clusterNames,
        qos,
        ipv6: input.ipv6,
        labels: t.attrs.labels,
      },
      quota: quotaOf(app, { type: "user", id: owner.id }),
    };
  });
}

/** Creates a VNET of the caller's own from a template they may USE. */
export function instantiate(
  app: App,
  actor: Actor,
  owner: Owner & { username?: string },
  input: z.output<typeof instantiateInput> & VnetRestrictedInput,
) {
  return mutate(app, (tx) => {
    const t = ownedFor(tx, "template", owner, input.templateId, "use", {
      doing: "instantiate it",
    }) as Template;
    const { plan, qos, problems } = check(t, input);
    if (problems.length) throw invalid(problems[0]!.message, problems[0]!.field);
    const p = plan as AddressPlan;
    checkQuota(tx, owner, { vnets: 1 });
    const ids = pickIds(tx, t);
    if (ids.exhausted) throw conflict(ids.exhausted);
    const a = t.attrs;
    const v = insertVnet(
      tx,
      actor,
      owner,
      {
        name: input.name,
        description: input.description || `From template ${t.name}`,
        networkType: a.networkType,
        bridge: undefined,
        mtu: a.mtu ?? 1500,
        subnet: p.subnet,
        gateway: p.gateway,
        dns: a.context?.dns ?? [],
        firstIp: p.firstIp,
        size: p.size,
        clusterIds: a.clusterIds,
        // Physical attributes are set right below from the template / parent, in this transaction.
        driver: "bridge",
        phydev: undefined,
        globalPrefix: undefined,
        ulaPrefix: undefined,
        gateway6: undefined,
      },
      "warn",
    );
    tx.update(vnets)
      .set({
        driver: a.driver,
        phydev: a.phydev ?? null,
        vlanId: ids.vlanId,
        vni: ids.vni,
        qos,
        labels: a.labels,
        templateId: t.id,
        context: { ...a.context, subnet: p.subnet, gateway: p.gateway },
      })
      .where(eq(vnets.id, v.id))
      .run();
    // Restricted overrides go through the one writer of them: cloud admins may, others only
    // restate what the template gives (its values are an admin's).
    const made = tx.select().from(vnets).where(eq(vnets.id, v.id)).get()!;
    const {
      templateId: _t,
      name: _n,
      description: _d,
      size: _s,
      firstIp: _f,
      ipv6: _i,
      qosTier: _q,
      ...overrides
    } = input;
    const { changed } = changeVnetConfig(
      tx,
      owner,
      { ...made, name: `${made.name} (made from template ${t.name})` },
      overrides,
    );
    if (JSON.stringify(a.securityGroupIds) !== "[0]") {
      tx.delete(vnetSecurityGroups).where(eq(vnetSecurityGroups.vnetId, v.id)).run();
      if (a.securityGroupIds.length)
        tx.insert(vnetSecurityGroups)
          .values(a.securityGroupIds.map((sgId) => ({ vnetId: v.id, sgId })))
          .run();
    }
    if (input.ipv6)
      tx.update(addressRanges)
        .set({ type: "ip4_6", ulaPrefix: randomUla64((n) => crypto.randomBytes(n)) })
        .where(eq(addressRanges.vnetId, v.id))
        .run();
    audit(tx, actor, {
      action: "template.instantiate",
      objectType: "template",
      objectId: t.id,
      objectName: t.name,
      detail: `VNET ${v.name} (#${v.id}) ${p.firstIp}–${p.lastIp}${ids.vni ? ` VNI ${ids.vni}` : ""}${ids.vlanId ? ` VLAN ${ids.vlanId}` : ""}${changed.length ? `; ${changed.join("; ")}` : ""}`,
    });
    const after = tx
      .select({ vni: vnets.vni, vlanId: vnets.vlanId })
      .from(vnets)
      .where(eq(vnets.id, v.id))
      .get()!;
    return { id: v.id, name: v.name, vni: after.vni, vlanId: after.vlanId, ...p };
  });
}
