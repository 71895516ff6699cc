// The one process runner of the dataplane: every tool the agent runs (ip, bridge, tc, nft, sysctl,
// conntrack, the python helpers) starts here, by execFile or spawn, never through a shell, and joins
// a namespace the same way (nsenter when present). Kernel changes go as batches: one process per
// namespace instead of one per command (100–500× faster at scale).
import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` without a shell, feeding `input` on stdin; a non-zero exit is a result, not a throw. */
export async function run(cmd: string, args: string[], input = ""): Promise<RunResult> {
  const child = execFileP(cmd, args, { maxBuffer: 512 * 1024 * 1024, encoding: "utf8" });
  // The child may exit before reading stdin (e.g. a missing namespace): EPIPE must not crash us.
  child.child.stdin?.on("error", () => {});
  child.child.stdin?.end(input);
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string; message?: string };
    // A string code (ENOENT...) means the command could not run at all: that is a real error.
    if (typeof err.code !== "number") throw new Error(`cannot run ${cmd}: ${err.message ?? String(e)}`);
    return { code: err.code, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

let nsenterAvailable: Promise<boolean> | undefined;

/** The argv that runs `ip args` inside namespace `ns` (undefined: the agent's own namespace).
 * `ip -n NS` unshares a mount namespace and remounts /sys on every call, which costs time in
 * proportion to the number of namespaces (8 ms per call with 1,000 guests here: quadratic over a
 * reconcile). nsenter only joins the network namespace, which is all netlink needs, so it is used
 * when present; the equivalent `ip -n NS ...` is what the plan preview shows. */
export async function ipArgv(ns: string | undefined, args: string[]): Promise<[string, string[]]> {
  return toolArgv("ip", ns, args);
}

/** The argv that runs `tool args` (any command) inside namespace `ns`. */
async function toolArgv(tool: string, ns: string | undefined, args: string[]): Promise<[string, string[]]> {
  if (!ns) return [tool, args];
  nsenterAvailable ??= run("nsenter", ["--version"]).then(
    (r) => r.code === 0,
    () => false,
  );
  if (await nsenterAvailable) return ["nsenter", [`--net=/run/netns/${ns}`, tool, ...args]];
  if (tool === "ip" || tool === "bridge") return [tool, ["-n", ns, ...args]];
  return ["ip", ["netns", "exec", ns, tool, ...args]];
}

/** Runs `ip args` in namespace `ns` (stdin: `input`); a non-zero exit is a result. */
export async function ipIn(ns: string | undefined, args: string[], input = ""): Promise<RunResult> {
  return runIn(ns, "ip", args, input);
}

/** Runs `cmd args` inside namespace `ns` (undefined: the agent's own) with `input` on stdin; a
 * non-zero exit is a result. nsenter joins only the network namespace (see toolArgv). */
export async function runIn(
  ns: string | undefined,
  cmd: string,
  args: string[],
  input = "",
): Promise<RunResult> {
  const [c, argv] = await toolArgv(cmd, ns, args);
  return run(c, argv, input);
}

/** The shell-equivalent prefix shown in the plan preview for a command run by runIn. */
export const inNs = (ns: string | undefined, cmd: string) => (ns ? `ip netns exec ${ns} ${cmd}` : cmd);

/** Runs `ip args` in namespace `ns` and returns stdout; throws with ip's stderr on failure. */
export async function ip(ns: string | undefined, args: string[]): Promise<string> {
  const r = await ipIn(ns, args);
  if (r.code !== 0) throw new Error(`ip ${ns ? `-n ${ns} ` : ""}${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs a command inside a namespace (`ip netns exec NS cmd ...`); for tests and diagnostics. */
export function runInNetns(ns: string, cmd: string, args: string[]): Promise<RunResult> {
  return run("ip", ["netns", "exec", ns, cmd, ...args]);
}

export interface BatchResult {
  /** Failed lines (0-based index into the batch) with ip's message. */
  failures: Map<number, string>;
  /** The batch as a whole did not run (e.g. the namespace is missing). */
  fatal?: string;
}

/** Runs lines through one `ip -force -batch -` (or `bridge`, `tc`) in namespace `ns`: every line is tried
 * (-force), and each failure is attributed to its line, so one broken object does not block the
 * others. */
export async function runBatch(
  ns: string | undefined,
  lines: string[],
  tool: "ip" | "bridge" | "tc" = "ip",
): Promise<BatchResult> {
  const failures = new Map<number, string>();
  if (lines.length === 0) return { failures };
  const r = await runIn(ns, tool, ["-force", "-batch", "-"], `${lines.join("\n")}\n`);
  // ip, bridge and tc print the error message(s) of a line, then "Command failed -:N" (1-based).
  let pending: string[] = [];
  for (const raw of r.stderr.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^Command failed -:(\d+)$/.exec(line);
    if (m) {
      failures.set(Number(m[1]) - 1, pending.join("; ") || "failed");
      pending = [];
    } else pending.push(line);
  }
  if (r.code !== 0 && failures.size === 0) {
    return { failures, fatal: r.stderr.trim() || `${tool} exited with code ${r.code}` };
  }
  return { failures };
}

/** Writes `key=value` assignments with one `sysctl -w` in namespace `ns`; sysctl goes on after a
 * failed key, and each failure is attributed to its assignment by the /proc/sys path it names. */
export async function runSysctl(ns: string | undefined, assignments: string[]): Promise<BatchResult> {
  const failures = new Map<number, string>();
  if (assignments.length === 0) return { failures };
  const r = await runIn(ns, "sysctl", ["-w", ...assignments]);
  if (r.code === 0) return { failures };
  const lines = r.stderr.split("\n").filter((l) => l.trim());
  assignments.forEach((a, i) => {
    const path = `/proc/sys/${(a.split("=")[0] ?? "").replaceAll(".", "/")}`;
    const hit = lines.find((l) => l.includes(`${path}:`) || l.includes(`"${a.split("=")[0]}"`));
    if (hit) failures.set(i, hit.replace(/^sysctl: /, ""));
  });
  if (failures.size === 0) return { failures, fatal: r.stderr.trim() || `sysctl exited with code ${r.code}` };
  return { failures };
}

/** Maps `fn` over `items` with at most `limit` running at once (guest namespaces are many). */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Splits the stdout of an `ip|tc -j -force -batch -` run of `count` commands into one JSON
 * document per command: a command that failed (listed on stderr as "Command failed -:N") printed
 * nothing, so its document is "" (a missing device reads as absent). */
export function splitForcedBatch(stdout: string, stderr: string, count: number): string[] {
  const failed = new Set([...stderr.matchAll(/^Command failed -:(\d+)$/gm)].map((m) => Number(m[1]) - 1));
  const docs = stdout.split("\n").filter((l) => l.trim());
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(failed.has(i) ? "" : (docs.shift() ?? ""));
  return out;
}

/** The interpreter of the python helpers (nlhelper.py, ct-delete.py): BRIDGEHEAD_PYTHON, else the
 * distribution's /usr/bin/python3 (the one Debian's python3-pyroute2 installs for; a python3 found
 * first on PATH, e.g. pyenv's, usually lacks it), else python3 on PATH. */
export const PYTHON =
  process.env.BRIDGEHEAD_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

/** The exit code of a python helper whose interpreter cannot import pyroute2 (EX_UNAVAILABLE). */
export const NO_PYROUTE2 = 69;

/** Starts a long-lived python helper (`script` under PYTHON) with piped stdio; its owner speaks
 * to it over stdin/stdout and watches it exit. */
export function spawnPython(script: string): ChildProcessWithoutNullStreams {
  return spawn(PYTHON, [script], { stdio: ["pipe", "pipe", "pipe"] });
}
