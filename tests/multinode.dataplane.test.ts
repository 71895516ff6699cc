// Two nodes on an underlay, end to end on the real kernel: the tRPC server, one real agent process
// per node namespace, VNETs of every driver the lab kernel has. Guests on different nodes ping
// each other over VXLAN (MTU-sized with DF too); routed and internal guests reach their gateway;
// drift made by hand is repaired within one interval and reported; the VXLAN peer list follows
// the nodes hosting the VNET; with the server stopped for 30 s the guests never stop pinging, and
// the agents converge on what changed meanwhile once it is back.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bridgeMac } from "../agent/dataplane/types";
import { nodes, vnets } from "../db/schema";
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
import { nsPrefix, pings, requireKernel, waitFor } from "./kernel";

const run = requireKernel("multi-node dataplane test");
const P = nsPrefix("m");
const INTERVAL_S = 1;

describe.runIf(run)("two nodes on an underlay: VXLAN, routed and internal networks", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-multinode-"));
  const dbFile = path.join(tmp, "db.sqlite");
  let app: App;
  let srv: Awaited<ReturnType<typeof serveApp>>;
  let port = 0;
  let admin: ReturnType<typeof callerFor>;
  let adminId = "";
  let ul: Underlay;
  const agents: AgentProcess[] = [];
  const nodeIds: number[] = [];
  const vnet: Record<"vx" | "rt" | "in" | "ext", number> = { vx: 0, rt: 0, in: 0, ext: 0 };
  const guest: Record<string, { ns: string; ip: string; id: number }> = {};

  const logs = () => agents.map((a) => a.log()).join("\n");
  const allApplied = (what: string, ms = 20_000) =>
    waitFor(`${what}\n${logs().slice(-3000)}`, () => nodeIds.every((id) => nodeApplied(app, id)), ms);
  const addInstance = async (name: string, node: number, net: keyof typeof vnet) => {
    const created = await admin.instance.create({
      name,
      nodeId: nodeIds[node]!,
      nics: [{ vnetId: vnet[net] }],
    });
    guest[name] = { ns: `${ul.nodes[node]!.netns}-i${created.id}`, ip: created.nics[0]!.ip!, id: created.id };
  };

  beforeAll(async () => {
    await destroyUnderlay(P);
    ul = await createUnderlay(P, 2);
    app = testApp(dbFile);
    srv = await serveApp(app);
    port = Number(new URL(srv.url).port);
    await userCaller(app, "alice", "admin", 0);
    adminId = (app.db.$client.prepare("SELECT id FROM user WHERE username = 'alice'").get() as { id: string })
      .id;
    admin = callerFor(app, adminId);
    const mk = (name: string, subnet: string, gateway: string) =>
      admin.vnet.create({ name, subnet, gateway, firstIp: subnet.replace(/0\/24$/, "10"), size: 50 });
    vnet.vx = (await mk("vx", "10.80.0.0/24", "")).id;
    vnet.rt = (await mk("rt", "10.81.0.0/24", "")).id;
    vnet.in = (await mk("in", "10.82.0.0/24", "10.82.0.1")).id;
    setVnetDriver(app, vnet.vx, { driver: "vxlan", vni: 4100, mtu: 1500 });
    setVnetDriver(app, vnet.rt, { driver: "routed" });
    // An external network: node1's second NIC ext0 is a cable to the outer network (the outside
    // namespace, 10.83.0.1), and the VNET bridges it.
    vnet.ext = (
      await admin.vnet.create({
        name: "ext",
        subnet: "10.83.0.0/24",
        gateway: "10.83.0.1",
        firstIp: "10.83.0.10",
        size: 10,
        networkType: "external",
      })
    ).id;
    app.db.update(vnets).set({ phydev: "ext0" }).where(eq(vnets.id, vnet.ext)).run();
    const cable = await inNetns(ul.nodes[0]!.netns, "ip", [
      "link",
      "add",
      "ext0",
      "type",
      "veth",
      "peer",
      "name",
      "eth1",
      "netns",
      ul.outside.netns,
    ]);
    expect(cable.code).toBe(0);
    await inNetns(ul.nodes[0]!.netns, "ip", ["link", "set", "ext0", "up"]);
    await inNetns(ul.outside.netns, "ip", ["addr", "add", "10.83.0.1/24", "dev", "eth1"]);
    await inNetns(ul.outside.netns, "ip", ["link", "set", "eth1", "up"]);
    for (const n of ul.nodes) {
      const enrolled = await admin.node.create({ name: n.name });
      nodeIds.push(enrolled.id);
      agents.push(
        startAgent({
          server: srv.url,
          token: enrolled.joinToken,
          node: n,
          stateFile: path.join(tmp, `${n.name}.json`),
          interval: INTERVAL_S,
        }),
      );
    }
    await waitFor(`agents to connect\n${logs()}`, () => nodeIds.every((id) => app.agents.isConnected(id)));
    await addInstance("a", 0, "vx");
    await addInstance("b", 1, "vx");
    await addInstance("r1", 0, "rt");
    await addInstance("r2", 0, "rt");
    await addInstance("i1", 0, "in");
    await addInstance("e1", 0, "ext");
    await allApplied("both nodes to apply");
  }, 120_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await srv?.close();
    await destroyUnderlay(P);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("reports each node's VTEP and uplink, and gives each VXLAN node the other as its only peer", async () => {
    const list = (await admin.node.list({ limit: 500 })).items;
    expect(list.map((n) => [n.vtep, n.uplink])).toEqual([
      ["198.18.0.1", "ul0"],
      ["198.18.0.2", "ul0"],
    ]);
    const d1 = await admin.node.desired({ id: nodeIds[0]! });
    const vx = d1.networks.find((n) => n.vnetId === vnet.vx)!;
    expect(vx).toMatchObject({ driver: "vxlan", vni: 4100, mtu: 1450, vxlanPeers: ["198.18.0.2"] });
    expect(d1).toMatchObject({ vtep: "198.18.0.1", uplink: "ul0" });
  });

  it("guests on different nodes ping each other over VXLAN, and an MTU-sized ping with DF passes", () => {
    expect(pings(guest.a!.ns, guest.b!.ip)).toBe(true);
    expect(pings(guest.b!.ns, guest.a!.ip)).toBe(true);
    // Guest MTU 1450 = 1500 underlay - 50: 1422 bytes of ICMP payload + 28 of headers fill it.
    const df = (size: number) =>
      inNetns(guest.a!.ns, "ping", ["-n", "-q", "-c1", "-W2", "-M", "do", "-s", String(size), guest.b!.ip]);
    return Promise.all([df(1422), df(1423)]).then(([fits, over]) => {
      expect(fits.code).toBe(0);
      expect(over.code).not.toBe(0);
    });
  });

  it("routed guests reach the 169.254.0.1 gateway and each other through the node, with no L2 between them", async () => {
    expect(pings(guest.r1!.ns, "169.254.0.1")).toBe(true);
    expect(pings(guest.r1!.ns, guest.r2!.ip)).toBe(true);
    expect(pings(guest.r2!.ns, guest.r1!.ip)).toBe(true);
    // The neighbour's MAC the guest learned is the node's veth, not the other guest's.
    const neigh = await inNetns(guest.r1!.ns, "ip", ["-j", "neigh", "show", guest.r2!.ip]);
    const otherMac = await inNetns(guest.r2!.ns, "cat", ["/sys/class/net/eth0/address"]);
    expect(JSON.parse(neigh.stdout)[0]?.lladdr).not.toBe(otherMac.stdout.trim());
  });

  it("previews a node's plan live through its agent: nothing to do while in sync; the last applied ops are kept", async () => {
    const p = await admin.node.preview({ id: nodeIds[0]! });
    expect(p).toMatchObject({ available: true, lines: [] });
    const list = (await admin.node.list({ limit: 500 })).items;
    expect(list[0]!.report?.ops?.some((l) => l.startsWith(`ip -n ${ul.nodes[0]!.netns} link add`))).toBe(
      true,
    );
  });

  it("an internal guest reaches its gateway on the bridge", () => {
    expect(pings(guest.i1!.ns, "10.82.0.1")).toBe(true);
  });

  it("an external guest reaches the outer network through the bridged uplink; the bridge has no address", async () => {
    expect(pings(guest.e1!.ns, "10.83.0.1")).toBe(true);
    const bridge = app.db.$client.prepare("SELECT bridge FROM vnets WHERE id = ?").get(vnet.ext) as {
      bridge: string;
    };
    const r = await inNetns(ul.nodes[0]!.netns, "ip", ["-j", "addr", "show", "dev", bridge.bridge]);
    expect(
      (JSON.parse(r.stdout)[0]?.addr_info ?? []).filter((a: { family: string }) => a.family === "inet"),
    ).toEqual([]);
    const ext0 = await inNetns(ul.nodes[0]!.netns, "ip", ["-j", "link", "show", "ext0"]);
    expect(JSON.parse(ext0.stdout)[0]?.master).toBe(bridge.bridge);
  });

  it("repairs a bridge deleted by hand within one interval, and reports the repair", async () => {
    const node1 = ul.nodes[0]!.netns;
    const bridge = app.db.$client.prepare("SELECT bridge FROM vnets WHERE id = ?").get(vnet.vx) as {
      bridge: string;
    };
    const before = Date.now();
    expect((await inNetns(node1, "ip", ["link", "del", bridge.bridge])).code).toBe(0);
    await waitFor("the ping to work again", () => pings(guest.a!.ns, guest.b!.ip), 3000 + INTERVAL_S * 1000);
    const report = await waitFor("a report of the repair", () => {
      const r = app.db.select().from(nodes).where(eq(nodes.id, nodeIds[0]!)).get()?.report;
      return r?.repairedAt && Date.parse(r.repairedAt) >= before ? r : null;
    });
    expect(report.repairs).toContain(
      `ip -n ${node1} link add ${bridge.bridge} address ${bridgeMac(vnet.vx)} mtu 68 type bridge`,
    );
    const list = (await admin.node.list({ limit: 500 })).items;
    expect(list[0]!.report?.repairs?.length).toBeGreaterThan(0);
  });

  it("restores VXLAN peers flushed from the FDB by hand", async () => {
    const node2 = ul.nodes[1]!.netns;
    await inNetns(node2, "bridge", [
      "fdb",
      "del",
      "00:00:00:00:00:00",
      "dev",
      "vxlan4100",
      "dst",
      "198.18.0.1",
    ]);
    await waitFor("the FDB entry to come back", async () => {
      const r = await inNetns(node2, "bridge", ["-j", "fdb", "show", "dev", "vxlan4100"]);
      return (JSON.parse(r.stdout) as { dst?: string }[]).some((f) => f.dst === "198.18.0.1");
    });
    expect(pings(guest.b!.ns, guest.a!.ip)).toBe(true);
  });

  it("follows the nodes hosting the VXLAN VNET: a node that stops hosting it leaves the peer list", async () => {
    const peersOf = async (ns: string) => {
      const r = await inNetns(ns, "bridge", ["-j", "fdb", "show", "dev", "vxlan4100"]);
      return (JSON.parse(r.stdout || "[]") as { dst?: string }[]).map((f) => f.dst).filter(Boolean);
    };
    await admin.instance.remove({ id: guest.b!.id });
    await allApplied("the removal to apply");
    expect(await peersOf(ul.nodes[0]!.netns)).toEqual([]);
    await addInstance("b", 1, "vx");
    await allApplied("the new instance to apply");
    expect(await peersOf(ul.nodes[0]!.netns)).toEqual(["198.18.0.2"]);
    await waitFor("b to answer", () => pings(guest.a!.ns, guest.b!.ip), 5000);
  });

  it("with the server stopped for 30 s, pings between guests never stop; after it returns the agents converge", async () => {
    await srv.close();
    app.db.$client.close();
    // 150 pings, one every 0.2 s, across nodes: not one may be lost while the server is away.
    const pinging = inNetns(guest.a!.ns, "ping", [
      "-n",
      "-q",
      "-i",
      "0.2",
      "-c",
      "150",
      "-W",
      "1",
      guest.b!.ip,
    ]);
    await new Promise((r) => setTimeout(r, 15_000));
    // A change committed while the server is down (straight into the database).
    app = testApp(dbFile);
    admin = callerFor(app, adminId);
    await addInstance("c", 1, "vx");
    const result = await pinging;
    expect(result.stdout).toMatch(/150 packets transmitted, 150 received, 0% packet loss/);
    srv = await serveApp(app, port);
    await allApplied("the agents to reconnect and converge", 40_000);
    await waitFor("the new guest to answer across nodes", () => pings(guest.a!.ns, guest.c!.ip), 5000);
  }, 90_000);
});
