// Changing a live VNET: configuration (driver, devices, VLAN ID / VNI, MTU, type, clusters), lock,
// guest context, QoS, and the per-NIC overrides of both. Every change bumps the nodes it touches.
import { and, eq, inArray } from "drizzle-orm";
import type { z } from "zod";
import type { Tx } from "../../../db";
import {
  addressRanges,
  clusters,
  instances,
  leases,
  nics,
  nodes,
  vnetClusters,
  vnets,
} from "../../../db/schema";
import {
  cloudInitNetworkConfig,
  contextVariables,
  gatewayNic,
  guestMtu,
  type NicContextInput,
  resolveContext,
} from "../../../lib/context";
import type { ContextAttrs, Qos } from "../../../lib/domain";
import type { Subject } from "../../../lib/permissions";
import {
  isRestrictedVnetAttr,
  RESTRICTED_VNET_ATTRS,
  type RestrictedVnetAttr,
  restrictedMessage,
} from "../../../lib/restricted";
import type { vnetUpdateInput } from "../../../lib/schemas";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { permitted } from "../../authz";
import { conflict, forbidden, invalid, notFound } from "../../errors";
import { assertUnlocked } from "../ownership";
import { mutate } from "../revision";
import { manageableVnet, nodesUsing } from "./ranges";
import { resolveVlan, resolveVni } from "./vnet-create";

type Update = z.output<typeof vnetUpdateInput>;
type Vnet = typeof vnets.$inferSelect;

/** Nodes in the VNET's clusters plus nodes with NICs on it: both may realise the network. */
function nodesOf(tx: Tx, vnetId: number): number[] {
  const inClusters = tx
    .select({ id: nodes.id })
    .from(nodes)
    .innerJoin(vnetClusters, eq(vnetClusters.clusterId, nodes.clusterId))
    .where(eq(vnetClusters.vnetId, vnetId))
    .all()
    .map((r) => r.id);
  return [...inClusters, ...nodesUsing(tx, vnetId)];
}

/** Edits a VNET's configuration; refuses what would break it, naming the field. */
export function updateVnet(app: App, actor: Actor, who: Subject, input: Update) {
  return mutate(app, (tx, touch) => {
    const v = manageableVnet(tx, who, input.id);
    assertUnlocked("vnet", v, "manage");
    touch(nodesOf(tx, v.id));
    const { changed, name } = changeVnetConfig(tx, who, v, input);
    touch(nodesOf(tx, v.id));
    audit(tx, actor, {
      action: "vnet.update",
      objectType: "vnet",
      objectId: v.id,
      objectName: name,
      detail: changed.join("; ") || "no change",
    });
    return { id: v.id, changed };
  });
}

/** Refuses a non-admin's change of a restricted attribute (the caller writes nothing then: every
 * caller runs this inside its transaction, before or instead of the write). */
function assertMayChange(who: Subject, v: Vnet, attr: RestrictedVnetAttr, value: unknown) {
  if (who.role === "admin") return;
  if (JSON.stringify(value ?? null) !== JSON.stringify((v as Record<string, unknown>)[attr] ?? null))
    throw forbidden(restrictedMessage("VNET", v.name, attr), attr);
}

/**
 * Applies a configuration change to VNET `v` in `tx` (the caller has checked MANAGE and the lock,
 * and audits): the one place that writes a live VNET's restricted attributes, so update, clone
 * and instantiate all refuse them for non-admins the same way. Returns what changed.
 */
