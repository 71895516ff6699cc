"use client";
// Peerings of one VNET, for the VNET's page: without a peering, a node routes nothing between this
// VNET and any other. Lists each peering (the other VNET, its state, who proposed it), proposes or
// creates one ("Peer with…"), accepts a proposal waiting on this side, and removes one after a
// confirmation.
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { toast } from "sonner";
import { z } from "zod";
import { can } from "@/lib/permissions";
import { useMe } from "../session";
import { errorMessage, useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { type Column, DataTable } from "../ui/data-table";
import { ConfirmDialog } from "../ui/dialog";
import { Field, Select } from "../ui/field";
import { Badge, EmptyState, LoadFailed, Panel } from "../ui/misc";
import { type FormOf, MutationDialog } from "../ui/mutation-dialog";
import type { Vnet } from "./shared";

type Row = {
  id: number;
  state: "proposed" | "active";
  peer: { id: number; name: string; manage: boolean };
  proposedBy: string | null;
  proposedFrom: number;
  acceptedBy: string | null;
  canAccept: boolean;
  canRemove: boolean;
};

function usePeeringMutations(vnetName: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries(trpc.peering.list.queryFilter());
  const accept = useMutation(
    trpc.peering.accept.mutationOptions({
      onError: (err) => toast.error(errorMessage(err)),
    }),
  );
  const remove = useMutation(
    trpc.peering.remove.mutationOptions({
      onError: (err) => toast.error(errorMessage(err)),
    }),
  );
  return {
    refresh,
    accept: (r: Row) =>
      accept.mutate(
        { id: r.id },
        {
          onSuccess: () => {
            toast.success(`VNETs ${vnetName} and ${r.peer.name} are peered`);
            return refresh();
          },
        },
      ),
    accepting: accept.isPending,
    remove: (r: Row, done: () => void) =>
      remove.mutate(
        { id: r.id },
        {
          onSuccess: () => {
            toast.success(
              r.state === "active"
                ? `Peering of ${vnetName} and ${r.peer.name} removed`
                : `Proposal to peer ${vnetName} with ${r.peer.name} withdrawn`,
            );
            done();
            return refresh();
          },
        },
      ),
    removing: remove.isPending,
  };
}

export function PeeringsTab({ vnet }: { vnet: Vnet }) {
  const trpc = useTRPC();
  const me = useMe();
  const list = useQuery(trpc.peering.list.queryOptions({ vnetId: vnet.id }));
  const m = usePeeringMutations(vnet.name);
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<Row | null>(null);
  const canManage = can(me, vnet, "manage");

  const columns: Column<Row>[] = [
    {
      key: "peer",
      header: "Peered VNET",
      cell: (r) => (
        <Link href={`/vnets/${r.peer.id}`} className="font-medium text-sky-800 hover:underline">
          {r.peer.name}
        </Link>
      ),
    },
    {
      key: "state",
      header: "State",
      cell: (r) =>
        r.state === "active" ? (
          <Badge tone="green">active</Badge>
        ) : (
          <Badge tone="amber">
            {r.proposedFrom === vnet.id ? `waiting for ${r.peer.name}` : "waiting for this VNET"}
          </Badge>
        ),
    },
    {
      key: "by",
      header: "Proposed by",
      cell: (r) => (
        <span className="text-slate-700">
          {r.proposedBy ?? "—"}
          {r.state === "active" && r.acceptedBy && r.acceptedBy !== r.proposedBy && (
            <span className="text-slate-500"> · accepted by {r.acceptedBy}</span>
          )}
        </span>
      ),
    },
    {
      key: "actions",
      header: "Actions",
      className: "text-right",
      cell: (r) => (
        <span className="flex justify-end gap-2">
          {r.canAccept && (
            <Button
              size="sm"
              variant="primary"
              aria-label={`Accept peering with ${r.peer.name}`}
              pending={m.accepting}
              onClick={() => m.accept(r)}
            >
              Accept
            </Button>
          )}
          {r.canRemove && (
            <Button
              size="sm"
              variant="ghost"
              aria-label={`Remove peering with ${r.peer.name}`}
              onClick={() => setRemoving(r)}
            >
              {r.state === "active" ? "Remove" : "Withdraw"}
            </Button>
          )}
        </span>
      ),
    },
  ];

  return (
    <Panel
      title={`Peerings (${list.data?.length ?? "…"})`}
      actions={
        canManage && (
          <Button size="sm" onClick={() => setAdding(true)}>
            Peer with…
          </Button>
        )
      }
    >
      <div className="flex flex-col gap-3 p-4">
        <p className="text-sm text-slate-600">
          Guests of this VNET reach its gateway and the outside (NAT) only. A peering lets two VNETs route to
          each other; their security groups still filter that traffic.
        </p>
        {list.isError ? (
          <LoadFailed what="the peerings" query={list} />
        ) : (
          <div className="overflow-hidden rounded-md ring-1 ring-slate-200">
            <DataTable
              label={`Peerings of VNET ${vnet.name}`}
              columns={columns}
              rows={list.data as Row[] | undefined}
              rowKey={(r) => r.id}
              loading={list.isPending}
              empty={
                <EmptyState title="No peering">
                  This VNET is isolated from every other VNET.
                  {canManage ? " Use “Peer with…” to link it to another VNET." : ""}
                </EmptyState>
              }
            />
          </div>
        )}
      </div>
      {adding && (
        <PeerDialog
          vnet={vnet}
          exclude={new Set((list.data ?? []).map((r) => r.peer.id))}
          onClose={() => setAdding(false)}
          onDone={m.refresh}
        />
      )}
      <ConfirmDialog
        open={removing !== null}
        onClose={() => setRemoving(null)}
        title={
          removing?.state === "active"
            ? `Remove the peering with ${removing.peer.name}?`
            : `Withdraw the proposal to ${removing?.peer.name}?`
        }
        confirmLabel={removing?.state === "active" ? "Remove peering" : "Withdraw"}
        pending={m.removing}
        onConfirm={() => removing && m.remove(removing, () => setRemoving(null))}
      >
        {removing?.state === "active" ? (
          <>
            Guests of <strong>{vnet.name}</strong> and <strong>{removing?.peer.name}</strong> stop reaching
            each other at once; open connections between them are cut.
          </>
        ) : (
          <>Nothing changes on the network; the other side can no longer accept it.</>
        )}
      </ConfirmDialog>
    </Panel>
  );
}

/** Picks the VNET to peer with; with MANAGE on both the peering is active at once, else proposed. */
function PeerDialog({
  vnet,
  exclude,
  onClose,
  onDone,
}: {
  vnet: Vnet;
  exclude: Set<number>;
  onClose: () => void;
  onDone: () => Promise<unknown>;
}) {
  const trpc = useTRPC();
  const vnets = useQuery(trpc.vnet.list.queryOptions());
  const choices = (vnets.data ?? []).filter((v) => v.id !== vnet.id && !exclude.has(v.id));
  // Named from the whole list: once the peering exists the refetch no longer offers it as a choice.
  const nameOf = (id: number) => vnets.data?.find((v) => v.id === id)?.name;
  const create = useMutation(trpc.peering.create.mutationOptions({ onSuccess: () => onDone() }));
  return (
    <MutationDialog
      onClose={onClose}
      title={`Peer ${vnet.name} with…`}
      description="The two VNETs may then route to each other through the nodes that host them."
      label={`Peer ${vnet.name}`}
      submitLabel="Peer"
      resolver={zodResolver(peerForm)}
      defaultValues={{ vnetB: "" }}
      mutation={create}
      toVariables={(v) => ({ vnetA: vnet.id, vnetB: Number(v.vnetB) })}
      success={(r) => {
        const peer = nameOf(r.vnetA === vnet.id ? r.vnetB : r.vnetA);
        return r.state === "active"
          ? `VNETs ${vnet.name} and ${peer} are peered`
          : `Peering proposed to ${peer}; a manager of it has to accept`;
      }}
    >
      {(form: FormOf<PeerForm>) => (
        <div className="flex flex-col gap-4">
          <Field label="VNET" error={form.formState.errors.vnetB?.message}>
            {(control) => (
              <Select {...control} {...form.register("vnetB")}>
                <option value="">
                  {vnets.isPending
                    ? "Loading…"
                    : choices.length
                      ? "Pick a VNET"
                      : "No other VNET to peer with"}
                </option>
                {choices.map((v) => (
                  <option key={v.id} value={String(v.id)}>
                    {v.name}
                    {v.owner ? ` (owned by ${v.owner})` : ""}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <p className="text-sm text-slate-600">
            If you manage both VNETs the peering is active at once; otherwise it is proposed, and a manager of
            the other VNET accepts it on its Peerings tab.
          </p>
        </div>
      )}
    </MutationDialog>
  );
}

const peerForm = z.object({ vnetB: z.string().min(1, "Pick the VNET to peer with") });
type PeerForm = z.infer<typeof peerForm>;
