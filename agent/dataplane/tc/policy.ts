// QoS as a policy step after the `ip` plan (tc needs the devices): read the ports' qdiscs, plan
// the difference, apply it; level-based, so a second reconcile of the same state runs nothing.
import type { DesiredState } from "../../../lib/wire";
import type { PolicyResult } from "../types";
import { applyTc, observeTc, observeTcFor } from "./apply";
import { planTc, portQos, type TcPlan } from "./plan";

export interface QosOptions {
  /** Fault injection for tests: rewrites the QoS plan before it runs. */
  tcPlan?: (plan: TcPlan) => TcPlan;
}

export interface QosPolicy {
  /** Makes the ports' QoS match `desired`; with `changed` (a push), reads and plans only those NICs. */
  reconcile(desired: DesiredState, out: PolicyResult, changed?: Set<number>): Promise<void>;
  /** The node namespace is created by the current reconcile: it holds no qdisc or ifb of ours. */
  freshNode(on: boolean): void;
  /** The ip and tc command lines reconcile would run now; changes nothing. */
  preview(desired: DesiredState): Promise<string[]>;
}

/** QoS for one node (namespace). */
export function createQos(ns: string | undefined, opts: QosOptions = {}): QosPolicy {
  let fresh = false;
  return {
    freshNode: (on) => {
      fresh = on;
    },
    async reconcile(desired, out, changed) {
      const all = portQos(desired);
      // A push reads and plans only the changed ports (and the ifb devices of removed ones).
      const want = changed ? all.filter((p) => changed.has(p.nicId)) : all;
      if (changed?.size === 0) return;
      // A fresh node has no qdisc or ifb of ours: only wanted QoS needs a look.
      if (fresh && !want.some((p) => p.inbound || p.outbound)) return;
      const seen = changed ? await observeTcFor(ns, want, [...changed]) : await observeTc(ns, want);
      const plan = planTc(want, seen);
      const r = await applyTc(ns, opts.tcPlan ? opts.tcPlan(plan) : plan);
      out.ops.push(...r.ops);
      out.errors.push(...r.errors);
      for (const [nicId, err] of r.failed) out.ports.set(nicId, err);
    },
    async preview(desired) {
      const qos = portQos(desired);
      const p = planTc(qos, await observeTc(ns, qos));
      const ip = (l: { line: string }) => `ip ${ns ? `-n ${ns} ` : ""}${l.line}`;
      const tc = (l: { line: string }) => `tc ${ns ? `-n ${ns} ` : ""}${l.line}`;
      return [...p.ipAdd.map(ip), ...p.tc.map(tc), ...p.ipDel.map(ip)];
    },
  };
}
