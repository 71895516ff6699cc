"use client";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import { useEffect, useState } from "react";
import { toast } from "sonner";
import { BackupStatus } from "@/components/nodes/backups";
import { CertificatePanel } from "@/components/nodes/certificate";
import { NodeHistoryDialog } from "@/components/nodes/history-dialog";
import { type JoinToken, useGuardedToken } from "@/components/nodes/join-token";
import { NodeFilters, NodePager, useNodeListInput } from "@/components/nodes/list-controls";
import {
  AgentVersion,
  LastError,
  LastSeen,
  type NodeRow,
  NodeState,
  Revisions,
} from "@/components/nodes/node-columns";
import { NodePlanDialog } from "@/components/nodes/plan-dialog";
import { AdminOnly } from "@/components/session";
import { errorMessage, useTRPC } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { ConfirmDialog, Dialog } from "@/components/ui/dialog";
import { EmptyState, LoadFailed, PageHeader, Panel } from "@/components/ui/misc";
import { useNow } from "@/components/use-now";

// Dialogs load their forms (zod schemas, address checks) when first opened, not with the page.
const EnrollDialog = dynamic(() => import("@/components/nodes/enroll-dialog").then((m) => m.EnrollDialog));

type Pending = { kind: "revoke" | "remove"; node: NodeRow } | null;

export default function NodesPage() {
  return (
    <AdminOnly>
      <Nodes />
    </AdminOnly>
  );
}

