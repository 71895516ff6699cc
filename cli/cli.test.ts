// The real `bridgehead` binary (bin/bridgehead.mjs, as npx runs it) against a real portal over HTTP
// on a real migrated database: login keeps the token at mode 600, commands change what the portal
// shows, --json is parseable, and the exit code tells not found, refused, invalid input and
// unreachable apart.
import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../server/app";
import { snapshot, testApp, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";
import { EXIT } from "./client";

const BIN = path.resolve(__dirname, "../bin/bridgehead.mjs");
const run = promisify(execFile);

describe("bridgehead CLI against a running portal", () => {
  let app: App;
  let server: { url: string; close(): Promise<void> };
  let dir: string;
  let token: string;
  let roToken: string;
  let env: Record<string, string | undefined>;
  let nodeId: number;

  beforeAll(async () => {
    app = testApp();
    server = await serveApp(app);
    const admin = await userCaller(app, "root", "admin", 0);
    token = (await admin.token.create({ name: "cli", expiresInDays: null, readOnly: false })).token;
    roToken = (await admin.token.create({ name: "ro", expiresInDays: null, readOnly: true })).token;
    nodeId = (await admin.node.create({ name: "n1" })).id;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-cli-"));
    env = { PATH: process.env.PATH, HOME: dir, BRIDGEHEAD_CONFIG: path.join(dir, "config.json") };
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function cli(args: string[], extra: Record<string, string> = {}) {
    try {
      const r = await run(process.execPath, [BIN, ...args], {
        env: { ...env, ...extra } as NodeJS.ProcessEnv,
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }

  it("login checks the token and keeps it at mode 600; then commands need no flags", async () => {
    const bad = await cli(["login", "--server", server.url, "--token", "bht_wrongwrongwrong"]);
    expect(bad.code).toBe(EXIT.refused);
    expect(bad.stderr).toMatch(/API token is not known/);
    expect(fs.existsSync(env.BRIDGEHEAD_CONFIG!)).toBe(false);
    const ok = await cli(["login", "--server", server.url, "--token", token]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Signed in to .* as root \(admin\); saved in /);
    expect(fs.statSync(env.BRIDGEHEAD_CONFIG!).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(env.BRIDGEHEAD_CONFIG!, "utf8"))).toEqual({
      server: server.url,
      token,
    });
    expect((await cli(["whoami"])).stdout).toMatch(/username:\s+root/);
  });

  it("scripts a network: vnet create, range add, lease hold, instance create, sg rules — all visible in the portal", async () => {
    const created = await cli([
      "--json",
      "vnet",
      "create",
      "cli-net",
      "--subnet",
      "10.42.0.0/24",
      "--first-ip",
      "10.42.0.10",
      "--size",
      "20",
    ]);
    expect(created.stderr).toBe("");
    const v = JSON.parse(created.stdout) as { id: number; name: string };
    expect(v.name).toBe("cli-net");
    expect((await cli(["range", "add", "cli-net", "--ip", "10.42.0.100", "--size", "5"])).code).toBe(0);
    expect((await cli(["lease", "hold", "cli-net", "10.42.0.11", "--reason", "gateway"])).stdout).toBe(
      "Held 1 address(es) on cli-net\n",
    );
    const inst = await cli([
      "instance",
      "create",
      "vm1",
      "--node",
      String(nodeId),
      "--vnet",
      "cli-net=10.42.0.15",
    ]);
    expect(inst.stdout).toMatch(/Created instance vm1 \(id \d+\): 10\.42\.0\.15/);
    const list = await cli(["vnet", "list"]);
    expect(list.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+DRIVER\s+TYPE\s+USED\s+HELD$/);
    // used counts the instance's address and the held one; held the hold alone.
    expect(list.stdout).toMatch(/cli-net\s+bridge\s+internal\s+2\/25\s+1/);
    const leases = JSON.parse(
      (await cli(["--json", "lease", "list", "cli-net", "--state", "hold"])).stdout,
    ) as {
      rows: { ip: string; reason: string }[];
    };
    expect(leases.rows.map((r) => [r.ip, r.reason])).toEqual([["10.42.0.11", "gateway"]]);

    expect((await cli(["sg", "create", "web", "--allow-outbound"])).code).toBe(0);
    expect(
      (
        await cli([
          "sg",
          "rule",
          "add",
          "web",
          "--direction",
          "INBOUND",
          "--protocol",
          "TCP",
          "--ports",
          "80,443",
        ])
      ).code,
    ).toBe(0);
    const shown = JSON.parse((await cli(["--json", "sg", "show", "web"])).stdout) as {
      rules: { id: number; direction: string; protocol: string; range?: string }[];
    };
    expect(shown.rules.map((r) => `${r.direction} ${r.protocol} ${r.range ?? ""}`.trim())).toEqual([
      "OUTBOUND ALL",
      "INBOUND TCP 80,443",
    ]);
    expect((await cli(["sg", "attach", "web", "--vnet", "cli-net"])).stdout).toMatch(
      /attached: web on VNET cli-net/,
    );
    expect((await cli(["sg", "rule", "delete", "web", String(shown.rules[0]!.id)])).code).toBe(0);
    const after = JSON.parse((await cli(["--json", "sg", "show", "web"])).stdout) as {
      rules: unknown[];
      vnets: { name: string }[];
    };
    expect(after.rules).toHaveLength(1);
    // What the CLI did is what the portal shows.
    const admin = await userCaller(app, "root2", "admin", 0);
    const got = await admin.vnet.get({ id: v.id });
    expect(got.ranges.map((r) => r.size)).toEqual([20, 5]);
    expect((await admin.instance.list()).map((i) => i.name)).toEqual(["vm1"]);
    expect((await cli(["audit", "list", "--action", "sg.", "--limit", "5"])).stdout).toMatch(
      /root\s+sg\.update\s+ok/,
    );
  });

  it("exit codes: invalid input 2 (naming the field, nothing written), not found 3, refused 4, unreachable 5", async () => {
    await cli(["whoami"], { BRIDGEHEAD_TOKEN: roToken }); // the token's first use stamps its last_used_at
    const before = snapshot(app);
    const invalid = await cli([
      "vnet",
      "create",
      "bad",
      "--subnet",
      "10.0.0.0/33",
      "--first-ip",
      "10.0.0.1",
      "--size",
      "4",
    ]);
    expect(invalid.code).toBe(EXIT.invalid);
    expect(invalid.stderr).toMatch(/^bridgehead: Invalid input: subnet: /);
    expect(invalid.stderr).toMatch(/\n {2}subnet: /);
    const usage = await cli([
      "vnet",
      "create",
      "bad",
      "--subnet",
      "10.0.0.0/24",
      "--first-ip",
      "10.0.0.1",
      "--size",
      "four",
    ]);
    expect(usage.code).toBe(EXIT.invalid);
    expect(usage.stderr).toMatch(/--size must be a whole number/);
    expect((await cli(["vnet", "frobnicate"])).code).toBe(EXIT.invalid);

    const nf = await cli(["vnet", "show", "no-such-net"]);
    expect(nf.code).toBe(EXIT.notFound);
    expect(nf.stderr).toMatch(/No vnet named "no-such-net"/);
    expect((await cli(["vnet", "show", "99999"])).code).toBe(EXIT.notFound);

    const ro = await cli(["vnet", "delete", "cli-net"], { BRIDGEHEAD_TOKEN: roToken });
    expect(ro.code).toBe(EXIT.refused);
    expect(ro.stderr).toMatch(/read-only/);
    const json = await cli(["--json", "vnet", "delete", "cli-net"], { BRIDGEHEAD_TOKEN: roToken });
    expect(JSON.parse(json.stderr)).toMatchObject({ exit: EXIT.refused });

    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const down = await cli(["vnet", "list"], { BRIDGEHEAD_SERVER: `http://127.0.0.1:${closed}` });
    expect(down.code).toBe(EXIT.unreachable);
    expect(down.stderr).toContain(`Cannot reach http://127.0.0.1:${closed}: ECONNREFUSED`);
    expect(snapshot(app)).toEqual(before);
  });

  it("prints a bash completion script that completes commands and subcommands", async () => {
    const r = await cli(["completion"]);
    expect(r.code).toBe(0);
    const file = path.join(dir, "completion.bash");
    fs.writeFileSync(file, r.stdout);
    const complete = async (line: string) => {
      const words = line.split(" ");
      const script = `source ${file}; COMP_WORDS=(${words.map((w) => `"${w}"`).join(" ")}); COMP_CWORD=${words.length - 1}; _bridgehead; echo "\${COMPREPLY[@]}"`;
      return (await run("bash", ["-c", script])).stdout.trim().split(" ");
    };
    expect(await complete("bridgehead v")).toEqual(["vnet"]);
    expect(await complete("bridgehead lease h")).toEqual(["hold", "history"]);
    expect(await complete("bridgehead sg rule ")).toEqual(["add", "delete"]);
  });
});
