"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useParams, usePathname, useRouter, useSearchParams } from "next/navigation";
import { Suspense, useState } from "react";
import { toast } from "sonner";
import { useMe } from "@/components/session";
import { VnetSecurityGroups } from "@/components/sg/vnet-security-groups";
import { PermissionsPanel } from "@/components/tenancy/permissions-panel";
import { errorCode, errorMessage, useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/dialog";
import { LoadFailed, NotFound, PageHeader, Panel, Skeleton } from "@/components/ui/misc";
import { ClustersTab, ConfigTab } from "@/components/vnets/config-tab";
import { ContextTab } from "@/components/vnets/context-tab";
import { DhcpTab } from "@/components/vnets/dhcp-tab";
import { LeasesTab } from "@/components/vnets/leases-tab";
import { PeeringsTab } from "@/components/vnets/peerings-tab";
import { QosTab } from "@/components/vnets/qos-tab";
import { RangesTab } from "@/components/vnets/ranges-tab";
import { TabPanel, Tabs } from "@/components/vnets/tabs";
import { Overview } from "@/components/vnets/vnet-detail";

const TABS = [
  { id: "info", label: "Overview" },
  { id: "config", label: "Configuration" },
  { id: "ranges", label: "Address ranges" },
  { id: "leases", label: "Leases" },
  { id: "dhcp", label: "DHCP & DNS" },
  { id: "qos", label: "QoS" },
  { id: "context", label: "Context" },
  { id: "sg", label: "Security groups" },
  { id: "peerings", label: "Peerings" },
  { id: "clusters", label: "Clusters" },
];

export default function VnetPageRoute() {
  return (
    <Suspense fallback={<Skeleton className="h-8 w-48" />}>
      <VnetPage />
    </Suspense>
  );
}

function VnetPage() {
  const params = useParams<{ id: string }>();
  const id = Number(params.id);
  const valid = Number.isInteger(id) && id >= 0;
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const search = useSearchParams();
  const tab = TABS.some((t) => t.id === search.get("tab")) ? search.get("tab")! : "info";
  const setTab = (t: string) =>
    router.replace(t === "info" ? pathname : `${pathname}?tab=${t}`, { scroll: false });
  const queryClient = useQueryClient();
  const me = useMe();
  const vnet = useQuery({ ...trpc.vnet.get.queryOptions({ id }), enabled: valid });
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation(
    trpc.vnet.remove.mutationOptions({
      onSuccess: (r) => {
        toast.success(`VNET ${r.name} deleted`);
        setConfirming(false);
        router.push("/vnets");
        queryClient.removeQueries(trpc.vnet.get.queryFilter({ id }));
        return queryClient.invalidateQueries(trpc.vnet.list.queryFilter());
      },
      onError: (err) => {
        setConfirming(false);
        toast.error(errorMessage(err));
      },
    }),
  );

  const back = (
    <Link href="/vnets" className="text-sky-800 hover:underline">
      ← All VNETs
    </Link>
  );

  if (!valid || errorCode(vnet.error) === "NOT_FOUND")
    return <NotFound what="VNET" id={params.id} back={back} />;

  if (vnet.isError)
    return (
      <>
        <PageHeader title="VNET" back={back} />
        <Panel>
          <LoadFailed what="this VNET" query={vnet} />
        </Panel>
      </>
    );

  const v = vnet.data;
  return (
    <>
      <PageHeader
        back={back}
        title={v ? v.name : <Skeleton className="h-8 w-48" />}
        description={
          v?.description || (v ? `Bridge ${v.bridge} · ${v.driver} · ${v.networkType} network` : undefined)
        }
        actions={
          v &&
          me.role === "admin" && (
            <Button variant="danger" onClick={() => setConfirming(true)}>
              Delete
            </Button>
          )
        }
      />
      {v ? (
        <>
          <Tabs tabs={TABS} active={tab} onChange={setTab} label={`Parts of VNET ${v.name}`} />
          <TabPanel id={tab}>
            {tab === "info" && (
              <div className="flex flex-col gap-6">
                <Overview vnet={v} onAll={() => setTab("leases")} />
                <PermissionsPanel kind="vnet" id={v.id} />
              </div>
            )}
            {tab === "config" && <ConfigTab key={v.updatedAt.valueOf()} vnet={v} />}
            {tab === "ranges" && <RangesTab vnet={v} />}
            {tab === "leases" && <LeasesTab vnet={v} />}
            {tab === "dhcp" && <DhcpTab vnet={v} />}
            {tab === "qos" && <QosTab key={JSON.stringify(v.qos)} vnet={v} />}
            {tab === "context" && <ContextTab key={JSON.stringify(v.context)} vnet={v} />}
            {tab === "sg" && <VnetSecurityGroups vnetId={v.id} />}
            {tab === "peerings" && <PeeringsTab vnet={v} />}
            {tab === "clusters" && <ClustersTab key={v.clusters.map((c) => c.id).join()} vnet={v} />}
          </TabPanel>
        </>
      ) : (
        <Panel className="p-6">
          <div className="grid grid-cols-4 gap-6">
            {[0, 1, 2, 3, 4, 5, 6, 7].map((i) => (
              <Skeleton key={i} className="h-10" />
            ))}
          </div>
        </Panel>
      )}
      {v && (
        <ConfirmDialog
          open={confirming}
          onClose={() => setConfirming(false)}
          title={`Delete VNET ${v.name}?`}
          confirmLabel="Delete VNET"
          pending={remove.isPending}
          onConfirm={() => remove.mutate({ id })}
        >
          The VNET <strong>{v.name}</strong>, its address ranges and its held leases are deleted, and bridge{" "}
          <code className="font-mono">{v.bridge}</code> is removed from the nodes. This cannot be undone.
        </ConfirmDialog>
      )}
    </>
  );
}
