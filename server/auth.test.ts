// Account actions through the real /api/auth handler: sign-in (both outcomes), sign-out and
// change-password are audited with actor, target and outcome; failed sign-ins are limited per
// account and per address in SQLite (so a restart keeps the count); the session cookie's Secure
// flag follows the scheme the browser used.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { auditLog, session, user } from "../db/schema";
import { type App, createApp } from "./app";
import { authRequest, cookieOf, signIn } from "./auth.testing";
import { loadEnv } from "./env";
import { testApp } from "./harness.testing";
import { createUser } from "./services/users";
import { ACCOUNT_LIMIT, ADDRESS_LIMIT } from "./sign-in-limit";

const PASSWORD = "password-password";
const SECRET = "test-secret-test-secret-test-secret-0000";

async function withUser(app: App, username: string, role: "admin" | "user" = "user") {
  const { id } = await createUser(
    app,
    { userId: null, name: "test", ip: null },
    { username, name: username, password: PASSWORD, role, groupId: 1 },
  );
  return id;
}

const entries = (app: App, action: string) =>
  app.db.select().from(auditLog).where(eq(auditLog.action, action)).all();

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("account actions are audited", () => {
  it("a successful sign-in is written with the user, the target and the address", async () => {
    const app = testApp();
    const id = await withUser(app, "alice");
    await signIn(app, "alice", PASSWORD);
    expect(entries(app, "auth.signIn")).toMatchObject([
      {
        userId: id,
        actor: "alice",
        objectType: "user",
        objectId: id,
        objectName: "alice",
        outcome: "ok",
        sourceIp: "203.0.113.7",
      },
    ]);
  });

  it("a failed sign-in is written as refused, naming the account tried", async () => {
    const app = testApp();
    await withUser(app, "alice");
    const res = await authRequest(app, "/sign-in/username", {
      body: { username: "alice", password: "wrong-password-1" },
    });
    expect(res.status).toBe(401);
    expect(entries(app, "auth.signIn")).toMatchObject([
      { userId: null, actor: "anonymous", objectName: "alice", outcome: "refused", sourceIp: "203.0.113.7" },
    ]);
  });

  it("sign-out is written with the user who signed out", async () => {
    const app = testApp();
    const id = await withUser(app, "alice");
    const cookie = await signIn(app, "alice", PASSWORD);
    const res = await authRequest(app, "/sign-out", { cookie });
    expect(res.status).toBe(200);
    expect(entries(app, "auth.signOut")).toMatchObject([
      { userId: id, actor: "alice", objectId: id, outcome: "ok" },
    ]);
    expect(app.db.select().from(session).where(eq(session.userId, id)).all()).toEqual([]);
  });
});

describe("change password", () => {
  it("needs the current password: a wrong one changes nothing and is audited as refused", async () => {
    const app = testApp();
    await withUser(app, "alice");
    const cookie = await signIn(app, "alice", PASSWORD);
    const res = await authRequest(app, "/change-password", {
      cookie,
      body: {
        currentPassword: "not-my-password",
        newPassword: "a-brand-new-password",
        revokeOtherSessions: true,
      },
    });
    expect(res.status).toBe(400);
    expect(entries(app, "auth.changePassword")).toMatchObject([{ actor: "alice", outcome: "refused" }]);
    await signIn(app, "alice", PASSWORD); // the old password still works
  });

  it("with the current password: the new one works, the old does not, every other session ends", async () => {
    const app = testApp();
    const id = await withUser(app, "alice");
    const other = await signIn(app, "alice", PASSWORD);
    const mine = await signIn(app, "alice", PASSWORD);
    const res = await authRequest(app, "/change-password", {
      cookie: mine,
      body: { currentPassword: PASSWORD, newPassword: "a-brand-new-password", revokeOtherSessions: true },
    });
    expect(res.status).toBe(200);
    const fresh = cookieOf(res) || mine;
    const sessionOf = async (cookie: string) =>
      (await (await authRequest(app, "/get-session", { method: "GET", cookie })).json()) as {
        user?: { id: string };
      } | null;
    expect((await sessionOf(other))?.user).toBeUndefined();
    expect((await sessionOf(fresh))?.user?.id).toBe(id);
    expect(app.db.select().from(session).where(eq(session.userId, id)).all()).toHaveLength(1);
    expect(entries(app, "auth.changePassword")).toMatchObject([
      { userId: id, actor: "alice", objectId: id, outcome: "ok", detail: "other sessions ended" },
    ]);
    const old = await authRequest(app, "/sign-in/username", {
      body: { username: "alice", password: PASSWORD },
    });
    expect(old.status).toBe(401);
    await signIn(app, "alice", "a-brand-new-password");
  });
});

