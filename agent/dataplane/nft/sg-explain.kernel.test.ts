// The explain tool against the kernel: random rule sets (fast-check, fixed seed) are
// compiled by the server's code twice — into the policy explain reads (compileRule) and into the
// rules the node receives (ruleToWire) — and applied to guest 1's port by the agent. Then real
// TCP connects, UDP datagrams and pings, in and out, from chosen addresses; for every probe the
// kernel's outcome must be explain's verdict. Everything here starts with `bht<pid>x`.
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  compileRule,
  explain,
  type NicPolicy,
  type Probe,
  ruleKey,
  ruleToWire,
  type StoredRule,
  sgRuleInput,
} from "../../../lib/sg";
import type { DesiredSgRule, DesiredState } from "../../../lib/wire";
import { describeKernel } from "../kernel-guard.testing";
import { type ProbeSpec, ping, probe, serveProbes, sgLab } from "../sg.testing";
import { net, port, state } from "../state.testing";

const lab = sgLab("x");
const { g } = lab;
const SEED = 20261123;
const SETS = 8;
const GUEST1 = "10.77.0.2";
/** Guest 2's leases: the sources (and destinations) probes use. */
const PEERS = Array.from({ length: 8 }, (_, i) => `10.77.0.${10 + i}`);
const TCP_PORTS = [22, 53, 80, 443, 8080];
const UDP_PORTS = [53, 123, 443];

// Rule sets: protocols, directions, address spans around the peers, port lists with edges on the
// probed ports, ICMP types (only echo requests are probed: 0 and 13 must not let them through).
const edge = fc.constantFrom(20, 22, 23, 53, 79, 80, 81, 123, 442, 443, 444, 8000, 8080, 9000);
const rangeArb = fc
  .array(fc.tuple(edge, edge), { minLength: 1, maxLength: 2 })
  .map((spans) =>
    spans.map(([a, b]) => (a === b ? `${a}` : `${Math.min(a, b)}:${Math.max(a, b)}`)).join(","),
  );
const ruleArb = fc.record({
  protocol: fc.constantFrom("ALL", "TCP", "TCP", "UDP", "UDP", "ICMP", "IPSEC"),
  direction: fc.constantFrom("INBOUND", "INBOUND", "OUTBOUND"),
  span: fc.option(fc.tuple(fc.integer({ min: 8, max: 18 }), fc.integer({ min: 1, max: 5 })), {
    nil: undefined,
  }),
  range: fc.option(rangeArb, { nil: undefined }),
  icmpType: fc.option(fc.constantFrom(0, 8, 13), { nil: undefined }),
});
const ruleSetArb = fc.array(ruleArb, { minLength: 2, maxLength: 8 });
type RawRule = typeof ruleArb extends fc.Arbitrary<infer T> ? T : never;

/** A generated rule set as the server stores it: valid rules only, no exact duplicates. */
function storedRules(raw: RawRule[]): StoredRule[] {
  const out: StoredRule[] = [];
  const seen = new Set<string>();
  for (const r of raw) {
    const ported = r.protocol === "TCP" || r.protocol === "UDP";
    const parsed = sgRuleInput.safeParse({
      protocol: r.protocol,
      direction: r.direction,
      ...(r.span ? { ip: `10.77.0.${r.span[0]}`, size: r.span[1] } : {}),
      ...(ported && r.range ? { range: r.range } : {}),
      ...(r.protocol === "ICMP" && r.icmpType !== undefined ? { icmpType: r.icmpType } : {}),
    });
    if (!parsed.success)
      throw new Error(`generated an invalid rule ${JSON.stringify(r)}: ${parsed.error.message}`);
    const key = ruleKey(parsed.data);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...parsed.data, id: out.length + 1, sgId: 100 });
  }
  return out;
}
const sampleSets = () => fc.sample(ruleSetArb, { seed: SEED, numRuns: SETS });

const desired = (rules: DesiredSgRule[]): DesiredState => ({
  ...state(
    [
      net(77, {
        bridge: "br77",
        bridgeAddress: "10.77.0.1/24",
        subnet: "10.77.0.0/24",
        securityGroupIds: [0],
      }),
    ],
    [
      port(1, 1, 77, { addresses: [`${GUEST1}/24`], gateway: "10.77.0.1", securityGroupIds: [100] }),
      port(2, 2, 77, { addresses: PEERS.map((a) => `${a}/24`), gateway: "10.77.0.1" }),
    ],
  ),
  securityGroups: [{ sgId: 100, rules }],
});

interface Case {
  what: string;
  probe: Probe;
  /** Runs the probe for real; true when it got through. */
  run: (timeoutS: number) => Promise<boolean>;
  spec?: { ns: string; spec: ProbeSpec };
}

