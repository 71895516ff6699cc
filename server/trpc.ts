// The tRPC base, read top to bottom: 1. context, 2. init, 3. middlewares, 4. procedure builders.
import { initTRPC, TRPCError } from "@trpc/server";
import { and, eq, isNull } from "drizzle-orm";
import superjson from "superjson";
import { ZodError } from "zod";
import { nodes, userGroups, user as userTable } from "../db/schema";
import { API_TOKEN_PREFIX } from "../lib/api-tokens";
import { hashSecret } from "../lib/secret";
import { CREDENTIAL_PREFIX } from "../lib/wire";
import { type App, sessionAuth } from "./app";
import { type Actor, audit } from "./audit";
import { DomainError, toTRPCError } from "./errors";
import { clientAddress } from "./forwarded";
import { logOf } from "./observability/log";
import { metricsOf } from "./observability/metrics";
import type { Meta } from "./rest/meta";
import { resolveToken, type TokenAuth } from "./services/api-tokens";

// ---------------------------------------------------------------------------
// 1. Context: who is calling (a user session, an agent credential, or nobody)
// ---------------------------------------------------------------------------
export type SessionUser = {
  id: string;
  username: string;
  name: string;
  role: "admin" | "user";
  groupIds: number[];
  primaryGroupId: number;
};

export type Context = {
  app: App;
  db: App["db"];
  user: SessionUser | null;
  headers: Headers;
  ip: string | null;
  /** Set when the caller authenticated with an API token instead of a session cookie. */
  token?: TokenAuth | null;
  /** Why a presented credential was not accepted (the UNAUTHORIZED message then says so). */
  authError?: string;
  /** The caller's X-Request-Id when it sent a sane one, else a new one: it ties the log line of
   * this call to the caller's own logs. */
  requestId?: string;
  /** Set by requireNode on this very object once an agent's credential checked out, so the
   * request's log line (written by the outermost middleware, after the call) names the node. */
  nodeName?: string;
};

/** The X-Request-Id a client sent (printable, at most 128 characters), or a fresh UUID. */
export function requestIdOf(headers: Headers): string {
  const given = headers.get("x-request-id");
  return given && /^[\x21-\x7e]{1,128}$/.test(given) ? given : crypto.randomUUID();
}

/** Loads a user with their groups; null when the user does not exist. */
export function loadSessionUser(app: App, userId: string): SessionUser | null {
  const u = app.db.select().from(userTable).where(eq(userTable.id, userId)).get();
  if (!u || u.banned) return null;
  const gs = app.db.select().from(userGroups).where(eq(userGroups.userId, userId)).all();
  const primary = gs.find((g) => g.primary) ?? gs[0];
  return {
    id: u.id,
    username: u.username ?? u.email,
    name: u.name,
    role: u.role,
    groupIds: gs.map((g) => g.groupId),
    primaryGroupId: primary?.groupId ?? 1,
  };
}

const TOKEN_REFUSED = {
  unknown: "This API token is not known; check it was copied whole, or create a new one on your profile page",
  expired: "This API token has expired; create a new one on your profile page",
  revoked: "This API token was revoked; create a new one on your profile page",
  user: "The user of this API token no longer exists or is banned",
} as const;

/** Builds the context of one request from its headers: an API token (`Authorization: Bearer bht_…`)
 * acts as its user, exactly like their session; a node credential (`bhc_…`) is an agent, which
 * never has a session (requireNode checks the credential); otherwise the cookie session. */
