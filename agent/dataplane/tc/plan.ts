// QoS per NIC with tc: a pure planner from (desired ports, observed qdiscs) to `ip`/`tc` batch
// lines. Applying the same state twice plans nothing; a cap is changed in place (`replace` of the
// same qdisc), and removed when cleared. I/O lives in apply.ts.
//
// Guest inbound (what the guest receives) = egress of its host veth bhv<nic>: a tbf there.
// Guest outbound (what the guest sends) = ingress of bhv<nic>. Ingress cannot queue, so it is
// redirected (u32 match-all + mirred) to an ifb device bhq<nic> and shaped by a tbf on its egress.
// Why not a policer: this kernel has no act_police at all, and a policer drops instead of queueing,
// so TCP through it saws well below the cap; a shaper holds TCP at ~96 % of the cap (iperf3,
// 3 s, measured here), inside ±15 % of the cap, which is what a user
// of a capped NIC can notice.
// Why tbf and not htb: tbf's rate/burst/peakrate is exactly average/burst/peak; a single htb
// class at the root has nothing to borrow from, so its ceil (the peak) would mean nothing.
import { type DesiredState, portDevice } from "../../../lib/wire";

/** ifb devices carry this alias; only those are ever deleted by the QoS code. It deliberately does
 * not start with "bridgehead:" (links/plan.ts removes every such link it does not know). */
export const IFB_ALIAS_PREFIX = "bhqos:nic:";
export const ifbName = (nicId: number) => `bhq${nicId}`;
const LATENCY = "50ms";
/** tbf handle on every qdisc we create; a root qdisc with another handle or kind is replaced. */
const HANDLE = "1:";

/** One token bucket: average rate, bucket size, optional peak (bit/s, bytes). */
export interface Tbf {
  rateBit: number;
  burst: number;
  peakBit?: number;
  /** Largest packet the peak bucket must pass (L2). */
  mtu: number;
}

export interface PortQos {
  nicId: number;
  dev: string;
  ifb: string;
  inbound?: Tbf;
  outbound?: Tbf;
}

/** The bucket for one direction, or undefined when that direction is uncapped. A burst below one
 * full frame would stall the port, so it is raised to two frames; without a configured burst, 25 ms
 * at the average rate (at least 16 KiB) keeps TCP near the cap. A peak at or below the average
 * limits nothing (and tbf refuses it), so it is left out. */
export function tbfFor(
  avg: number | undefined,
  peak: number | undefined,
  burst: number | undefined,
  mtu: number,
) {
  const rateBit = avg ?? peak;
  if (!rateBit) return undefined;
  const frame = mtu + 14;
  const b = Math.max(burst ?? Math.max(16384, Math.ceil(rateBit / 8 / 40)), 2 * frame);
  const t: Tbf = { rateBit, burst: b, mtu: frame };
  if (peak && peak > rateBit) t.peakBit = peak;
  return t;
}

/** QoS wanted on every desired port (also the uncapped ones: their old caps must go). */
export function portQos(desired: DesiredState): PortQos[] {
  return desired.ports.map((p) => {
    const q = p.qos ?? {};
    const pq: PortQos = { nicId: p.nicId, dev: portDevice(p), ifb: ifbName(p.nicId) };
    const inbound = tbfFor(q.inboundAvgBps, q.inboundPeakBps, q.inboundBurstBytes, p.mtu);
    const outbound = tbfFor(q.outboundAvgBps, q.outboundPeakBps, q.outboundBurstBytes, p.mtu);
    if (inbound) pq.inbound = inbound;
    if (outbound) pq.outbound = outbound;
    return pq;
  });
}

/** A qdisc as `tc -j qdisc show` prints it (the fields we read). */
export interface ObservedQdisc {
  dev: string;
  kind: string;
  handle: string;
  root?: boolean;
  parent?: string;
  options?: { rate?: number; burst?: number; minburst?: number; peakrate?: number };
}

export interface ObservedTc {
  qdiscs: ObservedQdisc[];
  /** ifb links carrying our alias: name → alias, up. */
  ifbs: { name: string; alias?: string; up: boolean }[];
  /** Per host veth with an ingress qdisc: the ifb its match-all filter redirects to, if any. */
  redirects: Record<string, string | undefined>;
}

/** One line of a batch, with the NIC it serves and the line that undoes it (creations only). */
export interface TcLine {
  nicId?: number;
  line: string;
  undo?: string;
}

export interface TcPlan {
  /** `ip -batch`: ifb devices to create (before tc redirects to them). */
  ipAdd: TcLine[];
  /** `tc -batch`: qdiscs and filters to replace or delete. */
  tc: TcLine[];
  /** `ip -batch`: ifb devices no longer needed (after the redirects to them are gone). */
  ipDel: TcLine[];
}

const close = (have: number | undefined, want: number, slack: number) =>
  have !== undefined && Math.abs(have - want) <= Math.max(slack, want * 0.01);

