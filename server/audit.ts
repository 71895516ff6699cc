// The audit log: who changed what, when, from where. Successful mutations are written by the
// service inside its own transaction (so the entry and the change commit together); refused and
// failed ones by the tRPC middleware.
import type { Db, Tx } from "../db";
import { auditLog } from "../db/schema";

/** `via` names the API token when the caller used one instead of a session. */
export type Actor = { userId: string | null; name: string; ip: string | null; via?: string };

export type AuditEntry = {
  action: string;
  objectType?: string;
  objectId?: string | number;
  objectName?: string;
  outcome?: "ok" | "refused" | "error";
  detail?: string;
};

/** Writes one audit entry. */
export function audit(db: Db | Tx, actor: Actor, e: AuditEntry) {
  db.insert(auditLog)
    .values({
      userId: actor.userId,
      actor: actor.name,
      action: e.action,
      objectType: e.objectType ?? null,
      objectId: e.objectId === undefined ? null : String(e.objectId),
      objectName: e.objectName ?? null,
      outcome: e.outcome ?? "ok",
      detail: e.detail?.slice(0, 2000) ?? null,
      sourceIp: actor.ip,
      via: actor.via ?? null,
    })
    .run();
}
