// Helpers for tests on the real kernel: capability check (fail in CI, skip with a printed reason
// elsewhere), namespace names under the project's prefix, and cleanup of exactly those.
import { execFileSync } from "node:child_process";
import { stopDhcpServers } from "../lab/cluster";

export { stopDhcpServers };

let probed: string | null | undefined;
/** Why kernel tests cannot run here, or null when they can: root, iproute2 and ping present, and a
 * throwaway namespace under the project prefix really created and deleted (probed once). */
export function kernelUnavailable(): string | null {
  if (probed !== undefined) return probed;
  probed = probe();
  return probed;
}

function probe(): string | null {
  if (process.getuid?.() !== 0) return "not running as root (network namespaces need root)";
  try {
    execFileSync("ping", ["-V"], { stdio: "pipe" });
  } catch (err) {
    return `ping missing or unusable: ${err instanceof Error ? err.message : err}`;
  }
  const ns = `bhprobe${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", ns], { stdio: "pipe" });
    execFileSync("ip", ["netns", "del", ns], { stdio: "pipe" });
  } catch (err) {
    const e = err as { stderr?: Buffer; message?: string };
    return `cannot create a network namespace: ${e.stderr?.toString().trim() || e.message}`;
  }
  return null;
}

/** In CI a missing capability fails the suite; elsewhere the suite skips, saying why. */
export function requireKernel(suite: string): boolean {
  const why = kernelUnavailable();
  if (!why) return true;
  if (process.env.CI === "true") throw new Error(`${suite}: cannot run in CI: ${why}`);
  console.warn(`SKIP ${suite}: ${why}`);
  return false;
}

/** A namespace prefix unique to this test process: bht<pid><tag>. */
export const nsPrefix = (tag: string) => `bht${process.pid}${tag}`;

/** Deletes every namespace whose name starts with `prefix` (and only those). */
export function deleteNamespaces(prefix: string) {
  if (!prefix.startsWith("bh"))
    throw new Error(`refusing to delete namespaces outside the project prefix: ${prefix}`);
  const out = execFileSync("ip", ["-j", "netns", "list"], { encoding: "utf8" }).trim();
  const names = out ? (JSON.parse(out) as { name: string }[]).map((n) => n.name) : [];
  for (const name of names.filter((n) => n.startsWith(prefix)))
    execFileSync("ip", ["netns", "del", name], { stdio: "pipe" });
  stopDhcpServers(prefix);
}

/** Whether a namespace exists. */
export function hasNamespace(name: string): boolean {
  const out = execFileSync("ip", ["-j", "netns", "list"], { encoding: "utf8" }).trim();
  return out ? (JSON.parse(out) as { name: string }[]).some((n) => n.name === name) : false;
}

/** Runs `ping -c1 -W1 target` inside `ns`; true when answered. */
export function pings(ns: string, target: string, count = 1): boolean {
  try {
    execFileSync("ip", ["netns", "exec", ns, "ping", "-n", "-q", "-c", String(count), "-W", "1", target], {
      stdio: "pipe",
    });
    return true;
  } catch {
    return false;
  }
}

/** Polls `fn` until it returns a truthy value or `ms` elapse. */
export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  ms = 15_000,
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Whether the commands a suite needs are installed (scripts/ensure-deps.sh installs them); in CI
 * a missing one fails the suite, elsewhere it skips, saying which. */
export function requireCommands(suite: string, commands: string[]): boolean {
  const missing = commands.filter((c) => {
    try {
      execFileSync("sh", ["-c", `command -v ${c}`], { stdio: "pipe" });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return true;
  const why = `missing ${missing.join(", ")} (scripts/ensure-deps.sh installs them)`;
  if (process.env.CI === "true") throw new Error(`${suite}: cannot run in CI: ${why}`);
  console.warn(`SKIP ${suite}: ${why}`);
  return false;
}
