// /metrics over HTTP (the Next route and server/http.ts both serve this function).
import type { App } from "../app";
import { createContext } from "../trpc";
import { metricsOf } from "./metrics";

/** GET /metrics: the Prometheus text format, for cloud admins only: an admin's API token (a
 * read-only one is enough; Prometheus sends it with `authorization: { credentials: … }`) or an
 * admin's session. */
export async function serveMetrics(app: App, req: Request): Promise<Response> {
  const ctx = await createContext(app, req.headers);
  const text = (status: number, body: string, headers: Record<string, string> = {}) =>
    new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } });
  if (!ctx.user)
    return text(401, `${ctx.authError ?? "Send an admin's API token: Authorization: Bearer bht_…"}\n`, {
      "www-authenticate": 'Bearer realm="bridgehead metrics"',
    });
  if (ctx.user.role !== "admin") return text(403, "Metrics are for cloud admins: use an admin's API token\n");
  const { registry } = metricsOf(app);
  return text(200, await registry.metrics(), {
    "content-type": registry.contentType,
    "cache-control": "no-store",
  });
}