/** Every probe of one rule set: TCP, UDP and ICMP, inbound from each peer address and outbound
 * to each. */
function cases(): Case[] {
  const out: Case[] = [];
  for (const peer of PEERS) {
    for (const [direction, ns, src, dst] of [
      ["INBOUND", g(2), peer, GUEST1],
      ["OUTBOUND", g(1), GUEST1, peer],
    ] as const) {
      const l4 = (proto: "tcp" | "udp", p: number): Case => ({
        what: `${direction} ${proto} ${src} → ${dst}:${p}`,
        probe: { direction, remote: peer, protocol: proto, port: p },
        run: async (t) => (await probe(ns, [{ proto, src, dst, port: p }], t))[0] ?? false,
        spec: { ns, spec: { proto, src, dst, port: p } },
      });
      out.push(...TCP_PORTS.map((p) => l4("tcp", p)), ...UDP_PORTS.map((p) => l4("udp", p)));
      out.push({
        what: `${direction} ping ${src} → ${dst}`,
        probe: { direction, remote: peer, protocol: "icmp", icmpType: 8 },
        run: () => ping(ns, dst, src),
      });
    }
  }
  return out;
}

/** Runs all cases at once (one probe.py per namespace, pings in parallel). */
async function runAll(all: Case[]): Promise<boolean[]> {
  const result: boolean[] = new Array(all.length).fill(false);
  const byNs = new Map<string, number[]>();
  all.forEach((c, i) => {
    if (c.spec) byNs.set(c.spec.ns, [...(byNs.get(c.spec.ns) ?? []), i]);
  });
  await Promise.all([
    ...[...byNs].map(async ([ns, idx]) => {
      const got = await probe(
        ns,
        idx.map((i) => all[i]!.spec!.spec),
      );
      for (const [k, i] of idx.entries()) result[i] = got[k] ?? false;
    }),
    ...all.map(async (c, i) => {
      if (!c.spec) result[i] = await c.run(1);
    }),
  ]);
  return result;
}

await describeKernel("explain agrees with the kernel", () => {
  beforeAll(async () => {
    await lab.purge();
    await lab.dp.reconcile(desired([]));
    await serveProbes(lab, g(1), TCP_PORTS, UDP_PORTS, [GUEST1]);
    await serveProbes(lab, g(2), TCP_PORTS, UDP_PORTS, PEERS);
  });
  afterAll(() => lab.purge());

  it(`for ${SETS} random rule sets (seed ${SEED}), every probe's kernel outcome is explain's verdict`, async () => {
    const mismatches: string[] = [];
    let probes = 0;
    let accepted = 0;
    for (const [n, raw] of sampleSets().entries()) {
      const stored = storedRules(raw);
      const policy: NicPolicy = {
        allowAll: false,
        sgIds: [100],
        rules: stored.map((r) => compileRule(r, new Map())),
      };
      const wire = stored.map((r) => ruleToWire(r, new Map())).filter((r) => r !== null);
      const r = await lab.dp.reconcile(desired(wire));
      expect(r.error).toBeUndefined();
      const all = cases();
      const want = all.map((c) => explain(policy, c.probe).verdict === "accept");
      const tr = performance.now();
      const got = await runAll(all);
      const probeMs = Math.round(performance.now() - tr);
      // A probe expected through but not answered gets a second, slower chance (a loaded machine);
      // one expected dropped gets none: a drop is a drop.
      const retry = all.flatMap((_c, i) => (want[i] && !got[i] ? [i] : []));
      await Promise.all(retry.map(async (i) => (got[i] = await all[i]!.run(2))));
      console.info(
        `[explain-vs-kernel] set ${n}: ${stored.length} rule(s), ${want.filter(Boolean).length} of ${all.length} probes expected through; probes ${probeMs} ms, ${retry.length} retried`,
      );
      probes += all.length;
      accepted += want.filter(Boolean).length;
      for (const [i, c] of all.entries())
        if (want[i] !== got[i])
          mismatches.push(
            `set ${n} ${JSON.stringify(stored.map(({ id: _i, sgId: _s, ...f }) => f))}: ${c.what} explain=${want[i] ? "accept" : "drop"} kernel=${got[i] ? "through" : "dropped"}`,
          );
    }
    console.info(
      `[explain-vs-kernel] ${SETS} rule sets, ${probes} probes (${accepted} expected through): ${mismatches.length} mismatches`,
    );
    expect(mismatches).toEqual([]);
    // Both outcomes are well represented in the sample.
    expect(accepted).toBeGreaterThan(probes / 20);
    expect(accepted).toBeLessThan(probes - probes / 20);
  }, 60_000);
});
