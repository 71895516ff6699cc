"use client";
// "New group" / "Edit group": name, description and the group's quota.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { Resolver } from "react-hook-form";
import { groupInput } from "@/lib/tenancy";
import { useTRPC, useTRPCClient } from "../trpc";
import { TextField } from "../ui/field";
import { type FormOf, MutationDialog } from "../ui/mutation-dialog";
import { limitText, parseLimit, QuotaFields, type QuotaText } from "./quota-fields";

type Group = {
  id: number;
  name: string;
  description: string;
  quota: { maxVnets: number | null; maxLeases: number | null };
};
type Values = { name: string; description: string; quota: QuotaText };

export function GroupDialog({ open, group, onClose }: { open: boolean; group?: Group; onClose: () => void }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: async (v: {
      name: string;
      description: string;
      maxVnets: number | null;
      maxLeases: number | null;
    }) => {
      const g = group
        ? await client.group.update.mutate({ id: group.id, name: v.name, description: v.description })
        : await client.group.create.mutate({ name: v.name, description: v.description });
      const changed = !group || group.quota.maxVnets !== v.maxVnets || group.quota.maxLeases !== v.maxLeases;
      if (changed)
        await client.quota.set.mutate({
          subjectType: "group",
          subjectId: String(g.id),
          maxVnets: v.maxVnets,
          maxLeases: v.maxLeases,
        });
      return g;
    },
    onSuccess: () =>
      Promise.all([
        queryClient.invalidateQueries(trpc.group.pathFilter()),
        queryClient.invalidateQueries(trpc.user.pathFilter()),
      ]),
  });
  return (
    <MutationDialog
      open={open}
      onClose={onClose}
      title={group ? `Edit group ${group.name}` : "New group"}
      label="Group"
      submitLabel={group ? "Save group" : "Create group"}
      resolver={groupResolver}
      defaultValues={{
        name: group?.name ?? "",
        description: group?.description ?? "",
        quota: {
          maxVnets: limitText(group?.quota.maxVnets ?? null),
          maxLeases: limitText(group?.quota.maxLeases ?? null),
        },
      }}
      mutation={save}
      success={(g) => `Group ${g.name} ${group ? "saved" : "created"}`}
      toVariables={(v) => ({
        name: v.name.trim(),
        description: v.description.trim(),
        maxVnets: parseLimit(v.quota.maxVnets) as number | null,
        maxLeases: parseLimit(v.quota.maxLeases) as number | null,
      })}
    >
      {(form: FormOf<Values>) => (
        <div className="grid grid-cols-2 gap-x-4 gap-y-3">
          <TextField
            label="Name"
            autoFocus
            error={form.formState.errors.name?.message}
            {...form.register("name")}
          />
          <TextField
            label="Description"
            error={form.formState.errors.description?.message}
            {...form.register("description")}
          />
          <QuotaFields register={form.register} errors={form.formState.errors.quota} />
        </div>
      )}
    </MutationDialog>
  );
}

/** The group's fields with the API's schema, the quota's with the limits' own reading. */
const groupResolver: Resolver<Values> = (values) => {
  const errors: Record<string, unknown> = {};
  const g = groupInput.safeParse(values);
  if (!g.success)
    for (const i of g.error.issues) errors[String(i.path[0])] = { type: "zod", message: i.message };
  const mv = parseLimit(values.quota.maxVnets);
  const ml = parseLimit(values.quota.maxLeases);
  const quota: Record<string, unknown> = {};
  if (typeof mv === "string") quota.maxVnets = { type: "zod", message: mv };
  if (typeof ml === "string") quota.maxLeases = { type: "zod", message: ml };
  if (Object.keys(quota).length) errors.quota = quota;
  return Object.keys(errors).length ? { values: {}, errors } : { values, errors: {} };
};
