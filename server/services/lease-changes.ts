// A VNET's leases (allocate, release, hold, unhold, a VNET removed with its holds) can change the
// desired state of nodes that own none of the changed rows: a feature that derives node state from
// a VNET's leases registers a hook on the App, and mutate() runs the hooks before it bumps nodes,
// so this generic layer names no feature.
import type { Tx } from "../../db";

/** Given the VNETs whose leases changed in `tx`, returns the further nodes whose desired state
 * follows them (a hook may write in `tx`, which commits at the revision mutate() bumps next). */
export type LeaseChangeHook = (tx: Tx, vnetIds: number[]) => Iterable<number>;

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

/** Runs `hooks` on the VNETs marked in `tx` (and forgets the marks); returns the nodes they name. */
export function runLeaseChangeHooks(tx: Tx, hooks: readonly LeaseChangeHook[]): Set<number> {
  const vnetIds = [...(changed.get(tx) ?? [])];
  changed.delete(tx);
  const nodeIds = new Set<number>();
  if (vnetIds.length === 0) return nodeIds;
  for (const hook of hooks) for (const id of hook(tx, vnetIds)) nodeIds.add(id);
  return nodeIds;
}
