// The same tRPC router on a plain Node HTTP server (no Next): used by the dataplane tests, the
// benches and the lab, so they exercise the real agent channel without a production build.
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import type { App } from "./app";
import { serveMetrics } from "./observability/metrics-endpoint";
import { exportAudit } from "./rest/audit-export";
import { openApiDocument } from "./rest/document";
import { handleRest, REST_BASE } from "./rest/handler";
import { downloadSeed, SEED_DOWNLOAD, serveSeed } from "./rest/seed";
import { appRouter } from "./routers/root";
import type { TlsMaterial } from "./tls";
import { createContext } from "./trpc";

function toHeaders(raw: NodeJS.Dict<string | string[]>): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw))
    if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
}

/** A Node request as a fetch Request (the REST and metrics handlers take those, as in Next). */
async function toRequest(req: http.IncomingMessage): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = chunks.length ? Buffer.concat(chunks) : undefined;
  return new Request(`http://${req.headers.host ?? "127.0.0.1"}${req.url ?? "/"}`, {
    method: req.method,
    headers: toHeaders(req.headers),
    body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
  });
}

async function send(res: http.ServerResponse, answer: Response) {
  res.statusCode = answer.status;
  answer.headers.forEach((v, k) => {
    res.setHeader(k, v);
  });
  res.end(Buffer.from(await answer.arrayBuffer()));
}

/** Serves /api/trpc, /api/v1 (REST), /api/openapi.json, /api/audit/export, /metrics and the cloud-init
 * seed (/seed/…, /api/instances/<id>/seed/…) of `app` on
 * 127.0.0.1:`port` (0 = any free port); resolves with its URL and a closer. With `tls` it serves HTTPS
 * with that certificate, which agents then pin; with its `files` too, an admin can change it the
 * way `npm start` allows (stage beside them, activate). */
export async function serveApp(
  app: App,
  port = 0,
  tls?: TlsMaterial,
  files?: { cert: string; key: string },
): Promise<{ url: string; close(): Promise<void>; server: http.Server | https.Server }> {
  const trpc = createHTTPHandler({
    basePath: "/api/trpc/",
    router: appRouter,
    createContext: ({ req }) => createContext(app, toHeaders(req.headers)),
  });
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const other =
      path === "/metrics"
        ? (r: Request) => serveMetrics(app, r)
        : path === "/api/openapi.json"
          ? async () => Response.json(openApiDocument())
          : path === "/api/audit/export"
            ? (r: Request) => exportAudit(app, r)
            : path.startsWith(`${REST_BASE}/`)
              ? (r: Request) => handleRest(app, r)
              : path.startsWith("/seed/")
                ? async (r: Request) => serveSeed(app, r)
                : SEED_DOWNLOAD.test(path)
                  ? (r: Request) => downloadSeed(app, r)
                  : null;
    if (!other) return trpc(req, res);
    toRequest(req)
      .then(other)
      .then((answer) => send(res, answer))
      .catch((err: unknown) => {
        console.error(`${req.method} ${path} failed:`, err);
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
  };
  const server = tls
    ? https.createServer({ cert: tls.cert, key: tls.key }, handler)
    : http.createServer(handler);
  if (tls) {
    if (files) app.tls.serve(tls, { ...files, generate: false });
    else app.tls.current = tls.fingerprint;
    const secure = server as https.Server;
    app.tls.onActivate = (m) => {
      secure.setSecureContext({ cert: m.cert, key: m.key });
      // Kept-alive connections still speak the old certificate: new ones must show the new one.
      secure.closeIdleConnections();
    };
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
