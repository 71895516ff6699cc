// Security groups against the real kernel: allowed flows pass with their
// replies, others are dropped, per-rule counters count, changing one rule takes effect on the next
// reconcile; and every golden nft script of the unit tests loads. Everything here starts with
// `bht<pid>g`.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { DesiredSecurityGroup, DesiredState } from "../../../lib/wire";
import { waitFor } from "../../../tests/kernel";
import { createDataplane } from "../index";
import { describeKernel } from "../kernel-guard.testing";
import { listNamespaces } from "../links/observe";
import { run, runInNetns } from "../run";
import { net, port, state } from "../state.testing";

const P = `bht${process.pid}g`;
const NODE = `${P}n`;
const g = (i: number) => `${P}-i${i}`;
const dp = createDataplane({ nodeNetns: NODE, guestPrefix: P });
const GOLDEN = path.join(import.meta.dirname, "__golden__");

const sg = (extraInbound: number[] = []): DesiredSecurityGroup => ({
  sgId: 100,
  rules: [
    { ruleId: 1, protocol: "ALL", direction: "OUTBOUND" },
    { ruleId: 2, protocol: "TCP", direction: "INBOUND", ports: ["5201", ...extraInbound].join(",") },
    // Echo requests only from guest 1.
    {
      ruleId: 3,
      protocol: "ICMP",
      direction: "INBOUND",
      icmpType: 8,
      spans: [{ first: "10.77.0.2", size: 1 }],
    },
  ],
});
const desired = (groups: number[], extra: number[] = []): DesiredState => ({
  ...state(
    [
      net(77, {
        bridge: "br77",
        bridgeAddress: "10.77.0.1/24",
        subnet: "10.77.0.0/24",
        securityGroupIds: groups,
      }),
    ],
    [1, 2].map((n) => port(n, n, 77, { addresses: [`10.77.0.${n + 1}/24`], gateway: "10.77.0.1" })),
  ),
  securityGroups: [sg(extra)],
});

const ping = async (ns: string, target: string) =>
  (await runInNetns(ns, "ping", ["-c1", "-W1", target])).code === 0;
/** For expectations that traffic passes: up to three tries (a shared, often loaded machine). */
const reaches = async (ns: string, target: string) => {
  for (let i = 0; i < 3; i++) if (await ping(ns, target)) return true;
  return false;
};
/** Whether guest 2 can open a TCP connection to guest 1's iperf3 server on `tcpPort`, in up to
 * `tries` attempts (positive checks retry on this shared, often loaded machine). The server is
 * listening before the first attempt, so a refusal is the filter's doing. */
async function connects(tcpPort: number, tries = 1): Promise<boolean> {
  const server = spawn("ip", ["netns", "exec", g(1), "iperf3", "-s", "-p", String(tcpPort)], {
    stdio: "ignore",
  });
  try {
    await waitFor(`iperf3 listening on ${tcpPort}`, async () =>
      (await runInNetns(g(1), "ss", ["-Hltn", `sport = :${tcpPort}`])).stdout.includes(`:${tcpPort}`),
    );
    const args = ["-c", "10.77.0.2", "-p", String(tcpPort), "-t", "1", "--connect-timeout", "1000"];
    for (let i = 0; i < tries; i++) if ((await runInNetns(g(2), "iperf3", args)).code === 0) return true;
    return false;
  } finally {
    server.kill();
  }
}

async function purge(): Promise<void> {
  await dp.teardown({ removeNodeNetns: true }).catch(() => {});
  for (const ns of await listNamespaces()) if (ns.startsWith(P)) await run("ip", ["netns", "del", ns]);
}

