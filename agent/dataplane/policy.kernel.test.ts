// nftables and QoS against the real kernel, checked with real clients: a spoofing guest (changed
// MAC, changed IP, gratuitous ARP for a neighbour, a DHCP server) reaches no one while honest guests
// still ping; an internal network reaches an "outside" namespace through NAT; iperf3 stays within
// ±15 % of the cap; hand-made drift is repaired; a refused ruleset leaves the previous one in force.
// Everything created here starts with `bht<pid>p`.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Qos } from "../../lib/domain";
import type { DesiredState } from "../../lib/wire";
import { waitFor } from "../../tests/kernel";
import { createDataplane, createPolicy } from "./index";
import { describeKernel } from "./kernel-guard.testing";
import { listNamespaces } from "./links/observe";
import { run, runInNetns } from "./run";
import { net, port, state } from "./state.testing";

const P = `bht${process.pid}p`;
const NODE = `${P}n`;
const OUTSIDE = `${P}out`;
const g = (instanceId: number) => `${P}-i${instanceId}`;
const dp = createDataplane({ nodeNetns: NODE, guestPrefix: P });

const network = (over = {}) =>
  net(77, { bridge: "br77", bridgeAddress: "10.77.0.1/24", subnet: "10.77.0.0/24", ...over });
const nic = (n: number, qos?: Qos) =>
  port(n, n, 77, {
    addresses: [`10.77.0.${n + 1}/24`],
    addresses6: [`fd00:77::${n + 1}`],
    gateway: "10.77.0.1",
    ...(qos ? { qos } : {}),
  });
/** Guests 1 and 2 are honest; guest 3 is the attacker. */
const desired = (over: { net?: object; qos?: Record<number, Qos> } = {}): DesiredState =>
  state(
    [network(over.net)],
    [1, 2, 3].map((n) => nic(n, over.qos?.[n])),
  );
const MAC1 = nic(1).mac;
const MAC3 = nic(3).mac;
const SEND_NA = path.resolve(import.meta.dirname, "../../tests/tools/send-na.py");

const ping = async (ns: string, target: string, extra: string[] = []) =>
  (await runInNetns(ns, "ping", ["-c1", "-W1", ...extra, target])).code === 0;
/** For expectations that traffic passes: up to three tries (this machine is shared and often
 * loaded, and a first packet also waits for address resolution). Negative checks stay single. */
const reaches = async (ns: string, target: string, extra: string[] = []) => {
  for (let i = 0; i < 3; i++) if (await ping(ns, target, extra)) return true;
  return false;
};
const sh = (ns: string, cmd: string, ...args: string[]) => runInNetns(ns, cmd, args);
const neighMac = async (ns: string, ip: string) =>
  (
    JSON.parse((await run("ip", ["-n", ns, "-j", "neigh", "show", ip])).stdout || "[]") as {
      lladdr?: string;
    }[]
  )[0]?.lladdr;
const reconcileOk = async (d: DesiredState) => {
  const r = await dp.reconcile(d);
  expect(r.error).toBeUndefined();
  return r;
};

/** Goodput from guest 2 to guest 1 over 3 s of iperf3 TCP, in Mbit/s. */
async function iperf(): Promise<number> {
  const server = spawn("ip", ["netns", "exec", g(1), "iperf3", "-s", "-1", "-p", "5201"], {
    stdio: "ignore",
  });
  try {
    await waitFor("iperf3 listening", async () =>
      (await sh(g(1), "ss", "-Hltn", "sport = :5201")).stdout.includes(":5201"),
    );
    const r = await sh(g(2), "iperf3", "-c", "10.77.0.2", "-p", "5201", "-t", "3", "-J");
    const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
    return j.end.sum_received.bits_per_second / 1e6;
  } finally {
    server.kill();
  }
}

async function purge(): Promise<void> {
  await dp.teardown({ removeNodeNetns: true }).catch(() => {});
  for (const ns of await listNamespaces()) if (ns.startsWith(P)) await run("ip", ["netns", "del", ns]);
}

