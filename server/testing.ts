// Test harness: a real App on a fresh migrated in-memory SQLite database, real users created
// through better-auth, and tRPC callers acting as them (STYLE.md #5). Used by router tests only.
import { eq } from "drizzle-orm";
import { user as userTable } from "../db/schema";
import { type App, createApp } from "./app";
import { loadEnv } from "./env";
import { createCaller } from "./routers/root";
import { createUser } from "./services/users";
import { type Context, loadSessionUser } from "./trpc";

/** A fresh App on an in-memory database (or `file` for multi-process tests). */
export function testApp(file = ":memory:"): App {
  return createApp(
    loadEnv({ BRIDGEHEAD_DB: file, BRIDGEHEAD_SECRET: "test-secret-test-secret-test-secret-0000" }),
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

/** A caller for an existing user id (or anonymous when null), with optional extra headers. */
export function callerFor(app: App, userId: string | null, headers: Record<string, string> = {}) {
  const ctx: Context = {
    app,
    db: app.db,
    user: userId ? loadSessionUser(app, userId) : null,
    headers: new Headers(headers),
    ip: "127.0.0.1",
  };
  return createCaller(ctx);
}

/** A snapshot of every domain table, to prove a refusal changed nothing. */
export function snapshot(app: App) {
  const s = app.db.$client;
  const tables = [
    "vnets",
    "address_ranges",
    "leases",
    "lease_history",
    "instances",
    "nics",
    "nodes",
    "vnet_clusters",
    "counters",
    "security_groups",
    "sg_rules",
    "vnet_security_groups",
    "nic_security_groups",
    "sg_rule_counters",
  ];
  return Object.fromEntries(tables.map((t) => [t, s.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()]));
}
