// `npm run bench -- apply [--ports 1000]` (root): one node (a namespace) with `ports` guest ports
// (a guest namespace each, a veth into one bridge, an address and a default route) applied from
// empty by the agent's dataplane, then one port's change (its address) re-applied the way a push
// is (only what changed is read again): once right after, while the new guests' IPv6 start-up still
// floods the bridge, and the median of 7 once that has settled. For context, a full no-op reconcile
// (the periodic drift check, which reads every guest) and the same 1,000 ports applied to an empty
// node whose guest namespaces already exist. Prints where the time went, and one JSON line last.
// Last, the kernel floor on this machine in the same run: the same namespaces and veth pairs (peer
// in its guest namespace, enslaved to a bridge, up) made by two `ip -batch` processes alone (no
// agent, no addresses, no nftables) — kernel work no agent can avoid; from_empty_ms is that plus
// the agent's own cost.

import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { createDataplane, guestNsName, run } from "../agent/dataplane";
import { ipIn } from "../agent/dataplane/run";
import { net, port, state } from "../agent/dataplane/state.testing";
import { deleteNamespaces, kernelUnavailable, nsPrefix } from "../tests/kernel";

const { values } = parseArgs({ options: { ports: { type: "string", default: "1000" } } });
const N = Number(values.ports);
const why = kernelUnavailable();
if (why) {
  console.error(`bench apply needs root and network namespaces: ${why}`);
  process.exit(2);
}
const P = nsPrefix("ba");
/** The kernel floor's namespaces. */
const F = nsPrefix("bf");
const dp = createDataplane({ nodeNetns: `${P}n`, guestPrefix: P });
const addr = (i: number, base = 2) => `10.96.${(i + base) >> 8}.${(i + base) & 255}/16`;
const desired = state(
  [net(1, { bridge: "br1", bridgeAddress: "10.96.0.1/16" })],
  Array.from({ length: N }, (_, i) => port(i + 1, i + 1, 1, { addresses: [addr(i)], gateway: "10.96.0.1" })),
);
/** The current desired state with one more port's address moved (one port's change). */
let current = desired;
const moved = (rev: number, k: number) => {
  const d = structuredClone(current);
  d.revision = desired.revision + rev;
  d.ports[k]!.addresses = [addr(N + 10 + rev)];
  current = d;
  return d;
};
const SETTLE_MS = 10_000;
const ms = (x: number) => Math.round(x);
const breakdown = (r: { phases?: Record<string, number> }) =>
  Object.entries(r.phases ?? {})
    .filter(([, v]) => v >= 0.5)
    .map(([k, v]) => `${k} ${ms(v)}`)
    .join(", ");

/** The kernel floor: N guest namespaces by one `ip -batch`, then N veth pairs with the peer created
 * in its guest namespace, enslaved to a bridge and up, by one `ip -batch` in a node namespace (the
 * way the agent runs it). Wall times, ms; everything is removed again. */
async function kernelFloor(): Promise<{ netns: number; veth: number }> {
  try {
    deleteNamespaces(F);
    const t0 = performance.now();
    const ns = await run(
      "ip",
      ["-batch", "-"],
      desired.ports.map((_, i) => `netns add ${F}-i${i}\n`).join(""),
    );
    const t1 = performance.now();
    if (ns.code !== 0) throw new Error(`kernel floor: netns add failed: ${ns.stderr.trim()}`);
    const node = await run("ip", ["-batch", "-"], `netns add ${F}n\n`);
    const br = await ipIn(`${F}n`, ["-batch", "-"], "link add br1 type bridge\nlink set br1 up\n");
    if (node.code !== 0 || br.code !== 0)
      throw new Error(`kernel floor: node namespace: ${node.stderr.trim()} ${br.stderr.trim()}`);
    const lines = desired.ports.map(
      (_, i) => `link add v${i} type veth peer name eth0 netns ${F}-i${i}\nlink set v${i} master br1 up\n`,
    );
    const t2 = performance.now();
    const veth = await ipIn(`${F}n`, ["-batch", "-"], lines.join(""));
    const t3 = performance.now();
    if (veth.code !== 0) throw new Error(`kernel floor: veth pairs failed: ${veth.stderr.trim()}`);
    return { netns: t1 - t0, veth: t3 - t2 };
  } finally {
    deleteNamespaces(F);
  }
}

