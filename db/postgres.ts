// Opening and migrating a PostgreSQL database (BRIDGEHEAD_DB=postgres://…): a node-postgres pool,
// drizzle over db/schema.pg.ts, and the migrations of db/migrations-pg, run at open under an
// advisory lock so replicas starting together migrate once.
import fs from "node:fs";
import path from "node:path";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import * as schema from "./schema.pg";

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };

/** The PostgreSQL migrations folder (as db/index.ts finds the SQLite one). */
export function pgMigrationsFolder(): string {
  const candidates = [path.join(process.cwd(), "db", "migrations-pg")];
  if (typeof import.meta.dirname === "string")
    candidates.unshift(path.join(import.meta.dirname, "migrations-pg"));
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, "meta", "_journal.json")));
  if (!found) throw new Error(`PostgreSQL migrations not found (looked in ${candidates.join(", ")})`);
  return found;
}

/** Any 64-bit key; one per purpose (pg_advisory_lock). */
const MIGRATION_LOCK = 0x4268_6d69; // "Bhmi"

/** Opens a pool on `url` and runs the pending migrations (one replica at a time). */
export async function openPg(url: string, options: { max?: number } = {}): Promise<PgDb> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  // An idle connection the server closed (restart, failover) is dropped by the pool and replaced on
  // the next query; without a listener node-postgres would crash the process on it.
  pool.on("error", (err) => console.error(`PostgreSQL ${redact(url)}: idle connection lost: ${err.message}`));
  const db = drizzle(pool, { schema }) as PgDb;
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await migrate(drizzle(client, { schema }), { migrationsFolder: pgMigrationsFolder() });
  } catch (err) {
    client.release();
    await pool.end();
    throw new Error(`Migrating PostgreSQL database ${redact(url)} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
  client.release();
  return db;
}

/** A connection URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

export { schema as pgSchema };