/** Whether an observed tbf matches. iproute2 6.1 prints the peak rate only as text, so a peak is
 * compared by presence (its minburst), not by value. */
export function tbfMatches(q: ObservedQdisc | undefined, t: Tbf): boolean {
  if (q?.kind !== "tbf" || q.handle !== HANDLE || !q.root) return false;
  const o = q.options ?? {};
  return (
    close(o.rate !== undefined ? o.rate * 8 : undefined, t.rateBit, 8) &&
    close(o.burst, t.burst, 16) &&
    (o.minburst !== undefined || o.peakrate !== undefined) === (t.peakBit !== undefined)
  );
}

export const tbfLine = (dev: string, t: Tbf) =>
  `qdisc replace dev ${dev} root handle ${HANDLE} tbf rate ${t.rateBit}bit burst ${t.burst} latency ${LATENCY}${
    t.peakBit ? ` peakrate ${t.peakBit}bit mtu ${t.mtu}` : ""
  }`;

/** Lines that make the observed qdiscs match `want`; empty when they already do. Ports whose host
 * veth is absent are skipped (their creation failed and was reported by the ip plan). */
export function planTc(want: PortQos[], o: ObservedTc): TcPlan {
  const out: TcPlan = { ipAdd: [], tc: [], ipDel: [] };
  const devs = new Set(o.qdiscs.map((q) => q.dev));
  const root = new Map(o.qdiscs.filter((q) => q.root).map((q) => [q.dev, q]));
  const ingress = new Set(o.qdiscs.filter((q) => q.kind === "ingress").map((q) => q.dev));
  const ifbs = new Map(o.ifbs.map((l) => [l.name, l]));
  const keepIfb = new Set<string>();
  for (const p of want) {
    if (!devs.has(p.dev)) continue;
    const nicId = p.nicId;
    const r = root.get(p.dev);
    if (p.inbound && !tbfMatches(r, p.inbound)) {
      const fresh = r?.kind !== "tbf";
      out.tc.push({
        nicId,
        line: tbfLine(p.dev, p.inbound),
        ...(fresh ? { undo: `qdisc del dev ${p.dev} root` } : {}),
      });
    } else if (!p.inbound && r?.kind === "tbf") {
      // The host veth is ours, so a shaper on it is ours too (veths default to noqueue).
      out.tc.push({ nicId, line: `qdisc del dev ${p.dev} root` });
    }
    if (p.outbound) {
      keepIfb.add(p.ifb);
      const ifb = ifbs.get(p.ifb);
      const alias = `${IFB_ALIAS_PREFIX}${nicId}`;
      if (!ifb) out.ipAdd.push({ nicId, line: `link add ${p.ifb} type ifb`, undo: `link del ${p.ifb}` });
      if (!ifb || ifb.alias !== alias || !ifb.up)
        out.ipAdd.push({ nicId, line: `link set ${p.ifb} alias ${alias} up` });
      if (!ifb || !tbfMatches(root.get(p.ifb), p.outbound))
        out.tc.push({ nicId, line: tbfLine(p.ifb, p.outbound) });
      if (!ingress.has(p.dev))
        out.tc.push({
          nicId,
          line: `qdisc add dev ${p.dev} handle ffff: ingress`,
          undo: `qdisc del dev ${p.dev} ingress`,
        });
      if (!ingress.has(p.dev) || o.redirects[p.dev] !== p.ifb)
        out.tc.push({
          nicId,
          line: `filter replace dev ${p.dev} parent ffff: protocol all prio 1 handle 800::800 u32 match u32 0 0 action mirred egress redirect dev ${p.ifb}`,
        });
    } else if (ingress.has(p.dev)) {
      out.tc.push({ nicId, line: `qdisc del dev ${p.dev} ingress` });
    }
  }
  for (const l of o.ifbs) {
    if (l.alias?.startsWith(IFB_ALIAS_PREFIX) && !keepIfb.has(l.name))
      out.ipDel.push({ line: `link del ${l.name}` });
  }
  return out;
}

/** Reads `tc -j qdisc show` (all devices). */
export function parseQdiscs(json: string): ObservedQdisc[] {
  const t = json.trim();
  return t ? (JSON.parse(t) as ObservedQdisc[]) : [];
}

interface FilterJson {
  options?: { actions?: { kind?: string; mirred_action?: string; to_dev?: string }[] };
}

/** The ifb a `tc -j filter show dev X parent ffff:` output redirects to, if any. */
export function parseRedirect(json: string): string | undefined {
  const t = json.trim();
  const filters = t ? (JSON.parse(t) as FilterJson[]) : [];
  for (const f of filters)
    for (const a of f.options?.actions ?? [])
      if (a.kind === "mirred" && a.mirred_action === "redirect" && a.to_dev) return a.to_dev;
  return undefined;
}
