"use client";
// "Reserve addresses": N consecutive addresses of a shared VNET into a new VNET of the user's own.
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useForm } from "react-hook-form";
import { toast } from "sonner";
import type { z } from "zod";
import { reserveInput } from "@/lib/tenancy";
import { showServerError } from "../form";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Dialog, DialogFooter } from "../ui/dialog";
import { FormError, TextField } from "../ui/field";

type ReserveIn = z.input<typeof reserveInput>;
type Parent = { id: number; name: string; size: number; used: number };

export function ReserveDialog({ parent, onClose }: { parent: Parent | null; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const reserve = useMutation(
    trpc.vnet.reserve.mutationOptions({
      onSuccess: (r) => {
        toast.success(`Reserved ${r.firstIp}–${r.lastIp} into ${r.name}`);
        onClose();
        return Promise.all([
          queryClient.invalidateQueries(trpc.vnet.pathFilter()),
          queryClient.invalidateQueries(trpc.quota.pathFilter()),
        ]);
      },
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
        <ReserveForm
          vnetId={parent.id}
          pending={reserve.isPending}
          onCancel={onClose}
          onSubmit={(v, form) => reserve.mutate(v, { onError: (err) => showServerError(err, form) })}
        />
      )}
    </Dialog>
  );
}

type FormApi = ReturnType<typeof useForm<ReserveIn, unknown, ReserveIn>>;

function ReserveForm({
  vnetId,
  pending,
  onCancel,
  onSubmit,
}: {
  vnetId: number;
  pending: boolean;
  onCancel: () => void;
  onSubmit: (v: ReserveIn, form: FormApi) => void;
}) {
  const form = useForm<ReserveIn, unknown, ReserveIn>({
    resolver: zodResolver(reserveInput, undefined, { raw: true }),
    mode: "onChange",
    defaultValues: { vnetId, name: "", size: "4", firstIp: "" },
  });
  const { register } = form;
  const errors = form.formState.errors;
  return (
    <form noValidate aria-label="Reserve addresses" onSubmit={form.handleSubmit((v) => onSubmit(v, form))}>
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
      <FormError message={errors.root?.server?.message} />
      <DialogFooter>
        <Button onClick={onCancel} disabled={pending}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" pending={pending}>
          Reserve
        </Button>
      </DialogFooter>
    </form>
  );
}
