// One security group's rules as nftables text: the protocol, port and address matches of each
// rule, its named counter, and the interval sets holding its address spans. Pure; the layout that
// dispatches ports to these chains is sg.ts.
import { intToIp4, ip4ToInt } from "../domain";
import { bigToIp6, ip6ToBig, isIp6 } from "../ipam";
import { type DesiredSgRule, sgCounterName } from "../wire";
import type { NftChain, NftSet } from "./model";

/** Sets, chains and counters one part of the compiler adds to one table. */
export interface SgTablePart {
  sets: NftSet[];
  chains: NftChain[];
  counters: string[];
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
export function groupChain(sgId: number, rules: DesiredSgRule[], dir: "in" | "out"): SgTablePart {
  const part: SgTablePart = { sets: [], chains: [], counters: [] };
  const lines: string[] = [];
  const key = dir === "out" ? "daddr" : "saddr";
  for (const rule of rules) {
    const counter = sgCounterName(sgId, rule.ruleId);
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
