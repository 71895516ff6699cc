// The compiled policy of a port rebuilt from what the node receives (wire rules, NETWORK_ID already
// resolved to address spans), so the agent judges a packet with the very code the server's explain
// tool uses (lib/sg.ts): compileRule, then explain. Pure.
import { ip4ToInt } from "./domain";
import { ip6ToBig, isIp6 } from "./ipam";
import { type AddrSpan, type CompiledRule, compileRule, type NetworkAddrs, type NicPolicy } from "./sg";
import type { DesiredSecurityGroup, DesiredSgRule } from "./wire";

/** The id under which a wire rule's spans stand in for a NETWORK_ID (never a real VNET id). */
const SPANS = -1;

/** One wire rule of group `sgId` compiled exactly as the server compiles the stored rule. */
export function compileWireRule(sgId: number, rule: DesiredSgRule): CompiledRule {
  const base = {
    id: rule.ruleId,
    sgId,
    protocol: rule.protocol,
    direction: rule.direction,
    range: rule.ports,
    icmpType: rule.icmpType,
  };
  if (!rule.spans?.length) return compileRule(base, new Map());
  // Spans are what the server resolved an IP + SIZE or a NETWORK_ID to: the NETWORK_ID branch of
  // compileRule takes them per family (and drops the family an ICMP/ICMPv6 rule cannot match).
  const addrs: NetworkAddrs = { ip4: [], ip6: [] };
  for (const s of rule.spans) {
    const v6 = isIp6(s.first);
    const a = v6 ? ip6ToBig(s.first) : BigInt(ip4ToInt(s.first));
    (v6 ? addrs.ip6 : addrs.ip4).push([a, a + BigInt(s.size) - 1n] as AddrSpan);
  }
  return compileRule({ ...base, networkId: SPANS }, new Map([[SPANS, addrs]]));
}

/** A port's policy from the groups that filter it (`[]`: not filtered, everything passes). */
export function wirePolicy(sgIds: number[], groups: DesiredSecurityGroup[]): NicPolicy {
  if (sgIds.length === 0) return { allowAll: true, sgIds, rules: [] };
  const byId = new Map(groups.map((g) => [g.sgId, g]));
  return {
    allowAll: false,
    sgIds,
    // A group the server did not send matches nothing, as on the node (fail closed).
    rules: sgIds.flatMap((id) => (byId.get(id)?.rules ?? []).map((r) => compileWireRule(id, r))),
  };
}
