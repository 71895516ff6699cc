"use client";
// "Enroll node": name + cluster → the one-time join token and the agent command.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { z } from "zod";
import { nodeCreateInput } from "@/lib/schemas";
import { apiSchema } from "../form";
import { useTRPC } from "../trpc";
import { Dialog } from "../ui/dialog";
import { Field, Select, TextField } from "../ui/field";
import { type FormOf, MutationForm } from "../ui/mutation-dialog";
import { type JoinToken, useGuardedToken } from "./join-token";

type NodeInput = z.input<typeof nodeCreateInput>;

export function EnrollDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [token, setToken] = useState<JoinToken | null>(null);
  const close = () => {
    setToken(null); // the token is never shown again
    onClose();
  };
  const guarded = useGuardedToken(token, close);
  return (
    <>
      <Dialog
        open={open}
        onClose={close}
        onDismiss={token ? guarded.dismiss : undefined}
        size="lg"
        title={token ? `Node ${token.name} enrolled` : "Enroll node"}
        description={
          token
            ? "Start the agent on the node with this one-time token."
            : "Add a hypervisor node to a cluster."
        }
      >
        {token ? guarded.body : <EnrollForm onCancel={close} onEnrolled={setToken} />}
      </Dialog>
      {guarded.confirm}
    </>
  );
}

function EnrollForm({ onCancel, onEnrolled }: { onCancel: () => void; onEnrolled: (t: JoinToken) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(
    trpc.node.create.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.node.pathFilter()),
    }),
  );
  return (
    <MutationForm
      label="Enroll node"
      submitLabel="Enroll"
      resolver={apiSchema(nodeCreateInput)}
      defaultValues={{ name: "", clusterId: "0" }}
      mutation={create}
      // The dialog stays open: it shows the one-time token next.
      onSuccess={(n) => onEnrolled({ name: n.name, joinToken: n.joinToken, expiresAt: n.expiresAt })}
      onClose={onCancel}
    >
      {(form: FormOf<NodeInput>) => <EnrollFields form={form} />}
    </MutationForm>
  );
}

function EnrollFields({ form }: { form: FormOf<NodeInput> }) {
  const trpc = useTRPC();
  const clusters = useQuery(trpc.user.clusters.queryOptions());
  const errors = form.formState.errors;
  return (
    <div className="grid grid-cols-2 gap-x-4 gap-y-3">
      <TextField
        label="Node name"
        autoFocus
        placeholder="node1"
        hint="A host name; the agent's network namespace gets the same name"
        error={errors.name?.message}
        {...form.register("name")}
      />
      <Field label="Cluster" error={errors.clusterId?.message}>
        {(c) => (
          <Select {...c} {...form.register("clusterId")}>
            {(clusters.data ?? [{ id: 0, name: "default" }]).map((cl) => (
              <option key={cl.id} value={String(cl.id)}>
                {cl.name}
              </option>
            ))}
          </Select>
        )}
      </Field>
    </div>
  );
}
