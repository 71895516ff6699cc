import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { nodes, user } from "../../db/schema";
import type { App } from "../app";
import { audit } from "../audit";
import { testApp, userCaller } from "../harness.testing";

type Caller = Awaited<ReturnType<typeof userCaller>>;
const vnet = (name: string, third: number, size: number) => ({
  name,
  subnet: `10.${third}.0.0/24`,
  gateway: `10.${third}.0.1`,
  firstIp: `10.${third}.0.10`,
  size,
});

describe("dashboard router", () => {
  let app: App;
  let admin: Caller;
  let bob: Caller;
  let bobId: string;
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
    bob = await userCaller(app, "bob", "user", 1);
    bobId = app.db.select().from(user).where(eq(user.username, "bob")).get()!.id;
  });

  /** An enrolled node whose agent is connected and reported `at`, with optional failing ports. */
  function report(id: number, opts: { error?: string; failed?: number[]; applied?: number } = {}) {
    const n = app.db.select().from(nodes).where(eq(nodes.id, id)).get()!;
    app.db
      .update(nodes)
      .set({
        enrolledAt: new Date(),
        lastSeenAt: new Date(),
        lastError: opts.error ?? null,
        appliedRevision: opts.applied ?? n.desiredRevision,
        report: {
          revision: n.desiredRevision,
          at: new Date().toISOString(),
          ok: !opts.error,
          operations: 0,
          durationMs: 1,
          networks: [],
          ports: (opts.failed ?? []).map((nicId) => ({ nicId, ok: false, error: "veth refused" })),
        },
      })
      .where(eq(nodes.id, id))
      .run();
    app.agents.open(id);
  }

  it("dashboard.get counts nodes by health worst first and lists the ones that need attention", async () => {
    const ids: Record<string, number> = {};
    for (const name of ["n-ok", "n-err", "n-old", "n-gone", "n-new"])
      ids[name] = (await admin.node.create({ name })).id;
    report(ids["n-ok"]!);
    report(ids["n-err"]!, { error: "nft: syntax error" });
    report(ids["n-old"]!, { applied: 0 });
    app.db.update(nodes).set({ desiredRevision: 99 }).where(eq(nodes.id, ids["n-old"]!)).run();
    // Enrolled, but its last report is older than BRIDGEHEAD_NODE_DOWN_AFTER_S.
    app.db
      .update(nodes)
      .set({ enrolledAt: new Date(), lastSeenAt: new Date(Date.now() - 3_600_000) })
      .where(eq(nodes.id, ids["n-gone"]!))
      .run();

    const d = await admin.dashboard.get();
    expect(d.scope).toBe("cloud");
    expect(d.nodes).toMatchObject({
      total: 5,
      connected: 3,
      counts: { error: 1, disconnected: 1, outdated: 1, pending: 1, "in sync": 1, revoked: 0 },
    });
    expect(d.nodes!.attention.map((n) => [n.name, n.state])).toEqual([
      ["n-err", "error"],
      ["n-gone", "disconnected"],
      ["n-old", "outdated"],
    ]);
    expect(d.nodes!.attention[0]!.lastError).toBe("nft: syntax error");
  });

  it("dashboard.get lists VNETs fullest first and NICs in error before outdated ones", async () => {
    const small = (await admin.vnet.create(vnet("small", 1, 2))).id;
    const big = (await admin.vnet.create(vnet("big", 2, 100))).id;
    const node = (await admin.node.create({ name: "node1" })).id;
    const a = await admin.instance.create({ name: "a", nodeId: node, nics: [{ vnetId: small }] });
    await admin.instance.create({ name: "b", nodeId: node, nics: [{ vnetId: big }] });
    await admin.lease.hold({ vnetId: small, from: "10.1.0.11", reason: "router" });
    report(node, { failed: [a.nics[0]!.nicId] });

    const d = await admin.dashboard.get();
    expect(d.vnets.fullest.map((v) => [v.name, v.used, v.held, v.size])).toEqual([
      ["small", 2, 1, 2],
      ["big", 1, 0, 100],
    ]);
    expect(d.nics).toMatchObject({ total: 2, error: 1, outdated: 0 });
    expect(d.nics.attention).toEqual([
      expect.objectContaining({ name: "a eth0", status: "error", error: "veth refused", vnetName: "small" }),
    ]);

    // A change the node has not applied yet makes its healthy NIC outdated.
    app.db.update(nodes).set({ desiredRevision: 999 }).where(eq(nodes.id, node)).run();
    const later = await admin.dashboard.get();
    expect(later.nics).toMatchObject({ error: 1, outdated: 1 });
    expect(later.nics.attention.map((n) => n.status)).toEqual(["error", "outdated"]);
  });

  it("an end user's dashboard shows only their own VNETs, NICs and audit entries, and no nodes", async () => {
    const mine = (await admin.vnet.create(vnet("bob-net", 3, 10))).id;
    const theirs = (await admin.vnet.create(vnet("alice-net", 4, 10))).id;
    await admin.vnet.chown({ id: mine, userId: bobId });
    const node = (await admin.node.create({ name: "node1" })).id;
    const own = await bob.instance.create({ name: "bob-vm", nodeId: node, nics: [{ vnetId: mine }] });
    const other = await admin.instance.create({ name: "alice-vm", nodeId: node, nics: [{ vnetId: theirs }] });
    report(node, { failed: [own.nics[0]!.nicId, other.nics[0]!.nicId], error: "port failed" });

    const d = await bob.dashboard.get();
    expect(d.scope).toBe("own");
    expect(d.nodes).toBeNull();
    expect(d.events).toBeNull();
    expect(d.vnets.total).toBe(1);
    expect(d.vnets.fullest.map((v) => v.name)).toEqual(["bob-net"]);
    expect(d.nics).toMatchObject({ total: 1, error: 1 });
    expect(d.nics.attention.map((n) => n.instanceName)).toEqual(["bob-vm"]);
    expect(d.audit.length).toBeGreaterThan(0);
    expect(d.audit.every((e) => e.actor === "bob")).toBe(true);
    expect(JSON.stringify(d)).not.toContain("alice-");

    // The admin sees both, and the failed apply among the recent agent events.
    const all = await admin.dashboard.get();
    expect(all.nics.total).toBe(2);
    expect(all.audit.some((e) => e.actor === "bob")).toBe(true);
  });

  it("recent agent events list drift repairs and failed applies, newest first", async () => {
    const node = (await admin.node.create({ name: "node1" })).id;
    const agent = { userId: null, name: "node:node1", ip: null };
    audit(app.db, agent, { action: "agent.report", objectType: "node", objectId: node, objectName: "node1" });
    audit(app.db, agent, {
      action: "agent.report",
      objectType: "node",
      objectId: node,
      objectName: "node1",
      outcome: "error",
      detail: "nft: syntax error",
    });
    audit(app.db, agent, {
      action: "agent.repair",
      objectType: "node",
      objectId: node,
      objectName: "node1",
      detail: "repaired drift: bridge bhbr1 was down",
    });
    const d = await admin.dashboard.get();
    expect(d.events!.map((e) => [e.action, e.detail])).toEqual([
      ["agent.repair", "repaired drift: bridge bhbr1 was down"],
      ["agent.report", "nft: syntax error"],
    ]);
  });
});
