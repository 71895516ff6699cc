// Accounts and sessions through better-auth: scrypt-hashed passwords, httpOnly SameSite cookies,
// username sign-in, admin/user roles (admin plugin). Public sign-up is off: admins create users.
//
// Over HTTP only the endpoints the portal uses are served (ALLOWED_PATHS): the admin plugin's
// endpoints (set-role, set-user-password, ban, remove-user, impersonate, list/revoke sessions …)
// answer 404, because the portal's own audited tRPC procedures do those jobs (server/services/
// users.ts calls the plugin in-process, which is not affected). Sign-in (both outcomes), sign-out
// and change-password are audited; failed sign-ins are limited (server/sign-in-limit.ts).
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { nextCookies } from "better-auth/next-js";
import { admin, username } from "better-auth/plugins";
import { eq } from "drizzle-orm";
import type { Db } from "../db";
import { schema } from "../db";
import { session as sessionTable, user as userTable } from "../db/schema";
import { type Actor, audit } from "./audit";
import type { Env } from "./env";
import { clientAddress, requestOrigin } from "./forwarded";
import { clearAccountFailures, recordSignInFailure, signInRefusal } from "./sign-in-limit";

/** The /api/auth paths the portal uses; every other better-auth endpoint answers 404. */
export const ALLOWED_PATHS = new Set([
  "/sign-in/username",
  "/sign-out",
  "/get-session",
  "/change-password",
  "/ok",
]);

export type AuthOptions = { db: Db; env: Env; secure: boolean };

type HookCtx = { path?: string; headers?: Headers; body?: unknown; request?: Request };
const addressOf = (ctx: HookCtx) => (ctx.headers ? clientAddress(ctx.headers) : null);
const usernameOf = (ctx: HookCtx) => {
  const u = (ctx.body as { username?: unknown } | undefined)?.username;
  return typeof u === "string" ? u.trim().toLowerCase().slice(0, 64) : "";
};

