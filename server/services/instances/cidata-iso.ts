// A NoCloud `cidata` ISO 9660 image (Rock Ridge + Joliet, so the file names keep their dashes)
// built by Debian's xorriso in its mkisofs mode, from files written to a private temp dir.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The volume label cloud-init's NoCloud looks for. */
export const CIDATA_LABEL = "cidata";

/** Thrown when the portal's machine cannot build ISOs (xorriso missing). */
export class IsoToolMissing extends Error {}

/** Builds the ISO holding `files` (name → content) at its root; resolves with its bytes. */
export async function buildCidataIso(files: Record<string, string>): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bh-cidata-"));
  try {
    const root = path.join(dir, "root");
    await fs.mkdir(root);
    for (const [name, content] of Object.entries(files)) await fs.writeFile(path.join(root, name), content);
    const out = path.join(dir, "cidata.iso");
    try {
      await run(
        "xorriso",
        ["-as", "mkisofs", "-quiet", "-output", out, "-volid", CIDATA_LABEL, "-joliet", "-rock", root],
        { timeout: 30_000 },
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new IsoToolMissing("xorriso is not installed on the portal's machine (Debian package xorriso)");
      throw new Error(
        `xorriso could not build the cidata ISO: ${(err as { stderr?: string }).stderr ?? err}`,
      );
    }
    return await fs.readFile(out);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
