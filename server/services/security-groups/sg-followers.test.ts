// NETWORK_ID rules follow the leases of the VNET they name: every change to those leases (instance
// created or deleted, hold placed or released) bumps the nodes whose NICs are under such a rule, and
// their desired state carries the VNET's addresses as they are now; other nodes are left alone.
import { beforeEach, describe, expect, it } from "vitest";
import { desiredStateSchema } from "../../../lib/wire";
import type { App } from "../../app";
import { testApp, userCaller } from "../../harness.testing";

describe("NETWORK_ID rules follow the leases of their VNET", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
  });
  const rev = (id: number) =>
    (app.db.$client.prepare("SELECT desired_revision d FROM nodes WHERE id = ?").get(id) as { d: number }).d;

  it("bumps the nodes under the rule on every lease change of the VNET, with the addresses as they are now", async () => {
    const a = await admin.vnet.create({
      name: "apps",
      subnet: "10.31.0.0/24",
      firstIp: "10.31.0.10",
      size: 10,
    });
    const b = await admin.vnet.create({
      name: "admins",
      subnet: "10.32.0.0/24",
      firstIp: "10.32.0.10",
      size: 10,
    });
    const c = await admin.vnet.create({
      name: "other",
      subnet: "10.33.0.0/24",
      firstIp: "10.33.0.10",
      size: 10,
    });
    const [n1, n2, n3] = await Promise.all(["n1", "n2", "n3"].map((name) => admin.node.create({ name })));
    const sg = await admin.sg.create({
      name: "from-admins",
      rules: [{ protocol: "TCP", direction: "INBOUND", range: "22", networkId: b.id }],
    });
    await admin.sg.setVnet({ vnetId: a.id, sgId: sg.id, attached: true });
    await admin.sg.setVnet({ vnetId: a.id, sgId: 0, attached: false });
    await admin.instance.create({ name: "app1", nodeId: n1!.id, nics: [{ vnetId: a.id }] });
    await admin.instance.create({ name: "bystander", nodeId: n3!.id, nics: [{ vnetId: c.id }] });
    const spans = async () => {
      const d = desiredStateSchema.parse(await admin.node.desired({ id: n1!.id }));
      return d.securityGroups?.find((g) => g.sgId === sg.id)?.rules.map((r) => r.spans);
    };
    // VNET B has no lease yet: the rule matches nothing, so the node gets no rule.
    expect(await spans()).toEqual([]);

    const r1 = rev(n1!.id);
    const r3 = rev(n3!.id);
    const adm = await admin.instance.create({ name: "admin1", nodeId: n2!.id, nics: [{ vnetId: b.id }] });
    expect(rev(n1!.id)).toBeGreaterThan(r1);
    expect(await spans()).toEqual([[{ first: "10.32.0.10", size: 1 }]]);
    // The group's NICs are outdated until node 1 applies that revision.
    const got = await admin.sg.get({ id: sg.id });
    expect(got.revision).toBe(rev(n1!.id));
    expect(got.nics.map((n) => n.status)).toEqual(["outdated"]);

    const r2 = rev(n1!.id);
    await admin.lease.hold({ vnetId: b.id, from: "10.32.0.11", reason: "jump host" });
    expect(rev(n1!.id)).toBeGreaterThan(r2);
    expect(await spans()).toEqual([[{ first: "10.32.0.10", size: 2 }]]);

    const r4 = rev(n1!.id);
    await admin.instance.remove({ id: adm.id });
    await admin.lease.release({ vnetId: b.id, from: "10.32.0.11" });
    expect(rev(n1!.id)).toBeGreaterThan(r4);
    expect(await spans()).toEqual([]);

    // A node with no NIC under such a rule was never bumped by any of it.
    expect(rev(n3!.id)).toBe(r3);
  });
});
