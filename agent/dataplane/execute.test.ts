// How the executor splits the node's batch so the helpers configure guests while later veths are
// created: every op runs once and in plan order, networks before any guest, and no guest before
// the batch that creates its veth.
import { describe, expect, it } from "vitest";
import { nodeChunks } from "./execute";
import { plan } from "./plan";
import { emptyObserved, net, PREFIX, port, state } from "./testing";

const opts = { guestPrefix: PREFIX };

describe("nodeChunks", () => {
  it("keeps a small plan in one batch, its guests after it", () => {
    const p = plan(state([net(1)], [port(1, 1, 1), port(2, 2, 1)]), emptyObserved(), opts);
    const chunks = nodeChunks(p);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.ops).toEqual(p.node);
    expect(chunks[0]?.guests).toEqual(p.guests);
  });

  it("splits 1,000 ports into about 8 batches in plan order, each guest after its veth's batch", () => {
    const ports = Array.from({ length: 1000 }, (_, i) => port(i + 1, i + 1, 1 + (i % 2)));
    // Instance 7 has two NICs, on both networks: it waits for both veths.
    ports.push(port(1001, 7, 2, { guestIf: "eth1", defaultRoute: false }));
    const p = plan(state([net(1), net(2)], ports), emptyObserved(), opts);
    const chunks = nodeChunks(p);
    expect(chunks.length).toBeGreaterThanOrEqual(7);
    expect(chunks.length).toBeLessThanOrEqual(9);
    expect(chunks.flatMap((c) => c.ops)).toEqual(p.node);
    expect(chunks.flatMap((c) => c.guests).sort((a, b) => a.ns.localeCompare(b.ns))).toEqual(
      [...p.guests].sort((a, b) => a.ns.localeCompare(b.ns)),
    );
    // Every network op (and the node's lo) is in the first batch.
    const first = new Set(chunks[0]?.ops);
    for (const op of p.node.filter((o) => o.object.kind !== "port")) expect(first.has(op)).toBe(true);
    // A guest runs after the batch holding the last node op of any of its ports.
    const nsOf = new Map(p.ports.map((x) => [x.nicId, x.ns]));
    chunks.forEach((c, k) => {
      const created = new Set(
        chunks
          .slice(0, k + 1)
          .flatMap((x) => x.ops)
          .map((o) => (o.object.kind === "port" ? nsOf.get(o.object.nicId) : undefined)),
      );
      const later = new Set(
        chunks
          .slice(k + 1)
          .flatMap((x) => x.ops)
          .map((o) => (o.object.kind === "port" ? nsOf.get(o.object.nicId) : undefined)),
      );
      for (const g of c.guests) {
        expect(created.has(g.ns)).toBe(true);
        expect(later.has(g.ns)).toBe(false);
      }
    });
  });
});
