// Planner tests for the vxlan, routed, vlan and external drivers: golden plans from empty, "in
// sync means no operation", and repair of the drift each driver can suffer. 802.1Q is proven here
// (the lab kernel has no 8021q); its live test skips saying so.
import { describe, expect, it } from "vitest";
import type { DesiredState } from "../../../lib/wire";
import { emptyObserved, guest, inSync, link, net, PREFIX, port, state, UPLINK } from "../state.testing";
import type { Observed } from "../types";
import { plan, planPreview } from "./plan";

const opts = { guestPrefix: PREFIX };
const preview = (d: DesiredState, o: Observed) => planPreview(plan(d, o, opts));
const withUplink = (): Observed => {
  const o = emptyObserved();
  o.links.push({ ...UPLINK });
  return o;
};
const underlay = { vtep: "198.18.0.1", uplink: "ul0" };

const vxlan = (peers = ["198.18.0.2", "198.18.0.3"]) =>
  state(
    [net(5, { driver: "vxlan", vni: 4242, mtu: 1450, bridgeAddress: undefined, vxlanPeers: peers })],
    [port(1, 1, 5, { mtu: 1450, gateway: undefined })],
    underlay,
  );

describe("vxlan driver", () => {
  it("plans bridge, VXLAN device on the VTEP (UDP 4789, no learning) and one FDB entry per peer", () => {
    expect(preview(vxlan(), withUplink())).toEqual([
      "ip netns add bhu-i1",
      "ip -n bhunode link add br5 address 02:62:68:00:00:05 mtu 68 type bridge",
      "ip -n bhunode link set br5 alias bridgehead:vnet:5 mtu 1450 up",
      "ip -n bhunode link add vxlan4242 address 02:62:78:00:00:05 type vxlan id 4242 local 198.18.0.1 dstport 4789 dev ul0 nolearning",
      "ip -n bhunode link set vxlan4242 alias bridgehead:vnet:5:vxlan mtu 1450 master br5 up",
      "ip -n bhunode link add bhv1 address 02:62:76:00:00:01 mtu 1450 type veth peer name eth0 address 02:00:0a:05:00:02 mtu 1450 netns bhu-i1",
      "ip -n bhunode link set bhv1 alias bridgehead:nic:1 master br5 up",
      "bridge -n bhunode fdb append 00:00:00:00:00:00 dev vxlan4242 dst 198.18.0.2",
      "bridge -n bhunode fdb append 00:00:00:00:00:00 dev vxlan4242 dst 198.18.0.3",
      "ip -n bhu-i1 link set lo up",
      "ip -n bhu-i1 link set eth0 up",
      "ip -n bhu-i1 addr add 10.5.0.2/24 dev eth0",
    ]);
  });

  it("does nothing when the kernel matches", () => {
    expect(preview(vxlan(), inSync(vxlan()))).toEqual([]);
  });

  it("follows the peer list: a node gone is deleted from the FDB, a node added is appended", () => {
    const o = inSync(vxlan());
    expect(preview(vxlan(["198.18.0.3", "198.18.0.4"]), o)).toEqual([
      "bridge -n bhunode fdb del 00:00:00:00:00:00 dev vxlan4242 dst 198.18.0.2",
      "bridge -n bhunode fdb append 00:00:00:00:00:00 dev vxlan4242 dst 198.18.0.4",
    ]);
  });

  it("restores an FDB entry flushed by hand", () => {
    const o = inSync(vxlan());
    o.fdb = o.fdb.filter((f) => f.dst !== "198.18.0.3");
    expect(preview(vxlan(), o)).toEqual([
      "bridge -n bhunode fdb append 00:00:00:00:00:00 dev vxlan4242 dst 198.18.0.3",
    ]);
  });

  it("recreates a device whose VTEP or VNI changed, then re-adds every peer", () => {
    const o = inSync(vxlan());
    const dev = link(o, "vxlan4242");
    dev.vxlan = { ...dev.vxlan!, local: "198.18.0.9" };
    const lines = preview(vxlan(), o);
    expect(lines.slice(0, 3)).toEqual([
      "ip -n bhunode link del vxlan4242",
      "ip -n bhunode link add vxlan4242 address 02:62:78:00:00:05 type vxlan id 4242 local 198.18.0.1 dstport 4789 dev ul0 nolearning",
      "ip -n bhunode link set vxlan4242 alias bridgehead:vnet:5:vxlan mtu 1450 master br5 up",
    ]);
    expect(lines.filter((l) => l.includes("fdb append"))).toHaveLength(2);
  });

  it("re-enslaves the VXLAN device and the ports when the bridge was deleted by hand", () => {
    const d = vxlan();
    const o = inSync(d);
    o.links = o.links.filter((l) => l.name !== "br5");
    link(o, "vxlan4242").master = undefined;
    link(o, "bhv1").master = undefined;
    expect(preview(d, o)).toEqual([
      "ip -n bhunode link add br5 address 02:62:68:00:00:05 mtu 68 type bridge",
      "ip -n bhunode link set br5 alias bridgehead:vnet:5 mtu 1450 up",
      "ip -n bhunode link set vxlan4242 master br5",
      "ip -n bhunode link set bhv1 master br5",
    ]);
  });

  it("uses a multicast group with learning instead of static peers when the VNET names one", () => {
    const d = vxlan();
    d.networks[0]!.vxlanGroup = "239.1.1.1";
    const lines = preview(d, withUplink());
    expect(lines).toContain(
      "ip -n bhunode link add vxlan4242 address 02:62:78:00:00:05 type vxlan id 4242 local 198.18.0.1 dstport 4789 dev ul0 group 239.1.1.1",
    );
    expect(lines.some((l) => l.includes("fdb"))).toBe(false);
    expect(preview(d, inSync(d))).toEqual([]);
  });

  it("removes the VXLAN device with its bridge when the network leaves the node", () => {
    const o = inSync(vxlan());
    expect(preview(state([], [], underlay), o)).toEqual([
      "ip netns del bhu-i1",
      "ip -n bhunode link del br5",
      "ip -n bhunode link del vxlan4242",
    ]);
  });
});

