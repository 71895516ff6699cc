import { describe, expect, it } from "vitest";
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffMs, reconnectBackoff } from "./channel";

describe("reconnect backoff", () => {
  it("waits a uniform share of a window that doubles from 3 s and stops at the cap", () => {
    expect(backoffMs(0, () => 0)).toBe(0);
    expect(backoffMs(0, () => 0.999_9)).toBe(2999);
    expect(backoffMs(1, () => 0.5)).toBe(3000);
    expect(backoffMs(3, () => 0.5)).toBe(12_000);
    for (const attempt of [5, 6, 10, 50, 10_000]) {
      expect(backoffMs(attempt, () => 0.999_999)).toBeLessThan(BACKOFF_CAP_MS);
      expect(backoffMs(attempt, () => 0.999_999)).toBe(BACKOFF_CAP_MS - 1);
    }
  });

  it("spreads a fleet's first reconnects over the whole first window", () => {
    // 4,000 agents whose streams dropped in the same instant (a portal restart).
    const waits = Array.from({ length: 4000 }, () => backoffMs(0));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...waits)).toBeLessThan(BACKOFF_BASE_MS);
    // Ten 300 ms buckets: each holds about 400; none holds the crowd a fixed delay would.
    const buckets = Array.from(
      { length: 10 },
      (_, b) => waits.filter((w) => Math.floor(w / 300) === b).length,
    );
    for (const n of buckets) {
      expect(n).toBeGreaterThan(250);
      expect(n).toBeLessThan(550);
    }
  });

  it("counts failures since the stream was last up, not over the agent's whole life", () => {
    const b = reconnectBackoff(() => 0.5);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([1500, 3000, 6000, 12_000, 15_000]);
    b.connected();
    expect(b.next()).toBe(1500);
  });
});
