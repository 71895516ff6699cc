// Certificate fingerprints as people write them and as tokens carry them (pure: no I/O).

/** A fingerprint as people paste it (openssl's `AA:BB:…` hex, or base64url) → base64url. */
export function normalizeFingerprint(input: string): string | null {
  const s = input.trim();
  if (/^[A-Za-z0-9_-]{43}$/.test(s)) return s;
  const hex = s.replace(/^sha256( fingerprint)?=/i, "").replace(/:/g, "");
  if (/^[0-9a-fA-F]{64}$/.test(hex)) return Buffer.from(hex, "hex").toString("base64url");
  return null;
}

/** The colon-separated hex form (what `openssl x509 -fingerprint -sha256` prints), for people. */
export const fingerprintHex = (fp: string) =>
  Buffer.from(fp, "base64url").toString("hex").toUpperCase().match(/../g)!.join(":");
