"use client";
// Owner, group, permission bits (checkboxes and octal), lock, rename and clone of one VNET or
// template. Mounted with one line by the object's page: <PermissionsPanel kind="vnet" id={id} />.
// Controls the caller may not use are disabled with the reason; the server checks again anyway.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { toast } from "sonner";
import { LOCK_LEVELS } from "@/lib/domain";
import { CLASSES, hasBit, type Level, octalToPerms, permsToOctal, withBit } from "@/lib/permissions";
import { RESTRICTED_NOTE } from "@/lib/restricted";
import { labelSchema } from "@/lib/templates";
import { errorMessage, useTRPC, useTRPCClient } from "../trpc";
import { Button } from "../ui/button";
import { Field, Input, Select } from "../ui/field";
import { Badge, Panel, Skeleton } from "../ui/misc";
import { NameDialog } from "./name-dialog";

export type OwnedKind = "vnet" | "template" | "sg";
const LEVELS: Level[] = ["use", "manage", "admin"];
const LABEL: Record<OwnedKind, string> = { vnet: "VNET", template: "Template", sg: "Security group" };

/** The query filter of everything of `kind` (refreshed after a change). */
function useKindFilter(kind: OwnedKind) {
  const trpc = useTRPC();
  return kind === "vnet"
    ? trpc.vnet.pathFilter()
    : kind === "template"
      ? trpc.template.pathFilter()
      : trpc.sg.pathFilter();
}

/** One ownership mutation: toast on success, refresh the kind's queries and the audit log. */
function useOwnedMutation<I>(kind: OwnedKind, fn: (i: I) => Promise<unknown>, ok: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const filter = useKindFilter(kind);
  return useMutation({
    mutationFn: fn,
    onSuccess: () => {
      toast.success(ok);
      return Promise.all([
        queryClient.invalidateQueries(filter),
        queryClient.invalidateQueries(trpc.audit.pathFilter()),
      ]);
    },
    onError: (err) => toast.error(errorMessage(err)),
  });
}

/** Mutations of the ownership procedures of `kind`. */
export function useOwnershipActions(kind: OwnedKind) {
  const api = useTRPCClient()[kind];
  return {
    chmod: useOwnedMutation(
      kind,
      (i: { id: number; perms: number }) => api.chmod.mutate(i),
      "Permissions changed",
    ),
    chown: useOwnedMutation(
      kind,
      (i: { id: number; userId: string }) => api.chown.mutate(i),
      "Owner changed",
    ),
    chgrp: useOwnedMutation(
      kind,
      (i: { id: number; groupId: number }) => api.chgrp.mutate(i),
      "Group changed",
    ),
    lock: useOwnedMutation(kind, (i: { id: number; level: Level }) => api.lock.mutate(i), "Locked"),
    unlock: useOwnedMutation(kind, (i: { id: number }) => api.unlock.mutate(i), "Unlocked"),
  };
}

