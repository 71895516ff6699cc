// Rule counters from the nodes' reports to the group's page: stored per node and rule, summed per
// rule, a restarted kernel counter folded into the total, edits keep the counters of the rules they
// keep, and only callers who may see the group see its counters.
import { TRPCError } from "@trpc/server";
import { beforeEach, describe, expect, it } from "vitest";
import type { AgentReport } from "../../lib/wire";
import type { App } from "../app";
import { callerFor, snapshot, testApp, userCaller } from "../harness.testing";

const ssh = { protocol: "TCP", direction: "INBOUND", range: "22" } as const;
const ping = { protocol: "ICMP", direction: "INBOUND", icmpType: 8 } as const;

describe("sg.counters", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let sgId: number;
  let ids: { ssh: number; ping: number };
  const nodes: { id: number; api: ReturnType<typeof callerFor> }[] = [];

  beforeEach(async () => {
    app = testApp();
    nodes.length = 0;
    admin = await userCaller(app, "alice", "admin", 0);
    const vnet = await admin.vnet.create({
      name: "web",
      subnet: "10.5.0.0/24",
      firstIp: "10.5.0.10",
      size: 20,
    });
    const sg = await admin.sg.create({ name: "web-in", rules: [ssh, ping] });
    sgId = sg.id;
    await admin.sg.setVnet({ vnetId: vnet.id, sgId, attached: true });
    for (const name of ["hv1", "hv2"]) {
      const n = await admin.node.create({ name });
      await admin.instance.create({ name: `vm-${name}`, nodeId: n.id, nics: [{ vnetId: vnet.id }] });
      const { credential } = await callerFor(app, null).agent.join({ token: n.joinToken });
      nodes.push({ id: n.id, api: callerFor(app, null, { authorization: `Bearer ${credential}` }) });
    }
    const rules = (await admin.sg.get({ id: sgId })).rules;
    ids = { ssh: rules[0]!.id, ping: rules[1]!.id };
  });

  /** A node's report as its agent sends it, with these counters. */
  const report = (i: number, counters: AgentReport["counters"]) =>
    nodes[i]!.api.agent.report({
      nodeId: nodes[i]!.id,
      revision: 0,
      ok: true,
      operations: 0,
      durationMs: 1,
      networks: [],
      ports: [],
      counters,
    });
  const totals = async (caller = admin) =>
    Object.fromEntries(
      (await caller.sg.counters({ id: sgId })).rules.map((r) => [
        r.ruleId,
        { packets: r.packets, bytes: r.bytes, nodes: r.nodes, resets: r.resets },
      ]),
    );

  it("sums each rule's counters over the nodes that reported them; unreported rules are absent", async () => {
    expect(await totals()).toEqual({});
    await report(0, [{ ruleId: ids.ssh, packets: 3, bytes: 180 }]);
    await report(1, [
      { ruleId: ids.ssh, packets: 2, bytes: 120 },
      { ruleId: ids.ping, packets: 5, bytes: 420 },
    ]);
    expect(await totals()).toEqual({
      [ids.ssh]: { packets: 5, bytes: 300, nodes: 2, resets: 0 },
      [ids.ping]: { packets: 5, bytes: 420, nodes: 1, resets: 0 },
    });
    // A later report replaces that node's figure (the kernel's counter is cumulative).
    await report(0, [{ ruleId: ids.ssh, packets: 4, bytes: 240 }]);
    expect((await totals())[ids.ssh]).toEqual({ packets: 6, bytes: 360, nodes: 2, resets: 0 });
  });

  it("a kernel counter that restarted from zero adds to what was counted before, and the restart is audited", async () => {
    await report(0, [{ ruleId: ids.ssh, packets: 10, bytes: 600 }]);
    await report(0, [{ ruleId: ids.ssh, packets: 1, bytes: 60 }]);
    expect((await totals())[ids.ssh]).toEqual({ packets: 11, bytes: 660, nodes: 1, resets: 1 });
    await report(0, [{ ruleId: ids.ssh, packets: 3, bytes: 180 }]);
    expect((await totals())[ids.ssh]).toEqual({ packets: 13, bytes: 780, nodes: 1, resets: 1 });
    const audit = app.db.$client
      .prepare("SELECT object_name, detail FROM audit_log WHERE action = 'agent.counters'")
      .all() as { object_name: string; detail: string }[];
    expect(audit).toEqual([{ object_name: "hv1", detail: expect.stringMatching(/1 security-group rule/) }]);
  });

  it("a counter of a rule deleted meanwhile is skipped, the rest of the report lands", async () => {
    await report(0, [
      { ruleId: 999_999, packets: 7, bytes: 7 },
      { ruleId: ids.ping, packets: 2, bytes: 168 },
    ]);
    expect(await totals()).toEqual({ [ids.ping]: { packets: 2, bytes: 168, nodes: 1, resets: 0 } });
  });

  it("editing the group keeps the ids and the counters of the rules it keeps; a removed rule's counters go", async () => {
    await report(0, [
      { ruleId: ids.ssh, packets: 4, bytes: 240 },
      { ruleId: ids.ping, packets: 9, bytes: 756 },
    ]);
    // Rule order changed, ping removed, one rule added; "22" spelled the same way.
    const web = { protocol: "TCP", direction: "INBOUND", range: "80,443" } as const;
    await admin.sg.update({ id: sgId, name: "web-in", description: "", rules: [web, ssh] });
    const rules = (await admin.sg.get({ id: sgId })).rules;
    expect(rules[1]!.id).toBe(ids.ssh);
    expect(rules.map((r) => r.id)).not.toContain(ids.ping);
    expect(await totals()).toEqual({ [ids.ssh]: { packets: 4, bytes: 240, nodes: 1, resets: 0 } });
  });

  it("a user who may not see the group gets NOT_FOUND, and sees its counters once it is shared", async () => {
    await report(0, [{ ruleId: ids.ssh, packets: 3, bytes: 180 }]);
    const bob = await userCaller(app, "bob", "user", 1);
    const before = snapshot(app);
    const err = await bob.sg.counters({ id: sgId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe("NOT_FOUND");
    expect(snapshot(app)).toEqual(before);
    await admin.sg.chmod({ id: sgId, perms: 0o604 });
    expect((await totals(bob))[ids.ssh]).toEqual({ packets: 3, bytes: 180, nodes: 1, resets: 0 });
  });

  it("a node cannot report counters as another node", async () => {
    const before = snapshot(app);
    const err = await nodes[0]!.api.agent
      .report({
        nodeId: nodes[1]!.id,
        revision: 0,
        ok: true,
        operations: 0,
        durationMs: 1,
        networks: [],
        ports: [],
        counters: [{ ruleId: ids.ssh, packets: 1, bytes: 1 }],
      })
      .catch((e: unknown) => e);
    expect((err as TRPCError).code).toBe("FORBIDDEN");
    expect(snapshot(app)).toEqual(before);
  });
});
