// One dnsmasq per VNET in the node's namespace, checked with real clients: busybox udhcpc in a guest
// namespace gets exactly its leased address, router, DNS server, domain and MTU; dig against the
// VNET's server resolves `<instance>.<domain>` and the PTR of the address (also of a guest on another
// node, which it does not lease), and nothing of the host's
// /etc/hosts; the server runs as an unprivileged user and still rereads its files; a SIGHUP reload
// for a new port keeps the existing lease; a killed server and a hosts
// file edited by hand are repaired by the next pass and reported. Everything starts with `bht<pid>dh`.
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDataplane } from "../index";
import { describeKernel } from "../kernel-guard.testing";
import { listNamespaces } from "../links/observe";
import { run, runInNetns } from "../run";
import { net, port, state } from "../state.testing";
import { alive } from "./supervisor";

const P = `bht${process.pid}dh`;
const NODE = `${P}n`;
const g = (instanceId: number) => `${P}-i${instanceId}`;
const root = `${tmpdir()}/${P}-dhcp`;
const dp = createDataplane({ nodeNetns: NODE, guestPrefix: P, dhcp: { stateDir: root } });
const files = `${root}/${NODE}/vnet83`;
const serverPid = async () => Number((await readFile(`${files}/dnsmasq.pid`, "utf8")).trim());
const network = net(83, {
  bridge: "br83",
  bridgeAddress: "10.83.0.1/24",
  subnet: "10.83.0.0/24",
  mtu: 1450,
  dhcp: {
    enabled: true,
    domain: "lab.example",
    leaseSeconds: 600,
    // A guest of the same VNET on another node: named here, leased there.
    names: [{ name: "far-away", ip: "10.83.0.200" }],
  },
});
const nic = (n: number) =>
  port(n, n, 83, {
    instanceName: `web-${n}`,
    addresses: [`10.83.0.${n + 10}/24`],
    gateway: "10.83.0.1",
    mtu: 1450,
  });
const two = state([network], [nic(1), nic(2)]);
const three = state([network], [nic(1), nic(2), nic(3)]);
let dir = "";

async function purge(): Promise<void> {
  for (const ns of await listNamespaces()) if (ns.startsWith(P)) await run("ip", ["netns", "del", ns]);
}

/** Runs udhcpc once in guest `i` after removing the address the lab agent gave it; returns what the
 * server offered (udhcpc's environment for the bound event). */
