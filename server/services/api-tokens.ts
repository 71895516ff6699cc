// Personal API tokens: created by their user (shown once, stored as a sha256 hash), listed,
// revoked by their user or an admin, and resolved on every request that carries one.
import crypto from "node:crypto";
import { and, desc, eq } from "drizzle-orm";
import type { z } from "zod";
import { immediate } from "../../db";
import { apiTokens, user as userTable } from "../../db/schema";
import { API_TOKEN_PREFIX, type tokenCreateInput } from "../../lib/api-tokens";
import type { Subject } from "../../lib/permissions";
import { hashSecret } from "../../lib/secret";
import type { App } from "../app";
import { type Actor, audit } from "../audit";
import { notFound } from "../errors";

/** The caller's last use is written at most this often (a busy script must not write per call). */
const LAST_USED_EVERY_MS = 60_000;

const shown = {
  id: apiTokens.id,
  name: apiTokens.name,
  prefix: apiTokens.prefix,
  readOnly: apiTokens.readOnly,
  expiresAt: apiTokens.expiresAt,
  lastUsedAt: apiTokens.lastUsedAt,
  revokedAt: apiTokens.revokedAt,
  createdAt: apiTokens.createdAt,
};

type Row = { expiresAt: Date | null; revokedAt: Date | null };
/** active, expired or revoked, as the lists show it. */
export function tokenState(t: Row, now = Date.now()): "active" | "expired" | "revoked" {
  if (t.revokedAt) return "revoked";
  if (t.expiresAt && t.expiresAt.getTime() <= now) return "expired";
  return "active";
}

/** Creates a token for the caller; the secret is in the answer and nowhere else. */
export function createToken(app: App, actor: Actor, me: Subject, input: z.output<typeof tokenCreateInput>) {
  const token = `${API_TOKEN_PREFIX}${crypto.randomBytes(32).toString("base64url")}`;
  const expiresAt =
    input.expiresInDays === null ? null : new Date(Date.now() + input.expiresInDays * 86_400_000);
  return immediate(app.db, (tx) => {
    const row = tx
      .insert(apiTokens)
      .values({
        userId: me.id,
        name: input.name,
        prefix: token.slice(0, API_TOKEN_PREFIX.length + 6),
        tokenHash: hashSecret(token),
        readOnly: input.readOnly,
        expiresAt,
      })
      .returning(shown)
      .get();
    audit(tx, actor, {
      action: "token.create",
      objectType: "token",
      objectId: row.id,
      objectName: row.name,
      detail: `${input.readOnly ? "read-only" : "read-write"}, ${expiresAt ? `expires ${expiresAt.toISOString()}` : "never expires"}`,
    });
    return { ...row, state: tokenState(row), token };
  });
}

/** The caller's own tokens, newest first. */
export function listMyTokens(app: App, me: Subject) {
  return app.db
    .select(shown)
    .from(apiTokens)
    .where(eq(apiTokens.userId, me.id))
    .orderBy(desc(apiTokens.id))
    .all()
    .map((t) => ({ ...t, state: tokenState(t) }));
}

/** Every user's tokens (admins), newest first. */
export function listAllTokens(app: App) {
  return app.db
    .select({ ...shown, userId: apiTokens.userId, username: userTable.username })
    .from(apiTokens)
    .innerJoin(userTable, eq(userTable.id, apiTokens.userId))
    .orderBy(desc(apiTokens.id))
    .all()
    .map((t) => ({ ...t, state: tokenState(t) }));
}

/** Revokes a token of the caller's (any user's for an admin); someone else's is NOT_FOUND. */
export function revokeToken(app: App, actor: Actor, me: Subject, id: number) {
  return immediate(app.db, (tx) => {
    const mine = me.role === "admin" ? undefined : eq(apiTokens.userId, me.id);
    const t = tx
      .select({
        id: apiTokens.id,
        name: apiTokens.name,
        revokedAt: apiTokens.revokedAt,
        userId: apiTokens.userId,
      })
      .from(apiTokens)
      .where(and(eq(apiTokens.id, id), mine))
      .get();
    if (!t) throw notFound(`API token ${id}`);
    if (!t.revokedAt) tx.update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.id, id)).run();
    audit(tx, actor, {
      action: "token.revoke",
      objectType: "token",
      objectId: id,
      objectName: t.name,
      detail: t.userId === me.id ? undefined : `token of user ${t.userId}`,
    });
    return { id, revoked: true };
  });
}

export type TokenAuth = { id: number; name: string; readOnly: boolean; userId: string };

/** The live token a bearer secret belongs to, or why there is none. */
export function resolveToken(app: App, secret: string): TokenAuth | "unknown" | "expired" | "revoked" {
  const t = app.db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.tokenHash, hashSecret(secret)))
    .get();
  if (!t) return "unknown";
  const state = tokenState(t);
  if (state !== "active") return state;
  const now = Date.now();
  if (!t.lastUsedAt || now - t.lastUsedAt.getTime() > LAST_USED_EVERY_MS)
    app.db
      .update(apiTokens)
      .set({ lastUsedAt: new Date(now) })
      .where(eq(apiTokens.id, t.id))
      .run();
  return { id: t.id, name: t.name, readOnly: t.readOnly, userId: t.userId };
}
