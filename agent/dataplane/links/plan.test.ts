// Planner tests, part 1: the plan from empty, idempotence, and repair of drift.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emptyObserved, guest, inSync, link, net, PREFIX, port, state } from "../state.testing";
import type { Observed } from "../types";
import { plan, planPreview } from "./plan";

const opts = { guestPrefix: PREFIX };
const preview = (d: Parameters<typeof plan>[0], o: Observed) => planPreview(plan(d, o, opts));
const oneNetTwoPorts = () => state([net(1)], [port(1, 1, 1), port(2, 2, 1)]);

describe("plan from an empty node", () => {
  it("creates namespaces, then the bridge, then veths, then guest addresses and routes", () => {
    expect(preview(oneNetTwoPorts(), emptyObserved())).toEqual([
      "ip netns add bhu-i1",
      "ip netns add bhu-i2",
      "ip -n bhunode link add br1 address 02:62:68:00:00:01 mtu 68 type bridge",
      "ip -n bhunode link set br1 alias bridgehead:vnet:1 mtu 1500 up",
      "ip -n bhunode addr add 10.1.0.1/24 dev br1",
      "ip -n bhunode link add bhv1 address 02:62:76:00:00:01 mtu 1500 type veth peer name eth0 address 02:00:0a:01:00:02 mtu 1500 netns bhu-i1",
      "ip -n bhunode link set bhv1 alias bridgehead:nic:1 master br1 up",
      "ip -n bhunode link add bhv2 address 02:62:76:00:00:02 mtu 1500 type veth peer name eth0 address 02:00:0a:01:00:03 mtu 1500 netns bhu-i2",
      "ip -n bhunode link set bhv2 alias bridgehead:nic:2 master br1 up",
      "ip netns exec bhunode sysctl -w net.ipv4.ip_forward=1",
      "ip -n bhu-i1 link set lo up",
      "ip -n bhu-i1 link set eth0 up",
      "ip -n bhu-i1 addr add 10.1.0.2/24 dev eth0",
      "ip -n bhu-i1 route replace default via 10.1.0.1 dev eth0",
      "ip -n bhu-i2 link set lo up",
      "ip -n bhu-i2 link set eth0 up",
      "ip -n bhu-i2 addr add 10.1.0.3/24 dev eth0",
      "ip -n bhu-i2 route replace default via 10.1.0.1 dev eth0",
    ]);
  });

  it("puts the batch lines and the undo of each creation on the ops", () => {
    const p = plan(oneNetTwoPorts(), emptyObserved(), opts);
    expect(p.node[0]).toMatchObject({
      line: "link add br1 address 02:62:68:00:00:01 mtu 68 type bridge",
      undo: "link del br1",
      target: { kind: "node" },
    });
    expect(p.createNamespaces[0]).toMatchObject({
      undo: "netns del bhu-i1",
      object: { kind: "guest", ns: "bhu-i1" },
    });
    expect(p.guests.map((g) => g.ns)).toEqual(["bhu-i1", "bhu-i2"]);
  });

  it("uses plain `ip` lines in the agent's own namespace and leaves its lo alone", () => {
    const o = emptyObserved(null);
    link(o, "lo").up = false;
    const lines = preview(state([net(1)], []), o);
    expect(lines[0]).toBe("ip link add br1 address 02:62:68:00:00:01 mtu 68 type bridge");
    expect(lines.some((l) => l.includes("lo up"))).toBe(false);
  });

  it("creates a missing node namespace and brings its lo up", () => {
    const o: Observed = { ...emptyObserved(), nodeNetnsExists: false, links: [], namespaces: [] };
    const lines = preview(state([net(1)], []), o);
    expect(lines.slice(0, 2)).toEqual(["ip netns add bhunode", "ip -n bhunode link set lo up"]);
  });

  it("gives several NICs of one instance one namespace, and the default route to the owner only", () => {
    const d = state(
      [net(1), net(2)],
      [port(1, 5, 1, { defaultRoute: false }), port(2, 5, 2, { guestIf: "eth1", defaultRoute: true })],
    );
    const lines = preview(d, emptyObserved());
    expect(lines.filter((l) => l.startsWith("ip netns add"))).toEqual(["ip netns add bhu-i5"]);
    expect(lines.filter((l) => l.includes("route"))).toEqual([
      "ip -n bhu-i5 route replace default via 10.2.0.1 dev eth1",
    ]);
  });
});

