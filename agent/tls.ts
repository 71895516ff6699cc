// The agent's HTTPS transport: a fetch whose every connection is checked against the pinned
// certificate fingerprints *before* the request is handed the socket, so a wrong certificate (a
// TLS proxy, a man in the middle) never sees a join token, a credential or a byte of HTTP. The
// fingerprint is the one the join token carried (SHA-256 of the certificate's DER, base64url);
// no CA is consulted, so a self-signed portal certificate is as good as any.
import crypto from "node:crypto";
import type http from "node:http";
import https from "node:https";
import net from "node:net";
import { type Duplex, Readable } from "node:stream";
import tls from "node:tls";

/** A refused certificate: the message names what was seen, what was pinned, and the way out. */
export class PinMismatch extends Error {
  constructor(
    readonly host: string,
    readonly seen: string,
    readonly pinned: string[],
  ) {
    super(
      `the server at ${host} presented a certificate with SHA-256 fingerprint ${seen}, not the pinned ${pinned.join(" or ")}: refusing to send anything to it (a TLS proxy or a man in the middle?). If the portal's certificate was replaced without re-pinning, enroll this node again with a new join token from the Nodes page`,
    );
    this.name = "PinMismatch";
  }
}

const fingerprint = (der: Buffer) => crypto.createHash("sha256").update(der).digest("base64url");

/** An https.Agent whose sockets are handed out only after the peer certificate matched a pin. */
class PinnedAgent extends https.Agent {
  constructor(private readonly pins: () => string[]) {
    super({ keepAlive: true });
  }

  // The async form of createConnection (return nothing, call back with the socket): the request
  // is written only once the callback delivers the socket, i.e. after the check.
  override createConnection(
    args: http.ClientRequestArgs,
    done?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | undefined {
    const options = args as tls.ConnectionOptions;
    const host = options.host ?? "localhost";
    const servername = options.servername && !net.isIP(options.servername) ? options.servername : undefined;
    // No CA check: the pin is stricter than any CA (only this one certificate is accepted).
    const socket = tls.connect({ ...options, servername, rejectUnauthorized: false, session: undefined });
    let settled = false;
    const settle = (err: Error | null) => {
      if (settled) return;
      settled = true;
      if (err) {
        socket.destroy();
        done?.(err, socket);
      } else done?.(null, socket);
    };
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      const seen = cert?.raw ? fingerprint(cert.raw) : "(none)";
      const pins = this.pins();
      settle(pins.includes(seen) ? null : new PinMismatch(`${host}:${options.port}`, seen, pins));
    });
    socket.once("error", (err) => settle(err));
    return undefined;
  }
}

/** A WHATWG fetch over node:http(s), enough for the tRPC client and the eventsource ponyfill
 * (method, headers, string body, abort signal; a streamed response body). */
export function pinnedFetch(pins: () => string[]): typeof fetch {
  const agent = new PinnedAgent(pins);
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    if (url.protocol !== "https:")
      throw new Error(`${url.origin} is not https: refusing to send the pinned channel over plain HTTP`);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const body = init.body == null ? undefined : String(init.body);
    return new Promise<Response>((resolve, reject) => {
      const req = https.request(
        url,
        { method: init.method ?? "GET", headers, agent, signal: init.signal ?? undefined },
        (res: http.IncomingMessage) => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
          const status = res.statusCode ?? 500;
          const empty = status === 204 || status === 304 || init.method === "HEAD";
          if (empty) res.resume();
          resolve(
            new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
              status,
              statusText: res.statusMessage,
              headers: h,
            }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }) as typeof fetch;
}

/** How the agent talks to its server: pinned HTTPS, or plain HTTP when --insecure allowed it. */
export type Transport = { fetch: typeof fetch; insecure: boolean };

/** The transport for `server`: pinned HTTPS with `pins`, or plain fetch for http:// with
 * --insecure. Anything else is refused with the reason (the caller turns it into a usage error). */
export function transportFor(server: string, pins: () => string[], insecure: boolean): Transport | string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return `--server ${server} is not a URL (e.g. https://portal.example:3000)`;
  }
  if (url.protocol === "http:") {
    if (!insecure)
      return `--server ${server} is plain HTTP: anyone on the path could read this node's credential and push it any network state. Use the https:// URL the Nodes page shows, or pass --insecure (labs and tests only)`;
    return { fetch: globalThis.fetch, insecure: true };
  }
  if (url.protocol !== "https:") return `--server ${server} must be an https:// URL`;
  if (pins().length === 0)
    return "no certificate fingerprint to pin: the join token carries none (the portal serves no TLS and has no BRIDGEHEAD_TLS_PIN). Configure TLS on the portal and issue a new join token, or use its http:// URL with --insecure (labs and tests only)";
  return { fetch: pinnedFetch(pins), insecure: false };
}
