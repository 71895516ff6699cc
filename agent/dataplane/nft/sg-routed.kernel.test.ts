// Security groups on routed ports (no bridge: /32 routes and proxy ARP), on the real kernel: the
// inet table checks them by the host veth as input or output interface, with conntrack right there.
// An allowed port passes with its replies, another is dropped, a rule added later takes effect, and
// a deleted rule cuts the live flow it allowed. Everything here starts with `bht<pid>o`.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { DesiredSgRule, DesiredState } from "../../../lib/wire";
import { describeKernel } from "../kernel-guard.testing";
import { ping, probe, reaches, sgLab, tcpFlow } from "../sg.testing";
import { net, port, state } from "../state.testing";

const lab = sgLab("o");
const { g } = lab;

/** Guests 1 (10.79.0.2) and 2 (10.79.0.3) on a routed network under group 100. */
const desired = (inbound: DesiredSgRule[]): DesiredState => ({
  ...state(
    [
      net(79, {
        bridge: "rt79",
        driver: "routed",
        bridgeAddress: undefined,
        subnet: "10.79.0.0/24",
        securityGroupIds: [100],
      }),
    ],
    [1, 2].map((n) => port(n, n, 79, { addresses: [`10.79.0.${n + 1}/24`], gateway: "169.254.0.1" })),
  ),
  securityGroups: [{ sgId: 100, rules: [{ ruleId: 1, protocol: "ALL", direction: "OUTBOUND" }, ...inbound] }],
});
const tcp5201: DesiredSgRule = { ruleId: 2, protocol: "TCP", direction: "INBOUND", ports: "5201" };
const icmp: DesiredSgRule = { ruleId: 3, protocol: "ICMP", direction: "INBOUND" };
const apply = async (d: DesiredState) => {
  const r = await lab.dp.reconcile(d);
  expect(r.error).toBeUndefined();
  return r;
};
const tcp = (port: number) => ({ proto: "tcp" as const, src: "10.79.0.3", dst: "10.79.0.2", port });

await describeKernel("security groups on routed ports", () => {
  beforeAll(() => lab.purge());
  afterAll(() => lab.purge());

  it("an allowed TCP port passes with its replies; another port and ping are dropped; an added ICMP rule lets ping in", async () => {
    await apply(desired([tcp5201]));
    // Outbound ALL: each guest reaches the node's gateway address (replies are established).
    expect(await reaches(g(2), "169.254.0.1")).toBe(true);
    let ok = await probe(g(2), [tcp(5201)]);
    if (!ok[0]) ok = await probe(g(2), [tcp(5201)], 2); // a loaded machine: one retry
    expect(ok).toEqual([true]);
    expect(await probe(g(2), [tcp(5202), tcp(22)])).toEqual([false, false]);
    expect(await ping(g(2), "10.79.0.2")).toBe(false);
    await apply(desired([tcp5201, icmp]));
    expect(await reaches(g(2), "10.79.0.2")).toBe(true);
    expect(await probe(g(2), [tcp(5202)])).toEqual([false]);
  });

  it("deleting the rule cuts the live flow it allowed on a routed port", async () => {
    await apply(desired([tcp5201, icmp]));
    const flow = await tcpFlow(lab, g(1), g(2), "10.79.0.2", 5201);
    await sleep(400);
    expect(flow.received).toBeGreaterThan(1);
    const r = await apply(desired([icmp]));
    const applied = performance.now();
    expect(r.ops.find((o) => o.includes("ct-delete.py"))).toMatch(
      /10\.79\.0\.2:5201 \(not allowed into NIC 1\)/,
    );
    await sleep(1200);
    expect(flow.lastAt - applied).toBeLessThan(1000);
    expect(await reaches(g(2), "10.79.0.2")).toBe(true);
  });
});