export function changeVnetConfig(
  tx: Tx,
  who: Subject,
  v: Vnet,
  input: Omit<Update, "id"> & { clusterIds?: number[] },
) {
  const next: Partial<Vnet> = {};
  const changed: string[] = [];
  const set = <K extends keyof Vnet>(k: K, val: Vnet[K]) => {
    if (val !== v[k]) {
      if (isRestrictedVnetAttr(k)) assertMayChange(who, v, k, val);
      next[k] = val;
      changed.push(`${k}: ${String(v[k] ?? "—")} → ${String(val ?? "—")}`);
    }
  };
  // Asked-for restricted values first, in the list's order, before anything resolves them (a pool
  // pick, a clash with another VNET's ID) and could answer with something other than the refusal.
  if (who.role !== "admin")
    for (const attr of Object.keys(RESTRICTED_VNET_ATTRS) as RestrictedVnetAttr[]) {
      const asked = (input as Record<string, unknown>)[attr];
      if (asked === undefined) continue;
      // "auto" asks the pool for an ID: a change whatever it would pick.
      if (asked === "auto") throw forbidden(restrictedMessage("VNET", v.name, attr), attr);
      assertMayChange(who, v, attr, attr === "bridge" && asked === "" ? `bhbr${v.id}` : asked);
    }
  if (input.name !== undefined && input.name !== v.name) {
    const taken = tx.select({ id: vnets.id }).from(vnets).where(eq(vnets.name, input.name)).get();
    if (taken) throw conflict(`A VNET named ${input.name} already exists; pick another name`, "name");
    set("name", input.name);
  }
  if (input.description !== undefined) set("description", input.description);
  if (input.networkType !== undefined) set("networkType", input.networkType);
  if (input.mtu !== undefined) set("mtu", input.mtu);
  if (input.applyBridgeAddress !== undefined) set("applyBridgeAddress", input.applyBridgeAddress);
  if (input.antiSpoofing !== undefined) set("antiSpoofing", input.antiSpoofing);
  if (input.dhcpEnabled !== undefined) set("dhcpEnabled", input.dhcpEnabled);
  if (input.dnsDomain !== undefined) set("dnsDomain", input.dnsDomain);
  if (input.bridge !== undefined) {
    // Empty: back to the generated name, which is unique by construction (bhbr<id>).
    const bridge = input.bridge || `bhbr${v.id}`;
    const other = tx.select({ id: vnets.id }).from(vnets).where(eq(vnets.bridge, bridge)).get();
    if (other && other.id !== v.id)
      throw conflict(
        `Bridge ${bridge} is already used by another VNET; leave it empty to generate one`,
        "bridge",
      );
    set("bridge", bridge);
  }
  const driver = input.driver ?? v.driver;
  set("driver", driver);
  const phydev = input.phydev !== undefined ? input.phydev : v.phydev;
  set("phydev", phydev);
  if (driver === "vlan") {
    if (!phydev) throw invalid("The vlan driver needs a physical device", "phydev");
    const want = input.vlanId !== undefined ? input.vlanId : v.vlanId;
    if (want === null || want === undefined) throw invalid('Give a VLAN ID (1–4094) or "auto"', "vlanId");
    set("vlanId", resolveVlan(tx, want, phydev, v.id));
  } else set("vlanId", null);
  if (driver === "vxlan") {
    const want = input.vni !== undefined ? input.vni : v.vni;
    if (want === null || want === undefined) throw invalid('Give a VNI (1–16777215) or "auto"', "vni");
    set("vni", resolveVni(tx, want, v.id));
  } else set("vni", null);
  const effMtu = next.mtu ?? v.mtu;
  if (driver === "vxlan" && !v.context.guestMtu && effMtu - 50 < 576)
    throw invalid(`A VXLAN VNET's MTU must leave 576 bytes for guests (at least 626)`, "mtu");
  if (input.clusterIds) {
    const ids = [...new Set(input.clusterIds)];
    const known = tx.select({ id: clusters.id }).from(clusters).where(inArray(clusters.id, ids)).all();
    if (known.length !== ids.length) throw invalid("Unknown cluster", "clusterIds");
    const before = tx
      .select({ c: vnetClusters.clusterId })
      .from(vnetClusters)
      .where(eq(vnetClusters.vnetId, v.id))
      .all()
      .map((r) => r.c)
      .sort();
    if (before.join() !== [...ids].sort().join()) {
      tx.delete(vnetClusters).where(eq(vnetClusters.vnetId, v.id)).run();
      tx.insert(vnetClusters)
        .values(ids.map((clusterId) => ({ vnetId: v.id, clusterId })))
        .run();
      changed.push(`clusters: ${before.join(",")} → ${[...ids].sort().join(",")}`);
    }
  }
  if (Object.keys(next).length) tx.update(vnets).set(next).where(eq(vnets.id, v.id)).run();
  return { changed, name: next.name ?? v.name };
}

