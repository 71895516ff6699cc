// Scheduled backups on a real database file: the schedule's first backup, the next one an interval
// after the last good one (also across a restart), pruning, and a failing run shown as such.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { settings } from "../../db/schema";
import { type App, createApp } from "../app";
import { loadEnv } from "../env";
import { userCaller } from "../harness.testing";
import { backupStatus, runScheduledBackup, startBackupSchedule } from "./backups";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-sched-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const appWith = (name: string, env: Record<string, string> = {}): App =>
  createApp(
    loadEnv({
      BRIDGEHEAD_DB: path.join(dir, name, "db.sqlite"),
      BRIDGEHEAD_SECRET: "test-secret-test-secret-test-secret-0000",
      BRIDGEHEAD_BACKUP_DIR: path.join(dir, name, "backups"),
      BRIDGEHEAD_BACKUP_INTERVAL_MIN: "60",
      ...env,
    }),
  );
const backupsIn = (name: string) =>
  fs.existsSync(path.join(dir, name, "backups"))
    ? fs.readdirSync(path.join(dir, name, "backups")).sort()
    : [];
const waitFor = async (what: string, ok: () => boolean, ms = 15_000) => {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("scheduled backups", () => {
  it("the first backup is taken at start, the Nodes page's query says when, and a restart waits for the interval", async () => {
    const app = appWith("a");
    const admin = await userCaller(app, "alice", "admin", 0);
    expect((await admin.node.backups()).last).toBeNull();
    const schedule = startBackupSchedule(app)!;
    await waitFor("the first backup", () => backupsIn("a").length === 1);
    await waitFor("its record", () => backupStatus(app).last !== null);
    schedule.stop();
    const status = await admin.node.backups();
    const file = path.join(dir, "a", "backups", backupsIn("a")[0]!);
    expect(status).toMatchObject({ scheduled: true, intervalMin: 60, overdue: false });
    expect(status.last).toMatchObject({ file, okFile: file });
    expect(Date.now() - new Date(status.last!.okAt!).getTime()).toBeLessThan(15_000);
    expect(status.nextAt!.getTime() - new Date(status.last!.okAt!).getTime()).toBe(60 * 60_000);
    const copy = new Database(file, { readonly: true });
    expect(copy.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(copy.prepare("SELECT username FROM user WHERE username = 'alice'").pluck().get()).toBe("alice");
    copy.close();
    const audited = app.db.$client
      .prepare("SELECT outcome, object_name FROM audit_log WHERE action = 'backup.scheduled'")
      .all();
    expect(audited).toEqual([{ outcome: "ok", object_name: file }]);

    // A restart within the interval takes no extra backup.
    const again = startBackupSchedule(app)!;
    await new Promise((r) => setTimeout(r, 1500));
    again.stop();
    expect(backupsIn("a")).toHaveLength(1);
    app.db.$client.close();
  }, 60_000);

  it("the next backup comes one interval after the last good one, and only the newest are kept", async () => {
    const app = appWith("b", { BRIDGEHEAD_BACKUP_KEEP: "2" });
    for (let i = 0; i < 3; i++) {
      await runScheduledBackup(app);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(backupsIn("b")).toHaveLength(2);
    const last = backupStatus(app).last!;
    // Pretend the last good backup was taken an interval ago less one second: due in a second.
    const due = { ...last, okAt: new Date(Date.now() - 60 * 60_000 + 1000).toISOString() };
    app.db.update(settings).set({ value: due }).run();
    const schedule = startBackupSchedule(app)!;
    const started = Date.now();
    await waitFor("the due backup", () => backupStatus(app).last!.file !== last.file);
    schedule.stop();
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(700);
    expect(backupsIn("b")).toHaveLength(2);
    expect(backupsIn("b")).toContain(path.basename(backupStatus(app).last!.file!));
    app.db.$client.close();
  }, 60_000);

  it("a failing backup is recorded with its reason, keeps the last good one, and shows as overdue without one", async () => {
    const app = appWith("c");
    // A file where the backup directory should be: mkdir fails.
    fs.mkdirSync(path.join(dir, "c"), { recursive: true });
    fs.writeFileSync(path.join(dir, "c", "backups"), "not a directory");
    const r = await runScheduledBackup(app);
    expect(r.error).toContain(
      `Cannot create the backup directory ${path.join(dir, "c", "backups")} (BRIDGEHEAD_BACKUP_DIR)`,
    );
    const status = backupStatus(app);
    expect(status.last).toMatchObject({ file: null, okAt: null, okFile: null });
    expect(status.overdue).toBe(true);
    // The retry waits (no tight loop of failing runs).
    expect(status.nextAt!.getTime() - Date.now()).toBeGreaterThan(4 * 60_000);
    const audited = app.db.$client
      .prepare("SELECT outcome FROM audit_log WHERE action = 'backup.scheduled'")
      .pluck()
      .all();
    expect(audited).toEqual(["error"]);
    app.db.$client.close();
  });

  it("without BRIDGEHEAD_BACKUP_DIR nothing is scheduled and the page says so", async () => {
    const app = createApp(
      loadEnv({ BRIDGEHEAD_DB: ":memory:", BRIDGEHEAD_SECRET: "test-secret-test-secret-test-secret-0000" }),
    );
    expect(startBackupSchedule(app)).toBeNull();
    expect(backupStatus(app)).toMatchObject({
      scheduled: false,
      dir: null,
      last: null,
      nextAt: null,
      overdue: false,
    });
  });
});
