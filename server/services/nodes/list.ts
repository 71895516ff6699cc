// Listing nodes: one page of them for the Nodes page and the API (filter, sort, count and window in
// SQL, so a fleet of thousands costs the page it shows), and every node for the few callers that
// need them all (instance placement choices, metrics). A node's state is one SQL expression, used
// for the filter, the sort, the per-state counts and the rows alike.
import { and, asc, desc, eq, or, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { z } from "zod";
import { snapshot } from "../../../db";
import { clusters, instances, nodes } from "../../../db/schema";
import { NODE_STATES, type nodeListInput } from "../../../lib/schemas";
import { VERSION } from "../../../lib/version";
import { WIRE_VERSION } from "../../../lib/wire";
import type { App } from "../../app";
import { agentWire } from "./wire-compat";

export type NodeState = (typeof NODE_STATES)[number];

/** revoked, pending (never joined), connected (a stream open and a report within the down-after
 * window), else disconnected. */
function stateOf(app: App) {
  const freshAfter = Date.now() - app.env.BRIDGEHEAD_NODE_DOWN_AFTER_S * 1000;
  const connected = JSON.stringify(app.agents.connectedIds());
  return sql<NodeState>`CASE
    WHEN ${nodes.revokedAt} IS NOT NULL THEN 'revoked'
    WHEN ${nodes.enrolledAt} IS NULL THEN 'pending'
    WHEN ${nodes.id} IN (SELECT value FROM json_each(${connected}))
      AND ${nodes.lastSeenAt} >= ${freshAfter} THEN 'connected'
    ELSE 'disconnected' END`;
}

const stateRank = sql.raw(`CASE state ${NODE_STATES.map((s, i) => `WHEN '${s}' THEN ${i}`).join(" ")} END`);

/** Instances per node, one grouped read instead of a count per row. */
const instanceCounts = (app: App) =>
  app.db
    .select({ nodeId: instances.nodeId, count: sql<number>`count(*)`.as("count") })
    .from(instances)
    .groupBy(instances.nodeId)
    .as("ic");

/** LIKE text that matches `q` literally (its % and _ are not wildcards). */
const literal = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function rowsQuery(app: App, state: SQL<NodeState>) {
  const ic = instanceCounts(app);
  return app.db
    .select({
      node: nodes,
      cluster: clusters.name,
      instances: sql<number>`coalesce(${ic.count}, 0)`.as("instances"),
      state: state.as("state"),
    })
    .from(nodes)
    .innerJoin(clusters, eq(clusters.id, nodes.clusterId))
    .leftJoin(ic, eq(ic.nodeId, nodes.id));
}

type Row = {
  node: typeof nodes.$inferSelect;
  cluster: string;
  instances: number;
  state: NodeState;
};

/** What the Nodes page shows of a node. */
function shown(app: App, pins: string[] | undefined, { node: n, cluster, instances: count, state }: Row) {
  // An agent refused for its wire version is seen (it keeps calling), and that is its error.
  const refusal = app.agents.wireRefusals.get(n.id);
  const lastSeenAt = refusal && (!n.lastSeenAt || refusal.at > n.lastSeenAt) ? refusal.at : n.lastSeenAt;
  return {
    id: n.id,
    name: n.name,
    clusterId: n.clusterId,
    cluster,
    state,
    hostname: n.hostname,
    agentVersion: n.agentVersion,
    /** The agent runs another release than this portal (upgrade it). */
    agentOutdated: n.agentVersion !== null && n.agentVersion !== VERSION,
    wireVersion: n.report ? agentWire(n.report.wireVersion) : null,
    wireOutdated: n.report ? agentWire(n.report.wireVersion) < WIRE_VERSION : false,
    /** The agent talks plain HTTP (--insecure): its credential crosses the network in clear. */
    insecure: n.report?.insecure === true,
    /** The agent holds every pin the portal wants (false while a certificate change reaches it). */
    pinned: pins ? pins.every((p) => n.report?.pins?.includes(p)) : null,
    vtep: n.vtepAddress,
    uplink: n.uplink,
    enrolledAt: n.enrolledAt,
    lastSeenAt,
    desiredRevision: n.desiredRevision,
    appliedRevision: n.appliedRevision,
    inSync: n.appliedRevision >= n.desiredRevision,
    lastError: refusal?.message ?? n.lastError,
    report: n.report,
    joinTokenExpiresAt: n.joinTokenHash ? n.joinTokenExpiresAt : null,
    instances: count,
  };
}

export type NodeListRow = ReturnType<typeof shown>;

/** Every node, by name (placement choices, metrics, tests). */
export function listNodes(app: App): NodeListRow[] {
  const pins = app.tls.pins();
  return rowsQuery(app, stateOf(app))
    .orderBy(nodes.name)
    .all()
    .map((r) => shown(app, pins, r));
}

/** One page of nodes matching the filter, in the asked order (ties by name), with how many match
 * in all and how many of the whole fleet are in each state (the filter's choices). */
export function pageNodes(app: App, input: z.output<typeof nodeListInput>) {
  const state = stateOf(app);
  // LIKE's escape character must be named for \% to mean a literal %.
  const has = (col: SQLiteColumn) => sql`${col} LIKE ${literal(input.q)} ESCAPE '\\'`;
  const matching = and(
    input.q
      ? or(has(nodes.name), has(nodes.hostname), has(clusters.name), has(nodes.vtepAddress))
      : undefined,
    input.state === "all" ? undefined : sql`${state} = ${input.state}`,
  );
  const dir = input.dir === "asc" ? asc : desc;
  const order: SQL[] = {
    name: [dir(nodes.name)],
    cluster: [dir(clusters.name), asc(nodes.name)],
    state: [input.dir === "asc" ? sql`${stateRank}` : sql`${stateRank} DESC`, asc(nodes.name)],
    // Never-seen nodes last whichever way.
    lastSeen: [sql`${nodes.lastSeenAt} IS NULL`, dir(nodes.lastSeenAt), asc(nodes.name)],
    instances: [dir(sql`instances`), asc(nodes.name)],
  }[input.sort];
  return snapshot(app.db, () => {
    const pins = app.tls.pins();
    const rows = rowsQuery(app, state)
      .where(matching)
      .orderBy(...order)
      .limit(input.limit)
      .offset(input.offset)
      .all();
    const total =
      app.db
        .select({ n: sql<number>`count(*)` })
        .from(nodes)
        .innerJoin(clusters, eq(clusters.id, nodes.clusterId))
        .where(matching)
        .get()?.n ?? 0;
    const byState = app.db
      .select({ state: state.as("state"), n: sql<number>`count(*)` })
      .from(nodes)
      .groupBy(sql`1`)
      .all();
    const counts = Object.fromEntries(NODE_STATES.map((s) => [s, 0])) as Record<NodeState, number>;
    for (const r of byState) counts[r.state] = r.n;
    return {
      items: rows.map((r) => shown(app, pins, r)),
      total,
      offset: input.offset,
      limit: input.limit,
      counts,
    };
  });
}