/** Locks a VNET at a level (use: everything, manage: changes and deletion, admin: deletion). */
export function setLock(app: App, actor: Actor, who: Subject, id: number, level: Vnet["lockLevel"]) {
  return mutate(app, (tx) => {
    const v = manageableVnet(tx, who, id);
    tx.update(vnets).set({ lockLevel: level }).where(eq(vnets.id, id)).run();
    audit(tx, actor, {
      action: level ? "vnet.lock" : "vnet.unlock",
      objectType: "vnet",
      objectId: id,
      objectName: v.name,
      detail: level ? `level ${level}` : undefined,
    });
    return { id, lockLevel: level };
  });
}

/** Replaces the VNET's guest context (the subnet is kept unless given). */
export function setVnetContext(app: App, actor: Actor, who: Subject, id: number, context: ContextAttrs) {
  return mutate(app, (tx, touch) => {
    const v = manageableVnet(tx, who, id);
    assertUnlocked("vnet", v, "manage");
    const clean = stripUndefined(context);
    tx.update(vnets).set({ context: clean }).where(eq(vnets.id, id)).run();
    touch(nodesUsing(tx, id));
    audit(tx, actor, {
      action: "vnet.context",
      objectType: "vnet",
      objectId: id,
      objectName: v.name,
      detail: JSON.stringify(clean),
    });
    return { id, context: clean };
  });
}

/** Replaces the VNET's QoS caps ({} = uncapped); NICs without their own override inherit them. */
export function setVnetQos(app: App, actor: Actor, who: Subject, id: number, qos: Qos) {
  return mutate(app, (tx, touch) => {
    const v = manageableVnet(tx, who, id);
    assertUnlocked("vnet", v, "manage");
    tx.update(vnets).set({ qos }).where(eq(vnets.id, id)).run();
    touch(nodesUsing(tx, id));
    audit(tx, actor, {
      action: "vnet.qos",
      objectType: "vnet",
      objectId: id,
      objectName: v.name,
      detail: Object.keys(qos).length ? JSON.stringify(qos) : "uncapped",
    });
    return { id, qos };
  });
}

/** A NIC whose VNET `who` may MANAGE (overrides are the network admin's call), with its instance. */
function manageableNic(tx: Tx, who: Subject, nicId: number) {
  const row = tx
    .select({ nic: nics, vnet: vnets, inst: instances })
    .from(nics)
    .innerJoin(vnets, eq(vnets.id, nics.vnetId))
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .where(and(eq(nics.id, nicId), permitted(vnets, who, "manage")))
    .get();
  if (!row) throw notFound(`NIC ${nicId}`);
  assertUnlocked("vnet", row.vnet, "manage");
  return row;
}

/** Sets or clears (null) a NIC's own QoS caps. */
export function setNicQos(app: App, actor: Actor, who: Subject, nicId: number, qos: Qos | null) {
  return mutate(app, (tx, touch) => {
    const { nic, vnet, inst } = manageableNic(tx, who, nicId);
    tx.update(nics).set({ qos }).where(eq(nics.id, nic.id)).run();
    touch([inst.nodeId]);
    audit(tx, actor, {
      action: "nic.qos",
      objectType: "vnet",
      objectId: vnet.id,
      objectName: vnet.name,
      detail: `${inst.name} eth${nic.idx}: ${qos === null ? "inherits the VNET" : JSON.stringify(qos)}`,
    });
    return { nicId, qos };
  });
}

/** Sets or clears (null) a NIC's own context overrides. */
export function setNicContext(
  app: App,
  actor: Actor,
  who: Subject,
  nicId: number,
  context: ContextAttrs | null,
) {
  return mutate(app, (tx, touch) => {
    const { nic, vnet, inst } = manageableNic(tx, who, nicId);
    const clean = context ? stripUndefined(context) : null;
    tx.update(nics).set({ context: clean }).where(eq(nics.id, nic.id)).run();
    touch([inst.nodeId]);
    audit(tx, actor, {
      action: "nic.context",
      objectType: "vnet",
      objectId: vnet.id,
      objectName: vnet.name,
      detail: `${inst.name} eth${nic.idx}: ${clean === null ? "inherits" : JSON.stringify(clean)}`,
    });
    return { nicId, context: clean };
  });
}

/** The NICs on a VNET with their effective QoS and guest context (resolved NIC > range > VNET),
 * including which NIC of each instance owns the default gateway. */
