// Plan preview: the exact commands (ip, bridge, sysctl, and whatever else the agent runs) that a
// node's agent would run now to go from its observed kernel state to the desired one. Only the
// agent can see its kernel, so the request travels down its open channel (an event on its watch
// stream) and the answer comes back as a call; a node that is not connected cannot be previewed.
import crypto from "node:crypto";
import type { DesiredState } from "../../../lib/wire";
import type { App } from "../../app";
import { compileDesiredState } from "./desired";

/** What the watch stream yields besides desired states: a request to plan without applying. */
export type PreviewRequest = { preview: { requestId: string; desired: DesiredState } };

export type PreviewResult =
  | { available: true; revision: number; lines: string[]; at: string }
  | { available: false; revision: number; reason: string };

type Answer = { lines: string[]; error?: string };
const pending = new WeakMap<App, Map<string, (r: Answer) => void>>();
const waiting = (app: App) => {
  const m = pending.get(app) ?? new Map<string, (r: Answer) => void>();
  pending.set(app, m);
  return m;
};

/** Asks node `nodeId`'s agent for its plan against the current desired state (waits ≤ timeoutMs). */
export async function previewPlan(app: App, nodeId: number, timeoutMs = 5000): Promise<PreviewResult | null> {
  const desired = compileDesiredState(app.db, nodeId);
  if (!desired) return null;
  if (!app.agents.isConnected(nodeId))
    return { available: false, revision: desired.revision, reason: "the node's agent is not connected" };
  const requestId = crypto.randomUUID();
  const answer = new Promise<{ lines: string[]; error?: string } | null>((resolve) => {
    const timer = setTimeout(() => {
      waiting(app).delete(requestId);
      resolve(null);
    }, timeoutMs);
    waiting(app).set(requestId, (r) => {
      clearTimeout(timer);
      resolve(r);
    });
  });
  app.bus.emit(`node:${nodeId}`, { preview: { requestId, desired } } satisfies PreviewRequest);
  const r = await answer;
  if (!r)
    return {
      available: false,
      revision: desired.revision,
      reason: `no answer from the agent within ${timeoutMs} ms`,
    };
  if (r.error) return { available: false, revision: desired.revision, reason: r.error };
  return { available: true, revision: desired.revision, lines: r.lines, at: new Date().toISOString() };
}

/** The agent's answer to a preview request; unknown or late answers are ignored. */
export function previewAnswered(app: App, requestId: string, r: { lines: string[]; error?: string }) {
  const resolve = waiting(app).get(requestId);
  waiting(app).delete(requestId);
  resolve?.(r);
}
