"use client";
// "Create network" from a template: the few inputs an end user fills, and a live preview of what
// will be created (addresses, the VLAN/VNI the pool gives now, the resulting VNET), with any
// problem (input, exhausted pool, quota) shown before submitting.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { type ReactNode, useEffect, useState } from "react";
import { RESTRICTED_NOTE } from "@/lib/restricted";
import { type InstantiateInput, instantiateInput } from "@/lib/templates";
import { formatRate } from "@/lib/units";
import type { AppRouter } from "@/server/routers/root";
import { apiSchema } from "../form";
import { useTRPC } from "../trpc";
import { Dialog } from "../ui/dialog";
import { Field, Select, TextField } from "../ui/field";
import { Skeleton } from "../ui/misc";
import { type FormOf, MutationForm } from "../ui/mutation-dialog";

type Template = inferRouterOutputs<AppRouter>["template"]["list"][number];
type Preview = inferRouterOutputs<AppRouter>["template"]["preview"];

function useDebounced<T>(value: T, ms = 300): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function InstantiateDialog({ template, onClose }: { template: Template | null; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(
    trpc.template.instantiate.mutationOptions({
      onSuccess: () =>
        Promise.all([
          queryClient.invalidateQueries(trpc.vnet.pathFilter()),
          queryClient.invalidateQueries(trpc.quota.pathFilter()),
          queryClient.invalidateQueries(trpc.template.preview.pathFilter()),
        ]),
    }),
  );
  return (
    <Dialog
      open={template !== null}
      onClose={onClose}
      dismissable={!create.isPending}
      size="lg"
      title={template ? `New network from ${template.name}` : ""}
      description={template?.description || undefined}
    >
      {template && (
        <MutationForm
          label="New network"
          submitLabel="Create network"
          resolver={apiSchema(instantiateInput)}
          defaultValues={{
            templateId: template.id,
            name: "",
            size: String(template.attrs.defaultSize) as unknown as number,
            firstIp: "",
            ipv6: false,
            qosTier: template.attrs.qosTiers[0]?.name ?? "",
          }}
          mutation={create}
          success={(v) => `Network ${v.name} created: ${v.firstIp}–${v.lastIp}`}
          onClose={onClose}
        >
          {(form: FormOf<InstantiateInput>) => <InstantiateFields template={template} form={form} />}
        </MutationForm>
      )}
    </Dialog>
  );
}

function InstantiateFields({ template: t, form }: { template: Template; form: FormOf<InstantiateInput> }) {
  const trpc = useTRPC();
  const { register, formState } = form;
  const errors = formState.errors;
  const values = form.watch();
  const parsed = instantiateInput.safeParse({ ...values, name: values.name || "preview" });
  const debounced = useDebounced(parsed.success ? parsed.data : null);
  const preview = useQuery({
    ...trpc.template.preview.queryOptions(debounced ?? { templateId: t.id, name: "x", size: 1, ipv6: false }),
    enabled: debounced !== null,
    placeholderData: keepPreviousData,
  });

  return (
    <>
      <div className="grid grid-cols-2 gap-x-4 gap-y-3">
        <TextField
          label="Name"
          autoFocus
          placeholder="my-network"
          error={errors.name?.message}
          {...register("name")}
        />
        <TextField
          label="Size"
          inputMode="numeric"
          hint={`Addresses, at most ${t.attrs.maxSize}`}
          error={errors.size?.message}
          {...register("size")}
        />
        <TextField
          label="First address (optional)"
          placeholder="automatic"
          hint={`Inside ${t.attrs.subnet}`}
          error={errors.firstIp?.message}
          {...register("firstIp")}
        />
        {t.attrs.qosTiers.length > 0 ? (
          <Field label="QoS tier" error={errors.qosTier?.message}>
            {(c) => (
              <Select {...c} {...register("qosTier")}>
                {t.attrs.qosTiers.map((q) => (
                  <option key={q.name} value={q.name}>
                    {q.name} — {describeQos(q.qos)}
                  </option>
                ))}
              </Select>
            )}
          </Field>
        ) : (
          <div />
        )}
        {t.attrs.allowIpv6 && (
          <label className="col-span-2 flex items-center gap-2 text-sm text-slate-700">
            <input type="checkbox" className="size-4 accent-sky-700" {...register("ipv6")} />
            Add IPv6 (a private /64, addresses from each NIC's MAC)
          </label>
        )}
      </div>
      <PreviewBox preview={preview.data} loading={preview.isFetching && !preview.data} />
    </>
  );
}

function describeQos(q: { inboundAvgBps?: number; outboundAvgBps?: number }): string {
  if (!q.inboundAvgBps && !q.outboundAvgBps) return "uncapped";
  return `in ${q.inboundAvgBps ? formatRate(q.inboundAvgBps) : "uncapped"}, out ${q.outboundAvgBps ? formatRate(q.outboundAvgBps) : "uncapped"}`;
}

function PreviewBox({ preview: p, loading }: { preview?: Preview; loading: boolean }) {
  const rows: [string, ReactNode][] = p
    ? [
        [
          "Addresses",
          p.plan ? (
            <span key="a" className="font-mono text-[13px]">
              {p.plan.firstIp} – {p.plan.lastIp} ({p.plan.size})
            </span>
          ) : (
            "—"
          ),
        ],
        [
          "Subnet / gateway",
          p.plan ? (
            <span key="s" className="font-mono text-[13px]">
              {p.plan.subnet} via {p.plan.gateway}
            </span>
          ) : (
            "—"
          ),
        ],
        [
          "Network",
          `${p.vnet.driver.toUpperCase()}${p.vnet.vni !== null ? `, VNI ${p.vnet.vni}` : ""}${p.vnet.vlanId !== null ? `, VLAN ${p.vnet.vlanId}` : ""}${p.vnet.pool ? ` (from ${p.vnet.pool})` : ""}`,
        ],
        ["Network type", p.vnet.networkType],
        ["MTU", String(p.vnet.mtu)],
        ["IPv6", p.vnet.ipv6 ? "private /64 (SLAAC)" : "off"],
        ["Bandwidth", describeQos(p.vnet.qos)],
        ["Clusters", p.vnet.clusters.join(", ") || "—"],
      ]
    : [];
  return (
    <section aria-label="Preview" className="mt-5 rounded-md bg-slate-50 p-3 ring-1 ring-slate-200">
      <h3 className="text-xs font-semibold tracking-wide text-slate-500 uppercase">Preview</h3>
      <p className="mt-1 text-xs text-slate-500">
        Driver, network type, VLAN / VNI and MTU come from the template: {RESTRICTED_NOTE}.
      </p>
      {loading || !p ? (
        <div className="mt-2 grid grid-cols-2 gap-2">
          <Skeleton className="h-4" />
          <Skeleton className="h-4" />
          <Skeleton className="h-4" />
        </div>
      ) : (
        <>
          <dl className="mt-2 grid grid-cols-[9rem_1fr] gap-x-3 gap-y-1 text-sm">
            {rows.map(([k, v]) => (
              <div key={k} className="contents">
                <dt className="text-slate-500">{k}</dt>
                <dd className="text-slate-900">{v}</dd>
              </div>
            ))}
          </dl>
          {p.problems.length > 0 && (
            <ul data-testid="preview-problems" className="mt-3 list-disc pl-5 text-sm text-red-700">
              {p.problems.map((x) => (
                <li key={x.message}>{x.message}</li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
