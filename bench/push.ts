// `npm run bench -- push [--changes 200] [--agents 100]`: latency from a committed change to the
// agent's report of having applied it, through the real server code, the real SSE channel and a
// real agent process applying to a node namespace (root). Each change creates or deletes an
// instance, so every one is real kernel work (a guest namespace and veth). Then `--agents` nodes
// on an underlay (lab/cluster.ts), their agents connected, host a VXLAN VNET; one change (an
// instance on node 1, which then joins the VNET) is real kernel work on every node (node 1 builds
// the network, every other node adds it as a VXLAN peer), and all_converged_ms is the time until
// all of them reported it applied. Prints one JSON line last.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createUnderlay, destroyUnderlay, setVnetDriver } from "../lab/cluster";
import { testApp, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";
import { deleteNamespaces, kernelUnavailable, nsPrefix, waitFor } from "../tests/kernel";

const { values } = parseArgs({
  options: { changes: { type: "string", default: "200" }, agents: { type: "string", default: "100" } },
});
const CHANGES = Number(values.changes);
const AGENTS = Number(values.agents);
/** Agents per worker process (bench/agents-worker.ts). */
const PER_WORKER = 25;
const why = kernelUnavailable();
if (why) {
  console.error(`bench push needs root and network namespaces: ${why}`);
  process.exit(2);
}

const PREFIX = nsPrefix("bp");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-bench-push-"));
const app = testApp(path.join(tmp, "db.sqlite"));
const srv = await serveApp(app);
let agent: ChildProcess | undefined;
const workers: ChildProcess[] = [];
const MANY = nsPrefix("bm");
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

try {
  deleteNamespaces(PREFIX);
  const admin = await userCaller(app, "bench", "admin", 0);
  const vnet = await admin.vnet.create({
    name: "bench",
    subnet: "10.79.0.0/16",
    gateway: "10.79.0.1",
    firstIp: "10.79.0.10",
    size: 1000,
  });
  const node = await admin.node.create({ name: "bench-node" });
  agent = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "agent/main.ts",
      "--server",
      srv.url,
      "--token",
      node.joinToken,
      "--netns",
      `${PREFIX}n`,
      "--state",
      path.join(tmp, "agent.json"),
      "--interval",
      "30",
    ],
    { stdio: "ignore" },
  );
  await waitFor("the agent to connect", () => app.agents.isConnected(node.id), 30_000);

  // Resolves when the node reports (ok) a revision ≥ rev; driven by the bus, no polling.
  const appliedAt = (rev: number) =>
    new Promise<number>((resolve) => {
      const check = () => {
        const n = app.db.$client
          .prepare("SELECT applied_revision AS a FROM nodes WHERE id = ?")
          .get(node.id) as { a: number };
        if (n.a >= rev) {
          app.bus.off("nodes:changed", check);
          resolve(performance.now());
        }
      };
      app.bus.on("nodes:changed", check);
      check();
    });

  const latencies: number[] = [];
  /** The agent's own reconcile time of each change (from its report): the rest is server, SSE and report. */
  const reconciles: number[] = [];
  const reportedMs = () =>
    (
      JSON.parse(
        (app.db.$client.prepare("SELECT report FROM nodes WHERE id = ?").get(node.id) as { report: string })
          .report,
      ) as { durationMs: number }
    ).durationMs;
  let live: number | null = null;
  for (let i = 0; i < CHANGES; i++) {
    const t0 = performance.now();
    if (live === null)
      live = (await admin.instance.create({ name: `b${i}`, nodeId: node.id, nics: [{ vnetId: vnet.id }] }))
        .id;
    else {
      await admin.instance.remove({ id: live });
      live = null;
    }
    const rev = (
      app.db.$client.prepare("SELECT desired_revision AS d FROM nodes WHERE id = ?").get(node.id) as {
        d: number;
      }
    ).d;
    latencies.push((await appliedAt(rev)) - t0);
    reconciles.push(reportedMs());
  }
  console.log(
    `one node, ${CHANGES} changes: agent reconcile p50 ${pct(reconciles, 50).toFixed(1)} ms, p99 ${pct(reconciles, 99).toFixed(1)} ms; end to end p50 ${pct(latencies, 50).toFixed(1)} ms`,
  );
  agent.kill("SIGTERM");
  const allConvergedMs = AGENTS > 0 ? await manyAgents(admin) : null;
  const r = (x: number) => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      bench: "push",
      changes: CHANGES,
      p50_ms: r(pct(latencies, 50)),
      p99_ms: r(pct(latencies, 99)),
      max_ms: r(Math.max(...latencies)),
      agents: AGENTS,
      all_converged_ms: allConvergedMs === null ? null : r(allConvergedMs),
    }),
  );
} finally {
  agent?.kill("SIGTERM");
  for (const w of workers) w.kill("SIGTERM");
  await destroyUnderlay(MANY);
  await srv.close();
  deleteNamespaces(PREFIX);
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);

