// Security groups (issue 5) compiled into the node's two bridgehead tables. Pure; nft.ts merges
// the result into its tables, so SGs land in the same single transaction as anti-spoofing and NAT.
//
// Why it looks like this (this kernel has no nf_conntrack_bridge, so the bridge family cannot
// match `ct state`; br_netfilter hands bridged IP traffic to the inet hooks, where conntrack works
// but the input interface is the bridge, not the guest's port):
//   mark bits 0–15  the source port's slot, set in the bridge table's prerouting AFTER
//                   anti-spoofing (so a spoofed packet never carries a slot);
//   mark bit 31     "conntrack says established/related", set by the inet table right after
//                   conntrack (prerouting for forwarded traffic, output for the node's own).
//   Outbound rules  inet forward + input: `meta mark & 0xffff vmap` → the port's chain.
//   Inbound rules   bridge postrouting, where the destination port is known: established traffic
//                   (bit 31) passes, the rest goes `oifname vmap` → the port's chain.
// A group's rules live ONCE, in sg_<id>_out (inet) and sg_<id>_in (bridge); a port is dispatched
// (by slot or output interface) to its network's chain, which only jumps to the network's groups'
// chains and drops what none accepted. An `accept` ends only the base chain
// it is in, so outbound and inbound checks both apply. Address spans are named interval sets,
// each rule has a named counter. Changing one rule re-renders one group chain, not 1,000 ports.
import { intToIp4, ip4ToInt } from "../../lib/domain";
import { bigToIp6, ip6ToBig, isIp6 } from "../../lib/ipam";
import type { DesiredNetwork, DesiredSgRule, DesiredState } from "../../lib/wire";
import type { NftChain, NftSet } from "./nft";

/** The default group: allows everything; while attached, a network is not filtered. */
export const DEFAULT_SG = 0;
export const SLOT_MASK = "0x0000ffff";
export const ESTABLISHED_BIT = "0x80000000";
const NOT_ESTABLISHED = "0x7fffffff";
const MAX_SLOTS = 0xffff;

export interface SgPort {
  nicId: number;
  iif: string;
  net: DesiredNetwork;
  /** The port's own list (its VNET's groups plus those attached to the NIC); absent: the VNET's. */
  sgIds?: number[];
}

export interface SgTablePart {
  sets: NftSet[];
  chains: NftChain[];
  counters: string[];
}

export interface SgCompiled {
  bridge: SgTablePart;
  inet: SgTablePart;
  /** Appended to the bridge table's prerouting chain, after anti-spoofing. */
  prerouting: string[];
  /** Ports over the 65,535 slots of the mark (not filtered; reported by the caller). */
  overflow: number[];
}

/** The groups filtering a network, or [] when it is not filtered. */
export function groupsOf(net: DesiredNetwork): number[] {
  return filtering(net.securityGroupIds);
}

function filtering(ids: number[] | undefined): number[] {
  const list = ids ?? [];
  return list.length === 0 || list.includes(DEFAULT_SG) ? [] : [...new Set(list)].sort((a, b) => a - b);
}

/** The groups filtering one port: its own list when the server sent one, else its network's. */
export function portGroups(p: SgPort): number[] {
  return p.sgIds ? filtering(p.sgIds) : groupsOf(p.net);
}

/** The groups the node enforces on a port: [] when nothing filters it (the routed driver has no
 * security groups yet). */
export function enforcedGroups(p: SgPort): number[] {
  return p.net.driver === "routed" ? [] : portGroups(p);
}

/** The jump chain a port is dispatched to: its network's when it has the network's groups, else
 * one of its own (a group attached to this NIC only). */
function jumpKey(p: SgPort): string {
  const own = portGroups(p);
  const net = groupsOf(p.net);
  return own.length === net.length && own.every((id, i) => id === net[i])
    ? `net_${p.net.vnetId}`
    : `nic_${p.nicId}`;
}

type Span = [bigint, bigint];

/** Sorted, merged spans (overlapping or adjacent): nft refuses overlapping interval elements. */
function merge(spans: Span[]): Span[] {
  const out: Span[] = [];
  for (const s of [...spans].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const last = out.at(-1);
    if (last && s[0] <= last[1] + 1n) last[1] = s[1] > last[1] ? s[1] : last[1];
    else out.push([s[0], s[1]]);
  }
  return out;
}

