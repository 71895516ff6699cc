// Timing of the dataplane at scale against the real kernel (root):
//   npx tsx agent/dataplane/bench.ts [ports=1000]
// Everything lives in namespaces prefixed `bhb<pid>x` and is removed at the end, even on failure.
import { createDataplane } from "./index";
import { listNamespaces } from "./observe";
import { run } from "./run";
import { net, port, state } from "./testing";

const n = Number(process.argv[2] ?? 1000);
const P = `bhb${process.pid}x`;
const dp = createDataplane({ nodeNetns: `${P}n`, guestPrefix: P });
const desired = state(
  [net(1, { bridge: "br1", bridgeAddress: "10.96.0.1/16" })],
  Array.from({ length: n }, (_, i) =>
    port(i + 1, i + 1, 1, { addresses: [`10.96.${(i + 2) >> 8}.${(i + 2) & 255}/16`], gateway: "10.96.0.1" }),
  ),
);

try {
  const first = await dp.reconcile(desired);
  const again = await dp.reconcile(desired);
  const down = await dp.teardown({ removeNodeNetns: true });
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  console.log(`${n} ports from empty: ${ms(first.durationMs)}, ${first.operations} ops, ok=${first.ok}`);
  console.log(`no-op re-reconcile: ${ms(again.durationMs)}, ${again.operations} ops`);
  console.log(`teardown: ${ms(down.durationMs)}, ${down.operations} ops, ok=${down.ok}`);
  if (!first.ok) console.log(first.error);
} finally {
  for (const ns of await listNamespaces()) if (ns.startsWith(P)) await run("ip", ["netns", "del", ns]);
}
