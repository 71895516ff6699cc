// Instances (VMs / containers) and their NICs. Creating one allocates a lease per NIC and bumps
// the node's revision in the same transaction; the agent then creates the guest ports.
import { and, eq, inArray } from "drizzle-orm";
import type { z } from "zod";
import type { Tx } from "../../../db";
import { instances, leases, nics, nodes, vnets } from "../../../db/schema";
import type { Subject } from "../../../lib/permissions";
import type { instanceCreateInput, nicInput } from "../../../lib/schemas";
import { selectionSchema } from "../../../lib/tenancy";
import { tapDeviceName } from "../../../lib/wire";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { permitted } from "../../authz";
import { conflict, invalid, notFound } from "../../errors";
import { allocateLease, releaseNicLease } from "../leases/ipam";
import { vxlanNodesOf } from "../nodes/desired";
import { assertUnlocked } from "../ownership";
import { checkQuota } from "../quotas";
import { mutate } from "../revision";
import { selectVnet } from "./selection";

type CreateInstance = z.output<typeof instanceCreateInput>;
type NicIn = z.output<typeof nicInput>;
type Owner = Subject & { primaryGroupId: number };
type Node = typeof nodes.$inferSelect;

/** Creates NIC `idx` of instance `instanceId` on its VNET (picked when "auto") with a lease: the
 * requested IPv4 and/or IPv6 address if free, else the lowest free one. `field` prefixes errors. */
export function attachNic(
  tx: Tx,
  owner: Owner,
  node: Node,
  instanceId: number,
  idx: number,
  n: NicIn,
  field: string,
) {
  const vnet =
    n.vnetId === "auto"
      ? selectVnet(tx, owner, node, selectionSchema.parse(n.auto ?? {}), `${field}.vnetId`)
      : tx
          .select()
          .from(vnets)
          .where(and(eq(vnets.id, n.vnetId), permitted(vnets, owner, "use")))
          .get();
  if (!vnet) throw invalid(`VNET ${n.vnetId} not found`, `${field}.vnetId`);
  assertUnlocked("vnet", vnet, "use");
  // A routed port is a host veth with /32 routes and proxy ARP that the agent creates; a tap the
  // hypervisor creates is only ever plugged into a bridge.
  if (n.portKind === "tap" && vnet.driver === "routed")
    throw invalid(
      `VNET ${vnet.name} is routed: a hypervisor (tap) port needs a bridged VNET; use a lab guest port or another VNET`,
      `${field}.portKind`,
    );
  const nic = tx
    .insert(nics)
    .values({ instanceId, idx, vnetId: vnet.id, portKind: n.portKind })
    .returning()
    .get();
  const lease = leaseFor(tx, vnet, nic.id, owner.id, n, field);
  return {
    nicId: nic.id,
    vnetId: vnet.id,
    vnet: vnet.name,
    ip: lease.ip,
    ip6: lease.ip6,
    mac: lease.mac,
    portKind: n.portKind,
  };
}

/** The lease of a NIC: by requested IPv4, else requested IPv6, else the lowest free address; both
 * requested must be the same lease (one range offset holds both in a dual-stack range). */
function leaseFor(
  tx: Tx,
  vnet: typeof vnets.$inferSelect,
  nicId: number,
  userId: string,
  n: { ip?: string; ip6?: string },
  field: string,
) {
  const lease = allocateLease(tx, vnet, {
    ip: n.ip ?? n.ip6,
    nicId,
    userId,
    field: n.ip ? `${field}.ip` : n.ip6 ? `${field}.ip6` : `${field}.vnetId`,
  });
  if (n.ip && n.ip6 && lease.ip6 !== n.ip6)
    throw invalid(
      `${n.ip6} is not the IPv6 address that goes with ${n.ip} in VNET ${vnet.name} (${lease.ip6 ?? "none"}); request one of them`,
      `${field}.ip6`,
    );
  return lease;
}

/** Creates an instance on a node with NICs on VNETs the owner may USE. */
export function createInstance(app: App, actor: Actor, owner: Owner, input: CreateInstance) {
  return mutate(app, (tx, touch) => {
    if (tx.select({ id: instances.id }).from(instances).where(eq(instances.name, input.name)).get())
      throw conflict(`An instance named ${input.name} already exists; pick another name`, "name");
    const node = tx.select().from(nodes).where(eq(nodes.id, input.nodeId)).get();
    if (!node) throw invalid(`Node ${input.nodeId} does not exist`, "nodeId");
    if (node.revokedAt) throw invalid(`Node ${node.name} is revoked; enroll it again first`, "nodeId");
    checkQuota(tx, owner, { leases: input.nics.length });
    const inst = tx
      .insert(instances)
      .values({ name: input.name, ownerId: owner.id, groupId: owner.primaryGroupId, nodeId: node.id })
      .returning()
      .get();
    const created = input.nics.map((n, idx) => attachNic(tx, owner, node, inst.id, idx, n, `nics.${idx}`));
    touch([node.id]);
    // Other nodes on the same VXLAN VNETs gain this node as a peer.
    touch(
      vxlanNodesOf(
        tx,
        created.map((c) => c.vnetId),
      ),
    );
    audit(tx, actor, {
      action: "instance.create",
      objectType: "instance",
      objectId: inst.id,
      objectName: inst.name,
      detail: created.map((c) => `${c.vnet}:${c.ip}`).join(" "),
    });
    return { ...inst, nics: created };
  });
}

