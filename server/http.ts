// The same tRPC router on a plain Node HTTP server (no Next): used by the dataplane tests, the
// benches and the lab, so they exercise the real agent channel without a production build.
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import type { App } from "./app";
import { appRouter } from "./routers/root";
import type { TlsMaterial } from "./tls";
import { createContext } from "./trpc";

function toHeaders(raw: NodeJS.Dict<string | string[]>): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw))
    if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
}

/** Serves /api/trpc of `app` on 127.0.0.1:`port` (0 = any free port); resolves with its URL and a
 * closer. With `tls` it serves HTTPS with that certificate, which agents then pin. */
export async function serveApp(
  app: App,
  port = 0,
  tls?: TlsMaterial,
): Promise<{ url: string; close(): Promise<void>; server: http.Server | https.Server }> {
  const handler = createHTTPHandler({
    basePath: "/api/trpc/",
    router: appRouter,
    createContext: ({ req }) => createContext(app, toHeaders(req.headers)),
  });
  const server = tls
    ? https.createServer({ cert: tls.cert, key: tls.key }, handler)
    : http.createServer(handler);
  if (tls) {
    app.tls.current = tls.fingerprint;
    const secure = server as https.Server;
    app.tls.onActivate = (m) => secure.setSecureContext({ cert: m.cert, key: m.key });
  }
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${bound}`,
    server,
    close: () =>
      new Promise((resolve) => {
        app.shutdown.abort();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
