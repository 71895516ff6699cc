// `npm run bench -- sg-cut [ports=1000] [entries=10000]`: the cost of cutting the connections a
// security-group change no longer allows (agent/dataplane/nft/ct-cut.ts). One node namespace with a
// conntrack table of `entries` established TCP flows between `ports` guest addresses, half to
// port 80 and half to 443; the group's inbound rule goes from "80,443" to "443", so every port's
// policy narrowed and the 80 half must go. Timed: narrowing check + `conntrack -L` + judging every
// entry with explain + deleting the denied ones (ct-delete.py). Median of five. Prints one JSON
// line last.
import { rm, writeFile } from "node:fs/promises";
import { cutFlows, narrowedPorts } from "../agent/dataplane/nft/ct-cut";
import { run } from "../agent/dataplane/run";
import { net, port, state } from "../agent/dataplane/state.testing";
import type { DesiredSgRule, DesiredState } from "../lib/wire";

const ports = Number(process.argv[2] ?? 1000);
const entries = Number(process.argv[3] ?? 10000);
const NS = `bhb${process.pid}c`;
const ip = (i: number) => `10.96.${(i + 2) >> 8}.${(i + 2) & 255}`;

/** Every port in group 100: everything out, TCP `web` in, plus 18 other inbound rules. */
function desired(web: string): DesiredState {
  const rules: DesiredSgRule[] = [
    { ruleId: 1, protocol: "ALL", direction: "OUTBOUND" },
    { ruleId: 2, protocol: "TCP", direction: "INBOUND", ports: web },
    ...Array.from({ length: 18 }, (_, k) => ({
      ruleId: k + 3,
      protocol: "TCP" as const,
      direction: "INBOUND" as const,
      ports: `${2000 + k}`,
    })),
  ];
  return {
    ...state(
      [net(1, { bridge: "br1", subnet: "10.96.0.0/16", securityGroupIds: [100] })],
      Array.from({ length: ports }, (_, i) => port(i + 1, i + 1, 1, { addresses: [`${ip(i)}/16`] })),
    ),
    securityGroups: [{ sgId: 100, rules }],
  };
}

const before = desired("80,443");
const after = desired("443");
const file = `/tmp/${NS}.ct`;
const times: number[] = [];
let cut = 0;
try {
  await run("ip", ["netns", "add", NS]);
  for (let rep = 0; rep < 5; rep++) {
    const lines = Array.from(
      { length: entries },
      (_, i) =>
        `-I -p tcp -s ${ip(i % ports)} -d ${ip((i + 1) % ports)} --sport ${20000 + Math.floor(i / ports)} --dport ${i % 2 ? 80 : 443} --state ESTABLISHED -t 600`,
    );
    await writeFile(file, `${lines.join("\n")}\n`);
    const load = await run("nsenter", [`--net=/run/netns/${NS}`, "conntrack", "-R", file]);
    if (load.code !== 0) throw new Error(`conntrack -R (setup): ${load.stderr.trim()}`);
    const t0 = performance.now();
    const line = await cutFlows(NS, after, narrowedPorts(before, after));
    times.push(performance.now() - t0);
    cut = Number(/cut (\d+)/.exec(line)?.[1] ?? 0);
    await run("nsenter", [`--net=/run/netns/${NS}`, "conntrack", "-F"]);
  }
  const median = [...times].sort((a, b) => a - b)[2] ?? Number.NaN;
  console.log(
    JSON.stringify({
      bench: "sg-cut",
      ports,
      entries,
      cut,
      cut_ms: Math.round(median),
      runs_ms: times.map(Math.round),
    }),
  );
} finally {
  await rm(file, { force: true });
  await run("ip", ["netns", "del", NS]);
}
