// A simulated agent, for scale measurements only (`npm run bench -- fleet`): the real agent
// (runAgent: join, the SSE state stream, the reconciler, reports and heartbeats) with a dataplane
// that touches no kernel and acknowledges every desired state as applied. Many run in one process
// (bench/lib/fleet-agents.ts). Never use it on a real node: it reports networks it did not build.
import type { DesiredState } from "../lib/wire";
import type { Dataplane, ReconcileResult } from "./dataplane/types";

/** A dataplane that applies nothing and reports every network and port of `desired` as in place. */
export function simulatedDataplane(): Pick<Dataplane, "reconcile" | "preview"> {
  return {
    async reconcile(desired: DesiredState): Promise<ReconcileResult> {
      const started = performance.now();
      return {
        ok: true,
        operations: 0,
        ops: [],
        networks: desired.networks.map((n) => ({ vnetId: n.vnetId, ok: true })),
        ports: desired.ports.map((p) => ({ nicId: p.nicId, ok: true })),
        durationMs: performance.now() - started,
      };
    },
    async preview() {
      return [];
    },
  };
}
