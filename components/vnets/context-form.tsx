"use client";
// Guest context forms: the VNET's attributes, a range's overrides, a NIC's overrides. One set of
// fields; each form validates with the schema its procedure uses (lib/schemas.ts).
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation } from "@tanstack/react-query";
import { type FieldValues, type UseFormReturn, useForm } from "react-hook-form";
import { toast } from "sonner";
import type { z } from "zod";
import type { ContextAttrs } from "@/lib/domain";
import { nicContextInput, rangeContextInput, setContextInput } from "@/lib/schemas";
import { apiSchema, showServerError } from "../form";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Field, FormError, Textarea, TextField } from "../ui/field";
import { MutationDialog } from "../ui/mutation-dialog";
import { contextToForm, useRefreshVnet } from "./shared";

type Reg = (name: string) => ReturnType<UseFormReturn<FieldValues>["register"]>;

/** The context fields, registered under `context.*` of whichever form hosts them. */
export function ContextFields({
  form,
  inherited,
  showSubnet = true,
  showDefaultRoute = true,
  disabled,
}: {
  // biome-ignore lint/suspicious/noExplicitAny: the three context forms differ only in their id key.
  form: UseFormReturn<any>;
  /** Values shown as placeholders: what applies when the field is left empty. */
  inherited?: ContextAttrs;
  showSubnet?: boolean;
  showDefaultRoute?: boolean;
  disabled?: boolean;
}) {
  const reg: Reg = (k) => form.register(`context.${k}`);
  const err = (k: string) =>
    (form.formState.errors.context as Record<string, { message?: string }> | undefined)?.[k]?.message;
  const ph = contextToForm(inherited);
  return (
    <fieldset disabled={disabled} className="grid grid-cols-2 gap-x-4 gap-y-3">
      {showSubnet && (
        <TextField
          label="Network address (CIDR)"
          placeholder={ph.subnet || "10.0.0.0/24"}
          hint="Gives guests NETWORK_ADDRESS and MASK"
          error={err("subnet")}
          {...reg("subnet")}
        />
      )}
      <TextField
        label="Gateway"
        placeholder={ph.gateway || "10.0.0.1"}
        error={err("gateway")}
        {...reg("gateway")}
      />
      <TextField
        label="IPv6 gateway"
        placeholder={ph.gateway6 || "2001:db8::1"}
        error={err("gateway6")}
        {...reg("gateway6")}
      />
      <TextField
        label="DNS servers"
        placeholder={ph.dns || "10.0.0.1, 2001:db8::53"}
        hint="IPv4 or IPv6, comma-separated"
        error={err("dns")}
        {...reg("dns")}
      />
      <TextField
        label="Search domains"
        placeholder={ph.searchDomains || "lab.example"}
        error={err("searchDomains")}
        {...reg("searchDomains")}
      />
      <TextField
        label="Guest MTU"
        inputMode="numeric"
        placeholder={ph.guestMtu || "inherit"}
        error={err("guestMtu")}
        {...reg("guestMtu")}
      />
      {showDefaultRoute && (
        <label className="col-span-2 flex items-center gap-2 text-sm text-slate-700">
          <input type="checkbox" {...reg("defaultRoute")} />
          This network owns the guest&apos;s default gateway (GATEWAY_IFACE)
        </label>
      )}
      <Field
        label="Custom attributes"
        hint="One KEY=value per line, passed to the guest as is"
        error={err("custom")}
        className="col-span-2"
      >
        {(c) => (
          <Textarea
            {...c}
            rows={3}
            className="font-mono"
            placeholder="NTP_SERVER=10.0.0.1"
            {...reg("custom")}
          />
        )}
      </Field>
    </fieldset>
  );
}

type VnetCtxForm = z.input<typeof setContextInput>;

