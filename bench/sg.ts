// `npm run bench -- sg [ports=1000]`: one node namespace, `ports` guest ports (host veths enslaved
// to the VNET's bridge, named as the agent names them), every port in one security group of 20
// rules (TCP/UDP port lists, ICMP, an address span, stateful). Applied from empty by our agent's
// nftables path, then one rule of the group changed; and, on the same ports in the same run, the
// same policy the way peers apply it: Neutron's one iptables-restore of per-port chains (its change
// rewrites only the changed chains), on both iptables backends (`iptables_restore_ms`: the
// platform's default `iptables-restore`, which on Debian since 10 is the nf_tables backend;
// `iptables_legacy_restore_ms`: legacy x_tables, faster here at this size), and OpenNebula's
// one iptables call per rule (nft backend). IPv4 only (the peers' IPv6 variant is ip6tables, not
// measured here). Prints one JSON line last.

import { loadNft, observeNft, recordSeen } from "../agent/dataplane/nft/apply";
import { renderDelta } from "../agent/dataplane/nft/delta";
import { run, runBatch } from "../agent/dataplane/run";
import { net, port, state } from "../agent/dataplane/state.testing";
import { renderNft } from "../lib/nft/render";
import { ruleToWire, type StoredRule } from "../lib/sg";
import type { DesiredState } from "../lib/wire";
import {
  EMPTY_FILTER,
  type IptablesBackend,
  iptablesVersion,
  neutronChange,
  neutronFull,
  PER_RULE_BACKEND,
  perRule,
  perRuleChange,
  restore,
} from "./lib/sg-peers";

const n = Number(process.argv[2] ?? 1000);
const NS = `bhb${process.pid}g`;
const SG = 100;

/** The group every port uses: 20 rules of the kinds users write. */
function rules(sshFrom = "192.0.2.0"): StoredRule[] {
  const r = (id: number, x: Omit<StoredRule, "id" | "sgId">): StoredRule => ({ id, sgId: SG, ...x });
  return [
    r(1, { protocol: "TCP", direction: "INBOUND", range: "22", ip: sshFrom, size: 64 }),
    r(2, { protocol: "TCP", direction: "INBOUND", range: "80,443" }),
    r(3, { protocol: "TCP", direction: "INBOUND", range: "8000:8100" }),
    r(4, { protocol: "UDP", direction: "INBOUND", range: "53" }),
    r(5, { protocol: "UDP", direction: "INBOUND", range: "123" }),
    r(6, { protocol: "ICMP", direction: "INBOUND", icmpType: 8 }),
    r(7, { protocol: "TCP", direction: "INBOUND", range: "5432", ip: "198.51.100.0", size: 32 }),
    r(8, { protocol: "UDP", direction: "INBOUND", range: "161:162", ip: "198.51.100.64", size: 16 }),
    r(9, { protocol: "TCP", direction: "INBOUND", range: "3306,6379,9200:9300" }),
    r(10, { protocol: "TCP", direction: "INBOUND", range: "25,465,587" }),
    r(11, { protocol: "UDP", direction: "INBOUND", range: "5060:5070" }),
    r(12, { protocol: "TCP", direction: "INBOUND", range: "6443", ip: "203.0.113.0", size: 128 }),
    r(13, { protocol: "ICMP", direction: "INBOUND", icmpType: 0 }),
    r(14, { protocol: "TCP", direction: "INBOUND", range: "10250:10255" }),
    r(15, { protocol: "TCP", direction: "OUTBOUND", range: "80,443" }),
    r(16, { protocol: "UDP", direction: "OUTBOUND", range: "53,123" }),
    r(17, { protocol: "ICMP", direction: "OUTBOUND" }),
    r(18, { protocol: "TCP", direction: "OUTBOUND", range: "25", ip: "198.51.100.0", size: 32 }),
    r(19, { protocol: "TCP", direction: "OUTBOUND", range: "5432,3306" }),
    r(20, { protocol: "UDP", direction: "OUTBOUND", range: "514" }),
  ];
}

const hostVeth = (i: number) => `bhv${i + 1}`;
const ip4 = (i: number) => `10.96.${(i + 2) >> 8}.${(i + 2) & 255}/16`;

function desired(group: StoredRule[]): DesiredState {
  const d = state(
    [
      net(1, {
        bridge: "br1",
        bridgeAddress: "10.96.0.1/16",
        subnet: "10.96.0.0/16",
        securityGroupIds: [SG],
      }),
    ],
    Array.from({ length: n }, (_, i) => port(i + 1, i + 1, 1, { addresses: [ip4(i)] })),
  );
  return {
    ...d,
    securityGroups: [
      { sgId: SG, rules: group.map((r) => ruleToWire(r, new Map())).filter((r) => r !== null) },
    ],
  };
}

