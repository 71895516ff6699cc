// `npm run bench -- fleet [--agents 2000] [--big 4000] [--per-process 500]`: one portal process and
// thousands of simulated agents (agent/sim.ts: the real agent's channel code, no kernel work).
// The portal (bench/lib/fleet-portal.ts) runs pinned to core 0 and the agents
// (bench/lib/fleet-agents.ts, many per process) with this process pinned to core 1 (taskset; on a
// one-core machine both share it, and the line says so). Measures, at --agents connected agents
// with 10 s heartbeats: the portal's CPU at rest; one bridge-VNET change every node applies, and a
// new host on a VXLAN VNET spanning all of them (every other node adds a peer): p99 of commit →
// the server accepting each agent's report; vnet.list over HTTP meanwhile (p99). Then --big agents
// in all: whether they all connect and converge, and node.list over HTTP at that size.
// Prints one JSON line last.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    agents: { type: "string", default: "2000" },
    big: { type: "string", default: "4000" },
    "per-process": { type: "string", default: "500" },
    port: { type: "string", default: "3350" },
    /** Seconds the steady-state CPU is measured over. */
    steady: { type: "string", default: "30" },
  },
});
const AGENTS = Number(values.agents);
const BIG = Number(values.big);
const PER = Number(values["per-process"]);
const cores = os.availableParallelism();
const pinned = cores >= 2 && fs.existsSync("/usr/bin/taskset");
const log = (msg: string) => console.error(`${new Date().toISOString().slice(11, 19)} fleet: ${msg}`);
const pct = (xs: number[], p: number) =>
  xs.length
    ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!
    : NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (pinned) execFileSync("taskset", ["-cp", "1", String(process.pid)], { stdio: "ignore" });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-bench-fleet-"));
const children: ChildProcess[] = [];

/** A child speaking { id, cmd } → { id, ok, value } over IPC. */
function child(script: string, args: string[], core: number) {
  const argv = [
    process.execPath,
    "--import",
    "tsx",
    ...(process.env.FLEET_PROF_PORTAL && core === 0
      ? ["--cpu-prof", `--cpu-prof-dir=${process.env.FLEET_PROF_PORTAL}`]
      : []),
    script,
    ...args,
  ];
  const [cmd, ...rest] = pinned ? ["taskset", "-c", String(core), ...argv] : argv;
  const p = spawn(cmd!, rest, {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    env: { ...process.env, BRIDGEHEAD_LOG_LEVEL: process.env.BRIDGEHEAD_LOG_LEVEL ?? "info" },
  });
  children.push(p);
  let next = 1;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const ready = new Promise<void>((resolve, reject) => {
    waiting.set(0, { resolve: () => resolve(), reject });
    p.once("exit", (code) => reject(new Error(`${script} exited (${code})`)));
  });
  p.on("message", (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.ok) w?.resolve(m.value);
    else w?.reject(new Error(m.error));
  });
  return {
    ready,
    call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        p.send({ id, cmd, ...args });
      });
    },
  };
}

const portal = child("bench/lib/fleet-portal.ts", [path.join(tmp, "db.sqlite"), values.port], 0);
const agentProcs: ReturnType<typeof child>[] = [];

