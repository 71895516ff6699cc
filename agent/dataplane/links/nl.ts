// Guest namespaces through long-lived netlink helpers (nlhelper.py, one per core, at most two)
// instead of one `ip` process per namespace: from empty, 1,000 guests cost 1,000 `nsenter ip
// -batch` processes (~10 s on two cores); a helper setns()es into each in turn and sends the same
// requests over netlink, all of a namespace's in one datagram. Each request is shared between the
// helpers (contiguous halves), so their Python runs on both cores.
// The planner still emits `ip` lines (they are the plan preview and the fallback): toNetlink()
// translates the small set the guest planner writes; a batch with any other line, or a machine
// without python3 or pyroute2 (the helper exits with NO_PYROUTE2), runs through `ip` as before.
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { type BatchResult, NO_PYROUTE2, PYTHON, spawnPython } from "../run";

/** One request of the helper (see nlhelper.py's do_op). */
export type NlOp =
  | { op: "link"; dev: string; up?: true; mac?: string; mtu?: number }
  | { op: "linkdel"; dev: string }
  | { op: "addradd" | "addrdel"; dev: string; cidr: string; nodad?: true }
  | { op: "routereplace"; via: string; dev: string; onlink?: true }
  | { op: "routedel"; via?: string; dev?: string };

const IFNAME = /^[^\s/]{1,15}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const CIDR4 = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
const CIDR6 = /^[0-9a-f:]*:[0-9a-f:]*\/\d{1,3}$/i;

/** The netlink request equivalent to one `ip` batch line, or undefined for any line outside the
 * guest planner's vocabulary (link set/del, addr add/del, default route replace/del). Pure. */
export function toNetlink(line: string): NlOp | undefined {
  const w = line.trim().split(/\s+/);
  const [obj, verb] = w;
  if (obj === "link" && verb === "del" && w.length === 3 && IFNAME.test(w[2] ?? ""))
    return { op: "linkdel", dev: w[2] as string };
  if (obj === "link" && verb === "set" && w.length >= 4 && IFNAME.test(w[2] ?? "")) {
    const o: NlOp & { op: "link" } = { op: "link", dev: w[2] as string };
    for (let i = 3; i < w.length; i++) {
      const k = w[i];
      const v = w[i + 1] ?? "";
      if (k === "up" && !o.up) o.up = true;
      else if (k === "address" && MAC.test(v) && o.mac === undefined) {
        o.mac = v.toLowerCase();
        i++;
      } else if (k === "mtu" && /^\d{2,5}$/.test(v) && o.mtu === undefined) {
        o.mtu = Number(v);
        i++;
      } else return undefined;
    }
    return o;
  }
  if (obj === "addr" && (verb === "add" || verb === "del") && w.length === 5 && w[3] === "dev") {
    const [cidr = "", dev = ""] = [w[2], w[4]];
    if (!(CIDR4.test(cidr) || CIDR6.test(cidr)) || !IFNAME.test(dev)) return undefined;
    return { op: verb === "add" ? "addradd" : "addrdel", dev, cidr };
  }
  // An IPv6 address added without duplicate address detection (drivers.ts addressLines6).
  if (obj === "addr" && verb === "add" && w.length === 6 && w[3] === "dev" && w[5] === "nodad") {
    const [cidr = "", dev = ""] = [w[2], w[4]];
    if (!CIDR6.test(cidr) || !IFNAME.test(dev)) return undefined;
    return { op: "addradd", dev, cidr, nodad: true };
  }
  if (obj === "route" && verb === "replace" && w[2] === "default" && w[3] === "via" && w[5] === "dev") {
    const [via = "", dev = ""] = [w[4], w[6]];
    const rest = w.slice(7);
    if (!IPV4.test(via) || !IFNAME.test(dev)) return undefined;
    if (rest.length === 0) return { op: "routereplace", via, dev };
    if (rest.length === 1 && rest[0] === "onlink") return { op: "routereplace", via, dev, onlink: true };
    return undefined;
  }
  if (obj === "route" && verb === "del" && w[2] === "default") {
    const o: NlOp & { op: "routedel" } = { op: "routedel" };
    for (let i = 3; i < w.length; i += 2) {
      const k = w[i];
      const v = w[i + 1] ?? "";
      if (k === "via" && IPV4.test(v) && o.via === undefined) o.via = v;
      else if (k === "dev" && IFNAME.test(v) && o.dev === undefined) o.dev = v;
      else return undefined;
    }
    return o;
  }
  return undefined;
}

