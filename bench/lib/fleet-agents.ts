// Simulated agents of `npm run bench -- fleet`, many per process (the bench pins them to the
// core the portal does not use): each is the real agent (runAgent: join, SSE stream, reconciler,
// reports, heartbeats every --interval) with agent/sim.ts's dataplane, which touches no kernel.
// A scale tool only. IPC: { cmd: "start", specs, interval } → "started"; { cmd: "times",
// revision } → for each agent, when (Date.now()) the server first accepted its report of a
// revision ≥ that one (null: not yet).
import { runAgent } from "../../agent/agent";
import { simulatedDataplane } from "../../agent/sim";

type Spec = { server: string; token: string; vtep: string; state: string };
const reported: { rev: number; at: number }[][] = [];
const agents: { stop(): Promise<void> }[] = [];

async function start(specs: Spec[], interval: string) {
  // A few joins at a time: enrolling is one request each, the streams follow.
  const BATCH = 25;
  for (let k = 0; k < specs.length; k += BATCH) {
    await Promise.all(
      specs.slice(k, k + BATCH).map(async (s, j) => {
        const i = k + j;
        reported[i] = [];
        const a = await runAgent(
          { server: s.server, token: s.token, state: s.state, vtep: s.vtep, interval },
          {
            dataplane: simulatedDataplane(),
            quiet: true,
            onFatal: (err) => console.error(`simulated agent ${i}: ${err.message}`),
            onReported: (rev) => {
              const list = reported[i]!;
              if (list.length === 0 || list[list.length - 1]!.rev < rev) list.push({ rev, at: Date.now() });
            },
          },
        );
        agents.push(a);
      }),
    );
  }
}

process.on(
  "message",
  (m: { id: number; cmd: string; specs?: Spec[]; interval?: string; revision?: number }) => {
    if (m.cmd === "start")
      void start(m.specs!, m.interval ?? "10").then(
        () => process.send!({ id: m.id, ok: true, value: "started" }),
        (err) => process.send!({ id: m.id, ok: false, error: String(err) }),
      );
    if (m.cmd === "times")
      process.send!({
        id: m.id,
        ok: true,
        value: reported.map((list) => list.find((r) => r.rev >= m.revision!)?.at ?? null),
      });
  },
);
process.send!({ id: 0, ok: true, value: "ready" });
process.once("SIGTERM", () => void Promise.all(agents.map((a) => a.stop())).then(() => process.exit(0)));
