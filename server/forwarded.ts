// Which scheme and address a request really came from. `next start` keeps any X-Forwarded-* header
// a client sends and derives request.url's scheme from it, so without a trusted proxy those headers
// are dropped at the socket (scrubForwardedHeaders) and Next fills them in from the connection.
import http from "node:http";
import type { Env } from "./env";

export const FORWARDED = [
  "x-forwarded-proto",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-port",
  "x-real-ip",
];

/** Removes client-supplied forwarding headers from every request this process serves over
 * node:http, unless BRIDGEHEAD_TRUST_PROXY says a proxy in front sets them. Called once at start. */
export function scrubForwardedHeaders(env: Env) {
  if (env.BRIDGEHEAD_TRUST_PROXY) return;
  const proto = http.Server.prototype as unknown as { emit: (event: string, ...args: unknown[]) => boolean };
  const emit = proto.emit;
  proto.emit = function (this: http.Server, event: string, ...args: unknown[]) {
    if (event === "request") {
      const req = args[0] as http.IncomingMessage;
      for (const h of FORWARDED) delete req.headers[h];
    }
    return emit.call(this, event, ...args);
  };
}

/** True when the browser talks https to us: BRIDGEHEAD_URL's scheme when set, else a trusted
 * proxy's X-Forwarded-Proto, else the request's own scheme. */
export function requestIsHttps(env: Env, req: { url: string; headers: Headers }): boolean {
  if (env.BRIDGEHEAD_URL) return env.BRIDGEHEAD_URL.startsWith("https:");
  const forwarded = env.BRIDGEHEAD_TRUST_PROXY
    ? req.headers.get("x-forwarded-proto")?.split(",")[0]?.trim()
    : undefined;
  if (forwarded) return forwarded === "https";
  return new URL(req.url).protocol === "https:";
}

/** The origin the browser used (scheme + Host header), which sign-in/out requests must come from. */
export function requestOrigin(env: Env, req: { url: string; headers: Headers }): string {
  const host =
    (env.BRIDGEHEAD_TRUST_PROXY && req.headers.get("x-forwarded-host")) ||
    req.headers.get("host") ||
    new URL(req.url).host;
  return `${requestIsHttps(env, req) ? "https" : "http"}://${host}`;
}

/** The client's address: the last X-Forwarded-For hop, which is the peer our server (Next, after
 * the scrub) or our trusted proxy saw; earlier hops are what the client claimed. */
export function clientAddress(headers: Headers): string | null {
  const hops = headers.get("x-forwarded-for")?.split(",") ?? [];
  return hops.at(-1)?.trim() || null;
}