export function PermissionsPanel({ kind, id }: { kind: OwnedKind; id: number }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const client = useTRPCClient();
  const info = useQuery(
    kind === "vnet"
      ? trpc.vnet.ownership.queryOptions({ id })
      : kind === "template"
        ? trpc.template.ownership.queryOptions({ id })
        : trpc.sg.ownership.queryOptions({ id }),
  );
  const filter = useKindFilter(kind);
  const choices = useQuery(trpc.user.ownershipChoices.queryOptions());
  const act = useOwnershipActions(kind);
  const [perms, setPerms] = useState<number | null>(null);
  const [octal, setOctal] = useState("");
  const [owner, setOwner] = useState("");
  const [group, setGroup] = useState("");
  const [lockLevel, setLockLevel] = useState<Level>("manage");
  const [dialog, setDialog] = useState<"rename" | "clone" | null>(null);
  const o = info.data;

  useEffect(() => {
    if (!o) return;
    setPerms(o.perms);
    setOctal(permsToOctal(o.perms));
    setOwner(o.ownerId);
    setGroup(String(o.groupId));
  }, [o]);

  const rename = useMutation({
    mutationFn: (name: string) => client[kind].rename.mutate({ id, name }),
    onSuccess: () => queryClient.invalidateQueries(filter),
  });
  const clone = useMutation({
    mutationFn: async (name: string): Promise<{ id: number; name: string }> =>
      client[kind].clone.mutate({ id, name }),
    onSuccess: () => queryClient.invalidateQueries(filter),
  });

  if (info.isError)
    return (
      <Panel title="Ownership and permissions">
        <p className="p-4 text-sm text-red-700">{info.error.message}</p>
      </Panel>
    );
  if (!o || perms === null)
    return (
      <Panel title="Ownership and permissions">
        <div className="grid grid-cols-3 gap-4 p-4">
          <Skeleton className="h-24" />
          <Skeleton className="h-24" />
          <Skeleton className="h-24" />
        </div>
      </Panel>
    );

  const isAdmin = (choices.data?.users.length ?? 0) > 0;
  const adminHint = o.my.admin ? undefined : "Needs ADMIN permission on this object";
  const manageHint = o.my.manage ? undefined : "Needs MANAGE permission on this object";
  const changed = perms !== o.perms;
  const octalOk = octalToPerms(octal) !== null;

  return (
    <Panel
      title="Ownership and permissions"
      actions={
        <div className="flex gap-2">
          <Button size="sm" disabled={!o.my.manage} title={manageHint} onClick={() => setDialog("rename")}>
            Rename…
          </Button>
          <Button size="sm" onClick={() => setDialog("clone")}>
            Clone…
          </Button>
        </div>
      }
    >
      <div className="grid grid-cols-[1fr_1.3fr_1fr] gap-6 p-4">
        <div className="flex flex-col gap-3">
          <div>
            <div className="text-xs font-medium tracking-wide text-slate-500 uppercase">Owner</div>
            {isAdmin ? (
              <div className="mt-1 flex gap-2">
                <Select aria-label="Owner" value={owner} onChange={(e) => setOwner(e.target.value)}>
                  {choices.data?.users.map((u) => (
                    <option key={u.id} value={u.id}>
                      {u.username}
                    </option>
                  ))}
                  {!choices.data?.users.some((u) => u.id === o.ownerId) && (
                    <option value={o.ownerId}>{o.ownerName}</option>
                  )}
                </Select>
                <Button
                  size="md"
                  disabled={owner === o.ownerId}
                  pending={act.chown.isPending}
                  onClick={() => act.chown.mutate({ id, userId: owner })}
                >
                  Change
                </Button>
              </div>
            ) : (
              <div className="mt-1 text-sm text-slate-900">{o.ownerName}</div>
            )}
          </div>
          <div>
            <div className="text-xs font-medium tracking-wide text-slate-500 uppercase">Group</div>
            <div className="mt-1 flex gap-2">
              <Select
                aria-label="Group"
                value={group}
                disabled={!o.my.admin}
                title={adminHint}
                onChange={(e) => setGroup(e.target.value)}
              >
                {choices.data?.groups.map((g) => (
                  <option key={g.id} value={String(g.id)}>
                    {g.name}
                  </option>
                ))}
                {!choices.data?.groups.some((g) => g.id === o.groupId) && (
                  <option value={String(o.groupId)}>{o.groupName}</option>
                )}
              </Select>
              <Button
                disabled={!o.my.admin || group === String(o.groupId)}
                title={adminHint}
                pending={act.chgrp.isPending}
                onClick={() => act.chgrp.mutate({ id, groupId: Number(group) })}
              >
                Move
              </Button>
            </div>
          </div>
        </div>

        <fieldset disabled={!o.my.admin} title={adminHint}>
          <legend className="text-xs font-medium tracking-wide text-slate-500 uppercase">Permissions</legend>
          <table className="mt-1 text-sm" aria-label="Permission bits">
            <thead>
              <tr className="text-xs text-slate-500">
                <th className="pr-4 text-left font-medium" />
                {LEVELS.map((l) => (
                  <th key={l} className="px-2 font-medium uppercase">
                    {l}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {CLASSES.map((c) => (
                <tr key={c}>
                  <th scope="row" className="pr-4 text-left font-medium text-slate-700 capitalize">
                    {c}
                  </th>
                  {LEVELS.map((l) => (
                    <td key={l} className="px-2 py-1 text-center">
                      <input
                        type="checkbox"
                        aria-label={`${c} ${l}`}
                        className="size-4 accent-sky-700"
                        checked={hasBit(perms, c, l)}
                        onChange={(e) => {
                          const next = withBit(perms, c, l, e.target.checked);
                          setPerms(next);
                          setOctal(permsToOctal(next));
                        }}
                      />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <div className="mt-2 flex items-center gap-2">
            <Input
              aria-label="Permissions (octal)"
              className="w-20! font-mono"
              value={octal}
              maxLength={3}
              aria-invalid={!octalOk || undefined}
              onChange={(e) => {
                setOctal(e.target.value);
                const p = octalToPerms(e.target.value);
                if (p !== null) setPerms(p);
              }}
            />
            <Button
              variant="primary"
              disabled={!changed || !octalOk}
              pending={act.chmod.isPending}
              onClick={() => act.chmod.mutate({ id, perms })}
            >
              Apply
            </Button>
            {changed && (
              <Button
                variant="ghost"
                onClick={() => {
                  setPerms(o.perms);
                  setOctal(permsToOctal(o.perms));
                }}
              >
                Reset
              </Button>
            )}
          </div>
          {!octalOk && <p className="mt-1 text-xs text-red-600">Three octal digits, e.g. 640</p>}
          {adminHint && <p className="mt-1 text-xs text-slate-500">{adminHint}</p>}
        </fieldset>

        <div>
          <div className="text-xs font-medium tracking-wide text-slate-500 uppercase">Lock</div>
          <div className="mt-1 mb-2" data-testid="lock-state">
            {o.lockLevel ? (
              <Badge tone="amber">Locked: {o.lockLevel.toUpperCase()}</Badge>
            ) : (
              <Badge tone="green">Unlocked</Badge>
            )}
          </div>
          <div className="flex gap-2">
            <Select
              aria-label="Lock level"
              value={lockLevel}
              disabled={!o.my.manage}
              onChange={(e) => setLockLevel(e.target.value as Level)}
            >
              {LOCK_LEVELS.map((l) => (
                <option key={l} value={l}>
                  {l.toUpperCase()}
                </option>
              ))}
            </Select>
            <Button
              disabled={!o.my.manage}
              title={manageHint}
              pending={act.lock.isPending}
              onClick={() => act.lock.mutate({ id, level: lockLevel })}
            >
              Lock
            </Button>
            {o.lockLevel && (
              <Button
                disabled={!o.my.manage}
                pending={act.unlock.isPending}
                onClick={() => act.unlock.mutate({ id })}
              >
                Unlock
              </Button>
            )}
          </div>
          <p className="mt-2 text-xs text-slate-500">
            USE blocks everything; MANAGE blocks changes; ADMIN blocks permission and physical changes.
          </p>
        </div>
      </div>
      {kind === "vnet" && <VnetLabels id={id} canManage={o.my.manage} />}
      <NameDialog
        open={dialog === "rename"}
        onClose={() => setDialog(null)}
        title={`Rename ${LABEL[kind]} ${o.name}`}
        initial={o.name}
        submitLabel="Rename"
        mutation={rename}
        success={(r) => `Renamed to ${r.name}`}
      />
      <NameDialog
        open={dialog === "clone"}
        onClose={() => setDialog(null)}
        title={`Clone ${LABEL[kind]} ${o.name}`}
        description={
          kind === "vnet"
            ? `A copy with the same address ranges and attributes, without leases, owned by you, on a bridge of its own. Driver, network type, device and MTU stay as they are: ${RESTRICTED_NOTE}.`
            : "A copy of this template, owned by you."
        }
        initial={`${o.name}-copy`}
        submitLabel="Clone"
        mutation={clone}
        success={(r) => `${LABEL[kind]} ${r.name} created`}
        onSuccess={(r) => {
          setDialog(null);
          if (kind === "vnet") router.push(`/vnets/${r.id}`);
        }}
      />
    </Panel>
  );
}

/** A VNET's labels (what NICs asking for "any VNET" can require): MANAGE to change. */
function VnetLabels({ id, canManage }: { id: number; canManage: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const vnet = useQuery(trpc.vnet.get.queryOptions({ id }));
  const current = (vnet.data as { labels?: string[] } | undefined)?.labels ?? [];
  const [text, setText] = useState<string | null>(null);
  const value = text ?? current.join(", ");
  const labels = value.split(/[\s,]+/).filter(Boolean);
  const bad = labels.find((l) => !labelSchema.safeParse(l).success);
  const save = useMutation(
    trpc.vnet.setLabels.mutationOptions({
      onSuccess: (r) => {
        toast.success(r.labels.length ? `Labels set: ${r.labels.join(", ")}` : "Labels cleared");
        setText(null);
        return queryClient.invalidateQueries(trpc.vnet.pathFilter());
      },
      onError: (err) => toast.error(errorMessage(err)),
    }),
  );
  return (
    <div className="flex items-end gap-2 border-t border-slate-200 px-4 py-3">
      <Field
        label="Labels"
        className="w-96"
        error={bad ? `“${bad}”: letters, digits, dot, dash and underscore` : undefined}
        hint="NICs asking for any VNET can require these, e.g. prod"
      >
        {(c) => (
          <Input
            {...c}
            value={value}
            disabled={!canManage}
            placeholder="none"
            onChange={(e) => setText(e.target.value)}
          />
        )}
      </Field>
      <Button
        className="mb-5"
        disabled={!canManage || text === null || Boolean(bad)}
        pending={save.isPending}
        onClick={() => save.mutate({ id, labels })}
      >
        Save labels
      </Button>
    </div>
  );
}
