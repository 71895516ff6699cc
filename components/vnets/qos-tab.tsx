"use client";
// QoS: the VNET's caps (inherited by its NICs) and the NICs that override them. Rates and sizes are
// typed with their unit; what is stored is bit/s and bytes, shown back in both bits and bytes.
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { toast } from "sonner";
import type { z } from "zod";
import type { Qos } from "@/lib/domain";
import { nicQosInput, setQosInput } from "@/lib/schemas";
import { RATE_UNIT_HINT, SIZE_UNIT_HINT } from "@/lib/units";
import { apiSchema, showServerError } from "../form";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { type Column, DataTable } from "../ui/data-table";
import { FormError, TextField } from "../ui/field";
import { Badge, EmptyState, Panel } from "../ui/misc";
import { type FormOf, MutationDialog } from "../ui/mutation-dialog";
import { mono, qosSummary, qosToForm, showRate, useRefreshVnet, type Vnet, type VnetNic } from "./shared";

const DIRS = [
  ["inbound", "Inbound (to the guest)"],
  ["outbound", "Outbound (from the guest)"],
] as const;

// biome-ignore lint/suspicious/noExplicitAny: shared by the VNET and NIC forms, which differ in their id key.
function QosFields({ form, disabled }: { form: any; disabled?: boolean }) {
  const err = (k: string) =>
    (form.formState.errors.qos as Record<string, { message?: string }> | undefined)?.[k]?.message;
  return (
    <fieldset disabled={disabled} className="grid grid-cols-2 gap-x-8 gap-y-3">
      {DIRS.map(([dir, title]) => (
        <div key={dir} className="flex flex-col gap-3">
          <h3 className="text-xs font-semibold tracking-wide text-slate-500 uppercase">{title}</h3>
          <TextField
            label={`${dir === "inbound" ? "Inbound" : "Outbound"} average`}
            placeholder="uncapped, e.g. 100 Mbit/s"
            hint={`Units: ${RATE_UNIT_HINT}`}
            error={err(`${dir}Avg`)}
            {...form.register(`qos.${dir}Avg`)}
          />
          <TextField
            label={`${dir === "inbound" ? "Inbound" : "Outbound"} peak`}
            placeholder="optional, e.g. 200 Mbit/s"
            error={err(`${dir}Peak`)}
            {...form.register(`qos.${dir}Peak`)}
          />
          <TextField
            label={`${dir === "inbound" ? "Inbound" : "Outbound"} burst`}
            placeholder="optional, e.g. 64 KiB"
            hint={`Units: ${SIZE_UNIT_HINT}`}
            error={err(`${dir}Burst`)}
            {...form.register(`qos.${dir}Burst`)}
          />
        </div>
      ))}
    </fieldset>
  );
}

function CurrentQos({ qos }: { qos: Qos }) {
  const rows: [string, string][] = [
    ["Inbound average", showRate(qos.inboundAvgBps)],
    ["Inbound peak", qos.inboundPeakBps ? showRate(qos.inboundPeakBps) : "—"],
    ["Inbound burst", qos.inboundBurstBytes ? `${qos.inboundBurstBytes.toLocaleString("en")} bytes` : "—"],
    ["Outbound average", showRate(qos.outboundAvgBps)],
    ["Outbound peak", qos.outboundPeakBps ? showRate(qos.outboundPeakBps) : "—"],
    ["Outbound burst", qos.outboundBurstBytes ? `${qos.outboundBurstBytes.toLocaleString("en")} bytes` : "—"],
  ];
  return (
    <dl className="grid grid-cols-3 gap-x-6 gap-y-3 border-b border-slate-100 p-4" data-testid="qos-current">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">{k}</dt>
          <dd className="mt-0.5 text-sm text-slate-900">{v}</dd>
        </div>
      ))}
    </dl>
  );
}

type VnetQosForm = z.input<typeof setQosInput>;