const routed = () =>
  state(
    [net(6, { driver: "routed", bridge: "rt6", bridgeAddress: undefined })],
    [
      port(1, 1, 6, { gateway: "169.254.0.1", addresses: ["10.6.0.2/24"] }),
      port(2, 2, 6, { gateway: "169.254.0.1", addresses: ["10.6.0.3/24"] }),
    ],
  );

describe("routed driver", () => {
  it("plans an anchor holding 169.254.0.1, unbridged veths with /32 routes and proxy ARP, and forwarding", () => {
    expect(preview(routed(), emptyObserved())).toEqual([
      "ip netns add bhu-i1",
      "ip netns add bhu-i2",
      "ip -n bhunode link add rt6 address 02:62:68:00:00:06 mtu 68 type bridge",
      "ip -n bhunode link set rt6 alias bridgehead:vnet:6 mtu 1500 up",
      "ip -n bhunode addr add 169.254.0.1/32 dev rt6",
      "ip -n bhunode link add bhv1 address 02:62:76:00:00:01 mtu 1500 type veth peer name eth0 address 02:00:0a:06:00:02 mtu 1500 netns bhu-i1",
      "ip -n bhunode link set bhv1 alias bridgehead:nic:1 up",
      "ip -n bhunode route replace 10.6.0.2/32 dev bhv1",
      "ip -n bhunode link add bhv2 address 02:62:76:00:00:02 mtu 1500 type veth peer name eth0 address 02:00:0a:06:00:03 mtu 1500 netns bhu-i2",
      "ip -n bhunode link set bhv2 alias bridgehead:nic:2 up",
      "ip -n bhunode route replace 10.6.0.3/32 dev bhv2",
      "ip netns exec bhunode sysctl -w net.ipv4.ip_forward=1",
      "ip netns exec bhunode sysctl -w net.ipv4.conf.bhv1.proxy_arp=1",
      "ip netns exec bhunode sysctl -w net.ipv4.neigh.bhv1.proxy_delay=0",
      "ip netns exec bhunode sysctl -w net.ipv4.conf.bhv2.proxy_arp=1",
      "ip netns exec bhunode sysctl -w net.ipv4.neigh.bhv2.proxy_delay=0",
      "ip -n bhu-i1 link set lo up",
      "ip -n bhu-i1 link set eth0 up",
      "ip -n bhu-i1 addr add 10.6.0.2/24 dev eth0",
      "ip -n bhu-i1 route replace default via 169.254.0.1 dev eth0 onlink",
      "ip -n bhu-i2 link set lo up",
      "ip -n bhu-i2 link set eth0 up",
      "ip -n bhu-i2 addr add 10.6.0.3/24 dev eth0",
      "ip -n bhu-i2 route replace default via 169.254.0.1 dev eth0 onlink",
    ]);
  });

  it("does nothing when the kernel matches", () => {
    expect(preview(routed(), inSync(routed()))).toEqual([]);
  });

  it("repairs a deleted host route, proxy ARP turned off and a veth enslaved by hand", () => {
    const o = inSync(routed());
    o.routes = o.routes.filter((r) => r.dev !== "bhv2");
    o.sysctls["net.ipv4.conf.bhv1.proxy_arp"] = "0";
    link(o, "bhv1").master = "rt6";
    expect(preview(routed(), o)).toEqual([
      "ip -n bhunode link set bhv1 nomaster",
      "ip -n bhunode route replace 10.6.0.3/32 dev bhv2",
      "ip netns exec bhunode sysctl -w net.ipv4.conf.bhv1.proxy_arp=1",
    ]);
  });

  it("moves the host route when a port's address changes", () => {
    const o = inSync(routed());
    const d = routed();
    d.ports[0]!.addresses = ["10.6.0.9/24"];
    expect(preview(d, o)).toEqual([
      "ip -n bhunode route del 10.6.0.2/32 dev bhv1",
      "ip -n bhunode route replace 10.6.0.9/32 dev bhv1",
      "ip -n bhu-i1 addr del 10.6.0.2/24 dev eth0",
      "ip -n bhu-i1 addr add 10.6.0.9/24 dev eth0",
      "ip -n bhu-i1 route replace default via 169.254.0.1 dev eth0 onlink",
    ]);
    expect(guest(o, "bhu-i1").defaultRoutes).toEqual([{ gateway: "169.254.0.1", dev: "eth0" }]);
  });
});

