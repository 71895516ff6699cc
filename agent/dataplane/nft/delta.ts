// Incremental nftables updates: when the kernel still holds exactly what we loaded last, and the
// new tables have the same chains (with the same hooks) and sets, only the chains whose rules
// changed are rewritten, and only the changed elements of sets and maps are deleted or added —
// still in ONE `nft -f` transaction, so there is no moment with a half-updated ruleset. A security-group rule edit at 1,000 ports then touches one
// group chain instead of reloading every port's set elements, and named counters keep counting.
// Anything else (a chain or set appears or goes, a table appears or goes) returns undefined and the
// caller replaces the tables whole. Pure.
import {
  DIGEST_CHAIN_PREFIX,
  NFT_FAMILIES,
  NFT_TABLE,
  type NftRender,
  type NftSet,
  type NftTable,
  setKind,
} from "../../../lib/nft/render";

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether `b` only differs from `a` in rules, set elements and counters. */
function sameStructure(a: NftTable, b: NftTable): boolean {
  const chainsA = new Map(a.chains.map((c) => [c.name, c.hook ?? ""]));
  const setsA = new Map(a.sets.map((s) => [s.name, s.decl]));
  return (
    a.chains.length === b.chains.length &&
    b.chains.every((c) => chainsA.get(c.name) === (c.hook ?? "")) &&
    a.sets.length === b.sets.length &&
    b.sets.every((s) => setsA.get(s.name) === s.decl)
  );
}

/** The script that turns the tables of `prev` into those of `next`; "" when nothing differs,
 * undefined when only a whole replacement can do it. */
export function renderDelta(prev: NftRender, next: NftRender): string | undefined {
  const parts: string[] = [];
  for (const family of NFT_FAMILIES) {
    const a = prev.tables[family];
    const b = next.tables[family];
    if (!a && !b) continue;
    if (!a || !b || !sameStructure(a.model, b.model)) return undefined;
    if (a.digest === b.digest) continue;
    const T = `${family} ${NFT_TABLE}`;
    const chainsA = new Map(a.model.chains.map((c) => [c.name, c.rules]));
    const setsA = new Map(a.model.sets.map((s) => [s.name, s.elements]));
    const chains = b.model.chains.filter((c) => !sameList(chainsA.get(c.name) ?? [], c.rules));
    const sets = b.model.sets.filter((s) => !sameList(setsA.get(s.name) ?? [], s.elements));
    const added = b.model.counters.filter((c) => !a.model.counters.includes(c));
    const removed = a.model.counters.filter((c) => !b.model.counters.includes(c));
    // Sets and maps without intervals change element by element (a map element by its key): a
    // port coming or going at 1,000 ports is one element, not 1,000 re-added. Interval sets are
    // refilled whole (their elements may merge in the kernel).
    const piecewise = (x: NftSet) => !x.decl.includes("interval");
    parts.push(`# table ${T}: ${chains.length} chain(s), ${sets.length} set(s) rewritten`);
    // New counters before the rules naming them; old ones after the rules naming them are gone.
    for (const c of added) parts.push(`add counter ${T} ${c}`);
    for (const s of sets.filter((x) => !piecewise(x))) parts.push(`flush ${setKind(s)} ${T} ${s.name}`);
    for (const c of chains) parts.push(`flush chain ${T} ${c.name}`);
    for (const s of sets) {
      const before = new Set(setsA.get(s.name) ?? []);
      const after = new Set(s.elements);
      const key = (e: string) => (setKind(s) === "map" ? (e.split(" : ")[0] as string) : e);
      const gone = piecewise(s) ? [...before].filter((e) => !after.has(e)).map(key) : [];
      const fresh = piecewise(s) ? s.elements.filter((e) => !before.has(e)) : s.elements;
      if (gone.length > 0) parts.push(`delete element ${T} ${s.name} { ${gone.join(", ")} }`);
      if (fresh.length > 0) parts.push(`add element ${T} ${s.name} { ${fresh.join(", ")} }`);
    }
    for (const c of chains) for (const r of c.rules) parts.push(`add rule ${T} ${c.name} ${r}`);
    for (const c of removed) parts.push(`delete counter ${T} ${c}`);
    // The digest chain names the new content, exactly as a full load would.
    parts.push(
      `delete chain ${T} ${DIGEST_CHAIN_PREFIX}${a.digest}`,
      `add chain ${T} ${DIGEST_CHAIN_PREFIX}${b.digest}`,
    );
  }
  return parts.length === 0 ? "" : `${parts.join("\n")}\n`;
}
