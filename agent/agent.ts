// The node agent's body: enrolls with a one-time join token (or reuses the saved credential), keeps
// one authenticated channel to the server, applies each pushed desired state to the kernel (or to a
// network namespace standing in for a node) and reports what it applied. Re-reconciles on a timer
// to repair drift; that report is its heartbeat. main.ts is its command line.
import os from "node:os";
import path from "node:path";
import { ifName, ipv4 } from "../lib/domain";
import { hashSecret } from "../lib/secret";
import { VERSION } from "../lib/version";
import {
  type AgentReport,
  type DesiredState,
  type DhcpLease,
  MAX_REPORTED_COUNTERS,
  MAX_REPORTED_LEASES,
  MAX_REPORTED_PEERS,
  parseJoinToken,
  ruleCounters,
  type SgCounter,
  WIRE_VERSION,
} from "../lib/wire";
import { parseArrival, refusalReport } from "./arrival";
import { connect, isFatal, join } from "./channel";
import { createDataplane } from "./dataplane";
import { ipIn } from "./dataplane/run";
import type { Dataplane } from "./dataplane/types";
import { type ReconcileResult, Reconciler } from "./reconciler";
import { loadState, saveState } from "./state";
import { transportFor } from "./tls";
import { dfPingIn, UnderlayMtuProbe } from "./underlay-mtu";

export { VERSION };

/** Rule counters ride a report at most this often (a burst of pushes is a burst of reports). */
export const COUNTER_REPORT_MIN_MS = 2_000;

/** What the command line gives an agent (see main.ts). */
export interface AgentArgs {
  server?: string;
  token?: string;
  netns?: string;
  state?: string;
  /** Reconcile interval, seconds. */
  interval: string;
  vtep?: string;
  "underlay-dev"?: string;
  /** Allow a plain http:// server (labs and tests). */
  insecure?: boolean;
}

/** A refusal to start (bad arguments: exit code 2) or a refusal by the server (3). */
export class AgentExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The leases a report can carry: all of them, else those running longest (a guest that renews
 * stays in). */
const newestLeases = (l: DhcpLease[]) =>
  l.length <= MAX_REPORTED_LEASES
    ? l
    : [...l].sort((a, b) => (b.expires || Infinity) - (a.expires || Infinity)).slice(0, MAX_REPORTED_LEASES);

/** Phase timings for the report: to 0.01 ms, the phases the schema allows (lowercase names). */
function roundedPhases(phases: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(phases)
      .filter(([k, v]) => /^[a-z_]{1,24}$/.test(k) && Number.isFinite(v) && v >= 0)
      .slice(0, 24)
      .map(([k, v]) => [k, Math.round(v * 100) / 100]),
  );
}

function usage(msg: string): never {
  throw new AgentExit(2, msg);
}

