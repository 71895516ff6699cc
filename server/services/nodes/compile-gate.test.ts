import http from "node:http";
import { describe, expect, it } from "vitest";
import { compileGate } from "./compile-gate";

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe("compile gate", () => {
  it("answers an HTTP request within a few slices while 400 one-millisecond compiles are queued", async () => {
    const srv = http.createServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => srv.listen(3501, "127.0.0.1", r));
    try {
      // Warm the client up (its first request loads code), so the timed one measures the loop.
      await fetch("http://127.0.0.1:3501/").then((r) => r.text());
      const gate = compileGate(4);
      const order: number[] = [];
      const started = performance.now();
      // The longest the event loop went without running a timer while the queue drained.
      let last = performance.now();
      let maxGap = 0;
      const tick = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
      }, 1);
      const all = Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          gate.run(() => {
            busy(1);
            order.push(i);
            return i;
          }),
        ),
      );
      // The request is sent while the queue is full; without slicing it would wait ~400 ms.
      const t0 = performance.now();
      const body = await fetch("http://127.0.0.1:3501/").then((r) => r.text());
      const requestMs = performance.now() - t0;
      const results = await all;
      const totalMs = performance.now() - started;
      clearInterval(tick);
      expect(body).toBe("ok");
      expect(totalMs).toBeGreaterThan(350);
      // A fetch takes a few dozen loop turns in-process (client and server both here), each
      // waiting at most one slice; unsliced, it would wait for all 400 ms of compiles.
      // Relative to the whole drain, so a loaded machine does not fail it; unsliced, the gap is
      // the whole drain.
      expect(maxGap).toBeLessThan(totalMs / 4);
      expect(requestMs).toBeLessThan(totalMs / 2);
      expect(results).toEqual(order);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it("passes a compile's error to its caller and keeps serving the queue", async () => {
    const gate = compileGate();
    const a = gate.run(() => {
      throw new Error("boom");
    });
    const b = gate.run(() => 2);
    await expect(a).rejects.toThrow("boom");
    await expect(b).resolves.toBe(2);
    expect(gate.waiting).toBe(0);
  });
});
