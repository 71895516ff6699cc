"use client";
// "Edit user": name, role, groups (one of them primary) and the user's quota; and "Set password".
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { Resolver } from "react-hook-form";
import { z } from "zod";
import { userCreateInput } from "@/lib/schemas";
import { userUpdateInput } from "@/lib/tenancy";
import type { AppRouter } from "@/server/routers/root";
import { apiSchema } from "../form";
import { limitText, parseLimit, QuotaFields, type QuotaText } from "../tenancy/quota-fields";
import { useTRPC, useTRPCClient } from "../trpc";
import { Dialog } from "../ui/dialog";
import { Field, Select, TextField } from "../ui/field";
import { type FormOf, MutationDialog, MutationForm } from "../ui/mutation-dialog";

type User = inferRouterOutputs<AppRouter>["user"]["list"][number];
type Values = {
  name: string;
  role: "admin" | "user";
  groupIds: string[];
  primaryGroupId: string;
  quota: QuotaText;
};

export function UserEditDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: async (v: {
      update: Parameters<typeof client.user.update.mutate>[0];
      maxVnets: number | null;
      maxLeases: number | null;
    }) => {
      const r = await client.user.update.mutate(v.update);
      if (user && (user.quota.maxVnets !== v.maxVnets || user.quota.maxLeases !== v.maxLeases))
        await client.quota.set.mutate({
          subjectType: "user",
          subjectId: user.id,
          maxVnets: v.maxVnets,
          maxLeases: v.maxLeases,
        });
      return r;
    },
    onSuccess: () =>
      Promise.all([
        queryClient.invalidateQueries(trpc.user.pathFilter()),
        queryClient.invalidateQueries(trpc.group.pathFilter()),
      ]),
  });
  return (
    <Dialog
      open={user !== null}
      onClose={onClose}
      dismissable={!save.isPending}
      title={`Edit user ${user?.username ?? ""}`}
    >
      {user && (
        <MutationForm
          label="Edit user"
          submitLabel="Save user"
          resolver={userResolver(user)}
          defaultValues={{
            name: user.name,
            role: user.role,
            groupIds: user.groups.map((g) => String(g.groupId)),
            primaryGroupId: String(
              user.groups.find((g) => g.primary)?.groupId ?? user.groups[0]?.groupId ?? 1,
            ),
            quota: { maxVnets: limitText(user.quota.maxVnets), maxLeases: limitText(user.quota.maxLeases) },
          }}
          mutation={save}
          success={(r) => `User ${r.username} saved`}
          toVariables={(v) => ({
            update: {
              id: user.id,
              name: v.name.trim(),
              role: v.role,
              groupIds: v.groupIds.map(Number),
              primaryGroupId: Number(v.primaryGroupId),
            },
            maxVnets: parseLimit(v.quota.maxVnets) as number | null,
            maxLeases: parseLimit(v.quota.maxLeases) as number | null,
          })}
          onClose={onClose}
        >
          {(form: FormOf<Values>) => <UserFields form={form} />}
        </MutationForm>
      )}
    </Dialog>
  );
}

/** The user's fields with the API's schema, the quota's with the limits' own reading. */
function userResolver(user: User): Resolver<Values> {
  return (values) => {
    const errors: Record<string, unknown> = {};
    const u = userUpdateInput.safeParse({
      id: user.id,
      name: values.name,
      role: values.role,
      groupIds: (values.groupIds || []).map(Number),
      primaryGroupId: Number(values.primaryGroupId),
    });
    if (!u.success)
      for (const i of u.error.issues) errors[String(i.path[0])] = { type: "zod", message: i.message };
    const quota: Record<string, unknown> = {};
    for (const k of ["maxVnets", "maxLeases"] as const) {
      const r = parseLimit(values.quota[k]);
      if (typeof r === "string") quota[k] = { type: "zod", message: r };
    }
    if (Object.keys(quota).length) errors.quota = quota;
    return Object.keys(errors).length ? { values: {}, errors } : { values, errors: {} };
  };
}

function UserFields({ form }: { form: FormOf<Values> }) {
  const trpc = useTRPC();
  const groups = useQuery(trpc.user.groups.queryOptions());
  const { register } = form;
  const errors = form.formState.errors;
  const chosen = form.watch("groupIds") || [];
  return (
    <div className="grid grid-cols-2 gap-x-4 gap-y-3">
      <TextField label="Full name" autoFocus error={errors.name?.message} {...register("name")} />
      <Field label="Role" error={errors.role?.message}>
        {(c) => (
          <Select {...c} {...register("role")}>
            <option value="user">user</option>
            <option value="admin">admin</option>
          </Select>
        )}
      </Field>
      <fieldset>
        <legend className="text-sm font-medium text-slate-700">Groups</legend>
        <div className="mt-1 flex flex-col gap-1">
          {groups.data?.map((g) => (
            <label key={g.id} className="flex items-center gap-2 text-sm">
              <input
                type="checkbox"
                className="size-4 accent-sky-700"
                value={String(g.id)}
                {...register("groupIds")}
              />
              {g.name}
            </label>
          ))}
        </div>
        {errors.groupIds?.message && <p className="mt-1 text-xs text-red-600">{errors.groupIds.message}</p>}
      </fieldset>
      <Field
        label="Primary group"
        error={errors.primaryGroupId?.message}
        hint="New objects of the user go to this group"
      >
        {(c) => (
          <Select {...c} {...register("primaryGroupId")}>
            {groups.data
              ?.filter((g) => chosen.includes(String(g.id)))
              .map((g) => (
                <option key={g.id} value={String(g.id)}>
                  {g.name}
                </option>
              ))}
          </Select>
        )}
      </Field>
      <QuotaFields register={register} errors={errors.quota} />
    </div>
  );
}

const passwordForm = z.object({ password: userCreateInput.shape.password });
type PasswordForm = z.input<typeof passwordForm>;

export function PasswordDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const trpc = useTRPC();
  const set = useMutation(trpc.user.setPassword.mutationOptions());
  return (
    <MutationDialog
      open={user !== null}
      onClose={onClose}
      title={`Set password of ${user?.username ?? ""}`}
      label="Set password"
      submitLabel="Set password"
      resolver={apiSchema(passwordForm)}
      defaultValues={{ password: "" }}
      mutation={set}
      toVariables={(v) => (user ? { id: user.id, password: v.password } : undefined)}
      success={(r) => `Password of ${r.username} changed; their sessions were ended`}
    >
      {(form: FormOf<PasswordForm>) => (
        <TextField
          label="New password"
          type="password"
          autoFocus
          autoComplete="new-password"
          hint="At least 12 characters"
          error={form.formState.errors.password?.message}
          {...form.register("password")}
        />
      )}
    </MutationDialog>
  );
}
