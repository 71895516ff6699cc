// Crash safety on the real kernel: a real agent process restoring its last desired state is
// killed with SIGKILL at a random point of its apply, 50 times, alternating between two quite
// different states (bridge, VXLAN with peers, routed). After every kill the same dataplane code
// converges (the first reconcile succeeds — a killed agent's `ip -batch` may still be finishing, so
// at most one retry), the next reconcile runs nothing, and nothing is duplicated.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataplane } from "../agent/dataplane";
import { net, port, state } from "../agent/dataplane/state.testing";
import { createUnderlay, destroyUnderlay, inNetns, startAgent, type Underlay } from "../lab/cluster";
import type { DesiredState } from "../lib/wire";
import { nsPrefix, pings, requireKernel, waitFor } from "./kernel";

const run = requireKernel("agent crash test");
const P = nsPrefix("k");
const KILLS = 50;

/** Two desired states that differ in almost everything, so every apply has real work to do. */
function states(): [DesiredState, DesiredState] {
  const underlay = { vtep: "198.18.0.1", uplink: "ul0" };
  const vx = (peers: string[]) =>
    net(2, { driver: "vxlan", vni: 7002, mtu: 1450, bridgeAddress: undefined, vxlanPeers: peers });
  const rt = net(3, { driver: "routed", bridge: "rt3", bridgeAddress: undefined });
  const bridgePorts = (from: number, n: number, addr: string) =>
    Array.from({ length: n }, (_, i) =>
      port(from + i, from + i, 1, { addresses: [`10.1.${addr}.${i + 2}/24`], gateway: `10.1.${addr}.1` }),
    );
  const a = state(
    [net(1, { bridgeAddress: "10.1.0.1/24" }), vx(["198.18.0.2", "198.18.0.3"]), rt],
    [
      ...bridgePorts(1, 6, "0"),
      ...[20, 21, 22].map((n) => port(n, n, 2, { mtu: 1450, gateway: undefined })),
      ...[30, 31].map((n) => port(n, n, 3, { gateway: "169.254.0.1", addresses: [`10.3.0.${n}/24`] })),
    ],
    underlay,
  );
  const b = state(
    [net(1, { bridgeAddress: "10.1.5.1/24", mtu: 1400 }), vx(["198.18.0.4"]), rt],
    [
      ...bridgePorts(4, 6, "5").map((p) => ({ ...p, mtu: 1400 })),
      ...[21, 23].map((n) => port(n, n, 2, { mtu: 1450, gateway: undefined })),
      ...[31, 32].map((n) => port(n, n, 3, { gateway: "169.254.0.1", addresses: [`10.3.0.${n + 10}/24`] })),
    ],
    underlay,
  );
  return [a, b];
}

describe.runIf(run)("an agent killed with SIGKILL at random points of an apply", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-faults-"));
  const stateFile = path.join(tmp, "agent.json");
  let ul: Underlay;

  beforeAll(async () => {
    await destroyUnderlay(P);
    ul = await createUnderlay(P, 1);
  });
  afterAll(async () => {
    await destroyUnderlay(P);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it(`converges after each of ${KILLS} kills, with nothing duplicated`, async () => {
    const node = ul.nodes[0]!;
    const dp = createDataplane({ nodeNetns: node.netns, guestPrefix: node.netns });
    const [a, b] = states();
    let midApply = 0;
    let retried = 0;
    for (let i = 0; i < KILLS; i++) {
      const desired = i % 2 === 0 ? a : b;
      // The agent restores its last desired state before it reaches the (here: absent) server.
      fs.writeFileSync(
        stateFile,
        JSON.stringify({
          server: "http://127.0.0.1:9",
          nodeId: 1,
          nodeName: "node1",
          credential: "bhc_crash-test",
          lastDesired: desired,
        }),
      );
      const agent = startAgent({ server: "", node, stateFile, interval: 60 });
      await waitFor(
        `agent ${i} to start restoring\n${agent.log()}`,
        () => agent.log().includes("restoring"),
        20_000,
      );
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      await agent.kill9();
      if (!/revision \d+: applied/.test(agent.log())) midApply++;
      await new Promise((r) => setTimeout(r, 100));
      let r = await dp.reconcile(desired);
      if (!r.ok) {
        retried++;
        r = await dp.reconcile(desired);
      }
      expect(r.error, `kill ${i}: ${agent.log().slice(-500)}`).toBeUndefined();
      const again = await dp.reconcile(desired);
      expect(again.ops, `kill ${i}: a second reconcile must run nothing`).toEqual([]);
    }
    console.info(
      `[faults] ${KILLS} kills: ${midApply} before the agent finished its apply, ${retried} needed a retry (a killed agent's batch still running)`,
    );
    expect(midApply).toBeGreaterThan(KILLS / 4);

    // Nothing duplicated: one FDB entry per peer, one host route per routed address.
    const fdb = await inNetns(node.netns, "bridge", ["-j", "fdb", "show", "dev", "vxlan7002"]);
    const dsts = (JSON.parse(fdb.stdout) as { mac: string; dst?: string }[])
      .filter((f) => f.mac === "00:00:00:00:00:00")
      .map((f) => f.dst);
    expect(dsts).toEqual(["198.18.0.4"]);
    const routes = await inNetns(node.netns, "ip", ["-j", "route", "show"]);
    const dsts2 = (JSON.parse(routes.stdout) as { dst: string }[]).map((r) => r.dst);
    expect(new Set(dsts2).size).toBe(dsts2.length);
    expect(dsts2).toEqual(expect.arrayContaining(["10.3.0.41", "10.3.0.42"]));
    // And it works: a bridged guest reaches its gateway, a routed one its neighbour.
    expect(pings(`${node.netns}-i4`, "10.1.5.1")).toBe(true);
    expect(pings(`${node.netns}-i31`, "10.3.0.42")).toBe(true);
  }, 400_000);
});
