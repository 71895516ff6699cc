// A revoked node's agent stops cleanly: the real agent process against the real server over HTTP,
// on a node namespace. Revoked while running, it exits with code 3 right after the server's refusal;
// restarted later on its saved state (a credential the server no longer accepts), it restores the
// dataplane, is refused, says so and exits with code 3 (not a crash).
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { and, asc, eq, gte } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, nodes } from "../db/schema";
import type { App } from "../server/app";
import { testApp, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";
import { deleteNamespaces, nsPrefix, pings, requireKernel, waitFor } from "./kernel";

const run = requireKernel("revoked agent exits");
const PREFIX = nsPrefix("r");
const NODE_NS = `${PREFIX}n1`;
/** How long after the server's refusal the agent may take to give up: print why and call exit. */
const EXIT_WITHIN_MS = 200;
/** How long until the process is gone. Past process.exit, Node tears down the tsx loader thread
 * and joins V8's worker threads while they unmap its heap: 20-70 ms on a calm machine, measured
 * 300-650 ms (strace: one platform thread's mprotect/munmap run) at load 8 on these 2 cores. */
const GONE_WITHIN_MS = 1500;
const REFUSED = "the server refused this node";

describe.runIf(run)("a revoked agent exits with the refusal message and code 3", () => {
  let app: App;
  let srv: Awaited<ReturnType<typeof serveApp>>;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let child: ChildProcess | null = null;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-revoked-"));
  const stateFile = path.join(tmp, "agent.json");
  let nodeId = 0;
  let joinToken = "";
  let guest = "";

  /** Starts agent/main.ts; resolves its exit code and time, with what it printed. */
  const start = (args: string[]) => {
    let stdout = "";
    let stderr = "";
    /** When the agent's refusal message arrived: it calls process.exit right after writing it. */
    let saidAt = 0;
    const c = spawn(
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
      { cwd: path.resolve(import.meta.dirname, ".."), stdio: ["ignore", "pipe", "pipe"] },
    );
    c.stdout!.on("data", (d) => (stdout += d));
    c.stderr!.on("data", (d) => {
      stderr += d;
      if (!saidAt && stderr.includes(REFUSED)) saidAt = Date.now();
    });
    child = c;
    const exit = new Promise<{
      code: number | null;
      at: number;
      saidAt: number;
      stdout: string;
      stderr: string;
    }>((r) => c.once("exit", (code) => r({ code, at: Date.now(), saidAt, stdout, stderr })));
    return { exit, log: () => stdout + stderr };
  };
  const node = () => app.db.select().from(nodes).where(eq(nodes.id, nodeId)).get()!;

  beforeAll(async () => {
    deleteNamespaces(PREFIX);
    app = testApp(path.join(tmp, "db.sqlite"));
    srv = await serveApp(app);
    admin = await userCaller(app, "alice", "admin", 0);
    const vnet = await admin.vnet.create({
      name: "rev-net",
      subnet: "10.76.0.0/24",
      gateway: "10.76.0.1",
      firstIp: "10.76.0.10",
      size: 10,
    });
    const enrolled = await admin.node.create({ name: "node1" });
    nodeId = enrolled.id;
    joinToken = enrolled.joinToken;
    const inst = await admin.instance.create({ name: "r1", nodeId, nics: [{ vnetId: vnet.id }] });
    guest = `${NODE_NS}-i${inst.id}`;
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    }
    await srv?.close();
    deleteNamespaces(PREFIX);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it(`a running agent calls exit (code 3) within ${EXIT_WITHIN_MS} ms of its node's revocation`, async () => {
    const agent = start(["--server", srv.url, "--token", joinToken]);
    await waitFor(`the agent to apply its revision\n${agent.log()}`, () => {
      const n = node();
      return n.report?.revision === n.desiredRevision && n.report.ok && app.agents.isConnected(nodeId);
    });
    // The revocation cuts the stream at once; the refusal goes out with its end.
    await admin.node.revoke({ id: nodeId });
    const refusedAt = Date.now();
    const exit = await agent.exit;
    const said = exit.saidAt - refusedAt;
    const gone = exit.at - refusedAt;
    console.log(
      `revoked while running: exit called ${said} ms, process gone ${gone} ms after the refusal (code ${exit.code})`,
    );
    expect(exit.code).toBe(3);
    expect(exit.stderr).toContain(REFUSED);
    expect(said).toBeLessThanOrEqual(EXIT_WITHIN_MS);
    expect(gone).toBeLessThanOrEqual(GONE_WITHIN_MS);
    expect(pings(guest, "10.76.0.1")).toBe(true);
  });

  it("restarted on its saved state with the revoked credential, it prints the refusal and exits with code 3", async () => {
    expect(JSON.parse(fs.readFileSync(stateFile, "utf8")).lastDesired).toBeDefined();
    const startedAt = new Date();
    const exit = await start([]).exit;
    expect(exit.stderr).not.toContain("ReferenceError");
    expect(exit.stderr).toContain(REFUSED);
    expect(exit.code).toBe(3);
    // It restored the dataplane from its state before asking the server.
    expect(exit.stdout).toContain("restoring revision");
    const refusal = app.db
      .select()
      .from(auditLog)
      .where(
        and(eq(auditLog.action, "agent.auth"), eq(auditLog.outcome, "refused"), gte(auditLog.at, startedAt)),
      )
      .orderBy(asc(auditLog.at))
      .get();
    expect(refusal).toBeDefined();
    const said = exit.saidAt - refusal!.at.getTime();
    const gone = exit.at - refusal!.at.getTime();
    console.log(
      `restarted with a revoked credential: exit called ${said} ms, process gone ${gone} ms after the refusal (code ${exit.code})`,
    );
    expect(said).toBeLessThanOrEqual(EXIT_WITHIN_MS);
    expect(gone).toBeLessThanOrEqual(GONE_WITHIN_MS);
    expect(pings(guest, "10.76.0.1")).toBe(true);
  });
});
