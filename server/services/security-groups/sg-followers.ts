// NETWORK_ID rules stand for a VNET's leases, resolved when a node's desired state is compiled. So
// a change to that VNET's leases (an instance created or deleted, a hold placed or released, a VNET
// removed with its holds) changes the desired state of every node with a NIC under such a rule,
// though none of their own objects changed. The lease writers mark the VNET here; mutate() bumps
// those nodes in the same transaction and stamps the groups (their NICs are outdated until applied).
import { inArray } from "drizzle-orm";
import type { Tx } from "../../../db";
import { sgRules } from "../../../db/schema";
import { nodesUsingGroups, stampGroups } from "./sg-policy";

// Keyed by the transaction handle. immediate() passes the connection's drizzle handle itself as
// `tx`, so mutate() forgets marks at the start of each transaction: a rolled-back transaction, or
// a write outside mutate(), must not leave marks for the next one.
const changed = new WeakMap<Tx, Set<number>>();

/** Forgets the marks of an earlier transaction on this handle (called as mutate() begins). */
export function forgetLeaseChanges(tx: Tx) {
  changed.delete(tx);
}

/** Records, for the transaction's end, that the leases of `vnetId` changed. */
export function leasesChanged(tx: Tx, vnetId: number) {
  const set = changed.get(tx) ?? new Set<number>();
  set.add(vnetId);
  changed.set(tx, set);
}

/** The nodes whose NETWORK_ID rules follow the VNETs whose leases changed in `tx` (and forgets
 * them); stamps those rules' groups with the revision the change commits at. */
export function followersOfLeaseChanges(tx: Tx): number[] {
  const vnetIds = [...(changed.get(tx) ?? [])];
  changed.delete(tx);
  if (vnetIds.length === 0) return [];
  const sgIds = [
    ...new Set(
      tx
        .selectDistinct({ sgId: sgRules.sgId })
        .from(sgRules)
        .where(inArray(sgRules.networkId, vnetIds))
        .all()
        .map((r) => r.sgId),
    ),
  ];
  const nodeIds = nodesUsingGroups(tx, sgIds);
  // mutate() bumps the global revision by one right after: that is the revision this lands at.
  if (nodeIds.length > 0) stampGroups(tx, sgIds, true);
  return nodeIds;
}