/** Instances the subject owns (admins: all), with their NICs' addresses; `only`: that one. */
export function listInstances(app: App, who: Subject, only?: number) {
  const rows = app.db
    .select({
      id: instances.id,
      name: instances.name,
      nodeId: instances.nodeId,
      nodeName: nodes.name,
      ownerId: instances.ownerId,
      createdAt: instances.createdAt,
    })
    .from(instances)
    .innerJoin(nodes, eq(nodes.id, instances.nodeId))
    .where(
      and(
        who.role === "admin" ? undefined : eq(instances.ownerId, who.id),
        only === undefined ? undefined : eq(instances.id, only),
      ),
    )
    .orderBy(instances.name)
    .all();
  if (rows.length === 0) return [];
  const nicRows = app.db
    .select({
      instanceId: nics.instanceId,
      nicId: nics.id,
      idx: nics.idx,
      vnetId: nics.vnetId,
      vnetName: vnets.name,
      ip: leases.ip,
      ip6: leases.ip6,
      mac: leases.mac,
      portKind: nics.portKind,
    })
    .from(nics)
    .innerJoin(vnets, eq(vnets.id, nics.vnetId))
    .leftJoin(leases, eq(leases.nicId, nics.id))
    .where(
      inArray(
        nics.instanceId,
        rows.map((r) => r.id),
      ),
    )
    .orderBy(nics.idx)
    .all();
  return rows.map((r) => ({
    ...r,
    nics: nicRows
      .filter((n) => n.instanceId === r.id)
      .map((n) => ({ ...n, dev: n.portKind === "tap" ? tapDeviceName(n.nicId) : null })),
  }));
}

/** What a NIC's port is on its node now, as the node's last report says. */
export type PortState = "applied" | "pending" | "error";

/** One instance the subject may see, with its node's sync state and each NIC's port state (from
 * the node's last report: the port's own error, or pending while the node has not applied the
 * revision that added it). */
export function getInstance(app: App, who: Subject, id: number) {
  const inst = listInstances(app, who, id)[0];
  if (!inst) throw notFound(`Instance ${id}`);
  const node = app.db
    .select({ desired: nodes.desiredRevision, report: nodes.report, credential: nodes.credentialHash })
    .from(nodes)
    .where(eq(nodes.id, inst.nodeId))
    .get()!;
  const report = node.report;
  const inSync = report !== null && report.revision === node.desired && report.ok;
  const portOf = new Map((report?.ports ?? []).map((p) => [p.nicId, p]));
  return {
    ...inst,
    node: {
      inSync,
      enrolled: node.credential !== null,
      reported: report !== null,
      appliedRevision: report?.revision ?? 0,
      desiredRevision: node.desired,
    },
    nics: inst.nics.map((n) => {
      const p = portOf.get(n.nicId);
      const state: PortState =
        p && !p.ok ? "error" : p && report?.revision === node.desired ? "applied" : "pending";
      return {
        ...n,
        state,
        error: p?.ok === false ? (p.error ?? "the node could not apply this port") : null,
      };
    }),
  };
}

/** Deletes an instance: releases its leases and bumps its node so the agent removes the ports. */
export function removeInstance(app: App, actor: Actor, who: Subject, id: number) {
  return mutate(app, (tx, touch) => {
    const inst = tx
      .select()
      .from(instances)
      .where(and(eq(instances.id, id), who.role === "admin" ? undefined : eq(instances.ownerId, who.id)))
      .get();
    if (!inst) throw notFound(`Instance ${id}`);
    const instNics = tx.select().from(nics).where(eq(nics.instanceId, id)).all();
    // Other nodes on the same VXLAN VNETs may lose this node as a peer.
    touch(
      vxlanNodesOf(
        tx,
        instNics.map((n) => n.vnetId),
      ),
    );
    for (const nic of instNics) releaseNicLease(tx, nic.id, id, actor.userId ?? "system");
    tx.delete(instances).where(eq(instances.id, id)).run();
    touch([inst.nodeId]);
    audit(tx, actor, {
      action: "instance.remove",
      objectType: "instance",
      objectId: id,
      objectName: inst.name,
    });
    return { id, name: inst.name };
  });
}
