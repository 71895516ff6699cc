"use client";
// "New API token": name, lifetime, read-only or read-write; then the secret, shown this once. The
// form is the shared MutationForm (validation, server refusals at the field, pending state); its
// success shows the secret in the same dialog instead of closing.
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { TOKEN_LIFETIMES_DAYS, tokenCreateInput } from "@/lib/api-tokens";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { CopyButton } from "../ui/copy-button";
import { Dialog, DialogFooter } from "../ui/dialog";
import { Field, Select, TextField } from "../ui/field";
import { type FormOf, MutationForm } from "../ui/mutation-dialog";

type Values = { name: string; expiresInDays: number | null; readOnly: boolean };

export function NewTokenDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const create = useMutation(
    trpc.token.create.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.token.pathFilter()),
    }),
  );
  const close = () => {
    setSecret(null);
    onClose();
  };
  return (
    <Dialog open={open} onClose={close} dismissable={!create.isPending} title="New API token">
      {secret ? (
        <div className="flex flex-col gap-3 text-sm">
          <p>
            Copy the token <strong>{secret.name}</strong> now: it is shown only this once (Bridgehead keeps
            only its hash).
          </p>
          <div className="flex items-center gap-2">
            <code
              data-testid="new-token"
              className="flex-1 break-all rounded bg-slate-100 px-2 py-1.5 font-mono text-[13px]"
            >
              {secret.token}
            </code>
            <CopyButton text={secret.token} label="Copy token" />
          </div>
          <p className="text-slate-600">
            Use it as <code className="font-mono">Authorization: Bearer …</code>, or{" "}
            <code className="font-mono">npx bridgehead login</code>.
          </p>
          <DialogFooter>
            <Button variant="primary" onClick={close}>
              Done
            </Button>
          </DialogFooter>
        </div>
      ) : (
        <MutationForm
          submitLabel="Create token"
          resolver={zodResolver(tokenCreateInput)}
          defaultValues={{ name: "", expiresInDays: 90, readOnly: true }}
          mutation={create}
          success={(t) => `Token ${t.name} created`}
          onSuccess={(t) => setSecret({ name: t.name, token: t.token })}
          onClose={close}
        >
          {(form: FormOf<Values>) => <TokenFields form={form} />}
        </MutationForm>
      )}
    </Dialog>
  );
}

function TokenFields({ form }: { form: FormOf<Values> }) {
  const errors = form.formState.errors;
  return (
    <div className="flex flex-col gap-4">
      <TextField
        label="Name"
        hint="What uses it, e.g. ci-deploy or grafana"
        autoFocus
        error={errors.name?.message}
        {...form.register("name")}
      />
      <Field label="Expires" error={errors.expiresInDays?.message}>
        {(p) => (
          <Select
            {...p}
            value={String(form.watch("expiresInDays") ?? "never")}
            onChange={(e) =>
              form.setValue("expiresInDays", e.target.value === "never" ? null : Number(e.target.value), {
                shouldValidate: true,
              })
            }
          >
            {TOKEN_LIFETIMES_DAYS.map((d) => (
              <option key={d} value={d}>
                in {d} days
              </option>
            ))}
            <option value="never">never</option>
          </Select>
        )}
      </Field>
      <fieldset className="flex flex-col gap-1 text-sm">
        <legend className="mb-1 font-medium text-slate-700">Access</legend>
        <label className="flex items-center gap-2">
          <input
            type="radio"
            name="access"
            checked={form.watch("readOnly")}
            onChange={() => form.setValue("readOnly", true)}
          />
          Read-only: lists and reads, no changes
        </label>
        <label className="flex items-center gap-2">
          <input
            type="radio"
            name="access"
            checked={!form.watch("readOnly")}
            onChange={() => form.setValue("readOnly", false)}
          />
          Read-write: everything you may do yourself
        </label>
      </fieldset>
    </div>
  );
}
