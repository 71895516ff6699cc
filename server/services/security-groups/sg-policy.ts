// A NIC's security policy as the database holds it: the groups in force on it (its VNET's plus its
// own), their rules in order with NETWORK_ID resolved to that VNET's leases, compiled by lib/sg.ts
// into the form the agent renders into nftables and the explain tool evaluates; and which nodes
// host NICs under given groups, with the revision stamp a group change rolls out at.
import { and, asc, eq, inArray } from "drizzle-orm";
import type { Tx } from "../../../db";
import {
  counters,
  instances,
  leases,
  nicSecurityGroups,
  nics,
  securityGroups,
  sgRules,
  vnetSecurityGroups,
} from "../../../db/schema";
import { ip4ToInt } from "../../../lib/domain";
import { ip6ToBig } from "../../../lib/ipam";
import {
  type AddrSpan,
  compileRule,
  type NetworkAddrs,
  type NicPolicy,
  ruleToWire,
  type StoredRule,
} from "../../../lib/sg";
import type { DesiredSecurityGroup } from "../../../lib/wire";

/** The built-in group that allows everything both ways; a network that has it is not filtered. */
export const DEFAULT_SG = 0;

/** Rules of groups, in order, as the compiler takes them. */
export function rulesOf(tx: Tx, sgIds: number[]): StoredRule[] {
  if (sgIds.length === 0) return [];
  return tx
    .select()
    .from(sgRules)
    .where(inArray(sgRules.sgId, sgIds))
    .orderBy(asc(sgRules.sgId), asc(sgRules.position))
    .all()
    .map((r) => ({
      id: r.id,
      sgId: r.sgId,
      protocol: r.protocol,
      direction: r.direction,
      ip: r.ip ?? undefined,
      size: r.size ?? undefined,
      range: r.range ?? undefined,
      icmpType: r.icmpType ?? undefined,
      networkId: r.networkId ?? undefined,
    }));
}

/** The addresses a NETWORK_ID rule stands for: every lease of that VNET (used or held). */
export function networkAddrs(tx: Tx, vnetIds: number[]): Map<number, NetworkAddrs> {
  const out = new Map<number, NetworkAddrs>();
  if (vnetIds.length === 0) return out;
  for (const id of vnetIds) out.set(id, { ip4: [], ip6: [] });
  const rows = tx
    .select({ vnetId: leases.vnetId, ip: leases.ip, ip6: leases.ip6 })
    .from(leases)
    .where(inArray(leases.vnetId, vnetIds))
    .all();
  for (const r of rows) {
    const n = out.get(r.vnetId)!;
    if (r.ip) {
      const v = BigInt(ip4ToInt(r.ip));
      n.ip4.push([v, v] as AddrSpan);
    }
    if (r.ip6) {
      const v = ip6ToBig(r.ip6);
      n.ip6.push([v, v] as AddrSpan);
    }
  }
  return out;
}

/** Security groups in force on a NIC: its VNET's plus its own. */
export function nicSgIds(tx: Tx, nicId: number): number[] {
  const nic = tx.select({ vnetId: nics.vnetId }).from(nics).where(eq(nics.id, nicId)).get();
  if (!nic) return [];
  const viaVnet = tx
    .select({ sgId: vnetSecurityGroups.sgId })
    .from(vnetSecurityGroups)
    .where(eq(vnetSecurityGroups.vnetId, nic.vnetId))
    .all();
  const own = tx
    .select({ sgId: nicSecurityGroups.sgId })
    .from(nicSecurityGroups)
    .where(eq(nicSecurityGroups.nicId, nicId))
    .all();
  return [...new Set([...viaVnet, ...own].map((r) => r.sgId))].sort((a, b) => a - b);
}

/** A NIC's effective, compiled policy (the union of its groups). */
export function nicPolicy(tx: Tx, nicId: number): NicPolicy {
  const sgIds = nicSgIds(tx, nicId);
  const rules = rulesOf(tx, sgIds);
  const nets = networkAddrs(tx, [
    ...new Set(rules.map((r) => r.networkId).filter((x): x is number => x !== undefined)),
  ]);
  return {
    allowAll: sgIds.includes(DEFAULT_SG),
    sgIds,
    rules: rules.map((r) => compileRule(r, nets)),
  };
}

