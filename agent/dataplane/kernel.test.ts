// Against the real kernel: a namespace stands in for the node, guests are namespaces with a veth
// into its bridge, and pings prove the result. Everything created here starts with `bht<pid>x`.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { DesiredState } from "../../lib/wire";
import { createDataplane } from "./index";
import { describeKernel } from "./kernel-guard.testing";
import { listNamespaces } from "./links/observe";
import { run, runInNetns } from "./run";
import { net, port, state } from "./state.testing";

const P = `bht${process.pid}x`;
const NODE = `${P}n`;
const guestNs = (instanceId: number) => `${P}-i${instanceId}`;
const dp = createDataplane({ nodeNetns: NODE, guestPrefix: P });

const network = net(77, { bridge: "br77", bridgeAddress: "10.77.0.1/24" });
const nic = (nicId: number, instanceId: number, address: string, over = {}) =>
  port(nicId, instanceId, 77, { addresses: [address], gateway: "10.77.0.1", ...over });
// NIC 2's MTU is below its network's on purpose: the bridge must keep its own MTU (not follow its
// smallest port), or the second reconcile would not be a no-op.
const two = () => state([network], [nic(1, 1, "10.77.0.2/24"), nic(2, 2, "10.77.0.3/24", { mtu: 1400 })]);

/** One ping from a guest namespace; true when answered. */
async function ping(ns: string, target: string): Promise<boolean> {
  return (await runInNetns(ns, "ping", ["-c1", "-W1", target])).code === 0;
}

async function nodeLinkNames(): Promise<string[]> {
  const r = await run("ip", ["-n", NODE, "-j", "link", "show"]);
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
}

/** Deletes every namespace with this test's prefix, whatever state the test left. */
async function purge(): Promise<void> {
  await dp.teardown({ removeNodeNetns: true }).catch(() => {});
  for (const ns of await listNamespaces()) if (ns.startsWith(P)) await run("ip", ["netns", "del", ns]);
}

