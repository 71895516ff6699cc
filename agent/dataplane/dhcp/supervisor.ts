// Supervises one dnsmasq per DHCP-enabled VNET on this node, inside the node's namespace. Each pass
// compares the kernel-side truth (is the recorded pid a live dnsmasq with exactly our command line?
// are the hosts/names files what the desired state says?) with the desired state and repairs the
// difference: host changes are written atomically (temp file + rename) and reloaded with SIGHUP, so
// leases survive; only a dead server or a changed command line starts a process. dnsmasq runs as a
// daemon so an agent restart neither kills it nor loses leases; the next pass adopts it by pid file.
import { readFileSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import type { DesiredState, DhcpLease } from "../../../lib/wire";
import { inNs, runIn } from "../run";
import {
  type DhcpNetwork,
  type DnsmasqUser,
  dhcpFiles,
  dhcpNetworks,
  dhcpPaths,
  dnsmasqArgs,
  pickDnsmasqUser,
} from "./config";

export interface DhcpOptions {
  /** Namespace standing in for the node; absent: the agent's own. */
  nodeNetns?: string;
  /** Where the per-VNET files live; one directory per node namespace. */
  stateDir?: string;
  /** The dnsmasq binary (Debian: /usr/sbin/dnsmasq). */
  dnsmasq?: string;
  /** The unprivileged account dnsmasq serves as; absent: pickDnsmasqUser from this host's
   * /etc/passwd and /etc/group. */
  user?: DnsmasqUser;
}

export interface DhcpServer {
  vnetId: number;
  pid: number;
}

export interface DhcpResult {
  ok: boolean;
  /** Servers running with the desired hosts after this pass. */
  servers: DhcpServer[];
  /** The leases the servers handed out (their lease files after this pass). */
  leases: DhcpLease[];
  /** What this pass did (files written, reloads, starts, stops), in order. */
  ops: string[];
  /** What was found different from the desired state and put right (drift). */
  repairs: string[];
  errors: string[];
}

export interface Dhcp {
  reconcile(state: DesiredState): Promise<DhcpResult>;
  /** Stops every server of this node and removes its files. */
  teardown(): Promise<void>;
  readonly stateDir: string;
}

const readOr = (path: string) => readFile(path, "utf8").catch(() => undefined);

/** Replaces a file in one step; world readable (chmod: the agent's umask may be 077), since the
 * unprivileged dnsmasq rereads it on SIGHUP. */
async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, content);
  await chmod(tmp, 0o644);
  await rename(tmp, path);
}

/** A directory dnsmasq can enter as its unprivileged user (whatever the agent's umask). */
async function openDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await chmod(path, 0o755);
}

/** The argv of a live process, or undefined when `pid` is not running. */
async function cmdline(pid: number): Promise<string[] | undefined> {
  const raw = await readOr(`/proc/${pid}/cmdline`);
  if (!raw) return undefined;
  return raw.split("\0").filter((s) => s !== "");
}

async function pidOf(path: string): Promise<number | undefined> {
  const n = Number((await readOr(path))?.trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Whether `pid` runs (a zombie waiting for its reaper does not: it serves nothing). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function stop(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  if (alive(pid)) process.kill(pid, "SIGKILL");
}

/** dnsmasq's lease file: `<expiry> <mac> <ip> <hostname|*> <client id|*>` per line. */
export function parseLeases(vnetId: number, text: string): DhcpLease[] {
  const out: DhcpLease[] = [];
  for (const line of text.split("\n")) {
    const [expires, mac, ip] = line.trim().split(/\s+/);
    if (!expires || !mac || !ip || !/^\d+$/.test(expires) || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac))
      continue;
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) continue;
    out.push({ vnetId, mac, ip, expires: Number(expires) });
  }
  return out;
}