export function QosTab({ vnet }: { vnet: Vnet }) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const form = useForm<VnetQosForm, unknown, VnetQosForm>({
    resolver: zodResolver(setQosInput, undefined, { raw: true }),
    mode: "onChange",
    defaultValues: { id: vnet.id, qos: qosToForm(vnet.qos) },
  });
  const save = useMutation(
    trpc.vnet.setQos.mutationOptions({
      onSuccess: (r) => {
        toast.success(Object.keys(r.qos).length ? "QoS caps saved" : "QoS caps removed: uncapped");
        form.reset({ id: vnet.id, qos: qosToForm(r.qos) });
        return refresh();
      },
      onError: (e) => showServerError(e, form),
    }),
  );
  const capped = Object.keys(vnet.qos).length > 0;
  return (
    <>
      <Panel
        title="QoS of the VNET"
        actions={<Badge tone={capped ? "blue" : "gray"}>{capped ? "capped" : "uncapped"}</Badge>}
      >
        <CurrentQos qos={vnet.qos} />
        <form
          noValidate
          aria-label="VNET QoS"
          onSubmit={form.handleSubmit((v) => save.mutate(v))}
          className="p-4"
        >
          <p className="mb-4 text-sm text-slate-600">
            Every NIC on this VNET inherits these caps unless it has its own. Leave a field empty for no cap.
          </p>
          <QosFields form={form} disabled={!vnet.canManage} />
          <FormError message={form.formState.errors.root?.server?.message} />
          {vnet.canManage && (
            <div className="mt-4 flex justify-end gap-2">
              {capped && (
                <Button onClick={() => save.mutate({ id: vnet.id, qos: {} })} disabled={save.isPending}>
                  Remove all caps
                </Button>
              )}
              <Button
                type="submit"
                variant="primary"
                pending={save.isPending}
                disabled={!form.formState.isDirty}
              >
                Save QoS
              </Button>
            </div>
          )}
        </form>
      </Panel>
      <NicQosPanel vnet={vnet} />
    </>
  );
}

function NicQosPanel({ vnet }: { vnet: Vnet }) {
  const trpc = useTRPC();
  const nics = useQuery(trpc.vnet.nics.queryOptions({ id: vnet.id }));
  const [editing, setEditing] = useState<VnetNic | null>(null);
  const columns: Column<VnetNic>[] = [
    { key: "nic", header: "NIC", cell: (n) => `${n.instance} eth${n.idx}` },
    { key: "ip", header: "Address", cell: (n) => mono(n.ip ?? n.mac ?? "—") },
    { key: "in", header: "Inbound", cell: (n) => qosSummary(n.qos, "inbound") },
    { key: "out", header: "Outbound", cell: (n) => qosSummary(n.qos, "outbound") },
    {
      key: "src",
      header: "Source",
      cell: (n) => (n.qosOverride ? <Badge tone="amber">NIC override</Badge> : <Badge>inherited</Badge>),
    },
    {
      key: "actions",
      header: "Actions",
      className: "text-right",
      cell: (n) =>
        vnet.canManage && (
          <Button size="sm" onClick={() => setEditing(n)} aria-label={`QoS of ${n.instance} eth${n.idx}`}>
            Override…
          </Button>
        ),
    },
  ];
  return (
    <Panel title="Per-NIC caps">
      <DataTable
        label="NIC QoS"
        columns={columns}
        rows={nics.data}
        loading={nics.isPending}
        rowKey={(n) => n.nicId}
        empty={
          <EmptyState title="No NICs on this VNET">NICs appear here when instances join the VNET.</EmptyState>
        }
      />
      {editing && <NicQosDialog nic={editing} onClose={() => setEditing(null)} />}
    </Panel>
  );
}

type NicQosForm = z.input<typeof nicQosInput>;

function NicQosDialog({ nic, onClose }: { nic: VnetNic; onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const title = `${nic.instance} eth${nic.idx}`;
  const save = useMutation(
    trpc.vnet.setNicQos.mutationOptions({
      onSuccess: () => refresh(),
    }),
  );
  return (
    <MutationDialog
      onClose={onClose}
      size="lg"
      title={`QoS of ${title}`}
      label="NIC QoS"
      submitLabel="Save override"
      resolver={apiSchema(nicQosInput)}
      defaultValues={{ nicId: nic.nicId, qos: qosToForm(nic.qosOverride ?? nic.qos) }}
      mutation={save}
      success={(r) => (r.qos ? `QoS of ${title} saved` : `${title} inherits the VNET's QoS again`)}
      extraButtons={(send) =>
        nic.qosOverride && (
          <Button onClick={() => send({ nicId: nic.nicId, qos: null })} disabled={save.isPending}>
            Inherit from VNET
          </Button>
        )
      }
    >
      {(form: FormOf<NicQosForm>) => <QosFields form={form} />}
    </MutationDialog>
  );
}
