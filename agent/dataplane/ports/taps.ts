// Hypervisor (tap) ports: QEMU or libvirt creates the tap under the name Bridgehead gave the NIC
// (lib/wire.ts tapDeviceName); the agent plugs it into its VNET (bridge, MTU, up) as soon as it
// appears. It listens to the kernel's link events (one long-lived `ip monitor link` per node
// namespace) instead of polling, adopts taps that existed before it started, and forgets a tap
// that disappears (the hypervisor owns it: it is never deleted here). Filtering needs nothing
// extra: the nftables sets are keyed by device name, so the loaded tables already hold a desired
// tap's anti-spoofing and security groups before it exists, and drop an unknown one.
import { type ChildProcess, spawn } from "node:child_process";
import { type DesiredPort, type DesiredState, isTapPort, TAP_PREFIX } from "../../../lib/wire";
import { ipArgv, ipIn } from "../run";

/** One tap as a link event or `ip -o link show` line describes it. */
export interface TapLink {
  name: string;
  master?: string;
  mtu: number;
  up: boolean;
}

const LINE = /^(Deleted )?\d+: ([^:@\s]+)(?:@\S+)?: <([^>]*)> mtu (\d+)(.*)$/;
const TAP_NAME = new RegExp(`^${TAP_PREFIX}\\d+$`);

/** Parses one `ip -o link` / `ip -o monitor link` line; undefined for other devices. */
export function parseLinkLine(line: string): { deleted: boolean; link: TapLink } | undefined {
  const m = LINE.exec(line.trim());
  if (!m || !TAP_NAME.test(m[2] as string)) return undefined;
  const master = / master (\S+)/.exec(m[5] as string)?.[1];
  return {
    deleted: m[1] !== undefined,
    link: {
      name: m[2] as string,
      mtu: Number(m[4]),
      up: (m[3] as string).split(",").includes("UP"),
      ...(master ? { master } : {}),
    },
  };
}

/** The `ip link set` line that plugs `link` into its network, or undefined when it is plugged. */
export function plugLine(port: DesiredPort, bridge: string, link: TapLink | undefined): string | undefined {
  if (!link) return undefined;
  const set: string[] = [];
  if (link.mtu !== port.mtu) set.push(`mtu ${port.mtu}`);
  if (link.master !== bridge) set.push(`master ${bridge}`);
  if (!link.up || set.length) set.push("up");
  return set.length ? `link set dev ${link.name} ${set.join(" ")}` : undefined;
}

/** What plugging did: the command lines run, per NIC an error, and how long each plug took. */
export interface TapSync {
  ops: string[];
  errors: Map<number, string>;
}

export interface TapPorts {
  /** Plugs every desired tap that exists (adoption and drift repair) and remembers `desired` for
   * the link events that follow. */
  sync(desired: DesiredState): Promise<TapSync>;
  /** The taps present now (as the last listing and the events since say). */
  present(): Map<string, TapLink>;
  /** Lists the taps present now (one `ip -o link show`). */
  refresh(): Promise<Map<string, TapLink>>;
  /** Called after each event-driven plug (tests measure the latency with it). */
  onPlug(fn: (e: { dev: string; nicId: number; ms: number; error?: string }) => void): void;
  stop(): void;
}

