// Accounts and sessions through better-auth: scrypt-hashed passwords, httpOnly SameSite cookies,
// username sign-in, admin/user roles (admin plugin). Public sign-up is off: admins create users.
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { nextCookies } from "better-auth/next-js";
import { admin, username } from "better-auth/plugins";
import type { Db } from "../db";
import { schema } from "../db";

export type AuthOptions = { db: Db; secret: string; baseURL?: string };

/** Builds the better-auth instance bound to our database. */
export function createAuth({ db, secret, baseURL }: AuthOptions) {
  return betterAuth({
    appName: "Bridgehead",
    secret,
    baseURL,
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
      // Cookies: httpOnly and SameSite=Lax are better-auth's defaults; Secure follows the URL scheme.
      defaultCookieAttributes: { httpOnly: true, sameSite: "lax" },
    },
    // Behind `next start` on any host name the admin uses; CSRF protection still checks Origin
    // against the request's own host.
    trustedOrigins: (request) => (request ? [new URL(request.url).origin] : []),
    telemetry: { enabled: false },
    // Without BRIDGEHEAD_URL the origin comes from each request, which is what we want behind any host name.
    logger: { level: "error" },
    plugins: [
      username({ minUsernameLength: 2, maxUsernameLength: 32 }),
      admin({ defaultRole: "user", adminRoles: ["admin"] }),
      nextCookies(),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;