/** Runs one node agent until stop() (several may share a process: the push bench does). */
export async function runAgent(
  args: AgentArgs,
  opts: {
    onFatal?: (err: AgentExit) => void;
    /** Another dataplane than the kernel's: agent/sim.ts (the fleet bench's simulated agents). */
    dataplane?: Pick<Dataplane, "reconcile" | "preview">;
    /** Called after the server accepted a report of `revision` (the fleet bench times it). */
    onReported?: (revision: number, ok: boolean) => void;
    /** Quiet: no log line per connect and apply (thousands of simulated agents share a stdout). */
    quiet?: boolean;
    /** Measure the underlay MTU to the VXLAN peers (default: with the kernel's dataplane only). */
    probeUnderlay?: boolean;
  } = {},
): Promise<{ nodeId: number; stop(): Promise<void> }> {
  const log = (msg: string) =>
    opts.quiet ||
    console.log(`${new Date().toISOString()} agent${args.netns ? `[${args.netns}]` : ""}: ${msg}`);
  const netns = args.netns;
  if (netns !== undefined && !/^bh[A-Za-z0-9_.-]{0,40}$/.test(netns))
    usage("--netns must start with 'bh' (the project's namespace prefix) and use letters, digits, ., _ or -");
  const intervalMs = Number(args.interval) * 1000;
  if (!Number.isFinite(intervalMs) || intervalMs < 1000) usage("--interval must be a number of seconds ≥ 1");
  const stateFile = path.resolve(args.state ?? `data/agent/${netns ?? os.hostname()}.json`);
  const uplink = args["underlay-dev"];
  if (uplink !== undefined && !ifName.safeParse(uplink).success)
    usage(`--underlay-dev ${uplink} is not an interface name`);
  if (args.vtep !== undefined && !ipv4.safeParse(args.vtep).success)
    usage(`--vtep ${args.vtep} is not an IPv4 address`);
  // The VTEP defaults to the uplink's address, read again on every report until it is found.
  let vtep = args.vtep ?? (await uplinkAddress(netns, uplink));
  const underlay = async () => {
    if (!args.vtep && uplink) vtep = (await uplinkAddress(netns, uplink)) ?? vtep;
    return { ...(vtep ? { vtep } : {}), ...(uplink ? { uplink } : {}) };
  };

  let state = loadState(stateFile);
  const tokenHash = args.token ? hashSecret(args.token) : undefined;
  // BRIDGEHEAD_AGENT_INSECURE=1 is the same explicit permission for test and bench harnesses.
  const insecure = args.insecure === true || process.env.BRIDGEHEAD_AGENT_INSECURE === "1";
  // The pins this agent accepts: the join token's when enrolling, then the saved ones (the server
  // re-pins them over the channel when an admin changes its certificate).
  let pins: string[] = [];
  const transport = (server: string) => {
    const t = transportFor(server, () => pins, insecure);
    if (typeof t === "string") usage(t);
    if (t.insecure)
      log(
        "WARNING: --insecure: talking plain HTTP to the portal. Anyone on the path can read this node's credential and push it any network state; use this in labs and tests only",
      );
    return t;
  };
  // A join token not used before means "enroll (again) now"; otherwise the saved credential is used.
  if (!state || (tokenHash && tokenHash !== state.joinTokenHash)) {
    if (!args.server || !args.token)
      usage(`no credential in ${stateFile}: pass --server and --token to enroll`);
    const { secret, pin } = parseJoinToken(args.token);
    pins = pin ? [pin] : [];
    const joined = await join(
      args.server,
      transport(args.server),
      secret,
      os.hostname(),
      VERSION,
      await underlay(),
    ).catch((err) => {
      if (err instanceof AgentExit) throw err;
      throw new AgentExit(
        2,
        `enrollment at ${args.server} failed: ${err instanceof Error ? err.message : err}`,
      );
    });
    state = {
      server: args.server,
      nodeId: joined.nodeId,
      nodeName: joined.nodeName,
      credential: joined.credential,
      joinTokenHash: tokenHash,
      ...(pins.length ? { pins } : {}),
    };
    saveState(stateFile, state);
    log(
      `enrolled as node ${joined.nodeName} (id ${joined.nodeId}); credential ${pins.length ? "and certificate pin " : ""}saved in ${stateFile}`,
    );
  } else pins = state.pins ?? [];
  const { server, nodeId, credential } = state;
  const dataplane = opts.dataplane ?? createDataplane({ nodeNetns: netns, guestPrefix: netns ?? "bh" });
  const channelTransport = transport(server);
  const channel = connect(server, channelTransport, credential);
  /** What every report says about the channel: the wire spoken, and how the server is trusted. */
  const channelFacts = () => ({
    wireVersion: WIRE_VERSION,
    ...(channelTransport.insecure ? { insecure: true } : { pins }),
  });
  /** Takes the pins the server pushes (a certificate change staged by an admin) and keeps them. */
  const repin = (next: string[] | undefined) => {
    if (!next || !state || next.join() === pins.join()) return;
    pins = next;
    state = { ...state, pins };
    saveState(stateFile, state);
    log(`certificate pins updated by the server: ${pins.join(", ")}`);
  };
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe = () => {};
  // The underlay path MTU to every VXLAN peer: measured in the background, reported when it changed.
  const mtuProbe =
    (opts.probeUnderlay ?? !opts.dataplane)
      ? new UnderlayMtuProbe(
          dfPingIn(netns),
          async () => (await uplinkMtu(netns, uplink)) ?? 1500,
          () => {
            if (!reconciler.current) void report();
          },
        )
      : undefined;

  // Defined before anything can report: the restore below already talks to the server, and a
  // refusal there (a credential revoked while the agent was down) must end the agent the same way.
  let stopped = false;
  const fatal = (err: unknown) => {
    if (stopped) return;
    stopTimers();
    (opts.onFatal ?? defaultFatal)(
      new AgentExit(
        3,
        `the server refused this node (${err instanceof Error ? err.message : err}); the dataplane is left as it is. Re-enroll with a new join token.`,
      ),
    );
  };

  let lastResult: { desired: DesiredState; result: ReconcileResult; repairs?: string[] } | null = null;
  // The revision last applied without error: operations on a later reconcile of that same
  // revision repair drift (made by hand, or left by a crash), and are reported as such.
  let appliedRevision: number | undefined;
  // Counters last delivered (by rule) and when: unchanged ones are not sent again.
  let sentCounters = new Map<number, string>();
  let countersAt = 0;
  const countersToSend = (read: ReconcileResult["counters"]): SgCounter[] | undefined => {
    if (!read || Date.now() - countersAt < COUNTER_REPORT_MIN_MS) return undefined;
    const all = ruleCounters(read);
    const changed = all.filter((c) => sentCounters.get(c.ruleId) !== `${c.packets}/${c.bytes}`);
    // Over the cap (a contract error would stop the agent), the rest follows on the next reports.
    return changed.length > 0 ? changed.slice(0, MAX_REPORTED_COUNTERS) : undefined;
  };
  /** A pushed state this agent could not read (arrival.ts): reported instead of the last result
   * until a readable one arrives, so the server shows why the node does not apply its revision. */
  let refused: { revision: number; error: string } | undefined;
  const report = async () => {
    if (refused) return reportRefusal(refused);
    if (!lastResult) return;
    const { desired, result, repairs } = lastResult;
    const counters = countersToSend(result.counters);
    const mtus = mtuProbe?.pending()?.slice(0, MAX_REPORTED_PEERS);
    const r: AgentReport = {
      nodeId,
      revision: desired.revision,
      ok: result.ok,
      error: result.error,
      operations: result.operations,
      durationMs: Math.round(result.durationMs * 100) / 100,
      networks: result.networks,
      ports: result.ports,
      agentVersion: VERSION,
      hostname: os.hostname(),
      ...channelFacts(),
      ...(await underlay()),
      ...(result.operations > 0
        ? {
            ops: (result.ops ?? []).slice(0, 500).map((o) => o.slice(0, 1000)),
            ...(result.phases ? { phases: roundedPhases(result.phases) } : {}),
          }
        : {}),
      ...(repairs?.length ? { repairs } : {}),
      ...(counters ? { counters } : {}),
      ...(result.dhcpLeases ? { dhcpLeases: newestLeases(result.dhcpLeases) } : {}),
      ...(mtus ? { underlayMtu: mtus } : {}),
    };
    lastResult = { desired, result };
    await channel.report(r).then(
      () => {
        opts.onReported?.(r.revision, r.ok);
        if (mtus) mtuProbe?.markDelivered(mtus);
        if (!counters) return;
        countersAt = Date.now();
        sentCounters = new Map([
          ...sentCounters,
          ...counters.map((c) => [c.ruleId, `${c.packets}/${c.bytes}`] as const),
        ]);
      },
      (err) => {
        if (isFatal(err)) fatal(err);
        log(
          `report of revision ${desired.revision} not delivered (${err instanceof Error ? err.message : err}); retrying on the next tick`,
        );
      },
    );
  };
  const reportRefusal = (r: { revision: number; error: string }) =>
    channel
      .report(refusalReport(nodeId, r, { agentVersion: VERSION, hostname: os.hostname(), ...channelFacts() }))
      .then(
        () => {},
        (err) => {
          if (isFatal(err)) fatal(err);
          log(
            `refusal of revision ${r.revision} not delivered (${err instanceof Error ? err.message : err})`,
          );
        },
      );
  const reconciler = new Reconciler(
    (d, o) => dataplane.reconcile(d, o),
    async (desired, result) => {
      const drift = appliedRevision === desired.revision && result.operations > 0;
      const repairs = drift ? (result.ops ?? []).slice(0, 200).map((o) => o.slice(0, 500)) : undefined;
      lastResult = { desired, result, repairs };
      if (result.ok) appliedRevision = desired.revision;
      mtuProbe?.watch(desired.networks.flatMap((n) => n.vxlanPeers ?? []));
      if (result.operations > 0 || !result.ok)
        log(
          `revision ${desired.revision}: ${result.ok ? (drift ? "drift repaired" : "applied") : `FAILED: ${result.error}`} (${result.operations} operations, ${result.durationMs.toFixed(1)} ms)`,
        );
      if (state && result.ok) saveState(stateFile, { ...state, lastDesired: desired });
      await report();
    },
  );

  // Restore the last known state before anything else, so a restart repairs the node even
  // while the server is unreachable.
  if (state.lastDesired) {
    log(`restoring revision ${state.lastDesired.revision} from ${stateFile}`);
    reconciler.submit(state.lastDesired);
    await reconciler.idle();
  }

  // Refused during the restore (and onFatal did not end the process): nothing more to start.
  if (stopped) return { nodeId, stop: () => reconciler.idle() };
  unsubscribe = channel.watch(nodeId, {
    state: (raw) => {
      const a = parseArrival(raw);
      if (!a.ok) {
        refused = a;
        log(`revision ${a.revision}: ${a.error}`);
        return void report();
      }
      refused = undefined;
      repin(a.desired.serverPins);
      reconciler.submit(a.desired);
    },
    preview: (requestId, raw) =>
      void (async () => {
        const a = parseArrival(raw);
        if (!a.ok) throw new Error(a.error);
        return dataplane.preview(a.desired);
      })()
        .then(
          (lines) => ({ nodeId, requestId, lines: lines.slice(0, 20000) }),
          (err) => ({
            nodeId,
            requestId,
            lines: [],
            error: `plan failed: ${err instanceof Error ? err.message : err}`,
          }),
        )
        .then((a) => channel.previewAnswer(a))
        .catch((err) => log(`plan preview not delivered: ${err instanceof Error ? err.message : err}`)),
    error: (err) =>
      isFatal(err) ? fatal(err) : log(`channel error: ${err instanceof Error ? err.message : err}`),
    connected: (up) => {
      // A (re)connected server gets every counter again, not only those that changed since.
      if (up) sentCounters = new Map();
      log(up ? `connected to ${server}` : "connection lost; reconnecting");
    },
  });
  timer = setInterval(() => {
    reconciler.kick();
    if (!reconciler.current) void report();
  }, intervalMs);

  function stopTimers() {
    stopped = true;
    if (timer) clearInterval(timer);
    mtuProbe?.stop();
    unsubscribe();
  }
  return {
    nodeId,
    async stop() {
      stopTimers();
      await reconciler.idle();
    },
  };
}

const defaultFatal = (err: AgentExit) => {
  console.error(`agent: ${err.message}`);
  process.exit(err.code);
};

/** The MTU of the uplink in the node's namespace (the ceiling of every underlay path). */
async function uplinkMtu(netns: string | undefined, dev: string | undefined): Promise<number | undefined> {
  if (!dev) return undefined;
  const r = await ipIn(netns, ["-j", "link", "show", "dev", dev]).catch(() => undefined);
  if (r?.code !== 0) return undefined;
  try {
    return (JSON.parse(r.stdout || "[]") as { mtu?: number }[])[0]?.mtu;
  } catch {
    return undefined;
  }
}

/** The first IPv4 address of the uplink in the node's namespace; undefined when it has none. */
async function uplinkAddress(
  netns: string | undefined,
  dev: string | undefined,
): Promise<string | undefined> {
  if (!dev) return undefined;
  const r = await ipIn(netns, ["-j", "-4", "addr", "show", "dev", dev]).catch(() => undefined);
  if (r?.code !== 0) return undefined;
  try {
    const links = JSON.parse(r.stdout || "[]") as { addr_info?: { local: string }[] }[];
    return links[0]?.addr_info?.[0]?.local;
  } catch {
    return undefined;
  }
}
