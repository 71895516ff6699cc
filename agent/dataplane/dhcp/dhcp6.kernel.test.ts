// IPv6 from the node's dnsmasq, checked with real clients in guest namespaces: rdisc6 (ndisc6) sees
// the node's router advertisement with the SLAAC prefix, the MTU and the DNS server (RDNSS); the
// guest's kernel takes exactly the SLAAC address its lease says; ISC dhclient -6 gets exactly the
// static address its lease says from DHCPv6, with the DNS server and search domain (a lab guest has
// it from the agent, like its IPv4, and a second pass changes nothing); a guest running
// its own router advertisements and DHCPv6 server (dnsmasq) reaches no other guest (anti-spoofing),
// while the node's still do. Everything starts with `bht<pid>i6`.
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, expect, it } from "vitest";
import { slaac } from "../../../lib/ipam";
import { linkLocal } from "../../../lib/nft/render";
import { createDataplane } from "../index";
import { describeKernel } from "../kernel-guard.testing";
import { listNamespaces } from "../links/observe";
import { run, runInNetns } from "../run";
import { net, port, state } from "../state.testing";

const P = `bht${process.pid}i6`;
const NODE = `${P}n`;
const g = (instanceId: number) => `${P}-i${instanceId}`;
const root = `${tmpdir()}/${P}-dhcp`;
const dp = createDataplane({ nodeNetns: NODE, guestPrefix: P, dhcp: { stateDir: root } });
const SLAAC = "2001:db8:86::/64";
const network = net(86, {
  bridge: "br86",
  bridgeAddress: "10.86.0.1/24",
  bridgeAddresses6: ["2001:db8:86::1/64", "2001:db8:87::1/64"],
  subnet: "10.86.0.0/24",
  mtu: 1450,
  dhcp: {
    enabled: true,
    domain: "six.example",
    leaseSeconds: 600,
    ipv6: { slaac: [SLAAC], static: ["2001:db8:87::/64"] },
  },
});
const mac = (n: number) => `02:00:0a:56:00:${(n + 10).toString(16).padStart(2, "0")}`;
const nic = (n: number, static6?: string) =>
  port(n, n, 86, {
    instanceName: `six-${n}`,
    mac: mac(n),
    addresses: [`10.86.0.${n + 10}/24`],
    addresses6: [slaac(SLAAC, mac(n)), ...(static6 ? [static6] : [])],
    ...(static6 ? { static6: [`${static6}/64`] } : {}),
    gateway: "10.86.0.1",
    mtu: 1450,
  });
// Guest 1: SLAAC only; guest 2: SLAAC and a static address (DHCPv6); guest 3 plays the rogue.
const desired = state([network], [nic(1), nic(2, "2001:db8:87::20"), nic(3)]);
let dir = "";

async function purge(): Promise<void> {
  for (const ns of await listNamespaces()) if (ns.startsWith(P)) await run("ip", ["netns", "del", ns]);
}

const global6 = async (ns: string) =>
  (await runInNetns(ns, "ip", ["-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"])).stdout;

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** rdisc6 in guest `ns`: every advertisement answering its solicitations within ~3 s. */
const rdisc = async (ns: string) => {
  const r = await runInNetns(ns, "rdisc6", ["-r", "3", "-w", "1000", "eth0"]);
  return r.stdout + r.stderr;
};

/** ISC dhclient -6 once in guest `ns` (its own lease file; a script that records what it got and
 * configures the address, and touches nothing of the host); the bound environment, or undefined. */
