// Fail-closed on a node's very first nftables load: when the first ruleset the kernel sees is
// refused, there is no "previous one" to stay in force, so the guest ports must be blocked (the
// lockdown table) and the error reported — then the next good load opens them. Real kernel, real
// ping. Everything created here starts with `bht<pid>f`.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDataplane } from "./index";
import { describeKernel } from "./kernel-guard.testing";
import { listNamespaces } from "./links/observe";
import { run, runInNetns } from "./run";
import { net, port, state } from "./state.testing";

const P = `bht${process.pid}f`;
const NODE = `${P}n`;
const g = (instanceId: number) => `${P}-i${instanceId}`;
const desired = state(
  [net(78, { bridge: "br78", bridgeAddress: "10.78.0.1/24", subnet: "10.78.0.0/24" })],
  [1, 2].map((n) => port(n, n, 78, { addresses: [`10.78.0.${n + 1}/24`], gateway: "10.78.0.1" })),
);
/** A fault injected into every full ruleset: a rule the kernel refuses (a jump to a base chain). */
const refused = (s: string) =>
  s.replace("\tchain antispoof {\n", "\tchain antispoof {\n\t\tjump prerouting\n");

const ping = async (ns: string, target: string) =>
  (await runInNetns(ns, "ping", ["-c1", "-W1", target])).code === 0;
const reaches = async (ns: string, target: string) => {
  for (let i = 0; i < 3; i++) if (await ping(ns, target)) return true;
  return false;
};
const tables = async () => (await run("ip", ["netns", "exec", NODE, "nft", "list", "ruleset"])).stdout;

async function purge(): Promise<void> {
  for (const ns of await listNamespaces()) if (ns.startsWith(P)) await run("ip", ["netns", "del", ns]);
}

await describeKernel("the first nftables load of a node fails closed", () => {
  beforeAll(purge);
  afterAll(purge);

  it("a refused first ruleset leaves every guest port blocked and says so; the next good load opens them", async () => {
    const broken = createDataplane({ nodeNetns: NODE, guestPrefix: P, policy: { script: refused } });
    const r = await broken.reconcile(desired);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(
      /ruleset was refused and none was loaded before in bridge.*guest ports are blocked/,
    );
    // The lockdown went in before the ports were created, and stays after the refusal.
    const lock = r.ops.findIndex((o) => o.includes("# lockdown"));
    const firstVeth = r.ops.findIndex((o) => o.includes("type veth"));
    expect(lock).toBeGreaterThanOrEqual(0);
    expect(lock).toBeLessThan(firstVeth);
    expect(await tables()).toContain("chain lockdown");
    // The links themselves are in place (an address on each guest): only the filter blocks them.
    expect((await runInNetns(g(1), "ip", ["-4", "addr", "show", "eth0"])).stdout).toContain("10.78.0.2/24");
    expect(await ping(g(1), "10.78.0.3")).toBe(false);
    expect(await ping(g(2), "10.78.0.1")).toBe(false);
    expect(await ping(NODE, "10.78.0.2")).toBe(false);

    // A new agent (same node, nothing loaded by it) with a ruleset the kernel accepts.
    const good = createDataplane({ nodeNetns: NODE, guestPrefix: P });
    const ok = await good.reconcile(desired);
    expect(ok.error).toBeUndefined();
    expect(await tables()).not.toContain("chain lockdown");
    expect(await reaches(g(1), "10.78.0.3")).toBe(true);
    expect(await reaches(g(2), "10.78.0.1")).toBe(true);
    await good.teardown({ removeNodeNetns: true });
  });

  it("a node namespace deleted by hand is recreated closed: the lockdown goes in before its ports again", async () => {
    const dp = createDataplane({ nodeNetns: NODE, guestPrefix: P });
    expect((await dp.reconcile(desired)).error).toBeUndefined();
    expect(await reaches(g(1), "10.78.0.3")).toBe(true);
    await run("ip", ["netns", "del", NODE]);
    const r = await dp.reconcile(desired);
    expect(r.error).toBeUndefined();
    const lock = r.ops.findIndex((o) => o.includes("# lockdown"));
    expect(lock).toBeGreaterThanOrEqual(0);
    expect(lock).toBeLessThan(r.ops.findIndex((o) => o.includes("type veth")));
    expect(await tables()).not.toContain("chain lockdown");
    expect(await reaches(g(1), "10.78.0.3")).toBe(true);
    await dp.teardown({ removeNodeNetns: true });
  });

  it("a new node with no ports ends its first reconcile without the lockdown table, and the next one runs nothing", async () => {
    const dp = createDataplane({ nodeNetns: NODE, guestPrefix: P });
    const empty = state([], []);
    const first = await dp.reconcile(empty);
    expect(first.error).toBeUndefined();
    // The guard's lockdown went in and, nothing being wanted, came out in the same reconcile.
    expect(first.ops.some((o) => o.includes("# lockdown"))).toBe(true);
    expect(await tables()).not.toContain("bridgehead");
    // No drift to repair afterwards (it would show as a repair on the Nodes page).
    const second = await dp.reconcile(empty);
    expect(second.ops).toEqual([]);
    expect(await dp.preview(empty)).toEqual([]);
    await dp.teardown({ removeNodeNetns: true });
  });
});