try {
  deleteNamespaces(P);
  const first = await dp.reconcile(desired);
  if (!first.ok) throw new Error(`apply from empty failed: ${first.error}`);
  // Right after: the 1,000 guests' IPv6 start-up (DAD, MLD, router solicitations, flooded to every
  // port of the bridge) keeps both cores busy for a few seconds.
  const now = await dp.reconcile(moved(1, Math.floor(N / 2)), { full: false });
  if (!now.ok || now.operations === 0) throw new Error(`one change failed: ${now.error ?? "no operation"}`);
  await sleep(SETTLE_MS);
  const ones = [];
  for (let k = 2; k < 9; k++) {
    const r = await dp.reconcile(moved(k, (k * 137) % N), { full: false });
    if (!r.ok || r.operations === 0) throw new Error(`one change failed: ${r.error ?? "no operation"}`);
    ones.push(r);
  }
  const one = ones.sort((a, b) => a.durationMs - b.durationMs)[Math.floor(ones.length / 2)]!;
  const noop = await dp.reconcile(current);
  await dp.teardown({ removeNodeNetns: true });

  // A booted VM's tap exists before the agent wires it: the same 1,000 ports whose guest
  // namespaces already exist (empty, lo down), applied to an empty node.
  const pre = new Set(desired.ports.map((p) => guestNsName(P, p.instanceId)));
  const add = await run("ip", ["-batch", "-"], [...pre].map((n) => `netns add ${n}\n`).join(""));
  if (add.code !== 0) throw new Error(`cannot create the guest namespaces: ${add.stderr.trim()}`);
  await sleep(SETTLE_MS);
  const again = createDataplane({ nodeNetns: `${P}n`, guestPrefix: P });
  const existing = await again.reconcile(desired);
  if (!existing.ok) throw new Error(`apply with existing guests failed: ${existing.error}`);
  await again.teardown({ removeNodeNetns: true });
  await sleep(SETTLE_MS);
  const floor = await kernelFloor();

  console.log(`from empty (ms): ${breakdown(first)}`);
  console.log(`guests already there (ms): ${breakdown(existing)}`);
  console.log(`one change right after from empty: ${ms(now.durationMs)} ms (${breakdown(now)})`);
  console.log(
    `one change ${SETTLE_MS / 1000} s later, median of ${ones.length}: ${ms(one.durationMs)} ms (${breakdown(one)}); all: ${ones.map((r) => ms(r.durationMs)).join(" ")}`,
  );
  console.log(`full no-op (ms): ${breakdown(noop)}`);
  console.log(
    `${N} ports from empty: ${first.operations} ops; one change: ${one.operations} ops (${one.ops.join("; ")}); full no-op: ${noop.operations} ops`,
  );
  console.log(
    `kernel floor (ms): ${N} netns add ${ms(floor.netns)}, ${N} veth pairs into them (enslaved, up) ${ms(floor.veth)}; total ${ms(floor.netns + floor.veth)}, from empty is ${ms(first.durationMs - floor.netns - floor.veth)} ms above it`,
  );
  console.log(
    JSON.stringify({
      bench: "apply",
      ports: N,
      from_empty_ms: ms(first.durationMs),
      one_change_ms: ms(one.durationMs),
      one_change_right_after_ms: ms(now.durationMs),
      guests_existing_ms: ms(existing.durationMs),
      full_noop_ms: ms(noop.durationMs),
      kernel_floor_ms: ms(floor.netns + floor.veth),
      kernel_floor_netns_ms: ms(floor.netns),
      kernel_floor_veth_ms: ms(floor.veth),
    }),
  );
} finally {
  await dp.teardown({ removeNodeNetns: true }).catch(() => {});
  deleteNamespaces(P);
  deleteNamespaces(F);
}
process.exit(0);
