// The CLI's side of the REST API: where the server and token come from, one request, and what an
// answer means as an exit code. Scripts tell outcomes apart by the code alone.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const EXIT = {
  ok: 0,
  /** The server failed, or answered something this CLI does not understand. */
  error: 1,
  /** Bad input: a usage error, or a field the server refused (the message names it). */
  invalid: 2,
  notFound: 3,
  /** Not signed in, not allowed, read-only token, or a conflict with the current state. */
  refused: 4,
  /** No answer: the server is down, the address is wrong, or TLS failed. */
  unreachable: 5,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exit: number,
    readonly fieldErrors: Record<string, string[] | undefined> | null = null,
  ) {
    super(message);
  }
}

export type Config = { server: string; token: string };

/** ~/.config/bridgehead/config.json (or $BRIDGEHEAD_CONFIG), written with mode 600. */
export function configPath(): string {
  if (process.env.BRIDGEHEAD_CONFIG) return process.env.BRIDGEHEAD_CONFIG;
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "bridgehead", "config.json");
}

export function readConfig(): Partial<Config> {
  try {
    return JSON.parse(fs.readFileSync(configPath(), "utf8")) as Partial<Config>;
  } catch {
    return {};
  }
}

export function writeConfig(c: Config): string {
  const file = configPath();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600); // an existing file keeps its mode on write
  return file;
}

/** Environment first (BRIDGEHEAD_SERVER, BRIDGEHEAD_TOKEN), then the config file. */
export function resolveConfig(overrides: Partial<Config> = {}): Config {
  const file = readConfig();
  const server = overrides.server ?? process.env.BRIDGEHEAD_SERVER ?? file.server;
  const token = overrides.token ?? process.env.BRIDGEHEAD_TOKEN ?? file.token;
  if (!server)
    throw new CliError(
      "No server: run `bridgehead login --server URL --token TOKEN` or set BRIDGEHEAD_SERVER",
      EXIT.invalid,
    );
  if (!token)
    throw new CliError(
      "No API token: run `bridgehead login` or set BRIDGEHEAD_TOKEN (create one on your profile page)",
      EXIT.refused,
    );
  return { server: server.replace(/\/+$/, ""), token };
}

const EXIT_OF: Record<string, number> = {
  BAD_REQUEST: EXIT.invalid,
  PARSE_ERROR: EXIT.invalid,
  UNSUPPORTED_MEDIA_TYPE: EXIT.invalid,
  NOT_FOUND: EXIT.notFound,
  UNAUTHORIZED: EXIT.refused,
  FORBIDDEN: EXIT.refused,
  CONFLICT: EXIT.refused,
  PRECONDITION_FAILED: EXIT.refused,
  TOO_MANY_REQUESTS: EXIT.refused,
};

/** One REST call; a refusal becomes a CliError with the server's message and field messages. */
export async function request(
  cfg: Config,
  method: string,
  pathname: string,
  opts: { query?: Record<string, string | number | boolean | undefined>; body?: unknown } = {},
): Promise<unknown> {
  const url = new URL(`${cfg.server}/api/v1${pathname}`);
  for (const [k, v] of Object.entries(opts.query ?? {}))
    if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${cfg.token}`,
        accept: "application/json",
        ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(
      `Cannot reach ${cfg.server}: ${cause?.code ?? cause?.message ?? (err as Error).message}. Check the address, that the portal runs, and for a self-signed certificate NODE_EXTRA_CA_CERTS`,
      EXIT.unreachable,
    );
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new CliError(
      `${cfg.server} answered HTTP ${res.status} with something that is not JSON: is it a Bridgehead portal?`,
      EXIT.error,
    );
  }
  if (res.ok) return body;
  const e = (body ?? {}) as {
    code?: string;
    message?: string;
    fieldErrors?: Record<string, string[]> | null;
  };
  throw new CliError(
    e.message ?? `HTTP ${res.status}`,
    EXIT_OF[e.code ?? ""] ?? EXIT.error,
    e.fieldErrors ?? null,
  );
}
