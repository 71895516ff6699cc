import { beforeEach, describe, expect, it } from "vitest";
import { tapDeviceName } from "../../lib/wire";
import type { App } from "../app";
import { callerFor, refusal, snapshot, testApp, userCaller } from "../harness.testing";
import { fieldErrorsOf } from "../trpc";

describe("NIC hot-plug (instance.addNic / updateNic / removeNic)", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let vnetId: number;
  let v6Id: number;
  let routedId: number;
  let nodeId: number;
  let instanceId: number;
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
    vnetId = (
      await admin.vnet.create({
        name: "tiny",
        subnet: "10.1.0.0/24",
        gateway: "10.1.0.1",
        firstIp: "10.1.0.10",
        size: 3,
      })
    ).id;
    v6Id = (
      await admin.vnet.create({
        name: "six",
        subnet: "10.2.0.0/24",
        gateway: "10.2.0.1",
        firstIp: "10.2.0.10",
        size: 4,
      })
    ).id;
    await admin.range.add({ vnetId: v6Id, range: { type: "ip6_static", ip6: "2001:db8:6::100", size: 16 } });
    routedId = (
      await admin.vnet.create({
        name: "rt",
        driver: "routed",
        subnet: "10.3.0.0/24",
        gateway: "10.3.0.1",
        firstIp: "10.3.0.10",
        size: 4,
      })
    ).id;
    nodeId = (await admin.node.create({ name: "node1" })).id;
    instanceId = (await admin.instance.create({ name: "vm", nodeId, nics: [{ vnetId }] })).id;
  });

  const nicsOf = async () => (await admin.instance.list()).find((i) => i.id === instanceId)!.nics;
  const revision = async () => (await admin.node.list()).items[0]!.desiredRevision;

  it("addNic gives the next interface a lease (requested IPv6 too), the node's desired state gains the port, the revision moves", async () => {
    const before = await revision();
    const nic = await admin.instance.addNic({ instanceId, nic: { vnetId: v6Id, ip6: "2001:db8:6::105" } });
    expect(nic).toMatchObject({ idx: 1, vnet: "six", ip6: "2001:db8:6::105" });
    expect(await revision()).toBeGreaterThan(before);
    const desired = await admin.node.desired({ id: nodeId });
    expect(desired.ports.map((p) => [p.guestIf, p.addresses6 ?? []])).toEqual([
      ["eth0", []],
      ["eth1", ["2001:db8:6::105"]],
    ]);
    const tap = await admin.instance.addNic({ instanceId, nic: { vnetId, portKind: "tap" } });
    expect((await admin.node.desired({ id: nodeId })).ports.find((p) => p.nicId === tap.nicId)).toMatchObject(
      {
        kind: "tap",
        dev: tapDeviceName(tap.nicId),
        guestIf: "eth2",
      },
    );
    expect((await nicsOf()).map((n) => n.dev)).toEqual([null, null, tapDeviceName(tap.nicId)]);
  });

  it("updateNic moves a NIC to a requested address: the old lease is free again, the new one is the NIC's", async () => {
    const [eth0] = await nicsOf();
    expect(eth0!.ip).toBe("10.1.0.10");
    const moved = await admin.instance.updateNic({ nicId: eth0!.nicId, ip: "10.1.0.12" });
    expect(moved.ip).toBe("10.1.0.12");
    expect((await admin.node.desired({ id: nodeId })).ports[0]!.addresses).toEqual(["10.1.0.12/24"]);
    // The released address is the lowest free one again.
    const other = await admin.instance.create({ name: "other", nodeId, nics: [{ vnetId }] });
    expect(other.nics[0]!.ip).toBe("10.1.0.10");
    const onSix = await admin.instance.updateNic({ nicId: eth0!.nicId, vnetId: v6Id, portKind: "tap" });
    expect(onSix).toMatchObject({ vnet: "six", ip: "10.2.0.10", portKind: "tap" });
    expect(
      (await admin.node.desired({ id: nodeId })).ports.find((p) => p.nicId === eth0!.nicId),
    ).toMatchObject({ vnetId: v6Id, kind: "tap", addresses: ["10.2.0.10/24"] });
  });

  it("removeNic releases the lease and drops the port from the node's desired state", async () => {
    const added = await admin.instance.addNic({ instanceId, nic: { vnetId } });
    await admin.instance.removeNic({ nicId: added.nicId });
    expect((await nicsOf()).map((n) => n.idx)).toEqual([0]);
    expect((await admin.node.desired({ id: nodeId })).ports.map((p) => p.nicId)).not.toContain(added.nicId);
    const again = await admin.instance.addNic({ instanceId, nic: { vnetId, ip: added.ip ?? undefined } });
    expect(again.ip).toBe(added.ip);
  });

  it("refuses an address in use, an IPv6 that is not the requested IPv4's, and a tap on a routed VNET, at the field, writing nothing", async () => {
    const [eth0] = await nicsOf();
    const before = snapshot(app);
    const used = await refusal(admin.instance.addNic({ instanceId, nic: { vnetId, ip: eth0!.ip! } }));
    expect(used.code).toBe("CONFLICT");
    expect(fieldErrorsOf(used.cause)).toEqual({ "nic.ip": [expect.stringContaining("already in use")] });
    const routed = await refusal(
      admin.instance.addNic({ instanceId, nic: { vnetId: routedId, portKind: "tap" } }),
    );
    expect(routed.code).toBe("BAD_REQUEST");
    expect(fieldErrorsOf(routed.cause)).toEqual({
      "nic.portKind": [expect.stringContaining("VNET rt is routed")],
    });
    const badIp6 = await refusal(
      admin.instance.addNic({ instanceId, nic: { vnetId: v6Id, ip6: "fe80::zz" } }),
    );
    expect(badIp6.code).toBe("BAD_REQUEST");
    expect(fieldErrorsOf(badIp6.cause)).toEqual({
      "nic.ip6": [expect.stringContaining("fe80::zz is not an IPv6 address")],
    });
    const moveUsed = await refusal(admin.instance.updateNic({ nicId: eth0!.nicId, ip: "10.1.0.99" }));
    expect(moveUsed.code).toBe("BAD_REQUEST");
    expect(fieldErrorsOf(moveUsed.cause)).toEqual({
      ip: [expect.stringContaining("not in any address range")],
    });
    expect(snapshot(app)).toEqual(before);
  });

  it("another user's instance and NICs are NOT_FOUND for every hot-plug call, and nothing changes", async () => {
    const bob = await userCaller(app, "bob");
    const [eth0] = await nicsOf();
    const before = snapshot(app);
    for (const call of [
      bob.instance.addNic({ instanceId, nic: { vnetId } }),
      bob.instance.updateNic({ nicId: eth0!.nicId, ip: "10.1.0.11" }),
      bob.instance.removeNic({ nicId: eth0!.nicId }),
    ])
      expect((await refusal(call)).code).toBe("NOT_FOUND");
    expect(snapshot(app)).toEqual(before);
  });
});