/** The groups' rules as nodes receive them (the default group needs none), NETWORK_ID resolved. */
export function wireGroups(tx: Tx, sgIds: number[]): DesiredSecurityGroup[] {
  const ids = [...new Set(sgIds)].filter((id) => id !== DEFAULT_SG).sort((a, b) => a - b);
  if (ids.length === 0) return [];
  const rules = rulesOf(tx, ids);
  const nets = networkAddrs(tx, [
    ...new Set(rules.map((r) => r.networkId).filter((x): x is number => x !== undefined)),
  ]);
  return ids.map((sgId) => ({
    sgId,
    rules: rules
      .filter((r) => r.sgId === sgId)
      .map((r) => ruleToWire(r, nets))
      .filter((r) => r !== null),
  }));
}

/** Groups attached to a VNET (for every port of it on the wire). */
export function vnetSgIds(tx: Tx, vnetId: number): number[] {
  return tx
    .select({ sgId: vnetSecurityGroups.sgId })
    .from(vnetSecurityGroups)
    .where(eq(vnetSecurityGroups.vnetId, vnetId))
    .all()
    .map((r) => r.sgId)
    .sort((a, b) => a - b);
}

/** The nodes hosting a NIC that any of `sgIds` applies to (through its VNET or directly). */
export function nodesUsingGroups(tx: Tx, sgIds: number[]): number[] {
  if (sgIds.length === 0) return [];
  const viaVnet = tx
    .selectDistinct({ nodeId: instances.nodeId })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .innerJoin(vnetSecurityGroups, eq(vnetSecurityGroups.vnetId, nics.vnetId))
    .where(inArray(vnetSecurityGroups.sgId, sgIds))
    .all();
  const own = tx
    .selectDistinct({ nodeId: instances.nodeId })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .innerJoin(nicSecurityGroups, eq(nicSecurityGroups.nicId, nics.id))
    .where(inArray(nicSecurityGroups.sgId, sgIds))
    .all();
  return [...new Set([...viaVnet, ...own].map((r) => r.nodeId))];
}

/**
 * Stamps groups with the revision the current change commits at: the global counter once mutate()
 * bumps it (+1) when a node is affected, else its current value (nothing to roll out). A NIC is up to
 * date for a group once its node applied that revision.
 */
export function stampGroups(tx: Tx, sgIds: number[], nodesAffected: boolean) {
  if (sgIds.length === 0) return;
  const cur = tx.select({ v: counters.value }).from(counters).where(eq(counters.name, "revision")).get()!.v;
  tx.update(securityGroups)
    .set({ revision: nodesAffected ? cur + 1 : cur, updatedAt: new Date() })
    .where(inArray(securityGroups.id, sgIds))
    .run();
}

/** NICs of a VNET that would send nothing if the VNET's groups were `vnetGroups` instead of what is
 * attached now: filtered (no default group on the VNET or the NIC itself, at least one group) and
 * no OUTBOUND rule in any of their groups, so the drop policy eats DNS, updates and every reply the
 * guest starts. Counted before a detach so the portal can say what it costs. */
export function nicsWithoutEgress(tx: Tx, vnetId: number, vnetGroups: number[]): number {
  const nicIds = tx
    .select({ id: nics.id })
    .from(nics)
    .where(eq(nics.vnetId, vnetId))
    .all()
    .map((n) => n.id);
  if (nicIds.length === 0) return 0;
  const own = new Map<number, number[]>();
  for (const r of tx
    .select({ nicId: nicSecurityGroups.nicId, sgId: nicSecurityGroups.sgId })
    .from(nicSecurityGroups)
    .where(inArray(nicSecurityGroups.nicId, nicIds))
    .all())
    own.set(r.nicId, [...(own.get(r.nicId) ?? []), r.sgId]);
  const allIds = [...new Set([...vnetGroups, ...[...own.values()].flat()])];
  const withOutbound = new Set(
    allIds.length === 0
      ? []
      : tx
          .selectDistinct({ sgId: sgRules.sgId })
          .from(sgRules)
          .where(and(inArray(sgRules.sgId, allIds), eq(sgRules.direction, "OUTBOUND")))
          .all()
          .map((r) => r.sgId),
  );
  return nicIds.filter((id) => {
    const groups = [...new Set([...vnetGroups, ...(own.get(id) ?? [])])];
    if (groups.length === 0 || groups.includes(DEFAULT_SG)) return false;
    return !groups.some((g) => withOutbound.has(g));
  }).length;
}

/** What detaching the default group from a VNET would cost: the NICs left without egress. */
export function egressLostWithoutDefault(tx: Tx, vnetId: number): number {
  const groups = vnetSgIds(tx, vnetId);
  if (!groups.includes(DEFAULT_SG)) return 0;
  return nicsWithoutEgress(
    tx,
    vnetId,
    groups.filter((g) => g !== DEFAULT_SG),
  );
}
