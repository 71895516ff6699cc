// `npm run bench -- push [--changes 200]`: latency from a committed change to the agent's report
// of having applied it, through the real server code, the real SSE channel and a real agent
// process applying to a node namespace (root). Each change creates or deletes an instance, so
// every one is real kernel work (a guest namespace and veth). Prints one JSON line last.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { serveApp } from "../server/http";
import { testApp, userCaller } from "../server/testing";
import { deleteNamespaces, kernelUnavailable, nsPrefix, waitFor } from "../tests/kernel";

const { values } = parseArgs({ options: { changes: { type: "string", default: "200" } } });
const CHANGES = Number(values.changes);
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
  }
  const r = (x: number) => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      bench: "push",
      changes: CHANGES,
      agents: 1,
      p50_ms: r(pct(latencies, 50)),
      p99_ms: r(pct(latencies, 99)),
      max_ms: r(Math.max(...latencies)),
    }),
  );
} finally {
  agent?.kill("SIGTERM");
  await srv.close();
  deleteNamespaces(PREFIX);
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
