// The netlink helper (nlhelper.py, on pyroute2) against `ip` on the real kernel: the same guest lines,
// failing ones included, give the same per-line errors and the same namespace through either path;
// and an interpreter without pyroute2 makes both python helpers step aside (exit 69) so the agent
// falls back to `ip` / `conntrack -R`. Everything here starts with `bht<pid>n`.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { deleteNamespaces, nsPrefix } from "../../../tests/kernel";
import { describeKernel } from "../kernel-guard.testing";
import { NO_PYROUTE2, PYTHON, runBatch } from "../run";
import { nlBatches, nlReadGuest, nlReadGuests } from "./nl";

const PREFIX = nsPrefix("n");
const HELPER = path.join(import.meta.dirname, "nlhelper.py");
const CT_DELETE = path.join(import.meta.dirname, "../nft/ct-delete.py");

/** A guest namespace as the agent leaves it before its batch: eth0 (a veth end, down) and a stale
 * eth1 (a bridge) for the batch to delete. */
function guest(name: string) {
  execFileSync("ip", ["netns", "add", name]);
  execFileSync("ip", [
    "-n",
    name,
    "link",
    "add",
    "eth0",
    "type",
    "veth",
    "peer",
    "name",
    "peer0",
    "address",
    "02:00:00:00:00:99",
  ]);
  execFileSync("ip", ["-n", name, "link", "add", "eth1", "type", "bridge"]);
}

/** What ip shows of a namespace's IPv4 addresses (with their broadcast and flags) and main routes. */
function ipView(ns: string): string {
  const show = (...args: string[]) =>
    JSON.parse(execFileSync("ip", ["-n", ns, "-j", ...args], { encoding: "utf8" }) || "[]") as object[];
  const addrs = (
    show("-4", "addr", "show", "dev", "eth0") as { addr_info?: Record<string, unknown>[] }[]
  ).map((l) => ({
    addr_info: (l.addr_info ?? []).map(({ valid_life_time: _, preferred_life_time: __, ...a }) => a),
  }));
  return JSON.stringify({ addrs, routes: show("route", "show", "table", "main") });
}

const LINES = [
  "link set lo up",
  "link set eth0 address 02:00:0a:01:00:02 mtu 1400 up",
  "addr add 10.1.0.2/24 dev eth0",
  "addr add 10.1.0.2/24 dev eth0",
  "route replace default via 10.1.0.1 dev eth0",
  "route replace default via 10.50.0.1 dev eth0",
  "route replace default via 169.254.0.1 dev eth0 onlink",
  "link set nope0 up",
  "route del default via 10.9.9.9",
  "addr del 10.1.0.77/24 dev eth0",
  "link del eth1",
];

