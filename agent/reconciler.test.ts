import { describe, expect, it } from "vitest";
import { type DesiredState, WIRE_VERSION } from "../lib/wire";
import { type ReconcileResult, Reconciler } from "./reconciler";

const state = (revision: number): DesiredState => ({
  wireVersion: WIRE_VERSION,
  nodeId: 1,
  nodeName: "n",
  revision,
  networks: [],
  ports: [],
});
const ok: ReconcileResult = { ok: true, operations: 1, ops: [], durationMs: 1, networks: [], ports: [] };

describe("Reconciler", () => {
  it("runs one reconcile at a time and coalesces a burst into the newest state", async () => {
    const applied: number[] = [];
    let active = 0;
    let maxActive = 0;
    const r = new Reconciler(
      async (d) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((res) => setTimeout(res, 5));
        applied.push(d.revision);
        active--;
        return ok;
      },
      () => {},
    );
    for (let rev = 1; rev <= 10; rev++) r.submit(state(rev));
    await r.idle();
    expect(maxActive).toBe(1);
    expect(applied[0]).toBe(1);
    expect(applied.at(-1)).toBe(10);
    expect(applied.length).toBeLessThanOrEqual(2);
  });

  it("reports a throwing apply as a failed result naming the revision, and keeps going", async () => {
    const results: ReconcileResult[] = [];
    let calls = 0;
    const r = new Reconciler(
      async () => {
        calls++;
        if (calls === 1) throw new Error("ip: RTNETLINK answers: File exists");
        return ok;
      },
      (_, res) => {
        results.push(res);
      },
    );
    r.submit(state(7));
    await r.idle();
    r.kick();
    await r.idle();
    expect(results[0]).toMatchObject({ ok: false, error: expect.stringContaining("revision 7") });
    expect(results[1]).toMatchObject({ ok: true });
  });
});