export async function createContext(app: App, headers: Headers): Promise<Context> {
  const ip = clientAddress(headers);
  const requestId = requestIdOf(headers);
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.get("authorization") ?? "")?.[1];
  // Agents' reports, heartbeats and streams are most of the portal's requests at fleet size:
  // better-auth's cookie parsing and session query would be most of their cost, for nothing.
  if (bearer?.startsWith(CREDENTIAL_PREFIX)) return { app, db: app.db, user: null, headers, ip, requestId };
  if (bearer?.startsWith(API_TOKEN_PREFIX)) {
    const t = resolveToken(app, bearer);
    const user = typeof t === "string" ? null : loadSessionUser(app, t.userId);
    if (typeof t !== "string" && user) return { app, db: app.db, user, headers, ip, token: t, requestId };
    const reason = typeof t === "string" ? t : "user";
    audit(
      app.db,
      { userId: null, name: "anonymous", ip },
      {
        action: "token.auth",
        outcome: "refused",
        detail: `${reason} API token ${bearer.slice(0, API_TOKEN_PREFIX.length + 6)}…`,
      },
    );
    return {
      app,
      db: app.db,
      user: null,
      headers,
      ip,
      token: null,
      authError: TOKEN_REFUSED[reason],
      requestId,
    };
  }
  const session = await sessionAuth(app, headers)
    .api.getSession({ headers })
    .catch(() => null);
  const user = session ? loadSessionUser(app, session.user.id) : null;
  return { app, db: app.db, user, headers, ip, requestId };
}

/** The actor written to the audit log for this context. */
export function actorOf(ctx: Context, node?: { id: number; name: string }): Actor {
  if (node) return { userId: null, name: `node:${node.name}`, ip: ctx.ip };
  const via = ctx.token ? `token:${ctx.token.name} (#${ctx.token.id})` : undefined;
  return ctx.user
    ? { userId: ctx.user.id, name: ctx.user.username, ip: ctx.ip, via }
    : { userId: null, name: "anonymous", ip: ctx.ip };
}

// ---------------------------------------------------------------------------
// 2. Init: superjson, SSE keep-alive, and field errors forwarded to the client
// ---------------------------------------------------------------------------
export type FieldErrors = Record<string, string[] | undefined>;

/** Field-level messages of an error's cause (zod issues by dotted path, or a DomainError's field). */
export function fieldErrorsOf(cause: unknown): FieldErrors | null {
  if (cause instanceof ZodError) {
    const out: Record<string, string[]> = {};
    for (const issue of cause.issues) {
      const key = issue.path.join(".");
      out[key] = [...(out[key] ?? []), issue.message];
    }
    return out;
  }
  if (cause instanceof DomainError && cause.field) return { [cause.field]: [cause.message] };
  return null;
}

