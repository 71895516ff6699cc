// The nftables renderer: a pure function from a node's desired state to ONE script that replaces
// all of Bridgehead's nftables state on that node in one `nft -f -` transaction (STYLE.md #10).
// No I/O: golden-tested in nft.test.ts, applied and observed by nft-apply.ts.
//
// Layout (two tables, both named `bridgehead`, nothing else is ever touched):
//   table bridge bridgehead   bridged guest ports: anti-spoofing at L2, by host veth name
//   table inet bridgehead     routed guest ports: anti-spoofing at L3 by iifname; NAT of
//                             internal networks; the security-group skeleton (issue 5)
// Per-port data lives in named sets keyed by the host veth name (`iifname . address`), not in
// per-port rules: the rule count is constant, a lookup is one hash probe, and 1,000 ports cost
// 1,000 set elements. Names (not ifindexes) also let the table land before or after the veth.
import { createHash } from "node:crypto";
import { bigToIp6, ip6ToBig, slaac } from "../../lib/ipam";
import {
  type DesiredNetwork,
  type DesiredPort,
  type DesiredState,
  portDevice,
  TAP_PREFIX,
} from "../../lib/wire";
import { compileSecurityGroups, type SgCompiled } from "./nft-sg";

/** The one table name per family; namespaced so no other tool's tables are ever touched. */
export const NFT_TABLE = "bridgehead";
export const NFT_FAMILIES = ["bridge", "inet"] as const;
export type NftFamily = (typeof NFT_FAMILIES)[number];
/** Every host veth starts with this; a port the loaded table does not know is dropped. */
const PORT_GLOB = "bhv*";

export interface NftSet {
  name: string;
  /** Why the set exists (rendered as a comment above it). */
  why: string;
  /** `type ...` or `typeof ...` and flags, without the trailing `;`. */
  decl: string;
  elements: string[];
}

export interface NftChain {
  name: string;
  why: string;
  /** e.g. `type filter hook prerouting priority -300; policy accept;` for base chains. */
  hook?: string;
  /** One nft rule per entry (the observed rule count is compared with this length). */
  rules: string[];
}

export interface NftTable {
  family: NftFamily;
  why: string;
  /** Named counters (security-group rules). */
  counters: string[];
  sets: NftSet[];
  chains: NftChain[];
}

/** What a correctly loaded table looks like: chains with their rule counts, sets with their
 * element counts. Observed tables are compared with this (nft-apply.ts). */
export interface NftShape {
  chains: Record<string, number>;
  sets: Record<string, number>;
}

export interface NftRender {
  /** The whole transaction: delete-and-recreate of each table (or only delete when not needed). */
  script: string;
  /** Per family: the table's content (model), digest and expected shape, or null when the table
   * must not exist. */
  tables: Record<NftFamily, { digest: string; shape: NftShape; model: NftTable } | null>;
  /** Kernel settings these tables rely on ("key=value"): forwarding for NAT, br_netfilter's
   * hand-over of bridged traffic to the inet hooks for security groups. */
  sysctls: string[];
  /** NICs that need security groups but got no mark slot (over 65,535 on one node). */
  unfiltered: number[];
}

/** A chain whose name carries the digest of its table's content: what was loaded is readable from
 * `nft -j list table` without keeping any state on the agent (and it survives agent restarts). */
export const DIGEST_CHAIN_PREFIX = "digest_";

/** The link-local address a guest derives from its MAC (modified EUI-64, Linux's default). */
export const linkLocal = (mac: string) => slaac("fe80::/64", mac);

/** An IPv6 address as the 128-bit hex integer nft compares raw payload with (ND target field). */
const ip6Hex = (addr: string) => `0x${ip6ToBig(addr).toString(16).padStart(32, "0")}`;
/** One spelling per address (sets refuse the same element twice in one transaction). */
const canon6 = (addr: string) => bigToIp6(ip6ToBig(addr));

const ipOf = (cidr: string) => cidr.split("/")[0] as string;
const q = (s: string) => `"${s}"`;

