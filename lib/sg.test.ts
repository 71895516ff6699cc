import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ip4ToInt } from "./domain";
import {
  compileRule,
  explain,
  formatPorts,
  lintRules,
  type Probe,
  parsePortRange,
  probeInput,
  type StoredRule,
  sgRuleInput,
} from "./sg";

describe("rule addresses", () => {
  // ipaddr.js reads a leading zero as octal (010.1.1.1 is 8.1.1.1), so such a rule would silently
  // match another host than the one typed.
  it.each(["010.1.1.1", "10.01.0.1", "10.1.0.999", "fe80::1%eth0", "2001:db8::/64"])(
    "a rule's ip %s is refused at the ip field, and so is an explain probe's remote",
    (ip) => {
      const r = sgRuleInput.safeParse({ protocol: "ALL", direction: "INBOUND", ip });
      expect(r.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
        ["ip", `${ip} is not an IPv4 or IPv6 address (e.g. 10.0.0.5 or 2001:db8::5)`],
      ]);
      const p = probeInput.safeParse({ nicId: 1, direction: "INBOUND", remote: ip, protocol: "icmp" });
      expect(p.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
        ["remote", `${ip} is not an IPv4 or IPv6 address (e.g. 10.0.0.5 or 2001:db8::5)`],
      ]);
    },
  );
});

describe("port ranges", () => {
  it("parses OpenNebula's RANGE syntax and prints it canonically", () => {
    expect(parsePortRange("22,53,80:90,1024:65535")).toEqual([
      [22, 22],
      [53, 53],
      [80, 90],
      [1024, 65535],
    ]);
    expect(formatPorts(parsePortRange("90:100, 22, 80:95"))).toBe("22,80:100");
  });
  it.each([
    ["80:22", /runs backwards; write 22:80/],
    ["70000", /outside 1–65535/],
    ["0", /outside 1–65535/],
    ["ssh", /not a port/],
    ["", /at least one port/],
  ])("refuses %s", (text, msg) => {
    expect(() => parsePortRange(text)).toThrow(msg);
  });
});

/** The meaning of a rule list straight from the user's words, without the compiler. */
function naive(rules: StoredRule[], p: Probe): number | null {
  const remote = ip4ToInt(p.remote);
  for (const r of rules) {
    if (r.direction !== p.direction) continue;
    const proto = {
      ALL: null,
      TCP: ["tcp"],
      UDP: ["udp"],
      ICMP: ["icmp"],
      ICMPv6: ["icmpv6"],
      IPSEC: ["esp", "ah"],
    }[r.protocol];
    if (proto && !proto.includes(p.protocol)) continue;
    if (r.ip !== undefined) {
      const start = ip4ToInt(r.ip);
      if (remote < start || remote > start + (r.size ?? 1) - 1) continue;
    }
    if (r.range !== undefined) {
      const ok = r.range.split(",").some((part) => {
        const [a, b = a] = part.split(":").map(Number);
        return p.port !== undefined && p.port >= a! && p.port <= b!;
      });
      if (!ok) continue;
    }
    if (r.icmpType !== undefined && r.icmpType !== p.icmpType) continue;
    return r.id;
  }
  return null;
}

const ip = fc
  .tuple(fc.constant(10), fc.constant(0), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }))
  .map((o) => o.join("."));
const portList = fc
  .array(
    fc
      .tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 30 }))
      .map(([a, w]) => (w ? `${a}:${a + w}` : `${a}`)),
    { minLength: 1, maxLength: 3 },
  )
  .map((xs) => xs.join(","));
const rule = fc
  .record({
    protocol: fc.constantFrom("ALL", "TCP", "UDP", "ICMP", "IPSEC"),
    direction: fc.constantFrom("INBOUND", "OUTBOUND"),
    ip: fc.option(ip, { nil: undefined }),
    size: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
    range: fc.option(portList, { nil: undefined }),
    icmpType: fc.option(fc.constantFrom(0, 3, 8), { nil: undefined }),
  })
  .map((r) => ({
    ...r,
    size: r.ip ? r.size : undefined,
    range: r.protocol === "TCP" || r.protocol === "UDP" ? r.range : undefined,
    icmpType: r.protocol === "ICMP" ? r.icmpType : undefined,
  }));
const probe = fc.record({
  direction: fc.constantFrom("INBOUND", "OUTBOUND"),
  remote: ip,
  protocol: fc.constantFrom("tcp", "udp", "icmp", "esp", "ah"),
  port: fc.integer({ min: 1, max: 240 }),
  icmpType: fc.constantFrom(0, 3, 8),
}) as fc.Arbitrary<Probe>;

describe("compiled policy and explain", () => {
  it("every generated rule is valid input, and explain agrees with the rules' plain meaning", () => {
    fc.assert(
      fc.property(
        fc.array(rule, { maxLength: 8 }),
        fc.array(probe, { minLength: 1, maxLength: 10 }),
        (raw, probes) => {
          const rules: StoredRule[] = raw.map((r, i) => ({ ...sgRuleInput.parse(r), id: i + 1, sgId: 7 }));
          const policy = { allowAll: false, sgIds: [7], rules: rules.map((r) => compileRule(r, new Map())) };
          for (const p of probes) {
            const v = explain(policy, p);
            const want = naive(rules, p);
            expect(v.by === "rule" ? v.ruleId : null).toBe(want);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("the default group allows everything; a NETWORK_ID rule follows that VNET's addresses", () => {
    const r: StoredRule = {
      id: 1,
      sgId: 3,
      protocol: "TCP",
      direction: "INBOUND",
      range: "22",
      networkId: 9,
    };
    const p: Probe = { direction: "INBOUND", remote: "10.9.0.5", protocol: "tcp", port: 22 };
    expect(explain({ allowAll: true, sgIds: [0], rules: [] }, p)).toEqual({
      verdict: "accept",
      by: "default-sg",
    });
    // No group at all: the node does not filter the NIC, and explain says so.
    expect(explain({ allowAll: false, sgIds: [], rules: [] }, p)).toEqual({
      verdict: "accept",
      by: "no-groups",
    });
    const none = compileRule(r, new Map());
    expect(none.empty).toBe(true);
    expect(explain({ allowAll: false, sgIds: [3], rules: [none] }, p).verdict).toBe("drop");
    const five = BigInt(ip4ToInt("10.9.0.5"));
    const some = compileRule(r, new Map([[9, { ip4: [[five, five]], ip6: [] }]]));
    expect(explain({ allowAll: false, sgIds: [3], rules: [some] }, p)).toMatchObject({
      verdict: "accept",
      ruleId: 1,
    });
  });
});

describe("lint", () => {
  const mk = (id: number, r: Omit<StoredRule, "id" | "sgId">): StoredRule => ({ id, sgId: 1, ...r });
  it("finds duplicates, shadowed and overly wide rules", () => {
    const findings = lintRules(
      [
        mk(1, { protocol: "TCP", direction: "INBOUND", range: "1:65535" }),
        mk(2, { protocol: "TCP", direction: "INBOUND", range: "22" }),
        mk(3, { protocol: "UDP", direction: "INBOUND", ip: "10.0.0.0", size: 256, range: "53" }),
        mk(4, { protocol: "UDP", direction: "INBOUND", ip: "10.0.0.0", size: 256, range: "53" }),
        mk(5, { protocol: "ICMP", direction: "OUTBOUND" }),
      ],
      new Map(),
    );
    expect(findings.map((f) => [f.ruleId, f.kind])).toEqual([
      [1, "wide"],
      [2, "shadowed"],
      [4, "duplicate"],
    ]);
  });
});
