// nftables and QoS at scale against the real kernel (root): `npm run bench -- nft [ports=1000]`.
// nft: render, first load, a no-op check (observe + compare), a full reload after a one-port
// change, all in one namespace (the sets are keyed by interface name, so no veths are needed).
// tc: the same number of veth pairs (both ends in the namespace) capped both ways in one
// `tc -batch`, then a no-op check, then one cap changed in place.
// Everything lives in the namespace `bhb<pid>q` and is removed at the end, even on failure.

import { loadNft, nftDrift, observeNft, recordSeen } from "../agent/dataplane/nft/apply";
import { renderDelta } from "../agent/dataplane/nft/delta";
import { run, runBatch } from "../agent/dataplane/run";
import { net, port, state } from "../agent/dataplane/state.testing";
import { applyTc, observeTc } from "../agent/dataplane/tc/apply";
import { planTc, portQos } from "../agent/dataplane/tc/plan";
import { renderNft } from "../lib/nft/render";

const n = Number(process.argv[2] ?? 1000);
const NS = `bhb${process.pid}q`;
const ip4 = (i: number) => `10.96.${(i + 2) >> 8}.${(i + 2) & 255}/16`;
const desired = (changed = false, qos = false) =>
  state(
    [net(1, { bridge: "br1", bridgeAddress: "10.96.0.1/16", subnet: "10.96.0.0/16" })],
    Array.from({ length: n }, (_, i) =>
      port(i + 1, i + 1, 1, {
        addresses: [changed && i === 0 ? "10.96.200.1/16" : ip4(i)],
        addresses6: [`fd00:96::${(i + 2).toString(16)}`],
        ...(qos
          ? {
              qos: {
                inboundAvgBps: changed && i === 0 ? 20e6 : 10e6,
                outboundAvgBps: 5e6,
                outboundPeakBps: 10e6,
              },
            }
          : {}),
      }),
    ),
  );
/** Runs `fn` five times (this machine is shared and noisy) and reports the median duration. */
const time = async <T>(fn: () => Promise<T> | T): Promise<[T, number]> => {
  const runs: number[] = [];
  let v: T | undefined;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    v = await fn();
    runs.push(performance.now() - t0);
  }
  return [v as T, runs.sort((a, b) => a - b)[2] as number];
};
/** Returns a, b, a, b, ... on successive calls: every timed run is a real change. */
const alternate = <T>(a: T, b: T) => {
  let n = 0;
  return () => (n++ % 2 === 0 ? a : b);
};
/** One run only: for steps that change state (the first apply of something). */
const once = async <T>(fn: () => Promise<T> | T): Promise<[T, number]> => {
  const t0 = performance.now();
  const v = await fn();
  return [v, performance.now() - t0];
};

