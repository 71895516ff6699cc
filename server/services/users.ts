// Users and groups. Passwords and sessions are better-auth's; group membership and auditing ours.
import crypto from "node:crypto";
import { and, count, eq, inArray, ne } from "drizzle-orm";
import type { z } from "zod";
import { type Db, immediate, type Tx } from "../../db";
import {
  account,
  groups,
  instances,
  quotas,
  securityGroups,
  session,
  user,
  userGroups,
  vnets,
  vnetTemplates,
} from "../../db/schema";
import type { userCreateInput } from "../../lib/schemas";
import type { App } from "../app";
import { type Actor, audit } from "../audit";
import { conflict, invalid, notFound } from "../errors";

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
    immediate(app.db, (tx) => {
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
  const limits = app.db.select().from(quotas).where(eq(quotas.subjectType, "user")).all();
  return rows.map((u) => {
    const q = limits.find((l) => l.subjectId === u.id);
    return {
      id: u.id,
      username: u.username,
      name: u.name,
      role: u.role,
      createdAt: u.createdAt,
      groups: memberships.filter((m) => m.userId === u.id),
      quota: { maxVnets: q?.maxVnets ?? null, maxLeases: q?.maxLeases ?? null },
    };
  });
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

/** Changes a user's name, role and groups (cloud admins). Refuses to leave the cloud without an
 * admin, and refuses a group that does not exist. */
export function updateUser(
  app: App,
  actor: Actor,
  input: { id: string; name: string; role: "admin" | "user"; groupIds: number[]; primaryGroupId: number },
) {
  return immediate(app.db, (tx) => {
    const u = tx
      .select()
      .from(user)
      .where(and(eq(user.id, input.id), ne(user.id, "system")))
      .get();
    if (!u) throw notFound(`User ${input.id}`);
    const ids = [...new Set(input.groupIds)];
    const known = tx.select({ id: groups.id }).from(groups).where(inArray(groups.id, ids)).all();
    if (known.length !== ids.length) throw invalid("Unknown group", "groupIds");
    if (u.role === "admin" && input.role !== "admin") {
      const admins =
        tx
          .select({ n: count() })
          .from(user)
          .innerJoin(account, eq(account.userId, user.id))
          .where(eq(user.role, "admin"))
          .get()?.n ?? 0;
      if (admins <= 1)
        throw conflict(`${u.username} is the last admin; make another user admin first`, "role");
    }
    tx.update(user).set({ name: input.name, role: input.role }).where(eq(user.id, u.id)).run();
    tx.delete(userGroups).where(eq(userGroups.userId, u.id)).run();
    tx.insert(userGroups)
      .values(ids.map((groupId) => ({ userId: u.id, groupId, primary: groupId === input.primaryGroupId })))
      .run();
    audit(tx, actor, {
      action: "user.update",
      objectType: "user",
      objectId: u.id,
      objectName: u.username ?? u.email,
      detail: `role ${input.role}, groups ${ids.join(",")} (primary ${input.primaryGroupId})`,
    });
    return { id: u.id, username: u.username };
  });
}

/** What a user owns, by kind (a user who owns anything cannot be deleted). */
function ownedBy(tx: Tx | Db, userId: string) {
  const n = (t: typeof vnets | typeof vnetTemplates | typeof securityGroups | typeof instances) =>
    tx.select({ n: count() }).from(t).where(eq(t.ownerId, userId)).get()?.n ?? 0;
  return {
    VNETs: n(vnets),
    templates: n(vnetTemplates),
    "security groups": n(securityGroups),
    instances: n(instances),
  };
}

/** Deletes a user who owns nothing (their sessions and memberships go with them). */
export function removeUser(app: App, actor: Actor, who: { id: string }, id: string) {
  return immediate(app.db, (tx) => {
    const u = tx
      .select()
      .from(user)
      .where(and(eq(user.id, id), ne(user.id, "system")))
      .get();
    if (!u) throw notFound(`User ${id}`);
    if (u.id === who.id) throw conflict("You cannot delete yourself; ask another admin");
    const owned = Object.entries(ownedBy(tx, id)).filter(([, n]) => n > 0);
    if (owned.length)
      throw conflict(
        `${u.username} still owns ${owned.map(([k, n]) => `${n} ${k}`).join(", ")}; delete them or change their owner first`,
      );
    tx.delete(quotas)
      .where(and(eq(quotas.subjectType, "user"), eq(quotas.subjectId, id)))
      .run();
    tx.delete(user).where(eq(user.id, id)).run();
    audit(tx, actor, {
      action: "user.delete",
      objectType: "user",
      objectId: id,
      objectName: u.username ?? u.email,
    });
    return { id, username: u.username };
  });
}

/** Sets a new password for a user (cloud admins) and ends their sessions. */
export async function setPassword(app: App, actor: Actor, id: string, password: string) {
  const u = app.db
    .select()
    .from(user)
    .where(and(eq(user.id, id), ne(user.id, "system")))
    .get();
  if (!u) throw notFound(`User ${id}`);
  const ctx = await app.auth.$context;
  const hash = await ctx.password.hash(password);
  immediate(app.db, (tx) => {
    const res = tx
      .update(account)
      .set({ password: hash })
      .where(and(eq(account.userId, id), eq(account.providerId, "credential")))
      .run();
    if (res.changes === 0) throw invalid(`${u.username} has no password account`);
    tx.delete(session).where(eq(session.userId, id)).run();
    audit(tx, actor, {
      action: "user.password",
      objectType: "user",
      objectId: id,
      objectName: u.username ?? u.email,
    });
  });
  return { id, username: u.username };
}

// ---------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------
/** Groups with their member counts. */
export function listGroups(app: App) {
  const members = app.db
    .select({ groupId: userGroups.groupId, n: count().as("n") })
    .from(userGroups)
    .where(ne(userGroups.userId, "system"))
    .groupBy(userGroups.groupId)
    .all();
  const limits = app.db.select().from(quotas).where(eq(quotas.subjectType, "group")).all();
  return app.db
    .select()
    .from(groups)
    .orderBy(groups.id)
    .all()
    .map((g) => {
      const q = limits.find((l) => l.subjectId === String(g.id));
      return {
        ...g,
        builtIn: g.id <= 1,
        members: members.find((m) => m.groupId === g.id)?.n ?? 0,
        quota: { maxVnets: q?.maxVnets ?? null, maxLeases: q?.maxLeases ?? null },
      };
    });
}

/** Creates a group. */
export function createGroup(app: App, actor: Actor, input: { name: string; description: string }) {
  return immediate(app.db, (tx) => {
    if (tx.select().from(groups).where(eq(groups.name, input.name)).get())
      throw conflict(`Group ${input.name} already exists; pick another name`, "name");
    const g = tx.insert(groups).values(input).returning().get();
    audit(tx, actor, { action: "group.create", objectType: "group", objectId: g.id, objectName: g.name });
    return g;
  });
}

/** Renames a group or changes its description. */
export function updateGroup(
  app: App,
  actor: Actor,
  input: { id: number; name: string; description: string },
) {
  return immediate(app.db, (tx) => {
    const g = tx.select().from(groups).where(eq(groups.id, input.id)).get();
    if (!g) throw notFound(`Group ${input.id}`);
    if (
      tx
        .select()
        .from(groups)
        .where(and(eq(groups.name, input.name), ne(groups.id, input.id)))
        .get()
    )
      throw conflict(`Group ${input.name} already exists; pick another name`, "name");
    tx.update(groups)
      .set({ name: input.name, description: input.description })
      .where(eq(groups.id, g.id))
      .run();
    audit(tx, actor, {
      action: "group.update",
      objectType: "group",
      objectId: g.id,
      objectName: input.name,
      detail: g.name === input.name ? undefined : `renamed from ${g.name}`,
    });
    return { id: g.id, name: input.name };
  });
}

/** Deletes an empty group that owns nothing; the built-in groups stay. */
export function removeGroup(app: App, actor: Actor, id: number) {
  return immediate(app.db, (tx) => {
    const g = tx.select().from(groups).where(eq(groups.id, id)).get();
    if (!g) throw notFound(`Group ${id}`);
    if (id <= 1) throw conflict(`Group ${g.name} is built in and cannot be deleted`);
    const members =
      tx.select({ n: count() }).from(userGroups).where(eq(userGroups.groupId, id)).get()?.n ?? 0;
    const n = (t: typeof vnets | typeof vnetTemplates | typeof securityGroups | typeof instances) =>
      tx.select({ n: count() }).from(t).where(eq(t.groupId, id)).get()?.n ?? 0;
    const objects = n(vnets) + n(vnetTemplates) + n(securityGroups) + n(instances);
    if (members || objects)
      throw conflict(
        `Group ${g.name} still has ${[members ? `${members} member${members > 1 ? "s" : ""}` : "", objects ? `${objects} object${objects > 1 ? "s" : ""}` : ""].filter(Boolean).join(" and ")}; move them to another group first`,
      );
    tx.delete(quotas)
      .where(and(eq(quotas.subjectType, "group"), eq(quotas.subjectId, String(id))))
      .run();
    tx.delete(groups).where(eq(groups.id, id)).run();
    audit(tx, actor, { action: "group.delete", objectType: "group", objectId: id, objectName: g.name });
    return { id, name: g.name };
  });
}
