"use client";
// "New user": user name, display name, password, role and primary group.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { z } from "zod";
import { userCreateInput } from "@/lib/schemas";
import { apiSchema } from "../form";
import { useTRPC } from "../trpc";
import { Field, Select, TextField } from "../ui/field";
import { type FormOf, MutationDialog } from "../ui/mutation-dialog";

type UserInput = z.input<typeof userCreateInput>;

export function UserCreateDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const groups = useQuery({ ...trpc.user.groups.queryOptions(), enabled: open });
  const create = useMutation(
    trpc.user.create.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.user.list.queryFilter()),
    }),
  );
  return (
    <MutationDialog
      open={open}
      onClose={onClose}
      title="New user"
      label="New user"
      submitLabel="Create user"
      resolver={apiSchema(userCreateInput)}
      defaultValues={{ username: "", name: "", password: "", role: "user", groupId: "1" }}
      mutation={create}
      success={(u) => `User ${u.username} created`}
    >
      {(form: FormOf<UserInput>) => <UserFields form={form} groups={groups.data ?? []} />}
    </MutationDialog>
  );
}

function UserFields({ form, groups }: { form: FormOf<UserInput>; groups: { id: number; name: string }[] }) {
  const { register } = form;
  const errors = form.formState.errors;
  return (
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
  );
}
