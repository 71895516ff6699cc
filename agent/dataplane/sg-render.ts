// Security groups as nftables text: one chain per group and direction, holding that group's rules
// ONCE however many ports use it (a one-rule change rewrites one chain, not one chain per port).
// Pure: the table renderer places these chains and jumps to them from each port's dispatch; the
// server compiled the rules (lib/sg.ts), so the agent only spells them.
import type { WireSg, WireSgMatch } from "../../lib/wire";

export type SgDirection = "INBOUND" | "OUTBOUND";

/** The chain holding one group's rules for one direction. */
export const sgChainName = (sgId: number, direction: SgDirection) =>
  `sg${sgId}_${direction === "INBOUND" ? "in" : "out"}`;

const set = (xs: string[]) => (xs.length === 1 ? xs[0]! : `{ ${xs.join(", ")} }`);

/** One match as nft expressions (without verdict); the remote end is saddr INBOUND, daddr OUTBOUND. */
export function matchExpr(m: WireSgMatch, direction: SgDirection): string {
  const parts: string[] = [];
  const side = direction === "INBOUND" ? "saddr" : "daddr";
  if (m.addrs) parts.push(`${m.family ?? "ip"} ${side} ${set(m.addrs)}`);
  else if (m.family) parts.push(`meta nfproto ${m.family === "ip" ? "ipv4" : "ipv6"}`);
  const l4 = m.l4 ?? [];
  if (m.ports) {
    // Ports only come with TCP or UDP (validated on the server), one protocol per rule.
    parts.push(`${l4[0] ?? "tcp"} dport ${set(m.ports)}`);
  } else if (m.icmpType !== undefined && (l4[0] === "icmp" || l4[0] === "icmpv6")) {
    parts.push(`${l4[0]} type ${m.icmpType}`);
  } else if (l4.length) {
    parts.push(`meta l4proto ${set(l4)}`);
  }
  return parts.join(" ");
}

export interface SgChain {
  name: string;
  rules: string[];
}

/** Chains (inbound and outbound) and named counters of the groups. Each rule counts and accepts;
 * a packet no rule accepts falls back to the caller, whose policy drops it. */
export function renderGroups(groups: WireSg[]): { chains: SgChain[]; counters: string[] } {
  const chains: SgChain[] = [];
  const counters: string[] = [];
  for (const g of [...groups].sort((a, b) => a.sgId - b.sgId)) {
    for (const direction of ["INBOUND", "OUTBOUND"] as const) {
      const rules = g.rules
        .filter((r) => r.direction === direction)
        .flatMap((r) =>
          r.matches.map((m) => `${matchExpr(m, direction)} counter name "${r.counter}" accept`.trimStart()),
        );
      chains.push({ name: sgChainName(g.sgId, direction), rules });
    }
    counters.push(...g.rules.map((r) => r.counter));
  }
  return { chains, counters: [...new Set(counters)] };
}