await describeKernel("nftables and QoS against the kernel", () => {
  const children: ChildProcess[] = [];
  beforeAll(purge);
  afterAll(async () => {
    for (const c of children) c.kill();
    await purge();
  });

  it("loads both tables in one go; guests reach each other and the gateway; a second run does nothing", async () => {
    const r = await reconcileOk(desired());
    expect(r.ops.some((o) => o.startsWith(`ip netns exec ${NODE} nft -f -`))).toBe(true);
    expect(await reaches(g(1), "10.77.0.3")).toBe(true);
    expect(await reaches(g(3), "10.77.0.1")).toBe(true);
    const listed = await run("ip", ["netns", "exec", NODE, "nft", "list", "tables"]);
    expect(listed.stdout).toContain("table bridge bridgehead");
    expect(listed.stdout).toContain("table inet bridgehead");
    const again = await dp.reconcile(desired());
    expect(again.ops).toEqual([]);
  });

  it("a guest that changes its MAC reaches no one; back on its own MAC it does", async () => {
    await sh(g(3), "ip", "link", "set", "eth0", "address", "02:00:0a:4d:00:99");
    await sh(g(3), "ip", "neigh", "flush", "dev", "eth0");
    expect(await ping(g(3), "10.77.0.2")).toBe(false);
    expect(await ping(g(3), "10.77.0.1")).toBe(false);
    expect(await reaches(g(2), "10.77.0.2")).toBe(true);
    await reconcileOk(desired()); // the ip plan puts the leased MAC back
    expect(await reaches(g(3), "10.77.0.2")).toBe(true);
  });

  it("a guest sending from an address it does not lease reaches no one", async () => {
    await sh(g(3), "ip", "addr", "add", "10.77.0.50/24", "dev", "eth0");
    expect(await ping(g(3), "10.77.0.2", ["-I", "10.77.0.50"])).toBe(false);
    expect(await ping(g(3), "10.77.0.1", ["-I", "10.77.0.50"])).toBe(false);
    await sh(g(3), "ip", "addr", "del", "10.77.0.50/24", "dev", "eth0");
    expect(await reaches(g(3), "10.77.0.2")).toBe(true);
  });

  it("IPv6: leased and link-local sources pass, an address the guest does not lease does not", async () => {
    // The ip plan manages IPv4 only; the guests configure their leased IPv6 address themselves.
    for (const n of [1, 2, 3])
      await sh(g(n), "ip", "-6", "addr", "add", `fd00:77::${n + 1}/64`, "dev", "eth0", "nodad");
    await waitFor("guest 2 to reach guest 1 over IPv6", () => ping(g(2), "fd00:77::2", ["-6"]));
    expect(await reaches(g(3), "fd00:77::2", ["-6", "-I", "fd00:77::4"])).toBe(true);
    await sh(g(3), "ip", "-6", "addr", "add", "fd00:77::99/64", "dev", "eth0", "nodad");
    expect(await ping(g(3), "fd00:77::2", ["-6", "-I", "fd00:77::99"])).toBe(false);
    await sh(g(3), "ip", "-6", "addr", "del", "fd00:77::99/64", "dev", "eth0");
    // Link-local (derived from the MAC) works without any lease, once the guest's DAD is done.
    const ll = (await sh(g(2), "ip", "-6", "-j", "addr", "show", "dev", "eth0", "scope", "link")).stdout;
    const addr = (JSON.parse(ll) as { addr_info: { local?: string }[] }[])[0]?.addr_info.find(
      (a) => a.local,
    )?.local;
    expect(addr).toBe("fe80::aff:fe4d:3");
    await waitFor("link-local ping (after duplicate address detection)", () =>
      ping(g(1), `${addr}%eth0`, ["-6"]),
    );
  });

  it("an unsolicited neighbour advertisement for a neighbour's IPv6 address poisons no cache (and does without anti-spoofing)", async () => {
    // A crafted frame from guest 3's own MAC and link-local address: only the ND target is a lie.
    const na = async () => {
      await sh(g(3), "python3", SEND_NA, "eth0", "fd00:77::2", "3");
      await sleep(200);
    };
    await waitFor("guest 2 to know guest 1's IPv6 neighbour entry", () => ping(g(2), "fd00:77::2", ["-6"]));
    await na();
    expect(await neighMac(g(2), "fd00:77::2")).toBe(MAC1);
    await reconcileOk(desired({ net: { antiSpoofing: false } }));
    await waitFor("the unprotected IPv6 cache to be poisoned", async () => {
      await na();
      return (await neighMac(g(2), "fd00:77::2")) === MAC3;
    });
    await reconcileOk(desired());
    await sh(g(2), "ip", "-6", "neigh", "flush", "all");
    await waitFor("guest 2 to reach guest 1 again", () => ping(g(2), "fd00:77::2", ["-6"]));
  });

  it("a guest's router solicitations reach no other guest; its other IPv6 multicast does", async () => {
    // ICMPv6 to all-nodes from guest 3's link-local address: type 128 (echo request, the control)
    // and type 133 (router solicitation). Guest 1's per-type ICMPv6 counters tell what arrived.
    const send = (type: number) =>
      sh(
        g(3),
        "python3",
        "-c",
        `import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
for _ in range(3): s.sendto(bytes([${type}, 0, 0, 0, 0, 0, 0, 0]), ("ff02::1", 0, 0, socket.if_nametoindex("eth0")))`,
      );
    const counters = async () => {
      const text = (await sh(g(1), "cat", "/proc/net/snmp6")).stdout;
      const get = (k: string) => Number(new RegExp(`^${k}\\s+(\\d+)`, "m").exec(text)?.[1] ?? Number.NaN);
      return { echos: get("Icmp6InEchos"), solicits: get("Icmp6InRouterSolicits") };
    };
    const before = await counters();
    expect((await send(128)).code).toBe(0);
    expect((await send(133)).code).toBe(0);
    await waitFor(
      "guest 1 to receive the echo requests",
      async () => (await counters()).echos >= before.echos + 3,
    );
    expect((await counters()).solicits).toBe(before.solicits);
  });

  it("a gratuitous ARP for a neighbour's address poisons no cache (and does without anti-spoofing)", async () => {
    const garp = async () => {
      await sleep(1100); // neighbour entries accept an override only after locktime (1 s)
      await sh(g(3), "arping", "-U", "-S", "10.77.0.2", "-i", "eth0", "-c", "2", "-w", "1", "10.77.0.2");
    };
    expect(await reaches(g(2), "10.77.0.2")).toBe(true);
    expect(await reaches(NODE, "10.77.0.2")).toBe(true);
    await garp();
    expect(await neighMac(NODE, "10.77.0.2")).toBe(MAC1);
    expect(await neighMac(g(2), "10.77.0.2")).toBe(MAC1);
    // Control: the same frames with anti-spoofing off for the VNET do poison the caches.
    await reconcileOk(desired({ net: { antiSpoofing: false } }));
    // Retried: on a loaded machine the entry may have been refreshed within its lock time.
    await waitFor("the unprotected cache to be poisoned", async () => {
      await garp();
      return (await neighMac(NODE, "10.77.0.2")) === MAC3;
    });
    await reconcileOk(desired());
    for (const ns of [NODE, g(2)]) await sh(ns, "ip", "neigh", "flush", "all");
    expect(await reaches(g(2), "10.77.0.2")).toBe(true);
  });

  it("a guest answering DHCP gives no lease to anyone (and does without anti-spoofing)", async () => {
    const server = spawn(
      "ip",
      [
        "netns",
        "exec",
        g(3),
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--port=0",
        "--user=root",
        "--interface=eth0",
        "--bind-interfaces",
        "--dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,2m",
        `--dhcp-leasefile=/tmp/${P}-leases`,
        `--pid-file=/tmp/${P}-dnsmasq.pid`,
      ],
      { stdio: "ignore" },
    );
    children.push(server);
    await sleep(500);
    const lease = async () =>
      (await sh(g(2), "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "3", "-T", "1", "-s", "/bin/true"))
        .code === 0;
    expect(await lease()).toBe(false);
    await reconcileOk(desired({ net: { antiSpoofing: false } }));
    await waitFor("a lease from the guest's DHCP server once anti-spoofing is off", lease, 20_000);
    server.kill();
    await reconcileOk(desired());
    expect(await reaches(g(2), "10.77.0.2")).toBe(true);
  });

  it("an internal network reaches the outside through NAT", async () => {
    await run("ip", ["netns", "add", OUTSIDE]);
    await run("ip", [
      "-n",
      NODE,
      "link",
      "add",
      "up0",
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      OUTSIDE,
    ]);
    await run("ip", ["-n", NODE, "addr", "add", "198.18.0.1/24", "dev", "up0"]);
    await run("ip", ["-n", NODE, "link", "set", "up0", "up"]);
    await run("ip", ["-n", NODE, "route", "replace", "default", "via", "198.18.0.2"]);
    await run("ip", ["-n", OUTSIDE, "addr", "add", "198.18.0.2/24", "dev", "eth0"]);
    await run("ip", ["-n", OUTSIDE, "link", "set", "eth0", "up"]);
    // The outside has no route back to 10.77.0.0/24: only a translated packet gets an answer.
    expect(await reaches(g(1), "198.18.0.2")).toBe(true);
    const ct = await sh(NODE, "conntrack", "-L", "-p", "icmp", "--src", "10.77.0.2");
    expect(ct.stdout).toMatch(/dst=198\.18\.0\.1/);
    // An external network is not translated (it bridges a device of its own here, ext0).
    await run("ip", ["-n", NODE, "link", "add", "ext0", "type", "veth", "peer", "name", "ext1"]);
    const ext = desired({ net: { networkType: "external", phydev: "ext0" } });
    await reconcileOk(ext);
    await sh(NODE, "conntrack", "-F");
    expect(await ping(g(1), "198.18.0.2")).toBe(false);
    await reconcileOk(desired());
  });

  it("QoS: iperf3 stays within ±15 % of the cap; raising it raises the rate; clearing removes it", async () => {
    const out20 = await (async () => {
      await reconcileOk(desired({ qos: { 2: { outboundAvgBps: 20_000_000 } } }));
      return iperf();
    })();
    await reconcileOk(desired({ qos: { 2: { outboundAvgBps: 40_000_000 } } }));
    const out40 = await iperf();
    const r = await reconcileOk(
      desired({ qos: { 1: { inboundAvgBps: 25_000_000, inboundPeakBps: 50_000_000 } } }),
    );
    expect(r.ops).toContain(`tc -n ${NODE} qdisc del dev bhv2 ingress`);
    expect(r.ops).toContain(`ip -n ${NODE} link del bhq2`);
    const in25 = await iperf();
    console.info(
      `[qos] iperf3 TCP 3 s: out 20 → ${out20.toFixed(1)}, out 40 → ${out40.toFixed(1)}, in 25 → ${in25.toFixed(1)} Mbit/s`,
    );
    expect(Math.abs(out20 - 20) / 20).toBeLessThan(0.15);
    expect(Math.abs(out40 - 40) / 40).toBeLessThan(0.15);
    expect(Math.abs(in25 - 25) / 25).toBeLessThan(0.15);
    expect(out40).toBeGreaterThan(out20 * 1.5);
    await reconcileOk(desired());
    const qd = await run("tc", ["-n", NODE, "qdisc", "show"]);
    expect(qd.stdout).not.toMatch(/tbf|ingress/);
  });

  it("repairs a flushed table, a rule deleted by hand and a qdisc deleted by hand on the next reconcile", async () => {
    const d = desired({ qos: { 1: { inboundAvgBps: 30_000_000 } } });
    await reconcileOk(d);
    await sh(NODE, "nft", "flush", "table", "bridge", "bridgehead");
    await sh(g(3), "ip", "addr", "add", "10.77.0.51/24", "dev", "eth0");
    expect(await reaches(g(3), "10.77.0.2", ["-I", "10.77.0.51"])).toBe(true); // drift: spoofing works
    expect((await dp.policyPreview(d))[0]).toMatch(/nft -f -.*rules or set elements/);
    const r1 = await reconcileOk(d);
    expect(r1.ops.join("\n")).toMatch(/nft -f -.*rules or set elements/);
    expect(await ping(g(3), "10.77.0.2", ["-I", "10.77.0.51"])).toBe(false);
    await sh(g(3), "ip", "addr", "del", "10.77.0.51/24", "dev", "eth0");

    // One rule replaced by hand: same counts, different content.
    const replaceNatRule = async () => {
      const out = (await sh(NODE, "nft", "-j", "-a", "list", "chain", "inet", "bridgehead", "postrouting"))
        .stdout;
      const items = (JSON.parse(out) as { nftables: { rule?: { handle: number } }[] }).nftables;
      const handle = String(items.find((i) => i.rule)?.rule?.handle);
      await sh(
        NODE,
        "nft",
        "replace",
        "rule",
        "inet",
        "bridgehead",
        "postrouting",
        "handle",
        handle,
        "accept",
      );
    };
    await replaceNatRule();
    const r2 = await reconcileOk(d);
    expect(r2.ops.join("\n")).toMatch(/changed by hand/);
    // The same while the agent was away: a restarted agent (nothing in memory) finds it too.
    await replaceNatRule();
    const restarted = createDataplane({ nodeNetns: NODE, guestPrefix: P });
    expect((await restarted.reconcile(d)).ops.join("\n")).toMatch(/changed by hand/);
    expect((await restarted.reconcile(d)).ops).toEqual([]);

    await run("tc", ["-n", NODE, "qdisc", "del", "dev", "bhv1", "root"]);
    const tbf = `tc -n ${NODE} qdisc replace dev bhv1 root handle 1: tbf rate 30000000bit burst 93750 latency 50ms`;
    expect(await dp.policyPreview(d)).toEqual([tbf]); // the plan preview, before anything runs
    const r3 = await reconcileOk(d);
    expect(r3.ops).toEqual([tbf]);
    expect((await dp.reconcile(d)).ops).toEqual([]);
  });

  it("a QoS step the kernel refuses rolls back that NIC's new tc objects and reports it; the other NIC keeps its cap", async () => {
    const d = desired({ qos: { 1: { outboundAvgBps: 10_000_000 }, 2: { outboundAvgBps: 10_000_000 } } });
    // Fault injection: one more line for NIC 2 that the kernel refuses, after its other steps ran.
    const bad = "qdisc replace dev bhv2 root handle 1: tbf rate 0bit burst 1 latency 1ms";
    const broken = createPolicy(NODE, { tcPlan: (p) => ({ ...p, tc: [...p.tc, { nicId: 2, line: bad }] }) });
    const r = await broken.reconcile(d);
    expect(r.ports.get(2)).toContain(`QoS: tc -n ${NODE} ${bad}`);
    expect(r.ports.has(1)).toBe(false);
    expect(r.ops.slice(-2)).toEqual([
      `tc -n ${NODE} qdisc del dev bhv2 ingress`,
      `ip -n ${NODE} link del bhq2`,
    ]);
    const links = (await run("ip", ["-n", NODE, "-o", "link", "show", "type", "ifb"])).stdout;
    expect(links).toContain("bhq1");
    expect(links).not.toContain("bhq2");
    expect((await run("tc", ["-n", NODE, "qdisc", "show", "dev", "bhv2"])).stdout).not.toContain("ingress");
    await reconcileOk(desired());
  });

  it("a ruleset the kernel refuses leaves the previous tables in force and is reported", async () => {
    await reconcileOk(desired());
    const before = (await sh(NODE, "nft", "list", "table", "bridge", "bridgehead")).stdout;
    // Fault injection: the same state plus one rule the kernel refuses (a jump to a base chain).
    const broken = createPolicy(NODE, {
      script: (s) => s.replace("\tchain antispoof {\n", "\tchain antispoof {\n\t\tjump prerouting\n"),
    });
    const d = state([network()], [nic(1), nic(2)]); // NIC 3 leaves: its port would open if anything were lost
    const r = await broken.reconcile(d);
    expect(r.errors.join()).toMatch(/refused, the previous one stays in force/);
    expect((await sh(NODE, "nft", "list", "table", "bridge", "bridgehead")).stdout).toBe(before);
    await sh(g(3), "ip", "addr", "add", "10.77.0.52/24", "dev", "eth0");
    expect(await ping(g(3), "10.77.0.2", ["-I", "10.77.0.52"])).toBe(false);
    expect(await reaches(g(1), "10.77.0.3")).toBe(true);
  });
});
