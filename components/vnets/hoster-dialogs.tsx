"use client";
// Hoster's network_config.json in and out, and the admin's VLAN ID / VNI pools.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Resolver } from "react-hook-form";
import { toast } from "sonner";
import { poolsInput } from "@/lib/schemas";
import { apiSchema } from "../form";
import { errorMessage, useTRPC, useTRPCClient } from "../trpc";
import { Button } from "../ui/button";
import { Dialog, DialogFooter } from "../ui/dialog";
import { Field, Textarea, TextField } from "../ui/field";
import { type FormOf, MutationDialog, MutationForm } from "../ui/mutation-dialog";

type HosterForm = { json: string };

export function HosterImportDialog({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const run = useMutation(
    trpc.vnet.importHoster.mutationOptions({
      onSuccess: () => qc.invalidateQueries(trpc.vnet.pathFilter()),
    }),
  );
  return (
    <MutationDialog
      onClose={onClose}
      size="lg"
      title="Import network_config.json"
      description='Hoster networks become VNETs: "bridge_interface": "None" is an internal network, anything else an external one bridged to that interface.'
      label="Import network_config.json"
      submitLabel="Import"
      // The server reads the file; only an empty one is refused here, on submit.
      mode="onSubmit"
      defaultValues={{ json: "" }}
      mutation={run}
      success={(created) =>
        `Imported ${created.length} network${created.length > 1 ? "s" : ""}: ${created.map((c) => c.name).join(", ")}`
      }
      warnings={(created) => created.flatMap((c) => c.warnings)}
      toVariables={(v, form) => {
        if (v.json.trim()) return v;
        form.setError("json", { message: "Choose a file or paste its content" });
        return undefined;
      }}
    >
      {(form: FormOf<HosterForm>) => <HosterFields form={form} />}
    </MutationDialog>
  );
}

function HosterFields({ form }: { form: FormOf<HosterForm> }) {
  const onFile = async (f: File | undefined) => {
    if (!f) return;
    form.setValue("json", await f.text(), { shouldDirty: true });
    form.clearErrors();
  };
  const err = form.formState.errors.json?.message;
  return (
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
  );
}

/** Downloads the VNETs Hoster can express as its network_config.json, then names what the file
 * could not carry (IPv6, further ranges, VNETs without a gateway) in a dialog that stays. */
export function HosterExportButton() {
  const client = useTRPCClient();
  const [pending, setPending] = useState(false);
  const [left, setLeft] = useState<{ exported: number; notCarried: string[] } | null>(null);
  return (
    <>
      <Dialog
        open={left !== null}
        onClose={() => setLeft(null)}
        size="lg"
        title="What network_config.json cannot carry"
        description={`${left?.exported ?? 0} network${left?.exported === 1 ? "" : "s"} exported. Hoster's file holds one IPv4 range with a gateway per network; these parts are not in it:`}
      >
        <ul className="list-disc space-y-1 pl-5 text-sm text-slate-700" aria-label="Not carried">
          {left?.notCarried.map((l) => (
            <li key={l}>{l}</li>
          ))}
        </ul>
        <DialogFooter>
          <Button variant="primary" onClick={() => setLeft(null)}>
            OK
          </Button>
        </DialogFooter>
      </Dialog>
      <ExportButton pending={pending} setPending={setPending} client={client} onLeft={setLeft} />
    </>
  );
}

function ExportButton({
  pending,
  setPending,
  client,
  onLeft,
}: {
  pending: boolean;
  setPending: (p: boolean) => void;
  client: ReturnType<typeof useTRPCClient>;
  onLeft: (l: { exported: number; notCarried: string[] }) => void;
}) {
  return (
    <Button
      pending={pending}
      onClick={async () => {
        setPending(true);
        try {
          const { file: data, notCarried } = await client.vnet.exportHoster.query({});
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
          if (notCarried.length) onLeft({ exported: data.length, notCarried });
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
  const save = useMutation(
    trpc.vnet.setPools.mutationOptions({
      onSuccess: () => onSaved(),
    }),
  );
  return (
    <MutationForm
      label="ID pools"
      submitLabel="Save pools"
      resolver={poolsResolver}
      defaultValues={initial}
      mutation={save}
      success={() => "ID pools saved"}
      toVariables={(v) => toPoolsInput(v) as never}
      onClose={onClose}
    >
      {(form: FormOf<PoolForm>) => <PoolsFields form={form} />}
    </MutationForm>
  );
}

// Empty from/to means "no pool" (null) for the schema the server uses.
const toPoolsInput = (v: PoolForm) => ({
  vlan: v.vlan?.from || v.vlan?.to ? v.vlan : null,
  vni: v.vni?.from || v.vni?.to ? v.vni : null,
});
const poolsResolver: Resolver<PoolForm> = async (values, ctx, opts) =>
  apiSchema(poolsInput)(toPoolsInput(values) as never, ctx, opts as never) as never;

function PoolsFields({ form }: { form: FormOf<PoolForm> }) {
  const e = form.formState.errors;
  return (
    <>
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
    </>
  );
}
