// Rule counters from the kernel to the group's page, with a real agent (in process) on a node
// namespace and the real server over HTTP: pings through an allowed rule make the counter the agent
// reports rise; a change the agent can only load by replacing its tables whole keeps the counts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgent } from "../agent/agent";
import { nodes } from "../db/schema";
import type { App } from "../server/app";
import { testApp, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";
import { deleteNamespaces, nsPrefix, pings, requireKernel, waitFor } from "./kernel";

const run = requireKernel("security-group counters (agent → server)");
const PREFIX = nsPrefix("c");
const NODE_NS = `${PREFIX}n1`;
const pingRule = { protocol: "ICMP", direction: "INBOUND", icmpType: 8 } as const;
const sshRule = { protocol: "TCP", direction: "INBOUND", range: "22" } as const;
/** Guests may send anything (the echo request leaves one guest before it reaches the other). */
const outRule = { protocol: "ALL", direction: "OUTBOUND" } as const;

describe.runIf(run)("security-group counters: kernel → agent report → sg.counters", () => {
  let app: App;
  let srv: Awaited<ReturnType<typeof serveApp>>;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let agent: Awaited<ReturnType<typeof runAgent>> | undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-sgc-"));
  let nodeId = 0;
  let sgId = 0;
  const guests: { ns: string; ip: string }[] = [];

  const applied = () =>
    waitFor("the node to apply its revision", () => {
      const n = app.db.select().from(nodes).where(eq(nodes.id, nodeId)).get()!;
      return (
        n.appliedRevision === n.desiredRevision && n.report?.revision === n.desiredRevision && n.report.ok
      );
    });
  const counterOf = async (ruleId: number) =>
    (await admin.sg.counters({ id: sgId })).rules.find((r) => r.ruleId === ruleId);
  const ruleIds = async () => (await admin.sg.get({ id: sgId })).rules.map((r) => r.id);

  beforeAll(async () => {
    deleteNamespaces(PREFIX);
    app = testApp(path.join(tmp, "db.sqlite"));
    srv = await serveApp(app);
    admin = await userCaller(app, "alice", "admin", 0);
    const vnet = await admin.vnet.create({
      name: "count-net",
      subnet: "10.79.0.0/24",
      gateway: "10.79.0.1",
      firstIp: "10.79.0.10",
      size: 10,
    });
    const sg = await admin.sg.create({ name: "pings-in", rules: [pingRule, outRule] });
    sgId = sg.id;
    await admin.sg.setVnet({ vnetId: vnet.id, sgId, attached: true });
    // The default group (allow all) is on every new VNET; while it is, nothing is filtered.
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: 0, attached: false });
    const node = await admin.node.create({ name: "node1" });
    nodeId = node.id;
    for (const name of ["c1", "c2"]) {
      const i = await admin.instance.create({ name, nodeId, nics: [{ vnetId: vnet.id }] });
      guests.push({ ns: `${NODE_NS}-i${i.id}`, ip: i.nics[0]!.ip! });
    }
    agent = await runAgent(
      {
        server: srv.url,
        token: node.joinToken,
        netns: NODE_NS,
        state: path.join(tmp, "agent.json"),
        interval: "1",
      },
      {
        onFatal: (err) => {
          throw err;
        },
      },
    );
    await applied();
  });

  afterAll(async () => {
    await agent?.stop();
    await srv?.close();
    deleteNamespaces(PREFIX);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("pings through the allowed ICMP rule make the counter the agent reports rise, by packets and bytes", async () => {
    const [ruleId] = await ruleIds();
    const before = (await counterOf(ruleId!))?.packets ?? 0;
    // Three ping runs: three new ICMP flows. The rule accepts the first packet of each flow; the
    // rest of a flow passes as established, so that is what the rule's counter counts.
    for (let i = 0; i < 3; i++) expect(pings(guests[0]!.ns, guests[1]!.ip)).toBe(true);
    const after = await waitFor("the ping rule's counter to rise by the 3 new echo flows", async () => {
      const c = await counterOf(ruleId!);
      return c && c.packets >= before + 3 ? c : null;
    });
    // An echo request of ping's default size is 84 bytes of IPv4.
    expect(after.bytes).toBeGreaterThanOrEqual(after.packets * 84);
    expect(after.nodes).toBe(1);
  });

  it("a change that replaces the tables whole (a new address set) keeps the rules' counts", async () => {
    const [ruleId] = await ruleIds();
    const before = await waitFor("a reported ping counter", () => counterOf(ruleId!));
    // A rule with an address span brings a new set: no incremental update, the tables are replaced.
    await admin.sg.update({
      id: sgId,
      name: "pings-in",
      description: "",
      rules: [pingRule, outRule, { ...sshRule, ip: "192.0.2.0", size: 16 }],
    });
    await applied();
    const ops = app.db.select().from(nodes).where(eq(nodes.id, nodeId)).get()!.report?.ops ?? [];
    expect(ops.some((o) => o.includes("nft -f -") && !o.includes("only what changed"))).toBe(true);
    expect((await ruleIds())[0]).toBe(ruleId); // the kept rule keeps its id, so its counter name
    expect(pings(guests[0]!.ns, guests[1]!.ip)).toBe(true);
    const after = await waitFor("the counter to count the next ping on top of the old count", async () => {
      const c = await counterOf(ruleId!);
      return c && c.packets >= before.packets + 1 ? c : null;
    });
    // Carried over in the kernel, not restarted and re-added by the server.
    expect(after.resets).toBe(0);
  });
});
