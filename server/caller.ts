// A tRPC caller acting as a user, in process: the router tests, the benches and the lab's seeding
// call the procedures the way the portal would, checks and audit included.
import type { App } from "./app";
import { createCaller } from "./routers/root";
import { type Context, loadSessionUser } from "./trpc";

/** A caller for an existing user id (or anonymous when null), with optional extra headers. */
export function callerFor(app: App, userId: string | null, headers: Record<string, string> = {}) {
  const ctx: Context = {
    app,
    db: app.db,
    user: userId ? loadSessionUser(app, userId) : null,
    headers: new Headers(headers),
    ip: "127.0.0.1",
  };
  return createCaller(ctx);
}