/** A rule's spans as nft interval elements, per family. */
function spanElements(rule: DesiredSgRule): { v4: string[]; v6: string[] } {
  const v4: Span[] = [];
  const v6: Span[] = [];
  for (const s of rule.spans ?? []) {
    if (isIp6(s.first)) {
      const a = ip6ToBig(s.first);
      v6.push([a, a + BigInt(s.size) - 1n]);
    } else {
      const a = BigInt(ip4ToInt(s.first));
      v4.push([a, a + BigInt(s.size) - 1n]);
    }
  }
  const el = (spans: Span[], fmt: (n: bigint) => string) =>
    merge(spans).map(([a, b]) => (a === b ? fmt(a) : `${fmt(a)}-${fmt(b)}`));
  return {
    v4: el(v4, (n) => intToIp4(Number(n))),
    v6: el(v6, bigToIp6),
  };
}

/** "22,53,80:90" → "{ 22, 53, 80-90 }" (merged: overlapping intervals are refused). */
function portSet(ports: string): string {
  const spans = merge(
    ports.split(",").map((p) => {
      const [a = "0", b = a] = p.split(":");
      const lo = BigInt(Math.min(Number(a), Number(b)));
      const hi = BigInt(Math.max(Number(a), Number(b)));
      return [lo, hi] as Span;
    }),
  );
  return `{ ${spans.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(", ")} }`;
}

/** The protocol part of a rule and the families it can match (ICMP is IPv4 only, ICMPv6 IPv6). */
function protoMatch(rule: DesiredSgRule): { match: string; families: ("v4" | "v6")[] } {
  const both: ("v4" | "v6")[] = ["v4", "v6"];
  switch (rule.protocol) {
    case "TCP":
    case "UDP": {
      const p = rule.protocol.toLowerCase();
      return {
        match: rule.ports ? `${p} dport ${portSet(rule.ports)}` : `meta l4proto ${p}`,
        families: both,
      };
    }
    case "ICMP":
      return {
        match: rule.icmpType !== undefined ? `icmp type ${rule.icmpType}` : "meta l4proto icmp",
        families: ["v4"],
      };
    case "ICMPv6":
      return {
        match: rule.icmpType !== undefined ? `icmpv6 type ${rule.icmpType}` : "meta l4proto ipv6-icmp",
        families: ["v6"],
      };
    case "IPSEC":
      return { match: "meta l4proto { esp, ah }", families: both };
    default:
      return { match: "", families: both };
  }
}

/** One group's rules of one direction: nft rules, their interval sets and counters. */
function groupChain(sgId: number, rules: DesiredSgRule[], dir: "in" | "out"): SgTablePart {
  const part: SgTablePart = { sets: [], chains: [], counters: [] };
  const lines: string[] = [];
  const key = dir === "out" ? "daddr" : "saddr";
  for (const rule of rules) {
    const counter = `sg${sgId}_r${rule.ruleId}`;
    part.counters.push(counter);
    const { match, families } = protoMatch(rule);
    const tail = `${match ? `${match} ` : ""}counter name "${counter}" accept`;
    if (!rule.spans?.length) {
      // No address: any family the protocol allows; IPv4/IPv6-only protocols imply their family.
      lines.push(tail);
      continue;
    }
    const els = spanElements(rule);
    for (const fam of families) {
      const elements = els[fam];
      if (elements.length === 0) continue;
      const set = `${counter}_${fam === "v4" ? "a4" : "a6"}`;
      part.sets.push({
        name: set,
        why: `Addresses of rule ${rule.ruleId} of security group ${sgId}.`,
        decl: `type ${fam === "v4" ? "ipv4_addr" : "ipv6_addr"}; flags interval`,
        elements,
      });
      lines.push(`${fam === "v4" ? "ip" : "ip6"} ${key} @${set} ${tail}`);
    }
  }
  part.chains.push({
    name: `sg_${sgId}_${dir}`,
    why: `Security group ${sgId}, ${dir === "out" ? "outbound (from the guest)" : "inbound (to the guest)"} rules, once for every port using it.`,
    rules: lines,
  });
  return part;
}

/** Traffic every guest needs whatever its groups say: address resolution, neighbour discovery
 * and DHCP with the node (anti-spoofing already stops guests from answering these). */
const INFRASTRUCTURE = [
  "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept",
  "udp sport 68 udp dport 67 accept",
  "udp sport 67 udp dport 68 accept",
  "udp sport 546 udp dport 547 accept",
  "udp sport 547 udp dport 546 accept",
];

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

