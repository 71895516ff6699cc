"use client";
// Hoster's network_config.json in and out, and the admin's VLAN ID / VNI pools.
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { toast } from "sonner";
import { poolsInput } from "@/lib/schemas";
import { showServerError } from "../form";
import { errorMessage, useTRPC, useTRPCClient } from "../trpc";
import { Button } from "../ui/button";
import { Dialog, DialogFooter } from "../ui/dialog";
import { Field, FormError, Textarea, TextField } from "../ui/field";

export function HosterImportDialog({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const form = useForm<{ json: string }>({ defaultValues: { json: "" } });
  const run = useMutation(
    trpc.vnet.importHoster.mutationOptions({
      onSuccess: (created) => {
        toast.success(
          `Imported ${created.length} network${created.length > 1 ? "s" : ""}: ${created.map((c) => c.name).join(", ")}`,
        );
        for (const w of created.flatMap((c) => c.warnings)) toast.warning(w);
        onClose();
        return qc.invalidateQueries(trpc.vnet.pathFilter());
      },
      onError: (e) => showServerError(e, form),
    }),
  );
  const onFile = async (f: File | undefined) => {
    if (!f) return;
    form.setValue("json", await f.text(), { shouldDirty: true });
    form.clearErrors();
  };
  const err = form.formState.errors.json?.message;
  return (
    <Dialog
      open
      onClose={onClose}
      dismissable={!run.isPending}
      size="lg"
      title="Import network_config.json"
      description='Hoster networks become VNETs: "bridge_interface": "None" is an internal network, anything else an external one bridged to that interface.'
    >
      <form
        noValidate
        aria-label="Import network_config.json"
        onSubmit={form.handleSubmit((v) => {
          if (!v.json.trim()) return form.setError("json", { message: "Choose a file or paste its content" });
          run.mutate(v);
        })}
      >
        <div className="flex flex-col gap-3">
          <Field label="File">
            {(c) => (
              <input
                {...c}
                type="file"
                accept=".json,application/json"
                className="text-sm"
                onChange={(e) => onFile(e.target.files?.[0])}
              />
            )}
          </Field>
          <Field label="Content" error={err} hint="All networks are created, or none">
            {(c) => (
              <Textarea
                {...c}
                rows={12}
                className="font-mono text-[12px]"
                placeholder='[{ "network_name": "internal", "network_gateway": "10.0.100.254", ... }]'
                {...form.register("json")}
              />
            )}
          </Field>
        </div>
        <FormError message={form.formState.errors.root?.server?.message} />
        <DialogFooter>
          <Button onClick={onClose} disabled={run.isPending}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" pending={run.isPending}>
            Import
          </Button>
        </DialogFooter>
      </form>
    </Dialog>
  );
}

/** Downloads the VNETs Hoster can express as its network_config.json. */
export function HosterExportButton() {
  const client = useTRPCClient();
  const [pending, setPending] = useState(false);
  return (
    <Button
      pending={pending}
      onClick={async () => {
        setPending(true);
        try {
          const data = await client.vnet.exportHoster.query({});
          const url = URL.createObjectURL(
            new Blob([`${JSON.stringify(data, null, 4)}\n`], { type: "application/json" }),
          );
          const a = document.createElement("a");
          a.href = url;
          a.download = "network_config.json";
          a.click();
          URL.revokeObjectURL(url);
          toast.success(
            `Exported ${data.length} network${data.length === 1 ? "" : "s"} to network_config.json`,
          );
        } catch (e) {
          toast.error(`Export failed: ${errorMessage(e)}`);
        } finally {
          setPending(false);
        }
      }}
    >
      Export
    </Button>
  );
}

type PoolForm = { vlan: { from: string; to: string } | null; vni: { from: string; to: string } | null };

export function PoolsDialog({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const pools = useQuery(trpc.vnet.pools.queryOptions());
  return (
    <Dialog
      open
      onClose={onClose}
      title="VLAN ID and VNI pools"
      description='"auto" on a VNET takes the lowest ID of its pool that no other VNET uses.'
    >
      {pools.data ? (
        <PoolsForm
          initial={{
            vlan: pools.data.vlan
              ? { from: String(pools.data.vlan.from), to: String(pools.data.vlan.to) }
              : { from: "", to: "" },
            vni: pools.data.vni
              ? { from: String(pools.data.vni.from), to: String(pools.data.vni.to) }
              : { from: "", to: "" },
          }}
          onClose={onClose}
          onSaved={() => qc.invalidateQueries(trpc.vnet.pools.queryFilter())}
        />
      ) : (
        <p className="text-sm text-slate-500">{pools.isError ? pools.error.message : "Loading…"}</p>
      )}
    </Dialog>
  );
}

function PoolsForm({
  initial,
  onClose,
  onSaved,
}: {
  initial: PoolForm;
  onClose: () => void;
  onSaved: () => Promise<unknown>;
}) {
  const trpc = useTRPC();
  // Empty from/to means "no pool" (null) for the schema the server uses.
  const toInput = (v: PoolForm) => ({
    vlan: v.vlan?.from || v.vlan?.to ? v.vlan : null,
    vni: v.vni?.from || v.vni?.to ? v.vni : null,
  });
  const form = useForm<PoolForm>({
    resolver: async (values, ctx, opts) =>
      zodResolver(poolsInput, undefined, { raw: true })(
        toInput(values) as never,
        ctx,
        opts as never,
      ) as never,
    mode: "onChange",
    defaultValues: initial,
  });
  const save = useMutation(
    trpc.vnet.setPools.mutationOptions({
      onSuccess: () => {
        toast.success("ID pools saved");
        onClose();
        return onSaved();
      },
      onError: (e) => showServerError(e, form),
    }),
  );
  const e = form.formState.errors;
  return (
    <form
      noValidate
      aria-label="ID pools"
      onSubmit={form.handleSubmit((v) => save.mutate(toInput(v) as never))}
    >
      <div className="grid grid-cols-2 gap-x-4 gap-y-3">
        <TextField
          label="VLAN ID from"
          inputMode="numeric"
          placeholder="100"
          error={e.vlan?.from?.message}
          {...form.register("vlan.from")}
        />
        <TextField
          label="VLAN ID to"
          inputMode="numeric"
          placeholder="199"
          error={e.vlan?.to?.message}
          {...form.register("vlan.to")}
        />
        <TextField
          label="VNI from"
          inputMode="numeric"
          placeholder="10000"
          error={e.vni?.from?.message}
          {...form.register("vni.from")}
        />
        <TextField
          label="VNI to"
          inputMode="numeric"
          placeholder="19999"
          error={e.vni?.to?.message}
          {...form.register("vni.to")}
        />
      </div>
      <p className="mt-2 text-xs text-slate-500">
        Leave both ends empty for no pool. IDs already given to VNETs are kept.
      </p>
      <FormError message={e.root?.server?.message} />
      <DialogFooter>
        <Button onClick={onClose} disabled={save.isPending}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" pending={save.isPending}>
          Save pools
        </Button>
      </DialogFooter>
    </form>
  );
}
