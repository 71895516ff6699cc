// The wire contract checked where it enters the agent: every pushed desired state (and every plan
// preview's) is parsed with the shared zod schema before anything acts on it. A state this agent
// cannot read (another wire version, a field it does not know) is refused as a whole, never
// half-applied, and the refusal goes back to the server as that revision's apply error.
import { type AgentReport, type DesiredState, desiredStateSchema, WIRE_VERSION } from "../lib/wire";

export type Arrival = { ok: true; desired: DesiredState } | { ok: false; revision: number; error: string };

const ERROR_MAX = 4000;

/** Parses a pushed desired state; the refusal names the version (or the first fields) it cannot read. */
export function parseArrival(raw: unknown): Arrival {
  const r = desiredStateSchema.safeParse(raw);
  if (r.success) return { ok: true, desired: r.data };
  const o = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const revision = Number.isInteger(o.revision) && (o.revision as number) >= 0 ? (o.revision as number) : 0;
  const error =
    o.wireVersion !== WIRE_VERSION
      ? `desired state refused: wire version ${JSON.stringify(o.wireVersion)} is not the version this agent speaks (${WIRE_VERSION}); upgrade the agent to the server's version`
      : `desired state refused: it does not match wire version ${WIRE_VERSION} (${r.error.issues
          .slice(0, 5)
          .map((i) => `${i.path.join(".") || "state"}: ${i.message}`)
          .join("; ")}); the agent and the server disagree on the contract: run the same version on both`;
  return { ok: false, revision, error: error.slice(0, ERROR_MAX) };
}

/** The report of a refused state: that revision failed, nothing was applied. */
export function refusalReport(
  nodeId: number,
  refused: { revision: number; error: string },
  extra: Pick<AgentReport, "agentVersion" | "hostname">,
): AgentReport {
  return {
    nodeId,
    revision: refused.revision,
    ok: false,
    error: refused.error,
    operations: 0,
    durationMs: 0,
    networks: [],
    ports: [],
    ...extra,
  };
}
