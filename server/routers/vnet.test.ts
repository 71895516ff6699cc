import { beforeEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { callerFor, refusal, refusedUnchanged, snapshot, testApp, userCaller } from "../harness.testing";

const base = {
  name: "private-a",
  subnet: "10.0.0.0/24",
  gateway: "10.0.0.1",
  dns: "10.0.0.1",
  firstIp: "10.0.0.10",
  size: 100,
};

describe("vnet router", () => {
  let app: App;
  beforeEach(() => {
    app = testApp();
  });

  it("vnet.create says what it changed and what is missing: a normalised subnet, a NAT network without gateway", async () => {
    const admin = await userCaller(app, "alice", "admin", 0);
    const v = await admin.vnet.create({ name: "nat", subnet: "10.0.0.5/24", firstIp: "10.0.0.10", size: 5 });
    expect(v.warnings).toEqual([
      "Subnet 10.0.0.5/24 was saved as 10.0.0.0/24 (host bits cleared)",
      "VNET nat is internal (NAT) but has no gateway: its guests cannot reach the outside; set one under Context",
    ]);
    expect((await admin.vnet.get({ id: v.id })).context.subnet).toBe("10.0.0.0/24");
    // An external network's gateway is the LAN's business; a clean subnet says nothing.
    const ext = await admin.vnet.create({
      name: "lan",
      networkType: "external",
      subnet: "10.1.0.0/24",
      firstIp: "10.1.0.10",
      size: 5,
    });
    expect(ext.warnings).toEqual([]);
  });

  it("vnet.create makes a bridge VNET with a generated bridge name, one range and the default SG", async () => {
    const admin = await userCaller(app, "alice", "admin", 0);
    const v = await admin.vnet.create(base);
    expect(v.bridge).toBe(`bhbr${v.id}`);
    const got = await admin.vnet.get({ id: v.id });
    expect(got.ranges).toHaveLength(1);
    expect(got.ranges[0]).toMatchObject({ ip: "10.0.0.10", size: 100, prefixLength: 24 });
    expect(got.context).toMatchObject({ subnet: "10.0.0.0/24", gateway: "10.0.0.1", dns: ["10.0.0.1"] });
    expect(got.mask).toBe("255.255.255.0");
    const list = await admin.vnet.list();
    expect(list.map((x) => [x.name, x.size, x.used])).toEqual([["private-a", 100, 0]]);
    const sg = app.db.$client.prepare("SELECT sg_id FROM vnet_security_groups WHERE vnet_id = ?").all(v.id);
    expect(sg).toEqual([{ sg_id: 0 }]);
  });

  it("vnet.create refuses a name that is taken, at the name field, and writes nothing", async () => {
    const admin = await userCaller(app, "alice", "admin", 0);
    await admin.vnet.create(base);
    const err = await refusedUnchanged(
      app,
      () => admin.vnet.create({ ...base, firstIp: "10.0.0.50" }),
      "CONFLICT",
      "name",
    );
    expect(err.message).toContain("private-a");
  });

  it.each([
    [{ subnet: "10.0.0.0/33" }, "subnet"],
    [{ subnet: "10.0.0/24" }, "subnet"],
    [{ firstIp: "10.0.1.5" }, "firstIp"],
    [{ size: 300 }, "size"],
    [{ gateway: "10.9.9.9" }, "gateway"],
    [{ firstIp: "10.0.0.1" }, "firstIp"],
    [{ bridge: "this-name-is-far-too-long" }, "bridge"],
    [{ mtu: 70000 }, "mtu"],
    [{ name: "" }, "name"],
  ])("vnet.create refuses bad input %o at field %s and writes nothing", async (patch, field) => {
    const admin = await userCaller(app, "alice", "admin", 0);
    const before = snapshot(app);
    await refusal(admin.vnet.create({ ...base, ...patch }), "BAD_REQUEST", field);
    expect(snapshot(app)).toEqual(before);
  });

  it("vnet.create refuses a bridge name another VNET uses", async () => {
    const admin = await userCaller(app, "alice", "admin", 0);
    await admin.vnet.create({ ...base, bridge: "br-lab" });
    await refusedUnchanged(
      app,
      () => admin.vnet.create({ ...base, name: "other", bridge: "br-lab" }),
      "CONFLICT",
      "bridge",
    );
  });

  it("vnet procedures refuse anonymous callers with UNAUTHORIZED and plain users' admin actions with FORBIDDEN", async () => {
    const anon = callerFor(app, null);
    await refusal(anon.vnet.list(), "UNAUTHORIZED");
    const bob = await userCaller(app, "bob");
    await refusedUnchanged(app, () => bob.vnet.create(base), "FORBIDDEN");
    const audit = app.db.$client
      .prepare("SELECT actor, action, outcome FROM audit_log WHERE action = 'vnet.create'")
      .all();
    expect(audit).toEqual([{ actor: "bob", action: "vnet.create", outcome: "refused" }]);
  });

  it("a user cannot see another user's VNET: NOT_FOUND in get and absent from list", async () => {
    const admin = await userCaller(app, "alice", "admin", 0);
    const v = await admin.vnet.create(base);
    const bob = await userCaller(app, "bob");
    await refusal(bob.vnet.get({ id: v.id }), "NOT_FOUND");
    expect(await bob.vnet.list()).toEqual([]);
  });

  it("vnet.remove refuses a VNET in use, naming the instance, then succeeds once it is free", async () => {
    const admin = await userCaller(app, "alice", "admin", 0);
    const v = await admin.vnet.create(base);
    const node = await admin.node.create({ name: "node1" });
    const inst = await admin.instance.create({ name: "web1", nodeId: node.id, nics: [{ vnetId: v.id }] });
    const err = await refusedUnchanged(app, () => admin.vnet.remove({ id: v.id }), "CONFLICT");
    expect(err.message).toContain("web1");
    await admin.instance.remove({ id: inst.id });
    await admin.vnet.remove({ id: v.id });
    expect(await admin.vnet.list()).toEqual([]);
    const actions = app.db.$client
      .prepare("SELECT action FROM audit_log WHERE outcome = 'ok' ORDER BY id")
      .all();
    expect(actions.map((a) => (a as { action: string }).action)).toEqual([
      "user.create",
      "vnet.create",
      "node.create",
      "instance.create",
      "instance.remove",
      "vnet.remove",
    ]);
  });
});
