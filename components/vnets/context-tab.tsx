"use client";
// Guest context: the VNET's attributes and, per NIC, what the guest actually gets (NIC > range > VNET).
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { type Column, DataTable } from "../ui/data-table";
import { Badge, EmptyState, Panel } from "../ui/misc";
import { NicContextDialog, VnetContextForm } from "./context-form";
import type { Vnet, VnetNic } from "./shared";

export function ContextTab({ vnet }: { vnet: Vnet }) {
  const trpc = useTRPC();
  const nics = useQuery(trpc.vnet.nics.queryOptions({ id: vnet.id }));
  const [editing, setEditing] = useState<VnetNic | null>(null);
  const columns: Column<VnetNic>[] = [
    {
      key: "nic",
      header: "NIC",
      cell: (n) => (
        <div className="flex flex-col items-start gap-1">
          <span className="font-medium whitespace-nowrap">
            {n.instance} eth{n.idx}
          </span>
          {n.ownsDefaultRoute && <Badge tone="blue">default gateway</Badge>}
          {n.contextOverride && <Badge tone="amber">NIC overrides</Badge>}
        </div>
      ),
    },
    {
      key: "vars",
      header: "Context the guest gets",
      cell: (n) => (
        <div>
          <dl
            className="grid grid-cols-[max-content_1fr] gap-x-3 gap-y-0.5 font-mono text-[12px]"
            data-testid="nic-context"
          >
            {Object.entries(n.variables).map(([k, v]) => (
              <div key={k} className="contents">
                <dt className="text-slate-500">{k}</dt>
                <dd className="break-all text-slate-900">{v}</dd>
              </div>
            ))}
          </dl>
          <details className="mt-2 font-sans text-xs">
            <summary className="cursor-pointer text-sky-800">
              cloud-init network-config of {n.instance}
            </summary>
            <pre className="mt-1 max-h-64 overflow-auto rounded bg-slate-50 p-2 font-mono text-[11px] text-slate-800">
              {JSON.stringify(n.cloudInit, null, 2)}
            </pre>
          </details>
        </div>
      ),
    },
    {
      key: "actions",
      header: "Actions",
      className: "text-right",
      cell: (n) =>
        vnet.canManage && (
          <Button size="sm" onClick={() => setEditing(n)} aria-label={`Context of ${n.instance} eth${n.idx}`}>
            Override…
          </Button>
        ),
    },
  ];
  return (
    <>
      <Panel title="Guest context of the VNET">
        <p className="px-4 pt-4 text-sm text-slate-600">
          What guests on this VNET are configured with. Address ranges may override any of it (Address ranges
          tab), and each NIC may override both.
        </p>
        <VnetContextForm vnetId={vnet.id} context={vnet.context} canManage={vnet.canManage} />
      </Panel>
      <Panel title="Per NIC">
        <DataTable
          label="NIC context"
          columns={columns}
          rows={nics.data}
          loading={nics.isPending}
          rowKey={(n) => n.nicId}
          empty={
            <EmptyState title="No NICs on this VNET">
              Each NIC's resolved context shows here once an instance joins the VNET.
            </EmptyState>
          }
        />
      </Panel>
      {editing && (
        <NicContextDialog
          nicId={editing.nicId}
          title={`${editing.instance} eth${editing.idx}`}
          context={editing.contextOverride}
          inherited={vnet.context}
          onClose={() => setEditing(null)}
        />
      )}
    </>
  );
}