/** The IPv4 network of a CIDR, e.g. 10.0.0.1/24 → 10.0.0.0/24. */
function networkCidr(cidr: string): string {
  const [ip = "", len = "32"] = cidr.split("/");
  const n = ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  const bits = Number(len);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join(".")}/${bits}`;
}

interface PortFacts {
  port: DesiredPort;
  net: DesiredNetwork;
  iif: string;
  mac: string;
  v4: string[];
  v6: string[];
  /** The port has leased addresses: its IP sources are checked. Ethernet-only leases (an outside
   * DHCP hands out the IPs) have none, so only the MAC is enforced for them. */
  ipChecked: boolean;
}

function portFacts(desired: DesiredState): PortFacts[] {
  const nets = new Map(desired.networks.map((n) => [n.vnetId, n]));
  const out: PortFacts[] = [];
  for (const port of desired.ports) {
    const net = nets.get(port.vnetId);
    if (!net) continue;
    const mac = port.mac.toLowerCase();
    const v4 = port.addresses.map(ipOf);
    const leased6 = (port.addresses6 ?? []).map(canon6);
    out.push({
      port,
      net,
      iif: portDevice(port),
      mac,
      v4,
      v6: [linkLocal(mac), ...leased6],
      ipChecked: v4.length + leased6.length > 0,
    });
  }
  return out.sort((a, b) => a.port.nicId - b.port.nicId);
}

const spoofable = (p: PortFacts) => p.net.antiSpoofing !== false;

/** The per-port data of anti-spoofing (same names in both tables). */
function antiSpoofSets(ports: PortFacts[]): NftSet[] {
  const checked = ports.filter((p) => p.ipChecked);
  return [
    {
      name: "port_mac",
      why: "The one source MAC each port may use (Ethernet source and ARP sender).",
      decl: "type ifname . ether_addr",
      elements: ports.map((p) => `${q(p.iif)} . ${p.mac}`),
    },
    {
      name: "ip_checked",
      why: "Ports with leased addresses; Ethernet-only leases (IPs from an outside DHCP) are MAC-checked only.",
      decl: "type ifname",
      elements: checked.map((p) => q(p.iif)),
    },
    {
      name: "port_ip4",
      why: "Leased IPv4 addresses per port: the only IPv4 sources and ARP senders allowed.",
      decl: "type ifname . ipv4_addr",
      elements: checked.flatMap((p) => p.v4.map((a) => `${q(p.iif)} . ${a}`)),
    },
    {
      name: "port_ip6",
      why: "Leased IPv6 addresses per port plus the link-local one derived from its MAC.",
      decl: "type ifname . ipv6_addr",
      elements: checked.flatMap((p) => p.v6.map((a) => `${q(p.iif)} . ${a}`)),
    },
    {
      name: "port_nd",
      why: "The same IPv6 addresses as raw 128-bit integers: a neighbour advertisement may only claim its own (nft 1.0.6 has no icmpv6 taddr).",
      decl: "typeof iifname . @th,64,128",
      elements: checked.flatMap((p) => p.v6.map((a) => `${q(p.iif)} . ${ip6Hex(a)}`)),
    },
  ];
}

/** The address checks every guest port goes through, in order; `l2` adds the rules that need the
 * Ethernet header (bridge family). The chain has no `accept` at all: a clean packet returns to the
 * base chain, so whatever a later feature adds there (security groups) comes after every drop. */
function antiSpoofRules(l2: boolean): string[] {
  const v4 = l2 ? "ether type ip " : "meta nfproto ipv4 ";
  const v6 = l2 ? "ether type ip6 " : "meta nfproto ipv6 ";
  return [
    // At L3 (routed ports) the Ethernet header is still readable in prerouting.
    "iifname . ether saddr != @port_mac drop",
    ...(l2
      ? [
          // VLAN tags and other ethertypes would bypass every check below.
          "ether type != { ip, arp, ip6 } drop",
          "ether type arp iifname . arp saddr ether != @port_mac drop",
          // A gratuitous ARP for a neighbour's address poisons every cache on the segment;
          // 0.0.0.0 is an ARP probe (RFC 5227 duplicate detection), which claims nothing.
          "ether type arp iifname @ip_checked arp saddr ip != 0.0.0.0 iifname . arp saddr ip != @port_ip4 drop",
        ]
      : []),
    // A guest is a DHCP client, never a server (v4: sport 67; v6: sport 547), and never a router.
    `${v4}udp sport 67 drop`,
    `${v6}udp sport 547 drop`,
    `${v6}icmpv6 type { nd-router-advert, nd-redirect } drop`,
    // DHCP discover/request come from 0.0.0.0 before the guest has its address.
    `${v4}ip saddr 0.0.0.0 udp sport 68 udp dport 67 return`,
    `${v4}iifname @ip_checked iifname . ip saddr != @port_ip4 drop`,
    // Duplicate address detection and its MLD report come from the unspecified address.
    `${v6}ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld2-listener-report } return`,
    `${v6}iifname @ip_checked iifname . ip6 saddr != @port_ip6 drop`,
    `${v6}icmpv6 type nd-neighbor-advert iifname @ip_checked iifname . @th,64,128 != @port_nd drop`,
  ];
}

/** Bridged ports: checked in the bridge family, where the guest's port (not the bridge) is the
 * input interface and ARP is visible; priority -300 runs before anything else on the bridge. */
function bridgeTable(ports: PortFacts[], sg: SgCompiled | undefined): NftTable {
  const bridged = ports.filter((p) => p.net.driver !== "routed");
  return {
    family: "bridge",
    why: "Bridged guest ports: L2/L3 anti-spoofing before any other rule sees a frame; security groups' inbound checks.",
    counters: sg?.bridge.counters ?? [],
    sets: [
      {
        name: "guest_ports",
        why: "Every guest port this table knows (anti-spoofed or not).",
        decl: "type ifname",
        elements: bridged.map((p) => q(p.iif)),
      },
      {
        name: "spoof_checked",
        why: "Ports under anti-spoofing (all but those of VNETs that turned it off).",
        decl: "type ifname",
        elements: bridged.filter(spoofable).map((p) => q(p.iif)),
      },
      ...antiSpoofSets(bridged.filter(spoofable)),
      ...(sg?.bridge.sets ?? []),
    ],
    chains: [
      {
        name: "prerouting",
        why: "Fail closed: a guest port the loaded table does not know yet (e.g. when loading a newer table failed) sends nothing. Then anti-spoofing; security groups (issue 5) mark the packet after it.",
        hook: "type filter hook prerouting priority -300; policy accept;",
        rules: [
          `iifname ${q(PORT_GLOB)} iifname != @guest_ports drop`,
          "iifname @spoof_checked jump antispoof",
          ...(sg?.prerouting ?? []),
        ],
      },
      {
        name: "antispoof",
        why: "A port may send only from its own MAC and leased addresses; no DHCP server, no router advertisements.",
        rules: antiSpoofRules(true),
      },
      {
        name: "forward",
        why: "A guest's router solicitations go to the uplink, VXLAN or VLAN port and the node, not to the other guests: guests may not be routers, so none would answer, and every guest keeps soliciting (with backoff, forever), each flooded to every port of the bridge.",
        hook: "type filter hook forward priority -300; policy accept;",
        rules: [
          "ether type ip6 icmpv6 type nd-router-solicit iifname @guest_ports oifname @guest_ports drop",
        ],
      },
      ...(sg?.bridge.chains ?? []),
    ],
  };
}

/** The inet table: routed ports (no bridge; the host veth is the input interface at L3), NAT of
 * internal networks, and the security-group skeleton. */
function inetTable(ports: PortFacts[], networks: DesiredNetwork[], sg: SgCompiled | undefined): NftTable {
  const routed = ports.filter((p) => p.net.driver === "routed");
  const nat = networks.filter((n) => n.networkType === "internal" && (n.subnet || n.bridgeAddress));
  const chains: NftChain[] = [];
  const sets: NftSet[] = [];
  if (routed.length > 0) {
    sets.push(
      {
        name: "spoof_checked",
        why: "Routed ports (no bridge) under anti-spoofing, checked at L3.",
        decl: "type ifname",
        elements: routed.filter(spoofable).map((p) => q(p.iif)),
      },
      ...antiSpoofSets(routed.filter(spoofable)),
    );
    chains.push(
      {
        name: "prerouting",
        why: "Routed ports have no bridge, so the check runs at L3 by input interface. ARP of routed ports is not filtered yet (it only reaches the node's proxy ARP).",
        hook: "type filter hook prerouting priority -300; policy accept;",
        rules: ["iifname @spoof_checked jump antispoof"],
      },
      { name: "antispoof", why: "The L3 part of the bridge table's checks.", rules: antiSpoofRules(false) },
    );
  }
  if (nat.length > 0) {
    // Every internal network of this node: traffic between two of them is routed by the node with
    // its real source, so the destination's security groups see who sent it (NETWORK_ID rules).
    const nets = [...new Set(nat.map((n) => networkCidr(n.subnet ?? n.bridgeAddress ?? "")))];
    const local = nets.length === 1 ? nets[0] : `{ ${nets.join(", ")} }`;
    chains.push({
      name: "postrouting",
      why: "Internal networks reach the outside through the node's own address; traffic between guests of the network (over its bridge, or routed by the node for the routed driver) and to the node's other internal networks is not translated.",
      hook: "type nat hook postrouting priority srcnat; policy accept;",
      rules: nat.map((n) => {
        const net = networkCidr(n.subnet ?? n.bridgeAddress ?? "");
        return `ip saddr ${net} ip daddr != ${local} oifname != ${q(n.bridge)} masquerade`;
      }),
    });
  }
  if (ports.some((p) => p.port.kind === "tap")) {
    // A tap the hypervisor created but the agent has not enslaved yet is an L3 interface of the
    // node: what the VM sends there would reach the node's own stack (and its forwarding). Once
    // enslaved, bridged traffic shows the bridge as iifname here, so only unplugged taps match.
    const taps = q(`${TAP_PREFIX}*`);
    chains.push(
      {
        name: "tap_unplugged_in",
        why: "Until a tap is plugged into its bridge, nothing it sends reaches the node.",
        hook: "type filter hook prerouting priority -300; policy accept;",
        rules: [`iifname ${taps} drop`],
      },
      {
        name: "tap_unplugged_out",
        why: "Until a tap is plugged into its bridge, the node sends nothing out of it.",
        hook: "type filter hook output priority -300; policy accept;",
        rules: [`oifname ${taps} drop`],
      },
    );
  }
  if (sg) {
    sets.push(...sg.inet.sets);
    chains.push(...sg.inet.chains);
  }
  return {
    family: "inet",
    why: "Routed-port anti-spoofing, NAT of internal networks, security groups' outbound checks (dispatched on the mark the bridge table sets after anti-spoofing: bridge-family tables lack `ct state` on kernels without nf_conntrack_bridge).",
    counters: sg?.inet.counters ?? [],
    sets,
    chains,
  };
}

/** `map` or `set`, as nft spells the object in declarations and in `flush`. */
export const setKind = (s: NftSet) => (s.decl.includes(":") ? "map" : "set");

function renderTable(t: NftTable, digest: string): string {
  const lines = [`# ${t.why}`, `table ${t.family} ${NFT_TABLE} {`];
  for (const c of t.counters) lines.push(`\tcounter ${c} {`, "\t}");
  for (const s of t.sets) {
    lines.push(`\t# ${s.why}`, `\t${setKind(s)} ${s.name} {`, `\t\t${s.decl};`);
    if (s.elements.length > 0) lines.push(`\t\telements = { ${s.elements.join(",\n\t\t\t")} }`);
    lines.push("\t}");
  }
  for (const c of t.chains) {
    lines.push(`\t# ${c.why}`, `\tchain ${c.name} {`);
    if (c.hook) lines.push(`\t\t${c.hook}`);
    for (const r of c.rules) lines.push(`\t\t${r}`);
    lines.push("\t}");
  }
  lines.push(
    `\t# What was loaded, readable back from the kernel (see ${DIGEST_CHAIN_PREFIX}* in nft-apply.ts).`,
  );
  lines.push(`\tchain ${DIGEST_CHAIN_PREFIX}${digest} {`, "\t}", "}");
  return lines.join("\n");
}

