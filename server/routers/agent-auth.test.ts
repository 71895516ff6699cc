// Agent requests authenticate with their node credential only: the context of a request that
// carries one is built without better-auth's session lookup (the bulk of an agent request's cost at
// fleet size), and bad, unknown or revoked credentials are still refused and audited.
import { beforeEach, describe, expect, it } from "vitest";
import type { App } from "../app";
import { signIn } from "../auth.testing";
import { refusal, testApp, userCaller } from "../harness.testing";
import { createContext } from "../trpc";
import { createCaller } from "./root";

const PASSWORD = "password-password";

/** Every SQL statement the app's database prepares while `fn` runs. */
async function statementsDuring(app: App, fn: () => Promise<unknown>): Promise<string[]> {
  const client = app.db.$client;
  const prepare = client.prepare;
  const seen: string[] = [];
  client.prepare = ((sql: string) => {
    seen.push(sql);
    return prepare.call(client, sql);
  }) as typeof client.prepare;
  try {
    await fn();
  } finally {
    client.prepare = prepare;
  }
  return seen;
}

describe("agent requests skip the browser-session machinery", () => {
  let app: App;
  let credential: string;
  let nodeId: number;
  let cookie: string;
  const report = () => ({
    nodeId,
    revision: 0,
    ok: true,
    operations: 0,
    durationMs: 1,
    networks: [],
    ports: [],
  });
  const as = async (headers: Record<string, string>) =>
    createCaller(await createContext(app, new Headers(headers)));

  beforeEach(async () => {
    app = testApp();
    const admin = await userCaller(app, "alice", "admin", 0);
    const n = await admin.node.create({ name: "node1" });
    nodeId = n.id;
    ({ credential } = await (await as({})).agent.join({ token: n.joinToken }));
    cookie = await signIn(app, "alice", PASSWORD);
  });

  it("a report with a node credential queries no session table; the same cookie alone does", async () => {
    const agentSql = await statementsDuring(app, async () => {
      await (await as({ authorization: `Bearer ${credential}`, cookie })).agent.report(report());
    });
    expect(agentSql.length).toBeGreaterThan(0);
    expect(agentSql.filter((s) => /"session"/.test(s))).toEqual([]);
    // The control: the admin's cookie on its own is looked up in the session table.
    const browserSql = await statementsDuring(app, async () => {
      await (await as({ cookie })).node.list();
    });
    expect(browserSql.some((s) => /"session"/.test(s))).toBe(true);
  });

  it("a node credential never acts as the admin whose session cookie rides along", async () => {
    const both = await as({ authorization: `Bearer ${credential}`, cookie });
    expect((await refusal(both.node.list(), "UNAUTHORIZED")).message).toBe("Sign in to continue");
    expect((await both.agent.report(report())).ok).toBe(true);
    expect((await (await as({ cookie })).node.list()).total).toBe(1);
  });

  it("an unknown or revoked node credential is refused and audited, through the real context", async () => {
    const unknown = await as({ authorization: "Bearer bhc_not-a-real-credential" });
    expect((await refusal(unknown.agent.report(report()), "UNAUTHORIZED")).message).toContain("re-enroll");
    const admin = await as({ cookie });
    await admin.node.revoke({ id: nodeId });
    const revoked = await as({ authorization: `Bearer ${credential}` });
    await refusal(revoked.agent.report(report()), "UNAUTHORIZED");
    const rows = app.db.$client
      .prepare("SELECT outcome, detail FROM audit_log WHERE action = 'agent.auth' ORDER BY id")
      .all();
    expect(rows).toEqual([
      { outcome: "refused", detail: "unknown or revoked node credential" },
      { outcome: "refused", detail: "unknown or revoked node credential" },
    ]);
  });
});
