"use client";
// A node's plan: the exact commands its agent would run now to go from the kernel it observes to
// the desired state (asked live over the agent's channel), what it ran last, and the last drift
// it found and repaired.
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { useTRPC } from "@/components/trpc";
import { formatDateTime } from "../format";
import { Button } from "../ui/button";
import { Dialog, DialogFooter } from "../ui/dialog";
import { Skeleton } from "../ui/misc";
import type { NodeRow } from "./node-columns";

function Commands({ lines, testId }: { lines: string[]; testId: string }) {
  return (
    <pre
      className="max-h-56 overflow-auto rounded-md bg-slate-950 p-3 font-mono text-xs leading-5 text-slate-100"
      data-testid={testId}
    >
      {lines.join("\n")}
    </pre>
  );
}

function Section({ title, children }: { title: ReactNode; children: ReactNode }) {
  return (
    <section className="space-y-2">
      <h3 className="text-sm font-semibold text-slate-800">{title}</h3>
      {children}
    </section>
  );
}

export function NodePlanDialog({ node, onClose }: { node: NodeRow | null; onClose: () => void }) {
  const trpc = useTRPC();
  const preview = useQuery({
    ...trpc.node.preview.queryOptions({ id: node?.id ?? 0 }),
    enabled: node !== null,
    gcTime: 0,
  });
  const report = node?.report;
  const p = preview.data;
  return (
    <Dialog
      open={node !== null}
      onClose={onClose}
      size="lg"
      title={`Plan of ${node?.name ?? ""}`}
      description="What the agent would run now to make the node's kernel match its desired state, and what it did."
    >
      <div className="space-y-5">
        <Section title={`Would run now${p ? ` (revision ${p.revision})` : ""}`}>
          {preview.isPending ? (
            <Skeleton className="h-16" />
          ) : preview.isError ? (
            <p className="text-sm text-red-700">{preview.error.message}</p>
          ) : !p?.available ? (
            <p className="text-sm text-amber-700" data-testid="plan-unavailable">
              No live plan: {p?.reason}
            </p>
          ) : p.lines.length === 0 ? (
            <p className="text-sm text-green-700" data-testid="plan-empty">
              Nothing to do: the kernel matches revision {p.revision}.
            </p>
          ) : (
            <Commands lines={p.lines} testId="plan-lines" />
          )}
        </Section>
        <Section title={`Last applied${report ? ` (revision ${report.revision})` : ""}`}>
          {report?.ops?.length ? (
            <Commands lines={report.ops} testId="plan-applied" />
          ) : (
            <p className="text-sm text-slate-500">No change applied yet.</p>
          )}
        </Section>
        <Section
          title={`Last drift repaired${report?.repairedAt ? ` (${formatDateTime(report.repairedAt)})` : ""}`}
        >
          {report?.repairs?.length ? (
            <Commands lines={report.repairs} testId="plan-repairs" />
          ) : (
            <p className="text-sm text-slate-500">No drift found since the agent started.</p>
          )}
        </Section>
      </div>
      <DialogFooter>
        <Button onClick={() => preview.refetch()} pending={preview.isFetching}>
          Plan again
        </Button>
        <Button variant="primary" onClick={onClose}>
          Done
        </Button>
      </DialogFooter>
    </Dialog>
  );
}
