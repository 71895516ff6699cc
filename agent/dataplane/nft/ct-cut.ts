// A deleted rule cuts the connections it allowed. nftables only judges the first packet of
// a connection: later ones pass as `ct state established`, so removing or narrowing a rule would
// leave every live flow it let in running. Right after a load that narrowed what some ports allow,
// the agent lists the node's conntrack table, judges each entry touching such a port by its
// original direction with the compiled policy the server's explain tool uses (lib/sg.ts), and
// deletes the entries the new policy denies by their exact tuple, in one process (ct-delete.py
// over ctnetlink; `conntrack -D` would dump the whole table once per entry). A flow that stays
// allowed keeps its entry. The next packet of a cut flow is new to conntrack and meets the rules.
// A removed peering is judged here too: an entry between ports of two internal VNETs that are no
// longer peered is deleted (nft.ts drops their packets already; the entry would outlive them).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ip4ToInt } from "../../../lib/domain";
import { bigToIp6, ip6ToBig, isIp6 } from "../../../lib/ipam";
import { linkLocal } from "../../../lib/nft/render";
import { portGroups } from "../../../lib/nft/sg";
import { explain, type NicPolicy, type Probe } from "../../../lib/sg";
import { wirePolicy } from "../../../lib/sg-wire";
import { type DesiredState, portDevice } from "../../../lib/wire";
import { inNs, NO_PYROUTE2, PYTHON, runIn } from "../run";

/** One conntrack entry, its original direction as `conntrack -L -o extended` prints it. */
export interface CtEntry {
  /** Protocol name as conntrack prints it (tcp, udp, icmp, icmpv6, esp, gre, unknown...). */
  proto: string;
  protonum: number;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** ICMP/ICMPv6 type, code and identifier. */
  type?: number;
  code?: number;
  id?: number;
}

/** Reads `conntrack -L -o extended` (both families); lines it cannot read are skipped. Pure. */
export function parseConntrack(text: string): CtEntry[] {
  const out: CtEntry[] = [];
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words.length < 6 || (words[0] !== "ipv4" && words[0] !== "ipv6")) continue;
    const fields: Record<string, string> = {};
    let tuples = 0;
    for (const w of words.slice(4)) {
      const eq = w.indexOf("=");
      if (eq < 0) continue;
      const key = w.slice(0, eq);
      // The second `src=` starts the reply direction.
      if (key === "src" && ++tuples > 1) break;
      fields[key] ??= w.slice(eq + 1);
    }
    if (!fields.src || !fields.dst) continue;
    const num = (k: string) => (fields[k] === undefined ? undefined : Number(fields[k]));
    const hex = (k: string) => (fields[k] === undefined ? undefined : Number.parseInt(fields[k], 16));
    out.push({
      proto: words[2] as string,
      protonum: Number(words[3]),
      src: fields.src,
      dst: fields.dst,
      // GRE's keys sit where ports do in the tuple (ctnetlink sends them as ports).
      sport: num("sport") ?? hex("srckey"),
      dport: num("dport") ?? hex("dstkey"),
      type: num("type"),
      code: num("code"),
      id: num("id"),
    });
  }
  return out;
}

/** One spelling per address (conntrack prints IPv6 compressed, leases may not be). */
const canon = (a: string) => (isIp6(a) ? bigToIp6(ip6ToBig(a)) : String(ip4ToInt(a) >>> 0));

interface PortView {
  nicId: number;
  /** The port's VNET, and whether it is isolated from the node's other VNETs (internal) with the
   * VNETs it is peered with. */
  vnetId: number;
  internal: boolean;
  peers: Set<number>;
  policy: NicPolicy;
  /** The content of every rule in force (direction, protocol, addresses, ports, ICMP type); one
   * object per distinct group list. */
  rules: Set<string>;
  /** The port's addresses, canonical (only read when judging connections). */
  addrs: () => string[];
}

/** Each port's enforced policy and addresses, by NIC id. Ports with the same group list share one
 * compiled policy (at 1,000 ports, a network's ports all do). */