function Nodes() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow(1000);
  const list = useNodeListInput();
  // Agents report on their own schedule: poll so state and revisions stay current. The previous
  // page stays on screen while the next one (or a new filter's) loads.
  const nodes = useQuery({
    ...trpc.node.list.queryOptions(list.input),
    refetchInterval: 2000,
    placeholderData: keepPreviousData,
  });
  const page = nodes.data;
  // Past the end (nodes were deleted meanwhile): back to the last page that has any.
  useEffect(() => {
    if (page && page.items.length === 0 && page.offset > 0)
      list.setOffset(Math.max(0, (Math.ceil(page.total / page.limit) - 1) * page.limit));
  }, [page, list.setOffset]);
  const [enrolling, setEnrolling] = useState(false);
  const [token, setToken] = useState<JoinToken | null>(null);
  const [confirm, setConfirm] = useState<Pending>(null);
  const [planOf, setPlanOf] = useState<NodeRow | null>(null);
  const [historyOf, setHistoryOf] = useState<NodeRow | null>(null);
  const refresh = () => queryClient.invalidateQueries(trpc.node.pathFilter());
  const guardedToken = useGuardedToken(token, () => setToken(null));

  const newToken = useMutation(
    trpc.node.newToken.mutationOptions({
      onSuccess: (t) => {
        setToken({ name: t.name, joinToken: t.joinToken, expiresAt: t.expiresAt });
        return refresh();
      },
      onError: (err) => toast.error(errorMessage(err)),
    }),
  );
  const onDone = (verb: string) => (r: { name: string }) => {
    toast.success(`Node ${r.name} ${verb}`);
    setConfirm(null);
    return refresh();
  };
  const onFail = (err: unknown) => {
    setConfirm(null);
    toast.error(errorMessage(err));
  };
  const revoke = useMutation(
    trpc.node.revoke.mutationOptions({ onSuccess: onDone("revoked"), onError: onFail }),
  );
  const remove = useMutation(
    trpc.node.remove.mutationOptions({ onSuccess: onDone("deleted"), onError: onFail }),
  );

  const columns: Column<NodeRow>[] = [
    {
      key: "name",
      header: "Name",
      sort: "name",
      cell: (n) => (
        <div>
          <div className="font-medium">{n.name}</div>
          <div className="text-xs whitespace-nowrap text-slate-500">
            {n.instances} instance{n.instances === 1 ? "" : "s"}
          </div>
          <AgentVersion node={n} />
        </div>
      ),
    },
    { key: "cluster", header: "Cluster", sort: "cluster", cell: (n) => n.cluster },
    { key: "state", header: "State", sort: "state", cell: (n) => <NodeState node={n} now={now} /> },
    {
      key: "hostname",
      header: "Hostname",
      cell: (n) => (
        <div>
          {n.hostname ? (
            <span className="block max-w-36 truncate" title={n.hostname}>
              {n.hostname}
            </span>
          ) : (
            <span className="text-slate-400">—</span>
          )}
          {(n.vtep || n.uplink) && (
            <span className="block text-xs whitespace-nowrap text-slate-500" data-testid="node-underlay">
              {n.vtep ? `VTEP ${n.vtep}` : "no VTEP"}
              {n.uplink ? ` · ${n.uplink}` : ""}
            </span>
          )}
        </div>
      ),
    },
    { key: "seen", header: "Last seen", sort: "lastSeen", cell: (n) => <LastSeen node={n} now={now} /> },
    { key: "rev", header: "Revision", cell: (n) => <Revisions node={n} /> },
    { key: "error", header: "Last error / drift", cell: (n) => <LastError node={n} now={now} /> },
    {
      key: "actions",
      header: "Actions",
      cell: (n) => (
        <div className="-mr-2 flex max-w-44 flex-wrap justify-end">
          <Button
            size="sm"
            variant="ghost"
            aria-label={`Plan of ${n.name}`}
            disabled={n.state === "pending"}
            onClick={() => setPlanOf(n)}
          >
            Plan
          </Button>
          <Button
            size="sm"
            variant="ghost"
            aria-label={`History of ${n.name}`}
            disabled={n.state === "pending"}
            onClick={() => setHistoryOf(n)}
          >
            History
          </Button>
          <Button
            size="sm"
            variant="ghost"
            aria-label={`New join token for ${n.name}`}
            pending={newToken.isPending && newToken.variables?.id === n.id}
            onClick={() => newToken.mutate({ id: n.id })}
          >
            New token
          </Button>
          <Button
            size="sm"
            variant="ghost"
            aria-label={`Revoke ${n.name}`}
            disabled={n.state === "pending" || n.state === "revoked"}
            onClick={() => setConfirm({ kind: "revoke", node: n })}
          >
            Revoke
          </Button>
          <Button
            size="sm"
            variant="ghost"
            className="text-red-700"
            aria-label={`Delete ${n.name}`}
            onClick={() => setConfirm({ kind: "remove", node: n })}
          >
            Delete
          </Button>
        </div>
      ),
    },
  ];

  const enrollButton = (
    <Button variant="primary" onClick={() => setEnrolling(true)}>
      Enroll node
    </Button>
  );
  const c = confirm;
  return (
    <>
      <PageHeader
        title="Nodes"
        description="Hypervisor hosts running the Bridgehead agent. Refreshed every 2 seconds."
        actions={enrollButton}
      />
      <Panel className="mb-4 flex flex-col gap-3 px-4 py-3">
        <CertificatePanel />
        <BackupStatus now={now} />
      </Panel>
      <Panel>
        {nodes.isError ? (
          <LoadFailed what="nodes" query={nodes} />
        ) : page && page.total === 0 && !list.filtered ? (
          <EmptyState title="No nodes enrolled" action={enrollButton}>
            Enroll a node to get a one-time join token, then start the agent on the node with it.
          </EmptyState>
        ) : (
          <>
            <NodeFilters c={list} data={page} />
            <DataTable
              label="Nodes"
              columns={columns}
              rows={page?.items}
              rowKey={(n) => n.id}
              loading={nodes.isPending}
              sort={list.sort}
              onSort={list.toggleSort}
              rowProps={(n) => ({ "data-node": n.name, id: `node-${n.id}` })}
              empty={
                <EmptyState
                  title="No nodes match"
                  action={<Button onClick={list.clear}>Clear filter</Button>}
                >
                  No node matches “{list.input.q}”
                  {list.state === "all" ? "" : ` among the ${list.state} ones`}.
                </EmptyState>
              }
            />
            <NodePager c={list} data={page} />
          </>
        )}
      </Panel>
      {enrolling && <EnrollDialog open onClose={() => setEnrolling(false)} />}
      <NodePlanDialog
        node={planOf && (page?.items.find((n) => n.id === planOf.id) ?? planOf)}
        onClose={() => setPlanOf(null)}
      />
      <NodeHistoryDialog node={historyOf} onClose={() => setHistoryOf(null)} />
      <Dialog
        open={token !== null}
        onClose={() => setToken(null)}
        size="lg"
        title={`New join token for ${token?.name ?? ""}`}
        description="The node's previous token no longer works. Restart the agent with this one."
        onDismiss={guardedToken.dismiss}
      >
        {guardedToken.body}
      </Dialog>
      {guardedToken.confirm}
      <ConfirmDialog
        open={c !== null}
        onClose={() => setConfirm(null)}
        title={c?.kind === "revoke" ? `Revoke node ${c.node.name}?` : `Delete node ${c?.node.name ?? ""}?`}
        confirmLabel={c?.kind === "revoke" ? "Revoke" : "Delete node"}
        pending={revoke.isPending || remove.isPending}
        onConfirm={() => {
          if (!c) return;
          (c.kind === "revoke" ? revoke : remove).mutate({ id: c.node.id });
        }}
      >
        {c?.kind === "revoke" ? (
          <>
            The agent on <strong>{c.node.name}</strong> loses its credential and is disconnected now. Its
            networks stay as they are until it is enrolled again with a new join token.
          </>
        ) : (
          <>
            <strong>{c?.node.name}</strong> is removed from Bridgehead and its agent is disconnected. A node
            that still hosts instances cannot be deleted.
          </>
        )}
      </ConfirmDialog>
    </>
  );
}
