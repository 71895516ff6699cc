// The underlay's path MTU to every VXLAN peer, measured: DF pings (don't fragment) of the largest
// size the node's own underlay carries, then of decreasing sizes (a binary search) until one
// passes. A link in the middle with a lower MTU drops the larger frames silently (an L2 underlay
// sends no "fragmentation needed"), so what passes is what the path carries. Peers are probed one
// at a time in the background (a few pings each, never during a reconcile's own commands), when
// they first appear and again every REPROBE_MS; the report carries the results when they changed.
import type { UnderlayMtu } from "../lib/wire";
import { runIn } from "./dataplane/run";

/** The smallest path MTU the probe looks for: IPv4's minimum datagram every link must carry. */
export const MIN_PROBE_MTU = 576;
export const REPROBE_MS = 10 * 60_000;
/** IPv4 + ICMP headers around a ping's payload. */
const ICMP_OVERHEAD = 28;

/** Sends one DF ping of `mtu` bytes (IP packet) to `peer`; true when it was answered. */
export type DfPing = (peer: string, mtu: number) => Promise<boolean>;

/** A DF ping from inside namespace `netns` (the node's), one packet, answered within a second. */
export function dfPingIn(netns: string | undefined): DfPing {
  return async (peer, mtu) => {
    const r = await runIn(netns, "ping", [
      "-n",
      "-q",
      "-M",
      "do",
      "-c",
      "1",
      "-W",
      "1",
      "-s",
      String(mtu - ICMP_OVERHEAD),
      peer,
    ]);
    return r.code === 0;
  };
}

/** The largest MTU in [MIN_PROBE_MTU, ceiling] a DF ping passes to `peer`; null when not even the
 * smallest does (the peer does not answer at all). `ceiling` first: the common case costs one ping. */
export async function pathMtu(ping: DfPing, peer: string, ceiling: number): Promise<number | null> {
  if (await ping(peer, ceiling)) return ceiling;
  if (!(await ping(peer, MIN_PROBE_MTU))) return null;
  let lo = MIN_PROBE_MTU; // passes
  let hi = ceiling; // does not
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (await ping(peer, mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export class UnderlayMtuProbe {
  private readonly results = new Map<string, UnderlayMtu>();
  private peers: string[] = [];
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** What the last delivered report carried (peer → mtu), to send only changes. */
  private sent = new Map<string, number | null>();

  constructor(
    private readonly ping: DfPing,
    /** The MTU of the node's own underlay device (the ceiling of every path). */
    private readonly ceiling: () => Promise<number>,
    private readonly onMeasured: () => void = () => {},
    private readonly reprobeMs = REPROBE_MS,
  ) {}

  /** The VXLAN peers of the node's desired state: new ones are probed now, gone ones forgotten. */
  watch(peers: string[]): void {
    const next = [...new Set(peers)].sort();
    for (const p of this.results.keys()) if (!next.includes(p)) this.results.delete(p);
    this.peers = next;
    if (next.some((p) => !this.results.has(p))) this.probe();
    if (!this.timer && next.length > 0) {
      this.timer = setInterval(() => this.probe(true), this.reprobeMs);
      this.timer.unref();
    }
  }

  /** Probes the peers not measured yet (all of them when `all`), one at a time. */
  probe(all = false): Promise<void> {
    this.running ??= (async () => {
      try {
        const ceiling = await this.ceiling();
        for (const peer of this.peers) {
          if (!all && this.results.has(peer)) continue;
          const mtu = await pathMtu(this.ping, peer, ceiling);
          if (this.peers.includes(peer)) this.results.set(peer, { peer, mtu });
        }
      } finally {
        this.running = undefined;
      }
      if (this.changed()) this.onMeasured();
    })();
    return this.running;
  }

  /** The measurements to report when they differ from what the last delivered report carried. */
  pending(): UnderlayMtu[] | undefined {
    return this.changed() ? this.current() : undefined;
  }

  /** The report that carried `sent` was delivered. */
  markDelivered(sent: UnderlayMtu[]): void {
    this.sent = new Map(sent.map((m) => [m.peer, m.mtu]));
  }

  current(): UnderlayMtu[] {
    return [...this.results.values()].sort((a, b) => a.peer.localeCompare(b.peer));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private changed(): boolean {
    const now = this.current();
    return (
      now.length !== this.sent.size ||
      now.some((m) => !this.sent.has(m.peer) || this.sent.get(m.peer) !== m.mtu)
    );
  }
}
