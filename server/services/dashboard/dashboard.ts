// The home dashboard: what needs attention, read in one snapshot with SQL aggregates (GROUP BY,
// ORDER BY … LIMIT), so its cost does not grow with a copy of every node or NIC in memory.
// Admins see the whole cloud; an end user sees the VNETs they may use, the NICs of their own
// instances and their own audit entries (nodes and agents are cloud-admin business).
import { and, desc, eq, gt, or, sql } from "drizzle-orm";
import { snapshot, type Tx } from "../../../db";
import { addressRanges, auditLog, instances, leases, nics, nodes, vnets } from "../../../db/schema";
import type { Subject } from "../../../lib/permissions";
import type { App } from "../../app";
import { permitted } from "../../authz";

/** Node health, worst first: the order the dashboard lists them in. */
export const NODE_HEALTH = ["error", "disconnected", "outdated", "pending", "in sync", "revoked"] as const;
export type NodeHealth = (typeof NODE_HEALTH)[number];

/** How many items each "needs attention" list shows; the counts cover everything. */
const LIST = 8;
/** Recent events are looked for among this many newest audit entries: a rowid range, so a quiet
 * cloud (no repairs at all) does not scan a large log on every refresh. */
const AUDIT_WINDOW = 50_000;

/** The health of each node as one SQL expression, mirroring listNodes' state: connection and
 * freshness decide connected; an agent refused for its wire version counts as an error. */
function healthOf(app: App) {
  const freshAfter = Date.now() - app.env.BRIDGEHEAD_NODE_DOWN_AFTER_S * 1000;
  const connected = JSON.stringify(app.agents.connectedIds());
  const refused = JSON.stringify([...app.agents.wireRefusals.keys()]);
  return sql<NodeHealth>`CASE
    WHEN ${nodes.revokedAt} IS NOT NULL THEN 'revoked'
    WHEN ${nodes.enrolledAt} IS NULL THEN 'pending'
    WHEN ${nodes.id} IN (SELECT value FROM json_each(${refused})) THEN 'error'
    WHEN ${nodes.id} NOT IN (SELECT value FROM json_each(${connected}))
      OR ${nodes.lastSeenAt} IS NULL OR ${nodes.lastSeenAt} < ${freshAfter} THEN 'disconnected'
    WHEN ${nodes.lastError} IS NOT NULL THEN 'error'
    WHEN ${nodes.appliedRevision} < ${nodes.desiredRevision} THEN 'outdated'
    ELSE 'in sync' END`;
}

const rank = (col: string) =>
  sql.raw(`CASE ${col} ${NODE_HEALTH.map((h, i) => `WHEN '${h}' THEN ${i}`).join(" ")} END`);

function nodeSummary(app: App, tx: Tx) {
  const health = healthOf(app);
  const byState = tx
    .select({ state: health.as("state"), count: sql<number>`count(*)` })
    .from(nodes)
    .groupBy(sql`1`)
    .all();
  const rows = tx
    .select({
      id: nodes.id,
      name: nodes.name,
      state: health.as("state"),
      lastError: nodes.lastError,
      lastSeenAt: nodes.lastSeenAt,
      desiredRevision: nodes.desiredRevision,
      appliedRevision: nodes.appliedRevision,
    })
    .from(nodes)
    .where(sql`${health} IN ('error', 'disconnected', 'outdated')`)
    .orderBy(rank("state"), nodes.name)
    .limit(LIST)
    .all();
  const counts = Object.fromEntries(NODE_HEALTH.map((h) => [h, 0])) as Record<NodeHealth, number>;
  for (const r of byState) counts[r.state] = r.count;
  const total = byState.reduce((s, r) => s + r.count, 0);
  const connected = counts.error + counts.outdated + counts["in sync"];
  const refusals = app.agents.wireRefusals;
  return {
    total,
    connected,
    counts,
    attention: rows.map((r) => ({ ...r, lastError: refusals.get(r.id)?.message ?? r.lastError })),
  };
}

function vnetUsage(tx: Tx, who: Subject) {
  const sizes = tx
    .select({ vnetId: addressRanges.vnetId, size: sql<number>`sum(${addressRanges.size})`.as("size") })
    .from(addressRanges)
    .groupBy(addressRanges.vnetId)
    .as("sizes");
  const used = tx
    .select({
      vnetId: leases.vnetId,
      used: sql<number>`count(*)`.as("used"),
      held: sql<number>`sum(${leases.state} = 'hold')`.as("held"),
    })
    .from(leases)
    .groupBy(leases.vnetId)
    .as("used");
  const size = sql<number>`coalesce(${sizes.size}, 0)`;
  const taken = sql<number>`coalesce(${used.used}, 0)`;
  const base = tx
    .select({
      id: vnets.id,
      name: vnets.name,
      size,
      used: taken,
      held: sql<number>`coalesce(${used.held}, 0)`,
    })
    .from(vnets)
    .leftJoin(sizes, eq(sizes.vnetId, vnets.id))
    .leftJoin(used, eq(used.vnetId, vnets.id))
    .where(permitted(vnets, who, "use"));
  const fullest = base
    .orderBy(sql`CASE WHEN ${size} > 0 THEN ${taken} * 1.0 / ${size} ELSE -1 END DESC`, vnets.name)
    .limit(LIST)
    .all();
  const totals = tx
    .select({ vnets: sql<number>`count(*)` })
    .from(vnets)
    .where(permitted(vnets, who, "use"))
    .get();
  return { total: totals?.vnets ?? 0, fullest };
}

