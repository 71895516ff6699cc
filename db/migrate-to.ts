// Moving up: copy a SQLite installation into an empty PostgreSQL database — every table, ids,
// revisions, history, audit and tokens as they are — in one PostgreSQL transaction from one SQLite
// read snapshot, then verify the row counts table by table. The rows go through drizzle on both
// sides (db/schema.ts → JS values → db/schema.pg.ts), so timestamps, flags and JSON keep their
// meaning; identity sequences continue after the highest copied id.
import { getTableName, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import type { PgTable } from "drizzle-orm/pg-core";
import { getTableConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import { type Db, schema } from "./index";
import { type PgDb, pgSchema, redact } from "./postgres";

export class MigrateToError extends Error {}

export interface MigrateToResult {
  tables: { name: string; rows: number }[];
  rows: number;
  ms: number;
}

const isTable = (v: unknown) => !!v && typeof v === "object" && Symbol.for("drizzle:IsDrizzleTable") in v;

/** The tables of db/schema.ts, each after the tables its foreign keys point at. */
export function tablesInCopyOrder(): SQLiteTable[] {
  const tables = (Object.values(schema) as unknown[]).filter(isTable) as SQLiteTable[];
  const byName = new Map(tables.map((t) => [getTableName(t), t]));
  const done = new Set<string>();
  const order: SQLiteTable[] = [];
  const visit = (t: SQLiteTable, path: string[]) => {
    const name = getTableName(t);
    if (done.has(name)) return;
    if (path.includes(name)) throw new Error(`Foreign keys form a cycle: ${[...path, name].join(" → ")}`);
    for (const fk of getTableConfig(t).foreignKeys) {
      const target = getTableName(fk.reference().foreignTable);
      if (target !== name) visit(byName.get(target)!, [...path, name]);
    }
    done.add(name);
    order.push(t);
  };
  for (const t of tables) visit(t, []);
  return order;
}

/** PostgreSQL's limit is 65,535 parameters per statement; stay well under it. */
const PARAMS_PER_INSERT = 30_000;

/**
 * Copies every row of `from` (a migrated SQLite database) into `to` (migrated by openPg, empty).
 * Refuses a target that holds any row, naming the table; nothing is written then. On any failure
 * the PostgreSQL transaction rolls back and the target stays empty.
 */
export async function migrateTo(from: Db, to: PgDb, url: string): Promise<MigrateToResult> {
  const started = performance.now();
  const order = tablesInCopyOrder();
  const pgTables = new Map(
    ((Object.values(pgSchema) as unknown[]).filter(isTable) as PgTable[]).map((t) => [getTableName(t), t]),
  );
  for (const t of order)
    if (!pgTables.has(getTableName(t)))
      throw new MigrateToError(`Table ${getTableName(t)} has no PostgreSQL twin in db/schema.pg.ts`);

  const client = await to.$client.connect();
  const sqlite = from.$client;
  // One read snapshot of SQLite for the whole copy (the portal may keep running; its later writes
  // are not copied — stop it before switching over).
  sqlite.exec("BEGIN");
  try {
    for (const t of order) {
      const name = getTableName(t);
      const { rows } = await client.query(`SELECT EXISTS (SELECT 1 FROM "${name}") AS taken`);
      if (rows[0].taken)
        throw new MigrateToError(
          `PostgreSQL database ${redact(url)} is not empty (table ${name} has rows); give migrate-to a new, empty database`,
        );
    }
    await client.query("BEGIN");
    const copied: MigrateToResult["tables"] = [];
    const tx = drizzle(client);
    for (const t of order) {
      const name = getTableName(t);
      const target = pgTables.get(name)!;
      const rows = from.select().from(t).all() as Record<string, unknown>[];
      const width = Math.max(1, getTableConfig(t).columns.length);
      const batch = Math.max(1, Math.floor(PARAMS_PER_INSERT / width));
      for (let i = 0; i < rows.length; i += batch)
        await tx.insert(target).values(rows.slice(i, i + batch) as never);
      copied.push({ name, rows: rows.length });
    }
    // Identity columns continue after the copied ids (ids 0, the built-in rows, are below MINVALUE).
    const identities = await client.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'public' AND is_identity = 'YES'`,
    );
    for (const { table_name: t, column_name: c } of identities.rows)
      await client.query(
        `SELECT setval(pg_get_serial_sequence('"${t}"', '${c}'),
                       GREATEST(COALESCE((SELECT max("${c}") FROM "${t}"), 0), 1),
                       COALESCE((SELECT max("${c}") FROM "${t}"), 0) >= 1)`,
      );
    // Verify inside the transaction: what commits is what was counted.
    for (const { name, rows } of copied) {
      const { rows: got } = await client.query(`SELECT count(*)::bigint AS n FROM "${name}"`);
      const have = Number(got[0].n);
      if (have !== rows)
        throw new MigrateToError(
          `Table ${name}: ${rows} rows in SQLite but ${have} in PostgreSQL; nothing was kept`,
        );
    }
    await client.query("COMMIT");
    return {
      tables: copied,
      rows: copied.reduce((s, t) => s + t.rows, 0),
      ms: Math.round(performance.now() - started),
    };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    sqlite.exec("COMMIT");
    client.release();
  }
}

/** The revision counter of a PostgreSQL database (for the summary and tests). */
export async function pgRevision(db: PgDb): Promise<number> {
  const r = await db.execute(sql`SELECT value FROM counters WHERE name = 'revision'`);
  return Number(r.rows[0]?.value ?? 0);
}