/** The node's whole nftables state as one `nft -f` script; tables with nothing to do are removed. */
export function renderNft(desired: DesiredState): NftRender {
  const ports = portFacts(desired);
  const sg = compileSecurityGroups(
    desired,
    ports.map((p) => ({ nicId: p.port.nicId, iif: p.iif, net: p.net, sgIds: p.port.securityGroupIds })),
  );
  const tables = [bridgeTable(ports, sg), inetTable(ports, desired.networks, sg)];
  const out: NftRender = {
    script: "",
    tables: { bridge: null, inet: null },
    sysctls: [],
    unfiltered: sg?.overflow ?? [],
  };
  // `table X` first creates the table when absent, so `delete table X` never fails; the three
  // steps are one transaction, so the kernel swaps old for new with nothing in between.
  const parts = [
    "#!/usr/sbin/nft -f",
    "# Bridgehead: this node's whole nftables state, replaced in one transaction.",
  ];
  for (const t of tables) {
    parts.push(`table ${t.family} ${NFT_TABLE}`, `delete table ${t.family} ${NFT_TABLE}`);
    // The bridge table exists while any bridged port does; the inet one while it has a chain.
    const needed = t.family === "bridge" ? ports.some((p) => p.net.driver !== "routed") : t.chains.length > 0;
    if (!needed) continue;
    for (const s of t.sets) s.elements = [...new Set(s.elements)];
    const digest = createHash("sha256").update(renderTable(t, "")).digest("hex").slice(0, 16);
    parts.push(renderTable(t, digest));
    out.tables[t.family] = {
      digest,
      model: t,
      shape: {
        chains: Object.fromEntries([
          ...t.chains.map((c) => [c.name, c.rules.length]),
          [`${DIGEST_CHAIN_PREFIX}${digest}`, 0],
        ]),
        sets: Object.fromEntries(t.sets.map((s) => [s.name, s.elements.length])),
      },
    };
  }
  out.script = `${parts.join("\n")}\n`;
  if (out.tables.inet?.shape.chains.postrouting) out.sysctls.push("net.ipv4.ip_forward=1");
  // br_netfilter's hand-over is for bridged ports (a routed port's traffic is L3 already).
  if (sg?.prerouting.length)
    out.sysctls.push("net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1");
  return out;
}

