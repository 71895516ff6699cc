// API tokens end to end through the real context builder: a token acts as its user exactly like
// their session, read-only tokens change nothing, and only hashes are stored.
import { beforeEach, describe, expect, it } from "vitest";
import { hashSecret } from "../../lib/secret";
import type { App } from "../app";
import { fixtureUser, refusal, refusedUnchanged, snapshot, testApp } from "../harness.testing";
import { createContext } from "../trpc";
import { createCaller } from "./root";

/** A caller that authenticates the way an HTTP request does, with `Authorization: Bearer …`. */
async function tokenCaller(app: App, token: string) {
  return createCaller(await createContext(app, new Headers({ authorization: `Bearer ${token}` })));
}

const auditRows = (app: App, action: string) =>
  app.db.$client.prepare("SELECT * FROM audit_log WHERE action = ? ORDER BY id").all(action) as Record<
    string,
    unknown
  >[];

describe("API tokens", () => {
  let app: App;
  let admin: ReturnType<typeof fixtureUser>;
  let alice: ReturnType<typeof fixtureUser>;
  let bob: ReturnType<typeof fixtureUser>;
  beforeEach(async () => {
    app = testApp();
    app.db.$client.prepare("INSERT INTO groups (id, name) VALUES (2, 'team')").run();
    admin = fixtureUser(app, "root", "admin", [0]);
    alice = fixtureUser(app, "alice", "user", [2]);
    bob = fixtureUser(app, "bob", "user", [1]);
  });

  it("token.create shows the secret once; the list and the database hold only its prefix and hash", async () => {
    const t = await alice.caller.token.create({ name: "ci", expiresInDays: 30, readOnly: false });
    expect(t.token).toMatch(/^bht_[A-Za-z0-9_-]{43}$/);
    expect(t.token.startsWith(t.prefix)).toBe(true);
    const listed = await alice.caller.token.list();
    expect(listed).toEqual([
      expect.objectContaining({ id: t.id, name: "ci", state: "active", readOnly: false }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(t.token);
    const row = app.db.$client.prepare("SELECT * FROM api_tokens").get() as Record<string, unknown>;
    expect(row.token_hash).toBe(hashSecret(t.token));
    expect(JSON.stringify(row)).not.toContain(t.token);
    expect(auditRows(app, "token.create")).toEqual([
      expect.objectContaining({ actor: "alice", object_id: String(t.id), outcome: "ok" }),
    ]);
    // Expiry: 30 days from now, give or take the test's own run time.
    expect(Math.abs(t.expiresAt!.getTime() - (Date.now() + 30 * 86_400_000))).toBeLessThan(60_000);
  });

  it("a token sees exactly what its user sees (the same permitted() filters) and its changes are audited as the token", async () => {
    const a = admin.caller;
    const shared = await a.vnet.create({
      name: "shared",
      subnet: "10.1.0.0/24",
      firstIp: "10.1.0.10",
      size: 5,
    });
    await a.vnet.create({ name: "hidden", subnet: "10.2.0.0/24", firstIp: "10.2.0.10", size: 5 });
    // alice's group may USE and MANAGE "shared" only.
    app.db.$client.prepare("UPDATE vnets SET group_id = 2, perms = ? WHERE id = ?").run(0o660, shared.id);
    app.db.$client.prepare("UPDATE vnets SET perms = 0 WHERE id != ?").run(shared.id);
    const t = await alice.caller.token.create({ name: "script", expiresInDays: null, readOnly: false });
    const viaToken = await tokenCaller(app, t.token);
    const bySession = (await alice.caller.vnet.list()).map((v) => v.name);
    expect((await viaToken.vnet.list()).map((v) => v.name)).toEqual(bySession);
    expect(bySession).toEqual(["shared"]);
    expect((await viaToken.user.me())?.username).toBe("alice");
    await refusal(viaToken.vnet.get({ id: shared.id + 1 }), "NOT_FOUND");
    await refusal(
      viaToken.vnet.create({ name: "x", subnet: "10.3.0.0/24", firstIp: "10.3.0.10", size: 5 }),
      "FORBIDDEN",
    );
    await viaToken.lease.hold({ vnetId: shared.id, from: "10.1.0.11", reason: "by script" });
    const held = auditRows(app, "lease.hold").at(-1)!;
    expect(held).toMatchObject({ actor: "alice", via: `token:script (#${t.id})`, outcome: "ok" });
  });

  it("a read-only token answers queries and is refused every mutation: FORBIDDEN, nothing written, audited", async () => {
    const v = await admin.caller.vnet.create({
      name: "n",
      subnet: "10.1.0.0/24",
      firstIp: "10.1.0.10",
      size: 5,
    });
    const t = await admin.caller.token.create({ name: "monitor", expiresInDays: 7, readOnly: true });
    const ro = await tokenCaller(app, t.token);
    expect((await ro.vnet.list()).map((x) => x.id)).toEqual([v.id]);
    const before = snapshot(app);
    const err = await refusal(
      ro.lease.hold({ vnetId: v.id, from: "10.1.0.11", reason: "kept" }),
      "FORBIDDEN",
    );
    expect(err.message).toBe("This API token is read-only; create a read-write token to change things");
    await refusal(ro.vnet.remove({ id: v.id }), "FORBIDDEN");
    expect(snapshot(app)).toEqual(before);
    expect(auditRows(app, "lease.hold")).toEqual([
      expect.objectContaining({ outcome: "refused", via: `token:monitor (#${t.id})` }),
    ]);
  });

  it("unknown, revoked and expired tokens and tokens of a banned user are UNAUTHORIZED with the way out, and audited", async () => {
    const t = await alice.caller.token.create({ name: "old", expiresInDays: 1, readOnly: false });
    const r = await alice.caller.token.create({ name: "gone", expiresInDays: null, readOnly: false });
    await alice.caller.token.revoke({ id: r.id });
    app.db.$client.prepare("UPDATE api_tokens SET expires_at = ? WHERE id = ?").run(Date.now() - 1000, t.id);
    const cases: [string, RegExp][] = [
      ["bht_not-a-token", /not known/],
      [r.token, /was revoked/],
      [t.token, /has expired/],
    ];
    for (const [secret, msg] of cases) {
      const err = await refusal((await tokenCaller(app, secret)).vnet.list(), "UNAUTHORIZED");
      expect(err.message).toMatch(msg);
    }
    const b = await bob.caller.token.create({ name: "b", expiresInDays: null, readOnly: true });
    app.db.$client.prepare("UPDATE user SET banned = 1 WHERE id = ?").run(bob.id);
    await refusal((await tokenCaller(app, b.token)).user.groups(), "UNAUTHORIZED");
    expect(auditRows(app, "token.auth").map((e) => e.outcome)).toEqual([
      "refused",
      "refused",
      "refused",
      "refused",
    ]);
    expect(await (await tokenCaller(app, "bht_nope")).user.me()).toBeNull();
  });

  it("tokens are managed from a session only: a token cannot create, list or revoke tokens", async () => {
    const t = await alice.caller.token.create({ name: "rw", expiresInDays: null, readOnly: false });
    const viaToken = await tokenCaller(app, t.token);
    const before = snapshot(app);
    await refusal(viaToken.token.create({ name: "more", expiresInDays: null, readOnly: false }), "FORBIDDEN");
    await refusal(viaToken.token.revoke({ id: t.id }), "FORBIDDEN");
    await refusal(viaToken.token.list(), "FORBIDDEN");
    expect(snapshot(app)).toEqual(before);
  });

  it("an admin lists and revokes anyone's token; another user cannot see or revoke it (NOT_FOUND)", async () => {
    const t = await alice.caller.token.create({ name: "alice-ci", expiresInDays: null, readOnly: false });
    await refusal(bob.caller.token.listAll(), "FORBIDDEN");
    await refusedUnchanged(app, () => bob.caller.token.revoke({ id: t.id }), "NOT_FOUND");
    expect(await bob.caller.token.list()).toEqual([]);
    const all = await admin.caller.token.listAll();
    expect(all).toEqual([expect.objectContaining({ id: t.id, username: "alice", state: "active" })]);
    await admin.caller.token.revoke({ id: t.id });
    expect((await alice.caller.token.list())[0]!.state).toBe("revoked");
    await refusal((await tokenCaller(app, t.token)).vnet.list(), "UNAUTHORIZED");
    expect(auditRows(app, "token.revoke")).toEqual([
      expect.objectContaining({ actor: "bob", object_id: String(t.id), outcome: "refused" }),
      expect.objectContaining({ actor: "root", object_id: String(t.id), outcome: "ok" }),
    ]);
  });

  it("token.create refuses a bad name or lifetime at its field and writes nothing", async () => {
    const before = snapshot(app);
    await refusal(
      alice.caller.token.create({ name: "  ", expiresInDays: 7, readOnly: true }),
      "BAD_REQUEST",
      "name",
    );
    await refusal(
      alice.caller.token.create({ name: "x", expiresInDays: 0, readOnly: true }),
      "BAD_REQUEST",
      "expiresInDays",
    );
    expect(snapshot(app)).toEqual(before);
  });
});
