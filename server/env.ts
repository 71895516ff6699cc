// Settings, validated once at start: a bad value stops the process with a message naming the variable.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_DB_FILE } from "../db";
import { isPostgresUrl } from "../db/url";
import { normalizeFingerprint } from "../lib/fingerprint";

const envSchema = z.object({
  BRIDGEHEAD_DB: z
    .string()
    .min(1)
    .default(DEFAULT_DB_FILE)
    // db/postgres.ts can migrate and fill a PostgreSQL database (`npm run db -- migrate-to`), but
    // the services still run on SQLite only: say so instead of creating a file named "postgres:".
    .refine((v) => !isPostgresUrl(v), {
      message:
        "this release runs the portal on a SQLite file only; keep BRIDGEHEAD_DB on the file (`npm run db -- migrate-to postgres://…` copies it into PostgreSQL)",
    }),
  BRIDGEHEAD_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  BRIDGEHEAD_URL: z.url("must be a URL such as http://portal.example:3000").optional(),
  BRIDGEHEAD_ADMIN_PASSWORD: z.string().min(12, "must be at least 12 characters").optional(),
  BRIDGEHEAD_JOIN_TOKEN_TTL_MIN: z.coerce.number().int().min(1).max(10080).default(60),
  BRIDGEHEAD_NODE_DOWN_AFTER_S: z.coerce.number().int().min(5).max(3600).default(30),
  // Tests run silent unless asked: their output is the test report.
  BRIDGEHEAD_LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      message: "must be one of fatal, error, warn, info, debug, trace, silent",
    })
    .default(process.env.VITEST ? "silent" : "info"),
  // Only behind a reverse proxy that sets X-Forwarded-Proto/-For itself: otherwise any client
  // could claim https or another address.
  BRIDGEHEAD_TRUST_PROXY: z
    .enum(["0", "1", "true", "false"], { message: "must be 1/true or 0/false" })
    .default("0")
    .transform((v) => v === "1" || v === "true"),
  // HTTPS of the portal's own server (server/serve.ts): "self-signed" generates a certificate on
  // the first start and keeps it in <data>/tls; "files" serves BRIDGEHEAD_TLS_CERT/KEY; "off"
  // serves plain HTTP (tests, or a TLS proxy in front: then set BRIDGEHEAD_TLS_PIN).
  BRIDGEHEAD_TLS: z
    .enum(["off", "self-signed", "files"], { message: "must be off, self-signed or files" })
    .optional(),
  BRIDGEHEAD_TLS_CERT: z.string().min(1).optional(),
  BRIDGEHEAD_TLS_KEY: z.string().min(1).optional(),
  // The SHA-256 fingerprint of the certificate agents see when a TLS proxy is in front.
  BRIDGEHEAD_TLS_PIN: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return undefined;
      const fp = normalizeFingerprint(v);
      if (!fp)
        ctx.addIssue({
          code: "custom",
          message: "must be a SHA-256 fingerprint (AA:BB:… as openssl prints it, or 43 base64url characters)",
        });
      return fp ?? undefined;
    }),
  // Scheduled backups (server/services/backups.ts): where, how often, how many are kept.
  BRIDGEHEAD_BACKUP_DIR: z.string().min(1).optional(),
  BRIDGEHEAD_BACKUP_INTERVAL_MIN: z.coerce.number().int().min(1).max(10080).default(1440),
  BRIDGEHEAD_BACKUP_KEEP: z.coerce.number().int().min(1).max(1000).default(14),
});

export type Env = Omit<z.infer<typeof envSchema>, "BRIDGEHEAD_TLS"> & {
  secret: string;
  BRIDGEHEAD_TLS: "off" | "self-signed" | "files";
};

/** Parses process.env; throws an Error whose message names every bad variable. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid Bridgehead settings:\n${lines.join("\n")}`);
  }
  const env = parsed.data;
  const tls = env.BRIDGEHEAD_TLS ?? (env.BRIDGEHEAD_TLS_CERT ? "files" : "self-signed");
  if (tls === "files" && (!env.BRIDGEHEAD_TLS_CERT || !env.BRIDGEHEAD_TLS_KEY))
    throw new Error(
      "Invalid Bridgehead settings:\n  BRIDGEHEAD_TLS_CERT, BRIDGEHEAD_TLS_KEY: both are needed with BRIDGEHEAD_TLS=files",
    );
  return {
    ...env,
    BRIDGEHEAD_TLS: tls,
    secret: env.BRIDGEHEAD_SECRET ?? persistentSecret(env.BRIDGEHEAD_DB),
  };
}

/** No fixed default secret: generate one beside the database on first start and keep it (mode 600). */
function persistentSecret(dbFile: string): string {
  if (dbFile === ":memory:") return crypto.randomBytes(32).toString("base64url");
  const file = path.join(path.dirname(path.resolve(dbFile)), "secret");
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const secret = crypto.randomBytes(32).toString("base64url");
    fs.writeFileSync(file, secret, { mode: 0o600, flag: "wx" });
    return fs.readFileSync(file, "utf8").trim();
  }
}