async function lease(i: number): Promise<Record<string, string>> {
  await runInNetns(g(i), "ip", ["addr", "flush", "dev", "eth0"]);
  const out = `${dir}/bound${i}`;
  const script = `${dir}/udhcpc${i}.sh`;
  // udhcpc passes the offer in its environment; the script records it and configures eth0.
  await writeFile(
    script,
    `#!/bin/sh\n[ "$1" = bound ] || exit 0\nenv > ${out}\nip addr add "$ip/$mask" dev "$interface"\n`,
  );
  await chmod(script, 0o755);
  await rm(out, { force: true });
  const r = await runInNetns(g(i), "udhcpc", [
    "-i",
    "eth0",
    "-n",
    "-q",
    "-f",
    "-t",
    "5",
    "-T",
    "1",
    "-s",
    script,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const env: Record<string, string> = {};
  for (const line of (await readFile(out, "utf8")).split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

const dhcpOps = (r: { ops: string[] }) => r.ops.filter((o) => o.includes("dnsmasq"));
const dig = async (from: string, ...q: string[]) =>
  (await runInNetns(from, "dig", ["+short", "+time=2", "+tries=3", "@10.83.0.1", ...q])).stdout.trim();

await describeKernel("DHCP and DNS per VNET (dnsmasq, udhcpc, dig)", () => {
  beforeAll(async () => {
    await purge();
    dir = await mkdtemp(`${tmpdir()}/${P}-`);
  }, 60_000);
  afterAll(async () => {
    const pid = await serverPid().catch(() => 0);
    await dp.teardown({ removeNodeNetns: true }).catch(() => {});
    await purge();
    if (dir) await rm(dir, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
    // The teardown stopped the server.
    expect(pid > 0 && alive(pid)).toBe(false);
  });

  it("gives a guest exactly its leased address, router, DNS, domain and MTU", async () => {
    const r = await dp.reconcile(two);
    expect(r.error).toBeUndefined();
    expect(r.ops.filter((o) => o.includes("dnsmasq --conf-file=/dev/null"))).toHaveLength(1);
    // Reported only once it really serves: the pid file names a live dnsmasq.
    expect(await readFile(`/proc/${await serverPid()}/comm`, "utf8")).toBe("dnsmasq\n");
    // It serves as an unprivileged user: real, effective, saved and filesystem uid all non-zero.
    const uids = (await readFile(`/proc/${await serverPid()}/status`, "utf8")).match(/^Uid:\s+(.*)$/m)?.[1];
    expect(uids?.split(/\s+/).map(Number)).toEqual(Array(4).fill(expect.toSatisfy((u: number) => u > 0)));
    const env = await lease(1);
    expect(env.ip).toBe("10.83.0.11");
    expect(env.router).toBe("10.83.0.1");
    expect(env.dns?.trim()).toBe("10.83.0.1");
    expect(env.domain).toBe("lab.example");
    expect(env.mtu).toBe("1450");
    expect(env.lease).toBe("600");
  }, 30_000);

  it("resolves instance names and PTRs of the VNET, nothing from /etc/hosts", async () => {
    expect(await dig(g(1), "web-2.lab.example", "A")).toBe("10.83.0.12");
    expect(await dig(g(1), "-x", "10.83.0.12")).toBe("web-2.lab.example.");
    expect(await dig(g(1), "far-away.lab.example", "A")).toBe("10.83.0.200");
    expect(await dig(g(1), "-x", "10.83.0.200")).toBe("far-away.lab.example.");
    // Named, not leased: its entry is in no host file of this node.
    expect(await readFile(`${files}/hosts`, "utf8")).not.toContain("10.83.0.200");
    expect(await dig(g(1), "localhost.lab.example", "A")).toBe("");
    expect(await dig(g(1), "localhost", "A")).toBe("");
  }, 30_000);

  it("reloads new hosts with SIGHUP: same process, leases kept, new name resolves", async () => {
    // (udhcpc's flush took the guest's route away, which the lab agent puts back: not DHCP's.)
    const again = await dp.reconcile(two);
    expect(dhcpOps(again)).toEqual([]);
    // What the agent reports: the lease guest 1 took, from the server's lease file.
    expect(again.dhcpLeases).toEqual([
      expect.objectContaining({ vnetId: 83, ip: "10.83.0.11", mac: nic(1).mac }),
    ]);
    const before = await serverPid();
    expect(await readFile(`${files}/leases`, "utf8")).toContain("10.83.0.11");
    const r = await dp.reconcile(three);
    expect(r.error).toBeUndefined();
    expect(await serverPid()).toBe(before);
    expect(r.ops).toContain(`kill -HUP ${before}  # dnsmasq of VNET 83 rereads its hosts`);
    expect(await dig(g(1), "web-3.lab.example", "A")).toBe("10.83.0.13");
    expect(await readFile(`${files}/leases`, "utf8")).toContain("10.83.0.11");
    expect((await lease(3)).ip).toBe("10.83.0.13");
  }, 30_000);

  it("repairs a killed server and a hand-edited hosts file, and says so", async () => {
    expect(dhcpOps(await dp.reconcile(three))).toEqual([]);
    const pid = await serverPid();
    process.kill(pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 100));
    const r = await dp.reconcile(three);
    expect(r.error).toBeUndefined();
    expect(r.ops.filter((o) => o.includes("dnsmasq --conf-file"))).toHaveLength(1);
    expect(await serverPid()).not.toBe(pid);
    expect((await lease(2)).ip).toBe("10.83.0.12");

    // A hand edit that takes NIC 2's entry away: the next pass writes it back and reloads.
    await writeFile(`${files}/hosts`, "02:00:0a:53:00:03,10.83.0.99,evil\n");
    const fixed = await dp.reconcile(three);
    expect(dhcpOps(fixed)).toEqual([
      `write ${files}/hosts  # dnsmasq hosts of VNET 83`,
      `kill -HUP ${await serverPid()}  # dnsmasq of VNET 83 rereads its hosts`,
    ]);
    expect((await lease(2)).ip).toBe("10.83.0.12");
  }, 30_000);

  it("with DHCP switched off the server stops, and a guest's own DHCP server reaches no one", async () => {
    const pid = await serverPid();
    const off = state([{ ...network, dhcp: undefined }], three.ports);
    const r = await dp.reconcile(off);
    expect(r.error).toBeUndefined();
    expect(dhcpOps(r)).toEqual([`kill ${pid}  # dnsmasq of vnet83, no longer served here`]);
    expect(alive(pid)).toBe(false);
    // A rogue server in guest 3 offering a whole pool: anti-spoofing drops its replies (udp sport
    // 67 from a port), so guest 1 gets no address at all.
    const rogue = `${dir}/rogue.pid`;
    const started = await runInNetns(g(3), "dnsmasq", [
      "--conf-file=/dev/null",
      "--no-hosts",
      "--port=0",
      "--interface=eth0",
      "--bind-interfaces",
      "--user=root",
      "--group=root",
      `--pid-file=${rogue}`,
      `--dhcp-leasefile=${dir}/rogue.leases`,
      "--dhcp-range=10.83.0.100,10.83.0.150,1h",
    ]);
    expect(started.code, started.stderr).toBe(0);
    try {
      await runInNetns(g(1), "ip", ["addr", "flush", "dev", "eth0"]);
      const got = await runInNetns(g(1), "udhcpc", [
        "-i",
        "eth0",
        "-n",
        "-q",
        "-f",
        "-t",
        "3",
        "-T",
        "1",
        "-s",
        "/bin/true",
      ]);
      expect(got.code).not.toBe(0);
    } finally {
      process.kill(Number((await readFile(rogue, "utf8")).trim()), "SIGTERM");
    }
  }, 30_000);
});
