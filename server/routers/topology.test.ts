import { describe, expect, it } from "vitest";
import { callerFor, fixtureUser, testApp } from "../harness.testing";

describe("topology router", () => {
  it("an admin sees every node, VNET, instance and NIC; a user only theirs, and no node error texts", async () => {
    const app = testApp();
    const admin = fixtureUser(app, "root", "admin", [0]).caller;
    const alice = fixtureUser(app, "alice", "user", [1]);
    const prod = await admin.vnet.create({
      name: "prod",
      subnet: "10.5.0.0/24",
      firstIp: "10.5.0.10",
      size: 20,
    });
    const dev = await admin.vnet.create({
      name: "dev",
      subnet: "10.6.0.0/24",
      firstIp: "10.6.0.10",
      size: 20,
    });
    const n1 = await admin.node.create({ name: "n1" });
    const n2 = await admin.node.create({ name: "n2" });
    await callerFor(app, null).agent.join({ token: n2.joinToken });
    app.db.$client
      .prepare("UPDATE nodes SET last_error = 'bridge bh9 of tenant x failed' WHERE id = ?")
      .run(n2.id);
    await admin.instance.create({
      name: "web1",
      nodeId: n1.id,
      nics: [{ vnetId: prod.id }, { vnetId: dev.id }],
    });
    await admin.instance.create({ name: "web2", nodeId: n2.id, nics: [{ vnetId: prod.id }] });
    // Alice may use dev (group users, USE for the group) and owns one instance on n2.
    app.db.$client.prepare("UPDATE vnets SET group_id = 1, perms = ? WHERE id = ?").run(0o640, dev.id);
    const mine = await admin.instance.create({ name: "alice-vm", nodeId: n2.id, nics: [{ vnetId: dev.id }] });
    app.db.$client.prepare("UPDATE instances SET owner_id = ? WHERE id = ?").run(alice.id, mine.id);

    const all = await admin.topology.get();
    expect(all.nodes).toEqual([
      { id: n1.id, name: "n1", state: "pending" },
      { id: n2.id, name: "n2", state: "disconnected", error: "bridge bh9 of tenant x failed" },
    ]);
    expect(all.vnets.map((v) => [v.name, v.nodeIds])).toEqual([
      ["dev", [n1.id, n2.id]],
      ["prod", [n1.id, n2.id]],
    ]);
    expect(all.instances.map((i) => i.name)).toEqual(["alice-vm", "web1", "web2"]);
    expect(all.nics).toHaveLength(4);
    expect(all.nics.find((n) => n.instanceId !== mine.id && n.vnetId === prod.id)?.ip).toBe("10.5.0.10");

    const hers = await alice.caller.topology.get();
    expect(hers.nodes).toEqual([{ id: n2.id, name: "n2", state: "disconnected" }]);
    expect(hers.vnets.map((v) => [v.name, v.nodeIds])).toEqual([["dev", [n2.id]]]);
    expect(hers.instances.map((i) => i.name)).toEqual(["alice-vm"]);
    expect(hers.nics.map((n) => n.instanceId)).toEqual([mine.id]);
  });
});
