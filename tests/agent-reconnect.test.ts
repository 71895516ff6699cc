// After a portal restart the agents' channels (the real agent/channel.ts against the real server
// over HTTP) come back spread over the jittered backoff window, not in one burst after the
// EventSource's fixed 3 s retry, and each resumes with the state of its node.
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Channel, connect } from "../agent/channel";
import type { App } from "../server/app";
import { callerFor, testApp, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";

const transport = { fetch: globalThis.fetch, insecure: true };

/** Drops every connection and stops listening, the way a killed portal process does, without
 * ending the App (its database and bus stay, as a restarted portal's would on disk). */
async function kill(srv: Awaited<ReturnType<typeof serveApp>>) {
  srv.server.closeAllConnections();
  await new Promise((r) => srv.server.close(r));
}

describe("agent channel reconnects after a portal restart", () => {
  let app: App;
  let srv: Awaited<ReturnType<typeof serveApp>> | null = null;
  const stops: (() => void)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) s();
    if (srv) await srv.close();
    srv = null;
  });

  /** `n` enrolled nodes, each watching through its own channel; resolves once all are up. */
  async function fleet(n: number, random?: () => number) {
    app = testApp();
    const admin = await userCaller(app, "alice", "admin", 0);
    srv = await serveApp(app, 0);
    const ups = Array.from({ length: n }, () => [] as number[]);
    const revisions: number[][] = Array.from({ length: n }, () => []);
    for (let i = 0; i < n; i++) {
      const node = await admin.node.create({ name: `r${i}` });
      const { credential } = await callerFor(app, null).agent.join({ token: node.joinToken });
      const channel: Channel = connect(srv.url, transport, credential, { random });
      stops.push(
        channel.watch(node.id, {
          state: (s) => revisions[i]!.push((s as { revision: number }).revision),
          preview() {},
          error() {},
          connected: (up) => {
            if (up) ups[i]!.push(performance.now());
          },
        }),
      );
    }
    await until(() => ups.every((u) => u.length === 1) && revisions.every((r) => r.length === 1), 30_000);
    return { ups, revisions, port: (srv.server.address() as AddressInfo).port };
  }

  it("a dropped stream reconnects after its backoff draw, not after the fixed 3 s", async () => {
    // Pinned draw: the first retry waits 0.2 × 3 s.
    const { ups, port } = await fleet(1, () => 0.2);
    await kill(srv!);
    const down = performance.now();
    srv = await serveApp(app, port);
    await until(() => ups[0]!.length === 2);
    const after = ups[0]![1]! - down;
    expect(after).toBeGreaterThanOrEqual(590);
    expect(after).toBeLessThan(2000);
  });

  it("60 streams dropped at once come back spread over the first window, each with its state", async () => {
    const { ups, revisions, port } = await fleet(60);
    await kill(srv!);
    const down = performance.now();
    srv = await serveApp(app, port);
    await until(() => ups.every((u) => u.length === 2), 30_000);
    const back = ups.map((u) => u[1]! - down).sort((a, b) => a - b);
    // Uniform over the first 3 s window (a stream whose draw came before the portal listened
    // again waits one more, wider window): the middle half of the fleet spans over a second; the
    // EventSource's fixed retry brought them all back within a few ms of each other, 3 s after the
    // drop. Absolute times are left loose: on a loaded machine connecting takes seconds.
    expect(back[45]! - back[15]!).toBeGreaterThan(700);
    expect(back[59]!).toBeLessThan(15_000);
    // Each stream resumed from its last revision: the portal sent nothing new (nothing changed).
    expect(revisions.every((r) => r.length === 1)).toBe(true);
  }, 90_000);
});

async function until(ok: () => boolean, ms = 5000) {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
