// Users and groups. Passwords and sessions are better-auth's; group membership and auditing ours.
import crypto from "node:crypto";
import { count, eq, ne } from "drizzle-orm";
import type { z } from "zod";
import { account, groups, user, userGroups } from "../../db/schema";
import type { userCreateInput } from "../../lib/schemas";
import type { App } from "../app";
import { type Actor, audit } from "../audit";
import { conflict, invalid } from "../errors";

const emailOf = (username: string) => `${username}@users.bridgehead.invalid`;

/** Creates a user with a password, a role and a primary group. */
export async function createUser(app: App, actor: Actor, input: z.output<typeof userCreateInput>) {
  if (app.db.select().from(user).where(eq(user.username, input.username)).get())
    throw conflict(`User ${input.username} already exists; pick another user name`, "username");
  if (!app.db.select().from(groups).where(eq(groups.id, input.groupId)).get())
    throw invalid(`Group ${input.groupId} does not exist`, "groupId");
  const { user: created } = await app.auth.api.createUser({
    body: {
      email: emailOf(input.username),
      password: input.password,
      name: input.name,
      role: input.role,
      data: { username: input.username, displayUsername: input.username },
    },
  });
  try {
    app.db.transaction((tx) => {
      tx.insert(userGroups).values({ userId: created.id, groupId: input.groupId, primary: true }).run();
      audit(tx, actor, {
        action: "user.create",
        objectType: "user",
        objectId: created.id,
        objectName: input.username,
        detail: `role ${input.role}`,
      });
    });
  } catch (err) {
    // Keep accounts and memberships consistent: a user without a group must not remain.
    app.db.delete(user).where(eq(user.id, created.id)).run();
    throw err;
  }
  return { id: created.id, username: input.username };
}

/** Users (without the built-in system owner) with their groups. */
export function listUsers(app: App) {
  const rows = app.db.select().from(user).where(ne(user.id, "system")).orderBy(user.username).all();
  const memberships = app.db
    .select({ userId: userGroups.userId, groupId: groups.id, name: groups.name, primary: userGroups.primary })
    .from(userGroups)
    .innerJoin(groups, eq(groups.id, userGroups.groupId))
    .all();
  return rows.map((u) => ({
    id: u.id,
    username: u.username,
    name: u.name,
    role: u.role,
    createdAt: u.createdAt,
    groups: memberships.filter((m) => m.userId === u.id),
  }));
}

/** On a fresh database, creates the first admin and returns how to log in (never a fixed password). */
export async function bootstrapAdmin(
  app: App,
): Promise<{ username: string; password: string; generated: boolean } | null> {
  const accounts = app.db.select({ n: count() }).from(account).get()?.n ?? 0;
  if (accounts > 0) return null;
  const generated = !app.env.BRIDGEHEAD_ADMIN_PASSWORD;
  const password = app.env.BRIDGEHEAD_ADMIN_PASSWORD ?? crypto.randomBytes(12).toString("base64url");
  await createUser(
    app,
    { userId: null, name: "system", ip: null },
    {
      username: "admin",
      name: "Administrator",
      password,
      role: "admin",
      groupId: 0,
    },
  );
  return { username: "admin", password, generated };
}
