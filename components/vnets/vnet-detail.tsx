"use client";
// The parts of a VNET's page: attributes, address ranges, leases.
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import type { ReactNode } from "react";
import { intToIp4, ip4ToInt, macFromIp4 } from "@/lib/domain";
import type { AppRouter } from "@/server/routers/root";
import { formatDateTime } from "../format";
import { type Column, DataTable } from "../ui/data-table";
import { Badge, EmptyState, Panel } from "../ui/misc";

type Vnet = inferRouterOutputs<AppRouter>["vnet"]["get"];
type Range = Vnet["ranges"][number];
type Lease = Vnet["leases"][number];

const mono = (s: ReactNode) => <span className="font-mono text-[13px]">{s}</span>;

export function VnetInfo({ vnet: v }: { vnet: Vnet }) {
  const items: [string, ReactNode][] = [
    ["Driver", v.driver],
    ["Network type", v.networkType],
    ["Bridge", mono(v.bridge)],
    ["MTU", v.mtu],
    ["Subnet", mono(v.context.subnet ?? "—")],
    ["Netmask", mono(v.mask ?? "—")],
    ["Gateway", mono(v.context.gateway ?? "—")],
    ["DNS servers", mono(v.context.dns?.join(", ") || "—")],
    ["Clusters", v.clusters.map((c) => c.name).join(", ") || "—"],
    ["Addresses", `${v.leases.length} of ${v.size} leased`],
    ["Anti-spoofing", v.antiSpoofing ? "on" : "off"],
    ["Created", formatDateTime(v.createdAt)],
  ];
  return (
    <Panel title="Attributes">
      <dl className="grid grid-cols-4 gap-x-6 gap-y-4 p-4">
        {items.map(([k, val]) => (
          <div key={k} className="min-w-0">
            <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">{k}</dt>
            <dd className="mt-0.5 truncate text-sm text-slate-900">{val}</dd>
          </div>
        ))}
      </dl>
    </Panel>
  );
}

const lastIp = (r: Range) => (r.ip ? intToIp4((ip4ToInt(r.ip) + r.size - 1) >>> 0) : "—");

const RANGE_COLUMNS: Column<Range>[] = [
  { key: "id", header: "AR", cell: (r) => r.id },
  { key: "type", header: "Type", cell: (r) => (r.type === "ip4" ? "IPv4" : r.type) },
  { key: "first", header: "First IP", cell: (r) => mono(r.ip ?? "—") },
  { key: "last", header: "Last IP", cell: (r) => mono(lastIp(r)) },
  { key: "size", header: "Size", cell: (r) => <span className="tabular-nums">{r.size}</span> },
  {
    key: "prefix",
    header: "Prefix",
    cell: (r) => mono(r.prefixLength === null ? "—" : `/${r.prefixLength}`),
  },
  { key: "mac", header: "First MAC", cell: (r) => mono(r.mac ?? (r.ip ? macFromIp4(r.ip) : "—")) },
];

export function RangesTable({ vnet }: { vnet: Vnet }) {
  return (
    <Panel title="Address ranges">
      <DataTable
        label="Address ranges"
        columns={RANGE_COLUMNS}
        rows={vnet.ranges}
        rowKey={(r) => r.id}
        empty={<EmptyState title="No address ranges">This VNET has no addresses to lease.</EmptyState>}
      />
    </Panel>
  );
}

const LEASE_COLUMNS: Column<Lease>[] = [
  { key: "ip", header: "IP", cell: (l) => mono(l.ip ?? "—") },
  { key: "mac", header: "MAC", cell: (l) => mono(l.mac) },
  {
    key: "state",
    header: "State",
    cell: (l) => <Badge tone={l.state === "used" ? "green" : "amber"}>{l.state}</Badge>,
  },
  {
    key: "instance",
    header: "Instance",
    cell: (l) =>
      l.instanceName ? (
        <Link href="/instances" className="text-sky-800 hover:underline">
          {l.instanceName}
        </Link>
      ) : (
        "—"
      ),
  },
  { key: "since", header: "Since", cell: (l) => formatDateTime(l.createdAt) },
];

export function LeasesTable({ vnet }: { vnet: Vnet }) {
  return (
    <Panel title={`Leases (${vnet.leases.length})`}>
      <DataTable
        label="Leases"
        columns={LEASE_COLUMNS}
        rows={vnet.leases}
        rowKey={(l) => l.id}
        empty={
          <EmptyState title="No leases yet">
            Addresses are leased when an instance gets a NIC on this VNET.
          </EmptyState>
        }
      />
    </Panel>
  );
}
