// The node's nftables tables (anti-spoofing, NAT, security groups) as a policy step after (or,
// for a trusted push, beside) the `ip` plan: level-based like the ip plan: read the kernel, compare,
// act only on a difference, so a second reconcile of the same state runs nothing. The lockdown
// guard, the delta loads of a push, and the conntrack cut of what a new policy no longer allows.
import { existsSync } from "node:fs";
import {
  LOCKDOWN_CHAIN,
  NFT_FAMILIES,
  type NftFamily,
  type NftRender,
  renderLockdown,
  renderNft,
} from "../../../lib/nft/render";
import type { DesiredState } from "../../../lib/wire";
import { inNs, runIn } from "../run";
import type { PolicyResult } from "../types";
import {
  loadNft,
  nftDrift,
  type ObservedNft,
  observedCounters,
  observeNft,
  recordSeen,
  withCounters,
} from "./apply";
import { cutFlows, narrowedPorts, previewCut } from "./ct-cut";
import { renderDelta } from "./delta";

/** Kernel settings the tables rely on ("key=value"), set when they differ: forwarding for NAT,
 * br_netfilter's hand-over of bridged traffic to the inet hooks for security groups. */
async function ensureSysctls(ns: string | undefined, wanted: string[], out: PolicyResult): Promise<void> {
  if (wanted.length === 0) return;
  const pairs = wanted.map((kv) => kv.split("=") as [string, string]);
  // One process reads them all (in order); a missing key fails the read and is set (and reported) below.
  const r = await runIn(ns, "sysctl", ["-n", ...pairs.map(([k]) => k)]);
  const have = r.code === 0 ? r.stdout.trim().split("\n") : [];
  for (const [i, [key, value]] of pairs.entries()) {
    if (have[i]?.trim() === value) continue;
    out.ops.push(inNs(ns, `sysctl -w ${key}=${value}`));
    const w = await runIn(ns, "sysctl", ["-w", `${key}=${value}`]);
    if (w.code !== 0) out.errors.push(`cannot set ${key}=${value}: ${w.stderr.trim()}`);
  }
}

export interface NftPolicyOptions {
  /** Fault injection for tests: rewrites the rendered nft script before it is loaded. */
  script?: (script: string) => string;
  /** Fault injection for tests: replaces the connection cut (ct-cut.ts cutFlows). */
  cutFlows?: typeof cutFlows;
}

export interface NftPolicy {
  /** Runs once the node namespace exists and before any port is created or changed: on this
   * agent's first reconcile (no ruleset loaded by it yet), every nftables family without a table of
   * ours gets the lockdown table (lib/nft/render.ts renderLockdown), so no guest port is open before
   * the first full load, nor after one that is refused. */
  guard(out: PolicyResult): Promise<void>;
  /** Makes the tables match `desired`. With `push`: only the difference is loaded, without reading
   * the tables back first (see nftPush). */
  reconcile(desired: DesiredState, out: PolicyResult, push: boolean): Promise<void>;
  /** Errors of a settle, handed to the next reconcile's report (once). */
  takeLater(): string[];
  /** The node namespace is created by the current reconcile (see Policy.freshNode). */
  freshNode(on: boolean): void;
  /** Whether this policy knows what the kernel holds (it loaded it, and recorded it). */
  trusted(): boolean;
  /** Bookkeeping a push deferred (recording the loaded nftables form). */
  settle(): Promise<void>;
  /** The nft and conntrack command lines reconcile would run now; changes nothing. */
  preview(desired: DesiredState): Promise<string[]>;
}

const UNFILTERED =
  "security groups: more than 65,535 NICs with groups of their own on this node (no mark slot left)";

