// NETWORK_ID on the real kernel, driven by the server's own code: a group on VNET "apps" lets in
// ICMP from the addresses of VNET "admins" (the two are peered: unpeered VNETs do not route to each
// other at all). Each lease change on "admins" (a new instance, a hold,
// its release) changes the node's desired state as compileDesiredState builds it; once the agent's
// dataplane applied it, a sender from that address passes — or, released, is dropped again.
// Everything here starts with `bht<pid>w`.
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeKernel } from "../agent/dataplane/kernel-guard.testing";
import { run } from "../agent/dataplane/run";
import { ping, reaches, sgLab } from "../agent/dataplane/sg.testing";
import type { App } from "../server/app";
import { testApp, userCaller } from "../server/harness.testing";
import { compileDesiredState } from "../server/services/nodes/desired";

const lab = sgLab("w");

await describeKernel("security groups: NETWORK_ID follows the leases of its VNET", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let nodeId = 0;
  beforeAll(async () => {
    await lab.purge();
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
  });
  afterAll(() => lab.purge());

  /** Applies the node's desired state as the server compiles it now. */
  const apply = async () => {
    const desired = compileDesiredState(app.db, nodeId);
    if (!desired) throw new Error(`node ${nodeId} vanished`);
    const r = await lab.dp.reconcile(desired);
    expect(r.error).toBeUndefined();
    return desired;
  };
  /** The addresses the node was told the rule stands for. */
  const spans = (d: NonNullable<ReturnType<typeof compileDesiredState>>) =>
    d.securityGroups?.flatMap((g) => g.rules.flatMap((r) => r.spans ?? [])) ?? [];

  it("a new instance on the VNET is let in once applied; a held address too, and dropped again once released", async () => {
    nodeId = (await admin.node.create({ name: "node1" })).id;
    const apps = await admin.vnet.create({
      name: "apps",
      subnet: "10.31.0.0/24",
      gateway: "10.31.0.1",
      firstIp: "10.31.0.10",
      size: 10,
    });
    const adm = await admin.vnet.create({
      name: "admins",
      subnet: "10.32.0.0/24",
      gateway: "10.32.0.1",
      firstIp: "10.32.0.10",
      size: 10,
    });
    const sg = await admin.sg.create({
      name: "ping-from-admins",
      rules: [{ protocol: "ICMP", direction: "INBOUND", networkId: adm.id }],
    });
    // The node routes between two VNETs only when they are peered; the group then decides.
    await admin.peering.create({ vnetA: apps.id, vnetB: adm.id });
    await admin.sg.setVnet({ vnetId: apps.id, sgId: sg.id, attached: true });
    await admin.sg.setVnet({ vnetId: apps.id, sgId: 0, attached: false });
    await admin.instance.create({ name: "app1", nodeId, nics: [{ vnetId: apps.id, ip: "10.31.0.10" }] });
    expect(spans(await apply())).toEqual([]);

    // The node itself stands in for a sender from an address of "admins" that no guest holds yet:
    // its packets pass no guest port, so only the group can stop them (on lo: the agent manages
    // the bridges' addresses, not lo's).
    const NODE = lab.NODE;
    for (const a of ["10.32.0.15", "10.32.0.16"])
      await run("ip", ["-n", NODE, "addr", "add", `${a}/32`, "dev", "lo"]);
    expect(await ping(NODE, "10.31.0.10", "10.32.0.16")).toBe(false);

    // A new instance on "admins" gets 10.32.0.16: once applied, it is let in.
    const adm1 = await admin.instance.create({
      name: "adm1",
      nodeId,
      nics: [{ vnetId: adm.id, ip: "10.32.0.16" }],
    });
    await run("ip", ["-n", NODE, "addr", "del", "10.32.0.16/32", "dev", "lo"]);
    expect(spans(await apply())).toEqual([{ first: "10.32.0.16", size: 1 }]);
    expect(await reaches(lab.g(adm1.id), "10.31.0.10")).toBe(true);
    expect(await ping(NODE, "10.31.0.10", "10.32.0.15")).toBe(false);

    // A hold on 10.32.0.15 is part of the network too.
    await admin.lease.hold({ vnetId: adm.id, from: "10.32.0.15", reason: "jump host" });
    expect(spans(await apply())).toEqual([{ first: "10.32.0.15", size: 2 }]);
    expect(await reaches(NODE, "10.31.0.10", "10.32.0.15")).toBe(true);

    // Released: dropped again; the instance's address still passes.
    await admin.lease.release({ vnetId: adm.id, from: "10.32.0.15" });
    expect(spans(await apply())).toEqual([{ first: "10.32.0.16", size: 1 }]);
    expect(await ping(NODE, "10.31.0.10", "10.32.0.15")).toBe(false);
    expect(await reaches(lab.g(adm1.id), "10.31.0.10")).toBe(true);
  });
});
