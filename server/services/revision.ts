// Revisions: every committed change that affects a node bumps the global revision and stamps it
// on that node; after the commit, the bus wakes the node's agent channel to push the new state.
import { eq, inArray, sql } from "drizzle-orm";
import { immediate, type Tx } from "../../db";
import { counters, nodes } from "../../db/schema";
import type { App } from "../app";
import { forgetLeaseChanges, runLeaseChangeHooks } from "./lease-changes";

/** Bumps the revision of `nodeIds` inside the caller's transaction; returns the new revision. */
export function bumpNodes(tx: Tx, nodeIds: Iterable<number>): number {
  const ids = [...new Set(nodeIds)];
  if (ids.length === 0) return 0;
  const row = tx
    .update(counters)
    .set({ value: sql`${counters.value} + 1` })
    .where(eq(counters.name, "revision"))
    .returning({ value: counters.value })
    .get();
  const rev = row!.value;
  tx.update(nodes).set({ desiredRevision: rev }).where(inArray(nodes.id, ids)).run();
  return rev;
}

/** Call after the transaction committed: wakes the agent channels of `nodeIds`. */
export function notifyNodes(app: App, nodeIds: Iterable<number>) {
  for (const id of new Set(nodeIds)) app.bus.emit(`node:${id}`);
}

/** Runs `fn` in one IMMEDIATE transaction (writers serialize up front), then notifies touched nodes. */
export function mutate<T>(app: App, fn: (tx: Tx, touch: (nodeIds: Iterable<number>) => void) => T): T {
  const touched = new Set<number>();
  const result = immediate(app.db, (tx) => {
    forgetLeaseChanges(tx);
    const out = fn(tx, (ids) => {
      for (const id of ids) touched.add(id);
    });
    // Nodes whose state a feature derives from a VNET whose leases this change touched.
    for (const id of runLeaseChangeHooks(tx, app.leaseChangeHooks)) touched.add(id);
    bumpNodes(tx, touched);
    return out;
  });
  notifyNodes(app, touched);
  return result;
}
