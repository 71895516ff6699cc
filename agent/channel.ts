// The agent's side of the channel: a tRPC client whose every call carries the node credential.
// Desired state arrives on an SSE subscription; on a dropped connection the retry link
// resubscribes with jittered, capped exponential backoff and the last event id (the applied
// revision). Every reconnect goes through that backoff (see reconnectingViaRetry): left to itself
// the EventSource retries a dropped stream after a fixed 3 s, so after a portal restart every agent
// of the fleet would come back in the same instant.
import {
  createTRPCClient,
  httpLink,
  httpSubscriptionLink,
  retryLink,
  splitLink,
  TRPCClientError,
} from "@trpc/client";
import { EventSource } from "eventsource";
import superjson from "superjson";
import { type AgentReport, type JoinResponse, type PreviewAnswer, WIRE_VERSION } from "../lib/wire";
import type { AppRouter } from "../server/routers/root";
import type { Transport } from "./tls";

const FATAL = new Set(["UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BAD_REQUEST"]);

/** Whether an error means "stop and get reconfigured" rather than "try again later". */
export function isFatal(err: unknown): boolean {
  return err instanceof TRPCClientError && FATAL.has(err.data?.code);
}

/** The longest wait before a reconnect, and the first window. The first window is as long as the
 * EventSource's fixed retry was (3 s), so on average no agent comes back sooner than it used to
 * after the first failure, and every later window is wider: an overloaded portal (each reconnect
 * compiles a node's state) is given room rather than a retry storm. */
export const BACKOFF_CAP_MS = 30_000;
export const BACKOFF_BASE_MS = 3_000;

/** "Full jitter" backoff: a uniform wait in [0, min(cap, base·2^attempt)), so a fleet whose streams
 * all dropped at once (a portal restart) reconnects spread over the window instead of together.
 * `attempt` counts failures since the stream was last up (0 for the first retry). */
export const backoffMs = (attempt: number, random: () => number = Math.random) =>
  Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10)));

/** Consecutive failed attempts of one channel's stream, reset when it connects: the retry link's
 * own count never resets, so a week-old agent would otherwise always wait the cap. */
export function reconnectBackoff(random: () => number = Math.random) {
  let failures = 0;
  return {
    next: () => backoffMs(failures++, random),
    connected: () => {
      failures = 0;
    },
  };
}

/** An EventSource class whose streams never reconnect by themselves: a dropped connection closes
 * it, which fails the subscription, and the retry link (with its backoff) opens a new one. */
export function reconnectingViaRetry(Base: typeof EventSource): typeof EventSource {
  return class extends Base {
    constructor(url: string | URL, init?: ConstructorParameters<typeof EventSource>[1]) {
      super(url, init);
      // Listeners run in the order they were added: this one first, so tRPC's own error listener
      // already sees the source CLOSED and ends the stream instead of waiting for the fixed retry.
      this.addEventListener("error", () => {
        if (this.readyState === this.CONNECTING) this.close();
      });
    }
  };
}

function client(
  server: string,
  transport: Transport,
  credential?: string,
  backoff: ReturnType<typeof reconnectBackoff> = reconnectBackoff(),
) {
  const { fetch } = transport;
  const url = `${server.replace(/\/$/, "")}/api/trpc`;
  const headers = (): Record<string, string> => (credential ? { authorization: `Bearer ${credential}` } : {});
  return createTRPCClient<AppRouter>({
    links: [
      retryLink({
        retry: ({ op, error }) => op.type === "subscription" && !FATAL.has(error.data?.code ?? ""),
        retryDelayMs: () => backoff.next(),
      }),
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          EventSource: reconnectingViaRetry(EventSource),
          eventSourceOptions: () => ({
            fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers() } }),
          }),
        }),
        false: httpLink({ url, transformer: superjson, headers, fetch }),
      }),
    ],
  });
}

/** Exchanges a one-time join token for this node's credential. */
export function join(
  server: string,
  transport: Transport,
  token: string,
  hostname: string,
  agentVersion: string,
  underlay: { vtep?: string; uplink?: string } = {},
): Promise<JoinResponse> {
  return client(server, transport).agent.join.mutate({
    token,
    hostname,
    agentVersion,
    ...underlay,
    wireVersion: WIRE_VERSION,
    ...(transport.insecure ? { insecure: true } : {}),
  });
}

export type Channel = {
  /** Subscribes to desired state; returns an unsubscribe function. */
  watch(
    nodeId: number,
    on: {
      /** A pushed desired state, as it came off the wire: unchecked until parsed (arrival.ts). */
      state(s: unknown): void;
      /** A plan preview request: plan `desired` against the kernel, run nothing, answer. */
      preview(requestId: string, desired: unknown): void;
      error(err: unknown): void;
      connected(up: boolean): void;
    },
  ): () => void;
  report(r: AgentReport): Promise<unknown>;
  previewAnswer(a: PreviewAnswer): Promise<unknown>;
};

/** An authenticated channel for one node (`random` draws its reconnect waits; tests pin it). */
export function connect(
  server: string,
  transport: Transport,
  credential: string,
  opts: { random?: () => number } = {},
): Channel {
  const backoff = reconnectBackoff(opts.random);
  const c = client(server, transport, credential, backoff);
  return {
    watch(nodeId, on) {
      const sub = c.agent.watch.subscribe(
        { nodeId, wireVersion: WIRE_VERSION },
        {
          onData: (ev) =>
            "preview" in ev.data
              ? on.preview(ev.data.preview.requestId, ev.data.preview.desired)
              : on.state(ev.data),
          onError: on.error,
          onConnectionStateChange: (s) => {
            if (s.state === "pending") backoff.connected();
            on.connected(s.state === "pending");
          },
        },
      );
      return () => sub.unsubscribe();
    },
    report: (r) => c.agent.report.mutate(r),
    previewAnswer: (a) => c.agent.preview.mutate(a),
  };
}
