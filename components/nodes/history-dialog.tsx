"use client";
// A node's short history: its last applies, drift repairs and failed applies as the agent reported
// them (the server keeps the last few per node), newest first, each with every command it ran.
import { useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/routers/root";
import { formatDateTime, timeAgo } from "../format";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Dialog, DialogFooter } from "../ui/dialog";
import { Badge, EmptyState, Skeleton, type Tone } from "../ui/misc";
import { useNow } from "../use-now";
import { Commands } from "./commands";

export type HistoryEntry = inferRouterOutputs<AppRouter>["node"]["history"]["entries"][number];

const KIND: Record<HistoryEntry["kind"], { label: string; tone: Tone }> = {
  apply: { label: "applied", tone: "green" },
  repair: { label: "drift repaired", tone: "blue" },
  error: { label: "apply failed", tone: "red" },
};

function Entry({ e, now, open }: { e: HistoryEntry; now: number; open: boolean }) {
  const k = KIND[e.kind];
  return (
    <li data-testid="history-entry" data-kind={e.kind}>
      <details open={open} className="group rounded-md ring-1 ring-slate-200">
        <summary className="flex cursor-pointer list-none items-center gap-3 px-3 py-2 text-sm hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-sky-600">
          <span aria-hidden className="text-slate-400 transition-transform group-open:rotate-90">
            ▸
          </span>
          <Badge tone={k.tone}>{k.label}</Badge>
          <span className="whitespace-nowrap">revision {e.revision}</span>
          <span className="whitespace-nowrap text-slate-500">
            {e.operations} operation{e.operations === 1 ? "" : "s"} · {Math.round(e.durationMs)} ms
            {e.repeats > 1 && ` · ${e.repeats} attempts`}
          </span>
          <span className="ml-auto whitespace-nowrap text-xs text-slate-500" title={formatDateTime(e.at)}>
            {timeAgo(e.at, now)}
          </span>
        </summary>
        <div className="space-y-2 border-t border-slate-100 px-3 py-2">
          {e.error && <p className="text-sm break-words text-red-700">{e.error}</p>}
          {e.ops.length > 0 ? (
            <Commands
              lines={e.ops}
              total={e.operations}
              testId="history-ops"
              label={`commands of revision ${e.revision}`}
            />
          ) : (
            !e.error && <p className="text-sm text-slate-500">No commands were reported.</p>
          )}
        </div>
      </details>
    </li>
  );
}

export function NodeHistoryDialog({
  node,
  onClose,
}: {
  node: { id: number; name: string } | null;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const now = useNow(1000);
  const q = useQuery({
    ...trpc.node.history.queryOptions({ id: node?.id ?? 0 }),
    enabled: node !== null,
    refetchInterval: 2000,
  });
  return (
    <Dialog
      open={node !== null}
      onClose={onClose}
      size="lg"
      title={`History of ${node?.name ?? ""}`}
      description={`The node's last ${q.data?.limit ?? ""} applies, drift repairs and failed applies, newest first, with the commands its agent ran.`}
    >
      {q.isPending ? (
        <Skeleton className="h-24" />
      ) : q.isError ? (
        <p className="text-sm text-red-700">{q.error.message}</p>
      ) : q.data.entries.length === 0 ? (
        <EmptyState title="Nothing applied yet">
          The agent has not changed anything on this node yet, and no apply has failed.
        </EmptyState>
      ) : (
        <ol aria-label={`History of ${node?.name ?? ""}`} className="space-y-2">
          {q.data.entries.map((e, i) => (
            <Entry key={e.id} e={e} now={now} open={i === 0} />
          ))}
        </ol>
      )}
      <DialogFooter>
        <Button variant="primary" onClick={onClose}>
          Done
        </Button>
      </DialogFooter>
    </Dialog>
  );
}