describe("instance.get: one instance with each NIC's port state on its node", () => {
  it("pending until the node applies the revision, applied after, the port's own error when it fails; others' instances are not found", async () => {
    const app = testApp();
    const admin = await userCaller(app, "alice", "admin", 0);
    const bob = await userCaller(app, "bob", "user", 0);
    const vnetId = (
      await admin.vnet.create({
        name: "n",
        subnet: "10.4.0.0/24",
        gateway: "10.4.0.1",
        firstIp: "10.4.0.10",
        size: 8,
      })
    ).id;
    const node = await admin.node.create({ name: "node1" });
    const { credential } = await callerFor(app, null).agent.join({ token: node.joinToken });
    const agent = callerFor(app, null, { authorization: `Bearer ${credential}` });
    const inst = await admin.instance.create({
      name: "vm",
      nodeId: node.id,
      nics: [{ vnetId }, { vnetId, portKind: "tap" }],
    });
    const got = await admin.instance.get({ id: inst.id });
    expect(got.nics.map((n) => [n.idx, n.portKind, n.dev, n.state])).toEqual([
      [0, "guest", null, "pending"],
      [1, "tap", tapDeviceName(got.nics[1]!.nicId), "pending"],
    ]);
    expect(got.node).toMatchObject({ inSync: false, enrolled: true, reported: false });

    const revision = (await admin.node.list()).items[0]!.desiredRevision;
    const [eth0, eth1] = got.nics;
    await agent.agent.report({
      nodeId: node.id,
      revision,
      ok: false,
      error: "one port failed",
      operations: 3,
      durationMs: 5,
      networks: [],
      ports: [
        { nicId: eth0!.nicId, ok: true },
        { nicId: eth1!.nicId, ok: false, error: "Cannot find device bhvt2" },
      ],
    });
    const after = await admin.instance.get({ id: inst.id });
    expect(after.node).toMatchObject({ inSync: false, reported: true, appliedRevision: revision });
    expect(after.nics.map((n) => [n.state, n.error])).toEqual([
      ["applied", null],
      ["error", "Cannot find device bhvt2"],
    ]);

    await expect(bob.instance.get({ id: inst.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(admin.instance.get({ id: 999 })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "Instance 999 not found",
    });
  });
});
