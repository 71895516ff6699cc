"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import dynamic from "next/dynamic";
import Link from "next/link";
import { useState } from "react";
import { toast } from "sonner";
import { formatDateTime } from "@/components/format";
import { errorMessage, useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { ConfirmDialog } from "@/components/ui/dialog";
import { EmptyState, LoadFailed, PageHeader, Panel } from "@/components/ui/misc";
import type { AppRouter } from "@/server/routers/root";

// Dialogs load their forms (zod schemas, address checks) when first opened, not with the page.
const InstanceCreateDialog = dynamic(() =>
  import("@/components/instances/instance-create-dialog").then((m) => m.InstanceCreateDialog),
);

type Instance = inferRouterOutputs<AppRouter>["instance"]["list"][number];

export default function InstancesPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const instances = useQuery(trpc.instance.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Instance | null>(null);
  const remove = useMutation(
    trpc.instance.remove.mutationOptions({
      onSuccess: (r) => {
        toast.success(`Instance ${r.name} deleted; its addresses are free again`);
        setDeleting(null);
        return Promise.all([
          queryClient.invalidateQueries(trpc.instance.list.queryFilter()),
          queryClient.invalidateQueries(trpc.vnet.pathFilter()),
          queryClient.invalidateQueries(trpc.node.pathFilter()),
        ]);
      },
      onError: (err) => {
        setDeleting(null);
        toast.error(errorMessage(err));
      },
    }),
  );

  const columns: Column<Instance>[] = [
    {
      key: "name",
      header: "Name",
      cell: (i) => (
        <Link
          href={`/instances/${i.id}`}
          className="font-medium whitespace-nowrap text-sky-800 hover:underline"
        >
          {i.name}
        </Link>
      ),
    },
    { key: "node", header: "Node", cell: (i) => i.nodeName },
    {
      key: "nics",
      header: "NICs",
      className: "w-full",
      cell: (i) => (
        <ul className="flex flex-col gap-0.5 font-mono text-[13px]">
          {i.nics.map((n) => (
            <li key={n.nicId} data-testid="instance-nic">
              <span className="text-slate-500">eth{n.idx}</span> {n.ip ?? "no address"}{" "}
              <Link href={`/vnets/${n.vnetId}`} className="font-sans text-sky-800 hover:underline">
                ({n.vnetName})
              </Link>{" "}
              <span className="text-slate-500">{n.mac ?? ""}</span>
              {n.portKind === "tap" && (
                <span className="font-sans text-xs text-slate-500"> · tap {n.dev}</span>
              )}
            </li>
          ))}
        </ul>
      ),
    },
    {
      key: "created",
      header: "Created",
      cell: (i) => <span className="whitespace-nowrap">{formatDateTime(i.createdAt)}</span>,
    },
    {
      key: "actions",
      header: "Actions",
      cell: (i) => (
        <Button
          size="sm"
          variant="ghost"
          className="text-red-700"
          aria-label={`Delete ${i.name}`}
          onClick={() => setDeleting(i)}
        >
          Delete
        </Button>
      ),
    },
  ];

  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)}>
      New instance
    </Button>
  );

  return (
    <>
      <PageHeader
        title="Instances"
        description="Guests on the nodes and the addresses their NICs hold."
        actions={newButton}
      />
      <Panel>
        {instances.isError ? (
          <LoadFailed what="instances" query={instances} />
        ) : (
          <DataTable
            label="Instances"
            columns={columns}
            rows={instances.data}
            rowKey={(i) => i.id}
            loading={instances.isPending}
            rowProps={(i) => ({ "data-instance": i.name })}
            empty={
              <EmptyState title="No instances yet" action={newButton}>
                An instance gets one NIC per VNET it joins, with an address leased from the VNET.
              </EmptyState>
            }
          />
        )}
      </Panel>
      {creating && <InstanceCreateDialog open onClose={() => setCreating(false)} />}
      <ConfirmDialog
        open={deleting !== null}
        onClose={() => setDeleting(null)}
        title={`Delete instance ${deleting?.name ?? ""}?`}
        confirmLabel="Delete instance"
        pending={remove.isPending}
        onConfirm={() => deleting && remove.mutate({ id: deleting.id })}
      >
        <strong>{deleting?.name}</strong> is removed from node {deleting?.nodeName}; its ports are deleted and
        its {deleting?.nics.length === 1 ? "address is" : "addresses are"} released.
      </ConfirmDialog>
    </>
  );
}