describe("plan when the kernel already matches (idempotence)", () => {
  it("returns zero operations", () => {
    const d = oneNetTwoPorts();
    expect(preview(d, inSync(d))).toEqual([]);
  });

  it("normalises MAC case and address spelling, and ignores IPv6 and operstate", () => {
    const d = state(
      [net(1, { bridgeAddress: " 10.1.0.1/24" })],
      [port(1, 1, 1, { mac: "02:00:0A:01:00:02" })],
    );
    const o = inSync(state([net(1)], [port(1, 1, 1)]));
    expect(preview(d, o)).toEqual([]);
  });

  it("returns zero operations for a bridge without address and a port without gateway", () => {
    const d = state(
      [net(1, { bridgeAddress: undefined })],
      [port(1, 1, 1, { gateway: undefined, addresses: [] })],
    );
    expect(preview(d, inSync(d))).toEqual([]);
  });

  it("holds for any generated desired state", () => {
    const arb = fc
      .record({
        nets: fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        nics: fc.uniqueArray(fc.integer({ min: 1, max: 9999 }), { maxLength: 20 }),
        mtu: fc.constantFrom(1400, 1500, 9000),
      })
      .map(({ nets, nics, mtu }) =>
        state(
          nets.map((v) => net(v, { mtu })),
          nics.map((n, i) => port(n, (n % 7) + 1, nets[i % nets.length] as number, { guestIf: `eth${n}` })),
        ),
      );
    fc.assert(fc.property(arb, (d) => planPreview(plan(d, inSync(d), opts)).length === 0));
  });
});

