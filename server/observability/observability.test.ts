// Metrics and logs of a running portal, checked with Prometheus' own tools: promtool lints the real
// /metrics text, and a real Prometheus server scrapes the portal over HTTP with an API token and
// answers a query for a node's applied revision. The log lines are read as the JSON they are.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { requireCommands, waitFor } from "../../tests/kernel";
import type { App } from "../app";
import { callerFor, testApp, userCaller } from "../harness.testing";
import { serveApp } from "../http";
import { logTo } from "./log";

const haveProm = requireCommands("metrics (promtool, prometheus)", ["promtool", "prometheus"]);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A portal with an admin, a token, a VNET with a used and a held address, and node n1 that joined
 * and reported its desired revision applied over the agent channel (as the agent does). */
async function portal(app: App) {
  const admin = await userCaller(app, "root", "admin", 0);
  const token = (await admin.token.create({ name: "prometheus", expiresInDays: null, readOnly: true })).token;
  const n = await admin.node.create({ name: "n1" });
  const { credential } = await callerFor(app, null).agent.join({ token: n.joinToken });
  const agent = callerFor(app, null, { authorization: `Bearer ${credential}` });
  const v = await admin.vnet.create({ name: "blue", subnet: "10.5.0.0/24", firstIp: "10.5.0.10", size: 20 });
  await admin.lease.hold({ vnetId: v.id, from: "10.5.0.11", reason: "router" });
  await admin.instance.create({ name: "vm1", nodeId: n.id, nics: [{ vnetId: v.id }] } as never);
  const desired = (await admin.node.list()).items[0]!.desiredRevision;
  await agent.agent.report({
    nodeId: n.id,
    revision: desired,
    ok: true,
    operations: 7,
    durationMs: 42,
    networks: [],
    ports: [],
    ops: ["ip link add bh-1 type bridge"],
    phases: { observe: 10, plan: 2, node: 20, nft: 8, tc: 2, brand_new_phase: 1 },
    repairs: ["bridge bh-1 was down"],
  });
  return { admin, token, nodeId: n.id, desired, agent };
}

