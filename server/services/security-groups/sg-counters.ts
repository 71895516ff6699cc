// Security-group rule counters: what each node's agent reports (the kernel's named counter per
// rule), stored per node and rule, and summed per rule for the group's page. Counts survive the
// agent's own table reloads in the kernel; a restart of the kernel counter (node reboot, table
// deleted by hand) is seen as a value going down and folded into a base, so a rule's figure is
// its total since it was created (see sgRuleCounters in db/schema.ts).
import { and, asc, eq, sql } from "drizzle-orm";
import { snapshot, type Tx } from "../../../db";
import { sgRuleCounters, sgRules } from "../../../db/schema";
import type { Subject } from "../../../lib/permissions";
import type { SgCounter } from "../../../lib/wire";
import type { App } from "../../app";
import { visible } from "./security-groups";

/** Stores one report's counters for `nodeId` (rules deleted meanwhile are skipped); returns how
 * many of them restarted since the last report. Runs in the report's transaction. */
export function recordCounters(tx: Tx, nodeId: number, counters: SgCounter[], at = new Date()): number {
  let restarted = 0;
  for (const c of counters) {
    const prev = tx
      .select({ packets: sgRuleCounters.packets, bytes: sgRuleCounters.bytes })
      .from(sgRuleCounters)
      .where(and(eq(sgRuleCounters.ruleId, c.ruleId), eq(sgRuleCounters.nodeId, nodeId)))
      .get();
    const reset = !!prev && (c.packets < prev.packets || c.bytes < prev.bytes);
    if (reset) restarted++;
    // Every SET expression reads the row as it was, so the base takes the last value before it.
    tx.run(sql`
      INSERT INTO sg_rule_counters (rule_id, node_id, packets, bytes, updated_at)
      SELECT ${c.ruleId}, ${nodeId}, ${c.packets}, ${c.bytes}, ${at.getTime()}
      WHERE EXISTS (SELECT 1 FROM sg_rules WHERE id = ${c.ruleId})
      ON CONFLICT (rule_id, node_id) DO UPDATE SET
        base_packets = base_packets + ${reset ? sql`packets` : 0},
        base_bytes = base_bytes + ${reset ? sql`bytes` : 0},
        resets = resets + ${reset ? 1 : 0},
        packets = excluded.packets,
        bytes = excluded.bytes,
        updated_at = excluded.updated_at`);
  }
  return restarted;
}

/** Each rule's counter of a group the caller may see (USE), summed over the nodes that reported
 * it: hits and bytes since the rule was created, on how many nodes, and when last reported.
 * A rule no node has reported yet is absent. */
export function sgCounters(app: App, who: Subject, sgId: number) {
  return snapshot(app.db, (tx) => {
    const sg = visible(tx, who, sgId);
    const rules = tx
      .select({
        ruleId: sgRuleCounters.ruleId,
        packets: sql<number>`sum(${sgRuleCounters.basePackets} + ${sgRuleCounters.packets})`,
        bytes: sql<number>`sum(${sgRuleCounters.baseBytes} + ${sgRuleCounters.bytes})`,
        nodes: sql<number>`count(*)`,
        resets: sql<number>`sum(${sgRuleCounters.resets})`,
        updatedAt: sql<number>`max(${sgRuleCounters.updatedAt})`,
      })
      .from(sgRuleCounters)
      .innerJoin(sgRules, eq(sgRules.id, sgRuleCounters.ruleId))
      .where(eq(sgRules.sgId, sg.id))
      .groupBy(sgRuleCounters.ruleId)
      .orderBy(asc(sgRuleCounters.ruleId))
      .all()
      .map((r) => ({ ...r, updatedAt: new Date(r.updatedAt) }));
    return { sgId: sg.id, rules };
  });
}
