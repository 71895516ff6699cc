// HTTP faces of the cloud-init seed (server/services/instances/seed.ts):
// - GET /seed/<instance>/<secret>/{meta-data,user-data,network-config,vendor-data}: for guests,
//   no session; anything but the instance's current secret is a bare 404 (no hint whether the
//   instance exists or the secret was once valid).
// - GET /api/instances/<id>/seed/{cidata.iso,context.sh}: downloads for a signed-in user or an API
//   token that may see the instance (NOT_FOUND otherwise, as everywhere).
import { SEED_DOCUMENTS, type SeedDocument } from "../../lib/cloud-init";
import type { App } from "../app";
import { DomainError } from "../errors";
import { buildCidataIso, IsoToolMissing } from "../services/instances/cidata-iso";
import { SEED_BASE, seedDocumentFor, seedFiles } from "../services/instances/seed";
import { createContext } from "../trpc";

const NOT_FOUND = () =>
  new Response("Not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });

/** Answers a guest's NoCloud request. */
export function serveSeed(app: App, req: Request): Response {
  if (req.method !== "GET" && req.method !== "HEAD") return NOT_FOUND();
  const m = new RegExp(`^${SEED_BASE}/(\\d{1,12})/([A-Za-z0-9_-]{1,64})/([a-z-]+)$`).exec(
    new URL(req.url).pathname,
  );
  if (!m) return NOT_FOUND();
  const [, id, secret, doc] = m as unknown as [string, string, string, string];
  // cloud-init asks for vendor-data too; an empty one spares it retries on a 404.
  const wanted = doc === "vendor-data" ? "meta-data" : doc;
  if (!(SEED_DOCUMENTS as readonly string[]).includes(wanted)) return NOT_FOUND();
  const body = seedDocumentFor(app, Number(id), secret, wanted as SeedDocument);
  if (body === null) return NOT_FOUND();
  return new Response(req.method === "HEAD" ? null : doc === "vendor-data" ? "" : body, {
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}

/** The download routes' path: /api/instances/<id>/seed/<file>. */
export const SEED_DOWNLOAD = /^\/api\/instances\/(\d{1,12})\/seed\/(cidata\.iso|context\.sh)$/;

function refuse(status: number, code: string, message: string): Response {
  return Response.json({ code, message, fieldErrors: null }, { status });
}

/** Serves an instance's cidata ISO or context.sh to whoever may see the instance. */
export async function downloadSeed(app: App, req: Request): Promise<Response> {
  const m = SEED_DOWNLOAD.exec(new URL(req.url).pathname);
  if (!m) return refuse(404, "NOT_FOUND", "No such download");
  const ctx = await createContext(app, req.headers);
  if (!ctx.user) return refuse(401, "UNAUTHORIZED", ctx.authError ?? "Sign in, or send an API token");
  let seed: ReturnType<typeof seedFiles>;
  try {
    seed = seedFiles(app, ctx.user, Number(m[1]));
  } catch (err) {
    if (err instanceof DomainError) return refuse(404, "NOT_FOUND", err.message);
    throw err;
  }
  const file = m[2]!;
  const base = seed.name.replace(/[^A-Za-z0-9._-]+/g, "_");
  const headers = (type: string, name: string) => ({
    "content-type": type,
    "content-disposition": `attachment; filename="${name}"`,
    "cache-control": "no-store",
  });
  if (file === "context.sh")
    return new Response(seed.contextSh, {
      headers: headers("text/x-shellscript; charset=utf-8", `${base}-context.sh`),
    });
  try {
    const iso = await buildCidataIso(seed.files);
    return new Response(new Uint8Array(iso), {
      headers: headers("application/x-iso9660-image", `${base}-cidata.iso`),
    });
  } catch (err) {
    if (err instanceof IsoToolMissing) return refuse(503, "SERVICE_UNAVAILABLE", err.message);
    throw err;
  }
}
