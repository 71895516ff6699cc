// Planner tests, part 2: removal of stale objects, drivers this agent does not implement, and
// invalid desired state. Ownership is the point: only what carries our alias or prefix is removed.
import { describe, expect, it } from "vitest";
import { emptyObserved, inSync, net, PREFIX, port, state } from "../state.testing";
import type { Observed } from "../types";
import { plan, planPreview } from "./plan";

const opts = { guestPrefix: PREFIX };
const preview = (d: Parameters<typeof plan>[0], o: Observed) => planPreview(plan(d, o, opts));
const oneNetTwoPorts = () => state([net(1)], [port(1, 1, 1), port(2, 2, 1)]);

describe("plan removes what is ours and no longer desired, and only that", () => {
  it("deletes stale namespaces first (their veths go with them), stale ports before stale bridges, then creates", () => {
    const old = state(
      [net(1), net(2)],
      [port(1, 1, 1), port(4, 1, 2, { guestIf: "eth1", defaultRoute: false }), port(2, 2, 2), port(3, 3, 1)],
    );
    const o = inSync(old);
    const d = state([net(1), net(3)], [port(1, 1, 1)]);
    const p = plan(d, o, opts);
    expect(planPreview(p)).toEqual([
      "ip netns del bhu-i2",
      "ip netns del bhu-i3",
      "ip -n bhunode link del bhv4",
      "ip -n bhunode link del br2",
      "ip -n bhunode link add br3 address 02:62:68:00:00:03 mtu 68 type bridge",
      "ip -n bhunode link set br3 alias bridgehead:vnet:3 mtu 1500 up",
      "ip -n bhunode addr add 10.3.0.1/24 dev br3",
    ]);
    expect(p.goneWithNamespaces).toEqual(["bhv2", "bhv3"]);
  });

  it("deletes a stale veth explicitly when its peer is not in a namespace being deleted", () => {
    const o = inSync(state([net(1)], [port(1, 1, 1)]));
    delete o.guests["bhu-i1"];
    expect(preview(state([net(1)], []), o)).toEqual(["ip netns del bhu-i1", "ip -n bhunode link del bhv1"]);
  });

  it("leaves foreign links, foreign namespaces and ports on our bridge that are not ours alone", () => {
    const d = oneNetTwoPorts();
    const o = inSync(d);
    o.links.push(
      { name: "docker0", ifindex: 90, kind: "bridge", mtu: 1500, up: true, ipv4: ["172.17.0.1/16"] },
      { name: "uplink0", ifindex: 91, kind: "veth", master: "br1", mtu: 1500, up: true, ipv4: [] },
      { name: "tap7", ifindex: 92, kind: "tun", alias: "someone-else", mtu: 1500, up: true, ipv4: [] },
    );
    o.namespaces.push("bhu-x1", "bhux-i1", "other");
    expect(preview(d, o)).toEqual([]);
  });

  it("refuses a bridge name taken by a foreign link, and the ports on that network", () => {
    const d = oneNetTwoPorts();
    const o = emptyObserved();
    o.links.push({ name: "br1", ifindex: 5, kind: "bridge", mtu: 1500, up: true, ipv4: [] });
    const p = plan(d, o, opts);
    expect(planPreview(p)).toEqual([]);
    expect(p.rejectedNetworks).toEqual([
      { vnetId: 1, error: expect.stringMatching(/br1 .*not managed by Bridgehead/) },
    ]);
    expect(p.rejectedPorts.map((r) => r.nicId)).toEqual([1, 2]);
    expect(p.rejectedPorts[0]?.error).toMatch(/^VNET 1 is not applied: /);
  });
});

describe("plan with networks this node cannot realise", () => {
  it.each([
    ["vxlan", { vni: 5000 }, /needs this node's VTEP address: start the agent with --vtep/],
    ["vlan", { vlanId: 100 }, /needs a physical device/],
    ["bridge", { networkType: "external" }, /needs an uplink/],
  ] as const)(
    "reports %s without its prerequisites per network and keeps its objects",
    (driver, over, why) => {
      const d = state([net(1), net(2, { driver, ...over })], [port(1, 1, 1), port(2, 2, 2)]);
      const o = inSync(d);
      const p = plan(d, o, opts);
      expect(planPreview(p)).toEqual([]);
      expect(p.rejectedNetworks).toEqual([{ vnetId: 2, error: expect.stringMatching(why) }]);
      expect(p.rejectedPorts).toEqual([
        { nicId: 2, error: expect.stringContaining("VNET 2 is not applied") },
      ]);
      expect(p.networks).toEqual([1]);
    },
  );

  it("never half-applies a network it cannot realise on an empty node", () => {
    const d = state([net(2, { driver: "vxlan", vni: 5000 })], [port(2, 2, 2)]);
    expect(preview(d, emptyObserved())).toEqual([]);
  });
});

describe("plan rejects invalid desired state per object", () => {
  it("refuses duplicate bridge names, duplicate guest interfaces and bhv-prefixed bridges", () => {
    const d = state(
      [net(1), net(2, { bridge: "br1" }), net(3, { bridge: "bhv77" })],
      [port(1, 1, 1), port(2, 1, 1), port(123456789012345, 2, 1)],
    );
    const p = plan(d, emptyObserved(), opts);
    expect(p.rejectedNetworks.map((r) => r.vnetId)).toEqual([2, 3]);
    expect(p.rejectedPorts).toEqual([
      { nicId: 2, error: "interface eth0 of instance 1 is also used by NIC 1" },
      { nicId: 123456789012345, error: expect.stringContaining("longer than 15") },
    ]);
  });
});

describe("plan keeps the QoS ifb names (bhq<nic>) to tc/apply.ts", () => {
  it("refuses a bridge named like a QoS ifb device, with the reason, and plans nothing for it", () => {
    const d = state([net(1), net(2, { bridge: "bhq7" })], [port(1, 1, 1), port(7, 2, 2)]);
    const p = plan(d, emptyObserved(), opts);
    expect(p.networks).toEqual([1]);
    expect(p.rejectedNetworks).toEqual([
      {
        vnetId: 2,
        error: expect.stringMatching(/^link name bhq7 starts with "bhq", which is reserved .*QoS/),
      },
    ]);
    expect(p.rejectedPorts).toEqual([{ nicId: 7, error: expect.stringContaining("VNET 2 is not applied") }]);
    expect(planPreview(p).some((l) => l.includes("bhq7"))).toBe(false);
  });

  it("never deletes an ifb device, not even one that carries our ownership alias or MAC", () => {
    const d = state([net(1)], [port(1, 1, 1, { qos: { outboundAvgBps: 8_000_000 } })]);
    const o = inSync(d);
    o.links.push(
      { name: "bhq1", ifindex: 80, kind: "ifb", alias: "bhqos:nic:1", mtu: 1500, up: true, ipv4: [] },
      // A stale NIC's ifb (tc/apply.ts removes it), even one mislabelled with our alias or MAC.
      { name: "bhq2", ifindex: 81, kind: "ifb", alias: "bridgehead:nic:2", mtu: 1500, up: true, ipv4: [] },
      { name: "bhq3", ifindex: 82, kind: "ifb", mac: "02:62:76:00:00:03", mtu: 1500, up: false, ipv4: [] },
    );
    expect(preview(d, o)).toEqual([]);
    expect(preview(state([net(1)], []), o).filter((l) => l.includes("bhq"))).toEqual([]);
  });
});
