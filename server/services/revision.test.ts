// mutate() knows no feature: features register lease-change hooks on the App, and a change that
// marks a VNET's leases bumps the nodes those hooks name, in the same transaction; a rolled-back
// change leaves no mark behind for the next one.
import { describe, expect, it } from "vitest";
import { testApp, userCaller } from "../harness.testing";
import { leasesChanged } from "./lease-changes";
import { mutate } from "./revision";

describe("mutate and the lease-change hooks", () => {
  it("runs every registered hook with the VNETs whose leases changed and bumps the nodes they name", async () => {
    const app = testApp();
    const admin = await userCaller(app, "alice", "admin", 0);
    const n = await admin.node.create({ name: "n1" });
    const rev = () =>
      (app.db.$client.prepare("SELECT desired_revision d FROM nodes WHERE id = ?").get(n.id) as { d: number })
        .d;
    const seen: number[][] = [];
    app.leaseChangeHooks.push((_tx, vnetIds) => {
      seen.push(vnetIds);
      return [n.id];
    });
    const before = rev();
    mutate(app, () => {}); // no lease marked: no hook runs, nothing bumped
    expect(seen).toEqual([]);
    expect(rev()).toBe(before);

    mutate(app, (tx) => {
      leasesChanged(tx, 7);
      leasesChanged(tx, 9);
      leasesChanged(tx, 7);
    });
    expect(seen).toEqual([[7, 9]]);
    expect(rev()).toBeGreaterThan(before);

    expect(() =>
      mutate(app, (tx) => {
        leasesChanged(tx, 11);
        throw new Error("rolled back");
      }),
    ).toThrow("rolled back");
    mutate(app, () => {});
    expect(seen).toEqual([[7, 9]]);
  });
});
