// Security groups compiled into the bridgehead tables: a golden script, and the promises
// the layout makes — a group's rules live once whatever the port count, port chains only jump,
// anti-spoofing runs before the mark that dispatches to them, spans and ports are merged.
import { describe, expect, it } from "vitest";
import { renderNft } from "../../../lib/nft/render";
import { compileSecurityGroups, groupsOf } from "../../../lib/nft/sg";
import type { DesiredSecurityGroup, DesiredSgRule, DesiredState } from "../../../lib/wire";
import { net, port, state } from "../state.testing";

const rule = (ruleId: number, over: Partial<DesiredSgRule>): DesiredSgRule => ({
  ruleId,
  protocol: "ALL",
  direction: "OUTBOUND",
  ...over,
});
const web: DesiredSecurityGroup = {
  sgId: 100,
  rules: [
    rule(1, {}),
    rule(2, { protocol: "TCP", direction: "INBOUND", ports: "22,80:90,85:100" }),
    rule(3, {
      protocol: "TCP",
      direction: "INBOUND",
      ports: "443",
      spans: [
        { first: "10.0.0.1", size: 10 },
        { first: "10.0.0.5", size: 20 },
        { first: "2001:db8::", size: 256 },
      ],
    }),
    rule(4, { protocol: "ICMP", direction: "INBOUND", icmpType: 8 }),
    rule(5, { protocol: "ICMPv6", direction: "INBOUND", spans: [{ first: "10.9.0.0", size: 4 }] }),
  ],
};
const ops: DesiredSecurityGroup = {
  sgId: 101,
  rules: [
    rule(6, { protocol: "UDP", direction: "INBOUND" }),
    rule(7, { protocol: "IPSEC", direction: "INBOUND" }),
  ],
};
const withSg = (ids: number[] | undefined, n = 2, groups = [web, ops]): DesiredState => ({
  ...state(
    [
      net(77, { bridge: "br77", subnet: "10.77.0.0/24", securityGroupIds: ids }),
      net(78, {
        bridge: "br78",
        networkType: "external",
        bridgeAddress: undefined,
        securityGroupIds: [0, 100],
      }),
    ],
    [...Array.from({ length: n }, (_, i) => port(i + 1, i + 1, 77)), port(n + 1, n + 1, 78)],
  ),
  securityGroups: groups,
});

/** A routed network under group 100; NIC 2 also has group 101 of its own. */
const routedSg = (): DesiredState => ({
  ...state(
    [
      net(79, {
        bridge: "br79",
        driver: "routed",
        networkType: "external",
        bridgeAddress: undefined,
        securityGroupIds: [100],
      }),
    ],
    [port(1, 1, 79), port(2, 2, 79, { securityGroupIds: [100, 101] })],
  ),
  securityGroups: [web, ops],
});

