// Distributed DHCP on a VXLAN VNET, on the real kernel with two nodes and two real agents: each
// node's dnsmasq leases its own guests, every node names all of them, and nothing a node's DHCP
// server sends crosses the tunnel to the other node's guests (the agent's nft output rule), and the
// portal shows each lease taken from its node's report. Both
// guests ask with busybox udhcpc -B (broadcast replies), so without that rule node 1's offers and
// acks would flood over VXLAN into node 2's bridge. A counter on node 2's side of the tunnel sees
// the guests' own DHCP broadcasts arrive (so it does see tunnel traffic) and no server reply. The
// VNET is dual stack: each guest takes exactly its leased SLAAC address from its own node's router
// advertisements, and no RA or DHCPv6 reply crosses the tunnel either (rdisc6's solicitations do).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AgentProcess,
  createUnderlay,
  destroyUnderlay,
  inNetns,
  nodeApplied,
  setVnetDriver,
  startAgent,
  type Underlay,
} from "../lab/cluster";
import type { App } from "../server/app";
import { callerFor, testApp, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";
import { nsPrefix, requireKernel, waitFor } from "./kernel";

const run = requireKernel("distributed DHCP over VXLAN test");
const P = nsPrefix("d2");
const VNI = 4173;
const TAP = "bhtd2tap";

describe.runIf(run)("DHCP on a VXLAN VNET across two nodes", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-dhcp-vxlan-"));
  let app: App;
  let srv: Awaited<ReturnType<typeof serveApp>>;
  let admin: ReturnType<typeof callerFor>;
  let ul: Underlay;
  let vnetId = 0;
  const agents: AgentProcess[] = [];
  const nodeIds: number[] = [];
  const guest: { ns: string; ip: string; ip6: string; name: string }[] = [];
  const logs = () => agents.map((a) => a.log()).join("\n");

  /** udhcpc once in a guest (broadcast replies asked for); the offer's environment. */
  async function lease(ns: string): Promise<Record<string, string>> {
    // IPv4 only: the guest keeps its link-local and SLAAC addresses for the IPv6 test.
    await inNetns(ns, "ip", ["-4", "addr", "flush", "dev", "eth0"]);
    const out = path.join(tmp, `${ns}.env`);
    const script = path.join(tmp, `${ns}.sh`);
    fs.writeFileSync(
      script,
      `#!/bin/sh\n[ "$1" = bound ] || exit 0\nenv > ${out}\nip addr add "$ip/$mask" dev "$interface"\n`,
    );
    fs.chmodSync(script, 0o755);
    fs.rmSync(out, { force: true });
    // Bounded: a client NAKed by the other node's server starts over forever (what a guest on the
    // wrong side of an unfiltered tunnel does).
    const r = await inNetns(ns, "timeout", [
      "15",
      "udhcpc",
      "-B",
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
    expect(r.code, `udhcpc in ${ns} got no lease (exit ${r.code}): ${r.stderr}`).toBe(0);
    return Object.fromEntries(
      fs
        .readFileSync(out, "utf8")
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
  }

  /** Packets counted by the test's own table on node 2, per counter name. */
  async function counted(): Promise<Record<string, number>> {
    const r = await inNetns(ul.nodes[1]!.netns, "nft", ["-j", "list", "table", "bridge", TAP]);
    expect(r.code, r.stderr).toBe(0);
    const out: Record<string, number> = {};
    for (const x of JSON.parse(r.stdout).nftables as Record<string, { name?: string; packets?: number }>[])
      if (x.counter?.name) out[x.counter.name] = x.counter.packets ?? 0;
    return out;
  }

  beforeAll(async () => {
    await destroyUnderlay(P);
    ul = await createUnderlay(P, 2);
    app = testApp(path.join(tmp, "db.sqlite"));
    srv = await serveApp(app);
    await userCaller(app, "alice", "admin", 0);
    const id = (
      app.db.$client.prepare("SELECT id FROM user WHERE username = 'alice'").get() as { id: string }
    ).id;
    admin = callerFor(app, id);
    vnetId = (
      await admin.vnet.create({
        name: "Spread",
        subnet: "10.173.0.0/24",
        gateway: "10.173.0.1",
        firstIp: "10.173.0.10",
        size: 20,
        globalPrefix: "2001:db8:173::/64",
      })
    ).id;
    setVnetDriver(app, vnetId, { driver: "vxlan", vni: VNI, mtu: 1500 });
    for (const n of ul.nodes) {
      const enrolled = await admin.node.create({ name: n.name });
      nodeIds.push(enrolled.id);
      agents.push(
        startAgent({
          server: srv.url,
          token: enrolled.joinToken,
          node: n,
          stateFile: path.join(tmp, `${n.name}.json`),
          interval: 1,
        }),
      );
    }
    await waitFor(`agents to connect\n${logs()}`, () => nodeIds.every((n) => app.agents.isConnected(n)));
    for (const [i, name] of ["alpha", "beta"].entries()) {
      const inst = await admin.instance.create({ name, nodeId: nodeIds[i]!, nics: [{ vnetId }] });
      guest.push({
        ns: `${ul.nodes[i]!.netns}-i${inst.id}`,
        ip: inst.nics[0]!.ip!,
        ip6: inst.nics[0]!.ip6!,
        name,
      });
    }
    await waitFor(
      `both nodes to apply\n${logs().slice(-3000)}`,
      () => nodeIds.every((n) => nodeApplied(app, n)),
      30_000,
    );
    // Counters on node 2 for what enters its bridge from the tunnel: DHCP servers' replies (sport 67)
    // and clients' requests (sport 68).
    const rules = [
      `add table bridge ${TAP}`,
      `add counter bridge ${TAP} server_replies`,
      `add counter bridge ${TAP} client_requests`,
      `add counter bridge ${TAP} router_adverts`,
      `add counter bridge ${TAP} dhcp6_replies`,
      `add counter bridge ${TAP} router_solicits`,
      `add chain bridge ${TAP} in { type filter hook prerouting priority -400; policy accept; }`,
      `add rule bridge ${TAP} in iifname "vxlan${VNI}" udp sport 67 counter name server_replies`,
      `add rule bridge ${TAP} in iifname "vxlan${VNI}" udp sport 68 counter name client_requests`,
      `add rule bridge ${TAP} in iifname "vxlan${VNI}" icmpv6 type nd-router-advert counter name router_adverts`,
      `add rule bridge ${TAP} in iifname "vxlan${VNI}" udp sport 547 counter name dhcp6_replies`,
      `add rule bridge ${TAP} in iifname "vxlan${VNI}" icmpv6 type nd-router-solicit counter name router_solicits`,
    ];
    const r = await inNetns(ul.nodes[1]!.netns, "nft", [rules.join("\n")]);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await srv?.close();
    await destroyUnderlay(P);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("each guest gets exactly its lease from its own node, and no server reply crosses the tunnel", async () => {
    for (let round = 0; round < 2; round++)
      for (const g of guest) {
        const env = await lease(g.ns);
        expect(env.ip).toBe(g.ip);
        expect(env.router).toBe("10.173.0.1");
        expect(env.domain).toBe("spread.internal");
      }
    const c = await counted();
    // Node 1's guest broadcast its DISCOVER and REQUEST twice: they crossed (the counter sees the tunnel).
    expect(c.client_requests).toBeGreaterThanOrEqual(4);
    // Node 1's server answered its guest with broadcasts twice: none of them reached node 2.
    expect(c.server_replies).toBe(0);
    // Each node reports the lease its guest took; the VNET's DHCP & DNS tab shows both taken.
    await waitFor(
      "both host entries reported taken",
      async () => (await admin.vnet.dhcp({ id: vnetId })).hosts.every((h) => h.taken),
      10_000,
    );
    expect((await admin.vnet.dhcp({ id: vnetId })).hosts.map((h) => [h.instance, h.node])).toEqual([
      ["alpha", ul.nodes[0]!.name],
      ["beta", ul.nodes[1]!.name],
    ]);
  }, 60_000);

  it("every node's DNS names the guest of the other node", async () => {
    const [a, b] = guest as [(typeof guest)[0], (typeof guest)[0]];
    const dig = (ns: string, ...q: string[]) =>
      inNetns(ns, "dig", ["+short", "+time=1", "+tries=2", "@10.173.0.1", ...q]).then((r) => r.stdout.trim());
    await waitFor(
      "node 1's DNS to name beta",
      async () => (await dig(a.ns, "beta.spread.internal", "A")) === b.ip,
      10_000,
    );
    expect(await dig(a.ns, "-x", b.ip)).toBe("beta.spread.internal.");
    expect(await dig(b.ns, "alpha.spread.internal", "A")).toBe(a.ip);
  }, 30_000);

  it("each guest takes exactly its leased IPv6 from its own node's router advertisements; none crosses the tunnel", async () => {
    const global6 = async (ns: string) =>
      (await inNetns(ns, "ip", ["-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"])).stdout;
    for (const g of guest) {
      await waitFor(`${g.name}'s SLAAC address ${g.ip6}`, async () =>
        (await global6(g.ns)).includes(`${g.ip6}/64`),
      );
      // Solicited (rdisc6 sends router solicitations, which do cross): the node answers. A router
      // may hold back an answer that follows its last advertisement too closely (RFC 4861 6.2.6), so
      // the client solicits again as a host would, within 15 s.
      await waitFor(
        `${g.name} to get a solicited RA with the VNET's prefix`,
        async () =>
          /Prefix\s*:\s*2001:db8:173::\/64/.test(
            (await inNetns(g.ns, "rdisc6", ["-r", "3", "-w", "1000", "eth0"])).stdout,
          ),
        15_000,
      );
    }
    const [a, b] = guest as [(typeof guest)[0], (typeof guest)[0]];
    const ping = await inNetns(a.ns, "ping", ["-6", "-c", "1", "-W", "2", b.ip6]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const c = await counted();
    expect(c.router_solicits).toBeGreaterThanOrEqual(1);
    expect(c.router_adverts).toBe(0);
    expect(c.dhcp6_replies).toBe(0);
  }, 60_000);
});