/** The user a session cookie belongs to, read before sign-out deletes it. */
function actorFromCookie(db: Db, headers: Headers | undefined, cookieName: string): Actor {
  const ip = headers ? clientAddress(headers) : null;
  const raw = headers?.get("cookie") ?? "";
  const value = raw
    .split(";")
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${cookieName}=`))
    ?.slice(cookieName.length + 1);
  const token = value ? decodeURIComponent(value).split(".")[0] : undefined;
  const row = token
    ? db
        .select({ id: userTable.id, username: userTable.username })
        .from(sessionTable)
        .innerJoin(userTable, eq(userTable.id, sessionTable.userId))
        .where(eq(sessionTable.token, token))
        .get()
    : undefined;
  return row ? { userId: row.id, name: row.username ?? row.id, ip } : { userId: null, name: "anonymous", ip };
}

/** Builds the better-auth instance bound to our database. `secure` decides the cookie's Secure flag
 * and __Secure- prefix: the App keeps one instance per scheme and picks by request (app.ts). */
export function createAuth({ db, env, secure }: AuthOptions) {
  const cookieName = `${secure ? "__Secure-" : ""}better-auth.session_token`;
  return betterAuth({
    appName: "Bridgehead",
    secret: env.secret,
    baseURL: env.BRIDGEHEAD_URL,
    database: drizzleAdapter(db, {
      provider: "sqlite",
      schema: {
        user: schema.user,
        session: schema.session,
        account: schema.account,
        verification: schema.verification,
      },
    }),
    emailAndPassword: { enabled: true, disableSignUp: true, minPasswordLength: 12, maxPasswordLength: 256 },
    session: { expiresIn: 60 * 60 * 24 * 7, updateAge: 60 * 60 * 24 },
    advanced: {
      // Secure is decided per scheme, not from NODE_ENV: a Secure cookie set over plain http to a
      // host name or IP is dropped by the browser, which then stays on the login page.
      useSecureCookies: secure,
      defaultCookieAttributes: { httpOnly: true, sameSite: "lax" },
      trustedProxyHeaders: env.BRIDGEHEAD_TRUST_PROXY,
    },
    // CSRF protection: sign-in/out must come from the origin the browser addressed (its Host).
    trustedOrigins: (request) => (request ? [new URL(request.url).origin, requestOrigin(env, request)] : []),
    telemetry: { enabled: false },
    logger: { level: "error" },
    // better-auth's own limiter is in memory and per address only; ours is below.
    rateLimit: { enabled: false },
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path === "/sign-in/username") {
          const name = usernameOf(ctx);
          const refusal = signInRefusal(db, name, addressOf(ctx));
          if (refusal) {
            audit(
              db,
              { userId: null, name: "anonymous", ip: addressOf(ctx) },
              {
                action: "auth.signIn",
                objectType: "user",
                objectName: name,
                outcome: "refused",
                detail: refusal,
              },
            );
            throw new APIError("TOO_MANY_REQUESTS", { message: refusal, code: "TOO_MANY_SIGN_IN_FAILURES" });
          }
        }
        if (ctx.path === "/sign-out") {
          const actor = actorFromCookie(db, ctx.headers, cookieName);
          if (actor.userId)
            audit(db, actor, {
              action: "auth.signOut",
              objectType: "user",
              objectId: actor.userId,
              objectName: actor.name,
            });
        }
      }),
      after: createAuthMiddleware(async (ctx) => {
        const returned = ctx.context.returned;
        const failed = returned instanceof APIError || returned instanceof Error;
        const why = failed
          ? `${(returned as APIError).status ?? ""} ${(returned as Error).message}`.trim()
          : undefined;
        if (ctx.path === "/sign-in/username") {
          const name = usernameOf(ctx);
          const ip = addressOf(ctx);
          const signedIn = ctx.context.newSession?.user as { id: string; username?: string } | undefined;
          if (!failed && signedIn) {
            clearAccountFailures(db, name);
            audit(
              db,
              { userId: signedIn.id, name: signedIn.username ?? name, ip },
              {
                action: "auth.signIn",
                objectType: "user",
                objectId: signedIn.id,
                objectName: name,
              },
            );
          } else {
            recordSignInFailure(db, name, ip);
            audit(
              db,
              { userId: null, name: "anonymous", ip },
              {
                action: "auth.signIn",
                objectType: "user",
                objectName: name,
                outcome: "refused",
                detail: why ?? "no session",
              },
            );
          }
        }
        if (ctx.path === "/change-password") {
          const u = ctx.context.session?.user as { id: string; username?: string } | undefined;
          audit(
            db,
            { userId: u?.id ?? null, name: u?.username ?? "anonymous", ip: addressOf(ctx) },
            {
              action: "auth.changePassword",
              objectType: "user",
              objectId: u?.id,
              objectName: u?.username,
              outcome: failed ? "refused" : "ok",
              detail: failed ? why : "other sessions ended",
            },
          );
        }
      }),
    },
    plugins: [
      username({ minUsernameLength: 2, maxUsernameLength: 32 }),
      admin({ defaultRole: "user", adminRoles: ["admin"] }),
      {
        id: "bridgehead-allowed-paths",
        onRequest: async (request: Request, ctx: { options: { basePath?: string } }) => {
          const base = ctx.options.basePath ?? "/api/auth";
          const path = new URL(request.url).pathname.replace(/\/+$/, "").slice(base.length);
          if (ALLOWED_PATHS.has(path)) return;
          audit(db, actorFromCookie(db, request.headers, cookieName), {
            action: "auth.disabled",
            objectName: path,
            outcome: "refused",
            detail: `${request.method} /api/auth${path}: not served by this portal`,
          });
          return {
            response: Response.json(
              { code: "NOT_FOUND", message: `/api/auth${path} is not served; use the portal's Users page` },
              { status: 404 },
            ),
          };
        },
      },
      nextCookies(),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;
