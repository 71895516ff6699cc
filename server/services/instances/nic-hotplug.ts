// NIC hot-plug: add, change and remove NICs of an existing instance. Each change re-leases what it
// must in one transaction and bumps the instance's node (and the VXLAN peers of the VNETs
// involved), so the agent applies it live: a new port, a moved port, a port gone.
import { and, eq, max } from "drizzle-orm";
import type { z } from "zod";
import type { Tx } from "../../../db";
import { instances, leases, nics, nodes, vnets } from "../../../db/schema";
import type { Subject } from "../../../lib/permissions";
import type { nicAddInput, nicUpdateInput } from "../../../lib/schemas";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { permitted } from "../../authz";
import { conflict, invalid, notFound } from "../../errors";
import { allocateLease, releaseNicLease } from "../leases/ipam";
import { vxlanNodesOf } from "../nodes/desired";
import { assertUnlocked } from "../ownership";
import { checkQuota } from "../quotas";
import { mutate } from "../revision";
import { attachNic } from "./instances";

type Owner = Subject & { primaryGroupId: number };
/** At most this many NICs per instance (the create form's limit). */
const MAX_NICS = 8;

/** The instance `id` if `who` owns it (admins: any); otherwise NOT_FOUND. */
function ownInstance(tx: Tx, who: Subject, id: number) {
  const inst = tx
    .select()
    .from(instances)
    .where(and(eq(instances.id, id), who.role === "admin" ? undefined : eq(instances.ownerId, who.id)))
    .get();
  if (!inst) throw notFound(`Instance ${id}`);
  return inst;
}

/** The NIC `nicId` and its instance if `who` owns the instance; otherwise NOT_FOUND. */
function ownNic(tx: Tx, who: Subject, nicId: number) {
  const row = tx
    .select({ nic: nics, inst: instances })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .where(and(eq(nics.id, nicId), who.role === "admin" ? undefined : eq(instances.ownerId, who.id)))
    .get();
  if (!row) throw notFound(`NIC ${nicId}`);
  return row;
}

/** Adds a NIC to a running instance: the next guest interface (eth<n>), a lease on its VNET. */
export function addNic(app: App, actor: Actor, who: Owner, input: z.output<typeof nicAddInput>) {
  return mutate(app, (tx, touch) => {
    const inst = ownInstance(tx, who, input.instanceId);
    const node = tx.select().from(nodes).where(eq(nodes.id, inst.nodeId)).get();
    if (!node) throw notFound(`Node ${inst.nodeId}`);
    const last = tx
      .select({ idx: max(nics.idx) })
      .from(nics)
      .where(eq(nics.instanceId, inst.id))
      .get()?.idx;
    const idx = last === null || last === undefined ? 0 : last + 1;
    if (idx >= MAX_NICS)
      throw conflict(`Instance ${inst.name} already has ${MAX_NICS} NICs; remove one first`, "nic.vnetId");
    checkQuota(tx, who, { leases: 1 });
    const nic = attachNic(tx, who, node, inst.id, idx, input.nic, "nic");
    touch([inst.nodeId, ...vxlanNodesOf(tx, [nic.vnetId])]);
    audit(tx, actor, {
      action: "instance.nic.add",
      objectType: "instance",
      objectId: inst.id,
      objectName: inst.name,
      detail: `eth${idx} ${nic.vnet}:${nic.ip ?? nic.ip6 ?? nic.mac} ${nic.portKind}`,
    });
    return { ...nic, idx, instanceId: inst.id };
  });
}

/** Removes a NIC from a running instance: its lease is released and its port goes. */
export function removeNic(app: App, actor: Actor, who: Subject, nicId: number) {
  return mutate(app, (tx, touch) => {
    const { nic, inst } = ownNic(tx, who, nicId);
    // The VXLAN peers may lose this node (computed while the NIC still exists).
    touch([inst.nodeId, ...vxlanNodesOf(tx, [nic.vnetId])]);
    releaseNicLease(tx, nic.id, inst.id, actor.userId ?? "system");
    tx.delete(nics).where(eq(nics.id, nic.id)).run();
    audit(tx, actor, {
      action: "instance.nic.remove",
      objectType: "instance",
      objectId: inst.id,
      objectName: inst.name,
      detail: `eth${nic.idx} (NIC ${nic.id})`,
    });
    return { nicId: nic.id, instanceId: inst.id, instance: inst.name, idx: nic.idx };
  });
}

/** Changes a NIC: another VNET or requested address (a new lease; the old one is released first,
 * so the same address can be asked for again), or its port kind. */
export function updateNic(app: App, actor: Actor, who: Owner, input: z.output<typeof nicUpdateInput>) {
  return mutate(app, (tx, touch) => {
    const { nic, inst } = ownNic(tx, who, input.nicId);
    const vnetId = input.vnetId ?? nic.vnetId;
    const vnet = tx
      .select()
      .from(vnets)
      .where(and(eq(vnets.id, vnetId), permitted(vnets, who, "use")))
      .get();
    if (!vnet) throw invalid(`VNET ${vnetId} not found`, "vnetId");
    const portKind = input.portKind ?? nic.portKind;
    if (portKind === "tap" && vnet.driver === "routed")
      throw invalid(
        `VNET ${vnet.name} is routed: a hypervisor (tap) port needs a bridged VNET; use a lab guest port or another VNET`,
        "portKind",
      );
    const current = tx.select().from(leases).where(eq(leases.nicId, nic.id)).get();
    const releases =
      vnetId !== nic.vnetId ||
      (input.ip !== undefined && input.ip !== current?.ip) ||
      (input.ip6 !== undefined && input.ip6 !== current?.ip6);
    touch([inst.nodeId, ...vxlanNodesOf(tx, [nic.vnetId, vnetId])]);
    let lease = current;
    if (releases) {
      if (vnetId !== nic.vnetId) assertUnlocked("vnet", vnet, "use");
      releaseNicLease(tx, nic.id, inst.id, actor.userId ?? "system");
      tx.update(nics).set({ vnetId }).where(eq(nics.id, nic.id)).run();
      lease = allocateLease(tx, vnet, {
        ip: input.ip ?? input.ip6,
        nicId: nic.id,
        userId: who.id,
        field: input.ip ? "ip" : input.ip6 ? "ip6" : "vnetId",
      });
      if (input.ip && input.ip6 && lease.ip6 !== input.ip6)
        throw invalid(
          `${input.ip6} is not the IPv6 address that goes with ${input.ip} in VNET ${vnet.name} (${lease.ip6 ?? "none"}); request one of them`,
          "ip6",
        );
    }
    if (portKind !== nic.portKind) tx.update(nics).set({ portKind }).where(eq(nics.id, nic.id)).run();
    // The new VNET's other nodes gain this node as a VXLAN peer.
    touch(vxlanNodesOf(tx, [vnetId]));
    audit(tx, actor, {
      action: "instance.nic.update",
      objectType: "instance",
      objectId: inst.id,
      objectName: inst.name,
      detail: `eth${nic.idx} ${vnet.name}:${lease?.ip ?? lease?.ip6 ?? lease?.mac ?? "-"} ${portKind}`,
    });
    return {
      nicId: nic.id,
      instanceId: inst.id,
      idx: nic.idx,
      vnetId,
      vnet: vnet.name,
      ip: lease?.ip ?? null,
      ip6: lease?.ip6 ?? null,
      mac: lease?.mac ?? null,
      portKind,
    };
  });
}
