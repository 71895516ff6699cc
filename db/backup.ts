// Online backups of the SQLite database, and restoring one. A backup is SQLite's backup API
// (better-sqlite3's db.backup) copying every page in one step from a read-only connection: in WAL
// mode that step is one read transaction, so it sees one consistent commit while the portal keeps
// writing (readers never block writers). A multi-step copy would restart whenever another
// connection wrote between steps, and might never finish on a busy portal. It runs in a worker
// thread so the portal's event loop is not held for the copy; the CLI (db/cli.ts) uses the same.
import fs from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";

export type BackupResult = { file: string; bytes: number; pages: number; ms: number; migrations: number };

/** The worker's code, CommonJS so it runs the same from source, tsx and Next's bundle. It writes to
 * a temporary name, checks the copy and only then renames it: a backup file that exists is whole. */
const WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const Database = require("better-sqlite3");
const { source, dest } = workerData;
const tmp = dest + ".partial";
(async () => {
  const started = Date.now();
  fs.rmSync(tmp, { force: true });
  const src = new Database(source, { readonly: true, fileMustExist: true });
  let pages;
  try {
    // All remaining pages per step: the copy is one read transaction, one snapshot.
    const r = await src.backup(tmp, { progress: () => 0x7fffffff });
    pages = r.totalPages;
  } finally {
    src.close();
  }
  const copy = new Database(tmp);
  let check, migrations = 0;
  try {
    // The copy keeps the source's WAL mode; a backup is one self-contained file.
    copy.pragma("journal_mode = DELETE");
    check = copy.pragma("integrity_check", { simple: true });
    const t = copy.prepare("SELECT name FROM sqlite_master WHERE name = '__drizzle_migrations'").get();
    if (t) migrations = copy.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get().n;
  } finally {
    copy.close();
  }
  if (check !== "ok") {
    fs.rmSync(tmp, { force: true });
    throw new Error("the copy failed SQLite's integrity check: " + check);
  }
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, dest);
  parentPort.postMessage({ file: dest, bytes: fs.statSync(dest).size, pages, ms: Date.now() - started, migrations });
})().catch((err) => {
  fs.rmSync(tmp, { force: true });
  parentPort.postMessage({ error: String(err && err.message || err) });
});
`;

/** Copies the database `source` to `dest` (which must not exist yet) while it stays in use. */
export async function backupDatabase(source: string, dest: string): Promise<BackupResult> {
  const src = path.resolve(source);
  const out = path.resolve(dest);
  if (!fs.existsSync(src)) throw new Error(`No database at ${src} (BRIDGEHEAD_DB): nothing to back up`);
  if (fs.existsSync(out)) throw new Error(`${out} exists already; choose a new file name for the backup`);
  if (!fs.existsSync(path.dirname(out))) throw new Error(`The directory ${path.dirname(out)} does not exist`);
  const worker = new Worker(WORKER, { eval: true, workerData: { source: src, dest: out } });
  const reply = await new Promise<BackupResult | { error: string }>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the backup worker exited (${code}) without an answer`)));
  }).finally(() => void worker.terminate());
  if ("error" in reply) throw new Error(`Backup of ${src} to ${out} failed: ${reply.error}`);
  return reply;
}

export type RestoreResult = { restored: string; from: string; previous: string | null; migrations: number };

/** Checks that `file` is a whole Bridgehead database (integrity and migrations table); returns the
 * number of migrations it has applied. */
export function checkBackup(file: string): number {
  if (!fs.existsSync(file)) throw new Error(`No backup at ${file}`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new Error(`${file} is not a SQLite database: ${(err as Error).message}`);
  }
  try {
    const check = db.pragma("integrity_check", { simple: true });
    if (check !== "ok")
      throw new Error(`${file} fails SQLite's integrity check (${check}); use another backup`);
    const t = db.prepare("SELECT 1 FROM sqlite_master WHERE name = '__drizzle_migrations'").get();
    if (!t) throw new Error(`${file} is not a Bridgehead database (it has no migrations table)`);
    return (db.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number }).n;
  } catch (err) {
    if ((err as { code?: string }).code === "SQLITE_NOTADB")
      throw new Error(`${file} is not a SQLite database`);
    throw err;
  } finally {
    db.close();
  }
}

/** Replaces the database `target` with the backup `file`. Refused while any process (the portal)
 * has `target` open; the replaced database is kept beside it as `<target>.before-restore-<time>`.
 * `known` is how many migrations this release has: a backup from a newer release is refused. */
export function restoreDatabase(file: string, target: string, known: number): RestoreResult {
  const from = path.resolve(file);
  const to = path.resolve(target);
  const migrations = checkBackup(from);
  if (migrations > known)
    throw new Error(
      `${from} was written by a newer Bridgehead (${migrations} migrations, this release knows ${known}); restore it with that release`,
    );
  let previous: string | null = null;
  if (fs.existsSync(to)) {
    // Leaving WAL mode needs the only connection to the database: it fails while the portal (or
    // anything else) has it open, and on success folds the log into the file and removes it.
    const db = new Database(to, { fileMustExist: true, timeout: 0 });
    try {
      db.pragma("journal_mode = DELETE");
    } catch (err) {
      throw new Error(
        `${to} is in use (${(err as Error).message}): stop the portal first (systemctl stop bridgehead-portal), then restore`,
      );
    } finally {
      db.close();
    }
    previous = `${to}.before-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    fs.renameSync(to, previous);
  } else fs.mkdirSync(path.dirname(to), { recursive: true });
  for (const side of ["-wal", "-shm", "-journal"]) fs.rmSync(`${to}${side}`, { force: true });
  const tmp = `${to}.restoring`;
  fs.copyFileSync(from, tmp);
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, to);
  return { restored: to, from, previous, migrations };
}