/** nftables for one node (namespace). */
export function createNftPolicy(ns: string | undefined, opts: NftPolicyOptions = {}): NftPolicy {
  /** What the kernel holds as far as we know: the render we loaded (or found) last. */
  let last: NftRender | undefined;
  /** The desired state `last` was rendered from (what the previous policy allowed). */
  let lastDesired: DesiredState | undefined;
  /** NICs whose flows the new policy no longer allows, not yet cut (conntrack failed): retried on
   * every reconcile until a cut succeeds, even when the tables are already in sync. */
  const pendingCut = new Set<number>();

  /** Loads `want`: only the difference when the kernel still holds `last` untouched (see
   * delta.ts), else the whole tables. True when the kernel now holds `want`. */
  const load = async (want: NftRender, have: ObservedNft, drift: string[], out: PolicyResult) => {
    const run = (script: string) => loadNft(ns, opts.script ? opts.script(script) : script);
    const delta = last && nftDrift(last, have).length === 0 ? renderDelta(last, want) : undefined;
    if (delta) {
      const what = delta
        .split("\n")
        .filter((l) => l.startsWith("# "))
        .map((l) => l.slice(2));
      out.ops.push(`${inNs(ns, "nft -f -")}  # only what changed: ${what.join("; ")}`);
      // A refused delta changed nothing (one transaction): the whole replacement below still runs.
      if (!(await run(delta))) return true;
    }
    out.ops.push(`${inNs(ns, "nft -f -")}  # ${drift.join("; ")}`);
    // The rules' counters carry over the replacement (see withCounters).
    const err = await run(withCounters(want.script, observedCounters(have)));
    if (!err) return true;
    // Refused: the previous tables stay in force. A family that has none (the first load on this
    // node, or a table deleted by hand) gets the lockdown table: closed, never open.
    const now = await observeNft(ns);
    const bare = NFT_FAMILIES.filter((f) => !now[f]);
    const closed = bare.length === 0 || (await lockdown(bare, out));
    const locked = NFT_FAMILIES.filter((f) => !now[f] || now[f]?.shape.chains[LOCKDOWN_CHAIN] !== undefined);
    out.errors.push(
      locked.length > 0 && closed
        ? `nftables: the new ruleset was refused and none was loaded before in ${locked.join(", ")}: guest ports are blocked there until a ruleset loads: ${err}`
        : `nftables: the new ruleset was refused, the previous one stays in force: ${err}`,
    );
    return false;
  };

  /** Loads the lockdown table for `families`; true when the kernel took it. */
  const lockdown = async (families: NftFamily[], out: PolicyResult) => {
    out.ops.push(`${inNs(ns, "nft -f -")}  # lockdown: close guest ports (${families.join(", ")})`);
    const err = await loadNft(ns, renderLockdown(families));
    if (err) out.errors.push(`nftables: cannot load the lockdown table, guest ports may be open: ${err}`);
    return !err;
  };

  /** The node namespace was created by the current reconcile: it holds no table or qdisc yet. */
  let fresh = false;

  const guard = async (out: PolicyResult) => {
    if (last || (ns && !existsSync(`/run/netns/${ns}`))) return;
    if (fresh) return void (await lockdown([...NFT_FAMILIES], out));
    try {
      const have = await observeNft(ns);
      const bare = NFT_FAMILIES.filter((f) => !have[f]);
      if (bare.length > 0) await lockdown(bare, out);
    } catch (e) {
      out.errors.push(
        `nftables: cannot check for a loaded ruleset before changing ports: ${(e as Error).message}`,
      );
    }
  };

  /** Tables loaded by a push's delta whose normalised form is not recorded yet (settle does it). */
  let unrecorded = false;
  /** Errors of a settle, reported with the next reconcile. */
  const later: string[] = [];

  /** A push: the kernel is trusted to hold `last` (the periodic full reconcile checks that), so
   * nothing is read first; only the difference is loaded, or the whole tables when a delta cannot
   * express the change (a table appears or goes, chains change shape). A refused load, or no
   * `last`, takes the full path (which reads, and falls back to the lockdown table). */
  const nftPush = async (desired: DesiredState, out: PolicyResult) => {
    const want = renderNft(desired);
    const prev = last;
    if (!prev || unrecorded) return nft(desired, out, want);
    const delta = renderDelta(prev, want);
    // A whole replacement reads the tables first (the full path): the rules' counters carry over
    // only when their current values are known (see withCounters). Layout changes are rare.
    if (delta === undefined) return nft(desired, out, want);
    if (delta) {
      const what = `only what changed: ${delta
        .split("\n")
        .filter((l) => l.startsWith("# "))
        .map((l) => l.slice(2))
        .join("; ")}`;
      out.ops.push(`${inNs(ns, "nft -f -")}  # ${what}`);
      if (await loadNft(ns, opts.script ? opts.script(delta) : delta)) return nft(desired, out, want);
      unrecorded = true;
      // What the previous policy allowed and this one does not: cut right after the load.
      for (const nicId of narrowedPorts(lastDesired, desired)) pendingCut.add(nicId);
    }
    last = want;
    lastDesired = desired;
    await cut(desired, out);
    if (want.sysctls.join() !== prev.sysctls.join()) await ensureSysctls(ns, want.sysctls, out);
    for (const nicId of want.unfiltered) out.ports.set(nicId, UNFILTERED);
  };

  /** Records the loaded form after a push's delta (see apply.ts: the seen_ chain), outside the
   * push's latency; the dataplane runs it right after, before any other reconcile. A hand change
   * in between would be recorded as ours: that window is one nft process long. */
  const settle = async () => {
    if (!unrecorded) return;
    unrecorded = false;
    try {
      const record = recordSeen(await observeNft(ns));
      const err = record ? await loadNft(ns, record) : undefined;
      if (err) later.push(`nftables: cannot record the loaded form: ${err}`);
    } catch (e) {
      later.push(`nftables: cannot record the loaded form: ${(e as Error).message}`);
    }
  };

  const nft = async (desired: DesiredState, out: PolicyResult, rendered?: NftRender) => {
    unrecorded = false;
    const want = rendered ?? renderNft(desired);
    // Read even on a fresh node: it holds the lockdown tables the guard loaded, which the desired
    // tables replace in the same transaction (or which go, when this node needs no table).
    const have = await observeNft(ns);
    const drift = nftDrift(want, have);
    out.counters = observedCounters(have);
    if (drift.length > 0 && !(await load(want, have, drift, out))) return;
    // What the previous policy allowed and this one does not: only known after our own load (an
    // agent that just started and finds its tables in place takes them as the baseline).
    if (drift.length > 0) for (const nicId of narrowedPorts(lastDesired, desired)) pendingCut.add(nicId);
    last = want;
    lastDesired = desired;
    await cut(desired, out);
    if (drift.length > 0) {
      // Record the form the kernel shows now, so a later hand change is found (even by a
      // restarted agent); a failure here only means one more reload next time.
      const loaded = await observeNft(ns);
      out.counters = observedCounters(loaded);
      const record = recordSeen(loaded);
      if (record) {
        out.ops.push(`${inNs(ns, "nft -f -")}  # record the loaded form`);
        const err = await loadNft(ns, record);
        if (err) out.errors.push(`nftables: cannot record the loaded form: ${err}`);
      }
    }
    await ensureSysctls(ns, want.sysctls, out);
    for (const nicId of want.unfiltered) out.ports.set(nicId, UNFILTERED);
  };

  /** Deletes the conntrack entries of the pending NICs that the policy in force no longer allows. */
  const cut = async (desired: DesiredState, out: PolicyResult) => {
    const present = new Set(desired.ports.map((p) => p.nicId));
    const nicIds = [...pendingCut].filter((id) => present.has(id));
    pendingCut.clear();
    try {
      const line = await (opts.cutFlows ?? cutFlows)(ns, desired, nicIds);
      if (line) out.ops.push(line);
    } catch (e) {
      for (const id of nicIds) pendingCut.add(id);
      const msg = (e as Error).message;
      const fix = /cannot run/.test(msg) ? "install conntrack (conntrack-tools) on the node; " : "";
      out.errors.push(
        `security groups: the new rules are loaded, but established connections they no longer allow could not be cut (${msg}); ${fix}the cut is retried on the next reconcile`,
      );
    }
  };

  const preview = async (desired: DesiredState): Promise<string[]> => {
    const want = renderNft(desired);
    const have = await observeNft(ns);
    const drift = nftDrift(want, have);
    const delta = last && nftDrift(last, have).length === 0 ? renderDelta(last, want) : undefined;
    const lines = drift.length === 0 ? [] : [`${inNs(ns, "nft -f -")}  # ${drift.join("; ")}`];
    if (delta) lines[0] = `${inNs(ns, "nft -f -")}  # only what changed`;
    const narrowed = drift.length ? narrowedPorts(lastDesired, desired) : [];
    const cuts = await previewCut(ns, desired, [...new Set([...pendingCut, ...narrowed])]).catch((e) => [
      `${inNs(ns, "conntrack -L")}  # cannot list the connections a cut would judge: ${(e as Error).message}`,
    ]);
    return [...lines, ...cuts];
  };

  return {
    preview,
    guard,
    settle,
    takeLater: () => later.splice(0),
    trusted: () => last !== undefined && !unrecorded,
    freshNode: (on) => {
      fresh = on;
      // A node namespace this reconcile creates (again: deleted by hand or by a teardown) holds
      // none of the tables loaded before: the guard must close its ports until the load.
      if (on) {
        last = undefined;
        unrecorded = false;
      }
    },
    reconcile: (desired, out, push) => (push ? nftPush(desired, out) : nft(desired, out)),
  };
}
