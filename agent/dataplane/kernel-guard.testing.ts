// `describe` for vitest suites that need the real kernel, on the one capability check of
// tests/kernel.ts (which `requireKernel`, the benches and the e2e specs use too). Never skip
// silently: in CI a missing capability is a failure, elsewhere the skip is printed with its reason.
import { describe, it } from "vitest";
import { kernelUnavailable } from "../../tests/kernel";

/** `describe` for kernel tests: runs them when possible; otherwise fails under CI=true and skips
 * with a console warning elsewhere. */
export async function describeKernel(name: string, fn: () => void): Promise<void> {
  const reason = kernelUnavailable();
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
    // The reason is in the suite's name too, so the test report itself says why it did not run.
    describe.skip(`${name} (skipped: ${reason}; needs root and network namespaces)`, () => fn());
  }
}