function portViews(d: DesiredState): Map<number, PortView> {
  const nets = new Map(d.networks.map((n) => [n.vnetId, n]));
  const groups = d.securityGroups ?? [];
  const shared = new Map<string, Pick<PortView, "policy" | "rules">>();
  const out = new Map<number, PortView>();
  for (const port of d.ports) {
    const net = nets.get(port.vnetId);
    if (!net) continue;
    const sgIds = portGroups({
      nicId: port.nicId,
      iif: portDevice(port),
      net,
      sgIds: port.securityGroupIds,
    });
    const key = sgIds.join(",");
    let view = shared.get(key);
    if (!view) {
      const rules = new Set(
        groups
          .filter((g) => sgIds.includes(g.sgId))
          .flatMap((g) =>
            g.rules.map((r) => JSON.stringify([r.direction, r.protocol, r.spans, r.ports, r.icmpType])),
          ),
      );
      view = { policy: wirePolicy(sgIds, groups), rules };
      shared.set(key, view);
    }
    out.set(port.nicId, {
      nicId: port.nicId,
      vnetId: net.vnetId,
      internal: net.networkType === "internal",
      peers: new Set((net.peers ?? []).map((p) => p.vnetId)),
      ...view,
      addrs: () =>
        [
          ...port.addresses.map((a) => a.split("/")[0] as string),
          ...(port.addresses6 ?? []),
          linkLocal(port.mac.toLowerCase()),
        ].map(canon),
    });
  }
  return out;
}

/** Whether the node routes nothing between the VNETs of two ports (nft.ts isolation): both are
 * internal VNETs, different and not peered. */
const isolated = (a: PortView, b: PortView) =>
  a.internal && b.internal && a.vnetId !== b.vnetId && !a.peers.has(b.vnetId);

/** NICs whose policy lets less through than under `prev`: a rule of theirs is gone or changed, or
 * they are filtered now and were not, or their VNET lost a peering. Without `prev` (the agent just
 * started, so what was in force before is unknown), every filtered NIC and every NIC of an internal
 * VNET when the node has several. Pure. */
export function narrowedPorts(prev: DesiredState | undefined, next: DesiredState): number[] {
  const before = prev ? portViews(prev) : undefined;
  const lost = new Map<Set<string>, Map<Set<string>, boolean>>();
  /** Whether a rule of `was` is missing from `now`, once per pair of group lists. */
  const narrower = (was: Set<string>, now: Set<string>) => {
    const row = lost.get(was) ?? new Map<Set<string>, boolean>();
    lost.set(was, row);
    const known = row.get(now);
    if (known !== undefined) return known;
    const v = [...was].some((r) => !now.has(r));
    row.set(now, v);
    return v;
  };
  const out: number[] = [];
  const views = portViews(next);
  const internalNets = new Set([...views.values()].filter((v) => v.internal).map((v) => v.vnetId));
  for (const [nicId, now] of views) {
    const was = before?.get(nicId);
    const lostPeer =
      now.internal && (was ? [...was.peers].some((p) => !now.peers.has(p)) : internalNets.size > 1);
    if (lostPeer) out.push(nicId);
    else if (now.policy.allowAll) continue;
    else if (!was || was.policy.allowAll || narrower(was.rules, now.rules)) out.push(nicId);
  }
  return out;
}

/** Traffic every guest needs whatever its groups say (lib/nft/sg.ts INFRASTRUCTURE): DHCP, ND. */
function infrastructure(e: CtEntry): boolean {
  const pair = `${e.sport}>${e.dport}`;
  if (e.proto === "udp") return ["68>67", "67>68", "546>547", "547>546"].includes(pair);
  return e.proto === "icmpv6" && e.type !== undefined && e.type >= 133 && e.type <= 136;
}

const L4 = new Set(["tcp", "udp", "icmp", "icmpv6", "esp", "ah"]);
/** Protocols whose tuple has ports (conntrack prints sport/dport). */
const PORTED = new Set(["tcp", "udp", "sctp", "udplite", "dccp"]);

/** The question explain answers for one side of an entry. */
function probeOf(e: CtEntry, direction: "INBOUND" | "OUTBOUND", remote: string): Probe {
  const protocol = L4.has(e.proto) ? (e.proto as Probe["protocol"]) : "other";
  return {
    direction,
    remote,
    protocol,
    ...(protocol === "tcp" || protocol === "udp" ? { port: e.dport } : {}),
    ...(protocol === "icmp" || protocol === "icmpv6" ? { icmpType: e.type } : {}),
  };
}

