// Guard for tests that need the real kernel (root, `ip netns`). Never skip silently: in CI a
// missing capability is a failure, elsewhere the skip is printed with its reason.
import { describe, it } from "vitest";
import { run } from "./run";

/** Why kernel tests cannot run here, or undefined when they can (probes a throwaway namespace). */
export async function kernelUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "not running as root";
  const probe = `bhprobe${process.pid}`;
  try {
    const add = await run("ip", ["netns", "add", probe]);
    if (add.code !== 0) return `ip netns add failed: ${add.stderr.trim()}`;
    await run("ip", ["netns", "del", probe]);
    return undefined;
  } catch (e) {
    return `cannot run ip: ${(e as Error).message}`;
  }
}

/** `describe` for kernel tests: runs them when possible; otherwise fails under CI=true and skips
 * with a console warning elsewhere. */
export async function describeKernel(name: string, fn: () => void): Promise<void> {
  const reason = await kernelUnavailable();
  if (!reason) {
    describe(name, () => fn());
  } else if (process.env.CI === "true") {
    describe(name, () => {
      it("needs root and network namespaces", () => {
        throw new Error(`kernel tests cannot run (${reason}) and CI=true forbids skipping them`);
      });
    });
  } else {
    console.warn(`[skip] ${name}: ${reason} (set up root + ip netns to run it; under CI=true this fails)`);
    describe.skip(name, () => fn());
  }
}
