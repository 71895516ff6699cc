// Changing the certificate agents pin, as an explicit admin action over the agents' existing
// channel: stage a new one (generated, uploaded, or the new certificate of the TLS proxy in front),
// and every node's pushed state carries both fingerprints, which each agent stores beside its
// current pin over the still-pinned channel and reports back; then activate (the portal serves
// the new certificate, or the proxy's new one is now the only pin) or discard. An agent that never
// received the new pin would refuse the new certificate and need a new join token, so activation
// is refused while some agent has not reported it, unless the admin overrides.
import crypto from "node:crypto";
import fs from "node:fs";
import { and, isNotNull, isNull } from "drizzle-orm";
import type { z } from "zod";
import { nodes } from "../../../db/schema";
import { fingerprintHex, normalizeFingerprint } from "../../../lib/fingerprint";
import type { certificateActivateInput, certificateStageInput } from "../../../lib/schemas";
import { type App, RECONNECT } from "../../app";
import { type Actor, audit } from "../../audit";
import { conflict, DomainError, invalid } from "../../errors";
import { fingerprintOf, generateSelfSigned, nextFiles, readMaterial } from "../../tls";
import { mutate } from "../revision";

const precondition = (msg: string, field?: string) => new DomainError("precondition", msg, field);

type CertInfo = { fingerprint: string; hex: string; subject?: string; validTo?: string };

function certInfo(fingerprint: string, pem?: string): CertInfo {
  const info: CertInfo = { fingerprint, hex: fingerprintHex(fingerprint) };
  if (pem) {
    try {
      const x = new crypto.X509Certificate(pem);
      info.subject = x.subject.replace(/\n/g, ", ");
      info.validTo = new Date(x.validTo).toISOString();
    } catch {
      // A fingerprint is all that is known.
    }
  }
  return info;
}

const readIfThere = (file: string) => {
  try {
    return fs.readFileSync(/*turbopackIgnore: true*/ file, "utf8");
  } catch {
    return undefined;
  }
};

/** Enrolled, unrevoked nodes and whether each holds `pin` (by what its agent last reported). */
function pinHolders(app: App, pin: string) {
  return app.db
    .select({ id: nodes.id, name: nodes.name, report: nodes.report })
    .from(nodes)
    .where(and(isNotNull(nodes.enrolledAt), isNull(nodes.revokedAt)))
    .orderBy(nodes.name)
    .all()
    .filter((n) => !n.report?.insecure)
    .map((n) => ({ id: n.id, name: n.name, holds: n.report?.pins?.includes(pin) ?? false }));
}

/** What the Nodes page shows: how agents trust the portal, and a staged change and who has it. */
export function certificateStatus(app: App) {
  const t = app.tls;
  const mode = t.files ? ("served" as const) : t.current ? ("proxy" as const) : ("off" as const);
  if (mode === "off" || !t.current) return { mode: "off" as const, current: null, next: null, nodes: [] };
  const current = certInfo(t.current, t.files ? readIfThere(t.files.cert) : undefined);
  const next = t.next ? certInfo(t.next, t.files ? readIfThere(nextFiles(t.files).cert) : undefined) : null;
  const holders = t.next ? pinHolders(app, t.next) : [];
  return {
    mode,
    current,
    next,
    /** Every pinned agent and whether it acknowledged the staged pin (empty when none is staged). */
    nodes: holders.map((n) => ({ id: n.id, name: n.name, acknowledged: n.holds })),
  };
}

/** Every agent's state changes (its pins): a new revision for all of them, pushed now. */
const allNodes = (app: App) =>
  app.db
    .select({ id: nodes.id })
    .from(nodes)
    .where(isNull(nodes.revokedAt))
    .all()
    .map((n) => n.id);

/** Parses an uploaded certificate and key; the errors sit at their field. */
function checkUpload(certPem: string, keyPem: string) {
  let x: crypto.X509Certificate;
  try {
    x = new crypto.X509Certificate(certPem);
  } catch {
    throw invalid("This is not a PEM certificate (-----BEGIN CERTIFICATE----- …)", "cert");
  }
  if (new Date(x.validTo).getTime() <= Date.now())
    throw invalid(`This certificate expired on ${new Date(x.validTo).toISOString()}`, "cert");
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(keyPem);
  } catch {
    throw invalid("This is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- …)", "key");
  }
  if (!x.checkPrivateKey(key)) throw invalid("This key does not belong to the certificate", "key");
}

/** The proxy's new certificate as the admin gave it: a PEM certificate or a fingerprint. */
function proxyFingerprint(input: string): string {
  if (input.includes("-----BEGIN")) {
    try {
      return fingerprintOf(input);
    } catch {
      throw invalid("This is not a PEM certificate", "proxy");
    }
  }
  const fp = normalizeFingerprint(input);
  if (!fp)
    throw invalid(
      "Not a SHA-256 fingerprint: paste AA:BB:… as `openssl x509 -noout -fingerprint -sha256` prints it, 43 base64url characters, or the certificate itself",
      "proxy",
    );
  return fp;
}