const vlan = () =>
  state(
    [net(7, { driver: "vlan", vlanId: 100, phydev: "ul0", bridgeAddress: undefined })],
    [port(1, 1, 7, { gateway: undefined })],
    { uplink: "ul0" },
  );

describe("vlan driver (802.1Q; proven at plan level: the lab kernel has no 8021q)", () => {
  it("plans the bridge and the phydev.VID sub-interface enslaved to it", () => {
    expect(preview(vlan(), withUplink()).slice(0, 5)).toEqual([
      "ip netns add bhu-i1",
      "ip -n bhunode link add br7 address 02:62:68:00:00:07 mtu 68 type bridge",
      "ip -n bhunode link set br7 alias bridgehead:vnet:7 mtu 1500 up",
      "ip -n bhunode link add link ul0 name ul0.100 type vlan id 100",
      "ip -n bhunode link set ul0.100 alias bridgehead:vnet:7:vlan mtu 1500 master br7 up",
    ]);
  });

  it("does nothing when the kernel matches", () => {
    expect(preview(vlan(), inSync(vlan()))).toEqual([]);
  });

  it("recreates a sub-interface with the wrong VLAN id, and brings a downed physical device up", () => {
    const o = inSync(vlan());
    link(o, "ul0.100").vlan = { id: 101, dev: "ul0" };
    link(o, "ul0").up = false;
    expect(preview(vlan(), o)).toEqual([
      "ip -n bhunode link del ul0.100",
      "ip -n bhunode link set ul0 up",
      "ip -n bhunode link add link ul0 name ul0.100 type vlan id 100",
      "ip -n bhunode link set ul0.100 alias bridgehead:vnet:7:vlan mtu 1500 master br7 up",
    ]);
  });

  it("names the sub-interface bhl<vnet> when phydev.VID would not fit in 15 characters", () => {
    const d = vlan();
    d.networks[0]!.phydev = "enp129s0f1np1";
    const lines = preview(d, emptyObserved());
    expect(lines).toContain("ip -n bhunode link add link enp129s0f1np1 name bhl7 type vlan id 100");
    // Never bhq<…>: NIC 7's QoS ifb would be bhq7.
    expect(lines.some((l) => l.includes("bhq"))).toBe(false);
  });

  it("refuses a sub-interface name that a link not ours already has", () => {
    const o = withUplink();
    o.links.push({ ...UPLINK, name: "ul0.100", ifindex: 40, kind: "vlan" });
    const p = plan(vlan(), o, opts);
    expect(p.rejectedNetworks).toEqual([
      { vnetId: 7, error: expect.stringMatching(/link ul0\.100 already exists .* not managed/) },
    ]);
  });
});

