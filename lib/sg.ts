// Security-group rules: validation (field-level, shared by the server and the editor), the compiled
// policy of one NIC (the form the agent renders into nftables), the explain tool that evaluates that
// same compiled policy for one packet, and a lint for shadowed, duplicate and overly wide rules.
// Pure code: no I/O, so every function here is unit- and property-tested.
import { z } from "zod";
import {
  descriptionText,
  displayName,
  intToIp4,
  ip4ToInt,
  ipAddress,
  isIpv6,
  SG_DIRECTIONS,
  SG_PROTOCOLS,
} from "./domain";
import { bigToIp6, ip6ToBig } from "./ipam";
import type { DesiredSgRule } from "./wire";

export type SgProtocol = (typeof SG_PROTOCOLS)[number];
export type SgDirection = (typeof SG_DIRECTIONS)[number];

/** One port or an inclusive span of ports. */
export type PortSpan = [number, number];

/** Parses OpenNebula's RANGE syntax, `22,53,80:90,1024:65535`; throws a message naming the bad part. */
export function parsePortRange(text: string): PortSpan[] {
  const parts = text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error("Give at least one port, e.g. 22 or 80:90");
  return parts.map((part) => {
    const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a port or a from:to span (e.g. 22,53,80:90)`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (const p of [from, to])
      if (p < 1 || p > 65535) throw new Error(`Port ${p} is outside 1–65535 (in "${part}")`);
    if (from > to) throw new Error(`"${part}" runs backwards; write ${to}:${from}`);
    return [from, to];
  });
}

/** Canonical text of a port list: sorted, merged, `a:b` for spans. */
export function formatPorts(spans: PortSpan[]): string {
  return mergeSpans(spans.map(([a, b]) => [BigInt(a), BigInt(b)] as [bigint, bigint]))
    .map(([a, b]) => (a === b ? `${a}` : `${a}:${b}`))
    .join(",");
}

/** A rule as users write it (OpenNebula's attribute names, camel-cased). */
export const sgRuleInput = z
  .object({
    protocol: z.enum(SG_PROTOCOLS, { error: `Protocol must be one of ${SG_PROTOCOLS.join(", ")}` }),
    direction: z.enum(SG_DIRECTIONS, { error: "Direction must be INBOUND or OUTBOUND" }),
    /** First address of a span of remote addresses (IPv4 or IPv6). */
    ip: z.string().trim().optional(),
    /** Number of consecutive addresses from `ip` (default 1). */
    size: z.coerce.number().int("Size is a whole number").min(1, "Size is at least 1").optional(),
    /** Port list, TCP/UDP only. */
    range: z.string().trim().optional(),
    icmpType: z.coerce.number().int().min(0, "ICMP type is 0–255").max(255, "ICMP type is 0–255").optional(),
    /** The addresses of another VNET (its leases), instead of ip/size. */
    networkId: z.coerce.number().int().nonnegative().optional(),
  })
  .strict()
  .transform((r) => ({
    ...r,
    ip: r.ip || undefined,
    range: r.range || undefined,
  }))
  .superRefine((r, ctx) => {
    const at = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    const ported = r.protocol === "TCP" || r.protocol === "UDP";
    if (r.range !== undefined) {
      if (!ported) at("range", `Ports apply to TCP and UDP only, not ${r.protocol}; clear the port range`);
      else
        try {
          parsePortRange(r.range);
        } catch (e) {
          at("range", (e as Error).message);
        }
    }
    if (r.icmpType !== undefined && r.protocol !== "ICMP" && r.protocol !== "ICMPv6")
      at("icmpType", `An ICMP type applies to ICMP and ICMPv6 only, not ${r.protocol}`);
    if (r.ip !== undefined) {
      const valid = ipAddress.safeParse(r.ip);
      if (!valid.success) at("ip", valid.error.issues[0]!.message);
      else {
        const v6 = isIpv6(r.ip);
        if (r.protocol === "ICMP" && v6) at("ip", "ICMP is IPv4; use ICMPv6 for IPv6 addresses");
        if (r.protocol === "ICMPv6" && !v6) at("ip", "ICMPv6 is IPv6; use ICMP for IPv4 addresses");
        const last = v6 ? (1n << 128n) - 1n : (1n << 32n) - 1n;
        const start = v6 ? ip6ToBig(r.ip) : BigInt(ip4ToInt(r.ip));
        if (r.size !== undefined && start + BigInt(r.size) - 1n > last)
          at("size", `${r.size} addresses from ${r.ip} run past the end of the address space`);
      }
    }
    if (r.size !== undefined && r.ip === undefined) at("size", "Size needs a first IP; give the IP too");
    if (r.networkId !== undefined && r.ip !== undefined)
      at("networkId", "Use either an IP span or a VNET, not both");
  });
export type SgRuleInput = z.input<typeof sgRuleInput>;

/** A group as the editor submits it: name, description and the whole ordered rule list. */
export const sgInput = z.object({
  name: displayName(),
  description: descriptionText(500).default(""),
  rules: z.array(sgRuleInput).max(500, "At most 500 rules per group"),
});
export type SgInputForm = z.input<typeof sgInput>;

/** The explain tool's question: a new connection seen from a NIC. */
export const probeInput = z
  .object({
    nicId: z.coerce.number().int().positive(),
    direction: z.enum(SG_DIRECTIONS),
    remote: ipAddress,
    protocol: z.enum(["tcp", "udp", "icmp", "icmpv6", "esp", "ah"]),
    port: z.coerce.number().int().min(1, "Port is 1–65535").max(65535, "Port is 1–65535").optional(),
    icmpType: z.coerce.number().int().min(0).max(255).optional(),
  })
  .superRefine((p, ctx) => {
    if ((p.protocol === "tcp" || p.protocol === "udp") && p.port === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["port"],
        message: `A ${p.protocol.toUpperCase()} probe needs a port`,
      });
  });

/** Explain A→B: a new connection from one NIC to another NIC (or to an outside address). */
export const pathProbeInput = z
  .object({
    fromNicId: z.coerce.number().int().positive(),
    toNicId: z.coerce.number().int().positive().optional(),
    /** An address outside Bridgehead's NICs (the Internet, a host on the LAN). */
    toAddress: ipAddress.optional(),
    /** Which of the NICs' addresses to use when both ends are NICs; absent: IPv4. */
    family: z.enum(["ip4", "ip6"]).optional(),
    protocol: z.enum(["tcp", "udp", "icmp", "icmpv6", "esp", "ah"]),
    port: z.coerce.number().int().min(1, "Port is 1–65535").max(65535, "Port is 1–65535").optional(),
    icmpType: z.coerce.number().int().min(0).max(255).optional(),
  })
  .superRefine((p, ctx) => {
    if ((p.protocol === "tcp" || p.protocol === "udp") && p.port === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["port"],
        message: `A ${p.protocol.toUpperCase()} probe needs a port`,
      });
    if ((p.toNicId === undefined) === (p.toAddress === undefined))
      ctx.addIssue({
        code: "custom",
        path: ["toNicId"],
        message: "Pick the NIC to reach, or give an outside address",
      });
    if (p.toNicId !== undefined && p.toNicId === p.fromNicId)
      ctx.addIssue({
        code: "custom",
        path: ["toNicId"],
        message: "Pick another NIC than the one the connection starts from",
      });
  });
export type PathProbeInput = z.input<typeof pathProbeInput>;

export type SgRule = z.output<typeof sgRuleInput>;

/** A rule's identity for duplicate detection (order of ports and spelling do not matter). */
export function ruleKey(r: RuleFields): string {
  const ports = r.range ? formatPorts(parsePortRange(r.range)) : "";
  const ip = r.ip ? (isIpv6(r.ip) ? ip6ToBig(r.ip).toString() : String(ip4ToInt(r.ip))) : "";
  return [
    r.direction,
    r.protocol,
    ip,
    r.ip ? (r.size ?? 1) : "",
    ports,
    r.icmpType ?? "",
    r.networkId ?? "",
  ].join("|");
}

// ---------------------------------------------------------------------------------------------
// The compiled policy
// ---------------------------------------------------------------------------------------------

/** Inclusive address interval; IPv4 and IPv6 are kept apart by `family`. */
export type AddrSpan = [bigint, bigint];
export type Family = "ip" | "ip6";
export type L4 = "tcp" | "udp" | "icmp" | "icmpv6" | "esp" | "ah";

/** One match of a compiled rule: everything here must hold (absent = any). */
export interface CompiledMatch {
  family?: Family;
  /** Protocols any of which match (ALL = absent). */
  l4?: L4[];
  /** The remote address: source for INBOUND, destination for OUTBOUND. */
  addrs?: AddrSpan[];
  ports?: PortSpan[];
  icmpType?: number;
}

export interface CompiledRule {
  sgId: number;
  ruleId: number;
  direction: SgDirection;
  /** Named counter of the rule on the node (`sg<sgId>_r<ruleId>`). */
  counter: string;
  /** One rule can need a match per family (IP span + ALL, NETWORK_ID with v4 and v6 leases). */
  matches: CompiledMatch[];
  /** A NETWORK_ID rule whose VNET has no address yet matches nothing (and says so). */
  empty: boolean;
}

/** A rule's fields as stored (absent = any). */
export type RuleFields = {
  protocol: SgProtocol;
  direction: SgDirection;
  ip?: string;
  size?: number;
  range?: string;
  icmpType?: number;
  networkId?: number;
};
/** A stored rule: its fields plus its ids. */
export type StoredRule = RuleFields & { id: number; sgId: number };

/** Addresses of a VNET a NETWORK_ID rule refers to, resolved by the server from its leases/ranges. */
export type NetworkAddrs = { ip4: AddrSpan[]; ip6: AddrSpan[] };

const L4_OF: Record<SgProtocol, L4[] | undefined> = {
  ALL: undefined,
  TCP: ["tcp"],
  UDP: ["udp"],
  ICMP: ["icmp"],
  ICMPv6: ["icmpv6"],
  IPSEC: ["esp", "ah"],
};

/** Compiles one rule; `networks` resolves NETWORK_ID to address spans. */
export function compileRule(rule: StoredRule, networks: Map<number, NetworkAddrs>): CompiledRule {
  const base: Omit<CompiledMatch, "family" | "addrs"> = {
    l4: L4_OF[rule.protocol],
    ports: rule.range ? parsePortRange(rule.range) : undefined,
    icmpType: rule.icmpType,
  };
  const fixedFamily: Family | undefined =
    rule.protocol === "ICMP" ? "ip" : rule.protocol === "ICMPv6" ? "ip6" : undefined;
  let matches: CompiledMatch[];
  if (rule.ip !== undefined) {
    const v6 = isIpv6(rule.ip);
    const start = v6 ? ip6ToBig(rule.ip) : BigInt(ip4ToInt(rule.ip));
    matches = [{ ...base, family: v6 ? "ip6" : "ip", addrs: [[start, start + BigInt(rule.size ?? 1) - 1n]] }];
  } else if (rule.networkId !== undefined) {
    const n = networks.get(rule.networkId) ?? { ip4: [], ip6: [] };
    matches = [
      ...(n.ip4.length ? [{ ...base, family: "ip" as const, addrs: mergeSpans(n.ip4) }] : []),
      ...(n.ip6.length ? [{ ...base, family: "ip6" as const, addrs: mergeSpans(n.ip6) }] : []),
    ].filter((m) => !fixedFamily || m.family === fixedFamily);
  } else {
    matches = [{ ...base, family: fixedFamily }];
  }
  return {
    sgId: rule.sgId,
    ruleId: rule.id,
    direction: rule.direction,
    counter: `sg${rule.sgId}_r${rule.id}`,
    matches,
    empty: matches.length === 0,
  };
}

/** Sorts and merges overlapping or adjacent spans. */
export function mergeSpans(spans: AddrSpan[]): AddrSpan[] {
  const sorted = [...spans].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: AddrSpan[] = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1] + 1n) last[1] = b > last[1] ? b : last[1];
    else out.push([a, b]);
  }
  return out;
}

/** A NIC's effective policy: the union of its groups' rules. `allowAll` when the default SG is
 * attached (it allows everything both ways, so other groups change nothing). */
export interface NicPolicy {
  allowAll: boolean;
  sgIds: number[];
  rules: CompiledRule[];
}

/** A rule as the node receives it: the user's words, with NETWORK_ID resolved to address spans
 * (the agent renders these into one chain per group, lib/nft/sg.ts). */
export function ruleToWire(rule: StoredRule, networks: Map<number, NetworkAddrs>): DesiredSgRule | null {
  let spans: { first: string; size: number }[] | undefined;
  if (rule.ip !== undefined) spans = [{ first: rule.ip, size: rule.size ?? 1 }];
  else if (rule.networkId !== undefined) {
    const n = networks.get(rule.networkId) ?? { ip4: [], ip6: [] };
    spans = [
      ...mergeSpans(n.ip4).map(([a, b]) => ({ first: intToIp4(Number(a)), size: Number(b - a + 1n) })),
      ...mergeSpans(n.ip6).map(([a, b]) => ({ first: bigToIp6(a), size: Number(b - a + 1n) })),
    ];
    // A VNET without addresses yet: the rule matches nothing, so the node gets no rule at all.
    if (spans.length === 0) return null;
  }
  return {
    ruleId: rule.id,
    protocol: rule.protocol,
    direction: rule.direction,
    ...(spans ? { spans } : {}),
    ...(rule.range ? { ports: formatPorts(parsePortRange(rule.range)) } : {}),
    ...(rule.icmpType !== undefined ? { icmpType: rule.icmpType } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Explain
// ---------------------------------------------------------------------------------------------

/** A packet as the explain tool is asked about it, seen from the NIC. */
export interface Probe {
  direction: SgDirection;
  /** The other end: source of an INBOUND packet, destination of an OUTBOUND one. */
  remote: string;
  /** "other": a protocol no rule names (GRE, SCTP...); only ALL rules match it. */
  protocol: L4 | "other";
  port?: number;
  icmpType?: number;
}

export type Verdict =
  | { verdict: "accept"; by: "default-sg" }
  /** No group at all on the NIC: its node does not filter it (anti-spoofing only). */
  | { verdict: "accept"; by: "no-groups" }
  | { verdict: "accept"; by: "rule"; sgId: number; ruleId: number; counter: string }
  | { verdict: "drop"; by: "default-policy" };

/** Whether one compiled match covers the probe. */
export function matchCovers(m: CompiledMatch, p: Probe, family: Family, addr: bigint): boolean {
  if (m.family && m.family !== family) return false;
  if (m.l4 && (p.protocol === "other" || !m.l4.includes(p.protocol))) return false;
  if (m.addrs && !m.addrs.some(([a, b]) => addr >= a && addr <= b)) return false;
  if (m.ports && (p.port === undefined || !m.ports.some(([a, b]) => p.port! >= a && p.port! <= b)))
    return false;
  if (m.icmpType !== undefined && p.icmpType !== m.icmpType) return false;
  return true;
}

/** Which rule (or default) decides a new connection, from the compiled policy the agent renders. */
export function explain(policy: NicPolicy, p: Probe): Verdict {
  if (policy.allowAll) return { verdict: "accept", by: "default-sg" };
  if (policy.sgIds.length === 0) return { verdict: "accept", by: "no-groups" };
  const v6 = isIpv6(p.remote);
  const family: Family = v6 ? "ip6" : "ip";
  const addr = v6 ? ip6ToBig(p.remote) : BigInt(ip4ToInt(p.remote));
  for (const r of policy.rules) {
    if (r.direction !== p.direction) continue;
    if (r.matches.some((m) => matchCovers(m, p, family, addr)))
      return { verdict: "accept", by: "rule", sgId: r.sgId, ruleId: r.ruleId, counter: r.counter };
  }
  return { verdict: "drop", by: "default-policy" };
}

/** One end of a path as the node sees it: the NIC's VNET, its addresses and its compiled policy. */
export interface PathNic {
  nicId: number;
  /** "<instance> eth<idx>", for messages. */
  name: string;
  vnetId: number;
  vnetName: string;
  ip4?: string;
  ip6?: string;
  antiSpoofing: boolean;
  policy: NicPolicy;
}

/** One check a packet meets on its way, in the order the node applies them. */
export type PathStep =
  | { check: "source" | "destination" | "isolation"; verdict: "accept" | "drop"; message: string }
  | { check: "outbound" | "inbound"; nicId: number; verdict: Verdict };

export interface PathVerdict {
  verdict: "accept" | "drop";
  /** The first step that drops, or null when all accept. */
  decidedBy: number | null;
  source?: string;
  destination?: string;
  steps: PathStep[];
}

/**
 * Which checks a new connection from `from` to `to` (a NIC or an outside address) meets, and the
 * first that drops it: the source's address (anti-spoofing lets a NIC send from its own leases
 * only), the source's outbound groups, isolation between VNETs (the node routes only between
 * peered ones), then the destination's inbound groups. Replies pass as part of the connection.
 * `peered`: whether the two NICs' VNETs are peered (ignored for one VNET or an outside address).
 */
export function explainPath(
  from: PathNic,
  to: PathNic | { address: string },
  l4: Pick<Probe, "protocol" | "port" | "icmpType">,
  options: { family?: "ip4" | "ip6"; peered: boolean },
): PathVerdict {
  const family =
    "address" in to
      ? isIpv6(to.address)
        ? "ip6"
        : "ip4"
      : (options.family ?? (l4.protocol === "icmpv6" ? "ip6" : "ip4"));
  const label = family === "ip4" ? "IPv4" : "IPv6";
  const steps: PathStep[] = [];
  const source = family === "ip4" ? from.ip4 : from.ip6;
  const destination = "address" in to ? to.address : family === "ip4" ? to.ip4 : to.ip6;
  steps.push(
    source
      ? {
          check: "source",
          verdict: "accept",
          message: `${from.name} sends from its leased ${label} address ${source}${from.antiSpoofing ? " (anti-spoofing lets it)" : ""}`,
        }
      : {
          check: "source",
          verdict: "drop",
          message: `${from.name} has no ${label} lease: ${from.antiSpoofing ? "anti-spoofing drops what it sends from any other address" : "it has no address to send from"}; give it an ${label} address on ${from.vnetName}`,
        },
  );
  if (!("address" in to))
    steps.push(
      destination
        ? {
            check: "destination",
            verdict: "accept",
            message: `${to.name} has the ${label} address ${destination}`,
          }
        : {
            check: "destination",
            verdict: "drop",
            message: `${to.name} has no ${label} lease, so nothing reaches it by ${label}; give it an address on ${to.vnetName}`,
          },
    );
  const remote = (addr: string | undefined) => addr ?? (family === "ip4" ? "0.0.0.0" : "::");
  steps.push({
    check: "outbound",
    nicId: from.nicId,
    verdict: explain(from.policy, { ...l4, direction: "OUTBOUND", remote: remote(destination) }),
  });
  if (!("address" in to)) {
    if (to.vnetId === from.vnetId)
      steps.push({ check: "isolation", verdict: "accept", message: `Both NICs are on ${from.vnetName}` });
    else if (options.peered)
      steps.push({
        check: "isolation",
        verdict: "accept",
        message: `${from.vnetName} and ${to.vnetName} are peered: the node routes between them`,
      });
    else
      steps.push({
        check: "isolation",
        verdict: "drop",
        message: `${from.vnetName} and ${to.vnetName} are not peered, so the node routes nothing between them; peer them on either VNET's page`,
      });
    steps.push({
      check: "inbound",
      nicId: to.nicId,
      verdict: explain(to.policy, { ...l4, direction: "INBOUND", remote: remote(source) }),
    });
  }
  const at = steps.findIndex((s) => ("message" in s ? s.verdict : s.verdict.verdict) === "drop");
  return {
    verdict: at < 0 ? "accept" : "drop",
    decidedBy: at < 0 ? null : at,
    ...(source ? { source } : {}),
    ...(destination ? { destination } : {}),
    steps,
  };
}

