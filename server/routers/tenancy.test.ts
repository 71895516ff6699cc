// Templates, quotas, reservations, locks and automatic network selection through the router, on
// a real migrated SQLite database. Every refusal re-reads the database to prove nothing changed.
import { beforeEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { fixtureUser, refusal, refusedUnchanged, snapshot, testApp } from "../harness.testing";

type Caller = ReturnType<typeof fixtureUser>["caller"];

describe("tenancy", () => {
  let app: App;
  let admin: Caller;
  let alice: Caller;
  let bob: Caller;
  let aliceId: string;
  let privateId: number;
  beforeEach(async () => {
    app = testApp();
    admin = fixtureUser(app, "root", "admin", [0]).caller;
    ({ caller: alice, id: aliceId } = fixtureUser(app, "alice", "user", [1]));
    bob = fixtureUser(app, "bob", "user", [1]).caller;
    privateId = (await alice.template.list()).find((t) => t.name === "Private IPv4")!.id;
  });

  async function vxlanTemplate(from: number, to: number) {
    const base = await admin.template.get({ id: privateId });
    const t = await admin.template.clone({ id: privateId, name: "Private VXLAN" });
    await admin.template.update({
      id: t.id,
      name: "Private VXLAN",
      description: "",
      attrs: { ...base.attrs, driver: "vxlan", vniPool: { from, to }, labels: ["tenant"] },
    });
    return t.id;
  }

  it("a fresh install has the Private IPv4 template, usable by the group users", async () => {
    const list = await bob.template.list();
    expect(list.map((t) => [t.name, t.ownerName, t.groupName, t.my])).toEqual([
      ["Private IPv4", "system", "users", { use: true, manage: false, admin: false }],
    ]);
  });

  it("template.allocate for a group that does not exist is refused at groupId, not a server error", async () => {
    const err = await refusedUnchanged(
      app,
      () =>
        admin.template.allocate({
          name: "orphan",
          attrs: { driver: "bridge", networkType: "internal", subnet: "192.168.60.0/24" },
          groupId: 42,
        }),
      "BAD_REQUEST",
      "groupId",
    );
    expect(err.message).toBe("Group 42 does not exist; pick one from the Groups page");
  });

  it("template.instantiate gives the user a VNET of their own with the next VNI of the pool, and preview shows it first", async () => {
    const tid = await vxlanTemplate(5000, 5001);
    const preview = await alice.template.preview({ templateId: tid, name: "net-a", size: 10, ipv6: true });
    expect(preview.ok).toBe(true);
    expect(preview.vnet).toMatchObject({ driver: "vxlan", vni: 5000, pool: "VNI pool 5000–5001" });
    expect(preview.plan).toEqual({
      subnet: "10.128.0.0/24",
      gateway: "10.128.0.1",
      firstIp: "10.128.0.2",
      lastIp: "10.128.0.11",
      size: 10,
    });
    const v = await alice.template.instantiate({ templateId: tid, name: "net-a", size: 10, ipv6: true });
    expect(v).toMatchObject({ vni: 5000, firstIp: "10.128.0.2" });
    const mine = await alice.vnet.mine();
    expect(mine.map((m) => [m.name, m.driver, m.vni, m.size, m.ipv6, m.labels, m.template])).toEqual([
      ["net-a", "vxlan", 5000, 10, true, ["tenant"], "Private VXLAN"],
    ]);
    const b = await bob.template.instantiate({ templateId: tid, name: "net-b", size: 5 });
    expect(b.vni).toBe(5001);
    // Bob cannot see Alice's VNET: not in his lists, NOT_FOUND by id.
    expect((await bob.vnet.list()).map((x) => x.name)).toEqual(["net-b"]);
    expect((await refusal(bob.vnet.get({ id: v.id }))).code).toBe("NOT_FOUND");
  });

  it("an exhausted pool is refused with a message naming the pool, and nothing is created", async () => {
    const tid = await vxlanTemplate(7000, 7000);
    await alice.template.instantiate({ templateId: tid, name: "net-a", size: 4 });
    const before = snapshot(app);
    const err = await refusal(bob.template.instantiate({ templateId: tid, name: "net-b", size: 4 }));
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toContain("VNI pool 7000–7000 of template Private VXLAN is exhausted");
    expect(snapshot(app)).toEqual(before);
    const preview = await bob.template.preview({ templateId: tid, name: "net-b", size: 4 });
    expect(preview.ok).toBe(false);
    expect(preview.problems[0]!.message).toContain("VNI pool 7000–7000");
  });

  it("template.instantiate refuses a size the template does not allow, at the size field", async () => {
    const before = snapshot(app);
    const err = await refusal(alice.template.instantiate({ templateId: privateId, name: "big", size: 300 }));
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.message).toContain("at most 253");
    expect(snapshot(app)).toEqual(before);
  });

  it("VNET and lease quotas refuse the request that would exceed them, naming the quota", async () => {
    await admin.quota.set({ subjectType: "user", subjectId: aliceId, maxVnets: 1, maxLeases: 2 });
    const v = await alice.template.instantiate({ templateId: privateId, name: "q1", size: 10 });
    let before = snapshot(app);
    const err = await refusal(alice.template.instantiate({ templateId: privateId, name: "q2", size: 10 }));
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toContain("VNET quota exceeded: user alice may own at most 1 VNET");
    expect(snapshot(app)).toEqual(before);

    const nodeId = (await admin.node.create({ name: "n1" })).id;
    await alice.instance.create({ name: "i1", nodeId, nics: [{ vnetId: v.id }, { vnetId: v.id }] });
    before = snapshot(app);
    const err2 = await refusal(alice.instance.create({ name: "i2", nodeId, nics: [{ vnetId: v.id }] }));
    expect(err2.message).toContain("Lease quota exceeded: user alice may hold at most 2 addresses (2 in use");
    expect(snapshot(app)).toEqual(before);
    expect((await alice.quota.mine()).user).toMatchObject({
      maxVnets: 1,
      maxLeases: 2,
      usage: { vnets: 1, leases: 2 },
    });

    // A group quota applies to every member; admins are not limited.
    await admin.quota.set({ subjectType: "group", subjectId: "1", maxVnets: 1, maxLeases: null });
    expect(
      (await refusal(bob.template.instantiate({ templateId: privateId, name: "b1", size: 5 }))).message,
    ).toContain("group users may own at most 1 VNET");
  });

  it("vnet.reserve carves addresses of a shared VNET into the user's own VNET, counted in the parent's usage", async () => {
    const parent = await admin.vnet.create({
      name: "shared",
      subnet: "10.5.0.0/24",
      gateway: "10.5.0.1",
      firstIp: "10.5.0.10",
      size: 20,
    });
    await admin.vnet.chgrp({ id: parent.id, groupId: 1 });
    await admin.vnet.chmod({ id: parent.id, perms: "640" });
    const r = await alice.vnet.reserve({ vnetId: parent.id, name: "mine", size: 4 });
    expect(r).toMatchObject({ firstIp: "10.5.0.10", lastIp: "10.5.0.13", size: 4 });
    const shared = (await admin.vnet.list()).find((v) => v.name === "shared")!;
    expect(shared.used).toBe(4);
    const mine = (await alice.vnet.mine()).find((v) => v.name === "mine")!;
    expect(mine).toMatchObject({ parent: "shared", firstIp: "10.5.0.10", size: 4 });
    // Instances on the reservation get the reserved addresses and the parent's MACs.
    const nodeId = (await admin.node.create({ name: "n1" })).id;
    const inst = await alice.instance.create({ name: "i1", nodeId, nics: [{ vnetId: r.id }] });
    expect(inst.nics[0]).toMatchObject({ ip: "10.5.0.10", mac: "02:00:0a:05:00:0a" });
    // A second reservation takes the next free run; a too-large one is refused with nothing changed.
    expect((await bob.vnet.reserve({ vnetId: parent.id, name: "bobs", size: 2 })).firstIp).toBe("10.5.0.14");
    const before = snapshot(app);
    const err = await refusal(bob.vnet.reserve({ vnetId: parent.id, name: "huge", size: 15 }));
    expect(err.message).toContain("no 15 consecutive free addresses");
    expect(snapshot(app)).toEqual(before);
    // The parent cannot go while it has reservations; deleting one gives its addresses back.
    expect((await refusal(admin.vnet.remove({ id: parent.id }))).message).toContain("has reservations");
    // On the node, the reservation's NIC plugs into the parent's network.
    const desired = await admin.node.desired({ id: nodeId });
    expect(desired.networks.map((n) => n.vnetId)).toEqual([parent.id]);
    expect(desired.ports[0]).toMatchObject({ vnetId: parent.id, addresses: ["10.5.0.10/24"] });
    const bobs = (await bob.vnet.mine())[0]!;
    await bob.vnet.remove({ id: bobs.id });
    expect((await admin.vnet.list()).find((v) => v.name === "shared")!.used).toBe(4);
  });

  it("a locked object refuses the locked operations with a message naming the lock level", async () => {
    const v = await alice.template.instantiate({ templateId: privateId, name: "locked", size: 4 });
    await alice.vnet.lock({ id: v.id, level: "manage" });
    let before = snapshot(app);
    const err = await refusal(alice.vnet.rename({ id: v.id, name: "other" }));
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toBe("VNET locked is locked (manage level); unlock it first");
    expect((await refusal(alice.vnet.remove({ id: v.id }))).message).toContain("locked (manage level)");
    expect(
      (await refusal(alice.range.add({ vnetId: v.id, range: { type: "ip4", ip: "10.128.0.100", size: 2 } })))
        .message,
    ).toContain("locked (manage level)");
    expect(
      (await refusal(alice.lease.hold({ vnetId: v.id, from: "10.128.0.3", reason: "x" }))).message,
    ).toContain("locked (manage level)");
    expect(snapshot(app)).toEqual(before);
    // A MANAGE lock still allows USE: an instance may attach a NIC.
    const nodeId = (await admin.node.create({ name: "n1" })).id;
    await alice.instance.create({ name: "i1", nodeId, nics: [{ vnetId: v.id }] });
    // A USE lock refuses that too.
    await alice.vnet.lock({ id: v.id, level: "use" });
    before = snapshot(app);
    const err2 = await refusal(alice.instance.create({ name: "i2", nodeId, nics: [{ vnetId: v.id }] }));
    expect(err2.message).toContain("locked (use level)");
    expect(snapshot(app)).toEqual(before);
    // Admins are held by locks too; unlocking frees the object.
    expect((await refusal(admin.vnet.rename({ id: v.id, name: "x" }))).code).toBe("CONFLICT");
    await alice.vnet.unlock({ id: v.id });
    expect((await alice.vnet.rename({ id: v.id, name: "renamed" })).name).toBe("renamed");
    // Templates lock the same way: USE-locked templates cannot be instantiated.
    await admin.template.lock({ id: privateId, level: "use" });
    expect(
      (await refusal(bob.template.instantiate({ templateId: privateId, name: "n", size: 2 }))).message,
    ).toBe("Template Private IPv4 is locked (use level); unlock it first");
  });

  it("a NIC asking for any VNET gets one in the node's cluster that the owner may use and that meets its requirements, best rank first", async () => {
    const c1 = app.db.$client.prepare("INSERT INTO clusters (name) VALUES ('east')").run()
      .lastInsertRowid as number;
    const nodeId = (await admin.node.create({ name: "n1", clusterId: 0 })).id;
    const eastNode = (await admin.node.create({ name: "n2", clusterId: c1 })).id;
    const mk = async (name: string, size: number, labels: string[], clusterIds = [0]) => {
      const v = await admin.vnet.create({
        name,
        subnet: "10.9.0.0/16",
        firstIp: "10.9.0.10",
        size,
        clusterIds,
        // The candidates differ in labels and size; their addresses may be the same.
        allowOverlap: true,
      });
      await admin.vnet.setLabels({ id: v.id, labels });
      await admin.vnet.chmod({ id: v.id, perms: "604" });
      return v.id;
    };
    await mk("small-prod", 2, ["prod"]);
    const bigProd = await mk("big-prod", 50, ["prod"]);
    await mk("dev", 100, ["dev"]);
    await mk("east-prod", 200, ["prod"], [c1]);
    const hidden = await mk("hidden-prod", 300, ["prod"]);
    await admin.vnet.chmod({ id: hidden, perms: "600" });

    const i = await alice.instance.create({
      name: "auto1",
      nodeId,
      nics: [{ vnetId: "auto", auto: { labels: ["prod"], rank: "most_free" } }],
    });
    expect(i.nics[0]!.vnet).toBe("big-prod");
    const j = await alice.instance.create({
      name: "auto2",
      nodeId,
      nics: [{ vnetId: "auto", auto: { labels: ["prod"], rank: "least_free" } }],
    });
    expect(j.nics[0]!.vnet).toBe("small-prod");
    const k = await alice.instance.create({
      name: "auto3",
      nodeId: eastNode,
      nics: [{ vnetId: "auto", auto: { labels: ["prod"] } }],
    });
    expect(k.nics[0]!.vnet).toBe("east-prod");
    // Requiring more free addresses than any candidate has is refused, naming the node and cluster.
    const before = snapshot(app);
    const err = await refusal(
      alice.instance.create({
        name: "auto4",
        nodeId,
        nics: [{ vnetId: "auto", auto: { labels: ["prod"], minFree: 60 } }],
      }),
    );
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toContain(
      "No VNET matches (label prod, 60 free addresses) on node n1 (cluster default)",
    );
    expect(snapshot(app)).toEqual(before);
    expect(bigProd).toBeGreaterThan(0);
  });

  it("chmod, chgrp and chown are recorded in the audit log, and a refused one too", async () => {
    const v = await alice.template.instantiate({ templateId: privateId, name: "perm", size: 4 });
    // Owners hold USE+MANAGE (600 → owner u+m), not ADMIN: chmod is refused and audited.
    const before = snapshot(app);
    expect((await refusal(alice.vnet.chmod({ id: v.id, perms: "644" }))).code).toBe("FORBIDDEN");
    expect(snapshot(app)).toEqual(before);
    await admin.vnet.chmod({ id: v.id, perms: "744" });
    await alice.vnet.chmod({ id: v.id, perms: "764" });
    const log = await admin.audit.list({ action: "vnet.chmod" });
    expect(log.rows.map((r) => [r.actor, r.outcome, r.detail])).toEqual([
      ["alice", "ok", "744 → 764"],
      ["root", "ok", "600 → 744"],
      ["alice", "refused", "FORBIDDEN: You need ADMIN permission on VNET perm to change its permissions"],
    ]);
    // By object id (refused calls carry the id they asked for), by name, by user, by time window.
    expect((await admin.audit.list({ object: String(v.id), action: "vnet.chmod" })).rows).toHaveLength(3);
    expect((await admin.audit.list({ object: "perm", action: "vnet.chmod" })).rows).toHaveLength(2);
    expect((await admin.audit.list({ actor: "alice", action: "vnet.chmod" })).rows).toHaveLength(2);
    const future = new Date(Date.now() + 60_000);
    expect((await admin.audit.list({ from: future })).rows).toHaveLength(0);
    expect((await admin.audit.list({ to: new Date(0) })).rows).toHaveLength(0);
    expect(
      (await admin.audit.list({ from: new Date(Date.now() - 60_000), to: future })).rows.length,
    ).toBeGreaterThan(3);
    // A refused privileged read is recorded too.
    expect((await refusal(alice.user.list())).code).toBe("FORBIDDEN");
    const reads = await admin.audit.list({ action: "user.list", outcome: "refused" });
    expect(reads.rows.map((r) => r.actor)).toEqual(["alice"]);
  });
});

