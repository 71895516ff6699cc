"use client";
// The end user's home: templates they may use, their own networks (with leases and the NICs on
// them), networks shared with them (to reserve addresses from), and their quota.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import dynamic from "next/dynamic";
import Link from "next/link";
import { useState } from "react";
import { toast } from "sonner";
import { useMe } from "@/components/session";
import { errorMessage, useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { ConfirmDialog } from "@/components/ui/dialog";
import { Badge, EmptyState, LoadFailed, PageHeader, Panel, Skeleton, UsageBar } from "@/components/ui/misc";
import type { AppRouter } from "@/server/routers/root";

// Dialogs load their forms (zod schemas, address checks) when first opened, not with the page.
const InstantiateDialog = dynamic(() =>
  import("@/components/tenancy/instantiate-dialog").then((m) => m.InstantiateDialog),
);
const ReserveDialog = dynamic(() =>
  import("@/components/tenancy/reserve-dialog").then((m) => m.ReserveDialog),
);

type Out = inferRouterOutputs<AppRouter>;
type Template = Out["template"]["list"][number];
type Mine = Out["vnet"]["mine"][number];
type Shared = Out["vnet"]["list"][number];

export default function SelfServicePage() {
  const trpc = useTRPC();
  const me = useMe();
  const templates = useQuery(trpc.template.list.queryOptions());
  // Instances created elsewhere change leases and usage: always refetch when the page opens.
  const mine = useQuery({ ...trpc.vnet.mine.queryOptions(), staleTime: 0 });
  const all = useQuery(trpc.vnet.list.queryOptions());
  const [instantiating, setInstantiating] = useState<Template | null>(null);
  const [reserving, setReserving] = useState<Shared | null>(null);
  const [deleting, setDeleting] = useState<Mine | null>(null);
  const shared = all.data?.filter((v) => v.ownerId !== me.id);

  return (
    <>
      <PageHeader
        title="Self-service"
        description="Networks of your own, made from the templates your administrators share with you."
        actions={<QuotaSummary />}
      />
      <div className="flex flex-col gap-6">
        <Panel title="Network templates">
          {templates.isError ? (
            <LoadFailed what="templates" query={templates} />
          ) : templates.isPending ? (
            <div className="grid grid-cols-3 gap-4 p-4">
              <Skeleton className="h-28" />
              <Skeleton className="h-28" />
              <Skeleton className="h-28" />
            </div>
          ) : templates.data.length === 0 ? (
            <EmptyState title="No template is shared with you">
              Ask a cloud administrator to share a network template with your group.
            </EmptyState>
          ) : (
            <ul className="grid grid-cols-3 gap-4 p-4">
              {templates.data.map((t) => (
                <TemplateCard key={t.id} t={t} onUse={() => setInstantiating(t)} />
              ))}
            </ul>
          )}
        </Panel>

        <Panel title="My networks">
          {mine.isError ? (
            <LoadFailed what="your networks" query={mine} />
          ) : (
            <DataTable
              label="My networks"
              columns={mineColumns(setDeleting)}
              rows={mine.data}
              rowKey={(v) => v.id}
              loading={mine.isPending}
              empty={
                <EmptyState title="You have no networks yet">
                  Pick a template above and create one: it takes a name and a size.
                </EmptyState>
              }
            />
          )}
        </Panel>

        {shared && shared.length > 0 && (
          <Panel title="Shared with you">
            <DataTable
              label="Shared networks"
              columns={sharedColumns(setReserving)}
              rows={shared}
              rowKey={(v) => v.id}
            />
          </Panel>
        )}
      </div>
      {instantiating && <InstantiateDialog template={instantiating} onClose={() => setInstantiating(null)} />}
      {reserving && <ReserveDialog parent={reserving} onClose={() => setReserving(null)} />}
      <DeleteNetwork vnet={deleting} onClose={() => setDeleting(null)} />
    </>
  );
}

function QuotaSummary() {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.quota.mine.queryOptions(), staleTime: 0 });
  if (!q.data) return null;
  const u = q.data.user;
  const g = q.data.group;
  const groupLimited = g.maxVnets !== null || g.maxLeases !== null;
  const of = (used: number, max: number | null, one: string, many: string) =>
    max === null ? `${used} ${used === 1 ? one : many}` : `${used} of ${max} ${max === 1 ? one : many}`;
  return (
    <div className="text-right text-sm text-slate-600" data-testid="quota">
      <div>
        {of(u.usage.vnets, u.maxVnets, "network", "networks")} ·{" "}
        {of(u.usage.leases, u.maxLeases, "address", "addresses")}
      </div>
      <div className="text-xs text-slate-500">
        {u.maxVnets === null && u.maxLeases === null ? "No personal quota" : "Your quota"}
        {groupLimited &&
          ` · your group: ${of(g.usage.vnets, g.maxVnets, "network", "networks")}, ${of(g.usage.leases, g.maxLeases, "address", "addresses")}`}
      </div>
    </div>
  );
}