interface ReadAnswer {
  links?: unknown[];
  routes?: unknown[];
  fatal?: string;
}

interface Answer {
  id: number;
  results?: { errors?: (string | null)[]; fatal?: string }[];
  reads?: ReadAnswer[];
  fatal?: string;
}

const SCRIPT = fileURLToPath(new URL("./nlhelper.py", import.meta.url));

/** How many helper processes share the guest namespaces: the helper's work is mostly Python (CPU
 * bound), so one per core, at most 2 (the kernel side is serialised by RTNL anyway). */
const HELPERS = Math.min(2, availableParallelism());
/** The helper process, started on first use and kept; restarted if it dies. */
class Helper {
  private child?: ChildProcessWithoutNullStreams;
  private pending = new Map<number, (a: Answer | Error) => void>();
  private nextId = 1;
  private buf = "";
  /** Why the helper cannot run on this machine (python3 or pyroute2 missing): then `ip` does the work. */
  unavailable?: string;

  private start(): ChildProcessWithoutNullStreams {
    const child = spawnPython(SCRIPT);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-2000);
    });
    child.stdout.setEncoding("utf8").on("data", (d: string) => this.onData(d));
    child.stdin.on("error", () => {}); // a dead helper is reported by 'exit' below
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.buf = "";
      const err = new Error(`netlink helper ${why}${stderr.trim() ? `: ${stderr.trim()}` : ""}`);
      for (const reject of this.pending.values()) reject(err);
      this.pending.clear();
    };
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") this.unavailable = `python3 not found (${e.message})`;
      gone(`could not run: ${e.message}`);
    });
    child.on("exit", (code, signal) => {
      if (code === NO_PYROUTE2)
        this.unavailable = `${PYTHON} cannot import pyroute2; install python3-pyroute2 or set BRIDGEHEAD_PYTHON`;
      gone(`exited (${signal ?? `code ${code}`})`);
    });
    this.idle(child);
    return child;
  }

  /** An idle helper does not keep the agent (or a test) alive. */
  private idle(child: ChildProcessWithoutNullStreams) {
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref(): void }).unref();
  }

  private busy(child: ChildProcessWithoutNullStreams) {
    child.ref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { ref(): void }).ref();
  }

  private onData(d: string) {
    this.buf += d;
    let nl = this.buf.indexOf("\n");
    while (nl >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf("\n");
      if (!line.trim()) continue;
      const a = JSON.parse(line) as Answer;
      const done = this.pending.get(a.id);
      this.pending.delete(a.id);
      done?.(a);
      if (this.pending.size === 0 && this.child) this.idle(this.child);
    }
  }

  warm(): void {
    this.child ??= this.start();
  }

  ask(req: object): Promise<Answer> {
    this.child ??= this.start();
    const child = this.child;
    const id = this.nextId++;
    if (this.pending.size === 0) this.busy(child);
    return new Promise<Answer>((resolve, reject) => {
      this.pending.set(id, (a) => (a instanceof Error ? reject(a) : resolve(a)));
      child.stdin.write(`${JSON.stringify({ id, ...req })}\n`);
    });
  }
}

const helpers = Array.from({ length: HELPERS }, () => new Helper());
let warned = false;

/** Whether the helpers may be used (false once python3 or pyroute2 was found missing; `ip` runs instead). */
function usable(): boolean {
  const unavailable = helpers.find((h) => h.unavailable)?.unavailable;
  if (unavailable && !warned) {
    warned = true;
    console.warn(
      `bridgehead: netlink helper unavailable (${unavailable}); guest namespaces are configured with one ip process each (slower). Install python3 and python3-pyroute2 to speed this up.`,
    );
  }
  return unavailable === undefined;
}

/** Starts the helpers ahead of their first use (a no-op when they run or cannot run). */
export function warmNetlink(): void {
  if (usable()) for (const h of helpers) h.warm();
}

/** `items` in at most `helpers.length` contiguous shares, one per helper, the first ones largest
 * (with their offsets); a handful of namespaces stays on one helper (its round trip is cheaper
 * than a second one's). */