export interface CtCut {
  entry: CtEntry;
  /** Which check denies it now, e.g. "not allowed into NIC 1". */
  reason: string;
}

/** The entries touching one of `nicIds` that the policy of `next` denies: the source port's
 * outbound rules and the destination port's inbound rules must both allow a new connection, as in
 * the node's tables. An address several ports share (overlapping VNETs) is cut only when every one
 * of them denies it. Pure. */
export function flowsToCut(next: DesiredState, entries: CtEntry[], nicIds: Iterable<number>): CtCut[] {
  const views = portViews(next);
  const affected = new Set(nicIds);
  const byAddr = new Map<string, PortView[]>();
  for (const v of views.values())
    for (const a of new Set(v.addrs())) {
      const list = byAddr.get(a);
      if (list) list.push(v);
      else byAddr.set(a, [v]);
    }
  const cuts: CtCut[] = [];
  const verdicts = new Map<NicPolicy, Map<string, boolean>>();
  for (const e of entries) {
    let src: string;
    let dst: string;
    try {
      src = canon(e.src);
      dst = canon(e.dst);
    } catch {
      continue; // not an address we could have leased
    }
    const from = byAddr.get(src) ?? [];
    const to = byAddr.get(dst) ?? [];
    if (![...from, ...to].some((v) => affected.has(v.nicId)) || infrastructure(e)) continue;
    // Between two VNETs the node no longer routes between: every port with the source address is
    // isolated from every port with the destination address.
    if (from.length && to.length && from.every((f) => to.every((t) => isolated(f, t)))) {
      cuts.push({ entry: e, reason: `VNETs ${from[0]!.vnetId} and ${to[0]!.vnetId} are not peered` });
      continue;
    }
    const allows = (v: PortView, dir: "INBOUND" | "OUTBOUND", remote: string) => {
      // Many entries ask the same question of the same policy (one per client port).
      const memo = verdicts.get(v.policy) ?? new Map<string, boolean>();
      verdicts.set(v.policy, memo);
      const key = `${dir} ${remote} ${e.proto} ${e.dport} ${e.type}`;
      const known = memo.get(key);
      if (known !== undefined) return known;
      const ok = explain(v.policy, probeOf(e, dir, remote)).verdict === "accept";
      memo.set(key, ok);
      return ok;
    };
    const outOk = from.length === 0 || from.some((v) => allows(v, "OUTBOUND", e.dst));
    const inOk = to.length === 0 || to.some((v) => allows(v, "INBOUND", e.src));
    if (!outOk)
      cuts.push({ entry: e, reason: `not allowed out of NIC ${from.map((v) => v.nicId).join("/")}` });
    else if (!inOk)
      cuts.push({ entry: e, reason: `not allowed into NIC ${to.map((v) => v.nicId).join("/")}` });
  }
  return cuts;
}

/** The `conntrack -R` line deleting exactly this entry (the family follows from the addresses). */
export function deleteLine(e: CtEntry): string {
  const proto = L4.has(e.proto) || e.proto === "sctp" || e.proto === "gre" ? e.proto : String(e.protonum);
  const parts = ["-D", "-p", proto, "-s", e.src, "-d", e.dst];
  if (PORTED.has(e.proto) && e.sport !== undefined && e.dport !== undefined)
    parts.push("--sport", `${e.sport}`, "--dport", `${e.dport}`);
  if (e.proto === "icmp" || e.proto === "icmpv6") {
    const p = `--${e.proto}`;
    if (e.type !== undefined) parts.push(`${p}-type`, `${e.type}`);
    if (e.code !== undefined) parts.push(`${p}-code`, `${e.code}`);
    if (e.id !== undefined) parts.push(`${p}-id`, `${e.id}`);
  }
  return parts.join(" ");
}

/** The line ct-delete.py reads for this entry: its exact original tuple. */
export function tupleLine(e: CtEntry): string {
  const f = (v: number | undefined) => (v === undefined ? "-" : String(v));
  return [e.protonum, e.src, e.dst, f(e.sport), f(e.dport), f(e.type), f(e.code), f(e.id)].join(" ");
}