export function vnetNics(app: App, who: Subject, vnetId: number) {
  const vnet = app.db
    .select()
    .from(vnets)
    .where(and(eq(vnets.id, vnetId), permitted(vnets, who, "use")))
    .get();
  if (!vnet) throw notFound(`VNET ${vnetId}`);
  const instIds = app.db
    .selectDistinct({ id: nics.instanceId })
    .from(nics)
    .where(eq(nics.vnetId, vnetId))
    .all()
    .map((r) => r.id);
  if (!instIds.length) return [];
  // Every NIC of those instances: GATEWAY_IFACE is decided across an instance's NICs.
  const rows = app.db
    .select({ nic: nics, inst: instances, v: vnets, lease: leases, ar: addressRanges })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .innerJoin(vnets, eq(vnets.id, nics.vnetId))
    .leftJoin(leases, eq(leases.nicId, nics.id))
    .leftJoin(addressRanges, eq(addressRanges.id, leases.arId))
    .where(inArray(nics.instanceId, instIds))
    .orderBy(instances.name, nics.idx)
    .all();
  const resolved = rows.map((r) => ({
    ...r,
    context: resolveContext(r.v.context, r.ar?.context, r.nic.context),
  }));
  return resolved
    .filter((r) => r.v.id === vnetId)
    .map((r) => {
      const gw = gatewayNic(
        resolved.filter((x) => x.inst.id === r.inst.id).map((x) => ({ idx: x.nic.idx, context: x.context })),
      );
      const prefix = r.context.subnet ? Number(r.context.subnet.split("/")[1]) : (r.ar?.prefixLength ?? null);
      const ctx = { ...r.context, guestMtu: guestMtu(r.v, r.context) };
      return {
        nicId: r.nic.id,
        idx: r.nic.idx,
        instanceId: r.inst.id,
        instance: r.inst.name,
        ip: r.lease?.ip ?? null,
        ip6: r.lease?.ip6 ?? null,
        mac: r.lease?.mac ?? null,
        qosOverride: r.nic.qos,
        qos: r.nic.qos ?? r.v.qos,
        contextOverride: r.nic.context,
        ownsDefaultRoute: gw === r.nic.idx,
        /** cloud-init network-config (v2) of the NIC's whole instance. */
        cloudInit: cloudInitNetworkConfig(resolved.filter((x) => x.inst.id === r.inst.id).map(inputOf)),
        variables: contextVariables(
          {
            idx: r.nic.idx,
            mac: r.lease?.mac ?? "",
            ip: r.lease?.ip ?? null,
            ip6: r.lease?.ip6 ?? null,
            prefix,
            prefix6: r.ar?.prefixLength6 ?? null,
            context: ctx,
          },
          gw === r.nic.idx,
        ),
      };
    });
}

type NicRow = {
  nic: typeof nics.$inferSelect;
  v: Vnet;
  lease: typeof leases.$inferSelect | null;
  ar: typeof addressRanges.$inferSelect | null;
  context: ContextAttrs;
};

/** A NIC's guest context as the renderers take it (network-config, context variables). */
function inputOf(r: NicRow): NicContextInput {
  return {
    idx: r.nic.idx,
    mac: r.lease?.mac ?? "",
    ip: r.lease?.ip ?? null,
    ip6: r.lease?.ip6 ?? null,
    prefix: r.context.subnet ? Number(r.context.subnet.split("/")[1]) : (r.ar?.prefixLength ?? null),
    prefix6: r.ar?.prefixLength6 ?? null,
    context: { ...r.context, guestMtu: guestMtu(r.v, r.context) },
  };
}

/** Every NIC of one instance with its resolved guest context (NIC > range > VNET), by position:
 * what its cloud-init seed and context.sh are rendered from. The caller checks who may see it. */
export function instanceNicContexts(db: Tx | App["db"], instanceId: number): NicContextInput[] {
  return db
    .select({ nic: nics, v: vnets, lease: leases, ar: addressRanges })
    .from(nics)
    .innerJoin(vnets, eq(vnets.id, nics.vnetId))
    .leftJoin(leases, eq(leases.nicId, nics.id))
    .leftJoin(addressRanges, eq(addressRanges.id, leases.arId))
    .where(eq(nics.instanceId, instanceId))
    .orderBy(nics.idx)
    .all()
    .map((r) => inputOf({ ...r, context: resolveContext(r.v.context, r.ar?.context, r.nic.context) }));
}

/** JSON columns keep no undefined keys (they would read back as missing anyway). */
export function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
