// A certificate change re-pins agents over their existing channel: real agent processes against
// the real HTTPS server (and, in the second part, a real TLS-terminating proxy in front of a plain
// portal), node namespaces for their dataplanes. An agent connected while the change is staged
// learns the new pin and keeps converging after the switch; one that was away refuses the new
// certificate before it sends its credential.
import { type ChildProcess, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, nodes } from "../db/schema";
import { fingerprintHex } from "../lib/fingerprint";
import { type App, createApp } from "../server/app";
import { loadEnv } from "../server/env";
import { refusal, snapshot, userCaller } from "../server/harness.testing";
import { serveApp } from "../server/http";
import { listNodes } from "../server/services/nodes/list";
import { generateSelfSigned, readMaterial, type TlsMaterial } from "../server/tls";
import { deleteNamespaces, nsPrefix, pings, requireKernel, waitFor } from "./kernel";

const run = requireKernel("certificate change re-pins agents");
const PREFIX = nsPrefix("c");
const ROOT = path.resolve(import.meta.dirname, "..");

type Agent = { child: ChildProcess; log(): string; exit: Promise<number | null> };

/** The SHA-256 fingerprint (base64url) of the certificate a TLS server presents now. */
function servedFingerprint(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
      const raw = s.getPeerCertificate().raw;
      s.destroy();
      resolve(crypto.createHash("sha256").update(raw).digest("base64url"));
    });
    s.once("error", reject);
  });
}

