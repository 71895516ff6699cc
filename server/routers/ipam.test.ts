import fs from "node:fs";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { refusal, snapshot, testApp, userCaller } from "../harness.testing";
import { fieldErrorsOf } from "../trpc";

describe("address ranges and leases", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let vnetId: number;
  let nodeId: number;
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
    vnetId = (
      await admin.vnet.create({
        name: "net",
        subnet: "10.5.0.0/16",
        gateway: "10.5.0.1",
        firstIp: "10.5.0.10",
        size: 10,
      })
    ).id;
    nodeId = (await admin.node.create({ name: "node1" })).id;
  });
  const leases = async () =>
    (await admin.lease.list({ vnetId })).rows
      .filter((l) => l.state !== "free")
      .map((l) => `${l.ip ?? l.mac}:${l.state}`);

  it("adds ranges of every type to a live VNET", async () => {
    await admin.range.add({ vnetId, range: { type: "ip4", ip: "10.5.1.0", size: 256 } });
    await admin.range.add({
      vnetId,
      range: { type: "ip4_6", ip: "10.5.2.1", size: 10, globalPrefix: "2001:db8:5::/64" },
    });
    await admin.range.add({ vnetId, range: { type: "ip6_static", ip6: "2001:db8:6::100", size: 50 } });
    await admin.range.add({ vnetId, range: { type: "ip6", ulaPrefix: "fd00:5::/64", size: 20 } });
    await admin.range.add({ vnetId, range: { type: "ether", size: 5, mac: "02:33:00:00:00:00" } });
    const v = await admin.vnet.get({ id: vnetId });
    expect(v.ranges.map((r) => r.type)).toEqual(["ip4", "ip4", "ip4_6", "ip6_static", "ip6", "ether"]);
    // Ranges without IPv4 got a random locally administered first MAC.
    expect(v.ranges[4]!.mac).toMatch(/^02:(?!00)/);
  });

  it("dual-stack NICs get an IPv4 and a SLAAC IPv6 derived from their MAC", async () => {
    const ds = (await admin.vnet.create({ name: "ds", subnet: "10.6.0.0/24", firstIp: "10.6.0.10", size: 1 }))
      .id;
    await admin.range.resize({ id: (await admin.vnet.get({ id: ds })).ranges[0]!.id, size: 1 });
    await admin.range.add({
      vnetId: ds,
      range: { type: "ip4_6", ip: "10.6.0.20", size: 5, globalPrefix: "2001:db8:6::/64" },
    });
    const inst = await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId: ds, ip: "10.6.0.20" }] });
    expect(inst.nics[0]).toMatchObject({ ip: "10.6.0.20", mac: "02:00:0a:06:00:14" });
    const [l] = (await admin.lease.list({ vnetId: ds })).rows.filter((x) => x.ip === "10.6.0.20");
    expect(l!.ip6).toBe("2001:db8:6::aff:fe06:14");
    // The history finds the live lease by its IPv6 however it is typed; a non-address finds nothing.
    for (const address of ["2001:DB8:6:0:0:AFF:FE06:14", "02:00:0A:06:00:14", "10.6.0.20"])
      expect((await admin.lease.history({ vnetId: ds, address })).map((h) => [h.action, h.instance])).toEqual(
        [["allocate", "a"]],
      );
    expect(await admin.lease.history({ vnetId: ds, address: "10.6.0" })).toEqual([]);
  });

  it.each([
    [{ type: "ip4" as const, ip: "10.5.0.15", size: 5 }, "IPv4 addresses", "range.ip"],
    [{ type: "ip4" as const, ip: "10.9.0.1", size: 5 }, "outside the VNET's subnet", "range.ip"],
    [{ type: "ether" as const, size: 5, mac: "02:00:0a:05:00:0c" }, "MAC addresses", "range.mac"],
  ])("refuses a range that clashes (%o) and writes nothing", async (range, message, field) => {
    const before = snapshot(app);
    const err = await refusal(admin.range.add({ vnetId, range }));
    expect(err.message).toContain(message);
    expect(fieldErrorsOf(err.cause)).toHaveProperty([field]);
    expect(snapshot(app)).toEqual(before);
  });

  it("refuses a static IPv6 range overlapping another, at the IPv6 field, and writes nothing", async () => {
    await admin.range.add({ vnetId, range: { type: "ip6_static", ip6: "2001:db8:7::100", size: 16 } });
    const before = snapshot(app);
    const err = await refusal(
      admin.range.add({ vnetId, range: { type: "ip6_static", ip6: "2001:db8:7::10f", size: 4 } }),
    );
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toContain("shares IPv6 addresses with range");
    expect(fieldErrorsOf(err.cause)).toHaveProperty(["range.ip6"]);
    expect(snapshot(app)).toEqual(before);
  });

  it("refuses malformed ranges at the field", async () => {
    const bad = [
      [{ type: "ip6", size: 4 }, "range.globalPrefix"],
      [{ type: "ip6", size: 4, globalPrefix: "2001:db8::1/64" }, "range.globalPrefix"],
      [{ type: "ip6_static", ip6: "nope", size: 4 }, "range.ip6"],
      [
        { type: "ip4_6", ip: "10.5.3.1", ip6: "2001:db8::1", globalPrefix: "2001:db8::/64", size: 4 },
        "range.ip6",
      ],
      [{ type: "ip4", ip: "10.5.3.1", size: 0 }, "range.size"],
      [{ type: "ether", size: 4, mac: "03:00:00:00:00:00" }, "range.mac"],
    ] as const;
    const before = snapshot(app);
    for (const [range, field] of bad) {
      const err = await refusal(admin.range.add({ vnetId, range: range as never }));
      expect(err.code, JSON.stringify(range)).toBe("BAD_REQUEST");
      expect(Object.keys(fieldErrorsOf(err.cause) ?? {}), JSON.stringify(range)).toContain(field);
    }
    expect(snapshot(app)).toEqual(before);
  });

  it("refuses IPv4 addresses another VNET of a shared cluster uses, at the field, naming it, and writes nothing", async () => {
    const before = snapshot(app);
    const created = await refusal(
      admin.vnet.create({ name: "other", subnet: "10.5.0.0/16", firstIp: "10.5.0.15", size: 10 }),
      "CONFLICT",
      "firstIp",
    );
    expect(created.message).toBe(
      "10.5.0.15–10.5.0.24 overlaps VNET net (10.5.0.15–10.5.0.19) in a shared cluster; pick other addresses, or tick \u201cAllow overlap\u201d if the two networks never meet",
    );
    expect(snapshot(app)).toEqual(before);

    const other = await admin.vnet.create({
      name: "other",
      subnet: "10.5.0.0/16",
      gateway: "10.5.0.1",
      firstIp: "10.5.0.20",
      size: 10,
    });
    expect(other.warnings).toEqual([]);
    const otherRange = (await admin.vnet.get({ id: other.id })).ranges[0]!.id;
    const beforeAdd = snapshot(app);
    const added = await refusal(
      admin.range.add({ vnetId, range: { type: "ip4", ip: "10.5.0.25", size: 10 } }),
      "CONFLICT",
      "range.ip",
    );
    expect(added.message).toContain("overlaps VNET other (10.5.0.25–10.5.0.29)");
    // Growing net's range into other's addresses is refused at the size; shrinking is not.
    const netRange = (await admin.vnet.get({ id: vnetId })).ranges[0]!.id;
    const grown = await refusal(admin.range.resize({ id: netRange, size: 11 }), "CONFLICT", "size");
    expect(grown.message).toContain("10.5.0.20–10.5.0.20 overlaps VNET other (10.5.0.20–10.5.0.20)");
    expect(snapshot(app)).toEqual(beforeAdd);
    await admin.range.resize({ id: otherRange, size: 5 });

    // A VNET in another cluster only is no concern.
    app.db.$client.prepare("INSERT INTO clusters (id, name) VALUES (7, 'far')").run();
    const far = await admin.vnet.create({
      name: "far",
      subnet: "10.5.0.0/16",
      gateway: "10.5.0.1",
      firstIp: "10.5.0.10",
      size: 5,
      clusterIds: [7],
    });
    expect(far.warnings).toEqual([]);
  });

  it("lets an admin allow an overlap on purpose, audited; an owner may not", async () => {
    const twin = await admin.vnet.create({
      name: "twin",
      subnet: "10.5.0.0/16",
      gateway: "10.5.0.1",
      firstIp: "10.5.0.10",
      size: 10,
      allowOverlap: true,
    });
    expect(twin.warnings).toEqual(["Overlaps VNET net (10.5.0.10–10.5.0.19) in a shared cluster"]);
    const r = await admin.range.add({
      vnetId,
      range: { type: "ip4", ip: "10.5.9.0", size: 4 },
      allowOverlap: true,
    });
    expect(r.warnings).toEqual([]);
    const audit = app.db.$client
      .prepare("SELECT action, detail FROM audit_log WHERE action = 'vnet.create' AND object_name = 'twin'")
      .get() as { detail: string };
    expect(audit.detail).toContain("overlap with VNET net (10.5.0.10–10.5.0.19) allowed");

    // An owner who manages a VNET may resize it, but not into another VNET's addresses, and may
    // not allow that either.
    const bob = await userCaller(app, "bob", "user", 1);
    const bobId = app.db.$client
      .prepare("SELECT id FROM user WHERE username = 'bob'")
      .pluck()
      .get() as string;
    const own = (
      await admin.vnet.create({ name: "bobs", subnet: "10.8.0.0/24", firstIp: "10.8.0.10", size: 5 })
    ).id;
    await admin.vnet.create({ name: "next", subnet: "10.8.0.0/24", firstIp: "10.8.0.15", size: 5 });
    app.db.$client.prepare("UPDATE vnets SET owner_id = ? WHERE id = ?").run(bobId, own);
    const ownRange = (await admin.vnet.get({ id: own })).ranges[0]!.id;
    const before = snapshot(app);
    await refusal(bob.range.resize({ id: ownRange, size: 6 }), "CONFLICT", "size");
    await refusal(
      bob.range.resize({ id: ownRange, size: 6, allowOverlap: true }),
      "FORBIDDEN",
      "allowOverlap",
    );
    expect(snapshot(app)).toEqual(before);
  });

  it("holds an address with a reason; allocation skips it; release makes it allocatable again", async () => {
    await admin.lease.hold({ vnetId, from: "10.5.0.10", reason: "router VIP" });
    expect(await leases()).toEqual(["10.5.0.10:hold"]);
    const a = await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId }] });
    expect(a.nics[0]!.ip).toBe("10.5.0.11");
    const before = snapshot(app);
    const err = await refusal(
      admin.instance.create({ name: "b", nodeId, nics: [{ vnetId, ip: "10.5.0.10" }] }),
    );
    expect(err.message).toContain("on hold");
    expect(snapshot(app)).toEqual(before);
    await admin.lease.release({ vnetId, from: "10.5.0.10" });
    const b = await admin.instance.create({ name: "b", nodeId, nics: [{ vnetId }] });
    expect(b.nics[0]!.ip).toBe("10.5.0.10");
  });

  it("holds and releases whole spans; holding over a used address is refused naming it", async () => {
    await admin.instance.create({ name: "web", nodeId, nics: [{ vnetId, ip: "10.5.0.14" }] });
    const before = snapshot(app);
    const err = await refusal(admin.lease.hold({ vnetId, from: "10.5.0.12", to: "10.5.0.16", reason: "x" }));
    expect(err.message).toContain("10.5.0.14 (used by web)");
    expect(snapshot(app)).toEqual(before);
    expect(
      (await admin.lease.hold({ vnetId, from: "10.5.0.15", to: "10.5.0.19", reason: "spare" })).held,
    ).toBe(5);
    const rel = await refusal(admin.lease.release({ vnetId, from: "10.5.0.14", to: "10.5.0.19" }));
    expect(rel.message).toContain("10.5.0.14 (used by web)");
    expect((await admin.lease.release({ vnetId, from: "10.5.0.15", to: "10.5.0.19" })).released).toBe(5);
  });

  it("an expired hold is released at the next allocation and the history says so", async () => {
    await admin.lease.hold({
      vnetId,
      from: "10.5.0.10",
      reason: "maintenance",
      expiresAt: new Date(Date.now() - 1),
    });
    const a = await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId }] });
    expect(a.nics[0]!.ip).toBe("10.5.0.10");
    const h = await admin.lease.history({ vnetId, address: "10.5.0.10" });
    expect(h.map((x) => [x.action, x.reason])).toEqual([
      ["allocate", null],
      ["unhold", "hold expired"],
      ["hold", "maintenance"],
    ]);
  });

  it("refuses to shrink or remove a range below its leases, naming them, and writes nothing", async () => {
    await admin.instance.create({ name: "web", nodeId, nics: [{ vnetId, ip: "10.5.0.18" }] });
    await admin.lease.hold({ vnetId, from: "10.5.0.17", reason: "printer" });
    const arId = (await admin.vnet.get({ id: vnetId })).ranges[0]!.id;
    const before = snapshot(app);
    const shrink = await refusal(admin.range.resize({ id: arId, size: 5 }));
    expect(shrink.message).toBe(
      "Cannot shrink range " +
        arId +
        " (ip4 10.5.0.10, 10 addresses) to 5: 10.5.0.17 (on hold: printer), 10.5.0.18 (used by web) would fall outside; release them first",
    );
    const rm = await refusal(admin.range.remove({ id: arId }));
    expect(rm.message).toContain("10.5.0.18 (used by web)");
    expect(snapshot(app)).toEqual(before);
    await admin.range.resize({ id: arId, size: 9 });
    expect((await admin.vnet.get({ id: vnetId })).ranges[0]!.size).toBe(9);
  });

  it("who had an address: the history names instance and user per allocation and release", async () => {
    const a = await admin.instance.create({ name: "tuesday", nodeId, nics: [{ vnetId }] });
    await admin.instance.remove({ id: a.id });
    const h = await admin.lease.history({ vnetId, address: "10.5.0.10" });
    expect(h.map((x) => [x.action, x.instanceId, x.user])).toEqual([
      ["release", a.id, "alice"],
      ["allocate", a.id, "alice"],
    ]);
  });

  it("a live lease is its own history entry; when it ends both its events are written", async () => {
    const a = await admin.instance.create({ name: "live", nodeId, nics: [{ vnetId }] });
    await admin.lease.hold({ vnetId, from: "10.5.0.12", reason: "VIP" });
    const rows = () => app.db.$client.prepare("SELECT ip, action FROM lease_history ORDER BY id").all();
    expect(rows()).toEqual([]);
    expect(
      (await admin.lease.history({ vnetId })).map((h) => [h.ip, h.action, h.instance ?? h.reason, h.user]),
    ).toEqual([
      ["10.5.0.12", "hold", "VIP", "alice"],
      ["10.5.0.10", "allocate", "live", "alice"],
    ]);
    await admin.instance.remove({ id: a.id });
    await admin.lease.release({ vnetId, from: "10.5.0.12" });
    expect(rows()).toEqual([
      { ip: "10.5.0.10", action: "allocate" },
      { ip: "10.5.0.10", action: "release" },
      { ip: "10.5.0.12", action: "hold" },
      { ip: "10.5.0.12", action: "unhold" },
    ]);
    // Newest first, per address (events of different addresses may share a millisecond).
    const h = await admin.lease.history({ vnetId });
    expect(h).toHaveLength(4);
    expect(h.filter((x) => x.ip === "10.5.0.12").map((x) => x.action)).toEqual(["unhold", "hold"]);
    expect(h.filter((x) => x.ip === "10.5.0.10").map((x) => [x.action, x.instance])).toEqual([
      ["release", "live"],
      ["allocate", "live"],
    ]);
  });

  it("removing a VNET ends its holds into the lease history", async () => {
    await admin.lease.hold({ vnetId, from: "10.5.0.10", to: "10.5.0.11", reason: "router" });
    await admin.vnet.remove({ id: vnetId });
    const rows = app.db.$client
      .prepare("SELECT vnet_id AS vnet, ip, action, reason FROM lease_history ORDER BY id")
      .all();
    expect(rows).toEqual([
      { vnet: vnetId, ip: "10.5.0.10", action: "hold", reason: "router" },
      { vnet: vnetId, ip: "10.5.0.11", action: "hold", reason: "router" },
      { vnet: vnetId, ip: "10.5.0.10", action: "unhold", reason: "VNET removed" },
      { vnet: vnetId, ip: "10.5.0.11", action: "unhold", reason: "VNET removed" },
    ]);
    expect(app.db.$client.prepare("SELECT count(*) AS n FROM leases").get()).toEqual({ n: 0 });
  });

  it("migration 0007 drops only the entry a live lease already had, so nothing shows twice", async () => {
    const a = await admin.instance.create({ name: "web", nodeId, nics: [{ vnetId }] });
    await admin.lease.hold({ vnetId, from: "10.5.0.11", reason: "VIP" });
    const s = app.db.$client;
    // As the old code wrote them: an earlier lease of the same address (allocate + release) and
    // one "allocate"/"hold" row per live lease.
    const ins = s.prepare(
      "INSERT INTO lease_history (vnet_id, ip, mac, action, instance_name, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    ins.run(vnetId, "10.5.0.10", "02:00:0a:05:00:0a", "allocate", "old", 1);
    ins.run(vnetId, "10.5.0.10", "02:00:0a:05:00:0a", "release", "old", 2);
    ins.run(vnetId, "10.5.0.10", "02:00:0a:05:00:0a", "allocate", "web", 3);
    ins.run(vnetId, "10.5.0.11", "02:00:0a:05:00:0b", "hold", null, 4);
    const file = path.join(import.meta.dirname, "../../db/migrations/0007_lease_history_at_end.sql");
    const statements = fs.readFileSync(file, "utf8").split("--> statement-breakpoint");
    s.exec(statements.at(-1)!);
    expect((await admin.lease.history({ vnetId })).map((h) => [h.ip, h.action, h.instance])).toEqual([
      ["10.5.0.11", "hold", null],
      ["10.5.0.10", "allocate", "web"],
      ["10.5.0.10", "release", "old"],
      ["10.5.0.10", "allocate", "old"],
    ]);
    expect(a.nics[0]!.ip).toBe("10.5.0.10");
  });

  it("lease.list pages through every address of a /16, filters by state and finds an address by search", async () => {
    const big = (
      await admin.vnet.create({ name: "big", subnet: "10.60.0.0/16", firstIp: "10.60.0.1", size: 65534 })
    ).id;
    await admin.lease.hold({ vnetId: big, from: "10.60.0.3", to: "10.60.0.4", reason: "VIPs" });
    await admin.instance.create({ name: "web", nodeId, nics: [{ vnetId: big, ip: "10.60.255.254" }] });
    const all = await admin.lease.list({ vnetId: big, offset: 0, limit: 5 });
    expect(all.total).toBe(65534);
    expect(all.rows.map((r) => `${r.ip}:${r.state}`)).toEqual([
      "10.60.0.1:free",
      "10.60.0.2:free",
      "10.60.0.3:hold",
      "10.60.0.4:hold",
      "10.60.0.5:free",
    ]);
    expect(all.rows[2]!.reason).toBe("VIPs");
    const tail = await admin.lease.list({ vnetId: big, offset: 65532, limit: 10 });
    expect(tail.rows.map((r) => `${r.ip}:${r.state}:${r.instance}`)).toEqual([
      "10.60.255.253:free:null",
      "10.60.255.254:used:web",
    ]);
    expect((await admin.lease.list({ vnetId: big, state: "hold" })).total).toBe(2);
    const free = await admin.lease.list({ vnetId: big, state: "free", offset: 2, limit: 2 });
    expect(free.total).toBe(65531);
    expect(free.rows.map((r) => r.ip)).toEqual(["10.60.0.5", "10.60.0.6"]);
    expect((await admin.lease.list({ vnetId: big, q: "web" })).rows.map((r) => r.ip)).toEqual([
      "10.60.255.254",
    ]);
    const exact = await admin.lease.list({ vnetId: big, q: "10.60.7.7" });
    expect(exact.rows.map((r) => `${r.ip}:${r.state}`)).toEqual(["10.60.7.7:free"]);
    expect((await admin.lease.list({ vnetId: big, q: "vips", state: "hold" })).total).toBe(2);
  });

  it("the history keeps the instance's name after the instance is gone, and searches IPv6 and MAC too", async () => {
    const a = await admin.instance.create({ name: "gone", nodeId, nics: [{ vnetId }] });
    await admin.instance.remove({ id: a.id });
    const h = await admin.lease.history({ vnetId, address: "02:00:0A:05:00:0A" });
    expect(h.map((x) => [x.action, x.instance, x.ip])).toEqual([
      ["release", "gone", "10.5.0.10"],
      ["allocate", "gone", "10.5.0.10"],
    ]);
    const inWindow = await admin.lease.history({
      vnetId,
      from: new Date(Date.now() - 60_000),
      to: new Date(),
    });
    expect(inWindow).toHaveLength(2);
    expect(await admin.lease.history({ vnetId, to: new Date(Date.now() - 60_000) })).toEqual([]);
  });

  it("a full VNET refuses the next NIC with a CONFLICT naming the VNET and its usage, holds included", async () => {
    const tiny = (
      await admin.vnet.create({ name: "tiny", subnet: "10.61.0.0/24", firstIp: "10.61.0.10", size: 2 })
    ).id;
    await admin.lease.hold({ vnetId: tiny, from: "10.61.0.10", reason: "router" });
    await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId: tiny }] });
    const before = snapshot(app);
    const err = await refusal(admin.instance.create({ name: "b", nodeId, nics: [{ vnetId: tiny }] }));
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toBe(
      "No free address left in VNET tiny (2 of 2 used); add or resize an address range",
    );
    expect(snapshot(app)).toEqual(before);
  });

  it("creates a dual-stack VNET in one step: each lease has an IPv4 and a SLAAC IPv6", async () => {
    const ds = await admin.vnet.create({
      name: "dual",
      subnet: "10.62.0.0/24",
      firstIp: "10.62.0.10",
      size: 4,
      globalPrefix: "2001:db8:62::/64",
      gateway6: "2001:db8:62::1",
    });
    const got = await admin.vnet.get({ id: ds.id });
    expect(got.ranges[0]).toMatchObject({ type: "ip4_6", globalPrefix: "2001:db8:62::/64" });
    expect(got.context.gateway6).toBe("2001:db8:62::1");
    await admin.instance.create({ name: "a", nodeId, nics: [{ vnetId: ds.id }] });
    const [l] = (await admin.lease.list({ vnetId: ds.id, state: "used" })).rows;
    expect(l).toMatchObject({ ip: "10.62.0.10", mac: "02:00:0a:3e:00:0a", ip6: "2001:db8:62::aff:fe3e:a" });
  });

  it("range.setContext overrides the VNET's context for that range only", async () => {
    const arId = (await admin.vnet.get({ id: vnetId })).ranges[0]!.id;
    await admin.range.setContext({ id: arId, context: { gateway: "10.5.0.2", dns: "10.5.0.53" } });
    expect((await admin.vnet.get({ id: vnetId })).ranges[0]!.context).toEqual({
      gateway: "10.5.0.2",
      dns: ["10.5.0.53"],
    });
    const before = snapshot(app);
    await refusal(admin.range.setContext({ id: arId, context: { dns: "nope" } }));
    expect(snapshot(app)).toEqual(before);
  });

  it("refuses to grow a range into another one or past its subnet, at the size field; an empty range can be removed", async () => {
    const second = await admin.range.add({ vnetId, range: { type: "ip4", ip: "10.5.0.30", size: 5 } });
    const arId = (await admin.vnet.get({ id: vnetId })).ranges[0]!.id;
    const before = snapshot(app);
    const grow = await refusal(admin.range.resize({ id: arId, size: 25 }));
    expect(grow.code).toBe("CONFLICT");
    expect(grow.message).toContain(`shares IPv4 addresses with range ${second.range.id}`);
    expect(fieldErrorsOf(grow.cause)).toHaveProperty(["size"]);
    const past = await refusal(admin.range.resize({ id: second.range.id, size: 70000 }));
    expect(fieldErrorsOf(past.cause)).toHaveProperty(["size"]);
    expect(snapshot(app)).toEqual(before);
    await admin.range.remove({ id: second.range.id });
    expect((await admin.vnet.get({ id: vnetId })).ranges.map((r) => r.id)).toEqual([arId]);
  });

  it("lease.hold and lease.release refuse a malformed address at its field with BAD_REQUEST naming it, writing nothing", async () => {
    const before = snapshot(app);
    for (const bad of ["not-an-ip", "10.0.0.0/99", "10.1.0.999"]) {
      for (const call of [
        () => admin.lease.hold({ vnetId, from: bad, reason: "x" }),
        () => admin.lease.release({ vnetId, from: bad }),
      ]) {
        const err = await refusal(call(), "BAD_REQUEST");
        expect(fieldErrorsOf(err.cause)).toEqual({
          from: [`${bad} is not an IPv4, IPv6 or MAC address (e.g. 10.0.0.5)`],
        });
      }
      const err = await refusal(admin.lease.hold({ vnetId, from: "10.5.0.12", to: bad, reason: "x" }));
      expect(fieldErrorsOf(err.cause)).toEqual({ to: [expect.stringContaining(`${bad} is not an IPv4`)] });
    }
    expect(snapshot(app)).toEqual(before);
  });
});
