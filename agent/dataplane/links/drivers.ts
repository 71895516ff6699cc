// Network drivers: each turns one desired network into node-namespace operations. A short interface
// with paired verbs (setup/clear) and a registry map, after Incus' network drivers; an unknown
// driver, or one whose prerequisites are missing on this node, is a typed error that the planner
// reports for that network alone.
import type { Driver } from "../../../lib/domain";
import { bigToIp6, ip6ToBig, slaac } from "../../../lib/ipam";
import { type DesiredNetwork, type DesiredState, ROUTED_GATEWAY, VXLAN_PORT } from "../../../lib/wire";
import {
  bridgeMac,
  deviceAlias,
  networkAlias,
  type ObservedFdb,
  type ObservedLink,
  type Op,
  vxlanMac,
} from "../types";

/** Builds one node-namespace op for the object being planned. */
export type OpFactory = (line: string, extra?: { undo?: string; deletion?: boolean }) => Op;

/** What a driver sees of the node and how it makes ops for the network it plans. */
export interface DriverContext {
  links: Map<string, ObservedLink>;
  /** FDB entries of the node's VXLAN devices. */
  fdb: ObservedFdb[];
  sysctls: Record<string, string>;
  /** The node's VTEP address and uplink device (desired state). */
  vtep?: string;
  uplink?: string;
  /** `ip` line in the node namespace. */
  op: OpFactory;
  /** `bridge` line in the node namespace. */
  fdbOp: OpFactory;
  /** `sysctl -w key=value` in the node namespace. */
  sysctl: (key: string, value: string) => Op;
}

export interface SetupResult {
  /** `ip` ops (node namespace batch). */
  ops: Op[];
  /** `bridge` ops (FDB), run after the `ip` batch. */
  fdb: Op[];
  sysctls: Op[];
  /** The network's bridge is (re)created by these ops: every port must be enslaved again. */
  bridgeCreated: boolean;
}

export interface NetworkDriver {
  readonly name: Driver;
  /** Why this node cannot realise `net` (missing VTEP, uplink...); undefined when it can. */
  check(net: DesiredNetwork, desired: DesiredState): string | undefined;
  /** Names of the kernel links this driver owns for `net` (the bridge first). */
  links(net: DesiredNetwork): string[];
  /** Ops that create or repair the network's objects; none when the kernel already matches. */
  setup(net: DesiredNetwork, ctx: DriverContext): SetupResult;
  /** Ops that remove one kernel object this driver created for a network. */
  clear(link: ObservedLink, op: OpFactory): Op[];
  /** Whether ports are routed (/32 routes, proxy ARP) rather than enslaved to the bridge. */
  readonly routedPorts?: boolean;
}

/** A network whose driver this agent cannot realise. */
export class DriverError extends Error {
  constructor(
    readonly driver: string,
    message: string,
  ) {
    super(message);
    this.name = "DriverError";
  }
}

/** Normalises an IPv4 CIDR for comparison with what the kernel prints (trimmed, "/024" → "/24"). */
export function normCidr(cidr: string): string {
  const [addr = "", len = ""] = cidr.trim().split("/");
  return `${addr.split(".").map(Number).join(".")}/${Number(len)}`;
}

/** Lines that turn `have` (IPv4 CIDRs on `dev`) into `want`: deletions first, so an address whose
 * prefix length changed is replaced rather than refused as a duplicate. */
export function addressLines(dev: string, have: string[], want: string[]): string[] {
  const h = new Set(have.map(normCidr));
  const w = new Set(want.map(normCidr));
  return [
    ...[...h].filter((a) => !w.has(a)).map((a) => `addr del ${a} dev ${dev}`),
    ...[...w].filter((a) => !h.has(a)).map((a) => `addr add ${a} dev ${dev}`),
  ];
}

/** Canonical IPv6 CIDR (RFC 5952 spelling), for comparison with what the kernel prints. */
export function normCidr6(cidr: string): string {
  const [addr = "", len = "128"] = cidr.trim().split("/");
  return `${bigToIp6(ip6ToBig(addr))}/${Number(len)}`;
}

/** addressLines for IPv6. Added with `nodad`: the address is the node's or a leased one (the
 * portal never hands it out twice), and duplicate address detection would hold it tentative for
 * a second, in which nothing (router advertisements, DHCPv6, a ping) can use it. */
export function addressLines6(dev: string, have: string[], want: string[]): string[] {
  const h = new Set(have.map(normCidr6));
  const w = new Set(want.map(normCidr6));
  return [
    ...[...h].filter((a) => !w.has(a)).map((a) => `addr del ${a} dev ${dev}`),
    ...[...w].filter((a) => !h.has(a)).map((a) => `addr add ${a} dev ${dev} nodad`),
  ];
}

