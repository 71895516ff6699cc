// Detaching the default group from a VNET whose other groups have inbound rules only leaves its
// NICs with no egress at all (no DNS, no updates); the portal says so before and after the click.
import { beforeEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { testApp, userCaller } from "../harness.testing";

const ssh = { protocol: "TCP", direction: "INBOUND", range: "22" } as const;
const allOut = { protocol: "ALL", direction: "OUTBOUND" } as const;

describe("security groups say what egress a detach costs", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
  });

  /** A VNET with the default group and an inbound-only group, and `n` NICs on it. */
  async function vnetWithNics(n: number) {
    const vnet = await admin.vnet.create({
      name: "web",
      subnet: "10.5.0.0/24",
      gateway: "10.5.0.1",
      firstIp: "10.5.0.10",
      size: 20,
    });
    const node = await admin.node.create({ name: "node1" });
    for (let i = 0; i < n; i++)
      await admin.instance.create({ name: `vm${i}`, nodeId: node.id, nics: [{ vnetId: vnet.id }] });
    const sg = await admin.sg.create({ name: "ssh-in", rules: [ssh] });
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: sg.id, attached: true });
    return { vnet, sg };
  }
  const auditDetail = () =>
    app.db.$client
      .prepare("SELECT detail FROM audit_log WHERE action = 'sg.detach' ORDER BY id DESC LIMIT 1")
      .get() as { detail: string } | undefined;

  it("before the click: the VNET's groups and the group say how many NICs lose all egress", async () => {
    const { vnet, sg } = await vnetWithNics(3);
    expect((await admin.sg.ofVnet({ id: vnet.id })).egressLostOnDetach).toBe(3);
    const got = await admin.sg.get({ id: sg.id });
    expect(got.vnets).toMatchObject([{ name: "web", defaultAttached: true, egressLostOnDetach: 3 }]);
    expect(got.egress?.message).toBe(
      "No outbound rule: all egress from 3 NICs will be dropped wherever no other group allows it (no DNS, no updates)",
    );
  });

  it("the detach answers and audits the NICs left without egress; an outbound rule clears it", async () => {
    const { vnet, sg } = await vnetWithNics(2);
    const r = await admin.sg.setVnet({ vnetId: vnet.id, sgId: 0, attached: false });
    expect(r.warnings).toEqual(["No outbound rule: all egress from 2 NICs on VNET web is dropped"]);
    expect(auditDetail()?.detail).toBe("security group default (0); 2 NICs left with no outbound rule");
    // Re-attach, give the group an outbound rule: nothing is lost any more.
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: 0, attached: true });
    await admin.sg.update({ id: sg.id, name: "ssh-in", description: "", rules: [ssh, allOut] });
    expect((await admin.sg.ofVnet({ id: vnet.id })).egressLostOnDetach).toBe(0);
    expect((await admin.sg.get({ id: sg.id })).egress).toBeNull();
    const r2 = await admin.sg.setVnet({ vnetId: vnet.id, sgId: 0, attached: false });
    expect(r2.warnings).toEqual([]);
    expect(auditDetail()?.detail).toBe("security group default (0)");
  });

  it("a NIC's own allow-all group keeps its egress; a VNET without NICs costs nothing", async () => {
    const { vnet } = await vnetWithNics(2);
    const nic = (await admin.instance.list()).find((i) => i.name === "vm0")!.nics[0]!;
    const out = await admin.sg.create({ name: "out", rules: [allOut] });
    await admin.sg.setNic({ nicId: nic.nicId, sgId: out.id, attached: true });
    expect((await admin.sg.ofVnet({ id: vnet.id })).egressLostOnDetach).toBe(1);
    const empty = await admin.vnet.create({
      name: "empty",
      subnet: "10.6.0.0/24",
      gateway: "10.6.0.1",
      firstIp: "10.6.0.10",
      size: 5,
    });
    expect((await admin.sg.ofVnet({ id: empty.id })).egressLostOnDetach).toBe(0);
  });
});