describe("Prometheus metrics and structured logs", () => {
  let app: App;
  let server: { url: string; close(): Promise<void> } | null = null;
  let prom: ChildProcess | null = null;
  let dir: string | null = null;
  beforeEach(() => {
    app = testApp();
  });
  afterEach(async () => {
    prom?.kill("SIGKILL");
    prom = null;
    await server?.close();
    server = null;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it("/metrics: admins' tokens only; the text passes promtool and holds what the portal knows", async () => {
    const p = await portal(app);
    server = await serveApp(app);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const bob = await userCaller(app, "bob", "user", 1);
    const bobToken = (await bob.token.create({ name: "x", expiresInDays: null, readOnly: true })).token;
    expect(
      (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${bobToken}` } })).status,
    ).toBe(403);
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${p.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const value = (series: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value('bridgehead_node_applied_revision{node="n1"}')).toBe(p.desired);
    expect(value('bridgehead_node_desired_revision{node="n1"}')).toBe(p.desired);
    expect(value('bridgehead_nodes{state="pending"}')).toBe(0);
    expect(value('bridgehead_vnet_addresses{vnet="blue",kind="size"}')).toBe(20);
    expect(value('bridgehead_vnet_addresses{vnet="blue",kind="used"}')).toBe(1);
    expect(value('bridgehead_vnet_addresses{vnet="blue",kind="held"}')).toBe(1);
    expect(value('bridgehead_drift_repairs_total{node="n1"}')).toBe(1);
    expect(value('bridgehead_apply_duration_seconds_count{node="n1"}')).toBe(1);
    expect(value('bridgehead_apply_duration_seconds_sum{node="n1"}')).toBeCloseTo(0.042);
    // By phase: the agent's timings, labelled with the known phases only.
    expect(value('bridgehead_apply_phase_duration_seconds_sum{phase="node"}')).toBeCloseTo(0.02);
    expect(value('bridgehead_apply_phase_duration_seconds_sum{phase="nft"}')).toBeCloseTo(0.008);
    expect(value('bridgehead_apply_phase_duration_seconds_count{phase="other"}')).toBe(1);
    expect(text).not.toContain("brand_new_phase");
    expect(
      value(
        'bridgehead_trpc_request_duration_seconds_count{procedure="vnet.create",type="mutation",outcome="ok"}',
      ),
    ).toBe(1);
    // A failed apply counts as an error; a refused call is counted under its code.
    await p.agent.agent.report({
      nodeId: p.nodeId,
      revision: p.desired,
      ok: false,
      error: "nft: boom",
      operations: 0,
      durationMs: 1,
      networks: [],
      ports: [],
    });
    await p.admin.vnet.get({ id: 999 }).catch(() => null);
    const again = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${p.token}` } })
    ).text();
    expect(again).toContain('bridgehead_apply_errors_total{node="n1"} 1');
    expect(again).toContain('bridgehead_nodes{state="error"} 1');
    expect(again).toMatch(
      /bridgehead_trpc_request_duration_seconds_count\{procedure="vnet.get",type="query",outcome="NOT_FOUND"\} 1/,
    );
    if (!haveProm) return;
    // promtool's linter: names, types, help texts, _total on counters, base units.
    const lint = execFileSync("promtool", ["check", "metrics"], { input: again, encoding: "utf8" });
    expect(lint.trim()).toBe("");
  });

  it.skipIf(!haveProm)(
    "a real Prometheus scrapes the portal with the token and answers a query for the node's applied revision",
    async () => {
      const p = await portal(app);
      server = await serveApp(app);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-prom-"));
      const target = new URL(server.url).host;
      fs.writeFileSync(path.join(dir, "token"), p.token, { mode: 0o600 });
      // The scrape config the README documents, with a 1 s interval for the test.
      fs.writeFileSync(
        path.join(dir, "prometheus.yml"),
        [
          "global: { scrape_interval: 1s, evaluation_interval: 1s }",
          "scrape_configs:",
          "  - job_name: bridgehead",
          "    metrics_path: /metrics",
          `    authorization: { type: Bearer, credentials_file: ${path.join(dir, "token")} }`,
          `    static_configs: [{ targets: ["${target}"] }]`,
          "",
        ].join("\n"),
      );
      const port = await freePort();
      prom = spawn(
        "prometheus",
        [
          `--config.file=${path.join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${path.join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: "ignore" },
      );
      const q = encodeURIComponent('bridgehead_node_applied_revision{node="n1"}');
      const answer = await waitFor(
        "Prometheus to scrape the portal",
        async () => {
          const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${q}`);
          const j = (await r.json()) as {
            data: { result: { metric: Record<string, string>; value: [number, string] }[] };
          };
          return j.data.result[0];
        },
        30_000,
      );
      expect(answer.metric).toMatchObject({ job: "bridgehead", node: "n1" });
      expect(Number(answer.value[1])).toBe(p.desired);
      // The scrape itself was authorised (the target is up, not 401).
      const up = (await (
        await fetch(
          `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('up{job="bridgehead"}')}`,
        )
      ).json()) as { data: { result: { value: [number, string] }[] } };
      expect(up.data.result[0]!.value[1]).toBe("1");
    },
    60_000,
  );

  it("one JSON log line per request (request id, user, procedure, duration, outcome) and per agent apply", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    app.env.BRIDGEHEAD_LOG_LEVEL = "info";
    logTo(app, sink);
    const p = await portal(app);
    server = await serveApp(app);
    const res = await fetch(`${server.url}/api/v1/vnets`, {
      headers: { authorization: `Bearer ${p.token}`, "x-request-id": "req-from-curl-1" },
    });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    const request = lines.find((l) => l.requestId === "req-from-curl-1");
    expect(request).toMatchObject({
      msg: "request",
      level: 30,
      service: "bridgehead-portal",
      user: "root",
      via: "token:prometheus",
      procedure: "vnet.list",
      type: "query",
      outcome: "ok",
    });
    expect(typeof request!.durationMs).toBe("number");
    expect(typeof request!.time).toBe("string");
    expect(JSON.stringify(lines)).not.toContain(p.token);
    // The agent's own calls are logged as its node.
    expect(lines.find((l) => l.msg === "request" && l.procedure === "agent.report")).toMatchObject({
      user: "node:n1",
      outcome: "ok",
    });
    const apply = lines.find((l) => l.msg === "agent apply");
    expect(apply).toMatchObject({
      node: "n1",
      revision: p.desired,
      ok: true,
      operations: 7,
      durationMs: 42,
      phases: { observe: 10, plan: 2, node: 20, nft: 8, tc: 2 },
      repairs: 1,
    });
    const refused = lines.filter((l) => l.msg === "request" && l.outcome === "FORBIDDEN");
    expect(refused).toEqual([]);
  });
});