/** Forwarding between the guests' bridge or veths and the uplink (NAT, routed networks). Only ever
 * turned on: a host that forwards for other reasons is not ours to turn off. */
export const IP_FORWARD = "net.ipv4.ip_forward";
/** The sysctl key of a per-interface IPv4 setting. */
export const confKey = (dev: string, what: string) => `net.ipv4.conf.${dev.replaceAll(".", "/")}.${what}`;
/** The sysctl key of a per-interface IPv4 neighbour (ARP) setting. */
export const neighKey = (dev: string, what: string) => `net.ipv4.neigh.${dev.replaceAll(".", "/")}.${what}`;

const empty = (): SetupResult => ({ ops: [], fdb: [], sysctls: [], bridgeCreated: false });

/** The bridge every driver builds on, with `address` (or none) as its only IPv4 address. */
function setupBridge(net: DesiredNetwork, address: string | undefined, ctx: DriverContext): SetupResult {
  const { op } = ctx;
  const ops: Op[] = [];
  let link = ctx.links.get(net.bridge);
  // Ours (the planner checked the alias) but not a bridge: it cannot be changed in place.
  if (link && link.kind !== "bridge") {
    ops.push(op(`link del ${net.bridge}`, { deletion: true }));
    link = undefined;
  }
  // Created with a placeholder MTU (68, the bridge minimum; valid MTUs are ≥ 576) that the next
  // line changes: only an MTU *changed* by `link set` marks the bridge's MTU as set by the user.
  // Otherwise the kernel makes the bridge follow its smallest port's MTU, and a port with a
  // smaller MTU than its network would make every reconcile fix the bridge again.
  const mac = bridgeMac(net.vnetId);
  if (!link)
    ops.push(
      op(`link add ${net.bridge} address ${mac} mtu 68 type bridge`, { undo: `link del ${net.bridge}` }),
    );
  const set: string[] = [];
  const alias = networkAlias(net.vnetId);
  if (link?.alias !== alias) set.push(`alias ${alias}`);
  if (link && link.mac !== mac) set.push(`address ${mac}`);
  if (link?.mtu !== net.mtu) set.push(`mtu ${net.mtu}`);
  if (!link?.up) set.push("up");
  if (set.length > 0) ops.push(op(`link set ${net.bridge} ${set.join(" ")}`));
  // The bridge is ours, so an address not desired (a stale gateway) goes too.
  for (const line of addressLines(net.bridge, link?.ipv4 ?? [], address ? [address] : [])) ops.push(op(line));
  ops.push(...bridge6(net, link, mac, op));
  return { ...empty(), ops, bridgeCreated: !link };
}

/** The bridge's IPv6. A VXLAN network's bridge has the same MAC on every node (one gateway for the
 * guests wherever they are, as its IPv4 address), so the kernel's link-local address would fail
 * duplicate address detection on every node but the first (the others answer over the tunnel),
 * and with it the node's router advertisements. A bridge serving IPv6 therefore makes no
 * link-local address of its own (addrgenmode none, set before it has a port, so before it has a
 * carrier) and gets the same one added without detection: an anycast gateway. One that failed
 * detection (a bridge of an older agent) is re-added. A bridge without IPv6 keeps the kernel's. */
function bridge6(
  net: DesiredNetwork,
  link: ObservedLink | undefined,
  mac: string,
  op: DriverContext["op"],
): Op[] {
  const want = net.bridgeAddresses6 ?? [];
  const have = link?.ipv6 ?? [];
  if (!want.length)
    return addressLines6(
      net.bridge,
      have.filter((a) => !a.startsWith("fe80:")),
      [],
    ).map((l) => op(l));
  const ll = `${slaac("fe80::/64", mac)}/64`;
  const failed = link?.ipv6Failed ?? [];
  const ops: Op[] = [];
  if (!link || failed.includes(ll)) ops.push(op(`link set ${net.bridge} addrgenmode none`));
  ops.push(...failed.map((a) => op(`addr del ${a} dev ${net.bridge}`, { deletion: true })));
  for (const line of addressLines6(net.bridge, have, [ll, ...want])) ops.push(op(line));
  return ops;
}

