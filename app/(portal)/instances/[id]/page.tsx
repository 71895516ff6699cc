"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import dynamic from "next/dynamic";
import Link from "next/link";
import { useParams, useRouter } from "next/navigation";
import { useState } from "react";
import { toast } from "sonner";
import { HypervisorLines } from "@/components/instances/hypervisor-lines";
import { SeedPanel } from "@/components/instances/seed-panel";
import { errorCode, errorMessage, useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { ConfirmDialog } from "@/components/ui/dialog";
import {
  Badge,
  EmptyState,
  LoadFailed,
  NotFound,
  PageHeader,
  Panel,
  Skeleton,
  type Tone,
} from "@/components/ui/misc";
import type { AppRouter } from "@/server/routers/root";

// The NIC forms (zod schemas, address checks) load when first opened, not with the page.
const AddNicDialog = dynamic(() => import("@/components/instances/nic-dialogs").then((m) => m.AddNicDialog));
const ChangeNicDialog = dynamic(() =>
  import("@/components/instances/nic-dialogs").then((m) => m.ChangeNicDialog),
);

type Instance = inferRouterOutputs<AppRouter>["instance"]["get"];
type Nic = Instance["nics"][number];

const STATE: Record<Nic["state"], { tone: Tone; label: string }> = {
  applied: { tone: "green", label: "Applied" },
  pending: { tone: "amber", label: "Pending" },
  error: { tone: "red", label: "Error" },
};

export default function InstancePage() {
  const params = useParams<{ id: string }>();
  const id = Number(params.id);
  const valid = Number.isInteger(id) && id > 0;
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  // Live like the Nodes page: a NIC's state follows its node's reports.
  const instance = useQuery({
    ...trpc.instance.get.queryOptions({ id }),
    enabled: valid,
    refetchInterval: 2000,
  });
  const [adding, setAdding] = useState(false);
  const [changing, setChanging] = useState<Nic | null>(null);
  const [unplugging, setUnplugging] = useState<Nic | null>(null);
  const [deleting, setDeleting] = useState(false);
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries(trpc.instance.pathFilter()),
      queryClient.invalidateQueries(trpc.vnet.pathFilter()),
      queryClient.invalidateQueries(trpc.node.pathFilter()),
    ]);
  const unplug = useMutation(
    trpc.instance.removeNic.mutationOptions({
      onSuccess: async (r) => {
        await refresh();
        toast.success(`eth${r.idx} removed from ${r.instance}; its address is free again`);
        setUnplugging(null);
      },
      onError: (err) => {
        setUnplugging(null);
        toast.error(errorMessage(err));
      },
    }),
  );
  const remove = useMutation(
    trpc.instance.remove.mutationOptions({
      onSuccess: (r) => {
        toast.success(`Instance ${r.name} deleted; its addresses are free again`);
        setDeleting(false);
        router.push("/instances");
        queryClient.removeQueries(trpc.instance.get.queryFilter({ id }));
        return refresh();
      },
      onError: (err) => {
        setDeleting(false);
        toast.error(errorMessage(err));
      },
    }),
  );

  const back = (
    <Link href="/instances" className="text-sky-800 hover:underline">
      ← All instances
    </Link>
  );
  if (!valid || errorCode(instance.error) === "NOT_FOUND")
    return <NotFound what="Instance" id={params.id} back={back} />;
  if (instance.isError)
    return (
      <>
        <PageHeader title="Instance" back={back} />
        <Panel>
          <LoadFailed what="this instance" query={instance} />
        </Panel>
      </>
    );

  const inst = instance.data;
  const columns: Column<Nic>[] = [
    { key: "idx", header: "Interface", cell: (n) => <span className="font-mono">eth{n.idx}</span> },
    {
      key: "vnet",
      header: "VNET",
      cell: (n) => (
        <Link href={`/vnets/${n.vnetId}`} className="whitespace-nowrap text-sky-800 hover:underline">
          {n.vnetName}
        </Link>
      ),
    },
    {
      key: "address",
      header: "Addresses",
      cell: (n) => (
        <div className="font-mono text-[13px]">
          <div>{n.ip ?? "no IPv4"}</div>
          {n.ip6 && <div className="text-slate-600">{n.ip6}</div>}
        </div>
      ),
    },
    { key: "mac", header: "MAC", cell: (n) => <span className="font-mono text-[13px]">{n.mac ?? "—"}</span> },
    {
      key: "port",
      header: "Port",
      cell: (n) =>
        n.portKind === "tap" ? (
          <span className="whitespace-nowrap">
            Hypervisor tap <span className="font-mono">{n.dev}</span>
          </span>
        ) : (
          <span className="whitespace-nowrap">Lab guest</span>
        ),
    },
    {
      key: "state",
      header: "On the node",
      className: "w-full",
      cell: (n) => (
        <div className="flex flex-col items-start gap-0.5">
          <Badge tone={STATE[n.state].tone} data-testid={`nic-state-eth${n.idx}`}>
            {STATE[n.state].label}
          </Badge>
          {n.error && <span className="text-xs text-red-700">{n.error}</span>}
        </div>
      ),
    },
    {
      key: "actions",
      header: "Actions",
      cell: (n) => (
        <div className="flex gap-1">
          <Button size="sm" variant="ghost" aria-label={`Change eth${n.idx}`} onClick={() => setChanging(n)}>
            Change…
          </Button>
          <Button
            size="sm"
            variant="ghost"
            className="text-red-700"
            aria-label={`Remove eth${n.idx}`}
            onClick={() => setUnplugging(n)}
          >
            Remove
          </Button>
        </div>
      ),
    },
  ];
  const taps = inst?.nics.filter((n) => n.portKind === "tap" && n.dev && n.mac) ?? [];

  return (
    <>
      <PageHeader
        back={back}
        title={inst ? inst.name : <Skeleton className="h-8 w-48" />}
        description={
          inst && (
            <>
              On node{" "}
              <Link
                href={`/nodes?q=${encodeURIComponent(inst.nodeName)}`}
                className="text-sky-800 hover:underline"
              >
                {inst.nodeName}
              </Link>{" "}
              ·{" "}
              {inst.node.inSync
                ? "the node has applied every change"
                : !inst.node.enrolled
                  ? "the node has no agent enrolled yet (enroll it on the Nodes page)"
                  : !inst.node.reported
                    ? "the node's agent has not reported yet (is it running?)"
                    : `the node has applied revision ${inst.node.appliedRevision} of ${inst.node.desiredRevision}`}
            </>
          )
        }
        actions={
          inst && (
            <>
              <Button variant="primary" onClick={() => setAdding(true)}>
                Add NIC
              </Button>
              <Button variant="danger" onClick={() => setDeleting(true)}>
                Delete
              </Button>
            </>
          )
        }
      />
      <div className="flex flex-col gap-6">
        <Panel title="Network interfaces">
          <DataTable
            label={`NICs of ${inst?.name ?? "the instance"}`}
            columns={columns}
            rows={inst?.nics}
            rowKey={(n) => n.nicId}
            loading={instance.isPending}
            rowProps={(n) => ({ "data-nic": `eth${n.idx}` })}
            empty={
              <EmptyState
                title="No network interfaces"
                action={<Button onClick={() => setAdding(true)}>Add NIC</Button>}
              >
                Without a NIC the instance reaches no network.
              </EmptyState>
            }
          />
        </Panel>
        {taps.map((n) => (
          <Panel key={n.nicId} title={`Attach a VM: eth${n.idx} on ${n.vnetName} (tap ${n.dev})`}>
            <div className="flex flex-col gap-3 p-4 text-sm text-slate-700">
              <p>
                Start the VM on node {inst?.nodeName} with this NIC. The hypervisor creates the tap{" "}
                <span className="font-mono">{n.dev}</span>; the agent plugs it into the VNET with its
                anti-spoofing and security groups as soon as it appears. Until then, and with any other MAC
                than <span className="font-mono">{n.mac}</span>, it passes no traffic.
              </p>
              <HypervisorLines
                nic={{ idx: n.idx, dev: n.dev!, mac: n.mac! }}
                instanceName={inst?.name ?? ""}
              />
            </div>
          </Panel>
        ))}
        {inst && <SeedPanel instanceId={inst.id} name={inst.name} />}
      </div>
      {adding && inst && <AddNicDialog instance={inst} onClose={() => setAdding(false)} />}
      {changing && inst && (
        <ChangeNicDialog instanceName={inst.name} nic={changing} onClose={() => setChanging(null)} />
      )}
      <ConfirmDialog
        open={unplugging !== null}
        onClose={() => setUnplugging(null)}
        title={`Remove eth${unplugging?.idx ?? ""} from ${inst?.name ?? ""}?`}
        confirmLabel="Remove NIC"
        pending={unplug.isPending}
        onConfirm={() => unplugging && unplug.mutate({ nicId: unplugging.nicId })}
      >
        The node unplugs it live and {unplugging?.ip ?? unplugging?.ip6 ?? "its address"} in{" "}
        {unplugging?.vnetName} is released.
      </ConfirmDialog>
      <ConfirmDialog
        open={deleting}
        onClose={() => setDeleting(false)}
        title={`Delete instance ${inst?.name ?? ""}?`}
        confirmLabel="Delete instance"
        pending={remove.isPending}
        onConfirm={() => inst && remove.mutate({ id: inst.id })}
      >
        <strong>{inst?.name}</strong> is removed from node {inst?.nodeName}; its ports are deleted and its{" "}
        {inst?.nics.length === 1 ? "address is" : "addresses are"} released.
      </ConfirmDialog>
    </>
  );
}