function TemplateCard({ t, onUse }: { t: Template; onUse: () => void }) {
  const a = t.attrs;
  return (
    <li className="flex flex-col rounded-lg p-4 ring-1 ring-slate-200">
      <h3 className="font-semibold text-slate-900">{t.name}</h3>
      <p className="mt-1 line-clamp-2 min-h-10 text-sm text-slate-600">{t.description || "No description"}</p>
      <ul className="mt-2 flex flex-wrap gap-1.5">
        <Badge>{a.subnet}</Badge>
        <Badge>up to {a.maxSize} addresses</Badge>
        {a.allowIpv6 && <Badge tone="blue">IPv6</Badge>}
        {a.qosTiers.length > 0 && <Badge>{a.qosTiers.length} QoS tiers</Badge>}
        {t.lockLevel === "use" && <Badge tone="amber">locked</Badge>}
      </ul>
      <div className="mt-4 flex-1" />
      <Button
        variant="primary"
        className="self-start"
        aria-label={`Create network from ${t.name}`}
        disabled={t.lockLevel === "use"}
        title={t.lockLevel === "use" ? "This template is locked" : undefined}
        onClick={onUse}
      >
        Create network
      </Button>
    </li>
  );
}

const mono = (s: string) => <span className="font-mono text-[13px]">{s}</span>;

function mineColumns(onDelete: (v: Mine) => void): Column<Mine>[] {
  return [
    {
      key: "name",
      header: "Name",
      cell: (v) => (
        <div>
          <Link
            href={`/vnets/${v.id}`}
            className="font-medium whitespace-nowrap text-sky-800 hover:underline"
          >
            {v.name}
          </Link>
          <div className="text-xs whitespace-nowrap text-slate-500">
            {v.parent ? `reserved from ${v.parent}` : v.template ? `from ${v.template}` : "made by an admin"}
          </div>
        </div>
      ),
    },
    {
      key: "addresses",
      header: "Addresses",
      cell: (v) => (
        <div className="whitespace-nowrap">
          {mono(v.subnet ?? "—")}
          <div className="text-xs text-slate-500">
            gateway {v.gateway ?? "—"}
            {v.ipv6 && " · IPv6"}
          </div>
        </div>
      ),
    },
    { key: "usage", header: "Usage", cell: (v) => <UsageBar used={v.leases.length} size={v.size} /> },
    {
      key: "leases",
      header: "Leases and NICs",
      className: "w-full",
      cell: (v) =>
        v.leases.length === 0 ? (
          <span className="text-slate-400">No leases yet</span>
        ) : (
          <ul className="text-[13px]">
            {v.leases.slice(0, 4).map((l) => (
              <li key={l.mac}>
                {mono(l.ip ?? l.ip6 ?? l.mac)}{" "}
                {l.state === "used" ? (
                  <span className="text-slate-700">
                    → {l.instance} eth{l.nicIdx}
                  </span>
                ) : (
                  <span className="text-slate-500">on hold{l.reason ? ` (${l.reason})` : ""}</span>
                )}
              </li>
            ))}
            {v.leases.length > 4 && (
              <li className="text-xs text-slate-500">and {v.leases.length - 4} more</li>
            )}
          </ul>
        ),
    },
    {
      key: "state",
      header: "State",
      cell: (v) =>
        v.lockLevel ? <Badge tone="amber">locked {v.lockLevel}</Badge> : <Badge tone="green">ready</Badge>,
    },
    {
      key: "actions",
      header: "Actions",
      cell: (v) => (
        <Button size="sm" variant="ghost" aria-label={`Delete ${v.name}`} onClick={() => onDelete(v)}>
          Delete
        </Button>
      ),
    },
  ];
}

function sharedColumns(onReserve: (v: Shared) => void): Column<Shared>[] {
  return [
    {
      key: "name",
      header: "Name",
      cell: (v) => <span className="font-medium whitespace-nowrap">{v.name}</span>,
    },
    { key: "subnet", header: "Subnet", cell: (v) => mono(v.context.subnet ?? "—") },
    { key: "usage", header: "Usage", cell: (v) => <UsageBar used={v.used} size={v.size} /> },
    {
      key: "actions",
      header: "Actions",
      className: "w-full text-right",
      cell: (v) => (
        <Button size="sm" aria-label={`Reserve addresses of ${v.name}`} onClick={() => onReserve(v)}>
          Reserve addresses…
        </Button>
      ),
    },
  ];
}

function DeleteNetwork({ vnet, onClose }: { vnet: Mine | null; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const remove = useMutation(
    trpc.vnet.remove.mutationOptions({
      onSuccess: (r) => {
        toast.success(`Network ${r.name} deleted`);
        onClose();
        return Promise.all([
          queryClient.invalidateQueries(trpc.vnet.pathFilter()),
          queryClient.invalidateQueries(trpc.quota.pathFilter()),
        ]);
      },
      onError: (err) => {
        onClose();
        toast.error(errorMessage(err));
      },
    }),
  );
  return (
    <ConfirmDialog
      open={vnet !== null}
      onClose={onClose}
      title={`Delete network ${vnet?.name ?? ""}?`}
      confirmLabel="Delete network"
      pending={remove.isPending}
      onConfirm={() => vnet && remove.mutate({ id: vnet.id })}
    >
      The network <strong>{vnet?.name}</strong> and its addresses are removed. Instances still attached to it
      must be deleted first. This cannot be undone.
    </ConfirmDialog>
  );
}
