// The agent's side of the channel: a tRPC client whose every call carries the node credential.
// Desired state arrives on an SSE subscription; on a dropped connection the retry link
// resubscribes with capped exponential backoff and the last event id (the applied revision).
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
import type { AgentReport, JoinResponse, PreviewAnswer } from "../lib/wire";
import type { AppRouter } from "../server/routers/root";

const FATAL = new Set(["UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BAD_REQUEST"]);

/** Whether an error means "stop and get reconfigured" rather than "try again later". */
export function isFatal(err: unknown): boolean {
  return err instanceof TRPCClientError && FATAL.has(err.data?.code);
}

/** Capped exponential backoff: 0.5 s, 1 s, 2 s … 15 s. */
export const backoffMs = (attempt: number) => Math.min(15_000, 500 * 2 ** Math.min(attempt, 5));

function client(server: string, credential?: string) {
  const url = `${server.replace(/\/$/, "")}/api/trpc`;
  const headers = (): Record<string, string> => (credential ? { authorization: `Bearer ${credential}` } : {});
  return createTRPCClient<AppRouter>({
    links: [
      retryLink({
        retry: ({ op, error }) => op.type === "subscription" && !FATAL.has(error.data?.code ?? ""),
        retryDelayMs: backoffMs,
      }),
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          EventSource,
          eventSourceOptions: () => ({
            fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers() } }),
          }),
        }),
        false: httpLink({ url, transformer: superjson, headers }),
      }),
    ],
  });
}

/** Exchanges a one-time join token for this node's credential. */
export function join(
  server: string,
  token: string,
  hostname: string,
  agentVersion: string,
  underlay: { vtep?: string; uplink?: string } = {},
): Promise<JoinResponse> {
  return client(server).agent.join.mutate({ token, hostname, agentVersion, ...underlay });
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

/** An authenticated channel for one node. */
export function connect(server: string, credential: string): Channel {
  const c = client(server, credential);
  return {
    watch(nodeId, on) {
      const sub = c.agent.watch.subscribe(
        { nodeId },
        {
          onData: (ev) =>
            "preview" in ev.data
              ? on.preview(ev.data.preview.requestId, ev.data.preview.desired)
              : on.state(ev.data),
          onError: on.error,
          onConnectionStateChange: (s) => on.connected(s.state === "pending"),
        },
      );
      return () => sub.unsubscribe();
    },
    report: (r) => c.agent.report.mutate(r),
    previewAnswer: (a) => c.agent.preview.mutate(a),
  };
}
