// A deleted rule cuts the established connections it allowed, on the real kernel: two live
// TCP flows (one message every 100 ms) into guest 1, one on a port whose rule is deleted — it stops
// within a second of the reconcile — and one on a port whose rule stays — it keeps going. Everything
// here starts with `bht<pid>c`.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { DesiredState } from "../../../lib/wire";
import { waitFor } from "../../../tests/kernel";
import { createPolicy } from "../index";
import { describeKernel } from "../kernel-guard.testing";
import { runInNetns } from "../run";
import { ping, sgLab, tcpFlow } from "../sg.testing";
import { net, port, state } from "../state.testing";
import { cutFlows } from "./ct-cut";

const lab = sgLab("c");
const { NODE, g } = lab;

/** Guests 1 (10.77.0.2) and 2 (10.77.0.3); group 100 lets in TCP on `inbound` ports. */
const desired = (inbound: number[]): DesiredState => ({
  ...state(
    [net(77, { bridge: "br77", bridgeAddress: "10.77.0.1/24", securityGroupIds: [100] })],
    [1, 2].map((n) =>
      port(n, n, 77, {
        addresses: [`10.77.0.${n + 1}/24`],
        addresses6: [`fd00:77::${n + 1}`],
        gateway: "10.77.0.1",
      }),
    ),
  ),
  securityGroups: [
    {
      sgId: 100,
      rules: [
        { ruleId: 1, protocol: "ALL", direction: "OUTBOUND" },
        ...inbound.map((p) => ({
          ruleId: p,
          protocol: "TCP" as const,
          direction: "INBOUND" as const,
          ports: String(p),
        })),
      ],
    },
  ],
});

await describeKernel("security groups: a deleted rule cuts the connections it allowed", () => {
  beforeAll(() => lab.purge());
  afterAll(() => lab.purge());

  it("deleting the rule stops its live TCP flow within a second; a flow on a port still allowed keeps going", async () => {
    const first = await lab.dp.reconcile(desired([5201, 5202]));
    expect(first.error).toBeUndefined();
    const cut = await tcpFlow(lab, g(1), g(2), "10.77.0.2", 5201);
    const kept = await tcpFlow(lab, g(1), g(2), "10.77.0.2", 5202);
    await sleep(500);
    expect(cut.received).toBeGreaterThan(2);
    expect(kept.received).toBeGreaterThan(2);

    // The plan preview names the flow before anything runs.
    const preview = await lab.dp.policyPreview(desired([5202]));
    expect(preview.join("\n")).toMatch(/would cut 1 connection\(s\).*10\.77\.0\.2:5201/);
    const r = await lab.dp.reconcile(desired([5202]));
    const applied = performance.now();
    expect(r.error).toBeUndefined();
    const line = r.ops.find((o) => o.includes("ct-delete.py"));
    expect(line).toContain("cut 1 connection(s)");
    expect(line).toMatch(/tcp 10\.77\.0\.3:\d+ → 10\.77\.0\.2:5201 \(not allowed into NIC 1\)/);

    const before = { cut: cut.received, kept: kept.received };
    await sleep(1500);
    console.info(
      `[sg-cut] after the rule was deleted: port 5201 got ${cut.received - before.cut} more message(s) (last ${Math.round(cut.lastAt - applied)} ms after the reconcile), port 5202 got ${kept.received - before.kept}; the reconcile (nft delta + cut) took ${Math.round(r.durationMs)} ms`,
    );
    // Stopped within a second of the reconcile, and nothing since.
    expect(cut.lastAt - applied).toBeLessThan(1000);
    expect(kept.received - before.kept).toBeGreaterThanOrEqual(8);
    expect(performance.now() - kept.lastAt).toBeLessThan(1000);
    const ct = (await runInNetns(NODE, "conntrack", ["-L", "-p", "tcp", "--dport", "5201"])).stdout;
    expect(ct).not.toMatch(/ESTABLISHED/);
    // Applying the same state again cuts nothing more.
    expect((await lab.dp.reconcile(desired([5202]))).ops).toEqual([]);
  });

  it("the same for an IPv6 flow", async () => {
    expect((await lab.dp.reconcile(desired([5203]))).error).toBeUndefined();
    // The ip plan manages IPv4 only; the guests configure their leased IPv6 address themselves.
    for (const n of [1, 2])
      await runInNetns(g(n), "ip", ["-6", "addr", "add", `fd00:77::${n + 1}/64`, "dev", "eth0", "nodad"]);
    await waitFor("guest 2 to reach guest 1 over IPv6", async () => {
      const r = await runInNetns(g(2), "ping", ["-6", "-c1", "-W1", "fd00:77::2"]);
      return r.code !== 2; // answered or not (no ICMPv6 rule): the neighbour is resolved either way
    });
    const flow = await tcpFlow(lab, g(1), g(2), "fd00:77::2", 5203);
    await sleep(400);
    expect(flow.received).toBeGreaterThan(1);
    const r = await lab.dp.reconcile(desired([5202]));
    const applied = performance.now();
    expect(r.ops.find((o) => o.includes("ct-delete.py"))).toMatch(
      /tcp \[fd00:77::3\]:\d+ → \[fd00:77::2\]:5203 \(not allowed into NIC 1\)/,
    );
    await sleep(1200);
    expect(flow.lastAt - applied).toBeLessThan(1000);
    expect(await ping(g(2), "10.77.0.1")).toBe(true);
  });

  it("a cut that fails is reported and retried on the next reconcile; meanwhile the flow goes on", async () => {
    expect((await lab.dp.reconcile(desired([5204, 5202]))).error).toBeUndefined();
    const flow = await tcpFlow(lab, g(1), g(2), "10.77.0.2", 5204);
    await sleep(400);
    // Fault injection: the first cut fails (as when conntrack cannot run), later ones work.
    let fail = true;
    const policy = createPolicy(NODE, {
      cutFlows: async (...args) => {
        if (!fail) return cutFlows(...args);
        fail = false;
        throw new Error("injected failure");
      },
    });
    const first = await policy.reconcile(desired([5202]));
    expect(first.errors.join()).toMatch(
      /established connections they no longer allow could not be cut \(injected failure\); the cut is retried/,
    );
    const before = flow.received;
    await sleep(1000);
    expect(flow.received - before).toBeGreaterThan(3); // not cut: conntrack still lets it pass
    // The tables are in place already; the retry alone runs.
    const second = await policy.reconcile(desired([5202]));
    expect(second.errors).toEqual([]);
    expect(second.ops).toHaveLength(1);
    expect(second.ops[0]).toMatch(/ct-delete\.py {2}# cut 1 connection\(s\).*10\.77\.0\.2:5204/);
    const applied = performance.now();
    await sleep(1200);
    expect(flow.lastAt - applied).toBeLessThan(1000);
    expect((await policy.reconcile(desired([5202]))).ops).toEqual([]);
  });
});
