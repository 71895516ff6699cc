// Helpers for the security-group kernel tests: one node namespace with its dataplane per test file,
// real clients (ping, TCP connect, UDP probe, a live TCP flow), and cleanup of exactly the
// namespaces and processes a file created.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { nsPrefix } from "../../tests/kernel";
import { createDataplane } from "./index";
import { listNamespaces } from "./links/observe";
import { run, runInNetns } from "./run";

const TOOLS = path.resolve(import.meta.dirname, "../../tests/tools");

/** A node namespace `bht<pid><tag>n`, guests `bht<pid><tag>-i<instance>`, and their dataplane. */
export function sgLab(tag: string) {
  const P = nsPrefix(tag);
  const NODE = `${P}n`;
  const dp = createDataplane({ nodeNetns: NODE, guestPrefix: P });
  const children: ChildProcess[] = [];
  return {
    P,
    NODE,
    dp,
    g: (instanceId: number) => `${P}-i${instanceId}`,
    /** Starts a long-running process inside `ns`; it is killed by purge(). */
    spawnIn(ns: string, cmd: string, args: string[]): ChildProcess {
      const c = spawn("ip", ["netns", "exec", ns, cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      children.push(c);
      return c;
    },
    /** Kills what this file started and deletes every namespace with its prefix. */
    async purge() {
      for (const c of children.splice(0)) c.kill("SIGKILL");
      await dp.teardown({ removeNodeNetns: true });
      for (const ns of await listNamespaces()) if (ns.startsWith(P)) await run("ip", ["netns", "del", ns]);
    },
  };
}
export type SgLab = ReturnType<typeof sgLab>;

/** One echo request from `ns` (optionally from source `src`); true when answered within 1 s. */
export async function ping(ns: string, target: string, src?: string): Promise<boolean> {
  const args = ["-n", "-c1", "-W1", ...(src ? ["-I", src] : []), target];
  return (await runInNetns(ns, "ping", args)).code === 0;
}

/** For expectations that traffic passes: up to five tries (a shared, often loaded machine, and a
 * first packet that also waits for address resolution). */
export async function reaches(ns: string, target: string, src?: string): Promise<boolean> {
  for (let i = 0; i < 5; i++) if (await ping(ns, target, src)) return true;
  return false;
}

export interface ProbeSpec {
  proto: "tcp" | "udp";
  src: string;
  dst: string;
  port: number;
}

/** Runs TCP connects and UDP sends concurrently from `ns` (tests/tools/probe.py): a probe
 * "reached" the target when anything came back (SYN-ACK, RST, UDP reply or ICMP port
 * unreachable — the last three pass only as replies of a flow the filter let through), and was
 * dropped when nothing did within `timeoutS`. */
export async function probe(ns: string, specs: ProbeSpec[], timeoutS = 1): Promise<boolean[]> {
  if (specs.length === 0) return [];
  const r = await runInNetns(ns, "python3", [
    path.join(TOOLS, "probe.py"),
    String(timeoutS),
    ...specs.map((s) => `${s.proto},${s.src},${s.dst},${s.port}`),
  ]);
  if (r.code !== 0) throw new Error(`probe.py in ${ns} failed: ${r.stderr.trim()}`);
  const lines = r.stdout.trim().split("\n");
  if (lines.length !== specs.length)
    throw new Error(`probe.py printed ${lines.length} lines for ${specs.length} probes`);
  const bad = lines.findIndex((l) => l !== "reached" && l !== "dropped");
  if (bad >= 0) throw new Error(`probe ${JSON.stringify(specs[bad])} from ${ns}: ${lines[bad]}`);
  return lines.map((l) => l === "reached");
}

/** Answers TCP connects and UDP datagrams on these ports in `ns` (tests/tools/probe-serve.py),
 * so a probe's reply never depends on the kernel's rate limit of ICMP errors; UDP answers from the
 * address it was sent to, one socket per address in `addrs`. */
export async function serveProbes(
  lab: SgLab,
  ns: string,
  tcp: number[],
  udp: number[],
  addrs: string[],
): Promise<void> {
  const srv = lab.spawnIn(ns, "python3", [
    path.join(TOOLS, "probe-serve.py"),
    tcp.join(","),
    udp.join(","),
    addrs.join(","),
  ]);
  await new Promise<void>((resolve, reject) => {
    srv.once("exit", (code) => reject(new Error(`probe-serve.py in ${ns} exited (${code})`)));
    createInterface({ input: srv.stdout! }).on("line", (line) => line === "ready" && resolve());
  });
}

/** A live TCP flow: a server in `server` counting messages, a client in `client` sending one
 * every 100 ms (tests/tools/tcp-ticker.py). `lastAt` is when the server last received one. */
export async function tcpFlow(lab: SgLab, server: string, client: string, host: string, port: number) {
  const srv = lab.spawnIn(server, "python3", [path.join(TOOLS, "tcp-ticker.py"), "serve", String(port)]);
  const flow = { received: 0, lastAt: 0, client: undefined as ChildProcess | undefined };
  const listening = new Promise<void>((resolve, reject) => {
    srv.once("exit", (code) => reject(new Error(`ticker server on ${port} exited (${code})`)));
    createInterface({ input: srv.stdout! }).on("line", (line) => {
      if (line.startsWith("listening")) resolve();
      if (line.startsWith("got ")) {
        flow.received++;
        flow.lastAt = performance.now();
      }
    });
  });
  await listening;
  const cli = lab.spawnIn(client, "python3", [path.join(TOOLS, "tcp-ticker.py"), "send", host, String(port)]);
  flow.client = cli;
  await new Promise<void>((resolve, reject) => {
    cli.once("exit", (code) => reject(new Error(`ticker client to ${host}:${port} exited (${code})`)));
    createInterface({ input: cli.stdout! }).on("line", (line) => line === "connected" && resolve());
  });
  return flow;
}