describe("restricted VNET attributes", () => {
  async function tenantVnet() {
    const app = testApp();
    const admin = fixtureUser(app, "root", "admin", [0]).caller;
    const olga = fixtureUser(app, "olga", "user", [1]).caller;
    const tpl = (await olga.template.list()).find((t) => t.name === "Private IPv4")!;
    const v = await olga.template.instantiate({ templateId: tpl.id, name: "mine", size: 10 });
    const row = () =>
      app.db.$client
        .prepare(
          "SELECT driver, network_type, phydev, vlan_id, bridge, mtu, description FROM vnets WHERE id = ?",
        )
        .get(v.id);
    return { app, admin, olga, id: v.id, tplId: tpl.id, row };
  }

  it("vnet.update refuses the owner of a VNET from Private IPv4 switching it to external on eth0", async () => {
    const { app, olga, id, row } = await tenantVnet();
    const err = await refusedUnchanged(
      app,
      () => olga.vnet.update({ id, networkType: "external", phydev: "eth0" }),
      "FORBIDDEN",
      "networkType",
    );
    expect(err.message).toBe("Only cloud admins may change the network type (networkType) of VNET mine");
    expect(row()).toMatchObject({ network_type: "internal", phydev: null });
  });

  it("vnet.update refuses the owner switching to vlan on a host NIC, even holding every permission bit", async () => {
    const { app, admin, olga, id, row } = await tenantVnet();
    await admin.vnet.chmod({ id, perms: "777" });
    const before = snapshot(app);
    const err = await refusal(
      olga.vnet.update({ id, driver: "vlan", phydev: "eth1", vlanId: 7 }),
      "FORBIDDEN",
      "driver",
    );
    expect(err.message).toContain("driver (driver) of VNET mine");
    await refusal(olga.vnet.update({ id, mtu: 9000 }), "FORBIDDEN", "mtu");
    await refusal(olga.vnet.update({ id, bridge: "eth0" }), "FORBIDDEN", "bridge");
    expect(snapshot(app)).toEqual(before);
    expect(row()).toMatchObject({ driver: "bridge", vlan_id: null, mtu: 1500 });
  });

  it("the owner still changes plain attributes; a cloud admin changes the restricted ones", async () => {
    const { admin, olga, id, row } = await tenantVnet();
    await olga.vnet.update({ id, description: "my lab", antiSpoofing: true, networkType: "internal" });
    expect(row()).toMatchObject({ description: "my lab", network_type: "internal" });
    await admin.vnet.update({ id, networkType: "external", phydev: "eth0", mtu: 9000 });
    expect(row()).toMatchObject({ network_type: "external", phydev: "eth0", mtu: 9000 });
  });

  it("template.instantiate and vnet.clone refuse a non-admin's override of the template's network type", async () => {
    const { app, olga, id, tplId } = await tenantVnet();
    const before = snapshot(app);
    const made = await refusal(
      olga.template.instantiate({ templateId: tplId, name: "ext", size: 4, networkType: "external" }),
      "FORBIDDEN",
      "networkType",
    );
    expect(made.message).toBe(
      "Only cloud admins may change the network type (networkType) of VNET ext (made from template Private IPv4)",
    );
    const copy = await refusal(olga.vnet.clone({ id, name: "ext", phydev: "eth0" }), "FORBIDDEN", "phydev");
    expect(copy.message).toBe(
      "Only cloud admins may change the physical device (phydev) of VNET ext (a copy of mine)",
    );
    expect(snapshot(app)).toEqual(before);
  });

  it("vnet.clone refuses a non-admin's copy of a VNET bridged to a physical device (it would take the uplink)", async () => {
    const { app, admin, olga } = await tenantVnet();
    const ext = await admin.vnet.create({
      name: "outer",
      networkType: "external",
      phydev: "eth0",
      subnet: "192.0.2.0/24",
      firstIp: "192.0.2.10",
      size: 10,
    });
    await admin.vnet.chmod({ id: ext.id, perms: "664" });
    const before = snapshot(app);
    const err = await refusal(olga.vnet.clone({ id: ext.id, name: "my-outer" }), "FORBIDDEN", "phydev");
    expect(err.message).toBe(
      "VNET outer is bridged to the physical device eth0; only a cloud admin may create another network on it. Reserve addresses of it instead",
    );
    expect(snapshot(app)).toEqual(before);
    const copy = await admin.vnet.clone({ id: ext.id, name: "admin-outer" });
    expect(copy.id).toBeGreaterThan(ext.id);
  });

  it("template.update needs the cloud-admin role for restricted attributes, not the ADMIN bit", async () => {
    const { app, admin, olga, tplId } = await tenantVnet();
    const copy = await olga.template.clone({ id: tplId, name: "mine-tpl" });
    await admin.template.chmod({ id: copy.id, perms: "700" });
    const t = await olga.template.get({ id: copy.id });
    const err = await refusedUnchanged(
      app,
      () =>
        olga.template.update({
          id: copy.id,
          name: t.name,
          description: "",
          attrs: { ...t.attrs, mtu: 9000 },
        }),
      "FORBIDDEN",
      "attrs.mtu",
    );
    expect(err.message).toBe("Only cloud admins may change the underlay MTU (mtu) of template mine-tpl");
    await olga.template.update({ id: copy.id, name: t.name, description: "still mine", attrs: t.attrs });
  });
});