export function createDhcp(opts: DhcpOptions = {}): Dhcp {
  const base = opts.stateDir ?? "/run/bridgehead/dhcp";
  const stateDir = `${base}/${opts.nodeNetns ?? "host"}`;
  const bin = opts.dnsmasq ?? "dnsmasq";
  /** What this agent last wrote to each file. */
  const written = new Map<string, string>();
  let account: DnsmasqUser | undefined = opts.user;
  async function user(): Promise<DnsmasqUser> {
    account ??= pickDnsmasqUser((await readOr("/etc/passwd")) ?? "", (await readOr("/etc/group")) ?? "");
    if (!account)
      throw new Error("no unprivileged user for dnsmasq (neither dnsmasq nor nobody in /etc/passwd)");
    return account;
  }

  /** The pid of this VNET's server when it runs with exactly `args`. */
  async function runningWith(pidFile: string, args: string[]): Promise<number | undefined> {
    const pid = await pidOf(pidFile);
    if (!pid) return undefined;
    const argv = await cmdline(pid);
    if (!argv || !argv[0]?.endsWith("dnsmasq")) return undefined;
    return argv.slice(1).join("\0") === args.join("\0") ? pid : -pid;
  }

  async function one(net: DhcpNetwork, state: DesiredState, out: DhcpResult): Promise<void> {
    const paths = dhcpPaths(stateDir, net.vnetId);
    for (const d of [base, stateDir, paths.dir]) await openDir(d);
    const files = dhcpFiles(net, state.ports);
    const args = dnsmasqArgs(net, paths, await user());
    let changed = false;
    for (const [path, want, what] of [
      [paths.hosts, files.hosts, "hosts"],
      [paths.names, files.names, "names"],
    ] as const) {
      const have = await readOr(path);
      if (have === want) {
        written.set(path, want);
        continue;
      }
      await writeAtomic(path, want);
      out.ops.push(`write ${path}  # dnsmasq ${what} of VNET ${net.vnetId}`);
      changed = true;
      // Drift is a file that is neither what we want now nor what we last wrote (a hand edit, a
      // truncation); a file still holding our last version is just a desired-state change.
      const drifted = have !== undefined && have !== written.get(path);
      written.set(path, want);
      if (drifted) out.repairs.push(`VNET ${net.vnetId}: rewrote the DHCP ${what} file`);
    }
    const found = await runningWith(paths.pid, args);
    if (found && found > 0) {
      if (changed) {
        process.kill(found, "SIGHUP");
        out.ops.push(`kill -HUP ${found}  # dnsmasq of VNET ${net.vnetId} rereads its hosts`);
      }
      out.servers.push({ vnetId: net.vnetId, pid: found });
      return;
    }
    if (found && found < 0) {
      // Same VNET, different command line (MTU, domain, lease time...): a restart is the only way;
      // the lease file keeps the leases across it.
      await stop(-found);
      out.ops.push(`kill ${-found}  # dnsmasq of VNET ${net.vnetId}, options changed`);
      out.repairs.push(`VNET ${net.vnetId}: restarted dnsmasq for new options`);
    } else if (await pidOf(paths.pid)) {
      out.repairs.push(`VNET ${net.vnetId}: dnsmasq was not running, started it`);
    }
    await rm(paths.pid, { force: true });
    // dnsmasq's parent exits only once the daemon has bound its sockets and read its files (an error
    // in startup is its exit code), so a zero exit and a pid file mean it is really serving.
    const r = await runIn(opts.nodeNetns, bin, args);
    out.ops.push(`${inNs(opts.nodeNetns, bin)} ${args.join(" ")}`);
    const pid = await pidOf(paths.pid);
    if (r.code !== 0 || !pid || !alive(pid)) {
      out.ok = false;
      out.errors.push(`VNET ${net.vnetId}: dnsmasq did not start: ${(r.stderr || r.stdout).trim()}`);
      return;
    }
    out.servers.push({ vnetId: net.vnetId, pid });
  }

  async function reconcile(state: DesiredState): Promise<DhcpResult> {
    const out: DhcpResult = { ok: true, servers: [], leases: [], ops: [], repairs: [], errors: [] };
    const nets = dhcpNetworks(state.networks);
    for (const net of nets) {
      try {
        await one(net, state, out);
      } catch (e) {
        out.ok = false;
        out.errors.push(`VNET ${net.vnetId}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    for (const s of out.servers)
      out.leases.push(...parseLeases(s.vnetId, (await readOr(dhcpPaths(stateDir, s.vnetId).leases)) ?? ""));
    // Servers of VNETs no longer served here.
    const keep = new Set(nets.map((n) => `vnet${n.vnetId}`));
    for (const d of await readdir(stateDir).catch(() => [] as string[])) {
      if (!/^vnet\d+$/.test(d) || keep.has(d)) continue;
      const pid = await pidOf(`${stateDir}/${d}/dnsmasq.pid`);
      const argv = pid ? await cmdline(pid) : undefined;
      if (pid && argv?.[0]?.endsWith("dnsmasq")) {
        await stop(pid);
        out.ops.push(`kill ${pid}  # dnsmasq of ${d}, no longer served here`);
      }
      await rm(`${stateDir}/${d}`, { recursive: true, force: true });
    }
    return out;
  }

  async function teardown(): Promise<void> {
    await reconcile({
      wireVersion: 2,
      nodeId: 1,
      nodeName: "teardown",
      revision: 0,
      networks: [],
      ports: [],
    });
    await rm(stateDir, { recursive: true, force: true });
  }

  return { reconcile, teardown, stateDir };
}