function shares<T>(items: T[]): { at: number; part: T[] }[] {
  const n = items.length < 8 ? 1 : helpers.length;
  const size = Math.ceil(items.length / n);
  const out: { at: number; part: T[] }[] = [];
  for (let at = 0; at < items.length; at += size) out.push({ at, part: items.slice(at, at + size) });
  return out;
}

/** Runs `ip` batch lines in guest namespaces through the helpers (each namespace's batch on one of
 * them, all in one request per helper), with ip's per-line failure attribution (one result per
 * batch). Undefined when the helpers cannot run them (a line outside their vocabulary, no python3
 * or pyroute2): the caller runs them through `ip`. */
export async function nlBatches(
  batches: { ns: string; lines: string[] }[],
): Promise<BatchResult[] | undefined> {
  const ops = batches.map((b) => b.lines.map(toNetlink));
  if (!usable() || ops.some((o) => o.some((x) => x === undefined))) return undefined;
  const out: BatchResult[] = new Array(batches.length);
  await Promise.all(
    shares(batches).map(async ({ at, part }, k) => {
      try {
        const a = await (helpers[k] as Helper).ask({
          batches: part.map((b, i) => ({ ns: b.ns, ops: ops[at + i] })),
        });
        part.forEach((b, i) => {
          out[at + i] = settled(b.lines.length, a, a.results?.[i]);
        });
      } catch (e) {
        // A helper that died fails its own share only (the other one's answers stand).
        const fatal = (e as Error).message;
        part.forEach((_, i) => {
          out[at + i] = { failures: new Map(), fatal };
        });
      }
    }),
  );
  // Without pyroute2 the helpers exit before running anything: `ip` does it all.
  return usable() ? out : undefined;
}

/** One namespace's outcome from the helper's answer. */
function settled(
  lines: number,
  a: Answer,
  r: { errors?: (string | null)[]; fatal?: string } | undefined,
): BatchResult {
  const failures = new Map<number, string>();
  if (!r) return { failures, fatal: a.fatal ?? "netlink helper gave no answer for this namespace" };
  if (r.fatal !== undefined) return { failures, fatal: r.fatal };
  (r.errors ?? []).forEach((err, j) => {
    if (err !== null) failures.set(j, err);
  });
  if ((r.errors ?? []).length !== lines)
    return { failures, fatal: `netlink helper answered ${r.errors?.length ?? 0} of ${lines} lines` };
  return { failures };
}

/** A guest namespace as read by the helper: the JSON `ip -j -d addr show` / `ip -j route show` would
 * print (observe.ts parses them); null when the namespace does not exist. */
export type GuestRead = { addrs: string; routes: string } | null;

/** Reads guest namespaces through the helpers (shared between them, one request each): their links
 * with IPv4 addresses and their main-table IPv4 routes; undefined when the helpers cannot run (use
 * `ip`). Throws naming the namespace when one cannot be read. */
export async function nlReadGuests(namespaces: string[]): Promise<GuestRead[] | undefined> {
  if (!usable()) return undefined;
  const out: GuestRead[] = new Array(namespaces.length);
  try {
    await Promise.all(
      shares(namespaces).map(async ({ at, part }, k) => {
        const a = await (helpers[k] as Helper).ask({ read: part });
        part.forEach((ns, i) => {
          const r = a.reads?.[i];
          const fatal = r ? r.fatal : (a.fatal ?? "netlink helper gave no answer for this namespace");
          if (fatal !== undefined) {
            if (/Cannot open network namespace/.test(fatal)) out[at + i] = null;
            else throw new Error(`cannot read guest namespace ${ns}: ${fatal}`);
          } else
            out[at + i] = { addrs: JSON.stringify(r?.links ?? []), routes: JSON.stringify(r?.routes ?? []) };
        });
      }),
    );
  } catch (e) {
    if (!usable()) return undefined;
    const msg = (e as Error).message;
    throw msg.startsWith("cannot read guest namespace")
      ? e
      : new Error(`cannot read guest namespaces: ${msg}`);
  }
  return out;
}

/** Reads one guest namespace through a helper (see nlReadGuests): null when it does not exist,
 * undefined when the helpers cannot run (use `ip`). */
export async function nlReadGuest(ns: string): Promise<GuestRead | undefined> {
  const r = await nlReadGuests([ns]);
  return r === undefined ? undefined : (r[0] ?? null);
}
