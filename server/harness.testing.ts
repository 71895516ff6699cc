// The one router-test harness: a real App on a fresh migrated in-memory SQLite database, users
// (real ones through better-auth, or fast fixture rows), tRPC callers acting as them, a snapshot of
// every table and the refusal check, so a refusal test can prove that nothing changed. Test-only.
import { TRPCError } from "@trpc/server";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { user as userTable } from "../db/schema";
import { type App, createApp } from "./app";
import { callerFor } from "./caller";
import { loadEnv } from "./env";
import { createUser } from "./services/users";
import { fieldErrorsOf } from "./trpc";

export { callerFor };

/** A fresh App on an in-memory database (or `file` for multi-process tests). */
export function testApp(file = ":memory:"): App {
  return createApp(
    loadEnv({
      BRIDGEHEAD_DB: file,
      BRIDGEHEAD_SECRET: "test-secret-test-secret-test-secret-0000",
      // Silent under vitest; the benches (scripts/bench.sh) ask for warnings only, so the portal's
      // request log does not land on stdout after their JSON line.
      BRIDGEHEAD_LOG_LEVEL: process.env.BRIDGEHEAD_LOG_LEVEL,
    }),
  );
}

/** Creates a real user and returns a caller acting as them. */
export async function userCaller(app: App, username: string, role: "admin" | "user" = "user", groupId = 1) {
  await createUser(
    app,
    { userId: null, name: "test", ip: null },
    { username, name: username, password: "password-password", role, groupId },
  );
  const u = app.db.select().from(userTable).where(eq(userTable.username, username)).get()!;
  return callerFor(app, u.id);
}

/** Inserts a user row with group memberships (first = primary) and returns a caller acting as them. */
export function fixtureUser(app: App, username: string, role: "admin" | "user", groupIds: number[]) {
  const s = app.db.$client;
  const id = `u-${username}`;
  s.prepare(
    "INSERT INTO user (id, name, email, username, role, email_verified) VALUES (?, ?, ?, ?, ?, 1)",
  ).run(id, username, `${username}@test.invalid`, username, role);
  groupIds.forEach((g, i) => {
    s.prepare('INSERT INTO user_groups (user_id, group_id, "primary") VALUES (?, ?, ?)').run(
      id,
      g,
      i === 0 ? 1 : 0,
    );
  });
  return { id, caller: callerFor(app, id) };
}

/** Every table except the audit log, sessions and migrations, row by row: a refusal must leave it
 * equal. */
export function snapshot(app: App) {
  const s = app.db.$client;
  const tables = (
    s
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('audit_log', 'session', 'sqlite_sequence') AND name NOT LIKE '__drizzle%' ORDER BY name",
      )
      .all() as { name: string }[]
  ).map((t) => t.name);
  return Object.fromEntries(tables.map((t) => [t, s.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all()]));
}

/** Awaits a call expected to fail; returns the TRPCError, checking its code and the field the
 * message lands at when given. */
export async function refusal(
  p: Promise<unknown>,
  code?: TRPCError["code"],
  field?: string,
): Promise<TRPCError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, "expected a refusal").toBeInstanceOf(TRPCError);
  if (code) expect((err as TRPCError).code).toBe(code);
  if (field) expect(Object.keys(fieldErrorsOf((err as TRPCError).cause) ?? {})).toContain(field);
  return err as TRPCError;
}

/** A refusal that writes nothing: runs `call` expecting a refusal (its code and field when given,
 * as `refusal` checks them) and then checks that every table but the audit log is as it was. */
export async function refusedUnchanged(
  app: App,
  call: () => Promise<unknown>,
  code?: TRPCError["code"],
  field?: string,
): Promise<TRPCError> {
  const before = snapshot(app);
  const err = await refusal(call(), code, field);
  expect(snapshot(app), "a refusal must leave the database unchanged").toEqual(before);
  return err;
}
