// "Applied" means enforced, for QoS: a cap set, changed or cleared through the service is on the
// host veth by the time the agent reports the revision applied, not only after the next periodic
// reconcile. A real agent (in process, with a reconcile interval far longer than the test, so the
// periodic full reconcile cannot make up for a push that skipped work) on a node namespace and the
// real server over HTTP; the qdiscs are read with `tc -j`.
import { execFileSync } from "node:child_process";
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
import { deleteNamespaces, nsPrefix, requireKernel, waitFor } from "./kernel";

const run = requireKernel("QoS applied on push (agent → kernel)");
const PREFIX = nsPrefix("q");
const NODE_NS = `${PREFIX}n1`;

type Qdisc = { kind: string; root?: boolean; options?: { rate?: number } };
const qdiscs = (dev: string): Qdisc[] =>
  JSON.parse(execFileSync("tc", ["-n", NODE_NS, "-j", "qdisc", "show", "dev", dev], { encoding: "utf8" }));
const links = (): string[] =>
  (
    JSON.parse(execFileSync("ip", ["-n", NODE_NS, "-j", "link", "show"], { encoding: "utf8" })) as {
      ifname: string;
    }[]
  ).map((l) => l.ifname);

describe.runIf(run)("QoS through the service is enforced when the agent reports it applied", () => {
  let app: App;
  let srv: Awaited<ReturnType<typeof serveApp>>;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let agent: Awaited<ReturnType<typeof runAgent>> | undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-qos-"));
  let nodeId = 0;
  let nicId = 0;

  const applied = () =>
    waitFor("the node to apply its revision", () => {
      const n = app.db.select().from(nodes).where(eq(nodes.id, nodeId)).get()!;
      return (
        n.appliedRevision === n.desiredRevision && n.report?.revision === n.desiredRevision && n.report.ok
      );
    });

  beforeAll(async () => {
    deleteNamespaces(PREFIX);
    app = testApp(path.join(tmp, "db.sqlite"));
    srv = await serveApp(app);
    admin = await userCaller(app, "alice", "admin", 0);
    const vnet = await admin.vnet.create({
      name: "qos-net",
      subnet: "10.77.0.0/24",
      gateway: "10.77.0.1",
      firstIp: "10.77.0.10",
      size: 10,
    });
    const node = await admin.node.create({ name: "node1" });
    nodeId = node.id;
    const inst = await admin.instance.create({ name: "q1", nodeId, nics: [{ vnetId: vnet.id }] });
    nicId = inst.nics[0]!.nicId;
    agent = await runAgent(
      {
        server: srv.url,
        token: node.joinToken,
        netns: NODE_NS,
        state: path.join(tmp, "agent.json"),
        // Far beyond the test: only pushes apply anything here.
        interval: "3600",
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

  it("a NIC's first inbound cap is a tbf on its host veth when the push is reported applied", async () => {
    expect(qdiscs(`bhv${nicId}`).some((q) => q.kind === "tbf")).toBe(false);
    await admin.vnet.setNicQos({ nicId, qos: { inboundAvg: "8 Mbit/s" } });
    await applied();
    const root = qdiscs(`bhv${nicId}`).find((q) => q.root);
    expect(root?.kind).toBe("tbf");
    expect(root?.options?.rate).toBe(1_000_000); // bytes per second
  });

  it("a changed cap, then an added outbound cap, then a cleared one, each enforced on its push", async () => {
    await admin.vnet.setNicQos({ nicId, qos: { inboundAvg: "16 Mbit/s", outboundAvg: "4 Mbit/s" } });
    await applied();
    expect(qdiscs(`bhv${nicId}`).find((q) => q.root)?.options?.rate).toBe(2_000_000);
    expect(qdiscs(`bhv${nicId}`).some((q) => q.kind === "ingress")).toBe(true);
    expect(qdiscs(`bhq${nicId}`).find((q) => q.root)?.options?.rate).toBe(500_000);

    await admin.vnet.setNicQos({ nicId, qos: null });
    await applied();
    expect(qdiscs(`bhv${nicId}`).map((q) => q.kind)).toEqual(["noqueue"]);
    expect(links()).not.toContain(`bhq${nicId}`);
  });
});
