// A separate process allocating through the same service code as the API (instance creation with
// one NIC), on its own SQLite connection to a shared file. Prints {"ok":n,"refused":m} when done.
// SQLITE_BUSY (another process held the write lock past the 5 s busy timeout, as happens on a
// machine under heavy load) rolls back without writing anything, so the attempt is retried.
import { TRPCError } from "@trpc/server";
import { type App, createApp } from "../server/app";
import { loadEnv } from "../server/env";
import { DomainError } from "../server/errors";
import { createInstance } from "../server/services/instances/instances";
import { loadSessionUser } from "../server/trpc";

const [file, userId, vnetId, nodeId, count, tag] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const busy = (err: unknown) => (err as { code?: string })?.code?.startsWith("SQLITE_BUSY") ?? false;

/** Runs `fn`, retrying while the database is busy (up to a minute). */
function retryBusy<T>(fn: () => T): T {
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!busy(err) || Date.now() > until) throw err;
      retries++;
    }
  }
}

let retries = 0;
const app: App = retryBusy(() =>
  createApp(loadEnv({ BRIDGEHEAD_DB: file, BRIDGEHEAD_SECRET: "test-secret-test-secret-test-secret-0000" })),
);
const owner = loadSessionUser(app, userId)!;
let ok = 0;
let refused = 0;
const other: string[] = [];
for (let i = 0; i < Number(count); i++) {
  try {
    retryBusy(() =>
      createInstance(app, { userId, name: "worker", ip: null }, owner, {
        name: `${tag}-${i}`,
        nodeId: Number(nodeId),
        nics: [{ vnetId: Number(vnetId), ip: undefined, ip6: undefined, portKind: "guest" }],
      }),
    );
    ok++;
  } catch (err) {
    if (
      (err instanceof DomainError && err.kind === "conflict") ||
      (err instanceof TRPCError && err.code === "CONFLICT")
    )
      refused++;
    else other.push(String(err));
  }
}
console.log(JSON.stringify({ ok, refused, other, retries }));
