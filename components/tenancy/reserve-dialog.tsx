"use client";
// "Reserve addresses": N consecutive addresses of a shared VNET into a new VNET of the user's own.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { z } from "zod";
import { reserveInput } from "@/lib/tenancy";
import { apiSchema } from "../form";
import { useTRPC } from "../trpc";
import { Dialog } from "../ui/dialog";
import { TextField } from "../ui/field";
import { type FormOf, MutationForm } from "../ui/mutation-dialog";

type ReserveIn = z.input<typeof reserveInput>;
type Parent = { id: number; name: string; size: number; used: number };

export function ReserveDialog({ parent, onClose }: { parent: Parent | null; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const reserve = useMutation(
    trpc.vnet.reserve.mutationOptions({
      onSuccess: () =>
        Promise.all([
          queryClient.invalidateQueries(trpc.vnet.pathFilter()),
          queryClient.invalidateQueries(trpc.quota.pathFilter()),
        ]),
    }),
  );
  return (
    <Dialog
      open={parent !== null}
      onClose={onClose}
      dismissable={!reserve.isPending}
      title={parent ? `Reserve addresses of ${parent.name}` : ""}
      description={
        parent
          ? `${parent.size - parent.used} of ${parent.size} addresses are free. The reserved ones become a network of your own.`
          : undefined
      }
    >
      {parent && (
        <MutationForm
          label="Reserve addresses"
          submitLabel="Reserve"
          resolver={apiSchema(reserveInput)}
          defaultValues={{ vnetId: parent.id, name: "", size: "4", firstIp: "" }}
          mutation={reserve}
          success={(r) => `Reserved ${r.firstIp}–${r.lastIp} into ${r.name}`}
          onClose={onClose}
        >
          {(form: FormOf<ReserveIn>) => <ReserveFields form={form} />}
        </MutationForm>
      )}
    </Dialog>
  );
}

function ReserveFields({ form }: { form: FormOf<ReserveIn> }) {
  const { register } = form;
  const errors = form.formState.errors;
  return (
    <div className="grid grid-cols-3 gap-x-4 gap-y-3">
      <TextField label="New network name" autoFocus error={errors.name?.message} {...register("name")} />
      <TextField label="How many" inputMode="numeric" error={errors.size?.message} {...register("size")} />
      <TextField
        label="From address (optional)"
        placeholder="first free run"
        error={errors.firstIp?.message}
        {...register("firstIp")}
      />
    </div>
  );
}
