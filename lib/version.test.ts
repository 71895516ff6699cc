import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { VERSION } from "./version";

describe("VERSION", () => {
  it("is package.json's version (the Nodes page compares agents against it)", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "..", "package.json"), "utf8"));
    expect(VERSION).toBe(pkg.version);
  });
});
