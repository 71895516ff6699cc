// Joins hypervisor (tap) ports to the dataplane: the ip plan leaves them alone (plan.ts), nftables
// and tc key them by device name like host veths, and taps.ts plugs each one into its bridge when
// it appears. Only this file knows both sides.
import { type DesiredState, isTapPort } from "../../../lib/wire";
import type { Dataplane, ReconcileResult } from "../types";
import { createTapPorts, plugLine, type TapPorts } from "./taps";

export { createTapPorts, parseLinkLine, plugLine, type TapPorts } from "./taps";

/** The desired state with QoS removed from taps that do not exist yet: tc needs the device, and
 * the plug of the tap triggers a reconcile that caps it. */
function withoutAbsentQos(desired: DesiredState, present: Set<string>): DesiredState {
  if (!desired.ports.some((p) => isTapPort(p) && p.qos && !present.has(p.dev ?? ""))) return desired;
  return {
    ...desired,
    ports: desired.ports.map((p) => {
      if (!isTapPort(p) || present.has(p.dev ?? "") || !p.qos) return p;
      const { qos: _, ...rest } = p;
      return rest;
    }),
  };
}

/** `inner` with tap ports plugged after each reconcile and on every link event in between. */
export function withTapPorts(
  inner: Dataplane,
  nodeNetns: string | undefined,
): Dataplane & { taps: TapPorts } {
  const taps = createTapPorts(nodeNetns);
  let last: DesiredState | undefined;
  const hasTaps = (d: DesiredState) => d.ports.some(isTapPort);
  const reconcile: Dataplane["reconcile"] = async (desired, opts) => {
    if (!hasTaps(desired) && !(last && hasTaps(last))) {
      last = desired;
      return inner.reconcile(desired, opts);
    }
    last = desired;
    const present = new Set((await taps.refresh()).keys());
    const effective = withoutAbsentQos(desired, present);
    const r = await inner.reconcile(effective, opts);
    const t = await taps.sync(effective);
    return merge(r, t.ops, t.errors);
  };
  // A tap that appears with QoS desired gets its caps from a reconcile right after the plug.
  taps.onPlug((e) => {
    const port = last?.ports.find((p) => p.nicId === e.nicId);
    if (!e.error && last && port?.qos) void reconcile(last, { full: true });
  });
  return {
    ...inner,
    taps,
    reconcile,
    preview: async (desired) => {
      const lines = await inner.preview(desired);
      const now = await taps.refresh();
      const bridges = new Map(desired.networks.map((n) => [n.vnetId, n.bridge]));
      for (const p of desired.ports.filter(isTapPort)) {
        const line = plugLine(p, bridges.get(p.vnetId) ?? "", now.get(p.dev ?? ""));
        if (line) lines.push(`ip ${nodeNetns ? `-n ${nodeNetns} ` : ""}${line}`);
      }
      return lines;
    },
    teardown: (opts) => {
      taps.stop();
      return inner.teardown(opts);
    },
  };
}

/** The reconcile's result with the tap plugging folded in. */
function merge(r: ReconcileResult, ops: string[], errors: Map<number, string>): ReconcileResult {
  if (ops.length === 0 && errors.size === 0) return r;
  const ports = r.ports.map((p) => {
    const error = errors.get(p.nicId);
    return p.ok && error ? { nicId: p.nicId, ok: false, error } : p;
  });
  const ok = r.ok && errors.size === 0;
  const error = [r.error, ...errors.values()].filter(Boolean).join("; ") || undefined;
  return {
    ...r,
    operations: r.operations + ops.length,
    ops: [...r.ops, ...ops],
    ports,
    ok,
    ...(error ? { error } : {}),
  };
}
