"use client";
// The Overview tab of a VNET's page: attributes, its address ranges and the latest leases, plus the
// read-only Security groups tab.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import type { ReactNode } from "react";
import { formatDateTime } from "../format";
import { useTRPC } from "../trpc";
import { type Column, DataTable } from "../ui/data-table";
import { Badge, EmptyState, Panel, UsageBar } from "../ui/misc";
import { RangesTable } from "./ranges-tab";
import { type LeaseRow, mono, type Vnet } from "./shared";
import { UnderlayWarning } from "./underlay-warning";

export function VnetInfo({ vnet: v }: { vnet: Vnet }) {
  const items: [string, ReactNode][] = [
    ["Driver", v.driver + (v.vlanId ? ` · VLAN ${v.vlanId}` : "") + (v.vni ? ` · VNI ${v.vni}` : "")],
    ["Network type", v.networkType],
    ["Bridge", mono(v.bridge)],
    ["MTU", v.driver === "vxlan" ? `${v.mtu} (guests ${v.guestMtu})` : v.mtu],
    ["Subnet", mono(v.context.subnet ?? "—")],
    ["Netmask", mono(v.mask ?? "—")],
    ["Gateway", mono(v.context.gateway ?? "—")],
    ["DNS servers", mono(v.context.dns?.join(", ") || "—")],
    ["Physical device", mono(v.phydev ?? "—")],
    ["Clusters", v.clusters.map((c) => c.name).join(", ") || "—"],
    ["Owner", v.owner],
    ["Created", formatDateTime(v.createdAt)],
  ];
  return (
    <Panel
      title="Attributes"
      actions={
        <div className="flex items-center gap-3">
          {v.lockLevel && <Badge tone="amber">locked ({v.lockLevel})</Badge>}
          <UsageBar used={v.used + v.held} size={v.size} />
        </div>
      }
    >
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

const LEASE_COLUMNS: Column<LeaseRow>[] = [
  { key: "ip", header: "IP", cell: (l) => mono(l.ip ?? l.ip6 ?? "—") },
  { key: "mac", header: "MAC", cell: (l) => mono(l.mac) },
  {
    key: "state",
    header: "State",
    cell: (l) => (
      <Badge tone={l.state === "used" ? "green" : "amber"}>{l.state === "hold" ? "on hold" : l.state}</Badge>
    ),
  },
  {
    key: "instance",
    header: "Instance / reason",
    cell: (l) =>
      l.instance ? (
        <Link href="/instances" className="text-sky-800 hover:underline">
          {l.instance}
        </Link>
      ) : (
        (l.reason ?? "—")
      ),
  },
  { key: "since", header: "Since", cell: (l) => formatDateTime(l.since) },
];

export function RecentLeases({ vnet, onAll }: { vnet: Vnet; onAll: () => void }) {
  const trpc = useTRPC();
  const leases = useQuery(trpc.lease.list.queryOptions({ vnetId: vnet.id, state: "leased", limit: 10 }));
  const total = leases.data?.total ?? 0;
  return (
    <Panel
      title={`Leases (${vnet.used + vnet.held})`}
      actions={
        total > 0 && (
          <button type="button" onClick={onAll} className="text-sm font-medium text-sky-800 hover:underline">
            All addresses →
          </button>
        )
      }
    >
      <DataTable
        label="Leases"
        columns={LEASE_COLUMNS}
        rows={leases.data?.rows}
        loading={leases.isPending}
        rowKey={(l) => `${l.arId}:${l.offset}`}
        empty={
          <EmptyState title="No leases yet">
            Addresses are leased when an instance gets a NIC on this VNET.
          </EmptyState>
        }
      />
      {total > 10 && (
        <p className="border-t border-slate-100 px-4 py-2 text-xs text-slate-500">
          First 10 of {total} in address order.
        </p>
      )}
    </Panel>
  );
}

export function Overview({ vnet, onAll }: { vnet: Vnet; onAll: () => void }) {
  return (
    <>
      <UnderlayWarning vnet={vnet} />
      <VnetInfo vnet={vnet} />
      <Panel title="Address ranges">
        <RangesTable vnet={vnet} />
      </Panel>
      <RecentLeases vnet={vnet} onAll={onAll} />
    </>
  );
}
