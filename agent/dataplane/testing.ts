// Test helpers: desired states and the Observed a kernel would show once they are applied, so
// planner tests can start from "in sync" and add one drift at a time.
import type { DesiredNetwork, DesiredPort, DesiredState } from "../../lib/wire";
import {
  bridgeMac,
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

export function state(networks: DesiredNetwork[], ports: DesiredPort[]): DesiredState {
  return { wireVersion: 1, nodeId: 1, nodeName: "node-a", revision: 7, networks, ports };
}

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
  };
}

/** What the kernel shows after `desired` was applied (plus IPv6 link-local noise, ignored). */
export function inSync(desired: DesiredState, nodeNetns: string | null = NODE): Observed {
  const o = emptyObserved(nodeNetns);
  let ifindex = 10;
  for (const n of desired.networks) {
    o.links.push({
      name: n.bridge,
      ifindex: ifindex++,
      kind: "bridge",
      alias: networkAlias(n.vnetId),
      mtu: n.mtu,
      mac: bridgeMac(n.vnetId),
      up: true,
      ipv4: n.bridgeAddress ? [n.bridgeAddress] : [],
    });
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
    const bridge = desired.networks.find((n) => n.vnetId === p.vnetId)?.bridge;
    o.links.push({
      name: hostVethName(p.nicId),
      ifindex: hostIdx,
      kind: "veth",
      alias: nicAlias(p.nicId),
      master: bridge,
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
