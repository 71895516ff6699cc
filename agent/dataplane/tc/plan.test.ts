// The QoS planner: buckets from canonical bit/s and bytes, the lines for a fresh port, a changed
// cap (in place), a cleared cap, drift, and the no-op when the kernel matches.
import { describe, expect, it } from "vitest";
import type { Qos } from "../../../lib/domain";
import { port, state } from "../state.testing";
import { type ObservedQdisc, type ObservedTc, planTc, portQos, type Tbf, tbfFor, tbfMatches } from "./plan";

const capped = (qos: Qos | undefined) => state([], [port(1, 1, 7, { qos })]);
const none: ObservedTc = {
  qdiscs: [{ dev: "bhv1", kind: "noqueue", handle: "0:", root: true }],
  ifbs: [],
  redirects: {},
};
/** The qdiscs a kernel shows for a tbf as tc -j prints it (rate in bytes/s, burst rounded). */
const tbfSeen = (dev: string, t: Tbf): ObservedQdisc => ({
  dev,
  kind: "tbf",
  handle: "1:",
  root: true,
  options: { rate: t.rateBit / 8, burst: t.burst - 1, ...(t.peakBit ? { minburst: t.mtu - 4 } : {}) },
});

describe("tbfFor", () => {
  it("uses the average rate, the configured burst and a peak above the average", () => {
    expect(tbfFor(20e6, 40e6, 65536, 1500)).toEqual({
      rateBit: 20e6,
      burst: 65536,
      peakBit: 40e6,
      mtu: 1514,
    });
  });
  it("defaults the burst to 25 ms at the rate (at least 16 KiB) and never below two frames", () => {
    expect(tbfFor(100e6, undefined, undefined, 1500)?.burst).toBe(312500);
    expect(tbfFor(1e6, undefined, undefined, 1500)?.burst).toBe(16384);
    expect(tbfFor(1e6, undefined, 100, 9000)?.burst).toBe(18028);
  });
  it("drops a peak at or below the average, and caps by the peak alone when no average is set", () => {
    expect(tbfFor(20e6, 10e6, undefined, 1500)?.peakBit).toBeUndefined();
    expect(tbfFor(undefined, 10e6, undefined, 1500)?.rateBit).toBe(10e6);
    expect(tbfFor(undefined, undefined, 1000, 1500)).toBeUndefined();
  });
});

describe("planTc", () => {
  const both = capped({ inboundAvgBps: 20e6, outboundAvgBps: 10e6, outboundPeakBps: 30e6 });
  const want = portQos(both);

  it("a fresh port: ifb first, then the shaper, the ingress redirect and the ifb's shaper", () => {
    const p = planTc(want, none);
    expect(p.ipAdd.map((l) => l.line)).toEqual([
      "link add bhq1 type ifb",
      "link set bhq1 alias bhqos:nic:1 up",
    ]);
    expect(p.tc.map((l) => l.line)).toEqual([
      "qdisc replace dev bhv1 root handle 1: tbf rate 20000000bit burst 62500 latency 50ms",
      "qdisc replace dev bhq1 root handle 1: tbf rate 10000000bit burst 31250 latency 50ms peakrate 30000000bit mtu 1514",
      "qdisc add dev bhv1 handle ffff: ingress",
      "filter replace dev bhv1 parent ffff: protocol all prio 1 handle 800::800 u32 match u32 0 0 action mirred egress redirect dev bhq1",
    ]);
    expect(p.tc.filter((l) => l.undo).map((l) => l.undo)).toEqual([
      "qdisc del dev bhv1 root",
      "qdisc del dev bhv1 ingress",
    ]);
    expect(p.ipAdd[0]?.undo).toBe("link del bhq1");
  });

  const applied: ObservedTc = {
    qdiscs: [
      tbfSeen("bhv1", want[0]!.inbound!),
      { dev: "bhv1", kind: "ingress", handle: "ffff:", parent: "ffff:fff1" },
      tbfSeen("bhq1", want[0]!.outbound!),
    ],
    ifbs: [{ name: "bhq1", alias: "bhqos:nic:1", up: true }],
    redirects: { bhv1: "bhq1" },
  };

  it("plans nothing when the kernel matches", () => {
    expect(planTc(want, applied)).toEqual({ ipAdd: [], tc: [], ipDel: [] });
  });

  it("changes a raised cap in place with replace (no delete, no undo)", () => {
    const p = planTc(
      portQos(capped({ inboundAvgBps: 40e6, outboundAvgBps: 10e6, outboundPeakBps: 30e6 })),
      applied,
    );
    expect(p.tc).toEqual([
      {
        nicId: 1,
        line: "qdisc replace dev bhv1 root handle 1: tbf rate 40000000bit burst 125000 latency 50ms",
      },
    ]);
    expect(p.ipAdd).toEqual([]);
  });

  it("removes both directions and the ifb when the cap is cleared", () => {
    const p = planTc(portQos(capped(undefined)), applied);
    expect(p.tc.map((l) => l.line)).toEqual(["qdisc del dev bhv1 root", "qdisc del dev bhv1 ingress"]);
    expect(p.ipDel.map((l) => l.line)).toEqual(["link del bhq1"]);
  });

  it("repairs a qdisc deleted by hand, a lost redirect, and removes the ifb of a port that left", () => {
    const p = planTc(want, { ...applied, qdiscs: applied.qdiscs.slice(1), redirects: {} });
    expect(p.tc.map((l) => l.line.split(" ").slice(0, 4).join(" "))).toEqual([
      "qdisc replace dev bhv1",
      "filter replace dev bhv1",
    ]);
    const gone = planTc([], {
      ...applied,
      ifbs: [...applied.ifbs, { name: "bhq9", alias: "bhqos:nic:9", up: true }],
    });
    expect(gone.ipDel.map((l) => l.line)).toEqual(["link del bhq1", "link del bhq9"]);
  });

  it("leaves foreign ifb devices and absent ports alone", () => {
    const p = planTc(portQos(state([], [port(2, 2, 7, { qos: { inboundAvgBps: 1e6 } })])), {
      ...none,
      ifbs: [{ name: "ifb0", up: true }],
    });
    expect(p).toEqual({ ipAdd: [], tc: [], ipDel: [] });
  });
});

describe("tbfMatches", () => {
  const t: Tbf = { rateBit: 20e6, burst: 65536, mtu: 1514 };
  it("accepts the kernel's rounding, refuses another rate, kind, handle or a peak that appeared", () => {
    expect(tbfMatches(tbfSeen("d", t), t)).toBe(true);
    expect(tbfMatches({ ...tbfSeen("d", t), options: { rate: 3e6, burst: 65535 } }, t)).toBe(false);
    expect(tbfMatches({ ...tbfSeen("d", t), kind: "htb" }, t)).toBe(false);
    expect(tbfMatches({ ...tbfSeen("d", t), handle: "8001:" }, t)).toBe(false);
    expect(tbfMatches(tbfSeen("d", { ...t, peakBit: 40e6 }), t)).toBe(false);
  });
});
