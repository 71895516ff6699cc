// Opening, migrating and seeding the SQLite database. One file, WAL, foreign keys on.
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { is, Param, Placeholder } from "drizzle-orm";
import { type BetterSQLite3Database, drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { PRIVATE_IPV4 } from "../lib/templates";
import * as schema from "./schema";

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };
/** A transaction handle: same query API as Db. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

/** Where the database lives unless BRIDGEHEAD_DB says otherwise (server/env.ts, db/cli.ts). */
export const DEFAULT_DB_FILE = "./data/bridgehead.db";

/** The migrations folder: beside this file when run from source (tsx, vitest), or under the working
 * directory when bundled by Next (where this module's own location is inside .next/). */
export function migrationsFolder(): string {
  const candidates = [path.join(process.cwd(), "db", "migrations")];
  if (typeof import.meta.dirname === "string")
    candidates.unshift(path.join(import.meta.dirname, "migrations"));
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, "meta", "_journal.json")));
  if (!found) throw new Error(`Database migrations not found (looked in ${candidates.join(", ")})`);
  return found;
}

/** The connection behind a Db or Tx (a drizzle transaction shares its database's session), used
 * to cache prepared statements per connection. */
export function connectionOf(db: Db | Tx): object {
  return (db as unknown as { session: { client: object } }).session.client;
}

/** A drizzle query (written against the schema, with `sql.placeholder`s) compiled once into a
 * plain better-sqlite3 statement for a hot path. Drizzle re-examines every parameter and maps every
 * row on each execution; here the placeholder order and each parameter's encoder are worked out
 * once, so a call binds an array and returns SQLite's own rows (SQL column names; `.pluck()`,
 * `.raw()` and `.run()` as better-sqlite3 has them). */
export function compile(
  db: Db | Tx,
  query: { toSQL(): { sql: string; params: unknown[] } },
): { stmt: Database.Statement; args(values: Record<string, unknown>): unknown[] } {
  const { sql, params } = query.toSQL();
  const stmt = (connectionOf(db) as Database.Database).prepare(sql);
  const value = (v: Record<string, unknown>, name: string) => {
    if (!(name in v)) throw new Error(`No value for placeholder "${name}" of: ${sql}`);
    return v[name];
  };
  const binders = params.map((p): ((v: Record<string, unknown>) => unknown) => {
    if (is(p, Placeholder)) return (v) => value(v, p.name);
    if (is(p, Param) && is(p.value, Placeholder)) {
      const name = p.value.name;
      const enc = p.encoder;
      // null binds as NULL: column encoders such as timestamp's do not take it.
      return (v) => {
        const x = value(v, name);
        return x == null || !enc ? (x ?? null) : enc.mapToDriverValue(x);
      };
    }
    if (is(p, Param)) {
      const value = p.encoder ? p.encoder.mapToDriverValue(p.value) : p.value;
      return () => value;
    }
    return () => p;
  });
  return { stmt, args: (values) => binders.map((b) => b(values)) };
}

type Journal = { entries: { when: number; tag: string }[] };

/** Thrown when the database was migrated by a newer release than the running code. */
export class DatabaseTooNewError extends Error {}

/**
 * Before drizzle applies pending migrations (all of them in one transaction, rolled back whole if
 * one fails): refuse a database a newer release has migrated (this code would misread its tables,
 * and no migration of ours undoes theirs), and copy an existing database aside before changing its
 * schema, so an upgrade that goes wrong in a way SQLite's rollback cannot see (a bad data migration
 * found later) can still be undone by restoring the copy. Returns the copy's path, if one was made.
 */
function beforeMigrating(sqlite: Database.Database, file: string, folder: string): string | null {
  const journal = JSON.parse(fs.readFileSync(path.join(folder, "meta", "_journal.json"), "utf8")) as Journal;
  const known = journal.entries.at(-1);
  const table = sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
    .get();
  if (!table) return null;
  const last = sqlite.prepare("SELECT max(created_at) AS at FROM __drizzle_migrations").get() as {
    at: number | null;
  };
  const applied = Number(last.at ?? 0);
  if (applied === 0) return null;
  if (!known || applied > known.when) {
    const where = file === ":memory:" ? "in memory" : path.resolve(file);
    throw new DatabaseTooNewError(
      `The database ${where} was migrated by a newer Bridgehead (its last migration is from ${new Date(applied).toISOString()}; this release knows migrations up to ${known?.tag ?? "none"}). Run the release that migrated it, or restore a backup taken before that upgrade: npm run db -- restore FILE`,
    );
  }
  const firstPending = journal.entries.find((e) => e.when > applied);
  if (!firstPending || file === ":memory:") return null;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const copy = `${path.resolve(file)}.pre-${firstPending.tag}-${stamp}.bak`;
  // VACUUM INTO writes one consistent, self-contained copy (no WAL beside it) from this connection.
  sqlite.prepare("VACUUM INTO ?").run(copy);
  fs.chmodSync(copy, 0o600);
  return copy;
}

export type OpenDbOptions = {
  /** Another migrations folder (tests of the upgrade path); the release's own by default. */
  migrationsFolder?: string;
};

/** Opens (creating if needed) the database at `file` (":memory:" for tests), migrated and seeded.
 * Refuses (DatabaseTooNewError) a database migrated by a newer release; copies an existing one to
 * `<file>.pre-<first pending migration>-<time>.bak` before migrating it. */
