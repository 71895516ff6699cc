"use client";
import { useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import dynamic from "next/dynamic";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMemo, useState } from "react";
import { formatDate } from "@/components/format";
import { useMe } from "@/components/session";
import { useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { Input, Select } from "@/components/ui/field";
import { Badge, EmptyState, LoadFailed, PageHeader, Panel, UsageBar } from "@/components/ui/misc";
import type { AppRouter } from "@/server/routers/root";

// Dialogs load their forms (zod schemas, address checks) when first opened, not with the page.
const HosterExportButton = dynamic(() =>
  import("@/components/vnets/hoster-dialogs").then((m) => m.HosterExportButton),
);
const HosterImportDialog = dynamic(() =>
  import("@/components/vnets/hoster-dialogs").then((m) => m.HosterImportDialog),
);
const PoolsDialog = dynamic(() => import("@/components/vnets/hoster-dialogs").then((m) => m.PoolsDialog));
const VnetCreateDialog = dynamic(() =>
  import("@/components/vnets/vnet-create-dialog").then((m) => m.VnetCreateDialog),
);

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
    key: "driver",
    header: "Driver",
    cell: (v) => (
      <span className="whitespace-nowrap">
        {v.driver}
        {v.vlanId !== null && <span className="text-slate-500"> {v.vlanId}</span>}
        {v.vni !== null && <span className="text-slate-500"> {v.vni}</span>}
      </span>
    ),
  },
  {
    key: "type",
    header: "Type",
    cell: (v) => (
      <div className="flex flex-col items-start gap-1">
        <Badge tone={v.networkType === "external" ? "blue" : "gray"}>{v.networkType}</Badge>
        {v.lockLevel && <Badge tone="amber">locked</Badge>}
      </div>
    ),
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
    key: "owner",
    header: "Owner",
    cell: (v) => (
      <div className="text-sm">
        {v.owner ?? "—"}
        <div className="text-xs whitespace-nowrap text-slate-500">{formatDate(v.createdAt)}</div>
      </div>
    ),
  },
];

const ANY = "";

export default function VnetsPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const me = useMe();
  const isAdmin = me.role === "admin";
  const vnets = useQuery(trpc.vnet.list.queryOptions());
  const [search, setSearch] = useState("");
  const [cluster, setCluster] = useState(ANY);
  const [driver, setDriver] = useState(ANY);
  const [owner, setOwner] = useState(ANY);
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);
  const [pools, setPools] = useState(false);

  const choices = useMemo(() => {
    const d = vnets.data ?? [];
    const uniq = <T,>(xs: T[]) => [...new Map(xs.map((x) => [JSON.stringify(x), x])).values()];
    return {
      clusters: uniq(d.flatMap((v) => v.clusters)).sort((a, b) => a.id - b.id),
      drivers: uniq(d.map((v) => v.driver)).sort(),
      owners: uniq(d.map((v) => v.owner ?? ""))
        .filter(Boolean)
        .sort(),
    };
  }, [vnets.data]);

  const rows = useMemo(() => {
    const q = search.trim().toLowerCase();
    if (!vnets.data) return vnets.data;
    return vnets.data.filter(
      (v) =>
        (!q ||
          [v.name, v.description, v.bridge, v.context.subnet ?? "", v.context.gateway ?? ""].some((s) =>
            s.toLowerCase().includes(q),
          )) &&
        (cluster === ANY || v.clusters.some((c) => String(c.id) === cluster)) &&
        (driver === ANY || v.driver === driver) &&
        (owner === ANY || v.owner === owner),
    );
  }, [vnets.data, search, cluster, driver, owner]);
  const filtered = search.trim() !== "" || cluster !== ANY || driver !== ANY || owner !== ANY;

  const newButton = isAdmin && (
    <Button variant="primary" onClick={() => setCreating(true)}>
      New VNET
    </Button>
  );
  const hasAny = (vnets.data?.length ?? 0) > 0;
  const actions = (
    <>
      {isAdmin && <Button onClick={() => setPools(true)}>ID pools</Button>}
      {hasAny && <HosterExportButton />}
      {isAdmin && <Button onClick={() => setImporting(true)}>Import network_config.json</Button>}
      {newButton}
    </>
  );

  return (
    <>
      <PageHeader
        title="Virtual networks"
        description="Bridged networks and their address ranges, available to instances in their clusters."
        actions={actions}
      />
      <Panel>
        {hasAny && (
          <div className="flex items-center justify-between gap-3 border-b border-slate-200 px-4 py-3">
            <div className="flex flex-1 flex-wrap items-center gap-3">
              <Input
                type="search"
                aria-label="Search VNETs"
                placeholder="Search by name, bridge or subnet"
                value={search}
                onChange={(e) => setSearch(e.target.value)}
                className="max-w-xs"
              />
              <Select
                aria-label="Cluster"
                value={cluster}
                onChange={(e) => setCluster(e.target.value)}
                className="w-44!"
              >
                <option value={ANY}>All clusters</option>
                {choices.clusters.map((c) => (
                  <option key={c.id} value={String(c.id)}>
                    {c.id}: {c.name}
                  </option>
                ))}
              </Select>
              <Select
                aria-label="Driver"
                value={driver}
                onChange={(e) => setDriver(e.target.value)}
                className="w-40!"
              >
                <option value={ANY}>All drivers</option>
                {choices.drivers.map((d) => (
                  <option key={d} value={d}>
                    {d}
                  </option>
                ))}
              </Select>
              <Select
                aria-label="Owner"
                value={owner}
                onChange={(e) => setOwner(e.target.value)}
                className="w-40!"
              >
                <option value={ANY}>All owners</option>
                {choices.owners.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </Select>
              {filtered && (
                <Button
                  variant="ghost"
                  onClick={() => {
                    setSearch("");
                    setCluster(ANY);
                    setDriver(ANY);
                    setOwner(ANY);
                  }}
                >
                  Clear filters
                </Button>
              )}
            </div>
            <span className="text-sm whitespace-nowrap text-slate-500">
              {rows?.length ?? 0} of {vnets.data?.length ?? 0}
            </span>
          </div>
        )}
        {vnets.isError ? (
          <LoadFailed what="VNETs" query={vnets} />
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
                  {search.trim()
                    ? `Nothing matches “${search}” with these filters. Try a name, bridge or subnet.`
                    : "No VNET matches these filters."}
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
      {isAdmin && creating && <VnetCreateDialog open onClose={() => setCreating(false)} />}
      {importing && <HosterImportDialog onClose={() => setImporting(false)} />}
      {pools && <PoolsDialog onClose={() => setPools(false)} />}
    </>
  );
}
