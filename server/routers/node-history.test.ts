import { beforeEach, describe, expect, it } from "vitest";
import type { AgentReport } from "../../lib/wire";
import type { App } from "../app";
import { callerFor, refusal, testApp, userCaller } from "../harness.testing";
import { NODE_APPLY_HISTORY } from "../services/nodes/apply-history";

describe("node.history: a node's recent applies, repairs and failed applies", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  const enrolled = async (name: string) => {
    const n = await admin.node.create({ name });
    const { credential } = await callerFor(app, null).agent.join({ token: n.joinToken });
    const agent = callerFor(app, null, { authorization: `Bearer ${credential}` });
    const base = { nodeId: n.id, revision: 0, ok: true, networks: [], ports: [] };
    const report = (r: Partial<AgentReport> & { operations: number; durationMs: number }) =>
      agent.agent.report({ ...base, ...r });
    return { id: n.id, report };
  };
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
  });

  it("keeps every command of an apply, ignores heartbeats and no-op reconciles, and lists newest first", async () => {
    const n = await enrolled("node1");
    const ops = Array.from({ length: 120 }, (_, i) => `ip link add bh-p${i} type veth peer name g${i}`);
    await n.report({ revision: 3, operations: 120, durationMs: 812.37, ops });
    // The same result again (heartbeat, retried delivery) is not a second apply.
    await n.report({ revision: 3, operations: 120, durationMs: 812.37, ops });
    await n.report({ revision: 3, operations: 0, durationMs: 41.2 });
    // The next reconcile that does one small thing must not hide the big apply before it.
    await n.report({
      revision: 4,
      operations: 1,
      durationMs: 12.5,
      ops: ["nft -f -  # record the loaded form"],
    });
    const h = await admin.node.history({ id: n.id });
    expect(h.node).toEqual({ id: n.id, name: "node1" });
    expect(h.entries.map((e) => [e.kind, e.revision, e.operations, e.ops.length])).toEqual([
      ["apply", 4, 1, 1],
      ["apply", 3, 120, 120],
    ]);
    expect(h.entries[1]!.ops).toEqual(ops);
    expect(h.entries[1]!.durationMs).toBe(812.37);
  });

  it("records a drift repair with its commands and a failed apply once however often it is retried", async () => {
    const n = await enrolled("node1");
    const repaired = [
      "ip link set bh-br1 up",
      "bridge fdb append 00:00:00:00:00:00 dev bh-vx1 dst 198.18.0.2",
    ];
    await n.report({ revision: 2, operations: 2, durationMs: 30.1, ops: repaired, repairs: repaired });
    for (const d of [20.1, 21.4, 19.9])
      await n.report({ revision: 5, ok: false, error: "nft: Protocol error", operations: 0, durationMs: d });
    await n.report({
      revision: 5,
      ok: false,
      error: "ip: RTNETLINK answers: File exists",
      operations: 0,
      durationMs: 9,
    });
    const h = await admin.node.history({ id: n.id });
    expect(h.entries.map((e) => ({ kind: e.kind, error: e.error, repeats: e.repeats, ops: e.ops }))).toEqual([
      { kind: "error", error: "ip: RTNETLINK answers: File exists", repeats: 1, ops: [] },
      { kind: "error", error: "nft: Protocol error", repeats: 3, ops: [] },
      { kind: "repair", error: null, repeats: 1, ops: repaired },
    ]);
  });

  it(`keeps the last ${NODE_APPLY_HISTORY} entries per node, each node its own`, async () => {
    const a = await enrolled("node1");
    const b = await enrolled("node2");
    for (let i = 1; i <= NODE_APPLY_HISTORY + 5; i++)
      await a.report({ revision: i, operations: 1, durationMs: i, ops: [`ip link set bh-br${i} up`] });
    await b.report({ revision: 1, operations: 1, durationMs: 1, ops: ["ip link add bh-br9 type bridge"] });
    const h = await admin.node.history({ id: a.id });
    expect(h.entries).toHaveLength(NODE_APPLY_HISTORY);
    expect(h.entries[0]!.revision).toBe(NODE_APPLY_HISTORY + 5);
    expect(h.entries.at(-1)!.revision).toBe(6);
    const count = app.db.$client
      .prepare("SELECT node_id, count(*) AS n FROM node_applies GROUP BY node_id")
      .all();
    expect(count).toEqual([
      { node_id: a.id, n: NODE_APPLY_HISTORY },
      { node_id: b.id, n: 1 },
    ]);
    // Deleting a node deletes its history.
    await admin.node.remove({ id: b.id });
    expect(
      app.db.$client.prepare("SELECT count(*) AS n FROM node_applies WHERE node_id = ?").get(b.id),
    ).toEqual({
      n: 0,
    });
  });

  it("is for admins only and names an unknown node", async () => {
    const n = await enrolled("node1");
    const user = await userCaller(app, "bob", "user", 1);
    expect((await refusal(user.node.history({ id: n.id }))).code).toBe("FORBIDDEN");
    expect((await refusal(admin.node.history({ id: 999 }))).message).toBe("Node 999 not found");
  });
});
