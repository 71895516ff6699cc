// Which VNETs the nodes serve DHCP/DNS on (compileDesiredState's `dhcp` field), switched per VNET
// through vnet.update, read from a real migrated database: internal networks on by default,
// external off, either switchable; a bad domain is refused at its field and nothing is written.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { vnets } from "../../../db/schema";
import { desiredStateSchema } from "../../../lib/wire";
import { testApp, userCaller } from "../../harness.testing";

describe("DHCP and DNS per VNET in the desired state", () => {
  it("is on for internal, off for external, switchable both ways, with the VNET's domain", async () => {
    const app = testApp();
    const admin = await userCaller(app, "alice", "admin", 0);
    const nodeId = (await admin.node.create({ name: "node1" })).id;
    const mk = async (name: string, third: number) =>
      (
        await admin.vnet.create({
          name,
          subnet: `10.${third}.0.0/24`,
          firstIp: `10.${third}.0.10`,
          size: 5,
          gateway: `10.${third}.0.1`,
        })
      ).id;
    const inner = await mk("Web Tier", 8);
    const outer = await mk("lan", 9);
    await admin.vnet.update({ id: outer, networkType: "external" });
    await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId: inner }, { vnetId: outer }] });
    const dhcpOf = async () => {
      const d = desiredStateSchema.parse(await admin.node.desired({ id: nodeId }));
      return Object.fromEntries(d.networks.map((n) => [n.vnetId, n.dhcp]));
    };
    expect(await dhcpOf()).toEqual({
      [inner]: { enabled: true, domain: "web-tier.internal" },
      [outer]: undefined,
    });

    await admin.vnet.update({ id: inner, dhcpEnabled: false });
    await admin.vnet.update({ id: outer, dhcpEnabled: "on", dnsDomain: "LAN.Example" });
    expect(await dhcpOf()).toEqual({
      [inner]: undefined,
      [outer]: { enabled: true, domain: "lan.example" },
    });

    await expect(admin.vnet.update({ id: outer, dnsDomain: "not a domain" })).rejects.toThrow(
      /Use a domain name/,
    );
    const row = app.db.select().from(vnets).where(eq(vnets.id, outer)).get();
    expect(row?.dnsDomain).toBe("lan.example");
    await admin.vnet.update({ id: inner, dhcpEnabled: "auto" });
    expect((await dhcpOf())[inner]).toEqual({ enabled: true, domain: "web-tier.internal" });
  });

  it("names the VNET's guests on other nodes, and a guest created there bumps this node", async () => {
    const app = testApp();
    const admin = await userCaller(app, "alice", "admin", 0);
    const n1 = (await admin.node.create({ name: "node1" })).id;
    const n2 = (await admin.node.create({ name: "node2" })).id;
    const v = (
      await admin.vnet.create({
        name: "lab",
        subnet: "10.11.0.0/24",
        firstIp: "10.11.0.10",
        size: 5,
        gateway: "10.11.0.1",
      })
    ).id;
    await admin.instance.create({ name: "a", nodeId: n1, nics: [{ vnetId: v }] });
    await admin.instance.create({ name: "B_2", nodeId: n2, nics: [{ vnetId: v }] });
    const dhcpOf = async (nodeId: number) =>
      desiredStateSchema.parse(await admin.node.desired({ id: nodeId })).networks[0]?.dhcp;
    expect((await dhcpOf(n1))?.names).toEqual([{ name: "b-2", ip: "10.11.0.11" }]);
    expect((await dhcpOf(n2))?.names).toEqual([{ name: "a", ip: "10.11.0.10" }]);
    const rev = async (id: number) =>
      (await admin.node.list()).items.find((n) => n.id === id)!.desiredRevision;
    const before = await rev(n1);
    const c = await admin.instance.create({ name: "c", nodeId: n2, nics: [{ vnetId: v }] });
    expect(await rev(n1)).toBeGreaterThan(before);
    expect((await dhcpOf(n1))?.names?.map((x) => x.name)).toEqual(["b-2", "c"]);
    const mid = await rev(n1);
    await admin.instance.remove({ id: c.id });
    expect(await rev(n1)).toBeGreaterThan(mid);
    expect((await dhcpOf(n1))?.names?.map((x) => x.name)).toEqual(["b-2"]);
  });

  it("serves IPv6: the bridge's addresses, SLAAC prefixes and static DHCPv6 leases with prefix length", async () => {
    const app = testApp();
    const admin = await userCaller(app, "alice", "admin", 0);
    const nodeId = (await admin.node.create({ name: "node1" })).id;
    const v = (
      await admin.vnet.create({
        name: "dual",
        subnet: "10.12.0.0/24",
        firstIp: "10.12.0.10",
        size: 5,
        gateway: "10.12.0.1",
        globalPrefix: "2001:db8:12::/64",
        gateway6: "2001:db8:12::fe",
      })
    ).id;
    await admin.range.add({
      vnetId: v,
      range: { type: "ip6_static", ip6: "2001:db8:13::100", prefixLength6: 64, size: 4 },
    });
    const inst = await admin.instance.create({
      name: "a",
      nodeId,
      nics: [{ vnetId: v }, { vnetId: v, ip6: "2001:db8:13::100" }],
    });
    const d = desiredStateSchema.parse(await admin.node.desired({ id: nodeId }));
    const n = d.networks.find((x) => x.vnetId === v)!;
    expect(n.bridgeAddresses6).toEqual(["2001:db8:12::fe/64", "2001:db8:13::1/64"]);
    expect(n.dhcp?.ipv6).toEqual({ slaac: ["2001:db8:12::/64"], static: ["2001:db8:13::/64"] });
    const [slaac, fixed] = inst.nics;
    const ports = new Map(d.ports.map((p) => [p.nicId, p]));
    // The first NIC's lease is SLAAC (from its MAC): nothing static to configure or lease.
    expect(ports.get(slaac!.nicId)?.addresses6).toEqual([slaac!.ip6]);
    expect(ports.get(slaac!.nicId)).not.toHaveProperty("static6");
    expect(ports.get(fixed!.nicId)?.static6).toEqual(["2001:db8:13::100/64"]);
  });
});
