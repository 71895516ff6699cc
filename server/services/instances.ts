// Instances (VMs / containers) and their NICs. Creating one allocates a lease per NIC and bumps
// the node's revision in the same transaction; the agent then creates the guest ports.
import { and, eq, inArray } from "drizzle-orm";
import type { z } from "zod";
import { instances, leases, nics, nodes, vnets } from "../../db/schema";
import type { Subject } from "../../lib/permissions";
import type { instanceCreateInput } from "../../lib/schemas";
import { selectionSchema } from "../../lib/tenancy";
import type { App } from "../app";
import { type Actor, audit } from "../audit";
import { permitted } from "../authz";
import { conflict, invalid, notFound } from "../errors";
import { vxlanNodesOf } from "./desired";
import { allocateLease, releaseNicLease } from "./leases/ipam";
import { assertUnlocked } from "./ownership";
import { checkQuota } from "./quotas";
import { mutate } from "./revision";
import { selectVnet } from "./selection";

type CreateInstance = z.output<typeof instanceCreateInput>;
type Owner = Subject & { primaryGroupId: number };

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
    const created = input.nics.map((n, idx) => {
      const field = `nics.${idx}`;
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
      const nic = tx.insert(nics).values({ instanceId: inst.id, idx, vnetId: vnet.id }).returning().get();
      const lease = allocateLease(tx, vnet, {
        ip: n.ip,
        nicId: nic.id,
        userId: owner.id,
        field: n.ip ? `${field}.ip` : `${field}.vnetId`,
      });
      return { nicId: nic.id, vnetId: vnet.id, vnet: vnet.name, ip: lease.ip, mac: lease.mac };
    });
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

/** Instances the subject owns (admins: all), with their NICs' addresses. */
export function listInstances(app: App, who: Subject) {
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
    .where(who.role === "admin" ? undefined : eq(instances.ownerId, who.id))
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
      mac: leases.mac,
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
  return rows.map((r) => ({ ...r, nics: nicRows.filter((n) => n.instanceId === r.id) }));
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
