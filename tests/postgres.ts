// A throwaway PostgreSQL cluster for tests: Debian's `postgresql` package, initdb in a temporary
// directory owned by an unprivileged user (initdb refuses root), a free loopback port, the socket in
// that directory, removed again by stop(). Missing PostgreSQL fails in CI and skips elsewhere,
// saying why (like tests/kernel.ts).
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

/** The bin directory of the newest installed PostgreSQL (Debian: /usr/lib/postgresql/<major>/bin). */
function pgBin(): string | null {
  const root = "/usr/lib/postgresql";
  if (!fs.existsSync(root)) return null;
  const majors = fs
    .readdirSync(root)
    .filter((d) => fs.existsSync(path.join(root, d, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? path.join(root, majors[0], "bin") : null;
}

/** Why no PostgreSQL cluster can be started here, or null. */
export function postgresUnavailable(): string | null {
  if (!pgBin())
    return "PostgreSQL is not installed (Debian package `postgresql`; scripts/ensure-deps.sh installs it)";
  if (process.getuid?.() === 0 && spawnSync("id", ["postgres"]).status !== 0)
    return "running as root without a `postgres` user to run initdb as";
  return null;
}

/** In CI a missing PostgreSQL fails the suite; elsewhere the suite skips, saying why. */
export function requirePostgres(suite: string): boolean {
  const why = postgresUnavailable();
  if (!why) return true;
  if (process.env.CI === "true") throw new Error(`${suite}: cannot run in CI: ${why}`);
  console.warn(`SKIP ${suite}: ${why}`);
  return false;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

export interface PgCluster {
  /** postgres://bridgehead@127.0.0.1:<port>/postgres (trust auth on loopback only). */
  url: string;
  /** A new empty database on the cluster, by URL. */
  createDatabase(name: string): Promise<string>;
  stop(): void;
}

export async function startPostgres(): Promise<PgCluster> {
  const bin = pgBin();
  if (!bin) throw new Error(postgresUnavailable() ?? "no PostgreSQL");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-pg-"));
  const asRoot = process.getuid?.() === 0;
  // The directory and its parents must be reachable by the user the server runs as.
  fs.chmodSync(dir, 0o700);
  if (asRoot) execFileSync("chown", ["postgres:postgres", dir]);
  const as = (cmd: string, args: string[]) =>
    asRoot
      ? execFileSync("runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args], { stdio: "pipe" })
      : execFileSync(path.join(bin, cmd), args, { stdio: "pipe" });
  const data = path.join(dir, "data");
  as("initdb", ["-D", data, "-U", "bridgehead", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const port = await freePort();
  as("pg_ctl", [
    "-D",
    data,
    "-l",
    path.join(dir, "log"),
    "-w",
    "-o",
    // Durability is not what these tests check; a throwaway cluster without fsync is much faster.
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
    "start",
  ]);
  const url = (db: string) => `postgres://bridgehead@127.0.0.1:${port}/${db}`;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      as("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  process.once("exit", stop);
  return {
    url: url("postgres"),
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url("postgres") });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop,
  };
}
