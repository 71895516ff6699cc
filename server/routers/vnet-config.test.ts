import { beforeEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { refusal, refusedUnchanged, snapshot, testApp, userCaller } from "../harness.testing";

const settingsOf = (app: App) => app.db.$client.prepare("SELECT * FROM settings ORDER BY key").all();

describe("VNET configuration, lock, context and QoS", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let vnetId: number;
  let nodeId: number;
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
    vnetId = (
      await admin.vnet.create({
        name: "net",
        subnet: "10.5.0.0/24",
        gateway: "10.5.0.1",
        firstIp: "10.5.0.10",
        size: 10,
      })
    ).id;
    nodeId = (await admin.node.create({ name: "node1" })).id;
  });

  it("vnet.update switches a live VNET to VXLAN with an automatic VNI from the pool and bumps its nodes", async () => {
    await admin.vnet.setPools({ vlan: { from: 100, to: 101 }, vni: { from: 5000, to: 5001 } });
    await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId }] });
    const rev = (await admin.node.list()).items[0]!.desiredRevision;
    await admin.vnet.update({ id: vnetId, driver: "vxlan", vni: "auto", mtu: 1500 });
    const v = await admin.vnet.get({ id: vnetId });
    expect(v).toMatchObject({ driver: "vxlan", vni: 5000, vlanId: null, guestMtu: 1450 });
    expect((await admin.node.list()).items[0]!.desiredRevision).toBeGreaterThan(rev);
    const desired = await admin.node.desired({ id: nodeId });
    expect(desired.networks[0]).toMatchObject({ driver: "vxlan", vni: 5000 });
    expect(desired.ports[0]!.mtu).toBe(1450);
    // A second VXLAN VNET gets the next free VNI; the pool then runs out with a CONFLICT naming it.
    const b = await admin.vnet.create({
      name: "b",
      subnet: "10.6.0.0/24",
      firstIp: "10.6.0.10",
      size: 2,
      driver: "vxlan",
      vni: "auto",
    });
    expect(b.vni).toBe(5001);
    const err = await refusedUnchanged(
      app,
      () =>
        admin.vnet.create({
          name: "c",
          subnet: "10.7.0.0/24",
          firstIp: "10.7.0.10",
          size: 2,
          driver: "vxlan",
          vni: "auto",
        }),
      "CONFLICT",
      "vni",
    );
    expect(err.message).toContain("VNI pool 5000–5001 is exhausted");
  });

  it("vnet.update refuses a taken VNI, a VLAN ID taken on the same device, a taken name or bridge, and changes nothing", async () => {
    await admin.vnet.create({
      name: "other",
      subnet: "10.6.0.0/24",
      firstIp: "10.6.0.10",
      size: 2,
      driver: "vxlan",
      vni: 77,
      bridge: "br-other",
    });
    await admin.vnet.create({
      name: "vl",
      subnet: "10.8.0.0/24",
      firstIp: "10.8.0.10",
      size: 2,
      driver: "vlan",
      phydev: "eth1",
      vlanId: 10,
    });
    const before = snapshot(app);
    await refusal(admin.vnet.update({ id: vnetId, driver: "vxlan", vni: 77 }), "CONFLICT", "vni");
    await refusal(
      admin.vnet.update({ id: vnetId, driver: "vlan", phydev: "eth1", vlanId: 10 }),
      "CONFLICT",
      "vlanId",
    );
    await refusal(admin.vnet.update({ id: vnetId, driver: "vlan", vlanId: 12 }), "BAD_REQUEST", "phydev");
    await refusal(admin.vnet.update({ id: vnetId, driver: "vxlan", vni: "auto" }), "BAD_REQUEST", "vni");
    await refusal(admin.vnet.update({ id: vnetId, name: "other" }), "CONFLICT", "name");
    await refusal(admin.vnet.update({ id: vnetId, bridge: "br-other" }), "CONFLICT", "bridge");
    await refusal(admin.vnet.update({ id: vnetId, mtu: 70000 }), "BAD_REQUEST", "mtu");
    expect(snapshot(app)).toEqual(before);
    // The same VLAN ID on another device is fine; an empty bridge name goes back to the generated one.
    await admin.vnet.update({ id: vnetId, driver: "vlan", phydev: "eth2", vlanId: 10, bridge: "br-mine" });
    expect((await admin.vnet.get({ id: vnetId })).bridge).toBe("br-mine");
    await admin.vnet.update({ id: vnetId, bridge: "" });
    expect((await admin.vnet.get({ id: vnetId })).bridge).toBe(`bhbr${vnetId}`);
  });

  it("vnet.setPools is admin-only and validates the pool bounds", async () => {
    const bob = await userCaller(app, "bob");
    const before = settingsOf(app);
    await refusal(bob.vnet.setPools({ vlan: { from: 1, to: 5 }, vni: null }), "FORBIDDEN");
    await refusal(admin.vnet.setPools({ vlan: { from: 9, to: 5 }, vni: null }), "BAD_REQUEST", "vlan.to");
    expect(settingsOf(app)).toEqual(before);
    await admin.vnet.setPools({ vlan: { from: 1, to: 5 }, vni: null });
    expect(await admin.vnet.pools()).toEqual({ vlan: { from: 1, to: 5 }, vni: null });
  });

  it("a locked VNET refuses changes, holds, ranges and deletion until unlocked; a use lock also refuses new NICs", async () => {
    await admin.vnet.lock({ id: vnetId, level: "manage" });
    const before = snapshot(app);
    for (const p of [
      admin.vnet.update({ id: vnetId, description: "x" }),
      admin.range.add({ vnetId, range: { type: "ip4", ip: "10.5.0.100", size: 2 } }),
      admin.lease.hold({ vnetId, from: "10.5.0.10", reason: "x" }),
      admin.vnet.setQos({ id: vnetId, qos: { inboundAvg: "1 Mbit/s" } }),
      admin.vnet.remove({ id: vnetId }),
    ]) {
      const err = await refusal(p, "CONFLICT");
      expect(err.message).toBe("VNET net is locked (manage level); unlock it first");
    }
    expect(snapshot(app)).toEqual(before);
    // A manage lock still lets instances use the network.
    await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId }] });
    await admin.vnet.lock({ id: vnetId, level: "use" });
    const b2 = snapshot(app);
    expect(
      (await refusal(admin.instance.create({ name: "b", nodeId, nics: [{ vnetId }] }), "CONFLICT")).message,
    ).toContain("locked");
    expect(snapshot(app)).toEqual(b2);
    await admin.vnet.unlock({ id: vnetId });
    await admin.vnet.update({ id: vnetId, description: "x" });
    const actions = app.db.$client
      .prepare("SELECT action, outcome FROM audit_log WHERE action LIKE 'vnet.%lock'")
      .all();
    expect(actions).toEqual([
      { action: "vnet.lock", outcome: "ok" },
      { action: "vnet.lock", outcome: "ok" },
      { action: "vnet.unlock", outcome: "ok" },
    ]);
  });

  it("QoS is stored canonically from the units users type, inherited by NICs and overridable per NIC", async () => {
    await admin.vnet.setQos({
      id: vnetId,
      qos: {
        inboundAvg: "1000 KB/s",
        inboundPeak: "100 Mbit/s",
        inboundBurst: "64 KiB",
        outboundAvg: "12.5 MB/s",
      },
    });
    expect((await admin.vnet.get({ id: vnetId })).qos).toEqual({
      inboundAvgBps: 8_000_000,
      inboundPeakBps: 100_000_000,
      inboundBurstBytes: 65_536,
      outboundAvgBps: 100_000_000,
    });
    const inst = await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId }] });
    const nicId = inst.nics[0]!.nicId;
    expect((await admin.node.desired({ id: nodeId })).ports[0]!.qos).toMatchObject({
      inboundAvgBps: 8_000_000,
    });
    await admin.vnet.setNicQos({ nicId, qos: { outboundAvg: "800 kbit/s" } });
    expect((await admin.node.desired({ id: nodeId })).ports[0]!.qos).toEqual({ outboundAvgBps: 800_000 });
    const [n] = await admin.vnet.nics({ id: vnetId });
    expect(n).toMatchObject({ qosOverride: { outboundAvgBps: 800_000 }, qos: { outboundAvgBps: 800_000 } });
    await admin.vnet.setNicQos({ nicId, qos: null });
    expect((await admin.vnet.nics({ id: vnetId }))[0]!.qos).toMatchObject({ inboundAvgBps: 8_000_000 });
  });

  it("QoS refuses a peak below the average, a unit it does not know, and a peak without average, at the field", async () => {
    const before = snapshot(app);
    await refusal(
      admin.vnet.setQos({ id: vnetId, qos: { inboundAvg: "10 Mbit/s", inboundPeak: "1 Mbit/s" } }),
      "BAD_REQUEST",
      "qos.inboundPeak",
    );
    const unit = await refusal(
      admin.vnet.setQos({ id: vnetId, qos: { outboundAvg: "10 furlongs" } }),
      "BAD_REQUEST",
      "qos.outboundAvg",
    );
    expect(unit.message).toContain("Unknown unit");
    await refusal(
      admin.vnet.setQos({ id: vnetId, qos: { outboundPeak: "1 Mbit/s" } }),
      "BAD_REQUEST",
      "qos.outboundAvg",
    );
    expect(snapshot(app)).toEqual(before);
  });

  it("guest context resolves NIC > range > VNET, per NIC, and the NIC marked as gateway owner gets the default route", async () => {
    await admin.vnet.setContext({
      id: vnetId,
      context: {
        subnet: "10.5.0.0/24",
        gateway: "10.5.0.1",
        dns: "10.5.0.1",
        searchDomains: "lab.example",
        guestMtu: "1400",
        custom: "NTP=10.5.0.1",
      },
    });
    const arId = (await admin.vnet.get({ id: vnetId })).ranges[0]!.id;
    await admin.range.setContext({ id: arId, context: { dns: "1.1.1.1, 9.9.9.9" } });
    const other = (
      await admin.vnet.create({
        name: "uplink",
        subnet: "10.9.0.0/24",
        gateway: "10.9.0.1",
        firstIp: "10.9.0.10",
        size: 5,
      })
    ).id;
    const inst = await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId: other }, { vnetId }] });
    await admin.vnet.setNicContext({
      nicId: inst.nics[1]!.nicId,
      context: { defaultRoute: true, guestMtu: "1300" },
    });
    const [n] = await admin.vnet.nics({ id: vnetId });
    expect(n!.ownsDefaultRoute).toBe(true);
    expect(n!.variables).toMatchObject({
      IP: "10.5.0.10",
      MASK: "255.255.255.0",
      NETWORK_ADDRESS: "10.5.0.0",
      GATEWAY: "10.5.0.1",
      DNS: "1.1.1.1 9.9.9.9",
      SEARCH_DOMAIN: "lab.example",
      MTU: "1300",
      NTP: "10.5.0.1",
    });
    expect(n!.cloudInit.ethernets).toMatchObject({
      eth0: { addresses: ["10.9.0.10/24"], mtu: 1500 },
      eth1: {
        match: { macaddress: "02:00:0a:05:00:0a" },
        addresses: ["10.5.0.10/24"],
        routes: [{ to: "default", via: "10.5.0.1" }],
        nameservers: { addresses: ["1.1.1.1", "9.9.9.9"], search: ["lab.example"] },
        mtu: 1300,
      },
    });
    expect(n!.cloudInit.ethernets.eth0).not.toHaveProperty("routes");
    const ports = (await admin.node.desired({ id: nodeId })).ports;
    expect(ports.map((p) => [p.guestIf, p.defaultRoute, p.mtu])).toEqual([
      ["eth0", false, 1500],
      ["eth1", true, 1300],
    ]);
    // Clearing the override gives eth0 the route back.
    await admin.vnet.setNicContext({ nicId: inst.nics[1]!.nicId, context: null });
    expect((await admin.vnet.nics({ id: vnetId }))[0]!.ownsDefaultRoute).toBe(false);
  });

  it("context refuses malformed values at the field and writes nothing", async () => {
    const before = snapshot(app);
    await refusal(
      admin.vnet.setContext({ id: vnetId, context: { gateway: "nope" } }),
      "BAD_REQUEST",
      "context.gateway",
    );
    await refusal(
      admin.vnet.setContext({ id: vnetId, context: { gateway6: "10.0.0.1" } }),
      "BAD_REQUEST",
      "context.gateway6",
    );
    await refusal(
      admin.vnet.setContext({ id: vnetId, context: { custom: "lower=1" } }),
      "BAD_REQUEST",
      "context.custom",
    );
    await refusal(
      admin.vnet.setContext({ id: vnetId, context: { guestMtu: "100" } }),
      "BAD_REQUEST",
      "context.guestMtu",
    );
    expect(snapshot(app)).toEqual(before);
  });

  it("a plain user cannot configure, lock or override someone else's VNET: NOT_FOUND, nothing changed", async () => {
    const bob = await userCaller(app, "bob");
    const inst = await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId }] });
    const before = snapshot(app);
    await refusal(bob.vnet.update({ id: vnetId, description: "mine" }), "NOT_FOUND");
    await refusal(bob.vnet.lock({ id: vnetId, level: "use" }), "NOT_FOUND");
    await refusal(bob.vnet.setQos({ id: vnetId, qos: {} }), "NOT_FOUND");
    await refusal(bob.vnet.setNicQos({ nicId: inst.nics[0]!.nicId, qos: null }), "NOT_FOUND");
    await refusal(bob.lease.hold({ vnetId, from: "10.5.0.12", reason: "x" }), "NOT_FOUND");
    await refusal(bob.lease.list({ vnetId }), "NOT_FOUND");
    await refusal(bob.lease.history({ vnetId }), "NOT_FOUND");
    await refusal(bob.lease.release({ vnetId, from: "10.5.0.10" }), "NOT_FOUND");
    await refusal(bob.vnet.nics({ id: vnetId }), "NOT_FOUND");
    await refusal(bob.vnet.setContext({ id: vnetId, context: {} }), "NOT_FOUND");
    await refusal(bob.vnet.setNicContext({ nicId: inst.nics[0]!.nicId, context: null }), "NOT_FOUND");
    await refusal(bob.range.add({ vnetId, range: { type: "ip4", ip: "10.5.0.100", size: 2 } }), "NOT_FOUND");
    const arId = (await admin.vnet.get({ id: vnetId })).ranges[0]!.id;
    await refusal(bob.range.resize({ id: arId, size: 20 }), "NOT_FOUND");
    await refusal(bob.range.remove({ id: arId }), "NOT_FOUND");
    await refusal(bob.range.setContext({ id: arId, context: {} }), "NOT_FOUND");
    await refusal(bob.vnet.remove({ id: vnetId }), "NOT_FOUND");
    expect(await bob.vnet.exportHoster()).toEqual({ file: [], notCarried: [] });
    await refusal(bob.vnet.importHoster({ json: "[]" }), "FORBIDDEN");
    expect(snapshot(app)).toEqual(before);
  });
});

