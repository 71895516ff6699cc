// A change that reaches many connected agents is pushed without holding the event loop: the real
// agent.watch streams on a real migrated database, woken by one VNET update.
import { describe, expect, it } from "vitest";
import { callerFor, testApp, userCaller } from "../harness.testing";

const NODES = 150;

describe("agent.watch fan-out", () => {
  it("pushes a VNET change to every watching node while timers (and so requests) keep running", async () => {
    const app = testApp();
    const admin = await userCaller(app, "fan", "admin", 0);
    const vnet = await admin.vnet.create({
      name: "fan-br",
      subnet: "10.90.0.0/16",
      gateway: "10.90.0.1",
      firstIp: "10.90.0.10",
      size: 1000,
    });
    const streams: { id: number; it: AsyncIterator<unknown> }[] = [];
    for (let i = 0; i < NODES; i++) {
      const n = await admin.node.create({ name: `fan-${i}` });
      // Enough NICs that each node's compile costs something measurable.
      await admin.instance.create({
        name: `fi${i}`,
        nodeId: n.id,
        nics: Array.from({ length: 4 }, () => ({ vnetId: vnet.id })),
      });
      const joined = await callerFor(app, null).agent.join({ token: n.joinToken, vtep: `198.18.1.${i + 1}` });
      const agent = callerFor(app, null, { authorization: `Bearer ${joined.credential}` });
      const sub = await agent.agent.watch({ nodeId: n.id });
      streams.push({ id: n.id, it: (sub as AsyncIterable<unknown>)[Symbol.asyncIterator]() });
    }
    try {
      // tracked() events arrive in process as [id, data].
      type State = { revision: number; networks: { antiSpoofing?: boolean }[] };
      const stateOf = (ev: unknown) => (ev as [string, State])[1];
      const revisionOf = (ev: unknown) => stateOf(ev).revision;
      const first = await Promise.all(streams.map((s) => s.it.next()));
      const before = Math.max(...first.map((r) => revisionOf(r.value)));

      await admin.vnet.update({ id: vnet.id, antiSpoofing: false });
      const changedAt = performance.now();
      // A timer set right after the commit fires between compile slices, not after the last one.
      const timerFired = new Promise<number>((r) => setTimeout(() => r(performance.now() - changedAt), 0));
      const next = await Promise.all(streams.map((s) => s.it.next()));
      const allMs = performance.now() - changedAt;
      const timerMs = await timerFired;

      const revisions = next.map((r) => revisionOf(r.value));
      expect(revisions.every((r) => r > before)).toBe(true);
      expect(next.every((r) => stateOf(r.value).networks[0]?.antiSpoofing === false)).toBe(true);
      console.log(
        `fan-out to ${NODES}: all in ${allMs.toFixed(0)} ms, a timer after ${timerMs.toFixed(0)} ms`,
      );
      expect(timerMs).toBeLessThan(allMs / 4);
    } finally {
      await Promise.allSettled(streams.map((s) => s.it.return?.()));
    }
  }, 120_000);
});