/** The security-group parts of both tables; undefined when no port of this node is filtered. */
export function compileSecurityGroups(desired: DesiredState, ports: SgPort[]): SgCompiled | undefined {
  const filtered = ports.filter((p) => enforcedGroups(p).length > 0).sort((a, b) => a.nicId - b.nicId);
  if (filtered.length === 0) return undefined;
  const slotted = filtered.slice(0, MAX_SLOTS);
  const groups = new Map((desired.securityGroups ?? []).map((g) => [g.sgId, g]));
  const used = [...new Set(slotted.flatMap(portGroups))].sort((a, b) => a - b);

  const bridge: SgTablePart = { sets: [], chains: [], counters: [] };
  const inet: SgTablePart = { sets: [], chains: [], counters: [] };
  const add = (to: SgTablePart, from: SgTablePart) => {
    to.sets.push(...from.sets);
    to.chains.push(...from.chains);
    to.counters.push(...from.counters);
  };
  // A group the server did not send filters as "no rule matches" (fail closed).
  for (const id of used) {
    const rules = groups.get(id)?.rules ?? [];
    add(
      inet,
      groupChain(
        id,
        rules.filter((r) => r.direction === "OUTBOUND"),
        "out",
      ),
    );
    add(
      bridge,
      groupChain(
        id,
        rules.filter((r) => r.direction === "INBOUND"),
        "in",
      ),
    );
  }
  // SGs attach to VNETs, so all ports of a network share one jump list: one chain per network and
  // direction (not per port) keeps a 1,000-port table at a handful of chains.
  // A NIC with a group of its own gets a chain of its own.
  const nets = [...new Map(slotted.map((p) => [jumpKey(p), p])).entries()];
  const netChain = ([key, p]: [string, SgPort], dir: "in" | "out"): NftChain => ({
    name: `${key}_${dir}`,
    why: `${key.startsWith("net_") ? `Ports of VNET ${p.net.vnetId}` : `NIC ${p.nicId}`}: its groups' ${dir === "out" ? "outbound" : "inbound"} rules, then drop.`,
    rules: [...portGroups(p).map((id) => `jump sg_${id}_${dir}`), "drop"],
  });
  bridge.sets.push(
    {
      name: "sg_slot",
      why: "Each filtered port's slot, carried in the mark's low 16 bits from prerouting on.",
      decl: "type ifname : mark",
      elements: slotted.map((p, i) => `"${p.iif}" : ${hex(i + 1)}`),
    },
    {
      name: "sg_in",
      why: "Filtered ports by output interface: their network's inbound checks.",
      decl: "type ifname : verdict",
      elements: slotted.map((p) => `"${p.iif}" : jump ${jumpKey(p)}_in`),
    },
  );
  bridge.chains.push(
    {
      name: "sg_postrouting",
      why: "Inbound checks where the destination port is known; replies to allowed traffic pass by the conntrack bit the inet table set.",
      hook: "type filter hook postrouting priority 0; policy accept;",
      rules: [
        `meta mark & ${ESTABLISHED_BIT} == ${ESTABLISHED_BIT} accept`,
        "ether type arp accept",
        ...INFRASTRUCTURE,
        "oifname vmap @sg_in",
      ],
    },
    ...nets.map((n) => netChain(n, "in")),
  );
  inet.sets.push({
    name: "sg_out",
    why: "Filtered ports by slot: their network's outbound checks.",
    decl: "type mark : verdict",
    elements: slotted.map((p, i) => `${hex(i + 1)} : jump ${jumpKey(p)}_out`),
  });
  // The bit is cleared first: a mark set elsewhere on the node must never pass as "established".
  const established = [
    `meta mark set meta mark & ${NOT_ESTABLISHED}`,
    `ct state established,related meta mark set meta mark | ${ESTABLISHED_BIT}`,
  ];
  const outbound = [
    "ct state established,related accept",
    ...INFRASTRUCTURE,
    `meta mark & ${SLOT_MASK} vmap @sg_out`,
  ];
  inet.chains.push(
    {
      name: "sg_ct",
      why: "Right after conntrack (priority -200): tell the bridge table which packets belong to allowed flows.",
      hook: "type filter hook prerouting priority -150; policy accept;",
      rules: established,
    },
    {
      name: "sg_ct_local",
      why: "The same for the node's own packets to guests (gateway, DNS, DHCP replies).",
      hook: "type filter hook output priority -150; policy accept;",
      rules: established,
    },
    {
      name: "sg_forward",
      why: "Outbound checks of forwarded traffic (guest to guest through br_netfilter, guest to outside).",
      hook: "type filter hook forward priority 0; policy accept;",
      rules: outbound,
    },
    {
      name: "sg_input",
      why: "Outbound checks of traffic from guests to the node itself.",
      hook: "type filter hook input priority 0; policy accept;",
      rules: outbound,
    },
    ...nets.map((n) => netChain(n, "out")),
  );
  return {
    bridge,
    inet,
    prerouting: ["meta mark set iifname map @sg_slot"],
    overflow: filtered.slice(MAX_SLOTS).map((p) => p.nicId),
  };
}
