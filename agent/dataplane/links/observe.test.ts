// Parsing of real `ip -j` output (captured from iproute2 6.1 on this kernel, unrelated keys
// trimmed; the bridge's MAC is the fixed one this agent sets), and the planner fed with it: the shapes the kernel prints must plan to zero operations.
import { describe, expect, it } from "vitest";
import { net, PREFIX, port, state } from "../state.testing";
import type { Observed } from "../types";
import { parseDefaultRoutes, parseGuestBatch, parseLinks } from "./observe";
import { plan } from "./plan";

const NODE_ADDR = JSON.stringify([
  {
    ifindex: 1,
    ifname: "lo",
    flags: ["LOOPBACK", "UP", "LOWER_UP"],
    mtu: 65536,
    operstate: "UNKNOWN",
    address: "00:00:00:00:00:00",
    addr_info: [
      { family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host", label: "lo" },
      { family: "inet6", local: "::1", prefixlen: 128, scope: "host" },
    ],
  },
  // A bridge whose ports are all down: operstate DOWN, NO-CARRIER — but administratively UP.
  {
    ifindex: 2,
    ifname: "br1",
    flags: ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"],
    mtu: 1400,
    operstate: "DOWN",
    address: "02:62:68:00:00:01",
    linkinfo: { info_kind: "bridge" },
    ifalias: "bridgehead:vnet:1",
    addr_info: [
      { family: "inet", local: "10.9.0.1", prefixlen: 24, scope: "global", label: "br1" },
      { family: "inet6", local: "fe80::2:5eff:fe5f:b03e", prefixlen: 64, scope: "link" },
    ],
  },
  {
    ifindex: 3,
    link_index: 2,
    ifname: "bhv1",
    flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
    mtu: 1400,
    master: "br1",
    operstate: "UP",
    address: "0e:59:ea:e3:00:18",
    link_netnsid: 0,
    linkinfo: { info_kind: "veth", info_slave_kind: "bridge" },
    ifalias: "bridgehead:nic:1",
    addr_info: [{ family: "inet6", local: "fe80::c59:eaff:fee3:18", prefixlen: 64, scope: "link" }],
  },
]);

const GUEST_ADDR = JSON.stringify([
  {
    ifindex: 1,
    ifname: "lo",
    flags: ["LOOPBACK", "UP", "LOWER_UP"],
    mtu: 65536,
    operstate: "UNKNOWN",
    address: "00:00:00:00:00:00",
    addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host", label: "lo" }],
  },
  {
    ifindex: 2,
    link_index: 3,
    ifname: "eth0",
    flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
    mtu: 1400,
    operstate: "UP",
    address: "02:00:0a:09:00:02",
    link_netnsid: 0,
    linkinfo: { info_kind: "veth" },
    addr_info: [
      { family: "inet", local: "10.9.0.2", prefixlen: 24, scope: "global", label: "eth0" },
      { family: "inet6", local: "fe80::aff:fe09:2", prefixlen: 64, scope: "link" },
    ],
  },
]);
const GUEST_ROUTES =
  '[{"type":"unicast","dst":"default","gateway":"10.9.0.1","dev":"eth0","protocol":"boot","scope":"global","flags":[]}]';

describe("parsing ip -j output", () => {
  it("reads kind, alias, master, MTU, MAC, the UP flag, the veth peer and IPv4 only", () => {
    const [lo, br, veth] = parseLinks(NODE_ADDR);
    expect(lo).toMatchObject({ name: "lo", up: true, kind: undefined, ipv4: ["127.0.0.1/8"] });
    expect(br).toMatchObject({
      name: "br1",
      kind: "bridge",
      alias: "bridgehead:vnet:1",
      mtu: 1400,
      up: true,
      ipv4: ["10.9.0.1/24"],
    });
    expect(veth).toMatchObject({
      name: "bhv1",
      kind: "veth",
      master: "br1",
      ifindex: 3,
      linkIndex: 2,
      ipv4: [],
    });
  });

  it("reads a guest's batch output: two JSON documents, one per line", () => {
    const g = parseGuestBatch(`${GUEST_ADDR}\n${GUEST_ROUTES}\n`);
    expect(g.links.map((l) => l.name)).toEqual(["lo", "eth0"]);
    expect(g.defaultRoutes).toEqual([{ gateway: "10.9.0.1", dev: "eth0" }]);
  });

  it("treats empty output as an empty list and refuses garbage with a clear message", () => {
    expect(parseLinks("")).toEqual([]);
    expect(parseDefaultRoutes("[]\n")).toEqual([]);
    expect(() => parseLinks("Cannot open network namespace")).toThrow(/cannot parse ip -j addr show/);
  });
});

describe("planning against captured kernel output", () => {
  const desired = state(
    [net(1, { bridge: "br1", mtu: 1400, bridgeAddress: "10.9.0.1/24" })],
    [port(1, 1, 1, { mtu: 1400, mac: "02:00:0A:09:00:02", addresses: ["10.9.0.2/24"], gateway: "10.9.0.1" })],
  );
  const observed = (): Observed => ({
    nodeNetns: "bhunode",
    nodeNetnsExists: true,
    links: parseLinks(NODE_ADDR),
    namespaces: ["bhunode", `${PREFIX}-i1`],
    guests: { [`${PREFIX}-i1`]: parseGuestBatch(`${GUEST_ADDR}\n${GUEST_ROUTES}`) },
    routes: [],
    fdb: [],
    sysctls: { "net.ipv4.ip_forward": "1" },
  });

  it("plans zero operations when the kernel matches", () => {
    const p = plan(desired, observed(), { guestPrefix: PREFIX });
    expect([p.node, p.guests, p.createNamespaces, p.deleteNamespaces].flat()).toEqual([]);
    expect(p.rejectedNetworks).toEqual([]);
  });
});
