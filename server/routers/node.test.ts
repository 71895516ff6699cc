import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { nodes } from "../../db/schema";
import { hashSecret } from "../../lib/secret";
import { WIRE_VERSION } from "../../lib/wire";
import type { App } from "../app";
import { callerFor, refusal, snapshot, testApp, userCaller } from "../harness.testing";

describe("node router and agent enrollment", () => {
  let app: App;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  beforeEach(async () => {
    app = testApp();
    admin = await userCaller(app, "alice", "admin", 0);
  });

  it("node.create returns a one-time join token that is stored only as a hash", async () => {
    const n = await admin.node.create({ name: "node1" });
    expect(n.joinToken).toMatch(/^bhj_[A-Za-z0-9_-]{43}$/);
    const row = app.db.select().from(nodes).where(eq(nodes.id, n.id)).get()!;
    expect(row.joinTokenHash).toBe(hashSecret(n.joinToken));
    expect(JSON.stringify(row)).not.toContain(n.joinToken);
    expect((await admin.node.list()).items[0]).toMatchObject({
      name: "node1",
      state: "pending",
      cluster: "default",
    });
  });

  it("agent.join exchanges the token once for a credential stored as a hash; a second use is refused", async () => {
    const n = await admin.node.create({ name: "node1" });
    const anon = callerFor(app, null);
    const joined = await anon.agent.join({ token: n.joinToken, hostname: "hv1" });
    expect(joined).toEqual({ nodeId: n.id, nodeName: "node1", credential: expect.stringMatching(/^bhc_/) });
    const row = app.db.select().from(nodes).where(eq(nodes.id, n.id)).get()!;
    expect(row.credentialHash).toBe(hashSecret(joined.credential));
    expect(row.joinTokenHash).toBeNull();
    const before = snapshot(app);
    expect((await refusal(anon.agent.join({ token: n.joinToken }))).code).toBe("FORBIDDEN");
    expect(snapshot(app)).toEqual(before);
    const audit = app.db.$client
      .prepare("SELECT action, outcome FROM audit_log WHERE action = 'agent.join' ORDER BY id")
      .all();
    expect(audit).toEqual([
      { action: "agent.join", outcome: "ok" },
      { action: "agent.join", outcome: "refused" },
    ]);
  });

  it("an expired join token is refused; node.newToken issues a fresh one", async () => {
    const n = await admin.node.create({ name: "node1" });
    app.db
      .update(nodes)
      .set({ joinTokenExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(nodes.id, n.id))
      .run();
    const anon = callerFor(app, null);
    expect((await refusal(anon.agent.join({ token: n.joinToken }))).message).toContain("expired");
    const fresh = await admin.node.newToken({ id: n.id });
    expect((await anon.agent.join({ token: fresh.joinToken })).nodeId).toBe(n.id);
  });

  it("node.revoke clears the credential so the agent's calls are refused", async () => {
    const n = await admin.node.create({ name: "node1" });
    const { credential } = await callerFor(app, null).agent.join({ token: n.joinToken });
    const agent = callerFor(app, null, { authorization: `Bearer ${credential}` });
    const report = {
      nodeId: n.id,
      revision: 0,
      ok: true,
      operations: 0,
      durationMs: 1,
      networks: [],
      ports: [],
    };
    await agent.agent.report(report);
    await admin.node.revoke({ id: n.id });
    expect((await refusal(agent.agent.report(report))).code).toBe("UNAUTHORIZED");
    expect((await admin.node.list()).items[0]!.state).toBe("revoked");
  });

  it("an agent too new or too old for the portal is refused without a write, and the Nodes page says why until it fits", async () => {
    const n = await admin.node.create({ name: "node1" });
    const { credential } = await callerFor(app, null).agent.join({ token: n.joinToken });
    const agent = callerFor(app, null, { authorization: `Bearer ${credential}` });
    const report = {
      nodeId: n.id,
      revision: 0,
      ok: true,
      operations: 0,
      durationMs: 1,
      networks: [],
      ports: [],
    };
    const before = snapshot(app);
    const err = await refusal(agent.agent.report({ ...report, wireVersion: 9 }), "PRECONDITION_FAILED");
    expect(err.message).toBe(
      `The agent speaks wire version 9, newer than this portal (1–${WIRE_VERSION}): upgrade the portal first, then the agents`,
    );
    expect(snapshot(app)).toEqual(before);
    const shown = (await admin.node.list()).items[0]!;
    expect(shown.lastError).toBe(err.message);
    expect(shown.lastSeenAt).not.toBeNull();
    // Audited once per reason, not on every retry.
    await refusal(agent.agent.report({ ...report, wireVersion: 9 }), "PRECONDITION_FAILED");
    const audited = app.db.$client
      .prepare("SELECT outcome, detail FROM audit_log WHERE action = 'agent.wire'")
      .all();
    expect(audited).toEqual([{ outcome: "refused", detail: err.message }]);
    // The agent upgraded (or the portal did): the message goes away with its first report.
    await agent.agent.report({ ...report, wireVersion: 2 });
    expect((await admin.node.list()).items[0]!.lastError).toBeNull();
  });

  it("node.remove refuses a node that hosts instances, naming them", async () => {
    const n = await admin.node.create({ name: "node1" });
    const v = await admin.vnet.create({ name: "v", subnet: "10.2.0.0/24", firstIp: "10.2.0.10", size: 5 });
    await admin.instance.create({ name: "db1", nodeId: n.id, nics: [{ vnetId: v.id }] });
    const before = snapshot(app);
    const err = await refusal(admin.node.remove({ id: n.id }));
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toContain("db1");
    expect(snapshot(app)).toEqual(before);
  });

  it("node procedures are admin-only", async () => {
    const bob = await userCaller(app, "bob");
    const before = snapshot(app);
    expect((await refusal(bob.node.create({ name: "x" }))).code).toBe("FORBIDDEN");
    expect((await refusal(bob.node.list())).code).toBe("FORBIDDEN");
    expect((await refusal(callerFor(app, null).node.list())).code).toBe("UNAUTHORIZED");
    expect(snapshot(app)).toEqual(before);
  });
});
