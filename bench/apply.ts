// `npm run bench -- apply [--ports 1000]` (root): one node (a namespace) with `ports` guest ports
// (a guest namespace each, a veth into one bridge, an address and a default route) applied from
// empty by the agent's dataplane, then one port's change (its address) re-applied the way a push
// is (only what changed is read again), and for context a full no-op reconcile (the periodic drift
// check, which reads every guest). Prints one JSON line last.
import { parseArgs } from "node:util";
import { createDataplane } from "../agent/dataplane";
import { net, port, state } from "../agent/dataplane/testing";
import { deleteNamespaces, kernelUnavailable, nsPrefix } from "../tests/kernel";

const { values } = parseArgs({ options: { ports: { type: "string", default: "1000" } } });
const N = Number(values.ports);
const why = kernelUnavailable();
if (why) {
  console.error(`bench apply needs root and network namespaces: ${why}`);
  process.exit(2);
}
const P = nsPrefix("ba");
const dp = createDataplane({ nodeNetns: `${P}n`, guestPrefix: P });
const addr = (i: number, base = 2) => `10.96.${(i + base) >> 8}.${(i + base) & 255}/16`;
const desired = state(
  [net(1, { bridge: "br1", bridgeAddress: "10.96.0.1/16" })],
  Array.from({ length: N }, (_, i) => port(i + 1, i + 1, 1, { addresses: [addr(i)], gateway: "10.96.0.1" })),
);
const changed = structuredClone(desired);
changed.revision += 1;
changed.ports[Math.floor(N / 2)]!.addresses = [addr(N + 10)];

try {
  deleteNamespaces(P);
  const first = await dp.reconcile(desired);
  if (!first.ok) throw new Error(`apply from empty failed: ${first.error}`);
  const one = await dp.reconcile(changed, { full: false });
  if (!one.ok || one.operations === 0) throw new Error(`one change failed: ${one.error ?? "no operation"}`);
  const noop = await dp.reconcile(changed);
  const ms = (x: number) => Math.round(x);
  const breakdown = (r: typeof first) =>
    Object.entries(r.phases ?? {})
      .filter(([, v]) => v >= 0.5)
      .map(([k, v]) => `${k} ${ms(v)}`)
      .join(", ");
  console.log(`from empty (ms): ${breakdown(first)}`);
  console.log(`one change (ms): ${breakdown(one)}`);
  console.log(`full no-op (ms): ${breakdown(noop)}`);
  console.log(
    `${N} ports from empty: ${first.operations} ops; one change: ${one.operations} ops (${one.ops.join("; ")}); full no-op: ${noop.operations} ops`,
  );
  console.log(
    JSON.stringify({
      bench: "apply",
      ports: N,
      from_empty_ms: ms(first.durationMs),
      one_change_ms: ms(one.durationMs),
      full_noop_ms: ms(noop.durationMs),
    }),
  );
} finally {
  await dp.teardown({ removeNodeNetns: true }).catch(() => {});
  deleteNamespaces(P);
}
process.exit(0);
