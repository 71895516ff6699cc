"use client";
// "New user": user name, display name, password, role and primary group.
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useForm } from "react-hook-form";
import { toast } from "sonner";
import type { z } from "zod";
import { userCreateInput } from "@/lib/schemas";
import { showServerError } from "../form";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Dialog, DialogFooter } from "../ui/dialog";
import { Field, FormError, Select, TextField } from "../ui/field";

type UserInput = z.input<typeof userCreateInput>;

export function UserCreateDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const groups = useQuery({ ...trpc.user.groups.queryOptions(), enabled: open });
  const create = useMutation(
    trpc.user.create.mutationOptions({
      onSuccess: (u) => {
        toast.success(`User ${u.username} created`);
        onClose();
        return queryClient.invalidateQueries(trpc.user.list.queryFilter());
      },
    }),
  );
  return (
    <Dialog open={open} onClose={onClose} dismissable={!create.isPending} title="New user">
      <UserForm
        groups={groups.data ?? []}
        pending={create.isPending}
        onCancel={onClose}
        onSubmit={(v, form) => create.mutate(v, { onError: (err) => showServerError(err, form) })}
      />
    </Dialog>
  );
}

type FormApi = ReturnType<typeof useForm<UserInput, unknown, UserInput>>;

function UserForm({
  groups,
  pending,
  onCancel,
  onSubmit,
}: {
  groups: { id: number; name: string }[];
  pending: boolean;
  onCancel: () => void;
  onSubmit: (v: UserInput, form: FormApi) => void;
}) {
  const form = useForm<UserInput, unknown, UserInput>({
    resolver: zodResolver(userCreateInput, undefined, { raw: true }),
    mode: "onChange",
    defaultValues: { username: "", name: "", password: "", role: "user", groupId: "1" },
  });
  const { register } = form;
  const errors = form.formState.errors;
  return (
    <form noValidate aria-label="New user" onSubmit={form.handleSubmit((v) => onSubmit(v, form))}>
      <div className="grid grid-cols-2 gap-x-4 gap-y-3">
        <TextField
          label="User name"
          autoFocus
          autoComplete="off"
          error={errors.username?.message}
          {...register("username")}
        />
        <TextField label="Full name" autoComplete="off" error={errors.name?.message} {...register("name")} />
        <TextField
          label="Password"
          type="password"
          autoComplete="new-password"
          hint="At least 12 characters"
          error={errors.password?.message}
          fieldClassName="col-span-2"
          {...register("password")}
        />
        <Field label="Role" error={errors.role?.message}>
          {(c) => (
            <Select {...c} {...register("role")}>
              <option value="user">user</option>
              <option value="admin">admin</option>
            </Select>
          )}
        </Field>
        <Field label="Group" error={errors.groupId?.message}>
          {(c) => (
            <Select {...c} {...register("groupId")}>
              {(groups.length ? groups : [{ id: 1, name: "users" }]).map((g) => (
                <option key={g.id} value={String(g.id)}>
                  {g.name}
                </option>
              ))}
            </Select>
          )}
        </Field>
      </div>
      <FormError message={errors.root?.server?.message} />
      <DialogFooter>
        <Button onClick={onCancel} disabled={pending}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" pending={pending}>
          Create user
        </Button>
      </DialogFooter>
    </form>
  );
}
