import { beforeEach, describe, expect, it } from "vitest";
import type { AgentReport } from "../../lib/wire";
import type { App } from "../app";
import { callerFor, testApp, userCaller } from "../harness.testing";

describe("vnet.underlay: the path MTU each pair of a VXLAN VNET's nodes measured", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let vnetId: number;
  const nodesUp: { id: number; report: (r: Partial<AgentReport>) => Promise<unknown> }[] = [];
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
    vnetId = (await admin.vnet.create({ name: "vx", subnet: "10.5.0.0/24", firstIp: "10.5.0.10", size: 10 }))
      .id;
    await admin.vnet.update({ id: vnetId, driver: "vxlan", vni: 4300, mtu: 1500 });
    nodesUp.length = 0;
    for (const [i, name] of ["n1", "n2"].entries()) {
      const n = await admin.node.create({ name });
      const { credential } = await callerFor(app, null).agent.join({ token: n.joinToken });
      const agent = callerFor(app, null, { authorization: `Bearer ${credential}` });
      const base = {
        nodeId: n.id,
        revision: 0,
        ok: true,
        operations: 0,
        durationMs: 1,
        networks: [],
        ports: [],
      };
      const report = (r: Partial<AgentReport>) =>
        agent.agent.report({ ...base, vtep: `198.18.0.${i + 1}`, ...r });
      await report({});
      await admin.instance.create({ name: `g${i}`, nodeId: n.id, nics: [{ vnetId }] });
      nodesUp.push({ id: n.id, report });
    }
  });

  it("not measured yet, then the measured pairs with the ones too small for guest MTU + 50; a heartbeat keeps them", async () => {
    let u = await admin.vnet.underlay({ id: vnetId });
    expect(u).toMatchObject({ vxlan: true, guestMtu: 1450, needed: 1500, fitsAll: null });
    expect(u.pairs.map((p) => [p.from, p.to, p.mtu, p.fits])).toEqual([
      ["n1", "n2", undefined, true],
      ["n2", "n1", undefined, true],
    ]);
    await nodesUp[0]!.report({ underlayMtu: [{ peer: "198.18.0.2", mtu: 1400 }] });
    await nodesUp[1]!.report({ underlayMtu: [{ peer: "198.18.0.1", mtu: 1500 }] });
    await nodesUp[0]!.report({}); // a heartbeat without measurements
    u = await admin.vnet.underlay({ id: vnetId });
    expect(u.pairs.map((p) => [p.from, p.to, p.mtu, p.fits])).toEqual([
      ["n1", "n2", 1400, false],
      ["n2", "n1", 1500, true],
    ]);
    expect(u.fitsAll).toBe(1400);
    await nodesUp[1]!.report({ underlayMtu: [{ peer: "198.18.0.1", mtu: null }] });
    u = await admin.vnet.underlay({ id: vnetId });
    expect(u.pairs.find((p) => p.from === "n2")).toMatchObject({ mtu: null, fits: false });
  });

  it("a bridge VNET has no underlay to check; another user's VNET is not found", async () => {
    await admin.vnet.update({ id: vnetId, driver: "bridge" });
    expect(await admin.vnet.underlay({ id: vnetId })).toMatchObject({ vxlan: false, pairs: [] });
    const bob = await userCaller(app, "bob", "user", 1);
    await expect(bob.vnet.underlay({ id: vnetId })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
