"use client";
// "Change password" from the header: the current password is required, and every other session of
// the user ends (a stolen session elsewhere does not survive the change).
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { userCreateInput } from "@/lib/schemas";
import { authClient } from "./auth-client";
import { apiSchema, FieldRefusal } from "./form";
import { SESSION_CHANGE } from "./providers";
import { TextField } from "./ui/field";
import { type FormOf, MutationDialog } from "./ui/mutation-dialog";

const changeForm = z.object({
  current: z.string().min(1, "Enter your current password"),
  next: userCreateInput.shape.password,
});
type ChangeForm = z.input<typeof changeForm>;

export function ChangePasswordDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const change = useMutation({
    mutationKey: SESSION_CHANGE,
    // What was refused while the sessions were being replaced is asked again with the new cookie.
    onSuccess: () => qc.invalidateQueries(),
    mutationFn: async (v: ChangeForm) => {
      const { error } = await authClient.changePassword({
        currentPassword: v.current,
        newPassword: v.next,
        revokeOtherSessions: true,
      });
      if (!error) return;
      if (error.code === "INVALID_PASSWORD")
        throw new FieldRefusal("current", "The current password is wrong");
      throw new Error(error.message ?? `Changing the password failed (${error.status})`);
    },
  });
  return (
    <MutationDialog
      open={open}
      onClose={onClose}
      title="Change your password"
      label="Change your password"
      submitLabel="Change password"
      resolver={apiSchema(changeForm)}
      defaultValues={{ current: "", next: "" }}
      mutation={change}
      success={() => "Password changed; your other sessions were signed out"}
    >
      {(form: FormOf<ChangeForm>) => (
        <div className="flex flex-col gap-4">
          <TextField
            label="Current password"
            type="password"
            autoFocus
            autoComplete="current-password"
            error={form.formState.errors.current?.message}
            {...form.register("current")}
          />
          <TextField
            label="New password"
            type="password"
            autoComplete="new-password"
            hint="At least 12 characters; your other sessions will be signed out"
            error={form.formState.errors.next?.message}
            {...form.register("next")}
          />
        </div>
      )}
    </MutationDialog>
  );
}
