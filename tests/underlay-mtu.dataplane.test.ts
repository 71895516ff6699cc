// The underlay MTU measured on the real kernel: three lab nodes on one underlay bridge, node3's link
// at MTU 1400 (a smaller segment, as a misconfigured switch port would be), a VXLAN VNET of MTU 1500
// on all three. Real agents DF-ping their peers' VTEPs; the portal names exactly the pairs that
// cross node3's link and offers the MTU that fits, and a guest-sized DF ping across that link
// really is dropped while the same ping between node1 and node2 passes.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dfPingIn } from "../agent/underlay-mtu";
import {
  type AgentProcess,
  createUnderlay,
  destroyUnderlay,
  inNetns,
  setVnetDriver,
  startAgent,
  type Underlay,
} from "../lab/cluster";
import type { App } from "../server/app";
import { callerFor, testApp, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";
import { nsPrefix, requireKernel, waitFor } from "./kernel";

const run = requireKernel("underlay MTU probe test");
const P = nsPrefix("mt");

describe.runIf(run)("the underlay MTU between VXLAN nodes, measured by the agents", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-underlay-mtu-"));
  let app: App;
  let srv: Awaited<ReturnType<typeof serveApp>>;
  let admin: ReturnType<typeof callerFor>;
  let ul: Underlay;
  let vnetId = 0;
  const agents: AgentProcess[] = [];
  const logs = () =>
    agents
      .map((a) => a.log())
      .join("\n")
      .slice(-4000);

  beforeAll(async () => {
    await destroyUnderlay(P);
    ul = await createUnderlay(P, 3);
    // node3's segment carries 1400 bytes: its own uplink and the bridge port it hangs on.
    expect((await inNetns(ul.nodes[2]!.netns, "ip", ["link", "set", "ul0", "mtu", "1400"])).code).toBe(0);
    expect((await inNetns(ul.netns, "ip", ["link", "set", "p3", "mtu", "1400"])).code).toBe(0);
    app = testApp(path.join(tmp, "db.sqlite"));
    srv = await serveApp(app);
    await userCaller(app, "alice", "admin", 0);
    const adminId = (
      app.db.$client.prepare("SELECT id FROM user WHERE username = 'alice'").get() as { id: string }
    ).id;
    admin = callerFor(app, adminId);
    vnetId = (
      await admin.vnet.create({ name: "vx", subnet: "10.90.0.0/24", firstIp: "10.90.0.10", size: 20 })
    ).id;
    setVnetDriver(app, vnetId, { driver: "vxlan", vni: 4200, mtu: 1500 });
    for (const n of ul.nodes) {
      const node = await admin.node.create({ name: n.name });
      agents.push(
        startAgent({
          server: srv.url,
          token: node.joinToken,
          node: n,
          stateFile: path.join(tmp, `${n.name}.json`),
        }),
      );
      await admin.instance.create({ name: `g-${n.name}`, nodeId: node.id, nics: [{ vnetId }] });
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await srv?.close();
    await destroyUnderlay(P);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("names the node pairs whose path is smaller than the VNET's frames, and the MTU that fits them all", async () => {
    const u = await waitFor(
      `every node to measure its two peers\n${logs()}`,
      async () => {
        const r = await admin.vnet.underlay({ id: vnetId });
        return r.pairs.length === 6 && r.pairs.every((p) => p.mtu !== undefined) ? r : undefined;
      },
      60_000,
    );
    expect(u).toMatchObject({ vxlan: true, guestMtu: 1450, needed: 1500, fitsAll: 1400 });
    const measured = u.pairs.map((p) => `${p.from}→${p.to} ${p.mtu} ${p.fits ? "fits" : "too small"}`).sort();
    expect(measured).toEqual([
      "node1→node2 1500 fits",
      "node1→node3 1400 too small",
      "node2→node1 1500 fits",
      "node2→node3 1400 too small",
      "node3→node1 1400 too small",
      "node3→node2 1400 too small",
    ]);
  });

  it("agrees with the kernel: a 1500-byte DF packet crosses node1→node2 and is dropped on the way to node3", async () => {
    // The agent's own probe: one DF ping from a node's namespace.
    const df = (from: number, to: number, bytes: number) =>
      dfPingIn(ul.nodes[from]!.netns)(ul.nodes[to]!.vtep, bytes);
    expect(await df(0, 1, 1500)).toBe(true);
    expect(await df(0, 2, 1500)).toBe(false);
    expect(await df(0, 2, 1400)).toBe(true);
  });

  it("with the VNET at the MTU that fits, every pair fits", async () => {
    await admin.vnet.update({ id: vnetId, mtu: 1400 });
    const u = await admin.vnet.underlay({ id: vnetId });
    expect(u).toMatchObject({ guestMtu: 1350, needed: 1400, fitsAll: 1400 });
    expect(u.pairs.every((p) => p.fits)).toBe(true);
  });
});