// ---------------------------------------------------------------------------------------------
// Lint
// ---------------------------------------------------------------------------------------------

export interface LintFinding {
  ruleId: number;
  kind: "duplicate" | "shadowed" | "wide" | "empty";
  message: string;
}

const spanWithin = (inner: AddrSpan[] | PortSpan[] | undefined, outer: AddrSpan[] | PortSpan[] | undefined) =>
  outer === undefined ||
  (inner !== undefined &&
    (inner as [bigint | number, bigint | number][]).every(([a, b]) =>
      (outer as [bigint | number, bigint | number][]).some(([c, d]) => a >= c && b <= d),
    ));

/** Whether every packet `inner` matches is also matched by `outer`. */
export function matchWithin(inner: CompiledMatch, outer: CompiledMatch): boolean {
  if (outer.family && inner.family !== outer.family) return false;
  if (outer.l4 && !inner.l4?.every((x) => outer.l4!.includes(x))) return false;
  if (!spanWithin(inner.addrs, outer.addrs)) return false;
  if (!spanWithin(inner.ports, outer.ports)) return false;
  if (outer.icmpType !== undefined && inner.icmpType !== outer.icmpType) return false;
  return true;
}

/** Shadowed (another rule already allows all it allows), duplicate, and overly wide rules. */
export function lintRules(rules: StoredRule[], networks: Map<number, NetworkAddrs>): LintFinding[] {
  const out: LintFinding[] = [];
  const seen = new Map<string, number>();
  const compiled = rules.map((r) => compileRule(r, networks));
  rules.forEach((r, i) => {
    const key = ruleKey(r);
    const twin = seen.get(key);
    if (twin !== undefined) {
      out.push({ ruleId: r.id, kind: "duplicate", message: `Same as rule #${twin}; delete one of them` });
      return;
    }
    seen.set(key, r.id);
    const c = compiled[i]!;
    const cover = compiled.find(
      (o, j) =>
        j !== i &&
        o.direction === c.direction &&
        !c.empty &&
        c.matches.every((m) => o.matches.some((om) => matchWithin(m, om))) &&
        // Of two rules covering each other (equal), only the later one is reported.
        !(j > i && o.matches.every((m) => c.matches.some((cm) => matchWithin(m, cm)))),
    );
    if (cover)
      out.push({
        ruleId: r.id,
        kind: "shadowed",
        message: `Rule #${cover.ruleId} already allows everything this rule allows`,
      });
    if (r.protocol !== "ICMP" && r.protocol !== "ICMPv6" && r.direction === "INBOUND") {
      const anyAddr = r.ip === undefined && r.networkId === undefined;
      const prefixWide = r.ip !== undefined && (r.size ?? 1) >= (isIpv6(r.ip) ? 2 ** 32 : 2 ** 24);
      const allPorts = r.range === undefined || parsePortRange(r.range).some(([a, b]) => b - a >= 60000);
      if ((anyAddr || prefixWide) && allPorts && r.protocol !== "IPSEC")
        out.push({
          ruleId: r.id,
          kind: "wide",
          message: `Opens every ${r.protocol === "ALL" ? "protocol and port" : `${r.protocol} port`} to ${anyAddr ? "any address" : "a very large span"}; narrow the source or the ports`,
        });
    }
    if (c.empty)
      out.push({
        ruleId: r.id,
        kind: "empty",
        message: `VNET ${r.networkId} has no addresses yet, so this rule matches nothing for now`,
      });
  });
  return out;
}
