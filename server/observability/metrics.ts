// Prometheus metrics of one portal (prom-client), served at /metrics. Two kinds:
// - state read from the database at scrape time (nodes by state, desired and applied revision per
//   node, address use per VNET, security-group rule hits): always the truth of the moment, and
//   nothing to keep in step;
// - events counted as they happen (tRPC calls, agent applies, errors, drift repairs, push and
//   converge latency).
// Labels stay low-cardinality: a procedure name, a node or VNET name, an outcome code; never an
// address, a user or a request id. Each App has its own registry, so tests never share counters.
import { sql } from "drizzle-orm";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { type AgentReport, APPLY_PHASES } from "../../lib/wire";
import type { App } from "../app";
import { listNodes } from "../services/nodes/list";

const NODE_STATES = ["connected", "disconnected", "pending", "revoked"] as const;
/** The phase label's values: a fixed set, so an agent cannot grow the series. */
const KNOWN_PHASES = new Set<string>(APPLY_PHASES);
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type Metrics = ReturnType<typeof createMetrics>;

function createMetrics(app: App) {
  const registry = new Registry();
  // One read of the nodes per scrape: the first gauge's collect fills the other two, which the
  // registry reads after it (it collects its metrics one by one, in registration order).
  const desired = new Gauge({
    name: "bridgehead_node_desired_revision",
    help: "The revision of the node's desired network state in the database",
    labelNames: ["node"] as const,
    registers: [],
  });
  const applied = new Gauge({
    name: "bridgehead_node_applied_revision",
    help: "The last revision the node's agent reported applied (the kernel matched it)",
    labelNames: ["node"] as const,
    registers: [],
  });
  new Gauge({
    name: "bridgehead_nodes",
    help: "Nodes by agent channel state; in_sync counts connected nodes whose applied revision is the desired one",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      desired.reset();
      applied.reset();
      const rows = listNodes(app);
      for (const s of NODE_STATES) this.set({ state: s }, rows.filter((n) => n.state === s).length);
      this.set({ state: "in_sync" }, rows.filter((n) => n.state === "connected" && n.inSync).length);
      this.set({ state: "error" }, rows.filter((n) => n.lastError !== null).length);
      for (const n of rows) {
        desired.set({ node: n.name }, n.desiredRevision);
        applied.set({ node: n.name }, n.appliedRevision);
      }
    },
  });
  registry.registerMetric(desired);
  registry.registerMetric(applied);
  const addressRows = () =>
    app.db.all<{ name: string; size: number; used: number; held: number }>(sql`
      SELECT v.name AS name,
        (SELECT coalesce(sum(size), 0) FROM address_ranges WHERE vnet_id = v.id) AS size,
        (SELECT count(*) FROM leases WHERE vnet_id = v.id AND state = 'used') AS used,
        (SELECT count(*) FROM leases WHERE vnet_id = v.id AND state = 'hold') AS held
      FROM vnets v`);
  new Gauge({
    name: "bridgehead_vnet_addresses",
    help: "Addresses of each VNET's ranges: size, used by NICs, held",
    labelNames: ["vnet", "kind"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of addressRows()) {
        this.set({ vnet: r.name, kind: "size" }, r.size);
        this.set({ vnet: r.name, kind: "used" }, r.used);
        this.set({ vnet: r.name, kind: "held" }, r.held);
      }
    },
  });
  // Counters (they only grow: the totals keep what a restarted kernel counter had), read from the
  // database at scrape time: reset, then counted up to the stored total. One query fills both, as
  // for the nodes above.
  const ruleBytes = new Counter({
    name: "bridgehead_sg_rule_bytes_total",
    help: "Bytes matched by each security-group rule, summed over the nodes that report it",
    labelNames: ["security_group", "rule"] as const,
    registers: [],
  });
  new Counter({
    name: "bridgehead_sg_rule_packets_total",
    help: "Packets matched by each security-group rule, summed over the nodes that report it",
    labelNames: ["security_group", "rule"] as const,
    registers: [registry],
    collect() {
      this.reset();
      ruleBytes.reset();
      const rows = app.db.all<{ sg: string; rule: number; packets: number; bytes: number }>(sql`
        SELECT g.name AS sg, c.rule_id AS rule,
          sum(c.base_packets + c.packets) AS packets, sum(c.base_bytes + c.bytes) AS bytes
        FROM sg_rule_counters c JOIN sg_rules r ON r.id = c.rule_id JOIN security_groups g ON g.id = r.sg_id
        GROUP BY c.rule_id`);
      for (const r of rows) {
        const labels = { security_group: r.sg, rule: String(r.rule) };
        this.inc(labels, r.packets);
        ruleBytes.inc(labels, r.bytes);
      }
    },
  });
  registry.registerMetric(ruleBytes);

  const requests = new Histogram({
    name: "bridgehead_trpc_request_duration_seconds",
    help: "tRPC calls (portal, REST API and agents) by procedure, type and outcome (ok or the error code)",
    labelNames: ["procedure", "type", "outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const applyDuration = new Histogram({
    name: "bridgehead_apply_duration_seconds",
    help: "How long an agent's reconcile took that changed something, as the agent reports it",
    labelNames: ["node"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const applyPhase = new Histogram({
    name: "bridgehead_apply_phase_duration_seconds",
    help: "Where agents' reconciles that changed something spent their time, by phase",
    labelNames: ["phase"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const applyErrors = new Counter({
    name: "bridgehead_apply_errors_total",
    help: "Reconciles an agent reported as failed",
    labelNames: ["node"] as const,
    registers: [registry],
  });
  const repairs = new Counter({
    name: "bridgehead_drift_repairs_total",
    help: "Objects an agent found changed by hand on its node and put back",
    labelNames: ["node"] as const,
    registers: [registry],
  });
  const push = new Histogram({
    name: "bridgehead_push_duration_seconds",
    help: "From a node's desired state changing to the new state written to its agent's stream",
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const converge = new Histogram({
    name: "bridgehead_converge_duration_seconds",
    help: "From a new revision written to an agent's stream to the agent reporting it applied",
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  /** Revision → when it was pushed, per node, until the node reports it applied. */
  const pushedAt = new Map<number, { revision: number; at: number }>();

  return {
    registry,
    request(procedure: string, type: string, outcome: string, seconds: number) {
      requests.observe({ procedure, type, outcome }, seconds);
    },
    pushed(nodeId: number, revision: number, sinceChange: number | null) {
      if (sinceChange !== null) push.observe(sinceChange / 1000);
      pushedAt.set(nodeId, { revision, at: Date.now() });
    },
    reported(node: { id: number; name: string }, r: AgentReport) {
      if (!r.ok) applyErrors.inc({ node: node.name });
      else if (r.operations > 0) {
        applyDuration.observe({ node: node.name }, r.durationMs / 1000);
        for (const [phase, ms] of Object.entries(r.phases ?? {}))
          applyPhase.observe({ phase: KNOWN_PHASES.has(phase) ? phase : "other" }, ms / 1000);
      }
      if (r.repairs?.length) repairs.inc({ node: node.name }, r.repairs.length);
      const p = pushedAt.get(node.id);
      if (r.ok && p && r.revision >= p.revision) {
        converge.observe((Date.now() - p.at) / 1000);
        pushedAt.delete(node.id);
      }
    },
  };
}

const byApp = new WeakMap<App, Metrics>();

/** The metrics of `app` (created on first use). */
export function metricsOf(app: App): Metrics {
  let m = byApp.get(app);
  if (!m) {
    m = createMetrics(app);
    byApp.set(app, m);
  }
  return m;
}
