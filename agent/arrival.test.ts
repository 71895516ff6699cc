import { describe, expect, it } from "vitest";
import { agentReportSchema, WIRE_VERSION } from "../lib/wire";
import { parseArrival, refusalReport } from "./arrival";
import { net, port, state } from "./dataplane/state.testing";

describe("a pushed desired state is checked on arrival", () => {
  it("takes a state of the wire version it speaks", () => {
    const s = state([net(1)], [port(1, 1, 1)]);
    expect(parseArrival(s)).toEqual({ ok: true, desired: s });
  });

  it("refuses a wire version it does not speak, and reports that revision as failed", () => {
    const pushed = { ...state([net(1)], [port(1, 1, 1)]), wireVersion: WIRE_VERSION + 1, revision: 12 };
    const a = parseArrival(pushed);
    expect(a.ok).toBe(false);
    if (a.ok) return;
    expect(a.revision).toBe(12);
    expect(a.error).toContain(
      `wire version ${WIRE_VERSION + 1} is not a version this agent speaks (1–${WIRE_VERSION})`,
    );
    // The report is one the server accepts: the refusal shows as revision 12's apply error.
    const r = agentReportSchema.parse(refusalReport(3, a, { agentVersion: "0.1.0" }));
    expect(r).toMatchObject({ nodeId: 3, revision: 12, ok: false, operations: 0, error: a.error });
  });

  it("refuses a state of its version with a field it cannot read, naming the field", () => {
    const pushed = { ...state([net(1)], []), revision: 4, surprise: true };
    const a = parseArrival(pushed);
    expect(a).toMatchObject({ ok: false, revision: 4 });
    if (!a.ok) expect(a.error).toMatch(new RegExp(`does not match wire version ${WIRE_VERSION}.*surprise`));
  });
});