// The example file of Hoster's documentation (network_config.json).
const HOSTER_DOC = `[
    {
        "network_name": "internal",
        "network_gateway": "10.0.100.254",
        "network_subnet": "10.0.100.0/24",
        "network_range_start": "10.0.100.10",
        "network_range_end": "10.0.100.200",
        "bridge_interface": "None",
        "apply_bridge_address": true,
        "comment": "Internal Network"
    }
]`;

describe("Hoster network_config.json", () => {
  it("export names what the file cannot carry: IPv6, further ranges, VNETs without a gateway", async () => {
    const app = testApp();
    const admin = await userCaller(app, "alice", "admin", 0);
    const ds = await admin.vnet.create({
      name: "ds",
      subnet: "10.7.0.0/24",
      gateway: "10.7.0.1",
      firstIp: "10.7.0.10",
      size: 10,
      globalPrefix: "2001:db8:7::/64",
      gateway6: "2001:db8:7::1",
    });
    const extra = await admin.range.add({ vnetId: ds.id, range: { type: "ip4", ip: "10.7.0.100", size: 5 } });
    await admin.vnet.create({ name: "nogw", subnet: "10.8.0.0/24", firstIp: "10.8.0.10", size: 10 });
    const first = (await admin.vnet.get({ id: ds.id })).ranges[0]!.id;
    const out = await admin.vnet.exportHoster();
    expect(out.file.map((n) => n.network_name)).toEqual(["ds"]);
    expect(out.notCarried).toEqual([
      `VNET ds: the IPv6 addresses (2001:db8:7::/64) of range ${first} — the file holds IPv4 only`,
      `VNET ds: range ${extra.range.id} (10.7.0.100, 5 addresses) — the file holds one range per network`,
      "VNET ds: the IPv6 gateway 2001:db8:7::1",
      "VNET nogw is left out: it has no gateway, which every network of the file needs",
    ]);
  });

  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
  });

  it("importing the documentation's file yields the same network, and export gives the file back", async () => {
    const [v] = await admin.vnet.importHoster({ json: HOSTER_DOC });
    const got = await admin.vnet.get({ id: v!.id });
    expect(got).toMatchObject({
      name: "internal",
      description: "Internal Network",
      networkType: "internal",
      applyBridgeAddress: true,
      phydev: null,
      context: { subnet: "10.0.100.0/24", gateway: "10.0.100.254" },
      size: 191,
    });
    expect(got.ranges[0]).toMatchObject({ type: "ip4", ip: "10.0.100.10", size: 191 });
    expect(await admin.vnet.exportHoster()).toEqual({ file: JSON.parse(HOSTER_DOC), notCarried: [] });
  });

  it("an external network is bridged to its interface without a bridge address", async () => {
    const ext = {
      network_name: "lan",
      network_gateway: "192.168.1.1",
      network_subnet: "192.168.1.0/24",
      network_range_start: "192.168.1.100",
      network_range_end: "192.168.1.150",
      bridge_interface: "igb0",
      apply_bridge_address: false,
      comment: "",
    };
    const [v] = await admin.vnet.importHoster({ json: JSON.stringify(ext) });
    expect(await admin.vnet.get({ id: v!.id })).toMatchObject({
      networkType: "external",
      phydev: "igb0",
      applyBridgeAddress: false,
    });
    expect(await admin.vnet.exportHoster()).toEqual({ file: [ext], notCarried: [] });
  });

  it("a bad file is refused naming the network and field, and no network of it is created", async () => {
    const before = snapshot(app);
    const bad = JSON.parse(HOSTER_DOC);
    const second = { ...bad[0], network_name: "second", network_range_end: "10.0.101.5" };
    const e1 = await refusal(
      admin.vnet.importHoster({ json: JSON.stringify([bad[0], second]) }),
      "BAD_REQUEST",
      "json",
    );
    expect(e1.message).toBe(
      "Network 2 (second): range end: Range ends at 10.0.101.5, outside 10.0.100.0/24; at most 245 addresses fit",
    );
    const { network_gateway: _gw, ...noGateway } = { ...bad[0], network_name: "imp-bad" };
    const e4 = await refusal(
      admin.vnet.importHoster({ json: JSON.stringify([bad[0], noGateway]) }),
      "BAD_REQUEST",
      "json",
    );
    expect(e4.message).toBe("Network 2 (imp-bad): gateway is missing");
    const e5 = await refusal(
      admin.vnet.importHoster({ json: JSON.stringify([{ ...bad[0], network_subnet: "10.0.100.0/33" }]) }),
      "BAD_REQUEST",
      "json",
    );
    expect(e5.message).toMatch(/^Network 1 \(internal\): subnet: /);
    const e6 = await refusal(
      admin.vnet.importHoster({ json: JSON.stringify([{ ...bad[0], network_range_end: "10.0.100.1" }]) }),
      "BAD_REQUEST",
      "json",
    );
    expect(e6.message).toBe(
      "Network 1 (internal): the range ends (10.0.100.1) before it starts (10.0.100.10)",
    );
    const e2 = await refusal(admin.vnet.importHoster({ json: "{nope" }), "BAD_REQUEST", "json");
    expect(e2.message).toContain("Not valid JSON");
    const e3 = await refusal(
      admin.vnet.importHoster({ json: JSON.stringify([bad[0], { ...bad[0] }]) }),
      "BAD_REQUEST",
      "json",
    );
    expect(e3.message).toBe("Network 2 (internal): A VNET named internal already exists; pick another name");
    expect(snapshot(app)).toEqual(before);
  });
});
