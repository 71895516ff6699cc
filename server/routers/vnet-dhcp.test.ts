// vnet.dhcp / vnet.setDhcp on a real migrated database: what the DHCP & DNS tab shows and changes,
// what reaches the nodes' desired state, and refusals that name their field and write nothing.
import { beforeEach, describe, expect, it } from "vitest";
import { desiredStateSchema } from "../../lib/wire";
import type { App } from "../app";
import { refusedUnchanged, testApp, userCaller } from "../harness.testing";
import { recordReport } from "../services/nodes/nodes";

describe("a VNET's DHCP & DNS service", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let vnetId: number;
  let nodeId: number;
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
    vnetId = (
      await admin.vnet.create({
        name: "Web Tier",
        subnet: "10.5.0.0/24",
        gateway: "10.5.0.1",
        firstIp: "10.5.0.10",
        size: 10,
      })
    ).id;
    nodeId = (await admin.node.create({ name: "node1" })).id;
  });

  const dhcpOf = async () => {
    const d = desiredStateSchema.parse(await admin.node.desired({ id: nodeId }));
    return d.networks.find((n) => n.vnetId === vnetId)?.dhcp;
  };
  const revision = async () => (await admin.node.list()).items.find((n) => n.id === nodeId)!.desiredRevision;
  const auditRows = () =>
    app.db.$client
      .prepare("SELECT action, detail FROM audit_log WHERE action = 'vnet.dhcp' ORDER BY id")
      .all() as { action: string; detail: string }[];

  it("vnet.dhcp shows the defaults and one host entry per leased NIC with its name", async () => {
    await admin.instance.create({ name: "Web_1", nodeId, nics: [{ vnetId }] });
    const d = await admin.vnet.dhcp({ id: vnetId });
    expect(d).toMatchObject({
      setting: "auto",
      enabled: true,
      notServed: null,
      domain: "web-tier.internal",
      domainSet: false,
      leaseSeconds: 3600,
      leaseSet: false,
      upstreams: [],
      canManage: true,
    });
    expect(d.hosts).toEqual([
      expect.objectContaining({
        instance: "Web_1",
        nic: "eth0",
        node: "node1",
        ip: "10.5.0.10",
        name: "web-1.web-tier.internal",
        mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
      }),
    ]);
  });

  it("vnet.setDhcp sets lease time and upstreams, sends them to the nodes, bumps them and audits", async () => {
    await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId }] });
    expect(await dhcpOf()).toEqual({ enabled: true, domain: "web-tier.internal" });
    const rev = await revision();
    const r = await admin.vnet.setDhcp({
      id: vnetId,
      enabled: "on",
      domain: "Web.Example",
      leaseTime: "12h",
      upstreams: "192.0.2.53, 198.51.100.53",
    });
    expect(r.changed).toHaveLength(4);
    expect(await revision()).toBeGreaterThan(rev);
    expect(await dhcpOf()).toEqual({
      enabled: true,
      domain: "web.example",
      leaseSeconds: 43200,
      upstreams: ["192.0.2.53", "198.51.100.53"],
    });
    expect(await admin.vnet.dhcp({ id: vnetId })).toMatchObject({
      setting: "on",
      leaseSeconds: 43200,
      leaseSet: true,
      domainSet: true,
      upstreams: ["192.0.2.53", "198.51.100.53"],
    });
    expect(auditRows().at(-1)?.detail).toBe(
      "DHCP: by network type → on; domain: default → web.example; lease time: default (3600 s) → 43200 s; upstreams: the nodes' resolvers → 192.0.2.53, 198.51.100.53",
    );
    // Back to the defaults: empty fields.
    await admin.vnet.setDhcp({ id: vnetId, enabled: "auto", domain: "", leaseTime: "", upstreams: "" });
    expect(await dhcpOf()).toEqual({ enabled: true, domain: "web-tier.internal" });
    // The REST shape: seconds as a number, upstreams as a list.
    await admin.vnet.setDhcp({ id: vnetId, leaseTime: 600, upstreams: ["192.0.2.1"] });
    expect(await dhcpOf()).toMatchObject({ leaseSeconds: 600, upstreams: ["192.0.2.1"] });
  });

  it("refuses a bad lease time, upstream or domain at its field and writes nothing", async () => {
    for (const [input, field] of [
      [{ leaseTime: "60" }, "leaseTime"],
      [{ leaseTime: "2y" }, "leaseTime"],
      [{ leaseTime: 400 * 86400 }, "leaseTime"],
      [{ upstreams: "8.8.8.8, dns.example" }, "upstreams"],
      [{ upstreams: "127.0.0.53" }, "upstreams"],
      [{ upstreams: "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5" }, "upstreams"],
      [{ domain: "not a domain" }, "domain"],
    ] as const) {
      await refusedUnchanged(app, () => admin.vnet.setDhcp({ id: vnetId, ...input }), "BAD_REQUEST", field);
    }
    expect(auditRows()).toEqual([]);
  });

  it("switched off, the nodes get no DHCP service; a user with USE only reads it and may not change it", async () => {
    await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId }] });
    await admin.vnet.setDhcp({ id: vnetId, enabled: false });
    expect(await dhcpOf()).toBeUndefined();
    expect((await admin.vnet.dhcp({ id: vnetId })).enabled).toBe(false);
    await admin.vnet.chmod({ id: vnetId, perms: "604" });
    const bob = await userCaller(app, "bob", "user", 1);
    expect((await bob.vnet.dhcp({ id: vnetId })).canManage).toBe(false);
    await refusedUnchanged(app, () => bob.vnet.setDhcp({ id: vnetId, enabled: true }), "NOT_FOUND");
  });

  it("says why a routed VNET is not served although it is on", async () => {
    await admin.vnet.update({ id: vnetId, driver: "routed" });
    const d = await admin.vnet.dhcp({ id: vnetId });
    expect(d.enabled).toBe(true);
    expect(d.notServed).toMatch(/Routed VNETs have no bridge/);
  });

  it("shows a host entry taken once its node reports the lease, until it runs out", async () => {
    const inst = await admin.instance.create({ name: "web", nodeId, nics: [{ vnetId }] });
    const { mac, ip } = inst.nics[0]!;
    const report = (dhcpLeases: { vnetId: number; mac: string; ip: string; expires: number }[]) =>
      recordReport(
        app,
        { userId: null, name: "node:node1", ip: null },
        { id: nodeId, name: "node1" },
        {
          nodeId,
          revision: 0,
          ok: true,
          operations: 0,
          durationMs: 1,
          networks: [],
          ports: [],
          dhcpLeases,
        },
      );
    expect((await admin.vnet.dhcp({ id: vnetId })).hosts[0]?.taken).toBeNull();
    const until = Math.floor(Date.now() / 1000) + 3600;
    report([{ vnetId, mac: mac!, ip: ip!, expires: until }]);
    expect((await admin.vnet.dhcp({ id: vnetId })).hosts[0]?.taken).toEqual({
      until: new Date(until * 1000).toISOString(),
    });
    // Another MAC on the address, or a lease that ran out, is not this guest's.
    report([{ vnetId, mac: "02:00:00:00:00:99", ip: ip!, expires: until }]);
    expect((await admin.vnet.dhcp({ id: vnetId })).hosts[0]?.taken).toBeNull();
    report([{ vnetId, mac: mac!, ip: ip!, expires: Math.floor(Date.now() / 1000) - 5 }]);
    expect((await admin.vnet.dhcp({ id: vnetId })).hosts[0]?.taken).toBeNull();
  });
});