/** `link set` of a device enslaved to the network's bridge: master, MTU, alias and up, as needed. */
function enslave(
  dev: string,
  net: DesiredNetwork,
  link: ObservedLink | undefined,
  bridgeCreated: boolean,
  opts: { alias?: string; mtu?: number },
): string | undefined {
  const set: string[] = [];
  if (opts.alias && link?.alias !== opts.alias) set.push(`alias ${opts.alias}`);
  if (opts.mtu !== undefined && link?.mtu !== opts.mtu) set.push(`mtu ${opts.mtu}`);
  if (bridgeCreated || link?.master !== net.bridge) set.push(`master ${net.bridge}`);
  if (!link?.up) set.push("up");
  return set.length > 0 ? `link set ${dev} ${set.join(" ")}` : undefined;
}

const clearLink = (link: ObservedLink, op: OpFactory) => [op(`link del ${link.name}`, { deletion: true })];

/** Plain Linux bridge; the guests' gateway address goes on the bridge when the VNET asks for it.
 * With a physical device (an external network's uplink), that device is enslaved to the bridge:
 * it is not ours, so it is never deleted nor renamed, only attached. */
export const bridgeDriver: NetworkDriver = {
  name: "bridge",
  check(net) {
    if (net.networkType === "external" && !net.phydev)
      return `external network ${net.name} needs an uplink: set the VNET's physical device or start the agent with --underlay-dev`;
    return undefined;
  },
  links: (net) => [net.bridge],
  setup(net, ctx) {
    const r = setupBridge(net, net.bridgeAddress, ctx);
    if (net.phydev) {
      const line = enslave(net.phydev, net, ctx.links.get(net.phydev), r.bridgeCreated, {});
      if (line) r.ops.push(ctx.op(line));
    }
    if (net.networkType === "internal" && net.bridgeAddress) r.sysctls.push(...forwarding(ctx));
    return r;
  },
  clear: clearLink,
};

function forwarding(ctx: DriverContext): Op[] {
  return ctx.sysctls[IP_FORWARD] === "1" ? [] : [ctx.sysctl(IP_FORWARD, "1")];
}

/** The VXLAN device of a VNI: `vxlan<vni>` is unique per node (a VNI belongs to one VNET) and at
 * most 13 characters. */
export const vxlanName = (vni: number) => `vxlan${vni}`;
/** The all-zero MAC: default destination (BUM traffic) of a VXLAN device's FDB. */
export const ZERO_MAC = "00:00:00:00:00:00";

/** Bridge + VXLAN device (VNI, UDP 4789, the node's VTEP as source). Peers are static FDB entries
 * for the all-zero MAC (head-end replication: no multicast needed in the underlay) and learning is
 * off; with a multicast group, BUM traffic goes to the group and learning stays on instead. The
 * server compiles the VNET's MTU less the 50 bytes of encapsulation into `net.mtu`. */
export const vxlanDriver: NetworkDriver = {
  name: "vxlan",
  check(net, desired) {
    if (!net.vni) return `VXLAN network ${net.name} has no VNI`;
    if (!desired.vtep)
      return `VXLAN network ${net.name} needs this node's VTEP address: start the agent with --vtep ADDRESS or --underlay-dev DEVICE`;
    if (net.vxlanGroup && !desired.uplink)
      return `VXLAN network ${net.name} uses multicast group ${net.vxlanGroup}, which needs the node's uplink (--underlay-dev)`;
    return undefined;
  },
  links: (net) => [net.bridge, vxlanName(net.vni ?? 0)],
  setup(net, ctx) {
    const r = setupBridge(net, net.bridgeAddress, ctx);
    const vni = net.vni as number;
    const name = vxlanName(vni);
    const group = net.vxlanGroup;
    const learning = group !== undefined;
    let link = ctx.links.get(name);
    const v = link?.vxlan;
    const same =
      link?.kind === "vxlan" &&
      v?.id === vni &&
      v.local === ctx.vtep &&
      v.port === VXLAN_PORT &&
      v.group === group &&
      v.learning === learning &&
      (v.dev ?? undefined) === (ctx.uplink ?? undefined);
    if (link && !same) {
      r.ops.push(ctx.op(`link del ${name}`, { deletion: true }));
      link = undefined;
    }
    if (!link) {
      const dev = ctx.uplink ? ` dev ${ctx.uplink}` : "";
      const mode = group ? ` group ${group}` : " nolearning";
      r.ops.push(
        ctx.op(
          `link add ${name} address ${vxlanMac(net.vnetId)} type vxlan id ${vni} local ${ctx.vtep} dstport ${VXLAN_PORT}${dev}${mode}`,
          {
            undo: `link del ${name}`,
          },
        ),
      );
    }
    const alias = deviceAlias(net.vnetId, "vxlan");
    const line = enslave(name, net, link, r.bridgeCreated, { alias, mtu: net.mtu });
    if (line) r.ops.push(ctx.op(line));
    // Head-end replication: one all-zero entry per peer; entries of a recreated device are gone.
    const want = new Set(group ? [] : (net.vxlanPeers ?? []));
    const have = new Set(
      link ? ctx.fdb.filter((f) => f.dev === name && f.mac === ZERO_MAC && f.dst).map((f) => f.dst) : [],
    );
    for (const dst of [...have].filter((d) => d && !want.has(d)))
      r.fdb.push(ctx.fdbOp(`fdb del ${ZERO_MAC} dev ${name} dst ${dst}`, { deletion: true }));
    for (const dst of [...want].filter((d) => !have.has(d)))
      r.fdb.push(ctx.fdbOp(`fdb append ${ZERO_MAC} dev ${name} dst ${dst}`));
    if (net.networkType === "internal" && net.bridgeAddress) r.sysctls.push(...forwarding(ctx));
    return r;
  },
  clear: clearLink,
};

