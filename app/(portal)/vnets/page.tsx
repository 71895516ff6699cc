"use client";
import { useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMemo, useState } from "react";
import { formatDate } from "@/components/format";
import { useMe } from "@/components/session";
import { useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { Input } from "@/components/ui/field";
import { Badge, EmptyState, PageHeader, Panel, UsageBar } from "@/components/ui/misc";
import { VnetCreateDialog } from "@/components/vnets/vnet-create-dialog";
import type { AppRouter } from "@/server/routers/root";

type Vnet = inferRouterOutputs<AppRouter>["vnet"]["list"][number];

const COLUMNS: Column<Vnet>[] = [
  {
    key: "name",
    header: "Name",
    cell: (v) => (
      <div className="min-w-0">
        <Link href={`/vnets/${v.id}`} className="font-medium text-sky-800 hover:underline">
          {v.name}
        </Link>
        {v.description && <div className="max-w-56 truncate text-xs text-slate-500">{v.description}</div>}
      </div>
    ),
  },
  {
    key: "type",
    header: "Type",
    cell: (v) => <Badge tone={v.networkType === "external" ? "blue" : "gray"}>{v.networkType}</Badge>,
  },
  { key: "bridge", header: "Bridge", cell: (v) => <code className="font-mono text-[13px]">{v.bridge}</code> },
  {
    key: "subnet",
    header: "Subnet",
    cell: (v) => <span className="font-mono text-[13px]">{v.context.subnet ?? "—"}</span>,
  },
  {
    key: "gateway",
    header: "Gateway",
    cell: (v) => <span className="font-mono text-[13px]">{v.context.gateway ?? "—"}</span>,
  },
  { key: "usage", header: "Usage", cell: (v) => <UsageBar used={v.used} size={v.size} /> },
  {
    key: "created",
    header: "Created",
    cell: (v) => <span className="whitespace-nowrap">{formatDate(v.createdAt)}</span>,
  },
];

export default function VnetsPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const me = useMe();
  const isAdmin = me.role === "admin";
  const vnets = useQuery(trpc.vnet.list.queryOptions());
  const [search, setSearch] = useState("");
  const [creating, setCreating] = useState(false);

  const rows = useMemo(() => {
    const q = search.trim().toLowerCase();
    if (!vnets.data || !q) return vnets.data;
    return vnets.data.filter((v) =>
      [v.name, v.description, v.bridge, v.context.subnet ?? "", v.context.gateway ?? ""].some((s) =>
        s.toLowerCase().includes(q),
      ),
    );
  }, [vnets.data, search]);

  const newButton = isAdmin && (
    <Button variant="primary" onClick={() => setCreating(true)}>
      New VNET
    </Button>
  );
  const hasAny = (vnets.data?.length ?? 0) > 0;

  return (
    <>
      <PageHeader
        title="Virtual networks"
        description="Bridged networks and their address ranges, available to instances in their clusters."
        actions={newButton}
      />
      <Panel>
        {hasAny && (
          <div className="flex items-center justify-between gap-3 border-b border-slate-200 px-4 py-3">
            <Input
              type="search"
              aria-label="Search VNETs"
              placeholder="Search by name, bridge or subnet"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              className="max-w-xs"
            />
            <span className="text-sm text-slate-500">
              {rows?.length ?? 0} of {vnets.data?.length ?? 0}
            </span>
          </div>
        )}
        {vnets.isError ? (
          <EmptyState
            title="Could not load VNETs"
            action={<Button onClick={() => vnets.refetch()}>Retry</Button>}
          >
            {vnets.error.message}
          </EmptyState>
        ) : (
          <DataTable
            label="VNETs"
            columns={COLUMNS}
            rows={rows}
            rowKey={(v) => v.id}
            loading={vnets.isPending}
            onRowClick={(v) => router.push(`/vnets/${v.id}`)}
            empty={
              hasAny ? (
                <EmptyState title="No VNETs match your search">
                  Nothing matches “{search}”. Try a name, bridge or subnet.
                </EmptyState>
              ) : (
                <EmptyState title="No virtual networks yet" action={newButton}>
                  {isAdmin
                    ? "Create a VNET to give instances addresses: a subnet, a gateway and a range to lease from."
                    : "No VNET is shared with you yet. Ask a cloud administrator for one."}
                </EmptyState>
              )
            }
          />
        )}
      </Panel>
      {isAdmin && <VnetCreateDialog open={creating} onClose={() => setCreating(false)} />}
    </>
  );
}
