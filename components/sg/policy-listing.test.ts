import { describe, expect, it } from "vitest";
import { compileRule, type StoredRule } from "@/lib/sg";
import { matchText, policyListing } from "./policy-listing";

const rule = (r: Omit<StoredRule, "sgId">) => compileRule({ sgId: 3, ...r }, new Map());

describe("policy listing", () => {
  it("spells each match from the NIC's side: remote is saddr inbound and daddr outbound", () => {
    const [m] = rule({
      id: 1,
      protocol: "TCP",
      direction: "INBOUND",
      ip: "192.0.2.0",
      size: 16,
      range: "22,80:90",
    }).matches;
    expect(matchText(m!, true)).toBe("ip saddr 192.0.2.0-192.0.2.15 meta l4proto tcp th dport { 22, 80-90 }");
    expect(matchText(m!, false)).toMatch(/^ip daddr 192\.0\.2\.0-192\.0\.2\.15 /);
    const [v6] = rule({
      id: 2,
      protocol: "ICMPv6",
      direction: "INBOUND",
      ip: "2001:db8::1",
      icmpType: 128,
    }).matches;
    expect(matchText(v6!, true)).toBe("ip6 saddr 2001:db8::1 icmpv6 type 128");
    const [all] = rule({ id: 3, protocol: "ALL", direction: "OUTBOUND" }).matches;
    expect(matchText(all!, false)).toBe("");
  });

  it("lists inbound then outbound with counters and origins, ending in drop; the default group accepts all", () => {
    const rules = [
      { ...rule({ id: 7, protocol: "TCP", direction: "INBOUND", range: "22" }), sgName: "web", position: 1 },
      { ...rule({ id: 8, protocol: "ALL", direction: "OUTBOUND" }), sgName: "web", position: 2 },
    ];
    const base = {
      nic: { id: 1, name: "vm1 eth0", vnetName: "lan" },
      groups: [{ id: 3, name: "web" }],
      rules,
    };
    const text = policyListing({ ...base, allowAll: false });
    expect(text).toContain(
      "inbound {\n  meta l4proto tcp th dport 22 counter name sg3_r7 accept  # web rule 1\n  drop\n}",
    );
    expect(text).toContain("outbound {\n  counter name sg3_r8 accept  # web rule 2\n  drop\n}");
    expect(policyListing({ ...base, allowAll: true })).toContain(
      "accept  # default group: allows all traffic",
    );
  });
});
