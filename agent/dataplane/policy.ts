// What runs after the `ip` plan: the node's nftables tables (anti-spoofing, NAT, security groups)
// and QoS. Both are level-based like the ip plan: read the kernel, compare, act only on a
// difference, so a second reconcile of the same state runs nothing.
import { existsSync } from "node:fs";
import {
  LOCKDOWN_CHAIN,
  NFT_FAMILIES,
  type NftFamily,
  type NftRender,
  renderLockdown,
  renderNft,
} from "../../lib/nft/render";
import type { DesiredState } from "../../lib/wire";
import {
  loadNft,
  type NftCounters,
  nftDrift,
  type ObservedNft,
  observedCounters,
  observeNft,
  recordSeen,
  withCounters,
} from "./nft/apply";
import { cutFlows, narrowedPorts, previewCut } from "./nft/ct-cut";
import { renderDelta } from "./nft/delta";
import { inNs, runIn } from "./run";
import { applyTc, observeTc, observeTcFor } from "./tc/apply";
import { planTc, portQos, type TcPlan } from "./tc/plan";

export interface PolicyResult {
  /** Command lines run, in order (the plan preview's vocabulary). */
  ops: string[];
  /** Node-level failures (an nftables load refused: the previous tables stay in force). */
  errors: string[];
  /** NICs whose QoS failed (rolled back), with the reason. */
  ports: Map<number, string>;
  /** The security-group rule counters as last read from the kernel during this reconcile (the
   * same `nft -j list table` read that checks for drift: no extra process). */
  counters?: NftCounters;
  /** Wall time of each step (nft, tc), ms. */
  phases?: Record<string, number>;
}

export interface Policy {
  /** Runs once the node namespace exists and before any port is created or changed: on this
   * agent's first reconcile (no ruleset loaded by it yet), every nftables family without a table of
   * ours gets the lockdown table (nft.ts renderLockdown), so no guest port is open before the first
   * full load, nor after one that is refused. */
  guard(out: PolicyResult): Promise<void>;
  /** With `push` (a push that changed only the NICs `changed`): nftables loads only the difference
   * without reading the tables back first, and QoS reads and plans only the NICs of `qos` (changed
   * NICs that had or have QoS: a NIC without either has no tc object of ours to look at). */
  reconcile(
    desired: DesiredState,
    push?: { changed: Set<number>; qos: Set<number> },
    /** One step only: nftables (names ports, so it may run beside the ip plan) or QoS (after it). */
    only?: "nft" | "tc",
  ): Promise<PolicyResult>;
  /** Whether the current reconcile creates the node namespace: then the guard, nftables and QoS
   * read nothing first (there is nothing of ours to find). Set before each reconcile's execution. */
  freshNode(on: boolean): void;
  /** Whether this policy knows what the kernel holds (it loaded it, and recorded it): a push's
   * nftables step then reads nothing and may run beside the ip plan (the guard is a no-op). */
  trusted(): boolean;
  /** Bookkeeping a push deferred (recording the loaded nftables form); run before the next reconcile. */
  settle(): Promise<void>;
  /** The nft/tc command lines reconcile would run now (the plan preview); changes nothing. QoS of
   * ports whose veth the ip plan has yet to create is not listed. */
  preview(desired: DesiredState): Promise<string[]>;
}

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

export interface PolicyOptions {
  /** Fault injection for tests: rewrites the rendered nft script before it is loaded. */
  script?: (script: string) => string;
  /** Fault injection for tests: rewrites the QoS plan before it runs. */
  tcPlan?: (plan: TcPlan) => TcPlan;
  /** Fault injection for tests: replaces the connection cut (ct-cut.ts cutFlows). */
  cutFlows?: typeof cutFlows;
}

const UNFILTERED =
  "security groups: more than 65,535 NICs with groups of their own on this node (no mark slot left)";

/** nftables and QoS for one node (namespace). */
export function createPolicy(ns: string | undefined, opts: PolicyOptions = {}): Policy {
  /** What the kernel holds as far as we know: the render we loaded (or found) last. */
  let last: NftRender | undefined;
  /** The desired state `last` was rendered from (what the previous policy allowed). */
  let lastDesired: DesiredState | undefined;
  /** NICs whose flows the new policy no longer allows, not yet cut (conntrack failed): retried on
   * every reconcile until a cut succeeds, even when the tables are already in sync. */
  const pendingCut = new Set<number>();

  /** Loads `want`: only the difference when the kernel still holds `last` untouched (see
   * nft-delta.ts), else the whole tables. True when the kernel now holds `want`. */
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

  /** Records the loaded form after a push's delta (see nft-apply.ts: the seen_ chain), outside the
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

  const qos = async (desired: DesiredState, out: PolicyResult, changed?: Set<number>) => {
    const all = portQos(desired);
    // A push reads and plans only the changed ports (and the ifb devices of removed ones).
    const want = changed ? all.filter((p) => changed.has(p.nicId)) : all;
    if (changed?.size === 0) return;
    // A fresh node has no qdisc or ifb of ours: only wanted QoS needs a look.
    if (fresh && !want.some((p) => p.inbound || p.outbound)) return;
    const seen = changed ? await observeTcFor(ns, want, [...changed]) : await observeTc(ns, want);
    const plan = planTc(want, seen);
    const r = await applyTc(ns, opts.tcPlan ? opts.tcPlan(plan) : plan);
    out.ops.push(...r.ops);
    out.errors.push(...r.errors);
    for (const [nicId, err] of r.failed) out.ports.set(nicId, err);
  };

  const preview = async (desired: DesiredState): Promise<string[]> => {
    if (ns && !existsSync(`/run/netns/${ns}`)) return [`${inNs(ns, "nft -f -")}  # create the tables`];
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
    const qos = portQos(desired);
    const p = planTc(qos, await observeTc(ns, qos));
    const ip = (l: { line: string }) => `ip ${ns ? `-n ${ns} ` : ""}${l.line}`;
    const tc = (l: { line: string }) => `tc ${ns ? `-n ${ns} ` : ""}${l.line}`;
    return [...lines, ...cuts, ...p.ipAdd.map(ip), ...p.tc.map(tc), ...p.ipDel.map(ip)];
  };

  return {
    preview,
    guard,
    settle,
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
    async reconcile(desired, push, only) {
      const out: PolicyResult = { ops: [], errors: only === "tc" ? [] : later.splice(0), ports: new Map() };
      // The node namespace is gone (teardown) or could not be created (reported by the ip plan).
      if (ns && !existsSync(`/run/netns/${ns}`)) return out;
      out.phases = {};
      const steps = [
        ["nftables", "nft", (d: DesiredState, o: PolicyResult) => (push ? nftPush(d, o) : nft(d, o))],
        ["QoS", "tc", (d: DesiredState, o: PolicyResult) => qos(d, o, push?.qos)],
      ] as const;
      for (const [what, key, step] of steps.filter(([, k]) => only === undefined || k === only)) {
        const t0 = performance.now();
        try {
          await step(desired, out);
        } catch (e) {
          out.errors.push(`${what}: ${(e as Error).message}`);
        }
        out.phases[key] = performance.now() - t0;
      }
      return out;
    },
  };
}
