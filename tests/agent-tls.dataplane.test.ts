// The agent channel over HTTPS, pinned at enrollment: real agent processes against the real server
// on a self-signed certificate, node namespaces for their dataplanes. A TLS-terminating proxy on
// loopback with another certificate logs every byte it decrypts: the agent must hang up after the
// handshake, before a join token, a credential or any HTTP is written.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodes } from "../db/schema";
import type { App } from "../server/app";
import { testApp, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";
import { listNodes } from "../server/services/nodes/list";
import { generateSelfSigned, readMaterial, type TlsMaterial } from "../server/tls";
import { deleteNamespaces, nsPrefix, pings, requireKernel, waitFor } from "./kernel";

const run = requireKernel("agent channel over pinned TLS");
const PREFIX = nsPrefix("t");
const ROOT = path.resolve(import.meta.dirname, "..");

type Agent = { child: ChildProcess; log(): string; exit: Promise<number | null> };

describe.runIf(run)("the agent channel is HTTPS pinned at enrollment", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-tls-"));
  let app: App;
  let portal: TlsMaterial;
  let other: TlsMaterial;
  let srv: Awaited<ReturnType<typeof serveApp>>;
  let plain: Awaited<ReturnType<typeof serveApp>>;
  let admin: Awaited<ReturnType<typeof userCaller>>;
  let vnetId = 0;
  const children: ChildProcess[] = [];
  /** What the impostor proxy decrypted from agents, and how many connections it accepted. */
  const received: Buffer[] = [];
  let handshakes = 0;
  let proxy: tls.Server;
  let proxyUrl = "";

  const material = (name: string) => {
    const cert = path.join(tmp, `${name}.pem`);
    const key = path.join(tmp, `${name}.key`);
    generateSelfSigned(cert, key);
    return readMaterial(cert, key);
  };

  /** Starts agent/main.ts without the test harness's plain-HTTP permission. */
  const agent = (args: string[], ns: string, state: string): Agent => {
    const env = { ...process.env };
    delete env.BRIDGEHEAD_AGENT_INSECURE;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "agent/main.ts", ...args, "--netns", ns, "--state", state, "--interval", "1"],
      { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(child);
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    return { child, log: () => out, exit: new Promise((r) => child.once("exit", (code) => r(code))) };
  };
  const enroll = async (name: string) => admin.node.create({ name });
  const row = (id: number) => app.db.select().from(nodes).where(eq(nodes.id, id)).get()!;

  beforeAll(async () => {
    deleteNamespaces(PREFIX);
    portal = material("portal");
    other = material("impostor");
    app = testApp(path.join(tmp, "db.sqlite"));
    srv = await serveApp(app, 0, portal);
    plain = await serveApp(app, 0);
    admin = await userCaller(app, "alice", "admin", 0);
    vnetId = (
      await admin.vnet.create({
        name: "tls-net",
        subnet: "10.77.0.0/24",
        gateway: "10.77.0.1",
        firstIp: "10.77.0.10",
        size: 10,
      })
    ).id;
    proxy = tls.createServer({ cert: other.cert, key: other.key }, (sock) => {
      sock.on("data", (d) => received.push(d));
      sock.on("error", () => {});
    });
    // Connections accepted (TCP): the agent hangs up right after its side of the handshake, often
    // before the server side counts it as complete.
    proxy.on("connection", () => handshakes++);
    proxy.on("tlsClientError", () => {});
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    proxyUrl = `https://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    for (const c of children)
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        await gone;
      }
    proxy?.close();
    await plain?.close();
    await srv?.close();
    deleteNamespaces(PREFIX);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("the join token carries the certificate's fingerprint; the agent enrolls over HTTPS, keeps the pin with its credential and converges", async () => {
    const node = await enroll("tls1");
    expect(node.joinToken).toBe(`${node.joinToken.split(".")[0]}.${portal.fingerprint}`);
    const inst = await admin.instance.create({ name: "t1", nodeId: node.id, nics: [{ vnetId }] });
    const ns = `${PREFIX}n1`;
    const state = path.join(tmp, "n1.json");
    const a = agent(["--server", srv.url, "--token", node.joinToken], ns, state);
    await waitFor(`the agent to apply its revision over HTTPS\n${a.log()}`, () => {
      const n = row(node.id);
      return (
        n.report?.revision === n.desiredRevision && n.report.ok === true && app.agents.isConnected(node.id)
      );
    });
    expect(pings(`${ns}-i${inst.id}`, "10.77.0.1")).toBe(true);
    const saved = JSON.parse(fs.readFileSync(state, "utf8"));
    expect(saved.pins).toEqual([portal.fingerprint]);
    expect(fs.statSync(state).mode & 0o777).toBe(0o600);
    const listed = listNodes(app).find((n) => n.id === node.id)!;
    expect(listed.insecure).toBe(false);
    expect(listed.pinned).toBe(true);
    expect(a.log()).not.toContain("WARNING");
  });

  it("a TLS proxy with another certificate is refused after the handshake: it never receives a byte of HTTP, so no token", async () => {
    const node = await enroll("tls2");
    const before = row(node.id);
    received.length = 0;
    const hs = handshakes;
    const a = agent(
      ["--server", proxyUrl, "--token", node.joinToken],
      `${PREFIX}n2`,
      path.join(tmp, "n2.json"),
    );
    const code = await a.exit;
    console.log(
      `impostor proxy: ${handshakes - hs} connection(s), ${Buffer.concat(received).length} bytes of plaintext received`,
    );
    expect(code).toBe(2);
    expect(a.log()).toContain(
      `presented a certificate with SHA-256 fingerprint ${other.fingerprint}, not the pinned ${portal.fingerprint}`,
    );
    // It did reach the proxy and read its certificate (the message names it), and sent nothing.
    expect(handshakes - hs).toBeGreaterThanOrEqual(1);
    expect(Buffer.concat(received).length).toBe(0);
    // Nothing changed on the server: the token is still unused.
    expect(row(node.id)).toEqual(before);
  });

  it("an enrolled agent sent to the proxy never sends its credential (no Authorization header reaches it)", async () => {
    const state = path.join(tmp, "n1.json");
    const saved = JSON.parse(fs.readFileSync(state, "utf8"));
    const hijacked = path.join(tmp, "n1-hijacked.json");
    fs.writeFileSync(hijacked, JSON.stringify({ ...saved, server: proxyUrl }), { mode: 0o600 });
    received.length = 0;
    const hs = handshakes;
    const a = agent([], `${PREFIX}n1`, hijacked);
    await waitFor(`the agent to try the proxy twice\n${a.log()}`, () => handshakes - hs >= 2, 25_000);
    await new Promise((r) => setTimeout(r, 500));
    const bytes = Buffer.concat(received).toString("latin1");
    expect(bytes).toBe("");
    expect(bytes).not.toMatch(/authorization/i);
    expect(a.log()).toContain("presented a certificate with SHA-256 fingerprint");
    a.child.kill("SIGTERM");
    await a.exit;
  });

  it("a wrong fingerprint in the join token is refused with a clear message and nothing is enrolled", async () => {
    const node = await enroll("tls3");
    const before = row(node.id);
    const forged = `${node.joinToken.split(".")[0]}.${other.fingerprint}`;
    const a = agent(["--server", srv.url, "--token", forged], `${PREFIX}n3`, path.join(tmp, "n3.json"));
    expect(await a.exit).toBe(2);
    expect(a.log()).toContain(`enrollment at ${srv.url} failed`);
    expect(a.log()).toContain(
      `presented a certificate with SHA-256 fingerprint ${portal.fingerprint}, not the pinned ${other.fingerprint}`,
    );
    expect(row(node.id)).toEqual(before);
  });

  it("plain HTTP is refused without --insecure, and works with it, warning in the log and on the Nodes page", async () => {
    const node = await enroll("tls4");
    const refused = agent(
      ["--server", plain.url, "--token", node.joinToken],
      `${PREFIX}n4`,
      path.join(tmp, "n4.json"),
    );
    expect(await refused.exit).toBe(2);
    expect(refused.log()).toContain("is plain HTTP");
    expect(row(node.id).enrolledAt).toBeNull();
    const a = agent(
      ["--server", plain.url, "--token", node.joinToken, "--insecure"],
      `${PREFIX}n4`,
      path.join(tmp, "n4.json"),
    );
    await waitFor(`the insecure agent to apply\n${a.log()}`, () => {
      const n = row(node.id);
      return n.report?.revision === n.desiredRevision && n.report.ok === true;
    });
    expect(a.log()).toContain("WARNING: --insecure");
    expect(listNodes(app).find((n) => n.id === node.id)!.insecure).toBe(true);
  });
});
