// Applies and observes the node's nftables state. The script from lib/nft/render.ts goes through ONE
// `nft -f -` (a single kernel transaction): either the new tables replace the old ones, or nothing
// changes and the last good tables keep filtering — never an open port. Drift (a table flushed, a
// rule deleted or replaced by hand) is found by reading `nft -j list table` back and comparing:
//   1. the digest chain names what was loaded,
//   2. chains' rule counts and sets' element counts must match what was rendered,
//   3. the hash of the normalised JSON must match the one recorded right after our own load, in
//      the name of a `seen_<hash>` chain (excluded from the hash; see recordSeen).
// All three live in the kernel, so they hold across agent restarts, with no state on disk.
import { createHash } from "node:crypto";
import type { NftCounters } from "../../../lib/nft/model";
import {
  DIGEST_CHAIN_PREFIX,
  NFT_FAMILIES,
  NFT_TABLE,
  type NftFamily,
  type NftRender,
  type NftShape,
} from "../../../lib/nft/render";
import { runIn } from "../run";

/** A chain whose name records the hash of the table's normalised form right after a load. */
export const SEEN_CHAIN_PREFIX = "seen_";

/** One of our tables as the kernel shows it. */
export interface ObservedNftTable {
  digest?: string;
  /** The hash recorded after our last load (the seen_ chain), if any. */
  seen?: string;
  shape: NftShape;
  /** `nft -j` output without handles, counter values and the seen_ chain: equal when nothing
   * was changed; `normalHash` is its hash. */
  normal: string;
  normalHash: string;
  /** The named counters' values as the kernel counted them (security-group rules). */
  counters: NftCounters;
}

export type { NftCounters };

export type ObservedNft = Record<NftFamily, ObservedNftTable | null>;

type NftJsonItem = Record<string, Record<string, unknown>>;

/** Drops what changes without anyone changing the ruleset: handles and counter values. */
function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === "handle") continue;
      o[k] = k === "counter" && x && typeof x === "object" ? { packets: 0, bytes: 0 } : strip(x);
    }
    return o;
  }
  return v;
}

/** Reads `nft -j list table F bridgehead` output. */
export function parseNftTable(json: string): ObservedNftTable {
  let items: NftJsonItem[];
  try {
    items = (JSON.parse(json) as { nftables: NftJsonItem[] }).nftables.filter((i) => !("metainfo" in i));
  } catch (e) {
    throw new Error(`cannot parse nft -j output: ${(e as Error).message}`);
  }
  const shape: NftShape = { chains: {}, sets: {} };
  const counters: NftCounters = {};
  let digest: string | undefined;
  let seen: string | undefined;
  items = items.filter((i) => {
    const name = String(i.chain?.name ?? "");
    if (!name.startsWith(SEEN_CHAIN_PREFIX)) return true;
    seen = name.slice(SEEN_CHAIN_PREFIX.length);
    return false;
  });
  for (const item of items) {
    const chain = item.chain;
    const rule = item.rule;
    const set = item.set ?? item.map;
    const counter = item.counter;
    if (counter && typeof counter.name === "string")
      counters[counter.name] = { packets: Number(counter.packets) || 0, bytes: Number(counter.bytes) || 0 };
    if (chain) {
      const name = String(chain.name);
      shape.chains[name] ??= 0;
      if (name.startsWith(DIGEST_CHAIN_PREFIX)) digest = name.slice(DIGEST_CHAIN_PREFIX.length);
    } else if (rule) {
      const name = String(rule.chain);
      shape.chains[name] = (shape.chains[name] ?? 0) + 1;
    } else if (set) {
      shape.sets[String(set.name)] = Array.isArray(set.elem) ? set.elem.length : 0;
    }
  }
  const normal = JSON.stringify(strip(items));
  const normalHash = createHash("sha256").update(normal).digest("hex").slice(0, 16);
  return { digest, seen, shape, normal, normalHash, counters };
}