// Meta carries each REST route (server/rest/meta.ts): the same procedure serves tRPC and /api/v1.
const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    sse: {
      // Pings keep proxies from cutting an idle agent channel; the client reconnects after silence.
      ping: { enabled: true, intervalMs: 5_000 },
      client: { reconnectAfterInactivityMs: 15_000 },
    },
    errorFormatter({ shape, error }) {
      return { ...shape, data: { ...shape.data, fieldErrors: fieldErrorsOf(error.cause) } };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

// ---------------------------------------------------------------------------
// 3. Middlewares
// ---------------------------------------------------------------------------
/** Domain errors → tRPC codes, in one place, so every router and the REST view answer alike. */
const mapDomainErrors = t.middleware(async ({ next }) => {
  const res = await next();
  if (!res.ok && res.error.cause instanceof DomainError) throw toTRPCError(res.error.cause);
  return res;
});

/** Every refused or failed mutation is audited too (successful ones are audited by their service),
 * and so is every query refused for lack of a role or permission (a privileged read). The entry
 * names the object the call was about (type from the path, id from the input) so it can be found. */
const auditFailures = t.middleware(async ({ ctx, next, type, path, getRawInput }) => {
  const res = await next();
  if (!res.ok && (type === "mutation" || res.error.code === "FORBIDDEN")) {
    const refused = res.error.code !== "INTERNAL_SERVER_ERROR";
    const raw = (await getRawInput().catch(() => undefined)) as { id?: unknown } | undefined;
    const id = typeof raw?.id === "number" || typeof raw?.id === "string" ? raw.id : undefined;
    audit(ctx.db, actorOf(ctx), {
      action: path,
      objectType: id === undefined ? undefined : path.split(".")[0],
      objectId: id,
      outcome: refused ? "refused" : "error",
      detail: `${res.error.code}: ${res.error.message}`,
    });
  }
  return res;
});

/** A read-only API token may call every query its user may, and no mutation. */
const refuseReadOnly = t.middleware(({ ctx, next, type }) => {
  if (type === "mutation" && ctx.token?.readOnly)
    throw new TRPCError({
      code: "FORBIDDEN",
      message: "This API token is read-only; create a read-write token to change things",
    });
  return next();
});

/** Every call is measured (metrics.ts) and logged as one line (log.ts): who, what, how long, outcome.
 * Subscriptions are the agents' long-lived channels: their lifetime is not a request's latency. */
const observe = t.middleware(async ({ ctx, next, type, path }) => {
  if (type === "subscription") return next();
  const start = performance.now();
  const res = await next();
  const ms = performance.now() - start;
  const outcome = res.ok ? "ok" : res.error.code;
  metricsOf(ctx.app).request(path, type, outcome, ms / 1000);
  const who = ctx.nodeName ? `node:${ctx.nodeName}` : (ctx.user?.username ?? "anonymous");
  const line = {
    requestId: ctx.requestId,
    user: who,
    via: ctx.token ? `token:${ctx.token.name}` : undefined,
    procedure: path,
    type,
    durationMs: Math.round(ms * 10) / 10,
    outcome,
  };
  const log = logOf(ctx.app);
  if (outcome === "INTERNAL_SERVER_ERROR")
    log.error({ ...line, err: res.ok ? undefined : res.error.cause }, "request failed");
  else log.info(line, "request");
  return res;
});

const base = t.procedure.use(observe).use(auditFailures).use(mapDomainErrors).use(refuseReadOnly);

const requireUser = t.middleware(({ ctx, next }) => {
  if (!ctx.user)
    throw new TRPCError({ code: "UNAUTHORIZED", message: ctx.authError ?? "Sign in to continue" });
  return next({ ctx: { ...ctx, user: ctx.user } });
});

const requireAdmin = t.middleware(({ ctx, next }) => {
  if (ctx.user?.role !== "admin")
    throw new TRPCError({ code: "FORBIDDEN", message: "This action needs the admin role" });
  return next();
});

/** Agents authenticate every call with `Authorization: Bearer <node credential>`. */
const requireNode = t.middleware(({ ctx, next }) => {
  const header = ctx.headers.get("authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  const node = m?.[1]
    ? ctx.db
        .select({ id: nodes.id, name: nodes.name })
        .from(nodes)
        .where(and(eq(nodes.credentialHash, hashSecret(m[1])), isNull(nodes.revokedAt)))
        .get()
    : undefined;
  if (!node) {
    // Subscriptions are not mutations, so audit the rejection here for every call type.
    audit(ctx.db, actorOf(ctx), {
      action: "agent.auth",
      outcome: "refused",
      detail: m ? "unknown or revoked node credential" : "missing node credential",
    });
    throw new TRPCError({
      code: "UNAUTHORIZED",
      message: "Node credential missing, unknown or revoked; re-enroll the node with a new join token",
    });
  }
  ctx.nodeName = node.name;
  return next({ ctx: { ...ctx, node } });
});

// ---------------------------------------------------------------------------
// 4. Procedure builders
// ---------------------------------------------------------------------------
export const publicProcedure = base;
export const protectedProcedure = base.use(requireUser);
export const adminProcedure = protectedProcedure.use(requireAdmin);
/** Managing API tokens needs the session itself: a leaked token must not mint or revoke tokens. */
export const sessionProcedure = protectedProcedure.use(
  t.middleware(({ ctx, next }) => {
    if (ctx.token)
      throw new TRPCError({
        code: "FORBIDDEN",
        message: "API tokens are managed from a signed-in session (the profile page), not with a token",
      });
    return next();
  }),
);
export const nodeProcedure = base.use(requireNode);