describe("plan repairs drift", () => {
  it("recreates a missing bridge and re-enslaves its ports", () => {
    const d = oneNetTwoPorts();
    const o = inSync(d);
    o.links = o.links.filter((l) => l.name !== "br1");
    for (const l of o.links) delete l.master;
    expect(preview(d, o)).toEqual([
      "ip -n bhunode link add br1 address 02:62:68:00:00:01 mtu 68 type bridge",
      "ip -n bhunode link set br1 alias bridgehead:vnet:1 mtu 1500 up",
      "ip -n bhunode addr add 10.1.0.1/24 dev br1",
      "ip -n bhunode link set bhv1 master br1",
      "ip -n bhunode link set bhv2 master br1",
    ]);
  });

  it("re-attaches a veth detached from its bridge, and brings a downed one up", () => {
    const d = oneNetTwoPorts();
    const o = inSync(d);
    delete link(o, "bhv1").master;
    link(o, "bhv2").up = false;
    expect(preview(d, o)).toEqual([
      "ip -n bhunode link set bhv1 master br1",
      "ip -n bhunode link set bhv2 up",
    ]);
  });

  it("fixes MTUs and MACs in place (the bridge keeps a fixed MAC: the guests' gateway)", () => {
    const d = oneNetTwoPorts();
    const o = inSync(d);
    link(o, "br1").mtu = 1400;
    link(o, "br1").mac = "0e:59:ea:e3:00:18";
    link(o, "bhv1").mtu = 1400;
    const eth0 = guest(o, "bhu-i2").links[1];
    if (eth0) eth0.mac = "02:aa:aa:aa:aa:aa";
    expect(preview(d, o)).toEqual([
      "ip -n bhunode link set br1 address 02:62:68:00:00:01 mtu 1500",
      "ip -n bhunode link set bhv1 mtu 1500",
      "ip -n bhu-i2 link set eth0 address 02:00:0a:01:00:03",
    ]);
  });

  it("adds a missing guest address, and replaces a changed one together with the route", () => {
    const d = oneNetTwoPorts();
    const o = inSync(d);
    const g1 = guest(o, "bhu-i1").links[1];
    const g2 = guest(o, "bhu-i2").links[1];
    if (g1) g1.ipv4 = [];
    if (g2) g2.ipv4 = ["10.1.0.3/16"];
    expect(preview(d, o)).toEqual([
      "ip -n bhu-i1 addr add 10.1.0.2/24 dev eth0",
      "ip -n bhu-i2 addr del 10.1.0.3/16 dev eth0",
      "ip -n bhu-i2 addr add 10.1.0.3/24 dev eth0",
      "ip -n bhu-i2 route replace default via 10.1.0.1 dev eth0",
    ]);
  });

  it("sets the bridge address and removes other IPv4 addresses from our bridge", () => {
    const d = oneNetTwoPorts();
    const o = inSync(d);
    link(o, "br1").ipv4 = ["192.0.2.1/24"];
    expect(preview(d, o)).toEqual([
      "ip -n bhunode addr del 192.0.2.1/24 dev br1",
      "ip -n bhunode addr add 10.1.0.1/24 dev br1",
    ]);
  });

  it("fixes a wrong default route and removes one no NIC owns", () => {
    const d = state([net(1)], [port(1, 1, 1), port(2, 2, 1, { defaultRoute: false })]);
    const o = inSync(d);
    guest(o, "bhu-i1").defaultRoutes = [{ gateway: "10.1.0.254", dev: "eth0" }];
    guest(o, "bhu-i2").defaultRoutes = [{ gateway: "10.1.0.1", dev: "eth0" }];
    expect(preview(d, o)).toEqual([
      "ip -n bhu-i1 route del default via 10.1.0.254 dev eth0",
      "ip -n bhu-i1 route replace default via 10.1.0.1 dev eth0",
      "ip -n bhu-i2 route del default via 10.1.0.1 dev eth0",
    ]);
  });

  it("recreates a veth whose guest end is missing or is not its peer", () => {
    const d = oneNetTwoPorts();
    const o = inSync(d);
    guest(o, "bhu-i1").links = guest(o, "bhu-i1").links.filter((l) => l.name !== "eth0");
    const squatter = guest(o, "bhu-i2").links[1];
    if (squatter) squatter.linkIndex = 999;
    const p = plan(d, o, opts);
    expect(planPreview(p)).toEqual([
      "ip -n bhu-i2 link del eth0",
      "ip -n bhunode link del bhv1",
      "ip -n bhunode link add bhv1 address 02:62:76:00:00:01 mtu 1500 type veth peer name eth0 address 02:00:0a:01:00:02 mtu 1500 netns bhu-i1",
      "ip -n bhunode link set bhv1 alias bridgehead:nic:1 master br1 up",
      "ip -n bhunode link del bhv2",
      "ip -n bhunode link add bhv2 address 02:62:76:00:00:02 mtu 1500 type veth peer name eth0 address 02:00:0a:01:00:03 mtu 1500 netns bhu-i2",
      "ip -n bhunode link set bhv2 alias bridgehead:nic:2 master br1 up",
      "ip -n bhu-i1 link set eth0 up",
      "ip -n bhu-i1 addr add 10.1.0.2/24 dev eth0",
      "ip -n bhu-i1 route replace default via 10.1.0.1 dev eth0",
      "ip -n bhu-i2 link set eth0 up",
      "ip -n bhu-i2 addr add 10.1.0.3/24 dev eth0",
      "ip -n bhu-i2 route replace default via 10.1.0.1 dev eth0",
    ]);
    expect(p.guestsBefore.map((g) => g.ns)).toEqual(["bhu-i2"]);
  });

  it("recreates a guest namespace deleted by hand", () => {
    const d = oneNetTwoPorts();
    const o = inSync(d);
    delete o.guests["bhu-i2"];
    o.namespaces = o.namespaces.filter((n) => n !== "bhu-i2");
    const lines = preview(d, o);
    expect(lines[0]).toBe("ip netns add bhu-i2");
    expect(lines).toContain("ip -n bhunode link del bhv2");
    expect(lines).toContain("ip -n bhu-i2 link set lo up");
  });
});