const result: Record<string, number> = { ports: n };
try {
  await run("ip", ["netns", "add", NS]);
  const [r, renderMs] = await time(() => renderNft(desired()));
  const [err1, loadMs] = await once(() => loadNft(NS, r.script));
  if (err1) throw new Error(err1);
  await loadNft(NS, recordSeen(await observeNft(NS))); // as the agent does after each load
  const [drift, checkMs] = await time(async () => nftDrift(r, await observeNft(NS)));
  if (drift.length) throw new Error(`unexpected drift: ${drift.join("; ")}`);
  const r2 = renderNft(desired(true));
  const nextNft = alternate(r2.script, r.script);
  const [err2, changeMs] = await time(() => loadNft(NS, nextNft()));
  if (err2) throw new Error(err2);
  Object.assign(result, {
    nftRenderMs: renderMs,
    nftFirstLoadMs: loadMs,
    nftNoopCheckMs: checkMs,
    nftOnePortChangeMs: changeMs,
    nftScriptKiB: r.script.length / 1024,
  });
  console.log(
    `nft, ${n} ports: render ${renderMs.toFixed(0)} ms, first load ${loadMs.toFixed(0)} ms, no-op check ${checkMs.toFixed(0)} ms, one-port change, median of 5 (full replace) ${changeMs.toFixed(0)} ms, script ${(r.script.length / 1024).toFixed(0)} KiB`,
  );

  // Security groups: every port in one group of 20 rules; then one rule changed.
  const group = (port0: number) => ({
    sgId: 100,
    rules: Array.from({ length: 20 }, (_, i) => ({
      ruleId: i + 1,
      protocol: "TCP" as const,
      direction: (i % 2 ? "INBOUND" : "OUTBOUND") as "INBOUND" | "OUTBOUND",
      ports: `${port0 + i},${port0 + 100 + i}:${port0 + 110 + i}`,
      spans: [{ first: `10.${i}.0.0`, size: 256 }],
    })),
  });
  const withSg = (port0: number) => {
    const d = desired();
    return {
      ...d,
      networks: d.networks.map((x) => ({ ...x, securityGroupIds: [100] })),
      securityGroups: [group(port0)],
    };
  };
  const [sgR, sgRenderMs] = await time(() => renderNft(withSg(1000)));
  const [err3, sgLoadMs] = await once(() => loadNft(NS, sgR.script));
  if (err3) throw new Error(err3);
  const sgR2 = renderNft(withSg(2000));
  const nextSg = alternate(sgR2.script, sgR.script);
  const [err4, sgRuleMs] = await time(() => loadNft(NS, nextSg()));
  if (err4) throw new Error(err4);
  // The same kind of one-rule edit as an incremental update (what the agent loads when the kernel
  // still holds its last tables): sgR → A, then A → B → A → B → A, median of those five.
  const oneRule = (first: number) => {
    const d = withSg(1000);
    const g0 = d.securityGroups[0]!;
    g0.rules[0] = { ...g0.rules[0]!, ports: `${first}` };
    return renderNft(d);
  };
  const [ruleA, ruleB] = [oneRule(5000), oneRule(6000)];
  await loadNft(NS, sgR.script);
  const e5 = await loadNft(NS, renderDelta(sgR, ruleA) ?? "");
  if (e5) throw new Error(e5);
  const nextDelta = alternate(renderDelta(ruleA, ruleB) ?? "", renderDelta(ruleB, ruleA) ?? "");
  const [err6, sgDeltaMs] = await time(() => loadNft(NS, nextDelta()));
  if (err6) throw new Error(err6);
  Object.assign(result, {
    sgRenderMs,
    sgFullApplyMs: sgLoadMs,
    sgOneRuleChangeMs: sgRuleMs,
    sgOneRuleDeltaMs: sgDeltaMs,
  });
  console.log(
    `nft + security groups, one rule changed as an incremental update: median ${sgDeltaMs.toFixed(0)} ms`,
  );
  console.log(
    `nft + security groups, ${n} ports × 20 rules: render ${sgRenderMs.toFixed(0)} ms, full apply ${sgLoadMs.toFixed(0)} ms, one rule changed, median of 5 (full replace) ${sgRuleMs.toFixed(0)} ms, script ${(sgR.script.length / 1024).toFixed(0)} KiB`,
  );

  const pairs = Array.from({ length: n }, (_, i) => `link add bhv${i + 1} type veth peer name bhp${i + 1}`);
  await runBatch(NS, [...pairs, ...pairs.map((_, i) => `link set bhv${i + 1} up`)]);
  const want = portQos(desired(false, true));
  const [first, tcMs] = await once(async () => applyTc(NS, planTc(want, await observeTc(NS, want))));
  if (first.failed.size || first.errors.length)
    throw new Error(`tc failed: ${[...first.failed.values(), ...first.errors][0]}`);
  const [noop, tcCheckMs] = await time(async () => planTc(want, await observeTc(NS, want)));
  const changed = portQos(desired(true, true));
  const nextQos = alternate(changed, want);
  const [one, tcChangeMs] = await time(async () => {
    const w = nextQos();
    return applyTc(NS, planTc(w, await observeTc(NS, w)));
  });
  Object.assign(result, { tcFirstMs: tcMs, tcNoopCheckMs: tcCheckMs, tcOneChangeMs: tcChangeMs });
  console.log(
    `tc, ${n} ports both ways: first ${tcMs.toFixed(0)} ms (${first.ops.length} lines), no-op check ${tcCheckMs.toFixed(0)} ms (${noop.tc.length} lines), one cap changed ${tcChangeMs.toFixed(0)} ms (${one.ops.length} line)`,
  );
} finally {
  await run("ip", ["netns", "del", NS]);
}
console.log(JSON.stringify(result, (_, v) => (typeof v === "number" ? Math.round(v * 10) / 10 : v)));
