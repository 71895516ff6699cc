// Upgrading the portal's database: an older database gets every pending migration and a copy of
// itself taken first, a migration that fails leaves the database as it was (drizzle applies the
// pending ones in one transaction), and a database migrated by a newer release is refused at start
// with the way out, without a byte changed. Real migrations on real database files.
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { afterAll, describe, expect, it } from "vitest";
import { DatabaseTooNewError, migrationsFolder, openDb } from "../db";

const ROOT = path.resolve(import.meta.dirname, "..");
const RELEASE = migrationsFolder();
type Entry = { idx: number; version: string; when: number; tag: string; breakpoints: boolean };
const journal = JSON.parse(fs.readFileSync(path.join(RELEASE, "meta", "_journal.json"), "utf8")) as {
  entries: Entry[];
};

describe("upgrading the database", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-upgrade-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A migrations folder of the release's first `keep` migrations plus `extra` ones of our own. */
  function folder(name: string, keep: number, extra: { tag: string; sql: string; when: number }[] = []) {
    const out = path.join(dir, name);
    fs.mkdirSync(path.join(out, "meta"), { recursive: true });
    const entries = journal.entries.slice(0, keep);
    for (const e of entries)
      fs.copyFileSync(path.join(RELEASE, `${e.tag}.sql`), path.join(out, `${e.tag}.sql`));
    for (const x of extra) {
      fs.writeFileSync(path.join(out, `${x.tag}.sql`), x.sql);
      entries.push({ idx: entries.length, version: "6", when: x.when, tag: x.tag, breakpoints: true });
    }
    fs.writeFileSync(
      path.join(out, "meta", "_journal.json"),
      JSON.stringify({ version: "7", dialect: "sqlite", entries }),
    );
    return out;
  }

  /** Tables and their row counts, and the migrations applied: what an upgrade may change. */
  function contents(file: string) {
    const db = new Database(file, { readonly: true });
    try {
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .pluck()
        .all() as string[];
      return Object.fromEntries(
        tables.map((t) => [t, db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number]),
      );
    } finally {
      db.close();
    }
  }
  const sha = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

  it("an older database gets every pending migration, keeps its rows, and is copied aside first", () => {
    const file = path.join(dir, "old.db");
    // What the release before the API tokens left behind (several migrations behind), with a cluster
    // of its own.
    const firstPending = journal.entries.findIndex((e) => e.tag === "0011_api_tokens");
    expect(firstPending).toBeGreaterThan(0);
    const old = new Database(file);
    migrate(drizzle(old), { migrationsFolder: folder("before-tokens", firstPending) });
    old.prepare("INSERT INTO clusters (name) VALUES ('kept-cluster')").run();
    old.close();
    const before = contents(file);
    expect(before.api_tokens).toBeUndefined();

    const db = openDb(file);
    const names = db.$client.prepare("SELECT name FROM clusters").pluck().all();
    const applied = db.$client.prepare("SELECT count(*) FROM __drizzle_migrations").pluck().get();
    db.$client.close();
    expect(names).toContain("kept-cluster");
    expect(applied).toBe(journal.entries.length);
    expect(contents(file).api_tokens).toBe(0);

    // The copy is the database as it was before the upgrade, whole and openable.
    const copies = fs.readdirSync(dir).filter((f) => f.startsWith("old.db.pre-") && f.endsWith(".bak"));
    expect(copies).toHaveLength(1);
    expect(copies[0]).toContain("pre-0011_api_tokens-");
    expect(contents(path.join(dir, copies[0] as string))).toEqual(before);
    expect((fs.statSync(path.join(dir, copies[0] as string)).mode & 0o777).toString(8)).toBe("600");

    // Opening it again has nothing to migrate, so it takes no second copy.
    openDb(file).$client.close();
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("old.db.pre-"))).toHaveLength(1);
  });

  it("a migration that fails leaves the database exactly as it was: no half-applied schema", () => {
    const file = path.join(dir, "failing.db");
    openDb(file).$client.close();
    const before = contents(file);
    const bytes = sha(file);
    const broken = folder("broken", journal.entries.length, [
      {
        tag: "9000_half_done",
        when: Date.now(),
        // The first statement works, the second cannot: the first must not survive either.
        sql: 'CREATE TABLE "upgrade_probe" (id integer PRIMARY KEY);\n--> statement-breakpoint\nALTER TABLE "no_such_table" ADD "x" integer;',
      },
    ]);
    expect(() => openDb(file, { migrationsFolder: broken })).toThrow(/no_such_table/);
    expect(contents(file)).toEqual(before);
    expect(contents(file).upgrade_probe).toBeUndefined();
    expect(sha(file)).toBe(bytes);
    // The release's own code still opens it.
    openDb(file).$client.close();
  });

  it("a database migrated by a newer release is refused with the way out, and the portal does not start on it", async () => {
    const file = path.join(dir, "newer.db");
    const newer = folder("newer", journal.entries.length, [
      {
        tag: "9001_from_the_future",
        when: Date.now() + 86_400_000,
        sql: 'CREATE TABLE "future" (id integer);',
      },
    ]);
    openDb(file, { migrationsFolder: newer }).$client.close();
    const before = contents(file);
    const bytes = sha(file);

    let refusal: unknown;
    try {
      openDb(file);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(DatabaseTooNewError);
    const message = (refusal as Error).message;
    expect(message).toContain(path.resolve(file));
    expect(message).toContain(`knows migrations up to ${journal.entries.at(-1)?.tag}`);
    expect(message).toContain("npm run db -- restore");
    expect(contents(file)).toEqual(before);
    expect(sha(file)).toBe(bytes);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("newer.db.pre-"))).toHaveLength(0);

    // The portal's own start prints the same refusal and exits before serving anything.
    const started = await promisify(execFile)(process.execPath, ["--import", "tsx", "server/serve.ts"], {
      cwd: ROOT,
      env: { ...process.env, BRIDGEHEAD_DB: file, BRIDGEHEAD_TLS: "off", PORT: "0", NODE_ENV: "production" },
      timeout: 60_000,
    }).then(
      () => ({ code: 0, err: "" }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code, err: e.stderr ?? "" }),
    );
    expect(started.code).toBe(1);
    expect(started.err).toContain("was migrated by a newer Bridgehead");
    expect(sha(file)).toBe(bytes);
  });
});