const external = (bridgeAddress?: string) =>
  state(
    [net(8, { networkType: "external", phydev: "ext0", bridgeAddress })],
    [port(1, 1, 8, { gateway: undefined })],
  );

describe("external networks", () => {
  it("enslave the uplink to the bridge and put no address on it by default", () => {
    const o = emptyObserved();
    o.links.push({ ...UPLINK, name: "ext0", ipv4: [] });
    const lines = preview(external(), o);
    expect(lines.slice(0, 4)).toEqual([
      "ip netns add bhu-i1",
      "ip -n bhunode link add br8 address 02:62:68:00:00:08 mtu 68 type bridge",
      "ip -n bhunode link set br8 alias bridgehead:vnet:8 mtu 1500 up",
      "ip -n bhunode link set ext0 master br8",
    ]);
    expect(lines.some((l) => l.includes("addr add") && l.includes("br8"))).toBe(false);
    expect(lines.some((l) => l.includes("ip_forward"))).toBe(false);
  });

  it("put the address on the bridge when apply_bridge_address is set, and do nothing when in sync", () => {
    const d = external("10.8.0.1/24");
    expect(preview(d, emptyObserved())).toContain("ip -n bhunode addr add 10.8.0.1/24 dev br8");
    expect(preview(d, inSync(d))).toEqual([]);
  });

  it("release the uplink (never delete it) when the network leaves the node", () => {
    const o = inSync(external());
    expect(preview(state([], []), o)).toEqual(["ip netns del bhu-i1", "ip -n bhunode link del br8"]);
  });
});

describe("devices left half-made by an agent killed mid-batch", () => {
  it("are adopted by the MAC they were created with: the alias is set, nothing is refused", () => {
    const d = vxlan();
    const o = inSync(d);
    for (const name of ["br5", "vxlan4242", "bhv1"]) {
      const l = link(o, name);
      l.alias = undefined;
      l.mac =
        name === "br5" ? "02:62:68:00:00:05" : name === "bhv1" ? "02:62:76:00:00:01" : "02:62:78:00:00:05";
    }
    const p = plan(d, o, opts);
    expect(p.rejectedNetworks).toEqual([]);
    expect(p.rejectedPorts).toEqual([]);
    expect(planPreview(p)).toEqual([
      "ip -n bhunode link set br5 alias bridgehead:vnet:5",
      "ip -n bhunode link set vxlan4242 alias bridgehead:vnet:5:vxlan",
      "ip -n bhunode link set bhv1 alias bridgehead:nic:1",
    ]);
  });

  it("but a device without alias and with another MAC is still not ours", () => {
    const d = vxlan();
    const o = inSync(d);
    link(o, "br5").alias = undefined;
    link(o, "br5").mac = "52:54:00:12:34:56";
    expect(plan(d, o, opts).rejectedNetworks).toEqual([
      { vnetId: 5, error: expect.stringMatching(/link br5 already exists .* not managed/) },
    ]);
  });
});
