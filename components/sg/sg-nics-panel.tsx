"use client";
// Rollout of a group: every NIC it affects, live, as up to date / outdated / error (with the node's
// message), and `commit`, which re-pushes to the nodes of the outdated and errored ones.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";
import { errorMessage, useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { type Column, DataTable } from "../ui/data-table";
import { Badge, EmptyState, Panel } from "../ui/misc";
import type { Sg, SgNic } from "./types";

const TONE = { "up to date": "green", outdated: "amber", error: "red" } as const;

const COLUMNS: Column<SgNic>[] = [
  {
    key: "nic",
    header: "NIC",
    className: "whitespace-nowrap",
    cell: (n) => <span className="font-medium">{n.name}</span>,
  },
  { key: "vnet", header: "VNET", className: "whitespace-nowrap", cell: (n) => n.vnetName },
  { key: "node", header: "Node", className: "whitespace-nowrap", cell: (n) => n.nodeName },
  {
    key: "status",
    header: "Status",
    cell: (n) => (
      <div className="flex flex-col gap-1">
        <span>
          <Badge tone={TONE[n.status]} data-testid="nic-status">
            {n.status}
          </Badge>
        </span>
        {"error" in n && n.error && <span className="text-xs text-red-700">{n.error}</span>}
      </div>
    ),
  },
];

export function SgNicsPanel({
  sg,
  canManage,
  className,
}: {
  sg: Sg;
  canManage: boolean;
  className?: string;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pending = sg.nics.filter((n) => n.status !== "up to date").length;
  const commit = useMutation(
    trpc.sg.commit.mutationOptions({
      onSuccess: (r) => {
        toast.success(`Re-pushed to ${r.nics} NIC(s) on ${r.nodes} node(s)`);
        return queryClient.invalidateQueries(trpc.sg.get.queryFilter({ id: sg.id }));
      },
      onError: (err) => toast.error(errorMessage(err)),
    }),
  );
  return (
    <Panel
      className={className}
      title={
        <span>
          Affected NICs ({sg.nics.length}) <span className="font-normal text-slate-500">· revision</span>{" "}
          <span className="font-mono font-normal" data-testid="sg-revision">
            {sg.revision}
          </span>
        </span>
      }
      actions={
        canManage && (
          <Button
            size="sm"
            pending={commit.isPending}
            disabled={pending === 0}
            title={
              pending === 0
                ? "Every NIC is up to date"
                : "Push this group again to the nodes of the outdated and errored NICs"
            }
            onClick={() => commit.mutate({ id: sg.id })}
          >
            Commit{pending > 0 ? ` (${pending})` : ""}
          </Button>
        )
      }
    >
      <DataTable
        label="Affected NICs"
        columns={COLUMNS}
        rows={sg.nics}
        rowKey={(n) => n.nicId}
        empty={
          <EmptyState title="No NIC uses this group yet">
            NICs of instances on the attached VNETs appear here with the rollout status of the latest change.
          </EmptyState>
        }
      />
    </Panel>
  );
}
