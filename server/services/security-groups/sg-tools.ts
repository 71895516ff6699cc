// The per-NIC security-group tools: the compiled policy of one NIC (the SG editor's preview), which
// rule decides a given connection (explain), and every check a connection from one NIC to another
// meets (explain A→B), all from sg-policy.ts, the agent's input.
import { and, eq, inArray, or } from "drizzle-orm";
import { snapshot, type Tx } from "../../../db";
import { instances, leases, nics, securityGroups, vnetPeerings, vnets } from "../../../db/schema";
import type { Subject } from "../../../lib/permissions";
import { explain, explainPath, type PathNic, type Probe } from "../../../lib/sg";
import type { App } from "../../app";
import { permitted } from "../../authz";
import { notFound } from "../../errors";
import { DEFAULT_SG, nicPolicy, rulesOf } from "./sg-policy";

/** A NIC the caller may USE (through its VNET), or NOT_FOUND. */
function usableNic(tx: Tx, who: Subject, nicId: number) {
  const nic = tx
    .select({
      id: nics.id,
      idx: nics.idx,
      instanceName: instances.name,
      vnetId: vnets.id,
      vnetName: vnets.name,
      antiSpoofing: vnets.antiSpoofing,
    })
    .from(nics)
    .innerJoin(vnets, eq(vnets.id, nics.vnetId))
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .where(and(eq(nics.id, nicId), permitted(vnets, who, "use")))
    .get();
  if (!nic) throw notFound(`NIC ${nicId}`);
  return nic;
}

const groupNames = (tx: Tx, sgIds: number[]) =>
  new Map(
    tx
      .select({ id: securityGroups.id, name: securityGroups.name })
      .from(securityGroups)
      .where(inArray(securityGroups.id, sgIds.length ? sgIds : [-1]))
      .all()
      .map((r) => [r.id, r.name]),
  );

/** A NIC's compiled policy (what its node renders into nftables), with rule positions and group names. */
export function previewNic(app: App, who: Subject, nicId: number) {
  return snapshot(app.db, (tx) => {
    const nic = usableNic(tx, who, nicId);
    const policy = nicPolicy(tx, nic.id);
    const names = groupNames(tx, policy.sgIds);
    const positions = new Map(
      rulesOf(tx, policy.sgIds).map((r, _i, all) => [
        r.id,
        all.filter((o) => o.sgId === r.sgId).findIndex((o) => o.id === r.id) + 1,
      ]),
    );
    return {
      nic: { id: nic.id, name: `${nic.instanceName} eth${nic.idx}`, vnetName: nic.vnetName },
      allowAll: policy.allowAll,
      groups: policy.sgIds.map((id) => ({ id, name: names.get(id) ?? String(id) })),
      rules: policy.rules.map((r) => ({
        ...r,
        sgName: names.get(r.sgId) ?? String(r.sgId),
        position: positions.get(r.ruleId) ?? 0,
      })),
    };
  });
}

/** Which rule of a NIC's effective policy decides a new connection (USE on the NIC's VNET). */
export function explainNic(app: App, who: Subject, input: { nicId: number; probe: Probe }) {
  return snapshot(app.db, (tx) => {
    const nic = usableNic(tx, who, input.nicId);
    const policy = nicPolicy(tx, nic.id);
    const names = groupNames(tx, policy.sgIds);
    const v = explain(policy, input.probe);
    const position =
      v.by === "rule" ? rulesOf(tx, [v.sgId]).findIndex((r) => r.id === v.ruleId) + 1 : undefined;
    return {
      ...v,
      sgName: v.by === "rule" ? names.get(v.sgId) : v.by === "default-sg" ? names.get(DEFAULT_SG) : undefined,
      position,
      groups: policy.sgIds.map((id) => ({ id, name: names.get(id) ?? String(id) })),
    };
  });
}

/** A NIC as one end of a path: its addresses (the leases anti-spoofing allows) and its policy. */
function pathNic(tx: Tx, who: Subject, nicId: number): PathNic & { groups: { id: number; name: string }[] } {
  const nic = usableNic(tx, who, nicId);
  const leased = tx
    .select({ ip: leases.ip, ip6: leases.ip6 })
    .from(leases)
    .where(eq(leases.nicId, nic.id))
    .all();
  const policy = nicPolicy(tx, nic.id);
  const names = groupNames(tx, policy.sgIds);
  const ip4 = leased.find((l) => l.ip)?.ip ?? undefined;
  const ip6 = leased.find((l) => l.ip6)?.ip6 ?? undefined;
  return {
    nicId: nic.id,
    name: `${nic.instanceName} eth${nic.idx}`,
    vnetId: nic.vnetId,
    vnetName: nic.vnetName,
    ...(ip4 ? { ip4 } : {}),
    ...(ip6 ? { ip6 } : {}),
    antiSpoofing: nic.antiSpoofing,
    policy,
    groups: policy.sgIds.map((id) => ({ id, name: names.get(id) ?? String(id) })),
  };
}

/** Explain A→B: every check a new connection from one NIC to another (or to an outside address)
 * meets on the node, and the one that decides (USE on both NICs' VNETs). */
export function explainNicPath(
  app: App,
  who: Subject,
  input: {
    fromNicId: number;
    toNicId?: number;
    toAddress?: string;
    family?: "ip4" | "ip6";
    protocol: Probe["protocol"];
    port?: number;
    icmpType?: number;
  },
) {
  return snapshot(app.db, (tx) => {
    const from = pathNic(tx, who, input.fromNicId);
    const to = input.toNicId !== undefined ? pathNic(tx, who, input.toNicId) : null;
    const peered =
      !!to &&
      to.vnetId !== from.vnetId &&
      !!tx
        .select({ id: vnetPeerings.id })
        .from(vnetPeerings)
        .where(
          and(
            eq(vnetPeerings.state, "active"),
            or(
              and(eq(vnetPeerings.vnetA, from.vnetId), eq(vnetPeerings.vnetB, to.vnetId)),
              and(eq(vnetPeerings.vnetA, to.vnetId), eq(vnetPeerings.vnetB, from.vnetId)),
            ),
          ),
        )
        .get();
    const l4 = { protocol: input.protocol, port: input.port, icmpType: input.icmpType };
    const result = explainPath(from, to ?? { address: input.toAddress! }, l4, {
      family: input.family,
      peered,
    });
    // Name the deciding rule of each group step (group and position), as explain does for one NIC.
    const ends = new Map([[from.nicId, from], ...(to ? [[to.nicId, to] as const] : [])]);
    const named = result.steps.map((step) => {
      if (!("nicId" in step)) return step;
      const end = ends.get(step.nicId)!;
      const v = step.verdict;
      const sgName =
        v.by === "rule"
          ? end.groups.find((g) => g.id === v.sgId)?.name
          : v.by === "default-sg"
            ? (groupNames(tx, [DEFAULT_SG]).get(DEFAULT_SG) ?? "default")
            : undefined;
      const position =
        v.by === "rule" ? rulesOf(tx, [v.sgId]).findIndex((r) => r.id === v.ruleId) + 1 : undefined;
      return { ...step, nicName: end.name, groups: end.groups, sgName, position };
    });
    return {
      ...result,
      steps: named,
      from: { nicId: from.nicId, name: from.name, vnetId: from.vnetId, vnetName: from.vnetName },
      to: to
        ? { nicId: to.nicId, name: to.name, vnetId: to.vnetId, vnetName: to.vnetName }
        : { address: input.toAddress! },
    };
  });
}