/** `AGENTS` connected agents on a VXLAN VNET; one change that every node must apply. */
async function manyAgents(admin: Awaited<ReturnType<typeof userCaller>>): Promise<number> {
  await destroyUnderlay(MANY);
  const ul = await createUnderlay(MANY, AGENTS);
  const vx = await admin.vnet.create({
    name: "bench-vx",
    subnet: "10.90.0.0/16",
    gateway: "",
    firstIp: "10.90.0.10",
    size: 1000,
  });
  setVnetDriver(app, vx.id, { driver: "vxlan", vni: 9000, mtu: 1500 });
  const ids: number[] = [];
  const specs = [];
  for (const n of ul.nodes) {
    const enrolled = await admin.node.create({ name: `bench-${n.name}` });
    ids.push(enrolled.id);
    // Every node but the first hosts the VNET from the start.
    if (ids.length > 1)
      await admin.instance.create({ name: `bm-${n.name}`, nodeId: enrolled.id, nics: [{ vnetId: vx.id }] });
    specs.push({
      server: srv.url,
      token: enrolled.joinToken,
      netns: n.netns,
      state: path.join(tmp, `${n.name}.json`),
    });
  }
  for (let k = 0; k < specs.length; k += PER_WORKER) {
    const w = spawn(
      process.execPath,
      ["--import", "tsx", "bench/agents-worker.ts", JSON.stringify(specs.slice(k, k + PER_WORKER))],
      // BENCH_AGENT_LOG=file keeps the agents' logs (diagnosis).
      {
        stdio: [
          "ignore",
          process.env.BENCH_AGENT_LOG ? fs.openSync(process.env.BENCH_AGENT_LOG, "a") : "ignore",
          "inherit",
        ],
      },
    );
    workers.push(w);
  }
  const applied = (rev: number) =>
    (
      app.db.$client
        .prepare(
          `SELECT count(*) AS n FROM nodes WHERE id IN (${ids.join(",")}) AND applied_revision >= desired_revision AND applied_revision >= ?`,
        )
        .get(rev) as { n: number }
    ).n;
  const desiredMax = () =>
    (app.db.$client.prepare("SELECT max(desired_revision) AS d FROM nodes").get() as { d: number }).d;
  await waitFor(
    `${AGENTS} agents to connect and apply their initial state`,
    () => ids.every((id) => app.agents.isConnected(id)) && applied(0) === AGENTS,
    180_000,
  );
  const t0 = performance.now();
  await admin.instance.create({ name: "bm-change", nodeId: ids[0]!, nics: [{ vnetId: vx.id }] });
  const rev = desiredMax();
  await new Promise<void>((resolve) => {
    const check = () => {
      if (applied(rev) === AGENTS) {
        app.bus.off("nodes:changed", check);
        resolve();
      }
    };
    app.bus.on("nodes:changed", check);
    check();
  });
  return performance.now() - t0;
}