/** NICs whose node has not applied the latest change (outdated) or reported the port failed
 * (error). The failing ports are read once per node from the reports that have one. */
function nicHealth(tx: Tx, who: Subject) {
  const failed = sql`(SELECT n.id AS node_id, json_extract(p.value, '$.nicId') AS nic_id,
      json_extract(p.value, '$.error') AS error
    FROM nodes n, json_each(n.report, '$.ports') p
    WHERE instr(n.report, '"ok":false') > 0 AND json_extract(p.value, '$.ok') = 0)`;
  const mine = who.role === "admin" ? sql`1 = 1` : sql`${instances.ownerId} = ${who.id}`;
  const status = sql<"error" | "outdated" | "ok">`CASE
    WHEN f.nic_id IS NOT NULL THEN 'error'
    WHEN ${nodes.enrolledAt} IS NOT NULL AND ${nodes.revokedAt} IS NULL
      AND ${nodes.appliedRevision} < ${nodes.desiredRevision} THEN 'outdated'
    ELSE 'ok' END`;
  const from = sql`${nics}
    JOIN ${instances} ON ${instances.id} = ${nics.instanceId}
    JOIN ${nodes} ON ${nodes.id} = ${instances.nodeId}
    JOIN ${vnets} ON ${vnets.id} = ${nics.vnetId}
    LEFT JOIN ${failed} f ON f.node_id = ${nodes.id} AND f.nic_id = ${nics.id}`;
  const counts = tx.all<{ status: "error" | "outdated" | "ok"; count: number }>(
    sql`SELECT ${status} AS status, count(*) AS count FROM ${from} WHERE ${mine} GROUP BY 1`,
  );
  const rows = tx.all<{
    nicId: number;
    idx: number;
    instanceId: number;
    instanceName: string;
    vnetId: number;
    vnetName: string;
    nodeId: number;
    nodeName: string;
    status: "error" | "outdated";
    error: string | null;
  }>(sql`SELECT ${nics.id} AS nicId, ${nics.idx} AS idx, ${instances.id} AS instanceId,
      ${instances.name} AS instanceName, ${vnets.id} AS vnetId, ${vnets.name} AS vnetName,
      ${nodes.id} AS nodeId, ${nodes.name} AS nodeName, ${status} AS status, f.error AS error
    FROM ${from} WHERE ${mine} AND ${status} != 'ok'
    ORDER BY ${status} = 'error' DESC, ${instances.name}, ${nics.idx} LIMIT ${LIST}`);
  const of = (s: string) => counts.find((c) => c.status === s)?.count ?? 0;
  return {
    total: counts.reduce((s, c) => s + c.count, 0),
    error: of("error"),
    outdated: of("outdated"),
    attention: rows.map((r) => ({ ...r, name: `${r.instanceName} eth${r.idx}` })),
  };
}

function recentWindow(tx: Tx) {
  const top =
    tx
      .select({ max: sql<number | null>`max(${auditLog.id})` })
      .from(auditLog)
      .get()?.max ?? 0;
  return gt(auditLog.id, top - AUDIT_WINDOW);
}

const auditColumns = {
  id: auditLog.id,
  at: auditLog.at,
  actor: auditLog.actor,
  action: auditLog.action,
  objectType: auditLog.objectType,
  objectId: auditLog.objectId,
  objectName: auditLog.objectName,
  outcome: auditLog.outcome,
  detail: auditLog.detail,
};

/** Drift the agents repaired and applies that failed, newest first (admins). */
function agentEvents(tx: Tx) {
  return tx
    .select(auditColumns)
    .from(auditLog)
    .where(
      and(
        recentWindow(tx),
        or(
          eq(auditLog.action, "agent.repair"),
          and(eq(auditLog.action, "agent.report"), eq(auditLog.outcome, "error")),
        ),
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(LIST)
    .all();
}

/** The last audit entries: everything for admins, one's own actions for an end user. */
function lastAudit(tx: Tx, who: Subject) {
  return tx
    .select(auditColumns)
    .from(auditLog)
    .where(who.role === "admin" ? undefined : and(recentWindow(tx), eq(auditLog.userId, who.id)))
    .orderBy(desc(auditLog.id))
    .limit(LIST)
    .all();
}

/** Everything the home page shows, in one consistent read. */
export function dashboard(app: App, who: Subject) {
  return snapshot(app.db, (tx) => {
    const admin = who.role === "admin";
    return {
      scope: admin ? ("cloud" as const) : ("own" as const),
      nodes: admin ? nodeSummary(app, tx) : null,
      vnets: vnetUsage(tx, who),
      nics: nicHealth(tx, who),
      events: admin ? agentEvents(tx) : null,
      audit: lastAudit(tx, who),
    };
  });
}
