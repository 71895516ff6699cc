// Background WAL checkpoints for the server process. SQLite's default in WAL mode is to checkpoint
// inside whichever commit pushes the log past `wal_autocheckpoint` pages: that commit copies the
// log into the database file and fsyncs it, so one write in a few hundred pays tens of
// milliseconds. The server instead runs PASSIVE checkpoints (they never block readers or writers)
// from a worker thread with its own connection, and writers keep their automatic checkpoint
// (db/index.ts) only as the fallback should the worker fall behind or die. Durability is the same:
// with synchronous=NORMAL a commit reaches the disk at the next checkpoint either way.
import { Worker } from "node:worker_threads";

/** The worker's code, evaluated as CommonJS so it runs the same from source, tsx and Next's bundle
 * (better-sqlite3 is an external package there). It reports failures on its own stderr: a message
 * listener in the parent would keep the parent process alive. */
const WORKER = `
const { workerData } = require("node:worker_threads");
const Database = require("better-sqlite3");
const db = new Database(workerData.file);
let failing = false;
setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
    failing = false;
  } catch (err) {
    // Once per failure streak; the writers' own checkpoint still bounds the log meanwhile.
    if (!failing) console.error("database checkpoint of " + workerData.file + " failed, retrying: " + (err && err.message));
    failing = true;
  }
}, workerData.intervalMs);
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/** Starts checkpointing the database `file` every `intervalMs` from a worker thread that does not
 * keep the process alive. */
export function startCheckpointer(file: string, intervalMs = 25): Checkpointer {
  const worker = new Worker(WORKER, { eval: true, workerData: { file, intervalMs } });
  worker.on("error", (err) =>
    console.error(`database checkpoint worker for ${file} stopped: ${err.message}`),
  );
  worker.unref();
  return { stop: () => worker.terminate().then(() => undefined) };
}
