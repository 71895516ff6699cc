// A push (reconcile with full: false) reads and touches only what changed, on the real kernel: a
// hand-made drift on a port the push did not change stays until the periodic full reconcile, which
// then repairs it (and finds the nftables tables the push changed in sync: no reload). A push's QoS
// change is on the veth when the push returns, not only after the next full reconcile. Also: the
// netlink helper reads a guest exactly as `ip -j` does. Everything here starts with `bht<pid>u`.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDataplane } from "./index";
import { describeKernel } from "./kernel-guard.testing";
import { listNamespaces, observeGuest, parseGuestBatch } from "./links/observe";
import { run, runInNetns } from "./run";
import { net, port, state } from "./state.testing";

const P = `bht${process.pid}u`;
const NODE = `${P}n`;
const g = (instanceId: number) => `${P}-i${instanceId}`;
const dp = createDataplane({ nodeNetns: NODE, guestPrefix: P });
const nic = (n: number, over = {}) =>
  port(n, n, 79, { addresses: [`10.79.0.${n + 1}/24`], gateway: "10.79.0.1", ...over });
const network = net(79, { bridge: "br79", bridgeAddress: "10.79.0.1/24", subnet: "10.79.0.0/24" });
const capped = { outboundAvgBps: 20_000_000 };
const base = state([network], [nic(1), nic(2), nic(3, { qos: capped })]);

const addrs = async (ns: string) =>
  (await runInNetns(ns, "ip", ["-4", "-o", "addr", "show", "dev", "eth0"])).stdout;
const ping = async (ns: string, target: string) => {
  for (let i = 0; i < 3; i++)
    if ((await runInNetns(ns, "ping", ["-c1", "-W1", target])).code === 0) return true;
  return false;
};
const nodeLinks = async () => (await run("ip", ["-n", NODE, "-o", "link", "show"])).stdout;

async function purge(): Promise<void> {
  for (const ns of await listNamespaces()) if (ns.startsWith(P)) await run("ip", ["netns", "del", ns]);
}

await describeKernel("a push touches only what changed", () => {
  beforeAll(purge);
  afterAll(async () => {
    await dp.teardown({ removeNodeNetns: true }).catch(() => {});
    await purge();
  });

  it("changes one port's address without reading or repairing the others; the full reconcile repairs them", async () => {
    expect((await dp.reconcile(base)).error).toBeUndefined();
    expect(await nodeLinks()).toContain("bhq3");
    // Drift made by hand on guest 1, which the push below does not change.
    await runInNetns(g(1), "ip", ["addr", "flush", "dev", "eth0"]);

    const moved = structuredClone(base);
    moved.revision += 1;
    moved.ports[1]!.addresses = ["10.79.0.50/24"];
    const r = await dp.reconcile(moved, { full: false });
    expect(r.error).toBeUndefined();
    expect(r.ops.filter((o) => !o.includes(" nft ")).every((o) => o.includes(g(2)))).toBe(true);
    expect(r.ops.some((o) => o.includes("nft -f -  # only what changed"))).toBe(true);
    // Every desired object is reported, the untouched ones as the last reconcile left them.
    expect(r.ports.map((p) => [p.nicId, p.ok])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
    expect(await addrs(g(2))).toContain("10.79.0.50/24");
    expect(await ping(g(3), "10.79.0.50")).toBe(true);
    expect(await addrs(g(1))).not.toContain("10.79.0.2/24");

    const full = await dp.reconcile(moved);
    expect(full.error).toBeUndefined();
    expect(full.ops.some((o) => o.includes(g(1)) && o.includes("addr add 10.79.0.2/24"))).toBe(true);
    // The tables the push changed were recorded after it: nothing to reload.
    expect(full.ops.filter((o) => o.includes("nft -f"))).toEqual([]);
    expect(await ping(g(1), "10.79.0.1")).toBe(true);
  });

  it("removes an instance with QoS: its namespace and ifb go, nothing else changes", async () => {
    const before = await dp.reconcile(base);
    expect(before.error).toBeUndefined();
    const gone = state([network], [nic(1), nic(2)], { revision: base.revision + 5 });
    const r = await dp.reconcile(gone, { full: false });
    expect(r.error).toBeUndefined();
    expect(await listNamespaces()).not.toContain(g(3));
    const links = await nodeLinks();
    expect(links).not.toContain("bhq3");
    expect(links).not.toContain("bhv3");
    expect(links).toContain("bhv1");
    expect(r.ops.some((o) => o.includes(g(1)) || o.includes("bhv1") || o.includes("bhv2"))).toBe(false);
    expect((await dp.reconcile(gone)).ops).toEqual([]);
    expect(await ping(g(1), "10.79.0.3")).toBe(true);
  });

  it("a push that gives a port its first cap, changes it and clears it enforces each one", async () => {
    expect((await dp.reconcile(base)).error).toBeUndefined();
    const root = async () =>
      (
        JSON.parse((await run("tc", ["-n", NODE, "-j", "qdisc", "show", "dev", "bhv1"])).stdout) as {
          kind: string;
          root?: boolean;
          options?: { rate?: number };
        }[]
      ).find((q) => q.root);
    expect((await root())?.kind).toBe("noqueue");
    const push = async (qos: object | undefined, revision: number) => {
      const d = structuredClone(base);
      d.revision += revision;
      d.ports[0]!.qos = qos;
      const r = await dp.reconcile(d, { full: false });
      expect(r.error).toBeUndefined();
      return d;
    };
    await push({ inboundAvgBps: 8_000_000 }, 10);
    expect(await root()).toMatchObject({ kind: "tbf", options: { rate: 1_000_000 } });
    await push({ inboundAvgBps: 16_000_000 }, 11);
    expect(await root()).toMatchObject({ kind: "tbf", options: { rate: 2_000_000 } });
    const cleared = await push(undefined, 12);
    expect((await root())?.kind).toBe("noqueue");
    expect((await dp.reconcile(cleared)).ops).toEqual([]);
  });

  it("the netlink helper reads a guest namespace exactly as ip -j does", async () => {
    const viaIp = await run("ip", ["-n", g(1), "-j", "-d", "-batch", "-"], "addr show\nroute show default\n");
    expect(await observeGuest(g(1))).toEqual(parseGuestBatch(viaIp.stdout));
    expect(await observeGuest(`${P}-nope`)).toBeUndefined();
  });
});
