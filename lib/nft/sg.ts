// Security groups compiled into the node's two bridgehead tables. Pure; render.ts merges
// the result into its tables, so SGs land in the same single transaction as anti-spoofing and NAT.
//
// Why it looks like this (this kernel has no nf_conntrack_bridge, so the bridge family cannot
// match `ct state`; br_netfilter hands bridged IP traffic to the inet hooks, where conntrack works
// but the input interface is the bridge, not the guest's port):
//   mark bits 0–15  the slot of the source port's jump chain (its network's, or its own when the
//                   NIC has groups of its own), set in the bridge table's prerouting AFTER
//                   anti-spoofing (so a spoofed packet never carries a slot);
//   mark bit 31     "conntrack says established/related", set by the inet table right after
//                   conntrack (prerouting for forwarded traffic, output for the node's own).
//   Outbound rules  inet forward + input: `meta mark & 0xffff vmap` → the port's chain.
//   Inbound rules   bridge postrouting, where the destination port is known: established traffic
//                   (bit 31) passes, for the rest the mark becomes the destination port's slot
//                   (the same port → slot map) and `meta mark vmap` → its chain.
// A group's rules live ONCE, in sg_<id>_out (inet) and sg_<id>_in (bridge); a port is dispatched
// to its network's chain, which only jumps to the network's groups' chains and drops what none
// accepted. An `accept` ends only the base chain it is in, so outbound and inbound checks both
// apply. Slots number chains, not ports: the only per-port element is the port → slot entry (one
// per port instead of three keeps a 1,000-port load short), and the two slot → chain maps hold a
// handful of entries. Address spans are named interval sets, each rule has a named counter.
// Changing one rule re-renders one group chain, not 1,000 ports.
// Routed ports (no bridge, so no bridge-family hook and no slot) are checked in the inet table
// alone, by the host veth: outbound `iifname vmap` in forward + input, inbound `oifname vmap` in
// postrouting (before NAT), with `ct state` right there; their groups' inbound chains are then
// rendered in the inet table too.
import type { DesiredNetwork, DesiredState } from "../wire";
import type { NftChain } from "./model";
import { groupChain, type SgTablePart } from "./sg-rules";

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

export type { SgTablePart } from "./sg-rules";

