// Reading the audit log: the page's filtered window and the export of everything the filters
// match (CSV or JSON). Admins only; the routers and the export route check the role.
import { and, desc, eq, gte, like, lt, lte, or, type SQL } from "drizzle-orm";
import type { z } from "zod";
import { auditLog } from "../../db/schema";
import type { auditListInput } from "../../lib/tenancy";
import type { App } from "../app";

export type AuditFilters = Omit<z.output<typeof auditListInput>, "limit" | "before">;
type AuditRow = typeof auditLog.$inferSelect;

function where(f: AuditFilters & { before?: number }): SQL | undefined {
  const w: SQL[] = [];
  if (f.actor) w.push(eq(auditLog.actor, f.actor));
  if (f.action) w.push(like(auditLog.action, `${f.action}%`));
  if (f.outcome) w.push(eq(auditLog.outcome, f.outcome));
  if (f.objectType) w.push(eq(auditLog.objectType, f.objectType));
  if (f.object) w.push(or(eq(auditLog.objectId, f.object), eq(auditLog.objectName, f.object))!);
  if (f.from) w.push(gte(auditLog.at, f.from));
  if (f.to) w.push(lte(auditLog.at, f.to));
  if (f.before) w.push(lt(auditLog.id, f.before));
  return and(...w);
}

/** Newest first, filtered by actor, action prefix, outcome, object (type, id or name) and time. */
export function listAudit(app: App, input: z.output<typeof auditListInput>) {
  const rows = app.db
    .select()
    .from(auditLog)
    .where(where(input))
    .orderBy(desc(auditLog.id))
    .limit(input.limit + 1)
    .all();
  const more = rows.length > input.limit;
  return { rows: rows.slice(0, input.limit), nextBefore: more ? rows[input.limit - 1]!.id : null };
}

/** Every entry the filters match, newest first, a page at a time (a large log never sits in memory
 * whole). */
export function* auditEntries(app: App, filters: AuditFilters, page = 1000): Generator<AuditRow> {
  let before: number | undefined;
  for (;;) {
    const rows = app.db
      .select()
      .from(auditLog)
      .where(where({ ...filters, before }))
      .orderBy(desc(auditLog.id))
      .limit(page)
      .all();
    yield* rows;
    if (rows.length < page) return;
    before = rows[rows.length - 1]!.id;
  }
}

export const AUDIT_CSV_COLUMNS = [
  "id",
  "at",
  "actor",
  "via",
  "action",
  "outcome",
  "objectType",
  "objectId",
  "objectName",
  "sourceIp",
  "detail",
] as const;

/** One CSV field (RFC 4180). A text that a spreadsheet would run as a formula (= + - @ first) is
 * prefixed with an apostrophe: the log holds names and details that users typed. */
export function csvField(v: unknown): string {
  let s = v instanceof Date ? v.toISOString() : v === null || v === undefined ? "" : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function auditCsvLine(row: AuditRow): string {
  return `${AUDIT_CSV_COLUMNS.map((c) => csvField(row[c])).join(",")}\r\n`;
}
