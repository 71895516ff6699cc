// A separate process allocating through the same service as the API (an instance with one NIC, so
// one lease), paced so a backup can run in the middle. Each acknowledged allocation (its
// transaction committed) prints one line: {"name","ip","at"} with the wall-clock time of the ack.
// It makes at least `count` allocations and goes on (up to `max`) until `stopFile` exists, so some
// always land after the backup ended however long the backup takes on a loaded machine.
import fs from "node:fs";
import { type App, createApp } from "../server/app";
import { loadEnv } from "../server/env";
import { createInstance } from "../server/services/instances/instances";
import { loadSessionUser } from "../server/trpc";

const [file, userId, vnetId, nodeId, count, tag, pauseMs, stopFile, max] = process.argv.slice(2) as string[];
const busy = (err: unknown) => (err as { code?: string })?.code?.startsWith("SQLITE_BUSY") ?? false;

/** Runs `fn`, retrying while another process holds the write lock past the busy timeout. */
function retryBusy<T>(fn: () => T): T {
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!busy(err) || Date.now() > until) throw err;
    }
  }
}

const app: App = retryBusy(() =>
  createApp(loadEnv({ BRIDGEHEAD_DB: file, BRIDGEHEAD_SECRET: "test-secret-test-secret-test-secret-0000" })),
);
const owner = loadSessionUser(app, userId!)!;
for (let i = 0; i < Number(max); i++) {
  if (i >= Number(count) && fs.existsSync(stopFile!)) break;
  const name = `${tag}-${i}`;
  const inst = retryBusy(() =>
    createInstance(app, { userId: userId!, name: "worker", ip: null }, owner, {
      name,
      nodeId: Number(nodeId),
      nics: [{ vnetId: Number(vnetId), ip: undefined, ip6: undefined, portKind: "guest" }],
    }),
  );
  process.stdout.write(`${JSON.stringify({ name, ip: inst.nics[0]!.ip, at: Date.now() })}\n`);
  await new Promise((r) => setTimeout(r, Number(pauseMs)));
}
app.db.$client.close();
