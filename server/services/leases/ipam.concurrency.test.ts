// Many concurrent allocators in separate processes, each on its own connection to one database
// file: zero duplicate addresses or MACs, and exactly (attempts − size) refusals.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { testApp, userCaller } from "../../harness.testing";

const run = promisify(execFile);
const WORKERS = 8;
const PER_WORKER = 40;
const SIZE = 250;

describe("IPAM under concurrency", () => {
  it(`${WORKERS} processes × ${PER_WORKER} allocations into a range of ${SIZE}: no duplicates, exactly ${WORKERS * PER_WORKER - SIZE} refusals`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-ipam-"));
    const file = path.join(dir, "db.sqlite");
    try {
      const app = testApp(file);
      const admin = await userCaller(app, "alice", "admin", 0);
      const userId = (
        app.db.$client.prepare("SELECT id FROM user WHERE username = 'alice'").get() as { id: string }
      ).id;
      const vnet = await admin.vnet.create({
        name: "race",
        subnet: "10.7.0.0/16",
        firstIp: "10.7.0.1",
        size: SIZE,
      });
      const node = await admin.node.create({ name: "n" });
      const results = await Promise.all(
        Array.from({ length: WORKERS }, (_, w) =>
          run(
            process.execPath,
            [
              "--import",
              "tsx",
              "tests/alloc-worker.ts",
              file,
              userId,
              String(vnet.id),
              String(node.id),
              String(PER_WORKER),
              `w${w}`,
            ],
            { cwd: path.resolve(import.meta.dirname, "../../..") },
          ),
        ),
      );
      const counts = results.map(
        (r) =>
          JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { ok: number; refused: number; other: string[] },
      );
      expect(counts.flatMap((c) => c.other)).toEqual([]);
      expect(counts.reduce((n, c) => n + c.ok, 0)).toBe(SIZE);
      expect(counts.reduce((n, c) => n + c.refused, 0)).toBe(WORKERS * PER_WORKER - SIZE);
      const s = app.db.$client;
      const dup = (col: string) =>
        s
          .prepare(
            `SELECT count(*) AS n FROM (SELECT ${col} FROM leases GROUP BY ${col} HAVING count(*) > 1)`,
          )
          .get() as { n: number };
      expect(dup("ip").n).toBe(0);
      expect(dup("mac").n).toBe(0);
      expect((s.prepare("SELECT count(*) AS n FROM leases").get() as { n: number }).n).toBe(SIZE);
      expect((s.prepare("SELECT count(*) AS n FROM nics").get() as { n: number }).n).toBe(SIZE);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