async function dhcp6(ns: string, seconds: number): Promise<Record<string, string> | undefined> {
  const out = `${dir}/${ns}.env`;
  const script = `${dir}/${ns}.sh`;
  await writeFile(
    script,
    `#!/bin/sh\ncase "$reason" in BOUND6|REBOOT6) env > ${out}; ip -6 addr add "$new_ip6_address/$new_ip6_prefixlen" dev "$interface" nodad ;; esac\nexit 0\n`,
  );
  await chmod(script, 0o755);
  await rm(out, { force: true });
  const pid = `${dir}/${ns}.pid`;
  await runInNetns(ns, "timeout", [
    String(seconds),
    "dhclient",
    "-6",
    "-1",
    "-lf",
    `${dir}/${ns}.leases`,
    "-pf",
    pid,
    "-sf",
    script,
    "eth0",
  ]);
  // Bound, dhclient stays as a daemon to renew: stop it (the address stays).
  const daemon = Number((await readFile(pid, "utf8").catch(() => "")).trim());
  if (daemon > 0) process.kill(daemon, "SIGTERM");
  const text = await readFile(out, "utf8").catch(() => undefined);
  if (!text) return undefined;
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

await describeKernel("IPv6 per VNET: router advertisements and DHCPv6 (dnsmasq, rdisc6, dhclient -6)", () => {
  beforeAll(async () => {
    for (const t of ["rdisc6", "dhclient"]) {
      const r = await run("sh", ["-c", `PATH=$PATH:/usr/sbin command -v ${t}`]);
      if (r.code !== 0)
        throw new Error(
          `${t} is missing (Debian ndisc6 / isc-dhcp-client; scripts/ensure-deps.sh installs them)`,
        );
    }
    await purge();
    dir = await mkdtemp(`${tmpdir()}/${P}-`);
    const r = await dp.reconcile(desired);
    expect(r.error).toBeUndefined();
    // Neighbour discovery needs link-local addresses past duplicate address detection (~1 s).
    const ready = async (ns: string, dev: string) => {
      const out = (await runInNetns(ns, "ip", ["-6", "-o", "addr", "show", "dev", dev, "scope", "link"]))
        .stdout;
      return out.includes("fe80::") && !out.includes("tentative");
    };
    await until("link-local addresses", async () =>
      (await Promise.all([ready(NODE, "br86"), ...[1, 2, 3].map((i) => ready(g(i), "eth0"))])).every(Boolean),
    );
  }, 60_000);
  afterAll(async () => {
    await dp.teardown({ removeNodeNetns: true }).catch(() => {});
    await purge();
    if (dir) await rm(dir, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  });

  it("the node's bridge holds its IPv6 addresses, a lab guest its static lease; a second pass changes nothing", async () => {
    const br = (await runInNetns(NODE, "ip", ["-6", "-o", "addr", "show", "dev", "br86", "scope", "global"]))
      .stdout;
    expect(br).toContain("2001:db8:86::1/64");
    expect(br).toContain("2001:db8:87::1/64");
    // The lab guest with a static IPv6 lease has it from the agent (as its IPv4), ready at once.
    expect(await global6(g(2))).toMatch(/inet6 2001:db8:87::20\/64 scope global (?!tentative)/);
    const again = await dp.reconcile(desired);
    expect(again.error).toBeUndefined();
    expect(again.ops).toEqual([]);
  }, 30_000);

  it("advertises the SLAAC prefix, MTU and DNS server; the guest takes exactly its leased address", async () => {
    const ra = await rdisc(g(1));
    expect(ra).toMatch(/Prefix\s*:\s*2001:db8:86::\/64/);
    expect(ra).toMatch(/MTU\s*:\s*1450 bytes/);
    expect(ra).toMatch(/Recursive DNS server\s*:\s*2001:db8:86::1/);
    // The static prefix sends guests to DHCPv6 (managed flag).
    expect(ra).toMatch(/Stateful address conf\.\s*:\s*Yes/);
    await until("guest 1's SLAAC address", async () => (await global6(g(1))).includes(slaac(SLAAC, mac(1))));
    // Dual stack within the VNET: guest 1 reaches the node over IPv6 from its SLAAC address.
    const ping = await runInNetns(g(1), "ping", ["-6", "-c", "1", "-W", "2", "2001:db8:86::1"]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
  }, 30_000);

  it("DHCPv6 gives a guest exactly its static lease, DNS server and search domain", async () => {
    // Asked as a VM would: without the address the agent gave the lab guest.
    await runInNetns(g(2), "ip", ["-6", "addr", "del", "2001:db8:87::20/64", "dev", "eth0"]);
    const env = await dhcp6(g(2), 20);
    expect(env, "dhclient -6 got no lease").toBeDefined();
    expect(env?.new_ip6_address).toBe("2001:db8:87::20");
    expect(env?.new_dhcp6_name_servers?.trim()).toBe("2001:db8:86::1");
    expect(env?.new_dhcp6_domain_search?.trim()).toMatch(/^six\.example\.?$/);
    await until("guest 2's SLAAC address", async () => (await global6(g(2))).includes(slaac(SLAAC, mac(2))));
    // Guest 1 reaches guest 2 at its leased static address.
    const ping = await runInNetns(g(1), "ping", ["-6", "-c", "1", "-W", "2", "2001:db8:87::20"]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
  }, 40_000);

  it("a guest's own router advertisements and DHCPv6 server reach no other guest; the node's still do", async () => {
    // Guest 3 claims a prefix of its own and serves it: RAs every few seconds and DHCPv6 leases.
    await runInNetns(g(3), "ip", ["-6", "addr", "add", "2001:db8:99::1/64", "dev", "eth0", "nodad"]);
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
      "--enable-ra",
      "--dhcp-range=2001:db8:99::100,2001:db8:99::1ff,64,1h",
    ]);
    expect(started.code, started.stderr).toBe(0);
    try {
      const ra = await rdisc(g(1));
      // rdisc6 hears the node's router, never guest 3's prefix.
      expect(ra).toMatch(/Prefix\s*:\s*2001:db8:86::\/64/);
      expect(ra).not.toContain("2001:db8:99");
      // Guest 1 has no static lease: nothing answers its DHCPv6 (the rogue's replies are dropped).
      expect(await dhcp6(g(1), 8)).toBeUndefined();
      expect(await global6(g(1))).not.toContain("2001:db8:99");
      // Nothing of guest 3 reached guest 1's routing either: no route via guest 3's link-local.
      const routes = (await runInNetns(g(1), "ip", ["-6", "route"])).stdout;
      expect(routes).not.toContain(linkLocal(mac(3)));
      expect(routes).not.toContain("2001:db8:99");
    } finally {
      const pid = Number((await readFile(rogue, "utf8").catch(() => "")).trim());
      if (pid > 0) process.kill(pid, "SIGTERM");
    }
  }, 60_000);
});
