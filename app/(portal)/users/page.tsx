"use client";
import { useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState } from "react";
import { formatDate } from "@/components/format";
import { AdminOnly } from "@/components/session";
import { useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { Badge, EmptyState, PageHeader, Panel } from "@/components/ui/misc";
import { UserCreateDialog } from "@/components/users/user-create-dialog";
import type { AppRouter } from "@/server/routers/root";

type User = inferRouterOutputs<AppRouter>["user"]["list"][number];

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
  const users = useQuery(trpc.user.list.queryOptions());
  const [creating, setCreating] = useState(false);
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
          <EmptyState
            title="Could not load users"
            action={<Button onClick={() => users.refetch()}>Retry</Button>}
          >
            {users.error.message}
          </EmptyState>
        ) : (
          <DataTable
            label="Users"
            columns={COLUMNS}
            rows={users.data}
            rowKey={(u) => u.id}
            loading={users.isPending}
            empty={<EmptyState title="No users" action={newButton} />}
          />
        )}
      </Panel>
      <UserCreateDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}
