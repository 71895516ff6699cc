// Moving a SQLite installation to PostgreSQL: a database with a row in every table (made through
// the real procedures where there is one) is copied into a fresh PostgreSQL database of a throwaway
// cluster; every row reads back equal through drizzle, new ids continue after the copied ones, and a
// target that is not empty is refused with nothing written.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { getTableName } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnv } from "../server/env";
import { callerFor, fixtureUser, testApp, userCaller } from "../server/harness.testing";
import { type PgCluster, requirePostgres, startPostgres } from "../tests/postgres";
import { MigrateToError, migrateTo, pgRevision, tablesInCopyOrder } from "./migrate-to";
import { openPg, pgSchema } from "./postgres";

const available = requirePostgres("migrate-to");

it("a PostgreSQL URL in BRIDGEHEAD_DB stops the portal with the way out, instead of a file named postgres:", () => {
  expect(() => loadEnv({ BRIDGEHEAD_DB: "postgres://bh:secret@db.example:5432/bridgehead" })).toThrow(
    /BRIDGEHEAD_DB: this release runs the portal on a SQLite file only; keep BRIDGEHEAD_DB on the file \(`npm run db -- migrate-to postgres:\/\/…` copies it into PostgreSQL\)/,
  );
});

/** A database with every kind of object, through the procedures an admin and a user would call. */
async function installation(file: string) {
  const app = testApp(file);
  const s = app.db.$client;
  s.prepare("INSERT INTO groups (id, name) VALUES (2, 'team')").run();
  const a = fixtureUser(app, "root", "admin", [0]).caller;
  const u = await userCaller(app, "alice");
  const vnet = await a.vnet.create({ name: "prod", subnet: "10.7.0.0/24", firstIp: "10.7.0.10", size: 20 });
  const other = await a.vnet.create({ name: "dev", subnet: "10.8.0.0/24", firstIp: "10.8.0.10", size: 5 });
  await a.range.add({ vnetId: vnet.id, range: { type: "ip4", ip: "10.7.0.200", size: 5 } });
  await a.lease.hold({ vnetId: vnet.id, from: "10.7.0.29", reason: "printer" });
  await a.lease.hold({ vnetId: vnet.id, from: "10.7.0.28", reason: "gone soon" });
  await a.lease.release({ vnetId: vnet.id, from: "10.7.0.28" });
  const node = await a.node.create({ name: "n1" });
  await callerFor(app, null).agent.join({ token: node.joinToken });
  const inst = await a.instance.create({ name: "web", nodeId: node.id, nics: [{ vnetId: vnet.id }] });
  const nic = s.prepare("SELECT id FROM nics WHERE instance_id = ?").get(inst.id) as { id: number };
  const sg = await a.sg.create({
    name: "web",
    rules: [{ protocol: "TCP", direction: "INBOUND", range: "22,443" }],
  });
  await a.sg.setVnet({ vnetId: vnet.id, sgId: sg.id, attached: true });
  await a.sg.setNic({ nicId: nic.id, sgId: sg.id, attached: true });
  const peering = await a.peering.create({ vnetA: vnet.id, vnetB: other.id });
  expect(peering).toBeTruthy();
  const tpl = await a.template.clone({ id: (await a.template.list())[0]!.id, name: "team net" });
  expect(tpl.id).toBeGreaterThan(0);
  await a.quota.set({ subjectType: "user", subjectId: "u-root", maxVnets: 5, maxLeases: null });
  await u.token.create({ name: "ci", readOnly: true, expiresInDays: 30 });
  const rule = s.prepare("SELECT id FROM sg_rules WHERE sg_id = ?").get(sg.id) as { id: number };
  // What agents and sign-in attempts write (no procedure of their own makes these rows).
  s.prepare(
    "INSERT INTO sg_rule_counters (rule_id, node_id, packets, bytes, updated_at) VALUES (?, ?, 12, 3400, 1700000000123)",
  ).run(rule.id, node.id);
  s.prepare(
    `INSERT INTO node_applies (node_id, at, kind, revision, operations, duration_ms, ops) VALUES (?, 1700000000456, 'apply', 3, 2, 12.5, '["ip link add bh1 type bridge"]')`,
  ).run(node.id);
  s.prepare("INSERT INTO sign_in_failures (kind, key, at) VALUES ('account', 'alice', 1700000000789)").run();
  s.prepare(
    "INSERT INTO verification (id, identifier, value, expires_at) VALUES ('v1', 'x', 'y', 1700000001000)",
  ).run();
  s.prepare(
    "INSERT INTO session (id, expires_at, token, user_id) SELECT 's1', 1900000000000, 'tok', id FROM user WHERE username = 'alice'",
  ).run();
  return app;
}