export function openDb(file: string, options: OpenDbOptions = {}): Db {
  if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new Database(file);
  // Every page a commit touches is copied into the log, and that copy is most of a small write's
  // cost (an allocation touches ~8 pages); 2 KiB pages made the IPAM bench ~15 % faster than 4 KiB
  // with no cost to reads measured here. It takes effect when the file is created (an existing
  // database keeps its page size until a VACUUM).
  sqlite.pragma("page_size = 2048");
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  // A checkpoint (copying the log into the database and fsyncing it) runs inside whichever commit
  // pushes the log past this many pages. SQLite's default of 1,000 made one small write in ~90 pay
  // milliseconds (the IPAM bench's p99); 10,000 pages (~20 MiB) makes it one in ~900 and costs
  // readers little. The log file is cut back to 64 MiB after each checkpoint.
  sqlite.pragma("wal_autocheckpoint = 10000");
  sqlite.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  sqlite.pragma("foreign_keys = ON");
  // Writers queue instead of failing with SQLITE_BUSY when another process (agent bench, CLI) holds the lock.
  sqlite.pragma("busy_timeout = 5000");
  const db = drizzle(sqlite, { schema }) as Db;
  const folder = options.migrationsFolder ?? migrationsFolder();
  try {
    const copy = beforeMigrating(sqlite, file, folder);
    if (copy) console.info(`Bridgehead: copied ${path.resolve(file)} to ${copy} before migrating it`);
    migrate(db, { migrationsFolder: folder });
  } catch (err) {
    sqlite.close();
    throw err;
  }
  seed(db);
  return db;
}

/** Runs the reads in `fn` on one consistent snapshot (a deferred transaction that never writes). */
export function snapshot<T>(db: Db, fn: (tx: Tx) => T): T {
  return runner(db).deferred(() => fn(db as unknown as Tx)) as T;
}

/** Runs `fn` in one IMMEDIATE transaction (writers take the lock up front, so two of them never
 * deadlock upgrading a read) and commits, or rolls back and rethrows. Nested calls become
 * savepoints. It is better-sqlite3's own transaction: drizzle's builds a transaction object on
 * every call, which cost a third of a small write. The drizzle handle itself serves as `tx`: it
 * runs on the same connection, inside the transaction. */
export function immediate<T>(db: Db, fn: (tx: Tx) => T): T {
  return runner(db).immediate(() => fn(db as unknown as Tx)) as T;
}

type Runner = Database.Transaction<(fn: () => unknown) => unknown>;
const runners = new WeakMap<Database.Database, Runner>();
/** One transaction wrapper per connection that runs whatever function it is given. */
function runner(db: Db): Runner {
  let r = runners.get(db.$client);
  if (!r) {
    r = db.$client.transaction((fn: () => unknown) => fn());
    runners.set(db.$client, r);
  }
  return r;
}

/** Rows every installation has: the default cluster, the two built-in groups, the default security group. */
function seed(db: Db) {
  const s = db.$client;
  s.exec(`
    INSERT OR IGNORE INTO clusters (id, name) VALUES (0, 'default');
    INSERT OR IGNORE INTO groups (id, name, description) VALUES (0, 'admins', 'Cloud administrators');
    INSERT OR IGNORE INTO groups (id, name, description) VALUES (1, 'users', 'Default group of end users');
    INSERT OR IGNORE INTO counters (name, value) VALUES ('revision', 0);
    -- The built-in owner of system objects. It has no account row, so nobody can log in as it.
    INSERT OR IGNORE INTO user (id, name, email, username, role, email_verified)
      VALUES ('system', 'system', 'system@bridgehead.invalid', 'system', 'admin', 1);
    INSERT OR IGNORE INTO user_groups (user_id, group_id, "primary") VALUES ('system', 0, 1);
    -- Security group 0 allows everything both ways and is attached to every new VNET.
    INSERT OR IGNORE INTO security_groups (id, name, description, owner_id, group_id, perms)
      VALUES (0, 'default', 'Allows all traffic in both directions', 'system', 0, ${0o644});
  `);
  s.prepare(
    `INSERT INTO sg_rules (sg_id, position, protocol, direction)
     SELECT 0, p, 'ALL', d FROM (SELECT 0 AS p, 'OUTBOUND' AS d UNION ALL SELECT 1, 'INBOUND')
     WHERE NOT EXISTS (SELECT 1 FROM sg_rules WHERE sg_id = 0)`,
  ).run();
  // The `Private IPv4` template, once per installation (an admin may delete it for good): owned
  // by system, usable by the group users (640).
  if (!s.prepare("SELECT 1 FROM settings WHERE key = 'seeded.templates'").get()) {
    s.prepare(
      `INSERT OR IGNORE INTO vnet_templates (name, description, owner_id, group_id, perms, attrs)
       VALUES (?, ?, 'system', 1, ${0o640}, ?)`,
    ).run(PRIVATE_IPV4.name, PRIVATE_IPV4.description, JSON.stringify(PRIVATE_IPV4.attrs));
    s.prepare("INSERT INTO settings (key, value) VALUES ('seeded.templates', 'true')").run();
  }
}

export { schema };
