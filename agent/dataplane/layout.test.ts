// The dataplane's folder rules, checked on the import statements themselves: each subsystem
// (links/, nft/, tc/) reaches only the shared runner, the shared types and lib/; only index.ts
// joins them; lib/nft is pure shared code that imports nothing outside lib/; and no module of
// agent/ or lib/nft/ is part of an import cycle (type imports count).
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const rel = (f: string) => path.relative(ROOT, f);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const f = path.join(dir, name);
    if (statSync(f).isDirectory()) return name.startsWith("__") ? [] : sources(f);
    return /\.ts$/.test(name) ? [f] : [];
  });
}

/** The repository files a module imports (relative specifiers only), resolved to paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^"';]*?from\s+"(\.{1,2}\/[^"]+)"/g)].map(
    (m) => m[1],
  );
  return specs.map((s) => {
    const base = path.resolve(path.dirname(file), s as string);
    for (const c of [`${base}.ts`, path.join(base, "index.ts"), base]) {
      try {
        if (statSync(c).isFile()) return c;
      } catch {}
    }
    return base;
  });
}

const isTest = (f: string) => /\.(test|testing)\.ts$/.test(f);
const DATAPLANE = path.join(ROOT, "agent/dataplane");
const SUBSYSTEMS = ["links", "nft", "tc", "ports"];

describe("dataplane layout", () => {
  it("a subsystem imports no other subsystem and nothing above it but run.ts and types.ts", () => {
    const wrong: string[] = [];
    for (const sub of SUBSYSTEMS) {
      for (const f of sources(path.join(DATAPLANE, sub)).filter((x) => !isTest(x))) {
        for (const dep of importsOf(f)) {
          const inDataplane = dep.startsWith(`${DATAPLANE}/`);
          const ownFolder = dep.startsWith(path.join(DATAPLANE, sub) + path.sep);
          const shared = [path.join(DATAPLANE, "run.ts"), path.join(DATAPLANE, "types.ts")].includes(dep);
          const lib = dep.startsWith(path.join(ROOT, "lib") + path.sep);
          if ((inDataplane && !ownFolder && !shared) || (!inDataplane && !lib))
            wrong.push(`${rel(f)} → ${rel(dep)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("only index.ts joins subsystems", () => {
    const joiners = sources(DATAPLANE)
      .filter((f) => path.dirname(f) === DATAPLANE && !isTest(f))
      .filter(
        (f) =>
          new Set(
            importsOf(f).flatMap((d) =>
              SUBSYSTEMS.filter((s) => d.startsWith(path.join(DATAPLANE, s) + path.sep)),
            ),
          ).size > 1,
      )
      .map(rel);
    expect(joiners).toEqual(["agent/dataplane/index.ts"]);
  });

  it("lib/nft imports nothing outside lib/", () => {
    const out = sources(path.join(ROOT, "lib/nft")).flatMap((f) =>
      importsOf(f)
        .filter((d) => !d.startsWith(path.join(ROOT, "lib") + path.sep))
        .map((d) => `${rel(f)} → ${rel(d)}`),
    );
    expect(out).toEqual([]);
  });

  it("no import cycle in agent/ or lib/nft/", () => {
    const files = [...sources(path.join(ROOT, "agent")), ...sources(path.join(ROOT, "lib/nft"))];
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((d) => files.includes(d))]));
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const walk = (f: string, trail: string[]) => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") {
        cycles.push([...trail.slice(trail.indexOf(f)), f].map(rel).join(" → "));
        return;
      }
      state.set(f, "open");
      for (const d of graph.get(f) ?? []) walk(d, [...trail, f]);
      state.set(f, "done");
    };
    for (const f of files) walk(f, []);
    expect(cycles).toEqual([]);
  });
});