describe.skipIf(!available)("npm run db -- migrate-to", () => {
  let cluster: PgCluster;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-migrate-to-"));
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => {
    cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("copies every table row for row, and ids continue after the copied ones", async () => {
    const app = await installation(path.join(dir, "full.db"));
    const empty = tablesInCopyOrder()
      .filter((t) => app.db.select().from(t).all().length === 0)
      .map(getTableName);
    // The test means what it says: every kind of object is there to be copied.
    expect(empty).toEqual([]);
    const url = await cluster.createDatabase("full");
    const pgDb = await openPg(url);
    const result = await migrateTo(app.db, pgDb, url);
    expect(result.tables.map((t) => t.name).sort()).toEqual(tablesInCopyOrder().map(getTableName).sort());

    const pgTables = new Map(
      Object.values(pgSchema)
        .filter((t) => !!t && typeof t === "object" && Symbol.for("drizzle:IsDrizzleTable") in t)
        .map((t) => [getTableName(t as PgTable), t as PgTable]),
    );
    for (const t of tablesInCopyOrder()) {
      const name = getTableName(t);
      // Both sides hold the same values, so sorting by their JSON puts them in the same order.
      const sortRows = (rows: Record<string, unknown>[]) =>
        rows
          .map((r) => [JSON.stringify(r), r] as const)
          .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
          .map(([, r]) => r);
      const lite = sortRows(app.db.select().from(t).all() as Record<string, unknown>[]);
      const post = sortRows((await pgDb.select().from(pgTables.get(name)!)) as Record<string, unknown>[]);
      expect({ [name]: post }).toEqual({ [name]: lite });
      expect(result.tables.find((x) => x.name === name)?.rows).toBe(lite.length);
    }
    const revision = app.db.$client
      .prepare("SELECT value FROM counters WHERE name = 'revision'")
      .pluck()
      .get();
    expect(await pgRevision(pgDb)).toBe(revision);
    // A new VNET on PostgreSQL gets the id after the highest copied one, not a copied id again.
    const maxVnet = app.db.$client.prepare("SELECT max(id) FROM vnets").pluck().get() as number;
    const { rows } = await pgDb.$client.query(
      `INSERT INTO vnets (name, owner_id, group_id, bridge) VALUES ('next', 'system', 0, 'bhnext') RETURNING id`,
    );
    expect(Number(rows[0].id)).toBe(maxVnet + 1);
    await pgDb.$client.end();
    app.db.$client.close();
  });

  it("refuses a database that already holds rows, naming the table, and writes nothing", async () => {
    const app = await installation(path.join(dir, "again.db"));
    const url = await cluster.createDatabase("taken");
    const pgDb = await openPg(url);
    await pgDb.$client.query("INSERT INTO clusters (id, name) VALUES (5, 'theirs')");
    const before = await pgDb.$client.query("SELECT count(*)::int AS n FROM vnets");
    await expect(migrateTo(app.db, pgDb, url)).rejects.toThrow(MigrateToError);
    await expect(migrateTo(app.db, pgDb, url)).rejects.toThrow(
      /is not empty \(table clusters has rows\); give migrate-to a new, empty database/,
    );
    const after = await pgDb.$client.query(
      "SELECT (SELECT count(*)::int FROM vnets) AS vnets, (SELECT count(*)::int FROM clusters) AS clusters",
    );
    expect(after.rows[0]).toEqual({ vnets: before.rows[0].n, clusters: 1 });
    await pgDb.$client.end();
    app.db.$client.close();
  });

  it("as `npm run db -- migrate-to URL`: copies the BRIDGEHEAD_DB file and says it stays the portal's database", async () => {
    const file = path.join(dir, "cli.db");
    (await installation(file)).db.$client.close();
    const url = await cluster.createDatabase("cli");
    const run = (args: string[]) =>
      promisify(execFile)("npx", ["tsx", "db/cli.ts", ...args], {
        cwd: path.resolve(import.meta.dirname, ".."),
        env: { ...process.env, BRIDGEHEAD_DB: file },
      });
    const { stdout } = await run(["migrate-to", url]);
    expect(stdout).toMatch(/^ {2}vnets +2 rows$/m);
    expect(stdout).toMatch(
      new RegExp(
        `copied \\d+ rows in ${tablesInCopyOrder().length} tables from ${file} to .* the row counts match\\. ${file} is unchanged`,
      ),
    );
    await expect(run(["migrate-to", "/tmp/not-a-url"])).rejects.toMatchObject({
      stderr: expect.stringContaining("/tmp/not-a-url is not a PostgreSQL URL"),
    });
    // The same target again: refused, naming the table, and its rows are still the first copy's.
    await expect(run(["migrate-to", url])).rejects.toMatchObject({
      stderr: expect.stringContaining("is not empty (table"),
    });
    const pgDb = await openPg(url);
    const { rows } = await pgDb.$client.query("SELECT count(*)::int AS n FROM vnets");
    expect(rows[0].n).toBe(2);
    await pgDb.$client.end();
  });
});
