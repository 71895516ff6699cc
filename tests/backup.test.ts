// Backups through the real command (`npm run db -- backup FILE`, `npm run db -- restore FILE`) on a
// real migrated database file while four other processes allocate through the API's service: the
// restored database is whole and holds every allocation acknowledged before the backup began.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { testApp, userCaller } from "../server/harness.testing";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORKERS = 4;
const PER_WORKER = 250;
/** The VNET has 2,000 addresses: the workers stop before they run out. */
const MAX_PER_WORKER = 450;
const AUDIT_ROWS = 100_000;
const execFileP = promisify(execFile);

/** Runs `npm run db -- …` as an operator would, on the database `db`. */
async function dbCommand(db: string, ...args: string[]) {
  try {
    const r = await execFileP("npm", ["run", "--silent", "db", "--", ...args], {
      cwd: ROOT,
      env: { ...process.env, BRIDGEHEAD_DB: db },
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

type Ack = { name: string; ip: string; at: number };

describe("database backups", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-backup-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`a backup taken during at least ${WORKERS * PER_WORKER} concurrent allocations restores to a whole database holding every allocation acknowledged before it began`, async () => {
    const file = path.join(dir, "portal.db");
    const app = testApp(file);
    const admin = await userCaller(app, "alice", "admin", 0);
    const userId = (
      app.db.$client.prepare("SELECT id FROM user WHERE username = 'alice'").get() as { id: string }
    ).id;
    const vnet = await admin.vnet.create({
      name: "busy",
      subnet: "10.9.0.0/16",
      firstIp: "10.9.0.1",
      size: 2000,
    });
    const node = await admin.node.create({ name: "n" });
    // A portal's database that has run for a while: a long audit log, so the copy takes a while too.
    app.db.$client
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${AUDIT_ROWS})
         INSERT INTO audit_log (actor, action, object_type, object_name, outcome, detail)
         SELECT 'alice', 'vnet.update', 'vnet', 'busy', 'ok', printf('changed the description to %0200d', i) FROM n`,
      )
      .run();
    app.db.$client.close();

    const stopFile = path.join(dir, "stop");
    const acks: Ack[] = [];
    const workers: ChildProcess[] = [];
    const finished = Array.from({ length: WORKERS }, (_, w) => {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          "tests/backup-alloc-worker.ts",
          file,
          userId,
          String(vnet.id),
          String(node.id),
          String(PER_WORKER),
          `w${w}`,
          "12",
          stopFile,
          String(MAX_PER_WORKER),
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      workers.push(child);
      let buf = "";
      let err = "";
      child.stdout!.on("data", (d) => {
        buf += d;
        const lines = buf.split("\n");
        buf = lines.pop()!;
        for (const l of lines) acks.push(JSON.parse(l));
      });
      child.stderr!.on("data", (d) => (err += d));
      return new Promise<void>((resolve, reject) =>
        child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker ${w}: ${err}`)))),
      );
    });

    // Start the backup once a quarter of the allocations are in, while the rest keep coming.
    while (acks.length < (WORKERS * PER_WORKER) / 4) await new Promise((r) => setTimeout(r, 10));
    const backupFile = path.join(dir, "backup.db");
    const began = Date.now();
    const ackedBefore = acks.filter((a) => a.at < began);
    const backup = await dbCommand(file, "backup", backupFile);
    const ended = Date.now();
    // Let some allocations land after the backup too, then tell the workers to stop.
    const exited = Promise.all(finished);
    let allExited = false;
    void exited.then(() => (allExited = true)).catch(() => (allExited = true));
    while (!allExited && acks.filter((a) => a.at > ended).length < 20)
      await new Promise((r) => setTimeout(r, 10));
    fs.writeFileSync(stopFile, "");
    await exited;
    expect(backup.out).toContain(`backed up ${file} to ${backupFile}`);
    expect(backup.code).toBe(0);
    expect(acks.length).toBeGreaterThanOrEqual(WORKERS * PER_WORKER);
    const during = acks.filter((a) => a.at >= began && a.at <= ended).length;
    console.log(
      `backup: ${backup.out.trim()}; command took ${ended - began} ms; allocations acknowledged before it began ${ackedBefore.length}, while it ran ${during}, after ${acks.filter((a) => a.at > ended).length}`,
    );
    // The allocations really went on while the backup ran.
    expect(during).toBeGreaterThan(0);
    expect(acks.filter((a) => a.at > ended).length).toBeGreaterThan(0);

    const restore = await dbCommand(file, "restore", backupFile);
    expect(restore.code, restore.out).toBe(0);
    expect(restore.out).toContain(`restored ${file} from ${backupFile}`);
    expect(restore.out).toMatch(/the replaced database is kept as .*before-restore-/);

    const restored = new Database(file, { readonly: true });
    expect(restored.pragma("integrity_check", { simple: true })).toBe("ok");
    const rows = restored
      .prepare(
        "SELECT i.name AS name, l.ip AS ip FROM leases l JOIN nics n ON n.id = l.nic_id JOIN instances i ON i.id = n.instance_id",
      )
      .all() as { name: string; ip: string }[];
    restored.close();
    const inBackup = new Map(rows.map((r) => [r.name, r.ip]));
    const missing = ackedBefore.filter((a) => inBackup.get(a.name) !== a.ip);
    expect(missing).toEqual([]);
    // Nothing in the backup that was never acknowledged, and no address twice.
    const acked = new Map(acks.map((a) => [a.name, a.ip]));
    expect(rows.filter((r) => acked.get(r.name) !== r.ip)).toEqual([]);
    expect(new Set(rows.map((r) => r.ip)).size).toBe(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(ackedBefore.length);
    expect(rows.length).toBeLessThan(acks.length);
    console.log(`the restored database holds ${rows.length} of the ${acks.length} allocations`);

    // The portal starts on the restored database and goes on allocating after what it holds.
    const again = testApp(file);
    const more = await userCaller(again, "bob", "admin", 0);
    const inst = await more.instance.create({
      name: "after-restore",
      nodeId: node.id,
      nics: [{ vnetId: vnet.id }],
    });
    expect(inBackup.has(inst.name)).toBe(false);
    expect([...inBackup.values()]).not.toContain(inst.nics[0]!.ip);
    again.db.$client.close();
  }, 180_000);

  it("restore refuses while the portal has the database open, and changes nothing", async () => {
    const file = path.join(dir, "open.db");
    const app = testApp(file);
    await userCaller(app, "carol", "admin", 0);
    const backupFile = path.join(dir, "open-backup.db");
    expect((await dbCommand(file, "backup", backupFile)).code).toBe(0);
    await userCaller(app, "dave", "admin", 0);
    const before = fs.readdirSync(dir).sort();
    const r = await dbCommand(file, "restore", backupFile);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${file} is in use`);
    expect(r.out).toContain("stop the portal first");
    expect(fs.readdirSync(dir).sort()).toEqual(before);
    const users = app.db.$client.prepare("SELECT username FROM user ORDER BY username").pluck().all();
    expect(users).toContain("dave");
    app.db.$client.close();
  }, 60_000);

  it("backup refuses to overwrite a file, and restore refuses a file that is not a Bridgehead database", async () => {
    const file = path.join(dir, "plain.db");
    testApp(file).db.$client.close();
    const taken = path.join(dir, "taken.db");
    fs.writeFileSync(taken, "keep me");
    const b = await dbCommand(file, "backup", taken);
    expect(b.code).toBe(1);
    expect(b.out).toContain(`${taken} exists already; choose a new file name for the backup`);
    expect(fs.readFileSync(taken, "utf8")).toBe("keep me");
    const before = fs.readFileSync(file);
    const r = await dbCommand(file, "restore", taken);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${taken} is not a SQLite database`);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    const none = await dbCommand(file, "frobnicate", taken);
    expect(none.code).toBe(1);
    expect(none.out).toContain("usage: npm run db -- backup FILE");
  }, 60_000);
});
