// Woken agent streams compile their nodes' states one at a time through this gate, in slices of a
// few milliseconds with a macrotask in between, so a fan-out to thousands of nodes never holds the
// event loop: HTTP requests (the API, agents' reports) are answered between slices. Without it,
// one bus emit resumes every stream in the same microtask burst and nothing else runs until the
// last node has been compiled.
import { setImmediate as nextTurn } from "node:timers/promises";

/** How long one slice may run compiles back to back before yielding to I/O. */
export const SLICE_MS = 4;

export type CompileGate = { run<T>(fn: () => T): Promise<T>; readonly waiting: number };

export function compileGate(sliceMs = SLICE_MS): CompileGate {
  const queue: (() => void)[] = [];
  let busy = false;
  let sliceStart = 0;
  const pump = () => {
    if (busy || queue.length === 0) return;
    busy = true;
    if (performance.now() - sliceStart < sliceMs) queue.shift()!();
    else
      void nextTurn().then(() => {
        sliceStart = performance.now();
        queue.shift()!();
      });
  };
  return {
    get waiting() {
      return queue.length;
    },
    async run<T>(fn: () => T): Promise<T> {
      await new Promise<void>((resolve) => {
        queue.push(resolve);
        pump();
      });
      try {
        return fn();
      } finally {
        busy = false;
        pump();
      }
    },
  };
}
