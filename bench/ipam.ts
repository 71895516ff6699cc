// `npm run bench -- ipam`: 65,000 allocations into a /16 through the IPAM service the API calls for
// every NIC (allocateLease, each in its own IMMEDIATE transaction; a lease's history events are
// written when it ends), the latency of one allocation at 90 % utilization, the cost of a whole
// instance creation (lease + NIC + instance + audit + revision bump) for context, and the duplicate
// count of a concurrent run (several processes creating instances on one database file). Prints
// one JSON line last.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { immediate } from "../db";
import { startCheckpointer } from "../db/checkpoint";
import { vnets } from "../db/schema";
import { testApp, userCaller } from "../server/harness.testing";
import { createInstance } from "../server/services/instances/instances";
import { allocateLease } from "../server/services/leases/ipam";
import { loadSessionUser } from "../server/trpc";

const N = 65_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-bench-ipam-"));
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
// This machine is shared: the load average says how much of it the figures had.
const loadBefore = os.loadavg()[0]!;

try {
  // 1. Sequential: 65,000 allocations into a /16 (65,534 usable addresses).
  const app = testApp(path.join(dir, "seq.sqlite"));
  // As the server runs it (getApp): checkpoints beside the writer, not inside its commits.
  const checkpointer = startCheckpointer(path.join(dir, "seq.sqlite"));
  const admin = await userCaller(app, "bench", "admin", 0);
  const userId = (
    app.db.$client.prepare("SELECT id FROM user WHERE username = 'bench'").get() as { id: string }
  ).id;
  const owner = loadSessionUser(app, userId)!;
  const actor = { userId, name: "bench", ip: null };
  const vnet = await admin.vnet.create({
    name: "big",
    subnet: "10.200.0.0/16",
    firstIp: "10.200.0.1",
    size: 65534,
  });
  const node = await admin.node.create({ name: "n" });
  const row = app.db.select().from(vnets).where(eq(vnets.id, vnet.id)).get()!;
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    // Synthetic NIC ids: the lease's nic reference is what a NIC creation would pass.
    immediate(app.db, (tx) => allocateLease(tx, row, { nicId: 1_000_000 + i, userId }));
    lat.push(performance.now() - s);
  }
  const totalS = (performance.now() - t0) / 1000;
  await checkpointer.stop();
  // Whole instance creations (the API's createInstance) into the remaining space, for context.
  const inst: number[] = [];
  for (let i = 0; i < 500; i++) {
    const s = performance.now();
    createInstance(app, actor, owner, {
      name: `i${i}`,
      nodeId: node.id,
      nics: [{ vnetId: vnet.id, ip: undefined, ip6: undefined, portKind: "guest" }],
    });
    inst.push(performance.now() - s);
  }
  // Latency at 90 % utilization: the allocations between 58,000 and 59,000 (89–91 % of the /16).
  const at90 = lat.slice(58_000, 59_000);

  // 2. Concurrent: 4 processes × 500 allocations into one range of 1,500 on a shared file.
  const file = path.join(dir, "conc.sqlite");
  const capp = testApp(file);
  const cadmin = await userCaller(capp, "bench", "admin", 0);
  const cuser = (
    capp.db.$client.prepare("SELECT id FROM user WHERE username = 'bench'").get() as { id: string }
  ).id;
  const cvnet = await cadmin.vnet.create({
    name: "race",
    subnet: "10.201.0.0/16",
    firstIp: "10.201.0.1",
    size: 1500,
  });
  const cnode = await cadmin.node.create({ name: "n" });
  const run = promisify(execFile);
  const outs = await Promise.all(
    [0, 1, 2, 3].map((w) =>
      run(process.execPath, [
        "--import",
        "tsx",
        "tests/alloc-worker.ts",
        file,
        cuser,
        String(cvnet.id),
        String(cnode.id),
        "500",
        `c${w}`,
      ]),
    ),
  );
  const conc = outs.map(
    (o) => JSON.parse(o.stdout.trim().split("\n").at(-1)!) as { ok: number; refused: number },
  );
  const s = capp.db.$client;
  const duplicates = (["ip", "mac"] as const)
    .map(
      (c) =>
        (
          s
            .prepare(`SELECT count(*) AS n FROM (SELECT ${c} FROM leases GROUP BY ${c} HAVING count(*) > 1)`)
            .get() as { n: number }
        ).n,
    )
    .reduce((a, b) => a + b, 0);

  console.log(
    JSON.stringify({
      bench: "ipam",
      allocations: N,
      total_s: r3(totalS),
      p50_ms: r3(pct(at90, 50)),
      p99_ms: r3(pct(at90, 99)),
      overall_p99_ms: r3(pct(lat, 99)),
      instance_create_p50_ms: r3(pct(inst, 50)),
      concurrent: {
        processes: 4,
        attempts: 2000,
        size: 1500,
        ok: conc.reduce((n, c) => n + c.ok, 0),
        refused: conc.reduce((n, c) => n + c.refused, 0),
      },
      duplicates,
      load_avg_1m: { before: r3(loadBefore), after: r3(os.loadavg()[0]!), cpus: os.cpus().length },
    }),
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
