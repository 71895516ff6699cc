"use client";
// Cells of the Nodes table: connection state, revisions, last contact.
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/routers/root";
import { formatDateTime, timeAgo } from "../format";
import { Badge, type Tone } from "../ui/misc";

export type NodeRow = inferRouterOutputs<AppRouter>["node"]["list"]["items"][number];

const STATE_TONE: Record<NodeRow["state"], Tone> = {
  connected: "green",
  disconnected: "red",
  pending: "amber",
  revoked: "gray",
};

export function NodeState({ node, now }: { node: NodeRow; now: number }) {
  return (
    <div className="flex flex-col items-start gap-1">
      <Badge tone={STATE_TONE[node.state]} data-testid="node-state">
        {node.state}
      </Badge>
      {node.state === "pending" && (
        <span className="text-xs whitespace-nowrap text-slate-500">
          {node.joinTokenExpiresAt
            ? new Date(node.joinTokenExpiresAt).getTime() > now
              ? `token expires ${timeAgo(node.joinTokenExpiresAt, now)}`
              : "token expired"
            : "no token"}
        </span>
      )}
    </div>
  );
}

export function LastSeen({ node, now }: { node: NodeRow; now: number }) {
  return (
    <span
      className="whitespace-nowrap"
      title={node.lastSeenAt ? formatDateTime(node.lastSeenAt) : undefined}
      data-testid="node-last-seen"
    >
      {timeAgo(node.lastSeenAt, now)}
    </span>
  );
}

export function Revisions({ node }: { node: NodeRow }) {
  const sync =
    node.state === "pending" ? (
      <Badge tone="gray" data-testid="node-sync">
        not enrolled
      </Badge>
    ) : node.inSync ? (
      <Badge tone="green" data-testid="node-sync">
        in sync
      </Badge>
    ) : (
      <Badge tone="amber" data-testid="node-sync">
        {node.state === "connected" ? "applying" : "out of sync"}
      </Badge>
    );
  return (
    <div className="flex flex-col items-start gap-1">
      <span className="font-mono text-[13px] whitespace-nowrap" title="applied / desired revision">
        <span data-testid="node-applied-revision">{node.appliedRevision}</span>
        <span className="text-slate-400"> / </span>
        <span data-testid="node-desired-revision">{node.desiredRevision}</span>
      </span>
      {sync}
    </div>
  );
}

/** The last drift the agent repaired, if recent (shown under the error column). */
function Repaired({ node, now }: { node: NodeRow; now?: number }) {
  const at = node.report?.repairedAt;
  if (!at || !node.report?.repairs?.length) return null;
  return (
    <p
      className="text-xs whitespace-nowrap text-amber-700"
      title={node.report.repairs.join("\n")}
      data-testid="node-repaired"
    >
      repaired drift {timeAgo(at, now)} ({node.report.repairs.length} op
      {node.report.repairs.length === 1 ? "" : "s"})
    </p>
  );
}

export function LastError({ node, now }: { node: NodeRow; now?: number }) {
  if (!node.lastError)
    return node.report?.repairs?.length ? (
      <Repaired node={node} now={now} />
    ) : (
      <span className="text-slate-400">—</span>
    );
  return (
    <p
      className="line-clamp-2 max-w-48 text-xs break-words text-red-700"
      title={node.lastError}
      data-testid="node-error"
    >
      {node.lastError}
    </p>
  );
}

/** The agent's release and channel: outdated releases, an older wire version, a plain-HTTP
 * channel and a certificate change not yet received are flagged. */
export function AgentVersion({ node }: { node: NodeRow }) {
  if (!node.agentVersion) return null;
  return (
    <div className="mt-1 flex flex-wrap items-center gap-1 text-xs text-slate-500">
      <span data-testid="node-agent-version">agent {node.agentVersion}</span>
      {node.agentOutdated && (
        <Badge
          tone="amber"
          data-testid="node-agent-outdated"
          title="This agent runs another release than the portal; upgrade it"
        >
          outdated
        </Badge>
      )}
      {node.wireOutdated && (
        <Badge
          tone="amber"
          data-testid="node-wire"
          title="It speaks the previous wire version; the portal still serves it"
        >
          wire {node.wireVersion}
        </Badge>
      )}
      <Channel node={node} />
    </div>
  );
}

/** How the agent trusts the portal: TLS with the certificate pinned, a re-pin still on its way, or
 * plain HTTP (--insecure), which is flagged loudly: its credential crosses the network in clear. */
function Channel({ node }: { node: NodeRow }) {
  if (node.insecure)
    return (
      <Badge
        tone="red"
        data-testid="node-channel"
        title="The agent talks plain HTTP (--insecure): anyone on the path can read its credential and push it any network state. Enroll it again over HTTPS with a new join token."
      >
        ⚠ insecure channel
      </Badge>
    );
  if (node.pinned === false)
    return (
      <Badge
        tone="amber"
        data-testid="node-channel"
        title="The agent has not yet received the portal's new certificate fingerprint"
      >
        re-pin pending
      </Badge>
    );
  const pins = node.report?.pins ?? [];
  if (pins.length === 0) return null;
  return (
    <Badge tone="green" data-testid="node-channel" title={`Pinned SHA-256: ${pins.join(", ")}`}>
      TLS pinned
    </Badge>
  );
}
