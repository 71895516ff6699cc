// The same tRPC router on a plain Node HTTP server (no Next): used by the dataplane tests, the
// benches and the lab, so they exercise the real agent channel without a production build.
import type { AddressInfo } from "node:net";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import type { App } from "./app";
import { appRouter } from "./routers/root";
import { createContext } from "./trpc";

function toHeaders(raw: NodeJS.Dict<string | string[]>): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw))
    if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
}

/** Serves /api/trpc of `app` on 127.0.0.1:`port` (0 = any free port); resolves with its URL and a closer. */
export async function serveApp(app: App, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHTTPServer({
    basePath: "/api/trpc/",
    router: appRouter,
    createContext: ({ req }) => createContext(app, toHeaders(req.headers)),
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise((resolve) => {
        app.shutdown.abort();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