describe.runIf(run)("changing the portal's certificate re-pins agents over their channel", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bh-cert-"));
  const children: ChildProcess[] = [];
  const closers: (() => unknown)[] = [];

  const material = (name: string): TlsMaterial & { files: { cert: string; key: string } } => {
    const cert = path.join(tmp, `${name}.pem`);
    const key = path.join(tmp, `${name}.key`);
    generateSelfSigned(cert, key);
    return { ...readMaterial(cert, key), files: { cert, key } };
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
  const stop = async (a: Agent) => {
    if (a.child.exitCode !== null || a.child.signalCode !== null) return;
    a.child.kill("SIGTERM");
    await a.exit;
  };
  const row = (app: App, id: number) => app.db.select().from(nodes).where(eq(nodes.id, id)).get()!;
  const converged = (app: App, id: number) => {
    const n = row(app, id);
    return n.report?.revision === n.desiredRevision && n.report.ok === true && app.agents.isConnected(id);
  };
  const pinsIn = (state: string) => JSON.parse(fs.readFileSync(state, "utf8")).pins as string[];
  const audits = (app: App, action: string) =>
    app.db.select().from(auditLog).where(eq(auditLog.action, action)).all();

  beforeAll(() => deleteNamespaces(PREFIX));
  afterAll(async () => {
    for (const c of children)
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        await gone;
      }
    for (const close of closers.reverse()) await close();
    deleteNamespaces(PREFIX);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("the portal's own certificate: stage → agents acknowledge → activate; the one that was away refuses the new certificate", async () => {
    const portal = material("portal");
    const app = createApp(
      loadEnv({
        BRIDGEHEAD_DB: path.join(tmp, "served.sqlite"),
        BRIDGEHEAD_SECRET: "test-secret-test-secret-test-secret-0000",
      }),
    );
    const srv = await serveApp(app, 0, portal, portal.files);
    closers.push(() => srv.close());
    const admin = await userCaller(app, "alice", "admin", 0);
    const vnetId = (
      await admin.vnet.create({
        name: "cert-net",
        subnet: "10.78.0.0/24",
        gateway: "10.78.0.1",
        firstIp: "10.78.0.10",
        size: 20,
      })
    ).id;
    const nodeA = await admin.node.create({ name: "cert-a" });
    const nodeB = await admin.node.create({ name: "cert-b" });
    await admin.instance.create({ name: "ca1", nodeId: nodeA.id, nics: [{ vnetId }] });
    await admin.instance.create({ name: "cb1", nodeId: nodeB.id, nics: [{ vnetId }] });
    const stateA = path.join(tmp, "a.json");
    const stateB = path.join(tmp, "b.json");
    const a = agent(["--server", srv.url, "--token", nodeA.joinToken], `${PREFIX}a`, stateA);
    let b = agent(["--server", srv.url, "--token", nodeB.joinToken], `${PREFIX}b`, stateB);
    await waitFor(`both agents to converge\n${a.log()}\n${b.log()}`, () =>
      [nodeA.id, nodeB.id].every((id) => converged(app, id)),
    );
    // cert-b goes away before the change and misses it.
    await stop(b);

    // Bad input is refused at its field and changes nothing.
    const before = snapshot(app);
    await refusal(
      admin.node.stageCertificate({ kind: "upload", cert: "not a certificate", key: "x" }),
      "BAD_REQUEST",
      "cert",
    );
    const stranger = material("stranger");
    const unrelated = material("unrelated");
    await refusal(
      admin.node.stageCertificate({ kind: "upload", cert: stranger.cert, key: unrelated.key }),
      "BAD_REQUEST",
      "key",
    );
    await refusal(admin.node.stageCertificate({ kind: "proxy", proxy: "AA:BB" }), "PRECONDITION_FAILED");
    await refusal(admin.node.activateCertificate({}), "PRECONDITION_FAILED");
    expect(snapshot(app)).toEqual(before);
    expect(fs.existsSync(`${portal.files.cert}.next`)).toBe(false);

    // Stage a generated certificate: the portal keeps serving the old one; cert-a learns both.
    const staged = await admin.node.stageCertificate({ kind: "generate" });
    const next = staged.next!.fingerprint;
    expect(next).not.toBe(portal.fingerprint);
    expect(await servedFingerprint(srv.url)).toBe(portal.fingerprint);
    await waitFor(`cert-a to acknowledge the staged pin\n${a.log()}`, () =>
      row(app, nodeA.id).report?.pins?.includes(next),
    );
    expect(pinsIn(stateA)).toEqual([portal.fingerprint, next]);
    expect(a.log()).toContain(`certificate pins updated by the server: ${portal.fingerprint}, ${next}`);
    const status = await admin.node.certificate();
    expect(status.nodes).toEqual([
      { id: nodeA.id, name: "cert-a", acknowledged: true },
      { id: nodeB.id, name: "cert-b", acknowledged: false },
    ]);
    expect(listNodes(app).find((n) => n.id === nodeB.id)!.pinned).toBe(false);
    await refusal(admin.node.stageCertificate({ kind: "generate" }), "CONFLICT");

    // Activation is refused while cert-b has not acknowledged, naming it; nothing changes.
    const held = snapshot(app);
    const why = await refusal(admin.node.activateCertificate({}), "CONFLICT", "force");
    expect(why.message).toContain("cert-b");
    expect(snapshot(app)).toEqual(held);
    expect(await servedFingerprint(srv.url)).toBe(portal.fingerprint);

    // The admin overrides: the portal serves the new certificate at once.
    const active = await admin.node.activateCertificate({ force: true });
    expect(active.current?.fingerprint).toBe(next);
    expect(active.next).toBeNull();
    expect(await servedFingerprint(srv.url)).toBe(next);
    expect(readMaterial(portal.files.cert, portal.files.key).fingerprint).toBe(next);

    // cert-a reconnects to the new certificate and keeps converging: a new instance is plumbed.
    const ca2 = await admin.instance.create({ name: "ca2", nodeId: nodeA.id, nics: [{ vnetId }] });
    await waitFor(`cert-a to converge after the switch\n${a.log()}`, () => {
      const n = row(app, nodeA.id);
      return converged(app, nodeA.id) && n.report?.pins?.join() === next;
    });
    expect(pings(`${PREFIX}a-i${ca2.id}`, "10.78.0.1")).toBe(true);
    expect(pinsIn(stateA)).toEqual([next]);

    // cert-b comes back with only the old pin: it refuses the new certificate and sends nothing.
    const bBefore = row(app, nodeB.id);
    b = agent([], `${PREFIX}b`, stateB);
    await waitFor(`cert-b to refuse the new certificate\n${b.log()}`, () =>
      b
        .log()
        .includes(
          `presented a certificate with SHA-256 fingerprint ${next}, not the pinned ${portal.fingerprint}`,
        ),
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(row(app, nodeB.id).report).toEqual(bBefore.report);
    expect(row(app, nodeB.id).lastSeenAt).toEqual(bBefore.lastSeenAt);
    await stop(b);

    // Audited: who staged and activated what, and that it was forced past cert-b.
    expect(audits(app, "tls.stage")).toHaveLength(1);
    const [act] = audits(app, "tls.activate");
    expect(act!.actor).toBe("alice");
    expect(act!.objectName).toBe(fingerprintHex(next));
    expect(act!.detail).toContain("activated anyway while cert-b had not acknowledged it");

    // Discard: a staged certificate that is dropped is unpinned again and its files go.
    const again = await admin.node.stageCertificate({ kind: "generate" });
    await waitFor("cert-a to learn the second staged pin", () =>
      row(app, nodeA.id).report?.pins?.includes(again.next!.fingerprint),
    );
    await admin.node.discardCertificate();
    expect(fs.existsSync(`${portal.files.cert}.next`)).toBe(false);
    await waitFor(`cert-a to drop the discarded pin\n${a.log()}`, () => pinsIn(stateA).join() === next);
    expect(await servedFingerprint(srv.url)).toBe(next);
    expect(audits(app, "tls.discard")).toHaveLength(1);
    await stop(a);
  });

  it("behind a TLS proxy: the join token carries the proxy's fingerprint, and a new proxy certificate is staged, acknowledged and activated", async () => {
    const oldProxy = material("proxy-old");
    const newProxy = material("proxy-new");
    const dbFile = path.join(tmp, "proxied.sqlite");
    const env = {
      BRIDGEHEAD_DB: dbFile,
      BRIDGEHEAD_SECRET: "test-secret-test-secret-test-secret-0000",
      BRIDGEHEAD_TLS: "off",
      BRIDGEHEAD_TLS_PIN: fingerprintHex(oldProxy.fingerprint),
    };
    const app = createApp(loadEnv(env));
    const plain = await serveApp(app, 0);
    closers.push(() => plain.close());
    // The proxy terminates TLS and forwards the plaintext to the portal's HTTP port.
    const portalPort = Number(new URL(plain.url).port);
    const sockets = new Set<net.Socket>();
    const proxy = tls.createServer({ cert: oldProxy.cert, key: oldProxy.key }, (front) => {
      const back = net.connect(portalPort, "127.0.0.1");
      front.pipe(back).pipe(front);
      for (const s of [front, back]) {
        sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => sockets.delete(s));
      }
    });
    proxy.on("tlsClientError", () => {});
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    closers.push(() => {
      for (const s of sockets) s.destroy();
      proxy.close();
    });
    const proxyUrl = `https://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;

    const admin = await userCaller(app, "alice", "admin", 0);
    const vnetId = (
      await admin.vnet.create({
        name: "proxy-net",
        subnet: "10.79.0.0/24",
        gateway: "10.79.0.1",
        firstIp: "10.79.0.10",
        size: 20,
      })
    ).id;
    const node = await admin.node.create({ name: "behind-proxy" });
    expect(node.joinToken.split(".")[1]).toBe(oldProxy.fingerprint);
    await admin.instance.create({ name: "p1", nodeId: node.id, nics: [{ vnetId }] });
    const state = path.join(tmp, "p.json");
    const a = agent(["--server", proxyUrl, "--token", node.joinToken], `${PREFIX}p`, state);
    await waitFor(`the agent to converge through the proxy\n${a.log()}`, () => converged(app, node.id));
    expect((await admin.node.certificate()).mode).toBe("proxy");

    // A generated certificate makes no sense when the proxy presents it; a bad fingerprint is
    // refused at its field.
    await refusal(admin.node.stageCertificate({ kind: "generate" }), "PRECONDITION_FAILED");
    await refusal(admin.node.stageCertificate({ kind: "proxy", proxy: "AA:BB:CC" }), "BAD_REQUEST", "proxy");

    // The admin stages the proxy's new certificate (pasted as PEM); the agent learns it.
    const staged = await admin.node.stageCertificate({ kind: "proxy", proxy: newProxy.cert });
    expect(staged.next!.fingerprint).toBe(newProxy.fingerprint);
    await waitFor(`the agent to acknowledge the proxy's new pin\n${a.log()}`, () =>
      row(app, node.id).report?.pins?.includes(newProxy.fingerprint),
    );

    // The proxy's certificate is replaced (its connections cut), then the change is activated:
    // no override needed, everyone acknowledged.
    proxy.setSecureContext({ cert: newProxy.cert, key: newProxy.key });
    for (const s of sockets) s.destroy();
    const active = await admin.node.activateCertificate({});
    expect(active.current?.fingerprint).toBe(newProxy.fingerprint);
    const p2 = await admin.instance.create({ name: "p2", nodeId: node.id, nics: [{ vnetId }] });
    await waitFor(`the agent to converge through the new proxy certificate\n${a.log()}`, () => {
      const n = row(app, node.id);
      return converged(app, node.id) && n.report?.pins?.join() === newProxy.fingerprint;
    });
    expect(pings(`${PREFIX}p-i${p2.id}`, "10.79.0.1")).toBe(true);
    expect(pinsIn(state)).toEqual([newProxy.fingerprint]);
    // New join tokens carry the new fingerprint, and a restarted portal keeps it (same setting).
    expect((await admin.node.newToken({ id: node.id })).joinToken.split(".")[1]).toBe(newProxy.fingerprint);
    expect(createApp(loadEnv(env)).tls.current).toBe(newProxy.fingerprint);
    expect(fs.statSync(path.join(tmp, "tls", "proxy-pins.json")).mode & 0o777).toBe(0o600);
    await stop(a);
  });
});
