"use client";
// "New instance": a name, a node, and NIC rows (VNET, optional fixed IP, lab guest or hypervisor tap).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useFieldArray } from "react-hook-form";
import { type InstanceCreateInput, instanceCreateInput } from "@/lib/schemas";
import { apiSchema } from "../form";
import { AutoSelectionFields } from "../tenancy/auto-selection-fields";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Field, Input, Select, TextField } from "../ui/field";
import { type FormOf, MutationDialog } from "../ui/mutation-dialog";

const MAX_NICS = 8;

export function InstanceCreateDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(
    trpc.instance.create.mutationOptions({
      onSuccess: () =>
        Promise.all([
          queryClient.invalidateQueries(trpc.instance.list.queryFilter()),
          queryClient.invalidateQueries(trpc.vnet.pathFilter()),
          queryClient.invalidateQueries(trpc.node.pathFilter()),
        ]),
    }),
  );
  return (
    <MutationDialog
      open={open}
      onClose={onClose}
      size="xl"
      title="New instance"
      description="A guest on a node, with one NIC per VNET it joins. Addresses are leased automatically unless you pick one."
      label="New instance"
      submitLabel="Create instance"
      resolver={apiSchema(instanceCreateInput)}
      defaultValues={{ name: "", nodeId: "", nics: [{ vnetId: "", ip: "", portKind: "guest" }] }}
      mutation={create}
      success={(inst) =>
        `Instance ${inst.name} created: ${inst.nics.map((n) => `${n.vnet} ${n.ip}`).join(", ")}`
      }
    >
      {(form: FormOf<InstanceCreateInput>) => <InstanceFields form={form} />}
    </MutationDialog>
  );
}

function InstanceFields({ form }: { form: FormOf<InstanceCreateInput> }) {
  const trpc = useTRPC();
  const nodes = useQuery(trpc.node.choices.queryOptions());
  const vnets = useQuery(trpc.vnet.list.queryOptions());
  const { register, formState, control, watch } = form;
  const nics = useFieldArray({ control, name: "nics" });
  const errors = formState.errors;
  const noNodes = nodes.data?.length === 0;
  const noVnets = vnets.data?.length === 0;

  return (
    <>
      <div className="grid grid-cols-2 gap-x-4 gap-y-3">
        <TextField
          label="Name"
          autoFocus
          placeholder="web1"
          error={errors.name?.message}
          {...register("name")}
        />
        <Field
          label="Node"
          error={errors.nodeId?.message}
          hint={noNodes ? "No node is enrolled yet: an admin enrolls nodes on the Nodes page" : undefined}
        >
          {(c) => (
            <Select {...c} {...register("nodeId")}>
              <option value="">{nodes.isPending ? "Loading…" : "Pick a node"}</option>
              {nodes.data?.map((n) => (
                <option key={n.id} value={String(n.id)}>
                  {n.name} ({n.cluster}, {n.state})
                </option>
              ))}
            </Select>
          )}
        </Field>
      </div>

      <fieldset className="mt-5">
        <legend className="text-sm font-medium text-slate-700">Network interfaces</legend>
        {noVnets && <p className="mt-1 text-xs text-slate-500">No VNET is available to you yet.</p>}
        <ol className="mt-2 flex flex-col gap-3">
          {nics.fields.map((f, i) => {
            const e = errors.nics?.[i];
            return (
              <li
                key={f.id}
                className="flex items-start gap-3 rounded-md bg-slate-50 p-3 ring-1 ring-slate-200"
              >
                <span className="mt-8 w-10 shrink-0 font-mono text-xs text-slate-500">eth{i}</span>
                <Field label="VNET" error={e?.vnetId?.message} className="flex-1">
                  {(c) => (
                    <Select {...c} aria-label={`VNET of eth${i}`} {...register(`nics.${i}.vnetId`)}>
                      <option value="">{vnets.isPending ? "Loading…" : "Pick a network"}</option>
                      {vnets.data?.map((v) => (
                        <option key={v.id} value={String(v.id)}>
                          {v.name} — {v.context.subnet ?? "no subnet"}, {v.size - v.used} free
                        </option>
                      ))}
                      <option value="auto">Any VNET (automatic)</option>
                    </Select>
                  )}
                </Field>
                {watch(`nics.${i}.vnetId`) === "auto" ? (
                  <AutoSelectionFields index={i} form={form} />
                ) : (
                  <Field
                    label="IP (optional)"
                    error={e?.ip?.message}
                    hint="Empty: next free"
                    className="w-36"
                  >
                    {(c) => (
                      <Input
                        {...c}
                        aria-label={`IP of eth${i}`}
                        placeholder="auto"
                        {...register(`nics.${i}.ip`)}
                      />
                    )}
                  </Field>
                )}

                <Field
                  label="Port"
                  error={e?.portKind?.message}
                  hint={watch(`nics.${i}.portKind`) === "tap" ? "QEMU/libvirt tap" : "Namespace"}
                  className="w-44"
                >
                  {(c) => (
                    <Select {...c} aria-label={`Port of eth${i}`} {...register(`nics.${i}.portKind`)}>
                      <option value="guest">Lab guest</option>
                      <option value="tap">Hypervisor tap</option>
                    </Select>
                  )}
                </Field>
                <Button
                  size="sm"
                  variant="ghost"
                  className="mt-6.5"
                  aria-label={`Remove eth${i}`}
                  disabled={nics.fields.length <= 1}
                  onClick={() => nics.remove(i)}
                >
                  Remove
                </Button>
              </li>
            );
          })}
        </ol>
        {errors.nics?.root?.message && (
          <p className="mt-1 text-xs text-red-600">{errors.nics.root.message}</p>
        )}
        <Button
          size="sm"
          className="mt-3"
          disabled={nics.fields.length >= MAX_NICS}
          onClick={() => nics.append({ vnetId: "", ip: "", portKind: "guest" })}
        >
          + Add NIC
        </Button>
      </fieldset>
    </>
  );
}
