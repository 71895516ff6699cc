// Level-based reconcile loop (the latest whole state wins, never a queue of deltas): one reconcile at a time, always of the latest
// desired state; a state that arrives mid-run is applied right after (intermediate ones skipped).
import type { DesiredState } from "../lib/wire";
import type { ReconcileResult } from "./dataplane/types";

export type { ReconcileResult };

/** `full`: re-read everything (the periodic drift check); otherwise the dataplane may reuse what it
 * knows to be unchanged since its last reconcile (a push). */
type Apply = (desired: DesiredState, opts: { full: boolean }) => Promise<ReconcileResult>;
type Done = (desired: DesiredState, result: ReconcileResult) => void | Promise<void>;

/** Serializes reconciles and coalesces bursts of pushes into the newest state. */
export class Reconciler {
  private latest: DesiredState | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private full = true;

  constructor(
    private readonly apply: Apply,
    private readonly done: Done,
  ) {}

  /** Sets a new desired state and reconciles toward it. */
  submit(state: DesiredState) {
    this.latest = state;
    this.run();
  }

  /** Reconciles the current desired state again, reading the whole kernel (periodic drift repair). */
  kick() {
    this.full = true;
    this.run();
  }

  private run() {
    if (!this.latest) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when no reconcile is running. */
  async idle() {
    while (this.running) await this.running;
  }

  get current(): DesiredState | null {
    return this.latest;
  }

  private async loop() {
    do {
      this.again = false;
      const desired = this.latest!;
      const full = this.full;
      this.full = false;
      const started = performance.now();
      let result: ReconcileResult;
      try {
        result = await this.apply(desired, { full });
      } catch (err) {
        // An unexpected failure is reported, not fatal: the next push or tick tries again.
        result = {
          ok: false,
          error: `reconcile of revision ${desired.revision} failed: ${err instanceof Error ? err.message : String(err)}`,
          operations: 0,
          ops: [],
          durationMs: performance.now() - started,
          networks: [],
          ports: [],
        };
      }
      await this.done(desired, result);
    } while (this.again);
  }
}
