// Golden output of the security-group renderer, from rules compiled by the server's compiler, and
// the same text loaded by the real nft into a throwaway namespace (syntax the kernel accepts).
import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { compileRule, groupToWire, type StoredRule } from "../../lib/sg";
import { deleteNamespaces, nsPrefix, requireKernel } from "../../tests/kernel";
import { renderGroups } from "./sg-render";

const rules: StoredRule[] = [
  { id: 1, sgId: 7, protocol: "TCP", direction: "INBOUND", range: "22,80:90" },
  { id: 2, sgId: 7, protocol: "UDP", direction: "INBOUND", ip: "192.0.2.0", size: 16, range: "53" },
  { id: 3, sgId: 7, protocol: "ICMP", direction: "INBOUND", icmpType: 8 },
  { id: 4, sgId: 7, protocol: "ICMPv6", direction: "INBOUND" },
  { id: 5, sgId: 7, protocol: "IPSEC", direction: "OUTBOUND", ip: "2001:db8::", size: 256 },
  { id: 6, sgId: 7, protocol: "ALL", direction: "OUTBOUND", networkId: 3 },
];
const five = 167772165n; // 10.0.0.5
const wire = groupToWire(
  7,
  12,
  rules.map((r) => compileRule(r, new Map([[3, { ip4: [[five, five + 2n]], ip6: [[1n, 1n]] }]]))),
);

describe("security-group renderer", () => {
  it("renders each group once per direction, one counted accept per compiled match", () => {
    expect(renderGroups([wire])).toEqual({
      chains: [
        {
          name: "sg7_in",
          rules: [
            'tcp dport { 22, 80-90 } counter name "sg7_r1" accept',
            'ip saddr 192.0.2.0-192.0.2.15 udp dport 53 counter name "sg7_r2" accept',
            'meta nfproto ipv4 icmp type 8 counter name "sg7_r3" accept',
            'meta nfproto ipv6 meta l4proto icmpv6 counter name "sg7_r4" accept',
          ],
        },
        {
          name: "sg7_out",
          rules: [
            'ip6 daddr 2001:db8::-2001:db8::ff meta l4proto { esp, ah } counter name "sg7_r5" accept',
            'ip daddr 10.0.0.5-10.0.0.7 counter name "sg7_r6" accept',
            'ip6 daddr ::1 counter name "sg7_r6" accept',
          ],
        },
      ],
      counters: ["sg7_r1", "sg7_r2", "sg7_r3", "sg7_r4", "sg7_r5", "sg7_r6"],
    });
  });

  const run = requireKernel("security-group renderer against nft");
  const ns = `${nsPrefix("sgr")}`;
  afterAll(() => {
    if (run) deleteNamespaces(ns);
  });
  it.runIf(run)("the rendered chains load into a real nftables table", () => {
    execFileSync("ip", ["netns", "add", ns]);
    const { chains, counters } = renderGroups([wire]);
    const script = [
      "table inet bhtest {",
      ...counters.map((c) => `  counter ${c} { }`),
      ...chains.map((c) => `  chain ${c.name} {\n${c.rules.map((r) => `    ${r}`).join("\n")}\n  }`),
      "}",
    ].join("\n");
    execFileSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: script });
    const listed = JSON.parse(
      execFileSync("ip", ["netns", "exec", ns, "nft", "-j", "list", "table", "inet", "bhtest"], {
        encoding: "utf8",
      }),
    ) as { nftables: Record<string, { name?: string }>[] };
    const names = (kind: string) => listed.nftables.flatMap((o) => (o[kind] ? [o[kind].name] : []));
    expect(names("counter")).toEqual(counters);
    expect(names("chain")).toEqual(["sg7_in", "sg7_out"]);
    expect(listed.nftables.filter((o) => o.rule)).toHaveLength(7);
  });
});
