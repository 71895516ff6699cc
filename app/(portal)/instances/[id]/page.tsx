"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useParams } from "next/navigation";
import { SeedPanel, Snippet } from "@/components/instances/seed-panel";
import { useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { Badge, EmptyState, NotFound, PageHeader, Panel, Skeleton } from "@/components/ui/misc";

export default function InstancePage() {
  const params = useParams<{ id: string }>();
  const id = Number(params.id);
  const trpc = useTRPC();
  // The list is scoped to what the caller may see; an instance outside it is "not found".
  const list = useQuery(trpc.instance.list.queryOptions());
  const inst = list.data?.find((i) => i.id === id);
  const back = (
    <Link href="/instances" className="text-sky-800 hover:underline">
      ← All instances
    </Link>
  );

  if (list.isError)
    return (
      <>
        <PageHeader title="Instance" back={back} />
        <Panel>
          <EmptyState
            title="Could not load this instance"
            action={<Button onClick={() => list.refetch()}>Retry</Button>}
          >
            {list.error.message}
          </EmptyState>
        </Panel>
      </>
    );
  if (list.data && !inst) return <NotFound what="Instance" id={params.id} back={back} />;

  return (
    <>
      <PageHeader
        back={back}
        title={inst ? inst.name : <Skeleton className="h-8 w-48" />}
        description={
          inst
            ? `On node ${inst.nodeName} · ${inst.nics.length} NIC${inst.nics.length === 1 ? "" : "s"}`
            : undefined
        }
      />
      {!inst ? (
        <Panel className="p-6">
          <div className="grid grid-cols-3 gap-6">
            {[0, 1, 2, 3, 4, 5].map((i) => (
              <Skeleton key={i} className="h-10" />
            ))}
          </div>
        </Panel>
      ) : (
        <div className="flex flex-col gap-6">
          <Panel title="NICs">
            <ul className="divide-y divide-slate-200">
              {inst.nics.map((n) => (
                <li key={n.nicId} className="flex flex-col gap-3 p-4" data-testid="instance-nic">
                  <div className="flex flex-wrap items-center gap-x-4 gap-y-1 text-sm">
                    <span className="font-medium">eth{n.idx}</span>
                    <Link href={`/vnets/${n.vnetId}`} className="text-sky-800 hover:underline">
                      {n.vnetName}
                    </Link>
                    <span className="font-mono text-[13px]">{n.ip ?? "no IPv4"}</span>
                    {n.ip6 && <span className="font-mono text-[13px]">{n.ip6}</span>}
                    <span className="font-mono text-[13px] text-slate-500">{n.mac ?? ""}</span>
                    {n.dev ? <Badge tone="blue">hypervisor tap {n.dev}</Badge> : <Badge>lab guest</Badge>}
                  </div>
                  {n.dev && n.mac && (
                    <div className="grid grid-cols-2 gap-4">
                      <Snippet
                        label={`QEMU eth${n.idx}`}
                        text={`-netdev tap,id=net${n.idx},ifname=${n.dev},script=no,downscript=no -device virtio-net-pci,netdev=net${n.idx},mac=${n.mac}`}
                      />
                      <Snippet
                        label={`libvirt eth${n.idx}`}
                        text={`<interface type='ethernet'>\n  <target dev='${n.dev}'/>\n  <mac address='${n.mac}'/>\n  <model type='virtio'/>\n</interface>`}
                      />
                    </div>
                  )}
                </li>
              ))}
            </ul>
          </Panel>
          <SeedPanel instanceId={inst.id} name={inst.name} />
        </div>
      )}
    </>
  );
}
