import { beforeEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { refusal, refusedUnchanged, snapshot, testApp, userCaller } from "../harness.testing";
import { fieldErrorsOf } from "../trpc";

const ssh = { protocol: "TCP", direction: "INBOUND", range: "22" } as const;

describe("sg router", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
  });

  /** A VNET with one instance NIC on an enrolled node. */
  async function nicOnNode() {
    const vnet = await admin.vnet.create({
      name: "web",
      subnet: "10.5.0.0/24",
      gateway: "10.5.0.1",
      firstIp: "10.5.0.10",
      size: 20,
    });
    const node = await admin.node.create({ name: "node1" });
    const inst = await admin.instance.create({ name: "vm1", nodeId: node.id, nics: [{ vnetId: vnet.id }] });
    return { vnet, node, nicId: inst.nics[0]!.nicId as number };
  }
  const node = (id: number) =>
    app.db.$client
      .prepare("SELECT desired_revision d, applied_revision a FROM nodes WHERE id = ?")
      .get(id) as {
      d: number;
      a: number;
    };

  it.each([
    [{ protocol: "ICMP", direction: "INBOUND", range: "22" }, "rules.0.range", /TCP and UDP only/],
    [{ protocol: "TCP", direction: "INBOUND", range: "80:22" }, "rules.0.range", /runs backwards/],
    [{ protocol: "UDP", direction: "INBOUND", range: "70000" }, "rules.0.range", /outside 1–65535/],
    [{ protocol: "GRE", direction: "INBOUND" }, "rules.0.protocol", /Protocol must be one of/],
    [{ protocol: "TCP", direction: "INBOUND", icmpType: 8 }, "rules.0.icmpType", /ICMP and ICMPv6 only/],
    [{ protocol: "TCP", direction: "INBOUND", size: 4 }, "rules.0.size", /needs a first IP/],
    [{ protocol: "ICMP", direction: "INBOUND", ip: "2001:db8::1" }, "rules.0.ip", /use ICMPv6/],
  ])("sg.create refuses %o at its field and writes nothing", async (rule, field, message) => {
    const before = snapshot(app);
    const err = await refusal(admin.sg.create({ name: "bad", rules: [rule as never] }), "BAD_REQUEST", field);
    expect(fieldErrorsOf(err.cause)?.[field]?.join()).toMatch(message);
    expect(snapshot(app)).toEqual(before);
  });

  it("sg.create refuses an exact duplicate rule (ports in another order) at the second rule", async () => {
    const err = await refusedUnchanged(
      app,
      () =>
        admin.sg.create({
          name: "dup",
          rules: [
            { protocol: "TCP", direction: "INBOUND", range: "80,22" },
            { protocol: "TCP", direction: "INBOUND", range: "22, 80" },
          ],
        }),
      "BAD_REQUEST",
      "rules.1.protocol",
    );
    expect(err.message).toMatch(/Rule 2 repeats rule 1/);
  });

  it("a user's group is invisible to another user: NOT_FOUND in get, update and remove, absent from list", async () => {
    const bob = await userCaller(app, "bob");
    const carol = await userCaller(app, "carol");
    const sg = await bob.sg.create({ name: "bob-web", rules: [ssh] });
    expect((await bob.sg.list()).map((s) => s.name)).toEqual(["default", "bob-web"]);
    expect((await carol.sg.list()).map((s) => s.name)).toEqual(["default"]);
    const before = snapshot(app);
    await refusal(carol.sg.get({ id: sg.id }), "NOT_FOUND");
    await refusal(carol.sg.update({ id: sg.id, name: "x", rules: [] }), "NOT_FOUND");
    await refusal(carol.sg.remove({ id: sg.id }), "NOT_FOUND");
    // Everybody may USE the default group (644) but only admins may change it.
    await refusal(carol.sg.update({ id: 0, name: "default", rules: [] }), "BAD_REQUEST");
    expect(snapshot(app)).toEqual(before);
    const audit = app.db.$client
      .prepare("SELECT action FROM audit_log WHERE outcome = 'refused' AND action LIKE 'sg.%'")
      .all();
    expect(audit).toHaveLength(3);
  });

  it("an update rolls out to every NIC: outdated until the node applies it, error when the node says so, commit re-pushes", async () => {
    const { vnet, node: n, nicId } = await nicOnNode();
    const sg = await admin.sg.create({ name: "ssh-only", rules: [ssh] });
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: sg.id, attached: true });
    const before = node(n.id).d;
    await admin.sg.update({
      id: sg.id,
      name: "ssh-only",
      rules: [ssh, { protocol: "ICMP", direction: "INBOUND", icmpType: 8 }],
    });
    const rev = node(n.id).d;
    expect(rev).toBeGreaterThan(before);
    let got = await admin.sg.get({ id: sg.id });
    expect(got.revision).toBe(rev);
    expect(got.nics).toEqual([
      expect.objectContaining({ nicId, name: "vm1 eth0", nodeName: "node1", status: "outdated" }),
    ]);
    expect(got.vnets).toEqual([
      { id: vnet.id, name: "web", canManage: true, defaultAttached: true, egressLostOnDetach: 1 },
    ]);

    // The node reports the revision with this port failed, then applied.
    const report = (ok: boolean) =>
      app.db.$client.prepare("UPDATE nodes SET applied_revision = ?, report = ? WHERE id = ?").run(
        rev,
        JSON.stringify({
          revision: rev,
          at: new Date().toISOString(),
          ok,
          operations: 1,
          durationMs: 1,
          networks: [],
          ports: [{ nicId, ok, ...(ok ? {} : { error: "nft: syntax error" }) }],
        }),
        n.id,
      );
    report(false);
    got = await admin.sg.get({ id: sg.id });
    expect(got.nics[0]).toMatchObject({ status: "error", error: "nft: syntax error" });
    const committed = await admin.sg.commit({ id: sg.id });
    expect(committed).toEqual({ nics: 1, nodes: 1 });
    expect(node(n.id).d).toBeGreaterThan(rev);
    report(true);
    got = await admin.sg.get({ id: sg.id });
    expect(got.nics[0]).toMatchObject({ status: "up to date" });
  });

  it("sg.remove refuses a group in use (naming the VNET) and the default group; both write nothing", async () => {
    const { vnet } = await nicOnNode();
    const sg = await admin.sg.create({ name: "web-in", rules: [ssh] });
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: sg.id, attached: true });
    const before = snapshot(app);
    const err = await refusal(admin.sg.remove({ id: sg.id }), "CONFLICT");
    expect(err.message).toMatch(/attached to VNET web; detach it first/);
    await refusal(admin.sg.remove({ id: 0 }), "CONFLICT");
    expect(snapshot(app)).toEqual(before);
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: sg.id, attached: false });
    await admin.sg.remove({ id: sg.id });
    expect((await admin.sg.list()).map((s) => s.name)).toEqual(["default"]);
  });

  it("explain names the deciding rule from the NIC's compiled policy, and the default group while attached", async () => {
    const { vnet, nicId } = await nicOnNode();
    const sg = await admin.sg.create({
      name: "web-in",
      rules: [
        { protocol: "TCP", direction: "INBOUND", range: "80,443" },
        { protocol: "TCP", direction: "INBOUND", ip: "192.0.2.0", size: 16, range: "22" },
      ],
    });
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: sg.id, attached: true });
    const probe = { nicId, direction: "INBOUND" as const, protocol: "tcp" as const };
    expect(await admin.sg.explain({ ...probe, remote: "198.51.100.7", port: 22 })).toMatchObject({
      verdict: "accept",
      by: "default-sg",
    });
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: 0, attached: false });
    expect(await admin.sg.explain({ ...probe, remote: "192.0.2.9", port: 22 })).toMatchObject({
      verdict: "accept",
      by: "rule",
      sgName: "web-in",
      position: 2,
    });
    expect(await admin.sg.explain({ ...probe, remote: "192.0.2.16", port: 22 })).toMatchObject({
      verdict: "drop",
      by: "default-policy",
    });
    expect(await admin.sg.explain({ ...probe, remote: "203.0.113.1", port: 443 })).toMatchObject({
      verdict: "accept",
      position: 1,
    });
    await refusal(admin.sg.explain({ ...probe, remote: "203.0.113.1" }), "BAD_REQUEST", "port");
  });
  it("explain A→B walks source, A's outbound groups, isolation and B's inbound groups, and names the deciding one", async () => {
    const vnet = await admin.vnet.create({
      name: "web",
      subnet: "10.5.0.0/24",
      gateway: "10.5.0.1",
      firstIp: "10.5.0.10",
      size: 20,
    });
    const db = await admin.vnet.create({
      name: "db",
      subnet: "10.6.0.0/24",
      gateway: "10.6.0.1",
      firstIp: "10.6.0.10",
      size: 20,
    });
    const n = await admin.node.create({ name: "node1" });
    const nicOf = async (name: string, vnetId: number) =>
      (await admin.instance.create({ name, nodeId: n.id, nics: [{ vnetId }] })).nics[0]!.nicId as number;
    const a = await nicOf("app", vnet.id);
    const b = await nicOf("api", vnet.id);
    const c = await nicOf("pg", db.id);
    const out = await admin.sg.create({
      name: "app-out",
      rules: [{ protocol: "TCP", direction: "OUTBOUND", range: "22,5432" }],
    });
    const inb = await admin.sg.create({
      name: "ssh-in",
      rules: [{ protocol: "ICMP", direction: "INBOUND" }, ssh],
    });
    await admin.sg.setNic({ nicId: a, sgId: out.id, attached: true });
    await admin.sg.setNic({ nicId: b, sgId: inb.id, attached: true });
    await admin.sg.setNic({ nicId: c, sgId: inb.id, attached: true });
    for (const v of [vnet.id, db.id]) await admin.sg.setVnet({ vnetId: v, sgId: 0, attached: false });
    const tcp = (port: number) => ({ fromNicId: a, toNicId: b, protocol: "tcp" as const, port });

    const ok = await admin.sg.explainPath(tcp(22));
    expect(ok).toMatchObject({
      verdict: "accept",
      decidedBy: null,
      source: "10.5.0.10",
      destination: "10.5.0.11",
    });
    expect(ok.steps.map((s) => s.check)).toEqual([
      "source",
      "destination",
      "outbound",
      "isolation",
      "inbound",
    ]);
    expect(ok.steps[2]).toMatchObject({ nicName: "app eth0", sgName: "app-out", position: 1 });
    expect(ok.steps[4]).toMatchObject({ nicName: "api eth0", sgName: "ssh-in", position: 2 });
    // 5432 leaves A but no rule of B lets it in; 80 is stopped already on the way out of A.
    const in5432 = await admin.sg.explainPath(tcp(5432));
    expect(in5432).toMatchObject({ verdict: "drop", decidedBy: 4 });
    expect(in5432.steps[4]).toMatchObject({ verdict: { verdict: "drop", by: "default-policy" } });
    expect(await admin.sg.explainPath(tcp(80))).toMatchObject({ verdict: "drop", decidedBy: 2 });
    // Another VNET: isolation decides until the two are peered.
    const cross = await admin.sg.explainPath({ ...tcp(22), toNicId: c });
    expect(cross).toMatchObject({ verdict: "drop", decidedBy: 3 });
    expect(cross.steps[3]).toMatchObject({
      check: "isolation",
      message:
        "web and db are not peered, so the node routes nothing between them; peer them on either VNET's page",
    });
    await admin.peering.create({ vnetA: vnet.id, vnetB: db.id });
    expect(await admin.sg.explainPath({ ...tcp(22), toNicId: c })).toMatchObject({ verdict: "accept" });
    // No IPv6 lease on A: anti-spoofing decides first.
    const v6 = await admin.sg.explainPath({ ...tcp(22), family: "ip6" });
    expect(v6.steps[0]).toMatchObject({
      check: "source",
      verdict: "drop",
      message:
        "app eth0 has no IPv6 lease: anti-spoofing drops what it sends from any other address; give it an IPv6 address on web",
    });
    // An outside address: only A's checks apply.
    const outside = await admin.sg.explainPath({
      fromNicId: a,
      toAddress: "198.51.100.7",
      protocol: "tcp",
      port: 5432,
    });
    expect(outside).toMatchObject({ verdict: "accept", to: { address: "198.51.100.7" } });
    expect(outside.steps.map((s) => s.check)).toEqual(["source", "outbound"]);

    await refusal(
      admin.sg.explainPath({ fromNicId: a, protocol: "tcp", port: 22 }),
      "BAD_REQUEST",
      "toNicId",
    );
    await refusal(admin.sg.explainPath({ ...tcp(22), toAddress: "198.51.100.7" }), "BAD_REQUEST", "toNicId");
    await refusal(admin.sg.explainPath({ ...tcp(22), toNicId: a }), "BAD_REQUEST", "toNicId");
    await refusal(admin.sg.explainPath({ fromNicId: a, toNicId: b, protocol: "udp" }), "BAD_REQUEST", "port");
    // A user who may not use B's VNET hears of no such NIC, not of its policy.
    const bob = await userCaller(app, "bob");
    await refusal(bob.sg.explainPath(tcp(22)), "NOT_FOUND");
  });

  it("sg.ofVnet lists a VNET's groups with the default one flagged, and hides another user's VNET", async () => {
    const { vnet } = await nicOnNode();
    const sg = await admin.sg.create({ name: "web-in", rules: [ssh] });
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: sg.id, attached: true });
    let got = await admin.sg.ofVnet({ id: vnet.id });
    expect(got.defaultAttached).toBe(true);
    expect(got.groups.map((g) => [g.name, g.rules])).toEqual([
      ["default", 2],
      ["web-in", 1],
    ]);
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: 0, attached: false });
    got = await admin.sg.ofVnet({ id: vnet.id });
    expect(got.defaultAttached).toBe(false);
    expect(got.groups.map((g) => g.name)).toEqual(["web-in"]);
    // The VNET is the admin's (600): another user may not even learn that it exists.
    const carol = await userCaller(app, "carol");
    await refusal(carol.sg.ofVnet({ id: vnet.id }), "NOT_FOUND");
  });

  it("sg.list names each group's owner", async () => {
    const bob = await userCaller(app, "bob");
    await bob.sg.create({ name: "bob-web", rules: [ssh] });
    expect((await bob.sg.list()).map((s) => [s.name, s.ownerName, s.rules])).toEqual([
      ["default", "system", 2],
      ["bob-web", "bob", 1],
    ]);
  });
  it("attaching a group, and detaching the default one, leave the VNET's NICs outdated until their node applies it", async () => {
    const { vnet, node: n, nicId } = await nicOnNode();
    const sg = await admin.sg.create({ name: "web-in", rules: [ssh] });
    // The node has applied everything so far.
    const applyAll = () =>
      app.db.$client.prepare("UPDATE nodes SET applied_revision = desired_revision WHERE id = ?").run(n.id);
    applyAll();
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: sg.id, attached: true });
    let got = await admin.sg.get({ id: sg.id });
    expect(got.revision).toBe(node(n.id).d);
    expect(got.nics).toEqual([expect.objectContaining({ nicId, status: "outdated" })]);
    applyAll();
    got = await admin.sg.get({ id: sg.id });
    expect(got.nics[0]).toMatchObject({ status: "up to date" });
    // Detaching the default group changes what web-in does on this VNET: outdated again.
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: 0, attached: false });
    got = await admin.sg.get({ id: sg.id });
    expect(got.revision).toBe(node(n.id).d);
    expect(got.nics[0]).toMatchObject({ status: "outdated" });
  });
  it("sg.preview gives a NIC's compiled policy: every group on it, rules in order with counters and positions", async () => {
    const { vnet, nicId } = await nicOnNode();
    const sg = await admin.sg.create({
      name: "web-in",
      rules: [ssh, { protocol: "TCP", direction: "INBOUND", ip: "192.0.2.0", size: 16, range: "443" }],
    });
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: sg.id, attached: true });
    let p = await admin.sg.preview({ nicId });
    expect(p.allowAll).toBe(true);
    expect(p.groups.map((g) => g.name)).toEqual(["default", "web-in"]);
    await admin.sg.setVnet({ vnetId: vnet.id, sgId: 0, attached: false });
    p = await admin.sg.preview({ nicId });
    expect(p.nic).toMatchObject({ name: "vm1 eth0", vnetName: "web" });
    expect(p.allowAll).toBe(false);
    expect(p.rules.map((r) => [r.sgName, r.position, r.direction, r.counter])).toEqual([
      ["web-in", 1, "INBOUND", `sg${sg.id}_r${p.rules[0]!.ruleId}`],
      ["web-in", 2, "INBOUND", `sg${sg.id}_r${p.rules[1]!.ruleId}`],
    ]);
    expect(p.rules[1]!.matches[0]).toMatchObject({ family: "ip", l4: ["tcp"], ports: [[443, 443]] });
    // The agent's own renderer, for this NIC alone: the group's chain with its counted rules.
    expect(p.nft).toContain(`chain sg_${sg.id}_in`);
    expect(p.nft).toContain(`ip saddr @sg${sg.id}_r${p.rules[1]!.ruleId}_a4 tcp dport { 443 }`);
    expect(p.nft).toContain(`counter name "sg${sg.id}_r${p.rules[0]!.ruleId}" accept`);
    const carol = await userCaller(app, "carol");
    await refusal(carol.sg.preview({ nicId }), "NOT_FOUND");
  });
  it("sg.get shows a user only the VNETs and NICs they may see, even of the default group on every VNET", async () => {
    const { vnet, nicId } = await nicOnNode();
    expect((await admin.sg.get({ id: 0 })).vnets.map((v) => v.id)).toEqual([vnet.id]);
    expect((await admin.sg.get({ id: 0 })).nics.map((n) => n.nicId)).toEqual([nicId]);
    const bob = await userCaller(app, "bob");
    const seen = await bob.sg.get({ id: 0 });
    expect(seen.vnets).toEqual([]);
    expect(seen.nics).toEqual([]);
    const count = async (c: typeof admin) => (await c.sg.list()).find((g) => g.id === 0)?.vnets;
    expect(await count(admin)).toBe(1);
    expect(await count(bob)).toBe(0);
  });

  it("a locked group refuses update and delete, naming the lock, and writes nothing", async () => {
    const sg = await admin.sg.create({ name: "locked", rules: [ssh] });
    await admin.sg.lock({ id: sg.id, level: "manage" });
    const before = snapshot(app);
    const err = await refusal(admin.sg.update({ id: sg.id, name: "locked", rules: [] }), "CONFLICT");
    expect(err.message).toMatch(/locked \(manage level\)/);
    await refusal(admin.sg.remove({ id: sg.id }), "CONFLICT");
    expect(snapshot(app)).toEqual(before);
    await admin.sg.unlock({ id: sg.id });
    await admin.sg.update({ id: sg.id, name: "locked", rules: [] });
  });
});
