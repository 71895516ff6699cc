// Test helpers: desired states and the Observed a kernel would show once they are applied, so
// planner tests can start from "in sync" and add one drift at a time.
import {
  type DesiredNetwork,
  type DesiredPort,
  type DesiredState,
  ROUTED_GATEWAY,
  WIRE_VERSION,
} from "../../lib/wire";
import { confKey, IP_FORWARD, neighKey, vlanName, vxlanName, ZERO_MAC } from "./links/drivers";
import {
  bridgeMac,
  deviceAlias,
  guestNsName,
  hostVethName,
  networkAlias,
  nicAlias,
  type Observed,
  type ObservedGuest,
  type ObservedLink,
} from "./types";

export const PREFIX = "bhu";
export const NODE = "bhunode";

/** A bridge network with sensible defaults. */
export function net(vnetId: number, over: Partial<DesiredNetwork> = {}): DesiredNetwork {
  return {
    vnetId,
    name: `net${vnetId}`,
    driver: "bridge",
    networkType: "internal",
    bridge: `br${vnetId}`,
    mtu: 1500,
    bridgeAddress: `10.${vnetId}.0.1/24`,
    ...over,
  };
}

const hex = (n: number) => (n & 255).toString(16).padStart(2, "0");

/** A NIC on VNET `vnetId` with address 10.<vnet>.0.<nicId+1>. */
export function port(
  nicId: number,
  instanceId: number,
  vnetId: number,
  over: Partial<DesiredPort> = {},
): DesiredPort {
  return {
    nicId,
    instanceId,
    instanceName: `vm${instanceId}`,
    vnetId,
    guestIf: "eth0",
    mac: `02:00:0a:${hex(vnetId)}:${hex((nicId + 1) >> 8)}:${hex(nicId + 1)}`,
    addresses: [`10.${vnetId}.0.${nicId + 1}/24`],
    gateway: `10.${vnetId}.0.1`,
    defaultRoute: true,
    mtu: 1500,
    ...over,
  };
}

export function state(
  networks: DesiredNetwork[],
  ports: DesiredPort[],
  over: Partial<DesiredState> = {},
): DesiredState {
  return { wireVersion: WIRE_VERSION, nodeId: 1, nodeName: "node-a", revision: 7, networks, ports, ...over };
}

/** The node's uplink in fixtures: an underlay veth that is not ours (no alias). */
export const UPLINK: ObservedLink = {
  name: "ul0",
  ifindex: 2,
  kind: "veth",
  mtu: 1500,
  mac: "02:12:00:00:00:01",
  up: true,
  ipv4: ["198.18.0.1/15"],
};

/** An empty node namespace (exists, lo up) and no guests; null = the agent's own namespace. */
export function emptyObserved(ns: string | null = NODE): Observed {
  const nodeNetns = ns ?? undefined;
  const lo: ObservedLink = {
    name: "lo",
    ifindex: 1,
    mtu: 65536,
    mac: "00:00:00:00:00:00",
    up: true,
    ipv4: ["127.0.0.1/8"],
  };
  return {
    nodeNetns,
    nodeNetnsExists: true,
    links: [lo],
    namespaces: nodeNetns ? [nodeNetns] : [],
    guests: {},
    routes: [],
    fdb: [],
    sysctls: { [IP_FORWARD]: "0" },
  };
}

