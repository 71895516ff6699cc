"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMemo, useState } from "react";
import { formatDate } from "@/components/format";
import type { SgSummary } from "@/components/sg/types";
import { useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { Input } from "@/components/ui/field";
import { Badge, EmptyState, LoadFailed, PageHeader, Panel } from "@/components/ui/misc";

const COLUMNS: Column<SgSummary>[] = [
  {
    key: "name",
    header: "Name",
    cell: (s) => (
      <div className="min-w-0">
        <span className="flex items-center gap-2">
          <Link href={`/security-groups/${s.id}`} className="font-medium text-sky-800 hover:underline">
            {s.name}
          </Link>
          {s.id === 0 && <Badge>built in</Badge>}
        </span>
        {s.description && <div className="max-w-80 truncate text-xs text-slate-500">{s.description}</div>}
      </div>
    ),
  },
  { key: "rules", header: "Rules", cell: (s) => <span className="tabular-nums">{s.rules}</span> },
  { key: "vnets", header: "VNETs", cell: (s) => <span className="tabular-nums">{s.vnets}</span> },
  {
    key: "revision",
    header: "Revision",
    cell: (s) => <span className="font-mono text-[13px]">{s.revision}</span>,
  },
  { key: "owner", header: "Owner", cell: (s) => s.ownerName ?? s.ownerId },
  {
    key: "updated",
    header: "Updated",
    cell: (s) => <span className="whitespace-nowrap">{formatDate(s.updatedAt)}</span>,
  },
];

export default function SecurityGroupsPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const groups = useQuery(trpc.sg.list.queryOptions());
  const [search, setSearch] = useState("");

  const rows = useMemo(() => {
    const q = search.trim().toLowerCase();
    if (!groups.data || !q) return groups.data;
    return groups.data.filter((s) =>
      [s.name, s.description, s.ownerName ?? ""].some((x) => x.toLowerCase().includes(q)),
    );
  }, [groups.data, search]);

  const newButton = (
    <Button variant="primary" onClick={() => router.push("/security-groups/new")}>
      New security group
    </Button>
  );

  return (
    <>
      <PageHeader
        title="Security groups"
        description="Stateful firewall rules for the NICs of the VNETs a group is attached to."
        actions={
          <>
            <Button onClick={() => router.push("/security-groups/explain")}>Explain a connection</Button>
            {newButton}
          </>
        }
      />
      <Panel>
        {(groups.data?.length ?? 0) > 0 && (
          <div className="flex items-center justify-between gap-3 border-b border-slate-200 px-4 py-3">
            <Input
              type="search"
              aria-label="Search security groups"
              placeholder="Search by name, description or owner"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              className="max-w-xs"
            />
            <span className="text-sm text-slate-500">
              {rows?.length ?? 0} of {groups.data?.length ?? 0}
            </span>
          </div>
        )}
        {groups.isError ? (
          <LoadFailed what="security groups" query={groups} />
        ) : (
          <DataTable
            label="Security groups"
            columns={COLUMNS}
            rows={rows}
            rowKey={(s) => s.id}
            loading={groups.isPending}
            onRowClick={(s) => router.push(`/security-groups/${s.id}`)}
            empty={
              (groups.data?.length ?? 0) > 0 ? (
                <EmptyState title="No security groups match your search">
                  Nothing matches “{search}”. Try a name, description or owner.
                </EmptyState>
              ) : (
                <EmptyState title="No security groups yet" action={newButton}>
                  A security group lists the traffic its NICs may send and receive. Create one and attach it
                  to a VNET.
                </EmptyState>
              )
            }
          />
        )}
      </Panel>
    </>
  );
}
