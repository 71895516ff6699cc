"use client";
// A one-field dialog for a new name (rename, clone): validated as you type, server refusals at
// the field (a taken name) or under the form.
import type { UseMutationResult } from "@tanstack/react-query";
import { useState } from "react";
import { name as nameSchema } from "@/lib/domain";
import { errorMessage, fieldErrors } from "../trpc";
import { Button } from "../ui/button";
import { Dialog, DialogFooter } from "../ui/dialog";
import { FormError, TextField } from "../ui/field";

export function NameDialog({
  open,
  onClose,
  title,
  description,
  initial,
  submitLabel,
  mutation,
}: {
  open: boolean;
  onClose: () => void;
  title: string;
  description?: string;
  initial: string;
  submitLabel: string;
  mutation: UseMutationResult<unknown, Error, string>;
}) {
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={title}
      description={description}
      dismissable={!mutation.isPending}
    >
      <NameForm initial={initial} submitLabel={submitLabel} mutation={mutation} onCancel={onClose} />
    </Dialog>
  );
}

function NameForm({
  initial,
  submitLabel,
  mutation,
  onCancel,
}: {
  initial: string;
  submitLabel: string;
  mutation: UseMutationResult<unknown, Error, string>;
  onCancel: () => void;
}) {
  const [value, setValue] = useState(initial);
  const [touched, setTouched] = useState(false);
  const [server, setServer] = useState<{ field?: string; form?: string }>({});
  const parsed = nameSchema.safeParse(value);
  const local = parsed.success ? undefined : parsed.error.issues[0]?.message;
  const error = (touched ? local : undefined) ?? server.field;
  return (
    <form
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        setTouched(true);
        if (!parsed.success) return;
        setServer({});
        mutation.mutate(parsed.data, {
          onError: (err) => {
            const f = fieldErrors(err).name;
            setServer(f ? { field: f.join(" ") } : { form: errorMessage(err) });
          },
        });
      }}
    >
      <TextField
        label="Name"
        autoFocus
        value={value}
        error={error}
        onChange={(e) => {
          setValue(e.target.value);
          setTouched(true);
          setServer({});
        }}
      />
      <FormError message={server.form} />
      <DialogFooter>
        <Button onClick={onCancel} disabled={mutation.isPending}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" pending={mutation.isPending}>
          {submitLabel}
        </Button>
      </DialogFooter>
    </form>
  );
}
