// The folder boundaries and the no-cycles rule are Biome rules (biome.jsonc). This proves they bite:
// a throwaway tree with the same configuration and one file per forbidden import gets each one
// reported, by the real biome binary; and the real tree passes them.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");
const biome = path.join(root, "node_modules/.bin/biome");
// "plugin": lint/no-testing-imports.grit, production code never importing test-only code.
const RULES = ["suspicious/noImportCycles", "style/noRestrictedImports", "plugin"];

type Diagnostic = { level: string; rule: string; file: string; message: string };

/** Runs `biome lint` in `dir` and returns its diagnostics (GitHub reporter lines, parsed). */
function lint(dir: string, args: string[] = []): Diagnostic[] {
  let out: string;
  try {
    out = execFileSync(biome, ["lint", "--reporter=github", "--max-diagnostics=none", ...args, "."], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    // Exit code 1 when it reports errors: the diagnostics are on stdout all the same.
    out = (e as { stdout: string }).stdout;
  }
  const found: Diagnostic[] = [];
  for (const m of out.matchAll(/^::(\w+) title=(?:lint\/)?([\w/]+),file=([^,]+),[^:]*::(.*)$/gm))
    found.push({ level: m[1]!, rule: m[2]!, file: path.relative(dir, m[3]!), message: m[4]! });
  return found;
}

/** biome.jsonc without its comments (they stand on lines of their own). */
function config(): {
  overrides: { includes: string[]; linter: { rules: Record<string, Record<string, unknown>> } }[];
} {
  const text = readFileSync(path.join(root, "biome.jsonc"), "utf8");
  return JSON.parse(text.replace(/^\s*\/\/.*$/gm, ""));
}

describe("folder boundaries (biome.jsonc)", () => {
  let dir: string;
  const files: Record<string, string> = {
    "lib/a.ts": 'import { x } from "../server/x";\nexport const a = x;\n',
    "lib/alias.ts": 'import { n } from "@/db/schema";\nexport const alias = n;\n',
    "lib/domain.ts": "export const d = 1;\n",
    "lib/nft/fine.ts": 'import { d } from "../domain";\nexport const fine = d;\n',
    "lib/nft/leaves.ts": 'import { n } from "../../db/schema";\nexport const leaves = n;\n',
    "db/schema.ts": "export const n = 1;\n",
    "server/c1.ts": 'import type { C2 } from "./c2";\nexport type C1 = { next: C2 };\n',
    "server/c2.ts": 'import type { C1 } from "./c1";\nexport type C2 = { next?: C1 };\n',
    "server/x.ts": 'import { y } from "../agent/y";\nexport const x = y;\n',
    "server/trpc.ts": "export const t = 1;\n",
    "server/routers/root.ts": "export const appRouter = 1;\nexport type AppRouter = typeof appRouter;\n",
    "server/services/vnets/up.ts":
      'import { appRouter } from "../../routers/root";\nimport { t } from "../../trpc";\nexport const up = appRouter + t;\n',
    "agent/y.ts": "export const y = 1;\n",
    "agent/channel.ts":
      'import type { AppRouter } from "../server/routers/root";\nexport type Client = AppRouter;\n',
    "agent/store.ts": 'import { n } from "../db/schema";\nexport const store = n;\n',
    "agent/state.ts":
      'import { appRouter } from "../server/routers/root";\nexport const state = appRouter;\n',
    "components/list.tsx": 'import { n } from "@/db/schema";\nexport const list = n;\n',
    "components/call.tsx": 'import { t } from "@/server/trpc";\nexport const call = t;\n',
    "components/typed.tsx":
      'import type { AppRouter } from "@/server/routers/root";\nexport type R = AppRouter;\n',
    "server/h.testing.ts": "export const h = 1;\n",
    "server/uses-helper.ts": 'import { h } from "./h.testing";\nexport const usesHelper = h;\n',
    "server/h.test.ts": 'import { h } from "./h.testing";\nexport const fine = h;\n',
    "agent/dataplane/kernel.ts": 'import { k } from "../../tests/kernel";\nexport const kernel = k;\n',
    "lab/main.ts": 'import { h } from "../server/h.testing";\nexport const lab = h;\n',
    "bench/b.ts": 'import { h } from "../server/h.testing";\nexport const bench = h;\n',
    "tests/kernel.ts": "export const k = 1;\n",
  };
  let found: Diagnostic[];

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "bh-boundaries-"));
    writeFileSync(path.join(dir, "biome.jsonc"), readFileSync(path.join(root, "biome.jsonc")));
    cpSync(path.join(root, "lint"), path.join(dir, "lint"), { recursive: true });
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      writeFileSync(path.join(dir, f), text);
    }
    // No git repository there: the configuration's VCS integration is switched off for this run.
    found = lint(dir, ["--vcs-enabled=false"]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const at = (file: string, rule: string) =>
    found.filter((d) => d.file === file && d.rule === rule && d.level === "error");

  it("refuses lib/ importing from outside lib/, relative or by alias, at any depth", () => {
    expect(at("lib/a.ts", "style/noRestrictedImports")[0]?.message).toMatch(/lib\/ is pure/);
    expect(at("lib/alias.ts", "style/noRestrictedImports")).toHaveLength(1);
    expect(at("lib/nft/leaves.ts", "style/noRestrictedImports")).toHaveLength(1);
    expect(found.filter((d) => d.file === "lib/nft/fine.ts")).toEqual([]);
  });

  it("refuses an import cycle even when both imports are type-only", () => {
    expect(at("server/c1.ts", "suspicious/noImportCycles")).toHaveLength(1);
    expect(at("server/c2.ts", "suspicious/noImportCycles")).toHaveLength(1);
  });

  it("refuses server/ importing agent/", () => {
    expect(at("server/x.ts", "style/noRestrictedImports")[0]?.message).toMatch(/may not import agent/);
  });

  it("refuses services importing routers or the tRPC base", () => {
    const up = at("server/services/vnets/up.ts", "style/noRestrictedImports");
    expect(up).toHaveLength(2);
    expect(up[0]?.message).toMatch(/may not import routers or the tRPC base/);
  });

  it("refuses agent/ importing db/ or server values, and allows the AppRouter type", () => {
    expect(at("agent/store.ts", "style/noRestrictedImports")[0]?.message).toMatch(/may not import db/);
    expect(at("agent/state.ts", "style/noRestrictedImports")[0]?.message).toMatch(/only the AppRouter type/);
    expect(found.filter((d) => d.file === "agent/channel.ts")).toEqual([]);
  });

  it("refuses the UI importing db/ or server internals, and allows the AppRouter type", () => {
    expect(at("components/list.tsx", "style/noRestrictedImports")).toHaveLength(1);
    expect(at("components/call.tsx", "style/noRestrictedImports")[0]?.message).toMatch(/server internals/);
    expect(found.filter((d) => d.file === "components/typed.tsx")).toEqual([]);
  });

  it("refuses production code (and the lab) importing test-only code; tests and benches may", () => {
    expect(at("server/uses-helper.ts", "plugin")[0]?.message).toMatch(/may not import test-only code/);
    expect(at("agent/dataplane/kernel.ts", "plugin")).toHaveLength(1);
    expect(at("lab/main.ts", "plugin")).toHaveLength(1);
    expect(found.filter((d) => d.file === "server/h.test.ts")).toEqual([]);
    expect(found.filter((d) => d.file === "bench/b.ts")).toEqual([]);
  });

  it("the real tree passes them, with no file exempt", () => {
    // No override may switch the boundary rules off for a file: a way round them would be
    // invisible in review.
    const off = config().overrides.filter((o) =>
      RULES.some((r) => {
        const [group, name] = r.split("/") as [string, string];
        return o.linter?.rules?.[group]?.[name] === "off";
      }),
    );
    expect(off.flatMap((o) => o.includes)).toEqual([]);
    const real = lint(
      root,
      RULES.map((r) => `--only=${r}`),
    );
    expect(real).toEqual([]);
    // Linting the whole tree takes ~10 s on a calm machine, over 30 s on a loaded one.
  }, 120_000);
});