describe("failed sign-ins are limited", () => {
  const fail = (app: App, username: string, ip = "203.0.113.7") =>
    authRequest(app, "/sign-in/username", {
      body: { username, password: "wrong-password-1" },
      headers: { "x-forwarded-for": ip },
    });

  it(`per account: after ${ACCOUNT_LIMIT} failures even the right password is refused, from any address, with the wait`, async () => {
    const app = testApp();
    await withUser(app, "alice");
    for (let i = 0; i < ACCOUNT_LIMIT; i++)
      expect((await fail(app, "alice", `198.51.100.${i + 1}`)).status).toBe(401);
    const res = await authRequest(app, "/sign-in/username", {
      body: { username: "alice", password: PASSWORD },
      headers: { "x-forwarded-for": "198.51.100.200" },
    });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { message: string }).message).toBe(
      "Too many failed sign-ins for alice; try again in 15 minutes",
    );
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(entries(app, "auth.signIn").at(-1)).toMatchObject({ objectName: "alice", outcome: "refused" });
  });

  it(`per address: after ${ADDRESS_LIMIT} failures on any accounts, that address is refused; others are not`, async () => {
    const app = testApp();
    await withUser(app, "alice");
    for (let i = 0; i < ADDRESS_LIMIT; i++) await fail(app, `nobody${i}`, "203.0.113.50");
    const res = await authRequest(app, "/sign-in/username", {
      body: { username: "alice", password: PASSWORD },
      headers: { "x-forwarded-for": "203.0.113.50" },
    });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /^Too many failed sign-ins from 203\.0\.113\.50; try again in 1[45] minutes$/,
    );
    await signIn(app, "alice", PASSWORD, { headers: { "x-forwarded-for": "203.0.113.51" } });
  });

  it("the count survives a restart of the server (same database file)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-auth-"));
    dirs.push(dir);
    const env = loadEnv({ BRIDGEHEAD_DB: path.join(dir, "db.sqlite"), BRIDGEHEAD_SECRET: SECRET });
    const first = createApp(env);
    await withUser(first, "alice");
    for (let i = 0; i < ACCOUNT_LIMIT; i++) await fail(first, "alice");
    first.db.$client.close();
    const second = createApp(env);
    const res = await authRequest(second, "/sign-in/username", {
      body: { username: "alice", password: PASSWORD },
    });
    expect(res.status).toBe(429);
    second.db.$client.close();
  });

  it("a successful sign-in clears the account's count", async () => {
    const app = testApp();
    await withUser(app, "alice");
    for (let i = 0; i < ACCOUNT_LIMIT - 1; i++) await fail(app, "alice");
    await signIn(app, "alice", PASSWORD);
    for (let i = 0; i < ACCOUNT_LIMIT - 1; i++) await fail(app, "alice");
    await signIn(app, "alice", PASSWORD);
  });
});

describe("the session cookie's Secure flag follows the scheme the browser used", () => {
  const sessionCookie = (res: Response) =>
    res.headers.getSetCookie().find((c) => /session_token=/.test(c)) ?? "";
  const signInOver = async (
    env: Record<string, string>,
    base: string,
    headers: Record<string, string> = {},
  ) => {
    const app = createApp(loadEnv({ BRIDGEHEAD_DB: ":memory:", BRIDGEHEAD_SECRET: SECRET, ...env }));
    await withUser(app, "alice");
    const res = await authRequest(app, "/sign-in/username", {
      base,
      headers,
      body: { username: "alice", password: PASSWORD },
    });
    expect(res.status).toBe(200);
    const cookie = cookieOf(res);
    const me = (await (
      await authRequest(app, "/get-session", { base, headers, method: "GET", cookie })
    ).json()) as {
      user?: { username: string };
    } | null;
    expect(me?.user?.username, "the cookie signs the browser in").toBe("alice");
    return sessionCookie(res);
  };

  it("plain http to a non-loopback address: not Secure, no __Secure- prefix", async () => {
    const c = await signInOver({}, "http://198.18.0.10:3000");
    expect(c).toMatch(/^better-auth\.session_token=/);
    expect(c).not.toMatch(/;\s*Secure/i);
  });

  it("https: Secure with the __Secure- prefix", async () => {
    const c = await signInOver({}, "https://portal.example");
    expect(c).toMatch(/^__Secure-better-auth\.session_token=.*;\s*Secure/i);
  });

  it("X-Forwarded-Proto: https counts only behind a trusted proxy", async () => {
    const xfp = { "x-forwarded-proto": "https" };
    expect(await signInOver({}, "http://198.18.0.10:3000", xfp)).not.toMatch(/Secure/i);
    expect(await signInOver({ BRIDGEHEAD_TRUST_PROXY: "1" }, "http://198.18.0.10:3000", xfp)).toMatch(
      /^__Secure-.*;\s*Secure/i,
    );
  });

  it("BRIDGEHEAD_URL decides when set", async () => {
    expect(await signInOver({ BRIDGEHEAD_URL: "https://portal.example" }, "https://portal.example")).toMatch(
      /Secure/i,
    );
    expect(await signInOver({ BRIDGEHEAD_URL: "http://10.1.2.3:3000" }, "http://10.1.2.3:3000")).not.toMatch(
      /Secure/i,
    );
  });
});

void and;
void user;
