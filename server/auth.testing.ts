// Calls /api/auth/* through the same handler the Next route uses (authFor(app, req).handler), as a
// browser would: JSON body, Origin of the portal, the session cookie it was given.
import { type App, authFor } from "./app";

export const PORTAL = "http://198.18.0.10:3000";

export type AuthCall = {
  method?: "GET" | "POST";
  body?: unknown;
  cookie?: string;
  headers?: Record<string, string>;
  base?: string;
};

/** One request to /api/auth`path`; resolves with the Response. */
export function authRequest(app: App, path: string, call: AuthCall = {}): Promise<Response> {
  const base = call.base ?? PORTAL;
  const host = new URL(base).host;
  const req = new Request(`${base}/api/auth${path}`, {
    method: call.method ?? "POST",
    headers: {
      host,
      origin: base,
      "content-type": "application/json",
      "x-forwarded-for": "203.0.113.7",
      ...(call.cookie ? { cookie: call.cookie } : {}),
      ...call.headers,
    },
    body: call.method === "GET" ? undefined : JSON.stringify(call.body ?? {}),
  });
  return authFor(app, req).handler(req);
}

/** The name=value pairs of a response's Set-Cookie headers, as a Cookie header. */
export function cookieOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
}

/** Signs in through the handler; returns the session cookie (throws with the server's message). */
export async function signIn(app: App, username: string, password: string, call: AuthCall = {}) {
  const res = await authRequest(app, "/sign-in/username", { ...call, body: { username, password } });
  if (!res.ok) throw new Error(`sign-in of ${username} failed: ${res.status} ${await res.text()}`);
  return cookieOf(res);
}