await describeKernel("dataplane against the kernel (bridge driver)", () => {
  beforeAll(purge);
  afterAll(purge);

  it("creates the node namespace, bridge and guests: guests reach each other and the gateway", async () => {
    const r = await dp.reconcile(two());
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.ports).toEqual([
      { nicId: 1, ok: true },
      { nicId: 2, ok: true },
    ]);
    expect(r.ops).toContain(`ip netns add ${NODE}`);
    expect(await ping(guestNs(1), "10.77.0.3")).toBe(true);
    expect(await ping(guestNs(1), "10.77.0.1")).toBe(true);
    expect(await ping(guestNs(2), "10.77.0.1")).toBe(true);
  });

  it("does nothing when the same state is applied again", async () => {
    const r = await dp.reconcile(two());
    expect(r.ops).toEqual([]);
    expect(r.operations).toBe(0);
    expect(r.ok).toBe(true);
  });

  it("removes a port's veth and namespace when it leaves the desired state", async () => {
    const r = await dp.reconcile(state([network], [nic(1, 1, "10.77.0.2/24")]));
    expect(r.ok).toBe(true);
    expect(await listNamespaces()).not.toContain(guestNs(2));
    expect(await nodeLinkNames()).not.toContain("bhv2");
    expect(await ping(guestNs(1), "10.77.0.1")).toBe(true);
  });

  it("repairs a bridge deleted by hand and a guest address flushed by hand", async () => {
    await run("ip", ["-n", NODE, "link", "del", "br77"]);
    await run("ip", ["-n", guestNs(1), "addr", "flush", "dev", "eth0"]);
    expect(await ping(guestNs(1), "10.77.0.1")).toBe(false);
    const desired = state([network], [nic(1, 1, "10.77.0.2/24")]);
    // The preview shows the repair before it runs, and changes nothing.
    const preview = await dp.preview(desired);
    expect(preview).toContain(`ip -n ${NODE} link add br77 address 02:62:68:00:00:4d mtu 68 type bridge`);
    expect(preview).toContain(`ip -n ${guestNs(1)} addr add 10.77.0.2/24 dev eth0`);
    expect(await dp.preview(desired)).toEqual(preview);
    const r = await dp.reconcile(desired);
    expect(r.ok).toBe(true);
    expect(r.ops).toContain(`ip -n ${NODE} link add br77 address 02:62:68:00:00:4d mtu 68 type bridge`);
    expect(r.ops).toContain(`ip -n ${NODE} link set bhv1 master br77`);
    expect(await ping(guestNs(1), "10.77.0.1")).toBe(true);
    expect((await dp.reconcile(desired)).operations).toBe(0);
  });

  it("reports a port the kernel refuses, rolls it back, and keeps the others", async () => {
    const bad = nic(3, 3, "10.77.0.4/24", { gateway: "192.0.2.1" });
    const desired = state([network], [nic(1, 1, "10.77.0.2/24"), bad]);
    const r = await dp.reconcile(desired);
    expect(r.ok).toBe(false);
    expect(r.ports.find((p) => p.nicId === 1)).toEqual({ nicId: 1, ok: true });
    const failed = r.ports.find((p) => p.nicId === 3);
    expect(failed?.error).toMatch(/route replace default via 192\.0\.2\.1 dev eth0: .*(gateway|Nexthop)/i);
    // Rolled back: neither the veth nor the namespace created for it is left behind.
    expect(await nodeLinkNames()).not.toContain("bhv3");
    expect(await listNamespaces()).not.toContain(guestNs(3));
    expect(await ping(guestNs(1), "10.77.0.1")).toBe(true);
  });

  it("reports a network this node cannot realise for that network only, without touching the kernel for it", async () => {
    const vx = net(78, { driver: "vxlan", vni: 4242, bridge: "br78" });
    const desired = state([network, vx], [nic(1, 1, "10.77.0.2/24"), port(4, 4, 78)]);
    const r = await dp.reconcile(desired);
    expect(r.networks).toContainEqual({
      vnetId: 78,
      ok: false,
      error: expect.stringContaining("needs this node's VTEP address"),
    });
    expect(r.networks).toContainEqual({ vnetId: 77, ok: true });
    expect(r.ports.find((p) => p.nicId === 4)?.ok).toBe(false);
    expect(await nodeLinkNames()).not.toContain("br78");
    expect(await listNamespaces()).not.toContain(guestNs(4));
  });

  it("reconciles 200 ports from empty quickly, and re-reconciles them with zero operations", async () => {
    await dp.teardown();
    const big: DesiredState = state(
      [net(79, { bridge: "br79", bridgeAddress: "10.79.0.1/16" })],
      Array.from({ length: 200 }, (_, i) =>
        port(i + 1, i + 1, 79, {
          addresses: [`10.79.${(i + 2) >> 8}.${(i + 2) & 255}/16`],
          gateway: "10.79.0.1",
        }),
      ),
    );
    const first = await dp.reconcile(big);
    expect(first.error).toBeUndefined();
    const again = await dp.reconcile(big);
    expect(again.operations).toBe(0);
    console.info(
      `[timing] 200 ports from empty: ${first.durationMs.toFixed(0)} ms (${first.operations} ops); no-op re-reconcile: ${again.durationMs.toFixed(0)} ms`,
    );
    expect(await ping(guestNs(200), "10.79.0.1")).toBe(true);
    expect(await ping(guestNs(1), "10.79.0.201")).toBe(true);
  });

  it("a push reads only guests whose ports changed; the full reconcile still repairs drift in the others", async () => {
    const base = state([network], [nic(1, 1, "10.77.0.2/24"), nic(2, 2, "10.77.0.3/24")]);
    await dp.teardown();
    expect((await dp.reconcile(base)).ok).toBe(true);
    await run("ip", ["-n", guestNs(2), "addr", "flush", "dev", "eth0"]);
    const moved = state([network], [nic(1, 1, "10.77.0.9/24"), nic(2, 2, "10.77.0.3/24")]);
    const push = await dp.reconcile(moved, { full: false });
    expect(push.ok).toBe(true);
    // Every `ip` command of the push is for the changed guest (nft and tc checks run on the node).
    expect(push.ops.filter((l) => !/ (nft|tc) /.test(l)).every((l) => l.includes(guestNs(1)))).toBe(true);
    expect(await ping(guestNs(1), "10.77.0.1")).toBe(true);
    const full = await dp.reconcile(moved);
    expect(full.ops).toContain(`ip -n ${guestNs(2)} addr add 10.77.0.3/24 dev eth0`);
    expect(await ping(guestNs(2), "10.77.0.1")).toBe(true);
  });

  it("tears down everything it owns", async () => {
    const r = await dp.teardown({ removeNodeNetns: true });
    expect(r.ok).toBe(true);
    expect((await listNamespaces()).filter((n) => n.startsWith(P))).toEqual([]);
  });
});