const sameCounts = (a: Record<string, number>, b: Record<string, number>) => {
  const ka = Object.keys(a).sort();
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
};

/** Why the kernel's tables differ from the rendered ones; empty when they match. Pure. */
export function nftDrift(want: NftRender, have: ObservedNft): string[] {
  const reasons: string[] = [];
  for (const family of NFT_FAMILIES) {
    const w = want.tables[family];
    const h = have[family];
    const name = `table ${family} ${NFT_TABLE}`;
    if (!w && h) reasons.push(`${name} is not needed any more`);
    else if (w && !h) reasons.push(`${name} is missing`);
    else if (w && h) {
      if (h.digest !== w.digest) reasons.push(`${name} holds another ruleset (${h.digest ?? "none"})`);
      else if (!sameCounts(h.shape.chains, w.shape.chains) || !sameCounts(h.shape.sets, w.shape.sets))
        reasons.push(`${name} has chains, rules or set elements missing or added`);
      else if (h.seen !== h.normalHash)
        reasons.push(h.seen ? `${name} was changed by hand` : `${name} was not verified after its last load`);
    }
  }
  return reasons;
}

/** The script that records the current normalised form of each of our tables (after a load), or
 * "" when every table already carries its own. A separate transaction: the form is only known
 * once the kernel has shown it. */
export function recordSeen(have: ObservedNft): string {
  const lines: string[] = [];
  for (const family of NFT_FAMILIES) {
    const h = have[family];
    if (!h || h.seen === h.normalHash) continue;
    const T = `${family} ${NFT_TABLE}`;
    if (h.seen) lines.push(`delete chain ${T} ${SEEN_CHAIN_PREFIX}${h.seen}`);
    lines.push(`add chain ${T} ${SEEN_CHAIN_PREFIX}${h.normalHash}`);
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}

/** Every named counter of our tables (both families), for the agent's report. */
export function observedCounters(have: ObservedNft): NftCounters {
  return Object.assign({}, ...NFT_FAMILIES.map((f) => have[f]?.counters ?? {}));
}

/** A whole-table script whose counter declarations start from the values the kernel counted so
 * far: replacing the tables (delete and re-create) would otherwise zero every rule's counter. The
 * values stay out of the rendered script (its digest must not change with traffic); only what a
 * counter counted between the observation and this load is lost. */
export function withCounters(script: string, values: NftCounters): string {
  return script.replace(/^\tcounter (\S+) \{\n\t\}$/gm, (line, name: string) => {
    const v = values[name];
    return v && (v.packets > 0 || v.bytes > 0)
      ? `\tcounter ${name} {\n\t\tpackets ${v.packets} bytes ${v.bytes}\n\t}`
      : line;
  });
}

/** Reads our tables (absent ones as null), one `nft -j list table` per family, in parallel (a
 * `list tables` first would cost a third process: nft's start-up dominates at this size).
 * Throws when nft cannot run or prints garbage. */
export async function observeNft(ns: string | undefined): Promise<ObservedNft> {
  const read = async (family: NftFamily) => {
    const r = await runIn(ns, "nft", ["-j", "list", "table", family, NFT_TABLE]);
    if (r.code === 0) return parseNftTable(r.stdout);
    if (/No such file or directory/.test(r.stderr)) return null;
    throw new Error(`nft list table ${family} ${NFT_TABLE}: ${r.stderr.trim()}`);
  };
  const [bridge, inet] = await Promise.all(NFT_FAMILIES.map(read));
  return { bridge: bridge ?? null, inet: inet ?? null };
}

/** Loads a script in one transaction; the error names the failing line as nft reports it. */
export async function loadNft(ns: string | undefined, script: string): Promise<string | undefined> {
  const r = await runIn(ns, "nft", ["-f", "-"], script);
  if (r.code === 0) return undefined;
  return r.stderr.trim().split("\n").slice(0, 6).join(" | ") || `nft exited with code ${r.code}`;
}