try {
  await portal.ready;
  const info = await portal.call<{ url: string; apiToken: string }>("info");
  const api = async (proc: string) => {
    const t0 = performance.now();
    const r = await fetch(`${info.url}/api/trpc/${proc}`, {
      headers: { authorization: `Bearer ${info.apiToken}` },
    });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`${proc}: HTTP ${r.status}`);
    return performance.now() - t0;
  };
  let t = performance.now();
  // Node 1 hosts only the bridge VNET (it becomes the VXLAN change); the others host both.
  const nodes = [
    ...(await portal.call<{ id: number; token: string }[]>("addNodes", { count: 1, vxlan: false })),
    ...(await portal.call<{ id: number; token: string }[]>("addNodes", { count: AGENTS - 1, vxlan: true })),
  ];
  log(`${AGENTS} nodes enrolled with their instances in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const startAgents = async (list: { id: number; token: string }[], offset: number) => {
    const starts: Promise<unknown>[] = [];
    for (let k = 0; k < list.length; k += PER) {
      const c = child("bench/lib/fleet-agents.ts", [], 1);
      agentProcs.push(c);
      await c.ready;
      const specs = list.slice(k, k + PER).map((n, j) => {
        const i = offset + k + j + 1;
        return {
          server: info.url,
          token: n.token,
          vtep: `198.18.${i >> 8}.${i & 255}`,
          state: path.join(tmp, `agent-${i}.json`),
        };
      });
      starts.push(c.call("start", { specs, interval: "10" }));
    }
    await Promise.all(starts);
  };
  const converge = async (ids: number[], timeoutMs: number) => {
    const until = performance.now() + timeoutMs;
    while (performance.now() < until) {
      const [connected, applied] = await Promise.all([
        portal.call<number>("connected", { ids }),
        portal.call<number>("applied", { revision: 0 }),
      ]);
      if (connected === ids.length && applied === ids.length) return true;
      await sleep(1000);
    }
    return false;
  };

  t = performance.now();
  await startAgents(nodes, 0);
  const up = await converge(
    nodes.map((n) => n.id),
    300_000,
  );
  if (!up) throw new Error(`${AGENTS} simulated agents did not connect and apply their state within 300 s`);
  log(`${AGENTS} agents connected and converged in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Steady state: heartbeats only.
  await sleep(5000);
  const c0 = await portal.call<{ cpuMicros: number; at: number }>("cpu");
  await sleep(Number(values.steady) * 1000);
  const c1 = await portal.call<{ cpuMicros: number; at: number }>("cpu");
  const steadyCpu = ((c1.cpuMicros - c0.cpuMicros) / 1000 / (c1.at - c0.at)) * 100;
  log(`steady CPU ${steadyCpu.toFixed(1)} % of a core`);

  const during: number[] = [];
  /** One change: p99 of commit → accepted report over all agents, with vnet.list probed meanwhile. */
  const fanOut = async (
    kind: string,
    change: () => Promise<{ at: number; responseMs: number; revision: number }>,
  ) => {
    let probing = true;
    const prober = (async () => {
      while (probing) {
        // A probe the portal did not even accept counts as the time it waited (not a crash).
        const t0 = performance.now();
        during.push(
          await api("vnet.list").catch((err: Error) => {
            log(`vnet.list failed during the fan-out: ${err.cause ?? err.message}`);
            return performance.now() - t0;
          }),
        );
        await sleep(50);
      }
    })();
    const ch = await change();
    let times: (number | null)[] = [];
    const until = Date.now() + 300_000;
    while (Date.now() < until) {
      times = (
        await Promise.all(
          agentProcs.map((c) => c.call<(number | null)[]>("times", { revision: ch.revision })),
        )
      ).flat();
      if (times.every((x) => x !== null)) break;
      await sleep(250);
    }
    probing = false;
    await prober;
    const lat = times.map((x) => (x === null ? Number.POSITIVE_INFINITY : x - ch.at));
    const missing = times.filter((x) => x === null).length;
    log(
      `${kind} change: response ${ch.responseMs} ms; reached all p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms, max ${Math.max(...lat)} ms${missing ? ` (${missing} never)` : ""}; vnet.list during p99 ${pct(during, 99).toFixed(1)} ms`,
    );
    await sleep(3000);
    return pct(lat, 99);
  };
  const bridgeP99 = await fanOut("bridge", () => portal.call("bridgeChange"));
  const vxlanP99 = await fanOut("vxlan", () => portal.call("vxlanChange", { nodeId: nodes[0]!.id }));
  // Every VXLAN host was woken by that change and sent its whole state: the change's bytes.
  const wire = await portal.call<{ total: number; perNode: number; vxlanPeers: number }>("wireBytes", {
    ids: nodes.map((n) => n.id),
  });
  log(
    `vxlan change sent ${(wire.total / 1e6).toFixed(1)} MB: ${wire.perNode} B per node, ${wire.vxlanPeers} peer entries in all`,
  );
  const apiP99 = pct(during, 99);

  // The big fleet: the rest of the nodes join, hosting the bridge VNET.
  let bigConverged: boolean | null = null;
  let nodeList: number | null = null;
  if (BIG > AGENTS) {
    t = performance.now();
    const more = await portal.call<{ id: number; token: string }[]>("addNodes", {
      count: BIG - AGENTS,
      vxlan: false,
    });
    log(`${BIG - AGENTS} more nodes enrolled in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    await startAgents(more, AGENTS);
    bigConverged = await converge(
      [...nodes, ...more].map((n) => n.id),
      300_000,
    );
    log(
      `${BIG} agents ${bigConverged ? "converged" : "did NOT converge"} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const lists: number[] = [];
    for (let i = 0; i < 5; i++) lists.push(await api("node.list"));
    nodeList = pct(lists, 50);
    log(`node.list at ${BIG} nodes: median ${nodeList.toFixed(1)} ms of 5`);
  }
  const r = (x: number | null) => (x === null || !Number.isFinite(x) ? null : Math.round(x * 10) / 10);
  console.log(
    JSON.stringify({
      bench: "fleet",
      agents: AGENTS,
      bridge_p99_ms: r(bridgeP99),
      vxlan_p99_ms: r(vxlanP99),
      api_p99_during_ms: r(apiP99),
      vxlan_change_bytes: wire.total,
      vxlan_bytes_per_node: wire.perNode,
      steady_cpu_pct: r(steadyCpu),
      [`agents_${BIG}_converged`]: bigConverged,
      [`node_list_${BIG}_ms`]: r(nodeList),
      pinned: pinned ? "portal core 0, agents core 1" : "not pinned (one core or no taskset)",
      load: os.loadavg().map((x) => Math.round(x * 100) / 100),
    }),
  );
} finally {
  for (const c of children) c.kill("SIGTERM");
  await sleep(500);
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
