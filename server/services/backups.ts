// Scheduled backups (BRIDGEHEAD_BACKUP_DIR every BRIDGEHEAD_BACKUP_INTERVAL_MIN, the newest
// BRIDGEHEAD_BACKUP_KEEP kept) and what the Nodes page says about them. The copy is db/backup.ts's,
// the same as `npm run db -- backup`; the outcome of the last run is kept in the settings table so
// a restart does not forget it (and does not take a backup sooner than the schedule says).
import fs from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { backupDatabase } from "../../db/backup";
import { settings } from "../../db/schema";
import type { App } from "../app";
import { type Actor, audit } from "../audit";

const KEY = "backup.last";
const SYSTEM: Actor = { userId: null, name: "system", ip: null };
const PREFIX = "bridgehead-";

/** One run of the schedule: when, where, how big, or why it failed; plus the last good one. */
export type BackupRecord = {
  at: string;
  file: string | null;
  bytes?: number;
  ms?: number;
  error?: string;
  /** The last run that succeeded (this one, or an earlier one when this failed). */
  okAt: string | null;
  okFile: string | null;
};

const lastRecord = (app: App) =>
  (app.db.select().from(settings).where(eq(settings.key, KEY)).get()?.value as BackupRecord | undefined) ??
  null;

function record(app: App, r: BackupRecord) {
  app.db
    .insert(settings)
    .values({ key: KEY, value: r })
    .onConflictDoUpdate({ target: settings.key, set: { value: r } })
    .run();
}

const intervalMs = (app: App) => app.env.BRIDGEHEAD_BACKUP_INTERVAL_MIN * 60_000;

/** What the Nodes page shows: whether a schedule is set, the last run and the next. */
export function backupStatus(app: App) {
  const dir = app.env.BRIDGEHEAD_BACKUP_DIR ?? null;
  const last = lastRecord(app);
  const okAt = last?.okAt ? new Date(last.okAt) : null;
  // After a failure, retry in 5 minutes (or the interval if shorter), not in a tight loop.
  const retryAt = last?.error ? new Date(last.at).getTime() + Math.min(intervalMs(app), 5 * 60_000) : 0;
  const dueAt = okAt ? okAt.getTime() + intervalMs(app) : Date.now();
  const nextAt = dir ? new Date(Math.max(dueAt, retryAt)) : null;
  return {
    scheduled: dir !== null,
    dir: dir ? path.resolve(dir) : null,
    intervalMin: app.env.BRIDGEHEAD_BACKUP_INTERVAL_MIN,
    keep: app.env.BRIDGEHEAD_BACKUP_KEEP,
    last,
    nextAt,
    /** No good backup for two intervals (failing runs, or the portal was down): say so loudly. */
    overdue: dir !== null && (!okAt || Date.now() - okAt.getTime() > 2 * intervalMs(app)),
  };
}

/** Takes one backup into the backup directory now, prunes old ones, records and audits the outcome. */
export async function runScheduledBackup(app: App): Promise<BackupRecord> {
  const dir = path.resolve(app.env.BRIDGEHEAD_BACKUP_DIR!);
  const prev = lastRecord(app);
  const at = new Date();
  const file = path.join(dir, `${PREFIX}${at.toISOString().replace(/[:.]/g, "-")}.db`);
  let r: BackupRecord;
  try {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new Error(
        `Cannot create the backup directory ${dir} (BRIDGEHEAD_BACKUP_DIR): ${(err as Error).message}`,
      );
    }
    const done = await backupDatabase(app.env.BRIDGEHEAD_DB, file);
    r = { at: at.toISOString(), file, bytes: done.bytes, ms: done.ms, okAt: at.toISOString(), okFile: file };
    prune(dir, app.env.BRIDGEHEAD_BACKUP_KEEP);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    r = { at: at.toISOString(), file: null, error, okAt: prev?.okAt ?? null, okFile: prev?.okFile ?? null };
    console.error(`Bridgehead: scheduled backup failed: ${error}`);
  }
  record(app, r);
  audit(app.db, SYSTEM, {
    action: "backup.scheduled",
    objectType: "database",
    objectName: r.file ?? dir,
    outcome: r.error ? "error" : "ok",
    detail: r.error ?? `${r.bytes} bytes in ${r.ms} ms`,
  });
  app.bus.emit("nodes:changed");
  return r;
}

/** Keeps the newest `keep` scheduled backups in `dir` (only files this schedule wrote). */
function prune(dir: string, keep: number) {
  const ours = fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(PREFIX) && f.endsWith(".db"))
    .sort();
  for (const f of ours.slice(0, Math.max(0, ours.length - keep)))
    fs.rmSync(path.join(dir, f), { force: true });
}

/** Runs the schedule until the returned stop(): the first backup when the last good one is older
 * than the interval (at once on a fresh install), then one per interval. Does not keep the process
 * alive. Returns null when no backup directory is configured. */
export function startBackupSchedule(app: App): { stop(): void } | null {
  if (!app.env.BRIDGEHEAD_BACKUP_DIR) return null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const plan = () => {
    if (stopped) return;
    const wait = Math.max(0, (backupStatus(app).nextAt?.getTime() ?? Date.now()) - Date.now());
    // Node's timers take at most 2^31-1 ms (~24.8 days); longer waits are planned in pieces.
    timer = setTimeout(tick, Math.min(wait, 2 ** 31 - 1));
    timer.unref();
  };
  const tick = () => {
    const due = (backupStatus(app).nextAt?.getTime() ?? 0) <= Date.now();
    if (!due) return plan();
    void runScheduledBackup(app).finally(plan);
  };
  plan();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
