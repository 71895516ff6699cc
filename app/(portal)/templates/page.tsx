"use client";
// Templates (cloud admins): what end users instantiate into networks of their own.
import { useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import dynamic from "next/dynamic";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { AdminOnly } from "@/components/session";
import { describePool } from "@/components/tenancy/template-info";
import { useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { Badge, EmptyState, LoadFailed, PageHeader, Panel } from "@/components/ui/misc";
import { permsToOctal } from "@/lib/permissions";
import type { AppRouter } from "@/server/routers/root";

// Dialogs load their forms (zod schemas, address checks) when first opened, not with the page.
const TemplateFormDialog = dynamic(() =>
  import("@/components/tenancy/template-form").then((m) => m.TemplateFormDialog),
);

type Template = inferRouterOutputs<AppRouter>["template"]["list"][number];

const COLUMNS: Column<Template>[] = [
  {
    key: "name",
    header: "Name",
    cell: (t) => (
      <div>
        <Link href={`/templates/${t.id}`} className="font-medium text-sky-800 hover:underline">
          {t.name}
        </Link>
        {t.description && <div className="max-w-64 truncate text-xs text-slate-500">{t.description}</div>}
      </div>
    ),
  },
  {
    key: "network",
    header: "Network",
    cell: (t) => (
      <div className="whitespace-nowrap">
        {t.attrs.driver} · {t.attrs.networkType}
        <div className="text-xs text-slate-500">{describePool(t.attrs)}</div>
      </div>
    ),
  },
  {
    key: "addresses",
    header: "Addresses",
    cell: (t) => (
      <div className="whitespace-nowrap">
        <span className="font-mono text-[13px]">{t.attrs.subnet}</span>
        <div className="text-xs text-slate-500">up to {t.attrs.maxSize}</div>
      </div>
    ),
  },
  { key: "owner", header: "Owner", cell: (t) => t.ownerName },
  { key: "group", header: "Group", cell: (t) => t.groupName },
  {
    key: "perms",
    header: "Permissions",
    cell: (t) => <code className="font-mono text-[13px]">{permsToOctal(t.perms)}</code>,
  },
  {
    key: "lock",
    header: "Lock",
    cell: (t) =>
      t.lockLevel ? <Badge tone="amber">{t.lockLevel}</Badge> : <span className="text-slate-400">—</span>,
  },
];

export default function TemplatesPage() {
  return (
    <AdminOnly>
      <Templates />
    </AdminOnly>
  );
}

function Templates() {
  const trpc = useTRPC();
  const router = useRouter();
  const list = useQuery(trpc.template.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)}>
      New template
    </Button>
  );
  return (
    <>
      <PageHeader
        title="Templates"
        description="Network blueprints end users instantiate into networks of their own, without seeing the physical details."
        actions={newButton}
      />
      <Panel>
        {list.isError ? (
          <LoadFailed what="templates" query={list} />
        ) : (
          <DataTable
            label="Templates"
            columns={COLUMNS}
            rows={list.data}
            rowKey={(t) => t.id}
            loading={list.isPending}
            onRowClick={(t) => router.push(`/templates/${t.id}`)}
            empty={
              <EmptyState title="No templates" action={newButton}>
                Create a template so end users can make networks of their own.
              </EmptyState>
            }
          />
        )}
      </Panel>
      {creating && <TemplateFormDialog open onClose={() => setCreating(false)} />}
    </>
  );
}