/** The 802.1Q sub-interface of `phydev` for `vid`: `phydev.vid` when that fits in 15 characters,
 * else `bhl<vnet>` (not bhq<…>: that is QoS's ifb of a NIC, tc/plan.ts; a sub-interface left under the
 * old bhq name by an earlier agent is stale and replaced). */
export const vlanName = (net: DesiredNetwork) => {
  const conventional = `${net.phydev}.${net.vlanId}`;
  return conventional.length <= 15 ? conventional : `bhl${net.vnetId}`;
};

/** Bridge + 802.1Q sub-interface of the physical device (the uplink unless the VNET names one),
 * enslaved to the bridge. The physical device is not ours: it is only brought up. */
export const vlanDriver: NetworkDriver = {
  name: "vlan",
  check(net) {
    if (!net.vlanId) return `802.1Q network ${net.name} has no VLAN ID`;
    if (!net.phydev)
      return `802.1Q network ${net.name} needs a physical device: set the VNET's physical device or start the agent with --underlay-dev`;
    return undefined;
  },
  links: (net) => [net.bridge, vlanName(net)],
  setup(net, ctx) {
    const r = setupBridge(net, net.bridgeAddress, ctx);
    const phydev = net.phydev as string;
    const vid = net.vlanId as number;
    const name = vlanName(net);
    let link = ctx.links.get(name);
    if (link && (link.kind !== "vlan" || link.vlan?.id !== vid || link.vlan.dev !== phydev)) {
      r.ops.push(ctx.op(`link del ${name}`, { deletion: true }));
      link = undefined;
    }
    if (ctx.links.get(phydev) && !ctx.links.get(phydev)?.up) r.ops.push(ctx.op(`link set ${phydev} up`));
    if (!link)
      r.ops.push(
        ctx.op(`link add link ${phydev} name ${name} type vlan id ${vid}`, { undo: `link del ${name}` }),
      );
    const line = enslave(name, net, link, r.bridgeCreated, {
      alias: deviceAlias(net.vnetId, "vlan"),
      mtu: net.mtu,
    });
    if (line) r.ops.push(ctx.op(line));
    if (net.networkType === "internal" && net.bridgeAddress) r.sysctls.push(...forwarding(ctx));
    return r;
  },
  clear: clearLink,
};

/** Host-routed networks: no L2 between guests. The bridge device is only an anchor holding the
 * guests' gateway (169.254.0.1/32, answered by ARP on any port); each port's host veth gets /32
 * routes to its addresses and proxy ARP (so guests reach each other through the node); the node
 * forwards. Ports are planned by plan-guest.ts (routedPorts). */
export const routedDriver: NetworkDriver = {
  name: "routed",
  routedPorts: true,
  check: () => undefined,
  links: (net) => [net.bridge],
  setup(net, ctx) {
    const r = setupBridge(net, `${ROUTED_GATEWAY}/32`, ctx);
    r.sysctls.push(...forwarding(ctx));
    return r;
  },
  clear: clearLink,
};

/** Drivers this agent implements, by name. */
export const DRIVER_REGISTRY: Partial<Record<string, NetworkDriver>> = {
  bridge: bridgeDriver,
  vxlan: vxlanDriver,
  vlan: vlanDriver,
  routed: routedDriver,
};

/** The driver for `name`, or a DriverError naming it. */
export function getDriver(name: string): NetworkDriver {
  const d = DRIVER_REGISTRY[name];
  if (!d) throw new DriverError(name, `driver ${name} is not supported by this agent`);
  return d;
}
