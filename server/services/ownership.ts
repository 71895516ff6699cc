// Ownership operations shared by every permissioned object (VNETs, templates, security groups):
// the checked fetch, chown, chgrp, chmod, lock/unlock and rename. Each runs in one transaction
// with its audit entry; the permission check is in the query (an object the caller may not even
// USE is NOT_FOUND), a missing higher level is FORBIDDEN naming it, and a lock names its level.
import { and, eq, ne, or } from "drizzle-orm";
import type { Db, Tx } from "../../db";
import { groups, securityGroups, user, vnets, vnetTemplates } from "../../db/schema";
import { can, type Level, lockBlocks, permsToOctal, type Subject } from "../../lib/permissions";
import type { App } from "../app";
import { type Actor, audit } from "../audit";
import { permitted } from "../authz";
import { conflict, forbidden, invalid, notFound } from "../errors";
import { mutate } from "./revision";

export const KINDS = {
  vnet: { table: vnets, label: "VNET" },
  template: { table: vnetTemplates, label: "Template" },
  sg: { table: securityGroups, label: "Security group" },
} as const;
export type Kind = keyof typeof KINDS;
export type Owner = Subject & { primaryGroupId: number };

type Row = {
  id: number;
  name: string;
  ownerId: string;
  groupId: number;
  perms: number;
  lockLevel: Level | null;
};

const LEVEL_NAME: Record<Level, string> = { use: "USE", manage: "MANAGE", admin: "ADMIN" };

/** A refusal because of a lock, naming the level (CONFLICT, worded like the IPAM side's VNET lock
 * check so both read the same whichever fires first). */
export function lockedError(label: string, name: string, lock: Level) {
  return conflict(`${label} ${name} is locked (${lock} level); unlock it first`);
}

/** Refuses an operation needing `level` on a locked object (OpenNebula's levels: use locks
 * everything, manage locks changes and deletion, admin locks deletion only). */
export function assertUnlocked(kind: Kind, row: Pick<Row, "name" | "lockLevel">, level: Level) {
  if (lockBlocks(row.lockLevel, level)) throw lockedError(KINDS[kind].label, row.name, row.lockLevel!);
}

/**
 * The object if `who` holds `level` on it. Not even USE → NOT_FOUND (never reveal it exists);
 * USE but not `level` → FORBIDDEN naming the level; locked against `level` → the lock's level.
 * `ignoreLock` is for lock/unlock themselves.
 */
export function ownedFor(
  tx: Tx | Db,
  kind: Kind,
  who: Subject,
  id: number,
  level: Level,
  opts: { ignoreLock?: boolean; doing?: string } = {},
) {
  const { table, label } = KINDS[kind];
  const row = tx
    .select()
    .from(table)
    // Visible with USE or with the level itself (the bits are independent, e.g. 200).
    .where(and(eq(table.id, id), or(permitted(table, who, "use"), permitted(table, who, level))))
    .get() as (Row & Record<string, unknown>) | undefined;
  if (!row) throw notFound(`${label} ${id}`);
  if (!can(who, row, level))
    throw forbidden(
      `You need ${LEVEL_NAME[level]} permission on ${label} ${row.name}${opts.doing ? ` to ${opts.doing}` : ""}`,
    );
  if (!opts.ignoreLock) assertUnlocked(kind, row, level);
  return row;
}

function record(tx: Tx, actor: Actor, kind: Kind, row: Row, action: string, detail: string) {
  audit(tx, actor, {
    action: `${kind}.${action}`,
    objectType: kind,
    objectId: row.id,
    objectName: row.name,
    detail,
  });
}

function userName(tx: Tx, id: string) {
  return tx.select({ u: user.username }).from(user).where(eq(user.id, id)).get()?.u ?? id;
}

/** Gives the object to another user (cloud admins only, like OpenNebula's chown). */
export function chown(app: App, actor: Actor, who: Subject, kind: Kind, id: number, userId: string) {
  return mutate(app, (tx) => {
    const row = ownedFor(tx, kind, who, id, "admin", { doing: "change its owner" });
    if (who.role !== "admin")
      throw forbidden(`Only cloud admins can change the owner of ${KINDS[kind].label} ${row.name}`);
    const target = tx.select().from(user).where(eq(user.id, userId)).get();
    if (!target) throw invalid(`User ${userId} does not exist`, "userId");
    const { table } = KINDS[kind];
    tx.update(table).set({ ownerId: userId }).where(eq(table.id, id)).run();
    record(
      tx,
      actor,
      kind,
      row,
      "chown",
      `owner ${userName(tx, row.ownerId)} → ${target.username ?? userId}`,
    );
    return { id, name: row.name, ownerId: userId };
  });
}

/** Moves the object to another group: ADMIN on it, and (non-admins) membership of the group. */
export function chgrp(app: App, actor: Actor, who: Subject, kind: Kind, id: number, groupId: number) {
  return mutate(app, (tx) => {
    const row = ownedFor(tx, kind, who, id, "admin", { doing: "change its group" });
    const g = tx.select().from(groups).where(eq(groups.id, groupId)).get();
    if (!g) throw invalid(`Group ${groupId} does not exist`, "groupId");
    if (who.role !== "admin" && !who.groupIds.includes(groupId))
      throw forbidden(`You can only move ${KINDS[kind].label} ${row.name} to a group you belong to`);
    const { table } = KINDS[kind];
    const old = tx.select({ n: groups.name }).from(groups).where(eq(groups.id, row.groupId)).get()?.n;
    tx.update(table).set({ groupId }).where(eq(table.id, id)).run();
    record(tx, actor, kind, row, "chgrp", `group ${old ?? row.groupId} → ${g.name}`);
    return { id, name: row.name, groupId };
  });
}