export interface SgCompiled {
  bridge: SgTablePart;
  inet: SgTablePart;
  /** Appended to the bridge table's prerouting chain, after anti-spoofing. */
  prerouting: string[];
  /** Ports whose jump chain got none of the mark's 65,535 slots (not filtered; reported by the
   * caller): more than 65,535 NICs with groups of their own on one node. */
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

/** The jump chain a port is dispatched to: its network's when it has the network's groups, else
 * one of its own (a group attached to this NIC only). */
function jumpKey(p: SgPort): string {
  const own = portGroups(p);
  const net = groupsOf(p.net);
  return own.length === net.length && own.every((id, i) => id === net[i])
    ? `net_${p.net.vnetId}`
    : `nic_${p.nicId}`;
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
  const filtered = ports.filter((p) => portGroups(p).length > 0).sort((a, b) => a.nicId - b.nicId);
  if (filtered.length === 0) return undefined;
  const bridged = filtered.filter((p) => p.net.driver !== "routed");
  const routed = filtered.filter((p) => p.net.driver === "routed");
  // One slot per jump chain of bridged ports (networks and NICs with groups of their own), from 1.
  const slotOf = new Map<string, number>();
  for (const p of bridged) {
    const key = jumpKey(p);
    if (!slotOf.has(key) && slotOf.size < MAX_SLOTS) slotOf.set(key, slotOf.size + 1);
  }
  const slotted = bridged.filter((p) => slotOf.has(jumpKey(p)));
  const groups = new Map((desired.securityGroups ?? []).map((g) => [g.sgId, g]));
  const usedBy = (ps: SgPort[]) => [...new Set(ps.flatMap(portGroups))].sort((a, b) => a - b);
  // A group the server did not send filters as "no rule matches" (fail closed).
  const rulesOf = (id: number, dir: "INBOUND" | "OUTBOUND") =>
    (groups.get(id)?.rules ?? []).filter((r) => r.direction === dir);

  const bridge: SgTablePart = { sets: [], chains: [], counters: [] };
  const inet: SgTablePart = { sets: [], chains: [], counters: [] };
  const add = (to: SgTablePart, from: SgTablePart) => {
    to.sets.push(...from.sets);
    to.chains.push(...from.chains);
    to.counters.push(...from.counters);
  };
  // Outbound checks run in the inet table for every port; inbound ones where the destination port
  // is known: the bridge table for bridged ports, the inet table for routed ones.
  for (const id of usedBy([...slotted, ...routed])) add(inet, groupChain(id, rulesOf(id, "OUTBOUND"), "out"));
  for (const id of usedBy(slotted)) add(bridge, groupChain(id, rulesOf(id, "INBOUND"), "in"));
  for (const id of usedBy(routed)) add(inet, groupChain(id, rulesOf(id, "INBOUND"), "in"));

  // SGs attach to VNETs, so all ports of a network share one jump list: one chain per network and
  // direction (not per port) keeps a 1,000-port table at a handful of chains.
  // A NIC with a group of its own gets a chain of its own.
  const jumps = (ps: SgPort[]) => [...new Map(ps.map((p) => [jumpKey(p), p])).entries()];
  const netChain = ([key, p]: [string, SgPort], dir: "in" | "out"): NftChain => ({
    name: `${key}_${dir}`,
    why: `${key.startsWith("net_") ? `Ports of VNET ${p.net.vnetId}` : `NIC ${p.nicId}`}: its groups' ${dir === "out" ? "outbound" : "inbound"} rules, then drop.`,
    rules: [...portGroups(p).map((id) => `jump sg_${id}_${dir}`), "drop"],
  });
  const outbound = ["ct state established,related accept", ...INFRASTRUCTURE];
  const prerouting: string[] = [];
  if (slotted.length > 0) {
    const nets = jumps(slotted);
    bridge.sets.push(
      {
        name: "sg_slot",
        why: "Each filtered port's slot (its jump chain), carried in the mark's low 16 bits from prerouting on.",
        decl: "type ifname : mark",
        elements: slotted.map((p) => `"${p.iif}" : ${hex(slotOf.get(jumpKey(p))!)}`),
      },
      {
        name: "sg_in",
        why: "Slots of filtered ports: their network's inbound checks.",
        decl: "type mark : verdict",
        elements: nets.map(([key]) => `${hex(slotOf.get(key)!)} : jump ${key}_in`),
      },
    );
    bridge.chains.push(
      {
        name: "sg_postrouting",
        why: "Inbound checks where the destination port is known; replies to allowed traffic pass by the conntrack bit the inet table set. The rest: the mark becomes the destination port's slot (a port without one is not filtered), which picks its checks.",
        hook: "type filter hook postrouting priority 0; policy accept;",
        rules: [
          `meta mark & ${ESTABLISHED_BIT} == ${ESTABLISHED_BIT} accept`,
          "ether type arp accept",
          ...INFRASTRUCTURE,
          "meta mark set oifname map @sg_slot meta mark vmap @sg_in",
        ],
      },
      ...nets.map((n) => netChain(n, "in")),
    );
    inet.sets.push({
      name: "sg_out",
      why: "Slots of filtered ports: their network's outbound checks.",
      decl: "type mark : verdict",
      elements: nets.map(([key]) => `${hex(slotOf.get(key)!)} : jump ${key}_out`),
    });
    // The bit is cleared first: a mark set elsewhere on the node must never pass as "established".
    const established = [
      `meta mark set meta mark & ${NOT_ESTABLISHED}`,
      `ct state established,related meta mark set meta mark | ${ESTABLISHED_BIT}`,
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
    );
    outbound.push(`meta mark & ${SLOT_MASK} vmap @sg_out`);
    prerouting.push("meta mark set iifname map @sg_slot");
  }
  if (routed.length > 0) {
    // Routed ports have no bridge: the host veth is the input (or output) interface at L3, and
    // conntrack is right there, so both directions are checked in the inet table.
    inet.sets.push(
      {
        name: "sg_routed_out",
        why: "Filtered routed ports by input interface: their network's outbound checks.",
        decl: "type ifname : verdict",
        elements: routed.map((p) => `"${p.iif}" : jump ${jumpKey(p)}_out`),
      },
      {
        name: "sg_routed_in",
        why: "Filtered routed ports by output interface: their network's inbound checks.",
        decl: "type ifname : verdict",
        elements: routed.map((p) => `"${p.iif}" : jump ${jumpKey(p)}_in`),
      },
    );
    outbound.push("iifname vmap @sg_routed_out");
  }
  inet.chains.push(
    {
      name: "sg_forward",
      why: "Outbound checks of forwarded traffic (guest to guest through br_netfilter or routed, guest to outside).",
      hook: "type filter hook forward priority 0; policy accept;",
      rules: outbound,
    },
    {
      name: "sg_input",
      why: "Outbound checks of traffic from guests to the node itself.",
      hook: "type filter hook input priority 0; policy accept;",
      rules: outbound,
    },
  );
  if (routed.length > 0)
    inet.chains.push({
      name: "sg_routed_postrouting",
      why: "Inbound checks of routed ports (forwarded or from the node itself), before NAT; replies to allowed traffic pass.",
      hook: "type filter hook postrouting priority 0; policy accept;",
      rules: ["ct state established,related accept", ...INFRASTRUCTURE, "oifname vmap @sg_routed_in"],
    });
  inet.chains.push(
    ...jumps([...slotted, ...routed]).map((n) => netChain(n, "out")),
    ...jumps(routed).map((n) => netChain(n, "in")),
  );
  return {
    bridge,
    inet,
    prerouting,
    overflow: bridged.filter((p) => !slotOf.has(jumpKey(p))).map((p) => p.nicId),
  };
}