/** Tap ports of one node namespace (undefined: the agent's own namespace). */
export function createTapPorts(nodeNetns: string | undefined): TapPorts {
  const links = new Map<string, TapLink>();
  let desired: DesiredState | undefined;
  let monitor: ChildProcess | undefined;
  let stopped = false;
  const listeners: ((e: { dev: string; nicId: number; ms: number; error?: string }) => void)[] = [];

  const wanted = () => {
    const d = desired;
    if (!d) return new Map<string, { port: DesiredPort; bridge: string }>();
    const bridges = new Map(d.networks.map((n) => [n.vnetId, n.bridge]));
    const out = new Map<string, { port: DesiredPort; bridge: string }>();
    for (const p of d.ports.filter(isTapPort)) {
      const bridge = bridges.get(p.vnetId);
      if (p.dev && bridge) out.set(p.dev, { port: p, bridge });
    }
    return out;
  };

  // Event-driven plugs go to one long-lived `ip -force -batch -` in the node namespace: each line
  // runs as soon as it is read, without a process start (tens of ms on a loaded node). It exits at
  // the end of its stdin, i.e. with the agent. Its outcome is read back from the link events (the
  // tap shows the bridge as master) and its failures from stderr ("Command failed -:N").
  let batch: ChildProcess | undefined;
  let written = 0;
  const sent = new Map<number, string>(); // batch line number → device
  const pending = new Map<string, { t0: number; nicId: number; bridge: string }>();
  const report = (dev: string, error?: string) => {
    const p = pending.get(dev);
    if (!p) return;
    pending.delete(dev);
    for (const fn of listeners)
      fn({ dev, nicId: p.nicId, ms: performance.now() - p.t0, ...(error ? { error } : {}) });
  };
  const startBatch = async () => {
    if (batch || stopped) return;
    const [cmd, args] = await ipArgv(nodeNetns, ["-force", "-batch", "-"]);
    if (batch || stopped) return;
    const child = spawn(cmd, args, { stdio: ["pipe", "ignore", "pipe"] });
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    child.stdin?.on("error", () => {});
    child.stderr?.setEncoding("utf8");
    let err = "";
    child.stderr?.on("data", (chunk: string) => {
      err += chunk;
      for (const m of err.matchAll(/Command failed -:(\d+)/g)) {
        const dev = sent.get(Number(m[1]));
        sent.delete(Number(m[1]));
        if (!dev) continue;
        // Removed while we plugged it (the VM stopped at once): forgotten, not an error.
        if (/Cannot find device/.test(err)) {
          links.delete(dev);
          pending.delete(dev);
        } else report(dev, `cannot plug tap ${dev}: ${err.trim().split("\n")[0]}`);
      }
      if (/Command failed/.test(err)) err = "";
    });
    child.on("exit", () => {
      if (batch === child) batch = undefined;
      written = 0;
      sent.clear();
    });
    batch = child;
    written = 0;
  };

  const plugOne = (dev: string, t0: number) => {
    const w = wanted().get(dev);
    const l = links.get(dev);
    const p = pending.get(dev);
    if (p && l?.master === p.bridge) return report(dev);
    const line = w && plugLine(w.port, w.bridge, l);
    if (!w || !line || p || !batch?.stdin) return;
    pending.set(dev, { t0, nicId: w.port.nicId, bridge: w.bridge });
    written += 1;
    sent.set(written, dev);
    batch.stdin.write(`${line}\n`);
  };

  const startMonitor = async () => {
    if (monitor || stopped) return;
    const [cmd, args] = await ipArgv(nodeNetns, ["-o", "monitor", "link"]);
    if (monitor || stopped) return;
    // Under a shell that ends the monitor when our end of its stdin closes: on stop(), and when
    // the agent dies (even by SIGKILL), so no monitor outlives its agent.
    const child = spawn("sh", ["-c", '"$@" & read _; kill $! 2>/dev/null', "sh", cmd, ...args], {
      stdio: ["pipe", "pipe", "ignore"],
    });
    // The monitor never keeps the agent's event loop alive on its own.
    child.unref();
    (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    monitor = child;
    let buf = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      const t0 = performance.now();
      buf += chunk;
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      const touched = new Set<string>();
      for (const l of lines) {
        const e = parseLinkLine(l);
        if (!e) continue;
        if (e.deleted) {
          // The hypervisor removed its tap (VM stopped): nothing to undo, nothing to report.
          links.delete(e.link.name);
          pending.delete(e.link.name);
          touched.delete(e.link.name);
        } else {
          links.set(e.link.name, e.link);
          touched.add(e.link.name);
        }
      }
      for (const dev of touched) plugOne(dev, t0);
    });
    // The node namespace went away (teardown) or ip died: the next sync starts a new monitor.
    child.on("exit", () => {
      if (monitor === child) monitor = undefined;
    });
    child.on("error", () => {
      if (monitor === child) monitor = undefined;
    });
  };

  /** Lists the taps present now (one `ip -o link show`): adoption after a start or a restart. */
  const list = async () => {
    const r = await ipIn(nodeNetns, ["-o", "link", "show"]);
    if (r.code !== 0) return;
    links.clear();
    for (const l of r.stdout.split("\n")) {
      const e = parseLinkLine(l);
      if (e && !e.deleted) links.set(e.link.name, e.link);
    }
  };

  return {
    async sync(d) {
      desired = d;
      const out: TapSync = { ops: [], errors: new Map() };
      const w = wanted();
      if (w.size === 0 && !monitor) return out;
      // The monitor first, then the listing: a tap created in between is seen by one of them.
      await startBatch();
      await startMonitor();
      await list();
      const lines: { line: string; nicId: number }[] = [];
      for (const [dev, { port, bridge }] of w) {
        const line = plugLine(port, bridge, links.get(dev));
        if (line) lines.push({ line, nicId: port.nicId });
      }
      if (lines.length === 0) return out;
      const r = await ipIn(nodeNetns, ["-force", "-batch", "-"], lines.map((l) => `${l.line}\n`).join(""));
      const prefix = nodeNetns ? `ip -n ${nodeNetns} ` : "ip ";
      out.ops.push(...lines.map((l) => prefix + l.line));
      if (r.code !== 0) {
        // -force runs every line and names the failed ones ("Command failed -:N").
        const failed = new Set(
          [...r.stderr.matchAll(/Command failed -:(\d+)/g)].map((m) => Number(m[1]) - 1),
        );
        lines.forEach((l, i) => {
          // A tap the hypervisor removed meanwhile is forgotten, not a failure.
          if (/Cannot find device/.test(r.stderr) && failed.size <= 1 && lines.length === 1) return;
          if (failed.has(i) || failed.size === 0)
            out.errors.set(l.nicId, `cannot plug tap ${l.line.split(" ")[3]}: ${r.stderr.trim()}`);
        });
      }
      await list();
      return out;
    },
    present: () => new Map(links),
    refresh: async () => {
      await list();
      return new Map(links);
    },
    onPlug: (fn) => {
      listeners.push(fn);
    },
    stop() {
      stopped = true;
      monitor?.stdin?.end();
      monitor = undefined;
      batch?.stdin?.end();
      batch = undefined;
    },
  };
}
