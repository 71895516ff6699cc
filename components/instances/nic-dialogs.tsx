"use client";
// NIC hot-plug on an existing instance: add a NIC (VNET, optional addresses, port kind) and change
// one (another VNET, a requested address, the port kind). The node applies either live.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { nicInput, nicUpdateInput } from "@/lib/schemas";
import { apiSchema } from "../form";
import { useTRPC } from "../trpc";
import { Field, Input, Select } from "../ui/field";
import { type FormOf, MutationDialog } from "../ui/mutation-dialog";

const addForm = z.object({ nic: nicInput });
type AddForm = z.input<typeof addForm>;
const changeForm = nicUpdateInput.omit({ nicId: true });
type ChangeForm = z.input<typeof changeForm>;

/** What a change of NIC may invalidate: the instance, its VNETs' leases, its node's revision. */
function useNicCacheRefresh() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries(trpc.instance.pathFilter()),
      queryClient.invalidateQueries(trpc.vnet.pathFilter()),
      queryClient.invalidateQueries(trpc.node.pathFilter()),
    ]);
}

export function AddNicDialog({
  instance,
  onClose,
}: {
  instance: { id: number; name: string };
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const refresh = useNicCacheRefresh();
  const add = useMutation(trpc.instance.addNic.mutationOptions({ onSuccess: refresh }));
  return (
    <MutationDialog
      onClose={onClose}
      title={`Add a NIC to ${instance.name}`}
      description="The node plugs it in live: a lab guest gets the interface at once; a hypervisor port waits for the VM's tap."
      label="Add NIC"
      submitLabel="Add NIC"
      resolver={apiSchema(addForm)}
      defaultValues={{ nic: { vnetId: "", ip: "", ip6: "", portKind: "guest" } }}
      mutation={add}
      toVariables={(v: AddForm) => ({ instanceId: instance.id, nic: v.nic })}
      success={(nic) =>
        `eth${nic.idx} added to ${instance.name}: ${nic.vnet} ${nic.ip ?? nic.ip6 ?? ""} (${nic.portKind === "tap" ? "hypervisor port" : "lab guest"})`
      }
    >
      {(form: FormOf<AddForm>) => <NicFields form={form} prefix="nic." keepHint={null} />}
    </MutationDialog>
  );
}

export type ChangeableNic = {
  nicId: number;
  idx: number;
  vnetId: number;
  vnetName: string;
  ip: string | null;
  ip6: string | null;
  portKind: "guest" | "tap";
};

export function ChangeNicDialog({
  instanceName,
  nic,
  onClose,
}: {
  instanceName: string;
  nic: ChangeableNic;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const refresh = useNicCacheRefresh();
  const change = useMutation(trpc.instance.updateNic.mutationOptions({ onSuccess: refresh }));
  return (
    <MutationDialog
      onClose={onClose}
      title={`Change eth${nic.idx} of ${instanceName}`}
      description={`Now ${nic.ip ?? nic.ip6 ?? "no address"} in ${nic.vnetName}. A new VNET or address releases the old lease; the node applies the change live.`}
      label={`Change eth${nic.idx}`}
      submitLabel="Apply change"
      resolver={apiSchema(changeForm)}
      defaultValues={{ vnetId: String(nic.vnetId), ip: "", ip6: "", portKind: nic.portKind }}
      mutation={change}
      toVariables={(v: ChangeForm) => ({
        nicId: nic.nicId,
        // Only what the user changed: an unchanged VNET and empty addresses keep the lease.
        vnetId: Number(v.vnetId) === nic.vnetId ? undefined : v.vnetId,
        ip: v.ip || undefined,
        ip6: v.ip6 || undefined,
        portKind: v.portKind === nic.portKind ? undefined : v.portKind,
      })}
      success={(r) => `eth${nic.idx} of ${instanceName}: ${r.vnet} ${r.ip ?? r.ip6 ?? ""}`}
    >
      {(form: FormOf<ChangeForm>) => (
        <NicFields
          form={form}
          prefix=""
          keepHint={`Empty: keep ${nic.ip ?? nic.ip6 ?? "the current address"}`}
        />
      )}
    </MutationDialog>
  );
}

/** VNET, IPv4, IPv6 and port kind of one NIC, at `prefix` in the form ("nic." or ""). */
function NicFields({
  form,
  prefix,
  keepHint,
}: {
  // Both dialogs' forms carry these four fields at `prefix`; the field paths are built from it.
  // biome-ignore lint/suspicious/noExplicitAny: one field set for two form shapes
  form: FormOf<any>;
  prefix: "nic." | "";
  /** The hint of the address fields when empty keeps the current one (null: next free). */
  keepHint: string | null;
}) {
  const trpc = useTRPC();
  const vnets = useQuery(trpc.vnet.list.queryOptions());
  const { register, formState } = form;
  const errors = (prefix ? formState.errors.nic : formState.errors) as
    | Partial<Record<"vnetId" | "ip" | "ip6" | "portKind", { message?: string }>>
    | undefined;
  return (
    <div className="grid grid-cols-2 gap-x-4 gap-y-3">
      <Field
        label="VNET"
        error={errors?.vnetId?.message}
        className="col-span-2"
        hint={vnets.data?.length === 0 ? "No VNET is available to you yet" : undefined}
      >
        {(c) => (
          <Select {...c} autoFocus {...register(`${prefix}vnetId`)}>
            <option value="">{vnets.isPending ? "Loading…" : "Pick a network"}</option>
            {vnets.data?.map((v) => (
              <option key={v.id} value={String(v.id)}>
                {v.name} — {v.context.subnet ?? "no IPv4 subnet"}, {v.size - v.used} free
              </option>
            ))}
          </Select>
        )}
      </Field>
      <Field label="IPv4 (optional)" error={errors?.ip?.message} hint={keepHint ?? "Empty: next free"}>
        {(c) => <Input {...c} placeholder="auto" {...register(`${prefix}ip`)} />}
      </Field>
      <Field
        label="IPv6 (optional)"
        error={errors?.ip6?.message}
        hint={keepHint ?? "Empty: the one that goes with the IPv4, if the VNET has IPv6"}
      >
        {(c) => <Input {...c} placeholder="auto" {...register(`${prefix}ip6`)} />}
      </Field>
      <Field
        label="Port"
        error={errors?.portKind?.message}
        className="col-span-2"
        hint="A lab guest is a namespace the agent creates; a hypervisor port is the tap QEMU or libvirt creates for a real VM."
      >
        {(c) => (
          <Select {...c} {...register(`${prefix}portKind`)}>
            <option value="guest">Lab guest (network namespace)</option>
            <option value="tap">Hypervisor port (tap for QEMU / libvirt)</option>
          </Select>
        )}
      </Field>
    </div>
  );
}
