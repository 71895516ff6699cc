// An agent restart does not restart DHCP: one agent process starts a VNET's dnsmasq and exits (as
// systemd stops it under the unit's KillMode=process: the agent alone, agent/install.ts); the server
// keeps answering meanwhile, and the next agent, with nothing of the first one's memory, adopts it
// (same pid, no start, no reload, no repair) and a guest still gets its lease from it. Everything
// here starts with `bht<pid>sr`.
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { alive } from "../agent/dataplane/dhcp/supervisor";
import { createDataplane } from "../agent/dataplane/index";
import { describeKernel } from "../agent/dataplane/kernel-guard.testing";
import { listNamespaces } from "../agent/dataplane/links/observe";
import { run, runInNetns } from "../agent/dataplane/run";
import { net, port, state } from "../agent/dataplane/state.testing";

const P = `bht${process.pid}sr`;
const NODE = `${P}n`;
const ROOT = path.resolve(import.meta.dirname, "..");
const stateRoot = `${tmpdir()}/${P}-dhcp`;
const pidFile = `${stateRoot}/${NODE}/vnet84/dnsmasq.pid`;
const desired = state(
  [
    net(84, {
      bridge: "br84",
      bridgeAddress: "10.84.0.1/24",
      subnet: "10.84.0.0/24",
      dhcp: { enabled: true, domain: "restart.example", leaseSeconds: 600, names: [] },
    }),
  ],
  [port(1, 1, 84, { instanceName: "web-1", addresses: ["10.84.0.11/24"], gateway: "10.84.0.1" })],
);
let dir = "";

async function purge(): Promise<void> {
  for (const ns of await listNamespaces()) if (ns.startsWith(P)) await run("ip", ["netns", "del", ns]);
}

/** udhcpc in guest 1 after dropping its address; resolves with the address it was offered. */
async function lease(): Promise<string> {
  const guest = `${P}-i1`;
  await runInNetns(guest, "ip", ["addr", "flush", "dev", "eth0"]);
  const out = `${dir}/bound`;
  const script = `${dir}/udhcpc.sh`;
  await writeFile(script, `#!/bin/sh\n[ "$1" = bound ] || exit 0\necho "$ip" > ${out}\n`);
  await chmod(script, 0o755);
  await rm(out, { force: true });
  const r = await runInNetns(guest, "udhcpc", [
    "-i",
    "eth0",
    "-n",
    "-q",
    "-f",
    "-t",
    "5",
    "-T",
    "1",
    "-s",
    script,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return (await readFile(out, "utf8")).trim();
}

await describeKernel("dnsmasq survives an agent restart (adopted, not restarted)", () => {
  beforeAll(async () => {
    await purge();
    dir = await mkdtemp(`${tmpdir()}/${P}-`);
  }, 60_000);
  afterAll(async () => {
    const dp = createDataplane({ nodeNetns: NODE, guestPrefix: P, dhcp: { stateDir: stateRoot } });
    await dp.teardown({ removeNodeNetns: true }).catch(() => {});
    await purge();
    if (dir) await rm(dir, { recursive: true, force: true });
    await rm(stateRoot, { recursive: true, force: true });
  });

  it("the first agent's dnsmasq outlives it, and the next agent adopts it without a restart", async () => {
    // Agent one: its own process, which applies the state and exits.
    const script = `${dir}/first-agent.mts`;
    await writeFile(
      script,
      `import { createDataplane } from ${JSON.stringify(`${ROOT}/agent/dataplane/index.ts`)};
const dp = createDataplane({ nodeNetns: ${JSON.stringify(NODE)}, guestPrefix: ${JSON.stringify(P)}, dhcp: { stateDir: ${JSON.stringify(stateRoot)} } });
const r = await dp.reconcile(JSON.parse(process.env.BH_DESIRED));
console.log(JSON.stringify({ error: r.error ?? null, dhcp: r.ops.filter((o) => o.includes("dnsmasq")) }));
process.exit(0);
`,
    );
    const first = JSON.parse(
      execFileSync(path.join(ROOT, "node_modules/.bin/tsx"), [script], {
        cwd: ROOT,
        env: { ...process.env, BH_DESIRED: JSON.stringify(desired) },
        encoding: "utf8",
      })
        .trim()
        .split("\n")
        .pop()!,
    ) as { error: string | null; dhcp: string[] };
    expect(first.error).toBeNull();
    expect(first.dhcp.some((o) => o.includes("dnsmasq --conf-file"))).toBe(true);
    const pid = Number((await readFile(pidFile, "utf8")).trim());
    expect(alive(pid)).toBe(true);
    // No agent runs now: the server still answers.
    expect(await lease()).toBe("10.84.0.11");

    // Agent two: a fresh dataplane (nothing of the first one's memory) on the same node.
    const second = createDataplane({ nodeNetns: NODE, guestPrefix: P, dhcp: { stateDir: stateRoot } });
    const r = await second.reconcile(desired);
    expect(r.error).toBeUndefined();
    expect(r.ops.filter((o) => o.includes("dnsmasq"))).toEqual([]);
    expect(Number((await readFile(pidFile, "utf8")).trim())).toBe(pid);
    expect(await lease()).toBe("10.84.0.11");
    // The lease the guest took before the restart is still in the server's lease file.
    expect(r.dhcpLeases).toEqual([expect.objectContaining({ vnetId: 84, ip: "10.84.0.11" })]);
  }, 60_000);
});
