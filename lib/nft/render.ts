// The nftables renderer: a pure function from a node's desired state to ONE script that replaces
// all of Bridgehead's nftables state on that node in one `nft -f -` transaction (a refused load
// leaves the previous tables in force). No I/O: golden-tested in agent/dataplane/nft/nft.test.ts,
// applied and observed by agent/dataplane/nft/apply.ts.
//
// Layout (two tables, both named `bridgehead`, nothing else is ever touched):
//   table bridge bridgehead   bridged guest ports: anti-spoofing at L2, by host veth name
//   table inet bridgehead     routed guest ports: anti-spoofing at L3 by iifname; NAT of
//                             internal networks; isolation between VNETs that are not peered;
//                             the security-group skeleton
// Per-port data lives in named sets keyed by the host veth name (`iifname . address`), not in
// per-port rules: the rule count is constant, a lookup is one hash probe, and 1,000 ports cost
// 1,000 set elements. Names (not ifindexes) also let the table land before or after the veth.
import { createHash } from "node:crypto";
import { bigToIp6, ip6ToBig, slaac } from "../ipam";
import { type DesiredNetwork, type DesiredPort, type DesiredState, portDevice, TAP_PREFIX } from "../wire";
import {
  DIGEST_CHAIN_PREFIX,
  NFT_FAMILIES,
  NFT_TABLE,
  type NftChain,
  type NftFamily,
  type NftRender,
  type NftSet,
  type NftShape,
  type NftTable,
} from "./model";
import { compileSecurityGroups, type SgCompiled } from "./sg";

export {
  DIGEST_CHAIN_PREFIX,
  NFT_FAMILIES,
  NFT_TABLE,
  type NftChain,
  type NftFamily,
  type NftRender,
  type NftSet,
  type NftShape,
  type NftTable,
};

/** Every host veth starts with this; a port the loaded table does not know is dropped. */
const PORT_GLOB = "bhv*";

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
        why: "Fail closed: a guest port the loaded table does not know yet (e.g. when loading a newer table failed) sends nothing. Then anti-spoofing; security groups mark the packet after it.",
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
      ...dhcpTunnelChains(bridged),
      ...(sg?.bridge.chains ?? []),
    ],
  };
}

/** A VXLAN VNET's DHCP is distributed: each node's server answers its own ports. Its offers, DHCPv6
 * replies and router advertisements must not reach the other nodes' guests over the tunnel (they
 * would get a second, foreign answer): the node drops them on the way into the VXLAN device. */
function dhcpTunnelChains(bridged: PortFacts[]): NftChain[] {
  const tunnels = [
    ...new Set(
      bridged
        .filter((p) => p.net.driver === "vxlan" && p.net.dhcp?.enabled && p.net.vni !== undefined)
        .map((p) => q(`vxlan${p.net.vni}`)),
    ),
  ].sort();
  if (!tunnels.length) return [];
  const oif = `oifname { ${tunnels.join(", ")} }`;
  return [
    {
      name: "output",
      why: "The node's DHCP server and router advertisements serve this node's ports only: nothing of them enters a VXLAN tunnel.",
      hook: "type filter hook output priority -300; policy accept;",
      rules: [
        `${oif} ether type ip udp sport 67 udp dport 68 drop`,
        `${oif} ether type ip6 udp sport 547 udp dport 546 drop`,
        `${oif} ether type ip6 icmpv6 type nd-router-advert drop`,
      ],
    },
  ];
}

/** Every interface through which a VNET's traffic enters the node's routing: its bridge, or for a
 * routed network (no bridge) each of its ports' host veths. */
function vnetInterfaces(ports: PortFacts[], networks: DesiredNetwork[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const n of networks) out.set(n.vnetId, n.driver === "routed" ? [] : [n.bridge]);
  for (const p of ports) if (p.net.driver === "routed") out.get(p.net.vnetId)?.push(p.iif);
  return out;
}

/** Isolation between VNETs: the node routes between two of its VNETs only when they are peered.
 * One chain per VNET, reached by input interface through a verdict map, drops what leaves through
 * another VNET's interface that is not one of its peers'; the rule count grows with the VNETs, not
 * with the ports. It is stateless on purpose: once a peering goes, even packets of established
 * flows stop at once (and the agent deletes their conntrack entries). Traffic to anything that is
 * not an internal VNET (the uplink, external networks: NAT to the outside) passes as before, and so does traffic within one
 * VNET (its bridge, or between its routed ports). Security groups (priority 0) still judge what a
 * peering lets through. On input, a guest reaches its own gateway address (DHCP, DNS, the node)
 * but not another VNET's, unless peered. */
