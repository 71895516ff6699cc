"use client";
// A one-field dialog for a new name (rename, clone): validated as you type, server refusals at
// the field (a taken name) or under the form.
import { zodResolver } from "@hookform/resolvers/zod";
import { z } from "zod";
import { name } from "@/lib/domain";
import { TextField } from "../ui/field";
import { type FormOf, MutationDialog, type MutationLike } from "../ui/mutation-dialog";

const nameForm = z.object({ name });
type NameForm = z.infer<typeof nameForm>;

export function NameDialog<TData>({
  open,
  onClose,
  title,
  description,
  initial,
  submitLabel,
  mutation,
  success,
  onSuccess,
}: {
  open: boolean;
  onClose: () => void;
  title: string;
  description?: string;
  initial: string;
  submitLabel: string;
  /** Sends the new name (trimmed). */
  mutation: MutationLike<string, TData>;
  success: (data: TData) => string;
  /** What a success leads to instead of closing. */
  onSuccess?: (data: TData) => void;
}) {
  return (
    <MutationDialog
      open={open}
      onClose={onClose}
      title={title}
      description={description}
      submitLabel={submitLabel}
      resolver={zodResolver(nameForm)}
      defaultValues={{ name: initial }}
      mutation={mutation}
      toVariables={(v) => v.name}
      success={success}
      onSuccess={onSuccess}
    >
      {(form: FormOf<NameForm>) => (
        <TextField
          label="Name"
          autoFocus
          error={form.formState.errors.name?.message}
          {...form.register("name")}
        />
      )}
    </MutationDialog>
  );
}
