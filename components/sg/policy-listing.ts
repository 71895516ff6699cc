// A readable, nftables-style listing of one NIC's compiled policy (sg.preview), for the editor's
// preview. It shows the matches the node enforces; the node's exact ruleset text (tables, chains,
// anti-spoofing) is the agent's renderer's business, so this is labelled a listing, not the ruleset.
import { intToIp4 } from "@/lib/domain";
import { bigToIp6 } from "@/lib/ipam";
import type { CompiledMatch } from "@/lib/sg";
import type { PolicyPreview } from "./types";

const addr = (family: CompiledMatch["family"], n: bigint) =>
  family === "ip6" ? bigToIp6(n) : intToIp4(Number(n));

const set = (items: string[]) => (items.length === 1 ? items[0] : `{ ${items.join(", ")} }`);

/** One match as nft would spell it, from the NIC's side (remote = saddr inbound, daddr outbound). */
export function matchText(m: CompiledMatch, inbound: boolean): string {
  const parts: string[] = [];
  if (m.addrs) {
    const dir = inbound ? "saddr" : "daddr";
    parts.push(
      `${m.family ?? "ip"} ${dir} ${set(m.addrs.map(([a, b]) => (a === b ? addr(m.family, a) : `${addr(m.family, a)}-${addr(m.family, b)}`)))}`,
    );
  } else if (m.family) parts.push(`meta nfproto ${m.family === "ip6" ? "ipv6" : "ipv4"}`);
  const icmp = m.l4?.length === 1 && (m.l4[0] === "icmp" || m.l4[0] === "icmpv6") ? m.l4[0] : undefined;
  if (icmp && m.icmpType !== undefined) parts.push(`${icmp} type ${m.icmpType}`);
  else if (m.l4) parts.push(`meta l4proto ${set(m.l4)}`);
  if (m.ports) parts.push(`th dport ${set(m.ports.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)))}`);
  return parts.join(" ");
}

/** The whole listing: inbound then outbound, each rule with its counter and origin, then the drop. */
export function policyListing(p: Omit<PolicyPreview, "nft">): string {
  const out = [
    `# NIC ${p.nic.name} on VNET ${p.nic.vnetName}; groups: ${p.groups.map((g) => g.name).join(", ") || "none"}`,
    "# new connections only: replies to allowed ones pass (ct state established,related accept)",
  ];
  for (const dir of ["INBOUND", "OUTBOUND"] as const) {
    out.push("", `${dir === "INBOUND" ? "inbound" : "outbound"} {`);
    if (p.allowAll) out.push("  accept  # default group: allows all traffic");
    else if (p.groups.length === 0) out.push("  accept  # no security group: not filtered");
    else {
      for (const r of p.rules.filter((x) => x.direction === dir)) {
        const why = `# ${r.sgName} rule ${r.position}`;
        if (r.empty) out.push(`  # (matches nothing yet: its VNET has no addresses) ${why}`);
        for (const m of r.matches) {
          const text = matchText(m, dir === "INBOUND");
          out.push(`  ${text ? `${text} ` : ""}counter name ${r.counter} accept  ${why}`);
        }
      }
      out.push("  drop");
    }
    out.push("}");
  }
  return out.join("\n");
}
