// The installable agent: the esbuild bundle runs from a directory without node_modules, its
// install writes a unit that systemd-analyze accepts (and a deliberately broken one it refuses),
// keeps the token at mode 600, and uninstall takes everything out of the scratch root again. As
// root with a kernel, the bundle copied alone also enrolls and converges a node namespace.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodes } from "../db/schema";
import { VERSION } from "../lib/version";
import { testApp, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";
import { deleteNamespaces, nsPrefix, requireKernel, waitFor } from "./kernel";

const ROOT = path.resolve(import.meta.dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-install-"));
const dir = path.join(tmp, "bare");
const scratch = path.join(tmp, "root");
const unit = path.join(scratch, "etc/systemd/system/bridgehead-agent.service");
const analyze = spawnSync("sh", ["-c", "command -v systemd-analyze"]).status === 0;
const bundled = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [path.join(dir, "bridgehead-agent.mjs"), ...args], {
    cwd: dir,
    encoding: "utf8",
    env,
  });

describe("the bundled agent", () => {
  beforeAll(() => {
    execFileSync("bash", ["scripts/build-agent.sh"], { cwd: ROOT, stdio: "ignore" });
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(path.join(ROOT, "dist")))
      fs.copyFileSync(path.join(ROOT, "dist", f), path.join(dir, f));
  }, 120_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("runs from a directory with no node_modules anywhere above it and prints its version", () => {
    for (let d = dir; d !== path.dirname(d); d = path.dirname(d))
      expect(fs.existsSync(path.join(d, "node_modules")), `${d}/node_modules`).toBe(false);
    const r = bundled(["--version"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(`bridgehead-agent ${VERSION}`);
  });

  it("install writes the unit, the files and the token (600) into a scratch root; status reads them back", () => {
    const r = bundled([
      "install",
      "--server",
      "https://portal.example:3000",
      "--token",
      "bhj_secret.fingerprint",
      "--underlay-dev",
      "eth0",
      "--root",
      scratch,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const text = fs.readFileSync(unit, "utf8");
    expect(text).toContain("Restart=always");
    // The DHCP servers outlive an agent restart (they are adopted): systemd stops the agent alone.
    expect(text).toMatch(/^KillMode=process$/m);
    // The last three are the DHCP servers': ports 53 and 67, then serving as an unprivileged user.
    const caps = "CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID";
    expect(text).toMatch(new RegExp(`^CapabilityBoundingSet=${caps}$`, "m"));
    expect(text).toMatch(new RegExp(`^AmbientCapabilities=${caps}$`, "m"));
    // /run/bridgehead (the DHCP servers' files) is writable under ProtectSystem=strict, enterable
    // by dnsmasq's user, and kept across agent restarts so running servers are adopted.
    expect(text).toContain(
      "RuntimeDirectory=bridgehead\nRuntimeDirectoryMode=0755\nRuntimeDirectoryPreserve=yes",
    );
    expect(text).toContain("ProtectSystem=strict");
    expect(text).toContain("ProtectHome=yes");
    expect(text).toContain("ReadWritePaths=/var/lib/bridgehead-agent /run/netns");
    // The token is not in the world-readable unit.
    expect(text).not.toContain("bhj_secret");
    const token = path.join(scratch, "var/lib/bridgehead-agent/join-token");
    expect(fs.readFileSync(token, "utf8").trim()).toBe("bhj_secret.fingerprint");
    expect(fs.statSync(token).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(token)).mode & 0o777).toBe(0o700);
    for (const f of ["bridgehead-agent.mjs", "nlhelper.py", "ct-delete.py"])
      expect(fs.existsSync(path.join(scratch, "usr/local/lib/bridgehead-agent", f)), f).toBe(true);
    const s = bundled(["status", "--root", scratch]);
    expect(s.stdout).toContain(`unit: ${unit}`);
    expect(s.stdout).toContain("not enrolled yet");
  });

  it.runIf(analyze)("the generated unit passes systemd-analyze verify; a broken copy does not", () => {
    const ok = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/bridgehead-agent\.service:/);
    const broken = path.join(tmp, "bridgehead-broken.service");
    fs.writeFileSync(broken, fs.readFileSync(unit, "utf8").replace("Type=simple", "Type=simpel"));
    const bad = spawnSync("systemd-analyze", ["verify", broken], { encoding: "utf8" });
    expect(bad.stderr).toMatch(/Failed to parse service type|simpel/);
  });
  it.runIf(analyze)(
    "the portal's unit (deploy/bridgehead-portal.service) passes systemd-analyze verify",
    () => {
      const r = spawnSync(
        "systemd-analyze",
        ["verify", path.join(ROOT, "deploy/bridgehead-portal.service")],
        {
          encoding: "utf8",
        },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/bridgehead-portal\.service:/);
    },
  );
  it.skipIf(analyze)(
    "systemd-analyze verify (skipped: systemd-analyze is not installed; Debian package systemd)",
    () => {},
  );

  it("uninstall removes the unit, the files and the state from the scratch root", () => {
    const r = bundled(["uninstall", "--root", scratch]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("left as they are");
    expect(fs.existsSync(unit)).toBe(false);
    expect(fs.existsSync(path.join(scratch, "usr/local/lib/bridgehead-agent"))).toBe(false);
    expect(fs.existsSync(path.join(scratch, "var/lib/bridgehead-agent"))).toBe(false);
    expect(bundled(["status", "--root", scratch]).stdout).toContain("not installed");
  });

  const kernel = requireKernel("the bundled agent converges a node");
  it.runIf(kernel)("copied alone, the bundle enrolls a node namespace and converges (root)", async () => {
    const prefix = nsPrefix("b");
    deleteNamespaces(prefix);
    const app = testApp(path.join(tmp, "db.sqlite"));
    const srv = await serveApp(app);
    try {
      const admin = await userCaller(app, "alice", "admin", 0);
      const node = await admin.node.create({ name: "bundled" });
      const child = spawn(
        process.execPath,
        [
          path.join(dir, "bridgehead-agent.mjs"),
          ...["--server", srv.url, "--token", node.joinToken, "--insecure", "--netns", `${prefix}n1`],
          ...["--state", path.join(tmp, "state.json"), "--interval", "1"],
        ],
        { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      await waitFor(`the bundled agent to apply\n${out}`, () => {
        const n = app.db.select().from(nodes).where(eq(nodes.id, node.id)).get()!;
        return n.report?.ok === true && n.report.revision === n.desiredRevision && n.agentVersion === VERSION;
      });
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    } finally {
      await srv.close();
      deleteNamespaces(prefix);
    }
  });
});
