// The compiled desired state of multi-node networks, against real SQLite through the real
// procedures: each node's underlay as its agent reports it, VXLAN peers from the other nodes
// hosting the VNET (and the bumps that keep them current), VXLAN MTU, routed gateway, external uplink.
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { nodes, vnets } from "../../../db/schema";
import { setVnetDriver } from "../../../lab/cluster";
import type { App } from "../../app";
import { callerFor, testApp, userCaller } from "../../harness.testing";

describe("compiled desired state of multi-node networks", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  const ids: number[] = [];
  let vx = 0;
  const revision = (id: number) => app.db.select().from(nodes).where(eq(nodes.id, id)).get()!.desiredRevision;

  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
    ids.length = 0;
    for (const [k, name] of ["n1", "n2", "n3"].entries()) {
      const n = await admin.node.create({ name });
      await callerFor(app, null).agent.join({ token: n.joinToken, vtep: `198.18.0.${k + 1}`, uplink: "ul0" });
      ids.push(n.id);
    }
    vx = (
      await admin.vnet.create({
        name: "vx",
        subnet: "10.5.0.0/24",
        gateway: "",
        firstIp: "10.5.0.10",
        size: 20,
      })
    ).id;
    setVnetDriver(app, vx, { driver: "vxlan", vni: 5000, mtu: 1500 });
  });

  it("gives each node hosting a VXLAN VNET the VTEPs of the other hosting nodes, and its own underlay", async () => {
    await admin.instance.create({ name: "a", nodeId: ids[0]!, nics: [{ vnetId: vx }] });
    await admin.instance.create({ name: "b", nodeId: ids[1]!, nics: [{ vnetId: vx }] });
    const d1 = await admin.node.desired({ id: ids[0]! });
    expect(d1).toMatchObject({ vtep: "198.18.0.1", uplink: "ul0" });
    expect(d1.networks[0]).toMatchObject({
      driver: "vxlan",
      vni: 5000,
      mtu: 1450,
      vxlanPeers: ["198.18.0.2"],
    });
    expect(d1.ports[0]!.mtu).toBe(1450);
    // n3 hosts nothing: it is nobody's peer and has no network.
    expect((await admin.node.desired({ id: ids[2]! })).networks).toEqual([]);
  });

  it("bumps the other hosting nodes when a node starts or stops hosting the VNET", async () => {
    await admin.instance.create({ name: "a", nodeId: ids[0]!, nics: [{ vnetId: vx }] });
    const before = revision(ids[0]!);
    const b = await admin.instance.create({ name: "b", nodeId: ids[1]!, nics: [{ vnetId: vx }] });
    expect(revision(ids[0]!)).toBeGreaterThan(before);
    const mid = revision(ids[0]!);
    await admin.instance.remove({ id: b.id });
    expect(revision(ids[0]!)).toBeGreaterThan(mid);
    expect((await admin.node.desired({ id: ids[0]! })).networks[0]!.vxlanPeers).toEqual([]);
  });

  it("re-pushes peers when a node reports a new VTEP, and leaves revoked nodes out", async () => {
    await admin.instance.create({ name: "a", nodeId: ids[0]!, nics: [{ vnetId: vx }] });
    const n2 = await admin.node.newToken({ id: ids[1]! });
    const { credential } = await callerFor(app, null).agent.join({ token: n2.joinToken, vtep: "198.18.0.2" });
    await admin.instance.create({ name: "b", nodeId: ids[1]!, nics: [{ vnetId: vx }] });
    const before = revision(ids[0]!);
    const agent = callerFor(app, null, { authorization: `Bearer ${credential}` });
    const report = {
      nodeId: ids[1]!,
      revision: 0,
      ok: true,
      operations: 0,
      durationMs: 1,
      networks: [],
      ports: [],
    };
    await agent.agent.report({ ...report, vtep: "198.18.0.22", uplink: "ul0" });
    expect(revision(ids[0]!)).toBeGreaterThan(before);
    expect((await admin.node.desired({ id: ids[0]! })).networks[0]!.vxlanPeers).toEqual(["198.18.0.22"]);
    const beforeRevoke = revision(ids[0]!);
    await admin.node.revoke({ id: ids[1]! });
    expect(revision(ids[0]!)).toBeGreaterThan(beforeRevoke);
    expect((await admin.node.desired({ id: ids[0]! })).networks[0]!.vxlanPeers).toEqual([]);
  });

  it("gives routed guests the 169.254.0.1 gateway and no bridge address; external networks the node's uplink", async () => {
    const rt = await admin.vnet.create({
      name: "rt",
      subnet: "10.6.0.0/24",
      gateway: "10.6.0.1",
      firstIp: "10.6.0.10",
      size: 5,
    });
    setVnetDriver(app, rt.id, { driver: "routed" });
    const ext = await admin.vnet.create({
      name: "ext",
      subnet: "10.7.0.0/24",
      gateway: "10.7.0.1",
      firstIp: "10.7.0.10",
      size: 5,
      networkType: "external",
    });
    await admin.instance.create({
      name: "r",
      nodeId: ids[0]!,
      nics: [{ vnetId: rt.id }, { vnetId: ext.id }],
    });
    const d = await admin.node.desired({ id: ids[0]! });
    const [routed, external] = d.networks;
    expect(routed).toMatchObject({ driver: "routed" });
    expect(routed?.bridgeAddress).toBeUndefined();
    expect(d.ports[0]).toMatchObject({ gateway: "169.254.0.1", addresses: ["10.6.0.10/24"] });
    expect(external).toMatchObject({ networkType: "external", phydev: "ul0" });
    expect(external?.bridgeAddress).toBeUndefined();
    app.db.update(vnets).set({ applyBridgeAddress: true }).where(eq(vnets.id, ext.id)).run();
    expect((await admin.node.desired({ id: ids[0]! })).networks[1]!.bridgeAddress).toBe("10.7.0.1/24");
  });
});
