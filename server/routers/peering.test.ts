// VNET peerings through the router on a real migrated database: MANAGE on both sides makes it
// active at once; MANAGE on one and USE on the other proposes it, and only the other side's
// manager accepts; either side removes it. Another tenant's invisible VNET is NOT_FOUND, a
// duplicate CONFLICT, a VNET with itself BAD_REQUEST at the field; every refusal re-reads the
// database. Each change is audited, bumps the nodes hosting either VNET, and reaches their
// desired state as the peered VNET's id and subnet.
import { beforeEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { fixtureUser, refusal, refusedUnchanged, snapshot, testApp } from "../harness.testing";
import { compileDesiredState } from "../services/nodes/desired";

let app: App;
let fx: Awaited<ReturnType<typeof build>>;

/** bob owns VNET "bob-net" and carol "carol-net" (600: invisible to each other), each with an
 * instance on node n1; "bob-2" is bob's too, on node n2; "spare" has no instance anywhere. */
async function build() {
  const s = app.db.$client;
  const admin = fixtureUser(app, "root", "admin", [0]);
  const bob = fixtureUser(app, "bob", "user", [1]);
  const carol = fixtureUser(app, "carol", "user", [1]);
  const dave = fixtureUser(app, "dave", "user", [1]);
  const a = admin.caller;
  const mk = async (name: string, n: number, owner: string) => {
    const v = await a.vnet.create({
      name,
      subnet: `10.${n}.0.0/24`,
      gateway: `10.${n}.0.1`,
      firstIp: `10.${n}.0.10`,
      size: 5,
    });
    s.prepare("UPDATE vnets SET owner_id = ?, perms = 384 WHERE id = ?").run(owner, v.id);
    return v.id;
  };
  const n1 = (await a.node.create({ name: "n1" })).id;
  const n2 = (await a.node.create({ name: "n2" })).id;
  const bobNet = await mk("bob-net", 41, bob.id);
  const carolNet = await mk("carol-net", 42, carol.id);
  const bob2 = await mk("bob-2", 43, bob.id);
  const spare = await mk("spare", 44, bob.id);
  await a.instance.create({ name: "b1", nodeId: n1, nics: [{ vnetId: bobNet }] });
  await a.instance.create({ name: "c1", nodeId: n1, nics: [{ vnetId: carolNet }] });
  await a.instance.create({ name: "b2", nodeId: n2, nics: [{ vnetId: bob2 }] });
  return {
    admin: a,
    bob: bob.caller,
    carol: carol.caller,
    dave: dave.caller,
    n1,
    n2,
    bobNet,
    carolNet,
    bob2,
    spare,
  };
}

const revisions = () =>
  Object.fromEntries(
    (
      app.db.$client.prepare("SELECT name, desired_revision AS r FROM nodes").all() as {
        name: string;
        r: number;
      }[]
    ).map((n) => [n.name, n.r]),
  );
const audits = (action: string) =>
  app.db.$client
    .prepare("SELECT actor, object_name AS name, detail FROM audit_log WHERE action = ? AND outcome = 'ok'")
    .all(action);
const peerings = () => app.db.$client.prepare("SELECT vnet_a, vnet_b, state FROM vnet_peerings").all();

beforeEach(async () => {
  app = testApp();
  fx = await build();
});

describe("peering", () => {
  it("peering.create with MANAGE on both VNETs is active at once, audited, on both VNET pages and in the hosting nodes' desired state", async () => {
    const before = revisions();
    const p = await fx.bob.peering.create({ vnetA: fx.bob2, vnetB: fx.bobNet });
    expect(p).toMatchObject({ state: "active", vnetA: fx.bobNet, vnetB: fx.bob2 });
    const after = revisions();
    expect(after.n1).toBeGreaterThan(before.n1!);
    expect(after.n2).toBeGreaterThan(before.n2!);
    expect(audits("peering.create")).toEqual([
      { actor: "bob", name: "bob-net ↔ bob-2", detail: "active (MANAGE on both)" },
    ]);
    for (const [self, other] of [
      [fx.bobNet, "bob-2"],
      [fx.bob2, "bob-net"],
    ] as const) {
      const list = await fx.bob.peering.list({ vnetId: self });
      expect(list.map((l) => [l.vnet.id, l.peer.name, l.state, l.proposedBy])).toEqual([
        [self, other, "active", "bob"],
      ]);
    }
    const d1 = compileDesiredState(app.db, fx.n1)!;
    expect(d1.networks.find((n) => n.vnetId === fx.bobNet)?.peers).toEqual([
      { vnetId: fx.bob2, subnet: "10.43.0.0/24" },
    ]);
    expect(d1.networks.find((n) => n.vnetId === fx.carolNet)?.peers).toBeUndefined();
    const d2 = compileDesiredState(app.db, fx.n2)!;
    expect(d2.networks.find((n) => n.vnetId === fx.bob2)?.peers).toEqual([
      { vnetId: fx.bobNet, subnet: "10.41.0.0/24" },
    ]);
  });

  it("peering.create refuses another tenant's VNET it cannot see (NOT_FOUND) and changes nothing", async () => {
    const err = await refusedUnchanged(
      app,
      () => fx.bob.peering.create({ vnetA: fx.bobNet, vnetB: fx.carolNet }),
      "NOT_FOUND",
    );
    expect(err.message).toBe(`VNET ${fx.carolNet} not found`);
    expect(await fx.carol.peering.list()).toEqual([]);
  });

  it("MANAGE on one side and USE on the other proposes; only the other side's manager accepts; then the nodes are bumped", async () => {
    // carol lets others USE her VNET (604): bob may propose, not impose.
    app.db.$client.prepare("UPDATE vnets SET perms = 388 WHERE id = ?").run(fx.carolNet);
    const rev0 = revisions();
    const p = await fx.bob.peering.create({ vnetA: fx.bobNet, vnetB: fx.carolNet });
    expect(p.state).toBe("proposed");
    // A proposal changes nothing on the nodes yet.
    expect(revisions()).toEqual(rev0);
    expect(compileDesiredState(app.db, fx.n1)!.networks.every((n) => !n.peers)).toBe(true);
    const carolSees = await fx.carol.peering.list({ vnetId: fx.carolNet });
    expect(carolSees.map((l) => [l.peer.name, l.state, l.proposedBy, l.canAccept])).toEqual([
      ["bob-net", "proposed", "bob", true],
    ]);
    // The proposer cannot accept his own proposal, nor can dave, who only sees carol-net.
    let before = snapshot(app);
    const own = await refusal(fx.bob.peering.accept({ id: p.id }), "FORBIDDEN");
    expect(own.message).toMatch(/You need MANAGE permission on VNET carol-net to accept/);
    await refusal(fx.dave.peering.accept({ id: p.id }), "FORBIDDEN");
    expect(snapshot(app)).toEqual(before);
    // A second proposal of the same pair, from either side, is a duplicate.
    before = snapshot(app);
    const dup = await refusal(fx.carol.peering.create({ vnetA: fx.carolNet, vnetB: fx.bobNet }), "NOT_FOUND");
    expect(dup.message).toBe(`VNET ${fx.bobNet} not found`);
    const dup2 = await refusal(fx.bob.peering.create({ vnetA: fx.carolNet, vnetB: fx.bobNet }), "CONFLICT");
    expect(dup2.message).toMatch(/already proposed \(peering \d+\); a manager of the other side accepts it/);
    expect(snapshot(app)).toEqual(before);

    expect(await fx.carol.peering.accept({ id: p.id })).toEqual({ id: p.id, state: "active" });
    expect(revisions().n1).toBeGreaterThan(rev0.n1!);
    expect(revisions().n2).toBe(rev0.n2); // hosts neither VNET
    expect(audits("peering.accept")).toEqual([
      { actor: "carol", name: "bob-net ↔ carol-net", detail: "accepted for carol-net" },
    ]);
    const d = compileDesiredState(app.db, fx.n1)!;
    expect(d.networks.find((n) => n.vnetId === fx.carolNet)?.peers).toEqual([
      { vnetId: fx.bobNet, subnet: "10.41.0.0/24" },
    ]);
    await refusal(fx.carol.peering.accept({ id: p.id }), "CONFLICT");
  });

  it("peering.create refuses a VNET with itself at the field, a duplicate with CONFLICT, USE-only with FORBIDDEN; nothing is written", async () => {
    await fx.bob.peering.create({ vnetA: fx.bobNet, vnetB: fx.spare });
    const before = snapshot(app);
    const self = await refusal(
      fx.bob.peering.create({ vnetA: fx.bobNet, vnetB: fx.bobNet }),
      "BAD_REQUEST",
      "vnetB",
    );
    expect(self.message).toMatch(/cannot be peered with itself/);
    const dup = await refusal(fx.bob.peering.create({ vnetA: fx.spare, vnetB: fx.bobNet }), "CONFLICT");
    expect(dup.message).toMatch(/VNETs bob-net ↔ spare are already peered \(peering \d+\)/);
    // dave may USE both of bob's VNETs (other: USE) but manages neither.
    app.db.$client.prepare("UPDATE vnets SET perms = 388 WHERE owner_id = 'u-bob'").run();
    const snap = snapshot(app);
    const useOnly = await refusal(fx.dave.peering.create({ vnetA: fx.bob2, vnetB: fx.bobNet }), "FORBIDDEN");
    expect(useOnly.message).toMatch(/You need MANAGE permission on VNET bob-2 or bob-net/);
    expect(snapshot(app)).toEqual(snap);
    app.db.$client.prepare("UPDATE vnets SET perms = 384 WHERE owner_id = 'u-bob'").run();
    expect(snapshot(app)).toEqual(before);
    expect(peerings()).toHaveLength(1);
  });

  it("peering.remove by either side's manager bumps both VNETs' nodes and is audited; a stranger gets NOT_FOUND, a USE-only caller FORBIDDEN", async () => {
    app.db.$client.prepare("UPDATE vnets SET perms = 388 WHERE id = ?").run(fx.carolNet);
    const p = await fx.bob.peering.create({ vnetA: fx.bobNet, vnetB: fx.carolNet });
    await fx.carol.peering.accept({ id: p.id });
    let before = snapshot(app);
    await refusal(fx.dave.peering.remove({ id: p.id }), "FORBIDDEN"); // sees carol-net (USE)
    app.db.$client.prepare("UPDATE vnets SET perms = 384 WHERE id = ?").run(fx.carolNet);
    before = snapshot(app);
    await refusal(fx.dave.peering.remove({ id: p.id }), "NOT_FOUND");
    expect(snapshot(app)).toEqual(before);
    const rev = revisions();
    expect(await fx.carol.peering.remove({ id: p.id })).toEqual({ id: p.id });
    expect(revisions().n1).toBeGreaterThan(rev.n1!);
    expect(peerings()).toEqual([]);
    expect(audits("peering.remove")).toEqual([
      { actor: "carol", name: "bob-net ↔ carol-net", detail: "was active" },
    ]);
    expect(compileDesiredState(app.db, fx.n1)!.networks.every((n) => !n.peers)).toBe(true);
    await refusal(fx.bob.peering.remove({ id: p.id }), "NOT_FOUND");
  });

  it("peering.list without a VNET lists what the caller sees; an invisible VNET's list is NOT_FOUND", async () => {
    await fx.bob.peering.create({ vnetA: fx.bobNet, vnetB: fx.bob2 });
    expect((await fx.bob.peering.list()).map((l) => l.peer.name)).toEqual(["bob-2"]);
    expect((await fx.admin.peering.list()).length).toBe(1);
    expect(await fx.carol.peering.list()).toEqual([]);
    await refusal(fx.carol.peering.list({ vnetId: fx.bobNet }), "NOT_FOUND");
  });

  it("deleting a VNET removes its peerings", async () => {
    await fx.bob.peering.create({ vnetA: fx.spare, vnetB: fx.bob2 });
    await fx.bob.vnet.remove({ id: fx.spare });
    expect(peerings()).toEqual([]);
  });
});
