// The SQLite and PostgreSQL schemas stay equal: both migration chains are run on real databases
// (SQLite in memory, a throwaway PostgreSQL cluster) and what the engines then report is compared —
// tables, columns (type, nullability, default), primary keys, foreign keys with their
// delete rule, unique constraints and indexes (columns, uniqueness, partial or not). SQLite cannot
// tell a flag or a timestamp from an integer, so those columns' kind comes from db/schema.ts.
import { getTableConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PgCluster, requirePostgres, startPostgres } from "../tests/postgres";
import { openDb, schema } from "./index";
import { openPg } from "./postgres";

type Column = { name: string; kind: string; notNull: boolean; default: string | null };
type Index = { columns: string[]; unique: boolean; partial: boolean };
type Table = {
  columns: Column[];
  primaryKey: string[];
  foreignKeys: string[];
  /** Named indexes, by name. */
  indexes: Record<string, Index>;
  /** Column lists of unnamed unique constraints (SQLite autoindexes; drizzle names the others). */
  uniques: string[];
};
type Shape = Record<string, Table>;

/** Drizzle's SQLite column class → the kind both databases must agree on. */
const SQLITE_KIND: Record<string, string> = {
  SQLiteInteger: "integer",
  SQLiteTimestamp: "timestamp",
  SQLiteBoolean: "boolean",
  SQLiteText: "text",
  SQLiteTextJson: "json",
  SQLiteReal: "real",
};
const PG_KIND: Record<string, string> = {
  bigint: "integer",
  "timestamp with time zone": "timestamp",
  boolean: "boolean",
  text: "text",
  jsonb: "json",
  "double precision": "real",
};
// By name: a column added by a later migration comes last in SQLite (ALTER TABLE ADD COLUMN) and
// wherever drizzle put it in PostgreSQL's first migration; queries name their columns.
const byName = (a: Column, b: Column) => a.name.localeCompare(b.name);
const DELETE_RULE: Record<string, string> = { a: "no action", r: "restrict", c: "cascade", n: "set null" };

/** A default as both engines spell it: the current time, a number, a boolean or a quoted literal. */
function normalDefault(d: string | null): string | null {
  if (d === null) return null;
  if (d === "now()" || d.includes("unixepoch")) return "now";
  return d.replace(/::[a-z ]+$/, "").replace(/^\((.*)\)$/, "$1");
}

function sqliteShape(): Shape {
  const db = openDb(":memory:");
  const s = db.$client;
  const kinds = new Map<string, Map<string, string>>();
  for (const t of Object.values(schema)) {
    if (!t || typeof t !== "object" || !(Symbol.for("drizzle:IsDrizzleTable") in t)) continue;
    const cfg = getTableConfig(t as SQLiteTable);
    kinds.set(cfg.name, new Map(cfg.columns.map((c) => [c.name, SQLITE_KIND[c.columnType] ?? c.columnType])));
  }
  const shape: Shape = {};
  const tables = s
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' ORDER BY name",
    )
    .pluck()
    .all() as string[];
  for (const name of tables) {
    const cols = s.prepare(`PRAGMA table_xinfo("${name}")`).all() as {
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }[];
    const indexes: Record<string, Index> = {};
    const uniques: string[] = [];
    for (const ix of s.prepare(`PRAGMA index_list("${name}")`).all() as {
      name: string;
      unique: number;
      origin: string;
      partial: number;
    }[]) {
      const columns = (s.prepare(`PRAGMA index_info("${ix.name}")`).all() as { name: string }[]).map(
        (c) => c.name,
      );
      if (ix.origin === "pk") continue;
      if (ix.origin === "u") uniques.push(columns.join(","));
      else indexes[ix.name] = { columns, unique: ix.unique === 1, partial: ix.partial === 1 };
    }
    shape[name] = {
      columns: cols
        .map((c) => ({
          name: c.name,
          kind: kinds.get(name)?.get(c.name) ?? `undeclared ${c.type}`,
          // SQLite lets an INTEGER PRIMARY KEY be declared nullable; it never is (it is the rowid).
          notNull: c.notnull === 1 || c.pk > 0,
          default: normalDefault(c.dflt_value),
        }))
        .sort(byName),
      primaryKey: cols
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name),
      foreignKeys: (
        s.prepare(`PRAGMA foreign_key_list("${name}")`).all() as {
          id: number;
          table: string;
          from: string;
          to: string;
          on_delete: string;
        }[]
      )
        .map((f) => `${f.from} → ${f.table}.${f.to} on delete ${f.on_delete.toLowerCase()}`)
        .sort(),
      indexes,
      uniques: uniques.sort(),
    };
  }
  s.close();
  return shape;
}