/** Stages a new certificate: agents get its pin beside the current one over their channel. */
export function stageCertificate(app: App, actor: Actor, input: z.output<typeof certificateStageInput>) {
  const t = app.tls;
  if (!t.current)
    throw precondition(
      "The agent channel has no TLS (BRIDGEHEAD_TLS=off and no BRIDGEHEAD_TLS_PIN): there is no certificate to change",
    );
  if (t.next)
    throw conflict(
      `A certificate (SHA-256 ${fingerprintHex(t.next)}) is already staged: activate or discard it first`,
    );
  let fingerprint: string;
  if (input.kind === "proxy") {
    if (t.files)
      throw precondition(
        "The portal serves its own certificate: generate or upload the new one instead",
        "proxy",
      );
    fingerprint = proxyFingerprint(input.proxy);
    if (fingerprint === t.current) throw invalid("This is the certificate agents pin already", "proxy");
    t.next = fingerprint;
    t.saveProxyPins();
  } else {
    if (!t.files)
      throw precondition(
        "A TLS proxy in front of the portal presents the certificate: install the new one on the proxy and give its certificate or fingerprint here",
      );
    const staged = nextFiles(t.files);
    if (input.kind === "upload") {
      checkUpload(input.cert, input.key);
      fingerprint = fingerprintOf(input.cert);
      if (fingerprint === t.current)
        throw invalid("This is the certificate the portal serves already", "cert");
    }
    try {
      if (input.kind === "generate") generateSelfSigned(staged.cert, staged.key);
      else {
        fs.writeFileSync(/*turbopackIgnore: true*/ staged.key, `${input.key}\n`, { mode: 0o600 });
        fs.writeFileSync(/*turbopackIgnore: true*/ staged.cert, `${input.cert}\n`, { mode: 0o644 });
      }
      fingerprint = readMaterial(staged.cert, staged.key).fingerprint;
    } catch (err) {
      for (const f of [staged.cert, staged.key]) fs.rmSync(/*turbopackIgnore: true*/ f, { force: true });
      throw precondition(
        `Cannot write the staged certificate beside ${t.files.cert}: ${(err as Error).message}`,
      );
    }
    t.next = fingerprint;
  }
  mutate(app, (tx, touch) => {
    touch(allNodes(app));
    audit(tx, actor, {
      action: "tls.stage",
      objectType: "certificate",
      objectName: fingerprintHex(fingerprint),
      detail: `${input.kind === "proxy" ? "proxy certificate" : input.kind === "generate" ? "generated self-signed certificate" : "uploaded certificate"} staged; agents are re-pinned to SHA-256 ${fingerprint} beside ${t.current}`,
    });
  });
  return certificateStatus(app);
}

/** Serves the staged certificate (or makes the proxy's the only pin). Refused while some agent
 * has not acknowledged it, unless forced: those agents will refuse the new certificate. */
export function activateCertificate(
  app: App,
  actor: Actor,
  input: z.output<typeof certificateActivateInput>,
) {
  const t = app.tls;
  const next = t.next;
  if (!next || !t.current) throw precondition("No certificate is staged: stage one first");
  const missing = pinHolders(app, next).filter((n) => !n.holds);
  if (missing.length > 0 && !input.force)
    throw conflict(
      `${missing.length} node(s) have not acknowledged the new certificate yet: ${missing.map((n) => n.name).join(", ")}. Their agents would refuse it and need a new join token. Wait until they are connected and acknowledge it, or activate anyway`,
      "force",
    );
  const previous = t.current;
  if (t.files) {
    const staged = nextFiles(t.files);
    const m = readMaterial(staged.cert, staged.key);
    // Keep the previous pair beside them (an admin may want it back on a proxy or for forensics).
    for (const f of [t.files.cert, t.files.key])
      if (fs.existsSync(/*turbopackIgnore: true*/ f))
        fs.copyFileSync(/*turbopackIgnore: true*/ f, `${f}.previous`);
    fs.renameSync(/*turbopackIgnore: true*/ staged.key, t.files.key);
    fs.renameSync(/*turbopackIgnore: true*/ staged.cert, t.files.cert);
    t.onActivate?.(m);
  }
  t.current = next;
  t.next = null;
  t.saveProxyPins();
  mutate(app, (tx, touch) => {
    touch(allNodes(app));
    audit(tx, actor, {
      action: "tls.activate",
      objectType: "certificate",
      objectName: fingerprintHex(next),
      detail: `agents now pin SHA-256 ${next} (was ${previous})${missing.length ? `; activated anyway while ${missing.map((n) => n.name).join(", ")} had not acknowledged it` : ""}`,
    });
  });
  // Open channels were set up with the old certificate: agents reconnect and check the new one.
  app.agents.disconnect(undefined, RECONNECT);
  return certificateStatus(app);
}

/** Drops the staged certificate: agents are pushed the current pin alone again. */
export function discardCertificate(app: App, actor: Actor) {
  const t = app.tls;
  const next = t.next;
  if (!next) throw precondition("No certificate is staged");
  if (t.files)
    for (const f of Object.values(nextFiles(t.files)))
      fs.rmSync(/*turbopackIgnore: true*/ f, { force: true });
  t.next = null;
  t.saveProxyPins();
  mutate(app, (tx, touch) => {
    touch(allNodes(app));
    audit(tx, actor, {
      action: "tls.discard",
      objectType: "certificate",
      objectName: fingerprintHex(next),
      detail: `staged certificate SHA-256 ${next} discarded; agents pin ${t.current} only`,
    });
  });
  return certificateStatus(app);
}
