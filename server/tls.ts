// The portal's certificate and the pins agents hold. The portal serves HTTPS itself (server/serve.ts)
// with configured files or a self-signed certificate it generates once and keeps beside the
// database; behind a TLS proxy it is told the proxy's fingerprint instead. Agents pin the
// fingerprint the join token carries, so a self-signed certificate is as safe as a CA-signed one
// for them; a change of certificate is staged (agents get both pins over their channel) and then
// activated.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Env } from "./env";

export type TlsMaterial = { cert: string; key: string; fingerprint: string };

/** SHA-256 of the certificate's DER, base64url (43 characters): the form tokens and agents use. */
export function fingerprintOf(certPem: string): string {
  const der = new crypto.X509Certificate(certPem).raw;
  return crypto.createHash("sha256").update(der).digest("base64url");
}

/** Generates a self-signed ECDSA P-256 certificate with Debian's openssl (no extra npm package:
 * the `selfsigned` package does RSA in pure JavaScript through node-forge). Files mode 600. */
export function generateSelfSigned(certFile: string, keyFile: string) {
  fs.mkdirSync(/*turbopackIgnore: true*/ path.dirname(certFile), { recursive: true, mode: 0o700 });
  const host = os.hostname();
  const tmpKey = `${keyFile}.${process.pid}.tmp`;
  const tmpCert = `${certFile}.${process.pid}.tmp`;
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        tmpKey,
        "-out",
        tmpCert,
        "-days",
        "3650",
        "-subj",
        `/CN=${host.replace(/[^A-Za-z0-9.-]/g, "-")}`,
        "-addext",
        `subjectAltName=DNS:${host.replace(/[^A-Za-z0-9.-]/g, "-")},DNS:localhost,IP:127.0.0.1`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `Could not generate a self-signed certificate with openssl (${stderr || (err as Error).message}); install Debian's openssl or set BRIDGEHEAD_TLS_CERT and BRIDGEHEAD_TLS_KEY`,
    );
  }
  fs.chmodSync(/*turbopackIgnore: true*/ tmpKey, 0o600);
  fs.renameSync(/*turbopackIgnore: true*/ tmpKey, keyFile);
  fs.renameSync(/*turbopackIgnore: true*/ tmpCert, certFile);
}

/** Reads a certificate and key pair; the error names the file. */
export function readMaterial(certFile: string, keyFile: string): TlsMaterial {
  const read = (f: string, what: string) => {
    try {
      return fs.readFileSync(/*turbopackIgnore: true*/ f, "utf8");
    } catch (err) {
      throw new Error(`Cannot read the TLS ${what} ${f}: ${(err as Error).message}`);
    }
  };
  const cert = read(certFile, "certificate");
  const key = read(keyFile, "key");
  let fingerprint: string;
  try {
    fingerprint = fingerprintOf(cert);
  } catch (err) {
    throw new Error(`${certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  return { cert, key, fingerprint };
}

/** Where the certificate is (files) and how it is chosen, from the settings. */
export function tlsFiles(env: Env): { mode: Env["BRIDGEHEAD_TLS"]; cert: string; key: string } {
  const dir = path.join(path.dirname(path.resolve(env.BRIDGEHEAD_DB)), "tls");
  if (env.BRIDGEHEAD_TLS === "files")
    return { mode: "files", cert: env.BRIDGEHEAD_TLS_CERT!, key: env.BRIDGEHEAD_TLS_KEY! };
  return { mode: env.BRIDGEHEAD_TLS, cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem") };
}

/** The certificate to serve: the configured files, or the kept self-signed one (generated on the
 * first start). null when TLS is off. */
export function loadServedMaterial(env: Env): TlsMaterial | null {
  const f = tlsFiles(env);
  if (f.mode === "off") return null;
  if (f.mode === "self-signed" && !fs.existsSync(/*turbopackIgnore: true*/ f.cert))
    generateSelfSigned(f.cert, f.key);
  return readMaterial(f.cert, f.key);
}

/** What agents must see and what is staged: one per App. The change itself (stage, activate,
 * discard) is server/services/nodes/certificate.ts. */
export class ChannelTls {
  /** The fingerprint agents pin now: the served certificate's, or the proxy's (BRIDGEHEAD_TLS_PIN). */
  current: string | null = null;
  /** A staged replacement (certificate files or a proxy fingerprint) agents are being re-pinned to. */
  next: string | null = null;
  /** Where this portal's served certificate lives (null: a proxy terminates TLS, or TLS is off). */
  files: { cert: string; key: string; generate: boolean } | null = null;
  /** Behind a TLS proxy: where a re-pin made at runtime is kept (null: in memory only). */
  readonly proxyFile: string | null = null;
  /** Called on activation with the new certificate, so the HTTPS server swaps its context. */
  onActivate: ((m: TlsMaterial) => void) | null = null;
  private readonly configuredPin: string | null = null;

  constructor(env?: Env) {
    if (!env?.BRIDGEHEAD_TLS_PIN) return;
    this.current = this.configuredPin = env.BRIDGEHEAD_TLS_PIN;
    if (env.BRIDGEHEAD_DB === ":memory:") return;
    this.proxyFile = path.join(path.dirname(path.resolve(env.BRIDGEHEAD_DB)), "tls", "proxy-pins.json");
    // A re-pin done on the Nodes page outlives a restart, as long as the setting is the one it
    // started from; an admin who edits BRIDGEHEAD_TLS_PIN afterwards means the new value.
    try {
      const kept = JSON.parse(fs.readFileSync(/*turbopackIgnore: true*/ this.proxyFile, "utf8")) as {
        configured?: string;
        current?: string;
        next?: string | null;
      };
      if (kept.configured === this.configuredPin && kept.current) {
        this.current = kept.current;
        this.next = kept.next ?? null;
      }
    } catch {
      // No runtime re-pin yet.
    }
  }

  /** The pins agents should accept from now on (current first); undefined without TLS. */
  pins(): string[] | undefined {
    if (!this.current) return undefined;
    return this.next ? [this.current, this.next] : [this.current];
  }

  /** Keeps the proxy pins across restarts (mode 600, written atomically). */
  saveProxyPins() {
    if (!this.proxyFile) return;
    fs.mkdirSync(/*turbopackIgnore: true*/ path.dirname(this.proxyFile), { recursive: true, mode: 0o700 });
    const tmp = `${this.proxyFile}.${process.pid}.tmp`;
    fs.writeFileSync(
      /*turbopackIgnore: true*/ tmp,
      JSON.stringify({ configured: this.configuredPin, current: this.current, next: this.next }),
      { mode: 0o600 },
    );
    fs.renameSync(/*turbopackIgnore: true*/ tmp, this.proxyFile);
  }

  /** Starts serving `m` from `files` (the HTTPS server calls this once it listens). A staged
   * certificate left from before a restart is picked up again. */
  serve(m: TlsMaterial, files: { cert: string; key: string; generate: boolean }) {
    this.files = files;
    this.current = m.fingerprint;
    const staged = nextFiles(files);
    if (
      fs.existsSync(/*turbopackIgnore: true*/ staged.cert) &&
      fs.existsSync(/*turbopackIgnore: true*/ staged.key)
    )
      this.next = readMaterial(staged.cert, staged.key).fingerprint;
  }
}

/** The staged certificate's files: beside the current ones, with `.next` added. */
export const nextFiles = (f: { cert: string; key: string }) => ({
  cert: `${f.cert}.next`,
  key: `${f.key}.next`,
});