function isolation(ports: PortFacts[], networks: DesiredNetwork[]): { sets: NftSet[]; chains: NftChain[] } {
  const ifs = vnetInterfaces(ports, networks);
  // An external network is the outer network itself (its bridge may even carry the node's uplink,
  // and so its route to the outside): reaching it is reaching the outside, as through the uplink.
  const nets = networks.filter((n) => n.networkType === "internal").sort((a, b) => a.vnetId - b.vnetId);
  if (nets.length < 2) return { sets: [], chains: [] };
  const reach = (n: DesiredNetwork) => [n.vnetId, ...(n.peers ?? []).map((p) => p.vnetId)];
  const gw = (n: DesiredNetwork) => (n.bridgeAddress ? ipOf(n.bridgeAddress) : undefined);
  const byId = new Map(nets.map((n) => [n.vnetId, n]));
  const sets: NftSet[] = [
    {
      name: "iso_ifs",
      why: "Every interface of a VNET on this node (bridges; routed networks' host veths).",
      decl: "type ifname",
      elements: nets.flatMap((n) => (ifs.get(n.vnetId) ?? []).map(q)),
    },
    {
      name: "iso_from",
      why: "Each VNET interface's isolation chain.",
      decl: "type ifname : verdict",
      elements: nets.flatMap((n) => (ifs.get(n.vnetId) ?? []).map((i) => `${q(i)} : jump iso_v${n.vnetId}`)),
    },
    ...nets.map((n) => ({
      name: `iso_reach_v${n.vnetId}`,
      why: `Where VNET ${n.vnetId} may be routed to among the VNETs: its own interfaces and its peers'.`,
      decl: "type ifname",
      elements: reach(n).flatMap((id) => (ifs.get(id) ?? []).map(q)),
    })),
    {
      name: "iso_gw",
      why: "The gateway addresses of the VNETs on this node.",
      decl: "type ipv4_addr",
      elements: nets.flatMap((n) => gw(n) ?? []),
    },
    {
      name: "iso_gw_reach",
      why: "Which gateway addresses each VNET interface may reach: its own VNET's and its peers'.",
      decl: "type ifname . ipv4_addr",
      elements: nets.flatMap((n) =>
        (ifs.get(n.vnetId) ?? []).flatMap((i) =>
          reach(n).flatMap((id) => {
            const a = byId.get(id);
            const g = a && gw(a);
            return g ? [`${q(i)} . ${g}`] : [];
          }),
        ),
      ),
    },
  ];
  const chains: NftChain[] = [
    {
      name: "iso_forward",
      why: "Traffic routed by the node from one VNET to another passes only between peers (each VNET's chain decides).",
      hook: "type filter hook forward priority -10; policy accept;",
      rules: ["oifname @iso_ifs iifname vmap @iso_from"],
    },
    {
      name: "iso_input",
      why: "A guest reaches its own gateway address and its peers', not the other VNETs' gateways on this node.",
      hook: "type filter hook input priority -10; policy accept;",
      rules: ["iifname @iso_ifs ip daddr @iso_gw iifname . ip daddr != @iso_gw_reach drop"],
    },
    ...nets.map((n) => ({
      name: `iso_v${n.vnetId}`,
      why: `VNET ${n.vnetId} is routed to its own interfaces and its peers' only.`,
      rules: [`oifname != @iso_reach_v${n.vnetId} drop`],
    })),
  ];
  return { sets, chains };
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
  const iso = isolation(ports, networks);
  sets.push(...iso.sets);
  chains.push(...iso.chains);
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
    why: "Routed-port anti-spoofing, NAT of internal networks, isolation between VNETs that are not peered, security groups' outbound checks (dispatched on the mark the bridge table sets after anti-spoofing: bridge-family tables lack `ct state` on kernels without nf_conntrack_bridge).",
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
    `\t# What was loaded, readable back from the kernel (see ${DIGEST_CHAIN_PREFIX}* in agent/dataplane/nft/apply.ts).`,
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