async function pgShape(url: string): Promise<Shape> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const shape: Shape = {};
    const cols = await c.query<{
      table_name: string;
      column_name: string;
      data_type: string;
      is_nullable: string;
      column_default: string | null;
    }>(
      `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
       WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
    );
    for (const r of cols.rows) {
      shape[r.table_name] ??= { columns: [], primaryKey: [], foreignKeys: [], indexes: {}, uniques: [] };
      shape[r.table_name]!.columns.push({
        name: r.column_name,
        kind: PG_KIND[r.data_type] ?? `undeclared ${r.data_type}`,
        notNull: r.is_nullable === "NO",
        default: normalDefault(r.column_default),
      });
    }
    const cons = await c.query<{
      table: string;
      contype: string;
      cols: string[];
      ref_table: string | null;
      ref_cols: string[] | null;
      deltype: string;
    }>(
      `SELECT t.relname AS table, con.contype,
              ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS cols,
              r.relname AS ref_table,
              ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS ref_cols,
              con.confdeltype AS deltype
       FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
       JOIN pg_namespace ns ON ns.oid = t.relnamespace LEFT JOIN pg_class r ON r.oid = con.confrelid
       WHERE ns.nspname = 'public' AND con.contype IN ('p', 'f', 'u')`,
    );
    for (const r of cons.rows) {
      const t = shape[r.table]!;
      if (r.contype === "p") t.primaryKey = r.cols;
      // A unique constraint is compared as its index (below), by name, as SQLite has it.
      else if (r.contype === "u") continue;
      else
        t.foreignKeys.push(
          `${r.cols.join(",")} → ${r.ref_table}.${r.ref_cols!.join(",")} on delete ${DELETE_RULE[r.deltype] ?? r.deltype}`,
        );
    }
    const ixs = await c.query<{
      table: string;
      name: string;
      unique: boolean;
      partial: boolean;
      cols: string[];
    }>(
      `SELECT t.relname AS table, i.relname AS name, x.indisunique AS unique, x.indpred IS NOT NULL AS partial,
              ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS cols
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace ns ON ns.oid = t.relnamespace
       WHERE ns.nspname = 'public' AND NOT x.indisprimary`,
    );
    for (const r of ixs.rows)
      shape[r.table]!.indexes[r.name] = { columns: r.cols, unique: r.unique, partial: r.partial };
    for (const t of Object.values(shape)) {
      t.columns.sort(byName);
      t.foreignKeys.sort();
      t.uniques.sort();
    }
    delete shape.__drizzle_migrations;
    return shape;
  } finally {
    await c.end();
  }
}

const available = requirePostgres("schema parity");
describe.skipIf(!available)("the SQLite and PostgreSQL schemas", () => {
  let cluster: PgCluster;
  let url: string;
  beforeAll(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase("parity");
    await (await openPg(url)).$client.end();
  });
  afterAll(() => cluster?.stop());

  it("have the same tables, columns, keys and indexes after their migrations", async () => {
    const lite = sqliteShape();
    const post = await pgShape(url);
    expect(Object.keys(post).sort()).toEqual(Object.keys(lite).sort());
    for (const name of Object.keys(lite)) expect({ [name]: post[name] }).toEqual({ [name]: lite[name] });
    // The comparison sees what matters: every column got a kind both sides know.
    const kinds = new Set(Object.values(lite).flatMap((t) => t.columns.map((c) => c.kind)));
    expect([...kinds].sort()).toEqual(["boolean", "integer", "json", "real", "text", "timestamp"]);
  });

  it("opening an up-to-date PostgreSQL database again runs no migration and keeps its rows", async () => {
    const db = await openPg(url);
    await db.$client.query("INSERT INTO clusters (id, name) VALUES (7, 'kept')");
    await db.$client.end();
    const again = await openPg(url);
    const { rows } = await again.$client.query("SELECT name FROM clusters WHERE id = 7");
    expect(rows).toEqual([{ name: "kept" }]);
    await again.$client.end();
  });
});
