// A node stream's wake-ups, coalesced: any number of changes announced while the stream was busy
// (compiling, or waiting in the compile gate) wake it once, so it compiles once for all of them.
// While a fleet enrolls, each join announces a change to every host of a VXLAN VNET spanning it:
// buffered one by one (events.on), a host compiled once per join even long after it had the
// newest state. Plan preview requests ride the same event and are kept, in order.
import type { EventEmitter } from "node:events";
import type { PreviewRequest } from "./preview";

export type Wakeups = {
  /** Resolves once something was announced since the last call (at once if it already was), with
   * the preview requests among it; null when `signal` aborted. */
  next(): Promise<{ previews: PreviewRequest[] } | null>;
  close(): void;
};

/** Starts listening now (before the caller's first read, so nothing committed in between is lost). */
export function wakeups(bus: EventEmitter, event: string, signal: AbortSignal): Wakeups {
  let pending = false;
  let previews: PreviewRequest[] = [];
  let wake: (() => void) | null = null;
  const listener = (payload?: PreviewRequest) => {
    if (payload?.preview) previews.push(payload);
    pending = true;
    wake?.();
  };
  const onAbort = () => wake?.();
  bus.on(event, listener);
  signal.addEventListener("abort", onAbort);
  return {
    async next() {
      while (!pending && !signal.aborted) await new Promise<void>((r) => (wake = r));
      wake = null;
      if (signal.aborted) return null;
      pending = false;
      const out = previews;
      previews = [];
      return { previews: out };
    },
    close() {
      bus.off(event, listener);
      signal.removeEventListener("abort", onAbort);
    },
  };
}
