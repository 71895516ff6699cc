// Upgrading the portal before its agents: the agent as the previous release shipped it (wire
// version 1, bundled in tests/fixtures/agent-wire1/) keeps converging against this portal. A real
// agent process, the real server over HTTP, a node namespace for its dataplane: it enrolls, applies
// a change made after it connected, is shown as speaking the previous wire, and its guests ping.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodes } from "../db/schema";
import { MIN_WIRE_VERSION, WIRE_VERSION } from "../lib/wire";
import type { App } from "../server/app";
import { testApp, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";
import { compileDesiredState } from "../server/services/nodes/desired";
import { deleteNamespaces, nsPrefix, pings, requireKernel, waitFor } from "./kernel";

const run = requireKernel("an agent of the previous release converges against this portal");
const PREFIX = nsPrefix("w");
const NODE_NS = `${PREFIX}n1`;
const OLD_AGENT = path.resolve(import.meta.dirname, "fixtures", "agent-wire1", "agent-wire1.mjs");

describe.runIf(run)("an agent one wire version behind", () => {
  let app: App;
  let srv: Awaited<ReturnType<typeof serveApp>>;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let child: ChildProcess | null = null;
  let log = "";
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-upgrade-agent-"));
  let nodeId = 0;
  let vnetId = 0;
  const node = () => app.db.select().from(nodes).where(eq(nodes.id, nodeId)).get()!;
  const inSync = () => {
    const n = node();
    return n.report?.revision === n.desiredRevision && n.report.ok === true;
  };

  beforeAll(async () => {
    deleteNamespaces(PREFIX);
    app = testApp(path.join(tmp, "db.sqlite"));
    srv = await serveApp(app);
    admin = await userCaller(app, "alice", "admin", 0);
    const vnet = await admin.vnet.create({
      name: "old-agent-net",
      subnet: "10.77.0.0/24",
      gateway: "10.77.0.1",
      firstIp: "10.77.0.10",
      size: 10,
    });
    vnetId = vnet.id;
    const enrolled = await admin.node.create({ name: "node-old" });
    nodeId = enrolled.id;
    await admin.instance.create({ name: "w1", nodeId, nics: [{ vnetId }] });
    child = spawn(
      process.execPath,
      [
        OLD_AGENT,
        "--server",
        srv.url,
        "--token",
        enrolled.joinToken,
        "--netns",
        NODE_NS,
        "--state",
        path.join(tmp, "agent.json"),
        "--interval",
        "1",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout!.on("data", (d) => (log += d));
    child.stderr!.on("data", (d) => (log += d));
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

  it("enrolls, applies its state, and the Nodes page shows it speaks the previous wire", async () => {
    expect(MIN_WIRE_VERSION).toBeLessThan(WIRE_VERSION);
    // The state this portal compiles carries what wire 1 did not know (the network's DHCP service):
    // the old agent parses its strict schema only because the portal leaves that out for it.
    const current = compileDesiredState(app.db, nodeId)!;
    expect(current.networks.find((n) => n.vnetId === vnetId)?.dhcp?.enabled).toBe(true);
    await waitFor(`the old agent to apply its first revision\n${log}`, inSync, 60_000);
    const shown = (await admin.node.list()).items.find((n) => n.id === nodeId)!;
    expect(shown.wireVersion).toBe(MIN_WIRE_VERSION);
    expect(shown.wireOutdated).toBe(true);
    expect(shown.lastError).toBeNull();
    expect(pings(`${NODE_NS}-i${(await admin.instance.list())[0]!.id}`, "10.77.0.1")).toBe(true);
  });

  it("keeps converging: a change made after the upgrade reaches it, and the new guest can reach the first", async () => {
    const before = node().desiredRevision;
    const second = await admin.instance.create({ name: "w2", nodeId, nics: [{ vnetId }] });
    await waitFor(
      `the old agent to apply the new instance\n${log}`,
      () => node().desiredRevision > before && inSync(),
      60_000,
    );
    const first = (await admin.instance.list()).find((i) => i.name === "w1")!;
    const firstIp = first.nics[0]!.ip!;
    expect(pings(`${NODE_NS}-i${second.id}`, firstIp)).toBe(true);
    expect(child!.exitCode).toBeNull();
  });
});