describeKernel("netlink helper (pyroute2) on the real kernel", () => {
  let noPyroute2Dir = "";

  beforeAll(() => {
    deleteNamespaces(PREFIX);
    guest(`${PREFIX}-a`);
    guest(`${PREFIX}-b`);
    guest(`${PREFIX}-c`);
    guest(`${PREFIX}-d`);
    // An interpreter that cannot import pyroute2: the same python without its site packages.
    noPyroute2Dir = mkdtempSync(path.join(tmpdir(), "bh-nopyr-"));
    const wrapper = path.join(noPyroute2Dir, "python3");
    writeFileSync(wrapper, `#!/bin/sh\nexec ${PYTHON} -S "$@"\n`);
    chmodSync(wrapper, 0o755);
  });

  afterAll(() => {
    deleteNamespaces(PREFIX);
    if (noPyroute2Dir) rmSync(noPyroute2Dir, { recursive: true, force: true });
  });

  it("gives the same per-line errors and the same namespace as ip -force -batch", async () => {
    const [viaHelper] = (await nlBatches([{ ns: `${PREFIX}-a`, lines: LINES }])) ?? [];
    expect(viaHelper, `the helper did not run under ${PYTHON}: is python3-pyroute2 installed?`).toBeDefined();
    const viaIp = await runBatch(`${PREFIX}-b`, LINES);
    expect(viaIp.fatal).toBeUndefined();
    expect(viaHelper?.fatal).toBeUndefined();
    expect(Object.fromEntries(viaHelper?.failures ?? [])).toEqual(Object.fromEntries(viaIp.failures));
    expect([...(viaHelper?.failures.keys() ?? [])]).toEqual([3, 5, 7, 8, 9]);
    expect(viaHelper?.failures.get(3)).toMatch(/Address already assigned/);
    expect(viaHelper?.failures.get(7)).toBe('Cannot find device "nope0"');

    const a = await nlReadGuest(`${PREFIX}-a`);
    const b = await nlReadGuest(`${PREFIX}-b`);
    expect(a).toEqual(b);
    const links = JSON.parse(a?.addrs ?? "[]") as { ifname: string; mtu: number; address: string }[];
    expect(links.map((l) => l.ifname).sort()).toEqual(["eth0", "lo", "peer0"]);
    expect(links.find((l) => l.ifname === "eth0")).toMatchObject({
      mtu: 1400,
      address: "02:00:0a:01:00:02",
      flags: ["UP"],
      addr_info: [{ family: "inet", local: "10.1.0.2", prefixlen: 24 }],
    });
    expect(JSON.parse(a?.routes ?? "[]")).toContainEqual({
      dst: "default",
      dst_len: 0,
      gateway: "169.254.0.1",
      dev: "eth0",
    });
    // And what ip itself reads back agrees: the default route is the onlink one.
    const shown = execFileSync("ip", ["-n", `${PREFIX}-a`, "route", "show", "default"], { encoding: "utf8" });
    expect(shown).toMatch(/^default via 169\.254\.0\.1 dev eth0 onlink/); // "linkdown": peer0 is down
    // ip's own view of both namespaces is the same too (what the helper sends is what ip sends:
    // no broadcast address or route attribute of its own).
    expect(ipView(`${PREFIX}-a`)).toEqual(ipView(`${PREFIX}-b`));
  });

  it("matches ip over a long batch (several sends) and on a device deleted earlier in the batch", async () => {
    const lines = [
      "link set eth0 up",
      ...Array.from({ length: 150 }, (_, k) => `addr add 10.2.${k >> 6}.${(k & 63) + 1}/16 dev eth0`),
      "addr add 10.2.0.1/16 dev eth0",
      "link set eth1 up",
      "link del eth1",
      "link set eth1 up",
      "addr add 10.3.0.1/24 dev eth1",
      "route replace default via 10.2.0.254 dev eth0",
    ];
    const [viaHelper] = (await nlBatches([{ ns: `${PREFIX}-c`, lines }])) ?? [];
    const viaIp = await runBatch(`${PREFIX}-d`, lines);
    expect(viaHelper?.fatal).toBeUndefined();
    expect(Object.fromEntries(viaHelper?.failures ?? [])).toEqual(Object.fromEntries(viaIp.failures));
    expect([...(viaHelper?.failures.keys() ?? [])]).toEqual([151, 154, 155]);
    expect(viaHelper?.failures.get(154)).toBe('Cannot find device "eth1"');
    expect(ipView(`${PREFIX}-c`)).toEqual(ipView(`${PREFIX}-d`));
    expect(JSON.parse(ipView(`${PREFIX}-c`)).addrs[0].addr_info).toHaveLength(150);
  });

  it("reads many namespaces in one request, in order, with null for a missing one", async () => {
    const names = [`${PREFIX}-a`, `${PREFIX}-gone`, `${PREFIX}-b`, ...Array(10).fill(`${PREFIX}-c`)];
    const reads = await nlReadGuests(names);
    expect(reads).toHaveLength(names.length);
    expect(reads?.[1]).toBeNull();
    expect(reads?.[0]).toEqual(reads?.[2]);
    expect(reads?.[0]).toEqual(await nlReadGuest(`${PREFIX}-a`));
    for (const r of reads?.slice(3) ?? []) expect(r).toEqual(reads?.[3]);
  });

  it("reads a namespace that never had a route (no main table yet) as ip does: lo, down, no route", async () => {
    execFileSync("ip", ["netns", "add", `${PREFIX}-e`]);
    const r = await nlReadGuest(`${PREFIX}-e`);
    expect(JSON.parse(r?.routes ?? "null")).toEqual([]);
    expect(JSON.parse(r?.addrs ?? "null")).toMatchObject([{ ifname: "lo", flags: [], addr_info: [] }]);
  });

  it("answers null for a namespace that does not exist", async () => {
    expect(await nlReadGuest(`${PREFIX}-gone`)).toBeNull();
    const [r] = (await nlBatches([{ ns: `${PREFIX}-gone`, lines: ["link set lo up"] }])) ?? [];
    expect(r?.fatal).toBe(`Cannot open network namespace "${PREFIX}-gone": No such file or directory`);
  });

  it("without pyroute2 both helpers exit 69 with the way out, and guests fall back to ip", async () => {
    const python = path.join(noPyroute2Dir, "python3");
    for (const script of [HELPER, CT_DELETE]) {
      const r = spawnSync(python, [script], { input: "", encoding: "utf8" });
      expect(r.status).toBe(NO_PYROUTE2);
      expect(r.stderr).toMatch(/pyroute2 is not importable .*install python3-pyroute2/);
    }
    vi.resetModules();
    const before = process.env.BRIDGEHEAD_PYTHON;
    process.env.BRIDGEHEAD_PYTHON = python;
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const nl = await import("./nl");
      // The first request meets the helper's exit and is handed back (undefined: run it with ip).
      expect(await nl.nlBatches([{ ns: `${PREFIX}-a`, lines: ["link set lo up"] }])).toBeUndefined();
      expect(await nl.nlReadGuest(`${PREFIX}-a`)).toBeUndefined();
      expect(warn.mock.calls.flat().join("\n")).toMatch(/cannot import pyroute2/);
    } finally {
      warn.mockRestore();
      if (before === undefined) delete process.env.BRIDGEHEAD_PYTHON;
      else process.env.BRIDGEHEAD_PYTHON = before;
      vi.resetModules();
    }
  });
});
