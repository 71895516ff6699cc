// The tRPC base, read top to bottom: 1. context, 2. init, 3. middlewares, 4. procedure builders.
import { initTRPC, TRPCError } from "@trpc/server";
import { and, eq, isNull } from "drizzle-orm";
import superjson from "superjson";
import { ZodError } from "zod";
import { nodes, userGroups, user as userTable } from "../db/schema";
import { hashSecret } from "../lib/secret";
import { type App, sessionAuth } from "./app";
import { type Actor, audit } from "./audit";
import { DomainError, toTRPCError } from "./errors";
import { clientAddress } from "./forwarded";

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
};

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

/** Builds the context of one request from its headers (cookie session). */
export async function createContext(app: App, headers: Headers): Promise<Context> {
  const session = await sessionAuth(app, headers)
    .api.getSession({ headers })
    .catch(() => null);
  const user = session ? loadSessionUser(app, session.user.id) : null;
  const ip = clientAddress(headers);
  return { app, db: app.db, user, headers, ip };
}

/** The actor written to the audit log for this context. */
export function actorOf(ctx: Context, node?: { id: number; name: string }): Actor {
  if (node) return { userId: null, name: `node:${node.name}`, ip: ctx.ip };
  return ctx.user
    ? { userId: ctx.user.id, name: ctx.user.username, ip: ctx.ip }
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

const t = initTRPC.context<Context>().create({
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
/** Domain errors → tRPC codes, in one place (STYLE.md #3). */
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

const base = t.procedure.use(auditFailures).use(mapDomainErrors);

const requireUser = t.middleware(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in to continue" });
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
  return next({ ctx: { ...ctx, node } });
});

// ---------------------------------------------------------------------------
// 4. Procedure builders
// ---------------------------------------------------------------------------
export const publicProcedure = base;
export const protectedProcedure = base.use(requireUser);
export const adminProcedure = protectedProcedure.use(requireAdmin);
export const nodeProcedure = base.use(requireNode);
