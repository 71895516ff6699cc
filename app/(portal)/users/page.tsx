"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import dynamic from "next/dynamic";
import { useState } from "react";
import { toast } from "sonner";
import { formatDate } from "@/components/format";
import { AdminOnly, useMe } from "@/components/session";
import { errorMessage, useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { ConfirmDialog } from "@/components/ui/dialog";
import { Badge, EmptyState, LoadFailed, PageHeader, Panel } from "@/components/ui/misc";
import type { AppRouter } from "@/server/routers/root";

// Dialogs load their forms (zod schemas, address checks) when first opened, not with the page.
const UserCreateDialog = dynamic(() =>
  import("@/components/users/user-create-dialog").then((m) => m.UserCreateDialog),
);
const PasswordDialog = dynamic(() =>
  import("@/components/users/user-edit-dialog").then((m) => m.PasswordDialog),
);
const UserEditDialog = dynamic(() =>
  import("@/components/users/user-edit-dialog").then((m) => m.UserEditDialog),
);

type User = inferRouterOutputs<AppRouter>["user"]["list"][number];

const limit = (n: number | null) => (n === null ? "∞" : String(n));

const COLUMNS: Column<User>[] = [
  { key: "username", header: "User name", cell: (u) => <span className="font-medium">{u.username}</span> },
  { key: "name", header: "Name", cell: (u) => u.name },
  {
    key: "role",
    header: "Role",
    cell: (u) => <Badge tone={u.role === "admin" ? "blue" : "gray"}>{u.role}</Badge>,
  },
  {
    key: "groups",
    header: "Groups",
    cell: (u) =>
      u.groups.map((g) => (
        <span key={g.groupId} className="mr-2">
          {g.name}
          {g.primary && u.groups.length > 1 && <span className="text-xs text-slate-500"> (primary)</span>}
        </span>
      )),
  },
  {
    key: "quota",
    header: "Quota (nets / addrs)",
    cell: (u) => (
      <span className="text-sm whitespace-nowrap" title="Networks / addresses">
        {limit(u.quota.maxVnets)} / {limit(u.quota.maxLeases)}
      </span>
    ),
  },
  { key: "created", header: "Created", cell: (u) => formatDate(u.createdAt) },
];

export default function UsersPage() {
  return (
    <AdminOnly>
      <Users />
    </AdminOnly>
  );
}

function Users() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const me = useMe();
  const users = useQuery(trpc.user.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<User | null>(null);
  const [password, setPassword] = useState<User | null>(null);
  const [deleting, setDeleting] = useState<User | null>(null);
  const remove = useMutation(
    trpc.user.remove.mutationOptions({
      onSuccess: (u) => {
        toast.success(`User ${u.username} deleted`);
        setDeleting(null);
        return queryClient.invalidateQueries(trpc.user.pathFilter());
      },
      onError: (err) => {
        setDeleting(null);
        toast.error(errorMessage(err));
      },
    }),
  );
  const columns: Column<User>[] = [
    ...COLUMNS,
    {
      key: "actions",
      header: "Actions",
      className: "text-right",
      cell: (u) => (
        <div className="flex justify-end gap-1">
          <Button
            size="sm"
            variant="ghost"
            aria-label={`Edit user ${u.username}`}
            onClick={() => setEditing(u)}
          >
            Edit
          </Button>
          <Button
            size="sm"
            variant="ghost"
            aria-label={`Set password of ${u.username}`}
            onClick={() => setPassword(u)}
          >
            Password
          </Button>
          <Button
            size="sm"
            variant="ghost"
            aria-label={`Delete user ${u.username}`}
            disabled={u.id === me.id}
            title={u.id === me.id ? "You cannot delete yourself" : undefined}
            onClick={() => setDeleting(u)}
          >
            Delete
          </Button>
        </div>
      ),
    },
  ];
  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)}>
      New user
    </Button>
  );
  return (
    <>
      <PageHeader
        title="Users"
        description="Accounts that can sign in to the portal and the API."
        actions={newButton}
      />
      <Panel>
        {users.isError ? (
          <LoadFailed what="users" query={users} />
        ) : (
          <DataTable
            label="Users"
            columns={columns}
            rows={users.data}
            rowKey={(u) => u.id}
            loading={users.isPending}
            empty={<EmptyState title="No users" action={newButton} />}
          />
        )}
      </Panel>
      {creating && <UserCreateDialog open onClose={() => setCreating(false)} />}
      {editing && <UserEditDialog user={editing} onClose={() => setEditing(null)} />}
      {password && <PasswordDialog user={password} onClose={() => setPassword(null)} />}
      <ConfirmDialog
        open={deleting !== null}
        onClose={() => setDeleting(null)}
        title={`Delete user ${deleting?.username ?? ""}?`}
        confirmLabel="Delete user"
        pending={remove.isPending}
        onConfirm={() => deleting && remove.mutate({ id: deleting.id })}
      >
        <strong>{deleting?.username}</strong> can no longer sign in and their sessions end. A user who still
        owns networks, templates or instances cannot be deleted: delete those or give them to someone else
        first.
      </ConfirmDialog>
    </>
  );
}
