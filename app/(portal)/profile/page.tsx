"use client";
// The signed-in user's profile: their API tokens (create, shown once, list, revoke); admins also
// see and revoke everyone's.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import { useState } from "react";
import { toast } from "sonner";
import { useMe } from "@/components/session";
import { type TokenRow, TokenTable } from "@/components/tokens/token-list";
import { errorMessage, useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/dialog";
import { EmptyState, LoadFailed, PageHeader, Panel } from "@/components/ui/misc";

// Dialogs load their forms (zod schemas, address checks) when first opened, not with the page.
const NewTokenDialog = dynamic(() =>
  import("@/components/tokens/new-token-dialog").then((m) => m.NewTokenDialog),
);

export default function ProfilePage() {
  const me = useMe();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const mine = useQuery(trpc.token.list.queryOptions());
  const all = useQuery({ ...trpc.token.listAll.queryOptions(), enabled: me.role === "admin" });
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<TokenRow | null>(null);
  const revoke = useMutation(
    trpc.token.revoke.mutationOptions({
      onSuccess: () => {
        toast.success(`Token ${revoking?.name ?? ""} revoked`);
        setRevoking(null);
        return queryClient.invalidateQueries(trpc.token.pathFilter());
      },
      onError: (err) => {
        setRevoking(null);
        toast.error(errorMessage(err));
      },
    }),
  );
  const newButton = (
    <Button variant="primary" onClick={() => setCreating(true)}>
      New API token
    </Button>
  );
  return (
    <>
      <PageHeader
        title={`Profile: ${me.username}`}
        description="API tokens let scripts, the bridgehead CLI and monitoring act as you: they see and change exactly what you may. A read-only token cannot change anything."
        actions={newButton}
      />
      <Panel title="Your API tokens">
        {mine.isError ? (
          <LoadFailed what="your tokens" query={mine} />
        ) : (
          <TokenTable
            label="Your API tokens"
            rows={mine.data}
            loading={mine.isPending}
            onRevoke={setRevoking}
            empty={<EmptyState title="No API tokens yet" action={newButton} />}
          />
        )}
      </Panel>
      {me.role === "admin" && (
        <div className="mt-6">
          <Panel title="Every user's API tokens">
            <TokenTable
              label="Every user's API tokens"
              rows={all.data}
              loading={all.isPending}
              showUser
              onRevoke={setRevoking}
              empty={<EmptyState title="No user has an API token" />}
            />
          </Panel>
        </div>
      )}
      {creating && <NewTokenDialog open onClose={() => setCreating(false)} />}
      <ConfirmDialog
        open={revoking !== null}
        onClose={() => setRevoking(null)}
        title={`Revoke token ${revoking?.name ?? ""}?`}
        confirmLabel="Revoke token"
        pending={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate({ id: revoking.id })}
      >
        Scripts using <strong>{revoking?.name}</strong> ({revoking?.prefix}…) stop working at once. This
        cannot be undone.
      </ConfirmDialog>
    </>
  );
}
