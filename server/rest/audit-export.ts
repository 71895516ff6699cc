// GET /api/audit/export?format=csv|json&actor=…&action=…&outcome=…&objectType=…&object=…&from=…&to=…
// The whole filtered audit log as a download, for cloud admins (session or API token). The export
// is itself audited: who took a copy of the log, with which filters.
import { auditListInput } from "../../lib/tenancy";
import type { App } from "../app";
import { audit } from "../audit";
import { AUDIT_CSV_COLUMNS, auditCsvLine, auditEntries } from "../services/audit-log";
import { actorOf, createContext, fieldErrorsOf } from "../trpc";

const exportInput = auditListInput.omit({ before: true, limit: true });

function refuse(status: number, code: string, message: string, fieldErrors: unknown = null): Response {
  return Response.json({ code, message, fieldErrors }, { status });
}

export async function exportAudit(app: App, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const ctx = await createContext(app, req.headers);
  if (!ctx.user) return refuse(401, "UNAUTHORIZED", ctx.authError ?? "Sign in, or send an admin's API token");
  if (ctx.user.role !== "admin")
    return refuse(403, "FORBIDDEN", "Exporting the audit log needs the admin role");
  const format = url.searchParams.get("format") ?? "csv";
  if (format !== "csv" && format !== "json")
    return refuse(400, "BAD_REQUEST", "format must be csv or json", { format: ["Use csv or json"] });
  const raw = Object.fromEntries([...url.searchParams].filter(([k, v]) => k !== "format" && v !== ""));
  const parsed = exportInput.safeParse(raw);
  if (!parsed.success) {
    const fields = fieldErrorsOf(parsed.error);
    const first = Object.entries(fields ?? {})[0];
    return refuse(400, "BAD_REQUEST", `Invalid filter ${first?.[0]}: ${first?.[1]?.[0]}`, fields);
  }
  const filters = parsed.data;
  audit(app.db, actorOf(ctx), {
    action: "audit.export",
    detail: `${format}${Object.keys(raw).length ? `, filters ${new URLSearchParams(raw as Record<string, string>)}` : ", everything"}`,
  });
  const rows = auditEntries(app, filters);
  const enc = new TextEncoder();
  let first = true;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode(format === "csv" ? `${AUDIT_CSV_COLUMNS.join(",")}\r\n` : "["));
    },
    pull(c) {
      // A few hundred rows per pull: the stream follows the reader's pace.
      for (let i = 0; i < 500; i++) {
        const next = rows.next();
        if (next.done) {
          if (format === "json") c.enqueue(enc.encode(first ? "]\n" : "\n]\n"));
          c.close();
          return;
        }
        const row = next.value;
        if (format === "csv") c.enqueue(enc.encode(auditCsvLine(row)));
        else {
          const o = Object.fromEntries(AUDIT_CSV_COLUMNS.map((k) => [k, row[k] ?? null]));
          c.enqueue(enc.encode(`${first ? "\n" : ",\n"}${JSON.stringify(o)}`));
        }
        first = false;
      }
    },
  });
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "");
  return new Response(body, {
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
      "content-disposition": `attachment; filename="bridgehead-audit-${stamp}.${format}"`,
      "cache-control": "no-store",
    },
  });
}
