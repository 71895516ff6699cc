"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import dynamic from "next/dynamic";
import { useState } from "react";
import { toast } from "sonner";
import { AdminOnly } from "@/components/session";
import { errorMessage, useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { ConfirmDialog } from "@/components/ui/dialog";
import { Badge, EmptyState, LoadFailed, PageHeader, Panel } from "@/components/ui/misc";
import type { AppRouter } from "@/server/routers/root";

// Dialogs load their forms (zod schemas, address checks) when first opened, not with the page.
const GroupDialog = dynamic(() => import("@/components/tenancy/group-dialog").then((m) => m.GroupDialog));

type Group = inferRouterOutputs<AppRouter>["group"]["list"][number];

const limit = (n: number | null) => (n === null ? "unlimited" : String(n));

export default function GroupsPage() {
  return (
    <AdminOnly>
      <Groups />
    </AdminOnly>
  );
}

function Groups() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const groups = useQuery(trpc.group.list.queryOptions());
  const [editing, setEditing] = useState<Group | "new" | null>(null);
  const [deleting, setDeleting] = useState<Group | null>(null);
  const remove = useMutation(
    trpc.group.remove.mutationOptions({
      onSuccess: (g) => {
        toast.success(`Group ${g.name} deleted`);
        setDeleting(null);
        return queryClient.invalidateQueries(trpc.group.pathFilter());
      },
      onError: (err) => {
        setDeleting(null);
        toast.error(errorMessage(err));
      },
    }),
  );
  const columns: Column<Group>[] = [
    {
      key: "name",
      header: "Name",
      cell: (g) => (
        <span className="font-medium">
          {g.name} {g.builtIn && <Badge>built in</Badge>}
        </span>
      ),
    },
    {
      key: "description",
      header: "Description",
      cell: (g) => g.description || <span className="text-slate-400">—</span>,
    },
    { key: "members", header: "Members", cell: (g) => g.members },
    {
      key: "quota",
      header: "Quota (networks / addresses)",
      cell: (g) => `${limit(g.quota.maxVnets)} / ${limit(g.quota.maxLeases)}`,
    },
    {
      key: "actions",
      header: "Actions",
      className: "text-right",
      cell: (g) => (
        <div className="flex justify-end gap-1">
          <Button size="sm" variant="ghost" aria-label={`Edit group ${g.name}`} onClick={() => setEditing(g)}>
            Edit
          </Button>
          <Button
            size="sm"
            variant="ghost"
            aria-label={`Delete group ${g.name}`}
            disabled={g.builtIn}
            title={g.builtIn ? "Built-in groups cannot be deleted" : undefined}
            onClick={() => setDeleting(g)}
          >
            Delete
          </Button>
        </div>
      ),
    },
  ];
  const newButton = (
    <Button variant="primary" onClick={() => setEditing("new")}>
      New group
    </Button>
  );
  return (
    <>
      <PageHeader
        title="Groups"
        description="Users share objects through their groups; a group's quota limits all its members together."
        actions={newButton}
      />
      <Panel>
        {groups.isError ? (
          <LoadFailed what="groups" query={groups} />
        ) : (
          <DataTable
            label="Groups"
            columns={columns}
            rows={groups.data}
            rowKey={(g) => g.id}
            loading={groups.isPending}
            empty={<EmptyState title="No groups" action={newButton} />}
          />
        )}
      </Panel>
      {editing !== null && (
        <GroupDialog
          open
          group={editing === "new" || editing === null ? undefined : editing}
          onClose={() => setEditing(null)}
        />
      )}
      <ConfirmDialog
        open={deleting !== null}
        onClose={() => setDeleting(null)}
        title={`Delete group ${deleting?.name ?? ""}?`}
        confirmLabel="Delete group"
        pending={remove.isPending}
        onConfirm={() => deleting && remove.mutate({ id: deleting.id })}
      >
        The group <strong>{deleting?.name}</strong> is deleted. A group with members or objects cannot be
        deleted: move them first.
      </ConfirmDialog>
    </>
  );
}