/** Sets the 9 permission bits: ADMIN on the object. */
export function chmod(app: App, actor: Actor, who: Subject, kind: Kind, id: number, perms: number) {
  return mutate(app, (tx) => {
    const row = ownedFor(tx, kind, who, id, "admin", { doing: "change its permissions" });
    const { table } = KINDS[kind];
    tx.update(table).set({ perms }).where(eq(table.id, id)).run();
    record(tx, actor, kind, row, "chmod", `${permsToOctal(row.perms)} → ${permsToOctal(perms)}`);
    return { id, name: row.name, perms };
  });
}

/** Locks at a level (MANAGE on the object); a locked object may be re-locked at another level. */
export function lock(app: App, actor: Actor, who: Subject, kind: Kind, id: number, level: Level) {
  return mutate(app, (tx) => {
    const row = ownedFor(tx, kind, who, id, "manage", { ignoreLock: true, doing: "lock it" });
    const { table } = KINDS[kind];
    tx.update(table).set({ lockLevel: level }).where(eq(table.id, id)).run();
    record(tx, actor, kind, row, "lock", `level ${LEVEL_NAME[level]}`);
    return { id, name: row.name, lockLevel: level };
  });
}

/** Removes the lock (MANAGE on the object). */
export function unlock(app: App, actor: Actor, who: Subject, kind: Kind, id: number) {
  return mutate(app, (tx) => {
    const row = ownedFor(tx, kind, who, id, "manage", { ignoreLock: true, doing: "unlock it" });
    const { table } = KINDS[kind];
    tx.update(table).set({ lockLevel: null }).where(eq(table.id, id)).run();
    record(
      tx,
      actor,
      kind,
      row,
      "unlock",
      row.lockLevel ? `was ${LEVEL_NAME[row.lockLevel]}` : "was not locked",
    );
    return { id, name: row.name, lockLevel: null };
  });
}

/** Refuses a name another object of the kind already has. */
export function assertNameFree(tx: Tx, kind: Kind, name: string, exceptId?: number) {
  const { table, label } = KINDS[kind];
  const clash = tx
    .select({ id: table.id })
    .from(table)
    .where(and(eq(table.name, name), exceptId === undefined ? undefined : ne(table.id, exceptId)))
    .get();
  if (clash)
    throw conflict(`A ${label.toLowerCase()} named ${name} already exists; pick another name`, "name");
}

/** Renames (MANAGE on the object). */
export function rename(app: App, actor: Actor, who: Subject, kind: Kind, id: number, name: string) {
  return mutate(app, (tx) => {
    const row = ownedFor(tx, kind, who, id, "manage", { doing: "rename it" });
    assertNameFree(tx, kind, name, id);
    const { table } = KINDS[kind];
    tx.update(table).set({ name }).where(eq(table.id, id)).run();
    record(tx, actor, kind, row, "rename", `${row.name} → ${name}`);
    return { id, name };
  });
}

/** Owner and group names plus the caller's levels, for lists and detail views. */
export function describeOwnership(
  tx: Tx | App["db"],
  who: Subject,
  row: Pick<Row, "ownerId" | "groupId" | "perms">,
) {
  const owner =
    tx.select({ u: user.username }).from(user).where(eq(user.id, row.ownerId)).get()?.u ?? row.ownerId;
  const group =
    tx.select({ n: groups.name }).from(groups).where(eq(groups.id, row.groupId)).get()?.n ??
    String(row.groupId);
  return {
    ownerName: owner,
    groupName: group,
    my: { use: can(who, row, "use"), manage: can(who, row, "manage"), admin: can(who, row, "admin") },
  };
}

/** Everything the permissions panel shows for one object. */
export function ownershipInfo(app: App, who: Subject, kind: Kind, id: number) {
  const { table, label } = KINDS[kind];
  const row = app.db
    .select()
    .from(table)
    .where(and(eq(table.id, id), permitted(table, who, "use")))
    .get() as Row | undefined;
  if (!row) throw notFound(`${label} ${id}`);
  return {
    id: row.id,
    name: row.name,
    ownerId: row.ownerId,
    groupId: row.groupId,
    perms: row.perms,
    lockLevel: row.lockLevel,
    ...describeOwnership(app.db, who, row),
  };
}

/** Groups `who` belongs to (for chgrp choices): all groups for admins. */
export function groupChoices(app: App, who: Subject) {
  const all = app.db.select({ id: groups.id, name: groups.name }).from(groups).orderBy(groups.id).all();
  return who.role === "admin" ? all : all.filter((g) => who.groupIds.includes(g.id));
}

/** Users a cloud admin may hand objects to (chown choices). */
export function userChoices(app: App) {
  return app.db
    .select({ id: user.id, username: user.username })
    .from(user)
    .where(ne(user.id, "system"))
    .orderBy(user.username)
    .all();
}