/** The VNET's own guest context, edited in place on the Context tab. */
export function VnetContextForm({
  vnetId,
  context,
  canManage,
}: {
  vnetId: number;
  context: ContextAttrs;
  canManage: boolean;
}) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const form = useForm<VnetCtxForm, unknown, VnetCtxForm>({
    resolver: zodResolver(setContextInput, undefined, { raw: true }),
    mode: "onChange",
    defaultValues: { id: vnetId, context: contextToForm(context) },
  });
  const save = useMutation(
    trpc.vnet.setContext.mutationOptions({
      onSuccess: (_r, v) => {
        toast.success("Guest context saved; nodes using the VNET get it on their next push");
        form.reset(v);
        return refresh();
      },
      onError: (e) => showServerError(e, form),
    }),
  );
  return (
    <form
      noValidate
      aria-label="Guest context"
      onSubmit={form.handleSubmit((v) => save.mutate(v))}
      className="p-4"
    >
      <ContextFields form={form} disabled={!canManage} />
      <FormError message={form.formState.errors.root?.server?.message} />
      {canManage && (
        <div className="mt-4 flex justify-end gap-2">
          <Button onClick={() => form.reset()} disabled={!form.formState.isDirty || save.isPending}>
            Discard changes
          </Button>
          <Button type="submit" variant="primary" pending={save.isPending} disabled={!form.formState.isDirty}>
            Save context
          </Button>
        </div>
      )}
    </form>
  );
}

type RangeCtxForm = z.input<typeof rangeContextInput>;

/** A range's context overrides (empty fields inherit the VNET's values, shown as placeholders). */
export function RangeContextDialog({
  rangeId,
  context,
  inherited,
  onClose,
}: {
  rangeId: number;
  context: ContextAttrs;
  inherited: ContextAttrs;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const save = useMutation(
    trpc.range.setContext.mutationOptions({
      onSuccess: () => refresh(),
    }),
  );
  return (
    <MutationDialog
      onClose={onClose}
      size="lg"
      title={`Context of range ${rangeId}`}
      description="Values set here override the VNET's for leases of this range; empty fields inherit."
      label="Range context"
      submitLabel="Save overrides"
      resolver={apiSchema(rangeContextInput)}
      defaultValues={{ id: rangeId, context: contextToForm(context) }}
      mutation={save}
      success={() => `Context overrides of range ${rangeId} saved`}
    >
      {(form: UseFormReturn<RangeCtxForm, unknown, RangeCtxForm>) => (
        <ContextFields form={form} inherited={inherited} showDefaultRoute={false} />
      )}
    </MutationDialog>
  );
}

type NicCtxForm = z.input<typeof nicContextInput>;

/** A NIC's context overrides; "Inherit" clears them. */
export function NicContextDialog({
  nicId,
  title,
  context,
  inherited,
  onClose,
}: {
  nicId: number;
  title: string;
  context: ContextAttrs | null;
  inherited: ContextAttrs;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const save = useMutation(
    trpc.vnet.setNicContext.mutationOptions({
      onSuccess: () => refresh(),
    }),
  );
  return (
    <MutationDialog
      onClose={onClose}
      size="lg"
      title={`Context of ${title}`}
      description="Overrides for this NIC only (NIC > range > VNET); empty fields inherit."
      label="NIC context"
      submitLabel="Save overrides"
      resolver={apiSchema(nicContextInput)}
      defaultValues={{ nicId, context: contextToForm(context) }}
      mutation={save}
      success={(r) =>
        r.context ? `Context overrides of ${title} saved` : `${title} inherits the context again`
      }
      extraButtons={(send) =>
        context && (
          <Button onClick={() => send({ nicId, context: null })} disabled={save.isPending}>
            Inherit everything
          </Button>
        )
      }
    >
      {(form: UseFormReturn<NicCtxForm, unknown, NicCtxForm>) => (
        <ContextFields form={form} inherited={inherited} showSubnet={false} />
      )}
    </MutationDialog>
  );
}
