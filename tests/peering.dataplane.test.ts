// VNETs are isolated from each other on a node unless peered, on the real kernel, driven by the
// server's own code: two tenants' internal VNETs (and then two routed ones) on one node. Without a
// peering not one ping passes either way (each guest still reaches its own gateway); a peering made
// through the router lets them pass; removing it stops them again and cuts a live TCP flow. Inside a
// peering the security groups still decide (NETWORK_ID of the peered VNET included).
// Everything here starts with `bht<pid>p`.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeKernel } from "../agent/dataplane/kernel-guard.testing";
import { runInNetns } from "../agent/dataplane/run";
import { probe, reaches, sgLab, tcpFlow } from "../agent/dataplane/sg.testing";
import type { App } from "../server/app";
import { testApp, userCaller } from "../server/harness.testing";
import { compileDesiredState } from "../server/services/nodes/desired";

const lab = sgLab("p");
const N = 5;

/** How many of `n` echo requests (one every 0.2 s, each waited for up to 1 s) were answered. */
async function answered(ns: string, target: string, n = N): Promise<number> {
  const r = await runInNetns(ns, "ping", ["-n", "-q", "-c", String(n), "-i", "0.2", "-W", "1", target]);
  const m = /(\d+) received/.exec(r.stdout);
  if (!m) throw new Error(`ping from ${ns} to ${target}: ${r.stdout.trim() || r.stderr.trim()}`);
  return Number(m[1]);
}
/** Both directions at once. */
const bothWays = (a: { ns: string; ip: string }, b: { ns: string; ip: string }) =>
  Promise.all([answered(a.ns, b.ip), answered(b.ns, a.ip)]);

await describeKernel("VNET isolation and peering on one node", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let nodeId = 0;
  beforeAll(async () => {
    await lab.purge();
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
    await userCaller(app, "bob");
    await userCaller(app, "carol");
    nodeId = (await admin.node.create({ name: "node1" })).id;
  });
  afterAll(() => lab.purge());

  const apply = async () => {
    const desired = compileDesiredState(app.db, nodeId);
    if (!desired) throw new Error(`node ${nodeId} vanished`);
    const r = await lab.dp.reconcile(desired);
    expect(r.error).toBeUndefined();
    return r;
  };

  /** Two VNETs owned by bob and carol, one guest on each; returns the guests' namespaces. */
  async function twoTenants(tag: number, driver: "bridge" | "routed") {
    const users = await admin.user.list();
    const id = (u: string) => users.find((x: { username: string | null }) => x.username === u)!.id;
    const mk = async (n: number, owner: string) => {
      const v = await admin.vnet.create({
        name: `t${tag}-${owner}`,
        driver,
        subnet: `10.${tag + n}.0.0/24`,
        gateway: `10.${tag + n}.0.1`,
        firstIp: `10.${tag + n}.0.10`,
        size: 10,
      });
      await admin.vnet.chown({ id: v.id, userId: id(owner) });
      const inst = await admin.instance.create({
        name: `g${tag + n}`,
        nodeId,
        nics: [{ vnetId: v.id, ip: `10.${tag + n}.0.10` }],
      });
      return { vnet: v.id, ns: lab.g(inst.id), ip: `10.${tag + n}.0.10`, gw: `10.${tag + n}.0.1` };
    };
    return [await mk(0, "bob"), await mk(1, "carol")] as const;
  }

  it("security groups still filter inside a peering, and NETWORK_ID names the peered VNET's addresses", async () => {
    const [a, b] = await twoTenants(80, "bridge");
    await admin.peering.create({ vnetA: a.vnet, vnetB: b.vnet });
    // carol's VNET lets in ICMP from bob's VNET only: TCP from there is dropped by the group.
    const sg = await admin.sg.create({
      name: "icmp-from-peer",
      rules: [
        { protocol: "ALL", direction: "OUTBOUND" },
        { protocol: "ICMP", direction: "INBOUND", networkId: a.vnet },
      ],
    });
    await admin.sg.setVnet({ vnetId: b.vnet, sgId: sg.id, attached: true });
    await admin.sg.setVnet({ vnetId: b.vnet, sgId: 0, attached: false });
    await apply();
    expect(await reaches(a.ns, b.ip)).toBe(true);
    expect(await probe(a.ns, [{ proto: "tcp", src: a.ip, dst: b.ip, port: 5480 }])).toEqual([false]);
    // Without that rule the peering alone lets nothing in.
    await admin.sg.update({
      id: sg.id,
      name: "icmp-from-peer",
      description: "",
      rules: [{ protocol: "ALL", direction: "OUTBOUND" }],
    });
    await apply();
    expect(await answered(a.ns, b.ip, 2)).toBe(0);
    // And the other way, b's outbound ALL and a's default group: b reaches a.
    expect(await reaches(b.ns, a.ip)).toBe(true);
  });

  for (const [tag, driver] of [
    [60, "bridge"],
    [70, "routed"],
  ] as const) {
    it(`${driver === "bridge" ? "internal" : "routed"} VNETs of two tenants: 0 of ${N} pings either way without a peering; with one they pass; removed, they stop and a live flow is cut`, async () => {
      const [a, b] = await twoTenants(tag, driver);
      await apply();
      // Each guest reaches its own gateway (the network works), not the other tenant's guest.
      const ownGw = driver === "routed" ? "169.254.0.1" : a.gw;
      expect(await reaches(a.ns, ownGw)).toBe(true);
      expect(await reaches(b.ns, driver === "routed" ? "169.254.0.1" : b.gw)).toBe(true);
      const before = await bothWays(a, b);
      console.info(`[peering ${driver}] without a peering: ${before[0]}/${N} a→b, ${before[1]}/${N} b→a`);
      expect(before).toEqual([0, 0]);
      if (driver === "bridge") expect(await answered(a.ns, b.gw, 2)).toBe(0);

      const p = await admin.peering.create({ vnetA: a.vnet, vnetB: b.vnet });
      expect(p.state).toBe("active");
      await apply();
      expect(await reaches(a.ns, b.ip)).toBe(true);
      expect(await reaches(b.ns, a.ip)).toBe(true);
      const flow = await tcpFlow(lab, b.ns, a.ns, b.ip, 5301 + tag);
      await sleep(500);
      expect(flow.received).toBeGreaterThan(2);

      await admin.peering.remove({ id: p.id });
      const r = await apply();
      const removed = performance.now();
      console.info(`[peering ${driver}] removal ops: ${r.ops.filter((o) => o.includes("ct-")).join(" | ")}`);
      expect(r.ops.find((o) => o.includes("ct-delete.py"))).toMatch(
        new RegExp(`→ ${b.ip.replaceAll(".", "\\.")}:${5301 + tag} \\(VNETs \\d+ and \\d+ are not peered\\)`),
      );
      await sleep(1200);
      expect(flow.lastAt - removed).toBeLessThan(1000);
      const ct = (await runInNetns(lab.NODE, "conntrack", ["-L", "-p", "tcp", "--dport", String(5301 + tag)]))
        .stdout;
      expect(ct).not.toMatch(/ESTABLISHED/);
      expect(await bothWays(a, b)).toEqual([0, 0]);
      expect(await reaches(a.ns, ownGw)).toBe(true);
    }, 90_000);
  }
});
