// The per-NIC security-group tools: the compiled policy of one NIC (the SG editor's preview) and
// which rule decides a given connection (explain), both from sg-policy.ts, the agent's input.
import { and, eq, inArray } from "drizzle-orm";
import { snapshot, type Tx } from "../../../db";
import { instances, nics, securityGroups, vnets } from "../../../db/schema";
import type { Subject } from "../../../lib/permissions";
import { explain, type Probe } from "../../../lib/sg";
import type { App } from "../../app";
import { permitted } from "../../authz";
import { notFound } from "../../errors";
import { DEFAULT_SG, nicPolicy, rulesOf } from "./sg-policy";

/** A NIC the caller may USE (through its VNET), or NOT_FOUND. */
function usableNic(tx: Tx, who: Subject, nicId: number) {
  const nic = tx
    .select({ id: nics.id, idx: nics.idx, instanceName: instances.name, vnetName: vnets.name })
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
