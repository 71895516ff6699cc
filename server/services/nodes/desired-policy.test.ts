// compileDesiredState's fields for the agent's nftables rules: the VNET's anti-spoofing switch
// and each NIC's leased IPv6 addresses, read from a real migrated database.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { vnets } from "../../../db/schema";
import { desiredStateSchema } from "../../../lib/wire";
import { testApp, userCaller } from "../../harness.testing";

describe("compileDesiredState for the agent's nftables rules", () => {
  it("sends antiSpoofing only when it is off, and the IPv6 address of a dual-stack lease", async () => {
    const app = testApp();
    const admin = await userCaller(app, "alice", "admin", 0);
    const nodeId = (await admin.node.create({ name: "node1" })).id;
    const ds = (await admin.vnet.create({ name: "ds", subnet: "10.6.0.0/24", firstIp: "10.6.0.10", size: 1 }))
      .id;
    await admin.range.add({
      vnetId: ds,
      range: { type: "ip4_6", ip: "10.6.0.20", size: 5, globalPrefix: "2001:db8:6::/64" },
    });
    const open = (
      await admin.vnet.create({ name: "open", subnet: "10.7.0.0/24", firstIp: "10.7.0.10", size: 5 })
    ).id;
    // No vnet.update procedure yet: the column is set the way that procedure will set it.
    app.db.update(vnets).set({ antiSpoofing: false }).where(eq(vnets.id, open)).run();
    await admin.instance.create({
      name: "a",
      nodeId,
      nics: [{ vnetId: ds, ip: "10.6.0.20" }, { vnetId: open }],
    });

    const desired = desiredStateSchema.parse(await admin.node.desired({ id: nodeId }));
    const byId = new Map(desired.networks.map((n) => [n.vnetId, n]));
    expect(byId.get(ds)?.antiSpoofing).toBeUndefined();
    expect(byId.get(open)?.antiSpoofing).toBe(false);
    expect(desired.ports.map((p) => [p.addresses, p.addresses6])).toEqual([
      [["10.6.0.20/24"], ["2001:db8:6::aff:fe06:14"]],
      [["10.7.0.10/24"], undefined],
    ]);
  });
});
