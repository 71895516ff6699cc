import { beforeEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { refusal, snapshot, testApp, userCaller } from "../harness.testing";
import { fieldErrorsOf } from "../trpc";

describe("instance router", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let vnetId: number;
  let nodeId: number;
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
    nodeId = (await admin.node.create({ name: "node1" })).id;
  });

  it("instance.create gives each NIC the lowest free address and the 02:00:<IPv4> MAC, and bumps the node revision", async () => {
    const before = (await admin.node.list()).items[0]!.desiredRevision;
    const a = await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId }] });
    expect(a.nics).toEqual([
      {
        nicId: expect.any(Number),
        vnetId: expect.any(Number),
        vnet: "tiny",
        ip: "10.1.0.10",
        ip6: null,
        mac: "02:00:0a:01:00:0a",
        portKind: "guest",
      },
    ]);
    const after = (await admin.node.list()).items[0]!.desiredRevision;
    expect(after).toBeGreaterThan(before);
    const desired = await admin.node.desired({ id: nodeId });
    expect(desired.revision).toBe(after);
    expect(desired.networks).toEqual([
      expect.objectContaining({
        bridge: `bhbr${vnetId}`,
        bridgeAddress: "10.1.0.1/24",
        subnet: "10.1.0.0/24",
      }),
    ]);
    expect(desired.ports).toEqual([
      expect.objectContaining({
        guestIf: "eth0",
        mac: "02:00:0a:01:00:0a",
        addresses: ["10.1.0.10/24"],
        gateway: "10.1.0.1",
        defaultRoute: true,
      }),
    ]);
  });

  it("instance.create takes a requested free address, and after a release the lowest free one is reused", async () => {
    const b = await admin.instance.create({ name: "b", nodeId, nics: [{ vnetId, ip: "10.1.0.11" }] });
    expect(b.nics[0]!.ip).toBe("10.1.0.11");
    const c = await admin.instance.create({ name: "c", nodeId, nics: [{ vnetId }] });
    expect(c.nics[0]!.ip).toBe("10.1.0.10");
    await admin.instance.remove({ id: c.id });
    const d = await admin.instance.create({ name: "d", nodeId, nics: [{ vnetId }] });
    expect(d.nics[0]!.ip).toBe("10.1.0.10");
    const history = await admin.lease.history({ vnetId });
    expect(history.map((h) => [h.ip, h.action, h.instance])).toEqual([
      ["10.1.0.10", "allocate", "d"],
      ["10.1.0.10", "release", "c"],
      ["10.1.0.10", "allocate", "c"],
      ["10.1.0.11", "allocate", "b"],
    ]);
  });

  it("instance.create refuses an address in use or outside every range, at the NIC's ip field, writing nothing", async () => {
    await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId, ip: "10.1.0.12" }] });
    const before = snapshot(app);
    const used = await refusal(
      admin.instance.create({ name: "b", nodeId, nics: [{ vnetId, ip: "10.1.0.12" }] }),
    );
    expect(used.code).toBe("CONFLICT");
    expect(fieldErrorsOf(used.cause)).toEqual({ "nics.0.ip": [expect.stringContaining("already in use")] });
    const outside = await refusal(
      admin.instance.create({ name: "b", nodeId, nics: [{ vnetId, ip: "10.1.0.200" }] }),
    );
    expect(outside.code).toBe("BAD_REQUEST");
    expect(fieldErrorsOf(outside.cause)).toEqual({
      "nics.0.ip": [expect.stringContaining("not in any address range of VNET tiny")],
    });
    expect(snapshot(app)).toEqual(before);
  });

  it("an exhausted VNET is a CONFLICT naming the VNET and its usage, and the whole instance is rolled back", async () => {
    await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId }, { vnetId }, { vnetId }] });
    const before = snapshot(app);
    const err = await refusal(admin.instance.create({ name: "b", nodeId, nics: [{ vnetId }] }));
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toBe(
      "No free address left in VNET tiny (3 of 3 used); add or resize an address range",
    );
    expect(snapshot(app)).toEqual(before);
  });

  it("a user may not put a NIC on a VNET they cannot use, and sees only their own instances", async () => {
    const bob = await userCaller(app, "bob");
    const before = snapshot(app);
    const err = await refusal(bob.instance.create({ name: "x", nodeId, nics: [{ vnetId }] }));
    expect(err.code).toBe("BAD_REQUEST");
    expect(fieldErrorsOf(err.cause)).toEqual({ "nics.0.vnetId": [`VNET ${vnetId} not found`] });
    expect(snapshot(app)).toEqual(before);
    await admin.instance.create({ name: "mine", nodeId, nics: [{ vnetId }] });
    expect(await bob.instance.list()).toEqual([]);
    const [inst] = await admin.instance.list();
    expect((await refusal(bob.instance.remove({ id: inst!.id }))).code).toBe("NOT_FOUND");
  });
});