const ms = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};
/** Median of five runs alternating two states, so every timed run is a real change. */
async function median(a: () => Promise<unknown>, b: () => Promise<unknown>) {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) runs.push(await ms(i % 2 === 0 ? a : b));
  return runs.sort((x, y) => x - y)[2]!;
}
const must = (err: string | undefined | null) => {
  if (err) throw new Error(err);
};

const out: Record<string, unknown> = { bench: "sg", ports: n, rules_per_port: 20 };
try {
  await run("ip", ["netns", "add", NS]);
  // The ports as the agent lays them out: host veths (bhv<nic>) on the VNET's bridge, with
  // br_netfilter's sysctls on so bridged IPv4 reaches the inet hooks (ours and iptables').
  const pairs = Array.from({ length: n }, (_, i) => hostVeth(i));
  must(
    (
      await runBatch(NS, [
        "link add br1 type bridge",
        ...pairs.map((p, i) => `link add ${p} master br1 type veth peer name bhp${i + 1}`),
        ...pairs.map((p) => `link set ${p} up`),
        "link set br1 up",
      ])
    ).fatal,
  );
  await run("nsenter", [`--net=/run/netns/${NS}`, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"]);

  // Ours: one nft transaction from empty, then one rule changed (incremental, as the agent loads it).
  const a = renderNft(desired(rules()));
  out.full_apply_ms = await ms(async () => must(await loadNft(NS, a.script)));
  await loadNft(NS, recordSeen(await observeNft(NS)));
  const b = renderNft(desired(rules("192.0.2.128")));
  const [ab, ba] = [renderDelta(a, b), renderDelta(b, a)];
  if (!ab || !ba) throw new Error("no incremental update for a one-rule change");
  out.one_rule_change_ms = await median(
    async () => must(await loadNft(NS, ab)),
    async () => must(await loadNft(NS, ba)),
  );
  out.one_rule_change_full_replace_ms = await median(
    async () => must(await loadNft(NS, b.script)),
    async () => must(await loadNft(NS, a.script)),
  );
  await run("nsenter", [`--net=/run/netns/${NS}`, "nft", "delete", "table", "bridge", "bridgehead"]);
  await run("nsenter", [`--net=/run/netns/${NS}`, "nft", "delete", "table", "inet", "bridgehead"]);

  // Neutron: the whole filter table in one iptables-restore; the change rewrites the changed chains.
  // Both backends on the same ports, one after the other (each emptied after its run, since both
  // filter while loaded): legacy x_tables, then the default iptables-nft.
  const full = neutronFull(pairs, rules());
  const neutron = async (backend: IptablesBackend) => {
    const fullMs = await ms(() => restore(NS, full, false, backend));
    const changeMs = await median(
      () => restore(NS, neutronChange(pairs, rules("192.0.2.128"), "INBOUND"), true, backend),
      () => restore(NS, neutronChange(pairs, rules(), "INBOUND"), true, backend),
    );
    await restore(NS, EMPTY_FILTER, false, backend);
    return [fullMs, changeMs] as const;
  };
  [out.iptables_legacy_restore_ms, out.iptables_legacy_restore_change_ms] = await neutron("legacy");
  [out.iptables_restore_ms, out.iptables_restore_change_ms] = await neutron("nft");

  // OpenNebula: one iptables process per chain and per rule; the change re-adds the changed chains.
  out.iptables_per_rule_ms = await perRule(NS, full);
  out.iptables_per_rule_change_ms = await perRuleChange(
    NS,
    neutronChange(pairs, rules("192.0.2.128"), "INBOUND"),
  );

  const r = (x: unknown) => x as number;
  out.ratio_restore = r(out.iptables_restore_ms) / r(out.full_apply_ms);
  out.ratio_restore_legacy = r(out.iptables_legacy_restore_ms) / r(out.full_apply_ms);
  out.ratio_per_rule = r(out.iptables_per_rule_ms) / r(out.full_apply_ms);
  // The configuration the peer figures were measured in.
  out.ip_version = "IPv4 only";
  out.peer_backend = "nft (Debian's default iptables-restore); legacy x_tables in *_legacy_*";
  out.per_rule_backend = PER_RULE_BACKEND;
  out.iptables_legacy = await iptablesVersion("legacy");
  out.iptables_nft = await iptablesVersion("nft");
  out.load_avg_1m = Number((await run("cat", ["/proc/loadavg"])).stdout.split(" ")[0]);
} finally {
  await run("ip", ["netns", "del", NS]);
}
console.log(JSON.stringify(out, (_, v) => (typeof v === "number" ? Math.round(v * 10) / 10 : v)));
