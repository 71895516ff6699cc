// The spine end to end on the real kernel: the tRPC server over HTTP, a real agent process for a
// node namespace, a VNET and two instances → the guests ping each other; deleting an instance
// removes its namespace and veth; a restarted agent on the same state runs no mutating command;
// bad, foreign and revoked credentials are refused and audited.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, nodes } from "../db/schema";
import type { App } from "../server/app";
import { testApp, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";
import { deleteNamespaces, hasNamespace, nsPrefix, pings, requireKernel, waitFor } from "./kernel";

const run = requireKernel("spine dataplane test");
const PREFIX = nsPrefix("s");
const NODE_NS = `${PREFIX}n1`;

describe.runIf(run)("spine: server → agent → kernel", () => {
  let app: App;
  let srv: Awaited<ReturnType<typeof serveApp>>;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let agent: ChildProcess | null = null;
  let agentLog = "";
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-spine-"));
  const stateFile = path.join(tmp, "agent.json");

  const startAgent = (args: string[]) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "agent/main.ts",
        ...args,
        "--netns",
        NODE_NS,
        "--state",
        stateFile,
        "--interval",
        "1",
      ],
      {
        cwd: path.resolve(import.meta.dirname, ".."),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout!.on("data", (d) => (agentLog += d));
    child.stderr!.on("data", (d) => (agentLog += d));
    return child;
  };
  const stopAgent = async () => {
    if (!agent || agent.exitCode !== null) return;
    const exited = new Promise((r) => agent!.once("exit", r));
    agent.kill("SIGTERM");
    await exited;
  };
  const node = (id: number) => app.db.select().from(nodes).where(eq(nodes.id, id)).get()!;
  const applied = (id: number) =>
    waitFor(`node ${id} to apply its revision\n${agentLog}`, () => {
      const n = node(id);
      return (
        n.appliedRevision === n.desiredRevision && n.report?.revision === n.desiredRevision && n.report.ok
      );
    });

  let nodeId = 0;
  let vnetId = 0;
  const inst: { id: number; ip: string }[] = [];

  beforeAll(async () => {
    deleteNamespaces(PREFIX);
    app = testApp(path.join(tmp, "db.sqlite"));
    srv = await serveApp(app);
    admin = await userCaller(app, "alice", "admin", 0);
    const vnet = await admin.vnet.create({
      name: "lab-a",
      subnet: "10.78.0.0/24",
      gateway: "10.78.0.1",
      firstIp: "10.78.0.10",
      size: 50,
    });
    vnetId = vnet.id;
    const enrolled = await admin.node.create({ name: "node1" });
    nodeId = enrolled.id;
    agent = startAgent(["--server", srv.url, "--token", enrolled.joinToken]);
    await waitFor(
      `agent to connect\n${agentLog}`,
      () => node(nodeId).enrolledAt && app.agents.isConnected(nodeId),
    );
  });

  afterAll(async () => {
    await stopAgent();
    await srv?.close();
    deleteNamespaces(PREFIX);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("two instances on one VNET get the lowest free addresses and their guests ping each other and the gateway", async () => {
    for (const name of ["web1", "web2"]) {
      const created = await admin.instance.create({ name, nodeId, nics: [{ vnetId }] });
      inst.push({ id: created.id, ip: created.nics[0]!.ip! });
    }
    expect(inst.map((i) => i.ip)).toEqual(["10.78.0.10", "10.78.0.11"]);
    await applied(nodeId);
    expect(pings(`${NODE_NS}-i${inst[0]!.id}`, inst[1]!.ip)).toBe(true);
    expect(pings(`${NODE_NS}-i${inst[1]!.id}`, inst[0]!.ip)).toBe(true);
    expect(pings(`${NODE_NS}-i${inst[0]!.id}`, "10.78.0.1")).toBe(true);
    const mac = execFileSync("ip", ["-n", `${NODE_NS}-i${inst[0]!.id}`, "-j", "link", "show", "eth0"], {
      encoding: "utf8",
    });
    expect(JSON.parse(mac)[0].address).toBe("02:00:0a:4e:00:0a");
    // The agent said where the time went (the Prometheus histogram and the apply log line use it).
    const phases = node(nodeId).report?.phases ?? {};
    expect(Object.keys(phases)).toEqual(expect.arrayContaining(["observe", "plan", "node", "nft", "tc"]));
    expect(Object.values(phases).every((ms) => typeof ms === "number" && ms >= 0)).toBe(true);
  });

  it("a restarted agent on the same state runs no mutating command", async () => {
    await stopAgent();
    const before = Date.now();
    agent = startAgent([]);
    const report = await waitFor(`a report after the restart\n${agentLog}`, () => {
      const r = node(nodeId).report;
      return r && Date.parse(r.at) > before ? r : null;
    });
    expect(report.ok).toBe(true);
    expect(report.operations).toBe(0);
    expect(pings(`${NODE_NS}-i${inst[0]!.id}`, inst[1]!.ip)).toBe(true);
  });

  it("deleting an instance removes its guest namespace and veth, and the other guest keeps working", async () => {
    const gone = inst[1]!;
    const nicId = app.db.$client.prepare("SELECT id FROM nics WHERE instance_id = ?").get(gone.id) as {
      id: number;
    };
    await admin.instance.remove({ id: gone.id });
    await applied(nodeId);
    expect(hasNamespace(`${NODE_NS}-i${gone.id}`)).toBe(false);
    const links = JSON.parse(
      execFileSync("ip", ["-n", NODE_NS, "-j", "link", "show"], { encoding: "utf8" }),
    ) as { ifname: string }[];
    expect(links.map((l) => l.ifname)).not.toContain(`bhv${nicId.id}`);
    expect(pings(`${NODE_NS}-i${inst[0]!.id}`, "10.78.0.1")).toBe(true);
  });

  it("the channel refuses a missing or wrong credential and another node's id, and audits each refusal", async () => {
    const post = (auth: string | null, body: unknown) =>
      fetch(`${srv.url}/api/trpc/agent.report`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
        body: JSON.stringify({ json: body }),
      });
    const report = { nodeId, revision: 1, ok: true, operations: 0, durationMs: 1, networks: [], ports: [] };
    expect((await post(null, report)).status).toBe(401);
    expect((await post("Bearer bhc_not-a-real-credential", report)).status).toBe(401);
    const state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as { credential: string };
    const other = await admin.node.create({ name: "node2" });
    expect((await post(`Bearer ${state.credential}`, { ...report, nodeId: other.id })).status).toBe(403);
    const refused = app.db.select().from(auditLog).where(eq(auditLog.outcome, "refused")).all();
    expect(refused.map((r) => r.action)).toEqual(expect.arrayContaining(["agent.auth", "agent.report"]));
    expect(refused.filter((r) => r.action === "agent.auth")).toHaveLength(2);
  });

  it("revoking the node cuts its channel; the agent stops and leaves the dataplane as it was", async () => {
    const exited = new Promise<number | null>((r) => agent!.once("exit", (code) => r(code)));
    await admin.node.revoke({ id: nodeId });
    expect(await exited).toBe(3);
    expect(agentLog).toContain("refused this node");
    expect(pings(`${NODE_NS}-i${inst[0]!.id}`, "10.78.0.1")).toBe(true);
    const list = (await admin.node.list({ limit: 500 })).items;
    expect(list.find((n) => n.id === nodeId)?.state).toBe("revoked");
  });
});
