// The wire versions this portal speaks (the current one and the one before), so a fleet is upgraded
// node by node: an older agent gets its state in the shape it knows; an agent outside the range is
// refused with a retryable error and the reason lands on the Nodes page (it does not stop quietly).
import { eq } from "drizzle-orm";
import { nodes } from "../../../db/schema";
import { type DesiredState, MIN_WIRE_VERSION, WIRE_VERSION, type WireVersion } from "../../../lib/wire";
import type { App } from "../../app";

/** The wire version an agent speaks: what it says, or 1 (version 1 agents did not say). */
export const agentWire = (said: number | undefined) => said ?? 1;

/** Why this portal cannot talk to an agent of wire version `v`, or null when it can. */
export function wireMismatch(v: number): string | null {
  if (v > WIRE_VERSION)
    return `The agent speaks wire version ${v}, newer than this portal (${MIN_WIRE_VERSION}–${WIRE_VERSION}): upgrade the portal first, then the agents`;
  if (v < MIN_WIRE_VERSION)
    return `The agent speaks wire version ${v}, older than this portal accepts (${MIN_WIRE_VERSION}–${WIRE_VERSION}): install the agent of this release on the node`;
  return null;
}

/** Records the mismatch on the node (its error on the Nodes page) and returns the message. */
export function refuseWire(app: App, nodeId: number, v: number): string | null {
  const why = wireMismatch(v);
  if (!why) return null;
  app.db.update(nodes).set({ lastError: why, lastSeenAt: new Date() }).where(eq(nodes.id, nodeId)).run();
  app.bus.emit("nodes:changed");
  return why;
}

/** The desired state in the shape an agent of wire version `v` parses: version 1 had no
 * certificate pins (its strict schema would refuse the key). */
export function stateForWire(state: DesiredState, v: number, pins: string[] | undefined): DesiredState {
  if (v === 1) {
    const { serverPins: _, ...rest } = state;
    return { ...rest, wireVersion: 1 };
  }
  return { ...state, wireVersion: v as WireVersion, ...(pins ? { serverPins: pins } : {}) };
}