describe("security groups in the nftables script", () => {
  it("golden: two groups on one network, a network with the default group left unfiltered", async () => {
    await expect(renderNft(withSg([100, 101])).script).toMatchFileSnapshot(
      "./__golden__/security-groups.nft",
    );
  });

  it("keeps each group's rules once, however many ports use it (1,000 ports × 20 rules)", () => {
    const big: DesiredSecurityGroup = {
      sgId: 100,
      rules: Array.from({ length: 20 }, (_, i) =>
        rule(i + 1, { protocol: "TCP", direction: "INBOUND", ports: `${1000 + i}` }),
      ),
    };
    const r = renderNft(withSg([100], 1000, [big]));
    expect(r.script.match(/counter name "sg100_r7"/g)).toHaveLength(1);
    expect(r.script.match(/jump sg_100_in/g)).toHaveLength(1);
    // One element per port (its slot); the slot → chain maps hold one entry for the network.
    expect(r.script.match(/jump net_77_in/g)).toHaveLength(1);
    expect(r.tables.bridge?.shape.chains.sg_100_in).toBe(20);
    expect(r.tables.bridge?.shape.sets.sg_slot).toBe(1000);
    expect(r.tables.bridge?.shape.sets.sg_in).toBe(1);
    expect(r.tables.inet?.shape.sets.sg_out).toBe(1);
  });

  it("network chains only jump to their groups and drop; group chains only accept", () => {
    const s = renderNft(withSg([101, 100])).script;
    const chain = (name: string) =>
      (new RegExp(`chain ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(s)?.[1] ?? "")
        .split("\n")
        .map((l) => l.trim());
    expect(chain("net_77_out")).toEqual(["jump sg_100_out", "jump sg_101_out", "drop"]);
    expect(chain("net_77_in")).toEqual(["jump sg_100_in", "jump sg_101_in", "drop"]);
    expect(chain("sg_100_in").every((l) => l.endsWith(" accept"))).toBe(true);
    // The slot mark is set after anti-spoofing: a spoofed packet never carries one.
    const pre = chain("prerouting");
    expect(pre.indexOf("meta mark set iifname map @sg_slot")).toBeGreaterThan(
      pre.indexOf("iifname @spoof_checked jump antispoof"),
    );
  });

  it("merges overlapping spans and port ranges, and splits a rule by address family", () => {
    const s = renderNft(withSg([100])).script;
    expect(s).toContain("elements = { 10.0.0.1-10.0.0.24 }");
    expect(s).toContain("elements = { 2001:db8::-2001:db8::ff }");
    expect(s).toContain('tcp dport { 22, 80-100 } counter name "sg100_r2" accept');
    expect(s).toContain('ip saddr @sg100_r3_a4 tcp dport { 443 } counter name "sg100_r3" accept');
    expect(s).toContain('ip6 saddr @sg100_r3_a6 tcp dport { 443 } counter name "sg100_r3" accept');
    // ICMPv6 limited to IPv4 addresses can match nothing: no rule at all.
    expect(s).not.toMatch(/sg100_r5".*accept/);
  });

  it("filters nothing without groups or with the default group 0, and fails closed on a group it was not sent", () => {
    expect(groupsOf(net(1, { securityGroupIds: [] }))).toEqual([]);
    expect(groupsOf(net(1, { securityGroupIds: [0, 5] }))).toEqual([]);
    expect(renderNft(withSg(undefined)).script).not.toContain("sg_slot");
    const missing = compileSecurityGroups(withSg([999]), [
      { nicId: 1, iif: "bhv1", net: net(77, { securityGroupIds: [999] }) },
    ]);
    expect(missing?.inet.chains.find((c) => c.name === "sg_999_out")?.rules).toEqual([]);
    expect(missing?.inet.chains.find((c) => c.name === "net_77_out")?.rules).toEqual([
      "jump sg_999_out",
      "drop",
    ]);
  });

  it("asks for br_netfilter's hand-over only when a bridged port is filtered", () => {
    expect(renderNft(withSg([100])).sysctls).toContain("net.bridge.bridge-nf-call-iptables=1");
    expect(renderNft(withSg(undefined)).sysctls).toEqual(["net.ipv4.ip_forward=1"]);
    expect(renderNft(routedSg()).sysctls).not.toContain("net.bridge.bridge-nf-call-iptables=1");
  });

  it("golden: routed ports are filtered in the inet table by their host veth, both ways", async () => {
    const mixed = routedSg();
    mixed.networks.push(net(77, { bridge: "br77", securityGroupIds: [100] }));
    mixed.ports.push(port(3, 3, 77));
    await expect(renderNft(mixed).script).toMatchFileSnapshot("./__golden__/security-groups-routed.nft");
  });

  it("a routed port gets no mark slot: inbound by output interface, outbound by input interface", () => {
    const r = renderNft(routedSg());
    const inet = r.tables.inet?.model;
    expect(r.tables.bridge).toBeNull();
    expect(inet?.sets.find((s) => s.name === "sg_routed_in")?.elements).toEqual([
      '"bhv1" : jump net_79_in',
      '"bhv2" : jump nic_2_in',
    ]);
    expect(inet?.chains.find((c) => c.name === "sg_forward")?.rules.at(-1)).toBe(
      "iifname vmap @sg_routed_out",
    );
    expect(inet?.chains.find((c) => c.name === "nic_2_in")?.rules).toEqual([
      "jump sg_100_in",
      "jump sg_101_in",
      "drop",
    ]);
    expect(inet?.chains.some((c) => c.name === "sg_ct")).toBe(false);
  });
});
