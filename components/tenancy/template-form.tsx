"use client";
// "New template" / "Edit template": the physical attributes an admin sets (driver, device, VLAN/VNI
// pool, MTU, clusters), the IPv4 plan of the networks users get, labels and QoS tiers. The form
// holds text; its schema turns it into the API's template attributes, field by field, so every
// message lands at its field. Attributes the form does not show (security groups, other context)
// are kept as they were.
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type Resolver, useFieldArray } from "react-hook-form";
import { DRIVERS, NETWORK_TYPES } from "@/lib/domain";
import { RESTRICTED_NOTE, RESTRICTED_TEMPLATE_ATTRS } from "@/lib/restricted";
import type { TemplateAttrs } from "@/lib/templates";
import { RATE_UNIT_HINT } from "@/lib/units";
import { useMe } from "../session";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Field, Input, Select, TextField } from "../ui/field";
import { type FormOf, MutationDialog, type MutationLike } from "../ui/mutation-dialog";
import { defaults, type FormIn, type FormOut, formSchema } from "./template-form-schema";

type Existing = { id: number; name: string; description: string; attrs: TemplateAttrs };

export function TemplateFormDialog({
  open,
  template,
  onClose,
}: {
  open: boolean;
  template?: Existing;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries(trpc.template.pathFilter());
  const allocate = useMutation(trpc.template.allocate.mutationOptions({ onSuccess: refresh }));
  const update = useMutation(trpc.template.update.mutationOptions({ onSuccess: refresh }));
  // One template, created or saved: the form sends through whichever applies.
  const save: MutationLike<Saved, { id: number; name: string }> = {
    isPending: allocate.isPending || update.isPending,
    mutate: (v, { onSuccess, onError }) =>
      template
        ? update.mutate({ id: template.id, ...v }, { onSuccess: (t) => onSuccess(t, v), onError })
        : allocate.mutate({ ...v, groupId: 1, perms: "640" }, { onSuccess: (t) => onSuccess(t, v), onError }),
  };
  const restricted = useMe().role !== "admin";
  return (
    <MutationDialog
      open={open}
      onClose={onClose}
      size="lg"
      title={template ? `Edit template ${template.name}` : "New template"}
      description={
        template
          ? "Users who may USE the template create networks from it; they never see these physical attributes."
          : "It is shared with the group users (permissions 640) when created; change that on its page."
      }
      label="Template"
      submitLabel={template ? "Save template" : "Create template"}
      resolver={zodResolver(formSchema) as unknown as Resolver<FormIn, unknown, FormOut>}
      defaultValues={defaults(template)}
      mutation={save}
      success={(t) => `Template ${t.name} ${template ? "saved" : "created"}`}
      onSuccess={(t) => {
        onClose();
        if (!template) router.push(`/templates/${t.id}`);
      }}
      toVariables={(v) => {
        const { dns, ...attrs } = v.attrs;
        const merged = {
          ...template?.attrs,
          ...attrs,
          context: { ...template?.attrs.context, dns: dns.length ? dns : undefined },
        } as TemplateAttrs;
        // Non-admins cannot change the physical attributes (the form shows them read-only):
        // send exactly what the template has, so a round trip through the form changes none.
        if (restricted && template)
          for (const k of Object.keys(RESTRICTED_TEMPLATE_ATTRS)) {
            const key = k as keyof TemplateAttrs;
            if (key in template.attrs) (merged as Record<string, unknown>)[key] = template.attrs[key];
            else delete (merged as Record<string, unknown>)[key];
          }
        return { name: v.name, description: v.description, attrs: merged };
      }}
    >
      {(form: FormOf<FormIn, FormOut>) => <TemplateFields form={form} />}
    </MutationDialog>
  );
}

type Saved = { name: string; description: string; attrs: TemplateAttrs };

function TemplateFields({ form }: { form: FormOf<FormIn, FormOut> }) {
  const trpc = useTRPC();
  const clusters = useQuery(trpc.user.clusters.queryOptions());
  const { register, control, watch } = form;
  const tiers = useFieldArray({ control, name: "attrs.qosTiers" });
  const e = form.formState.errors.attrs;
  const driver = watch("attrs.driver");
  // The physical attributes are cloud admins' (the server refuses anyone else).
  const restricted = useMe().role !== "admin";
  const note = restricted ? RESTRICTED_NOTE : undefined;
  return (
    <>
      <div className="grid grid-cols-2 gap-x-4 gap-y-3">
        <TextField label="Name" autoFocus error={form.formState.errors.name?.message} {...register("name")} />
        <TextField
          label="Description"
          error={form.formState.errors.description?.message}
          {...register("description")}
        />
      </div>
      <h3 className="mt-5 text-sm font-semibold text-slate-900">Physical network</h3>
      <div className="mt-2 grid grid-cols-3 gap-x-4 gap-y-3">
        <Field label="Driver" error={e?.driver?.message} hint={note}>
          {(c) => (
            <Select {...c} {...register("attrs.driver")} disabled={restricted}>
              {DRIVERS.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="Network type" error={e?.networkType?.message} hint={note}>
          {(c) => (
            <Select {...c} {...register("attrs.networkType")} disabled={restricted}>
              {NETWORK_TYPES.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <TextField
          label="MTU"
          placeholder="1500"
          hint={note}
          error={e?.mtu?.message}
          {...register("attrs.mtu")}
          disabled={restricted}
        />
        <TextField
          label="Physical device"
          placeholder={driver === "vlan" ? "eth1" : "none"}
          hint={note}
          error={e?.phydev?.message}
          {...register("attrs.phydev")}
          disabled={restricted}
        />
        {driver === "vlan" && (
          <>
            <TextField
              label="VLAN pool from"
              error={e?.vlanPool?.message ?? e?.vlanPool?.from?.message}
              {...register("attrs.vlanPool.from")}
              hint={note}
              disabled={restricted}
            />
            <TextField
              label="VLAN pool to"
              error={e?.vlanPool?.to?.message}
              {...register("attrs.vlanPool.to")}
              hint={note}
              disabled={restricted}
            />
          </>
        )}
        {driver === "vxlan" && (
          <>
            <TextField
              label="VNI pool from"
              error={e?.vniPool?.message ?? e?.vniPool?.from?.message}
              {...register("attrs.vniPool.from")}
              hint={note}
              disabled={restricted}
            />
            <TextField
              label="VNI pool to"
              error={e?.vniPool?.to?.message}
              {...register("attrs.vniPool.to")}
              hint={note}
              disabled={restricted}
            />
          </>
        )}
      </div>
      <fieldset className="mt-3">
        <legend className="text-sm font-medium text-slate-700">Clusters</legend>
        <div className="mt-1 flex flex-wrap gap-4">
          {(clusters.data ?? [{ id: 0, name: "default" }]).map((c) => (
            <label key={c.id} className="flex items-center gap-2 text-sm">
              <input
                type="checkbox"
                className="size-4 accent-sky-700"
                value={String(c.id)}
                {...register("attrs.clusterIds")}
              />
              {c.name}
            </label>
          ))}
        </div>
        {e?.clusterIds?.message && <p className="mt-1 text-xs text-red-600">{e.clusterIds.message}</p>}
      </fieldset>
      <h3 className="mt-5 text-sm font-semibold text-slate-900">Addresses of the networks users get</h3>
      <div className="mt-2 grid grid-cols-3 gap-x-4 gap-y-3">
        <TextField label="Subnet" error={e?.subnet?.message} {...register("attrs.subnet")} />
        <TextField
          label="Gateway"
          placeholder="first address"
          error={e?.gateway?.message}
          {...register("attrs.gateway")}
        />
        <TextField
          label="DNS servers"
          placeholder="10.128.0.1"
          error={e?.dns?.message}
          {...register("attrs.dns")}
        />
        <TextField label="Default size" error={e?.defaultSize?.message} {...register("attrs.defaultSize")} />
        <TextField label="Largest size" error={e?.maxSize?.message} {...register("attrs.maxSize")} />
        <TextField
          label="Labels"
          placeholder="tenant, prod"
          hint="For automatic network selection"
          error={
            e?.labels?.message ?? (Array.isArray(e?.labels) ? e.labels.find(Boolean)?.message : undefined)
          }
          {...register("attrs.labels")}
        />
        <label className="col-span-3 flex items-center gap-2 text-sm text-slate-700">
          <input type="checkbox" className="size-4 accent-sky-700" {...register("attrs.allowIpv6")} />
          Users may add IPv6 (a private /64 per network)
        </label>
      </div>
      <fieldset className="mt-5">
        <legend className="text-sm font-semibold text-slate-900">QoS tiers users pick from</legend>
        <p className="text-xs text-slate-500">
          Average rate per NIC; empty means uncapped. Units: {RATE_UNIT_HINT}.
        </p>
        <ol className="mt-2 flex flex-col gap-2">
          {tiers.fields.map((f, i) => {
            const te = e?.qosTiers?.[i];
            return (
              <li key={f.id} className="flex items-start gap-2">
                <Field label="Tier" error={te?.name?.message} className="w-40">
                  {(c) => <Input {...c} {...register(`attrs.qosTiers.${i}.name`)} />}
                </Field>
                <Field label="Inbound" error={te?.inbound?.message} className="flex-1">
                  {(c) => (
                    <Input {...c} placeholder="uncapped" {...register(`attrs.qosTiers.${i}.inbound`)} />
                  )}
                </Field>
                <Field label="Outbound" error={te?.outbound?.message} className="flex-1">
                  {(c) => (
                    <Input {...c} placeholder="uncapped" {...register(`attrs.qosTiers.${i}.outbound`)} />
                  )}
                </Field>
                <Button
                  size="sm"
                  variant="ghost"
                  className="mt-6.5"
                  aria-label={`Remove tier ${i + 1}`}
                  onClick={() => tiers.remove(i)}
                >
                  Remove
                </Button>
              </li>
            );
          })}
        </ol>
        <Button
          size="sm"
          className="mt-2"
          disabled={tiers.fields.length >= 8}
          onClick={() => tiers.append({ name: "", inbound: "", outbound: "" })}
        >
          + Add tier
        </Button>
      </fieldset>
    </>
  );
}
