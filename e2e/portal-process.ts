// A portal of a spec's own (server/serve.ts in a child process, its own database and port) for
// specs that need settings or data the shared e2e portal must not have.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { E2E_ADMIN_PASSWORD } from "./env";

export type Portal = { proc: ChildProcess; dir: string; log: () => string };

/** Starts `server/serve.ts` on `port` with its own database in `dir` (a new temporary directory by
 * default; pass one holding a seeded db.sqlite to start on that), and waits until it serves. */
export async function startPortal(
  port: number,
  env: Record<string, string>,
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-e2e-portal-")),
): Promise<Portal> {
  let out = "";
  const proc = spawn("npx", ["tsx", "server/serve.ts"], {
    env: {
      ...process.env,
      PORT: String(port),
      BRIDGEHEAD_DB: path.join(dir, "db.sqlite"),
      BRIDGEHEAD_ADMIN_PASSWORD: E2E_ADMIN_PASSWORD,
      BRIDGEHEAD_LOG_LEVEL: "warn",
      NEXT_TELEMETRY_DISABLED: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  proc.stdout?.on("data", (d) => {
    out += d;
  });
  proc.stderr?.on("data", (d) => {
    out += d;
  });
  const deadline = Date.now() + 90_000;
  while (!/Bridgehead: serving/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`the portal exited: ${out}`);
    if (Date.now() > deadline) throw new Error(`the portal did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { proc, dir, log: () => out };
}

export function stopPortal(p: Portal | null) {
  if (!p) return;
  try {
    if (p.proc.pid) process.kill(-p.proc.pid, "SIGTERM");
  } catch {}
  fs.rmSync(p.dir, { recursive: true, force: true });
}
