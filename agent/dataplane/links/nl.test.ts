// The netlink helper's vocabulary: every `ip` line the guest planner writes translates to one
// helper request, and anything else is refused (those batches run through `ip` instead).
import { describe, expect, it } from "vitest";
import { emptyObserved, inSync, net, PREFIX, port, state } from "../state.testing";
import { toNetlink } from "./nl";
import { plan } from "./plan";

describe("toNetlink", () => {
  it.each([
    ["link set lo up", { op: "link", dev: "lo", up: true }],
    [
      "link set eth0 address 02:00:0A:01:00:02 mtu 1400 up",
      { op: "link", dev: "eth0", mac: "02:00:0a:01:00:02", mtu: 1400, up: true },
    ],
    ["link del eth1", { op: "linkdel", dev: "eth1" }],
    ["addr add 10.1.0.2/24 dev eth0", { op: "addradd", dev: "eth0", cidr: "10.1.0.2/24" }],
    ["addr del 10.1.0.2/24 dev eth0", { op: "addrdel", dev: "eth0", cidr: "10.1.0.2/24" }],
    [
      "addr add 2001:db8::20/64 dev eth0 nodad",
      { op: "addradd", dev: "eth0", cidr: "2001:db8::20/64", nodad: true },
    ],
    ["addr del 2001:db8::20/64 dev eth0", { op: "addrdel", dev: "eth0", cidr: "2001:db8::20/64" }],
    ["route replace default via 10.1.0.1 dev eth0", { op: "routereplace", via: "10.1.0.1", dev: "eth0" }],
    [
      "route replace default via 169.254.0.1 dev eth0 onlink",
      { op: "routereplace", via: "169.254.0.1", dev: "eth0", onlink: true },
    ],
    ["route del default via 10.1.0.1 dev eth0", { op: "routedel", via: "10.1.0.1", dev: "eth0" }],
    ["route del default dev eth1", { op: "routedel", dev: "eth1" }],
  ])("translates %s", (line, op) => {
    expect(toNetlink(line)).toEqual(op);
  });

  it.each([
    "link set eth0 alias x",
    "link set eth0 up up",
    "link set eth0 mtu big",
    "link add eth0 type veth",
    "addr add fd00::1/64 dev eth0 nodad home",
    "addr add 10.1.0.2/24 dev eth0 brd +",
    "route replace 10.2.0.0/16 via 10.1.0.1 dev eth0",
    "route replace default via 10.1.0.1",
    "route replace default via 10.1.0.1 dev eth0 metric 5",
    "route del default table 5",
    "netns add x",
  ])("refuses %s (it runs through ip)", (line) => {
    expect(toNetlink(line)).toBeUndefined();
  });

  it("covers every guest line the planner writes: from empty, for drift, and for routed ports", () => {
    const d = state(
      [net(1), net(2, { driver: "routed", bridgeAddress: undefined })],
      [port(1, 1, 1), port(2, 1, 2, { guestIf: "eth1", defaultRoute: false }), port(3, 3, 2)],
    );
    const drifted = inSync(d);
    const g = drifted.guests[`${PREFIX}-i1`]!;
    for (const l of g.links) {
      if (l.name === "eth0")
        Object.assign(l, { mac: "02:99:99:99:99:99", mtu: 1400, up: false, ipv4: ["10.9.9.9/24"] });
    }
    g.defaultRoutes = [{ gateway: "10.9.9.1", dev: "eth1" }];
    const lines = [emptyObserved(), drifted].flatMap((o) =>
      [
        ...plan(d, o, { guestPrefix: PREFIX }).guests,
        ...plan(d, o, { guestPrefix: PREFIX }).guestsBefore,
      ].flatMap((b) => b.ops.map((op) => op.line)),
    );
    expect(lines.length).toBeGreaterThan(8);
    expect(lines.filter((l) => toNetlink(l) === undefined)).toEqual([]);
  });
});
