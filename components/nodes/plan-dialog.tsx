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
import { Commands } from "./commands";
import type { NodeRow } from "./node-columns";

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
  // The last apply and repair come from the node's history: the report itself holds only the latest
  // reconcile, which may be a one-line touch-up right after a large apply.
  const history = useQuery({
    ...trpc.node.history.queryOptions({ id: node?.id ?? 0 }),
    enabled: node !== null,
    refetchInterval: 2000,
  });
  const report = node?.report;
  const lastApply = history.data?.entries.find((e) => e.kind === "apply");
  const lastRepair = history.data?.entries.find((e) => e.kind === "repair");
  const applied = lastApply
    ? { revision: lastApply.revision, ops: lastApply.ops, total: lastApply.operations }
    : report?.ops?.length
      ? { revision: report.revision, ops: report.ops, total: undefined }
      : null;
  const repaired = lastRepair
    ? { at: lastRepair.at, ops: lastRepair.ops }
    : report?.repairs?.length
      ? { at: report.repairedAt, ops: report.repairs }
      : null;
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
            <Commands lines={p.lines} testId="plan-lines" label="commands it would run" />
          )}
        </Section>
        <Section title={`Last applied${applied ? ` (revision ${applied.revision})` : ""}`}>
          {applied ? (
            <Commands
              lines={applied.ops}
              testId="plan-applied"
              label="commands of the last apply"
              total={applied.total}
            />
          ) : (
            <p className="text-sm text-slate-500">No change applied yet.</p>
          )}
        </Section>
        <Section title={`Last drift repaired${repaired?.at ? ` (${formatDateTime(repaired.at)})` : ""}`}>
          {repaired ? (
            <Commands lines={repaired.ops} testId="plan-repairs" label="commands of the last repair" />
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
