// A node's short history of applies, drift repairs and failed applies (node_applies), written from
// the agent's reports and shown per node on the Nodes page. The last report stays in nodes.report;
// this keeps the few before it, so a one-line reconcile does not hide the large apply it followed.
import { and, desc, eq, notInArray } from "drizzle-orm";
import type { Tx } from "../../../db";
import { nodeApplies, nodes } from "../../../db/schema";
import type { NodeReport } from "../../../lib/domain";
import type { AgentReport } from "../../../lib/wire";
import type { App } from "../../app";
import { notFound } from "../../errors";

/** How many entries each node keeps. */
export const NODE_APPLY_HISTORY = 20;

/** The agent sends its last result again as a heartbeat (and retries an undelivered report): the
 * same revision, outcome, operation count and measured duration as the report stored before it is
 * that result again, not a new apply (two real reconciles never take the same time to 0.01 ms). */
function isResend(prev: NodeReport | null, r: AgentReport): boolean {
  return (
    prev !== null &&
    prev.revision === r.revision &&
    prev.ok === r.ok &&
    prev.operations === r.operations &&
    prev.durationMs === r.durationMs &&
    (prev.error ?? null) === (r.error ?? null)
  );
}

/** Adds the report to the node's history when it did something or failed (inside the report's
 * transaction, with the report stored before it as `prev`), and drops entries past the limit. */
export function recordApply(
  tx: Tx,
  nodeId: number,
  prev: NodeReport | null,
  r: AgentReport,
  at = new Date(),
) {
  const repaired = (r.repairs?.length ?? 0) > 0;
  if (r.ok && r.operations === 0 && !repaired) return;
  if (!repaired && isResend(prev, r)) return;
  const kind = !r.ok ? "error" : repaired ? "repair" : "apply";
  const error = r.ok ? null : (r.error ?? "unknown error");
  if (kind === "error") {
    const last = tx
      .select()
      .from(nodeApplies)
      .where(eq(nodeApplies.nodeId, nodeId))
      .orderBy(desc(nodeApplies.id))
      .limit(1)
      .get();
    // A node retrying the same failing revision: one entry that counts the attempts.
    if (last?.kind === "error" && last.revision === r.revision && last.error === error) {
      tx.update(nodeApplies)
        .set({ repeats: last.repeats + 1, at })
        .where(eq(nodeApplies.id, last.id))
        .run();
      return;
    }
  }
  tx.insert(nodeApplies)
    .values({
      nodeId,
      at,
      kind,
      revision: r.revision,
      operations: r.operations,
      durationMs: r.durationMs,
      ops: r.ops?.length ? r.ops : (r.repairs ?? []),
      error,
    })
    .run();
  const keep = tx
    .select({ id: nodeApplies.id })
    .from(nodeApplies)
    .where(eq(nodeApplies.nodeId, nodeId))
    .orderBy(desc(nodeApplies.id))
    .limit(NODE_APPLY_HISTORY)
    .all()
    .map((e) => e.id);
  tx.delete(nodeApplies)
    .where(and(eq(nodeApplies.nodeId, nodeId), notInArray(nodeApplies.id, keep)))
    .run();
}

/** A node's history, newest first. */
export function nodeHistory(app: App, nodeId: number) {
  const node = app.db
    .select({ id: nodes.id, name: nodes.name })
    .from(nodes)
    .where(eq(nodes.id, nodeId))
    .get();
  if (!node) throw notFound(`Node ${nodeId}`);
  const entries = app.db
    .select({
      id: nodeApplies.id,
      at: nodeApplies.at,
      kind: nodeApplies.kind,
      revision: nodeApplies.revision,
      operations: nodeApplies.operations,
      durationMs: nodeApplies.durationMs,
      ops: nodeApplies.ops,
      error: nodeApplies.error,
      repeats: nodeApplies.repeats,
    })
    .from(nodeApplies)
    .where(eq(nodeApplies.nodeId, nodeId))
    .orderBy(desc(nodeApplies.id))
    .all();
  return { node, limit: NODE_APPLY_HISTORY, entries };
}