/** What the kernel shows after `desired` was applied (plus IPv6 link-local noise, ignored). */
export function inSync(desired: DesiredState, nodeNetns: string | null = NODE): Observed {
  const o = emptyObserved(nodeNetns);
  if (desired.uplink) o.links.push({ ...UPLINK, name: desired.uplink });
  let ifindex = 10;
  for (const n of desired.networks) {
    const routed = n.driver === "routed";
    o.links.push({
      name: n.bridge,
      ifindex: ifindex++,
      kind: "bridge",
      alias: networkAlias(n.vnetId),
      mtu: n.mtu,
      mac: bridgeMac(n.vnetId),
      up: true,
      ipv4: routed ? [`${ROUTED_GATEWAY}/32`] : n.bridgeAddress ? [n.bridgeAddress] : [],
    });
    if (routed || (n.networkType === "internal" && n.bridgeAddress)) o.sysctls[IP_FORWARD] = "1";
    if (n.driver === "bridge" && n.phydev) {
      const phy = o.links.find((l) => l.name === n.phydev);
      if (phy) phy.master = n.bridge;
      else o.links.push({ ...UPLINK, name: n.phydev, ifindex: ifindex++, ipv4: [], master: n.bridge });
    }
    if (n.driver === "vxlan" && n.vni) {
      const name = vxlanName(n.vni);
      o.links.push({
        name,
        ifindex: ifindex++,
        kind: "vxlan",
        alias: deviceAlias(n.vnetId, "vxlan"),
        master: n.bridge,
        mtu: n.mtu,
        mac: "82:45:12:1f:2b:95",
        up: true,
        ipv4: [],
        vxlan: {
          id: n.vni,
          local: desired.vtep,
          port: 4789,
          learning: n.vxlanGroup !== undefined,
          ...(n.vxlanGroup ? { group: n.vxlanGroup } : {}),
          ...(desired.uplink ? { dev: desired.uplink } : {}),
        },
      });
      if (!n.vxlanGroup) for (const dst of n.vxlanPeers ?? []) o.fdb.push({ dev: name, mac: ZERO_MAC, dst });
    }
    if (n.driver === "vlan" && n.vlanId && n.phydev) {
      if (!o.links.some((l) => l.name === n.phydev))
        o.links.push({ ...UPLINK, name: n.phydev, ifindex: ifindex++, ipv4: [] });
      o.links.push({
        name: vlanName(n),
        ifindex: ifindex++,
        kind: "vlan",
        alias: deviceAlias(n.vnetId, "vlan"),
        master: n.bridge,
        mtu: n.mtu,
        mac: "02:12:00:00:00:01",
        up: true,
        ipv4: [],
        vlan: { id: n.vlanId, dev: n.phydev },
      });
    }
  }
  const guests: Record<string, ObservedGuest> = {};
  for (const p of desired.ports) {
    const ns = guestNsName(PREFIX, p.instanceId);
    const g = guests[ns] ?? {
      links: [{ name: "lo", ifindex: 1, mtu: 65536, up: true, ipv4: ["127.0.0.1/8"] }],
      defaultRoutes: [],
    };
    guests[ns] = g;
    const hostIdx = ifindex++;
    const guestIdx = g.links.length + 1;
    const network = desired.networks.find((n) => n.vnetId === p.vnetId);
    const routed = network?.driver === "routed";
    const host = hostVethName(p.nicId);
    if (routed) {
      for (const a of p.addresses) o.routes.push({ dst: a.split("/")[0] as string, dev: host });
      o.sysctls[confKey(host, "proxy_arp")] = "1";
      o.sysctls[neighKey(host, "proxy_delay")] = "0";
    }
    o.links.push({
      name: host,
      ifindex: hostIdx,
      kind: "veth",
      alias: nicAlias(p.nicId),
      master: routed ? undefined : network?.bridge,
      mtu: p.mtu,
      mac: "ca:fb:f9:ce:4f:7c",
      up: true,
      linkIndex: guestIdx,
      ipv4: [],
    });
    g.links.push({
      name: p.guestIf,
      ifindex: guestIdx,
      kind: "veth",
      mtu: p.mtu,
      mac: p.mac.toLowerCase(),
      up: true,
      linkIndex: hostIdx,
      ipv4: [...p.addresses],
    });
    if (p.defaultRoute && p.gateway && g.defaultRoutes.length === 0) {
      g.defaultRoutes.push({ gateway: p.gateway, dev: p.guestIf });
    }
  }
  o.guests = guests;
  o.namespaces.push(...Object.keys(guests));
  return o;
}

/** The link named `name` in the node namespace (throws when absent, to keep tests short). */
export function link(o: Observed, name: string): ObservedLink {
  const l = o.links.find((x) => x.name === name);
  if (!l) throw new Error(`fixture has no link ${name}`);
  return l;
}

/** The guest namespace `ns` (throws when absent). */
export function guest(o: Observed, ns: string): ObservedGuest {
  const g = o.guests[ns];
  if (!g) throw new Error(`fixture has no guest ${ns}`);
  return g;
}
