import { describe, expect, it } from "vitest";
import { MIN_PROBE_MTU, pathMtu, UnderlayMtuProbe } from "./underlay-mtu";

/** A path that carries packets up to `limit` bytes (null: answers nothing); counts the pings. */
function pathOf(limits: Record<string, number | null>) {
  const sent: { peer: string; mtu: number }[] = [];
  const ping = async (peer: string, mtu: number) => {
    sent.push({ peer, mtu });
    const limit = limits[peer];
    return limit !== null && limit !== undefined && mtu <= limit;
  };
  return { ping, sent };
}

describe("underlay path MTU by DF pings", () => {
  it("finds the largest size that passes with one ping when the full size fits, a binary search otherwise", async () => {
    const p = pathOf({ a: 1500, b: 1400, c: 1280 });
    expect(await pathMtu(p.ping, "a", 1500)).toBe(1500);
    expect(p.sent).toHaveLength(1);
    expect(await pathMtu(p.ping, "b", 1500)).toBe(1400);
    expect(await pathMtu(p.ping, "c", 9000)).toBe(1280);
    // Sizes decrease from the ceiling; a few pings, not one per byte.
    const toB = p.sent.filter((s) => s.peer === "b");
    expect(toB[0]!.mtu).toBe(1500);
    expect(toB.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(1500 - MIN_PROBE_MTU)));
  });

  it("says null for a peer that answers no ping at all", async () => {
    const p = pathOf({ gone: null });
    expect(await pathMtu(p.ping, "gone", 1500)).toBeNull();
    expect(p.sent.map((s) => s.mtu)).toEqual([1500, MIN_PROBE_MTU]);
  });

  it("probes new peers when they appear, forgets gone ones, and reports only what changed since the last delivered report", async () => {
    const p = pathOf({ "198.18.0.2": 1500, "198.18.0.3": 1400 });
    let measured = 0;
    const probe = new UnderlayMtuProbe(
      p.ping,
      async () => 1500,
      () => measured++,
    );
    probe.watch(["198.18.0.2"]);
    await probe.probe();
    expect(probe.pending()).toEqual([{ peer: "198.18.0.2", mtu: 1500 }]);
    probe.markDelivered(probe.pending()!);
    expect(probe.pending()).toBeUndefined();

    probe.watch(["198.18.0.2", "198.18.0.3"]);
    await probe.probe();
    expect(measured).toBeGreaterThanOrEqual(2);
    expect(probe.pending()).toEqual([
      { peer: "198.18.0.2", mtu: 1500 },
      { peer: "198.18.0.3", mtu: 1400 },
    ]);
    probe.markDelivered(probe.pending()!);
    // The known peer is not pinged again when another one appears.
    expect(p.sent.filter((s) => s.peer === "198.18.0.2")).toHaveLength(1);

    probe.watch(["198.18.0.3"]);
    expect(probe.pending()).toEqual([{ peer: "198.18.0.3", mtu: 1400 }]);
    probe.stop();
  });
});