await describeKernel("security groups against the kernel", () => {
  beforeAll(purge);
  afterAll(purge);

  it("every golden script of the unit tests loads into a fresh namespace", async () => {
    await run("ip", ["netns", "add", `${P}load`]);
    // delta-* scripts change an existing table: they are loaded by the tests below, for real.
    for (const f of readdirSync(GOLDEN).filter((x) => x.endsWith(".nft") && !x.startsWith("delta-"))) {
      const r = await run("ip", ["netns", "exec", `${P}load`, "nft", "-f", path.join(GOLDEN, f)]);
      expect(r.stderr, f).toBe("");
    }
  });

  it("allows what a rule allows (and its replies), drops the rest, and counts per rule", async () => {
    const r = await dp.reconcile(desired([100]));
    expect(r.error).toBeUndefined();
    expect(await connects(5201, 3)).toBe(true);
    expect(await connects(5202)).toBe(false);
    expect(await reaches(g(1), "10.77.0.3")).toBe(true); // echo from 10.77.0.2 is allowed in
    expect(await ping(g(2), "10.77.0.2")).toBe(false); // from 10.77.0.3 it is not
    expect(await reaches(g(2), "10.77.0.1")).toBe(true); // outbound ALL to the gateway, reply established
    const counter = await runInNetns(NODE, "nft", [
      "-j",
      "list",
      "counter",
      "bridge",
      "bridgehead",
      "sg100_r2",
    ]);
    const packets = (
      JSON.parse(counter.stdout) as { nftables: { counter?: { packets: number } }[] }
    ).nftables.find((i) => i.counter)?.counter?.packets;
    expect(packets).toBeGreaterThan(0);
    expect((await dp.reconcile(desired([100]))).operations).toBe(0);
  });

  it("one more port in a rule lands as a small update on the next reconcile; counters keep counting", async () => {
    const packets = async () => {
      const c = await runInNetns(NODE, "nft", ["-j", "list", "counter", "bridge", "bridgehead", "sg100_r2"]);
      const items = (JSON.parse(c.stdout) as { nftables: { counter?: { packets: number } }[] }).nftables;
      return items.find((i) => i.counter)?.counter?.packets ?? -1;
    };
    const before = await packets();
    expect(before).toBeGreaterThan(0);
    const r = await dp.reconcile(desired([100], [5202]));
    expect(r.ok).toBe(true);
    expect(r.ops.filter((o) => o.includes("nft -f -"))).toEqual([
      `ip netns exec ${NODE} nft -f -  # only what changed: table bridge bridgehead: 1 chain(s), 0 set(s) rewritten`,
      `ip netns exec ${NODE} nft -f -  # record the loaded form`,
    ]);
    expect(await packets()).toBeGreaterThanOrEqual(before);
    expect(await connects(5202, 3)).toBe(true);
    expect((await dp.reconcile(desired([100], [5202]))).operations).toBe(0);
  });

  it("inbound is decided by the destination port's groups, across networks and to an unfiltered one", async () => {
    // Three networks routed by the node: 77 lets echo requests in, 78 does not, 79 is unfiltered
    // (default group). Both filtered groups let everything out. A packet from 77 to 78 carries the
    // source's slot in its mark until the bridge's postrouting picks the destination's checks.
    const open = (sgId: number, icmpIn: boolean): DesiredSecurityGroup => ({
      sgId,
      rules: [
        { ruleId: sgId * 10 + 1, protocol: "ALL", direction: "OUTBOUND" },
        ...(icmpIn
          ? [{ ruleId: sgId * 10 + 2, protocol: "ICMP" as const, direction: "INBOUND" as const }]
          : []),
      ],
    });
    const peers = (self: number) => [77, 78, 79].filter((v) => v !== self).map((vnetId) => ({ vnetId }));
    const three: DesiredState = {
      ...state(
        [
          // All three peered with each other: the node routes between VNETs only when peered, and
          // the groups decide what a peering lets through.
          net(77, {
            bridge: "br77",
            bridgeAddress: "10.77.0.1/24",
            securityGroupIds: [200],
            peers: peers(77),
          }),
          net(78, {
            bridge: "br78",
            bridgeAddress: "10.78.0.1/24",
            securityGroupIds: [201],
            peers: peers(78),
          }),
          net(79, { bridge: "br79", bridgeAddress: "10.79.0.1/24", securityGroupIds: [0], peers: peers(79) }),
        ],
        [77, 78, 79].map((v, i) =>
          port(i + 1, i + 1, v, { addresses: [`10.${v}.0.2/24`], gateway: `10.${v}.0.1` }),
        ),
      ),
      securityGroups: [open(200, true), open(201, false)],
    };
    const r = await dp.reconcile(three);
    expect(r.error).toBeUndefined();
    expect(await reaches(g(2), "10.77.0.2")).toBe(true); // 78 → 77: 77 lets pings in
    expect(await ping(g(1), "10.78.0.2")).toBe(false); // 77 → 78: 78 does not
    expect(await reaches(g(1), "10.79.0.2")).toBe(true); // 77 → unfiltered 79
    expect(await reaches(g(3), "10.77.0.2")).toBe(true); // unfiltered 79 → 77
    expect(await ping(g(3), "10.78.0.2")).toBe(false); // unfiltered 79 → 78
  });

  it("the default group lifts filtering", async () => {
    await dp.reconcile(desired([0, 100]));
    expect(await reaches(g(2), "10.77.0.2")).toBe(true);
  });
});
