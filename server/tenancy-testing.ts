// Test helpers of the tenancy tests: fixture users without password hashing (fast), and a snapshot
// of every table but the audit log and sessions, to prove a refusal changed nothing.
import { TRPCError } from "@trpc/server";
import { expect } from "vitest";
import type { App } from "./app";
import { callerFor } from "./testing";
import { fieldErrorsOf } from "./trpc";

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

/** Every table except the audit log, sessions and migrations, row by row. */
export function snapshotAll(app: App) {
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
