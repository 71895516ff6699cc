// The server's runtime container: database, auth, the in-process event bus and the registry of
// connected agents. One per process (cached on globalThis so Next's module reloads share it).
import { EventEmitter } from "node:events";
import path from "node:path";
import { type Db, openDb } from "../db";
import { startCheckpointer } from "../db/checkpoint";
import { type Auth, createAuth } from "./auth";
import { type Env, loadEnv } from "./env";
import { requestIsHttps } from "./forwarded";
import type { LeaseChangeHook } from "./services/lease-changes";
import { dnsFollowersOfLeases } from "./services/nodes/dns-followers";
import { sgFollowersOfLeases } from "./services/security-groups/sg-followers";
import { ChannelTls } from "./tls";

/** The abort reason of a channel the agent must open again (not a revocation). */
export const RECONNECT = "reconnect";

/** Live agent connections: node id → abort handles of its open subscriptions. */
export class AgentRegistry {
  private conns = new Map<number, Set<AbortController>>();
  /** Registers a connection; returns its abort handle. */
  open(nodeId: number): AbortController {
    const ac = new AbortController();
    const set = this.conns.get(nodeId) ?? new Set();
    set.add(ac);
    this.conns.set(nodeId, set);
    return ac;
  }
  close(nodeId: number, ac: AbortController) {
    const set = this.conns.get(nodeId);
    set?.delete(ac);
    if (set?.size === 0) this.conns.delete(nodeId);
  }
  /** Agents refused for their wire version, by node: the reason the Nodes page shows. Kept in
   * memory, not in the node's row, so a refused call writes nothing; the agent retries, so a
   * restarted portal learns it again within seconds. */
  readonly wireRefusals = new Map<number, { message: string; at: Date }>();
  /** The nodes with at least one open agent connection (the dashboard counts them in SQL). */
  connectedIds(): number[] {
    return [...this.conns.keys()];
  }
  isConnected(nodeId: number): boolean {
    return (this.conns.get(nodeId)?.size ?? 0) > 0;
  }
  /** Cuts every connection of a node (revocation) or of all nodes (shutdown). With
   * RECONNECT the agents are told to come back (the portal's certificate changed). */
  disconnect(nodeId?: number, reason?: typeof RECONNECT) {
    for (const [id, set] of this.conns) {
      if (nodeId !== undefined && id !== nodeId) continue;
      for (const ac of set) ac.abort(reason);
    }
  }
}

export type App = {
  env: Env;
  db: Db;
  /** better-auth for in-process calls; for requests use authFor (the cookie depends on the scheme). */
  auth: Auth;
  /** The instance with Secure, __Secure- cookies (the same as `auth` when BRIDGEHEAD_URL is https). */
  secureAuth: Auth;
  /** Emits `node:<id>` after a commit that changed that node's desired state. */
  bus: EventEmitter;
  agents: AgentRegistry;
  /** Aborted on SIGTERM: every open subscription ends so the process can exit promptly. */
  shutdown: AbortController;
  /** The certificate fingerprint(s) agents pin (server/tls.ts); none while TLS is off. */
  tls: ChannelTls;
  /** Features whose node state follows a VNET's leases; mutate() runs them on each lease change. */
  leaseChangeHooks: LeaseChangeHook[];
};

/** Builds an App from settings (tests pass BRIDGEHEAD_DB=":memory:"). */
export function createApp(env: Env = loadEnv()): App {
  return appOn(env, openDb(env.BRIDGEHEAD_DB));
}

/** The container around an already open database (tests that copy a seeded database use it). */
export function appOn(env: Env, db: Db): App {
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const https = env.BRIDGEHEAD_URL?.startsWith("https:") ?? false;
  const auth = createAuth({ db, env, secure: https });
  return {
    env,
    db,
    auth,
    secureAuth: https ? auth : createAuth({ db, env, secure: true }),
    bus,
    agents: new AgentRegistry(),
    shutdown: new AbortController(),
    tls: new ChannelTls(env),
    // Security groups: NETWORK_ID rules resolve to the named VNET's current leases; every node's
    // DNS of a VNET names the guests on the other nodes.
    leaseChangeHooks: [sgFollowersOfLeases, dnsFollowersOfLeases],
  };
}

/** The better-auth instance whose cookies suit this request: Secure over https only. */
export function authFor(app: App, req: { url: string; headers: Headers }): Auth {
  return requestIsHttps(app.env, req) ? app.secureAuth : app.auth;
}

/** The instance that reads this request's session cookie (the __Secure- one if the browser sent it). */
export function sessionAuth(app: App, headers: Headers): Auth {
  return /(^|;\s*)__Secure-better-auth\.session_token=/.test(headers.get("cookie") ?? "")
    ? app.secureAuth
    : app.auth;
}

const g = globalThis as unknown as { __bridgehead?: App };
/** The process-wide App, created on first use; its database is checkpointed in the background
 * (db/checkpoint.ts). */
export function getApp(): App {
  if (!g.__bridgehead) {
    const app = createApp();
    if (app.env.BRIDGEHEAD_DB !== ":memory:") startCheckpointer(path.resolve(app.env.BRIDGEHEAD_DB));
    g.__bridgehead = app;
  }
  return g.__bridgehead;
}