const HELPER = path.join(import.meta.dirname, "ct-delete.py");
let warnedNoPyroute2 = false;

/** Deletes entries by their exact tuple: over ctnetlink (ct-delete.py, one kernel lookup each), or
 * where python3 or its pyroute2 is missing through `conntrack -R` (which dumps the table for every
 * line: fine for a few entries, minutes for thousands). */
async function deleteEntries(ns: string | undefined, entries: CtEntry[]): Promise<void> {
  let direct: Awaited<ReturnType<typeof runIn>> | undefined;
  try {
    direct = await runIn(ns, PYTHON, [HELPER], `${entries.map(tupleLine).join("\n")}\n`);
  } catch (e) {
    if (!/cannot run/.test((e as Error).message)) throw e;
  }
  if (direct?.code === NO_PYROUTE2) {
    if (!warnedNoPyroute2)
      console.warn(`bridgehead: ${direct.stderr.trim()}; cutting flows with conntrack -R (slower)`);
    warnedNoPyroute2 = true;
    direct = undefined;
  }
  if (direct) {
    if (direct.code !== 0)
      throw new Error(`ct-delete.py: ${direct.stderr.trim() || `exit code ${direct.code}`}`);
    return;
  }
  // conntrack reads -R from a file: stdin given as "-" is opened as /dev/stdin, which fails on the
  // socket Node hands a child as stdin.
  const dir = await mkdtemp(path.join(tmpdir(), "bh-ct-"));
  try {
    const file = path.join(dir, "cut");
    await writeFile(file, `${entries.map(deleteLine).join("\n")}\n`);
    const r = await runIn(ns, "conntrack", ["-R", file]);
    // An entry that ended in the meantime is not an error: -R only fails on a line it cannot run.
    if (r.code !== 0) throw new Error(`conntrack -R: ${r.stderr.trim() || `exit code ${r.code}`}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** "tcp 10.0.0.3:40000 → 10.0.0.2:22" */
export function describeEntry(e: CtEntry): string {
  const end = (a: string, p?: number) =>
    p === undefined || !PORTED.has(e.proto) ? a : isIp6(a) ? `[${a}]:${p}` : `${a}:${p}`;
  const icmp = e.type !== undefined ? ` type ${e.type}` : "";
  return `${e.proto} ${end(e.src, e.sport)} → ${end(e.dst, e.dport)}${icmp}`;
}

/** The plan line of a cut, naming the first flows. */
function summary(ns: string | undefined, cuts: CtCut[], verb: string): string {
  const shown = cuts.slice(0, 5).map((c) => `${describeEntry(c.entry)} (${c.reason})`);
  const more = cuts.length > shown.length ? `; and ${cuts.length - shown.length} more` : "";
  return `${inNs(ns, "ct-delete.py")}  # ${verb} ${cuts.length} connection(s) no longer allowed: ${shown.join("; ")}${more}`;
}

/** Lists the node's conntrack table and judges it (one process). */
async function judge(ns: string | undefined, next: DesiredState, nicIds: number[]): Promise<CtCut[]> {
  const r = await runIn(ns, "conntrack", ["-L", "-o", "extended"]);
  if (r.code !== 0) throw new Error(`conntrack -L: ${r.stderr.trim() || `exit code ${r.code}`}`);
  return flowsToCut(next, parseConntrack(r.stdout), nicIds);
}

/** What a cut would do now (the plan preview); changes nothing. */
export async function previewCut(
  ns: string | undefined,
  next: DesiredState,
  nicIds: number[],
): Promise<string[]> {
  if (nicIds.length === 0) return [];
  const cuts = await judge(ns, next, nicIds);
  return cuts.length ? [summary(ns, cuts, "would cut")] : [];
}

/** Deletes the conntrack entries of `nicIds` that `next` no longer allows; returns the plan line
 * ("" when nothing had to go). Throws, naming the step, when conntrack cannot list or delete. */
export async function cutFlows(
  ns: string | undefined,
  next: DesiredState,
  nicIds: number[],
): Promise<string> {
  if (nicIds.length === 0) return "";
  const cuts = await judge(ns, next, nicIds);
  if (cuts.length === 0) return "";
  await deleteEntries(
    ns,
    cuts.map((c) => c.entry),
  );
  return summary(ns, cuts, "cut");
}