/** Name of the chain that marks a lockdown table (no digest: any rendered ruleset differs from it). */
export const LOCKDOWN_CHAIN = "lockdown";

/** The fail-closed stand-in for `families` while no ruleset of ours is loaded there: every guest
 * port (bhv*) neither sends nor receives. Constant and free of sets, so the kernel always accepts
 * it; a later full load replaces it like any of our tables (same name). */
export function renderLockdown(families: readonly NftFamily[]): string {
  const g = q(PORT_GLOB);
  const parts = [
    "#!/usr/sbin/nft -f",
    "# Bridgehead lockdown: no ruleset is loaded yet; guest ports are closed.",
  ];
  for (const f of families) {
    parts.push(
      `table ${f} ${NFT_TABLE}`,
      `delete table ${f} ${NFT_TABLE}`,
      `table ${f} ${NFT_TABLE} {`,
      `\tchain ${LOCKDOWN_CHAIN} {`,
      "\t}",
      "\tchain prerouting {",
      "\t\ttype filter hook prerouting priority -300; policy accept;",
      `\t\tiifname ${g} drop`,
      "\t}",
      "\tchain forward {",
      "\t\ttype filter hook forward priority -300; policy accept;",
      `\t\toifname ${g} drop`,
      "\t}",
      "\tchain output {",
      "\t\ttype filter hook output priority -300; policy accept;",
      `\t\toifname ${g} drop`,
      "\t}",
      "}",
    );
  }
  return `${parts.join("\n")}\n`;
}
