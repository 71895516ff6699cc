import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { wakeups } from "./wakeups";

describe("a node stream's wake-ups", () => {
  it("wakes once for any number of changes announced while the stream was busy", async () => {
    const bus = new EventEmitter();
    const stop = new AbortController();
    const w = wakeups(bus, "node:1", stop.signal);
    for (let i = 0; i < 1000; i++) bus.emit("node:1");
    expect(await w.next()).toEqual({ previews: [] });
    // Nothing new since: the next wake waits for the next change.
    let woke = false;
    const next = w.next().then((r) => {
      woke = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(false);
    bus.emit("node:1");
    expect(await next).toEqual({ previews: [] });
    w.close();
    expect(bus.listenerCount("node:1")).toBe(0);
  });

  it("keeps every plan preview request, in order, and ends with null when stopped", async () => {
    const bus = new EventEmitter();
    const stop = new AbortController();
    const w = wakeups(bus, "node:1", stop.signal);
    const a = { preview: { requestId: "a", desired: {} } };
    const b = { preview: { requestId: "b", desired: {} } };
    bus.emit("node:1", a);
    bus.emit("node:1");
    bus.emit("node:1", b);
    expect(await w.next()).toEqual({ previews: [a, b] });
    const waiting = w.next();
    stop.abort();
    expect(await waiting).toBeNull();
    w.close();
  });
});
